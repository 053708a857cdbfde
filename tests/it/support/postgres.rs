//! The PostgreSQL server of the `pg` test run: `SPCONNECT_TEST_POSTGRES_URL` when set (`.ci/run`
//! starts one and sets it), else the throwaway server that `.ci/postgres` starts (or finds
//! running) on 127.0.0.1. There is no silent fallback to SQLite: without a server, the `pg`
//! tests fail and say how to get one.

use std::process::Command;
use std::sync::OnceLock;

use super::repo_root;

/// URL of a database on the test server that may create databases (the `postgres` database).
pub fn admin_url() -> String {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        if let Ok(url) = std::env::var("SPCONNECT_TEST_POSTGRES_URL") {
            return url;
        }
        let script = repo_root().join(".ci/postgres");
        let out = Command::new(&script).output().unwrap_or_else(|e| panic!("{}: {e}", script.display()));
        assert!(
            out.status.success(),
            "the pg tests need PostgreSQL: `{}` failed ({}); install PostgreSQL 15 or set \
             SPCONNECT_TEST_POSTGRES_URL",
            script.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    })
    .clone()
}

/// `url` with its database name replaced by `database`.
pub fn with_database(url: &str, database: &str) -> String {
    let mut u = url::Url::parse(url).expect("PostgreSQL URL");
    u.set_path(&format!("/{database}"));
    u.to_string()
}

/// Run one SQL statement with psql, panicking with its message on failure.
pub fn psql(url: &str, sql: &str) -> String {
    let out = Command::new("psql")
        .args(["-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", url, "-c", sql])
        .output()
        .expect("run psql");
    assert!(out.status.success(), "psql {sql}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}
