//! /admin/users: search, status, provisioning source, last login; lock and unlock.

use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde::Deserialize;
use tower_sessions::Session;

use super::{actor, chrome, confirmed, flash, now, AdminError, AdminResult, ConfirmForm};
use crate::ops::{self, AccountRef};
use crate::store::UserStatus;
use crate::web::admin_pages::{fmt_time, UserRow, UsersPage};
use crate::web::admin_session::CurrentAdmin;
use crate::web::routes::parse_id;
use crate::web::templates::render;
use crate::web::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/users", get(list))
        .route("/admin/users/{user_id}/lock", post(lock))
        .route("/admin/users/{user_id}/unlock", post(unlock))
}

#[derive(Deserialize, Default)]
struct UserQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    status: String,
}

async fn list(
    State(svc): State<AppState>,
    Extension(admin): Extension<CurrentAdmin>,
    session: Session,
    Query(query): Query<UserQuery>,
) -> AdminResult {
    let all = svc.store.list_users().await?;
    let attachments = svc.store.user_sso_attachments().await?;
    let sso_of = |user_id: i64| {
        let mine: Vec<_> = attachments.iter().filter(|a| a.user_id == user_id).collect();
        let live: Vec<&str> = mine.iter().filter_map(|a| a.name.as_deref()).collect();
        if !live.is_empty() {
            return live.join(", ");
        }
        match mine.iter().filter_map(|a| a.deleted_name.as_deref()).collect::<Vec<_>>() {
            gone if !gone.is_empty() => {
                format!("no longer attached to an SSO configuration ({} deleted)", gone.join(", "))
            }
            _ => "-".to_string(),
        }
    };
    let total = all.len();
    let needle = query.q.trim().to_lowercase();
    let users = all
        .into_iter()
        .filter(|u| {
            needle.is_empty()
                || u.email.to_lowercase().contains(&needle)
                || format!("{} {}", u.first_name, u.last_name).to_lowercase().contains(&needle)
        })
        .filter(|u| query.status.is_empty() || u.status.as_str() == query.status)
        .map(|u| UserRow {
            sso: sso_of(u.user_id),
            user_id: u.user_id,
            name: format!("{} {}", u.first_name, u.last_name).trim().to_string(),
            email: u.email,
            status: u.status.as_str(),
            provisioned_by: u.provisioned_by,
            last_login: fmt_time(u.last_login_at),
            locked: u.status == UserStatus::Locked,
        })
        .collect();
    let page = UsersPage {
        chrome: chrome(&svc, &session, &admin, "users").await,
        users,
        q: query.q,
        status: query.status,
        total,
    };
    Ok(Html(render(&page)).into_response())
}

/// Locking ends the user's sessions and refuses their sign-ins: confirmed first.
async fn lock(
    State(svc): State<AppState>,
    Extension(admin): Extension<CurrentAdmin>,
    session: Session,
    Path(raw): Path<String>,
    axum::Form(form): axum::Form<ConfirmForm>,
) -> AdminResult {
    let user = AccountRef::Id(parse_id(&raw).ok_or(AdminError::NotFound)?);
    confirmed(&form, "yes", "tick the box to confirm that this user is signed out and refused")?;
    let locked = ops::users::lock(&svc, &actor(&admin), &user, now()).await?;
    flash(&session, format!("{} is locked: signed out, and sign-ins are refused until unlocked.", locked.email)).await;
    Ok(Redirect::to("/admin/users").into_response())
}

async fn unlock(
    State(svc): State<AppState>,
    Extension(admin): Extension<CurrentAdmin>,
    session: Session,
    Path(raw): Path<String>,
) -> AdminResult {
    let user = AccountRef::Id(parse_id(&raw).ok_or(AdminError::NotFound)?);
    let unlocked = ops::users::unlock(&svc, &actor(&admin), &user, now()).await?;
    flash(&session, format!("{} is unlocked.", unlocked.email)).await;
    Ok(Redirect::to("/admin/users").into_response())
}
