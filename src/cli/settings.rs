//! Every setting of `spconnect serve`, from four places: command-line flags, `SPCONNECT_*`
//! environment variables, a TOML file (`--config spconnect.toml`, keys named like the flags
//! with `_` for `-`; `docs/spconnect.example.toml` lists them all) and built-in defaults, in that
//! order of precedence. clap reads flags and environment and says which one gave each value
//! (`ArgMatches::value_source`); the file fills in what neither gave. Unknown keys in the file
//! are refused, so a typo never silently leaves a default in force.
//!
//! The effective settings are printed at start, one line each with its source; the SMTP URL
//! (which holds credentials) shows only its scheme, host and port.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use clap::parser::ValueSource;
use clap::{ArgMatches, ValueEnum};
use serde::Deserialize;

use super::{Cli, Command, ServeArgs};
use crate::config::Settings;

/// The log filter when neither `--log-filter`, `SPCONNECT_LOG` nor the file sets one.
pub const DEFAULT_LOG_FILTER: &str = "info,sqlx=warn";

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines; every field escaped and clipped.
    #[default]
    Text,
    /// One JSON object per line, with the request's `request_id` in its span.
    Json,
}

/// Settings of `serve` beyond where it listens and what it is called: the configuration file,
/// observation, shutdown, logging and the service's limits. Limits left unset keep the built-in
/// values printed at start.
#[derive(clap::Args, Debug, Clone)]
pub struct OperationArgs {
    /// Read settings from this TOML file (flags and environment variables win over it).
    #[arg(long, env = "SPCONNECT_CONFIG")]
    pub config: Option<PathBuf>,
    /// Serve /metrics on this address (plain HTTP) instead of the main listener. Without it,
    /// the main listener answers /metrics to loopback clients only (see docs/operations.md).
    #[arg(long, env = "SPCONNECT_METRICS_LISTEN")]
    pub metrics_listen: Option<String>,
    /// Reverse proxies (addresses or networks, comma-separated) whose X-Forwarded-For names the
    /// client. Without it the TCP peer is the client (behind a proxy: the proxy, for everyone).
    #[arg(long = "trusted-proxy", env = "SPCONNECT_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxy: Vec<String>,
    /// Seconds requests in flight may take to finish after SIGTERM or SIGINT.
    #[arg(long, env = "SPCONNECT_SHUTDOWN_GRACE_SECS", default_value_t = 10)]
    pub shutdown_grace_secs: u64,
    /// Log line format.
    #[arg(long, env = "SPCONNECT_LOG_FORMAT", value_enum, ignore_case = true, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Which log lines to write (tracing filter syntax, e.g. `info,spconnect=debug`).
    #[arg(long, env = "SPCONNECT_LOG", default_value = DEFAULT_LOG_FILTER)]
    pub log_filter: String,
    /// Absolute lifetime of a session, whatever the activity (seconds).
    #[arg(long, env = "SPCONNECT_SESSION_ABSOLUTE_SECS")]
    pub session_absolute_secs: Option<i64>,
    /// Idle timeout of a session (seconds).
    #[arg(long, env = "SPCONNECT_SESSION_IDLE_SECS")]
    pub session_idle_secs: Option<i64>,
    /// How long an issued AuthnRequest may be answered (seconds).
    #[arg(long, env = "SPCONNECT_REQUEST_TTL_SECS")]
    pub request_ttl_secs: Option<i64>,
    /// How long an unsolicited login waits for its same-site continuation (seconds).
    #[arg(long, env = "SPCONNECT_CONTINUE_TTL_SECS")]
    pub continue_ttl_secs: Option<i64>,
    /// How long login records are kept before they are purged (seconds).
    #[arg(long, env = "SPCONNECT_LOGIN_RETENTION_SECS")]
    pub login_retention_secs: Option<i64>,
    /// Unanswered AuthnRequests one client address may have waiting.
    #[arg(long, env = "SPCONNECT_PENDING_REQUESTS_PER_CLIENT")]
    pub pending_requests_per_client: Option<i64>,
    /// Unanswered AuthnRequests one SSO configuration may have waiting.
    #[arg(long, env = "SPCONNECT_PENDING_REQUESTS_PER_SSO")]
    pub pending_requests_per_sso: Option<i64>,
    /// A request's headers must arrive within this many seconds (also the keep-alive timeout).
    #[arg(long, env = "SPCONNECT_HEADER_READ_TIMEOUT_SECS")]
    pub header_read_timeout_secs: Option<u64>,
    /// A request's body must arrive within this many seconds.
    #[arg(long, env = "SPCONNECT_BODY_READ_TIMEOUT_SECS")]
    pub body_read_timeout_secs: Option<u64>,
    /// Connections open at once; more are closed at accept.
    #[arg(long, env = "SPCONNECT_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// Connections open at once from one client address.
    #[arg(long, env = "SPCONNECT_MAX_CONNECTIONS_PER_CLIENT")]
    pub max_connections_per_client: Option<usize>,
    /// Admin password checks (argon2id, ~19 MiB each) computed at once.
    #[arg(long, env = "SPCONNECT_MAX_CONCURRENT_PASSWORD_CHECKS")]
    pub max_concurrent_password_checks: Option<usize>,
    /// Shortest interval between IdP metadata refreshes of a URL-backed configuration, and
    /// the retry delay after a failed one (seconds; default 3600).
    #[arg(long, env = "SPCONNECT_IDP_REFRESH_MIN_SECS")]
    pub idp_refresh_min_secs: Option<i64>,
    /// Longest interval between IdP metadata refreshes (seconds; default 86400). The
    /// metadata's cacheDuration and validUntil choose within the bounds.
    #[arg(long, env = "SPCONNECT_IDP_REFRESH_MAX_SECS")]
    pub idp_refresh_max_secs: Option<i64>,
}

