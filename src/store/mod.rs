//! All SQL lives here. The rest of the program calls methods named by intent
//! (`mark_assertion_used`, `commit_login`, …) and never sees sqlx, so a PostgreSQL backend can
//! be added beside SQLite inside this module alone. Times are unix seconds.

mod admin;
mod console_logins;
mod copy;
mod health;
mod idp_sources;
mod logins;
mod nodes;
pub mod ops_support;
mod outbox;
pub use outbox::AlertMessage;
mod provisioning;
mod sessions;
mod slo;
mod sp_keys;
mod sso;
mod teams;
mod users;

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::pool::PoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{Any, AnyPool, Executor, Row, Transaction};
use thiserror::Error;

pub use admin::{AdminAccount, AuditEvent, AuditFilter, LoginEventFilter, SignInCounts};
pub use console_logins::{SpentResponse, TestLoginResult};
pub use copy::CopiedTable;
pub use health::Readiness;
pub use idp_sources::IdpSource;
pub use logins::{
    DebugResponse, LoginCommit, LoginEvent, NewAuthnRequest, NewContinuation, NewFailure, PendingLogin, PendingRequest,
    RequestPurpose, DEBUG_RESPONSES_KEPT,
};
pub use nodes::Node;
pub use provisioning::{
    Created, Invitation, NewProvisioningEvent, OutboxMessage, ProvisioningEvent, ProvisioningEventFilter, ScimUserWrite,
};
pub use sessions::SessionBackend;
pub use slo::{LoginSessionRow, LogoutRequestState};
pub use sp_keys::{SpKeyRole, StoredSpKey};
pub use sso::{SsoConfig, SsoSettings};
pub use teams::{Team, TeamWrite};
pub use users::{NewUser, SsoAttachment, User, UserPage, UserSearch, UserStatus};

pub const ROOT_NODE_ID: i64 = 1;

/// How every writer stores an email: ASCII lower case. Emails are validated as ASCII before they
/// get here (`users::is_email`), so JIT, SCIM and admin-created users share one key. Lookups bind
/// the same key, so a comparison is a plain `=` on both engines.
fn email_key(email: &str) -> String {
    email.trim().to_ascii_lowercase()
}

/// `text` for `LIKE … ESCAPE '\'`, its own `%`, `_` and `\` matched literally (emails and
/// action names contain `_`).
fn like_escaped(text: &str) -> String {
    text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The database could not be opened at start (bad URL, unreachable, refused credentials).
    #[error("{0}")]
    Connect(String),
    #[error("the assertion was already used")]
    AssertionReplayed,
    #[error("the user is locked")]
    UserLocked,
    /// A login found the user gone (deleted, or never provisioned while JIT is off) between its
    /// validation and its commit.
    #[error("the user is not provisioned")]
    UserNotProvisioned,
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

impl StoreError {
    /// The database could not be reached (down, restarting, network, pool exhausted): a
    /// temporary condition the caller reports as "try again", not as a failure of the request.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Db(e) => match e {
                sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => true,
                sqlx::Error::Tls(_) | sqlx::Error::WorkerCrashed => true,
                // SQLSTATE class 08 (connection exception), 57P01-57P03 (admin shutdown, crash
                // shutdown, cannot connect now).
                sqlx::Error::Database(d) => {
                    d.code().is_some_and(|c| c.starts_with("08") || matches!(&*c, "57P01" | "57P02" | "57P03"))
                }
                _ => false,
            },
            StoreError::Connect(_) => true,
            _ => false,
        }
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// The database engine behind a store. The SQL is written once, in the dialect both accept
/// (`$1` placeholders, `ON CONFLICT`, `RETURNING`); the few places that differ ask this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Writers that must see each other's rows before they decide (counting caps, "is this address
/// taken"). SQLite has one writer at a time (`BEGIN IMMEDIATE`); on PostgreSQL each gets a
/// transaction-scoped advisory lock, so the same holds across every instance.
#[derive(Debug, Clone, Copy)]
#[repr(i64)]
enum WriteLock {
    /// SCIM users, teams and node domains (uniqueness and seat decisions).
    Provisioning = 0x5350_0001,
    /// Issued AuthnRequests (per-client and per-configuration caps).
    AuthnRequests = 0x5350_0002,
    /// Admin sign-in attempts (counted before the password hash runs).
    AdminSignIn = 0x5350_0003,
    /// A configuration's SP keys (rollover steps) and its deletion.
    SsoLifecycle = 0x5350_0004,
}

/// Is this error a violation of the unique constraint or index `name`? PostgreSQL names the
/// constraint; SQLite only says it in the message ("UNIQUE constraint failed: index 'name'" for
/// a named index), which is read here and nowhere else.
fn violates(e: &sqlx::Error, name: &str) -> bool {
    match e {
        sqlx::Error::Database(d) if d.is_unique_violation() => match d.constraint() {
            Some(c) => c == name,
            None => d.message().contains(&format!("'{name}'")),
        },
        _ => false,
    }
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

/// A 0/1 flag column (both engines store flags as integers).
fn flag(row: &AnyRow, column: &str) -> std::result::Result<bool, sqlx::Error> {
    Ok(row.try_get::<i64, _>(column)? != 0)
}

#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    sessions: SessionBackend,
    /// SQLite only: writers of this process take turns here before they take the database's
    /// write lock. SQLite lets one writer in at a time and makes the others wait in its busy
    /// handler, which sleeps (1, 2, 5, 10 … ms) and retries; queueing in-process instead hands
    /// the lock over the moment it is free. It orders writers, nothing more: the database's own
    /// locking still decides, so a writer that does not pass here (another process, the session
    /// store) is as safe as before.
    write_gate: Option<Arc<tokio::sync::Mutex<()>>>,
}

