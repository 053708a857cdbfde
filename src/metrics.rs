//! The service's Prometheus metrics: every name, its help text and its labels are here, so an
//! operator reads one file to know what `/metrics` exposes. Call sites use the small functions
//! below, never the `metrics` macros with a bare string.
//!
//! Labels only ever hold values from a fixed set (reason codes, route templates, status codes,
//! SSO IDs of configurations that exist): never a raw path, an email or anything a client chose.

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use metrics_util::MetricKindMask;

use crate::services::Services;

/// Counter `{outcome="success"|"failure", reason}`: one per ACS post; `reason` is the refusal's
/// reason code (`SAML_SIGNATURE_INVALID`, `USER_LOCKED`, …), `none` for a success.
pub const LOGINS_TOTAL: &str = "spconnect_logins_total";
/// Histogram `{outcome}`: seconds from the ACS receiving a response to the login being
/// committed or refused (XML intake, signature, decryption, conditions, replay, JIT).
pub const ACS_VALIDATION_SECONDS: &str = "spconnect_acs_validation_duration_seconds";
/// Counter `{resource, operation, status}`: SCIM requests by resource (`Users`, `Groups`, …),
/// operation (`list`, `get`, `create`, `replace`, `patch`, `delete`) and HTTP status.
pub const SCIM_REQUESTS_TOTAL: &str = "spconnect_scim_requests_total";
/// Histogram `{method, route, status}`: HTTP request durations by route template
/// (`/api/rest/sso/saml/sso/{sso_id}`), `unmatched` for requests no route took.
pub const HTTP_REQUEST_SECONDS: &str = "spconnect_http_request_duration_seconds";
/// Gauge: database connections the pool holds (in use and idle).
pub const DB_POOL_CONNECTIONS: &str = "spconnect_db_pool_connections";
/// Gauge: database connections the pool holds idle.
pub const DB_POOL_IDLE_CONNECTIONS: &str = "spconnect_db_pool_idle_connections";
/// Gauge `{sso_id, kind="sp"|"idp", fingerprint}`: days until a certificate's notAfter
/// (negative once expired). `fingerprint` is the first 16 hex digits of the SHA-256 of the
/// certificate, so each of an IdP's signing certificates has its own series.
pub const CERTIFICATE_DAYS_LEFT: &str = "spconnect_certificate_days_left";
/// Gauge: certificates in use that expire within 30 days or have expired (see `ops::certs`);
/// alert on > 0.
pub const CERTIFICATE_WARNINGS: &str = "spconnect_certificate_warnings";
/// Counter `{sso_id}`: IdP metadata refreshes that failed or yielded metadata we refused (the
/// last good copy stayed in use).
pub const IDP_METADATA_REFRESH_FAILURES_TOTAL: &str = "spconnect_idp_metadata_refresh_failures_total";
/// Gauge: URL-backed configurations whose last metadata refresh failed (stale metadata).
pub const IDP_METADATA_STALE: &str = "spconnect_idp_metadata_stale_configurations";

/// Bucket bounds (seconds) of both duration histograms.
const DURATION_BUCKETS: &[f64] = &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
/// A gauge not set again for this long disappears from `/metrics` (a removed configuration or a
/// replaced IdP certificate). Gauges are set at every scrape, so live ones never age out.
const GAUGE_IDLE: Duration = Duration::from_secs(300);
/// How often histogram samples are folded into their buckets.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// The process-wide recorder, installed on first use. `None` if another recorder was installed
/// first (then nothing is recorded and `/metrics` answers 503).
pub fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE.get_or_init(install).as_ref()
}

fn install() -> Option<PrometheusHandle> {
    let builder = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), DURATION_BUCKETS)
        .ok()?
        .idle_timeout(MetricKindMask::GAUGE, Some(GAUGE_IDLE));
    let handle = match builder.install_recorder() {
        Ok(h) => h,
        Err(e) => {
            tracing::warn!(error = %e, "metrics recorder not installed; /metrics is unavailable");
            return None;
        }
    };
    describe();
    // Without this, histogram samples pile up between scrapes (or forever, if nobody scrapes).
    let upkeep = handle.clone();
    let spawned = std::thread::Builder::new().name("metrics-upkeep".into()).spawn(move || loop {
        std::thread::sleep(UPKEEP_EVERY);
        upkeep.run_upkeep();
    });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "metrics upkeep thread not started");
    }
    Some(handle)
}

