//! The HTTP-Redirect binding (saml-bindings §3.4), both ways.
//!
//! Out: DEFLATE, base64, URL-encode, then an RSA-SHA256 signature over
//! `SAMLRequest=…&RelayState=…&SigAlg=…` (or `SAMLResponse=…`) exactly as sent.
//!
//! In: the signature is verified over the query-string octets *as received* (§3.4.4.1), never
//! over re-encoded values; every parameter appears at most once; the encoded message and its
//! inflated XML are bounded before any parsing (a deflate bomb stops at the bound).

use std::io::{Read, Write};

use base64::Engine;
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use flate2::Compression;
use openssl::hash::MessageDigest;
use openssl::pkey::{Id, PKey, Private, Public};
use openssl::sign::{Signer, Verifier};

use super::xml::AlgorithmPolicy;
use super::{ALG_RSA_SHA1, ALG_RSA_SHA256};

/// Longest raw query string read (the message, RelayState, SigAlg and Signature together).
pub const MAX_QUERY_LEN: usize = 64 * 1024;
/// Largest inflated message. Logout messages are a few KB.
pub const MAX_INFLATED_LEN: usize = 64 * 1024;
/// Longest RelayState (saml-bindings §3.4.3: at most 80 bytes; some IdPs send more).
pub const MAX_RELAY_STATE_LEN: usize = 1024;

const ALG_RSA_SHA384: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384";
const ALG_RSA_SHA512: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512";

/// Which message a parameter carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Param {
    Request,
    Response,
}

impl Param {
    pub fn name(self) -> &'static str {
        match self {
            Param::Request => "SAMLRequest",
            Param::Response => "SAMLResponse",
        }
    }
}

/// Why a Redirect-binding message was refused, before or at its signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedirectError {
    /// Neither SAMLRequest nor SAMLResponse.
    Missing,
    TooLarge(&'static str),
    Malformed(String),
    /// No Signature/SigAlg.
    Unsigned,
    AlgorithmForbidden(String),
    SignatureInvalid,
}

/// A received Redirect-binding message whose signature verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub param: Param,
    pub xml: String,
    pub relay_state: Option<String>,
}

