//! Admin commands for provisioning: nodes, SCIM tokens, the invitation outbox, teams and the
//! provisioning audit trail.

use std::process::ExitCode;

use super::common::{fmt_time, jit_with_scim_warning, now, print_json, print_records, OrMessage, ACTOR};
use super::{NodeCommand, OutboxCommand, ScimCommand, TeamsCommand};
use crate::ops;
use crate::ops::nodes::{scim_state, ScimState};
use crate::services::Services;

pub async fn node(svc: &Services, json: bool, cmd: NodeCommand) -> Result<ExitCode, String> {
    match cmd {
        NodeCommand::Create { name, parent } => {
            let node = ops::nodes::create(svc, &ACTOR, &name, parent, now()).await.or_message()?;
            if json {
                print_json(&serde_json::json!({"node_id": node.node_id}));
            } else {
                println!("{}", node.node_id);
            }
        }
        NodeCommand::List => {
            let nodes = svc.store.list_nodes().await.or_message()?;
            if json {
                print_json(&nodes);
            } else {
                println!("{:<8} {:<24} {:<8} {:<10} scim", "node", "name", "parent", "seats");
                for n in nodes {
                    let scim = match scim_state(&n) {
                        ScimState::Off => "off".to_string(),
                        ScimState::Pending => "pending (token not used yet)".to_string(),
                        ScimState::On { last_used_at } => format!("on, last used {}", fmt_time(Some(last_used_at))),
                    };
                    let parent = n.parent_id.map(|p| p.to_string()).unwrap_or_else(|| "-".into());
                    let seats = n.seats.map(|s| s.to_string()).unwrap_or_else(|| "unlimited".into());
                    println!("{:<8} {:<24} {:<8} {:<10} {scim}", n.node_id, n.name, parent, seats);
                }
            }
        }
        NodeCommand::SetDomains { node_id, domains } => {
            let d = ops::nodes::set_domains(svc, &ACTOR, node_id, &domains, now()).await.or_message()?;
            if json {
                print_json(&serde_json::json!({"node_id": node_id, "listed": d.listed, "managed": d.managed}));
            } else {
                println!(
                    "node {node_id} SCIM domains: {}",
                    if d.managed.is_empty() {
                        "none (SCIM cannot create users)".to_string()
                    } else {
                        d.managed.join(", ")
                    }
                );
            }
        }
        NodeCommand::Set { node_id, seats, unlimited } => {
            let seats = if unlimited { None } else { seats };
            let n = ops::nodes::set_seats(svc, &ACTOR, node_id, seats, now()).await.or_message()?;
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
    let node_id = match cmd {
        ScimCommand::Token { node_id } => {
            let issued = ops::nodes::issue_scim_token(svc, &ACTOR, node_id, now()).await.or_message()?;
            if json {
                print_json(&serde_json::json!({"base_url": issued.base_url, "token": issued.token}));
            } else {
                println!("SCIM base URL: {}", issued.base_url);
                println!("Token:         {}", issued.token);
                println!("The token is shown once; only its hash is stored. A new token replaces this one at once.");
            }
            node_id
        }
        ScimCommand::Deactivate { node_id } => {
            let node = ops::nodes::revoke_scim_token(svc, &ACTOR, node_id, now()).await.or_message()?;
            if json {
                print_json(&node);
            } else {
                println!(
                    "node {node_id}: IdM connection deactivated; its SCIM token no longer works. To reactivate, \
                     generate a new token (spconnect scim token {node_id}) and enter it at the IdP."
                );
            }
            return Ok(ExitCode::SUCCESS);
        }
    };
    for c in svc.store.list_sso().await.or_message()?.iter().filter(|c| c.node_id == node_id) {
        if let Some(w) = jit_with_scim_warning(svc, c).await {
            eprintln!("warning: {w}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn outbox(svc: &Services, json: bool, cmd: OutboxCommand) -> Result<ExitCode, String> {
    let OutboxCommand::List { limit } = cmd;
    let messages = svc.store.list_outbox(limit).await.or_message()?;
    print_records(json, &messages, |m| {
        let state = match (m.sent_at, &m.last_error) {
            (Some(t), _) => format!("sent {}", fmt_time(Some(t))),
            (None, Some(e)) => format!("failed: {e}"),
            (None, None) => "queued (not sent: no SMTP relay in spconnect)".into(),
        };
        format!(
            "{}  {} node={} {:<10} {:<32} {:?}  [{state}]",
            m.id,
            fmt_time(Some(m.created_at)),
            m.node_id,
            m.kind,
            m.recipient,
            m.subject
        )
    });
    Ok(ExitCode::SUCCESS)
}

pub async fn teams(svc: &Services, json: bool, cmd: TeamsCommand) -> Result<ExitCode, String> {
    match cmd {
        TeamsCommand::List { node } => {
            let rows = ops::teams::list(svc, node).await.or_message()?;
            print_records(json, &rows, |ops::teams::TeamWithMembers { team: t, members }| {
                format!(
                    "{}  {}  node={} {:<9} {:<24} members: {}",
                    t.team_id,
                    t.team_uid,
                    t.node_id,
                    t.status,
                    t.name,
                    members.join(", ")
                )
            });
        }
        TeamsCommand::Approve { id } => {
            let t = ops::teams::approve(svc, &ACTOR, &id, now()).await.or_message()?;
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
    let since = since.as_deref().map(|s| parse_since(s, now())).transpose()?.unwrap_or(0);
    let events = svc.store.list_provisioning_events(since, limit).await.or_message()?;
    print_records(json, &events, |e| {
        format!(
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
        )
    });
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
