//! Issued AuthnRequests, one-time assertion IDs, and the login record (successes and refusals).

use sqlx::Row;

use super::{Result, Store, StoreError, User, UserStatus};

#[derive(Debug, Clone)]
pub struct PendingRequest {
    pub request_id: String,
    pub sso_id: i64,
    pub target: String,
    pub expires_at: i64,
    pub consumed: bool,
}

/// Everything a successful login writes, applied in one transaction so that a refusal at any
/// point (replay, request already answered) leaves no trace.
#[derive(Debug, Clone)]
pub struct LoginCommit {
    pub sso_id: i64,
    pub node_id: i64,
    pub assertion_id: String,
    pub replay_until: i64,
    pub request_id: Option<String>,
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// Create the user when unknown (JIT); the caller has already decided this is allowed.
    pub create_if_missing: bool,
    pub now: i64,
    pub http_request_id: String,
    pub client_addr: Option<String>,
    pub issuer: String,
}

#[derive(Debug, Clone)]
pub struct NewFailure {
    pub sso_id: Option<i64>,
    pub reason_code: String,
    pub detail: String,
    pub issuer: Option<String>,
    pub name_id: Option<String>,
    pub client_addr: Option<String>,
    pub request_id: String,
    pub at: i64,
}

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct LoginEvent {
    pub id: i64,
    pub at: i64,
    pub sso_id: Option<i64>,
    pub user_id: Option<i64>,
    pub email: Option<String>,
    pub outcome: String,
    pub reason_code: Option<String>,
    pub detail: Option<String>,
    pub issuer: Option<String>,
    pub name_id: Option<String>,
    pub client_addr: Option<String>,
    pub request_id: String,
    pub provisioned_by: Option<String>,
}

impl Store {
    pub async fn insert_authn_request(
        &self,
        request_id: &str,
        sso_id: i64,
        target: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO authn_requests (request_id, sso_id, target, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(request_id)
        .bind(sso_id)
        .bind(target)
        .bind(now)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn get_authn_request(&self, request_id: &str) -> Result<Option<PendingRequest>> {
        let row = sqlx::query(
            "SELECT request_id, sso_id, target, expires_at, consumed_at FROM authn_requests WHERE request_id = ?",
        )
        .bind(request_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| PendingRequest {
            request_id: r.get("request_id"),
            sso_id: r.get("sso_id"),
            target: r.get("target"),
            expires_at: r.get("expires_at"),
            consumed: r.get::<Option<i64>, _>("consumed_at").is_some(),
        }))
    }

    pub async fn is_assertion_used(&self, sso_id: i64, assertion_id: &str) -> Result<bool> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM used_assertions WHERE sso_id = ? AND assertion_id = ?")
            .bind(sso_id)
            .bind(assertion_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(n > 0)
    }

    /// Mark the assertion used, consume the request, create or update the user and record the
    /// login — all or nothing. The assertion-ID insert comes first: it takes SQLite's write lock
    /// at once (no read-then-upgrade deadlock) and its primary key is what makes 50 concurrent
    /// posts of one response succeed exactly once.
    pub async fn commit_login(&self, c: &LoginCommit) -> Result<User> {
        let mut tx = self.pool.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO used_assertions (sso_id, assertion_id, expires_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(c.sso_id)
        .bind(&c.assertion_id)
        .bind(c.replay_until)
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            return Err(StoreError::AssertionReplayed);
        }
        if let Some(request_id) = &c.request_id {
            let consumed = sqlx::query(
                "UPDATE authn_requests SET consumed_at = ? WHERE request_id = ? AND sso_id = ? AND consumed_at IS NULL AND expires_at > ?",
            )
            .bind(c.now)
            .bind(request_id)
            .bind(c.sso_id)
            .bind(c.now)
            .execute(&mut *tx)
            .await?;
            if consumed.rows_affected() == 0 {
                return Err(StoreError::RequestAlreadyUsed);
            }
        }
        let existing: Option<(i64, String, String)> =
            sqlx::query_as("SELECT user_id, status, provisioned_by FROM users WHERE email = ? COLLATE NOCASE")
                .bind(&c.email)
                .fetch_optional(&mut *tx)
                .await?;
        let (user_id, provisioned_by) = match existing {
            Some((_, status, _)) if UserStatus::parse(&status) == UserStatus::Locked => {
                // Locked between validation and commit: refuse, roll back.
                return Err(StoreError::UserLocked);
            }
            Some((user_id, _, provisioned_by)) => {
                sqlx::query(
                    "UPDATE users SET first_name = COALESCE(?, first_name), last_name = COALESCE(?, last_name), \
                     status = 'active', last_login_at = ? WHERE user_id = ?",
                )
                .bind(&c.first_name)
                .bind(&c.last_name)
                .bind(c.now)
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
                (user_id, provisioned_by)
            }
            None if c.create_if_missing => {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO users (email, first_name, last_name, status, provisioned_by, node_id, created_at, last_login_at) \
                     VALUES (?, ?, ?, 'active', 'jit', ?, ?, ?) RETURNING user_id",
                )
                .bind(super::email_key(&c.email))
                .bind(c.first_name.clone().unwrap_or_default())
                .bind(c.last_name.clone().unwrap_or_default())
                .bind(c.node_id)
                .bind(c.now)
                .bind(c.now)
                .fetch_one(&mut *tx)
                .await?;
                (id, "jit".to_string())
            }
            None => return Err(StoreError::NotFound("user")),
        };
        sqlx::query(
            "INSERT INTO login_events (at, sso_id, user_id, email, outcome, issuer, name_id, client_addr, request_id, provisioned_by) \
             VALUES (?, ?, ?, ?, 'success', ?, ?, ?, ?, ?)",
        )
        .bind(c.now)
        .bind(c.sso_id)
        .bind(user_id)
        .bind(&c.email)
        .bind(&c.issuer)
        .bind(&c.email)
        .bind(&c.client_addr)
        .bind(&c.http_request_id)
        .bind(&provisioned_by)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.get_user(user_id).await?.ok_or(StoreError::NotFound("user"))
    }

