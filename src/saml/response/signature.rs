//! The one place that verifies XML signatures: enveloped, same-document XML-DSig with exclusive
//! c14n, checked over the very roxmltree document the pipeline then reads values from ("parse
//! once, verify exactly the bytes you read values from"). The intake in `saml::xml` has already
//! refused every shape spconnect does not accept; this module re-checks the exact shape it
//! needs and refuses anything else with `SAML_SIGNATURE_INVALID` — there is no fallback.
//!
//! Order of checks for one `ds:Signature` (each failure is a refusal):
//! 1. Signature = SignedInfo, SignatureValue, optional KeyInfo (ignored: keys come only from the
//!    IdP metadata); SignedInfo = CanonicalizationMethod (exc-c14n, optional
//!    InclusiveNamespaces), SignatureMethod (policy), exactly one Reference.
//! 2. Reference: URI `#ID` naming exactly one element in the document, which is the Signature's
//!    parent (or `""` when that parent is the document element); Transforms exactly
//!    enveloped-signature then exc-c14n (optional InclusiveNamespaces); DigestMethod (policy).
//! 3. SignatureValue over canonical SignedInfo verifies with one of the cached IdP keys
//!    (RSA PKCS#1 v1.5, or ECDSA with the XML-DSig r||s form converted to DER).
//! 4. Digest of the canonical referenced element minus this Signature equals DigestValue
//!    (constant-time comparison).
//!
//! The result names the signed element by roxmltree `NodeId`; callers read values only below it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use base64::Engine;
use openssl::bn::BigNum;
use openssl::ecdsa::EcdsaSig;
use openssl::hash::{Hasher, MessageDigest};
use openssl::pkey::{Id, PKey, Public};
use openssl::sign::Verifier;
use roxmltree::{Document, Node, NodeId};

use crate::saml::c14n::{self, PrefixList};
use crate::saml::xml::AlgorithmPolicy;
use crate::saml::{is, Rejection, ALG_ENVELOPED, ALG_EXC_C14N, NS_DS};

pub const NS_EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";

/// IdP signing keys, parsed once from the metadata's certificates.
pub type IdpKeys = Arc<[PKey<Public>]>;

