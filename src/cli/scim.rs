//! Admin commands for provisioning: nodes, SCIM tokens, the invitation outbox, teams and the
//! provisioning audit trail.

use std::process::ExitCode;

use super::{print_json, NodeCommand, OutboxCommand, ScimCommand, TeamsCommand};
use crate::scim::tokens;
use crate::services::Services;
use crate::store::SsoConfig;

fn fmt_time(t: Option<i64>) -> String {
    super::admin::fmt_time(t)
}

/// The SCIM base URL of a node.
pub fn base_url(svc: &Services, node_id: i64) -> String {
    format!("{}{}/{node_id}", svc.settings.public_url, crate::web::routes::scim::SCIM_PREFIX)
}

/// Keeper recommends JIT off on a node provisioned over SCIM. Returns the warning for `c`, if
/// any, and logs it.
pub async fn jit_with_scim_warning(svc: &Services, c: &SsoConfig) -> Option<String> {
    let scim_on = svc.store.get_node(c.node_id).await.ok().flatten().is_some_and(|n| n.scim_enabled);
    (scim_on && c.jit).then(|| {
        let msg = format!(
            "SSO {} has JIT provisioning on while node {} is provisioned over SCIM; turn JIT off (spconnect sso set {} --jit off)",
            c.sso_id, c.node_id, c.sso_id
        );
        tracing::warn!(sso_id = c.sso_id, node_id = c.node_id, "{msg}");
        msg
    })
}

