//! Hardened XML intake. Runs before libxml2/xmlsec ever see a byte: bounds the input, refuses
//! DTDs, entities and processing instructions, and checks the *shape* of every signature so
//! that xmlsec is never asked to fetch a URI, run an XSLT or XPath transform, or verify a
//! signature over anything but the element that carries it (samael allows all of these; see
//! shared/deps.md §5).

use std::collections::HashSet;

use base64::Engine;
use quick_xml::events::Event;

use super::{is, Rejection, ALG_ENVELOPED, ALG_EXC_C14N, NS_DS, NS_SAML, NS_SAMLP};

/// Largest `SAMLResponse` form value we read (base64). Real responses are 5–30 KB.
pub const MAX_ENCODED_LEN: usize = 512 * 1024;
/// Largest decoded XML document.
pub const MAX_XML_LEN: usize = 384 * 1024;
const MAX_SIGNATURES: usize = 2;

/// Bounds for one kind of document.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_bytes: usize,
    pub max_depth: usize,
    pub max_elements: usize,
    pub max_attrs_per_element: usize,
}

/// A SAML Response: real ones have a few hundred elements at most.
pub const RESPONSE_LIMITS: Limits =
    Limits { max_bytes: MAX_XML_LEN, max_depth: 40, max_elements: 4_000, max_attrs_per_element: 32 };
/// IdP metadata: Entra's federation metadata is ~60 KB with thousands of elements.
pub const METADATA_LIMITS: Limits =
    Limits { max_bytes: 2 * 1024 * 1024, max_depth: 40, max_elements: 50_000, max_attrs_per_element: 32 };

/// Which algorithms a configuration accepts; SHA-1 only when the admin allowed it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AlgorithmPolicy {
    pub allow_sha1: bool,
}

impl AlgorithmPolicy {
    fn signature_ok(&self, alg: &str) -> bool {
        super::SIGNATURE_ALGS_STRONG.contains(&alg) || (self.allow_sha1 && alg == super::SIGNATURE_ALG_SHA1)
    }
    fn digest_ok(&self, alg: &str) -> bool {
        super::DIGEST_ALGS_STRONG.contains(&alg) || (self.allow_sha1 && alg == super::DIGEST_ALG_SHA1)
    }
}

/// Base64 form value → bounded UTF-8 XML text.
pub fn decode_form_value(value: &str) -> Result<String, Rejection> {
    if value.trim().is_empty() {
        return Err(Rejection::Missing);
    }
    if value.len() > MAX_ENCODED_LEN {
        return Err(Rejection::TooLarge { limit: MAX_ENCODED_LEN });
    }
    let compact: Vec<u8> = value.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    let bytes = base64::engine::general_purpose::STANDARD.decode(&compact).map_err(|_| Rejection::Base64)?;
    if bytes.len() > MAX_XML_LEN {
        return Err(Rejection::TooLarge { limit: MAX_XML_LEN });
    }
    String::from_utf8(bytes).map_err(|_| Rejection::Malformed("not UTF-8".into()))
}

/// Streaming pass: cheap, bounded, and refuses what no SAML message needs before any tree is
/// built.
pub fn scan(xml: &str) -> Result<(), Rejection> {
    scan_with(xml, RESPONSE_LIMITS)
}

pub fn scan_with(xml: &str, limits: Limits) -> Result<(), Rejection> {
    scan_inner(xml, limits, false)
}

/// The streaming pass for IdP metadata: as [`scan_with`] with [`METADATA_LIMITS`], except that
/// comments are allowed (Shibboleth's generated metadata is full of them). Only metadata: a
/// SAML message with a comment is still refused. DTDs, entities and processing instructions
/// stay refused here too.
pub fn scan_metadata(xml: &str) -> Result<(), Rejection> {
    scan_inner(xml, METADATA_LIMITS, true)
}

