//! Import an IdP's metadata (JumpCloud, Okta, Entra exports, or any SAML 2.0 IdP). The result is
//! the only source of signing keys spconnect ever trusts, so an import without a usable signing
//! certificate is refused outright: accepting it would mean accepting unsigned logins.

use base64::Engine;
use chrono::{DateTime, Utc};
use thiserror::Error;

use super::xml::{self, METADATA_LIMITS};
use super::{children, is, text_content, BINDING_POST, BINDING_REDIRECT, NS_DS, NS_MD};

#[derive(Debug, Error, PartialEq, Eq)]
pub enum MetadataError {
    #[error("the file is not acceptable XML: {0}")]
    Xml(String),
    #[error("no IDPSSODescriptor found: this is not identity-provider metadata")]
    NotIdp,
    #[error("the metadata holds {0} identity providers; upload the metadata of exactly one")]
    Ambiguous(usize),
    #[error("the IdP metadata has no entityID")]
    NoEntityId,
    #[error("the IdP metadata has no signing certificate (KeyDescriptor use=\"signing\"); without it no response could be verified")]
    NoSigningCertificate,
    #[error("a signing certificate in the metadata cannot be read: {0}")]
    BadCertificate(String),
    #[error("the IdP metadata lists {0} signing certificates; at most 8 are accepted")]
    TooManyCertificates(usize),
    #[error("the IdP metadata has no SingleSignOnService with the HTTP-Redirect binding")]
    NoSsoEndpoint,
    #[error("the IdP's SingleSignOnService {0:?} is plain http:// on a non-loopback host; sign-ins would cross the network unencrypted. Use the IdP's https:// metadata")]
    InsecureSsoEndpoint(String),
    #[error("the metadata expired: its validUntil ({0}) has passed; the IdP must publish fresh metadata")]
    Expired(String),
    #[error("the metadata's {0} is not a valid date or duration: {1:?}")]
    BadValidity(&'static str, String),
    #[error("the metadata is not signed by the pinned certificate: {0}")]
    PinnedSignature(String),
}

/// How long the IdP says its metadata may be used and cached (saml-metadata §1.2.3), the most
/// restrictive of the IdP's EntityDescriptor and every EntitiesDescriptor around it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Validity {
    /// `validUntil`, unix seconds.
    pub valid_until: Option<i64>,
    /// `cacheDuration`, seconds.
    pub cache_duration: Option<i64>,
}

/// The metadata's validity, refusing a `validUntil` that has passed at `now` (unix seconds).
/// Call after [`parse`] accepted the document.
pub fn validity(metadata_xml: &str, now: i64) -> Result<Validity, MetadataError> {
    let text = metadata_xml.trim_start_matches('\u{feff}');
    let doc = xml::parse_with(text, METADATA_LIMITS).map_err(|r| MetadataError::Xml(r.to_string()))?;
    let idp = idp_descriptors(&doc).into_iter().next().ok_or(MetadataError::NotIdp)?;
    let mut v = Validity::default();
    for scope in idp.ancestors().filter(|n| is(*n, NS_MD, "EntityDescriptor") || is(*n, NS_MD, "EntitiesDescriptor")) {
        if let Some(raw) = scope.attribute("validUntil") {
            let t = parse_date_time(raw)
                .ok_or_else(|| MetadataError::BadValidity("validUntil", crate::logsafe::clip_to(raw, 60)))?;
            v.valid_until = Some(v.valid_until.map_or(t, |u| u.min(t)));
        }
        if let Some(raw) = scope.attribute("cacheDuration") {
            let d = parse_duration(raw)
                .ok_or_else(|| MetadataError::BadValidity("cacheDuration", crate::logsafe::clip_to(raw, 60)))?;
            v.cache_duration = Some(v.cache_duration.map_or(d, |c| c.min(d)));
        }
    }
    if let Some(until) = v.valid_until.filter(|u| *u <= now) {
        let shown = DateTime::from_timestamp(until, 0).map(|t| t.to_rfc3339()).unwrap_or_else(|| until.to_string());
        return Err(MetadataError::Expired(shown));
    }
    Ok(v)
}

