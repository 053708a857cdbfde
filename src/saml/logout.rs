//! Single Logout messages (saml-core §3.7), pure: building our LogoutRequest/LogoutResponse,
//! signing them for the HTTP-POST binding, and reading the IdP's, with every check that needs
//! no storage. `now` is an argument throughout.
//!
//! Reading an IdP message (either binding):
//! 1. Redirect: `redirect::receive` verifies the query-string signature over the octets as
//!    received, then inflates within a bound. POST: bounded base64 (`xml::decode_form_value`).
//! 2. `xml::scan_with`/`parse_with` (LOGOUT_LIMITS): no DTD, entities, PIs or comments.
//! 3. POST only: exactly one `ds:Signature`, a child of the root, verified by
//!    `response::signature::verify_document` with the IdP's metadata keys; values are then read
//!    only from that verified root element (no signature wrapping: the element read is the
//!    element signed). Redirect: a signature inside the XML is ignored, the query one counts.
//! 4. `check`: Issuer, Destination, IssueInstant and NotOnOrAfter within the clock skew.
//!
//! One-time use (the request IDs we sent, the IDs the IdP sent) is left to `crate::logout`.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private, Public};
use openssl::sign::Signer;

use super::redirect::{self, Param, RedirectError};
use super::response::assertion::parse_time;
use super::response::signature;
use super::xml::{self, AlgorithmPolicy, Limits};
use super::{child, is, text_content, xml_escape, Rejection, NS_DS, NS_SAML, NS_SAMLP, STATUS_SUCCESS};

pub const STATUS_REQUESTER: &str = "urn:oasis:names:tc:SAML:2.0:status:Requester";
pub const STATUS_RESPONDER: &str = "urn:oasis:names:tc:SAML:2.0:status:Responder";

/// Logout messages are small: a NameID, a few SessionIndexes and a signature.
pub const LOGOUT_LIMITS: Limits =
    Limits { max_bytes: 64 * 1024, max_depth: 16, max_elements: 200, max_attrs_per_element: 16 };
/// SessionIndex elements read from one LogoutRequest.
pub const MAX_SESSION_INDEXES: usize = 32;
/// How old a message's IssueInstant may be (besides the clock skew).
pub const MAX_MESSAGE_AGE_SECS: i64 = 600;

/// Why an SLO message was refused. Codes are stable (see `web::reason_help`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SloRefusal {
    #[error("no SAMLRequest or SAMLResponse was sent")]
    Missing,
    #[error("the message is larger than spconnect reads ({0})")]
    TooLarge(String),
    #[error("the message could not be read: {0}")]
    Malformed(String),
    #[error("the message is not signed")]
    Unsigned,
    #[error("the signature does not verify against the IdP's certificates: {0}")]
    SignatureInvalid(String),
    #[error("Destination {found:?} is not our SLO endpoint {expected:?}")]
    DestinationMismatch { expected: String, found: String },
    #[error("Issuer {found:?} is not the IdP {expected:?}")]
    IssuerMismatch { expected: String, found: String },
    #[error("InResponseTo {0:?} is not a LogoutRequest this service sent")]
    UnknownInResponseTo(String),
    #[error("{0} was already used")]
    Replayed(String),
    #[error("the message is outside its validity period: {0}")]
    Expired(String),
    #[error("the IdP answered the logout with status {0}")]
    StatusNotSuccess(String),
    #[error("Single Logout is not set up for this configuration: {0}")]
    NotConfigured(&'static str),
}

