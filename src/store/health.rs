//! Whether the database can serve: reachable, and every migration this binary embeds applied.
//! Used by `GET /readyz` (a load balancer stops sending traffic to an instance that says no)
//! and by `/metrics` (pool use). Portable SQL with `$n` placeholders, so the same text runs on
//! PostgreSQL.

use super::{Result, Store};

/// What the database answered; an unreachable database is the `Err` of [`Store::ready`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    Ready,
    /// Fewer migrations recorded as applied than this binary embeds (an upgrade not yet
    /// migrated, or a migration that failed half-way).
    MigrationsPending {
        applied: i64,
        expected: i64,
    },
}

impl Store {
    /// Ask the database: one round trip to see it answers, one to count applied migrations.
    pub async fn ready(&self) -> Result<Readiness> {
        sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(&self.pool).await?;
        let applied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success = $1")
            .bind(true)
            .fetch_one(&self.pool)
            .await?;
        let embedded = match self.backend {
            super::Backend::Sqlite => sqlx::migrate!("./migrations/sqlite").iter().count(),
            super::Backend::Postgres => sqlx::migrate!("./migrations/postgres").iter().count(),
        };
        let expected = i64::try_from(embedded).unwrap_or(i64::MAX);
        Ok(if applied >= expected { Readiness::Ready } else { Readiness::MigrationsPending { applied, expected } })
    }

    /// Connections the pool holds now, and how many of them are idle.
    pub fn pool_stats(&self) -> (u32, usize) {
        (self.pool.size(), self.pool.num_idle())
    }

    /// Close the pool: waits for connections in use to be returned, then closes them all (at
    /// shutdown, so SQLite checkpoints its WAL). Later queries fail as "pool closed".
    pub async fn close(&self) {
        self.pool.close().await;
    }
}