/// A write transaction begun through the write gate (see `Store::write_gate`); it holds its
/// turn until it is committed, rolled back or dropped. Derefs to the connection like sqlx's
/// `Transaction`, so statements run on `&mut *tx`.
pub(crate) struct WriteTx {
    // Field order: the transaction is dropped (its rollback queued) before the turn is released.
    tx: Transaction<'static, Any>,
    _turn: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl WriteTx {
    pub(crate) async fn commit(self) -> std::result::Result<(), sqlx::Error> {
        self.tx.commit().await
    }

    pub(crate) async fn rollback(self) -> std::result::Result<(), sqlx::Error> {
        self.tx.rollback().await
    }
}

impl std::ops::Deref for WriteTx {
    type Target = sqlx::AnyConnection;
    fn deref(&self) -> &Self::Target {
        &self.tx
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.tx
    }
}

impl Store {
    /// Open the database named by `database_url` (`postgres://…` or `sqlite://…`), or without one
    /// the SQLite file `default_sqlite`; apply migrations.
    pub async fn open(database_url: Option<&str>, default_sqlite: &Path) -> Result<Store> {
        match database_url.map(str::trim).filter(|u| !u.is_empty()) {
            None => Store::open_sqlite(default_sqlite).await,
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Store::open_postgres(url).await
            }
            Some(url) if url.starts_with("sqlite:") => {
                let path = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
                let path = path.split('?').next().unwrap_or(path);
                Store::open_sqlite(Path::new(path)).await
            }
            Some(url) => Err(StoreError::Connect(format!(
                "--database-url {}: expected postgres://… or sqlite://…",
                redact_url(url)
            ))),
        }
    }

