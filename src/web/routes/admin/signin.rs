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
    Router::new()
        .route("/admin/login", get(page).post(submit))
        .route(admin_session::SSO_SIGNIN_PATH, axum::routing::post(sso_start))
        .route(SSO_CONTINUE_PATH, get(sso_continue))
}

/// Where the ACS sends the browser of a console sign-in through the IdP (`login::admin_signin`).
pub const SSO_CONTINUE_PATH: &str = "/admin/login/sso/continue";
/// The one-time hand-over token from the ACS to `SSO_CONTINUE_PATH`.
const HANDOVER_COOKIE: &str = "spconnect_admin_sso";

/// Set by the ACS on its hand-over page: sent only to the continue page, for two minutes.
pub fn set_sso_handover_cookie(svc: &AppState, res: &mut Response, token: &str) {
    let secure = svc.settings.public_https() || svc.settings.secure_cookies;
    cookies::set(
        res.headers_mut(),
        secure,
        HANDOVER_COOKIE,
        token,
        SSO_CONTINUE_PATH,
        crate::login::admin_signin::HANDOVER_SECS,
        cookies::SameSite::Lax,
    );
}

#[derive(Deserialize)]
struct SsoSignInForm {
    email: String,
}

/// "Sign in with your identity provider": the configuration is found by the email's domain and
/// must allow console sign-in; the browser goes to its IdP with a request issued for that.
async fn sso_start(
    State(svc): State<AppState>,
    ClientAddr(client_ip): ClientAddr,
    headers: HeaderMap,
    Form(form): Form<SsoSignInForm>,
) -> Response {
    let email: String = form.email.trim().chars().take(254).collect();
    let (csrf, _) = admin_session::signin_csrf(&headers);
    let refuse = |status: StatusCode, message: &str| {
        let page = SignInPage { csrf: &csrf, message, email: "", sso_email: &email, sso_field_error: true };
        (status, Html(render(&page))).into_response()
    };
    let domain = crate::users::email_domain(&email);
    if domain.is_empty() || !crate::users::is_email(&email) {
        return refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Enter your full admin email address, such as you@example.com.",
        );
    }
    let config = match svc.store.find_sso_by_domain(domain).await {
        Ok(c) => c.filter(|c| c.admin_signin && c.active && c.idp_sso_url.is_some()),
        Err(e) => {
            tracing::error!(error = %e, "SSO configuration lookup failed at console sign-in");
            return (StatusCode::SERVICE_UNAVAILABLE, "the console cannot reach its database").into_response();
        }
    };
    let Some(config) = config else {
        return refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Console sign-in through an identity provider is not set up for this email's domain. Sign in with your password.",
        );
    };
    let token = crate::web::routes::ext_login::binding_token(&svc, &headers).await;
    let client = client_ip.to_string();
    let who = crate::login::start::Starter { browser_binding: &token, client_addr: &client };
    let purpose = crate::store::RequestPurpose::Admin;
    match crate::login::start::start_for(&svc, config.sso_id, None, who, purpose, None, chrono::Utc::now()).await {
        Ok(url) => {
            let mut res = crate::web::templates::handoff(
                "Sign in to the console",
                "Sign in at your identity provider; you come back to the console signed in.",
                "Continue to the identity provider",
                &url,
            );
            crate::web::routes::ext_login::set_binding_cookie(&svc, &mut res, &token);
            res
        }
        Err(e) => {
            tracing::warn!(reason = e.code(), %client, "console sign-in through the IdP could not start");
            refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "The sign-in through your identity provider could not start. Sign in with your password.",
            )
        }
    }
}

/// Take the sign-in the ACS parked for this browser (once) and start the admin session.
async fn sso_continue(State(svc): State<AppState>, headers: HeaderMap, session: Session) -> Response {
    let (csrf, _) = admin_session::signin_csrf(&headers);
    let expired = || {
        let message = "This sign-in through your identity provider has expired or was already used. Sign in again.";
        let page = SignInPage { csrf: &csrf, message, email: "", sso_email: "", sso_field_error: false };
        let mut res = (StatusCode::BAD_REQUEST, Html(render(&page))).into_response();
        clear_handover(&svc, &mut res);
        res
    };
    let Some(token) = cookies::get(&headers, HANDOVER_COOKIE).filter(|t| crate::login::binding::is_token(t)) else {
        return expired();
    };
    let taken = svc.store.take_admin_signin(&crate::login::binding::hash(&token), now()).await;
    let (admin_id, sso_id) = match taken {
        Ok(Some(parked)) => parked,
        Ok(None) => return expired(),
        Err(e) => {
            tracing::error!(error = %e, "console sign-in hand-over failed");
            return (StatusCode::SERVICE_UNAVAILABLE, "the console cannot reach its database").into_response();
        }
    };
    // The configuration may have been turned off, or its console sign-in switched off, since
    // the IdP answered: the hand-over honours the switch as it is now.
    match svc.store.get_sso(sso_id).await {
        Ok(Some(c)) if c.active && c.admin_signin => {}
        _ => return expired(),
    }
    let account = match svc.store.get_admin(admin_id).await {
        Ok(Some(a)) => a,
        _ => return expired(),
    };
    let admin = CurrentAdmin::new(&account, now());
    if let Err(e) = admin_session::begin(&session, admin).await {
        tracing::error!(error = %e, "admin session could not be created");
        return (StatusCode::INTERNAL_SERVER_ERROR, "session error").into_response();
    }
    let _ = svc.store.mark_admin_signed_in(admin_id, now()).await;
    let _ = svc
        .store
        .audit(&account.email, "admin.sign_in", &account.email, &format!("through SSO configuration {sso_id}"), now())
        .await;
    tracing::info!(admin = %account.email, sso_id, "admin signed in through the IdP");
    let mut res = Redirect::to("/admin/sso").into_response();
    clear_handover(&svc, &mut res);
    res
}

fn clear_handover(svc: &AppState, res: &mut Response) {
    let secure = svc.settings.public_https() || svc.settings.secure_cookies;
    cookies::set(res.headers_mut(), secure, HANDOVER_COOKIE, "", SSO_CONTINUE_PATH, 0, cookies::SameSite::Lax);
}

/// The sign-in page writes nothing server-side: its CSRF token is a cookie (double submit), so
/// anonymous visits cannot fill the session table.
async fn page(State(svc): State<AppState>, headers: HeaderMap) -> Response {
    let (csrf, new) = admin_session::signin_csrf(&headers);
    let page = SignInPage { csrf: &csrf, message: "", email: "", sso_email: "", sso_field_error: false };
    let mut res = Html(render(&page)).into_response();
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
        let page = SignInPage { csrf, message, email: &email, sso_email: "", sso_field_error: false };
        (status, Html(render(&page))).into_response()
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
            let admin = CurrentAdmin::new(&account, now());
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