/// The configuration file: the same names as the flags, `_` for `-`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    data_dir: Option<PathBuf>,
    trusted_proxy: Option<Vec<String>>,
    database_url: Option<String>,
    listen: Option<String>,
    public_url: Option<String>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    http: Option<bool>,
    smtp_url: Option<String>,
    smtp_from: Option<String>,
    metrics_listen: Option<String>,
    shutdown_grace_secs: Option<u64>,
    log_format: Option<LogFormat>,
    log_filter: Option<String>,
    session_absolute_secs: Option<i64>,
    session_idle_secs: Option<i64>,
    request_ttl_secs: Option<i64>,
    continue_ttl_secs: Option<i64>,
    login_retention_secs: Option<i64>,
    pending_requests_per_client: Option<i64>,
    pending_requests_per_sso: Option<i64>,
    header_read_timeout_secs: Option<u64>,
    body_read_timeout_secs: Option<u64>,
    max_connections: Option<usize>,
    max_connections_per_client: Option<usize>,
    max_concurrent_password_checks: Option<usize>,
    idp_refresh_min_secs: Option<i64>,
    idp_refresh_max_secs: Option<i64>,
}

/// Where an effective value came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Flag,
    Env,
    File,
    Default,
}

impl Source {
    fn label(self) -> &'static str {
        match self {
            Source::Flag => "flag",
            Source::Env => "env",
            Source::File => "file",
            Source::Default => "default",
        }
    }
}

/// The settings `serve` runs with, and where each came from. No `Debug`: it holds the SMTP URL
/// with its credentials, which must never reach a log line; `describe` masks it.
#[derive(Clone)]
pub struct Effective {
    pub data_dir: PathBuf,
    /// `postgres://…` (or `sqlite://…`); `None`: spconnect.db in the data directory.
    pub database_url: Option<String>,
    pub config: Option<PathBuf>,
    pub listen: String,
    pub public_url: Option<String>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub http: bool,
    pub smtp_url: Option<String>,
    pub smtp_from: String,
    pub metrics_listen: Option<String>,
    pub trusted_proxy: Vec<String>,
    pub shutdown_grace_secs: u64,
    pub log_format: LogFormat,
    pub log_filter: String,
    limits: Limits,
    sources: HashMap<&'static str, Source>,
}