    /// Open (creating if needed) the SQLite file in WAL mode and apply migrations.
    pub async fn open_sqlite(path: &Path) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let opts = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        // The session store (tower-sessions) needs a pool of its own driver type; opening it first
        // also creates the file and switches it to WAL, which is a property of the file.
        let session_pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(4)
            .test_before_acquire(false)
            .connect_with(opts)
            .await
            .map_err(|e| StoreError::Connect(format!("cannot open the SQLite database {}: {e}", path.display())))?;
        let url = format!("sqlite://{}", path.display());
        // No ping before each use: a SQLite connection is a file handle in this process that
        // cannot go stale between uses, and sqlx's ping is a round trip to the connection's
        // worker thread on every acquire.
        let pool = pool_options()
            .max_connections(8)
            .test_before_acquire(false)
            .after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute("PRAGMA busy_timeout = 10000; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON")
                        .await?;
                    Ok(())
                })
            })
            .connect(&url)
            .await
            .map_err(|e| StoreError::Connect(format!("cannot open the SQLite database {}: {e}", path.display())))?;
        let store = Store {
            pool,
            backend: Backend::Sqlite,
            sessions: SessionBackend::sqlite(session_pool),
            write_gate: Some(Arc::new(tokio::sync::Mutex::new(()))),
        };
        store.migrate().await?;
        Ok(store)
    }

    /// Connect to PostgreSQL and apply migrations. Several instances may start at once: sqlx
    /// holds an advisory lock while it migrates, so one applies and the others wait and see it done.
    pub async fn open_postgres(url: &str) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let shown = redact_url(url);
        let connect_err = |e: sqlx::Error| StoreError::Connect(format!("cannot connect to PostgreSQL at {shown}: {e}"));
        let pg_opts = sqlx::postgres::PgConnectOptions::from_str(url).map_err(connect_err)?;
        // One plain connection first: a pool only says "timed out" when the server is
        // unreachable, while this reports the cause (refused, unknown host, bad password) at once.
        {
            use sqlx::Connection;
            let probe = tokio::time::timeout(Duration::from_secs(10), sqlx::PgConnection::connect_with(&pg_opts))
                .await
                .map_err(|_| {
                    StoreError::Connect(format!("cannot connect to PostgreSQL at {shown}: no answer within 10 s"))
                })?
                .map_err(connect_err)?;
            let _ = probe.close().await;
        }
        let session_pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(pg_opts)
            .await
            .map_err(connect_err)?;
        let pool = pool_options().max_connections(16).connect(url).await.map_err(connect_err)?;
        let store = Store {
            pool,
            backend: Backend::Postgres,
            sessions: SessionBackend::postgres(session_pool),
            write_gate: None,
        };
        store.migrate().await?;
        Ok(store)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub async fn migrate(&self) -> Result<()> {
        match self.backend {
            Backend::Sqlite => sqlx::migrate!("./migrations/sqlite").run(&self.pool).await?,
            Backend::Postgres => sqlx::migrate!("./migrations/postgres").run(&self.pool).await?,
        }
        sqlx::query(
            "INSERT INTO nodes (node_id, name, parent_id, created_at) VALUES ($1, 'Root', NULL, $2) ON CONFLICT DO NOTHING",
        )
        .bind(ROOT_NODE_ID)
        .bind(chrono::Utc::now().timestamp())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Where browser and admin sessions are kept: the same database, through tower-sessions.
    pub fn sessions(&self) -> SessionBackend {
        self.sessions.clone()
    }

    /// `SELECT … FOR UPDATE` where the engine has it: the row read is locked until the
    /// transaction ends, so a status read and the write that depends on it cannot be split by a
    /// concurrent lock or deprovision (PostgreSQL). SQLite needs none: a write transaction holds
    /// the database's one write lock from its first write, and the reads below follow one.
    fn for_update(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE",
        }
    }

    /// Wait for this process's turn to write (SQLite; nothing to wait for on PostgreSQL).
    async fn write_turn(&self) -> Option<tokio::sync::OwnedMutexGuard<()>> {
        match &self.write_gate {
            Some(gate) => Some(gate.clone().lock_owned().await),
            None => None,
        }
    }

    /// Begin a transaction that writes (through the write gate on SQLite).
    async fn begin_write(&self) -> Result<WriteTx> {
        let turn = self.write_turn().await;
        Ok(WriteTx { tx: self.pool.begin().await?, _turn: turn })
    }

    /// Begin a transaction in which `lock`'s writers run one at a time (see `WriteLock`).
    async fn begin_serialized(&self, lock: WriteLock) -> Result<WriteTx> {
        match self.backend {
            Backend::Sqlite => {
                let turn = self.write_turn().await;
                Ok(WriteTx { tx: self.pool.begin_with("BEGIN IMMEDIATE").await?, _turn: turn })
            }
            Backend::Postgres => {
                let mut tx = self.pool.begin().await?;
                sqlx::query("SELECT 1 FROM pg_advisory_xact_lock($1)").bind(lock as i64).execute(&mut *tx).await?;
                Ok(WriteTx { tx, _turn: None })
            }
        }
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
        let mut n = run("DELETE FROM used_assertions WHERE expires_at < $1", now).await?;
        n += run("DELETE FROM authn_requests WHERE expires_at < $1", now - REQUEST_GRACE_SECS).await?;
        n += run("DELETE FROM pending_logins WHERE expires_at < $1", now).await?;
        n += run("DELETE FROM login_sessions WHERE expires_at < $1", now).await?;
        n += run("DELETE FROM logout_requests WHERE expires_at < $1", now - REQUEST_GRACE_SECS).await?;
        n += run("DELETE FROM used_logout_requests WHERE expires_at < $1", now).await?;
        n += run("DELETE FROM test_login_results WHERE expires_at < $1", now).await?;
        n += run("DELETE FROM admin_sso_handovers WHERE expires_at < $1", now).await?;
        n += run("DELETE FROM login_events WHERE at < $1", now - retention_secs).await?;
        n += run("DELETE FROM admin_signin_failures WHERE at < $1", now - retention_secs.min(86_400)).await?;
        n += run("DELETE FROM admin_audit WHERE action = 'admin.sign_in_refused' AND at < $1", now - retention_secs)
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
            sessions: one(match self.backend {
                Backend::Sqlite => "SELECT COUNT(*) FROM tower_sessions",
                Backend::Postgres => "SELECT COUNT(*) FROM tower_sessions.session",
            })
            .await
            .unwrap_or(0),
        })
    }
}

fn pool_options() -> PoolOptions<Any> {
    // A request waits at most this long for a connection: with the database down, a login gets
    // its error page in seconds, not after sqlx's default 30 s.
    AnyPoolOptions::new().acquire_timeout(Duration::from_secs(5))
}

/// A database URL as it may be shown: the password masked, and no query string (libpq-style
/// URLs may carry `?password=…` or `sslpassword=…` there).
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("***"));
            }
            let had_query = u.query().is_some();
            u.set_query(None);
            if had_query {
                format!("{u}?…")
            } else {
                u.to_string()
            }
        }
        Err(_) => "(unparseable URL)".into(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn redacted_urls_show_no_password_anywhere() {
        for (url, shown) in [
            ("postgres://u:secret@db/x", "postgres://u:***@db/x"),
            ("postgres://u@db/x?password=secret", "postgres://u@db/x?…"),
            ("postgres://u@db/x?sslmode=require&sslpassword=secret", "postgres://u@db/x?…"),
            ("postgres://db/x", "postgres://db/x"),
            ("not a url secret", "(unparseable URL)"),
        ] {
            assert_eq!(super::redact_url(url), shown);
            assert!(!super::redact_url(url).contains("secret"));
        }
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
        Ok(sqlx::query_scalar("SELECT value FROM settings WHERE key = $1").bind(key).fetch_optional(&self.pool).await?)
    }

    pub async fn put_setting(&self, key: &str, value: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(value)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
