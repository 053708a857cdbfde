//! What the test login shows an admin: each check of the validation, in the order it runs,
//! with its outcome. The login path runs the same code with a trace that is off (nothing is
//! allocated or formatted), so what the test login reports is what a real login does.

use serde::{Deserialize, Serialize};

use crate::saml::Rejection;

/// The checks, in the order they run; a refusal leaves the later ones "not reached".
pub const CHECKS: &[(&str, &str)] = &[
    (DECODE, "The posted SAMLResponse is base64 of at most the size spconnect reads."),
    (XML_SAFETY, "No DOCTYPE, entities, processing instructions or comments; bounded depth and size."),
    (SHAPE, "One Response with one assertion; only enveloped same-document signatures, allowed transforms and algorithms; unique IDs."),
    (SIGNATURE, "Every signature verifies with a signing certificate from the IdP's metadata, and it covers the element the user is read from."),
    (DECRYPTION, "An encrypted assertion is decrypted with this configuration's SP key and its own signature, if any, is verified."),
    (ASSERTION, "The assertion's subject, conditions and attributes are within the bounds spconnect reads."),
    (STATUS, "The IdP answered Success."),
    (DESTINATION, "The Response is addressed to this configuration's ACS URL."),
    (ISSUER, "Response and assertion come from the IdP entity ID in the uploaded metadata."),
    (AUDIENCE, "The assertion is meant for this configuration's Entity ID."),
    (BEARER, "A bearer SubjectConfirmation names our ACS URL and has not expired."),
    (CONDITIONS, "The assertion's NotBefore / NotOnOrAfter window contains now (with the clock skew allowance)."),
    (ISSUE_INSTANT, "Response and assertion were issued close to this server's time."),
    (IN_RESPONSE_TO, "The response answers a request (or is an allowed unsolicited one), consistently in Response and SubjectConfirmation."),
    (REPLAY, "The assertion ID has not been used before."),
    (REQUEST, "The request it answers was issued by this service for this configuration, not yet answered and not expired."),
    (ATTRIBUTES, "The email (and first and last name) are read from the configured attribute names."),
    (USER, "What Just-In-Time provisioning and SCIM allow for this user."),
    (SAME_BROWSER, "The response comes back to the browser that started the sign-in (login CSRF protection)."),
];

pub const DECODE: &str = "Decoding";
pub const XML_SAFETY: &str = "XML safety";
pub const SHAPE: &str = "Message shape and algorithms";
pub const SIGNATURE: &str = "Signature";
pub const DECRYPTION: &str = "Decryption";
pub const ASSERTION: &str = "Assertion contents";
pub const STATUS: &str = "Status";
pub const DESTINATION: &str = "Destination";
pub const ISSUER: &str = "Issuer";
pub const AUDIENCE: &str = "Audience";
pub const BEARER: &str = "Subject confirmation";
pub const CONDITIONS: &str = "Validity window";
pub const ISSUE_INSTANT: &str = "Issue instant";
pub const IN_RESPONSE_TO: &str = "InResponseTo";
pub const REQUEST: &str = "Request issued by spconnect";
pub const SAME_BROWSER: &str = "Same browser";
pub const REPLAY: &str = "One-time use";
pub const ATTRIBUTES: &str = "Attributes";
pub const USER: &str = "User";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    Passed,
    Refused,
    /// The check does not apply to this response (a plain assertion is not decrypted).
    Skipped,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Step {
    pub check: String,
    pub outcome: Outcome,
    /// What was found (passed) or why it was refused; attacker-chosen text is clipped.
    pub detail: String,
}

/// A recorder of checks. `Trace::off()` records nothing (the login path).
#[derive(Debug, Clone, Default)]
pub struct Trace {
    enabled: bool,
    pub steps: Vec<Step>,
}

impl Trace {
    pub fn off() -> Self {
        Trace { enabled: false, steps: Vec::new() }
    }

    pub fn on() -> Self {
        Trace { enabled: true, steps: Vec::with_capacity(CHECKS.len()) }
    }

    pub fn is_on(&self) -> bool {
        self.enabled
    }