/// The service limits; `None` keeps the built-in value of `Settings`.
#[derive(Debug, Clone, Default)]
struct Limits {
    session_absolute_secs: Option<i64>,
    session_idle_secs: Option<i64>,
    request_ttl_secs: Option<i64>,
    continue_ttl_secs: Option<i64>,
    login_retention_secs: Option<i64>,
    pending_requests_per_client: Option<i64>,
    pending_requests_per_sso: Option<i64>,
    header_read_timeout_secs: Option<u64>,
    body_read_timeout_secs: Option<u64>,
    max_connections: Option<usize>,
    max_connections_per_client: Option<usize>,
    max_concurrent_password_checks: Option<usize>,
    idp_refresh_min_secs: Option<i64>,
    idp_refresh_max_secs: Option<i64>,
}

/// Picks each value by precedence and remembers its source.
struct Resolver<'a> {
    matches: &'a ArgMatches,
    sources: HashMap<&'static str, Source>,
}

impl Resolver<'_> {
    /// `parsed` is what clap produced for `id` (flag, env or clap's default); `file` what the
    /// file says.
    fn pick<T>(&mut self, id: &'static str, parsed: T, file: Option<T>) -> T {
        let (value, source) = match self.matches.value_source(id) {
            Some(ValueSource::CommandLine) => (parsed, Source::Flag),
            Some(ValueSource::EnvVariable) => (parsed, Source::Env),
            _ => match file {
                Some(v) => (v, Source::File),
                None => (parsed, Source::Default),
            },
        };
        self.sources.insert(id, source);
        value
    }

    /// As `pick`, for a setting without a clap default.
    fn pick_opt<T>(&mut self, id: &'static str, parsed: Option<T>, file: Option<T>) -> Option<T> {
        self.pick(id, parsed, file.map(Some))
    }
}

/// The effective `serve` settings, or `None` for other commands. Errors are one line.
pub fn resolve(cli: &Cli, matches: &ArgMatches) -> Result<Option<Effective>, String> {
    let (Command::Serve(args), Some(("serve", sub))) = (&cli.command, matches.subcommand()) else {
        return Ok(None);
    };
    let file = match &args.ops.config {
        Some(path) => read_file(path)?,
        None => FileSettings::default(),
    };
    // `--data-dir` is global: its source is in the top-level matches.
    let mut top = Resolver { matches, sources: HashMap::new() };
    let data_dir = top.pick("data_dir", cli.data_dir.clone(), file.data_dir.clone());
    let database_url = top.pick_opt("database_url", cli.database_url.clone(), file.database_url.clone());
    let mut r = Resolver { matches: sub, sources: top.sources };
    let mut effective = resolve_serve(&mut r, args, file, data_dir);
    effective.database_url = database_url;
    effective.check()?;
    Ok(Some(effective))
}

