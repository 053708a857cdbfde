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
use crate::store::{SpKeyRole, Store, StoredSpKey};

/// Validity of a generated SP certificate. IdPs pin it, and a rotation is a coordinated
/// change with every IdP, so it is long-lived; admins who need yearly rotation can replace it.
const SP_CERT_DAYS: u32 = 3650;

/// A configuration's SP keys as one instance uses them: the active pair (`key`, `cert`), which
/// signs and is published, and the other pairs of a rollover under way.
pub struct SpKeys {
    pub key: PKey<Private>,
    pub cert: X509,
    pub cert_pem: String,
    /// The configuration's `sp_keys_version` these were read at.
    pub version: i64,
    /// Every pair, active first, then next, then previous.
    pub pairs: Vec<SpKeyPair>,
}

pub struct SpKeyPair {
    pub role: SpKeyRole,
    pub key: PKey<Private>,
    pub cert: X509,
    pub created_at: i64,
    pub activated_at: Option<i64>,
    pub source: String,
}

impl SpKeyPair {
    pub fn cert_b64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.cert.to_der().unwrap_or_default())
    }

    /// SHA-256 of the certificate's DER, hex with colons, as admins compare it with an IdP's view.
    pub fn fingerprint(&self) -> String {
        crate::crypto::fingerprint(&self.cert.to_der().unwrap_or_default())
    }
}

impl SpKeys {
    /// Base64 DER, as it goes into `ds:X509Certificate`.
    pub fn cert_b64(&self) -> String {
        let der = self.cert.to_der().unwrap_or_default();
        base64::engine::general_purpose::STANDARD.encode(der)
    }

    /// Keys that may have encrypted an assertion to us, in the order they are tried: the active
    /// one, then the published next one, then the previous one until it is retired.
    pub fn decryption_keys(&self) -> Vec<&PKey<Private>> {
        self.pairs.iter().map(|p| &p.key).collect()
    }

    /// The certificates the metadata publishes (base64 DER): the active one, then the next one.
    pub fn published_certs_b64(&self) -> Vec<String> {
        self.pairs.iter().filter(|p| p.role != SpKeyRole::Previous).map(SpKeyPair::cert_b64).collect()
    }

    pub fn pair(&self, role: SpKeyRole) -> Option<&SpKeyPair> {
        self.pairs.iter().find(|p| p.role == role)
    }
}

/// A key pair kept in files (the demo IdP's, and SP keys of data directories from before keys
/// moved into the database).
pub struct KeyFiles {
    pub key: PKey<Private>,
    pub cert: X509,
    pub cert_pem: String,
}

impl KeyFiles {
    pub fn cert_b64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.cert.to_der().unwrap_or_default())
    }
}

