//! `spconnect migrate`, `backup` and `db copy`: the store's own upkeep.

use std::path::Path;
use std::process::ExitCode;

use super::common::print_json;
use super::{Command, DbCommand};
use crate::config::DataDir;
use crate::store::{redact_url, Store};

pub async fn run(
    data_dir: &Path,
    database_url: Option<&str>,
    json: bool,
    command: Command,
) -> Result<ExitCode, String> {
    let dir = DataDir::new(data_dir)
        .map_err(|e| format!("data directory {}: {e}", data_dir.display()))?
        .with_database_url(database_url);
    // Opening applies the migrations.
    let store = Store::open(dir.database_url(), &dir.database()).await.map_err(|e| e.to_string())?;
    match command {
        Command::Migrate => {
            let level = store.migration_level().await.map_err(|e| e.to_string())?;
            println!("the database is migrated (level {level}, {:?})", store.backend());
        }
        Command::Backup { out } => {
            store.backup_sqlite(&out).await.map_err(|e| e.to_string())?;
            println!("backed up to {} (restore: stop the service and put it in place of spconnect.db)", out.display());
        }
        Command::Db(DbCommand::Copy { to }) => {
            // SP keys that still exist only as key files of an older data directory are sealed
            // into the store first, so the copy carries them (else the new deployment would make
            // new keys and every IdP's pinned certificate would be wrong).
            let keys = crate::crypto::sp_keys::SpKeyRing::new(dir.clone(), "spconnect");
            for config in store.list_sso().await.map_err(|e| e.to_string())? {
                keys.get(&store, config.sso_id)
                    .await
                    .map_err(|e| format!("the SP key of configuration {}: {e}", config.sso_id))?;
            }
            let target = Store::open(Some(&to), &dir.database()).await.map_err(|e| e.to_string())?;
            let report = store.copy_into(&target).await.map_err(|e| e.to_string())?;
            if json {
                print_json(&report);
            } else {
                for t in &report {
                    println!("{:<24} {:>8} rows", t.table, t.target_rows);
                }
                println!(
                    "copied into {}; every table has the same row count on both sides. Start the service with \
                     --database-url and the same key-encryption key (certs/kek or SPCONNECT_KEY_ENCRYPTION_KEY).",
                    redact_url(&to)
                );
            }
        }
        _ => unreachable!("cli::run sends only database commands here"),
    }
    Ok(ExitCode::SUCCESS)
}
