//! SCIM's writes to users (create, replace, lock-on-delete), the invitation outbox and the
//! provisioning audit trail. Each write is one transaction, so a refusal (409, 428, unknown
//! team) leaves nothing behind.

use super::teams::add_member;
use super::users::existing_user;
use super::users::{UserRow, SELECT_USER};
use super::{Result, Store, StoreError, User, UserStatus, WriteLock};
use crate::users::lifecycle;

/// What SCIM says about a user, already validated by the SCIM layer.
#[derive(Debug, Clone)]
pub struct ScimUserWrite {
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub display_name: Option<String>,
    pub external_id: Option<String>,
    /// `None`: leave the status alone (creation reads it as `true`).
    pub active: Option<bool>,
    /// Team ids the user must be a member of; `None` leaves membership alone.
    pub teams: Option<Vec<i64>>,
}

/// The invitation queued for a user created (or re-created) in the `invited` state.
#[derive(Debug, Clone)]
pub struct Invitation {
    pub subject: String,
    pub body: String,
}

#[derive(Debug, Clone)]
pub struct Created {
    pub user: User,
    /// An invitation was queued in the outbox.
    pub invited: bool,
}

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct OutboxMessage {
    pub id: i64,
    pub created_at: i64,
    pub node_id: i64,
    pub user_id: Option<i64>,
    pub kind: String,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub sent_at: Option<i64>,
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct ProvisioningEvent {
    pub id: i64,
    pub at: i64,
    pub node_id: i64,
    pub event: String,
    pub method: String,
    pub target: Option<String>,
    pub outcome: String,
    pub reason: Option<String>,
    pub detail: Option<String>,
    pub request_id: String,
    pub client_addr: Option<String>,
}

/// What the console's SCIM events are narrowed to; `None` means "any".
#[derive(Debug, Clone, Default)]
pub struct ProvisioningEventFilter {
    pub node_id: Option<i64>,
    /// "success" or "failure".
    pub outcome: Option<String>,
    /// Only events older than this one (the next page, newest first).
    pub before_id: Option<i64>,
    pub limit: i64,
}

#[derive(Debug, Clone)]
pub struct NewProvisioningEvent<'a> {
    pub at: i64,
    pub node_id: i64,
    pub event: &'a str,
    pub method: &'a str,
    pub target: Option<&'a str>,
    pub success: bool,
    pub reason: Option<&'a str>,
    pub detail: Option<&'a str>,
    pub request_id: &'a str,
    pub client_addr: Option<&'a str>,
}

