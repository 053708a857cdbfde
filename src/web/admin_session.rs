//! Admin sessions and CSRF tokens. Admin sessions live in their own cookie (`spconnect_admin`,
//! path `/admin`, SameSite=Strict), separate from end-user logins: signing out of the vault must
//! not sign an admin out, and an admin cookie is never sent to the SAML endpoints.
//!
//! CSRF: a synchronizer token per session (also before sign-in, for the sign-in form), checked
//! by `csrf_guard` on every POST under /admin before any handler runs.

use axum::body::{to_bytes, Body};
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use crate::web::AppState;

const ADMIN_KEY: &str = "admin";
const CSRF_KEY: &str = "admin_csrf";
/// The largest form the console accepts (an IdP metadata upload included), from a signed-in admin.
pub const MAX_ADMIN_FORM_BYTES: usize = 2 * 1024 * 1024;
/// The largest form read before anyone signed in (the sign-in form is well under 1 KiB).
pub const MAX_ANONYMOUS_FORM_BYTES: usize = 16 * 1024;
pub const SIGNIN_PATH: &str = "/admin/login";
/// "Sign in with your identity provider" (anonymous, like the sign-in form).
pub const SSO_SIGNIN_PATH: &str = "/admin/login/sso";
/// The sign-in form's CSRF token (double-submit: cookie and form field must match).
pub const SIGNIN_CSRF_COOKIE: &str = "spconnect_admin_signin";

/// The sign-in form's CSRF token from the request's cookie, or a new one (`true`: set the cookie).
pub fn signin_csrf(headers: &axum::http::HeaderMap) -> (String, bool) {
    match crate::web::cookies::get(headers, SIGNIN_CSRF_COOKIE).filter(|t| is_csrf_token(t)) {
        Some(t) => (t, false),
        None => (hex::encode(rand::random::<[u8; 32]>()), true),
    }
}

fn is_csrf_token(t: &str) -> bool {
    t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit())
}
/// Absolute admin session lifetime, whatever the activity (the idle timeout is on the cookie).
pub const ADMIN_ABSOLUTE_SECS: i64 = 8 * 3600;
pub const ADMIN_IDLE_SECS: i64 = 30 * 60;

/// The signed-in admin, put into request extensions by `require_admin`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CurrentAdmin {
    pub admin_id: i64,
    pub email: String,
    pub auth_at: i64,
    /// A mark of the account's password hash when the session began (`credential_mark`): a
    /// password reset ends every session of that account, on every instance.
    #[serde(default)]
    pub credential: String,
}

impl CurrentAdmin {
    pub fn new(account: &crate::store::AdminAccount, auth_at: i64) -> CurrentAdmin {
        CurrentAdmin {
            admin_id: account.admin_id,
            email: account.email.clone(),
            auth_at,
            credential: credential_mark(&account.password_hash),
        }
    }
}

/// After an admin gives themselves a new password: their own session carries on under it.
pub async fn refresh_credential(session: &Session, account: &crate::store::AdminAccount) {
    if let Ok(Some(mut admin)) = session.get::<CurrentAdmin>(ADMIN_KEY).await {
        admin.credential = credential_mark(&account.password_hash);
        if let Err(e) = session.insert(ADMIN_KEY, admin).await {
            tracing::error!(error = %e, "admin session could not be updated after a password reset");
        }
    }
}

/// 64 bits of SHA-256 over the stored password hash: changes whenever the password does, and
/// reveals nothing usable about it (the hash is argon2id, salted).
fn credential_mark(password_hash: &str) -> String {
    crate::login::binding::hash(password_hash)[..16].to_string()
}

/// The session's CSRF token, created on first use.
pub async fn csrf_token(session: &Session) -> String {
    if let Ok(Some(t)) = session.get::<String>(CSRF_KEY).await {
        return t;
    }
    let token = hex::encode(rand::random::<[u8; 32]>());
    if let Err(e) = session.insert(CSRF_KEY, &token).await {
        tracing::error!(error = %e, "could not store the CSRF token");
    }
    token
}

/// Start an admin session: a new session id (no fixation) and a new CSRF token.
pub async fn begin(session: &Session, admin: CurrentAdmin) -> Result<(), tower_sessions::session::Error> {
    session.cycle_id().await?;
    session.insert(CSRF_KEY, hex::encode(rand::random::<[u8; 32]>())).await?;
    session.insert(ADMIN_KEY, admin).await
}

pub async fn end(session: &Session) {
    let _ = session.flush().await;
}