fn resolve_serve(r: &mut Resolver<'_>, args: &ServeArgs, f: FileSettings, data_dir: PathBuf) -> Effective {
    let o = &args.ops;
    let limits = Limits {
        session_absolute_secs: r.pick_opt("session_absolute_secs", o.session_absolute_secs, f.session_absolute_secs),
        session_idle_secs: r.pick_opt("session_idle_secs", o.session_idle_secs, f.session_idle_secs),
        request_ttl_secs: r.pick_opt("request_ttl_secs", o.request_ttl_secs, f.request_ttl_secs),
        continue_ttl_secs: r.pick_opt("continue_ttl_secs", o.continue_ttl_secs, f.continue_ttl_secs),
        login_retention_secs: r.pick_opt("login_retention_secs", o.login_retention_secs, f.login_retention_secs),
        pending_requests_per_client: r.pick_opt(
            "pending_requests_per_client",
            o.pending_requests_per_client,
            f.pending_requests_per_client,
        ),
        pending_requests_per_sso: r.pick_opt(
            "pending_requests_per_sso",
            o.pending_requests_per_sso,
            f.pending_requests_per_sso,
        ),
        header_read_timeout_secs: r.pick_opt(
            "header_read_timeout_secs",
            o.header_read_timeout_secs,
            f.header_read_timeout_secs,
        ),
        body_read_timeout_secs: r.pick_opt(
            "body_read_timeout_secs",
            o.body_read_timeout_secs,
            f.body_read_timeout_secs,
        ),
        max_connections: r.pick_opt("max_connections", o.max_connections, f.max_connections),
        max_connections_per_client: r.pick_opt(
            "max_connections_per_client",
            o.max_connections_per_client,
            f.max_connections_per_client,
        ),
        max_concurrent_password_checks: r.pick_opt(
            "max_concurrent_password_checks",
            o.max_concurrent_password_checks,
            f.max_concurrent_password_checks,
        ),
        idp_refresh_min_secs: r.pick_opt("idp_refresh_min_secs", o.idp_refresh_min_secs, f.idp_refresh_min_secs),
        idp_refresh_max_secs: r.pick_opt("idp_refresh_max_secs", o.idp_refresh_max_secs, f.idp_refresh_max_secs),
    };
    Effective {
        data_dir,
        database_url: None,
        config: o.config.clone(),
        listen: r.pick("listen", args.listen.clone(), f.listen),
        public_url: r.pick_opt("public_url", args.public_url.clone(), f.public_url),
        tls_cert: r.pick_opt("tls_cert", args.tls_cert.clone(), f.tls_cert),
        tls_key: r.pick_opt("tls_key", args.tls_key.clone(), f.tls_key),
        http: r.pick("http", args.http, f.http),
        smtp_url: r.pick_opt("smtp_url", args.smtp_url.clone(), f.smtp_url),
        smtp_from: r.pick("smtp_from", args.smtp_from.clone(), f.smtp_from),
        metrics_listen: r.pick_opt("metrics_listen", o.metrics_listen.clone(), f.metrics_listen),
        trusted_proxy: r.pick("trusted_proxy", o.trusted_proxy.clone(), f.trusted_proxy),
        shutdown_grace_secs: r.pick("shutdown_grace_secs", o.shutdown_grace_secs, f.shutdown_grace_secs),
        log_format: r.pick("log_format", o.log_format, f.log_format),
        log_filter: r.pick("log_filter", o.log_filter.clone(), f.log_filter),
        limits,
        sources: std::mem::take(&mut r.sources),
    }
}

/// The file, parsed; a missing file, bad TOML, a wrong type or an unknown key is one line.
fn read_file(path: &Path) -> Result<FileSettings, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("config file {}: {e}", path.display()))?;
    toml::from_str(&text).map_err(|e| {
        let line = e.span().and_then(|s| text.get(..s.start)).map(|before| before.matches('\n').count() + 1);
        let at = line.map(|l| format!(" (line {l})")).unwrap_or_default();
        let message = e.message().trim().replace('\n', " ").replace("unknown field", "unknown key");
        format!("config file {}: {message}{at}", path.display())
    })
}

