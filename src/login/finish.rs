//! ACS: validate the SAMLResponse, check it answers a request we issued (or is an allowed
//! unsolicited one), decide what JIT may do, and commit everything in one transaction.
//! A refusal at any step writes nothing but the failure record.

use chrono::{DateTime, Duration, Utc};

use super::{binding, safe_relative_path, LoginError, DEFAULT_TARGET};
use crate::logsafe::{self, Clipped};
use crate::saml::response::signature::ValidKeys;
use crate::saml::response::trace::{self, Trace};
use crate::saml::response::{self, EncryptionPolicy, Expectations, Verified};
use crate::saml::xml::AlgorithmPolicy;
use crate::saml::Rejection;
use crate::services::Services;
use crate::store::{LoginCommit, NewContinuation, NewFailure, RequestPurpose, SsoConfig, StoreError, User};
use crate::users::attributes::{self, AttributeNames};
use crate::users::jit::{self, JitAction};
use crate::users::Profile;

pub struct Attempt {
    pub sso_id: i64,
    pub saml_response: String,
    pub relay_state: Option<String>,
    pub client_addr: Option<String>,
    /// The HTTP request id shown on the error page and written to the log.
    pub request_id: String,
    /// The browser-binding cookie posted with the response, if any (see `login::binding`).
    pub browser_binding: Option<String>,
    pub now: DateTime<Utc>,
}

#[derive(Debug)]
pub struct LoggedIn {
    pub user: User,
    pub sso_id: i64,
    pub target: String,
    pub session_index: Option<String>,
    /// The assertion's NameID and its Format, kept for Single Logout.
    pub name_id: Option<String>,
    pub name_id_format: Option<String>,
    /// Whether the response answered a request this browser started (SP-initiated). An
    /// unsolicited login must not silently replace another user's session (see `web::routes::continue_login`).
    pub solicited: bool,
    /// Unsolicited logins: the token of the continuation parked with the login (its hash is
    /// stored; the token goes into the browser's cookie).
    pub continuation_token: Option<String>,
}

/// Everything `finish` would do, decided without writing anything.
pub struct Evaluation {
    pub config: SsoConfig,
    pub verified: Verified,
    pub profile: Profile,
    pub action: JitAction,
    /// The user as found before the login (none: JIT would create one).
    pub existing: Option<User>,
    pub target: Option<String>,
    /// The binding hash stored with the answered AuthnRequest (solicited responses only).
    pub request_binding: Option<String>,
}

pub async fn finish(svc: &Services, attempt: Attempt) -> Result<LoggedIn, LoginError> {
    let started = tokio::time::Instant::now();
    // The configuration is read once: for the evaluation and for the debug switch.
    let config = svc.store.get_sso(attempt.sso_id).await;
    let keep_copy = matches!(&config, Ok(Some(c)) if c.debug_keep_responses);
    let result = async {
        let config = config?.ok_or(LoginError::UnknownSso)?;
        let eval =
            evaluate_config(svc, config, &attempt.saml_response, attempt.now, RequestPurpose::Login, &mut Trace::off())
                .await?;
        if eval.verified.in_response_to.is_some()
            && !binding::matches(eval.request_binding.as_deref(), attempt.browser_binding.as_deref())
        {
            return Err(Rejection::RequestNotFromThisBrowser.into());
        }
        commit(svc, &attempt, eval).await
    }
    .await;
    if let Err(err) = &result {
        record_failure(svc, &attempt, err).await;
        hold_decryption_refusal(started, err).await;
    }
    crate::metrics::login(result.as_ref().err().map(LoginError::code), started.elapsed());
    if keep_copy && !matches!(result, Err(LoginError::Deactivated)) {
        keep_for_debug(svc, &attempt, result.as_ref().err()).await;
    }
    result
}

/// How long every decryption-phase refusal takes at least (see `finish`): well above the
/// difference between failing at the padding and failing at the inner signature.
const DECRYPTION_FAILURE_FLOOR: std::time::Duration = std::time::Duration::from_millis(20);

