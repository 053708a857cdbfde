//! /admin/events: three tabs, each filtered and paged by 50 (newest first, "Older records" in
//! the link with the filter kept): login records (each reason code explained), SCIM provisioning
//! events, and the admin audit.

use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::{Extension, Router};
use serde::Deserialize;
use tower_sessions::Session;

use super::{chrome, link, AdminResult};
use crate::store::{AuditFilter, LoginEventFilter, ProvisioningEventFilter};
use crate::web::admin_pages::{fmt_time, AuditRow, CodeChoice, EventRow, EventsPage, NodeChoice, ScimEventRow};
use crate::web::admin_session::CurrentAdmin;
use crate::web::reason_help;
use crate::web::routes::parse_id;
use crate::web::templates::render;
use crate::web::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/events", get(list))
}

#[derive(Deserialize, Default)]
struct EventQuery {
    /// logins (the default), scim or audit.
    #[serde(default)]
    view: String,
    /// Logins: failure (the default), success or any. SCIM: any (the default), success or failure.
    outcome: Option<String>,
    #[serde(default)]
    code: String,
    #[serde(default)]
    sso: String,
    #[serde(default)]
    who: String,
    /// The request ID from a user's error page.
    #[serde(default)]
    request: String,
    /// SCIM: the node called.
    #[serde(default)]
    node: String,
    /// Audit: the action's beginning (`sso.`, `user.lock`).
    #[serde(default)]
    action: String,
    /// Audit: part of the acting admin's email (or `cli`).
    #[serde(default)]
    admin: String,
    /// The next page: records older than this id.
    before: Option<i64>,
}

/// Records per page; "Older records" pages on.
const PAGE: i64 = 50;

/// The page's records, trimmed to one page, and the id the next (older) page starts before.
fn one_page<T>(mut found: Vec<T>, id: impl Fn(&T) -> i64) -> (Vec<T>, Option<i64>) {
    if found.len() as i64 > PAGE {
        found.truncate(PAGE as usize);
        let older = found.last().map(id);
        (found, older)
    } else {
        (found, None)
    }
}

/// Where the tab `view` goes on with the same filter: the older page (`before`), or back to
/// the newest records (`None`).
fn page_link(view: &str, filter: &[(&str, &str)], before: Option<i64>) -> String {
    let before = before.map(|b| b.to_string()).unwrap_or_default();
    let mut params = vec![("view", view)];
    params.extend_from_slice(filter);
    params.push(("before", &before));
    link("/admin/events", &params)
}

async fn list(
    State(svc): State<AppState>,
    Extension(admin): Extension<CurrentAdmin>,
    session: Session,
    Query(q): Query<EventQuery>,
) -> AdminResult {
    let mut page = EventsPage {
        chrome: chrome(&svc, &session, &admin, "events").await,
        view: "logins",
        events: Vec::new(),
        codes: Vec::new(),
        who: q.who.clone(),
        sso: q.sso.clone(),
        request: q.request.clone(),
        scim: Vec::new(),
        nodes: Vec::new(),
        audit: Vec::new(),
        action: q.action.clone(),
        admin: q.admin.clone(),
        outcome: String::new(),
        older_link: String::new(),
        newest_link: String::new(),
        reference: Vec::new(),
    };
    let (filter, older) = match q.view.as_str() {
        "scim" => scim(&svc, &q, &mut page).await?,
        "audit" => audit(&svc, &q, &mut page).await?,
        _ => logins(&svc, &q, &mut page).await?,
    };
    let filter: Vec<(&str, &str)> = filter.iter().map(|(k, v)| (*k, v.as_str())).collect();
    if older.is_some() {
        page.older_link = page_link(page.view, &filter, older);
    }
    if q.before.is_some() {
        page.newest_link = page_link(page.view, &filter, None);
    }
    Ok(Html(render(&page)).into_response())
}

