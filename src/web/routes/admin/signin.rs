//! GET/POST /admin/login and POST /admin/logout.

use axum::extract::State;

use crate::web::client_addr::ClientAddr;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;
use tower_sessions::Session;

use super::now;
use crate::admins::{self, SignInAttempt, SignInError, SignedIn};
use crate::logsafe::{clip, Clipped};
use crate::web::admin_pages::SignInPage;
use crate::web::admin_session::{self, CurrentAdmin};
use crate::web::cookies;
use crate::web::templates::render;
use crate::web::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/login", get(page).post(submit))
}

/// The sign-in page writes nothing server-side: its CSRF token is a cookie (double submit), so
/// anonymous visits cannot fill the session table.
async fn page(State(svc): State<AppState>, headers: HeaderMap) -> Response {
    let (csrf, new) = admin_session::signin_csrf(&headers);
    let mut res = Html(render(&SignInPage { csrf: &csrf, message: "", email: "" })).into_response();
    if new {
        let secure = svc.settings.public_https() || svc.settings.secure_cookies;
        cookies::set(
            res.headers_mut(),
            secure,
            admin_session::SIGNIN_CSRF_COOKIE,
            &csrf,
            admin_session::SIGNIN_PATH,
            admin_session::ADMIN_IDLE_SECS,
            cookies::SameSite::Strict,
        );
    }
    res
}

#[derive(Deserialize)]
struct SignInForm {
    email: String,
    password: String,
}

/// The console's "known device" cookie: set at a successful sign-in, it lets this browser's
/// admin sign in while strangers have the account (or a shared proxy address) throttled.
const DEVICE_COOKIE: &str = "spconnect_admin_device";
const DEVICE_COOKIE_DAYS: i64 = 180;

async fn submit(
    State(svc): State<AppState>,
    ClientAddr(client_ip): ClientAddr,
    headers: HeaderMap,
    session: Session,
    Form(form): Form<SignInForm>,
) -> Response {
    let email: String = form.email.trim().chars().take(254).collect();
    let client = client_ip.to_string();
    let refuse = |status: StatusCode, message: &str, csrf: &str| {
        (status, Html(render(&SignInPage { csrf, message, email: &email }))).into_response()
    };
    let (csrf, _) = admin_session::signin_csrf(&headers);
    let device =
        cookies::get(&headers, DEVICE_COOKIE).filter(|t| t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()));
    let attempt = SignInAttempt {
        email: &email,
        password: &form.password,
        client_addr: &client,
        device_token: device.as_deref(),
        now: now(),
    };
    match admins::sign_in(&svc.store, &svc.password_checks, attempt).await {
        Ok(SignedIn { account, new_device_token }) => {
            let admin = CurrentAdmin { admin_id: account.admin_id, email: account.email.clone(), auth_at: now() };
            if let Err(e) = admin_session::begin(&session, admin).await {
                tracing::error!(error = %e, "admin session could not be created");
                return (StatusCode::INTERNAL_SERVER_ERROR, "session error").into_response();
            }
            let _ = svc
                .store
                .audit(&account.email, "admin.sign_in", &account.email, &format!("from {client}"), now())
                .await;
            tracing::info!(admin = %account.email, %client, "admin signed in");
            let mut res = Redirect::to("/admin/sso").into_response();
            if let Some(token) = new_device_token {
                cookies::set(
                    res.headers_mut(),
                    svc.settings.public_https(),
                    DEVICE_COOKIE,
                    &token,
                    "/admin/login",
                    DEVICE_COOKIE_DAYS * 86_400,
                    cookies::SameSite::Lax,
                );
            }
            res
        }
        Err(SignInError::BadCredentials) => {
            tracing::warn!(email = %Clipped(&email), %client, "admin sign-in refused");
            // Only refusals that reached the password check are audited: throttled and busy
            // answers cost nothing and would let a flood fill the audit trail.
            let _ = svc
                .store
                .audit(
                    &clip(&email),
                    "admin.sign_in_refused",
                    &clip(&email),
                    &format!("from {client}: wrong email or password"),
                    now(),
                )
                .await;
            refuse(StatusCode::UNAUTHORIZED, "The email or password is wrong.", &csrf)
        }
        Err(SignInError::RateLimited { retry_after_secs }) => {
            tracing::warn!(email = %Clipped(&email), %client, retry_after_secs, "admin sign-in rate limited");
            let wait = if retry_after_secs >= 120 {
                format!("{} minutes", (retry_after_secs + 59) / 60)
            } else {
                format!("{retry_after_secs} seconds")
            };
            let message = format!("Too many refused sign-ins. Try again in {wait}.");
            with_retry_after(refuse(StatusCode::TOO_MANY_REQUESTS, &message, &csrf), retry_after_secs)
        }
        Err(SignInError::Busy) => {
            tracing::warn!(%client, "admin sign-in refused: too many password checks at once");
            let message = "Too many sign-ins at once. Try again in a moment.";
            with_retry_after(refuse(StatusCode::TOO_MANY_REQUESTS, message, &csrf), 1)
        }
        Err(e) => {
            tracing::error!(error = %e, "admin sign-in failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "sign-in error").into_response()
        }
    }
}

fn with_retry_after(mut res: Response, secs: i64) -> Response {
    if let Ok(v) = secs.to_string().parse() {
        res.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
    }
    res
}

pub async fn logout(session: Session) -> Redirect {
    admin_session::end(&session).await;
    Redirect::to("/admin/login")
}
