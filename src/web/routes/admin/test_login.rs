//! /admin/sso/{id}/test-login: start an SP-initiated login for the admin (in a new tab), and
//! show its report when the IdP's answer has been through the ACS (`login::test_login`).

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse};
use axum::routing::{get, post};
use axum::{Extension, Router};

use super::{chrome, now, AdminError, AdminResult};
use crate::login::start::Starter;
use crate::login::test_login::Report;
use crate::saml::response::trace::{self, Outcome};
use crate::store::RequestPurpose;
use crate::web::admin_pages::{fmt_time, TestLoginPage, TestLoginStep};
use crate::web::admin_session::CurrentAdmin;
use crate::web::client_addr::ClientAddr;
use crate::web::reason_help;
use crate::web::routes::ext_login::{binding_token, set_binding_cookie};
use crate::web::routes::parse_id;
use crate::web::templates::render;
use crate::web::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/sso/{sso_id}/test-login", post(start))
        .route("/admin/sso/{sso_id}/test-login/{request_id}", get(result))
}

/// Send the admin's browser to the IdP with a request issued for a test (bound to this
/// browser like a user's login, and to this admin).
async fn start(
    State(svc): State<AppState>,
    Extension(admin): Extension<CurrentAdmin>,
    ClientAddr(client_ip): ClientAddr,
    headers: HeaderMap,
    Path(raw): Path<String>,
) -> AdminResult {
    let sso_id = parse_id(&raw).ok_or(AdminError::NotFound)?;
    let token = binding_token(&svc, &headers).await;
    let client = client_ip.to_string();
    let who = Starter { browser_binding: &token, client_addr: &client };
    let started = crate::login::start::start_for(
        &svc,
        sso_id,
        None,
        who,
        RequestPurpose::Test,
        Some(admin.admin_id),
        chrono::Utc::now(),
    )
    .await;
    match started {
        Ok(url) => {
            let mut res = crate::web::templates::handoff(
                "Test login",
                "Sign in at your identity provider with a test account; this tab then shows what spconnect checked.",
                "Continue to the identity provider",
                &url,
            );
            set_binding_cookie(&svc, &mut res, &token);
            Ok(res)
        }
        Err(crate::login::LoginError::UnknownSso) => Err(AdminError::NotFound),
        Err(e) => {
            let help = reason_help::explain(e.code(), None, now());
            Err(AdminError::Refused(format!(
                "The test login could not start ({}): {} {}",
                e.code(),
                help.meaning,
                help.fix
            )))
        }
    }
}

async fn result(
    State(svc): State<AppState>,
    Extension(admin): Extension<CurrentAdmin>,
    session: tower_sessions::Session,
    Path((raw, request_id)): Path<(String, String)>,
) -> AdminResult {
    let sso_id = parse_id(&raw).ok_or(AdminError::NotFound)?;
    if request_id.len() > 128 {
        return Err(AdminError::NotFound);
    }
    let stored = svc.store.test_login_result(&request_id, admin.admin_id, now()).await?;
    let stored = stored.filter(|r| r.sso_id == sso_id).ok_or(AdminError::NotFound)?;
    let report: Report = serde_json::from_str(&stored.report).map_err(|e| AdminError::Internal(e.to_string()))?;
    let sso_name = svc.store.get_sso(sso_id).await?.map(|c| c.name).unwrap_or_default();
    let mut steps: Vec<TestLoginStep> = report
        .steps
        .iter()
        .map(|s| TestLoginStep {
            check: s.check.clone(),
            outcome: match s.outcome {
                Outcome::Passed => "passed",
                Outcome::Refused => "refused",
                Outcome::Skipped => "does not apply",
            },
            class: match s.outcome {
                Outcome::Passed => "passed",
                Outcome::Refused => "refused",
                Outcome::Skipped => "skipped",
            },
            detail: s.detail.clone(),
            explanation: explanation(&s.check),
        })
        .collect();
    // What a refusal left unchecked, in the order it would have run.
    for (check, what) in trace::CHECKS {
        if !report.steps.iter().any(|s| s.check == *check) {
            steps.push(TestLoginStep {
                check: check.to_string(),
                outcome: "not reached",
                class: "not-reached",
                detail: String::new(),
                explanation: what.to_string(),
            });
        }
    }
    let (meaning, fix) = match &report.code {
        Some(code) => {
            let help = reason_help::explain(code, report.message.as_deref(), stored.at);
            (help.meaning, help.fix.to_string())
        }
        None => (String::new(), String::new()),
    };
    let (fix_label, fix_url) = report.code.as_deref().and_then(|c| fix_action(c, sso_id)).unwrap_or_default();
    let page = TestLoginPage {
        chrome: chrome(&svc, &session, &admin, "sso").await,
        sso_id,
        sso_name,
        at: fmt_time(Some(stored.at)),
        passed: report.passed(),
        code: report.code.clone().unwrap_or_default(),
        message: report.message.clone().unwrap_or_default(),
        meaning,
        fix,
        fix_label,
        fix_url,
        steps,
        name_id: report.name_id.clone().unwrap_or_default(),
        name_id_format: report.name_id_format.clone().unwrap_or_default(),
        session_index: report.session_index.clone().unwrap_or_default(),
        attributes: report.attributes.iter().map(|(n, v)| (n.clone(), v.join(", "))).collect(),
        would: report.would.clone().unwrap_or_default(),
    };
    Ok(Html(render(&page)).into_response())
}

fn explanation(check: &str) -> String {
    trace::CHECKS.iter().find(|(c, _)| *c == check).map(|(_, what)| what.to_string()).unwrap_or_default()
}

/// The console page where the likely fix of a refusal is a button away.
fn fix_action(code: &str, sso_id: i64) -> Option<(&'static str, String)> {
    let edit = format!("/admin/sso/{sso_id}/edit");
    let view = format!("/admin/sso/{sso_id}");
    Some(match code {
        "SAML_SIGNATURE_INVALID"
        | "SAML_ISSUER_MISMATCH"
        | "SSO_IDP_NOT_CONFIGURED"
        | "SSO_IDP_CERTIFICATE_EXPIRED"
        | "SSO_IDP_CERTIFICATE_NOT_YET_VALID" => ("Upload the IdP's current metadata", format!("{edit}#idp-title")),
        "SAML_ALGORITHM_FORBIDDEN"
        | "SAML_ENCRYPTION_POLICY"
        | "SAML_UNSOLICITED_NOT_ALLOWED"
        | "USER_DOMAIN_NOT_ALLOWED"
        | "USER_NOT_PROVISIONED"
        | "SAML_ASSERTION_EXPIRED"
        | "SAML_ASSERTION_NOT_YET_VALID"
        | "SAML_ISSUE_INSTANT_INVALID"
        | "SAML_EMAIL_MISSING" => ("Change the configuration's settings", edit),
        "SAML_DESTINATION_MISMATCH"
        | "SAML_RECIPIENT_MISMATCH"
        | "SAML_AUDIENCE_MISMATCH"
        | "SAML_DECRYPTION_FAILED" => ("Copy the URLs and certificate the IdP needs", view),
        "SSO_DEACTIVATED" => ("Activate the configuration", view),
        "USER_LOCKED" => ("Unlock the user", "/admin/users?status=locked".to_string()),
        _ => return None,
    })
}