fn describe() {
    use ::metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(LOGINS_TOTAL, "ACS posts by outcome and reason code (none for a success).");
    describe_histogram!(
        ACS_VALIDATION_SECONDS,
        Unit::Seconds,
        "Time from the ACS receiving a SAMLResponse to the login being committed or refused."
    );
    describe_counter!(SCIM_REQUESTS_TOTAL, "SCIM requests by resource, operation and HTTP status.");
    describe_histogram!(
        HTTP_REQUEST_SECONDS,
        Unit::Seconds,
        "HTTP request durations by method, route template and status."
    );
    describe_gauge!(DB_POOL_CONNECTIONS, "Database connections held by the pool (in use and idle).");
    describe_gauge!(DB_POOL_IDLE_CONNECTIONS, "Database connections held idle by the pool.");
    describe_counter!(
        IDP_METADATA_REFRESH_FAILURES_TOTAL,
        "IdP metadata refreshes that failed or were refused; the last good metadata stayed in use."
    );
    describe_gauge!(IDP_METADATA_STALE, "URL-backed SSO configurations whose last IdP metadata refresh failed.");
    describe_gauge!(
        CERTIFICATE_WARNINGS,
        "Certificates in use that expire within 30 days or have expired (SP and IdP); alert on > 0."
    );
    describe_gauge!(
        CERTIFICATE_DAYS_LEFT,
        "Days until an SP or IdP signing certificate expires (negative once expired)."
    );
}

/// One ACS post's outcome: `reason` is `None` for a success, else the refusal's reason code.
pub fn login(reason: Option<&'static str>, took: Duration) {
    let outcome = if reason.is_some() { "failure" } else { "success" };
    ::metrics::counter!(LOGINS_TOTAL, "outcome" => outcome, "reason" => reason.unwrap_or("none")).increment(1);
    ::metrics::histogram!(ACS_VALIDATION_SECONDS, "outcome" => outcome).record(took.as_secs_f64());
}

/// One SCIM request (see [`SCIM_REQUESTS_TOTAL`]).
pub fn scim_request(resource: &'static str, operation: &'static str, status: u16) {
    ::metrics::counter!(SCIM_REQUESTS_TOTAL, "resource" => resource, "operation" => operation, "status" => status.to_string())
        .increment(1);
}

/// One HTTP request. `route` is the matched route template, `None` when no route matched.
pub fn http_request(method: &'static str, route: Option<String>, status: u16, took: Duration) {
    let route = route.unwrap_or_else(|| "unmatched".into());
    ::metrics::histogram!(HTTP_REQUEST_SECONDS, "method" => method, "route" => route, "status" => status.to_string())
        .record(took.as_secs_f64());
}

/// One failed IdP metadata refresh of `sso_id` (an existing configuration).
pub fn idp_refresh_failure(sso_id: i64) {
    ::metrics::counter!(IDP_METADATA_REFRESH_FAILURES_TOTAL, "sso_id" => sso_id.to_string()).increment(1);
}

/// The Prometheus text exposition of every metric, with the gauges read now. `None` when no
/// recorder could be installed.
pub async fn render(svc: &Services) -> Option<String> {
    let handle = handle()?;
    let (size, idle) = svc.store.pool_stats();
    ::metrics::gauge!(DB_POOL_CONNECTIONS).set(f64::from(size));
    ::metrics::gauge!(DB_POOL_IDLE_CONNECTIONS).set(idle as f64);
    certificate_gauges(svc).await;
    match crate::ops::certs::warnings(svc, chrono::Utc::now().timestamp()).await {
        Ok(w) => ::metrics::gauge!(CERTIFICATE_WARNINGS).set(w.len() as f64),
        Err(e) => tracing::warn!(error = %e, "certificate warnings not computable"),
    }
    match svc.store.count_stale_idp_sources().await {
        Ok(n) => ::metrics::gauge!(IDP_METADATA_STALE).set(n as f64),
        Err(e) => tracing::warn!(error = %e, "stale IdP metadata gauge: sources not readable"),
    }
    Some(handle.render())
}

/// Days left on every SP certificate and every IdP signing certificate, by configuration.
async fn certificate_gauges(svc: &Services) {
    let configs = match svc.store.list_sso().await {
        Ok(c) => c,
        Err(e) => return tracing::warn!(error = %e, "certificate gauges: configurations not readable"),
    };
    let now = chrono::Utc::now().timestamp();
    for config in configs {
        let sso_id = config.sso_id.to_string();
        match svc.sp_keys(config.sso_id).await {
            Ok(keys) => match keys.cert.to_der() {
                Ok(der) => set_days_left(&sso_id, "sp", &der, now),
                Err(e) => tracing::warn!(sso_id = config.sso_id, error = %e, "SP certificate not encodable"),
            },
            Err(e) => tracing::warn!(sso_id = config.sso_id, error = %e, "SP certificate not readable"),
        }
        for der in config.idp_certs_der() {
            set_days_left(&sso_id, "idp", &der, now);
        }
    }
}

fn set_days_left(sso_id: &str, kind: &'static str, der: &[u8], now: i64) {
    let Some(days) = crate::crypto::days_left(der, now) else {
        return tracing::warn!(sso_id, kind, "certificate not parseable for its expiry date");
    };
    let digest = openssl::sha::sha256(der);
    let fingerprint = hex::encode(&digest[..8]);
    ::metrics::gauge!(CERTIFICATE_DAYS_LEFT, "sso_id" => sso_id.to_string(), "kind" => kind, "fingerprint" => fingerprint)
        .set(days);
}