impl SloRefusal {
    pub fn code(&self) -> &'static str {
        use SloRefusal::*;
        match self {
            Missing => "SLO_MESSAGE_MISSING",
            TooLarge(_) => "SLO_MESSAGE_TOO_LARGE",
            Malformed(_) => "SLO_MESSAGE_MALFORMED",
            Unsigned => "SLO_UNSIGNED",
            SignatureInvalid(_) => "SLO_SIGNATURE_INVALID",
            DestinationMismatch { .. } => "SLO_DESTINATION_MISMATCH",
            IssuerMismatch { .. } => "SLO_ISSUER_MISMATCH",
            UnknownInResponseTo(_) => "SLO_UNKNOWN_IN_RESPONSE_TO",
            Replayed(_) => "SLO_REPLAYED",
            Expired(_) => "SLO_EXPIRED",
            StatusNotSuccess(_) => "SLO_STATUS_NOT_SUCCESS",
            NotConfigured(_) => "SLO_NOT_CONFIGURED",
        }
    }

    /// Input that could not be read as a logout message at all (400); the rest is 403.
    pub fn is_malformed_input(&self) -> bool {
        matches!(self, SloRefusal::Missing | SloRefusal::TooLarge(_) | SloRefusal::Malformed(_))
    }
}

impl From<RedirectError> for SloRefusal {
    fn from(e: RedirectError) -> Self {
        match e {
            RedirectError::Missing => SloRefusal::Missing,
            RedirectError::TooLarge(what) => SloRefusal::TooLarge(what.into()),
            RedirectError::Malformed(m) => SloRefusal::Malformed(m),
            RedirectError::Unsigned => SloRefusal::Unsigned,
            RedirectError::AlgorithmForbidden(a) => SloRefusal::SignatureInvalid(format!("SigAlg {a} is not allowed")),
            RedirectError::SignatureInvalid => {
                SloRefusal::SignatureInvalid("the query-string signature does not verify".into())
            }
        }
    }
}

/// XML intake refusals as SLO codes: signature ones keep their meaning, the rest is unreadable.
fn from_rejection(r: Rejection) -> SloRefusal {
    match r {
        Rejection::Unsigned => SloRefusal::Unsigned,
        Rejection::TooLarge { limit } => SloRefusal::TooLarge(format!("{limit} bytes")),
        Rejection::Missing => SloRefusal::Missing,
        r @ (Rejection::SignatureInvalid
        | Rejection::AlgorithmForbidden(_)
        | Rejection::ReferenceForbidden(_)
        | Rejection::TransformForbidden(_)
        | Rejection::SignatureObjectForbidden) => SloRefusal::SignatureInvalid(r.to_string()),
        other => SloRefusal::Malformed(other.to_string()),
    }
}

/// A fresh message ID: `_` + 128 random bits in hex.
pub fn new_id() -> String {
    format!("_{}", hex::encode(rand::random::<[u8; 16]>()))
}

