//! Teams (SCIM Groups): Keeper leaves a team that SCIM creates pending until an admin approves it.

use super::{audit, Actor, OpsError, Result};
use crate::services::Services;
use crate::store::Team;

/// A team and the emails of its members.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TeamWithMembers {
    pub team: Team,
    pub members: Vec<String>,
}

/// Teams (of one node, or all) with their members' emails.
pub async fn list(svc: &Services, node_id: Option<i64>) -> Result<Vec<TeamWithMembers>> {
    let mut out = Vec::new();
    for team in svc.store.list_teams(node_id).await? {
        let members = svc.store.team_members(team.team_id).await?.into_iter().map(|u| u.email).collect();
        out.push(TeamWithMembers { team, members });
    }
    Ok(out)
}

/// Approve a pending team, named by numeric id or team UID (its SCIM id). Approving twice is
/// harmless (and audited twice).
pub async fn approve(svc: &Services, actor: &Actor, id_or_uid: &str, now: i64) -> Result<Team> {
    let id_or_uid = id_or_uid.trim();
    if id_or_uid.is_empty() {
        return Err(OpsError::Invalid("Name the team by its id or UID.".into()));
    }
    let team = svc.store.approve_team(id_or_uid, now).await.map_err(|e| match OpsError::from(e) {
        OpsError::NotFound(_) => OpsError::NotFound(format!("no team {}", crate::logsafe::clip_to(id_or_uid, 100))),
        other => other,
    })?;
    audit(svc, actor, "team.approve", &team.team_uid, &team.name, now).await?;
    Ok(team)
}
