//! Key pairs for test IdPs (and for attackers), written as PEM files for xmlsec1 and pysaml2.

use std::path::PathBuf;

use base64::Engine;
use openssl::asn1::Asn1Time;
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use openssl::x509::{X509NameBuilder, X509};

#[derive(Clone)]
pub struct KeyPair {
    pub key_path: PathBuf,
    pub cert_path: PathBuf,
    pub cert_der: Vec<u8>,
    pub _dir: std::sync::Arc<tempfile::TempDir>,
}

impl KeyPair {
    pub fn cert_b64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(&self.cert_der)
    }
}

/// A fresh RSA-2048 key and self-signed certificate with this subject CN.
pub fn generate(cn: &str) -> KeyPair {
    generate_with_serial(cn, None)
}

/// Same, optionally copying a serial (to mimic a victim certificate).
pub fn generate_with_serial(cn: &str, serial: Option<&openssl::asn1::Asn1IntegerRef>) -> KeyPair {
    let now = chrono::Utc::now().timestamp();
    generate_full(cn, serial, now, now + 365 * 86_400)
}

/// A key pair whose certificate is valid from `not_before` to `not_after` (unix seconds): an
/// expired or expiring IdP certificate.
pub fn generate_valid(cn: &str, not_before: i64, not_after: i64) -> KeyPair {
    generate_full(cn, None, not_before, not_after)
}

fn generate_full(cn: &str, serial: Option<&openssl::asn1::Asn1IntegerRef>, not_before: i64, not_after: i64) -> KeyPair {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = PKey::from_rsa(Rsa::generate(2048).expect("rsa")).expect("pkey");
    let mut name = X509NameBuilder::new().expect("name");
    name.append_entry_by_text("CN", cn).expect("cn");
    let name = name.build();
    let mut b = X509::builder().expect("builder");
    b.set_version(2).expect("v3");
    match serial {
        Some(s) => b.set_serial_number(s).expect("serial"),
        None => {
            let s = openssl::bn::BigNum::from_u32(rand_u32()).expect("bn").to_asn1_integer().expect("asn1");
            b.set_serial_number(&s).expect("serial")
        }
    }
    b.set_subject_name(&name).expect("subject");
    b.set_issuer_name(&name).expect("issuer");
    b.set_pubkey(&key).expect("pubkey");
    let (from, until) = (Asn1Time::from_unix(not_before).expect("t"), Asn1Time::from_unix(not_after).expect("t"));
    b.set_not_before(&from).expect("nb");
    b.set_not_after(&until).expect("na");
    b.sign(&key, MessageDigest::sha256()).expect("sign");
    let cert = b.build();
    let key_path = dir.path().join("idp.key");
    let cert_path = dir.path().join("idp.crt");
    std::fs::write(&key_path, key.private_key_to_pem_pkcs8().expect("pem")).expect("write key");
    std::fs::write(&cert_path, cert.to_pem().expect("pem")).expect("write cert");
    KeyPair { key_path, cert_path, cert_der: cert.to_der().expect("der"), _dir: std::sync::Arc::new(dir) }
}

fn rand_u32() -> u32 {
    let mut b = [0u8; 4];
    openssl::rand::rand_bytes(&mut b).expect("rand");
    u32::from_le_bytes(b) | 1
}
