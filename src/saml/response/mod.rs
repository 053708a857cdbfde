//! ACS validation of a SAMLResponse, as one ordered column of checks:
//!
//! 1. `xml::decode_form_value` — bounded base64 → bounded UTF-8
//! 2. `xml::scan`, `xml::parse` — no DTD, entities, PIs; bounded depth and size
//! 3. `xml::check_response_shape` — one Response, one assertion, enveloped same-document
//!    signatures, allowed transforms and algorithms, unique IDs
//! 4. `signature::verify_document` — exc-c14n + digest + RSA/ECDSA over the same roxmltree
//!    document, keys from IdP metadata only (parsed once, cached); values are then read only
//!    from the element the verified signature names
//! 5. `decrypt` — EncryptedAssertion with the SP key, decrypted bytes parsed once and their
//!    inner signature verified over that tree
//! 6. `conditions` — Status, Destination, Issuer, Audience, bearer Recipient/NotOnOrAfter,
//!    Conditions window, IssueInstant, InResponseTo consistency / unsolicited policy
//!
//! What needs storage (InResponseTo issued by us, assertion replay) is left to `login::finish`.

pub mod assertion;
pub mod conditions;
pub mod decrypt;
pub mod signature;
pub mod trace;

use chrono::{DateTime, Duration, Utc};
use openssl::pkey::{PKey, Private, Public};

use self::assertion::AssertionFields;
use self::conditions::Envelope;
use self::trace::Trace;
use super::xml::{self, AlgorithmPolicy};
use super::{child, is, text_content, Rejection, NS_SAML, NS_SAMLP};

/// What the configuration expects of a response.
#[derive(Debug, Clone)]
pub struct Expectations<'a> {
    pub sp_entity_id: &'a str,
    pub acs_url: &'a str,
    pub idp_entity_id: &'a str,
    /// The IdP's signing keys from its metadata (`signature::IdpKeyCache`).
    pub idp_keys: &'a [PKey<Public>],
    pub clock_skew: Duration,
    pub policy: AlgorithmPolicy,
    pub allow_unsolicited: bool,
    pub encryption: EncryptionPolicy,
}

/// What a configuration accepts of encrypted assertions. With an unsigned Response, the
/// ciphertext is not authenticated by anything before it is decrypted (the inner signature is
/// checked after), which is what CBC padding-oracle attacks on XML Encryption exploit; every
/// failure in that phase therefore reads the same. Either switch closes the oracle outright.
#[derive(Debug, Clone, Copy, Default)]
pub struct EncryptionPolicy {
    /// Refuse an EncryptedAssertion unless the Response around it is signed (and verified first).
    pub require_signed_response: bool,
    /// Refuse AES-CBC content encryption; AES-GCM authenticates the ciphertext itself.
    pub gcm_only: bool,
}

/// A response that passed every stateless check.
#[derive(Debug, Clone)]
pub struct Verified {
    pub response_id: String,
    pub in_response_to: Option<String>,
    pub assertion: AssertionFields,
    /// Remember the assertion ID at least until then (replay protection).
    pub replay_until: DateTime<Utc>,
}

/// What the unverified message claims, for the admin's failure log only. Never trusted.
#[derive(Debug, Clone, Default)]
pub struct Claimed {
    pub issuer: Option<String>,
    pub name_id: Option<String>,
}

pub fn verify(
    encoded: &str,
    exp: &Expectations,
    sp_key: &PKey<Private>,
    now: DateTime<Utc>,
) -> Result<Verified, Rejection> {
    verify_with_keys(encoded, exp, &[sp_key], now)
}

/// `verify` with every SP key that may have been encrypted to (during a key rollover: the
/// active one, the published next one and the not yet retired previous one, in that order).
pub fn verify_with_keys(
    encoded: &str,
    exp: &Expectations,
    sp_key: &[&PKey<Private>],
    now: DateTime<Utc>,
) -> Result<Verified, Rejection> {
    verify_traced(encoded, exp, sp_key, now, &mut Trace::off())
}

