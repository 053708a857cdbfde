//! Nodes (Keeper's organisational units): create them, set their seats and the domains their
//! SCIM may provision, and issue, replace or revoke their SCIM bearer token.

use super::{audit, display_name, Actor, OpsError, Result};
use crate::scim::tokens;
use crate::services::Services;
use crate::store::Node;

/// The SCIM base URL an IdP is given for a node: the one place it is built.
pub fn scim_base_url(public_url: &str, node_id: i64) -> String {
    format!("{}{}/{node_id}", public_url.trim_end_matches('/'), crate::scim::SCIM_PREFIX)
}

/// Where a node's SCIM provisioning stands, as both front ends word it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScimState {
    /// No token: SCIM is off.
    Off,
    /// A token exists but the IdP has not used it yet (Keeper shows "Pending").
    Pending,
    /// The token was last accepted then (unix seconds).
    On { last_used_at: i64 },
}

pub fn scim_state(node: &Node) -> ScimState {
    match (node.scim_enabled, node.scim_last_used_at) {
        (false, _) => ScimState::Off,
        (true, None) => ScimState::Pending,
        (true, Some(last_used_at)) => ScimState::On { last_used_at },
    }
}

/// The node `node_id`, or `NotFound` with a message naming it.
pub async fn get(svc: &Services, node_id: i64) -> Result<Node> {
    svc.store.get_node(node_id).await?.ok_or_else(|| OpsError::NotFound(format!("there is no node {node_id}")))
}

pub async fn create(svc: &Services, actor: &Actor, name: &str, parent_id: i64, now: i64) -> Result<Node> {
    let name = display_name(name, "node")?;
    get(svc, parent_id).await?;
    let node = svc.store.create_node(&name, parent_id, now).await?;
    audit(svc, actor, "node.create", &node.node_id.to_string(), &format!("{name} under {parent_id}"), now).await?;
    Ok(node)
}

/// Set (or with `None` remove) a node's licensed seats; SCIM creation past them answers 428.
pub async fn set_seats(svc: &Services, actor: &Actor, node_id: i64, seats: Option<i64>, now: i64) -> Result<Node> {
    if seats.is_some_and(|s| s < 0) {
        return Err(OpsError::Invalid("The number of seats cannot be negative.".into()));
    }
    get(svc, node_id).await?;
    let node = svc.store.set_node_seats(node_id, seats).await?;
    let detail = seats.map_or_else(|| "unlimited".to_string(), |s| s.to_string());
    audit(svc, actor, "node.seats", &node_id.to_string(), &detail, now).await?;
    Ok(node)
}

/// A node's SCIM domains after a change.
#[derive(Debug, Clone, serde::Serialize)]
pub struct NodeDomains {
    /// The domains an admin listed for the node.
    pub listed: Vec<String>,
    /// Those plus the enterprise domains of the node's SSO configurations: what SCIM may use.
    pub managed: Vec<String>,
}

/// Replace the domains a node's SCIM may provision besides its configurations' enterprise
/// domains (an empty list clears them). Each is checked by the one domain rule; a leading `@`
/// is dropped, as admins often paste `@example.com`.
pub async fn set_domains(svc: &Services, actor: &Actor, node_id: i64, raw: &[String], now: i64) -> Result<NodeDomains> {
    let domains =
        raw.iter().map(|d| super::sso::domain(d.trim().trim_start_matches('@'))).collect::<Result<Vec<_>>>()?;
    get(svc, node_id).await?;
    let listed = svc.store.set_node_domains(node_id, &domains).await?;
    let managed = svc.store.node_managed_domains(node_id).await?;
    audit(svc, actor, "node.domains", &node_id.to_string(), &listed.join(" "), now).await?;
    Ok(NodeDomains { listed, managed })
}

/// A token just issued: shown once, never stored in the clear.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub node: Node,
    pub token: String,
    pub base_url: String,
    /// A previous token existed and stopped working at once.
    pub replaced: bool,
}

/// Issue a node's SCIM token. The first one turns SCIM on; a later one replaces the previous
/// token at once.
pub async fn issue_scim_token(svc: &Services, actor: &Actor, node_id: i64, now: i64) -> Result<IssuedToken> {
    let node = get(svc, node_id).await?;
    let (token, hash) = tokens::generate();
    svc.store.put_scim_token(node_id, &hash, now).await?;
    let replaced = node.scim_enabled;
    let action = if replaced { "idm_integration_reauth" } else { "idm_integration_activate" };
    audit(svc, actor, action, &node_id.to_string(), &node.name, now).await?;
    tracing::info!(node_id, replaced, "new SCIM token issued; the previous one (if any) no longer works");
    let base_url = scim_base_url(&svc.settings.public_url, node_id);
    Ok(IssuedToken { node, token, base_url, replaced })
}

/// Revoke a node's SCIM token: SCIM is off for the node until a new token is issued.
pub async fn revoke_scim_token(svc: &Services, actor: &Actor, node_id: i64, now: i64) -> Result<Node> {
    let node = get(svc, node_id).await?;
    if !svc.store.revoke_scim_token(node_id).await? {
        return Err(OpsError::Conflict(format!("node {node_id} has no SCIM token")));
    }
    audit(svc, actor, "idm_integration_delete", &node_id.to_string(), &node.name, now).await?;
    tracing::info!(node_id, "SCIM token revoked");
    get(svc, node_id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scim_base_url_is_the_public_url_the_prefix_and_the_node() {
        for (public, want) in [
            ("https://sso.example.com", "https://sso.example.com/api/rest/scim/v2/7"),
            ("https://sso.example.com/", "https://sso.example.com/api/rest/scim/v2/7"),
            ("http://127.0.0.1:8443", "http://127.0.0.1:8443/api/rest/scim/v2/7"),
        ] {
            assert_eq!(scim_base_url(public, 7), want);
        }
    }

    #[test]
    fn scim_state_follows_the_token_and_its_last_use() {
        let node = |scim_enabled, scim_last_used_at| Node {
            node_id: 2,
            name: "Sales".into(),
            parent_id: Some(1),
            seats: None,
            created_at: 0,
            scim_enabled,
            scim_last_used_at,
        };
        assert_eq!(scim_state(&node(false, None)), ScimState::Off);
        assert_eq!(scim_state(&node(false, Some(5))), ScimState::Off);
        assert_eq!(scim_state(&node(true, None)), ScimState::Pending);
        assert_eq!(scim_state(&node(true, Some(5))), ScimState::On { last_used_at: 5 });
    }
}
