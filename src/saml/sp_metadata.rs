//! Our SP metadata. Built from values only, with no timestamps, so the download, the CLI and
//! the copy under `metadata/` are the same bytes for the same configuration and certificate.

use super::{xml_escape, BINDING_POST, BINDING_REDIRECT, NAMEID_EMAIL};

/// The URLs that make up the public contract for one SSO configuration (Keeper's shapes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpUrls {
    pub entity_id: String,
    pub acs: String,
    pub slo: String,
    pub login: String,
    pub metadata_download: String,
    pub cert_download: String,
}

impl SpUrls {
    pub fn new(public_url: &str, sso_id: i64) -> Self {
        let base = public_url.trim_end_matches('/');
        SpUrls {
            entity_id: format!("{base}/api/rest/sso/saml/{sso_id}"),
            acs: format!("{base}/api/rest/sso/saml/sso/{sso_id}"),
            slo: format!("{base}/api/rest/sso/saml/slo/{sso_id}"),
            login: format!("{base}/api/rest/sso/ext_login/{sso_id}"),
            metadata_download: format!("{base}/api/rest/sso/saml/{sso_id}/metadata"),
            cert_download: format!("{base}/api/rest/sso/saml/{sso_id}/cert"),
        }
    }
}

/// `certs_b64` are the SP certificates to publish, DER in base64 (no PEM armour): the active one
/// first and, during a key rollover, the next one, each for signing and for encryption, so IdPs
/// that re-read the metadata trust both before the next one signs.
pub fn render(urls: &SpUrls, certs_b64: &[String], service_name: &str) -> String {
    let key_info = |cert_b64: &str| {
        format!(
            "<ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert_b64}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>"
        )
    };
    let enc_methods = [
        "http://www.w3.org/2009/xmlenc11#aes256-gcm",
        "http://www.w3.org/2009/xmlenc11#aes128-gcm",
        "http://www.w3.org/2001/04/xmlenc#aes256-cbc",
        "http://www.w3.org/2001/04/xmlenc#aes128-cbc",
        "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p",
    ]
    .iter()
    .map(|a| format!("\n      <md:EncryptionMethod Algorithm=\"{a}\"/>"))
    .collect::<String>();
    let signing = certs_b64
        .iter()
        .map(|c| format!("    <md:KeyDescriptor use=\"signing\">\n      {}\n    </md:KeyDescriptor>\n", key_info(c)));
    let encryption = certs_b64.iter().map(|c| {
        format!(
            "    <md:KeyDescriptor use=\"encryption\">\n      {}{enc_methods}\n    </md:KeyDescriptor>\n",
            key_info(c)
        )
    });
    let key_descriptors = signing.chain(encryption).collect::<String>();
    let key_descriptors = key_descriptors.trim_end_matches('\n');
    let requested = ["Email", "First", "Last"]
        .iter()
        .map(|n| {
            format!(
                "\n      <md:RequestedAttribute Name=\"{n}\" NameFormat=\"urn:oasis:names:tc:SAML:2.0:attrname-format:basic\" isRequired=\"{}\"/>",
                *n == "Email"
            )
        })
        .collect::<String>();
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{entity}">
  <md:SPSSODescriptor AuthnRequestsSigned="true" WantAssertionsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
{key_descriptors}
    <md:SingleLogoutService Binding="{redirect}" Location="{slo}"/>
    <md:SingleLogoutService Binding="{post}" Location="{slo}"/>
    <md:NameIDFormat>{nameid}</md:NameIDFormat>
    <md:AssertionConsumerService Binding="{post}" Location="{acs}" index="0" isDefault="true"/>
    <md:AttributeConsumingService index="0" isDefault="true">
      <md:ServiceName xml:lang="en">{service}</md:ServiceName>{requested}
    </md:AttributeConsumingService>
  </md:SPSSODescriptor>
</md:EntityDescriptor>
"#,
        entity = xml_escape(&urls.entity_id),
        slo = xml_escape(&urls.slo),
        acs = xml_escape(&urls.acs),
        redirect = BINDING_REDIRECT,
        post = BINDING_POST,
        nameid = NAMEID_EMAIL,
        service = xml_escape(service_name),
    )
}