fn instant(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Our LogoutRequest to the IdP (SP-initiated), naming the subject as the login's assertion did.
#[derive(Debug, Clone)]
pub struct LogoutRequest {
    pub id: String,
    pub issue_instant: DateTime<Utc>,
    pub not_on_or_after: DateTime<Utc>,
    pub destination: String,
    pub issuer: String,
    pub name_id: String,
    pub name_id_format: Option<String>,
    pub session_index: Option<String>,
}

impl LogoutRequest {
    pub fn to_xml(&self) -> String {
        let format =
            self.name_id_format.as_deref().map(|f| format!(" Format=\"{}\"", xml_escape(f))).unwrap_or_default();
        let session_index = self
            .session_index
            .as_deref()
            .map(|s| format!("<samlp:SessionIndex>{}</samlp:SessionIndex>", xml_escape(s)))
            .unwrap_or_default();
        format!(
            r#"<samlp:LogoutRequest xmlns:samlp="{NS_SAMLP}" xmlns:saml="{NS_SAML}" ID="{id}" Version="2.0" IssueInstant="{ii}" NotOnOrAfter="{noa}" Destination="{dest}"><saml:Issuer>{issuer}</saml:Issuer><saml:NameID{format}>{name_id}</saml:NameID>{session_index}</samlp:LogoutRequest>"#,
            id = self.id,
            ii = instant(self.issue_instant),
            noa = instant(self.not_on_or_after),
            dest = xml_escape(&self.destination),
            issuer = xml_escape(&self.issuer),
            name_id = xml_escape(&self.name_id),
        )
    }
}

/// Our LogoutResponse to an IdP's LogoutRequest.
#[derive(Debug, Clone)]
pub struct LogoutResponse {
    pub id: String,
    pub issue_instant: DateTime<Utc>,
    pub destination: String,
    pub issuer: String,
    pub in_response_to: String,
    pub status: &'static str,
}

impl LogoutResponse {
    pub fn to_xml(&self) -> String {
        format!(
            r#"<samlp:LogoutResponse xmlns:samlp="{NS_SAMLP}" xmlns:saml="{NS_SAML}" ID="{id}" Version="2.0" IssueInstant="{ii}" Destination="{dest}" InResponseTo="{irt}"><saml:Issuer>{issuer}</saml:Issuer><samlp:Status><samlp:StatusCode Value="{status}"/></samlp:Status></samlp:LogoutResponse>"#,
            id = self.id,
            ii = instant(self.issue_instant),
            dest = xml_escape(&self.destination),
            irt = xml_escape(&self.in_response_to),
            issuer = xml_escape(&self.issuer),
            status = self.status,
        )
    }
}

/// Sign a message of ours for the HTTP-POST binding: an enveloped RSA-SHA256 signature with
/// exclusive c14n over the root element, placed right after its `saml:Issuer` (schema order).
pub fn sign_enveloped(xml: &str, key: &PKey<Private>) -> Result<String, String> {
    let doc = xml::parse_with(xml, LOGOUT_LIMITS).map_err(|e| e.to_string())?;
    let root = doc.root_element();
    let id = root.attribute("ID").ok_or("message without ID")?.to_string();
    let mut canonical = Vec::with_capacity(xml.len());
    super::c14n::exclusive(root, None, &Default::default(), &mut canonical).map_err(|e| e.0)?;
    let digest = openssl::hash::hash(MessageDigest::sha256(), &canonical).map_err(|e| e.to_string())?;
    let digest_b64 = b64(&digest);
    let signed_info = format!(
        r##"<ds:SignedInfo xmlns:ds="{NS_DS}"><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/><ds:Reference URI="#{id}"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/><ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue>{digest_b64}</ds:DigestValue></ds:Reference></ds:SignedInfo>"##
    );
    // The SignedInfo as written is already canonical (one namespace, attributes in order, no
    // whitespace); it is canonicalised anyway, from a parse, so the two can never differ.
    let si_doc = roxmltree::Document::parse(&signed_info).map_err(|e| e.to_string())?;
    let mut si_canonical = Vec::new();
    super::c14n::exclusive(si_doc.root_element(), None, &Default::default(), &mut si_canonical).map_err(|e| e.0)?;
    let mut signer = Signer::new(MessageDigest::sha256(), key).map_err(|e| e.to_string())?;
    signer.update(&si_canonical).map_err(|e| e.to_string())?;
    let value = b64(&signer.sign_to_vec().map_err(|e| e.to_string())?);
    let signature = format!(
        r#"<ds:Signature xmlns:ds="{NS_DS}">{}<ds:SignatureValue>{value}</ds:SignatureValue></ds:Signature>"#,
        signed_info.replacen(&format!(r#"<ds:SignedInfo xmlns:ds="{NS_DS}">"#), "<ds:SignedInfo>", 1)
    );
    let issuer_end = "</saml:Issuer>";
    let at = xml.find(issuer_end).ok_or("message without saml:Issuer")? + issuer_end.len();
    Ok(format!("{}{signature}{}", &xml[..at], &xml[at..]))
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// How a message arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binding {
    Redirect,
    Post,
}

/// A LogoutRequest from the IdP, read from its verified element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestFields {
    pub id: String,
    pub issue_instant: String,
    pub not_on_or_after: Option<String>,
    pub destination: Option<String>,
    pub issuer: Option<String>,
    pub name_id: String,
    pub name_id_format: Option<String>,
    pub session_indexes: Vec<String>,
}

/// A LogoutResponse from the IdP, read from its verified element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseFields {
    pub id: String,
    pub issue_instant: String,
    pub destination: Option<String>,
    pub issuer: Option<String>,
    pub in_response_to: Option<String>,
    pub status: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Request(RequestFields),
    Response(ResponseFields),
}

/// A verified message and the RelayState that came with it (opaque; never a redirect target).
#[derive(Debug, Clone)]
pub struct Received {
    pub message: Message,
    pub relay_state: Option<String>,
    pub binding: Binding,
}

/// Verify and read a Redirect-binding message (`raw_query` exactly as received).
pub fn receive_redirect(
    raw_query: &str,
    keys: &[PKey<Public>],
    policy: AlgorithmPolicy,
) -> Result<Received, SloRefusal> {
    let got = redirect::receive(raw_query, keys, policy)?;
    let message = read(&got.xml, got.param, None)?;
    Ok(Received { message, relay_state: got.relay_state, binding: Binding::Redirect })
}

/// Verify and read a POST-binding message (the form's SAMLRequest or SAMLResponse value).
pub fn receive_post(
    param: Param,
    encoded: &str,
    relay_state: Option<String>,
    keys: &[PKey<Public>],
    policy: AlgorithmPolicy,
) -> Result<Received, SloRefusal> {
    let xml = xml::decode_form_value(encoded).map_err(from_rejection)?;
    let message = read(&xml, param, Some((keys, policy)))?;
    let relay_state = relay_state.filter(|r| r.len() <= redirect::MAX_RELAY_STATE_LEN);
    Ok(Received { message, relay_state, binding: Binding::Post })
}

/// Parse, (POST) verify the enveloped signature on the root, and read the fields from the root.
fn read(
    xml_text: &str,
    param: Param,
    verify: Option<(&[PKey<Public>], AlgorithmPolicy)>,
) -> Result<Message, SloRefusal> {
    xml::scan_with(xml_text, LOGOUT_LIMITS).map_err(from_rejection)?;
    let doc = xml::parse_with(xml_text, LOGOUT_LIMITS).map_err(from_rejection)?;
    let root = doc.root_element();
    let (expected, name) = match param {
        Param::Request => ("LogoutRequest", "SAMLRequest"),
        Param::Response => ("LogoutResponse", "SAMLResponse"),
    };
    if !is(root, NS_SAMLP, expected) {
        return Err(SloRefusal::Malformed(format!(
            "{name} carries {:?}, not samlp:{expected}",
            root.tag_name().name()
        )));
    }
    if root.attribute("Version") != Some("2.0") {
        return Err(SloRefusal::Malformed("Version is not 2.0".into()));
    }
    if let Some((keys, policy)) = verify {
        let signatures: Vec<_> = doc.descendants().filter(|n| is(*n, NS_DS, "Signature")).collect();
        match signatures.as_slice() {
            [] => return Err(SloRefusal::Unsigned),
            // The one signature must sit on the root: the element we read is the element signed.
            [sig] if sig.parent_element() == Some(root) => {}
            _ => return Err(SloRefusal::SignatureInvalid("the signature is not one enveloped in the message".into())),
        }
        let signed = signature::verify_document(&doc, keys, policy).map_err(from_rejection)?;
        if signed != [root.id()] {
            return Err(SloRefusal::SignatureInvalid("the signature does not cover the message".into()));
        }
    }
    let attr = |n: &str| root.attribute(n).map(str::to_string);
    let id =
        attr("ID").filter(|i| !i.is_empty() && i.len() <= 256).ok_or_else(|| SloRefusal::Malformed("no ID".into()))?;
    let issue_instant = attr("IssueInstant").ok_or_else(|| SloRefusal::Malformed("no IssueInstant".into()))?;
    let issuer = child(root, NS_SAML, "Issuer").map(|i| text_content(i).trim().to_string());
    let destination = attr("Destination");
    Ok(match param {
        Param::Request => {
            if child(root, NS_SAML, "EncryptedID").is_some() || child(root, NS_SAML, "BaseID").is_some() {
                return Err(SloRefusal::Malformed("only a plain saml:NameID is supported".into()));
            }
            let names: Vec<_> = root.children().filter(|c| is(*c, NS_SAML, "NameID")).collect();
            let [name_id] = names.as_slice() else {
                return Err(SloRefusal::Malformed(format!("{} NameID elements", names.len())));
            };
            let indexes: Vec<String> = root
                .children()
                .filter(|c| is(*c, NS_SAMLP, "SessionIndex"))
                .map(|c| text_content(c).trim().to_string())
                .collect();
            if indexes.len() > MAX_SESSION_INDEXES {
                return Err(SloRefusal::TooLarge(format!("more than {MAX_SESSION_INDEXES} SessionIndex elements")));
            }
            Message::Request(RequestFields {
                id,
                issue_instant,
                not_on_or_after: attr("NotOnOrAfter"),
                destination,
                issuer,
                name_id: text_content(*name_id).trim().to_string(),
                name_id_format: name_id.attribute("Format").map(str::to_string),
                session_indexes: indexes,
            })
        }
        Param::Response => Message::Response(ResponseFields {
            id,
            issue_instant,
            destination,
            issuer,
            in_response_to: attr("InResponseTo"),
            status: child(root, NS_SAMLP, "Status")
                .and_then(|s| child(s, NS_SAMLP, "StatusCode"))
                .and_then(|c| c.attribute("Value"))
                .unwrap_or("(missing)")
                .to_string(),
        }),
    })
}

/// What a configuration expects of the IdP's logout messages.
#[derive(Debug, Clone)]
pub struct Expectations<'a> {
    pub idp_entity_id: &'a str,
    /// Our SLO endpoint (the Destination the IdP must write).
    pub slo_url: &'a str,
    pub clock_skew: Duration,
}

