//! /admin/admins: the console's admin accounts; delete one (never the last) or forget its refused
//! sign-ins. Accounts are created and given passwords on the command line, where the password is
//! shown once and never travels through a browser form.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde::Deserialize;
use tower_sessions::Session;

use super::{actor, chrome, now, AdminError, AdminResult};
use crate::ops::{self, AccountRef, OpsError};
use crate::web::admin_pages::{fmt_time, AdminRow, AdminsPage};
use crate::web::admin_session::{self, CurrentAdmin};
use crate::web::routes::parse_id;
use crate::web::templates::render;
use crate::web::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/admins", get(list))
        .route("/admin/admins/{admin_id}/delete", post(delete))
        .route("/admin/admins/{admin_id}/unlock", post(unlock))
}

async fn page(
    svc: &AppState,
    session: &Session,
    admin: &CurrentAdmin,
    message: String,
    error: bool,
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
    Ok(AdminsPage { chrome: chrome(svc, session, admin, "admins").await, admins, message, error })
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
