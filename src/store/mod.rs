//! All SQL lives here. The rest of the program calls methods named by intent
//! (`mark_assertion_used`, `commit_login`, …) and never sees sqlx, so a PostgreSQL backend can
//! be added beside SQLite inside this module alone. Times are unix seconds.

mod admin;
mod health;
mod logins;
mod nodes;
mod outbox;
mod provisioning;
mod sso;
mod teams;
mod users;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;
use thiserror::Error;

pub use admin::{AdminAccount, AuditEvent, LoginEventFilter, SignInCounts};
pub use health::Readiness;
pub use logins::{
    DebugResponse, LoginCommit, LoginEvent, NewAuthnRequest, NewFailure, PendingLogin, PendingRequest,
    DEBUG_RESPONSES_KEPT,
};
pub use nodes::Node;
pub use provisioning::{Created, Invitation, NewProvisioningEvent, OutboxMessage, ProvisioningEvent, ScimUserWrite};
pub use sso::{SsoConfig, SsoSettings};
pub use teams::{Team, TeamWrite};
pub use users::{NewUser, User, UserStatus};

pub const ROOT_NODE_ID: i64 = 1;

/// How every writer stores an email: ASCII lower case. Emails are validated as ASCII before they
/// get here (`users::is_email`), so JIT, SCIM and admin-created users share one key.
fn email_key(email: &str) -> String {
    email.to_ascii_lowercase()
}

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("the assertion was already used")]
    AssertionReplayed,
    #[error("the user is locked")]
    UserLocked,
    #[error("the AuthnRequest was already answered")]
    RequestAlreadyUsed,
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    #[error("the node's {0} licensed seats are all taken")]
    SeatLimit(i64),
    #[error("too many sign-ins are waiting for an answer")]
    TooManyPending,
}

pub type Result<T> = std::result::Result<T, StoreError>;

#[derive(Clone)]
pub struct Store {
    pool: SqlitePool,
}

impl Store {
    /// Open (creating if needed) the SQLite file in WAL mode and apply migrations.
    pub async fn open_sqlite(path: &Path) -> Result<Store> {
        let opts = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new().max_connections(8).connect_with(opts).await?;
        let store = Store { pool };
        store.migrate().await?;
        Ok(store)
    }

    pub async fn migrate(&self) -> Result<()> {
        sqlx::migrate!("./migrations/sqlite").run(&self.pool).await?;
        sqlx::query("INSERT OR IGNORE INTO nodes (node_id, name, parent_id, created_at) VALUES (?, 'Root', NULL, ?)")
            .bind(ROOT_NODE_ID)
            .bind(chrono::Utc::now().timestamp())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The pool, for the session store only (tower-sessions keeps its own table).
    pub fn sqlite_pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Forget what can no longer be used and what is past its retention: assertion IDs past their
    /// replay horizon, AuthnRequests and unsolicited-login continuations shortly after expiry,
    /// login records and refused admin sign-ins older than `retention_secs`.
    pub async fn purge_expired(&self, now: i64, retention_secs: i64) -> Result<u64> {
        /// An expired AuthnRequest is kept this long so a late answer reads "expired", not "unknown".
        const REQUEST_GRACE_SECS: i64 = 600;
        let run = |sql: &'static str, before: i64| async move {
            sqlx::query(sql).bind(before).execute(&self.pool).await.map(|r| r.rows_affected())
        };
        let mut n = run("DELETE FROM used_assertions WHERE expires_at < ?", now).await?;
        n += run("DELETE FROM authn_requests WHERE expires_at < ?", now - REQUEST_GRACE_SECS).await?;
        n += run("DELETE FROM pending_logins WHERE expires_at < ?", now).await?;
        n += run("DELETE FROM login_events WHERE at < ?", now - retention_secs).await?;
        n += run("DELETE FROM admin_signin_failures WHERE at < ?", now - retention_secs.min(86_400)).await?;
        n += run("DELETE FROM admin_audit WHERE action = 'admin.sign_in_refused' AND at < ?", now - retention_secs)
            .await?;
        Ok(n)
    }

    /// Row counts of the tables a refused login must leave untouched (used by tests and the
    /// `check-response` diagnostics).
    pub async fn counts(&self) -> Result<Counts> {
        let one = |sql: &'static str| async move { sqlx::query_scalar::<_, i64>(sql).fetch_one(&self.pool).await };
        Ok(Counts {
            users: one("SELECT COUNT(*) FROM users").await?,
            used_assertions: one("SELECT COUNT(*) FROM used_assertions").await?,
            consumed_requests: one("SELECT COUNT(*) FROM authn_requests WHERE consumed_at IS NOT NULL").await?,
            sessions: one("SELECT COUNT(*) FROM tower_sessions").await.unwrap_or(0),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    pub users: i64,
    pub used_assertions: i64,
    pub consumed_requests: i64,
    pub sessions: i64,
}

impl Store {
    pub async fn get_setting(&self, key: &str) -> Result<Option<String>> {
        Ok(sqlx::query_scalar("SELECT value FROM settings WHERE key = ?").bind(key).fetch_optional(&self.pool).await?)
    }

    pub async fn put_setting(&self, key: &str, value: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(value)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
