//! The short-lived cookies of the login journeys (the browser binding and the unsolicited-login
//! continuation), read from and written to raw headers. Their `SameSite`/`Secure` attributes
//! follow the public URL's scheme:
//!
//! * HTTPS (every real deployment, TLS here or at a proxy): `Secure`, and `SameSite=None` for the
//!   binding cookie, because the IdP's POST to the ACS is cross-site and must carry it.
//! * plain HTTP (loopback demo, tests): browsers drop `SameSite=None` without `Secure`, so the
//!   binding cookie is `SameSite=Lax`: it still reaches the ACS when the IdP is same-site
//!   (another port on the same host, as the demo IdP is), but not from a cross-site IdP — over
//!   plain HTTP such an IdP's solicited responses are refused with
//!   `SAML_REQUEST_NOT_FROM_THIS_BROWSER`. SECURITY.md says so.

use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue};

/// The value of cookie `name` in the request, if present exactly once. A name sent twice is
/// treated as absent: a second copy is how a cookie planted with a longer Path (cookie tossing)
/// would take precedence over ours.
pub fn get(headers: &HeaderMap, name: &str) -> Option<String> {
    let mut found = headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"').to_string());
    let first = found.next()?;
    found.next().is_none().then_some(first)
}

/// The name a login cookie goes by: with the `__Host-` prefix over HTTPS, which browsers accept
/// only from this host, with `Secure`, `Path=/` and no Domain — so no sibling subdomain can plant
/// or shadow it.
pub fn login_cookie_name(base: &str, secure: bool) -> String {
    if secure {
        format!("__Host-{base}")
    } else {
        base.to_string()
    }
}

pub enum SameSite {
    /// Sent on cross-site POSTs too (needs `Secure`; falls back to Lax over plain HTTP).
    None,
    Lax,
    Strict,
}

/// Append a `Set-Cookie` for `name=value` (HttpOnly, `path`, `max_age_secs`; 0 deletes it).
pub fn set(
    headers: &mut HeaderMap,
    secure: bool,
    name: &str,
    value: &str,
    path: &str,
    max_age_secs: i64,
    site: SameSite,
) {
    let same_site = match (site, secure) {
        (SameSite::None, true) => "None",
        (SameSite::Strict, _) => "Strict",
        _ => "Lax",
    };
    let secure = if secure { "; Secure" } else { "" };
    let cookie = format!("{name}={value}; Path={path}; Max-Age={max_age_secs}; HttpOnly; SameSite={same_site}{secure}");
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        headers.append(SET_COOKIE, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_one_cookie_among_many() {
        let mut h = HeaderMap::new();
        h.append(COOKIE, HeaderValue::from_static("a=1; spconnect_binding=abc; b=2"));
        h.append(COOKIE, HeaderValue::from_static("c=3"));
        assert_eq!(get(&h, "spconnect_binding").as_deref(), Some("abc"));
        assert_eq!(get(&h, "c").as_deref(), Some("3"));
        assert_eq!(get(&h, "spconnect"), None);
        h.append(COOKIE, HeaderValue::from_static("spconnect_binding=planted"));
        assert_eq!(get(&h, "spconnect_binding"), None, "a cookie sent twice counts as absent");
    }

    #[test]
    fn attributes_follow_the_scheme() {
        let mut h = HeaderMap::new();
        set(&mut h, true, "n", "v", "/p", 600, SameSite::None);
        set(&mut h, false, "n", "v", "/p", 600, SameSite::None);
        let all: Vec<_> = h.get_all(SET_COOKIE).iter().map(|v| v.to_str().unwrap().to_string()).collect();
        assert_eq!(all[0], "n=v; Path=/p; Max-Age=600; HttpOnly; SameSite=None; Secure");
        assert_eq!(all[1], "n=v; Path=/p; Max-Age=600; HttpOnly; SameSite=Lax");
    }
}
