//! The SP key pair of one SSO configuration: RSA-2048, self-signed certificate. It signs our
//! AuthnRequests and decrypts EncryptedAssertions; IdPs pin the certificate from our metadata.

use base64::Engine;
use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::{X509NameBuilder, X509};

use super::kek::{Kek, KEK_ENV};
use super::{read, write_private, write_public, CryptoError};
use crate::config::DataDir;
use crate::store::{Store, StoredSpKey};

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

/// SP keys by SSO ID, kept in the database (private key sealed under the KEK) so that every
/// instance sharing it uses the same keys; read once per instance and cached (a configuration's
/// key pair does not change). Generated on first use; key files of an older data directory are
/// imported instead.
pub struct SpKeyRing {
    dir: DataDir,
    common_name: String,
    kek: tokio::sync::OnceCell<Kek>,
    /// One cache miss at a time: the first request after a start (or for a new configuration)
    /// reads or makes the key pair; those arriving meanwhile wait for it instead of each
    /// generating an RSA key of their own.
    loading: tokio::sync::Mutex<()>,
    cache: std::sync::RwLock<std::collections::HashMap<i64, std::sync::Arc<SpKeys>>>,
}

impl SpKeyRing {
    pub fn new(dir: DataDir, common_name: &str) -> Self {
        SpKeyRing {
            dir,
            common_name: common_name.to_string(),
            kek: Default::default(),
            loading: Default::default(),
            cache: Default::default(),
        }
    }

    /// The key-encryption key of this instance (environment, else `certs/kek`), checked against
    /// the database: when SP keys are stored there, this KEK must be the one that sealed them.
    /// A missing `certs/kek` is generated only for a deployment that has no sealed keys yet, so
    /// an admin command run without the KEK cannot seal a new configuration's key under a stray
    /// key of its own (which no instance could then open). `serve` calls this at start, so an
    /// instance with the wrong key never starts serving.
    pub async fn kek(&self, store: &Store) -> Result<&Kek, CryptoError> {
        self.kek
            .get_or_try_init(|| async {
                let stored = store.sp_key_kek_ids().await.map_err(store_err)?;
                let env = std::env::var(KEK_ENV).ok();
                let file = self.dir.certs().join("kek");
                let kek = Kek::load_or_create(env.as_deref(), &file, stored.is_empty()).map_err(|e| match e {
                    CryptoError::Kek(m) if !stored.is_empty() => CryptoError::Kek(format!(
                        "{m}; the database holds SP keys sealed with key-encryption key {}: give this process \
                         the same key ({KEK_ENV}, or certs/kek copied from an instance)",
                        stored.join(", ")
                    )),
                    other => other,
                })?;
                if !stored.is_empty() && !stored.contains(&kek.id()) {
                    return Err(CryptoError::Kek(format!(
                        "this process's key-encryption key is {}, but the database's SP keys are sealed with {}: \
                         give every instance and admin command the same key ({KEK_ENV}, or the same certs/kek)",
                        kek.id(),
                        stored.join(", ")
                    )));
                }
                Ok(kek)
            })
            .await
    }

    pub async fn get(&self, store: &Store, sso_id: i64) -> Result<std::sync::Arc<SpKeys>, CryptoError> {
        let cached = || self.cache.read().ok().and_then(|c| c.get(&sso_id).cloned());
        if let Some(k) = cached() {
            return Ok(k);
        }
        let _loading = self.loading.lock().await;
        if let Some(k) = cached() {
            return Ok(k);
        }
        let kek = self.kek(store).await?;
        let stored = match store.get_sp_key(sso_id).await.map_err(store_err)? {
            Some(stored) => stored,
            None => {
                let (key, cert) = match load(&self.dir, sso_id) {
                    // A data directory from before keys moved into the database.
                    Ok(files) => {
                        tracing::warn!(
                            sso_id,
                            file = %self.dir.sp_key(sso_id).display(),
                            "SP key imported into the database (sealed); once backups are safe, delete the key file"
                        );
                        (files.key, files.cert)
                    }
                    Err(_) => {
                        // RSA key generation takes a while: off the async runtime.
                        let cn = self.common_name.clone();
                        tokio::task::spawn_blocking(move || -> Result<_, CryptoError> {
                            let key = PKey::from_rsa(Rsa::generate(2048)?)?;
                            let cert = self_signed(&key, &cn)?;
                            Ok((key, cert))
                        })
                        .await
                        .map_err(|e| CryptoError::Store(format!("key generation task failed: {e}")))??
                    }
                };
                let pem = key.private_key_to_pem_pkcs8()?;
                let new = StoredSpKey {
                    sso_id,
                    cert_pem: String::from_utf8_lossy(&cert.to_pem()?).into_owned(),
                    key_sealed: kek.seal(&pem, &aad(sso_id))?,
                    kek_id: kek.id(),
                    created_at: chrono::Utc::now().timestamp(),
                };
                store.insert_sp_key_if_absent(&new).await.map_err(store_err)?;
                // Another instance may have won the insert: use what is stored.
                store.get_sp_key(sso_id).await.map_err(store_err)?.ok_or_else(|| store_err("SP key vanished"))?
            }
        };
        let pem = kek.open(&stored.key_sealed, &aad(sso_id)).map_err(|_| {
            CryptoError::Kek(if stored.kek_id == kek.id() {
                format!(
                    "the sealed SP key of configuration {sso_id} does not open with the key that sealed it: \
                     the stored row was altered or copied from another configuration; restore it from a backup"
                )
            } else {
                format!(
                    "the SP key of configuration {sso_id} was sealed with key-encryption key {} but this instance \
                     has {}: give every instance that shares the database the same {KEK_ENV} (or certs/kek)",
                    stored.kek_id,
                    kek.id()
                )
            })
        })?;
        let key = PKey::private_key_from_pem(&pem)?;
        let cert = X509::from_pem(stored.cert_pem.as_bytes())?;
        let keys = std::sync::Arc::new(SpKeys { key, cert, cert_pem: stored.cert_pem });
        if let Ok(mut c) = self.cache.write() {
            c.insert(sso_id, keys.clone());
        }
        Ok(keys)
    }
}

/// Associated data of a sealed SP key: binds it to its configuration.
fn aad(sso_id: i64) -> Vec<u8> {
    format!("spconnect sp key {sso_id}").into_bytes()
}

fn store_err(e: impl std::fmt::Display) -> CryptoError {
    CryptoError::Store(e.to_string())
}
