//! POST /api/rest/sso/saml/sso/{sso_id}: the Assertion Consumer Service (HTTP-POST binding).
//! Reads the form, hands it to `login::finish`, and turns the outcome into a session and a 303.
//! The IdP's POST is cross-site: the only cookie it can carry is the browser binding
//! (`SameSite=None`), which a solicited response must present (login CSRF).

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use axum::{Extension, Router};
use serde::Deserialize;
use tower_sessions::Session;

use super::{continue_login, parse_id};
use crate::login::finish::{self, Attempt};
use crate::login::LoginError;
use crate::login::{admin_signin, binding, test_login};
use crate::saml::xml::MAX_ENCODED_LEN;
use crate::saml::Rejection;
use crate::store::RequestPurpose;
use crate::web::client_addr::ClientAddr;
use crate::web::cookies;
use crate::web::error::WebError;
use crate::web::request_id::RequestId;
use crate::web::session::{self, LoginSession};
use crate::web::AppState;

/// The form may hold the largest SAMLResponse we read plus a RelayState; larger bodies are cut
/// off while streaming, never buffered whole.
const MAX_FORM_BYTES: usize = MAX_ENCODED_LEN + 16 * 1024;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/rest/sso/saml/sso/{sso_id}", post(acs)).layer(DefaultBodyLimit::max(MAX_FORM_BYTES))
}

#[derive(Deserialize, Default)]
struct AcsForm {
    #[serde(rename = "SAMLResponse")]
    saml_response: Option<String>,
    #[serde(rename = "RelayState")]
    relay_state: Option<String>,
}

async fn acs(
    State(svc): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    ClientAddr(client_ip): ClientAddr,
    session: Session,
    headers: HeaderMap,
    Path(raw): Path<String>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, WebError> {
    let started = std::time::Instant::now();
    let refuse = |err: LoginError| WebError::Login { err, request_id: request_id.clone() };
    // Refusals before `finish` are counted here; `finish` counts its own outcomes.
    let refuse_early = |err: LoginError| {
        crate::metrics::login(Some(err.code()), started.elapsed());
        refuse(err)
    };
    let sso_id = parse_id(&raw).ok_or_else(|| refuse_early(LoginError::UnknownSso))?;
    let body = body.map_err(|rejection| {
        if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            tracing::warn!(%request_id, sso_id, reason = "SAML_RESPONSE_TOO_LARGE", "ACS body refused");
            refuse_early(Rejection::TooLarge { limit: MAX_FORM_BYTES }.into())
        } else {
            // Cut off mid-body: the client stopped sending, or trickled past the body timeout.
            tracing::warn!(%request_id, sso_id, reason = "REQUEST_BODY_INCOMPLETE", "ACS body not received in time");
            crate::metrics::login(Some("REQUEST_BODY_INCOMPLETE"), started.elapsed());
            WebError::BodyIncomplete { request_id: request_id.clone() }
        }
    })?;
    let form: AcsForm = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let attempt = Attempt {
        sso_id,
        saml_response: form.saml_response.unwrap_or_default(),
        relay_state: form.relay_state.filter(|r| r.len() <= 1024),
        client_addr: Some(client_ip.to_string()),
        request_id: request_id.clone(),
        browser_binding: cookies::get(
            &headers,
            &cookies::login_cookie_name(binding::COOKIE, svc.settings.public_https()),
        ),
        now: chrono::Utc::now(),
    };
    // The console's own uses of the IdP (a test login, a console sign-in) are told apart by
    // RelayState, and each handler requires the stored request to have that purpose.
    if let Some((purpose, id)) = attempt.relay_state.as_deref().and_then(crate::login::console_relay) {
        let id = id.to_string();
        return match purpose {
            RequestPurpose::Test => {
                let report = test_login::run(&svc, attempt, &id).await.map_err(refuse)?;
                Ok(crate::web::templates::handoff(
                    "Test login finished",
                    "The identity provider answered. The console shows what spconnect checked.",
                    "Show the test login result",
                    &format!("/admin/sso/{sso_id}/test-login/{report}"),
                ))
            }
            RequestPurpose::Admin => {
                let parked = admin_signin::run(&svc, attempt, &id).await.map_err(refuse)?;
                let mut res = crate::web::templates::handoff(
                    "Signed in",
                    &format!("Your identity provider signed you in as {}.", parked.admin_email),
                    "Continue to the console",
                    crate::web::routes::admin::SSO_CONTINUE_PATH,
                );
                crate::web::routes::admin::set_sso_handover_cookie(&svc, &mut res, &parked.token);
                Ok(res)
            }
            RequestPurpose::Login => Err(refuse(LoginError::Internal("a console RelayState named a login".into()))),
        };
    }
    let now = attempt.now.timestamp();
    let logged_in = finish::finish(&svc, attempt).await.map_err(refuse)?;
    if !logged_in.solicited {
        // Unsolicited: this POST may come from anyone's page, and the session cookie (Lax) is
        // not sent with it, so we cannot see whose session it would replace. The session is
        // made on a same-site GET instead, which asks first if another user is signed in. The
        // continuation was parked in the login's own transaction.
        let Some(token) = logged_in.continuation_token.as_deref() else {
            tracing::error!(%request_id, "unsolicited login without a continuation");
            return Err(WebError::Internal { request_id: request_id.clone() });
        };
        return Ok(continue_login::park(&svc, token));
    }
    let login = LoginSession {
        user_id: logged_in.user.user_id,
        sso_id: logged_in.sso_id,
        auth_at: now,
        session_index: logged_in.session_index,
        login_sid: None,
        name_id: logged_in.name_id,
        name_id_format: logged_in.name_id_format,
    };
    session::begin(&session, &svc.store, login, svc.settings.session_absolute_secs).await.map_err(|e| {
        tracing::error!(%request_id, error = %e, "session could not be created");
        WebError::Internal { request_id: request_id.clone() }
    })?;
    Ok(Redirect::to(&logged_in.target).into_response())
}
