//! Issued AuthnRequests, one-time assertion IDs, and the login record (successes and refusals).

use sqlx::Row;

use super::users::{UserRow, USER_COLUMNS};
use super::{Result, Store, StoreError, User, WriteLock};
use crate::users::lifecycle;

/// What an AuthnRequest was issued for. Only a `Login` request can sign a user in to the
/// vault; a `Test` request ends in the console's report, an `Admin` one in a console session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestPurpose {
    Login,
    Test,
    Admin,
}

impl RequestPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestPurpose::Login => "login",
            RequestPurpose::Test => "test",
            RequestPurpose::Admin => "admin",
        }
    }

    /// Anything unknown reads as a purpose no handler accepts for a user's login.
    fn parse(s: &str) -> Option<Self> {
        match s {
            "login" => Some(RequestPurpose::Login),
            "test" => Some(RequestPurpose::Test),
            "admin" => Some(RequestPurpose::Admin),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct PendingRequest {
    pub request_id: String,
    pub sso_id: i64,
    pub target: String,
    pub expires_at: i64,
    pub consumed: bool,
    /// SHA-256 (hex) of the browser-binding cookie of the browser that started the login.
    pub browser_binding: Option<String>,
    /// `None`: a value this version does not know (never accepted).
    pub purpose: Option<RequestPurpose>,
    /// Test logins: the admin who started it (only they see the report).
    pub admin_id: Option<i64>,
}

/// An AuthnRequest about to be remembered, with the bounds on what one client may leave behind.
#[derive(Debug, Clone)]
pub struct NewAuthnRequest<'a> {
    pub request_id: &'a str,
    pub sso_id: i64,
    pub target: &'a str,
    pub browser_binding: &'a str,
    pub client_addr: &'a str,
    pub purpose: RequestPurpose,
    pub admin_id: Option<i64>,
    pub now: i64,
    pub expires_at: i64,
    /// Unanswered requests kept per client address; the oldest beyond it are dropped.
    pub max_per_client: i64,
    /// Unanswered requests kept per configuration; the oldest beyond it are dropped.
    pub max_per_sso: i64,
}

/// An unsolicited login that was committed at the ACS and waits for its same-site continuation.
#[derive(Debug, Clone)]
pub struct PendingLogin {
    pub user_id: i64,
    pub sso_id: i64,
    pub auth_at: i64,
    pub session_index: Option<String>,
    pub name_id: Option<String>,
    pub name_id_format: Option<String>,
    pub target: String,
    pub expires_at: i64,
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
    /// An unsolicited login's continuation, parked in the same transaction (see
    /// `web::routes::continue_login`); its user is the one this login commits.
    pub continuation: Option<NewContinuation>,
}

/// The continuation of an unsolicited login, keyed by the hash of its cookie's token.
#[derive(Debug, Clone)]
pub struct NewContinuation {
    pub token_hash: String,
    pub session_index: Option<String>,
    pub name_id: Option<String>,
    pub name_id_format: Option<String>,
    pub target: String,
    pub expires_at: i64,
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
    /// Remember an issued AuthnRequest. Anyone can make us issue one (ext_login is public), so
    /// what one client address, and one configuration, may have waiting for an answer is bounded:
    /// over a bound the *new* request is refused (`StoreError::TooManyPending`). Nothing pending
    /// is ever dropped early, so a flood cannot cancel someone else's login in flight.
    pub async fn insert_authn_request(&self, r: &NewAuthnRequest<'_>) -> Result<()> {
        // Serialized with every other issuer (SQLite's write lock; an advisory lock on PostgreSQL),
        // so the counts below see every concurrent request and the caps cannot be raced.
        let mut tx = self.begin_serialized(WriteLock::AuthnRequests).await?;
        sqlx::query(
            "INSERT INTO authn_requests (request_id, sso_id, target, created_at, expires_at, browser_binding, client_addr, \
             purpose, admin_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(r.request_id)
        .bind(r.sso_id)
        .bind(r.target)
        .bind(r.now)
        .bind(r.expires_at)
        .bind(r.browser_binding)
        .bind(r.client_addr)
        .bind(r.purpose.as_str())
        .bind(r.admin_id)
        .execute(&mut *tx)
        .await?;
        let by_client: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM authn_requests WHERE client_addr = $1 AND consumed_at IS NULL AND expires_at > $2",
        )
        .bind(r.client_addr)
        .bind(r.now)
        .fetch_one(&mut *tx)
        .await?;
        let by_sso: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM authn_requests WHERE sso_id = $1 AND consumed_at IS NULL AND expires_at > $2",
        )
        .bind(r.sso_id)
        .bind(r.now)
        .fetch_one(&mut *tx)
        .await?;
        if by_client > r.max_per_client || by_sso > r.max_per_sso {
            tx.rollback().await?;
            return Err(StoreError::TooManyPending);
        }
        tx.commit().await?;
        Ok(())
    }

    /// Whether an unanswered AuthnRequest is bound to this browser-binding hash.
    pub async fn binding_in_use(&self, binding_hash: &str) -> Result<bool> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM authn_requests WHERE browser_binding = $1 AND consumed_at IS NULL",
        )
        .bind(binding_hash)
        .fetch_one(&self.pool)
        .await?;
        Ok(n > 0)
    }

    /// Unanswered AuthnRequests (for tests and the admin's view of ext_login floods).
    pub async fn count_pending_requests(&self, sso_id: i64) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM authn_requests WHERE sso_id = $1 AND consumed_at IS NULL")
            .bind(sso_id)
            .fetch_one(&self.pool)
            .await?)
    }

    /// The pending login for this continuation token, if unexpired; `take` also deletes it, so a
    /// continuation is used once.
    pub async fn pending_login(&self, token_hash: &str, now: i64, take: bool) -> Result<Option<PendingLogin>> {
        let sql = if take {
            "DELETE FROM pending_logins WHERE token_hash = $1 AND expires_at > $2 \
             RETURNING user_id, sso_id, auth_at, session_index, name_id, name_id_format, target, expires_at"
        } else {
            "SELECT user_id, sso_id, auth_at, session_index, name_id, name_id_format, target, expires_at \
             FROM pending_logins \
             WHERE token_hash = $1 AND expires_at > $2"
        };
        let row = sqlx::query(sql).bind(token_hash).bind(now).fetch_optional(&self.pool).await?;
        Ok(row.map(|r| PendingLogin {
            user_id: r.get("user_id"),
            sso_id: r.get("sso_id"),
            auth_at: r.get("auth_at"),
            session_index: r.get("session_index"),
            name_id: r.get("name_id"),
            name_id_format: r.get("name_id_format"),
            target: r.get("target"),
            expires_at: r.get("expires_at"),
        }))
    }

    pub async fn get_authn_request(&self, request_id: &str) -> Result<Option<PendingRequest>> {
        let row = sqlx::query(
            "SELECT request_id, sso_id, target, expires_at, consumed_at, browser_binding, purpose, admin_id \
             FROM authn_requests WHERE request_id = $1",
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
            browser_binding: r.get("browser_binding"),
            purpose: RequestPurpose::parse(&r.get::<String, _>("purpose")),
            admin_id: r.get("admin_id"),
        }))
    }

    pub async fn is_assertion_used(&self, sso_id: i64, assertion_id: &str) -> Result<bool> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM used_assertions WHERE sso_id = $1 AND assertion_id = $2")
            .bind(sso_id)
            .bind(assertion_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(n > 0)
    }

    /// `is_assertion_used` and `find_user_by_email` in one round trip (a login's evaluation).
    pub async fn assertion_used_and_user(
        &self,
        sso_id: i64,
        assertion_id: &str,
        email: &str,
    ) -> Result<(bool, Option<User>)> {
        let row = sqlx::query(&format!(
            "SELECT (SELECT COUNT(*) FROM used_assertions WHERE sso_id = $1 AND assertion_id = $2) AS used_count, \
             {USER_COLUMNS} FROM (SELECT 1 AS one) AS one LEFT JOIN users ON users.email = $3"
        ))
        .bind(sso_id)
        .bind(assertion_id)
        .bind(super::email_key(email))
        .fetch_one(&self.pool)
        .await?;
        let used = row.try_get::<i64, _>("used_count")? > 0;
        let user = match row.try_get::<Option<i64>, _>("user_id")? {
            Some(_) => Some(User::from(<UserRow as sqlx::FromRow<'_, sqlx::any::AnyRow>>::from_row(&row)?)),
            None => None,
        };
        Ok((used, user))
    }

    /// Mark the assertion used, consume the request, create or update the user, record the
    /// login and (unsolicited logins) park its continuation — all or nothing, in one transaction
    /// that also returns the user as written. The assertion-ID insert comes first: it takes
    /// SQLite's write lock at once (no read-then-upgrade deadlock) and its primary key is what
    /// makes 50 concurrent posts of one response succeed exactly once.
    pub async fn commit_login(&self, c: &LoginCommit) -> Result<User> {
        let mut tx = self.begin_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO used_assertions (sso_id, assertion_id, expires_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
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
                "UPDATE authn_requests SET consumed_at = $1 WHERE request_id = $2 AND sso_id = $3 AND consumed_at IS NULL AND expires_at > $4",
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
        // JIT (the caller saw no such user): insert first. ON CONFLICT: the user appeared since
        // (another login or instance created it at this moment), and this login updates it.
        // The SCIM id is given here (as SCIM creation does), not left to SQLite's AFTER INSERT
        // trigger, whose change RETURNING would not show.
        let created: Option<UserRow> = if c.create_if_missing {
            sqlx::query_as(&format!(
                "INSERT INTO users (email, first_name, last_name, status, provisioned_by, node_id, created_at, last_login_at, scim_id) \
                 VALUES ($1, $2, $3, 'active', 'jit', $4, $5, $6, $7) ON CONFLICT (email) DO NOTHING RETURNING {USER_COLUMNS}"
            ))
            .bind(super::email_key(&c.email))
            .bind(c.first_name.clone().unwrap_or_default())
            .bind(c.last_name.clone().unwrap_or_default())
            .bind(c.node_id)
            .bind(c.now)
            .bind(c.now)
            .bind(uuid::Uuid::new_v4().to_string())
            .fetch_optional(&mut *tx)
            .await?
        } else {
            None
        };
        let user = match created {
            Some(row) => User::from(row),
            None => {
                // Locked for the rest of the transaction (PostgreSQL): an admin lock or a SCIM
                // deprovision committed meanwhile is seen here, or waits for this login to commit,
                // and is never overwritten by the `status = 'active'` below.
                let existing = super::users::existing_user(&mut tx, &c.email, self.for_update()).await?;
                // The rule is lifecycle::on_login's. JIT creation was tried above (and found the
                // user there, or was not allowed), so it is not asked for again.
                let user_id = match lifecycle::on_login(existing, false) {
                    lifecycle::OnLogin::Update { user_id } => user_id,
                    // Locked between validation and commit: refuse, roll back.
                    lifecycle::OnLogin::RefuseLocked => return Err(StoreError::UserLocked),
                    lifecycle::OnLogin::RefuseUnknown | lifecycle::OnLogin::Create => {
                        return Err(StoreError::UserNotProvisioned)
                    }
                };
                let row: UserRow = sqlx::query_as(&format!(
                    "UPDATE users SET first_name = COALESCE($1, first_name), last_name = COALESCE($2, last_name), \
                     status = 'active', last_login_at = $3 WHERE user_id = $4 RETURNING {USER_COLUMNS}"
                ))
                .bind(&c.first_name)
                .bind(&c.last_name)
                .bind(c.now)
                .bind(user_id)
                .fetch_one(&mut *tx)
                .await?;
                User::from(row)
            }
        };
        sqlx::query(
            "INSERT INTO login_events (at, sso_id, user_id, email, outcome, issuer, name_id, client_addr, request_id, provisioned_by) \
             VALUES ($1, $2, $3, $4, 'success', $5, $6, $7, $8, $9)",
        )
        .bind(c.now)
        .bind(c.sso_id)
        .bind(user.user_id)
        .bind(&c.email)
        .bind(&c.issuer)
        .bind(&c.email)
        .bind(&c.client_addr)
        .bind(&c.http_request_id)
        .bind(&user.provisioned_by)
        .execute(&mut *tx)
        .await?;
        if let Some(p) = &c.continuation {
            sqlx::query(
                "INSERT INTO pending_logins (token_hash, user_id, sso_id, auth_at, session_index, target, expires_at, \
                 name_id, name_id_format) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(&p.token_hash)
            .bind(user.user_id)
            .bind(c.sso_id)
            .bind(c.now)
            .bind(&p.session_index)
            .bind(&p.target)
            .bind(p.expires_at)
            .bind(&p.name_id)
            .bind(&p.name_id_format)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(user)
    }

    pub async fn record_login_failure(&self, f: &NewFailure) -> Result<()> {
        let _turn = self.write_turn().await;
        sqlx::query(
            "INSERT INTO login_events (at, sso_id, outcome, reason_code, detail, issuer, name_id, client_addr, request_id) \
             VALUES ($1, $2, 'failure', $3, $4, $5, $6, $7, $8)",
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
             request_id, provisioned_by FROM login_events {filter} ORDER BY id DESC LIMIT $1"
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
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO debug_responses (sso_id, at, request_id, outcome, reason_code, xml) VALUES ($1, $2, $3, $4, $5, $6)",
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
            "DELETE FROM debug_responses WHERE sso_id = $1 AND id NOT IN \
             (SELECT id FROM debug_responses WHERE sso_id = $2 ORDER BY id DESC LIMIT $3)",
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
            "SELECT id, sso_id, at, request_id, outcome, reason_code, xml FROM debug_responses WHERE sso_id = $1 ORDER BY id DESC",
        )
        .bind(sso_id)
        .fetch_all(&self.pool)
        .await?)
    }
}
