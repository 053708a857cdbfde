//! Liveness, readiness and the stylesheet (served from the binary, so CSP can stay
//! `style-src 'self'`).
//!
//! `/healthz` says the process answers HTTP (no database call: a restart would not help a
//! database outage). `/readyz` says this instance can serve logins: the database answers and
//! carries every migration this binary embeds; a load balancer takes the instance out of
//! rotation while it says 503.

use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::store::Readiness;
use crate::web::AppState;

/// A database that has not answered within this time counts as unreachable (probes have their
/// own timeouts, usually a few seconds).
const READY_TIMEOUT: Duration = Duration::from_secs(2);

pub fn router() -> Router<AppState> {
    Router::new().route("/healthz", get(|| async { "ok" })).route("/readyz", get(readyz)).route(
        "/static/style.css",
        get(|| async { ([(header::CONTENT_TYPE, "text/css")], include_str!("../../../templates/style.css")) }),
    )
}

async fn readyz(State(svc): State<AppState>) -> Response {
    let reason = match tokio::time::timeout(READY_TIMEOUT, svc.store.ready()).await {
        Ok(Ok(Readiness::Ready)) => return Json(json!({"status": "ready"})).into_response(),
        Ok(Ok(Readiness::MigrationsPending { applied, expected })) => {
            tracing::warn!(applied, expected, "not ready: database migrations pending");
            "MIGRATIONS_PENDING"
        }
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "not ready: database unreachable");
            "DATABASE_UNREACHABLE"
        }
        Err(_) => {
            tracing::warn!(timeout_ms = READY_TIMEOUT.as_millis() as u64, "not ready: database did not answer in time");
            "DATABASE_UNREACHABLE"
        }
    };
    (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"status": "unavailable", "reason": reason}))).into_response()
}
