//! Moving up and backing up: copy a deployment's whole store into an empty database of the other
//! engine (`spconnect db copy --to postgres://…`), consistent SQLite backups of a live service
//! (`spconnect backup`), and the migration level (`spconnect migrate`).

use std::path::Path;

use sqlx::sqlite::SqliteJournalMode;
use sqlx::{Column, Row};

use super::{Backend, Result, Store, StoreError};

/// Every table, parents before children. Sessions are not copied: they are short-lived and
/// users simply sign in again after the move.
const TABLES: &[&str] = &[
    "nodes",
    "sso_configs",
    "deleted_sso_configs",
    "sp_keys",
    "idp_metadata_sources",
    "users",
    "authn_requests",
    "used_assertions",
    "user_sso_logins",
    "login_events",
    "settings",
    "teams",
    "team_members",
    "scim_tokens",
    "node_domains",
    "outbox",
    "provisioning_events",
    "admin_accounts",
    "admin_signin_failures",
    "admin_devices",
    "admin_audit",
    "debug_responses",
    "pending_logins",
    "certificate_alerts",
    "logout_requests",
    "used_logout_requests",
    "test_login_results",
    "admin_sso_handovers",
];

/// Tables whose rows the target may already hold after its migrations (the root node) or that
/// its triggers fill while other tables are copied (a login's configuration record).
fn on_conflict(table: &str) -> &'static str {
    match table {
        "nodes" => " ON CONFLICT (node_id) DO UPDATE SET name = EXCLUDED.name, created_at = EXCLUDED.created_at",
        "user_sso_logins" => {
            " ON CONFLICT (user_id, sso_id) DO UPDATE SET first_at = EXCLUDED.first_at, last_at = EXCLUDED.last_at"
        }
        _ => "",
    }
}

/// Identity columns whose sequence must continue after the copied ids (PostgreSQL).
const IDENTITIES: &[(&str, &str)] = &[
    ("nodes", "node_id"),
    ("sp_keys", "key_id"),
    ("users", "user_id"),
    ("login_events", "id"),
    ("teams", "team_id"),
    ("outbox", "id"),
    ("provisioning_events", "id"),
    ("admin_accounts", "admin_id"),
    ("admin_signin_failures", "id"),
    ("admin_audit", "id"),
    ("debug_responses", "id"),
];

#[derive(Debug, Clone, serde::Serialize)]
pub struct CopiedTable {
    pub table: &'static str,
    pub source_rows: i64,
    pub target_rows: i64,
}