/// `verify_with_keys`, recording each check in `trace` (the console's test login).
pub fn verify_traced(
    encoded: &str,
    exp: &Expectations,
    sp_key: &[&PKey<Private>],
    now: DateTime<Utc>,
    t: &mut Trace,
) -> Result<Verified, Rejection> {
    let xml = t.check(trace::DECODE, xml::decode_form_value(encoded))?;
    t.note(trace::DECODE, || format!("{} bytes of XML", xml.len()));
    let doc = t.check(trace::XML_SAFETY, xml::scan(&xml).and_then(|()| xml::parse(&xml)))?;
    let shape = t.check(trace::SHAPE, xml::check_response_shape(&doc, exp.policy))?;
    if !shape.root_signed && !shape.assertion_signed && !shape.encrypted {
        return t.check(trace::SIGNATURE, Err(Rejection::Unsigned));
    }
    let signed_what = || {
        let mut parts = Vec::new();
        if shape.root_signed {
            parts.push("the Response is signed");
        }
        if shape.assertion_signed {
            parts.push("the Assertion is signed");
        }
        if shape.encrypted {
            parts.push("the assertion is encrypted");
        }
        parts.join(", ")
    };

    let root = doc.root_element();
    let (envelope, assertion) = if shape.root_signed || shape.assertion_signed {
        // Every signature in the document must verify; values are read only from the
        // element a verified signature names.
        let signed = t.check(trace::SIGNATURE, signature::verify_document(&doc, exp.idp_keys, exp.policy))?;
        t.note(trace::SIGNATURE, signed_what);
        if shape.root_signed {
            if !signed.contains(&root.id()) {
                return t.check(trace::SIGNATURE, Err(Rejection::AssertionNotSigned));
            }
            (read_envelope(root), consume_assertion(root, true, exp, sp_key, t)?)
        } else {
            // Only the Assertion is signed: the envelope is read from the unsigned Response
            // (its values are checked, never trusted for identity), the assertion only from
            // the verified element.
            let signed_assertion = child(root, NS_SAML, "Assertion")
                .filter(|a| signed.contains(&a.id()))
                .ok_or(Rejection::AssertionNotSigned);
            let signed_assertion = t.check(trace::SIGNATURE, signed_assertion)?;
            t.skipped(trace::DECRYPTION, "the assertion is not encrypted");
            (read_envelope(root), t.check(trace::ASSERTION, assertion::read(signed_assertion))?)
        }
    } else {
        // Response unsigned, assertion encrypted: only a signature inside the encryption counts.
        t.passed(trace::SIGNATURE, || format!("{}; its signature is checked after decryption", signed_what()));
        (read_envelope(root), consume_assertion(root, false, exp, sp_key, t)?)
    };

    t.check(trace::STATUS, conditions::check_status(&envelope))?;
    t.check(trace::DESTINATION, conditions::check_destination(&envelope, exp))?;
    t.check(trace::ISSUER, conditions::check_issuers(&envelope, &assertion, exp))?;
    t.note(trace::ISSUER, || assertion.issuer.clone());
    t.check(trace::AUDIENCE, conditions::check_audience(&assertion, exp))?;
    let bearer_irt = t.check(trace::BEARER, conditions::check_bearer(&assertion, exp, now))?;
    t.check(trace::CONDITIONS, conditions::check_conditions(&assertion, exp, now))?;
    t.note(trace::CONDITIONS, || {
        format!(
            "NotBefore {}, NotOnOrAfter {}, clock skew allowance {} s",
            assertion.not_before.as_deref().unwrap_or("(none)"),
            assertion.not_on_or_after.as_deref().unwrap_or("(none)"),
            exp.clock_skew.num_seconds()
        )
    });
    t.check(
        trace::ISSUE_INSTANT,
        conditions::check_issue_instant(&envelope.issue_instant, exp.clock_skew, now)
            .and_then(|()| conditions::check_issue_instant(&assertion.issue_instant, exp.clock_skew, now)),
    )?;
    let in_response_to = t.check(
        trace::IN_RESPONSE_TO,
        conditions::check_in_response_to(&envelope, shape.root_signed, bearer_irt, exp),
    )?;
    t.note(trace::IN_RESPONSE_TO, || match &in_response_to {
        Some(id) => format!("answers request {id}"),
        None => "unsolicited (IdP-initiated)".to_string(),
    });
    if assertion.id.is_empty() {
        return Err(Rejection::Malformed("assertion without ID".into()));
    }
    Ok(Verified {
        response_id: envelope.id,
        in_response_to,
        replay_until: conditions::replay_horizon(&assertion, exp.clock_skew, now),
        assertion,
    })
}