pub fn load_or_generate(dir: &DataDir, sso_id: i64, common_name: &str) -> Result<KeyFiles, CryptoError> {
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

pub fn load(dir: &DataDir, sso_id: i64) -> Result<KeyFiles, CryptoError> {
    let key = PKey::private_key_from_pem(&read(&dir.sp_key(sso_id))?)?;
    let cert_pem_bytes = read(&dir.sp_cert(sso_id))?;
    let cert = X509::from_pem(&cert_pem_bytes)?;
    Ok(KeyFiles { key, cert, cert_pem: String::from_utf8_lossy(&cert_pem_bytes).into_owned() })
}

pub(crate) fn self_signed(key: &PKey<Private>, common_name: &str) -> Result<X509, CryptoError> {
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

/// SP keys by SSO ID, kept in the database (private keys sealed under the KEK) so that every
/// instance sharing it uses the same keys; read once per instance and cached until the
/// configuration's `sp_keys_version` changes (a rollover step on any instance). The first key
/// pair is generated on first use; key files of an older data directory are imported instead.
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

    /// The keys of `sso_id` as they are now (one read of its key version).
    pub async fn get(&self, store: &Store, sso_id: i64) -> Result<std::sync::Arc<SpKeys>, CryptoError> {
        let version = store.sp_keys_version(sso_id).await.map_err(store_err)?.unwrap_or(0);
        self.get_at(store, sso_id, version).await
    }

    /// The keys of `sso_id` at `version` (the configuration row the caller already read):
    /// cached unless the version moved on.
    pub async fn get_at(
        &self,
        store: &Store,
        sso_id: i64,
        version: i64,
    ) -> Result<std::sync::Arc<SpKeys>, CryptoError> {
        let cached = || self.cache.read().ok().and_then(|c| c.get(&sso_id).filter(|k| k.version >= version).cloned());
        if let Some(k) = cached() {
            return Ok(k);
        }
        let _loading = self.loading.lock().await;
        if let Some(k) = cached() {
            return Ok(k);
        }
        let kek = self.kek(store).await?;
        // Read the version first: keys read after it are at least that new.
        let version = store.sp_keys_version(sso_id).await.map_err(store_err)?.unwrap_or(version);
        let mut stored = store.sp_keys_of(sso_id).await.map_err(store_err)?;
        if !stored.iter().any(|k| k.role == SpKeyRole::Active) {
            self.make_first(store, kek, sso_id).await?;
            stored = store.sp_keys_of(sso_id).await.map_err(store_err)?;
        }
        let mut pairs = Vec::with_capacity(stored.len());
        for k in stored {
            pairs.push(open_pair(kek, k)?);
        }
        let active = pairs.iter().find(|p| p.role == SpKeyRole::Active).ok_or_else(|| store_err("SP key vanished"))?;
        let keys = std::sync::Arc::new(SpKeys {
            key: active.key.clone(),
            cert: active.cert.clone(),
            cert_pem: String::from_utf8_lossy(&active.cert.to_pem()?).into_owned(),
            version,
            pairs,
        });
        if let Ok(mut c) = self.cache.write() {
            c.insert(sso_id, keys.clone());
        }
        Ok(keys)
    }

    /// A configuration's first key pair: imported from an older data directory's key files, or
    /// generated.
    async fn make_first(&self, store: &Store, kek: &Kek, sso_id: i64) -> Result<(), CryptoError> {
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
            Err(_) => self.generate().await?,
        };
        let new = seal_pair(kek, sso_id, SpKeyRole::Active, &key, &cert, "generated")?;
        // Another instance may win this insert: the caller reads back whichever is stored.
        store.insert_sp_key_if_absent(&new).await.map_err(store_err)
    }

    /// A new RSA-2048 key pair with a self-signed certificate, made off the async runtime.
    async fn generate(&self) -> Result<(PKey<Private>, X509), CryptoError> {
        let cn = self.common_name.clone();
        tokio::task::spawn_blocking(move || -> Result<_, CryptoError> {
            let key = PKey::from_rsa(Rsa::generate(2048)?)?;
            let cert = self_signed(&key, &cn)?;
            Ok((key, cert))
        })
        .await
        .map_err(|e| CryptoError::Store(format!("key generation task failed: {e}")))?
    }

    /// Rollover step 1: store the next key pair (`imported`, an admin's CA-issued pair already
    /// checked by `crypto::import`, or a newly generated one) and return its certificate.
    pub async fn add_next(
        &self,
        store: &Store,
        sso_id: i64,
        imported: Option<(PKey<Private>, X509)>,
    ) -> Result<X509, CryptoError> {
        // The configuration has an active key before it can have a next one.
        self.get(store, sso_id).await?;
        let kek = self.kek(store).await?;
        let (source, (key, cert)) = match imported {
            Some(pair) => ("imported", pair),
            None => ("generated", self.generate().await?),
        };
        let new = seal_pair(kek, sso_id, SpKeyRole::Next, &key, &cert, source)?;
        store.add_next_sp_key(&new).await.map_err(|e| match e {
            crate::store::StoreError::Conflict(m) => CryptoError::Rollover(m),
            other => store_err(other),
        })?;
        Ok(cert)
    }
}

fn seal_pair(
    kek: &Kek,
    sso_id: i64,
    role: SpKeyRole,
    key: &PKey<Private>,
    cert: &X509,
    source: &str,
) -> Result<StoredSpKey, CryptoError> {
    let pem = key.private_key_to_pem_pkcs8()?;
    let now = chrono::Utc::now().timestamp();
    Ok(StoredSpKey {
        sso_id,
        role,
        cert_pem: String::from_utf8_lossy(&cert.to_pem()?).into_owned(),
        key_sealed: kek.seal(&pem, &aad(sso_id))?,
        kek_id: kek.id(),
        created_at: now,
        activated_at: (role == SpKeyRole::Active).then_some(now),
        source: source.to_string(),
    })
}

fn open_pair(kek: &Kek, stored: StoredSpKey) -> Result<SpKeyPair, CryptoError> {
    let sso_id = stored.sso_id;
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
    Ok(SpKeyPair {
        role: stored.role,
        key: PKey::private_key_from_pem(&pem)?,
        cert: X509::from_pem(stored.cert_pem.as_bytes())?,
        created_at: stored.created_at,
        activated_at: stored.activated_at,
        source: stored.source,
    })
}

/// Associated data of a sealed SP key: binds it to its configuration.
fn aad(sso_id: i64) -> Vec<u8> {
    format!("spconnect sp key {sso_id}").into_bytes()
}

fn store_err(e: impl std::fmt::Display) -> CryptoError {
    CryptoError::Store(e.to_string())
}