impl Store {
    /// Users of a node that SCIM can see (not SCIM-deleted), oldest first.
    pub async fn list_node_users(&self, node_id: i64) -> Result<Vec<User>> {
        let rows: Vec<UserRow> =
            sqlx::query_as(&format!("{SELECT_USER} WHERE node_id = $1 AND scim_deleted_at IS NULL ORDER BY user_id"))
                .bind(node_id)
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.into_iter().map(User::from).collect())
    }

    pub async fn find_node_user_by_scim_id(&self, node_id: i64, scim_id: &str) -> Result<Option<User>> {
        let row: Option<UserRow> =
            sqlx::query_as(&format!("{SELECT_USER} WHERE node_id = $1 AND scim_id = $2 AND scim_deleted_at IS NULL"))
                .bind(node_id)
                .bind(scim_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(User::from))
    }

    /// Create a user over SCIM: `invited` (invitation queued) unless `active` is false, then
    /// `locked`. A user this node's SCIM deleted earlier under the same email is brought back
    /// with a new SCIM id (so an IdP's "Test Connection" can create and delete the same test
    /// user again); it returns `active` if it had logged in before, else `invited`.
    ///
    /// Any other user with that email — live or deleted, in this node or another — is a
    /// conflict with one and the same message: a node never moves, revives or reveals a user of
    /// another node (issue 8, items 1 and 12).
    pub async fn scim_create_user(
        &self,
        node_id: i64,
        w: &ScimUserWrite,
        invitation: &Invitation,
        now: i64,
    ) -> Result<Created> {
        let mut tx = self.begin_serialized(WriteLock::Provisioning).await?;
        let existing = existing_user(&mut tx, &w.email, "").await?;
        // The rules (revive, status, seat, invitation) are lifecycle::scim_create's.
        let plan = lifecycle::scim_create(existing, node_id, w.active).map_err(|lifecycle::Taken| taken(&w.email))?;
        let status = plan.status;
        if plan.takes_seat {
            check_seats(&mut tx, node_id).await?;
        }
        let scim_id = uuid::Uuid::new_v4().to_string();
        let user_id = match plan.revive {
            Some(user_id) => {
                // node_id is not written: the user stays where it is (this node).
                let res = sqlx::query(
                    "UPDATE users SET email = $1, first_name = $2, last_name = $3, display_name = $4, external_id = $5, \
                     status = $6, scim_id = $7, scim_deleted_at = NULL, updated_at = $8 \
                     WHERE user_id = $9 AND node_id = $10 AND scim_deleted_at IS NOT NULL",
                )
                .bind(super::email_key(&w.email))
                .bind(&w.first_name)
                .bind(&w.last_name)
                .bind(&w.display_name)
                .bind(&w.external_id)
                .bind(status.as_str())
                .bind(&scim_id)
                .bind(now)
                .bind(user_id)
                .bind(node_id)
                .execute(&mut *tx)
                .await?;
                if res.rows_affected() != 1 {
                    return Err(taken(&w.email));
                }
                user_id
            }
            None => {
                sqlx::query_scalar(
                    "INSERT INTO users (email, first_name, last_name, display_name, external_id, status, provisioned_by, \
                     node_id, scim_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 'scim', $7, $8, $9, $10) RETURNING user_id",
                )
                .bind(super::email_key(&w.email))
                .bind(&w.first_name)
                .bind(&w.last_name)
                .bind(&w.display_name)
                .bind(&w.external_id)
                .bind(status.as_str())
                .bind(node_id)
                .bind(&scim_id)
                .bind(now)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?
            }
        };
        for team_id in w.teams.iter().flatten() {
            add_member(&mut tx, *team_id, user_id, now).await?;
        }
        let invited = plan.invite;
        if invited {
            sqlx::query(
                "INSERT INTO outbox (created_at, node_id, user_id, kind, recipient, subject, body) VALUES ($1, $2, $3, 'invitation', $4, $5, $6)",
            )
            .bind(now)
            .bind(node_id)
            .bind(user_id)
            .bind(super::email_key(&w.email))
            .bind(&invitation.subject)
            .bind(&invitation.body)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        let user = self.get_user(user_id).await?.ok_or(StoreError::NotFound("user"))?;
        Ok(Created { user, invited })
    }

    /// Replace a user's SCIM-writable attributes. `active: Some(false)` locks; `Some(true)`
    /// unlocks a locked user (to `active` if it ever logged in, else back to `invited`).
    pub async fn scim_replace_user(&self, user_id: i64, w: &ScimUserWrite, now: i64) -> Result<User> {
        let mut tx = self.begin_serialized(WriteLock::Provisioning).await?;
        // Row-locked (PostgreSQL) so a login or an admin lock cannot slip between this read and
        // the status written back below.
        let current: Option<(String, i64, Option<i64>)> = sqlx::query_as(&format!(
            "SELECT status, node_id, last_login_at FROM users WHERE user_id = $1 AND scim_deleted_at IS NULL{}",
            self.for_update()
        ))
        .bind(user_id)
        .fetch_optional(&mut *tx)
        .await?;
        let (status, node_id, last_login) = current.ok_or(StoreError::NotFound("user"))?;
        let (new_status, takes_seat) =
            lifecycle::scim_replace(UserStatus::parse(&status), last_login.is_some(), w.active);
        if takes_seat {
            check_seats(&mut tx, node_id).await?;
        }
        let taken: Option<i64> = sqlx::query_scalar("SELECT user_id FROM users WHERE email = $1 AND user_id != $2")
            .bind(super::email_key(&w.email))
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?;
        if taken.is_some() {
            return Err(self::taken(&w.email));
        }
        sqlx::query(
            "UPDATE users SET email = $1, first_name = $2, last_name = $3, display_name = $4, external_id = $5, status = $6, \
             updated_at = $7 WHERE user_id = $8",
        )
        .bind(super::email_key(&w.email))
        .bind(&w.first_name)
        .bind(&w.last_name)
        .bind(&w.display_name)
        .bind(&w.external_id)
        .bind(new_status.as_str())
        .bind(now)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
        if let Some(teams) = &w.teams {
            let current: Vec<i64> = sqlx::query_scalar("SELECT team_id FROM team_members WHERE user_id = $1")
                .bind(user_id)
                .fetch_all(&mut *tx)
                .await?;
            for gone in current.iter().filter(|t| !teams.contains(t)) {
                sqlx::query("DELETE FROM team_members WHERE team_id = $1 AND user_id = $2")
                    .bind(gone)
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?;
            }
            for team_id in teams {
                add_member(&mut tx, *team_id, user_id, now).await?;
            }
        }
        tx.commit().await?;
        self.get_user(user_id).await?.ok_or(StoreError::NotFound("user"))
    }

    /// SCIM DELETE as Keeper does it: lock, never delete. The user leaves its teams and is
    /// gone from SCIM reads; vault data and the login record stay.
    pub async fn scim_delete_user(&self, user_id: i64, now: i64) -> Result<()> {
        let mut tx = self.begin_serialized(WriteLock::Provisioning).await?;
        let res = sqlx::query(
            "UPDATE users SET status = 'locked', scim_deleted_at = $1, updated_at = $2 WHERE user_id = $3 AND scim_deleted_at IS NULL",
        )
        .bind(now)
        .bind(now)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
        if res.rows_affected() == 0 {
            return Err(StoreError::NotFound("user"));
        }
        sqlx::query("DELETE FROM team_members WHERE user_id = $1").bind(user_id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn list_outbox(&self, limit: i64) -> Result<Vec<OutboxMessage>> {
        Ok(sqlx::query_as(
            "SELECT id, created_at, node_id, user_id, kind, recipient, subject, body, sent_at, last_error \
             FROM outbox ORDER BY id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn record_provisioning_event(&self, e: &NewProvisioningEvent<'_>) -> Result<()> {
        sqlx::query(
            "INSERT INTO provisioning_events (at, node_id, event, method, target, outcome, reason, detail, request_id, client_addr) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(e.at)
        .bind(e.node_id)
        .bind(e.event)
        .bind(e.method)
        .bind(e.target)
        .bind(if e.success { "success" } else { "failure" })
        .bind(e.reason)
        .bind(e.detail)
        .bind(e.request_id)
        .bind(e.client_addr)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The console's SCIM events: narrowed by `f`, newest first, one page at a time.
    pub async fn search_provisioning_events(&self, f: &ProvisioningEventFilter) -> Result<Vec<ProvisioningEvent>> {
        Ok(sqlx::query_as(
            "SELECT id, at, node_id, event, method, target, outcome, reason, detail, request_id, client_addr \
             FROM provisioning_events WHERE ($1 IS NULL OR node_id = $1) AND ($2 IS NULL OR outcome = $2) \
             AND ($3 IS NULL OR id < $3) ORDER BY id DESC LIMIT $4",
        )
        .bind(f.node_id)
        .bind(&f.outcome)
        .bind(f.before_id)
        .bind(f.limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Events at or after `since`, newest first.
    pub async fn list_provisioning_events(&self, since: i64, limit: i64) -> Result<Vec<ProvisioningEvent>> {
        Ok(sqlx::query_as(
            "SELECT id, at, node_id, event, method, target, outcome, reason, detail, request_id, client_addr \
             FROM provisioning_events WHERE at >= $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(since)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }
}

/// The one answer to every uniqueness conflict on userName, whoever holds the address: the same
/// words for a live user of this node, a user of another node and any node's deleted user, so
/// that SCIM cannot be used to learn which (issue 8, item 12).
fn taken(email: &str) -> StoreError {
    StoreError::Conflict(format!("userName {email} is already in use"))
}

/// Refuse when the node's seats are all taken by users that are not locked.
async fn check_seats(tx: &mut sqlx::AnyConnection, node_id: i64) -> Result<()> {
    let seats: Option<i64> = sqlx::query_scalar("SELECT seats FROM nodes WHERE node_id = $1")
        .bind(node_id)
        .fetch_optional(&mut *tx)
        .await?
        .flatten();
    if let Some(seats) = seats {
        let used: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM users WHERE node_id = $1 AND status != 'locked' AND scim_deleted_at IS NULL",
        )
        .bind(node_id)
        .fetch_one(&mut *tx)
        .await?;
        if used >= seats {
            return Err(StoreError::SeatLimit(seats));
        }
    }
    Ok(())
}
