//! Who logs in: the profile read from a verified assertion, and the JIT decision.

pub mod attributes;
pub mod jit;
pub mod lifecycle;

/// Identity and names asserted by the IdP. The email is the identity (lower-cased).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

/// A plausible email address: one `@`, non-empty parts, a dot-free-or-not domain without
/// spaces or control characters. Deliverability is the IdP's business.
pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else { return false };
    !local.is_empty()
        && !domain.is_empty()
        && !domain.contains('@')
        && s.len() <= 254
        // ASCII only (IDN domains as punycode): Unicode case folding would merge identities,
        // e.g. U+212A KELVIN SIGN lower-cases to `k`.
        && s.is_ascii()
        && !s.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"' | '(' | ')' | ',' | ';' | '\\'))
        && !domain.starts_with('.')
        && !domain.ends_with('.')
}

pub fn email_domain(email: &str) -> &str {
    email.rsplit_once('@').map_or("", |(_, d)| d)
}