/// Parse the IdP's signing certificates into public keys. A certificate that does not parse is
/// an error, not skipped: the metadata import validated them, so this means corruption.
pub fn parse_idp_keys(certs_der: &[Vec<u8>]) -> Result<IdpKeys, Rejection> {
    certs_der
        .iter()
        .map(|der| {
            openssl::x509::X509::from_der(der).and_then(|c| c.public_key()).map_err(|_| Rejection::SignatureInvalid)
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Arc::from)
}

/// Ready IdP keys per SSO configuration, kept until the stored certificates change. The cache is
/// keyed by the exact stored certificate list, so any import (web, CLI in another process, demo)
/// is seen on the next login without an explicit invalidation.
#[derive(Default)]
pub struct IdpKeyCache {
    entries: Mutex<HashMap<i64, CachedKeys>>,
}

/// The stored certificate list a configuration's keys were parsed from, the keys, and each
/// certificate's validity (notBefore, notAfter; unix seconds), in the same order.
type CachedKeys = (String, IdpKeys, Validity);

/// (notBefore, notAfter) of each certificate, unix seconds, in the order of the keys.
type Validity = Arc<[(i64, i64)]>;

/// The IdP keys that may verify a response now.
pub enum ValidKeys {
    Some(IdpKeys),
    /// The metadata holds no signing certificate.
    None,
    /// Every signing certificate has expired; `last_expiry` is the latest notAfter (unix).
    AllExpired {
        last_expiry: i64,
    },
    /// None is valid yet (and some is not expired); `first_start` is the earliest notBefore.
    NotYetValid {
        first_start: i64,
    },
}

impl IdpKeyCache {
    /// Keys for `sso_id` whose metadata stored `stored_certs` (the JSON list in the database).
    pub fn get(
        &self,
        sso_id: i64,
        stored_certs: &str,
        certs_der: impl FnOnce() -> Vec<Vec<u8>>,
    ) -> Result<IdpKeys, Rejection> {
        let (keys, _) = self.load(sso_id, stored_certs, certs_der)?;
        Ok(keys)
    }

    /// `get`, keeping only the keys whose certificate is valid at `now` (unix seconds): an
    /// expired IdP certificate is no longer trusted.
    pub fn get_valid(
        &self,
        sso_id: i64,
        stored_certs: &str,
        certs_der: impl FnOnce() -> Vec<Vec<u8>>,
        now: i64,
    ) -> Result<ValidKeys, Rejection> {
        let (keys, validity) = self.load(sso_id, stored_certs, certs_der)?;
        if keys.is_empty() {
            return Ok(ValidKeys::None);
        }
        let valid_now = |(from, until): &(i64, i64)| *from <= now && now < *until;
        if validity.iter().all(valid_now) {
            return Ok(ValidKeys::Some(keys));
        }
        let valid: Vec<PKey<Public>> =
            keys.iter().zip(validity.iter()).filter(|(_, v)| valid_now(v)).map(|(k, _)| k.clone()).collect();
        if valid.is_empty() {
            if validity.iter().all(|(_, until)| *until <= now) {
                return Ok(ValidKeys::AllExpired { last_expiry: validity.iter().map(|v| v.1).max().unwrap_or(0) });
            }
            return Ok(ValidKeys::NotYetValid {
                first_start: validity.iter().filter(|v| v.1 > now).map(|v| v.0).min().unwrap_or(0),
            });
        }
        Ok(ValidKeys::Some(Arc::from(valid)))
    }

    fn load(
        &self,
        sso_id: i64,
        stored_certs: &str,
        certs_der: impl FnOnce() -> Vec<Vec<u8>>,
    ) -> Result<(IdpKeys, Validity), Rejection> {
        if let Ok(map) = self.entries.lock() {
            if let Some((stored, keys, validity)) = map.get(&sso_id) {
                if stored == stored_certs {
                    return Ok((keys.clone(), validity.clone()));
                }
            }
        }
        let der = certs_der();
        let keys = parse_idp_keys(&der)?;
        let validity: Validity = der
            .iter()
            .map(|d| {
                let cert = openssl::x509::X509::from_der(d).map_err(|_| Rejection::SignatureInvalid)?;
                let at = |t| crate::saml::idp_metadata::asn1_to_utc(t).map(|t| t.timestamp());
                Ok((
                    at(cert.not_before()).ok_or(Rejection::SignatureInvalid)?,
                    at(cert.not_after()).ok_or(Rejection::SignatureInvalid)?,
                ))
            })
            .collect::<Result<Vec<_>, Rejection>>()?
            .into();
        if let Ok(mut map) = self.entries.lock() {
            map.insert(sso_id, (stored_certs.to_string(), keys.clone(), validity.clone()));
        }
        Ok((keys, validity))
    }

    /// Forget a configuration's keys (on IdP import or deletion).
    pub fn invalidate(&self, sso_id: i64) {
        if let Ok(mut map) = self.entries.lock() {
            map.remove(&sso_id);
        }
    }
}

const SIG_RSA_SHA1: &str = "http://www.w3.org/2000/09/xmldsig#rsa-sha1";
const SIG_RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
const SIG_RSA_SHA384: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384";
const SIG_RSA_SHA512: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512";
const SIG_ECDSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256";
const SIG_ECDSA_SHA384: &str = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384";
const SIG_ECDSA_SHA512: &str = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512";
const DIGEST_SHA1: &str = "http://www.w3.org/2000/09/xmldsig#sha1";
const DIGEST_SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";
const DIGEST_SHA384: &str = "http://www.w3.org/2001/04/xmldsig-more#sha384";
const DIGEST_SHA512: &str = "http://www.w3.org/2001/04/xmlenc#sha512";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum KeyKind {
    Rsa,
    Ec,
}

fn signature_method(alg: &str, policy: AlgorithmPolicy) -> Result<(KeyKind, MessageDigest), Rejection> {
    Ok(match alg {
        SIG_RSA_SHA256 => (KeyKind::Rsa, MessageDigest::sha256()),
        SIG_RSA_SHA384 => (KeyKind::Rsa, MessageDigest::sha384()),
        SIG_RSA_SHA512 => (KeyKind::Rsa, MessageDigest::sha512()),
        SIG_ECDSA_SHA256 => (KeyKind::Ec, MessageDigest::sha256()),
        SIG_ECDSA_SHA384 => (KeyKind::Ec, MessageDigest::sha384()),
        SIG_ECDSA_SHA512 => (KeyKind::Ec, MessageDigest::sha512()),
        SIG_RSA_SHA1 if policy.allow_sha1 => (KeyKind::Rsa, MessageDigest::sha1()),
        other => return Err(Rejection::AlgorithmForbidden(other.chars().take(80).collect())),
    })
}

fn digest_method(alg: &str, policy: AlgorithmPolicy) -> Result<MessageDigest, Rejection> {
    Ok(match alg {
        DIGEST_SHA256 => MessageDigest::sha256(),
        DIGEST_SHA384 => MessageDigest::sha384(),
        DIGEST_SHA512 => MessageDigest::sha512(),
        DIGEST_SHA1 if policy.allow_sha1 => MessageDigest::sha1(),
        other => return Err(Rejection::AlgorithmForbidden(other.chars().take(80).collect())),
    })
}

/// Why a signature was refused, for the debug log only; every variant is `SAML_SIGNATURE_INVALID`
/// (or the algorithm code) to the caller.
fn invalid(reason: &str) -> Rejection {
    tracing::debug!(reason, "signature refused");
    Rejection::SignatureInvalid
}

/// The element children of `node`; text between them must be whitespace.
fn element_children<'a, 'i>(node: Node<'a, 'i>) -> Result<Vec<Node<'a, 'i>>, Rejection> {
    let mut v = Vec::with_capacity(4);
    for c in node.children() {
        if c.is_element() {
            v.push(c);
        } else if c.is_text() && !c.text().unwrap_or("").chars().all(|ch| matches!(ch, ' ' | '\t' | '\r' | '\n')) {
            return Err(invalid("text inside a signature structure element"));
        }
    }
    Ok(v)
}

fn algorithm<'a>(node: Node<'a, '_>) -> &'a str {
    node.attribute("Algorithm").unwrap_or("")
}

/// A c14n method element's parameters: nothing, or one ec:InclusiveNamespaces with PrefixList.
fn prefix_list<'a>(method: Node<'a, '_>) -> Result<PrefixList<'a>, Rejection> {
    let params = element_children(method)?;
    match params.as_slice() {
        [] => Ok(PrefixList::default()),
        [p] if is(*p, NS_EXC_C14N, "InclusiveNamespaces") => {
            if p.attributes().any(|a| a.name() != "PrefixList" || a.namespace().is_some())
                || !element_children(*p)?.is_empty()
            {
                return Err(invalid("unexpected InclusiveNamespaces content"));
            }
            Ok(PrefixList::parse(p.attribute("PrefixList").unwrap_or("")))
        }
        _ => Err(invalid("unexpected c14n parameters")),
    }
}

fn base64_text(node: Node) -> Result<Vec<u8>, Rejection> {
    if node.children().any(|c| c.is_element()) {
        return Err(invalid("element inside a base64 value"));
    }
    let compact: Vec<u8> = crate::saml::text_content(node).bytes().filter(|b| !b" \t\r\n".contains(b)).collect();
    base64::engine::general_purpose::STANDARD.decode(compact).map_err(|_| invalid("value is not base64"))
}

fn canonical(apex: Node, exclude: Option<NodeId>, prefixes: &PrefixList, out: &mut Vec<u8>) -> Result<(), Rejection> {
    out.clear();
    c14n::exclusive(apex, exclude, prefixes, out).map_err(|e| invalid(&e.0))
}

/// Verify every `ds:Signature` in `doc`; all must verify. Returns the signed elements.
pub fn verify_document(
    doc: &Document,
    keys: &[PKey<Public>],
    policy: AlgorithmPolicy,
) -> Result<Vec<NodeId>, Rejection> {
    if keys.is_empty() {
        return Err(invalid("no IdP signing key configured"));
    }
    let mut signed = Vec::with_capacity(2);
    let mut buf = Vec::with_capacity(8 * 1024);
    for sig in doc.descendants().filter(|n| is(*n, NS_DS, "Signature")) {
        signed.push(verify_signature(doc, sig, keys, policy, &mut buf)?);
    }
    if signed.is_empty() {
        return Err(Rejection::Unsigned);
    }
    Ok(signed)
}

/// Verify the one enveloped `ds:Signature` on the document element (signed metadata): it must
/// be a direct child of the root and sign the root. Other signatures in the document are not
/// looked at; the root's covers them.
pub fn verify_enveloped_root(doc: &Document, keys: &[PKey<Public>], policy: AlgorithmPolicy) -> Result<(), Rejection> {
    if keys.is_empty() {
        return Err(invalid("no key to verify with"));
    }
    let root = doc.root_element();
    let sigs: Vec<_> = root.children().filter(|n| is(*n, NS_DS, "Signature")).collect();
    let sig = match sigs.as_slice() {
        [] => return Err(Rejection::Unsigned),
        [one] => *one,
        _ => return Err(invalid("more than one signature on the root element")),
    };
    let mut buf = Vec::with_capacity(64 * 1024);
    let signed = verify_signature(doc, sig, keys, policy, &mut buf)?;
    if signed != root.id() {
        return Err(invalid("the signature does not sign the root element"));
    }
    Ok(())
}

/// One `ds:Signature` taken apart, after every structural and policy check.
struct Parsed<'a, 'i> {
    target: Node<'a, 'i>,
    signed_info: Node<'a, 'i>,
    si_prefixes: PrefixList<'a>,
    kind: KeyKind,
    sig_md: MessageDigest,
    ref_prefixes: PrefixList<'a>,
    ref_md: MessageDigest,
    expected_digest: Vec<u8>,
    signature: Vec<u8>,
}

fn parse_signature<'a, 'i>(
    doc: &'a Document<'i>,
    sig: Node<'a, 'i>,
    policy: AlgorithmPolicy,
) -> Result<Parsed<'a, 'i>, Rejection> {
    // 1. Structure.
    let target = sig.parent_element().ok_or_else(|| invalid("signature without parent"))?;
    let parts = element_children(sig)?;
    let (signed_info, signature_value) = match parts.as_slice() {
        [si, sv] | [si, sv, _] => (*si, *sv),
        _ => return Err(invalid("Signature must hold SignedInfo, SignatureValue and at most KeyInfo")),
    };
    if !is(signed_info, NS_DS, "SignedInfo") || !is(signature_value, NS_DS, "SignatureValue") {
        return Err(invalid("Signature children out of order"));
    }
    if let Some(key_info) = parts.get(2) {
        if !is(*key_info, NS_DS, "KeyInfo") {
            return Err(invalid("unexpected element after SignatureValue"));
        }
    }
    let si_parts = element_children(signed_info)?;
    let [c14n_method, sig_method, reference] = si_parts.as_slice() else {
        return Err(invalid("SignedInfo must hold CanonicalizationMethod, SignatureMethod and one Reference"));
    };
    if !is(*c14n_method, NS_DS, "CanonicalizationMethod")
        || !is(*sig_method, NS_DS, "SignatureMethod")
        || !is(*reference, NS_DS, "Reference")
    {
        return Err(invalid("SignedInfo children out of order"));
    }
    if algorithm(*c14n_method) != ALG_EXC_C14N {
        return Err(Rejection::TransformForbidden(algorithm(*c14n_method).chars().take(80).collect()));
    }
    let si_prefixes = prefix_list(*c14n_method)?;
    let (kind, sig_md) = signature_method(algorithm(*sig_method), policy)?;
    if !element_children(*sig_method)?.is_empty() {
        return Err(invalid("SignatureMethod parameters"));
    }

    // 2. Reference.
    let uri = reference.attribute("URI").ok_or_else(|| invalid("Reference without URI"))?;
    let referenced = match uri.strip_prefix('#') {
        Some(id) if !id.is_empty() => {
            let mut found = doc.descendants().filter(|n| n.is_element() && n.attribute("ID") == Some(id));
            let first = found.next().ok_or_else(|| invalid("Reference to no element"))?;
            if found.next().is_some() {
                return Err(invalid("Reference ID is not unique"));
            }
            first
        }
        None if uri.is_empty() => doc.root_element(),
        _ => return Err(Rejection::ReferenceForbidden(uri.chars().take(80).collect())),
    };
    if referenced != target {
        return Err(Rejection::ReferenceForbidden(uri.chars().take(80).collect()));
    }
    let ref_parts = element_children(*reference)?;
    let [transforms, digest_method_el, digest_value] = ref_parts.as_slice() else {
        return Err(invalid("Reference must hold Transforms, DigestMethod and DigestValue"));
    };
    if !is(*transforms, NS_DS, "Transforms")
        || !is(*digest_method_el, NS_DS, "DigestMethod")
        || !is(*digest_value, NS_DS, "DigestValue")
    {
        return Err(invalid("Reference children out of order"));
    }
    let transform_list = element_children(*transforms)?;
    let [enveloped, exc] = transform_list.as_slice() else {
        return Err(invalid("Transforms must be exactly enveloped-signature and exc-c14n"));
    };
    if !is(*enveloped, NS_DS, "Transform")
        || algorithm(*enveloped) != ALG_ENVELOPED
        || !element_children(*enveloped)?.is_empty()
        || !is(*exc, NS_DS, "Transform")
        || algorithm(*exc) != ALG_EXC_C14N
    {
        return Err(invalid("Transforms must be exactly enveloped-signature and exc-c14n"));
    }
    let ref_prefixes = prefix_list(*exc)?;
    let ref_md = digest_method(algorithm(*digest_method_el), policy)?;
    if !element_children(*digest_method_el)?.is_empty() {
        return Err(invalid("DigestMethod parameters"));
    }
    let expected_digest = base64_text(*digest_value)?;
    let signature = base64_text(signature_value)?;
    Ok(Parsed { target, signed_info, si_prefixes, kind, sig_md, ref_prefixes, ref_md, expected_digest, signature })
}

fn verify_signature(
    doc: &Document,
    sig: Node,
    keys: &[PKey<Public>],
    policy: AlgorithmPolicy,
    buf: &mut Vec<u8>,
) -> Result<NodeId, Rejection> {
    let p = parse_signature(doc, sig, policy)?;

    // 3. SignatureValue over canonical SignedInfo, with a key from the metadata.
    canonical(p.signed_info, None, &p.si_prefixes, buf)?;
    if !keys.iter().any(|key| verify_with(key, p.kind, p.sig_md, buf, &p.signature)) {
        return Err(invalid("SignatureValue does not verify with any IdP key"));
    }

    // 4. Digest of the referenced element without this Signature.
    canonical(p.target, Some(sig.id()), &p.ref_prefixes, buf)?;
    let mut hasher = Hasher::new(p.ref_md).map_err(|_| invalid("digest"))?;
    hasher.update(buf).map_err(|_| invalid("digest"))?;
    let actual = hasher.finish().map_err(|_| invalid("digest"))?;
    if actual.len() != p.expected_digest.len() || !openssl::memcmp::eq(&actual, &p.expected_digest) {
        return Err(invalid("DigestValue does not match the referenced element"));
    }
    Ok(p.target.id())
}

/// The canonical bytes a signature's Reference digests (the signed element without its enveloped
/// Signature), for the differential test against xmlsec's pre-digest buffer. Verifies nothing.
pub fn referenced_canonical_form(
    doc: &Document,
    signed_element: NodeId,
    policy: AlgorithmPolicy,
) -> Result<Vec<u8>, Rejection> {
    let element = doc.get_node(signed_element).ok_or_else(|| invalid("no such node"))?;
    let sig =
        element.children().find(|c| is(*c, NS_DS, "Signature")).ok_or_else(|| invalid("no enveloped signature"))?;
    let p = parse_signature(doc, sig, policy)?;
    let mut out = Vec::new();
    canonical(p.target, Some(sig.id()), &p.ref_prefixes, &mut out)?;
    Ok(out)
}

fn verify_with(key: &PKey<Public>, kind: KeyKind, md: MessageDigest, data: &[u8], signature: &[u8]) -> bool {
    match (kind, key.id()) {
        (KeyKind::Rsa, Id::RSA) => {
            let Ok(mut v) = Verifier::new(md, key) else { return false };
            v.verify_oneshot(signature, data).unwrap_or(false)
        }
        (KeyKind::Ec, Id::EC) => {
            let Some(der) = ecdsa_der(key, signature) else { return false };
            let Ok(mut v) = Verifier::new(md, key) else { return false };
            v.verify_oneshot(&der, data).unwrap_or(false)
        }
        _ => false,
    }
}

/// XML-DSig ECDSA signatures are r||s, each as long as the curve order (RFC 4051 §3.3); OpenSSL
/// wants DER. Any other length is refused.
fn ecdsa_der(key: &PKey<Public>, signature: &[u8]) -> Option<Vec<u8>> {
    let ec = key.ec_key().ok()?;
    let order_bits = ec.group().order_bits();
    let half = usize::try_from(order_bits).ok()?.div_ceil(8);
    if signature.len() != 2 * half {
        return None;
    }
    let (r, s) = signature.split_at(half);
    let sig = EcdsaSig::from_private_components(BigNum::from_slice(r).ok()?, BigNum::from_slice(s).ok()?).ok()?;
    sig.to_der().ok()
}

#[cfg(test)]
mod tests {
    //! Negative paths of the verifier. Positive interoperability (xmlsec1- and pysaml2-signed
    //! documents) is in `tests/it/verifier_differential.rs`; the documents here are signed by a
    //! small test signer built on this module's own c14n, which is enough to reach each check.
    #![allow(clippy::unwrap_used)]

    use openssl::ec::{EcGroup, EcKey};
    use openssl::nid::Nid;
    use openssl::pkey::Private;
    use openssl::rsa::Rsa;
    use openssl::sign::Signer;

    use super::*;

    const SEED: &str = include_str!("../../../fuzz/corpus/response_intake/seed-pysaml2-1.xml");
    const SEED_IDP: &[u8] = include_bytes!("../../../fuzz/fixtures/idp.crt");

    fn seed_keys() -> IdpKeys {
        let cert = openssl::x509::X509::from_pem(SEED_IDP).unwrap();
        parse_idp_keys(&[cert.to_der().unwrap()]).unwrap()
    }

    fn verify_text(xml: &str, keys: &[PKey<Public>], policy: AlgorithmPolicy) -> Result<Vec<String>, Rejection> {
        let doc = Document::parse(crate::saml::xml::without_declaration(xml)).unwrap();
        let ids = verify_document(&doc, keys, policy)?;
        Ok(ids.iter().map(|id| doc.get_node(*id).unwrap().attribute("ID").unwrap().to_string()).collect())
    }

    fn public(key: &PKey<Private>) -> PKey<Public> {
        PKey::public_key_from_der(&key.public_key_to_der().unwrap()).unwrap()
    }

    /// Fill DigestValue and SignatureValue of the one Signature template in `xml`.
    fn sign(xml: &str, key: &PKey<Private>, sig_alg: &str, digest_alg: &str, md: MessageDigest, ecdsa: bool) -> String {
        let xml = xml.replace("SIGALG", sig_alg).replace("DIGESTALG", digest_alg);
        let doc = Document::parse(&xml).unwrap();
        let sig = doc.descendants().find(|n| is(*n, NS_DS, "Signature")).unwrap();
        let mut buf = Vec::new();
        canonical(sig.parent_element().unwrap(), Some(sig.id()), &PrefixList::default(), &mut buf).unwrap();
        let digest = base64::engine::general_purpose::STANDARD.encode(openssl::hash::hash(md, &buf).unwrap());
        let xml =
            xml.replace("<ds:DigestValue></ds:DigestValue>", &format!("<ds:DigestValue>{digest}</ds:DigestValue>"));
        let doc = Document::parse(&xml).unwrap();
        let si = doc.descendants().find(|n| is(*n, NS_DS, "SignedInfo")).unwrap();
        canonical(si, None, &PrefixList::default(), &mut buf).unwrap();
        let mut signer = Signer::new(md, key).unwrap();
        let mut value = signer.sign_oneshot_to_vec(&buf).unwrap();
        if ecdsa {
            let sig = EcdsaSig::from_der(&value).unwrap();
            let half = usize::try_from(key.ec_key().unwrap().group().order_bits()).unwrap().div_ceil(8);
            value = [sig.r().to_vec_padded(half as i32).unwrap(), sig.s().to_vec_padded(half as i32).unwrap()].concat();
        }
        let value = base64::engine::general_purpose::STANDARD.encode(value);
        xml.replace(
            "<ds:SignatureValue></ds:SignatureValue>",
            &format!("<ds:SignatureValue>{value}</ds:SignatureValue>"),
        )
    }

    const TEMPLATE: &str = r##"<a:Assertion xmlns:a="urn:oasis:names:tc:SAML:2.0:assertion" ID="_a1"><a:Issuer>idp</a:Issuer><ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="SIGALG"/><ds:Reference URI="#_a1"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/><ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms><ds:DigestMethod Algorithm="DIGESTALG"/><ds:DigestValue></ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue></ds:SignatureValue></ds:Signature><a:Subject><a:NameID>alice@example.com</a:NameID></a:Subject></a:Assertion>"##;

    fn rsa() -> PKey<Private> {
        PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap()
    }

    fn rsa_sha256(key: &PKey<Private>) -> String {
        sign(TEMPLATE, key, SIG_RSA_SHA256, DIGEST_SHA256, MessageDigest::sha256(), false)
    }

    #[test]
    fn a_pysaml2_signature_verifies_and_names_the_signed_assertion() {
        let ids = verify_text(SEED, &seed_keys(), AlgorithmPolicy::default()).unwrap();
        assert_eq!(ids.len(), 1);
        assert!(SEED.contains(&format!(r#"Assertion Version="2.0" ID="{}""#, ids[0])));
    }

    #[test]
    fn the_test_signer_round_trips_rsa_and_ecdsa() {
        let key = rsa();
        assert_eq!(verify_text(&rsa_sha256(&key), &[public(&key)], AlgorithmPolicy::default()).unwrap(), ["_a1"]);
        for (nid, sig_alg, digest_alg, md) in [
            (Nid::X9_62_PRIME256V1, SIG_ECDSA_SHA256, DIGEST_SHA256, MessageDigest::sha256()),
            (Nid::SECP384R1, SIG_ECDSA_SHA384, DIGEST_SHA384, MessageDigest::sha384()),
            (Nid::SECP521R1, SIG_ECDSA_SHA512, DIGEST_SHA512, MessageDigest::sha512()),
        ] {
            let ec = PKey::from_ec_key(EcKey::generate(&EcGroup::from_curve_name(nid).unwrap()).unwrap()).unwrap();
            let signed = sign(TEMPLATE, &ec, sig_alg, digest_alg, md, true);
            assert_eq!(verify_text(&signed, &[public(&ec)], AlgorithmPolicy::default()).unwrap(), ["_a1"], "{nid:?}");
            // An RSA key never verifies an ECDSA signature, and a truncated r||s is refused.
            assert_eq!(
                verify_text(&signed, &[public(&key)], AlgorithmPolicy::default()),
                Err(Rejection::SignatureInvalid)
            );
        }
    }

    #[test]
    fn a_digest_mismatch_is_refused() {
        let tampered = SEED.replace("alice@example.com", "mallory@example.com");
        assert_eq!(verify_text(&tampered, &seed_keys(), AlgorithmPolicy::default()), Err(Rejection::SignatureInvalid));
        let key = rsa();
        let tampered = rsa_sha256(&key).replace(">idp<", ">evil<");
        assert_eq!(
            verify_text(&tampered, &[public(&key)], AlgorithmPolicy::default()),
            Err(Rejection::SignatureInvalid)
        );
    }

    #[test]
    fn a_signature_mismatch_is_refused() {
        // SignedInfo changed (the Reference URI is the same element, the digest recomputed by
        // nobody): the SignatureValue no longer matches.
        let start = SEED.find("<ns2:SignatureValue>").unwrap() + "<ns2:SignatureValue>".len();
        let mut flipped = SEED.to_string();
        let c = if &SEED[start..start + 1] == "A" { "B" } else { "A" };
        flipped.replace_range(start..start + 1, c);
        assert_eq!(verify_text(&flipped, &seed_keys(), AlgorithmPolicy::default()), Err(Rejection::SignatureInvalid));
        let edited = SEED.replacen(
            r#"Algorithm="http://www.w3.org/2001/04/xmlenc#sha256""#,
            r#"Algorithm="http://www.w3.org/2001/04/xmlenc#sha512""#,
            1,
        );
        assert_eq!(verify_text(&edited, &seed_keys(), AlgorithmPolicy::default()), Err(Rejection::SignatureInvalid));
    }

    #[test]
    fn a_key_not_in_the_metadata_is_refused() {
        let (idp, attacker) = (rsa(), rsa());
        let forged = rsa_sha256(&attacker);
        assert_eq!(verify_text(&forged, &[public(&idp)], AlgorithmPolicy::default()), Err(Rejection::SignatureInvalid));
        // With several metadata keys, one that verifies is enough.
        assert_eq!(
            verify_text(&forged, &[public(&idp), public(&attacker)], AlgorithmPolicy::default()).unwrap(),
            ["_a1"]
        );
        assert_eq!(verify_text(&forged, &[], AlgorithmPolicy::default()), Err(Rejection::SignatureInvalid));
    }

    #[test]
    fn sha1_is_refused_unless_the_policy_allows_it() {
        let key = rsa();
        let sha1 = sign(TEMPLATE, &key, SIG_RSA_SHA1, DIGEST_SHA1, MessageDigest::sha1(), false);
        let keys = [public(&key)];
        assert!(matches!(verify_text(&sha1, &keys, AlgorithmPolicy::default()), Err(Rejection::AlgorithmForbidden(_))));
        assert_eq!(verify_text(&sha1, &keys, AlgorithmPolicy { allow_sha1: true }).unwrap(), ["_a1"]);
        // SHA-1 digest under an RSA-SHA256 signature: the digest alone is refused too.
        let mixed = sign(TEMPLATE, &key, SIG_RSA_SHA256, DIGEST_SHA1, MessageDigest::sha1(), false);
        assert!(matches!(
            verify_text(&mixed, &keys, AlgorithmPolicy::default()),
            Err(Rejection::AlgorithmForbidden(_))
        ));
    }

    #[test]
    fn shapes_outside_the_one_we_verify_are_refused() {
        let key = rsa();
        let keys = [public(&key)];
        let good = rsa_sha256(&key);
        let enveloped = r#"<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>"#;
        let cases = [
            ("only exc-c14n", good.replace(enveloped, "")),
            ("transforms swapped", good.replace(enveloped, "").replace("</ds:Transforms>", &format!("{enveloped}</ds:Transforms>"))),
            ("reference to another element", good.replace(r##"URI="#_a1""##, r##"URI="#_other""##).replace("<a:Subject>", r#"<a:Subject ID="_other">"#)),
            ("reference without URI", good.replace(r##" URI="#_a1""##, "")),
            ("second reference", good.replace("</ds:Reference>", "</ds:Reference><ds:Reference/>")),
            ("element in SignatureValue", good.replace("</ds:SignatureValue>", "<x/></ds:SignatureValue>")),
            ("unknown element after KeyInfo", good.replace("</ds:Signature>", "<ds:KeyInfo/><ds:Object/></ds:Signature>")),
            ("inclusive c14n", good.replace(r#"<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>"#, r#"<ds:CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"/>"#)),
            ("InclusiveNamespaces in a foreign namespace", good.replace(r#"<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>"#, r#"<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"><x:InclusiveNamespaces xmlns:x="urn:x" PrefixList="a"/></ds:CanonicalizationMethod>"#)),
            ("HMAC output length", good.replace(&format!(r#"<ds:SignatureMethod Algorithm="{SIG_RSA_SHA256}"/>"#), &format!(r#"<ds:SignatureMethod Algorithm="{SIG_RSA_SHA256}"><ds:HMACOutputLength>8</ds:HMACOutputLength></ds:SignatureMethod>"#))),
        ];
        for (name, xml) in cases {
            let got = verify_text(&xml, &keys, AlgorithmPolicy::default());
            assert!(
                matches!(
                    got,
                    Err(Rejection::SignatureInvalid
                        | Rejection::ReferenceForbidden(_)
                        | Rejection::TransformForbidden(_))
                ),
                "{name}: {got:?}"
            );
        }
        assert_eq!(verify_text(&good, &keys, AlgorithmPolicy::default()).unwrap(), ["_a1"]);
    }

    #[test]
    fn the_key_cache_parses_once_and_follows_metadata_changes() {
        let cert = openssl::x509::X509::from_pem(SEED_IDP).unwrap().to_der().unwrap();
        let cache = IdpKeyCache::default();
        let mut parses = 0;
        for _ in 0..3 {
            cache
                .get(7, "v1", || {
                    parses += 1;
                    vec![cert.clone()]
                })
                .unwrap();
        }
        assert_eq!(parses, 1);
        let k = cache.get(7, "v2", || {
            parses += 1;
            vec![cert.clone(), cert.clone()]
        });
        assert_eq!((parses, k.unwrap().len()), (2, 2));
        cache.invalidate(7);
        assert!(cache.get(7, "v2", || vec![b"not a certificate".to_vec()]).is_err());
    }
}
