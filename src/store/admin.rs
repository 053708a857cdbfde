//! The admin console's records: local admin accounts, refused sign-ins (counted for rate
//! limiting), the audit trail, and the read-only views the console needs over logins.

use super::{LoginEvent, Result, Store, StoreError, WriteLock};

/// How admin emails are stored and looked up: trimmed, lower case.
fn admin_key(email: &str) -> String {
    email.trim().to_lowercase()
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AdminAccount {
    pub admin_id: i64,
    pub email: String,
    pub password_hash: String,
    pub created_at: i64,
    pub last_login_at: Option<i64>,
}

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct AuditEvent {
    pub id: i64,
    pub at: i64,
    pub admin_email: String,
    pub action: String,
    pub target: String,
    pub detail: String,
}

/// Refused sign-ins counted for one attempt (see `reserve_admin_signin`), all within the window
/// and before this attempt.
#[derive(Debug, Clone, Copy)]
pub struct SignInCounts {
    pub attempt_id: i64,
    pub by_email: i64,
    pub last_email: Option<i64>,
    pub by_addr: i64,
    pub last_addr: Option<i64>,
    pub by_device: i64,
}

/// What the login-events table of the console is narrowed to; `None` means "any".
#[derive(Debug, Clone, Default)]
pub struct LoginEventFilter {
    pub sso_id: Option<i64>,
    /// "success" or "failure".
    pub outcome: Option<String>,
    pub reason_code: Option<String>,
    /// Substring of the email or the claimed NameID.
    pub who: Option<String>,
    /// The request ID a user was shown on the error page (exact).
    pub request_id: Option<String>,
    /// Only records older than this one (the next page, newest first).
    pub before_id: Option<i64>,
    pub limit: i64,
}

/// What the console's audit table is narrowed to; `None` means "any".
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Actions starting with this (`sso.`, `user.lock`, …).
    pub action_prefix: Option<String>,
    /// Part of the acting admin's email (or `cli`), in any case.
    pub admin: Option<String>,
    /// Only events older than this one (the next page, newest first).
    pub before_id: Option<i64>,
    pub limit: i64,
}

