//! The key-encryption key (KEK): 32 random bytes each instance is given, which seal the SP
//! private keys kept in the database (AES-256-GCM, the configuration's id as associated data, so
//! a sealed key cannot be moved to another configuration). Instances sharing a database must be
//! given the same KEK: `SPCONNECT_KEY_ENCRYPTION_KEY` (base64 of 32 bytes), or the file
//! `certs/kek` in the data directory (generated on first start, mode 0600).

use std::path::Path;

use base64::Engine;
use openssl::symm::{decrypt_aead, encrypt_aead, Cipher};

use super::{read, write_private, CryptoError};

pub const KEK_ENV: &str = "SPCONNECT_KEY_ENCRYPTION_KEY";
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// Deliberately neither `Debug` nor `Display`: the key must never reach a log line.
pub struct Kek {
    key: [u8; 32],
}

impl Kek {
    /// The KEK from `env_value` when given, else from `file` (created with a fresh random key,
    /// mode 0600, when missing and `may_create`). A file readable by group or others is refused.
    pub fn load(env_value: Option<&str>, file: &Path) -> Result<Kek, CryptoError> {
        Kek::load_or_create(env_value, file, true)
    }

    /// As [`Kek::load`]; without `may_create` a missing file is an error (the deployment already
    /// has keys sealed under some KEK, and a new one would only seal keys nobody else can open).
    pub fn load_or_create(env_value: Option<&str>, file: &Path, may_create: bool) -> Result<Kek, CryptoError> {
        if let Some(v) = env_value.map(str::trim).filter(|v| !v.is_empty()) {
            return Kek::from_base64(v).map_err(|e| CryptoError::Kek(format!("{KEK_ENV}: {e}")));
        }
        if !file.exists() {
            if !may_create {
                return Err(CryptoError::Kek(format!(
                    "no key-encryption key: {KEK_ENV} is not set and {} does not exist",
                    file.display()
                )));
            }
            create_file(file)?;
        }
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(file)
                .map_err(|source| CryptoError::Io { path: file.display().to_string(), source })?
                .permissions()
                .mode();
            if mode & 0o077 != 0 {
                return Err(CryptoError::Kek(format!(
                    "{} is readable by others (mode {:o}); chmod 600 it",
                    file.display(),
                    mode & 0o777
                )));
            }
        }
        let text = String::from_utf8_lossy(&read(file)?).into_owned();
        Kek::from_base64(text.trim()).map_err(|e| CryptoError::Kek(format!("{}: {e}", file.display())))
    }

    fn from_base64(v: &str) -> Result<Kek, String> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(v)
            .map_err(|_| "not base64 (expected 32 random bytes, base64-encoded: `openssl rand -base64 32`)")?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| "must be exactly 32 bytes (`openssl rand -base64 32`)")?;
        Ok(Kek { key })
    }

    /// A fingerprint naming this KEK (SHA-256 of a label and the key, first 8 bytes in hex): stored
    /// beside what it sealed, so a mismatch is explained, not reported as corruption.
    pub fn id(&self) -> String {
        let mut input = b"spconnect kek id\0".to_vec();
        input.extend_from_slice(&self.key);
        let digest = openssl::sha::sha256(&input);
        digest[..8].iter().map(|b| format!("{b:02x}")).collect()
    }

    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Result<String, CryptoError> {
        let mut nonce = [0u8; NONCE_LEN];
        openssl::rand::rand_bytes(&mut nonce)?;
        let mut tag = [0u8; TAG_LEN];
        let ct = encrypt_aead(Cipher::aes_256_gcm(), &self.key, Some(&nonce), aad, plaintext, &mut tag)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        out.extend_from_slice(&tag);
        Ok(base64::engine::general_purpose::STANDARD.encode(out))
    }

    pub fn open(&self, sealed: &str, aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let bad = || CryptoError::Kek("a sealed key does not open with this key-encryption key".into());
        let raw = base64::engine::general_purpose::STANDARD.decode(sealed).map_err(|_| bad())?;
        if raw.len() < NONCE_LEN + TAG_LEN {
            return Err(bad());
        }
        let (nonce, rest) = raw.split_at(NONCE_LEN);
        let (ct, tag) = rest.split_at(rest.len() - TAG_LEN);
        decrypt_aead(Cipher::aes_256_gcm(), &self.key, Some(nonce), aad, ct, tag).map_err(|_| bad())
    }
}

