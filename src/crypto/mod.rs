//! Key material on disk: the SP signing/encryption key per SSO configuration and the HTTPS key.
//! Private keys are written once with mode 0600 and never logged.

pub mod import;
pub mod kek;
pub mod sp_keys;
pub mod tls;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum CryptoError {
    #[error("I/O error on {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("OpenSSL error: {0}")]
    OpenSsl(#[from] openssl::error::ErrorStack),
    #[error("certificate generation failed: {0}")]
    Rcgen(#[from] rcgen::Error),
    #[error("TLS configuration error: {0}")]
    Tls(String),
    #[error("key-encryption key: {0}")]
    Kek(String),
    #[error("storage: {0}")]
    Store(String),
    /// A rollover step that does not fit the configuration's key state.
    #[error("{0}")]
    Rollover(String),
    /// An admin's certificate or key that cannot be used (see `crypto::import`).
    #[error("{0}")]
    Import(String),
}

/// SHA-256 of a certificate's DER, upper-case hex pairs joined by colons (as `openssl x509
/// -fingerprint -sha256` and IdP consoles show it).
pub fn fingerprint(der: &[u8]) -> String {
    openssl::sha::sha256(der).iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":")
}

/// Write a secret file readable by its owner only; never replaces an existing file.
pub(crate) fn write_private(path: &std::path::Path, bytes: &[u8]) -> Result<(), CryptoError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let io = |source| CryptoError::Io { path: path.display().to_string(), source };
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).map_err(io)?;
    f.write_all(bytes).map_err(io)?;
    f.sync_all().map_err(io)
}

/// Replace a secret file atomically: a new file (mode 0600, never following a link) beside it,
/// then renamed over it, so a reader sees the old key or the new one, never half of one.
pub(crate) fn replace_private(path: &std::path::Path, bytes: &[u8]) -> Result<(), CryptoError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension(format!("new-{}", std::process::id()));
    let io = |source| CryptoError::Io { path: path.display().to_string(), source };
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&tmp)
        .map_err(io)?;
    f.write_all(bytes).map_err(io)?;
    f.sync_all().map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

pub(crate) fn write_public(path: &std::path::Path, bytes: &[u8]) -> Result<(), CryptoError> {
    std::fs::write(path, bytes).map_err(|source| CryptoError::Io { path: path.display().to_string(), source })
}

pub(crate) fn read(path: &std::path::Path) -> Result<Vec<u8>, CryptoError> {
    std::fs::read(path).map_err(|source| CryptoError::Io { path: path.display().to_string(), source })
}

/// Days from `now` (unix seconds) to the notAfter of a DER certificate, fractional and negative
/// once expired; `None` if the bytes are not a certificate.
pub fn days_left(der: &[u8], now: i64) -> Option<f64> {
    let cert = openssl::x509::X509::from_der(der).ok()?;
    let from = openssl::asn1::Asn1Time::from_unix(now).ok()?;
    let diff = from.diff(cert.not_after()).ok()?;
    Some(f64::from(diff.days) + f64::from(diff.secs) / 86_400.0)
}

#[cfg(test)]
mod expiry_tests {
    #[test]
    fn days_left_counts_to_not_after() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = crate::config::DataDir::new(dir.path()).expect("data dir");
        let keys = super::sp_keys::load_or_generate(&data, 1, "test").expect("keys");
        let der = keys.cert.to_der().expect("der");
        let now = chrono::Utc::now().timestamp();
        let days = super::days_left(&der, now).expect("parses");
        assert!((3649.0..=3650.01).contains(&days), "{days}");
        let later = super::days_left(&der, now + 3651 * 86_400).expect("parses");
        assert!(later < 0.0, "expired: {later}");
        assert_eq!(super::days_left(b"not a certificate", now), None);
    }
}
