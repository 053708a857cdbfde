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
    #[error("the IdP metadata has no SingleSignOnService with the HTTP-Redirect binding")]
    NoSsoEndpoint,
    #[error("the IdP's SingleSignOnService {0:?} is plain http:// on a non-loopback host; sign-ins would cross the network unencrypted. Use the IdP's https:// metadata")]
    InsecureSsoEndpoint(String),
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

pub fn parse(metadata_xml: &str) -> Result<IdpDescriptor, MetadataError> {
    let text = metadata_xml.trim_start_matches('\u{feff}');
    xml::scan_with(text, METADATA_LIMITS).map_err(|r| MetadataError::Xml(r.to_string()))?;
    let doc = xml::parse_with(text, METADATA_LIMITS).map_err(|r| MetadataError::Xml(r.to_string()))?;
    let idps: Vec<_> = doc.descendants().filter(|n| is(*n, NS_MD, "IDPSSODescriptor")).collect();
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
