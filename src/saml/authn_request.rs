//! AuthnRequest for the HTTP-Redirect binding (saml-bindings §3.4): DEFLATE, base64, URL-encode,
//! then an RSA-SHA256 signature over `SAMLRequest=…&RelayState=…&SigAlg=…` exactly as sent.
//! RelayState is an opaque token of ours; where the user goes afterwards is kept server-side.

use chrono::{DateTime, SecondsFormat, Utc};
use openssl::pkey::{PKey, Private};

use super::{xml_escape, BINDING_POST, NAMEID_EMAIL, NS_SAML, NS_SAMLP};

#[derive(Debug, Clone)]
pub struct AuthnRequest {
    /// `_` + 128 random bits in hex: unguessable, and an NCName as the schema requires.
    pub id: String,
    pub issue_instant: DateTime<Utc>,
    pub destination: String,
    pub acs_url: String,
    pub sp_entity_id: String,
}

impl AuthnRequest {
    pub fn new(destination: &str, acs_url: &str, sp_entity_id: &str, now: DateTime<Utc>) -> Self {
        AuthnRequest {
            id: format!("_{}", hex::encode(rand::random::<[u8; 16]>())),
            issue_instant: now,
            destination: destination.to_string(),
            acs_url: acs_url.to_string(),
            sp_entity_id: sp_entity_id.to_string(),
        }
    }

    pub fn to_xml(&self) -> String {
        format!(
            r#"<samlp:AuthnRequest xmlns:samlp="{NS_SAMLP}" xmlns:saml="{NS_SAML}" ID="{id}" Version="2.0" IssueInstant="{ii}" Destination="{dest}" AssertionConsumerServiceURL="{acs}" ProtocolBinding="{BINDING_POST}"><saml:Issuer>{issuer}</saml:Issuer><samlp:NameIDPolicy Format="{NAMEID_EMAIL}" AllowCreate="true"/></samlp:AuthnRequest>"#,
            id = self.id,
            ii = self.issue_instant.to_rfc3339_opts(SecondsFormat::Secs, true),
            dest = xml_escape(&self.destination),
            acs = xml_escape(&self.acs_url),
            issuer = xml_escape(&self.sp_entity_id),
        )
    }

    /// The full redirect URL to the IdP, signed with the SP key.
    pub fn signed_redirect_url(
        &self,
        relay_state: &str,
        key: &PKey<Private>,
    ) -> Result<String, openssl::error::ErrorStack> {
        super::redirect::signed_url(
            &self.destination,
            super::redirect::Param::Request,
            &self.to_xml(),
            Some(relay_state),
            key,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_names_us_escapes_urls_and_has_a_fresh_unguessable_id() {
        let now = DateTime::parse_from_rfc3339("2026-12-02T10:00:00Z").unwrap().with_timezone(&Utc);
        let a =
            AuthnRequest::new("https://idp.example/sso?a=1&b=2", "https://sp.example/acs", "https://sp.example/e", now);
        let b = AuthnRequest::new("https://idp.example/sso", "https://sp.example/acs", "https://sp.example/e", now);
        assert_ne!(a.id, b.id, "a new ID per request");
        assert!(
            a.id.starts_with('_') && a.id.len() == 33 && a.id[1..].chars().all(|c| c.is_ascii_hexdigit()),
            "{}",
            a.id
        );
        let xml = a.to_xml();
        let doc = roxmltree::Document::parse(&xml).expect("well-formed");
        let root = doc.root_element();
        assert_eq!((root.tag_name().namespace(), root.tag_name().name()), (Some(NS_SAMLP), "AuthnRequest"));
        assert_eq!(root.attribute("ID"), Some(a.id.as_str()));
        assert_eq!(root.attribute("IssueInstant"), Some("2026-12-02T10:00:00Z"));
        assert_eq!(
            root.attribute("Destination"),
            Some("https://idp.example/sso?a=1&b=2"),
            "escaped in XML, intact when read"
        );
        assert_eq!(root.attribute("AssertionConsumerServiceURL"), Some("https://sp.example/acs"));
        assert_eq!(root.attribute("ProtocolBinding"), Some(BINDING_POST));
        let issuer = root.children().find(|n| n.tag_name().name() == "Issuer").and_then(|n| n.text());
        assert_eq!(issuer, Some("https://sp.example/e"));
        let policy = root.children().find(|n| n.tag_name().name() == "NameIDPolicy").expect("NameIDPolicy");
        assert_eq!(policy.attribute("Format"), Some(NAMEID_EMAIL));
    }
}
