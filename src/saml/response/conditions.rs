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

/// Web SSO requires an AudienceRestriction naming us (inside `<Conditions>`, whose absence has
/// its own code); several restrictions must all name us.
pub fn check_audience(a: &AssertionFields, exp: &Expectations) -> Result<(), Rejection> {
    if !a.has_conditions {
        return Err(Rejection::ConditionsMissing);
    }
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
        return Err(Rejection::ConditionsMissing);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::saml::xml::AlgorithmPolicy;

    const ACS: &str = "https://sp.example/acs";
    const SP: &str = "https://sp.example/sp";
    const IDP: &str = "https://idp.example/idp";

    fn exp(allow_unsolicited: bool) -> Expectations<'static> {
        Expectations {
            sp_entity_id: SP,
            acs_url: ACS,
            idp_entity_id: IDP,
            idp_keys: &[],
            clock_skew: Duration::seconds(180),
            policy: AlgorithmPolicy { allow_sha1: false },
            allow_unsolicited,
            encryption: Default::default(),
        }
    }

    fn at(t: DateTime<Utc>) -> String {
        t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    }

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    #[test]
    fn the_validity_window_is_exact_to_the_second() {
        let (now, skew) = (now(), Duration::seconds(180));
        let s = Duration::seconds;
        // (NotBefore offset, NotOnOrAfter offset, expected code or None)
        let cases: &[(Option<i64>, Option<i64>, Option<&str>)] = &[
            (None, None, None),
            // NotBefore is inclusive, widened by the skew: now + skew == NotBefore passes.
            (Some(180), None, None),
            (Some(181), None, Some("SAML_ASSERTION_NOT_YET_VALID")),
            (Some(-10), None, None),
            // NotOnOrAfter is exclusive, widened by the skew: now - skew == NotOnOrAfter fails.
            (None, Some(-179), None),
            (None, Some(-180), Some("SAML_ASSERTION_EXPIRED")),
            (None, Some(-181), Some("SAML_ASSERTION_EXPIRED")),
            (None, Some(300), None),
            (Some(0), Some(0), None),
        ];
        for (nb, na, want) in cases {
            let nb = nb.map(|o| at(now + s(o)));
            let na = na.map(|o| at(now + s(o)));
            let got = check_window(nb.as_deref(), na.as_deref(), skew, now).err().map(|r| r.code());
            assert_eq!(got, *want, "NotBefore {nb:?} NotOnOrAfter {na:?}");
        }
        // Unparseable times are refused with the code of the bound they would have set.
        assert_eq!(
            check_window(Some("yesterday"), None, skew, now).unwrap_err().code(),
            "SAML_ASSERTION_NOT_YET_VALID"
        );
        assert_eq!(
            check_window(None, Some("2026-13-40T00:00:00Z"), skew, now).unwrap_err().code(),
            "SAML_ASSERTION_EXPIRED"
        );
    }

    #[test]
    fn issue_instant_may_be_skew_ahead_and_skew_plus_90_seconds_old() {
        let (now, skew) = (now(), Duration::seconds(60));
        for (offset, ok) in [(0, true), (60, true), (61, false), (-150, true), (-151, false), (-3600, false)] {
            let got = check_issue_instant(&at(now + Duration::seconds(offset)), skew, now);
            assert_eq!(got.is_ok(), ok, "IssueInstant now{offset:+}s");
        }
        assert_eq!(check_issue_instant("", skew, now).unwrap_err().code(), "SAML_ISSUE_INSTANT_INVALID");
    }

    #[test]
    fn in_response_to_truth_table() {
        let env = |irt: Option<&str>| Envelope { in_response_to: irt.map(str::to_string), ..Default::default() };
        let id = |s: &str| Some(s.to_string());
        // (envelope IRT, envelope signed, bearer IRT, unsolicited allowed, expected)
        type Row<'a> = (Option<&'a str>, bool, Option<&'a str>, bool, Result<Option<&'a str>, &'a str>);
        let cases: &[Row] = &[
            (Some("_a"), true, Some("_a"), false, Ok(Some("_a"))),
            (Some("_a"), false, Some("_a"), false, Ok(Some("_a"))),
            (Some("_a"), true, Some("_b"), true, Err("SAML_IN_RESPONSE_TO_MISMATCH")),
            (Some("_a"), true, None, false, Ok(Some("_a"))),
            // An unsigned envelope may not make an unsolicited assertion look solicited.
            (Some("_a"), false, None, true, Err("SAML_IN_RESPONSE_TO_MISMATCH")),
            (None, false, Some("_b"), false, Ok(Some("_b"))),
            (None, true, None, true, Ok(None)),
            (None, true, None, false, Err("SAML_UNSOLICITED_NOT_ALLOWED")),
        ];
        for (e, signed, bearer, unsolicited, want) in cases {
            let got = check_in_response_to(&env(*e), *signed, bearer.and_then(id), &exp(*unsolicited));
            let got = got.map_err(|r| r.code());
            let want = want.map(|o| o.map(str::to_string));
            assert_eq!(got, want, "envelope {e:?} signed {signed} bearer {bearer:?} unsolicited {unsolicited}");
        }
    }

    #[test]
    fn audience_destination_issuer_and_status() {
        let e = exp(true);
        let mut a = AssertionFields { issuer: IDP.into(), has_conditions: true, ..Default::default() };
        a.audience_restrictions = vec![vec![SP.into()]];
        assert!(check_audience(&a, &e).is_ok());
        // Every restriction must name us.
        a.audience_restrictions.push(vec!["https://other.example".into()]);
        assert_eq!(check_audience(&a, &e).unwrap_err().code(), "SAML_AUDIENCE_MISMATCH");
        a.audience_restrictions.clear();
        assert_eq!(check_audience(&a, &e).unwrap_err().code(), "SAML_AUDIENCE_MISMATCH");

        let env = |d: Option<&str>, i: Option<&str>, st: &str| Envelope {
            destination: d.map(str::to_string),
            issuer: i.map(str::to_string),
            status: st.into(),
            ..Default::default()
        };
        assert!(check_destination(&env(Some(ACS), None, ""), &e).is_ok());
        for bad in [None, Some("https://sp.example/acs/"), Some("https://SP.example/acs")] {
            assert_eq!(check_destination(&env(bad, None, ""), &e).unwrap_err().code(), "SAML_DESTINATION_MISMATCH");
        }
        assert!(check_issuers(&env(None, None, ""), &a, &e).is_ok(), "the Response Issuer is optional");
        assert!(check_issuers(&env(None, Some(IDP), ""), &a, &e).is_ok());
        assert_eq!(
            check_issuers(&env(None, Some("https://evil.example"), ""), &a, &e).unwrap_err().code(),
            "SAML_ISSUER_MISMATCH"
        );
        assert!(check_status(&env(None, None, STATUS_SUCCESS)).is_ok());
        assert_eq!(
            check_status(&env(None, None, "urn:oasis:names:tc:SAML:2.0:status:Requester")).unwrap_err().code(),
            "SAML_STATUS_NOT_SUCCESS"
        );
    }

    #[test]
    fn a_bearer_confirmation_must_name_our_acs_and_be_current() {
        use crate::saml::response::assertion::SubjectConfirmation;
        let (e, now) = (exp(true), now());
        let conf = |method: &str, recipient: Option<&str>, noa: Option<i64>, irt: Option<&str>| SubjectConfirmation {
            method: method.into(),
            recipient: recipient.map(str::to_string),
            not_on_or_after: noa.map(|o| at(now + Duration::seconds(o))),
            not_before: None,
            in_response_to: irt.map(str::to_string),
        };
        let with = |c: Vec<SubjectConfirmation>| AssertionFields { confirmations: c, ..Default::default() };
        let ok = with(vec![conf(CM_BEARER, Some(ACS), Some(60), Some("_r"))]);
        assert_eq!(check_bearer(&ok, &e, now).unwrap().as_deref(), Some("_r"));
        let cases = [
            (with(vec![]), "SAML_SUBJECT_CONFIRMATION_INVALID"),
            (
                with(vec![conf("urn:oasis:names:tc:SAML:2.0:cm:holder-of-key", Some(ACS), Some(60), None)]),
                "SAML_SUBJECT_CONFIRMATION_INVALID",
            ),
            (with(vec![conf(CM_BEARER, Some("https://evil.example/acs"), Some(60), None)]), "SAML_RECIPIENT_MISMATCH"),
            (with(vec![conf(CM_BEARER, Some(ACS), None, None)]), "SAML_SUBJECT_CONFIRMATION_INVALID"),
            (with(vec![conf(CM_BEARER, Some(ACS), Some(-180), None)]), "SAML_ASSERTION_EXPIRED"),
        ];
        for (a, code) in cases {
            assert_eq!(check_bearer(&a, &e, now).unwrap_err().code(), code);
        }
        // One usable bearer among several is enough.
        let mixed = with(vec![
            conf(CM_BEARER, Some("https://evil.example"), Some(60), None),
            conf(CM_BEARER, Some(ACS), Some(60), None),
        ]);
        assert!(check_bearer(&mixed, &e, now).is_ok());
    }

    #[test]
    fn an_assertion_without_conditions_has_its_own_code() {
        let (e, now) = (exp(true), now());
        let bare = AssertionFields { has_conditions: false, ..Default::default() };
        assert_eq!(check_audience(&bare, &e).unwrap_err().code(), "SAML_CONDITIONS_MISSING");
        assert_eq!(check_conditions(&bare, &e, now).unwrap_err().code(), "SAML_CONDITIONS_MISSING");
        // Conditions without an AudienceRestriction: the audience is what is missing.
        let no_audience = AssertionFields { has_conditions: true, ..Default::default() };
        assert_eq!(check_audience(&no_audience, &e).unwrap_err().code(), "SAML_AUDIENCE_MISMATCH");
        assert!(check_conditions(&no_audience, &e, now).is_ok(), "no window: nothing to be outside of");
    }

    #[test]
    fn replay_horizon_covers_the_latest_validity_plus_skew() {
        let now = now();
        let mut a = AssertionFields { not_on_or_after: Some(at(now + Duration::seconds(300))), ..Default::default() };
        a.confirmations.push(crate::saml::response::assertion::SubjectConfirmation {
            not_on_or_after: Some(at(now + Duration::seconds(600))),
            ..Default::default()
        });
        assert_eq!(replay_horizon(&a, Duration::seconds(180), now), now + Duration::seconds(780));
        assert_eq!(
            replay_horizon(&AssertionFields::default(), Duration::seconds(180), now),
            now + Duration::seconds(180)
        );
    }
}
