//! The demo IdP: answers our AuthnRequests (and an IdP-initiated launch) with a signed
//! assertion for a fixed demo user, posted back through an auto-submitting form. Its HTTP
//! endpoints are in `web/demo_idp.rs`.

use std::io::Read;

use base64::Engine;
use chrono::{Duration, SecondsFormat, Utc};
use openssl::pkey::{PKey, Private};
use samael::crypto::{Crypto, CryptoProvider};

use crate::config::DataDir;
use crate::saml::sp_metadata::SpUrls;
use crate::saml::{xml_escape, NS_SAML, NS_SAMLP};

#[derive(Clone)]
pub struct DemoIdp {
    entity_id: String,
    base: String,
    key: PKey<Private>,
    cert_b64: String,
    sp: SpUrls,
}

impl DemoIdp {
    pub fn load_or_create(dir: &DataDir, base: &str, sp: SpUrls) -> Result<DemoIdp, crate::crypto::CryptoError> {
        // Reuse the SP key machinery under a reserved id (0) for the demo IdP's own key pair.
        let keys = crate::crypto::sp_keys::load_or_generate(dir, 0, "spconnect demo IdP")?;
        Ok(DemoIdp {
            entity_id: format!("{base}/metadata"),
            base: base.to_string(),
            key: keys.key.clone(),
            cert_b64: keys.cert_b64(),
            sp,
        })
    }

    pub fn metadata(&self) -> String {
        format!(
            r#"<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{e}">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol" WantAuthnRequestsSigned="true">
    <md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{c}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="{b}/sso"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>
"#,
            e = xml_escape(&self.entity_id),
            c = self.cert_b64,
            b = xml_escape(&self.base)
        )
    }

    fn response(&self, in_response_to: Option<&str>) -> Result<String, String> {
        let now = Utc::now();
        let t = |d: Duration| (now + d).to_rfc3339_opts(SecondsFormat::Secs, true);
        let irt_attr = in_response_to.map(|i| format!(" InResponseTo=\"{}\"", xml_escape(i))).unwrap_or_default();
        let assertion_id = format!("_a{}", hex::encode(rand::random::<[u8; 16]>()));
        let email = "alice@demo.example";
        let attr = |n: &str, v: &str| {
            format!(r#"<saml:Attribute Name="{n}"><saml:AttributeValue>{v}</saml:AttributeValue></saml:Attribute>"#)
        };
        let assertion = format!(
            r##"<saml:Assertion xmlns:saml="{NS_SAML}" ID="{aid}" Version="2.0" IssueInstant="{now}"><saml:Issuer>{issuer}</saml:Issuer><ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/><ds:Reference URI="#{aid}"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/><ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue/></ds:Reference></ds:SignedInfo><ds:SignatureValue/></ds:Signature><saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">{email}</saml:NameID><saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="{exp}" Recipient="{acs}"{irt_attr}/></saml:SubjectConfirmation></saml:Subject><saml:Conditions NotBefore="{nb}" NotOnOrAfter="{exp}"><saml:AudienceRestriction><saml:Audience>{aud}</saml:Audience></saml:AudienceRestriction></saml:Conditions><saml:AuthnStatement AuthnInstant="{now}" SessionIndex="{aid}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement><saml:AttributeStatement>{a1}{a2}{a3}</saml:AttributeStatement></saml:Assertion>"##,
            aid = assertion_id,
            now = t(Duration::zero()),
            nb = t(Duration::seconds(-30)),
            exp = t(Duration::minutes(5)),
            issuer = xml_escape(&self.entity_id),
            acs = xml_escape(&self.sp.acs),
            aud = xml_escape(&self.sp.entity_id),
            a1 = attr("Email", email),
            a2 = attr("First", "Alice"),
            a3 = attr("Last", "Demo"),
        );
        let key_der = self.key.private_key_to_der().map_err(|e| e.to_string())?;
        let signed = Crypto::sign_xml(assertion.as_bytes(), &key_der).map_err(|e| e.to_string())?;
        let signed = signed.trim_start_matches(|c| c != '<').to_string();
        let signed = match signed.strip_prefix("<?xml") {
            Some(rest) => rest.split_once("?>").map(|(_, a)| a.trim_start().to_string()).unwrap_or(signed),
            None => signed,
        };
        let response = format!(
            r#"<samlp:Response xmlns:samlp="{NS_SAMLP}" xmlns:saml="{NS_SAML}" ID="_r{rid}" Version="2.0" IssueInstant="{now}" Destination="{acs}"{irt_attr}><saml:Issuer>{issuer}</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>{signed}</samlp:Response>"#,
            rid = hex::encode(rand::random::<[u8; 16]>()),
            now = t(Duration::zero()),
            acs = xml_escape(&self.sp.acs),
            issuer = xml_escape(&self.entity_id),
        );
        Ok(base64::engine::general_purpose::STANDARD.encode(response))
    }
}

/// The auto-submitting page that posts a signed response to the SP's ACS (the HTTP-POST
/// binding), as an IdP's browser step does; `in_response_to` answers an AuthnRequest.
pub fn post_form(idp: &DemoIdp, in_response_to: Option<&str>, relay: Option<&str>) -> String {
    match idp.response(in_response_to.filter(|s| !s.is_empty())) {
        Ok(resp) => format!(
            r#"<!doctype html><html><body onload="document.forms[0].submit()"><p>Demo IdP: signing you in as alice@demo.example…</p><form method="post" action="{acs}"><input type="hidden" name="SAMLResponse" value="{resp}"/><input type="hidden" name="RelayState" value="{relay}"/><noscript><button type="submit">Continue</button></noscript></form></body></html>"#,
            acs = xml_escape(&idp.sp.acs),
            relay = xml_escape(relay.unwrap_or_default()),
        ),
        Err(e) => format!("<p>demo IdP error: {}</p>", xml_escape(&e)),
    }
}

/// The ID of an incoming AuthnRequest (deflated, base64). The demo trusts its own SP.
pub fn request_id(saml_request: &str) -> Option<String> {
    let raw = base64::engine::general_purpose::STANDARD.decode(saml_request.trim()).ok()?;
    let mut xml = String::new();
    flate2::read::DeflateDecoder::new(&raw[..]).take(64 * 1024).read_to_string(&mut xml).ok()?;
    let doc = roxmltree::Document::parse(&xml).ok()?;
    doc.root_element().attribute("ID").map(str::to_string)
}
