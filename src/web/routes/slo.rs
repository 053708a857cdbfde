//! /api/rest/sso/saml/slo/{sso_id}: advertised in our metadata; Single Logout itself comes
//! later. Until then a clear page, never a 500.

use axum::extract::Extension;
use axum::routing::get;
use axum::Router;

use crate::web::error::WebError;
use crate::web::request_id::RequestId;
use crate::web::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/rest/sso/saml/slo/{sso_id}", get(slo).post(slo))
}

async fn slo(Extension(RequestId(request_id)): Extension<RequestId>) -> WebError {
    WebError::NotSupported { what: "SAML Single Logout", request_id }
}
