//! /api/rest/sso/saml/slo/{sso_id}: SAML Single Logout, HTTP-Redirect (GET, the raw query
//! string is verified as received) and HTTP-POST (form). The flow is `crate::logout`.
//!
//! RelayState is never a redirect target: after an IdP's LogoutResponse the browser sees our
//! own "signed out" page, and our answer to an IdP's LogoutRequest goes only to the IdP's SLO
//! URL from its metadata.

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use base64::Engine;
use serde::Deserialize;
use tower_sessions::Session;

use super::parse_id;
use crate::logout::{self, Arrival, Handled, Outbound, SloError};
use crate::saml::logout::SloRefusal;
use crate::saml::redirect::Param;
use crate::web::client_addr::ClientAddr;
use crate::web::error::WebError;
use crate::web::request_id::RequestId;
use crate::web::session;
use crate::web::templates::{render, SignedOutPage, SloPostPage};
use crate::web::AppState;

/// Logout messages are a few KB; the form around one is bounded well above that.
const MAX_FORM_BYTES: usize = 128 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/rest/sso/saml/slo/{sso_id}", get(slo_get).post(slo_post))
        .layer(DefaultBodyLimit::max(MAX_FORM_BYTES))
}

#[derive(Deserialize, Default)]
struct SloForm {
    #[serde(rename = "SAMLRequest")]
    saml_request: Option<String>,
    #[serde(rename = "SAMLResponse")]
    saml_response: Option<String>,
    #[serde(rename = "RelayState")]
    relay_state: Option<String>,
}

async fn slo_get(
    State(svc): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    ClientAddr(client_ip): ClientAddr,
    session: Session,
    Path(raw): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, WebError> {
    let arrival = |sso_id| Arrival {
        sso_id,
        raw_query: Some(query.clone().unwrap_or_default()),
        form: None,
        client_addr: Some(client_ip.to_string()),
        request_id: request_id.clone(),
        now: chrono::Utc::now(),
    };
    run(&svc, &session, &raw, &request_id, arrival).await
}

async fn slo_post(
    State(svc): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    ClientAddr(client_ip): ClientAddr,
    session: Session,
    Path(raw): Path<String>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, WebError> {
    let refuse = |err: SloError| WebError::Slo { err, request_id: request_id.clone() };
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            refuse(SloRefusal::TooLarge(format!("{MAX_FORM_BYTES} bytes of form")).into())
        } else {
            WebError::BodyIncomplete { request_id: request_id.clone() }
        }
    })?;
    let form: SloForm = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let message = match (form.saml_request, form.saml_response) {
        (Some(v), None) => Some((Param::Request, v)),
        (None, Some(v)) => Some((Param::Response, v)),
        _ => None,
    };
    // Neither or both: read as no message (SLO_MESSAGE_MISSING), recorded like any refusal.
    let arrival = |sso_id| Arrival {
        sso_id,
        raw_query: None,
        form: message.clone().map(|(param, value)| (param, value, form.relay_state.clone())),
        client_addr: Some(client_ip.to_string()),
        request_id: request_id.clone(),
        now: chrono::Utc::now(),
    };
    run(&svc, &session, &raw, &request_id, arrival).await
}

async fn run(
    svc: &AppState,
    session: &Session,
    raw_sso_id: &str,
    request_id: &str,
    arrival: impl FnOnce(i64) -> Arrival,
) -> Result<Response, WebError> {
    let refuse = |err: SloError| WebError::Slo { err, request_id: request_id.to_string() };
    let sso_id = parse_id(raw_sso_id).ok_or_else(|| refuse(SloError::UnknownSso))?;
    match logout::receive(svc, arrival(sso_id)).await.map_err(refuse)? {
        Handled::SignedOut => {
            // Our LogoutRequest was answered: this browser's session (already ended when it
            // was sent) is certainly gone.
            session::end(session, &svc.store).await;
            Ok(signed_out("You have been signed out of the vault and of your identity provider."))
        }
        Handled::Answered { answer: Some(out), .. } => Ok(to_idp(out)),
        Handled::Answered { answer: None, .. } => Ok(signed_out("You have been signed out.")),
    }
}

fn signed_out(message: &str) -> Response {
    Html(render(&SignedOutPage { message })).into_response()
}

/// Send the browser to the IdP with a message of ours: a 302 (HTTP-Redirect binding) or a
/// self-submitting form (HTTP-POST binding).
pub fn to_idp(out: Outbound) -> Response {
    match out {
        Outbound::Redirect(url) => match HeaderValue::from_str(&url) {
            Ok(location) => (StatusCode::FOUND, [(header::LOCATION, location)]).into_response(),
            Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        },
        Outbound::Post { action, field, value, relay_state } => {
            let script = "document.getElementById('slo-post').submit();";
            let hash = base64::engine::general_purpose::STANDARD.encode(openssl::sha::sha256(script.as_bytes()));
            let csp = format!(
                "default-src 'none'; style-src 'self'; script-src 'sha256-{hash}'; form-action {}; frame-ancestors 'none'; base-uri 'none'",
                origin_of(&action)
            );
            let relay_state = relay_state.unwrap_or_default();
            let page =
                render(&SloPostPage { action: &action, field, value: &value, relay_state: &relay_state, script });
            let mut res = Html(page).into_response();
            if let Ok(v) = HeaderValue::from_str(&csp) {
                res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
            }
            res
        }
    }
}

/// `scheme://host[:port]` of a URL from the IdP metadata (validated at import), for form-action.
fn origin_of(url: &str) -> String {
    url::Url::parse(url).map(|u| u.origin().ascii_serialization()).unwrap_or_else(|_| "'none'".into())
}
