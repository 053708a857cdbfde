//! One file per URL family of the public contract.

pub mod acs;
pub mod admin;
pub mod continue_login;
pub mod ext_login;
pub mod health;
pub mod metadata;
pub mod metrics;
pub mod scim;
pub mod slo;
pub mod vault;

/// Path segments that must be our numeric IDs; anything else is a 404, not a parse error.
pub fn parse_id(raw: &str) -> Option<i64> {
    (!raw.is_empty() && raw.len() <= 18 && raw.bytes().all(|b| b.is_ascii_digit())).then(|| raw.parse().ok()).flatten()
}
