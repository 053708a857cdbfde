//! Responses built as plain XML here and signed by the `xmlsec1` command-line tool, an
//! implementation we did not write. Tests mutate the XML before or after signing to build
//! hostile variants.

use std::process::Command;

use base64::Engine;
use chrono::{DateTime, Duration, SecondsFormat, Utc};

use super::keys::KeyPair;

pub const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
pub const RSA_SHA1: &str = "http://www.w3.org/2000/09/xmldsig#rsa-sha1";
pub const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";
pub const SHA1: &str = "http://www.w3.org/2000/09/xmldsig#sha1";

#[derive(Clone, Debug)]
pub struct ResponseSpec {
    pub response_id: String,
    pub assertion_id: String,
    pub response_issuer: Option<String>,
    pub assertion_issuer: String,
    pub destination: Option<String>,
    pub in_response_to: Option<String>,
    pub name_id: Option<String>,
    pub name_id_format: String,
    pub recipient: Option<String>,
    pub audience: Option<String>,
    pub status: String,
    pub issue_instant: DateTime<Utc>,
    pub not_before: DateTime<Utc>,
    pub not_on_or_after: DateTime<Utc>,
    pub scd_not_on_or_after: Option<DateTime<Utc>>,
    pub bearer: bool,
    pub attributes: Vec<(String, String)>,
    pub sign_assertion: bool,
    pub sign_response: bool,
    pub sig_alg: String,
    pub digest_alg: String,
}

fn rid(prefix: &str) -> String {
    let mut b = [0u8; 12];
    openssl::rand::rand_bytes(&mut b).expect("rand");
    format!("{prefix}{}", hex::encode(b))
}

impl ResponseSpec {
    /// A valid response for `email` to this SP, signed on the Assertion.
    pub fn new(idp_entity_id: &str, sp_entity_id: &str, acs: &str, email: &str) -> Self {
        let now = Utc::now();
        ResponseSpec {
            response_id: rid("_r"),
            assertion_id: rid("_a"),
            response_issuer: Some(idp_entity_id.into()),
            assertion_issuer: idp_entity_id.into(),
            destination: Some(acs.into()),
            in_response_to: None,
            name_id: Some(email.into()),
            name_id_format: "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress".into(),
            recipient: Some(acs.into()),
            audience: Some(sp_entity_id.into()),
            status: "urn:oasis:names:tc:SAML:2.0:status:Success".into(),
            issue_instant: now,
            not_before: now - Duration::seconds(30),
            not_on_or_after: now + Duration::minutes(5),
            scd_not_on_or_after: Some(now + Duration::minutes(5)),
            bearer: true,
            attributes: vec![
                ("Email".into(), email.into()),
                ("First".into(), "Alice".into()),
                ("Last".into(), "Example".into()),
            ],
            sign_assertion: true,
            sign_response: false,
            sig_alg: RSA_SHA256.into(),
            digest_alg: SHA256.into(),
        }
    }

    fn signature_template(&self, id: &str) -> String {
        format!(
            r##"<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="{}"/><ds:Reference URI="#{id}"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/><ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms><ds:DigestMethod Algorithm="{}"/><ds:DigestValue/></ds:Reference></ds:SignedInfo><ds:SignatureValue/><ds:KeyInfo><ds:X509Data/></ds:KeyInfo></ds:Signature>"##,
            self.sig_alg, self.digest_alg
        )
    }

