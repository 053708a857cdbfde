//! Console sign-in through the IdP (as Keeper admins sign in to their Admin Console): an admin
//! whose email is in a configuration's domain, where that configuration allows it, signs in with
//! the IdP instead of a password. Local passwords keep working: they are the way in when the IdP
//! is down or misconfigured.
//!
//! The answer arrives at the ACS as a cross-site POST, which the console's `SameSite=Strict`
//! cookie never accompanies. So the ACS validates it (the same checks as a user's login, against
//! a stored request issued for a console sign-in and bound to this browser), spends the request
//! and the assertion, and parks the sign-in under a one-time token; the console's own page then
//! takes it (`web::routes::admin::signin::sso_continue`) and starts the admin session.

use super::finish::{self, Attempt};
use super::{binding, LoginError};
use crate::saml::response::trace::Trace;
use crate::saml::Rejection;
use crate::services::Services;
use crate::store::{RequestPurpose, SpentResponse, SsoConfig, StoreError};

/// How long the parked sign-in waits for the console page (one automatic navigation).
pub const HANDOVER_SECS: i64 = 120;

/// A console sign-in that passed: the token for the hand-over cookie.
pub struct Parked {
    pub token: String,
    pub admin_email: String,
}

pub async fn run(svc: &Services, attempt: Attempt, request_id: &str) -> Result<Parked, LoginError> {
    let started = tokio::time::Instant::now();
    // Nothing of the response is parsed before the request it answers is known to be this
    // browser's console sign-in (a stranger's post never reaches the parser or the decryption).
    let config = match before_parsing(svc, &attempt, request_id).await {
        Ok(config) => config,
        Err(err) => {
            finish::record_unparsed_failure(svc, &attempt, &err, started.elapsed()).await;
            return Err(err);
        }
    };
    let result = sign_in(svc, &attempt, request_id, config).await;
    if let Err(err) = &result {
        finish::record_failure(svc, &attempt, err).await;
        crate::metrics::login(Some(err.code()), started.elapsed());
        finish::hold_decryption_refusal(started, err).await;
    }
    result
}

async fn before_parsing(svc: &Services, attempt: &Attempt, request_id: &str) -> Result<SsoConfig, LoginError> {
    let config = svc.store.get_sso(attempt.sso_id).await?.ok_or(LoginError::UnknownSso)?;
    if !config.admin_signin {
        return Err(LoginError::AdminSigninOff);
    }
    finish::console_request(svc, attempt, request_id, RequestPurpose::Admin).await?;
    Ok(config)
}

async fn sign_in(svc: &Services, attempt: &Attempt, request_id: &str, config: SsoConfig) -> Result<Parked, LoginError> {
    let now = attempt.now.timestamp();
    let eval = finish::evaluate_config(
        svc,
        config,
        &attempt.saml_response,
        attempt.now,
        RequestPurpose::Admin,
        &mut Trace::off(),
    )
    .await?;
    // Only an answer to the console request this RelayState names (never an unsolicited one).
    if eval.verified.in_response_to.as_deref() != Some(request_id) {
        let found = eval.verified.in_response_to.as_deref().unwrap_or("(none: unsolicited)");
        return Err(Rejection::InResponseToUnknown(clip(found)).into());
    }
    if !binding::matches(eval.request_binding.as_deref(), attempt.browser_binding.as_deref()) {
        return Err(Rejection::RequestNotFromThisBrowser.into());
    }
    let admin = svc
        .store
        .find_admin(&eval.profile.email)
        .await?
        .ok_or_else(|| LoginError::NotAnAdmin(eval.profile.email.clone()))?;
    let token = binding::new_token();
    let spent = SpentResponse {
        sso_id: attempt.sso_id,
        request_id,
        assertion: Some((&eval.verified.assertion.id, eval.verified.replay_until.timestamp())),
        now,
    };
    svc.store.park_admin_signin(&spent, &binding::hash(&token), admin.admin_id, now + HANDOVER_SECS).await.map_err(
        |e| match e {
            StoreError::AssertionReplayed => Rejection::Replayed(clip(&eval.verified.assertion.id)).into(),
            StoreError::RequestAlreadyUsed => Rejection::InResponseToUsed(clip(request_id)).into(),
            other => LoginError::Store(other),
        },
    )?;
    tracing::info!(request_id = %attempt.request_id, sso_id = attempt.sso_id, admin = %admin.email, "console sign-in through the IdP accepted");
    Ok(Parked { token, admin_email: admin.email })
}

fn clip(s: &str) -> String {
    s.chars().take(80).collect()
}