/// Every decryption-phase refusal reads the same (one code, one page); it also takes the same
/// time, so that how far a tampered ciphertext got cannot be timed either. Every path that
/// decrypts (a login, a test login, a console sign-in) answers through this.
pub(super) async fn hold_decryption_refusal(started: tokio::time::Instant, err: &LoginError) {
    if err.code() == Rejection::DecryptionFailed(String::new()).code() {
        tokio::time::sleep_until(started + DECRYPTION_FAILURE_FLOOR).await;
    }
}

/// The stored request a console answer (test login, console sign-in) names in its RelayState,
/// checked before any of the response is parsed or decrypted: it must be one of this
/// configuration's requests for that purpose, unanswered, unexpired, and started by this
/// browser. Anyone can post to the ACS; only a browser holding such a request gets past here.
pub(super) async fn console_request(
    svc: &Services,
    attempt: &Attempt,
    request_id: &str,
    purpose: RequestPurpose,
) -> Result<crate::store::PendingRequest, LoginError> {
    let clip = |s: &str| s.chars().take(80).collect::<String>();
    let pending = match svc.store.get_authn_request(request_id).await? {
        Some(p) if p.sso_id == attempt.sso_id && p.purpose == Some(purpose) => p,
        _ => return Err(Rejection::InResponseToUnknown(clip(request_id)).into()),
    };
    if pending.consumed {
        return Err(Rejection::InResponseToUsed(clip(request_id)).into());
    }
    if pending.expires_at <= attempt.now.timestamp() {
        return Err(Rejection::InResponseToExpired(clip(request_id)).into());
    }
    if !binding::matches(pending.browser_binding.as_deref(), attempt.browser_binding.as_deref()) {
        return Err(Rejection::RequestNotFromThisBrowser.into());
    }
    Ok(pending)
}

/// Keep a redacted copy of what was posted (the configuration's debug switch is on).
async fn keep_for_debug(svc: &Services, attempt: &Attempt, err: Option<&LoginError>) {
    let copy = crate::saml::redact::redacted_copy(&attempt.saml_response);
    let (outcome, code) = match err {
        None => ("success", None),
        Some(e) => ("failure", Some(e.code())),
    };
    let kept = svc
        .store
        .keep_debug_response(attempt.sso_id, attempt.now.timestamp(), &attempt.request_id, outcome, code, &copy)
        .await;
    if let Err(e) = kept {
        tracing::error!(request_id = %attempt.request_id, error = %e, "could not keep the debug copy");
    }
}

/// Validation, InResponseTo, replay and JIT decision: read-only, so `check-response` can use it.
pub async fn evaluate(
    svc: &Services,
    sso_id: i64,
    saml_response: &str,
    now: DateTime<Utc>,
) -> Result<Evaluation, LoginError> {
    let config = svc.store.get_sso(sso_id).await?.ok_or(LoginError::UnknownSso)?;
    evaluate_config(svc, config, saml_response, now, RequestPurpose::Login, &mut Trace::off()).await
}

/// Encoded responses up to this size are verified on the async worker (see `evaluate_config`).
const VERIFY_INLINE_MAX: usize = 24 * 1024;