    pub fn assertion_xml(&self) -> String {
        let t = |d: DateTime<Utc>| d.to_rfc3339_opts(SecondsFormat::Secs, true);
        let opt = |name: &str, v: &Option<String>| v.as_ref().map(|v| format!(r#" {name}="{v}""#)).unwrap_or_default();
        let name_id = self
            .name_id
            .as_ref()
            .map(|n| format!(r#"<saml:NameID Format="{}">{n}</saml:NameID>"#, self.name_id_format))
            .unwrap_or_default();
        let method = if self.bearer {
            "urn:oasis:names:tc:SAML:2.0:cm:bearer"
        } else {
            "urn:oasis:names:tc:SAML:2.0:cm:holder-of-key"
        };
        let scd = format!(
            "<saml:SubjectConfirmationData{}{}{}/>",
            opt("NotOnOrAfter", &self.scd_not_on_or_after.map(t)),
            opt("Recipient", &self.recipient),
            opt("InResponseTo", &self.in_response_to)
        );
        let audience = self
            .audience
            .as_ref()
            .map(|a| format!("<saml:AudienceRestriction><saml:Audience>{a}</saml:Audience></saml:AudienceRestriction>"))
            .unwrap_or_default();
        let attrs: String = self
            .attributes
            .iter()
            .map(|(n, v)| format!(r#"<saml:Attribute Name="{n}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic"><saml:AttributeValue>{v}</saml:AttributeValue></saml:Attribute>"#))
            .collect();
        let sig = if self.sign_assertion { self.signature_template(&self.assertion_id) } else { String::new() };
        format!(
            r#"<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{aid}" Version="2.0" IssueInstant="{ii}"><saml:Issuer>{issuer}</saml:Issuer>{sig}<saml:Subject>{name_id}<saml:SubjectConfirmation Method="{method}">{scd}</saml:SubjectConfirmation></saml:Subject><saml:Conditions NotBefore="{nb}" NotOnOrAfter="{na}">{audience}</saml:Conditions><saml:AuthnStatement AuthnInstant="{ii}" SessionIndex="{aid}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement><saml:AttributeStatement>{attrs}</saml:AttributeStatement></saml:Assertion>"#,
            aid = self.assertion_id,
            ii = t(self.issue_instant),
            issuer = self.assertion_issuer,
            nb = t(self.not_before),
            na = t(self.not_on_or_after),
        )
    }

    /// The unsigned document with Signature templates where signatures are wanted.
    pub fn template(&self) -> String {
        self.template_with_assertion(&self.assertion_xml())
    }

    pub fn template_with_assertion(&self, assertion: &str) -> String {
        let t = |d: DateTime<Utc>| d.to_rfc3339_opts(SecondsFormat::Secs, true);
        let opt = |name: &str, v: &Option<String>| v.as_ref().map(|v| format!(r#" {name}="{v}""#)).unwrap_or_default();
        let issuer =
            self.response_issuer.as_ref().map(|i| format!("<saml:Issuer>{i}</saml:Issuer>")).unwrap_or_default();
        let sig = if self.sign_response { self.signature_template(&self.response_id) } else { String::new() };
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{rid}" Version="2.0" IssueInstant="{ii}"{dest}{irt}>{issuer}{sig}<samlp:Status><samlp:StatusCode Value="{status}"/></samlp:Status>{assertion}</samlp:Response>"#,
            rid = self.response_id,
            ii = t(self.issue_instant),
            dest = opt("Destination", &self.destination),
            irt = opt("InResponseTo", &self.in_response_to),
            status = self.status,
        )
    }

    /// Signed by xmlsec1 with `key`: the Assertion first, then the Response around it.
    pub fn signed_xml(&self, key: &KeyPair) -> String {
        sign_xml(&self.template(), key, self.sign_assertion, self.sign_response)
    }

    pub fn signed_b64(&self, key: &KeyPair) -> String {
        b64(&self.signed_xml(key))
    }
}

pub fn b64(xml: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(xml)
}

/// Run `xmlsec1 --sign` over the Signature templates in `xml`.
pub fn sign_xml(xml: &str, key: &KeyPair, assertion: bool, response: bool) -> String {
    let mut doc = xml.to_string();
    if assertion {
        doc = xmlsec1_sign(
            &doc,
            key,
            "/*[local-name()='Response']/*[local-name()='Assertion']/*[local-name()='Signature']",
        );
    }
    if response {
        doc = xmlsec1_sign(&doc, key, "/*[local-name()='Response']/*[local-name()='Signature']");
    }
    doc
}

fn xmlsec1_sign(xml: &str, key: &KeyPair, node_xpath: &str) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("in.xml");
    let output = dir.path().join("out.xml");
    std::fs::write(&input, xml).expect("write");
    let out = Command::new("xmlsec1")
        .arg("--sign")
        .arg("--privkey-pem")
        .arg(format!("{},{}", key.key_path.display(), key.cert_path.display()))
        .args(["--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:protocol:Response"])
        .args(["--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:assertion:Assertion"])
        .args(["--node-xpath", node_xpath])
        .arg("--output")
        .arg(&output)
        .arg(&input)
        .output()
        .expect("xmlsec1 must be installed (Debian package xmlsec1)");
    assert!(out.status.success(), "xmlsec1 --sign failed: {}", String::from_utf8_lossy(&out.stderr));
    std::fs::read_to_string(&output).expect("read signed")
}
