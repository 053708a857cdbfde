//! /admin/nodes: nodes, their SCIM status and last provisioning call; create a node; generate a
//! node's SCIM token (shown once, with the base URL and copy buttons).

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use serde::Deserialize;
use tower_sessions::Session;

use super::{chrome, now, AdminError, AdminResult};
use crate::scim::tokens;
use crate::store::ROOT_NODE_ID;
use crate::web::admin_pages::{fmt_time, NodeChoice, NodeRowView, NodesPage, ScimTokenPage};
use crate::web::admin_session::CurrentAdmin;
use crate::web::routes::parse_id;
use crate::web::routes::scim::SCIM_PREFIX;
use crate::web::templates::render;
use crate::web::AppState;

/// The token page loads its copy-button script from our own origin; everything else stays as
/// strict as the rest of the console (no inline script, no other origin).
const TOKEN_PAGE_CSP: &str =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/nodes", get(list).post(create))
        .route("/admin/nodes/{node_id}/scim-token", post(generate_token))
}

fn base_url(svc: &AppState, node_id: i64) -> String {
    format!("{}{SCIM_PREFIX}/{node_id}", svc.settings.public_url)
}

async fn page(
    svc: &AppState,
    session: &Session,
    admin: &CurrentAdmin,
    message: String,
) -> Result<NodesPage, AdminError> {
    let nodes = svc.store.list_nodes().await?;
    let name_of = |id: Option<i64>| {
        id.and_then(|id| nodes.iter().find(|n| n.node_id == id)).map_or_else(|| "-".to_string(), |n| n.name.clone())
    };
    let mut rows = Vec::new();
    for n in &nodes {
        let last_call = match svc.store.last_provisioning_event(n.node_id).await? {
            Some(e) => format!("{} {} {} ({})", fmt_time(Some(e.at)), e.method, e.event, e.outcome),
            None => "none".into(),
        };
        rows.push(NodeRowView {
            node_id: n.node_id,
            name: n.name.clone(),
            parent: name_of(n.parent_id),
            seats: n.seats.map_or_else(|| "unlimited".into(), |s| s.to_string()),
            scim: match (n.scim_enabled, n.scim_last_used_at) {
                (false, _) => "off".into(),
                (true, None) => "pending: the token has not been used yet".into(),
                (true, Some(t)) => format!("on, token last used {}", fmt_time(Some(t))),
            },
            scim_enabled: n.scim_enabled,
            base_url: base_url(svc, n.node_id),
            last_call,
        });
    }
    let parents = nodes
        .iter()
        .map(|n| NodeChoice { node_id: n.node_id, label: n.name.clone(), selected: n.node_id == ROOT_NODE_ID })
        .collect();
    Ok(NodesPage { chrome: chrome(session, admin, "nodes").await, nodes: rows, parents, message })
}

async fn list(State(svc): State<AppState>, Extension(admin): Extension<CurrentAdmin>, session: Session) -> AdminResult {
    Ok(Html(render(&page(&svc, &session, &admin, String::new()).await?)).into_response())
}

#[derive(Deserialize)]
struct NodeForm {
    #[serde(default)]
    name: String,
    parent: Option<i64>,
}

async fn create(
    State(svc): State<AppState>,
    Extension(admin): Extension<CurrentAdmin>,
    session: Session,
    Form(f): Form<NodeForm>,
) -> AdminResult {
    let name = f.name.trim();
    let parent = f.parent.unwrap_or(ROOT_NODE_ID);
    if name.is_empty() || name.chars().count() > 100 {
        let p = page(&svc, &session, &admin, "Give the node a name of at most 100 characters.".into()).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(render(&p))).into_response());
    }
    let node = svc.store.create_node(name, parent, now()).await?;
    svc.store
        .audit(&admin.email, "node.create", &node.node_id.to_string(), &format!("{name} under {parent}"), now())
        .await?;
    Ok(Redirect::to("/admin/nodes").into_response())
}

async fn generate_token(
    State(svc): State<AppState>,
    Extension(admin): Extension<CurrentAdmin>,
    session: Session,
    Path(raw): Path<String>,
) -> AdminResult {
    let node_id = parse_id(&raw).ok_or(AdminError::NotFound)?;
    let node = svc.store.get_node(node_id).await?.ok_or(AdminError::NotFound)?;
    let (token, hash) = tokens::generate();
    svc.store.put_scim_token(node_id, &hash, now()).await?;
    let action = if node.scim_enabled { "scim.token.rotate" } else { "scim.enable" };
    svc.store.audit(&admin.email, action, &node_id.to_string(), &node.name, now()).await?;
    let page = ScimTokenPage {
        chrome: chrome(&session, &admin, "nodes").await,
        node_name: node.name,
        token,
        base_url: base_url(&svc, node_id),
    };
    let mut res = Html(render(&page)).into_response();
    res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(TOKEN_PAGE_CSP));
    Ok(res)
}