    /// Record `result` as the outcome of `check` and hand it back unchanged.
    pub fn check<T>(&mut self, check: &'static str, result: Result<T, Rejection>) -> Result<T, Rejection> {
        if self.enabled {
            match &result {
                Ok(_) => self.push(check, Outcome::Passed, String::new()),
                Err(r) => self.push(check, Outcome::Refused, format!("{}: {r}", r.code())),
            }
        }
        result
    }

    /// Record a passed check with what was found (formatted only when the trace is on).
    pub fn passed(&mut self, check: &'static str, detail: impl FnOnce() -> String) {
        if self.enabled {
            self.push(check, Outcome::Passed, detail());
        }
    }

    pub fn refused(&mut self, check: &'static str, detail: impl FnOnce() -> String) {
        if self.enabled {
            self.push(check, Outcome::Refused, detail());
        }
    }

    pub fn skipped(&mut self, check: &'static str, why: &str) {
        if self.enabled {
            self.push(check, Outcome::Skipped, why.to_string());
        }
    }

    /// Add a detail to the last recorded step if it is `check` (e.g. which elements were signed).
    pub fn note(&mut self, check: &'static str, detail: impl FnOnce() -> String) {
        if self.enabled {
            if let Some(last) = self.steps.last_mut().filter(|s| s.check == check) {
                let d = detail();
                last.detail = if last.detail.is_empty() { d } else { format!("{}; {d}", last.detail) };
            }
        }
    }

    fn push(&mut self, check: &'static str, outcome: Outcome, detail: String) {
        // A check that passes in two places (the signature: where it is found, then where it
        // is verified) is one row; its detail is the first non-empty one.
        if let Some(last) = self.steps.last_mut() {
            if last.check == check && last.outcome == Outcome::Passed && outcome == Outcome::Passed {
                if last.detail.is_empty() {
                    last.detail = crate::logsafe::clip(&detail);
                }
                return;
            }
        }
        self.steps.push(Step { check: check.to_string(), outcome, detail: crate::logsafe::clip(&detail) });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_check_passed_twice_in_a_row_is_one_step() {
        let mut t = Trace::on();
        t.passed(SIGNATURE, || "the Assertion is signed".into());
        t.check(SIGNATURE, Ok::<_, Rejection>(())).unwrap();
        t.passed(STATUS, String::new);
        t.check::<()>(STATUS, Err(Rejection::SignatureInvalid)).unwrap_err();
        let steps: Vec<_> = t.steps.iter().map(|s| (s.check.as_str(), s.outcome, s.detail.as_str())).collect();
        assert_eq!(steps.len(), 3, "{steps:?}");
        assert_eq!(steps[0], (SIGNATURE, Outcome::Passed, "the Assertion is signed"));
        assert_eq!((steps[2].0, steps[2].1), (STATUS, Outcome::Refused), "a refusal is its own step");
    }

    #[test]
    fn an_off_trace_records_nothing_and_passes_results_through() {
        let mut t = Trace::off();
        assert_eq!(t.check(SIGNATURE, Ok::<_, Rejection>(7)).unwrap(), 7);
        assert_eq!(t.check::<()>(SIGNATURE, Err(Rejection::SignatureInvalid)), Err(Rejection::SignatureInvalid));
        t.passed(STATUS, || unreachable!("not formatted when off"));
        assert!(t.steps.is_empty());
    }

    #[test]
    fn an_on_trace_records_each_check_with_its_code() {
        let mut t = Trace::on();
        t.check(DECODE, Ok::<_, Rejection>(())).unwrap();
        let _ = t.check::<()>(SIGNATURE, Err(Rejection::SignatureInvalid));
        t.note(SIGNATURE, || "two certificates tried".into());
        assert_eq!(t.steps.len(), 2);
        assert_eq!(t.steps[0].outcome, Outcome::Passed);
        assert_eq!(t.steps[1].outcome, Outcome::Refused);
        assert!(t.steps[1].detail.starts_with("SAML_SIGNATURE_INVALID: "), "{}", t.steps[1].detail);
        assert!(t.steps[1].detail.ends_with("; two certificates tried"));
    }

    #[test]
    fn every_check_name_is_listed_once() {
        let mut names: Vec<_> = CHECKS.iter().map(|(n, _)| *n).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), CHECKS.len());
    }
}