    pub async fn record_login_failure(&self, f: &NewFailure) -> Result<()> {
        sqlx::query(
            "INSERT INTO login_events (at, sso_id, outcome, reason_code, detail, issuer, name_id, client_addr, request_id) \
             VALUES (?, ?, 'failure', ?, ?, ?, ?, ?, ?)",
        )
        .bind(f.at)
        .bind(f.sso_id)
        .bind(&f.reason_code)
        .bind(&f.detail)
        .bind(&f.issuer)
        .bind(&f.name_id)
        .bind(&f.client_addr)
        .bind(&f.request_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn list_login_events(&self, failed_only: bool, limit: i64) -> Result<Vec<LoginEvent>> {
        let filter = if failed_only { "WHERE outcome = 'failure'" } else { "" };
        Ok(sqlx::query_as(&format!(
            "SELECT id, at, sso_id, user_id, email, outcome, reason_code, detail, issuer, name_id, client_addr, \
             request_id, provisioned_by FROM login_events {filter} ORDER BY id DESC LIMIT ?"
        ))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }
}

/// How many redacted responses are kept per configuration while its debug switch is on.
pub const DEBUG_RESPONSES_KEPT: i64 = 5;

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct DebugResponse {
    pub id: i64,
    pub sso_id: i64,
    pub at: i64,
    pub request_id: String,
    pub outcome: String,
    pub reason_code: Option<String>,
    pub xml: String,
}

impl Store {
    /// Keep one redacted response and forget all but the newest few of that configuration.
    pub async fn keep_debug_response(
        &self,
        sso_id: i64,
        at: i64,
        request_id: &str,
        outcome: &str,
        reason_code: Option<&str>,
        xml: &str,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO debug_responses (sso_id, at, request_id, outcome, reason_code, xml) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(sso_id)
        .bind(at)
        .bind(request_id)
        .bind(outcome)
        .bind(reason_code)
        .bind(xml)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "DELETE FROM debug_responses WHERE sso_id = ? AND id NOT IN \
             (SELECT id FROM debug_responses WHERE sso_id = ? ORDER BY id DESC LIMIT ?)",
        )
        .bind(sso_id)
        .bind(sso_id)
        .bind(DEBUG_RESPONSES_KEPT)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn list_debug_responses(&self, sso_id: i64) -> Result<Vec<DebugResponse>> {
        Ok(sqlx::query_as(
            "SELECT id, sso_id, at, request_id, outcome, reason_code, xml FROM debug_responses WHERE sso_id = ? ORDER BY id DESC",
        )
        .bind(sso_id)
        .fetch_all(&self.pool)
        .await?)
    }
}