/// `evaluate` with the configuration already read, for a response that must answer a request
/// of `purpose` (if it answers one), each check recorded in `t`.
pub(super) async fn evaluate_config(
    svc: &Services,
    config: SsoConfig,
    saml_response: &str,
    now: DateTime<Utc>,
    purpose: RequestPurpose,
    t: &mut Trace,
) -> Result<Evaluation, LoginError> {
    let sso_id = config.sso_id;
    // A configuration that is off refuses before any work is done on the message.
    if !config.active {
        return Err(LoginError::Deactivated);
    }
    let idp_entity_id = config.idp_entity_id.clone().ok_or(LoginError::IdpNotConfigured)?;
    let stored_certs = config.idp_certs.as_deref().unwrap_or("");
    // Only the IdP certificates that are valid now: an expired one is no longer trusted.
    let certs = match svc.idp_keys.get_valid(sso_id, stored_certs, || config.idp_certs_der(), now.timestamp())? {
        ValidKeys::Some(keys) => keys,
        ValidKeys::None => return Err(LoginError::IdpNotConfigured),
        ValidKeys::AllExpired { last_expiry } => {
            let when = DateTime::from_timestamp(last_expiry, 0).unwrap_or_default();
            return Err(LoginError::IdpCertificatesExpired(when.format("%Y-%m-%d %H:%M UTC").to_string()));
        }
        ValidKeys::NotYetValid { first_start } => {
            let when = DateTime::from_timestamp(first_start, 0).unwrap_or_default();
            return Err(LoginError::IdpCertificatesNotYetValid(when.format("%Y-%m-%d %H:%M UTC").to_string()));
        }
    };
    let keys = svc.sp_keys_for(&config).await?;
    let urls = svc.urls(sso_id);
    let (skew, policy, unsolicited) = (
        Duration::seconds(config.clock_skew_secs.clamp(0, 3600)),
        AlgorithmPolicy { allow_sha1: config.allow_sha1 },
        config.idp_initiated,
    );
    let (encrypted_requires_signed_response, encrypted_gcm_only) =
        (config.encrypted_requires_signed_response, config.encrypted_gcm_only);
    let verify = move |encoded: &str, t: &mut Trace| {
        let exp = Expectations {
            sp_entity_id: &urls.entity_id,
            acs_url: &urls.acs,
            idp_entity_id: &idp_entity_id,
            idp_keys: &certs,
            clock_skew: skew,
            policy,
            allow_unsolicited: unsolicited,
            encryption: EncryptionPolicy {
                require_signed_response: encrypted_requires_signed_response,
                gcm_only: encrypted_gcm_only,
            },
        };
        response::verify_traced(encoded, &exp, &keys.decryption_keys(), now, t)
    };
    // Parsing, canonicalisation and RSA are synchronous and CPU-bound. A response of ordinary
    // size is verified in well under a millisecond (~50 µs signed, ~350 µs encrypted), less than
    // the two thread hand-overs of `spawn_blocking` cost on a busy core; a large one (up to
    // `MAX_ENCODED_LEN`) is kept off the async workers.
    let verified = if saml_response.len() <= VERIFY_INLINE_MAX {
        verify(saml_response, t)?
    } else {
        let (encoded, mut moved) = (saml_response.to_string(), std::mem::take(t));
        let (verified, back) = tokio::task::spawn_blocking(move || (verify(&encoded, &mut moved), moved))
            .await
            .map_err(|e| LoginError::Internal(e.to_string()))?;
        *t = back;
        verified?
    };

    // The profile is read from the verified assertion (no I/O) before the replay check so that
    // the user can be looked up in the same round trip; its refusal still comes after the
    // replay and InResponseTo refusals, as before.
    let names = AttributeNames { email: &config.attr_email, first: &config.attr_first, last: &config.attr_last };
    let profile = attributes::profile(&verified.assertion, &names);
    let (used, existing) = match &profile {
        Ok(p) => svc.store.assertion_used_and_user(sso_id, &verified.assertion.id, &p.email).await?,
        Err(_) => (svc.store.is_assertion_used(sso_id, &verified.assertion.id).await?, None),
    };
    if used {
        return Err(refused(t, trace::REPLAY, Rejection::Replayed(clip(&verified.assertion.id))));
    }
    t.passed(trace::REPLAY, || format!("assertion {} not seen before", clip(&verified.assertion.id)));
    let mut target = None;
    let mut request_binding = None;
    if let Some(irt) = &verified.in_response_to {
        let pending = svc.store.get_authn_request(irt).await?;
        let pending = match pending {
            // A request issued for the console (a test login, a console sign-in) never signs a
            // user in, and the other way round: it reads as a request we did not issue.
            Some(p) if p.sso_id == sso_id && p.purpose == Some(purpose) => p,
            _ => return Err(refused(t, trace::REQUEST, Rejection::InResponseToUnknown(clip(irt)))),
        };
        if pending.consumed {
            return Err(refused(t, trace::REQUEST, Rejection::InResponseToUsed(clip(irt))));
        }
        if pending.expires_at <= now.timestamp() {
            return Err(refused(t, trace::REQUEST, Rejection::InResponseToExpired(clip(irt))));
        }
        t.passed(trace::REQUEST, || format!("request {} issued by this service", clip(irt)));
        target = Some(pending.target);
        request_binding = pending.browser_binding;
    } else {
        t.skipped(trace::REQUEST, "unsolicited: the response answers no request");
    }
    let profile = match profile {
        Ok(p) => p,
        Err(e) => {
            t.refused(trace::ATTRIBUTES, || format!("{}: {e}", e.code()));
            return Err(e.into());
        }
    };
    t.passed(trace::ATTRIBUTES, || {
        format!(
            "email {} (from {}), first name {:?}, last name {:?}",
            profile.email,
            config.attr_email,
            profile.first_name.as_deref().unwrap_or(""),
            profile.last_name.as_deref().unwrap_or("")
        )
    });
    if purpose == RequestPurpose::Admin {
        // Console sign-in: the vault's user record plays no part (JIT is not asked), but the
        // email must be in the configuration's own domain, whatever "other domains" allows.
        if !crate::users::email_domain(&profile.email).eq_ignore_ascii_case(&config.domain) {
            let err = LoginError::DomainNotAllowed(profile.email.clone());
            t.refused(trace::USER, || format!("{}: {err}", err.code()));
            return Err(err);
        }
        // `action` is not used by a console sign-in.
        return Ok(Evaluation {
            config,
            verified,
            profile,
            action: JitAction::Update,
            existing,
            target,
            request_binding,
        });
    }
    let in_scope = match &existing {
        Some(u) => node_within(svc, u.node_id, config.node_id).await?,
        None => true,
    };
    let action = match jit::decide(&config, existing.as_ref(), in_scope, &profile) {
        Ok(action) => action,
        Err(refusal) => {
            let err = LoginError::from(refusal);
            t.refused(trace::USER, || format!("{}: {err}", err.code()));
            return Err(err);
        }
    };
    t.passed(trace::USER, || match &existing {
        Some(u) => format!(
            "{} exists ({}, provisioned by {}): the login would update it",
            u.email,
            u.status.as_str(),
            u.provisioned_by
        ),
        None => format!("{} is new: Just-In-Time provisioning would create it", profile.email),
    });
    Ok(Evaluation { config, verified, profile, action, existing, target, request_binding })
}