impl Store {
    /// The newest migration applied to this database.
    pub async fn migration_level(&self) -> Result<i64> {
        Ok(sqlx::query_scalar::<_, Option<i64>>("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(&self.pool)
            .await?
            .unwrap_or(0))
    }

    /// A consistent copy of a live SQLite store in one file (`VACUUM INTO`: a read transaction,
    /// so the service keeps running). PostgreSQL is backed up with its own tools (pg_dump).
    pub async fn backup_sqlite(&self, out: &Path) -> Result<()> {
        if self.backend != Backend::Sqlite {
            return Err(StoreError::Conflict(
                "this deployment uses PostgreSQL: back it up with pg_dump (see docs/operations.md)".into(),
            ));
        }
        // Created here, empty, owner-only and never through a symlink or over an existing file;
        // VACUUM INTO then fills it (it accepts an empty file).
        {
            use std::os::unix::fs::OpenOptionsExt;
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .custom_flags(libc::O_NOFOLLOW)
                .open(out)
                .map_err(|e| match e.kind() {
                    std::io::ErrorKind::AlreadyExists => {
                        StoreError::Conflict(format!("{} exists; choose a new file", out.display()))
                    }
                    _ => StoreError::Conflict(format!("cannot create {}: {e}", out.display())),
                })?;
        }
        let made = sqlx::query("VACUUM INTO $1").bind(out.display().to_string()).execute(&self.pool).await;
        if let Err(e) = made {
            let _ = std::fs::remove_file(out);
            return Err(e.into());
        }
        // Sessions are bearer secrets and worthless after a restore: not in the backup.
        let cleared = async {
            let opts = sqlx::sqlite::SqliteConnectOptions::new().filename(out).journal_mode(SqliteJournalMode::Delete);
            let pool = sqlx::sqlite::SqlitePoolOptions::new().max_connections(1).connect_with(opts).await?;
            let has_sessions: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'tower_sessions'",
            )
            .fetch_one(&pool)
            .await?;
            if has_sessions > 0 {
                sqlx::query("DELETE FROM tower_sessions").execute(&pool).await?;
                sqlx::query("VACUUM").execute(&pool).await?;
            }
            pool.close().await;
            Ok::<_, sqlx::Error>(())
        }
        .await;
        if let Err(e) = cleared {
            let _ = std::fs::remove_file(out);
            return Err(e.into());
        }
        for suffix in ["-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", out.display()));
        }
        Ok(())
    }

    /// Copy every row of this store into `target`, an empty (freshly migrated) PostgreSQL
    /// database, in one transaction on the target; then compare the row counts of every table.
    pub async fn copy_into(&self, target: &Store) -> Result<Vec<CopiedTable>> {
        if target.backend != Backend::Postgres {
            return Err(StoreError::Conflict("the target of a copy must be a PostgreSQL database".into()));
        }
        for table in ["sso_configs", "users", "admin_accounts", "login_events"] {
            let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}")).fetch_one(&target.pool).await?;
            if n > 0 {
                return Err(StoreError::Conflict(format!(
                    "the target database is not empty ({table} has {n} rows); copy into a new, empty database"
                )));
            }
        }
        // One read transaction on one connection: every table comes from the same snapshot
        // (a live service may keep writing; its later writes are simply not in the copy).
        let mut source = self.pool.begin().await?;
        let mut tx = target.pool.begin().await?;
        let mut report = Vec::new();
        for table in TABLES {
            // Values are read as the target's column types say (SQLite's own typing is loose).
            let types: std::collections::HashMap<String, String> = sqlx::query_as(
                "SELECT column_name::TEXT, data_type::TEXT FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = $1",
            )
            .bind(*table)
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .collect();
            let rows = sqlx::query(&format!("SELECT * FROM {table}")).fetch_all(&mut *source).await?;
            for row in &rows {
                let columns: Vec<&str> = row.columns().iter().map(|c| c.name()).collect();
                let marks: Vec<String> = (1..=columns.len()).map(|i| format!("${i}")).collect();
                let sql = format!(
                    "INSERT INTO {table} ({}) VALUES ({}){}",
                    columns.join(", "),
                    marks.join(", "),
                    on_conflict(table)
                );
                let mut q = sqlx::query(&sql);
                for (i, column) in columns.iter().enumerate() {
                    let unreadable = |e: sqlx::Error| {
                        StoreError::Conflict(format!("{table}.{column} holds a value of an unexpected type: {e}"))
                    };
                    q = match types.get(*column).map(String::as_str) {
                        Some("bigint" | "integer" | "smallint") => {
                            q.bind(row.try_get::<Option<i64>, _>(i).map_err(unreadable)?)
                        }
                        Some("bytea") => q.bind(row.try_get::<Option<Vec<u8>>, _>(i).map_err(unreadable)?),
                        Some(_) => {
                            let v = row.try_get::<Option<String>, _>(i).map_err(unreadable)?;
                            // Emails are one lower-case key on both engines (older SQLite rows may
                            // differ in case only, which SQLite's NOCASE column hid).
                            q.bind(if *table == "users" && *column == "email" {
                                v.map(|e| e.to_ascii_lowercase())
                            } else {
                                v
                            })
                        }
                        None => {
                            return Err(StoreError::Conflict(format!("{table}.{column} does not exist in the target")))
                        }
                    };
                }
                q.execute(&mut *tx).await?;
            }
            // Checked before anything is committed: a mismatch leaves the target empty.
            let copied: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}")).fetch_one(&mut *tx).await?;
            report.push(CopiedTable { table, source_rows: rows.len() as i64, target_rows: copied });
        }
        if let Some(t) = report.iter().find(|t| t.source_rows != t.target_rows) {
            return Err(StoreError::Conflict(format!(
                "nothing copied: {} has {} rows in the source but {} in the target",
                t.table, t.source_rows, t.target_rows
            )));
        }
        for (table, column) in IDENTITIES {
            sqlx::query(&format!(
                "SELECT 1 FROM (SELECT setval(pg_get_serial_sequence('{table}', '{column}'), \
                 GREATEST((SELECT MAX({column}) FROM {table}), 1))) AS s"
            ))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        source.rollback().await?;
        Ok(report)
    }
}
