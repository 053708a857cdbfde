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
