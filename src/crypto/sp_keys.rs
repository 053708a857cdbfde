//! The SP key pair of one SSO configuration: RSA-2048, self-signed certificate. It signs our
//! AuthnRequests and decrypts EncryptedAssertions; IdPs pin the certificate from our metadata.

use base64::Engine;
use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::{X509NameBuilder, X509};

use super::{read, write_private, write_public, CryptoError};
use crate::config::DataDir;

/// Validity of a generated SP certificate. IdPs pin it, and a rotation is a coordinated
/// change with every IdP, so it is long-lived; admins who need yearly rotation can replace it.
const SP_CERT_DAYS: u32 = 3650;

pub struct SpKeys {
    pub key: PKey<Private>,
    pub cert: X509,
    pub cert_pem: String,
}

impl SpKeys {
    /// Base64 DER, as it goes into `ds:X509Certificate`.
    pub fn cert_b64(&self) -> String {
        let der = self.cert.to_der().unwrap_or_default();
        base64::engine::general_purpose::STANDARD.encode(der)
    }
}

pub fn load_or_generate(dir: &DataDir, sso_id: i64, common_name: &str) -> Result<SpKeys, CryptoError> {
    let (key_path, cert_path) = (dir.sp_key(sso_id), dir.sp_cert(sso_id));
    if !key_path.exists() {
        let rsa = Rsa::generate(2048)?;
        let key = PKey::from_rsa(rsa)?;
        let cert = self_signed(&key, common_name)?;
        write_private(&key_path, &key.private_key_to_pem_pkcs8()?)?;
        write_public(&cert_path, &cert.to_pem()?)?;
    }
    load(dir, sso_id)
}

pub fn load(dir: &DataDir, sso_id: i64) -> Result<SpKeys, CryptoError> {
    let key = PKey::private_key_from_pem(&read(&dir.sp_key(sso_id))?)?;
    let cert_pem_bytes = read(&dir.sp_cert(sso_id))?;
    let cert = X509::from_pem(&cert_pem_bytes)?;
    Ok(SpKeys { key, cert, cert_pem: String::from_utf8_lossy(&cert_pem_bytes).into_owned() })
}

fn self_signed(key: &PKey<Private>, common_name: &str) -> Result<X509, CryptoError> {
    let mut name = X509NameBuilder::new()?;
    name.append_entry_by_text("CN", common_name)?;
    name.append_entry_by_text("O", "spconnect")?;
    let name = name.build();
    let mut b = X509::builder()?;
    b.set_version(2)?;
    let mut serial = BigNum::new()?;
    serial.rand(127, MsbOption::MAYBE_ZERO, false)?;
    let serial = serial.to_asn1_integer()?;
    b.set_serial_number(&serial)?;
    b.set_subject_name(&name)?;
    b.set_issuer_name(&name)?;
    b.set_pubkey(key)?;
    let (from, until) = (Asn1Time::days_from_now(0)?, Asn1Time::days_from_now(SP_CERT_DAYS)?);
    b.set_not_before(&from)?;
    b.set_not_after(&until)?;
    b.sign(key, MessageDigest::sha256())?;
    Ok(b.build())
}

/// SP keys by SSO ID, loaded from disk once (generated on first use).
pub struct SpKeyRing {
    dir: DataDir,
    common_name: String,
    cache: std::sync::RwLock<std::collections::HashMap<i64, std::sync::Arc<SpKeys>>>,
}

impl SpKeyRing {
    pub fn new(dir: DataDir, common_name: &str) -> Self {
        SpKeyRing { dir, common_name: common_name.to_string(), cache: Default::default() }
    }

    pub fn get(&self, sso_id: i64) -> Result<std::sync::Arc<SpKeys>, CryptoError> {
        if let Some(k) = self.cache.read().ok().and_then(|c| c.get(&sso_id).cloned()) {
            return Ok(k);
        }
        let keys = std::sync::Arc::new(load_or_generate(&self.dir, sso_id, &self.common_name)?);
        if let Ok(mut c) = self.cache.write() {
            c.insert(sso_id, keys.clone());
        }
        Ok(keys)
    }
}