async fn commit(svc: &Services, attempt: &Attempt, eval: Evaluation) -> Result<LoggedIn, LoginError> {
    let Evaluation { config, verified, profile, action, target, .. } = eval;
    let solicited = verified.in_response_to.is_some();
    // SP-initiated: the target we stored. IdP-initiated: RelayState only if it is a same-site path.
    let target = target
        .or_else(|| attempt.relay_state.as_deref().and_then(safe_relative_path))
        .unwrap_or_else(|| DEFAULT_TARGET.to_string());
    // Unsolicited: the login is parked for its same-site continuation, in the commit itself.
    let continuation_token = (!solicited).then(|| hex::encode(rand::random::<[u8; 16]>()));
    let continuation = continuation_token.as_deref().map(|token| NewContinuation {
        token_hash: binding::hash(token),
        session_index: verified.assertion.session_index.clone(),
        name_id: verified.assertion.name_id.clone(),
        name_id_format: verified.assertion.name_id_format.clone(),
        target: target.clone(),
        expires_at: attempt.now.timestamp() + svc.settings.continue_ttl_secs,
    });
    let commit = LoginCommit {
        sso_id: config.sso_id,
        node_id: config.node_id,
        assertion_id: verified.assertion.id.clone(),
        replay_until: verified.replay_until.timestamp(),
        request_id: verified.in_response_to.clone(),
        email: profile.email.clone(),
        first_name: profile.first_name.clone(),
        last_name: profile.last_name.clone(),
        create_if_missing: action == JitAction::Create,
        now: attempt.now.timestamp(),
        http_request_id: attempt.request_id.clone(),
        client_addr: attempt.client_addr.clone(),
        issuer: verified.assertion.issuer.clone(),
        continuation,
    };
    let user = svc.store.commit_login(&commit).await.map_err(|e| match e {
        StoreError::AssertionReplayed => Rejection::Replayed(clip(&verified.assertion.id)).into(),
        StoreError::RequestAlreadyUsed => {
            Rejection::InResponseToUsed(clip(verified.in_response_to.as_deref().unwrap_or_default())).into()
        }
        StoreError::UserLocked => LoginError::Locked(profile.email.clone()),
        StoreError::UserNotProvisioned => LoginError::NotProvisioned(profile.email.clone()),
        other => LoginError::Store(other),
    })?;
    tracing::info!(
        request_id = %attempt.request_id,
        sso_id = config.sso_id,
        user = %user.email,
        provisioned_by = %user.provisioned_by,
        solicited,
        "login accepted"
    );
    Ok(LoggedIn {
        user,
        sso_id: config.sso_id,
        target,
        session_index: verified.assertion.session_index,
        name_id: verified.assertion.name_id,
        name_id_format: verified.assertion.name_id_format,
        solicited,
        continuation_token,
    })
}

