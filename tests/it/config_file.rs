//! Issue 9: `serve --config spconnect.toml`. Precedence flags > environment > file > defaults,
//! unknown keys refused with one line, the effective settings printed at start with their
//! source and the SMTP credentials masked. Against the real binary.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::{cli, serve_http_with, ServerProcess};

const SMTP_PASSWORD: &str = "s3cr3t-Pa55";

fn write_config(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("spconnect.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// The printed `key = value (source)` line of a setting, as (value, source).
fn effective(server: &ServerProcess, key: &str) -> (String, String) {
    let prefix = format!("  {key} ");
    for _ in 0..250 {
        if let Some(line) = server.stdout().lines().find(|l| l.starts_with(&prefix)) {
            let rest = line.split_once(" = ").expect("key = value").1;
            let (value, source) = rest.rsplit_once("  (").expect("value  (source)");
            return (value.to_string(), source.trim_end_matches(')').to_string());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("{key} not printed: {}", server.stdout());
}

#[tokio::test]
async fn values_from_the_file_are_used_where_no_flag_or_variable_sets_them() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &format!(
            "# spconnect settings\n\
             metrics_listen = \"127.0.0.1:0\"\n\
             request_ttl_secs = 300\n\
             smtp_url = \"smtps://mailer:{SMTP_PASSWORD}@mail.example.com:465\"\n\
             smtp_from = \"SSO <sso@example.com>\"\n"
        ),
    );
    let (server, base) = serve_http_with(dir.path(), &["--config", config.to_str().unwrap()], &[]);

    // metrics_listen from the file is in force: /metrics moved to its own listener.
    let line = effective(&server, "metrics_listen");
    assert_eq!(line.1, "file");
    let printed = server.stdout();
    let url = printed.lines().find_map(|l| l.strip_prefix("metrics: ")).expect("metrics address printed").trim();
    assert_eq!(reqwest::get(url).await.unwrap().status(), 200);
    assert_eq!(reqwest::get(format!("{base}/metrics")).await.unwrap().status(), 404);

    assert_eq!(effective(&server, "request_ttl_secs"), ("300".into(), "file".into()));
    assert_eq!(effective(&server, "smtp_from"), ("SSO <sso@example.com>".into(), "file".into()));
    assert_eq!(effective(&server, "session_idle_secs"), ("3600".into(), "default".into()));
    assert_eq!(effective(&server, "listen").1, "flag");

    // The SMTP URL holds credentials: scheme, host and port only, nowhere the password.
    let smtp = effective(&server, "smtp_url");
    assert_eq!(smtp, ("smtps://mail.example.com:465 (credentials hidden)".into(), "file".into()));
    assert!(!server.stdout().contains(SMTP_PASSWORD), "{}", server.stdout());
    assert!(!server.stdout().contains("mailer"), "the user name is hidden too");
    assert!(!server.log().contains(SMTP_PASSWORD), "{}", server.log());
}

#[test]
fn the_environment_beats_the_file_and_a_flag_beats_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        "session_idle_secs = 1800\nsession_absolute_secs = 7200\nshutdown_grace_secs = 3\nlog_filter = \"warn\"\n",
    );
    let (server, _) = serve_http_with(
        dir.path(),
        &["--config", config.to_str().unwrap(), "--session-absolute-secs", "5400"],
        &[("SPCONNECT_SESSION_IDLE_SECS", "900"), ("SPCONNECT_SESSION_ABSOLUTE_SECS", "3600")],
    );
    assert_eq!(effective(&server, "session_idle_secs"), ("900".into(), "env".into()), "env beats file");
    assert_eq!(effective(&server, "session_absolute_secs"), ("5400".into(), "flag".into()), "flag beats env");
    assert_eq!(effective(&server, "shutdown_grace_secs"), ("3".into(), "file".into()));
    // The test harness sets SPCONNECT_LOG, which beats the file's log_filter.
    assert_eq!(effective(&server, "log_filter"), ("info,sqlx=warn".into(), "env".into()));
}

#[test]
fn an_unknown_key_stops_the_start_with_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "listen = \"127.0.0.1:0\"\nhttp = true\nsesion_idle_secs = 60\n");
    let (ok, out, err) = cli(dir.path(), &["serve", "--config", config.to_str().unwrap()]);
    assert!(!ok, "started despite an unknown key: {out}");
    assert!(!out.contains("listening"), "{out}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {err}");
    assert!(lines[0].starts_with("error: config file "), "{err}");
    assert!(lines[0].contains("unknown key `sesion_idle_secs`"), "{err}");
    assert!(lines[0].contains("(line 3)"), "{err}");
}

#[test]
fn values_from_the_file_are_checked_like_flags() {
    let dir = tempfile::tempdir().unwrap();
    for (text, expected) in [
        ("http = true\ntls_cert = \"a.pem\"\ntls_key = \"k.pem\"\n", "cannot be set with it"),
        ("tls_cert = \"a.pem\"\n", "tls_cert and tls_key go together"),
        ("max_connections = 0\n", "max_connections must be at least 1"),
        ("shutdown_grace_secs = \"ten\"\n", "invalid type"),
        ("log_format = \"xml\"\n", "unknown variant `xml`"),
    ] {
        let config = write_config(dir.path(), text);
        let (ok, _, err) = cli(dir.path(), &["serve", "--config", config.to_str().unwrap()]);
        assert!(!ok, "{text}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(expected), "{text}: {err}");
    }
    let (ok, _, err) = cli(dir.path(), &["serve", "--config", "/nonexistent/spconnect.toml"]);
    assert!(!ok);
    assert!(err.contains("config file /nonexistent/spconnect.toml"), "{err}");
}

#[test]
fn the_example_configuration_in_docs_is_valid() {
    // Every documented key parses and passes the checks (it sets http = true, so no TLS).
    let dir = tempfile::tempdir().unwrap();
    let example = crate::support::repo_root().join("docs/spconnect.example.toml");
    let text = std::fs::read_to_string(&example).unwrap();
    // Listen on a free port and keep data in the test directory.
    let text = text
        .replace("listen = \"127.0.0.1:8443\"", "listen = \"127.0.0.1:0\"")
        .replace("data_dir = \"/var/lib/spconnect\"", &format!("data_dir = \"{}\"", dir.path().display()));
    // Every key the service knows (the list its unknown-key error gives) is documented.
    let probe = write_config(dir.path(), "no_such_key = 1\n");
    let (_, _, err) = cli(dir.path(), &["serve", "--config", probe.to_str().unwrap()]);
    let known: Vec<&str> = err.split("expected one of ").nth(1).expect("key list").split(", ").collect();
    assert!(known.len() >= 20, "{err}");
    for key in known {
        let key = key.split('`').nth(1).expect("`key`");
        let documented = text.lines().any(|l| l.trim_start_matches("# ").starts_with(&format!("{key} = ")));
        assert!(documented, "{key} is not in docs/spconnect.example.toml");
    }
    let config = write_config(dir.path(), &text);
    let (mut server, _) = serve_http_with(dir.path(), &["--config", config.to_str().unwrap()], &[]);
    assert_eq!(effective(&server, "data_dir").1, "flag", "the harness passes --data-dir");
    assert_eq!(effective(&server, "session_idle_secs"), ("3600".into(), "file".into()));
    server.stop();
}