/// Write a fresh random KEK to `file` all at once: into a private temporary file first, then
/// linked into place only if nothing is there, so a reader never sees a half-written key and
/// two processes starting together end up with the same one.
fn create_file(file: &Path) -> Result<(), CryptoError> {
    let mut key = [0u8; 32];
    openssl::rand::rand_bytes(&mut key)?;
    let encoded = base64::engine::general_purpose::STANDARD.encode(key);
    // Unique per attempt, not only per process: two services in one process (tests, or an
    // admin command and the server's first start racing) must not share a temporary file.
    let mut nonce = [0u8; 8];
    openssl::rand::rand_bytes(&mut nonce)?;
    let tmp = file.with_extension(format!("tmp-{}-{}", std::process::id(), hex::encode(nonce)));
    let _ = std::fs::remove_file(&tmp);
    write_private(&tmp, format!("{encoded}\n").as_bytes())?;
    let linked = std::fs::hard_link(&tmp, file);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(()),
        // Another process created it a moment ago: use theirs.
        Err(_) if file.exists() => Ok(()),
        Err(source) => Err(CryptoError::Io { path: file.display().to_string(), source }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_services_creating_the_kek_at_once_in_one_process_agree_on_one_key() {
        for _ in 0..200 {
            let dir = tempfile::tempdir().expect("tempdir");
            let file = dir.path().join("kek");
            let (a, b) = std::thread::scope(|s| {
                let a = s.spawn(|| Kek::load_or_create(None, &file, true));
                let b = s.spawn(|| Kek::load_or_create(None, &file, true));
                (a.join().expect("thread"), b.join().expect("thread"))
            });
            let (a, b) = (a.expect("first service"), b.expect("second service"));
            assert_eq!(a.id(), b.id(), "one key-encryption key");
        }
    }

    fn kek(byte: u8) -> Kek {
        Kek { key: [byte; 32] }
    }

    #[test]
    fn sealed_opens_with_the_same_key_and_associated_data_only() {
        let sealed = kek(1).seal(b"secret", b"sso 1").unwrap();
        assert_eq!(kek(1).open(&sealed, b"sso 1").unwrap(), b"secret");
        assert!(kek(2).open(&sealed, b"sso 1").is_err(), "another KEK");
        assert!(kek(1).open(&sealed, b"sso 2").is_err(), "moved to another configuration");
        let mut tampered = base64::engine::general_purpose::STANDARD.decode(&sealed).unwrap();
        tampered[14] ^= 1;
        let tampered = base64::engine::general_purpose::STANDARD.encode(tampered);
        assert!(kek(1).open(&tampered, b"sso 1").is_err(), "tampered");
        assert!(kek(1).open("AAAA", b"sso 1").is_err(), "truncated");
    }

    #[test]
    fn a_fresh_seal_differs_each_time_and_ids_tell_keys_apart() {
        assert_ne!(kek(1).seal(b"x", b"").unwrap(), kek(1).seal(b"x", b"").unwrap());
        assert_ne!(kek(1).id(), kek(2).id());
        assert_eq!(kek(1).id().len(), 16);
    }

    #[test]
    fn loading_refuses_bad_values_and_open_files() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("kek");
        assert!(Kek::load(Some("not base64!"), &file).is_err());
        assert!(Kek::load(Some("AAAA"), &file).is_err(), "3 bytes");
        let generated = Kek::load(None, &file).unwrap();
        assert_eq!(Kek::load(None, &file).unwrap().id(), generated.id(), "the file is reused");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(Kek::load(None, &file).is_err(), "world-readable KEK file refused");
        let env = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        assert_eq!(Kek::load(Some(&env), &file).unwrap().id(), kek(7).id(), "the environment wins");
    }
}
