//! Browser and admin sessions, kept by tower-sessions in the same database as everything else,
//! so every instance sees every session. tower-sessions' stores are one type per driver; this
//! is the one type the web layer holds, whichever engine is behind it.

use async_trait::async_trait;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion, SessionStore};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

#[derive(Debug, Clone)]
pub enum SessionBackend {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
}

impl SessionBackend {
    pub(super) fn sqlite(pool: sqlx::SqlitePool) -> SessionBackend {
        SessionBackend::Sqlite(SqliteStore::new(pool))
    }

    pub(super) fn postgres(pool: sqlx::PgPool) -> SessionBackend {
        SessionBackend::Postgres(PostgresStore::new(pool))
    }

    /// Create the session table if missing. On PostgreSQL our own migrations create it (under
    /// the migration lock, so two instances starting at once cannot race), so nothing is left
    /// to do there.
    pub async fn migrate(&self) -> session_store::Result<()> {
        match self {
            SessionBackend::Sqlite(s) => s.migrate().await.map_err(|e| session_store::Error::Backend(e.to_string())),
            SessionBackend::Postgres(_) => Ok(()),
        }
    }
}

#[async_trait]
impl SessionStore for SessionBackend {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        match self {
            SessionBackend::Sqlite(s) => s.create(record).await,
            SessionBackend::Postgres(s) => s.create(record).await,
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        match self {
            SessionBackend::Sqlite(s) => s.save(record).await,
            SessionBackend::Postgres(s) => s.save(record).await,
        }
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        match self {
            SessionBackend::Sqlite(s) => s.load(id).await,
            SessionBackend::Postgres(s) => s.load(id).await,
        }
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        match self {
            SessionBackend::Sqlite(s) => s.delete(id).await,
            SessionBackend::Postgres(s) => s.delete(id).await,
        }
    }
}

#[async_trait]
impl ExpiredDeletion for SessionBackend {
    async fn delete_expired(&self) -> session_store::Result<()> {
        match self {
            SessionBackend::Sqlite(s) => s.delete_expired().await,
            SessionBackend::Postgres(s) => s.delete_expired().await,
        }
    }
}

impl super::Store {
    /// Delete one browser session record by its tower-sessions id (Single Logout ends sessions
    /// of other browsers). An id that does not parse names no session.
    pub async fn delete_session_record(&self, id: &str) -> std::result::Result<(), String> {
        let Ok(id) = id.parse::<Id>() else { return Ok(()) };
        self.sessions.delete(&id).await.map_err(|e| e.to_string())
    }
}
