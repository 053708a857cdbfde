//! The differential oracle: samael 0.0.22 with libxml2 + libxmlsec1 (the verifier spconnect used
//! before its own), run on the same documents as `saml::response::signature`. Shared by the
//! integration test `verifier_differential` and the fuzz target `verifier_differential`.
//!
//! A verdict is taken per stage: the outer document, then (for an EncryptedAssertion) the
//! decrypted assertion. The intake (`saml::xml`) runs first for both, as in production: what it
//! refuses never reaches either verifier. Accepted verdicts name the outermost signed element by
//! its ID (samael: the root of the reduced document), so "both accept" also means "both say the
//! same element is signed".

use openssl::pkey::{PKey, Private, Public};
use samael::crypto::{AllowedSignatureAlgorithm, CertificateDer, Crypto, CryptoProvider, ReduceMode};
use spconnect::saml::response::{decrypt, signature};
use spconnect::saml::xml::{self, AlgorithmPolicy};
use spconnect::saml::{NS_SAML, NS_SAMLP};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Refused before any verifier ran (same for both by construction), with its reason code.
    Intake(&'static str),
    /// The verifier accepted; the ID of the outermost signed element and the canonical bytes
    /// digested for it (xmlsec's pre-digest buffer; ours recomputed), so agreement is byte-exact.
    Accepted(String, Vec<u8>),
    Refused,
}

impl Verdict {
    pub fn accepted(&self) -> bool {
        matches!(self, Verdict::Accepted(..))
    }
}

/// Per-stage verdicts of (ours, oracle).
#[derive(Debug, Default)]
pub struct Outcome {
    pub stages: Vec<(&'static str, Verdict, Verdict)>,
}

impl Outcome {
    /// Ours accepted a stage the oracle refused: a finding.
    pub fn ours_only(&self) -> Vec<&(&'static str, Verdict, Verdict)> {
        self.stages.iter().filter(|(_, o, t)| o.accepted() && !t.accepted()).collect()
    }
    /// The oracle accepted a stage we refused (stricter, reported).
    pub fn oracle_only(&self) -> Vec<&(&'static str, Verdict, Verdict)> {
        self.stages.iter().filter(|(_, o, t)| !o.accepted() && t.accepted()).collect()
    }
    /// Divergences where ours accepted, xmlsec refused, and xmlsec accepts the same document once
    /// every `ds:KeyInfo` is cut out: xmlsec parses KeyInfo (certificates, key values) even with a
    /// preset key and fails on a malformed one, while spconnect never reads KeyInfo (keys come
    /// only from metadata). KeyInfo is outside SignedInfo and outside the digested element, so
    /// such a divergence cannot change what is verified or read. Anything else is a finding.
    pub fn ours_only_beyond_key_info(&self, xml_text: &str, certs_der: &[Vec<u8>], policy: AlgorithmPolicy) -> bool {
        if self.ours_only().is_empty() {
            return false;
        }
        let stripped = without_key_info(xml_text);
        if stripped == xml_text {
            return true;
        }
        // Only the document stage is re-judged; a decrypted stage's KeyInfo lives inside the
        // ciphertext and is not reachable from here, so it stays a finding.
        self.ours_only()
            .iter()
            .any(|(stage, _, _)| *stage != "document" || !xmlsec_verdict(&stripped, certs_der, policy).accepted())
    }