fn clip(s: &str) -> String {
    s.chars().take(120).collect()
}

/// Issuer, Destination and the time window of a verified message.
pub fn check(message: &Message, exp: &Expectations, now: DateTime<Utc>) -> Result<(), SloRefusal> {
    let (issuer, destination, issue_instant, not_on_or_after) = match message {
        Message::Request(r) => (&r.issuer, &r.destination, &r.issue_instant, r.not_on_or_after.as_deref()),
        Message::Response(r) => (&r.issuer, &r.destination, &r.issue_instant, None),
    };
    match issuer {
        Some(i) if i == exp.idp_entity_id => {}
        other => {
            return Err(SloRefusal::IssuerMismatch {
                expected: exp.idp_entity_id.to_string(),
                found: clip(other.as_deref().unwrap_or("(none)")),
            })
        }
    }
    // A signed message names where it is meant to go (saml-bindings §3.4.5.2, §3.5.5.2).
    match destination {
        Some(d) if d == exp.slo_url => {}
        other => {
            return Err(SloRefusal::DestinationMismatch {
                expected: exp.slo_url.to_string(),
                found: clip(other.as_deref().unwrap_or("(none)")),
            })
        }
    }
    let issued = parse_time(issue_instant).ok_or_else(|| SloRefusal::Malformed("IssueInstant is not a time".into()))?;
    if issued > now + exp.clock_skew {
        return Err(SloRefusal::Expired(format!("IssueInstant {} is in the future", instant(issued))));
    }
    if issued + Duration::seconds(MAX_MESSAGE_AGE_SECS) + exp.clock_skew < now {
        return Err(SloRefusal::Expired(format!("IssueInstant {} is too old", instant(issued))));
    }
    if let Some(noa) = not_on_or_after {
        let noa = parse_time(noa).ok_or_else(|| SloRefusal::Malformed("NotOnOrAfter is not a time".into()))?;
        if noa + exp.clock_skew <= now {
            return Err(SloRefusal::Expired(format!("NotOnOrAfter {} has passed", instant(noa))));
        }
    }
    Ok(())
}