/// The single assertion under a Response. `response_signed` says whether the Response around
/// it was verified; an encrypted assertion without that must carry its own valid signature.
fn consume_assertion(
    response: roxmltree::Node,
    response_signed: bool,
    exp: &Expectations,
    sp_key: &[&PKey<Private>],
    t: &mut Trace,
) -> Result<AssertionFields, Rejection> {
    if let Some(plain) = child(response, NS_SAML, "Assertion") {
        t.skipped(trace::DECRYPTION, "the assertion is not encrypted");
        return if response_signed {
            t.check(trace::ASSERTION, assertion::read(plain))
        } else {
            t.check(trace::SIGNATURE, Err(Rejection::AssertionNotSigned))
        };
    }
    let result = consume_encrypted(response, response_signed, exp, sp_key);
    let fields = t.check(trace::DECRYPTION, result)?;
    t.passed(trace::ASSERTION, String::new);
    Ok(fields)
}

fn consume_encrypted(
    response: roxmltree::Node,
    response_signed: bool,
    exp: &Expectations,
    sp_key: &[&PKey<Private>],
) -> Result<AssertionFields, Rejection> {
    let encrypted = child(response, NS_SAML, "EncryptedAssertion").ok_or(Rejection::AssertionNotSigned)?;
    if !response_signed && exp.encryption.require_signed_response {
        return Err(Rejection::EncryptionPolicy("the Response around the encrypted assertion is not signed"));
    }
    if exp.encryption.gcm_only && !decrypt::uses_gcm(encrypted) {
        return Err(Rejection::EncryptionPolicy("content encryption other than AES-GCM"));
    }
    let unauthenticated = !response_signed;
    decrypt_and_read(encrypted, response_signed, exp, sp_key).map_err(|r| {
        // An unsigned Response leaves the ciphertext unauthenticated until the inner signature
        // is checked: whatever went wrong from decryption through the inner signature answers
        // one refusal (one code, one status, one page; `login::finish` evens out the time), so a
        // tampered ciphertext teaches an attacker nothing. The precise cause goes to the log.
        if unauthenticated && !matches!(r, Rejection::DecryptionFailed(_)) {
            Rejection::DecryptionFailed(format!("after decryption: {} ({r})", r.code()))
        } else {
            r
        }
    })
}

fn decrypt_and_read(
    encrypted: roxmltree::Node,
    response_signed: bool,
    exp: &Expectations,
    sp_key: &[&PKey<Private>],
) -> Result<AssertionFields, Rejection> {
    let wrapped = decrypt::decrypt_assertion(encrypted, sp_key)?;
    xml::scan(&wrapped)?;
    let inner_doc = xml::parse(&wrapped)?;
    let inner_signed = xml::check_decrypted_shape(&inner_doc, exp.policy)?;
    let inner = child(inner_doc.root_element(), NS_SAML, "Assertion").ok_or(Rejection::AssertionNotSigned)?;
    if inner_signed {
        let signed = signature::verify_document(&inner_doc, exp.idp_keys, exp.policy)?;
        if !signed.contains(&inner.id()) {
            return Err(Rejection::AssertionNotSigned);
        }
        return assertion::read(inner);
    }
    if !response_signed {
        return Err(Rejection::AssertionNotSigned);
    }
    assertion::read(inner)
}

fn read_envelope(response: roxmltree::Node) -> Envelope {
    let status = child(response, NS_SAMLP, "Status")
        .and_then(|s| child(s, NS_SAMLP, "StatusCode"))
        .and_then(|c| c.attribute("Value"))
        .unwrap_or("(missing)")
        .to_string();
    Envelope {
        id: response.attribute("ID").unwrap_or_default().to_string(),
        destination: response.attribute("Destination").map(str::to_string),
        in_response_to: response.attribute("InResponseTo").map(str::to_string),
        issue_instant: response.attribute("IssueInstant").unwrap_or_default().to_string(),
        issuer: child(response, NS_SAML, "Issuer").map(|i| text_content(i).trim().to_string()),
        status,
    }
}

/// Best-effort read of the unverified issuer and NameID, for the failure log.
pub fn peek(encoded: &str) -> Claimed {
    let Ok(xml) = xml::decode_form_value(encoded) else { return Claimed::default() };
    if xml::scan(&xml).is_err() {
        return Claimed::default();
    }
    let Ok(doc) = xml::parse(&xml) else { return Claimed::default() };
    let clip = |s: String| s.trim().chars().take(200).collect::<String>();
    Claimed {
        issuer: doc.descendants().find(|n| is(*n, NS_SAML, "Issuer")).map(|n| clip(text_content(n))),
        name_id: doc.descendants().find(|n| is(*n, NS_SAML, "NameID")).map(|n| clip(text_content(n))),
    }
}
