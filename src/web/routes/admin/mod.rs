//! /admin: the console. `signin` is the only public part; everything else is behind
//! `require_admin`, and every POST (sign-in included) behind `csrf_guard`. Admin sessions use
//! their own cookie, scoped to /admin (see `web/admin_session.rs`).

mod admins;
mod events;
mod nodes;
mod signin;
mod sso;
mod sso_edit;
mod teams;
mod test_login;
mod users;

use axum::http::{header, StatusCode};
use axum::middleware;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use tower_sessions::cookie::time::Duration as CookieDuration;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, Session, SessionManagerLayer};

use crate::ops::{Actor, OpsError};
use crate::store::StoreError;
use crate::web::admin_pages::{AdminErrorPage, Chrome};
use crate::web::admin_session::{self, CurrentAdmin, ADMIN_IDLE_SECS};
use crate::web::templates::render;
use crate::web::AppState;

pub const COOKIE: &str = "spconnect_admin";
pub use signin::{set_sso_handover_cookie, SSO_CONTINUE_PATH};

/// Every path the console serves with GET, for the test that walks them signed out. A new
/// page goes here too.
pub const GET_PAGES: &[&str] = &[
    "/admin",
    "/admin/sso",
    "/admin/sso/{sso_id}",
    "/admin/sso/{sso_id}/edit",
    "/admin/users",
    "/admin/nodes",
    "/admin/teams",
    "/admin/events",
    "/admin/admins",
];
/// Every form target behind sign-in (the sign-in form itself is public).
pub const POST_FORMS: &[&str] = &[
    "/admin/sso",
    "/admin/sso/{sso_id}/settings",
    "/admin/sso/{sso_id}/idp",
    "/admin/sso/{sso_id}/identity",
    "/admin/sso/{sso_id}/deactivate",
    "/admin/sso/{sso_id}/activate",
    "/admin/sso/{sso_id}/delete",
    "/admin/sso/{sso_id}/keys/rollover",
    "/admin/sso/{sso_id}/keys/activate",
    "/admin/sso/{sso_id}/keys/retire",
    "/admin/sso/{sso_id}/idp-url",
    "/admin/sso/{sso_id}/idp-refresh",
    "/admin/sso/{sso_id}/test-login",
    "/admin/users/{user_id}/lock",
    "/admin/users/{user_id}/unlock",
    "/admin/nodes",
    "/admin/nodes/{node_id}/scim-token",
    "/admin/teams/{team_id}/approve",
    "/admin/nodes/{node_id}/scim-token/revoke",
    "/admin/admins/{admin_id}/delete",
    "/admin/admins/{admin_id}/unlock",
    "/admin/admins",
    "/admin/admins/{admin_id}/reset-password",
    "/admin/logout",
];

pub fn router(svc: &AppState) -> Router<AppState> {
    let protected = Router::new()
        .route("/admin", get(|| async { Redirect::to("/admin/sso") }))
        .merge(sso::router())
        .merge(sso_edit::router())
        .merge(users::router())
        .merge(nodes::router())
        .merge(teams::router())
        .merge(events::router())
        .merge(admins::router())
        .merge(test_login::router())
        .route("/admin/logout", axum::routing::post(signin::logout))
        // Last added runs first: no session → refused before the CSRF check or the handler.
        .route_layer(middleware::from_fn(admin_session::csrf_guard))
        .route_layer(middleware::from_fn_with_state(svc.clone(), admin_session::require_admin));
    let public = signin::router().route_layer(middleware::from_fn(admin_session::csrf_guard));
    let sessions = SessionManagerLayer::new(svc.store.sessions())
        .with_name(COOKIE)
        .with_path("/admin")
        .with_secure(svc.settings.secure_cookies || svc.settings.public_https())
        .with_http_only(true)
        // Strict: no admin request is ever meant to start on another site.
        .with_same_site(SameSite::Strict)
        .with_expiry(Expiry::OnInactivity(CookieDuration::seconds(ADMIN_IDLE_SECS)))
        // Save on every request so the idle timeout counts from the last page, not the sign-in.
        .with_always_save(true);
    Router::new()
        .merge(protected)
        .merge(public)
        .layer(sessions)
        // Static, so outside the admin session: the copy buttons of the SCIM token page.
        .route(
            "/static/admin-copy.js",
            get(|| async {
                ([(header::CONTENT_TYPE, "text/javascript")], include_str!("../../../../templates/admin-copy.js"))
            }),
        )
}