pub async fn node(svc: &Services, json: bool, cmd: NodeCommand) -> Result<ExitCode, String> {
    let now = chrono::Utc::now().timestamp();
    match cmd {
        NodeCommand::Create { name, parent } => {
            let name = name.trim();
            if name.is_empty() {
                return Err("a node needs a name".into());
            }
            let node = svc.store.create_node(name, parent, now).await.map_err(|e| e.to_string())?;
            if json {
                print_json(&serde_json::json!({"node_id": node.node_id}));
            } else {
                println!("{}", node.node_id);
            }
        }
        NodeCommand::List => {
            let nodes = svc.store.list_nodes().await.map_err(|e| e.to_string())?;
            if json {
                print_json(&nodes);
            } else {
                println!("{:<8} {:<24} {:<8} {:<10} scim", "node", "name", "parent", "seats");
                for n in nodes {
                    let scim = match (n.scim_enabled, n.scim_last_used_at) {
                        (false, _) => "off".to_string(),
                        (true, None) => "pending (token not used yet)".to_string(),
                        (true, Some(t)) => format!("on, last used {}", fmt_time(Some(t))),
                    };
                    let parent = n.parent_id.map(|p| p.to_string()).unwrap_or_else(|| "-".into());
                    let seats = n.seats.map(|s| s.to_string()).unwrap_or_else(|| "unlimited".into());
                    println!("{:<8} {:<24} {:<8} {:<10} {scim}", n.node_id, n.name, parent, seats);
                }
            }
        }
        NodeCommand::SetDomains { node_id, domains } => {
            let mut clean = Vec::new();
            for d in &domains {
                let d = d.trim().trim_start_matches('@').to_ascii_lowercase();
                if !crate::users::is_email(&format!("x@{d}")) {
                    return Err(format!("not a domain: {:?}", crate::scim::clip(&d, 100)));
                }
                clean.push(d);
            }
            let listed = svc.store.set_node_domains(node_id, &clean).await.map_err(|e| e.to_string())?;
            let managed = svc.store.node_managed_domains(node_id).await.map_err(|e| e.to_string())?;
            if json {
                print_json(&serde_json::json!({"node_id": node_id, "listed": listed, "managed": managed}));
            } else {
                println!(
                    "node {node_id} SCIM domains: {}",
                    if managed.is_empty() { "none (SCIM cannot create users)".to_string() } else { managed.join(", ") }
                );
            }
        }
        NodeCommand::Set { node_id, seats, unlimited } => {
            let seats = if unlimited { None } else { seats };
            let n = svc.store.set_node_seats(node_id, seats).await.map_err(|e| e.to_string())?;
            if json {
                print_json(&n);
            } else {
                println!(
                    "node {} seats: {}",
                    n.node_id,
                    n.seats.map(|s| s.to_string()).unwrap_or_else(|| "unlimited".into())
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn scim(svc: &Services, json: bool, cmd: ScimCommand) -> Result<ExitCode, String> {
    let ScimCommand::Token { node_id } = cmd;
    let (token, hash) = tokens::generate();
    svc.store
        .put_scim_token(node_id, &hash, chrono::Utc::now().timestamp())
        .await
        .map_err(|e| format!("node {node_id}: {e}"))?;
    tracing::info!(node_id, "new SCIM token issued; the previous one (if any) no longer works");
    let base = base_url(svc, node_id);
    if json {
        print_json(&serde_json::json!({"base_url": base, "token": token}));
    } else {
        println!("SCIM base URL: {base}");
        println!("Token:         {token}");
        println!("The token is shown once; only its hash is stored. A new token replaces this one at once.");
    }
    for c in svc.store.list_sso().await.map_err(|e| e.to_string())?.iter().filter(|c| c.node_id == node_id) {
        if let Some(w) = jit_with_scim_warning(svc, c).await {
            eprintln!("warning: {w}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn outbox(svc: &Services, json: bool, cmd: OutboxCommand) -> Result<ExitCode, String> {
    let OutboxCommand::List { limit } = cmd;
    let messages = svc.store.list_outbox(limit).await.map_err(|e| e.to_string())?;
    if json {
        print_json(&messages);
    } else {
        for m in messages {
            let state = match (m.sent_at, &m.last_error) {
                (Some(t), _) => format!("sent {}", fmt_time(Some(t))),
                (None, Some(e)) => format!("failed: {e}"),
                (None, None) => "queued (not sent: no SMTP relay in spconnect)".into(),
            };
            println!(
                "{}  {} node={} {:<10} {:<32} {:?}  [{state}]",
                m.id,
                fmt_time(Some(m.created_at)),
                m.node_id,
                m.kind,
                m.recipient,
                m.subject
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn teams(svc: &Services, json: bool, cmd: TeamsCommand) -> Result<ExitCode, String> {
    match cmd {
        TeamsCommand::List { node } => {
            let teams = svc.store.list_teams(node).await.map_err(|e| e.to_string())?;
            let mut rows = Vec::new();
            for t in teams {
                let members = svc.store.team_members(t.team_id).await.map_err(|e| e.to_string())?;
                rows.push((t, members.into_iter().map(|u| u.email).collect::<Vec<_>>()));
            }
            if json {
                let v: Vec<_> = rows.iter().map(|(t, m)| serde_json::json!({"team": t, "members": m})).collect();
                print_json(&v);
            } else {
                for (t, m) in rows {
                    println!(
                        "{}  {}  node={} {:<9} {:<24} members: {}",
                        t.team_id,
                        t.team_uid,
                        t.node_id,
                        t.status,
                        t.name,
                        m.join(", ")
                    );
                }
            }
        }
        TeamsCommand::Approve { id } => {
            let t = svc
                .store
                .approve_team(&id, chrono::Utc::now().timestamp())
                .await
                .map_err(|e| format!("team {id}: {e}"))?;
            if json {
                print_json(&t);
            } else {
                println!("team {} \"{}\" approved", t.team_id, t.name);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `--since`: RFC 3339, unix seconds, or a relative `30m`/`24h`/`7d`.
pub fn parse_since(s: &str, now: i64) -> Result<i64, String> {
    let s = s.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.timestamp());
    }
    if let Ok(n) = s.parse::<i64>() {
        return Ok(n);
    }
    let (num, unit) = s.split_at(s.len().saturating_sub(1));
    let n: i64 = num.parse().map_err(|_| format!("--since {s:?}: use RFC 3339, unix seconds or 30m/24h/7d"))?;
    let secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("--since {s:?}: unknown unit {unit:?}")),
    };
    Ok(now - n * secs)
}

pub async fn events(svc: &Services, json: bool, since: Option<String>, limit: i64) -> Result<ExitCode, String> {
    let now = chrono::Utc::now().timestamp();
    let since = since.as_deref().map(|s| parse_since(s, now)).transpose()?.unwrap_or(0);
    let events = svc.store.list_provisioning_events(since, limit).await.map_err(|e| e.to_string())?;
    if json {
        print_json(&events);
    } else {
        for e in events {
            println!(
                "{}  node={} {:<24} {:<7} {:<8} {:<32} {} {} request={}",
                fmt_time(Some(e.at)),
                e.node_id,
                e.event,
                e.method,
                e.outcome,
                e.target.as_deref().unwrap_or("-"),
                e.reason.as_deref().unwrap_or(""),
                e.detail.as_deref().unwrap_or(""),
                e.request_id
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    #[test]
    fn since_forms() {
        assert_eq!(super::parse_since("2h", 10_000).unwrap(), 10_000 - 7200);
        assert_eq!(super::parse_since("1700000000", 0).unwrap(), 1_700_000_000);
        assert_eq!(super::parse_since("1970-01-01T00:01:00Z", 0).unwrap(), 60);
        assert!(super::parse_since("soon", 0).is_err());
    }
}
