//! The login journeys, HTTP-free: `start` (ext_login → AuthnRequest) and `finish`
//! (ACS → validation → user → the facts a session is made of).

pub mod admin_signin;
pub mod binding;
pub mod finish;
pub mod start;
pub mod test_login;

use thiserror::Error;

use crate::saml::Rejection;
use crate::store::{RequestPurpose, StoreError};
use crate::users::jit::JitRefusal;

#[derive(Debug, Error)]
pub enum LoginError {
    #[error("{0}")]
    Rejected(#[from] Rejection),
    #[error("unknown SSO configuration")]
    UnknownSso,
    #[error("the SSO configuration has no IdP metadata yet")]
    IdpNotConfigured,
    #[error("the SSO configuration is turned off")]
    Deactivated,
    #[error("every signing certificate of the IdP has expired (the last on {0})")]
    IdpCertificatesExpired(String),
    #[error("no signing certificate of the IdP is valid yet (the first from {0})")]
    IdpCertificatesNotYetValid(String),
    #[error("{0} is not provisioned and Just-In-Time provisioning is off")]
    NotProvisioned(String),
    #[error("{0} is locked")]
    Locked(String),
    #[error("{0} belongs to a node outside this SSO configuration's node")]
    OutsideNode(String),
    #[error("{0} is outside the configuration's enterprise domain")]
    DomainNotAllowed(String),
    #[error("too many sign-ins were started from this network and not finished")]
    TooManyPending,
    #[error("console sign-in through this configuration is off")]
    AdminSigninOff,
    #[error("no console administrator has the email {0}")]
    NotAnAdmin(String),
    #[error("storage error: {0}")]
    Store(#[from] StoreError),
    #[error("key error: {0}")]
    Keys(#[from] crate::crypto::CryptoError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<JitRefusal> for LoginError {
    fn from(r: JitRefusal) -> Self {
        match r {
            JitRefusal::DomainNotAllowed(e) => LoginError::DomainNotAllowed(e),
            JitRefusal::OutsideNode(e) => LoginError::OutsideNode(e),
            JitRefusal::Locked(e) => LoginError::Locked(e),
            JitRefusal::NotProvisioned(e) => LoginError::NotProvisioned(e),
        }
    }
}

impl LoginError {
    pub fn code(&self) -> &'static str {
        match self {
            LoginError::Rejected(r) => r.code(),
            LoginError::UnknownSso => "SSO_NOT_FOUND",
            LoginError::IdpNotConfigured => "SSO_IDP_NOT_CONFIGURED",
            LoginError::Deactivated => "SSO_DEACTIVATED",
            LoginError::IdpCertificatesExpired(_) => "SSO_IDP_CERTIFICATE_EXPIRED",
            LoginError::IdpCertificatesNotYetValid(_) => "SSO_IDP_CERTIFICATE_NOT_YET_VALID",
            LoginError::NotProvisioned(_) => "USER_NOT_PROVISIONED",
            LoginError::Locked(_) => "USER_LOCKED",
            LoginError::DomainNotAllowed(_) => "USER_DOMAIN_NOT_ALLOWED",
            LoginError::OutsideNode(_) => "USER_OUTSIDE_SSO_NODE",
            LoginError::TooManyPending => "SSO_TOO_MANY_PENDING_LOGINS",
            LoginError::AdminSigninOff => "ADMIN_SSO_SIGNIN_OFF",
            LoginError::NotAnAdmin(_) => "ADMIN_NOT_FOUND",
            LoginError::Store(e) if e.is_unavailable() => "DATABASE_UNAVAILABLE",
            LoginError::Store(_) | LoginError::Keys(_) | LoginError::Internal(_) => "INTERNAL_ERROR",
        }
    }
}

/// The RelayState sent with an AuthnRequest: the request ID, prefixed for the console's uses so
/// the ACS knows where the answer goes before it has verified anything. The prefix only chooses
/// the handler; each handler requires the stored request to have that purpose, so a RelayState
/// changed in transit cannot turn a test login into a sign-in or the other way round.
pub fn relay_state(purpose: RequestPurpose, request_id: &str) -> String {
    match purpose {
        RequestPurpose::Login => request_id.to_string(),
        RequestPurpose::Test => format!("{TEST_PREFIX}{request_id}"),
        RequestPurpose::Admin => format!("{ADMIN_PREFIX}{request_id}"),
    }
}

/// The console purpose a RelayState names, with the request ID it carries.
pub fn console_relay(relay: &str) -> Option<(RequestPurpose, &str)> {
    if let Some(id) = relay.strip_prefix(TEST_PREFIX) {
        return Some((RequestPurpose::Test, id));
    }
    relay.strip_prefix(ADMIN_PREFIX).map(|id| (RequestPurpose::Admin, id))
}

const TEST_PREFIX: &str = "spconnect-test:";
const ADMIN_PREFIX: &str = "spconnect-console:";

/// Only a same-site relative path is ever redirected to: `/x`, never `//host`, `/\host`,
/// a scheme, or anything with control characters. Anything else yields `None`.
pub fn safe_relative_path(candidate: &str) -> Option<String> {
    const MAX: usize = 512;
    let ok = candidate.len() <= MAX
        && candidate.starts_with('/')
        && !candidate.starts_with("//")
        && !candidate.starts_with("/\\")
        && !candidate.chars().any(|c| c.is_control() || c == '\\' || c.is_whitespace() || is_invisible(c));
    // Non-ASCII is percent-encoded (UTF-8), so the Location header is plain ASCII.
    ok.then(|| {
        let mut out = String::with_capacity(candidate.len());
        for c in candidate.chars() {
            if c.is_ascii() {
                out.push(c);
            } else {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("%{b:02X}"));
                }
            }
        }
        out
    })
}

/// Format and bidi characters: not whitespace, but they would disguise a path.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{206f}' | '\u{feff}')
}

pub const DEFAULT_TARGET: &str = "/vault";

#[cfg(test)]
mod tests {
    use super::safe_relative_path;

    #[test]
    fn only_same_site_paths_are_targets() {
        assert_eq!(safe_relative_path("/vault/x?y=1").as_deref(), Some("/vault/x?y=1"));
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "https://evil.example",
            "javascript:alert(1)",
            "",
            "vault",
            "/a\nb",
            "/a b",
        ] {
            assert_eq!(safe_relative_path(bad), None, "{bad:?}");
        }
        assert_eq!(safe_relative_path(&format!("/{}", "a".repeat(600))), None);
        assert_eq!(safe_relative_path("/vault/\u{e9}t\u{e9}").as_deref(), Some("/vault/%C3%A9t%C3%A9"));
        assert_eq!(safe_relative_path("/\u{202e}gpj.exe"), None);
    }

    #[test]
    fn relay_state_names_the_console_purpose_and_the_request() {
        use super::{console_relay, relay_state, RequestPurpose};
        assert_eq!(relay_state(RequestPurpose::Login, "_abc"), "_abc");
        assert_eq!(console_relay(&relay_state(RequestPurpose::Login, "_abc")), None);
        assert_eq!(console_relay(&relay_state(RequestPurpose::Test, "_abc")), Some((RequestPurpose::Test, "_abc")));
        assert_eq!(console_relay(&relay_state(RequestPurpose::Admin, "_abc")), Some((RequestPurpose::Admin, "_abc")));
        assert_eq!(console_relay("/vault"), None);
    }
}
