//! GET/POST /admin/login and POST /admin/logout.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;
use tower_sessions::Session;

use super::now;
use crate::admins::{self, SignInError};
use crate::web::admin_pages::SignInPage;
use crate::web::admin_session::{self, CurrentAdmin};
use crate::web::templates::render;
use crate::web::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/login", get(page).post(submit))
}

async fn page(session: Session) -> Response {
    let csrf = admin_session::csrf_token(&session).await;
    Html(render(&SignInPage { csrf: &csrf, message: "", email: "" })).into_response()
}

#[derive(Deserialize)]
struct SignInForm {
    email: String,
    password: String,
}

async fn submit(
    State(svc): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    session: Session,
    Form(form): Form<SignInForm>,
) -> Response {
    let email: String = form.email.trim().chars().take(254).collect();
    let client = peer.ip().to_string();
    let refuse = |status: StatusCode, message: &str, csrf: &str| {
        (status, Html(render(&SignInPage { csrf, message, email: &email }))).into_response()
    };
    match admins::sign_in(&svc.store, &email, &form.password, &client, now()).await {
        Ok(account) => {
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
            Redirect::to("/admin/sso").into_response()
        }
        Err(SignInError::BadCredentials) => {
            tracing::warn!(%email, %client, "admin sign-in refused");
            let csrf = admin_session::csrf_token(&session).await;
            refuse(StatusCode::UNAUTHORIZED, "The email or password is wrong.", &csrf)
        }
        Err(SignInError::RateLimited { retry_after_secs }) => {
            tracing::warn!(%email, %client, "admin sign-in rate limited");
            let csrf = admin_session::csrf_token(&session).await;
            let message = format!("Too many refused sign-ins. Try again in {} minutes.", retry_after_secs / 60);
            let mut res = refuse(StatusCode::TOO_MANY_REQUESTS, &message, &csrf);
            if let Ok(v) = retry_after_secs.to_string().parse() {
                res.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
            }
            res
        }
        Err(e) => {
            tracing::error!(error = %e, "admin sign-in failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "sign-in error").into_response()
        }
    }
}

pub async fn logout(session: Session) -> Redirect {
    admin_session::end(&session).await;
    Redirect::to("/admin/login")
}
