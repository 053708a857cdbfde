//! Where things live on disk. The data directory defaults to the current directory so that
//! `cargo run -- serve` in the repository uses its `certs/` and `metadata/` folders.

use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
    /// The database, when it is not the SQLite file in the directory (`--database-url`).
    database_url: Option<String>,
}

impl DataDir {
    pub fn new(root: impl Into<PathBuf>) -> std::io::Result<DataDir> {
        let dir = DataDir { root: root.into(), database_url: None };
        std::fs::create_dir_all(dir.certs())?;
        std::fs::create_dir_all(dir.metadata())?;
        Ok(dir)
    }
    pub fn root(&self) -> &Path {
        &self.root
    }
    pub fn certs(&self) -> PathBuf {
        self.root.join("certs")
    }
    pub fn metadata(&self) -> PathBuf {
        self.root.join("metadata")
    }
    pub fn database(&self) -> PathBuf {
        self.root.join("spconnect.db")
    }
    /// Use this database (`postgres://…` or `sqlite://…`) instead of `spconnect.db` here.
    pub fn with_database_url(mut self, url: Option<&str>) -> DataDir {
        self.database_url = url.map(str::trim).filter(|u| !u.is_empty()).map(str::to_string);
        self
    }
    pub fn database_url(&self) -> Option<&str> {
        self.database_url.as_deref()
    }
    pub fn sp_key(&self, sso_id: i64) -> PathBuf {
        self.certs().join(format!("sp-{sso_id}.key"))
    }
    pub fn sp_cert(&self, sso_id: i64) -> PathBuf {
        self.certs().join(format!("sp-{sso_id}.crt"))
    }
    pub fn tls_key(&self) -> PathBuf {
        self.certs().join("tls.key")
    }
    pub fn tls_cert(&self) -> PathBuf {
        self.certs().join("tls.crt")
    }
    pub fn sp_metadata_copy(&self, sso_id: i64) -> PathBuf {
        self.metadata().join(format!("sp-{sso_id}.xml"))
    }
    pub fn idp_metadata_copy(&self, sso_id: i64) -> PathBuf {
        self.metadata().join(format!("idp-{sso_id}.xml"))
    }
}

/// A value that must never reach a log line (the SMTP URL holds the relay's credentials): it
/// has no `Display`, and its `Debug` says only that it is there, so a `{:?}` of the settings is
/// safe. `expose` is the one way to the value, for the code that uses it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(redacted)")
    }
}

/// Settings of a running service.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The URL browsers and IdPs use to reach us (no trailing slash).
    pub public_url: String,
    pub data_dir: DataDir,
    /// Session cookies get `Secure` when we are served over HTTPS.
    pub secure_cookies: bool,
    /// Absolute session lifetime, whatever the activity.
    pub session_absolute_secs: i64,
    /// Idle timeout of a session.
    pub session_idle_secs: i64,
    /// How long an issued AuthnRequest may be answered.
    pub request_ttl_secs: i64,
    /// Deliver the outbox over SMTP when set.
    pub smtp: Option<crate::mailer::SmtpConfig>,
    /// Login records (successes and refusals) are kept this long, then purged.
    pub login_retention_secs: i64,
    /// Unanswered AuthnRequests one client address may have waiting (new ones refused beyond it).
    pub pending_requests_per_client: i64,
    /// Unanswered AuthnRequests one SSO configuration may have waiting (new ones refused beyond it).
    pub pending_requests_per_sso: i64,
    /// How long an unsolicited login waits for its same-site continuation.
    pub continue_ttl_secs: i64,
    /// Adding an admin or setting an admin's password needs a console sign-in this recent.
    pub admin_recent_signin_secs: i64,
    /// Connection limits and timeouts of the listener (slow clients, floods).
    pub limits: ConnectionLimits,
    /// Whether the main listener answers `/metrics` (to loopback clients); off when metrics
    /// have their own listener (`serve --metrics-listen`).
    /// Reverse proxies whose `X-Forwarded-For` names the client (see `web::client_addr`).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub metrics_on_main_listener: bool,
    /// Bounds of the IdP metadata refresh interval (the metadata's cacheDuration/validUntil
    /// choose within them): see `ops::idp_refresh`.
    pub idp_refresh: crate::ops::idp_refresh::RefreshBounds,
}

