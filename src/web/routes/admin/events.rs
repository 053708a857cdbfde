//! /admin/events: login records (filterable, each reason code explained) and the admin audit.

use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::{Extension, Router};
use serde::Deserialize;
use tower_sessions::Session;

use super::{chrome, AdminResult};
use crate::store::LoginEventFilter;
use crate::web::admin_pages::{fmt_time, AuditRow, CodeChoice, EventRow, EventsPage};
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
    /// The next page: records older than this id.
    before: Option<i64>,
}

/// Login records per page; "Older records" pages on.
const PAGE: i64 = 50;

async fn list(
    State(svc): State<AppState>,
    Extension(admin): Extension<CurrentAdmin>,
    session: Session,
    Query(q): Query<EventQuery>,
) -> AdminResult {
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
    let mut found = svc.store.search_login_events(&filter).await?;
    let older = (found.len() as i64 > PAGE).then(|| {
        found.truncate(PAGE as usize);
        found.last().map(|e| e.id)
    });
    let older_link = older.flatten().map(|before| {
        let query = serde_urlencoded::to_string([
            ("outcome", outcome),
            ("code", q.code.as_str()),
            ("sso", q.sso.as_str()),
            ("who", q.who.as_str()),
            ("request", q.request.as_str()),
            ("before", &before.to_string()),
        ])
        .unwrap_or_default();
        format!("/admin/events?{query}")
    });
    let events = found
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
    let codes = svc
        .store
        .login_reason_codes()
        .await?
        .into_iter()
        .map(|c| CodeChoice { selected: c == q.code, code: c })
        .collect();
    let audit = svc
        .store
        .list_audit(None, 100)
        .await?
        .into_iter()
        .map(|a| AuditRow {
            at: fmt_time(Some(a.at)),
            admin_email: a.admin_email,
            action: a.action,
            target: a.target,
            detail: a.detail,
        })
        .collect();
    let page = EventsPage {
        chrome: chrome(&svc, &session, &admin, "events").await,
        events,
        audit,
        codes,
        outcome: outcome.to_string(),
        who: q.who,
        sso: q.sso,
        request: q.request,
        older_link: older_link.unwrap_or_default(),
        reference: reason_help::all().collect(),
    };
    Ok(Html(render(&page)).into_response())
}
