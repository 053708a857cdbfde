//! /admin/teams: teams (SCIM Groups) with their members; approve pending teams. Keeper leaves a
//! SCIM-created team pending until an admin (or a member's login) completes it.

use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Extension, Router};
use tower_sessions::Session;

use super::{actor, chrome, flash, now, AdminError, AdminResult};
use crate::ops;
use crate::web::admin_pages::{fmt_time, TeamRow, TeamsPage};
use crate::web::admin_session::CurrentAdmin;
use crate::web::routes::parse_id;
use crate::web::templates::render;
use crate::web::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/teams", get(list)).route("/admin/teams/{team_id}/approve", post(approve))
}

async fn list(State(svc): State<AppState>, Extension(admin): Extension<CurrentAdmin>, session: Session) -> AdminResult {
    let nodes = svc.store.list_nodes().await?;
    let mut teams = Vec::new();
    for ops::teams::TeamWithMembers { team: t, members } in ops::teams::list(&svc, None).await? {
        teams.push(TeamRow {
            node: nodes
                .iter()
                .find(|n| n.node_id == t.node_id)
                .map_or_else(|| t.node_id.to_string(), |n| n.name.clone()),
            pending: t.status == "pending",
            created: fmt_time(Some(t.created_at)),
            team_id: t.team_id,
            team_uid: t.team_uid,
            name: t.name,
            members,
        });
    }
    let pending = teams.iter().filter(|t| t.pending).count();
    let page = TeamsPage { chrome: chrome(&svc, &session, &admin, "teams").await, teams, pending };
    Ok(Html(render(&page)).into_response())
}

async fn approve(
    State(svc): State<AppState>,
    Extension(admin): Extension<CurrentAdmin>,
    session: Session,
    Path(raw): Path<String>,
) -> AdminResult {
    let team_id = parse_id(&raw).ok_or(AdminError::NotFound)?;
    ops::teams::approve(&svc, &actor(&admin), &team_id.to_string(), now()).await?;
    flash(&session, "Team approved.".to_string()).await;
    Ok(Redirect::to("/admin/teams").into_response())
}
