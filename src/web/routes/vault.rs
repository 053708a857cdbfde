//! After login: the vault page, the session as JSON, the domain-routing login page and logout.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Json, Router};
use serde::Deserialize;
use tower_sessions::Session;

use crate::store::{SsoConfig, User, UserStatus};
use crate::users::email_domain;
use crate::web::request_id::RequestId;
use crate::web::session::{self, LoginSession};
use crate::web::templates::{render, LoginPage, VaultPage};
use crate::web::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/vault") }))
        .route("/vault", get(vault))
        .route("/api/rest/sso/session", get(session_json))
        .route("/login", get(login_page).post(login_submit))
        .route("/logout", post(logout))
}

/// The logged-in user, or None: also when the user was locked since logging in, or the
/// configuration they signed in through was turned off or deleted (its sessions end with it, on
/// every instance, at their next request).
async fn current_user(svc: &AppState, session: &Session) -> Option<(LoginSession, User, Option<SsoConfig>)> {
    let now = chrono::Utc::now().timestamp();
    let login = session::current(session, &svc.store, now, svc.settings.session_absolute_secs).await?;
    let user = svc.store.get_user(login.user_id).await.ok().flatten()?;
    if user.status == UserStatus::Locked {
        session::end(session, &svc.store).await;
        return None;
    }
    let config = svc.store.get_sso(login.sso_id).await.ok()?;
    if !config.as_ref().is_some_and(|c| c.active) {
        session::end(session, &svc.store).await;
        return None;
    }
    Some((login, user, config))
}

async fn vault(State(svc): State<AppState>, session: Session) -> Response {
    let Some((login, user, config)) = current_user(&svc, &session).await else {
        return Redirect::to("/login").into_response();
    };
    let page = VaultPage {
        email: &user.email,
        first_name: &user.first_name,
        last_name: &user.last_name,
        sso_name: config.as_ref().map_or("", |c| c.name.as_str()),
        sso_id: login.sso_id,
        provisioned_by: &user.provisioned_by,
    };
    Html(render(&page)).into_response()
}

async fn session_json(State(svc): State<AppState>, session: Session) -> Response {
    match current_user(&svc, &session).await {
        Some((login, user, config)) => Json(serde_json::json!({
            "email": user.email,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "sso_id": login.sso_id,
            "sso_name": config.map(|c| c.name),
            "provisioned_by": user.provisioned_by,
            "auth_at": login.auth_at,
        }))
        .into_response(),
        None => (StatusCode::UNAUTHORIZED, Json(serde_json::json!({"error": "not_authenticated"}))).into_response(),
    }
}

async fn login_page() -> Html<String> {
    Html(render(&LoginPage { message: "", value: "" }))
}

#[derive(Deserialize)]
struct LoginForm {
    domain: String,
}

/// Route a domain or an email to its SSO configuration's Login URL.
async fn login_submit(State(svc): State<AppState>, Form(form): Form<LoginForm>) -> Response {
    let input = form.domain.trim();
    let domain = if input.contains('@') { email_domain(input) } else { input };
    match svc.store.find_sso_by_domain(domain).await.ok().flatten() {
        Some(config) => Redirect::to(&format!("/api/rest/sso/ext_login/{}", config.sso_id)).into_response(),
        None => {
            let value: String = input.chars().take(254).collect();
            let page = LoginPage { message: "No single sign-on is configured for that domain.", value: &value };
            (StatusCode::NOT_FOUND, Html(render(&page))).into_response()
        }
    }
}

/// "Sign out": always ends the vault session here (on every instance); when the configuration
/// says to log out of the IdP too and the IdP has a SingleLogoutService, the browser then
/// carries our signed LogoutRequest there (SP-initiated Single Logout).
async fn logout(
    State(svc): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    session: Session,
) -> Response {
    let now = chrono::Utc::now();
    let login = session::current(&session, &svc.store, now.timestamp(), svc.settings.session_absolute_secs).await;
    session::end(&session, &svc.store).await;
    let Some(login) = login else { return Redirect::to("/login").into_response() };
    let subject = crate::logout::Subject {
        sso_id: login.sso_id,
        name_id: login.name_id.as_deref(),
        name_id_format: login.name_id_format.as_deref(),
        session_index: login.session_index.as_deref(),
    };
    match crate::logout::start(&svc, subject, now).await {
        Ok(Some(out)) => super::slo::to_idp(out),
        Ok(None) => Redirect::to("/login").into_response(),
        Err(e) => {
            // The vault session is ended already; the IdP's is left as it is.
            tracing::error!(%request_id, reason = e.code(), error = %e, "could not start the logout at the IdP");
            Redirect::to("/login").into_response()
        }
    }
}
