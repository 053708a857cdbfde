//! Teams (SCIM Groups) and their members. Membership rows are recorded while a team is still
//! pending; approval only flips the team's status.

use std::collections::HashMap;

use super::users::{UserRow, SELECT_USER};
use super::{Result, Store, StoreError, User, WriteLock};

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct Team {
    pub team_id: i64,
    pub team_uid: String,
    pub node_id: i64,
    pub name: String,
    pub external_id: Option<String>,
    /// pending | approved
    pub status: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub approved_at: Option<i64>,
}

const SELECT_TEAM: &str = "SELECT team_id, team_uid, node_id, name, external_id, status, created_at, updated_at, \
     approved_at FROM teams";

/// What SCIM writes about a team; `members` are user ids, `None` leaves membership alone.
#[derive(Debug, Clone)]
pub struct TeamWrite {
    pub name: String,
    pub external_id: Option<String>,
    pub members: Option<Vec<i64>>,
}

impl Store {
    pub async fn create_team(&self, node_id: i64, w: &TeamWrite, now: i64) -> Result<Team> {
        let uid = uuid::Uuid::new_v4().to_string();
        let mut tx = self.begin_serialized(WriteLock::Provisioning).await?;
        let team_id: i64 = sqlx::query_scalar(
            "INSERT INTO teams (team_uid, node_id, name, external_id, status, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, 'pending', $5, $6) RETURNING team_id",
        )
        .bind(&uid)
        .bind(node_id)
        .bind(&w.name)
        .bind(&w.external_id)
        .bind(now)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        for user_id in w.members.iter().flatten() {
            add_member(&mut tx, team_id, *user_id, now).await?;
        }
        tx.commit().await?;
        self.get_team(team_id).await?.ok_or(StoreError::NotFound("team"))
    }