fn scan_inner(xml: &str, limits: Limits, comments_allowed: bool) -> Result<(), Rejection> {
    let Limits { max_bytes, max_depth, max_elements, max_attrs_per_element } = limits;
    if xml.len() > max_bytes {
        return Err(Rejection::TooLarge { limit: max_bytes });
    }
    let mut reader = quick_xml::Reader::from_str(xml);
    reader.config_mut().check_end_names = true;
    let (mut depth, mut elements) = (0usize, 0usize);
    loop {
        let event = reader.read_event().map_err(|e| Rejection::Malformed(e.to_string()))?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                elements += 1;
                if elements > max_elements {
                    return Err(Rejection::TooComplex(format!("more than {max_elements} elements")));
                }
                if e.attributes().count() > max_attrs_per_element {
                    return Err(Rejection::TooComplex("too many attributes on one element".into()));
                }
                if matches!(event, Event::Start(_)) {
                    depth += 1;
                    if depth > max_depth {
                        return Err(Rejection::TooComplex(format!("nesting deeper than {max_depth}")));
                    }
                }
            }
            Event::End(_) => depth = depth.saturating_sub(1),
            // libxml2 honours a declared encoding that quick-xml and roxmltree treat as UTF-8
            // text: with UTF-7, `+ADw-ds:Signature+AD4-` is plain text here but a real element
            // for xmlsec. Only UTF-8 is read, so both parsers see the same document.
            Event::Decl(ref d) => {
                if let Some(Ok(enc)) = d.encoding() {
                    if !enc.eq_ignore_ascii_case(b"utf-8") {
                        return Err(Rejection::Malformed(format!(
                            "encoding {:?} is not UTF-8",
                            String::from_utf8_lossy(&enc)
                        )));
                    }
                }
            }
            Event::DocType(_) => return Err(Rejection::Dtd),
            Event::PI(_) => return Err(Rejection::ProcessingInstruction),
            // No IdP puts comments inside a SAML message; they are the tool of the NameID
            // truncation attacks (CVE-2017-11427 family), so they are refused outright.
            Event::Comment(_) if depth > 0 && !comments_allowed => return Err(Rejection::Comment),
            Event::GeneralRef(ref r) => {
                // Only the five predefined entities and character references exist without a DTD.
                let name = r.decode().map_err(|e| Rejection::Malformed(e.to_string()))?;
                let predefined = matches!(&*name, "lt" | "gt" | "amp" | "apos" | "quot");
                if !predefined && !name.starts_with('#') {
                    return Err(Rejection::Dtd);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if depth != 0 {
        return Err(Rejection::Malformed("unclosed elements".into()));
    }
    Ok(())
}

/// The document without a BOM or XML declaration, for libxml2: the declaration is never part of
/// signed content, and without it libxml2 cannot be told to read another encoding.
pub fn without_declaration(xml: &str) -> &str {
    let body = xml.trim_start_matches('\u{feff}');
    match body.strip_prefix("<?xml") {
        Some(rest) => rest.split_once("?>").map_or(body, |(_, after)| after),
        None => body,
    }
}

/// Parse into a tree after `scan` passed. DTDs stay refused here too (defence in depth).
pub fn parse(xml: &str) -> Result<roxmltree::Document<'_>, Rejection> {
    parse_with(xml, RESPONSE_LIMITS)
}

pub fn parse_with(xml: &str, limits: Limits) -> Result<roxmltree::Document<'_>, Rejection> {
    let nodes = u32::try_from(limits.max_elements * 8).unwrap_or(u32::MAX);
    let opts = roxmltree::ParsingOptions { allow_dtd: false, nodes_limit: nodes, ..Default::default() };
    roxmltree::Document::parse_with_options(xml, opts).map_err(|e| match e {
        roxmltree::Error::DtdDetected => Rejection::Dtd,
        roxmltree::Error::NodesLimitReached => Rejection::TooComplex("too many nodes".into()),
        e => Rejection::Malformed(e.to_string()),
    })
}

/// What the shape check learned about the document.
#[derive(Debug, Default, Clone)]
pub struct Shape {
    /// The signature on the root element, if any (Response, or a bare Assertion).
    pub root_signed: bool,
    /// The (plain) Assertion carries its own signature.
    pub assertion_signed: bool,
    /// The single assertion is an EncryptedAssertion.
    pub encrypted: bool,
}

/// Attributes a response may carry, and characters in one attribute value. Real IdPs send a
/// handful (Keeper reads three) plus group lists; beyond these the work is all the sender's.
pub const MAX_ATTRIBUTES: usize = 256;
pub const MAX_ATTRIBUTE_VALUES: usize = 1_024;
pub const MAX_ATTRIBUTE_VALUE_CHARS: usize = 4_096;

/// Bounds on attributes, checked in one pass before any signature work.
fn check_attributes(doc: &roxmltree::Document) -> Result<(), Rejection> {
    let (mut attributes, mut values) = (0usize, 0usize);
    for node in doc.descendants().filter(|n| n.is_element()) {
        if is(node, NS_SAML, "Attribute") {
            attributes += 1;
            if attributes > MAX_ATTRIBUTES {
                return Err(Rejection::TooManyAttributes(format!("more than {MAX_ATTRIBUTES} attributes")));
            }
        } else if is(node, NS_SAML, "AttributeValue") {
            values += 1;
            if values > MAX_ATTRIBUTE_VALUES {
                return Err(Rejection::TooManyAttributes(format!("more than {MAX_ATTRIBUTE_VALUES} attribute values")));
            }
            let chars: usize = node.children().filter_map(|c| c.text()).map(|t| t.chars().count()).sum();
            if chars > MAX_ATTRIBUTE_VALUE_CHARS {
                return Err(Rejection::TooManyAttributes(format!(
                    "an attribute value longer than {MAX_ATTRIBUTE_VALUE_CHARS} characters"
                )));
            }
        }
    }
    Ok(())
}

