//! SCIM bearer tokens: 32 random bytes shown once; only their SHA-256 is stored, and the
//! comparison with a presented token is constant-time.

use base64::Engine;
use rand::RngCore;

/// A fresh token (`spc_` + 43 base64url characters) and the hex SHA-256 to store.
pub fn generate() -> (String, String) {
    let mut raw = [0u8; 32];
    rand::rng().fill_bytes(&mut raw);
    let token = format!("spc_{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw));
    let hash = hash(&token);
    (token, hash)
}

pub fn hash(token: &str) -> String {
    hex::encode(openssl::sha::sha256(token.as_bytes()))
}

/// Does `presented` hash to `stored_hex`? Both digests are 32 bytes, compared in constant time.
pub fn verify(presented: &str, stored_hex: &str) -> bool {
    let Ok(stored) = hex::decode(stored_hex) else { return false };
    let actual = openssl::sha::sha256(presented.as_bytes());
    stored.len() == actual.len() && openssl::memcmp::eq(&stored, &actual)
}

/// The token of an `Authorization: Bearer …` header value.
pub fn from_authorization(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_only_against_their_own_hash() {
        let (token, stored) = generate();
        let (other, _) = generate();
        assert!(token.starts_with("spc_") && token.len() == 47);
        assert!(verify(&token, &stored));
        assert!(!verify(&other, &stored));
        assert!(!verify(&token, "not hex"));
        assert_eq!(from_authorization(&format!("bearer {token}")), Some(token.as_str()));
        assert_eq!(from_authorization("Basic abc"), None);
    }
}