/// `destination` + `?`/`&` + the signed query carrying `xml` as `param`.
pub fn signed_url(
    destination: &str,
    param: Param,
    xml: &str,
    relay_state: Option<&str>,
    key: &PKey<Private>,
) -> Result<String, openssl::error::ErrorStack> {
    let mut deflater = DeflateEncoder::new(Vec::new(), Compression::default());
    // Writing into a Vec cannot fail.
    let _ = deflater.write_all(xml.as_bytes());
    let deflated = deflater.finish().unwrap_or_default();
    let encoded = base64::engine::general_purpose::STANDARD.encode(deflated);
    let mut query = format!("{}={}", param.name(), enc(&encoded));
    if let Some(relay) = relay_state.filter(|r| !r.is_empty()) {
        query.push_str(&format!("&RelayState={}", enc(relay)));
    }
    query.push_str(&format!("&SigAlg={}", enc(ALG_RSA_SHA256)));
    let mut signer = Signer::new(MessageDigest::sha256(), key)?;
    signer.update(query.as_bytes())?;
    let signature = base64::engine::general_purpose::STANDARD.encode(signer.sign_to_vec()?);
    let sep = if destination.contains('?') { '&' } else { '?' };
    Ok(format!("{destination}{sep}{query}&Signature={}", enc(&signature)))
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Percent-decode one query value (`+` is a space, as in form encoding).
fn dec(raw: &str) -> Result<String, RedirectError> {
    let bytes: Vec<u8> = url::form_urlencoded::parse(format!("v={raw}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned().into_bytes())
        .unwrap_or_default();
    String::from_utf8(bytes).map_err(|_| RedirectError::Malformed("a parameter is not UTF-8".into()))
}

/// Base64 from a query value: a `+` left unencoded by the sender decodes as a space.
fn b64(raw: &str) -> Result<Vec<u8>, RedirectError> {
    let text: String =
        dec(raw)?.chars().map(|c| if c == ' ' { '+' } else { c }).filter(|c| *c != '\n' && *c != '\r').collect();
    base64::engine::general_purpose::STANDARD.decode(text).map_err(|_| RedirectError::Malformed("not base64".into()))
}

/// Verify and decode a Redirect-binding query string exactly as received (`raw_query` is the
/// part after `?`, not decoded). Keys come from the IdP's metadata only.
pub fn receive(raw_query: &str, keys: &[PKey<Public>], policy: AlgorithmPolicy) -> Result<Received, RedirectError> {
    if raw_query.len() > MAX_QUERY_LEN {
        return Err(RedirectError::TooLarge("query string"));
    }
    let (mut message, mut relay, mut sig_alg, mut signature): (Option<(Param, &str)>, _, _, _) =
        (None, None, None, None);
    for part in raw_query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = part.split_once('=').unwrap_or((part, ""));
        let slot = match name {
            "SAMLRequest" | "SAMLResponse" => {
                if message.is_some() {
                    return Err(RedirectError::Malformed("more than one SAML message parameter".into()));
                }
                let param = if name == "SAMLRequest" { Param::Request } else { Param::Response };
                message = Some((param, value));
                continue;
            }
            "RelayState" => &mut relay,
            "SigAlg" => &mut sig_alg,
            "Signature" => &mut signature,
            // Other parameters (an IdP's own) are not part of the signed octets and are ignored.
            _ => continue,
        };
        if slot.replace(value).is_some() {
            return Err(RedirectError::Malformed(format!("{name} appears more than once")));
        }
    }
    let (param, raw_message) = message.ok_or(RedirectError::Missing)?;
    let (Some(raw_alg), Some(raw_signature)) = (sig_alg, signature) else {
        return Err(RedirectError::Unsigned);
    };
    // §3.4.4.1: the signed octets are the parameters as they arrived, in this order.
    let mut signed = format!("{}={raw_message}", param.name());
    if let Some(r) = relay {
        signed.push_str(&format!("&RelayState={r}"));
    }
    signed.push_str(&format!("&SigAlg={raw_alg}"));
    let alg = dec(raw_alg)?;
    let md = match alg.as_str() {
        ALG_RSA_SHA256 => MessageDigest::sha256(),
        ALG_RSA_SHA384 => MessageDigest::sha384(),
        ALG_RSA_SHA512 => MessageDigest::sha512(),
        ALG_RSA_SHA1 if policy.allow_sha1 => MessageDigest::sha1(),
        other => return Err(RedirectError::AlgorithmForbidden(other.chars().take(80).collect())),
    };
    let sig = b64(raw_signature).map_err(|_| RedirectError::SignatureInvalid)?;
    let verifies = |key: &PKey<Public>| {
        key.id() == Id::RSA
            && Verifier::new(md, key)
                .and_then(|mut v| {
                    v.update(signed.as_bytes())?;
                    v.verify(&sig)
                })
                .unwrap_or(false)
    };
    if keys.is_empty() || !keys.iter().any(verifies) {
        return Err(RedirectError::SignatureInvalid);
    }
    // Only a verified message is inflated, and only up to the bound.
    let deflated = b64(raw_message)?;
    let mut inflated = Vec::with_capacity(4096);
    DeflateDecoder::new(&deflated[..])
        .take(MAX_INFLATED_LEN as u64 + 1)
        .read_to_end(&mut inflated)
        .map_err(|_| RedirectError::Malformed("the message does not inflate".into()))?;
    if inflated.len() > MAX_INFLATED_LEN {
        return Err(RedirectError::TooLarge("inflated message"));
    }
    let xml = String::from_utf8(inflated).map_err(|_| RedirectError::Malformed("not UTF-8".into()))?;
    let relay_state = match relay {
        Some(r) => Some(dec(r)?).filter(|r| r.len() <= MAX_RELAY_STATE_LEN),
        None => None,
    };
    Ok(Received { param, xml, relay_state })
}

#[cfg(test)]
mod tests {
    use super::*;
    use openssl::rsa::Rsa;

    fn keypair() -> (PKey<Private>, PKey<Public>) {
        let rsa = Rsa::generate(2048).expect("rsa");
        let private = PKey::from_rsa(rsa.clone()).expect("pkey");
        let public = PKey::public_key_from_pem(&private.public_key_to_pem().expect("pem")).expect("public");
        (private, public)
    }

    fn query_of(url: &str) -> &str {
        url.split_once('?').map(|(_, q)| q).expect("query")
    }

    #[test]
    fn round_trip_and_refusals() {
        let (key, public) = keypair();
        let (_, other) = keypair();
        let xml = "<samlp:LogoutRequest xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" ID=\"_a\"/>";
        let url = signed_url("https://idp.example/slo", Param::Request, xml, Some("r/1 +x"), &key).expect("sign");
        let q = query_of(&url).to_string();
        let policy = AlgorithmPolicy::default();
        let got = receive(&q, std::slice::from_ref(&public), policy).expect("verifies");
        assert_eq!(got, Received { param: Param::Request, xml: xml.into(), relay_state: Some("r/1 +x".into()) });

        // Re-encoding a value (here: RelayState's space as %20 instead of +) changes the octets:
        // the signature covers the query as received, so it no longer verifies.
        let reencoded = q.replace("r%2F1+%2Bx", "r%2F1%20%2Bx");
        assert_ne!(reencoded, q);
        let unsigned: String = q.split('&').filter(|p| !p.starts_with("Signature=")).collect::<Vec<_>>().join("&");
        let dup = format!("{q}&RelayState=x");
        let tampered = q.replacen("RelayState=r", "RelayState=s", 1);
        let sha1 = q.replace(&enc(ALG_RSA_SHA256), &enc(ALG_RSA_SHA1));
        let cases: Vec<(&str, String, Vec<PKey<Public>>, RedirectError)> = vec![
            ("wrong key", q.clone(), vec![other.clone()], RedirectError::SignatureInvalid),
            ("no keys", q.clone(), vec![], RedirectError::SignatureInvalid),
            ("re-encoded", reencoded, vec![public.clone()], RedirectError::SignatureInvalid),
            ("tampered relay", tampered, vec![public.clone()], RedirectError::SignatureInvalid),
            ("unsigned", unsigned, vec![public.clone()], RedirectError::Unsigned),
            (
                "duplicate",
                dup,
                vec![public.clone()],
                RedirectError::Malformed("RelayState appears more than once".into()),
            ),
            ("sha1 not allowed", sha1, vec![public.clone()], RedirectError::AlgorithmForbidden(ALG_RSA_SHA1.into())),
            ("nothing", "RelayState=x".into(), vec![public.clone()], RedirectError::Missing),
            ("huge", "a".repeat(MAX_QUERY_LEN + 1), vec![public.clone()], RedirectError::TooLarge("query string")),
        ];
        for (name, query, keys, want) in cases {
            assert_eq!(receive(&query, &keys, policy), Err(want), "{name}");
        }
    }

    #[test]
    fn a_deflate_bomb_stops_at_the_bound() {
        let (key, public) = keypair();
        let bomb = format!("<x>{}</x>", " ".repeat(MAX_INFLATED_LEN * 8));
        let url = signed_url("https://idp.example/slo", Param::Response, &bomb, None, &key).expect("sign");
        assert!(url.len() < MAX_QUERY_LEN, "the bomb is small on the wire");
        assert_eq!(
            receive(query_of(&url), &[public], AlgorithmPolicy::default()),
            Err(RedirectError::TooLarge("inflated message"))
        );
    }
}
