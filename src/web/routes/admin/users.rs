//! /admin/users: search, status, provisioning source, last login, 50 to a page (searched and
//! paged in the store); lock and unlock.

use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde::Deserialize;
use tower_sessions::Session;

use super::{actor, chrome, confirmed, flash, link, now, AdminError, AdminResult, ConfirmForm};
use crate::ops::{self, AccountRef};
use crate::store::{UserSearch, UserStatus};
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
    /// 1-based; anything unreadable is the first page.
    #[serde(default)]
    page: String,
}

/// Users per page.
const PAGE: i64 = 50;

async fn list(
    State(svc): State<AppState>,
    Extension(admin): Extension<CurrentAdmin>,
    session: Session,
    Query(query): Query<UserQuery>,
) -> AdminResult {
    let status = [UserStatus::Invited, UserStatus::Active, UserStatus::Locked]
        .into_iter()
        .find(|s| s.as_str() == query.status.trim());
    let text = Some(query.q.trim().to_string()).filter(|t| !t.is_empty());
    let wanted = query.page.trim().parse::<i64>().unwrap_or(1).clamp(1, i64::MAX / PAGE);
    let search = |page: i64| UserSearch { text: text.clone(), status, offset: (page - 1) * PAGE, limit: PAGE };
    let mut found = svc.store.search_users(&search(wanted)).await?;
    let pages = ((found.matching + PAGE - 1) / PAGE).max(1);
    // Past the last page (the list shrank, or a hand-made link): the last page instead.
    let page = wanted.min(pages);
    if page != wanted {
        found = svc.store.search_users(&search(page)).await?;
    }
    let ids: Vec<i64> = found.users.iter().map(|u| u.user_id).collect();
    let attachments = svc.store.user_sso_attachments(&ids).await?;
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
    let first = (page - 1) * PAGE + 1;
    let shown = found.users.len() as i64;
    let status = status.map(UserStatus::as_str).unwrap_or_default();
    let page_link = |to: i64| {
        let to = to.to_string();
        link("/admin/users", &[("q", query.q.trim()), ("status", status), ("page", &to)])
    };
    let previous_link = if page > 1 { page_link(page - 1) } else { String::new() };
    let next_link = if page < pages { page_link(page + 1) } else { String::new() };
    let users = found
        .users
        .into_iter()
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
        filtered: text.is_some() || !status.is_empty(),
        q: query.q,
        status: status.to_string(),
        page,
        pages,
        first,
        last: first + shown - 1,
        matching: found.matching,
        all: found.all,
        previous_link,
        next_link,
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