/// An xs:dateTime, with a time zone or (as UTC) without one.
fn parse_date_time(raw: &str) -> Option<i64> {
    let raw = raw.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Some(t.timestamp());
    }
    chrono::NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S%.f").ok().map(|t| t.and_utc().timestamp())
}

/// An xs:duration (`PnYnMnDTnHnMnS`) in whole seconds; years count 365 days and months 30.
/// Negative durations are not durations a cache can honour: `None`.
pub fn parse_duration(raw: &str) -> Option<i64> {
    let rest = raw.trim().strip_prefix('P')?;
    let (date, time) = match rest.split_once('T') {
        Some((d, t)) if !t.is_empty() => (d, Some(t)),
        Some(_) => return None,
        None => (rest, None),
    };
    if date.is_empty() && time.is_none() {
        return None;
    }
    let mut total: f64 = 0.0;
    let mut take = |part: &str, units: &[(char, f64)]| -> Option<()> {
        let mut number = String::new();
        let mut next_unit = 0;
        for c in part.chars() {
            if c.is_ascii_digit() || c == '.' {
                number.push(c);
                continue;
            }
            let at = units.iter().skip(next_unit).position(|(u, _)| *u == c)? + next_unit;
            if number.is_empty() || (number.contains('.') && c != 'S') {
                return None;
            }
            total += number.parse::<f64>().ok()? * units[at].1;
            number.clear();
            next_unit = at + 1;
        }
        number.is_empty().then_some(())
    };
    take(date, &[('Y', 365.0 * 86_400.0), ('M', 30.0 * 86_400.0), ('D', 86_400.0)])?;
    if let Some(t) = time {
        take(t, &[('H', 3_600.0), ('M', 60.0), ('S', 1.0)])?;
    }
    (total.is_finite() && total < 1e12).then_some(total as i64)
}

