//! Binding an SP-initiated login to the browser that started it (login CSRF).
//!
//! ext_login gives the browser a random token in a cookie and stores only its SHA-256 with the
//! AuthnRequest. A solicited response is accepted only when it is posted by a browser holding the
//! token of the request it answers: an attacker's own response, auto-posted from the victim's
//! browser, names a request the victim's browser never started and is refused with
//! `SAML_REQUEST_NOT_FROM_THIS_BROWSER`.

use openssl::sha::sha256;

/// Cookie carrying the binding token. Its attributes depend on the public URL's scheme (see
/// `web::cookies`): over HTTPS `SameSite=None; Secure`, so the IdP's cross-site POST carries it.
pub const COOKIE: &str = "spconnect_binding";

/// A fresh token: 128 random bits, hex.
pub fn new_token() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

/// Whether a cookie value has the shape of a token we issued (so it may be reused: several tabs
/// of one browser share one binding).
pub fn is_token(value: &str) -> bool {
    value.len() == 32 && value.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// What the store keeps: SHA-256 of the token, hex.
pub fn hash(token: &str) -> String {
    hex::encode(sha256(token.as_bytes()))
}

/// Whether the browser's token (if any) is the one the request was issued to. Constant time in
/// the compared hashes.
pub fn matches(stored_hash: Option<&str>, browser_token: Option<&str>) -> bool {
    match (stored_hash, browser_token) {
        (Some(stored), Some(token)) if is_token(token) => {
            let presented = hash(token);
            stored.len() == presented.len() && openssl::memcmp::eq(stored.as_bytes(), presented.as_bytes())
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_issued_token_matches() {
        let token = new_token();
        assert!(is_token(&token));
        let stored = hash(&token);
        let other = new_token();
        let cases: [(Option<&str>, Option<&str>, bool); 6] = [
            (Some(&stored), Some(&token), true),
            (Some(&stored), Some(&other), false),
            (Some(&stored), None, false),
            (None, Some(&token), false),
            (None, None, false),
            // The stored hash itself is not a token.
            (Some(&stored), Some(&stored), false),
        ];
        for (stored, presented, want) in cases {
            assert_eq!(matches(stored, presented), want, "{stored:?} {presented:?}");
        }
    }

    #[test]
    fn token_shape() {
        assert!(!is_token(""));
        assert!(!is_token(&"A".repeat(32)), "upper case is not what we issue");
        assert!(!is_token(&"g".repeat(32)));
        assert!(!is_token(&"a".repeat(31)));
        assert!(is_token(&"0123456789abcdef".repeat(2)));
    }
}