impl Effective {
    /// Rules clap enforces on flags, enforced again once the file is merged in.
    fn check(&self) -> Result<(), String> {
        if self.http && (self.tls_cert.is_some() || self.tls_key.is_some()) {
            return Err("http = true serves plain HTTP: tls_cert and tls_key cannot be set with it".into());
        }
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            return Err("tls_cert and tls_key go together: set both or neither".into());
        }
        crate::web::client_addr::parse_trusted(&self.trusted_proxy)?;
        if self.shutdown_grace_secs > 3600 {
            return Err(format!("shutdown_grace_secs = {} is more than an hour", self.shutdown_grace_secs));
        }
        let l = &self.limits;
        let positive = [
            ("session_absolute_secs", l.session_absolute_secs),
            ("session_idle_secs", l.session_idle_secs),
            ("request_ttl_secs", l.request_ttl_secs),
            ("continue_ttl_secs", l.continue_ttl_secs),
            ("login_retention_secs", l.login_retention_secs),
            ("pending_requests_per_client", l.pending_requests_per_client),
            ("pending_requests_per_sso", l.pending_requests_per_sso),
            ("header_read_timeout_secs", l.header_read_timeout_secs.map(clamp_i64)),
            ("body_read_timeout_secs", l.body_read_timeout_secs.map(clamp_i64)),
            ("max_connections", l.max_connections.map(clamp_i64)),
            ("max_connections_per_client", l.max_connections_per_client.map(clamp_i64)),
            ("max_concurrent_password_checks", l.max_concurrent_password_checks.map(clamp_i64)),
            ("idp_refresh_min_secs", l.idp_refresh_min_secs),
            ("idp_refresh_max_secs", l.idp_refresh_max_secs),
        ];
        if let Some((key, _)) = positive.iter().find(|(_, v)| v.is_some_and(|v| v < 1)) {
            return Err(format!("{key} must be at least 1"));
        }
        let default = crate::ops::idp_refresh::RefreshBounds::default();
        let (min, max) = (
            l.idp_refresh_min_secs.unwrap_or(default.min_secs.min(l.idp_refresh_max_secs.unwrap_or(i64::MAX))),
            l.idp_refresh_max_secs.unwrap_or(default.max_secs.max(l.idp_refresh_min_secs.unwrap_or(0))),
        );
        if min > max {
            return Err(format!("idp_refresh_min_secs ({min}) is more than idp_refresh_max_secs ({max})"));
        }
        Ok(())
    }

    /// Put the limits into the service's settings (unset ones keep their built-in values).
    pub fn apply(&self, s: &mut Settings) {
        // Checked in `check` when the settings were resolved.
        s.trusted_proxies = crate::web::client_addr::parse_trusted(&self.trusted_proxy).unwrap_or_default();
        let l = &self.limits;
        let secs = std::time::Duration::from_secs;
        set(&mut s.session_absolute_secs, l.session_absolute_secs);
        set(&mut s.session_idle_secs, l.session_idle_secs);
        set(&mut s.request_ttl_secs, l.request_ttl_secs);
        set(&mut s.continue_ttl_secs, l.continue_ttl_secs);
        set(&mut s.login_retention_secs, l.login_retention_secs);
        set(&mut s.pending_requests_per_client, l.pending_requests_per_client);
        set(&mut s.pending_requests_per_sso, l.pending_requests_per_sso);
        set(&mut s.limits.header_read_timeout, l.header_read_timeout_secs.map(secs));
        set(&mut s.limits.body_read_timeout, l.body_read_timeout_secs.map(secs));
        set(&mut s.limits.max_connections, l.max_connections);
        set(&mut s.limits.max_connections_per_client, l.max_connections_per_client);
        set(&mut s.limits.max_concurrent_password_checks, l.max_concurrent_password_checks);
        // A min above the default max (or a max below the default min) moves the other bound.
        if let Some(min) = l.idp_refresh_min_secs {
            s.idp_refresh.min_secs = min;
            s.idp_refresh.max_secs = s.idp_refresh.max_secs.max(min);
        }
        if let Some(max) = l.idp_refresh_max_secs {
            s.idp_refresh.max_secs = max;
            s.idp_refresh.min_secs = s.idp_refresh.min_secs.min(max);
        }
    }

    /// One line per setting, `key = value (source)`, as the service runs with it: `settings`
    /// is the service's (the limits as applied, the public URL as derived). Secrets masked.
    pub fn describe(&self, settings: &Settings) -> Vec<String> {
        let path = |p: &Option<PathBuf>| p.as_ref().map(|p| p.display().to_string());
        let l = &settings.limits;
        let rows: Vec<(&'static str, String)> = vec![
            ("data_dir", self.data_dir.display().to_string()),
            (
                "database_url",
                self.database_url.as_deref().map_or_else(|| "(none: SQLite spconnect.db in data_dir)".into(), mask_url),
            ),
            ("listen", self.listen.clone()),
            ("public_url", settings.public_url.clone()),
            ("http", self.http.to_string()),
            ("tls_cert", path(&self.tls_cert).unwrap_or_else(|| none_or(self.http, "(self-signed, in certs/)"))),
            ("tls_key", path(&self.tls_key).unwrap_or_else(|| none_or(self.http, "(self-signed, in certs/)"))),
            ("smtp_url", self.smtp_url.as_deref().map_or_else(|| "(none: invitations stay queued)".into(), mask_url)),
            ("smtp_from", self.smtp_from.clone()),
            (
                "metrics_listen",
                self.metrics_listen
                    .clone()
                    .unwrap_or_else(|| "(none: /metrics on the main listener, loopback only)".into()),
            ),
            (
                "trusted_proxy",
                if self.trusted_proxy.is_empty() {
                    "(none: the TCP peer is the client)".into()
                } else {
                    self.trusted_proxy.join(", ")
                },
            ),
            ("shutdown_grace_secs", self.shutdown_grace_secs.to_string()),
            ("log_format", format!("{:?}", self.log_format).to_lowercase()),
            ("log_filter", self.log_filter.clone()),
            ("session_absolute_secs", settings.session_absolute_secs.to_string()),
            ("session_idle_secs", settings.session_idle_secs.to_string()),
            ("request_ttl_secs", settings.request_ttl_secs.to_string()),
            ("continue_ttl_secs", settings.continue_ttl_secs.to_string()),
            ("login_retention_secs", settings.login_retention_secs.to_string()),
            ("pending_requests_per_client", settings.pending_requests_per_client.to_string()),
            ("pending_requests_per_sso", settings.pending_requests_per_sso.to_string()),
            ("header_read_timeout_secs", l.header_read_timeout.as_secs().to_string()),
            ("body_read_timeout_secs", l.body_read_timeout.as_secs().to_string()),
            ("max_connections", l.max_connections.to_string()),
            ("max_connections_per_client", l.max_connections_per_client.to_string()),
            ("max_concurrent_password_checks", l.max_concurrent_password_checks.to_string()),
            ("idp_refresh_min_secs", settings.idp_refresh.min_secs.to_string()),
            ("idp_refresh_max_secs", settings.idp_refresh.max_secs.to_string()),
        ];
        let mut lines = vec![match &self.config {
            Some(p) => format!("effective settings (flag > env > file {} > default):", p.display()),
            None => "effective settings (flag > env > default; no --config file):".to_string(),
        }];
        for (key, value) in rows {
            let source = self.sources.get(key).copied().unwrap_or(Source::Default).label();
            lines.push(format!("  {key:<31} = {value}  ({source})"));
        }
        lines
    }
}