impl Store {
    pub async fn create_admin(&self, email: &str, password_hash: &str, now: i64) -> Result<AdminAccount> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO admin_accounts (email, password_hash, created_at) VALUES ($1, $2, $3) RETURNING admin_id",
        )
        .bind(admin_key(email))
        .bind(password_hash)
        .bind(now)
        .fetch_one(&self.pool)
        .await
        .map_err(|e| match &e {
            e if super::is_unique_violation(e) => StoreError::Conflict(format!("an admin {email} already exists")),
            _ => e.into(),
        })?;
        sqlx::query_as(
            "SELECT admin_id, email, password_hash, created_at, last_login_at FROM admin_accounts WHERE admin_id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound("admin"))
    }

    pub async fn find_admin(&self, email: &str) -> Result<Option<AdminAccount>> {
        Ok(sqlx::query_as(
            "SELECT admin_id, email, password_hash, created_at, last_login_at FROM admin_accounts WHERE email = $1",
        )
        .bind(admin_key(email))
        .fetch_optional(&self.pool)
        .await?)
    }

    pub async fn get_admin(&self, admin_id: i64) -> Result<Option<AdminAccount>> {
        Ok(sqlx::query_as(
            "SELECT admin_id, email, password_hash, created_at, last_login_at FROM admin_accounts WHERE admin_id = $1",
        )
        .bind(admin_id)
        .fetch_optional(&self.pool)
        .await?)
    }

    pub async fn count_admins(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM admin_accounts").fetch_one(&self.pool).await?)
    }

    pub async fn mark_admin_signed_in(&self, admin_id: i64, now: i64) -> Result<()> {
        sqlx::query("UPDATE admin_accounts SET last_login_at = $1 WHERE admin_id = $2")
            .bind(now)
            .bind(admin_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Count a sign-in attempt *before* its password is checked: the row is inserted and the
    /// counts read in one write transaction, so parallel attempts see each other and no more than
    /// the allowed number ever reach the (slow, memory-hungry) hash. The row stays as the failure
    /// record unless the attempt is dropped (throttled, busy) or succeeds.
    pub async fn reserve_admin_signin(
        &self,
        email: &str,
        client_addr: &str,
        device: Option<&str>,
        now: i64,
        since: i64,
    ) -> Result<SignInCounts> {
        let mut tx = self.begin_serialized(WriteLock::AdminSignIn).await?;
        let attempt_id: i64 = sqlx::query_scalar(
            "INSERT INTO admin_signin_failures (at, email, client_addr, device) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(now)
        .bind(admin_key(email))
        .bind(client_addr)
        .bind(device)
        .fetch_one(&mut *tx)
        .await?;
        // Earlier rows only (id < this one): what was there before this attempt.
        let (by_email, last_email): (i64, Option<i64>) = sqlx::query_as(
            "SELECT COUNT(*), MAX(at) FROM admin_signin_failures WHERE email = $1 AND at >= $2 AND id < $3",
        )
        .bind(admin_key(email))
        .bind(since)
        .bind(attempt_id)
        .fetch_one(&mut *tx)
        .await?;
        let (by_addr, last_addr): (i64, Option<i64>) = sqlx::query_as(
            "SELECT COUNT(*), MAX(at) FROM admin_signin_failures WHERE client_addr = $1 AND at >= $2 AND id < $3",
        )
        .bind(client_addr)
        .bind(since)
        .bind(attempt_id)
        .fetch_one(&mut *tx)
        .await?;
        let by_device: i64 = match device {
            Some(d) => {
                sqlx::query_scalar(
                    "SELECT COUNT(*) FROM admin_signin_failures WHERE device = $1 AND at >= $2 AND id < $3",
                )
                .bind(d)
                .bind(since)
                .bind(attempt_id)
                .fetch_one(&mut *tx)
                .await?
            }
            None => 0,
        };
        tx.commit().await?;
        Ok(SignInCounts { attempt_id, by_email, last_email, by_addr, last_addr, by_device })
    }

    /// Forget a reserved attempt that never reached the password check (or succeeded).
    pub async fn drop_admin_signin_attempt(&self, attempt_id: i64) -> Result<()> {
        sqlx::query("DELETE FROM admin_signin_failures WHERE id = $1").bind(attempt_id).execute(&self.pool).await?;
        Ok(())
    }

    /// Whether `device_hash` is a device this admin signed in from before.
    pub async fn admin_device_known(&self, email: &str, device_hash: &str) -> Result<bool> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM admin_devices d JOIN admin_accounts a ON a.admin_id = d.admin_id \
             WHERE d.device_hash = $1 AND a.email = $2",
        )
        .bind(device_hash)
        .bind(admin_key(email))
        .fetch_one(&self.pool)
        .await?;
        Ok(n > 0)
    }

    /// Remember a device an admin signed in from (or refresh its last use).
    pub async fn remember_admin_device(&self, admin_id: i64, device_hash: &str, now: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO admin_devices (device_hash, admin_id, created_at, last_used_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (device_hash) DO UPDATE SET last_used_at = excluded.last_used_at",
        )
        .bind(device_hash)
        .bind(admin_id)
        .bind(now)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A successful sign-in clears the account's failures, so an admin who mistyped twice
    /// does not carry them into the next window.
    pub async fn clear_admin_signin_failures(&self, email: &str) -> Result<()> {
        sqlx::query("DELETE FROM admin_signin_failures WHERE email = $1")
            .bind(admin_key(email))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn audit(&self, admin_email: &str, action: &str, target: &str, detail: &str, now: i64) -> Result<()> {
        sqlx::query("INSERT INTO admin_audit (at, admin_email, action, target, detail) VALUES ($1, $2, $3, $4, $5)")
            .bind(now)
            .bind(admin_email)
            .bind(action)
            .bind(target)
            .bind(detail)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn list_audit(&self, action_prefix: Option<&str>, limit: i64) -> Result<Vec<AuditEvent>> {
        let f = AuditFilter { action_prefix: action_prefix.map(str::to_string), limit, ..Default::default() };
        self.search_audit(&f).await
    }

    /// The audit trail narrowed by `f`, newest first, one page at a time.
    pub async fn search_audit(&self, f: &AuditFilter) -> Result<Vec<AuditEvent>> {
        // LIKE wildcards in the prefix are escaped, not dropped: action names contain `_`.
        let pattern = format!("{}%", super::like_escaped(f.action_prefix.as_deref().unwrap_or("")));
        let admin = f.admin.as_deref().map(|a| format!("%{}%", super::like_escaped(&a.to_lowercase())));
        Ok(sqlx::query_as(
            "SELECT id, at, admin_email, action, target, detail FROM admin_audit \
             WHERE action LIKE $1 ESCAPE '\\' AND ($2 IS NULL OR lower(admin_email) LIKE $2 ESCAPE '\\') \
             AND ($3 IS NULL OR id < $3) ORDER BY id DESC LIMIT $4",
        )
        .bind(pattern)
        .bind(admin)
        .bind(f.before_id)
        .bind(f.limit)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn search_login_events(&self, f: &LoginEventFilter) -> Result<Vec<LoginEvent>> {
        let who = f.who.as_deref().map(|w| format!("%{}%", w.replace(['%', '_'], "").to_lowercase()));
        Ok(sqlx::query_as(
            "SELECT id, at, sso_id, user_id, email, outcome, reason_code, detail, issuer, name_id, client_addr, \
             request_id, provisioned_by FROM login_events \
             WHERE ($1 IS NULL OR sso_id = $1) AND ($2 IS NULL OR outcome = $2) AND ($3 IS NULL OR reason_code = $3) \
             AND ($4 IS NULL OR lower(email) LIKE $4 OR lower(name_id) LIKE $4) \
             AND ($5 IS NULL OR request_id = $5) AND ($6 IS NULL OR id < $6) ORDER BY id DESC LIMIT $7",
        )
        .bind(f.sso_id)
        .bind(&f.outcome)
        .bind(&f.reason_code)
        .bind(who)
        .bind(&f.request_id)
        .bind(f.before_id)
        .bind(f.limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The reason codes that occur in the record, for the filter's choices.
    pub async fn login_reason_codes(&self) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT DISTINCT reason_code FROM login_events WHERE reason_code IS NOT NULL ORDER BY reason_code",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// The latest success and the latest failure of one configuration (the status panel).
    pub async fn last_logins(&self, sso_id: i64) -> Result<(Option<LoginEvent>, Option<LoginEvent>)> {
        let last = |outcome: &'static str, limit: i64| {
            let f =
                LoginEventFilter { sso_id: Some(sso_id), outcome: Some(outcome.into()), limit, ..Default::default() };
            async move { self.search_login_events(&f).await }
        };
        // A completed Single Logout is recorded as a success too, but it is not a login.
        let success = last("success", 50).await?.into_iter().find(|e| e.reason_code.as_deref() != Some("SLO_LOGOUT"));
        Ok((success, last("failure", 1).await?.into_iter().next()))
    }
}

impl Store {
    /// The latest SCIM call on a node (the console's "last provisioning call").
    pub async fn last_provisioning_event(&self, node_id: i64) -> Result<Option<super::ProvisioningEvent>> {
        Ok(sqlx::query_as(
            "SELECT id, at, node_id, event, method, target, outcome, reason, detail, request_id, client_addr \
             FROM provisioning_events WHERE node_id = $1 ORDER BY id DESC LIMIT 1",
        )
        .bind(node_id)
        .fetch_optional(&self.pool)
        .await?)
    }
}