pub(super) async fn record_failure(svc: &Services, attempt: &Attempt, err: &LoginError) {
    // Refused before any work on the message (no such configuration, or turned off): it is not
    // parsed for the log either.
    let claimed = match err {
        LoginError::UnknownSso | LoginError::Deactivated => response::Claimed::default(),
        _ => response::peek(&attempt.saml_response),
    };
    record(svc, attempt, err, claimed).await;
}

/// A console answer (test login, console sign-in) refused before any of it was parsed (its
/// request is not this browser's, or the switch is off): recorded, and counted with the
/// login refusals, without parsing the message for the log either.
pub(super) async fn record_unparsed_failure(
    svc: &Services,
    attempt: &Attempt,
    err: &LoginError,
    took: std::time::Duration,
) {
    record(svc, attempt, err, response::Claimed::default()).await;
    crate::metrics::login(Some(err.code()), took);
}

async fn record(svc: &Services, attempt: &Attempt, err: &LoginError, claimed: response::Claimed) {
    // The detail holds attacker-chosen text (Destination, Issuer, algorithm URIs, …): clipped
    // and escaped before it reaches the log or the failure record.
    let detail = logsafe::clip(&err.to_string());
    tracing::warn!(
        request_id = %attempt.request_id,
        sso_id = attempt.sso_id,
        reason = err.code(),
        detail = %detail,
        issuer = %Clipped(claimed.issuer.as_deref().unwrap_or("-")),
        name_id = %Clipped(claimed.name_id.as_deref().unwrap_or("-")),
        client = attempt.client_addr.as_deref().unwrap_or("-"),
        "login refused"
    );
    let failure = NewFailure {
        sso_id: Some(attempt.sso_id),
        reason_code: err.code().to_string(),
        detail,
        issuer: claimed.issuer,
        name_id: claimed.name_id,
        client_addr: attempt.client_addr.clone(),
        request_id: attempt.request_id.clone(),
        at: attempt.now.timestamp(),
    };
    if let Err(e) = svc.store.record_login_failure(&failure).await {
        tracing::error!(request_id = %attempt.request_id, error = %e, "could not record the login failure");
    }
}

/// Whether `node` is `ancestor` or lies below it (walking parents; bounded against cycles).
async fn node_within(svc: &Services, mut node: i64, ancestor: i64) -> Result<bool, LoginError> {
    for _ in 0..64 {
        if node == ancestor {
            return Ok(true);
        }
        match svc.store.get_node(node).await?.and_then(|n| n.parent_id) {
            Some(parent) => node = parent,
            None => return Ok(false),
        }
    }
    Ok(false)
}

/// Record `rejection` as `check`'s refusal and hand it back as the login's error.
fn refused(t: &mut Trace, check: &'static str, rejection: Rejection) -> LoginError {
    let _ = t.check::<()>(check, Err(rejection.clone()));
    rejection.into()
}

fn clip(s: &str) -> String {
    s.chars().take(80).collect()
}
