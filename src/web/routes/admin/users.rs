//! /admin/users: search, status, provisioning source, last login; lock and unlock.

use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde::Deserialize;
use tower_sessions::Session;

use super::{chrome, now, AdminError, AdminResult};
use crate::store::UserStatus;
use crate::web::admin_pages::{fmt_time, UserRow, UsersPage};
use crate::web::admin_session::CurrentAdmin;
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
            user_id: u.user_id,
            name: format!("{} {}", u.first_name, u.last_name).trim().to_string(),
            email: u.email,
            status: u.status.as_str(),
            provisioned_by: u.provisioned_by,
            last_login: fmt_time(u.last_login_at),
            locked: u.status == UserStatus::Locked,
        })
        .collect();
    let page =
        UsersPage { chrome: chrome(&session, &admin, "users").await, users, q: query.q, status: query.status, total };
    Ok(Html(render(&page)).into_response())
}

async fn set_status(svc: &AppState, admin: &CurrentAdmin, user_id: &str, lock: bool) -> AdminResult {
    let user_id: i64 = user_id.parse().map_err(|_| AdminError::NotFound)?;
    let user = svc.store.get_user(user_id).await?.ok_or(AdminError::NotFound)?;
    // Unlocking restores what the user was before: active once they have logged in, else invited.
    let status = match (lock, user.last_login_at) {
        (true, _) => UserStatus::Locked,
        (false, Some(_)) => UserStatus::Active,
        (false, None) => UserStatus::Invited,
    };
    svc.store.set_user_status(&user.email, status).await?;
    let action = if lock { "user.lock" } else { "user.unlock" };
    svc.store.audit(&admin.email, action, &user.email, status.as_str(), now()).await?;
    Ok(Redirect::to("/admin/users").into_response())
}

async fn lock(
    State(svc): State<AppState>,
    Extension(admin): Extension<CurrentAdmin>,
    Path(user_id): Path<String>,
) -> AdminResult {
    set_status(&svc, &admin, &user_id, true).await
}

async fn unlock(
    State(svc): State<AppState>,
    Extension(admin): Extension<CurrentAdmin>,
    Path(user_id): Path<String>,
) -> AdminResult {
    set_status(&svc, &admin, &user_id, false).await
}
