//! SCIM 2.0 (RFC 7643/7644) with Keeper's semantics, without HTTP: `web/routes/scim.rs` reads
//! the request, calls `service`, and `web/scim_error.rs` turns `ScimError` into a SCIM error
//! body. Keeper's rules live in `service.rs`: userName is the email, new users are invited,
//! deprovisioning locks, teams start pending.

pub mod filter;
pub mod patch;
pub mod resources;
pub mod service;
pub mod throttle;
pub mod tokens;

use thiserror::Error;

use crate::store::StoreError;

pub const USER_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const LIST_URN: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const ERROR_URN: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
/// Where the SCIM endpoints live under the public URL; a node's base URL is
/// `ops::nodes::scim_base_url`.
pub const SCIM_PREFIX: &str = "/api/rest/scim/v2";
/// Largest SCIM request body we read (a group PATCH with thousands of members fits).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Everything a SCIM call can refuse. Each variant names its RFC 7644 §3.12 `scimType`; the
/// HTTP status is chosen in `web/scim_error.rs` only.
#[derive(Debug, Error)]
pub enum ScimError {
    #[error("{0}")]
    InvalidSyntax(String),
    #[error("{0}")]
    InvalidFilter(String),
    #[error("{0}")]
    InvalidValue(String),
    #[error("{0}")]
    InvalidPath(String),
    #[error("{0}")]
    NoTarget(String),
    #[error("{0}")]
    Uniqueness(String),
    /// RFC 7644 `mutability`: the attribute cannot be changed in the resource's current state.
    #[error("{0}")]
    Mutability(String),
    #[error("{0}")]
    NotFound(String),
    #[error("a valid bearer token is required")]
    Unauthorized,
    /// Too many refused bearer tokens from this client address; retry after that many seconds.
    #[error("too many failed authentication attempts from this address; retry later")]
    TooManyRequests(u64),
    #[error("the request body is larger than {0} bytes")]
    TooLarge(usize),
    #[error("this endpoint does not support the method")]
    MethodNotAllowed,
    #[error("{0}")]
    NotImplemented(String),
    /// Keeper answers 428 "Number of licensed seats was exceeded".
    #[error("Number of licensed seats was exceeded ({0} seats)")]
    SeatLimit(i64),
    #[error("internal error")]
    Store(StoreError),
}

impl ScimError {
    /// RFC 7644 Table 9 `scimType`, where one applies.
    pub fn scim_type(&self) -> Option<&'static str> {
        match self {
            ScimError::InvalidSyntax(_) => Some("invalidSyntax"),
            ScimError::InvalidFilter(_) => Some("invalidFilter"),
            ScimError::InvalidValue(_) => Some("invalidValue"),
            ScimError::InvalidPath(_) => Some("invalidPath"),
            ScimError::NoTarget(_) => Some("noTarget"),
            ScimError::Uniqueness(_) => Some("uniqueness"),
            ScimError::Mutability(_) => Some("mutability"),
            _ => None,
        }
    }

    /// A stable reason code for the audit trail and the log.
    pub fn reason(&self) -> &'static str {
        match self {
            ScimError::NotFound(_) => "NOT_FOUND",
            ScimError::Unauthorized => "UNAUTHORIZED",
            ScimError::TooManyRequests(_) => "TOO_MANY_FAILED_TOKENS",
            ScimError::TooLarge(_) => "TOO_LARGE",
            ScimError::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            ScimError::NotImplemented(_) => "NOT_IMPLEMENTED",
            ScimError::SeatLimit(_) => "SEAT_LIMIT",
            ScimError::Store(e) if e.is_unavailable() => "DATABASE_UNAVAILABLE",
            ScimError::Store(_) => "INTERNAL_ERROR",
            other => other.scim_type().unwrap_or("INVALID"),
        }
    }
}

impl From<StoreError> for ScimError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(m) => ScimError::Uniqueness(m),
            StoreError::NotFound(what) => ScimError::NotFound(format!("{what} not found")),
            StoreError::SeatLimit(n) => ScimError::SeatLimit(n),
            other => ScimError::Store(other),
        }
    }
}

/// `urn:…:core:2.0:User:userName` → `userName`; anything else unchanged.
///
/// Never slices at a byte offset that may fall inside a multi-byte character (`str::get` only):
/// a filter attribute such as `urn:ietf:params:scim:schemas:core:2.0:Useé` used to panic here
/// (issue 8, item 9).
pub fn strip_core_urn(s: &str) -> &str {
    for urn in [USER_URN, GROUP_URN] {
        let rest = s
            .get(..urn.len())
            .filter(|head| head.eq_ignore_ascii_case(urn))
            .and_then(|_| s.get(urn.len()..))
            .and_then(|rest| rest.strip_prefix(':'))
            .filter(|rest| !rest.is_empty());
        if let Some(rest) = rest {
            return rest;
        }
    }
    s
}

pub fn is_core_urn(s: &str) -> bool {
    s.eq_ignore_ascii_case(USER_URN) || s.eq_ignore_ascii_case(GROUP_URN)
}

/// At most `max` characters of an attacker-supplied value, for the log and the audit trail
/// (an ellipsis marks the cut). Escaping is the log formatter's job (values are `Debug`-quoted).
pub fn clip(s: &str, max: usize) -> std::borrow::Cow<'_, str> {
    match s.char_indices().nth(max) {
        None => std::borrow::Cow::Borrowed(s),
        Some((at, _)) => std::borrow::Cow::Owned(format!("{}…", &s[..at])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_urns_are_stripped_without_slicing_inside_a_character() {
        assert_eq!(strip_core_urn("urn:ietf:params:scim:schemas:core:2.0:User:userName"), "userName");
        assert_eq!(strip_core_urn("URN:IETF:params:scim:schemas:core:2.0:Group:members"), "members");
        assert_eq!(
            strip_core_urn("urn:ietf:params:scim:schemas:core:2.0:User:"),
            "urn:ietf:params:scim:schemas:core:2.0:User:"
        );
        // A multi-byte character across the URN's length: no panic, left unchanged.
        for s in [
            "urn:ietf:params:scim:schemas:core:2.0:Useé:x",
            "urn:ietf:params:scim:schemas:core:2.0:Use€",
            "€€€€€€€€€€€€€€€€",
        ] {
            assert_eq!(strip_core_urn(s), s);
        }
    }

    #[test]
    fn clip_counts_characters() {
        assert_eq!(clip("abc", 3), "abc");
        assert_eq!(clip("ééééé", 2), "éé…");
    }
}