fn set<T>(target: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *target = v;
    }
}

fn clamp_i64<T: TryInto<i64>>(v: T) -> i64 {
    v.try_into().unwrap_or(i64::MAX)
}

fn none_or(http: bool, otherwise: &str) -> String {
    if http {
        "(none: plain HTTP)".into()
    } else {
        otherwise.into()
    }
}

/// A URL without what may be secret: scheme, host and port only (no user, password, path or
/// query); `(set, not shown)` if it does not parse.
pub fn mask_url(url: &str) -> String {
    let Ok(u) = url::Url::parse(url) else { return "(set, not shown)".into() };
    let host = u.host_str().unwrap_or("");
    let port = u.port().map(|p| format!(":{p}")).unwrap_or_default();
    let hidden = if !u.username().is_empty() || u.password().is_some() { " (credentials hidden)" } else { "" };
    format!("{}://{host}{port}{hidden}", u.scheme())
}

#[cfg(test)]
mod tests {
    use super::mask_url;

    #[test]
    fn masked_urls_keep_scheme_host_and_port_only() {
        assert_eq!(
            mask_url("smtps://mailer:s3cr3t@mail.example.com:465/?tls=required"),
            "smtps://mail.example.com:465 (credentials hidden)"
        );
        assert_eq!(mask_url("smtp://relay.example.com"), "smtp://relay.example.com");
        assert_eq!(mask_url("not a url with s3cr3t"), "(set, not shown)");
    }
}
