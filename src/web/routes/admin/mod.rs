//! /admin: the console. `signin` is the only public part; everything else is behind
//! `require_admin`, and every POST (sign-in included) behind `csrf_guard`. Admin sessions use
//! their own cookie, scoped to /admin (see `web/admin_session.rs`).

mod events;
mod nodes;
mod signin;
mod sso;
mod teams;
mod users;

use axum::http::{header, StatusCode};
use axum::middleware;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use tower_sessions::cookie::time::Duration as CookieDuration;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, Session, SessionManagerLayer};

use crate::web::admin_pages::Chrome;
use crate::web::admin_session::{self, CurrentAdmin, ADMIN_IDLE_SECS};
use crate::web::AppState;

pub const COOKIE: &str = "spconnect_admin";

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
];
/// Every form target behind sign-in (the sign-in form itself is public).
pub const POST_FORMS: &[&str] = &[
    "/admin/sso",
    "/admin/sso/{sso_id}/settings",
    "/admin/sso/{sso_id}/idp",
    "/admin/users/{user_id}/lock",
    "/admin/users/{user_id}/unlock",
    "/admin/nodes",
    "/admin/nodes/{node_id}/scim-token",
    "/admin/teams/{team_id}/approve",
    "/admin/logout",
];

pub fn router(svc: &AppState) -> Router<AppState> {
    let protected = Router::new()
        .route("/admin", get(|| async { Redirect::to("/admin/sso") }))
        .merge(sso::router())
        .merge(users::router())
        .merge(nodes::router())
        .merge(teams::router())
        .merge(events::router())
        .route("/admin/logout", axum::routing::post(signin::logout))
        // Last added runs first: no session → refused before the CSRF check or the handler.
        .route_layer(middleware::from_fn(admin_session::csrf_guard))
        .route_layer(middleware::from_fn(admin_session::require_admin));
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

async fn chrome(session: &Session, admin: &CurrentAdmin, section: &'static str) -> Chrome {
    Chrome { admin_email: admin.email.clone(), csrf: admin_session::csrf_token(session).await, section }
}

/// Console failures: the page says what, the log says why.
#[derive(Debug)]
pub enum AdminError {
    NotFound,
    Internal(String),
}

impl<E: std::fmt::Display> From<E> for AdminError {
    fn from(e: E) -> Self {
        AdminError::Internal(e.to_string())
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let (status, text) = match self {
            AdminError::NotFound => (StatusCode::NOT_FOUND, "There is nothing at this address."),
            AdminError::Internal(e) => {
                tracing::error!(error = %e, "admin console error");
                (StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong; the details are in the server log.")
            }
        };
        let page = format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>spconnect admin</title>\
             <link rel=\"stylesheet\" href=\"/static/style.css\"></head><body><main><section class=\"card error\">\
             <h1>{}</h1><p>{text}</p><p><a href=\"/admin\">Back to the console</a></p></section></main></body></html>",
            status.as_u16()
        );
        (status, Html(page)).into_response()
    }
}

pub type AdminResult = Result<Response, AdminError>;

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}
