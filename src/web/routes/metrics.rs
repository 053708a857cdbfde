//! GET /metrics: Prometheus text exposition (names and labels in `crate::metrics`).
//!
//! Two ways to serve it. With `serve --metrics-listen ADDR` it is on that listener only
//! ([`standalone`]), and the main listener has no /metrics. Without it, the main listener
//! answers /metrics to loopback clients only, and only when the request carries no
//! proxy-forwarding header: behind a reverse proxy on the same host every client looks like
//! loopback, so a request that came through a proxy (`Forwarded`, `X-Forwarded-For`,
//! `X-Real-IP`) is answered 404 like any other client. Anything else gets 404 too, as if the
//! route did not exist.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::web::AppState;

/// `/metrics` for the main listener: loopback clients only.
pub fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(loopback_only))
}

/// `/metrics` alone, for its own listener (`--metrics-listen`): every client that reaches the
/// address may scrape (bind it to an address only the monitoring network reaches).
pub fn standalone(svc: AppState) -> Router {
    Router::new().route("/metrics", get(scrape)).with_state(svc)
}

async fn loopback_only(
    State(svc): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let proxied = ["forwarded", "x-forwarded-for", "x-real-ip"].iter().any(|h| headers.contains_key(*h));
    if !peer.ip().to_canonical().is_loopback() || proxied {
        return StatusCode::NOT_FOUND.into_response();
    }
    scrape(State(svc)).await
}

async fn scrape(State(svc): State<AppState>) -> Response {
    match crate::metrics::render(&svc).await {
        Some(text) => ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response(),
        None => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}
