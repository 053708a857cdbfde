//! GET/POST /api/rest/sso/continue: where an unsolicited (IdP-initiated) login becomes a browser
//! session.
//!
//! The ACS cannot see whose session an unsolicited POST would replace (the session cookie is
//! `SameSite=Lax` and the POST is cross-site), and anyone's page can auto-post a response of the
//! attacker's own account from the victim's browser. So the ACS commits the login, parks it under
//! a random token in a short-lived cookie, and sends the browser here with a same-site GET. Here
//! the session is visible: nobody signed in, or the same user, continues at once; a different
//! user gets a confirmation page and stays who they were unless they choose to switch.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Extension, Form, Router};
use serde::Deserialize;
use tower_sessions::Session;

use crate::web::cookies::{self, SameSite};
use crate::web::error::WebError;
use crate::web::request_id::RequestId;
use crate::web::session::{self, LoginSession};
use crate::web::templates::{render, ContinuePage};
use crate::web::AppState;

pub const PATH: &str = "/api/rest/sso/continue";
const COOKIE: &str = "spconnect_continue";

pub fn router() -> Router<AppState> {
    Router::new().route(PATH, get(show).post(decide))
}

/// Send the browser of a committed unsolicited login to its continuation, parked with the
/// login (`login::finish`), with the token in a short-lived cookie.
pub fn park(svc: &AppState, token: &str) -> Response {
    let mut res = Redirect::to(PATH).into_response();
    set_cookie(svc, &mut res, token, svc.settings.continue_ttl_secs);
    res
}

/// The continuation cookie: `__Host-` over HTTPS (Path=/), else scoped to this path.
fn set_cookie(svc: &AppState, res: &mut Response, token: &str, max_age: i64) {
    let secure = svc.settings.public_https();
    let path = if secure { "/" } else { PATH };
    let name = cookies::login_cookie_name(COOKIE, secure);
    cookies::set(res.headers_mut(), secure, &name, token, path, max_age, SameSite::Lax);
}

fn token(svc: &AppState, headers: &HeaderMap) -> Option<String> {
    cookies::get(headers, &cookies::login_cookie_name(COOKIE, svc.settings.public_https()))
        .filter(|t| crate::login::binding::is_token(t))
}

/// The form's check value: derived from the token, so only a page we rendered for this
/// browser's continuation can confirm it.
fn check_of(token: &str) -> String {
    crate::login::binding::hash(&format!("confirm:{token}"))[..32].to_string()
}

async fn show(
    State(svc): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    session: Session,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let now = chrono::Utc::now().timestamp();
    let expired = || WebError::ContinuationExpired { request_id: request_id.clone() };
    let token = token(&svc, &headers).ok_or_else(expired)?;
    let hash = crate::login::binding::hash(&token);
    let pending = svc.store.pending_login(&hash, now, false).await.map_err(|_| expired())?.ok_or_else(expired)?;
    let current = session::current(&session, &svc.store, now, svc.settings.session_absolute_secs).await;
    match current {
        Some(cur) if cur.user_id != pending.user_id => {
            let current_email = email_of(&svc, cur.user_id).await;
            let incoming_email = email_of(&svc, pending.user_id).await;
            let page = ContinuePage { current: &current_email, incoming: &incoming_email, check: &check_of(&token) };
            Ok(Html(render(&page)).into_response())
        }
        // Nobody signed in, or the same user: nothing is replaced, so no question to ask.
        _ => finish(&svc, &session, &hash, now, &request_id).await,
    }
}

#[derive(Deserialize)]
struct Decision {
    choice: String,
    check: String,
}

async fn decide(
    State(svc): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    session: Session,
    headers: HeaderMap,
    Form(form): Form<Decision>,
) -> Result<Response, WebError> {
    let now = chrono::Utc::now().timestamp();
    let expired = || WebError::ContinuationExpired { request_id: request_id.clone() };
    let token = token(&svc, &headers).ok_or_else(expired)?;
    let expected = check_of(&token);
    if !(form.check.len() == expected.len() && openssl::memcmp::eq(form.check.as_bytes(), expected.as_bytes())) {
        return Err(expired());
    }
    let hash = crate::login::binding::hash(&token);
    if form.choice == "switch" {
        return finish(&svc, &session, &hash, now, &request_id).await;
    }
    // Stay: the parked login is dropped; the current session is untouched.
    let _ = svc.store.pending_login(&hash, now, true).await;
    tracing::info!(%request_id, "unsolicited login declined by the signed-in user");
    let mut res = Redirect::to(crate::login::DEFAULT_TARGET).into_response();
    set_cookie(&svc, &mut res, "", 0);
    Ok(res)
}

/// Take the parked login (once) and make it the session.
async fn finish(
    svc: &AppState,
    session: &Session,
    hash: &str,
    now: i64,
    request_id: &str,
) -> Result<Response, WebError> {
    let expired = || WebError::ContinuationExpired { request_id: request_id.to_string() };
    let pending = svc.store.pending_login(hash, now, true).await.map_err(|_| expired())?.ok_or_else(expired)?;
    // Turned off (or deleted) between the ACS and this step: no session.
    let active = svc.store.get_sso(pending.sso_id).await.map_err(|e| WebError::from_store(&e, request_id))?;
    if !active.is_some_and(|c| c.active) {
        tracing::warn!(request_id, sso_id = pending.sso_id, "parked login refused: the configuration is turned off");
        return Err(WebError::Login { err: crate::login::LoginError::Deactivated, request_id: request_id.to_string() });
    }
    let login = LoginSession {
        user_id: pending.user_id,
        sso_id: pending.sso_id,
        auth_at: pending.auth_at,
        session_index: pending.session_index,
        login_sid: None,
        name_id: pending.name_id,
        name_id_format: pending.name_id_format,
    };
    session::begin(session, &svc.store, login, svc.settings.session_absolute_secs).await.map_err(|e| {
        tracing::error!(%request_id, error = %e, "session could not be created");
        WebError::Internal { request_id: request_id.to_string() }
    })?;
    let mut res = Redirect::to(&pending.target).into_response();
    set_cookie(svc, &mut res, "", 0);
    Ok(res)
}

async fn email_of(svc: &AppState, user_id: i64) -> String {
    svc.store.get_user(user_id).await.ok().flatten().map(|u| u.email).unwrap_or_else(|| "another account".into())
}
