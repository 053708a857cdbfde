//! The SAML Web SSO profile checks (saml-profiles §4.1.4), each with its own reason code, in the
//! order a reviewer would audit them. All inputs are values from the verified document; `now`
//! is passed in.

use chrono::{DateTime, Duration, Utc};

use super::assertion::{parse_time, AssertionFields};
use super::Expectations;
use crate::saml::{Rejection, CM_BEARER, STATUS_SUCCESS};

/// How old an IssueInstant may be, on top of the clock skew: the browser POSTs a response
/// within seconds of its creation (crewjam/saml uses the same 90 s).
pub const MAX_ISSUE_DELAY_SECS: i64 = 90;

/// Response-level values (from the signed Response when it is signed, else the envelope).
#[derive(Debug, Clone, Default)]
pub struct Envelope {
    pub id: String,
    pub destination: Option<String>,
    pub in_response_to: Option<String>,
    pub issue_instant: String,
    pub issuer: Option<String>,
    pub status: String,
}

pub fn check_status(env: &Envelope) -> Result<(), Rejection> {
    if env.status != STATUS_SUCCESS {
        return Err(Rejection::StatusNotSuccess(env.status.clone()));
    }
    Ok(())
}

pub fn check_destination(env: &Envelope, exp: &Expectations) -> Result<(), Rejection> {
    match env.destination.as_deref() {
        Some(d) if d == exp.acs_url => Ok(()),
        other => Err(Rejection::DestinationMismatch {
            expected: exp.acs_url.to_string(),
            found: other.unwrap_or("(missing)").to_string(),
        }),
    }
}

pub fn check_issuers(env: &Envelope, a: &AssertionFields, exp: &Expectations) -> Result<(), Rejection> {
    let mismatch =
        |found: &str| Rejection::IssuerMismatch { expected: exp.idp_entity_id.to_string(), found: found.to_string() };
    if let Some(issuer) = env.issuer.as_deref() {
        if issuer != exp.idp_entity_id {
            return Err(mismatch(issuer));
        }
    }
    if a.issuer != exp.idp_entity_id {
        return Err(mismatch(&a.issuer));
    }
    Ok(())
}

/// Web SSO requires an AudienceRestriction naming us; several restrictions must all name us.
pub fn check_audience(a: &AssertionFields, exp: &Expectations) -> Result<(), Rejection> {
    let ok = !a.audience_restrictions.is_empty()
        && a.audience_restrictions.iter().all(|r| r.iter().any(|aud| aud == exp.sp_entity_id));
    if !ok {
        return Err(Rejection::AudienceMismatch {
            expected: exp.sp_entity_id.to_string(),
            found: a.audience_restrictions.concat(),
        });
    }
    Ok(())
}

/// A bearer confirmation addressed to our ACS and still valid. Returns its InResponseTo.
pub fn check_bearer(a: &AssertionFields, exp: &Expectations, now: DateTime<Utc>) -> Result<Option<String>, Rejection> {
    let bearers: Vec<_> = a.confirmations.iter().filter(|c| c.method == CM_BEARER).collect();
    if bearers.is_empty() {
        return Err(Rejection::SubjectConfirmation("no bearer SubjectConfirmation".into()));
    }
    let mut last_err = None;
    for c in bearers {
        let recipient = c.recipient.as_deref().unwrap_or("(missing)");
        if recipient != exp.acs_url {
            last_err = Some(Rejection::RecipientMismatch { expected: exp.acs_url.into(), found: recipient.into() });
            continue;
        }
        let Some(not_on_or_after) = c.not_on_or_after.as_deref() else {
            last_err = Some(Rejection::SubjectConfirmation("SubjectConfirmationData without NotOnOrAfter".into()));
            continue;
        };
        if let Err(e) = check_window(c.not_before.as_deref(), Some(not_on_or_after), exp.clock_skew, now) {
            last_err = Some(e);
            continue;
        }
        return Ok(c.in_response_to.clone());
    }
    Err(last_err.unwrap_or_else(|| Rejection::SubjectConfirmation("no usable bearer confirmation".into())))
}

pub fn check_conditions(a: &AssertionFields, exp: &Expectations, now: DateTime<Utc>) -> Result<(), Rejection> {
    if !a.has_conditions {
        return Err(Rejection::AudienceMismatch { expected: exp.sp_entity_id.into(), found: vec![] });
    }
    check_window(a.not_before.as_deref(), a.not_on_or_after.as_deref(), exp.clock_skew, now)
}

/// NotBefore is inclusive, NotOnOrAfter exclusive (saml-core §2.5.1.2), each widened by the skew.
fn check_window(
    not_before: Option<&str>,
    not_on_or_after: Option<&str>,
    skew: Duration,
    now: DateTime<Utc>,
) -> Result<(), Rejection> {
    if let Some(nb) = not_before {
        let t = parse_time(nb).ok_or_else(|| Rejection::NotYetValid(nb.to_string()))?;
        if now + skew < t {
            return Err(Rejection::NotYetValid(nb.to_string()));
        }
    }
    if let Some(na) = not_on_or_after {
        let t = parse_time(na).ok_or_else(|| Rejection::Expired(na.to_string()))?;
        if now - skew >= t {
            return Err(Rejection::Expired(na.to_string()));
        }
    }
    Ok(())
}

pub fn check_issue_instant(value: &str, skew: Duration, now: DateTime<Utc>) -> Result<(), Rejection> {
    let t = parse_time(value).ok_or_else(|| Rejection::IssueInstant(value.to_string()))?;
    if t > now + skew || t < now - skew - Duration::seconds(MAX_ISSUE_DELAY_SECS) {
        return Err(Rejection::IssueInstant(value.to_string()));
    }
    Ok(())
}

/// InResponseTo on the Response and on the bearer confirmation must agree; the value (if any)
/// is then checked against our issued requests by the caller, which owns the store.
/// `envelope_signed`: the Response element was covered by a verified signature. An unsigned
/// envelope's InResponseTo is attacker-editable, so it may only repeat the signed bearer value:
/// otherwise anyone could turn an unsolicited assertion into a "solicited" one by adding the ID
/// of a request they started themselves.
pub fn check_in_response_to(
    env: &Envelope,
    envelope_signed: bool,
    bearer_irt: Option<String>,
    exp: &Expectations,
) -> Result<Option<String>, Rejection> {
    let irt = match (env.in_response_to.clone(), bearer_irt) {
        (Some(a), Some(b)) if a != b => return Err(Rejection::InResponseToMismatch),
        (Some(_), None) if !envelope_signed => return Err(Rejection::InResponseToMismatch),
        (a, b) => a.or(b),
    };
    if irt.is_none() && !exp.allow_unsolicited {
        return Err(Rejection::UnsolicitedNotAllowed);
    }
    Ok(irt)
}

/// Until when the assertion could still be accepted: its ID must be remembered that long.
pub fn replay_horizon(a: &AssertionFields, skew: Duration, now: DateTime<Utc>) -> DateTime<Utc> {
    let mut until = now;
    let times = a.confirmations.iter().filter_map(|c| c.not_on_or_after.as_deref()).chain(a.not_on_or_after.as_deref());
    for t in times.filter_map(parse_time) {
        until = until.max(t);
    }
    until + skew
}
