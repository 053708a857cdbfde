//! The console's test login: an admin starts an SP-initiated login from a configuration's page;
//! when the IdP's answer comes back to the ACS, it is validated by exactly the code a user's
//! login runs, with every check recorded, and nobody is signed in. The admin who started it sees
//! the report: each check in order, the attributes received, what the login would have done to
//! the user, and on a refusal its reason code with the fix.
//!
//! Only the admin's own request can produce a report for them: the ACS is sent here by the
//! RelayState, but the request it names must be a stored test request for this configuration,
//! unanswered, unexpired and bound to the browser that posts the answer. The response's assertion
//! ID is spent like a login's, so an assertion used for a test can never sign a user in later.

use serde::{Deserialize, Serialize};

use super::finish::{self, Attempt};
use super::LoginError;
use crate::saml::response::trace::{self, Step, Trace};
use crate::saml::Rejection;
use crate::services::Services;
use crate::store::{RequestPurpose, SpentResponse, StoreError, TestLoginResult};

/// How long an admin can come back to a report.
pub const REPORT_KEPT_SECS: i64 = 3600;

/// What the console shows (stored as JSON with the result).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Report {
    /// `None`: every check passed.
    pub code: Option<String>,
    /// The refusal in words (attacker-chosen parts clipped).
    pub message: Option<String>,
    pub steps: Vec<Step>,
    /// Read from the verified assertion only; empty when it was never verified.
    pub name_id: Option<String>,
    pub name_id_format: Option<String>,
    pub session_index: Option<String>,
    pub attributes: Vec<(String, Vec<String>)>,
    /// What a user's login with this response would have done.
    pub would: Option<String>,
}

impl Report {
    pub fn passed(&self) -> bool {
        self.code.is_none()
    }
}

/// Where the answer to a test request goes. `Ok`: the report was stored for the admin who
/// started the test (the ID to show it under). `Err`: the answer could not be tied to a test
/// request of this browser; it is refused like any login (no report, nothing written).
pub async fn run(svc: &Services, attempt: Attempt, request_id: &str) -> Result<String, LoginError> {
    let started = tokio::time::Instant::now();
    let now = attempt.now.timestamp();
    let admin_id = match finish::console_request(svc, &attempt, request_id, RequestPurpose::Test).await {
        Ok(pending) => match pending.admin_id {
            Some(admin_id) => admin_id,
            None => {
                return refuse_unparsed(svc, &attempt, started, Rejection::InResponseToUnknown(clip(request_id)).into())
                    .await
            }
        },
        // Not this browser's test: refused before any of the response is parsed.
        Err(e) => return refuse_unparsed(svc, &attempt, started, e).await,
    };

    let mut t = Trace::on();
    let mut report = Report::default();
    let evaluated = match svc.store.get_sso(attempt.sso_id).await? {
        None => Err(LoginError::UnknownSso),
        Some(config) => {
            finish::evaluate_config(svc, config, &attempt.saml_response, attempt.now, RequestPurpose::Test, &mut t)
                .await
        }
    };
    let mut spent_assertion = None;
    let outcome = match evaluated {
        Ok(eval) => {
            let a = &eval.verified.assertion;
            report.name_id = a.name_id.clone();
            report.name_id_format = a.name_id_format.clone();
            report.session_index = a.session_index.clone();
            report.attributes = a.attributes.clone();
            report.would = t.steps.iter().rev().find(|s| s.check == trace::USER).map(|s| s.detail.clone());
            spent_assertion = Some((a.id.clone(), eval.verified.replay_until.timestamp()));
            if eval.verified.in_response_to.as_deref() != Some(request_id) {
                // An unsolicited answer, or one to another request: not this test's answer.
                let found = eval.verified.in_response_to.as_deref().unwrap_or("(none: unsolicited)");
                Err(LoginError::from(Rejection::InResponseToUnknown(clip(found))))
            } else {
                // Checked above, before anything was read; recorded where the login checks it.
                t.passed(trace::SAME_BROWSER, || "the answer came back to the browser that started the test".into());
                Ok(())
            }
        }
        Err(e) => {
            finish::hold_decryption_refusal(started, &e).await;
            Err(e)
        }
    };
    if let Err(e) = &outcome {
        // A refusal the trace has not recorded (before the checks, or the request mismatch
        // above) is added so the report always ends at the check that refused.
        if !t.steps.iter().any(|s| s.outcome == trace::Outcome::Refused) {
            let check = if matches!(e, LoginError::Rejected(Rejection::InResponseToUnknown(_))) {
                trace::REQUEST
            } else {
                "Configuration"
            };
            t.refused(check, || format!("{}: {e}", e.code()));
        }
        report.code = Some(e.code().to_string());
        report.message = Some(crate::logsafe::clip(&e.to_string()));
    }
    report.steps = t.steps;
    if let Err(e) = save(svc, &attempt, request_id, admin_id, spent_assertion, &mut report).await {
        return refuse(svc, &attempt, e).await;
    }
    let admin = svc.store.get_admin(admin_id).await?.map(|a| a.email).unwrap_or_default();
    let detail = match &report.code {
        None => "passed".to_string(),
        Some(code) => format!("refused: {code}"),
    };
    tracing::info!(request_id = %attempt.request_id, sso_id = attempt.sso_id, admin = %admin, outcome = %detail, "test login");
    if let Err(e) = svc.store.audit(&admin, "sso.test_login", &attempt.sso_id.to_string(), &detail, now).await {
        tracing::error!(request_id = %attempt.request_id, error = %e, "could not audit the test login");
    }
    Ok(request_id.to_string())
}

