//! An admin's own certificate and private key (a CA-issued SP certificate, or the HTTPS
//! certificate), from PEM files or a PKCS#12 bundle, checked before anything is stored:
//! the key must belong to the certificate, the certificate must be valid now, and the key must be
//! at least RSA-2048 (or, for HTTPS, ECDSA P-256 or stronger). An SP key must be RSA: it
//! decrypts XML-Encryption key transport (RSA-OAEP), which has no EC form IdPs use.

use openssl::nid::Nid;
use openssl::pkcs12::Pkcs12;
use openssl::pkey::{Id, PKey, Private};
use openssl::x509::X509;

use super::CryptoError;
use crate::saml::idp_metadata::asn1_to_utc;

/// What the pair will be used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Signs AuthnRequests and decrypts assertions (RSA only).
    SpKey,
    /// Serves HTTPS (RSA or ECDSA).
    Tls,
}

/// A checked pair: the key, its certificate, and any CA certificates that came with it.
pub struct Imported {
    pub key: PKey<Private>,
    pub cert: X509,
    pub chain: Vec<X509>,
}

impl Imported {
    /// The certificate then its chain, PEM (what an HTTPS server sends).
    pub fn chain_pem(&self) -> Result<Vec<u8>, CryptoError> {
        let mut out = self.cert.to_pem()?;
        for c in &self.chain {
            out.extend(c.to_pem()?);
        }
        Ok(out)
    }
}

fn refuse(why: impl Into<String>) -> CryptoError {
    CryptoError::Import(why.into())
}

/// A PEM certificate (the first one in the file is the leaf; the rest are its chain) and a PEM
/// private key (unencrypted PKCS#8 or traditional).
pub fn from_pem(cert_pem: &[u8], key_pem: &[u8], purpose: Purpose, now: i64) -> Result<Imported, CryptoError> {
    let mut certs = X509::stack_from_pem(cert_pem)
        .map_err(|_| refuse("the certificate file is not a PEM certificate (-----BEGIN CERTIFICATE-----)"))?;
    if certs.is_empty() {
        return Err(refuse("the certificate file holds no certificate"));
    }
    let cert = certs.remove(0);
    let key = PKey::private_key_from_pem(key_pem).map_err(|_| {
        refuse("the key file is not an unencrypted PEM private key (-----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----)")
    })?;
    check(Imported { key, cert, chain: certs }, purpose, now)
}

/// A PKCS#12 (.p12 / .pfx) bundle and its password.
pub fn from_pkcs12(der: &[u8], password: &str, purpose: Purpose, now: i64) -> Result<Imported, CryptoError> {
    let bundle = Pkcs12::from_der(der).map_err(|_| refuse("the file is not a PKCS#12 (.p12/.pfx) bundle"))?;
    let parsed = bundle.parse2(password).map_err(|_| {
        refuse(
            "the PKCS#12 bundle does not open with this password (or uses a legacy cipher: re-export it with AES-256)",
        )
    })?;
    let key = parsed.pkey.ok_or_else(|| refuse("the PKCS#12 bundle holds no private key"))?;
    let cert = parsed.cert.ok_or_else(|| refuse("the PKCS#12 bundle holds no certificate for its key"))?;
    let chain = parsed.ca.map(|s| s.into_iter().collect()).unwrap_or_default();
    check(Imported { key, cert, chain }, purpose, now)
}

/// The checks, in order: key strength, key matches certificate, validity period.
fn check(pair: Imported, purpose: Purpose, now: i64) -> Result<Imported, CryptoError> {
    key_strength(&pair.key, purpose)?;
    let public = pair.cert.public_key().map_err(|_| refuse("the certificate's public key cannot be read"))?;
    if !public.public_eq(&pair.key) {
        return Err(refuse("the private key does not belong to the certificate (their public keys differ)"));
    }
    let not_after =
        asn1_to_utc(pair.cert.not_after()).ok_or_else(|| refuse("the certificate's expiry cannot be read"))?;
    let not_before =
        asn1_to_utc(pair.cert.not_before()).ok_or_else(|| refuse("the certificate's start date cannot be read"))?;
    if not_after.timestamp() <= now {
        return Err(refuse(format!("the certificate expired on {}", not_after.format("%Y-%m-%d %H:%M UTC"))));
    }
    if not_before.timestamp() > now {
        return Err(refuse(format!("the certificate is not valid before {}", not_before.format("%Y-%m-%d %H:%M UTC"))));
    }
    Ok(pair)
}

