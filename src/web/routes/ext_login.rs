//! GET /api/rest/sso/ext_login/{sso_id}: the Login URL admins paste into the IdP.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Extension, Router};
use serde::Deserialize;

use super::parse_id;
use crate::login::{self, LoginError};
use crate::web::error::WebError;
use crate::web::request_id::RequestId;
use crate::web::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/rest/sso/ext_login/{sso_id}", get(ext_login))
}

#[derive(Deserialize)]
struct LoginQuery {
    /// Where to land after login: honoured only as a same-site relative path.
    target: Option<String>,
}

async fn ext_login(
    State(svc): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    Path(raw): Path<String>,
    Query(q): Query<LoginQuery>,
) -> Result<Response, WebError> {
    let sso_id =
        parse_id(&raw).ok_or(WebError::Login { err: LoginError::UnknownSso, request_id: request_id.clone() })?;
    match login::start::start(&svc, sso_id, q.target.as_deref(), chrono::Utc::now()).await {
        // 302 as the Redirect binding expects (saml-bindings §3.4.4).
        Ok(url) => Ok(Redirect::to(&url).into_response()).map(|mut r: Response| {
            *r.status_mut() = axum::http::StatusCode::FOUND;
            r
        }),
        Err(err) => {
            tracing::warn!(%request_id, sso_id, reason = err.code(), detail = %err, "login could not start");
            Err(WebError::Login { err, request_id })
        }
    }
}