async fn current(session: &Session, now: i64) -> Option<CurrentAdmin> {
    let admin: CurrentAdmin = session.get(ADMIN_KEY).await.ok().flatten()?;
    if now - admin.auth_at > ADMIN_ABSOLUTE_SECS {
        end(session).await;
        return None;
    }
    Some(admin)
}

/// Every /admin route but the sign-in page goes through this. Pages redirect to sign-in;
/// anything else (a form post, a download) gets a bare 401 so nothing is acted on. The account
/// is looked up on every request, so a deleted admin's session, or one begun before the
/// password was reset, ends at once (on every instance).
pub async fn require_admin(State(svc): State<AppState>, session: Session, mut req: Request, next: Next) -> Response {
    let admin = match current(&session, chrono::Utc::now().timestamp()).await {
        Some(admin) => match svc.store.get_admin(admin.admin_id).await {
            Ok(Some(account))
                if account.email == admin.email && credential_mark(&account.password_hash) == admin.credential =>
            {
                Some(admin)
            }
            Ok(_) => {
                tracing::info!(admin = %admin.email, "admin session ended: the account was deleted or its password reset");
                end(&session).await;
                None
            }
            Err(e) => {
                tracing::error!(error = %e, "admin account lookup failed");
                return (StatusCode::SERVICE_UNAVAILABLE, "the console cannot reach its database").into_response();
            }
        },
        None => None,
    };
    match admin {
        Some(admin) => {
            req.extensions_mut().insert(admin);
            next.run(req).await
        }
        None if req.method() == Method::GET || req.method() == Method::HEAD => {
            Redirect::to("/admin/login").into_response()
        }
        None => (StatusCode::UNAUTHORIZED, "sign in first").into_response(),
    }
}

/// Refuse any POST under /admin whose form does not carry this session's CSRF token. The body
/// is read once (bounded), searched for the `csrf` field, and handed on unchanged.
pub async fn csrf_guard(session: Session, req: Request, next: Next) -> Response {
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let refuse = |path: &str| {
        tracing::warn!(path = %path, "admin form refused: missing or wrong CSRF token");
        (
            StatusCode::FORBIDDEN,
            "The form expired or did not come from this console. Go back, reload the page and try again.",
        )
            .into_response()
    };
    // The sign-in form's token is in a cookie (no session row per anonymous visitor); every
    // other form's is in the admin session.
    let signing_in = req.uri().path() == SIGNIN_PATH || req.uri().path() == SSO_SIGNIN_PATH;
    let expected: Option<String> = if signing_in {
        crate::web::cookies::get(req.headers(), SIGNIN_CSRF_COOKIE).filter(|t| is_csrf_token(t))
    } else {
        session.get(CSRF_KEY).await.ok().flatten()
    };
    // Nothing to compare with: refuse before reading a byte of the body.
    if expected.is_none() {
        return refuse(req.uri().path());
    }
    // Only a signed-in admin may send a large form (an IdP metadata upload); anyone else's
    // form is read up to a few KiB.
    let limit = if !signing_in && current(&session, chrono::Utc::now().timestamp()).await.is_some() {
        MAX_ADMIN_FORM_BYTES
    } else {
        MAX_ANONYMOUS_FORM_BYTES
    };
    let (parts, body) = req.into_parts();
    let Ok(bytes) = to_bytes(body, limit).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, "the form is too large").into_response();
    };
    let content_type = parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let presented = if content_type.starts_with("application/x-www-form-urlencoded") {
        serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
            .ok()
            .and_then(|fields| fields.into_iter().find(|(k, _)| k == "csrf").map(|(_, v)| v))
    } else if content_type.starts_with("multipart/form-data") {
        multipart_csrf(&content_type, bytes.clone()).await
    } else {
        None
    };
    let ok = matches!((&expected, &presented), (Some(e), Some(p)) if constant_time_eq(e.as_bytes(), p.as_bytes()));
    if !ok {
        return refuse(parts.uri.path());
    }
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

async fn multipart_csrf(content_type: &str, bytes: axum::body::Bytes) -> Option<String> {
    let req = Request::builder()
        .method(Method::POST)
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(bytes))
        .ok()?;
    let mut multipart = Multipart::from_request(req, &()).await.ok()?;
    while let Ok(Some(field)) = multipart.next_field().await {
        if field.name() == Some("csrf") {
            return field.text().await.ok();
        }
    }
    None
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    #[test]
    fn constant_time_eq_compares_whole_values() {
        assert!(super::constant_time_eq(b"abc", b"abc"));
        assert!(!super::constant_time_eq(b"abc", b"abd"));
        assert!(!super::constant_time_eq(b"abc", b"ab"));
    }
}
