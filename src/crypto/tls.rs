//! HTTPS certificate: the admin's own (`--tls-cert/--tls-key`), or a self-signed one generated
//! on first start (ECDSA P-256 via rcgen) and reused afterwards.

use std::path::PathBuf;

use super::{write_private, write_public, CryptoError};
use crate::config::DataDir;

/// Install an admin's checked certificate (with its chain) and key as the HTTPS pair of this
/// data directory; `serve` uses them from its next start. The key file is replaced atomically
/// with mode 0600.
pub fn install(dir: &DataDir, pair: &super::import::Imported) -> Result<(PathBuf, PathBuf), CryptoError> {
    let (cert, key) = (dir.tls_cert(), dir.tls_key());
    super::replace_private(&key, &pair.key.private_key_to_pem_pkcs8()?)?;
    super::replace_private(&cert, &pair.chain_pem()?)?;
    Ok((cert, key))
}

/// Paths of the certificate and key to serve; generates them when absent.
pub fn ensure_self_signed(dir: &DataDir, hostnames: &[String]) -> Result<(PathBuf, PathBuf), CryptoError> {
    let (cert, key) = (dir.tls_cert(), dir.tls_key());
    if !key.exists() {
        let certified = rcgen::generate_simple_self_signed(hostnames.to_vec())?;
        write_private(&key, certified.signing_key.serialize_pem().as_bytes())?;
        write_public(&cert, certified.cert.pem().as_bytes())?;
    }
    Ok((cert, key))
}
