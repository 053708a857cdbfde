//! /admin/admins: the console's admin accounts: add one, give one a new password, delete one
//! (never the last) or forget its refused sign-ins. Passwords are generated here, never typed
//! into a form: shown once on a page nothing caches, only their argon2id hash is kept, and a new
//! password ends every session begun with the old one.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde::Deserialize;
use tower_sessions::Session;

use super::{actor, chrome, confirmed, now, AdminError, AdminResult, ConfirmForm};
use crate::ops::{self, AccountRef, OpsError};
use crate::web::admin_pages::{fmt_time, AdminPasswordPage, AdminRow, AdminsPage, Refusal};
use crate::web::admin_session::{self, CurrentAdmin};
use crate::web::routes::parse_id;
use crate::web::templates::render;
use crate::web::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/admins", get(list))
        .route("/admin/admins/{admin_id}/delete", post(delete))
        .route("/admin/admins/{admin_id}/unlock", post(unlock))
        .route("/admin/admins", post(create))
        .route("/admin/admins/{admin_id}/reset-password", post(reset_password))
}

async fn page(
    svc: &AppState,
    session: &Session,
    admin: &CurrentAdmin,
    message: String,
    error: bool,
) -> Result<AdminsPage, AdminError> {
    page_with(svc, session, admin, message, error, String::new()).await
}

async fn page_with(
    svc: &AppState,
    session: &Session,
    admin: &CurrentAdmin,
    message: String,
    error: bool,
    new_email: String,
) -> Result<AdminsPage, AdminError> {
    let admins = ops::admins::list(svc)
        .await?
        .into_iter()
        .map(|a| AdminRow {
            is_me: a.admin_id == admin.admin_id,
            admin_id: a.admin_id,
            email: a.email,
            created: fmt_time(Some(a.created_at)),
            last_login: fmt_time(a.last_login_at),
        })
        .collect();
    let refusal =
        if error && !new_email.is_empty() { Refusal::at("new_email", message.clone()) } else { Refusal::default() };
    Ok(AdminsPage {
        chrome: chrome(svc, session, admin, "admins").await,
        admins,
        message: if refusal.is_empty() { message } else { String::new() },
        error,
        new_email,
        refusal,
    })
}

#[derive(Deserialize, Default)]
struct NoticeQuery {
    notice: Option<String>,
}

async fn list(
    State(svc): State<AppState>,
    Extension(admin): Extension<CurrentAdmin>,
    session: Session,
    Query(q): Query<NoticeQuery>,
) -> AdminResult {
    let notice = match q.notice.as_deref() {
        Some("deleted") => "Admin deleted.",
        Some("unlocked") => "Refused sign-ins forgotten: the admin may sign in again at once.",
        _ => "",
    };
    Ok(Html(render(&page(&svc, &session, &admin, notice.to_string(), false).await?)).into_response())
}

async fn delete(
    State(svc): State<AppState>,
    Extension(admin): Extension<CurrentAdmin>,
    session: Session,
    Path(raw): Path<String>,
) -> AdminResult {
    let target = parse_id(&raw).ok_or(AdminError::NotFound)?;
    match ops::admins::delete(&svc, &actor(&admin), &AccountRef::Id(target), now()).await {
        // Deleting one's own account ends one's session too.
        Ok(_) if target == admin.admin_id => {
            admin_session::end(&session).await;
            Ok(Redirect::to("/admin/login").into_response())
        }
        Ok(_) => Ok(Redirect::to("/admin/admins?notice=deleted").into_response()),
        Err(OpsError::Conflict(message)) => {
            let p = page(&svc, &session, &admin, message, true).await?;
            Ok((StatusCode::CONFLICT, Html(render(&p))).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

async fn unlock(
    State(svc): State<AppState>,
    Extension(admin): Extension<CurrentAdmin>,
    Path(raw): Path<String>,
) -> AdminResult {
    let target = parse_id(&raw).ok_or(AdminError::NotFound)?;
    ops::admins::unlock(&svc, &actor(&admin), &AccountRef::Id(target), now()).await?;
    Ok(Redirect::to("/admin/admins?notice=unlocked").into_response())
}

/// Adding an admin or setting a password hands out a credential that outlives the session, so
/// it needs a recent sign-in (`Settings::admin_recent_signin_secs`, 10 minutes): a console left
/// open, or a stolen session cookie, cannot mint one.
fn require_recent_signin(svc: &AppState, admin: &CurrentAdmin) -> Result<(), AdminError> {
    let limit = svc.settings.admin_recent_signin_secs;
    if now() - admin.auth_at > limit {
        return Err(AdminError::Refused(format!(
            "Nothing was changed: adding an admin or setting a password needs a sign-in within the last {} minutes. \
             Sign out, sign in again, and repeat.",
            limit / 60
        )));
    }
    Ok(())
}

#[derive(Deserialize)]
struct NewAdminForm {
    email: String,
}

/// "Add admin": the account gets a generated password, shown once.
async fn create(
    State(svc): State<AppState>,
    Extension(admin): Extension<CurrentAdmin>,
    session: Session,
    axum::Form(form): axum::Form<NewAdminForm>,
) -> AdminResult {
    require_recent_signin(&svc, &admin)?;
    let password = crate::admins::generate_password();
    match ops::admins::create(&svc, &actor(&admin), &form.email, password.clone(), now()).await {
        Ok(created) => password_page(&svc, &session, &admin, created.email, password, true).await,
        Err(OpsError::Invalid(message) | OpsError::Conflict(message)) => {
            let typed: String = form.email.trim().chars().take(254).collect();
            let p = page_with(&svc, &session, &admin, message, true, typed).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(render(&p))).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// "New password" (confirmed first): the old password and every session begun with it stop.
async fn reset_password(
    State(svc): State<AppState>,
    Extension(admin): Extension<CurrentAdmin>,
    session: Session,
    Path(raw): Path<String>,
    axum::Form(form): axum::Form<ConfirmForm>,
) -> AdminResult {
    let target = parse_id(&raw).ok_or(AdminError::NotFound)?;
    confirmed(&form, "yes", "tick the box to confirm that the current password and its sessions stop now")?;
    require_recent_signin(&svc, &admin)?;
    let password = crate::admins::generate_password();
    let account =
        ops::admins::reset_password_account(&svc, &actor(&admin), &AccountRef::Id(target), password.clone(), now())
            .await?;
    if target == admin.admin_id {
        // One's own new password: this session carries on under it (marked with the hash this
        // reset stored, not one read again, which a concurrent reset could have replaced).
        admin_session::refresh_credential(&session, &account).await;
    }
    password_page(&svc, &session, &admin, account.email, password, false).await
}

async fn password_page(
    svc: &AppState,
    session: &Session,
    admin: &CurrentAdmin,
    email: String,
    password: String,
    created: bool,
) -> AdminResult {
    let page = AdminPasswordPage { chrome: chrome(svc, session, admin, "admins").await, email, password, created };
    let mut res = Html(render(&page)).into_response();
    res.headers_mut().insert(
        axum::http::header::CONTENT_SECURITY_POLICY,
        axum::http::HeaderValue::from_static(super::COPY_SCRIPT_CSP),
    );
    res.headers_mut().insert(axum::http::header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
    Ok(res)
}