/// Pages with copy buttons (the SCIM token page, a configuration's view) load the copy script
/// from our own origin; everything else stays as strict as the rest of the console (no inline
/// script, no other origin).
pub const COPY_SCRIPT_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
     frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// A destructive or disruptive action's form: a checkbox (or, for deletion, the SSO ID typed
/// again) the admin must fill in, checked here as well as in the browser.
#[derive(serde::Deserialize, Default)]
struct ConfirmForm {
    #[serde(default)]
    confirm: String,
}

/// `Ok` when the form carries `expected`; else a refusal saying nothing was changed and why.
fn confirmed(form: &ConfirmForm, expected: &str, refusal: &str) -> Result<(), AdminError> {
    if form.confirm.trim() == expected {
        Ok(())
    } else {
        Err(AdminError::Refused(format!("Nothing was changed: {refusal}.")))
    }
}

/// The notice the next console page shows once ("Locked bob@…", "Team approved", …): set by an
/// action before its redirect (POST-redirect-GET), taken by the page that follows.
const FLASH: &str = "admin_flash";

async fn flash(session: &Session, message: String) {
    if let Err(e) = session.insert(FLASH, message).await {
        tracing::warn!(error = %e, "the console notice could not be kept");
    }
}

async fn chrome(svc: &AppState, session: &Session, admin: &CurrentAdmin, section: &'static str) -> Chrome {
    let notice = session.remove::<String>(FLASH).await.ok().flatten().unwrap_or_default();
    let mut warnings: Vec<(String, &'static str)> = match crate::ops::certs::warnings(svc, now()).await {
        Ok(w) => w.iter().map(|w| (w.message(), w.fix())).collect(),
        Err(e) => {
            tracing::warn!(error = %e, "certificate warnings not computable for the console banner");
            Vec::new()
        }
    };
    // IdP metadata that could not be refreshed from its URL (the last good copy is in use).
    match svc.store.list_idp_url_sources().await {
        Ok(sources) => warnings.extend(sources.iter().filter(|s| s.last_error.is_some()).map(|s| {
            (
                format!("The IdP metadata of SSO configuration {} could not be refreshed from its URL", s.sso_id),
                "The last good metadata stays in use; see the configuration's page for the error and refresh it \
                 there once the IdP answers.",
            )
        })),
        Err(e) => tracing::warn!(error = %e, "IdP metadata sources not readable for the console banner"),
    }
    Chrome {
        admin_email: admin.email.clone(),
        csrf: admin_session::csrf_token(session).await,
        section,
        warnings,
        notice,
    }
}

/// Console failures: the page says what, the log says why.
#[derive(Debug)]
pub enum AdminError {
    /// 404: the id in the address names nothing.
    NotFound,
    /// 409: the operation was refused for a reason the admin can act on (shown as is).
    Refused(String),
    /// 500: the details go to the log only.
    Internal(String),
}

impl From<StoreError> for AdminError {
    fn from(e: StoreError) -> Self {
        AdminError::Internal(e.to_string())
    }
}

/// Handlers that re-render a form with the message match `Invalid` and `Conflict` themselves;
/// elsewhere they become a refusal page.
impl From<OpsError> for AdminError {
    fn from(e: OpsError) -> Self {
        match e {
            OpsError::NotFound(_) => AdminError::NotFound,
            OpsError::Invalid(m) | OpsError::Conflict(m) => AdminError::Refused(m),
            OpsError::Store(e) => AdminError::Internal(e.to_string()),
            OpsError::Internal(m) => AdminError::Internal(m),
        }
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let (status, text) = match self {
            AdminError::NotFound => (StatusCode::NOT_FOUND, "There is nothing at this address.".to_string()),
            AdminError::Refused(m) => (StatusCode::CONFLICT, m),
            AdminError::Internal(e) => {
                tracing::error!(error = %e, "admin console error");
                (StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong; the details are in the server log.".into())
            }
        };
        (status, Html(render(&AdminErrorPage { status: status.as_u16(), text: &text }))).into_response()
    }
}

/// A console address with its query string (filters and paging kept in the link): empty values
/// are left out, the rest encoded.
fn link(path: &str, params: &[(&str, &str)]) -> String {
    let kept: Vec<(&str, &str)> = params.iter().copied().filter(|(_, v)| !v.is_empty()).collect();
    match serde_urlencoded::to_string(&kept) {
        Ok(query) if !query.is_empty() => format!("{path}?{query}"),
        _ => path.to_string(),
    }
}

/// The acting admin, as the operations layer records it.
fn actor(admin: &CurrentAdmin) -> Actor {
    Actor::Admin { admin_id: admin.admin_id, email: admin.email.clone() }
}

pub type AdminResult = Result<Response, AdminError>;

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}