/// The metadata document must carry an enveloped signature on its root element
/// (EntityDescriptor or EntitiesDescriptor) that verifies with the pinned certificate's key:
/// exclusive c14n, RSA-SHA256 or stronger (or ECDSA), the reference naming the root. Signatures
/// elsewhere in the document do not count.
pub fn verify_pinned_signature(metadata_xml: &str, pinned_der: &[u8]) -> Result<(), MetadataError> {
    use crate::saml::response::signature;
    let refuse = |why: &str| MetadataError::PinnedSignature(why.to_string());
    let text = xml::without_declaration(metadata_xml);
    let doc = xml::parse_with(text, METADATA_LIMITS).map_err(|r| MetadataError::Xml(r.to_string()))?;
    let root = doc.root_element();
    if !is(root, NS_MD, "EntityDescriptor") && !is(root, NS_MD, "EntitiesDescriptor") {
        return Err(refuse("the root element is neither EntityDescriptor nor EntitiesDescriptor"));
    }
    let keys = signature::parse_idp_keys(&[pinned_der.to_vec()])
        .map_err(|_| refuse("the pinned certificate cannot be read"))?;
    match signature::verify_enveloped_root(&doc, &keys, xml::AlgorithmPolicy::default()) {
        Ok(()) => Ok(()),
        Err(crate::saml::Rejection::Unsigned) => Err(refuse("the document carries no signature on its root element")),
        Err(crate::saml::Rejection::AlgorithmForbidden(a)) => Err(refuse(&format!("algorithm {a} is not accepted"))),
        Err(_) => Err(refuse("the signature does not verify with the pinned certificate's key")),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningCert {
    pub der: Vec<u8>,
    pub subject: String,
    pub not_after: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdpDescriptor {
    pub entity_id: String,
    pub sso_redirect_url: String,
    pub sso_post_url: Option<String>,
    pub slo_url: Option<String>,
    /// The binding of `slo_url`: HTTP-Redirect when the IdP offers it, else HTTP-POST.
    pub slo_binding: Option<String>,
    pub signing_certs: Vec<SigningCert>,
}

/// The IDPSSODescriptors of the document's own entities: each the child of an EntityDescriptor
/// that is the root or sits in a chain of EntitiesDescriptors from the root. One anywhere else
/// (inside a `ds:Signature`'s KeyInfo, an Extensions element, …) is not the document's: a
/// signature over the root leaves its own element out, so metadata read from there would be
/// unsigned however the pin is checked.
fn idp_descriptors<'a, 'i>(doc: &'a roxmltree::Document<'i>) -> Vec<roxmltree::Node<'a, 'i>> {
    doc.descendants()
        .filter(|n| is(*n, NS_MD, "IDPSSODescriptor"))
        .filter(|idp| {
            let mut up = idp.ancestors().skip(1).filter(roxmltree::Node::is_element);
            up.next().is_some_and(|e| is(e, NS_MD, "EntityDescriptor"))
                && up.all(|e| is(e, NS_MD, "EntitiesDescriptor"))
        })
        .collect()
}

/// More signing certificates than any IdP publishes (two during a rollover) is refused: each
/// one is trusted, checked at every login and warned about before it expires.
pub const MAX_SIGNING_CERTS: usize = 8;

pub fn parse(metadata_xml: &str) -> Result<IdpDescriptor, MetadataError> {
    let text = metadata_xml.trim_start_matches('\u{feff}');
    xml::scan_metadata(text).map_err(|r| MetadataError::Xml(r.to_string()))?;
    let doc = xml::parse_with(text, METADATA_LIMITS).map_err(|r| MetadataError::Xml(r.to_string()))?;
    let idps = idp_descriptors(&doc);
    let idp = match idps.as_slice() {
        [] => return Err(MetadataError::NotIdp),
        [one] => *one,
        many => return Err(MetadataError::Ambiguous(many.len())),
    };
    let entity = idp.parent_element().filter(|p| is(*p, NS_MD, "EntityDescriptor")).ok_or(MetadataError::NotIdp)?;
    let entity_id =
        entity.attribute("entityID").map(str::trim).filter(|s| !s.is_empty()).ok_or(MetadataError::NoEntityId)?;

    let key_descriptors: Vec<_> = children(idp, NS_MD, "KeyDescriptor").collect();
    // KeyDescriptors without `use` serve both purposes (saml-metadata §2.4.1.1).
    let signing = key_descriptors.iter().filter(|k| matches!(k.attribute("use"), None | Some("signing")));
    let mut signing_certs = Vec::new();
    for kd in signing {
        for cert in kd.descendants().filter(|n| is(*n, NS_DS, "X509Certificate")) {
            let b64: String = text_content(cert).chars().filter(|c| !c.is_whitespace()).collect();
            let der = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|_| MetadataError::BadCertificate("not base64".into()))?;
            let x509 = openssl::x509::X509::from_der(&der).map_err(|e| MetadataError::BadCertificate(e.to_string()))?;
            let subject =
                x509.subject_name().entries().filter_map(|e| e.data().to_string().ok()).collect::<Vec<_>>().join(", ");
            let not_after =
                asn1_to_utc(x509.not_after()).ok_or_else(|| MetadataError::BadCertificate("bad notAfter".into()))?;
            if !signing_certs.iter().any(|c: &SigningCert| c.der == der) {
                signing_certs.push(SigningCert { der, subject, not_after });
            }
        }
    }
    if signing_certs.is_empty() {
        return Err(MetadataError::NoSigningCertificate);
    }
    if signing_certs.len() > MAX_SIGNING_CERTS {
        return Err(MetadataError::TooManyCertificates(signing_certs.len()));
    }
    let endpoint = |name: &str, binding: &str| {
        children(idp, NS_MD, name)
            .find(|e| e.attribute("Binding") == Some(binding))
            .and_then(|e| e.attribute("Location"))
            .map(|l| l.trim().to_string())
            .filter(|l| endpoint_allowed(l))
    };
    let sso_redirect_url = match endpoint("SingleSignOnService", BINDING_REDIRECT) {
        Some(url) => url,
        None => {
            let declared = children(idp, NS_MD, "SingleSignOnService")
                .find(|e| e.attribute("Binding") == Some(BINDING_REDIRECT))
                .and_then(|e| e.attribute("Location"))
                .map(str::trim)
                .filter(|l| l.starts_with("http://"));
            return Err(match declared {
                Some(l) => MetadataError::InsecureSsoEndpoint(crate::logsafe::clip(l)),
                None => MetadataError::NoSsoEndpoint,
            });
        }
    };
    let (slo_url, slo_binding) = match endpoint("SingleLogoutService", BINDING_REDIRECT) {
        Some(url) => (Some(url), Some(BINDING_REDIRECT.to_string())),
        None => match endpoint("SingleLogoutService", BINDING_POST) {
            Some(url) => (Some(url), Some(BINDING_POST.to_string())),
            None => (None, None),
        },
    };
    Ok(IdpDescriptor {
        entity_id: entity_id.to_string(),
        sso_post_url: endpoint("SingleSignOnService", BINDING_POST),
        slo_url,
        slo_binding,
        sso_redirect_url,
        signing_certs,
    })
}

/// Where we send browsers (and AuthnRequests): HTTPS, or plain HTTP to a loopback IdP only
/// (the demo IdP and tests). A plain-HTTP IdP elsewhere would expose every sign-in to the network.
fn endpoint_allowed(location: &str) -> bool {
    let Ok(url) = url::Url::parse(location) else { return false };
    match url.scheme() {
        "https" => url.host().is_some(),
        "http" => match url.host() {
            Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        },
        _ => false,
    }
}

pub fn asn1_to_utc(t: &openssl::asn1::Asn1TimeRef) -> Option<DateTime<Utc>> {
    let epoch = openssl::asn1::Asn1Time::from_unix(0).ok()?;
    let diff = epoch.diff(t).ok()?;
    DateTime::from_timestamp(i64::from(diff.days) * 86_400 + i64::from(diff.secs), 0)
}

#[cfg(test)]
mod validity_tests {
    use super::{parse_duration, validity, MetadataError, Validity};

    fn doc(outer: &str, inner: &str) -> String {
        format!(
            r#"<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" {outer}><md:EntityDescriptor entityID="x" {inner}><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"/></md:EntityDescriptor></md:EntitiesDescriptor>"#
        )
    }

    #[test]
    fn the_most_restrictive_validity_of_the_entity_and_its_enclosures() {
        let now = 1_767_225_600; // 2026-01-01T00:00:00Z
        let ok = |outer: &str, inner: &str| validity(&doc(outer, inner), now);
        assert_eq!(ok("", ""), Ok(Validity::default()));
        assert_eq!(
            ok(r#"cacheDuration="PT6H" validUntil="2026-02-01T00:00:00Z""#, r#"cacheDuration="PT2H""#),
            Ok(Validity { valid_until: Some(1_769_904_000), cache_duration: Some(7_200) })
        );
        assert_eq!(
            ok(r#"validUntil="2026-03-01T00:00:00Z""#, r#"validUntil="2026-01-02T00:00:00+01:00""#)
                .map(|v| v.valid_until),
            Ok(Some(now + 86_400 - 3_600))
        );
        // Without a zone, UTC.
        assert_eq!(ok("", r#"validUntil="2026-01-02T00:00:00""#).map(|v| v.valid_until), Ok(Some(now + 86_400)));
        assert!(matches!(ok(r#"validUntil="2025-12-31T23:59:59Z""#, ""), Err(MetadataError::Expired(_))));
        assert!(matches!(ok("", r#"validUntil="2026-01-01T00:00:00Z""#), Err(MetadataError::Expired(_))));
        assert!(matches!(ok("", r#"validUntil="tomorrow""#), Err(MetadataError::BadValidity("validUntil", _))));
        assert!(matches!(ok("", r#"cacheDuration="6 hours""#), Err(MetadataError::BadValidity("cacheDuration", _))));
    }

    #[test]
    fn durations_as_metadata_writes_them() {
        for (raw, want) in [
            ("PT6H", Some(21_600)),
            ("P1D", Some(86_400)),
            ("PT1H30M", Some(5_400)),
            ("PT0.5S", Some(0)),
            ("PT90S", Some(90)),
            ("P0Y0M1DT2H", Some(93_600)),
            ("P1M", Some(2_592_000)),
            ("PT1M", Some(60)),
            ("P", None),
            ("PT", None),
            ("-PT1H", None),
            ("6H", None),
            ("PT1H1H", None),
            ("PTH", None),
            ("P1.5D", None),
            ("P1S", None),
            ("PT1D", None),
            ("P99999999999Y", None),
        ] {
            assert_eq!(parse_duration(raw), want, "{raw}");
        }
    }
}

#[cfg(test)]
mod endpoint_tests {
    use super::endpoint_allowed;

    #[test]
    fn plain_http_only_for_loopback_idps() {
        for (url, want) in [
            ("https://idp.example.net/sso", true),
            ("http://127.0.0.1:9000/sso", true),
            ("http://localhost:9000/sso", true),
            ("http://[::1]:9000/sso", true),
            ("http://idp.example.net/sso", false),
            ("http://10.0.0.5/sso", false),
            ("http://127.0.0.1.evil.example/sso", false),
            ("javascript:alert(1)", false),
            ("ftp://idp.example.net/", false),
            ("https://", false),
        ] {
            assert_eq!(endpoint_allowed(url), want, "{url}");
        }
    }
}

#[cfg(test)]
mod placement_tests {
    use super::{idp_descriptors, parse, MetadataError};

    fn count(xml: &str) -> usize {
        let doc = roxmltree::Document::parse(xml).expect("xml");
        idp_descriptors(&doc).len()
    }

    const MD: &str = r#"xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#""#;
    const IDP: &str = r#"<md:EntityDescriptor entityID="https://evil.example/idp"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"/></md:EntityDescriptor>"#;

    #[test]
    fn only_the_documents_own_entities_count() {
        // The root, or inside EntitiesDescriptors from the root: the document's own.
        assert_eq!(
            count(&format!(
                r#"<md:EntityDescriptor {MD} entityID="x"><md:IDPSSODescriptor protocolSupportEnumeration="p"/></md:EntityDescriptor>"#
            )),
            1
        );
        assert_eq!(
            count(&format!(
                r#"<md:EntitiesDescriptor {MD}><md:EntitiesDescriptor>{IDP}</md:EntitiesDescriptor></md:EntitiesDescriptor>"#
            )),
            1
        );
        // Hidden in a signature's KeyInfo (which the root signature does not cover), in
        // Extensions, or under a role descriptor: not the document's, never read.
        for hidden in [
            format!(
                r#"<md:EntityDescriptor {MD} entityID="sp"><ds:Signature><ds:KeyInfo>{IDP}</ds:KeyInfo></ds:Signature><md:SPSSODescriptor protocolSupportEnumeration="p"/></md:EntityDescriptor>"#
            ),
            format!(
                r#"<md:EntitiesDescriptor {MD}><ds:Signature><ds:KeyInfo>{IDP}</ds:KeyInfo></ds:Signature></md:EntitiesDescriptor>"#
            ),
            format!(
                r#"<md:EntityDescriptor {MD} entityID="sp"><md:Extensions>{IDP}</md:Extensions></md:EntityDescriptor>"#
            ),
            format!(r#"<md:EntitiesDescriptor {MD}><md:Extensions>{IDP}</md:Extensions></md:EntitiesDescriptor>"#),
        ] {
            assert_eq!(count(&hidden), 0, "{hidden}");
            assert_eq!(parse(&hidden), Err(MetadataError::NotIdp), "{hidden}");
        }
    }
}
