//! Liveness and the stylesheet (served from the binary, so CSP can stay `style-src 'self'`).

use axum::http::header;
use axum::routing::get;
use axum::Router;

use crate::web::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/healthz", get(|| async { "ok" })).route(
        "/static/style.css",
        get(|| async { ([(header::CONTENT_TYPE, "text/css")], include_str!("../../../templates/style.css")) }),
    )
}
