//! Local admin accounts of the console, HTTP-free: argon2id password hashes, sign-in with rate
//! limiting of refused attempts, and generated passwords for `spconnect admin create`. Creating,
//! changing and deleting accounts is in `ops::admins`.

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
    /// Too many password checks are running right now.
    #[error("too many sign-ins at once; try again in a second")]
    Busy,
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

/// One sign-in attempt as it reaches the console.
pub struct SignInAttempt<'a> {
    pub email: &'a str,
    pub password: &'a str,
    pub client_addr: &'a str,
    /// The admin-device cookie, if the browser has one (see [`device_hash`]).
    pub device_token: Option<&'a str>,
    pub now: i64,
}

/// A successful sign-in, and the device token to give the browser when it had none.
pub struct SignedIn {
    pub account: AdminAccount,
    pub new_device_token: Option<String>,
}

/// Longest wait imposed on an account or address after repeated refusals.
pub const MAX_BACKOFF_SECS: i64 = 15 * 60;
/// First wait once the free attempts are used up; it doubles with every further refusal.
pub const FIRST_BACKOFF_SECS: i64 = 30;

/// What the store keeps of a device token.
pub fn device_hash(token: &str) -> String {
    hex::encode(openssl::sha::sha256(format!("admin-device:{token}").as_bytes()))
}

/// How long to wait after `failures` refusals, the last at `last`: nothing for the first
/// `free` ones, then FIRST_BACKOFF_SECS doubling up to MAX_BACKOFF_SECS.
fn wait_after(failures: i64, free: i64, last: Option<i64>, now: i64) -> i64 {
    let (Some(last), true) = (last, failures >= free) else { return 0 };
    let steps = u32::try_from((failures - free).min(16)).unwrap_or(16);
    let backoff = (FIRST_BACKOFF_SECS << steps).min(MAX_BACKOFF_SECS);
    (last + backoff - now).max(0)
}

/// Check a sign-in.
///
/// * Each attempt is counted (a row written) before its password is checked, atomically, so
///   parallel attempts cannot all slip under the limit.
/// * Past the free attempts an account (or a client address) must wait, with a delay that doubles
///   per refusal up to 15 minutes — and while it waits even the right password is refused, or
///   the limit would only slow guessing down. Throttled attempts do not extend the wait.
/// * A browser the admin signed in from before (device cookie) is counted on its own: strangers
///   hammering an account, or a proxy's shared address, do not lock its admin out.
/// * At most `checks` password hashes run at once (each argon2id check holds ~19 MiB); beyond
///   that the answer is an immediate "busy".
pub async fn sign_in(
    store: &Store,
    checks: &std::sync::Arc<tokio::sync::Semaphore>,
    attempt: SignInAttempt<'_>,
) -> Result<SignedIn, SignInError> {
    let email = attempt.email.trim();
    let now = attempt.now;
    let presented_device = attempt.device_token.map(device_hash);
    let known_device = match &presented_device {
        Some(d) => store.admin_device_known(email, d).await?,
        None => false,
    };
    let device = presented_device.as_deref().filter(|_| known_device);
    let counts = store.reserve_admin_signin(email, attempt.client_addr, device, now, now - FAILURE_WINDOW_SECS).await?;
    let wait = if known_device {
        wait_after(counts.by_device, MAX_FAILURES, Some(now), now).max(0)
    } else {
        wait_after(counts.by_email, MAX_FAILURES, counts.last_email, now).max(wait_after(
            counts.by_addr,
            MAX_FAILURES * 4,
            counts.last_addr,
            now,
        ))
    };
    if wait > 0 {
        store.drop_admin_signin_attempt(counts.attempt_id).await?;
        return Err(SignInError::RateLimited { retry_after_secs: wait });
    }
    let Ok(permit) = checks.clone().try_acquire_owned() else {
        store.drop_admin_signin_attempt(counts.attempt_id).await?;
        return Err(SignInError::Busy);
    };
    let account = store.find_admin(email).await?;
    let (phc, password) = (account.as_ref().map(|a| a.password_hash.clone()), attempt.password.to_string());
    let ok = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        match &phc {
            Some(phc) => verify_password(&password, phc),
            None => verify_password(&password, decoy_hash()),
        }
    })
    .await
    .map_err(|e| SignInError::Hash(e.to_string()))?;
    match account {
        Some(account) if ok => {
            store.clear_admin_signin_failures(email).await?;
            store.mark_admin_signed_in(account.admin_id, now).await?;
            let (hash, new_device_token) = match presented_device.filter(|_| known_device) {
                Some(h) => (h, None),
                None => {
                    let token = hex::encode(rand::random::<[u8; 32]>());
                    (device_hash(&token), Some(token))
                }
            };
            store.remember_admin_device(account.admin_id, &hash, now).await?;
            Ok(SignedIn { account, new_device_token })
        }
        // The reserved row stays: it is the failure record.
        _ => Err(SignInError::BadCredentials),
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
    fn the_wait_doubles_after_the_free_attempts_and_is_capped() {
        let now = 10_000;
        // (failures before this attempt, free, last failure, expected wait)
        let cases = [
            (0, 5, None, 0),
            (4, 5, Some(now), 0),
            (5, 5, Some(now), 30),
            (6, 5, Some(now), 60),
            (7, 5, Some(now - 100), 20),
            (5, 5, Some(now - 30), 0),
            (30, 5, Some(now), MAX_BACKOFF_SECS),
            (10_000, 5, Some(now), MAX_BACKOFF_SECS),
            (25, 20, Some(now), 960.min(MAX_BACKOFF_SECS)),
        ];
        for (failures, free, last, want) in cases {
            assert_eq!(wait_after(failures, free, last, now), want, "{failures} {free} {last:?}");
        }
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