/// What one client connection may cost the service.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    /// A request's headers must arrive within this time of the connection (or of the previous
    /// response on a kept-alive connection); otherwise the connection is closed.
    pub header_read_timeout: std::time::Duration,
    /// A request's body must arrive within this time; otherwise 408.
    pub body_read_timeout: std::time::Duration,
    /// Connections open at once; more are closed at accept.
    pub max_connections: usize,
    /// Connections open at once from one client address.
    pub max_connections_per_client: usize,
    /// Password hashes (admin sign-in) computed at once; more are answered 429 at once.
    pub max_concurrent_password_checks: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            header_read_timeout: std::time::Duration::from_secs(10),
            body_read_timeout: std::time::Duration::from_secs(30),
            max_connections: 2_048,
            max_connections_per_client: 256,
            max_concurrent_password_checks: 2,
        }
    }
}

impl Settings {
    /// Whether the public URL is one IdPs and other people's browsers cannot reach (the
    /// loopback trap: metadata exported with it works nowhere else).
    pub fn public_url_is_local(&self) -> bool {
        url_is_local(&self.public_url)
    }

    /// Whether browsers reach us over HTTPS (directly or through a TLS-terminating proxy):
    /// decides `Secure`/`SameSite=None` on the login cookies and HSTS.
    pub fn public_https(&self) -> bool {
        self.public_url.starts_with("https://")
    }

    pub fn new(public_url: &str, data_dir: DataDir, secure_cookies: bool) -> Settings {
        Settings {
            public_url: public_url.trim_end_matches('/').to_string(),
            data_dir,
            secure_cookies,
            session_absolute_secs: 12 * 3600,
            session_idle_secs: 3600,
            request_ttl_secs: 600,
            smtp: None,
            login_retention_secs: 90 * 86_400,
            pending_requests_per_client: 1_000,
            pending_requests_per_sso: 100_000,
            continue_ttl_secs: 120,
            admin_recent_signin_secs: 600,
            limits: ConnectionLimits::default(),
            metrics_on_main_listener: true,
            trusted_proxies: Vec::new(),
            idp_refresh: crate::ops::idp_refresh::RefreshBounds::default(),
        }
    }
}

/// Whether browsers elsewhere could not reach this URL (loopback, private or link-local host).
pub fn url_is_local(public_url: &str) -> bool {
    let Ok(url) = url::Url::parse(public_url) else { return true };
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost") || d.ends_with(".localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback() || ip.is_private() || ip.is_link_local() || ip.is_unspecified(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback() || ip.is_unspecified() || (ip.segments()[0] & 0xfe00) == 0xfc00,
        None => true,
    }
}

#[cfg(test)]
mod secret_tests {
    #[test]
    fn a_secret_never_shows_in_debug_output() {
        let smtp = crate::mailer::SmtpConfig {
            url: super::Secret::new("smtps://mailer:s3cr3t@mail.example.com:465"),
            from: "spconnect@example.com".into(),
        };
        let shown = format!("{smtp:?} {:#?}", Some(&smtp));
        assert!(!shown.contains("s3cr3t") && !shown.contains("mailer:"), "{shown}");
        assert!(shown.contains("Secret(redacted)"), "{shown}");
        assert_eq!(smtp.url.expose(), "smtps://mailer:s3cr3t@mail.example.com:465");
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn local_public_urls_are_recognised() {
        for (url, local) in [
            ("https://127.0.0.1:8443", true),
            ("https://localhost:8443", true),
            ("https://10.1.2.3", true),
            ("https://192.168.0.10:8443", true),
            ("https://[::1]:8443", true),
            ("https://[fd00::1]", true),
            ("https://sso.example.com", false),
            ("https://203.0.113.7", false),
        ] {
            assert_eq!(super::url_is_local(url), local, "{url}");
        }
    }
}