/// Structural checks on a whole Response document.
pub fn check_response_shape(doc: &roxmltree::Document, policy: AlgorithmPolicy) -> Result<Shape, Rejection> {
    let root = doc.root_element();
    if !is(root, NS_SAMLP, "Response") {
        return Err(Rejection::NotAResponse(format!("root element is {:?}", root.tag_name().name())));
    }
    let assertions: Vec<_> =
        doc.descendants().filter(|n| is(*n, NS_SAML, "Assertion") || is(*n, NS_SAML, "EncryptedAssertion")).collect();
    if assertions.len() != 1 {
        return Err(Rejection::AssertionCount(assertions.len()));
    }
    let assertion = assertions[0];
    if assertion.parent_element() != Some(root) {
        return Err(Rejection::NotAResponse("the assertion is not a direct child of the Response".into()));
    }
    if root.children().filter(|c| is(*c, NS_SAMLP, "Response")).count() > 0 {
        return Err(Rejection::NotAResponse("nested Response".into()));
    }
    check_attributes(doc)?;
    let ids = check_ids(doc)?;
    let signed = check_signatures(doc, &ids, policy)?;
    let encrypted = assertion.tag_name().name() == "EncryptedAssertion";
    Ok(Shape {
        root_signed: signed.contains(&root.id()),
        assertion_signed: !encrypted && signed.contains(&assertion.id()),
        encrypted,
    })
}

/// Structural checks on a decrypted assertion, wrapped in an element that carries the
/// namespaces in scope where the EncryptedAssertion stood.
pub fn check_decrypted_shape(doc: &roxmltree::Document, policy: AlgorithmPolicy) -> Result<bool, Rejection> {
    let wrapper = doc.root_element();
    let elements: Vec<_> = wrapper.children().filter(|c| c.is_element()).collect();
    if elements.len() != 1 || !is(elements[0], NS_SAML, "Assertion") {
        return Err(Rejection::AssertionCount(elements.len()));
    }
    let nested = doc.descendants().filter(|n| is(*n, NS_SAML, "Assertion")).count();
    if nested != 1 {
        return Err(Rejection::AssertionCount(nested));
    }
    check_attributes(doc)?;
    let ids = check_ids(doc)?;
    let signed = check_signatures(doc, &ids, policy)?;
    Ok(signed.contains(&elements[0].id()))
}

/// IDs must be unique and well-formed: xmlsec resolves `#id` references through them, and a
/// duplicate is how signature-wrapping attacks make the verifier and the consumer look at two
/// different elements.
fn check_ids(doc: &roxmltree::Document) -> Result<HashSet<String>, Rejection> {
    let mut seen = HashSet::new();
    for node in doc.descendants().filter(|n| n.is_element()) {
        for attr in node.attributes() {
            let name = attr.name();
            // libxml2/samael look IDs up by local name whatever the namespace, and xml:id is an
            // ID by definition: a namespaced one could give a second element the signed ID.
            if attr.namespace().is_some() && (name == "ID" || name == "Id" || name == "id") {
                return Err(Rejection::DuplicateId(format!("namespaced {name}")));
            }
            if attr.namespace().is_none() && (name == "ID" || name == "Id" || name == "id") {
                let v = attr.value();
                let ok = !v.is_empty()
                    && v.len() <= 256
                    && !v.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '.')
                    && v.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'));
                if !ok || !seen.insert(v.to_string()) {
                    return Err(Rejection::DuplicateId(v.chars().take(64).collect()));
                }
            }
        }
    }
    Ok(seen)
}