/// What each tab fills in: its filter as the links carry it, and where its next page starts.
type Shown = (Vec<(&'static str, String)>, Option<i64>);

async fn logins(svc: &AppState, q: &EventQuery, page: &mut EventsPage) -> Result<Shown, super::AdminError> {
    // Failures first: that is what an admin comes here for.
    let outcome = match q.outcome.as_deref() {
        Some("success") => "success",
        Some("any") => "any",
        _ => "failure",
    };
    let filter = LoginEventFilter {
        sso_id: parse_id(q.sso.trim()),
        outcome: (outcome != "any").then(|| outcome.to_string()),
        reason_code: Some(q.code.trim().to_string()).filter(|c| !c.is_empty()),
        who: Some(q.who.trim().to_string()).filter(|w| !w.is_empty()),
        request_id: Some(q.request.trim().to_ascii_lowercase()).filter(|r| !r.is_empty()),
        before_id: q.before,
        // One more than shown: whether an older page exists.
        limit: PAGE + 1,
    };
    let (found, older) = one_page(svc.store.search_login_events(&filter).await?, |e| e.id);
    page.events = found
        .into_iter()
        .map(|e| {
            let code = e.reason_code.clone().unwrap_or_default();
            let help = reason_help::explain(&code, e.detail.as_deref(), e.at);
            EventRow {
                at: fmt_time(Some(e.at)),
                sso_id: e.sso_id.map(|s| s.to_string()).unwrap_or_default(),
                outcome: e.outcome,
                who: e.email.or(e.name_id).unwrap_or_default(),
                meaning: if code.is_empty() { String::new() } else { help.meaning },
                fix: help.fix.to_string(),
                reason_code: code,
                detail: e.detail.unwrap_or_default(),
                client_addr: e.client_addr.unwrap_or_default(),
                request_id: e.request_id,
            }
        })
        .collect();
    page.codes = svc
        .store
        .login_reason_codes()
        .await?
        .into_iter()
        .map(|c| CodeChoice { selected: c == q.code, code: c })
        .collect();
    page.reference = reason_help::all().collect();
    page.outcome = outcome.to_string();
    let filter = vec![
        ("outcome", outcome.to_string()),
        ("code", q.code.clone()),
        ("sso", q.sso.clone()),
        ("who", q.who.clone()),
        ("request", q.request.clone()),
    ];
    Ok((filter, older))
}

async fn scim(svc: &AppState, q: &EventQuery, page: &mut EventsPage) -> Result<Shown, super::AdminError> {
    page.view = "scim";
    let outcome = match q.outcome.as_deref() {
        Some("success") => "success",
        Some("failure") => "failure",
        _ => "any",
    };
    let node_id = parse_id(q.node.trim());
    let filter = ProvisioningEventFilter {
        node_id,
        outcome: (outcome != "any").then(|| outcome.to_string()),
        before_id: q.before,
        limit: PAGE + 1,
    };
    let (found, older) = one_page(svc.store.search_provisioning_events(&filter).await?, |e| e.id);
    let nodes = svc.store.list_nodes().await?;
    let name_of = |id: i64| nodes.iter().find(|n| n.node_id == id).map_or_else(|| id.to_string(), |n| n.name.clone());
    page.scim = found
        .into_iter()
        .map(|e| ScimEventRow {
            at: fmt_time(Some(e.at)),
            node: format!("{} ({})", name_of(e.node_id), e.node_id),
            call: format!("{} {}", e.method, e.event),
            target: e.target.unwrap_or_default(),
            outcome: e.outcome,
            reason: e.reason.unwrap_or_default(),
            detail: e.detail.unwrap_or_default(),
            client_addr: e.client_addr.unwrap_or_default(),
            request_id: e.request_id,
        })
        .collect();
    page.nodes = nodes
        .iter()
        .map(|n| NodeChoice { node_id: n.node_id, label: n.name.clone(), selected: Some(n.node_id) == node_id })
        .collect();
    page.outcome = outcome.to_string();
    let node = node_id.map(|n| n.to_string()).unwrap_or_default();
    Ok((vec![("node", node), ("outcome", outcome.to_string())], older))
}

async fn audit(svc: &AppState, q: &EventQuery, page: &mut EventsPage) -> Result<Shown, super::AdminError> {
    page.view = "audit";
    let filter = AuditFilter {
        action_prefix: Some(q.action.trim().to_string()).filter(|a| !a.is_empty()),
        admin: Some(q.admin.trim().to_string()).filter(|a| !a.is_empty()),
        before_id: q.before,
        limit: PAGE + 1,
    };
    let (found, older) = one_page(svc.store.search_audit(&filter).await?, |a| a.id);
    page.audit = found
        .into_iter()
        .map(|a| AuditRow {
            at: fmt_time(Some(a.at)),
            admin_email: a.admin_email,
            action: a.action,
            target: a.target,
            detail: a.detail,
        })
        .collect();
    Ok((vec![("action", q.action.trim().to_string()), ("admin", q.admin.trim().to_string())], older))
}
