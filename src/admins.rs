//! Local admin accounts of the console, HTTP-free: argon2id password hashes, sign-in with rate
//! limiting of refused attempts, and generated passwords for `spconnect admin create`.

use std::sync::OnceLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::Rng;
use thiserror::Error;

use crate::store::{AdminAccount, Store, StoreError};

/// Refused sign-ins allowed per account and per client address within the window. Counted in
/// the database, so every instance behind a load balancer sees the same number.
pub const MAX_FAILURES: i64 = 5;
pub const FAILURE_WINDOW_SECS: i64 = 15 * 60;
pub const MIN_PASSWORD_LEN: usize = 12;

#[derive(Debug, Error)]
pub enum SignInError {
    /// Unknown email and wrong password read the same, so the form cannot be used to find out
    /// which admin accounts exist.
    #[error("the email or password is wrong")]
    BadCredentials,
    #[error("too many refused sign-ins; try again in {retry_after_secs} seconds")]
    RateLimited { retry_after_secs: i64 },
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    #[error("password hashing: {0}")]
    Hash(String),
}

#[derive(Debug, Error)]
pub enum PasswordError {
    #[error("the password must have at least {MIN_PASSWORD_LEN} characters")]
    TooShort,
    #[error("password hashing: {0}")]
    Hash(String),
}

/// argon2id with the crate's defaults (RFC 9106's second recommended option). CPU-heavy by
/// design: call from `spawn_blocking`.
pub fn hash_password(password: &str) -> Result<String, PasswordError> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(PasswordError::TooShort);
    }
    let salt_bytes: [u8; 16] = rand::rng().random();
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| PasswordError::Hash(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// CPU-heavy: call from `spawn_blocking`.
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// A hash nobody's password matches, verified against when the email is unknown so that an
/// unknown account costs the same time as a wrong password.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| hash_password(&generate_password()).unwrap_or_default())
}

/// 20 characters from an alphabet without look-alikes (about 115 bits).
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..20).map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())])).collect()
}

/// Create an admin account; the password is hashed off the async runtime.
pub async fn create(store: &Store, email: &str, password: String, now: i64) -> Result<AdminAccount, String> {
    let email = email.trim().to_lowercase();
    if !email.contains('@') || email.contains(char::is_whitespace) {
        return Err(format!("{email:?} is not an email address"));
    }
    let hash = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    store.create_admin(&email, &hash, now).await.map_err(|e| e.to_string())
}

/// Check a sign-in. Over the limit, even the right password is refused until the window has
/// passed: otherwise the limit would only slow guessing down, not stop it.
pub async fn sign_in(
    store: &Store,
    email: &str,
    password: &str,
    client_addr: &str,
    now: i64,
) -> Result<AdminAccount, SignInError> {
    let email = email.trim();
    let (by_email, by_addr) = store.admin_signin_failures_since(email, client_addr, now - FAILURE_WINDOW_SECS).await?;
    if by_email >= MAX_FAILURES || by_addr >= MAX_FAILURES * 4 {
        return Err(SignInError::RateLimited { retry_after_secs: FAILURE_WINDOW_SECS });
    }
    let account = store.find_admin(email).await?;
    let (phc, password) = (account.as_ref().map(|a| a.password_hash.clone()), password.to_string());
    let ok = tokio::task::spawn_blocking(move || match &phc {
        Some(phc) => verify_password(&password, phc),
        None => verify_password(&password, decoy_hash()),
    })
    .await
    .map_err(|e| SignInError::Hash(e.to_string()))?;
    match account {
        Some(account) if ok => {
            store.clear_admin_signin_failures(email).await?;
            store.mark_admin_signed_in(account.admin_id, now).await?;
            Ok(account)
        }
        _ => {
            store.record_admin_signin_failure(email, client_addr, now).await?;
            Err(SignInError::BadCredentials)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_differ_per_salt() {
        let pw = "correct horse battery";
        let (a, b) = (hash_password(pw).expect("hash"), hash_password(pw).expect("hash"));
        assert!(a.starts_with("$argon2id$"));
        assert_ne!(a, b, "a fresh salt each time");
        assert!(verify_password(pw, &a));
        assert!(!verify_password("correct horse battera", &a));
        assert!(!verify_password(pw, "not a phc string"));
    }

    #[test]
    fn short_passwords_are_refused() {
        assert!(matches!(hash_password("short"), Err(PasswordError::TooShort)));
    }

    #[test]
    fn generated_passwords_are_long_enough_and_distinct() {
        let (a, b) = (generate_password(), generate_password());
        assert_eq!(a.len(), 20);
        assert_ne!(a, b);
        assert!(a.len() >= MIN_PASSWORD_LEN);
    }
}
