//! /admin/nodes: nodes, their SCIM status and last provisioning call; create a node; generate a
//! node's SCIM token (shown once, with the base URL and copy buttons) or revoke it.

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use serde::Deserialize;
use tower_sessions::Session;

use super::{actor, chrome, confirmed, flash, now, AdminError, AdminResult, ConfirmForm};
use crate::ops::nodes::{scim_base_url, scim_state, ScimState};
use crate::ops::{self, OpsError};
use crate::store::ROOT_NODE_ID;
use crate::web::admin_pages::{fmt_time, NodeChoice, NodeRowView, NodesPage, Refusal, ScimTokenPage};
use crate::web::admin_session::CurrentAdmin;
use crate::web::routes::parse_id;
use crate::web::templates::render;
use crate::web::AppState;

use super::COPY_SCRIPT_CSP as TOKEN_PAGE_CSP;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/nodes", get(list).post(create))
        .route("/admin/nodes/{node_id}/scim-token", post(generate_token))
        .route("/admin/nodes/{node_id}/scim-token/revoke", post(revoke_token))
}

/// The page; `typed` is a refused create form (its name and parent), shown again.
async fn page(
    svc: &AppState,
    session: &Session,
    admin: &CurrentAdmin,
    typed: Option<&NodeForm>,
    refusal: Refusal,
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
            scim: match scim_state(n) {
                ScimState::Off => "off".into(),
                ScimState::Pending => "pending: the token has not been used yet".into(),
                ScimState::On { last_used_at } => format!("on, token last used {}", fmt_time(Some(last_used_at))),
            },
            scim_enabled: n.scim_enabled,
            base_url: scim_base_url(&svc.settings.public_url, n.node_id),
            last_call,
        });
    }
    let parent = typed.and_then(|f| f.parent).unwrap_or(ROOT_NODE_ID);
    let parents = nodes
        .iter()
        .map(|n| NodeChoice { node_id: n.node_id, label: n.name.clone(), selected: n.node_id == parent })
        .collect();
    Ok(NodesPage {
        chrome: chrome(svc, session, admin, "nodes").await,
        nodes: rows,
        parents,
        refusal,
        name: typed.map(|f| f.name.clone()).unwrap_or_default(),
    })
}

async fn list(State(svc): State<AppState>, Extension(admin): Extension<CurrentAdmin>, session: Session) -> AdminResult {
    Ok(Html(render(&page(&svc, &session, &admin, None, Refusal::default()).await?)).into_response())
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
    let parent = f.parent.unwrap_or(ROOT_NODE_ID);
    match ops::nodes::create(&svc, &actor(&admin), &f.name, parent, now()).await {
        Ok(node) => {
            flash(&session, format!("Node {} ({}) created.", node.name, node.node_id)).await;
            Ok(Redirect::to("/admin/nodes").into_response())
        }
        // The form comes back filled in: a name that breaks the rule, or a parent that is gone.
        Err(e @ (OpsError::Invalid(_) | OpsError::NotFound(_))) => {
            let field = if matches!(e, OpsError::Invalid(_)) { "node-name" } else { "parent" };
            let p = page(&svc, &session, &admin, Some(&f), Refusal::at(field, e.to_string())).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(render(&p))).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

async fn generate_token(
    State(svc): State<AppState>,
    Extension(admin): Extension<CurrentAdmin>,
    session: Session,
    Path(raw): Path<String>,
    axum::Form(form): axum::Form<ConfirmForm>,
) -> AdminResult {
    let node_id = parse_id(&raw).ok_or(AdminError::NotFound)?;
    // A new token stops the working one at once: asked for once SCIM is on.
    let node = ops::nodes::get(&svc, node_id).await?;
    if node.scim_enabled {
        confirmed(&form, "yes", "tick the box to confirm that the working SCIM token stops now")?;
    }
    let issued = ops::nodes::issue_scim_token(&svc, &actor(&admin), node_id, now()).await?;
    let page = ScimTokenPage {
        chrome: chrome(&svc, &session, &admin, "nodes").await,
        node_name: issued.node.name,
        token: issued.token,
        base_url: issued.base_url,
    };
    let mut res = Html(render(&page)).into_response();
    res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(TOKEN_PAGE_CSP));
    Ok(res)
}

/// "Deactivate IdM connection": the token stops working at once (confirmed first).
async fn revoke_token(
    State(svc): State<AppState>,
    Extension(admin): Extension<CurrentAdmin>,
    session: Session,
    Path(raw): Path<String>,
    axum::Form(form): axum::Form<ConfirmForm>,
) -> AdminResult {
    let node_id = parse_id(&raw).ok_or(AdminError::NotFound)?;
    confirmed(&form, "yes", "tick the box to confirm that SCIM stops for this node")?;
    let node = ops::nodes::revoke_scim_token(&svc, &actor(&admin), node_id, now()).await?;
    flash(&session, format!("The IdM connection of {} is deactivated: its SCIM token no longer works.", node.name))
        .await;
    Ok(Redirect::to("/admin/nodes").into_response())
}
