//! The demo IdP's HTTP endpoints (`spconnect demo`): its metadata, the SSO endpoint that answers
//! our AuthnRequests, and an IdP-initiated launch. The IdP itself is `demo::idp`.

use axum::extract::{Query, State};
use axum::response::Html;
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

use crate::demo::idp::{post_form, request_id, DemoIdp};

#[derive(Deserialize)]
struct SsoQuery {
    #[serde(rename = "SAMLRequest")]
    saml_request: String,
    #[serde(rename = "RelayState")]
    relay_state: Option<String>,
}

pub async fn serve(idp: DemoIdp, listener: std::net::TcpListener) -> std::io::Result<()> {
    listener.set_nonblocking(true)?;
    let app = Router::new()
        .route("/metadata", get(|State(idp): State<DemoIdp>| async move { idp.metadata() }))
        .route("/sso", get(sso))
        .route("/launch", get(launch))
        .with_state(idp);
    axum::serve(tokio::net::TcpListener::from_std(listener)?, app).await
}

async fn sso(State(idp): State<DemoIdp>, Query(q): Query<SsoQuery>) -> Html<String> {
    let id = request_id(&q.saml_request).unwrap_or_default();
    Html(post_form(&idp, Some(&id), q.relay_state.as_deref()))
}

async fn launch(State(idp): State<DemoIdp>) -> Html<String> {
    Html(post_form(&idp, None, Some("/vault")))
}