    pub fn agree(&self) -> bool {
        self.stages.iter().all(|(_, o, t)| o == t)
    }
}

const STRONG: &[AllowedSignatureAlgorithm] = &[
    AllowedSignatureAlgorithm::RsaSha256,
    AllowedSignatureAlgorithm::RsaSha384,
    AllowedSignatureAlgorithm::RsaSha512,
    AllowedSignatureAlgorithm::EcdsaSha256,
    AllowedSignatureAlgorithm::EcdsaSha384,
    AllowedSignatureAlgorithm::EcdsaSha512,
];

/// samael/xmlsec on `xml`: every signature must verify (xmlsec with the metadata certificates,
/// samael's ID registration and algorithm allow-list); the verdict names the root of xmlsec's
/// pre-digest buffer (the outermost signed element) and carries the buffer itself.
///
/// samael's `PreDigest` mode is used rather than the production `ValidateAndMarkNoAncestors`:
/// both run the same xmlsec verification of every signature, but the latter's reduce step then
/// re-matches the pre-digest against the tree and fails on valid documents that carry CDATA or
/// `&#13;` (found by this test: xmlsec1 --verify says OK, reduce says invalid).
pub fn xmlsec_verdict(xml: &str, certs_der: &[Vec<u8>], policy: AlgorithmPolicy) -> Verdict {
    let certs: Vec<CertificateDer> = certs_der.iter().cloned().map(CertificateDer::from).collect();
    let allowed = if policy.allow_sha1 { None } else { Some(STRONG) };
    match Crypto::reduce_xml_to_signed_with_allowed_algorithms(
        xml::without_declaration(xml),
        &certs,
        ReduceMode::PreDigest,
        allowed,
    ) {
        Ok(predigest) => match roxmltree::Document::parse(&predigest) {
            Ok(doc) => {
                Verdict::Accepted(doc.root_element().attribute("ID").unwrap_or("").to_string(), predigest.into_bytes())
            }
            Err(_) => Verdict::Refused,
        },
        Err(_) => Verdict::Refused,
    }
}

/// Our verifier on a parsed document: the ID of the outermost verified element and the canonical
/// bytes we digested for it.
pub fn our_verdict(doc: &roxmltree::Document, keys: &[PKey<Public>], policy: AlgorithmPolicy) -> Verdict {
    match signature::verify_document(doc, keys, policy) {
        Ok(signed) => {
            let Some(outermost) =
                signed.iter().filter_map(|id| doc.get_node(*id)).min_by_key(|n| n.ancestors().count())
            else {
                return Verdict::Refused;
            };
            let bytes = signature::referenced_canonical_form(doc, outermost.id(), policy).unwrap_or_default();
            Verdict::Accepted(outermost.attribute("ID").unwrap_or("").to_string(), bytes)
        }
        Err(_) => Verdict::Refused,
    }
}

/// The document with every `ds:KeyInfo` element cut out of the text (by roxmltree ranges).
pub fn without_key_info(xml_text: &str) -> String {
    let Ok(doc) = roxmltree::Document::parse(xml::without_declaration(xml_text)) else { return xml_text.to_string() };
    let offset = xml_text.len() - xml::without_declaration(xml_text).len();
    let mut ranges: Vec<std::ops::Range<usize>> = doc
        .descendants()
        .filter(|n| spconnect::saml::is(*n, spconnect::saml::NS_DS, "KeyInfo"))
        .map(|n| n.range())
        .collect();
    ranges.sort_by_key(|r| std::cmp::Reverse(r.start));
    let mut out = xml_text.to_string();
    for r in ranges {
        out.replace_range(r.start + offset..r.end + offset, "");
    }
    out
}

/// Run both verifiers over a decoded SAMLResponse document, stage by stage.
pub fn compare(
    xml_text: &str,
    keys: &[PKey<Public>],
    certs_der: &[Vec<u8>],
    sp_key: &PKey<Private>,
    policy: AlgorithmPolicy,
) -> Outcome {
    let mut outcome = Outcome::default();
    let intake = xml::scan(xml_text).and_then(|_| xml::parse(xml_text));
    let doc = match intake {
        Ok(doc) => doc,
        Err(e) => {
            outcome.stages.push(("intake", Verdict::Intake(e.code()), Verdict::Intake(e.code())));
            return outcome;
        }
    };
    let shape = match xml::check_response_shape(&doc, policy) {
        Ok(s) => s,
        Err(e) => {
            outcome.stages.push(("intake", Verdict::Intake(e.code()), Verdict::Intake(e.code())));
            return outcome;
        }
    };
    let any_signature = doc.descendants().any(|n| spconnect::saml::is(n, spconnect::saml::NS_DS, "Signature"));
    let outer_ok = if shape.root_signed || shape.assertion_signed || any_signature {
        let (ours, theirs) = (our_verdict(&doc, keys, policy), xmlsec_verdict(xml_text, certs_der, policy));
        let ok = ours.accepted();
        outcome.stages.push(("document", ours, theirs));
        ok
    } else {
        true
    };
    if !shape.encrypted || !outer_ok {
        return outcome;
    }
    let root = doc.root_element();
    let Some(encrypted) = root.children().find(|c| spconnect::saml::is(*c, NS_SAML, "EncryptedAssertion")) else {
        return outcome;
    };
    debug_assert!(spconnect::saml::is(root, NS_SAMLP, "Response"));
    let wrapped = match decrypt::decrypt_assertion(encrypted, &[sp_key]) {
        Ok(w) => w,
        Err(e) => {
            outcome.stages.push(("decrypt", Verdict::Intake(e.code()), Verdict::Intake(e.code())));
            return outcome;
        }
    };
    let inner = xml::scan(&wrapped).and_then(|_| xml::parse(&wrapped));
    let inner_doc = match inner {
        Ok(d) => d,
        Err(e) => {
            outcome.stages.push(("decrypted intake", Verdict::Intake(e.code()), Verdict::Intake(e.code())));
            return outcome;
        }
    };
    match xml::check_decrypted_shape(&inner_doc, policy) {
        Ok(true) => {
            let (ours, theirs) = (our_verdict(&inner_doc, keys, policy), xmlsec_verdict(&wrapped, certs_der, policy));
            outcome.stages.push(("decrypted assertion", ours, theirs));
        }
        Ok(false) => {}
        Err(e) => outcome.stages.push(("decrypted intake", Verdict::Intake(e.code()), Verdict::Intake(e.code()))),
    }
    outcome
}
