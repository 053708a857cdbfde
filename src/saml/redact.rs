//! What an admin may see of a posted response when debugging: the XML with signature values,
//! certificates, digests and ciphertext blanked out. Signatures are not secrets, but a kept copy
//! must never be replayable or re-verifiable, and ciphertext is useless noise.

use super::xml;

const REDACTED: &str = "[redacted]";
const BLANKED: &[&str] = &["SignatureValue", "X509Certificate", "DigestValue", "CipherValue"];
/// Stored copies are bounded; a hostile post can be large.
pub const MAX_KEPT: usize = 64 * 1024;

/// Decode the form value and redact it; input that is not readable XML is described, not kept.
pub fn redacted_copy(encoded: &str) -> String {
    let text = match xml::decode_form_value(encoded) {
        Ok(t) => t,
        Err(r) => return format!("(not kept: {})", r.code()),
    };
    if let Err(r) = xml::scan(&text) {
        return format!("(not kept: {})", r.code());
    }
    let Ok(doc) = xml::parse(&text) else { return "(not kept: unparseable)".into() };
    let mut ranges: Vec<std::ops::Range<usize>> = doc
        .descendants()
        .filter(|n| n.is_element() && BLANKED.contains(&n.tag_name().name()))
        .filter_map(|n| {
            let first = n.first_child()?;
            let last = n.last_child()?;
            Some(first.range().start..last.range().end)
        })
        .collect();
    ranges.sort_by_key(|r| r.start);
    let mut out = String::with_capacity(text.len().min(MAX_KEPT));
    let mut at = 0;
    for r in ranges {
        if r.start < at {
            continue;
        }
        out.push_str(&text[at..r.start]);
        out.push_str(REDACTED);
        at = r.end;
    }
    out.push_str(&text[at..]);
    if out.len() > MAX_KEPT {
        let cut = (0..=MAX_KEPT).rev().find(|i| out.is_char_boundary(*i)).unwrap_or(0);
        out.truncate(cut);
        out.push_str("…(truncated)");
    }
    out
}

#[cfg(test)]
mod tests {
    use base64::Engine;

    #[test]
    fn signature_values_and_ciphertext_are_blanked() {
        let xml = r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:Signature><ds:SignedInfo><ds:Reference><ds:DigestValue>abc=</ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue>
SECRET=
</ds:SignatureValue></ds:Signature><x>keep me</x></samlp:Response>"#;
        let out = super::redacted_copy(&base64::engine::general_purpose::STANDARD.encode(xml));
        assert!(!out.contains("SECRET") && !out.contains("abc="), "{out}");
        assert!(out.contains("keep me") && out.contains("<ds:SignatureValue>[redacted]</ds:SignatureValue>"), "{out}");
        assert_eq!(super::redacted_copy("%%%"), "(not kept: SAML_BASE64_INVALID)");
    }
}
