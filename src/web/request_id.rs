//! Every request gets an id; the error page shows it and every log line about the request
//! carries it, so an admin can go from a user's screenshot to the exact log entry.

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

#[derive(Debug, Clone)]
pub struct RequestId(pub String);

pub async fn assign(mut req: Request, next: Next) -> Response {
    use tracing::Instrument;
    let id = uuid::Uuid::new_v4().simple().to_string();
    req.extensions_mut().insert(RequestId(id.clone()));
    // Every line logged while handling the request carries its id (as `request_id` of the span
    // `request`, also in JSON logs), whether or not the call site names it. At error level so
    // that no log filter that lets any line through disables the span (a span's level decides
    // only whether it is recorded; it writes no line of its own).
    let mut res = next.run(req).instrument(tracing::error_span!("request", request_id = %id)).await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert("x-request-id", v);
    }
    res
}