/// Store the report, spending the request and (if verified) the assertion. An assertion spent
/// meanwhile (the same response posted twice at once) turns the report into that refusal.
async fn save(
    svc: &Services,
    attempt: &Attempt,
    request_id: &str,
    admin_id: i64,
    assertion: Option<(String, i64)>,
    report: &mut Report,
) -> Result<(), LoginError> {
    let now = attempt.now.timestamp();
    let mut result = TestLoginResult {
        request_id: request_id.to_string(),
        sso_id: attempt.sso_id,
        admin_id,
        at: now,
        outcome: report.code.clone().unwrap_or_else(|| "passed".into()),
        report: serde_json::to_string(&*report).map_err(|e| LoginError::Internal(e.to_string()))?,
    };
    let spent = SpentResponse {
        sso_id: attempt.sso_id,
        request_id,
        assertion: assertion.as_ref().map(|(id, until)| (id.as_str(), *until)),
        now,
    };
    let first = svc.store.save_test_login(&spent, &result, REPORT_KEPT_SECS).await;
    match first {
        Ok(()) => Ok(()),
        Err(StoreError::AssertionReplayed) => {
            let rejection = Rejection::Replayed(clip(assertion.map(|(id, _)| id).as_deref().unwrap_or_default()));
            report.code = Some(rejection.code().to_string());
            report.message = Some(rejection.to_string());
            report.would = None;
            report.steps.push(Step {
                check: trace::REPLAY.to_string(),
                outcome: trace::Outcome::Refused,
                detail: format!("{}: {rejection}", rejection.code()),
            });
            result.outcome = rejection.code().to_string();
            result.report = serde_json::to_string(&*report).map_err(|e| LoginError::Internal(e.to_string()))?;
            let spent = SpentResponse { sso_id: attempt.sso_id, request_id, assertion: None, now };
            // The same response posted twice at once: the other post spent the request too.
            svc.store.save_test_login(&spent, &result, REPORT_KEPT_SECS).await.map_err(|e| already_used(e, request_id))
        }
        Err(e) => Err(already_used(e, request_id)),
    }
}

fn already_used(e: StoreError, request_id: &str) -> LoginError {
    match e {
        StoreError::RequestAlreadyUsed => Rejection::InResponseToUsed(clip(request_id)).into(),
        other => other.into(),
    }
}

async fn refuse_unparsed(
    svc: &Services,
    attempt: &Attempt,
    started: tokio::time::Instant,
    err: LoginError,
) -> Result<String, LoginError> {
    finish::record_unparsed_failure(svc, attempt, &err, started.elapsed()).await;
    Err(err)
}

/// Refused before it could be tied to an admin's test: recorded and answered as a login refusal.
async fn refuse(svc: &Services, attempt: &Attempt, err: LoginError) -> Result<String, LoginError> {
    finish::record_failure(svc, attempt, &err).await;
    Err(err)
}

fn clip(s: &str) -> String {
    s.chars().take(80).collect()
}