/// Every ds:Signature must be enveloped in the element it signs, with exactly one Reference to
/// that element's ID, exclusive c14n, only the enveloped-signature and exc-c14n transforms, no
/// Object/Manifest, and allowed algorithms. Returns the node ids of the signed elements.
fn check_signatures(
    doc: &roxmltree::Document,
    _ids: &HashSet<String>,
    policy: AlgorithmPolicy,
) -> Result<Vec<roxmltree::NodeId>, Rejection> {
    let sigs: Vec<_> = doc.descendants().filter(|n| is(*n, NS_DS, "Signature")).collect();
    if sigs.len() > MAX_SIGNATURES {
        return Err(Rejection::TooComplex(format!("{} signatures", sigs.len())));
    }
    let mut signed = Vec::new();
    for sig in sigs {
        let parent =
            sig.parent_element().ok_or_else(|| Rejection::ReferenceForbidden("signature without parent".into()))?;
        let parent_is_signable = is(parent, NS_SAMLP, "Response") || is(parent, NS_SAML, "Assertion");
        if !parent_is_signable {
            return Err(Rejection::ReferenceForbidden(format!("signature inside {:?}", parent.tag_name().name())));
        }
        if sig.descendants().any(|n| is(n, NS_DS, "Object") || is(n, NS_DS, "Manifest")) {
            return Err(Rejection::SignatureObjectForbidden);
        }
        // A RetrievalMethod would make xmlsec dereference a URI to find the key; keys come only
        // from the IdP's metadata, so nothing in KeyInfo is ever needed.
        if sig.descendants().any(|n| is(n, NS_DS, "RetrievalMethod")) {
            return Err(Rejection::ReferenceForbidden("KeyInfo RetrievalMethod".into()));
        }
        let signed_info = super::child(sig, NS_DS, "SignedInfo")
            .ok_or_else(|| Rejection::Malformed("Signature without SignedInfo".into()))?;
        let c14n = alg_of(signed_info, "CanonicalizationMethod");
        if c14n != ALG_EXC_C14N {
            return Err(Rejection::TransformForbidden(c14n.to_string()));
        }
        let sig_alg = alg_of(signed_info, "SignatureMethod");
        if !policy.signature_ok(sig_alg) {
            return Err(Rejection::AlgorithmForbidden(sig_alg.to_string()));
        }
        let references: Vec<_> = super::children(signed_info, NS_DS, "Reference").collect();
        if references.len() != 1 {
            return Err(Rejection::ReferenceForbidden(format!("{} references", references.len())));
        }
        let reference = references[0];
        let uri = reference.attribute("URI").unwrap_or("");
        let parent_id = parent.attribute("ID").unwrap_or("");
        let same_element = match uri.strip_prefix('#') {
            Some(id) => !id.is_empty() && id == parent_id,
            None => uri.is_empty() && parent == doc.root_element(),
        };
        if !same_element {
            return Err(Rejection::ReferenceForbidden(uri.chars().take(80).collect()));
        }
        if let Some(transforms) = super::child(reference, NS_DS, "Transforms") {
            for t in transforms.children().filter(|c| c.is_element()) {
                let alg = t.attribute("Algorithm").unwrap_or("");
                if !is(t, NS_DS, "Transform") || (alg != ALG_ENVELOPED && alg != ALG_EXC_C14N) {
                    return Err(Rejection::TransformForbidden(alg.chars().take(80).collect()));
                }
                if t.children().any(|c| c.is_element() && c.tag_name().name() != "InclusiveNamespaces") {
                    return Err(Rejection::TransformForbidden("transform parameters".into()));
                }
            }
        }
        let digest =
            super::child(reference, NS_DS, "DigestMethod").and_then(|d| d.attribute("Algorithm")).unwrap_or("");
        if !policy.digest_ok(digest) {
            return Err(Rejection::AlgorithmForbidden(digest.to_string()));
        }
        signed.push(parent.id());
    }
    Ok(signed)
}

fn alg_of<'a>(signed_info: roxmltree::Node<'a, '_>, element: &str) -> &'a str {
    super::child(signed_info, NS_DS, element).and_then(|n| n.attribute("Algorithm")).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doctype_is_refused_before_parsing() {
        let xml = r#"<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>"#;
        assert_eq!(scan(xml), Err(Rejection::Dtd));
    }

    #[test]
    fn processing_instruction_is_refused() {
        assert_eq!(scan("<x><?evil x?></x>"), Err(Rejection::ProcessingInstruction));
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let xml = format!("{}{}", "<a>".repeat(100), "</a>".repeat(100));
        assert!(matches!(scan(&xml), Err(Rejection::TooComplex(_))));
    }

    #[test]
    fn comments_only_in_metadata() {
        let xml = "<md:EntityDescriptor xmlns:md=\"urn:x\"><!-- generated by Shibboleth --><x/></md:EntityDescriptor>";
        assert_eq!(scan(xml), Err(Rejection::Comment));
        assert_eq!(scan_with(xml, METADATA_LIMITS), Err(Rejection::Comment));
        assert_eq!(scan_metadata(xml), Ok(()));
        assert_eq!(scan_metadata("<!DOCTYPE x><x/>"), Err(Rejection::Dtd));
        assert_eq!(scan_metadata("<x>&xxe;</x>"), Err(Rejection::Dtd));
        assert_eq!(scan_metadata("<x><?pi x?></x>"), Err(Rejection::ProcessingInstruction));
    }

    #[test]
    fn undeclared_entity_is_refused() {
        assert_eq!(scan("<x>&xxe;</x>"), Err(Rejection::Dtd));
        assert_eq!(scan("<x>&amp;&#65;</x>"), Ok(()));
    }
}
