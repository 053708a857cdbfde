//! GET /api/rest/sso/ext_login/{sso_id}: the Login URL admins paste into the IdP.

use axum::extract::{Path, Query, State};

use crate::web::client_addr::ClientAddr;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Extension, Router};
use serde::Deserialize;

use super::parse_id;
use crate::login::start::Starter;
use crate::login::{self, binding, LoginError};
use crate::web::cookies::{self, SameSite};
use crate::web::error::WebError;
use crate::web::request_id::RequestId;
use crate::web::AppState;

/// Over plain HTTP the binding cookie is sent only to the login endpoints (ext_login and the
/// ACS); over HTTPS it is a `__Host-` cookie, which must have `Path=/`.
pub const BINDING_PATH: &str = "/api/rest/sso/";

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
    ClientAddr(client_ip): ClientAddr,
    headers: HeaderMap,
    Path(raw): Path<String>,
    Query(q): Query<LoginQuery>,
) -> Result<Response, WebError> {
    let sso_id =
        parse_id(&raw).ok_or(WebError::Login { err: LoginError::UnknownSso, request_id: request_id.clone() })?;
    let token = binding_token(&svc, &headers).await;
    let client = client_ip.to_string();
    let who = Starter { browser_binding: &token, client_addr: &client };
    match login::start::start(&svc, sso_id, q.target.as_deref(), who, chrono::Utc::now()).await {
        // 302 as the Redirect binding expects (saml-bindings §3.4.4).
        Ok(url) => {
            let mut res = Redirect::to(&url).into_response();
            *res.status_mut() = axum::http::StatusCode::FOUND;
            set_binding_cookie(&svc, &mut res, &token);
            Ok(res)
        }
        Err(err) => {
            tracing::warn!(%request_id, sso_id, reason = err.code(), detail = %crate::logsafe::Clipped(&err.to_string()), "login could not start");
            Err(WebError::Login { err, request_id })
        }
    }
}

/// The browser's binding token: one per browser, reused while it lives (so two tabs can sign in
/// at once) but only if this service issued it and still has a pending request for it; a token
/// planted by someone else is replaced.
pub async fn binding_token(svc: &AppState, headers: &HeaderMap) -> String {
    let cookie_name = cookies::login_cookie_name(binding::COOKIE, svc.settings.public_https());
    match cookies::get(headers, &cookie_name).filter(|t| binding::is_token(t)) {
        Some(t) if svc.store.binding_in_use(&binding::hash(&t)).await.unwrap_or(false) => t,
        _ => binding::new_token(),
    }
}

/// Set the binding cookie on the response that sends the browser to the IdP.
pub fn set_binding_cookie(svc: &AppState, res: &mut Response, token: &str) {
    let secure = svc.settings.public_https();
    let path = if secure { "/" } else { BINDING_PATH };
    cookies::set(
        res.headers_mut(),
        secure,
        &cookies::login_cookie_name(binding::COOKIE, secure),
        token,
        path,
        svc.settings.request_ttl_secs,
        SameSite::None,
    );
}