/// How long an accepted LogoutRequest ID must be remembered to refuse its replay: as long as
/// `check` would still accept the message.
pub fn replay_horizon(fields: &RequestFields, clock_skew: Duration, now: DateTime<Utc>) -> DateTime<Utc> {
    let by_age = parse_time(&fields.issue_instant).map(|t| t + Duration::seconds(MAX_MESSAGE_AGE_SECS) + clock_skew);
    let by_noa = fields.not_on_or_after.as_deref().and_then(parse_time).map(|t| t + clock_skew);
    [by_age, by_noa].into_iter().flatten().max().unwrap_or(now).max(now) + Duration::seconds(1)
}

/// Whether a LogoutResponse's status is Success.
pub fn is_success(fields: &ResponseFields) -> bool {
    fields.status == STATUS_SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;
    use openssl::rsa::Rsa;

    const IDP: &str = "https://idp.example/metadata";
    const SLO: &str = "https://sp.example/api/rest/sso/saml/slo/1";

    fn keypair() -> (PKey<Private>, PKey<Public>) {
        let private = PKey::from_rsa(Rsa::generate(2048).expect("rsa")).expect("pkey");
        let public = PKey::public_key_from_pem(&private.public_key_to_pem().expect("pem")).expect("public");
        (private, public)
    }

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).expect("time").with_timezone(&Utc)
    }

    fn request(issuer: &str, destination: &str, at: DateTime<Utc>) -> LogoutRequest {
        LogoutRequest {
            id: new_id(),
            issue_instant: at,
            not_on_or_after: at + Duration::minutes(5),
            destination: destination.into(),
            issuer: issuer.into(),
            name_id: "dana@example.com".into(),
            name_id_format: Some(crate::saml::NAMEID_EMAIL.into()),
            session_index: Some("_s1".into()),
        }
    }

    fn post(xml: &str) -> String {
        b64(xml.as_bytes())
    }

    #[test]
    fn post_signature_round_trip_and_refusals() {
        let (key, public) = keypair();
        let (other_key, _) = keypair();
        let now = t("2026-01-01T00:00:00Z");
        let xml = request(IDP, SLO, now).to_xml();
        let signed = sign_enveloped(&xml, &key).expect("sign");
        let policy = AlgorithmPolicy::default();
        let keys = std::slice::from_ref(&public);
        let got = receive_post(Param::Request, &post(&signed), None, keys, policy).expect("verifies");
        let Message::Request(fields) = &got.message else { panic!("request") };
        assert_eq!(fields.name_id, "dana@example.com");
        assert_eq!(fields.session_indexes, vec!["_s1".to_string()]);
        assert_eq!(
            check(
                &got.message,
                &Expectations { idp_entity_id: IDP, slo_url: SLO, clock_skew: Duration::seconds(180) },
                now
            ),
            Ok(())
        );

        // Signature wrapping: the signed request moved inside an Extensions element of a new
        // unsigned root that names another user. The signature no longer sits on the root.
        let wrapped = format!(
            r#"<samlp:LogoutRequest xmlns:samlp="{NS_SAMLP}" xmlns:saml="{NS_SAML}" ID="_evil" Version="2.0" IssueInstant="2026-01-01T00:00:00Z" Destination="{SLO}"><saml:Issuer>{IDP}</saml:Issuer><samlp:Extensions>{signed}</samlp:Extensions><saml:NameID>victim@example.com</saml:NameID></samlp:LogoutRequest>"#
        );
        let tampered = signed.replace("dana@example.com", "eve@example.com");
        let cases: Vec<(&str, String, &str)> = vec![
            ("unsigned", post(&xml), "SLO_UNSIGNED"),
            ("other key", post(&sign_enveloped(&xml, &other_key).expect("sign")), "SLO_SIGNATURE_INVALID"),
            ("tampered NameID", post(&tampered), "SLO_SIGNATURE_INVALID"),
            ("wrapped", post(&wrapped), "SLO_SIGNATURE_INVALID"),
            ("doctype", post(&format!("<!DOCTYPE x [<!ENTITY a \"b\">]>{signed}")), "SLO_MESSAGE_MALFORMED"),
            (
                "a response where a request belongs",
                post(&signed.replace("LogoutRequest", "LogoutResponse")),
                "SLO_MESSAGE_MALFORMED",
            ),
            ("not base64", "@@@".into(), "SLO_MESSAGE_MALFORMED"),
            ("empty", "".into(), "SLO_MESSAGE_MISSING"),
        ];
        for (name, encoded, code) in cases {
            let err = receive_post(Param::Request, &encoded, None, keys, policy).expect_err(name);
            assert_eq!(err.code(), code, "{name}: {err}");
        }
    }

    #[test]
    fn checks_are_table_driven() {
        let now = t("2026-01-01T00:10:00Z");
        let exp = Expectations { idp_entity_id: IDP, slo_url: SLO, clock_skew: Duration::seconds(60) };
        let fields = |issuer: Option<&str>, dest: Option<&str>, ii: &str, noa: Option<&str>| {
            Message::Request(RequestFields {
                id: "_x".into(),
                issue_instant: ii.into(),
                not_on_or_after: noa.map(str::to_string),
                destination: dest.map(str::to_string),
                issuer: issuer.map(str::to_string),
                name_id: "u".into(),
                name_id_format: None,
                session_indexes: vec![],
            })
        };
        let ok = "2026-01-01T00:09:00Z";
        let cases = [
            (fields(Some(IDP), Some(SLO), ok, None), None),
            (fields(Some("https://other"), Some(SLO), ok, None), Some("SLO_ISSUER_MISMATCH")),
            (fields(None, Some(SLO), ok, None), Some("SLO_ISSUER_MISMATCH")),
            (fields(Some(IDP), Some("https://sp.example/other"), ok, None), Some("SLO_DESTINATION_MISMATCH")),
            (fields(Some(IDP), None, ok, None), Some("SLO_DESTINATION_MISMATCH")),
            // Within the skew ahead is fine; beyond it is not.
            (fields(Some(IDP), Some(SLO), "2026-01-01T00:10:59Z", None), None),
            (fields(Some(IDP), Some(SLO), "2026-01-01T00:11:01Z", None), Some("SLO_EXPIRED")),
            // Older than the maximum age plus skew.
            (fields(Some(IDP), Some(SLO), "2025-12-31T23:58:59Z", None), Some("SLO_EXPIRED")),
            (fields(Some(IDP), Some(SLO), ok, Some("2026-01-01T00:09:01Z")), None),
            (fields(Some(IDP), Some(SLO), ok, Some("2026-01-01T00:09:00Z")), Some("SLO_EXPIRED")),
            (fields(Some(IDP), Some(SLO), "yesterday", None), Some("SLO_MESSAGE_MALFORMED")),
        ];
        for (i, (message, want)) in cases.into_iter().enumerate() {
            assert_eq!(check(&message, &exp, now).err().map(|e| e.code()), want, "case {i}");
        }
    }

    #[test]
    fn redirect_messages_are_read_after_their_query_signature() {
        let (key, public) = keypair();
        let now = t("2026-01-01T00:00:00Z");
        let response = LogoutResponse {
            id: new_id(),
            issue_instant: now,
            destination: SLO.into(),
            issuer: IDP.into(),
            in_response_to: "_req".into(),
            status: STATUS_SUCCESS,
        };
        let url = redirect::signed_url(SLO, Param::Response, &response.to_xml(), Some("opaque"), &key).expect("sign");
        let query = url.split_once('?').expect("query").1;
        let got = receive_redirect(query, &[public], AlgorithmPolicy::default()).expect("verifies");
        let Message::Response(fields) = got.message else { panic!("response") };
        assert_eq!(fields.in_response_to.as_deref(), Some("_req"));
        assert!(is_success(&fields));
        assert_eq!(got.relay_state.as_deref(), Some("opaque"));
    }

    #[test]
    fn the_replay_horizon_covers_the_acceptance_window() {
        let now = t("2026-01-01T00:00:00Z");
        let f = RequestFields {
            id: "_x".into(),
            issue_instant: "2026-01-01T00:00:00Z".into(),
            not_on_or_after: Some("2026-01-01T02:00:00Z".into()),
            destination: None,
            issuer: None,
            name_id: "u".into(),
            name_id_format: None,
            session_indexes: vec![],
        };
        let skew = Duration::seconds(60);
        assert_eq!(replay_horizon(&f, skew, now), t("2026-01-01T02:01:01Z"));
        let f = RequestFields { not_on_or_after: None, ..f };
        assert_eq!(replay_horizon(&f, skew, now), now + Duration::seconds(MAX_MESSAGE_AGE_SECS + 61));
    }
}
