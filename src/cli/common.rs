//! What every admin command shares: opening the data directory, the acting "cli" identity, and
//! how records are printed.

use std::path::Path;

use crate::config::DataDir;
use crate::ops;
use crate::services::Services;
use crate::store::SsoConfig;

/// The settings key under which `serve` records its public URL for the admin commands.
pub const PUBLIC_URL_KEY: &str = "public_url";
/// The public URL when `serve` never ran and SPCONNECT_PUBLIC_URL is unset.
const DEFAULT_PUBLIC_URL: &str = "https://127.0.0.1:8443";

/// The data directory's store and settings; the server may be running at the same time.
pub async fn open(data_dir: &Path, database_url: Option<&str>) -> Result<Services, String> {
    let dir = DataDir::new(data_dir)
        .map_err(|e| format!("data directory {}: {e}", data_dir.display()))?
        .with_database_url(database_url);
    let store = crate::store::Store::open(dir.database_url(), &dir.database()).await.or_message()?;
    let public_url = store
        .get_setting(PUBLIC_URL_KEY)
        .await
        .or_message()?
        .or_else(|| std::env::var("SPCONNECT_PUBLIC_URL").ok())
        .unwrap_or_else(|| DEFAULT_PUBLIC_URL.to_string());
    Ok(Services::new(store, crate::config::Settings::new(&public_url, dir, true)))
}

/// Command-line changes are audited as `cli`.
pub const ACTOR: ops::Actor = ops::Actor::Cli;

pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The error text a command prints (after `error: `).
pub trait OrMessage<T> {
    fn or_message(self) -> Result<T, String>;
}

impl<T, E: std::fmt::Display> OrMessage<T> for Result<T, E> {
    fn or_message(self) -> Result<T, String> {
        self.map_err(|e| e.to_string())
    }
}

pub fn print_json(v: &impl serde::Serialize) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

/// Records as one JSON array, or as text, `line` giving each record's line(s).
pub fn print_records<T: serde::Serialize>(json: bool, records: &[T], line: impl Fn(&T) -> String) {
    if json {
        print_json(&records);
    } else {
        for r in records {
            println!("{}", line(r));
        }
    }
}

pub fn fmt_time(t: Option<i64>) -> String {
    t.and_then(|t| chrono::DateTime::from_timestamp(t, 0))
        .map(|t| t.format("%Y-%m-%d %H:%M:%SZ").to_string())
        .unwrap_or_else(|| "-".into())
}

pub fn on_off(b: bool) -> &'static str {
    if b {
        "on"
    } else {
        "off"
    }
}

/// A table cell from stored, possibly attacker-supplied text: control characters escaped.
pub fn cell(value: &str) -> String {
    crate::logsafe::clip(value)
}

/// Keeper recommends JIT off on a node provisioned over SCIM: the command line's warning for
/// `c`, if it is in that state (also logged).
pub async fn jit_with_scim_warning(svc: &Services, c: &SsoConfig) -> Option<String> {
    // Only a warning: a store that cannot be read here fails the command elsewhere, loudly.
    let scim_on = ops::sso::jit_while_scim_provisions(svc, c).await.unwrap_or(false);
    scim_on.then(|| {
        let msg = format!(
            "SSO {} has JIT provisioning on while node {} is provisioned over SCIM; turn JIT off (spconnect sso set {} --jit off)",
            c.sso_id, c.node_id, c.sso_id
        );
        tracing::warn!(sso_id = c.sso_id, node_id = c.node_id, "{msg}");
        msg
    })
}