    pub async fn get_team(&self, team_id: i64) -> Result<Option<Team>> {
        Ok(sqlx::query_as(&format!("{SELECT_TEAM} WHERE team_id = $1"))
            .bind(team_id)
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn find_team_by_uid(&self, node_id: i64, uid: &str) -> Result<Option<Team>> {
        Ok(sqlx::query_as(&format!("{SELECT_TEAM} WHERE node_id = $1 AND team_uid = $2"))
            .bind(node_id)
            .bind(uid)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// All teams, or those of one node.
    pub async fn list_teams(&self, node_id: Option<i64>) -> Result<Vec<Team>> {
        Ok(sqlx::query_as(&format!("{SELECT_TEAM} WHERE ($1 IS NULL OR node_id = $2) ORDER BY team_id"))
            .bind(node_id)
            .bind(node_id)
            .fetch_all(&self.pool)
            .await?)
    }

    /// Members of a team in the order they were added (SCIM-deleted users are not members).
    pub async fn team_members(&self, team_id: i64) -> Result<Vec<User>> {
        let rows: Vec<UserRow> = sqlx::query_as(&format!(
            "{SELECT_USER} WHERE scim_deleted_at IS NULL AND user_id IN (SELECT user_id FROM team_members WHERE team_id = $1) \
             ORDER BY (SELECT tm.rowid FROM team_members tm WHERE tm.team_id = $2 AND tm.user_id = users.user_id)"
        ))
        .bind(team_id)
        .bind(team_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(User::from).collect())
    }

    /// team_id → member users, for every team of a node (one query for a whole list page).
    pub async fn node_team_members(&self, node_id: i64) -> Result<HashMap<i64, Vec<User>>> {
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT tm.team_id, tm.user_id FROM team_members tm JOIN teams t ON t.team_id = tm.team_id \
             WHERE t.node_id = $1 ORDER BY tm.rowid",
        )
        .bind(node_id)
        .fetch_all(&self.pool)
        .await?;
        let users: HashMap<i64, User> =
            self.list_node_users(node_id).await?.into_iter().map(|u| (u.user_id, u)).collect();
        let mut map: HashMap<i64, Vec<User>> = HashMap::new();
        for (team_id, user_id) in rows {
            if let Some(u) = users.get(&user_id) {
                map.entry(team_id).or_default().push(u.clone());
            }
        }
        Ok(map)
    }

    /// user_id → teams, for every user of a node.
    pub async fn node_user_teams(&self, node_id: i64) -> Result<HashMap<i64, Vec<Team>>> {
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT tm.user_id, tm.team_id FROM team_members tm JOIN teams t ON t.team_id = tm.team_id \
             WHERE t.node_id = $1 ORDER BY t.team_id",
        )
        .bind(node_id)
        .fetch_all(&self.pool)
        .await?;
        let teams: HashMap<i64, Team> =
            self.list_teams(Some(node_id)).await?.into_iter().map(|t| (t.team_id, t)).collect();
        let mut map: HashMap<i64, Vec<Team>> = HashMap::new();
        for (user_id, team_id) in rows {
            if let Some(t) = teams.get(&team_id) {
                map.entry(user_id).or_default().push(t.clone());
            }
        }
        Ok(map)
    }

    pub async fn replace_team(&self, team_id: i64, w: &TeamWrite, now: i64) -> Result<Team> {
        let mut tx = self.begin_serialized(WriteLock::Provisioning).await?;
        let res = sqlx::query("UPDATE teams SET name = $1, external_id = $2, updated_at = $3 WHERE team_id = $4")
            .bind(&w.name)
            .bind(&w.external_id)
            .bind(now)
            .bind(team_id)
            .execute(&mut *tx)
            .await?;
        if res.rows_affected() == 0 {
            return Err(StoreError::NotFound("team"));
        }
        if let Some(members) = &w.members {
            let current: Vec<i64> = sqlx::query_scalar("SELECT user_id FROM team_members WHERE team_id = $1")
                .bind(team_id)
                .fetch_all(&mut *tx)
                .await?;
            for gone in current.iter().filter(|u| !members.contains(u)) {
                sqlx::query("DELETE FROM team_members WHERE team_id = $1 AND user_id = $2")
                    .bind(team_id)
                    .bind(gone)
                    .execute(&mut *tx)
                    .await?;
            }
            for user_id in members {
                add_member(&mut tx, team_id, *user_id, now).await?;
            }
        }
        tx.commit().await?;
        self.get_team(team_id).await?.ok_or(StoreError::NotFound("team"))
    }

    /// Remove the team; its users stay as they are.
    pub async fn delete_team(&self, team_id: i64) -> Result<()> {
        let res = sqlx::query("DELETE FROM teams WHERE team_id = $1").bind(team_id).execute(&self.pool).await?;
        if res.rows_affected() == 0 {
            return Err(StoreError::NotFound("team"));
        }
        Ok(())
    }

    /// Approve a pending team (by numeric id or team UID). Approving twice is harmless.
    pub async fn approve_team(&self, id_or_uid: &str, now: i64) -> Result<Team> {
        let team: Option<Team> =
            sqlx::query_as(&format!("{SELECT_TEAM} WHERE team_uid = $1 OR CAST(team_id AS TEXT) = $2"))
                .bind(id_or_uid)
                .bind(id_or_uid)
                .fetch_optional(&self.pool)
                .await?;
        let team = team.ok_or(StoreError::NotFound("team"))?;
        sqlx::query("UPDATE teams SET status = 'approved', approved_at = COALESCE(approved_at, $1) WHERE team_id = $2")
            .bind(now)
            .bind(team.team_id)
            .execute(&self.pool)
            .await?;
        self.get_team(team.team_id).await?.ok_or(StoreError::NotFound("team"))
    }
}

/// Idempotent: adding a member twice leaves one row (JumpCloud repeats adds).
pub(super) async fn add_member(tx: &mut sqlx::AnyConnection, team_id: i64, user_id: i64, now: i64) -> Result<()> {
    sqlx::query("INSERT INTO team_members (team_id, user_id, added_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
        .bind(team_id)
        .bind(user_id)
        .bind(now)
        .execute(tx)
        .await?;
    Ok(())
}