fn key_strength(key: &PKey<Private>, purpose: Purpose) -> Result<(), CryptoError> {
    match key.id() {
        Id::RSA => {
            let bits = key.bits();
            if bits < 2048 {
                return Err(refuse(format!("the key is RSA-{bits}; at least RSA-2048 is required")));
            }
            Ok(())
        }
        Id::EC if purpose == Purpose::SpKey => Err(refuse(
            "an SP key must be RSA (2048 bits or more): it decrypts assertions, which IdPs encrypt with RSA-OAEP",
        )),
        Id::EC => {
            let curve = key.ec_key().ok().and_then(|k| k.group().curve_name());
            match curve {
                Some(Nid::X9_62_PRIME256V1) | Some(Nid::SECP384R1) | Some(Nid::SECP521R1) => Ok(()),
                other => Err(refuse(format!(
                    "the EC key is on curve {}; P-256, P-384 or P-521 is required",
                    other.and_then(|n| n.short_name().ok()).unwrap_or("unknown")
                ))),
            }
        }
        _ => Err(refuse("the key type is not supported: use RSA (2048 bits or more) or ECDSA P-256 or stronger")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openssl::asn1::Asn1Time;
    use openssl::ec::{EcGroup, EcKey};
    use openssl::hash::MessageDigest;
    use openssl::rsa::Rsa;
    use openssl::x509::X509NameBuilder;

    fn cert_for(key: &PKey<Private>, from_days: i64, until_days: i64, now: i64) -> X509 {
        let mut name = X509NameBuilder::new().unwrap();
        name.append_entry_by_text("CN", "sp.example.com").unwrap();
        let name = name.build();
        let mut b = X509::builder().unwrap();
        b.set_version(2).unwrap();
        b.set_subject_name(&name).unwrap();
        b.set_issuer_name(&name).unwrap();
        b.set_pubkey(key).unwrap();
        b.set_not_before(&Asn1Time::from_unix(now + from_days * 86_400).unwrap()).unwrap();
        b.set_not_after(&Asn1Time::from_unix(now + until_days * 86_400).unwrap()).unwrap();
        b.sign(key, MessageDigest::sha256()).unwrap();
        b.build()
    }

    fn rsa(bits: u32) -> PKey<Private> {
        PKey::from_rsa(Rsa::generate(bits).unwrap()).unwrap()
    }

    fn ec(nid: Nid) -> PKey<Private> {
        PKey::from_ec_key(EcKey::generate(&EcGroup::from_curve_name(nid).unwrap()).unwrap()).unwrap()
    }

    fn pem(key: &PKey<Private>, cert: &X509) -> (Vec<u8>, Vec<u8>) {
        (cert.to_pem().unwrap(), key.private_key_to_pem_pkcs8().unwrap())
    }

    #[test]
    fn each_refusal_has_its_reason() {
        let now = 1_800_000_000;
        let good = rsa(2048);
        let other = rsa(2048);
        let weak = rsa(1024);
        let p256 = ec(Nid::X9_62_PRIME256V1);
        let p224 = ec(Nid::SECP224R1);
        type Case = (&'static str, PKey<Private>, X509, Purpose, Option<&'static str>);
        let cases: Vec<Case> = vec![
            ("valid RSA SP key", good.clone(), cert_for(&good, -1, 365, now), Purpose::SpKey, None),
            ("valid P-256 TLS key", p256.clone(), cert_for(&p256, -1, 365, now), Purpose::Tls, None),
            ("expired", good.clone(), cert_for(&good, -30, -1, now), Purpose::SpKey, Some("expired on")),
            ("not yet valid", good.clone(), cert_for(&good, 2, 365, now), Purpose::SpKey, Some("not valid before")),
            ("mismatch", good.clone(), cert_for(&other, -1, 365, now), Purpose::SpKey, Some("does not belong")),
            ("weak RSA", weak.clone(), cert_for(&weak, -1, 365, now), Purpose::Tls, Some("RSA-1024")),
            ("EC as SP key", p256.clone(), cert_for(&p256, -1, 365, now), Purpose::SpKey, Some("must be RSA")),
            ("weak curve", p224.clone(), cert_for(&p224, -1, 365, now), Purpose::Tls, Some("P-256, P-384")),
        ];
        for (what, key, cert, purpose, want) in cases {
            let (c, k) = pem(&key, &cert);
            let result = from_pem(&c, &k, purpose, now);
            match want {
                None => assert!(result.is_ok(), "{what}: {:?}", result.err()),
                Some(why) => {
                    let message = result.err().map(|e| e.to_string()).unwrap_or_default();
                    assert!(message.contains(why), "{what}: {message:?}");
                }
            }
        }
    }

    #[test]
    fn pkcs12_opens_with_its_password_only() {
        let now = chrono::Utc::now().timestamp();
        let key = rsa(2048);
        let cert = cert_for(&key, -1, 365, now);
        let der = Pkcs12::builder().name("sp").pkey(&key).cert(&cert).build2("s3cret").unwrap().to_der().unwrap();
        let ok = from_pkcs12(&der, "s3cret", Purpose::SpKey, now).expect("opens");
        assert!(ok.cert.public_key().unwrap().public_eq(&key));
        let wrong = from_pkcs12(&der, "wrong", Purpose::SpKey, now).err().unwrap().to_string();
        assert!(wrong.contains("password"), "{wrong}");
        let junk = from_pkcs12(b"not a bundle", "s3cret", Purpose::SpKey, now).err().unwrap().to_string();
        assert!(junk.contains("not a PKCS#12"), "{junk}");
    }

    #[test]
    fn garbage_files_are_named() {
        let now = chrono::Utc::now().timestamp();
        let key = rsa(2048);
        let (c, k) = pem(&key, &cert_for(&key, -1, 365, now));
        assert!(from_pem(b"junk", &k, Purpose::SpKey, now).err().unwrap().to_string().contains("certificate file"));
        assert!(from_pem(&c, b"junk", Purpose::SpKey, now).err().unwrap().to_string().contains("key file"));
    }
}
