//! The only module that speaks HTTP. Each route module owns its router; this file merges them
//! and adds the layers every response gets: request id, security headers, sessions.

pub mod admin_pages;
pub mod admin_session;
pub mod client_addr;
pub mod conn_limit;
pub mod cookies;
pub mod demo_idp;
pub mod error;
pub mod plain_on_tls;
pub mod reason_help;
pub mod request_id;
pub mod routes;
pub mod scim_error;
pub mod server;
pub mod session;
pub mod templates;

use axum::http::{header, HeaderValue};
use axum::middleware;
use axum::Router;
use tower_sessions::cookie::time::Duration as CookieDuration;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

use crate::services::Services;

pub type AppState = Services;

/// The whole HTTP surface. The session table is created here if missing.
pub async fn router(svc: Services) -> Result<Router, tower_sessions::session_store::Error> {
    let session_store = svc.store.sessions();
    session_store.migrate().await?;
    let sessions = SessionManagerLayer::new(session_store)
        .with_name("spconnect_session")
        // Secure whenever browsers use HTTPS, also behind a TLS-terminating proxy (`--http`).
        .with_secure(svc.settings.secure_cookies || svc.settings.public_https())
        .with_http_only(true)
        // Lax is enough: the IdP's cross-site POST to the ACS needs no cookie (pending requests
        // live in the store), and the 303 that follows is a top-level GET, which carries Lax.
        .with_same_site(SameSite::Lax)
        .with_expiry(Expiry::OnInactivity(CookieDuration::seconds(svc.settings.session_idle_secs)));

    // HSTS only when browsers reach us over HTTPS (directly or through a TLS proxy).
    let hsts = svc.settings.public_https();
    let metrics = if svc.settings.metrics_on_main_listener { routes::metrics::router() } else { Router::new() };
    Ok(Router::new()
        .merge(routes::ext_login::router())
        .merge(routes::acs::router())
        .merge(routes::continue_login::router())
        .merge(routes::slo::router())
        .merge(routes::metadata::router())
        .merge(routes::vault::router())
        .merge(routes::health::router())
        .merge(routes::scim::router())
        .merge(routes::admin::router(&svc))
        .merge(metrics)
        // Real pages instead of empty bodies (which browsers show as their own error screen).
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(sessions)
        // A whole request (body included) must be done within this deadline, however it trickles:
        // a per-chunk timeout alone would let one byte every few seconds hold a buffer forever.
        // (A little longer than the per-chunk timeout, so a stalled body gets the explained page.)
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            svc.settings.limits.body_read_timeout + std::time::Duration::from_secs(5),
        ))
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(svc.settings.limits.body_read_timeout))
        .layer(middleware::from_fn(move |req, next| security_headers(hsts, req, next)))
        .layer(middleware::from_fn(request_id::assign))
        // Outermost, so the duration covers every layer; `Router::layer` still runs it after
        // routing, so the route template is known.
        .layer(middleware::from_fn(observe))
        .with_state(svc))
}

async fn not_found(
    axum::Extension(request_id::RequestId(request_id)): axum::Extension<request_id::RequestId>,
) -> error::WebError {
    error::WebError::NotFound { request_id }
}

async fn method_not_allowed(
    axum::Extension(request_id::RequestId(request_id)): axum::Extension<request_id::RequestId>,
) -> error::WebError {
    error::WebError::MethodNotAllowed { request_id }
}

/// Request duration by method, route template and status (`spconnect_http_request_duration_seconds`).
async fn observe(req: axum::extract::Request, next: middleware::Next) -> axum::response::Response {
    let route = req.extensions().get::<axum::extract::MatchedPath>().map(|p| p.as_str().to_owned());
    let method = method_label(req.method());
    let started = std::time::Instant::now();
    let res = next.run(req).await;
    crate::metrics::http_request(method, route, res.status().as_u16(), started.elapsed());
    res
}

/// The method as a metric label, from a fixed set (clients may send any token as a method).
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

async fn security_headers(hsts: bool, req: axum::extract::Request, next: middleware::Next) -> axum::response::Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    if hsts {
        h.entry(header::STRICT_TRANSPORT_SECURITY).or_insert(HeaderValue::from_static("max-age=31536000"));
    }
    let set = |h: &mut axum::http::HeaderMap, k: header::HeaderName, v: &'static str| {
        h.entry(k).or_insert(HeaderValue::from_static(v));
    };
    set(
        h,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::REFERRER_POLICY, "no-referrer");
    set(h, header::CACHE_CONTROL, "no-store");
    res
}
