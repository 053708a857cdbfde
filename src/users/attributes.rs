//! Assertion attributes → Profile. Keeper's names (`Email`, `First`, `Last`) or the per-config
//! overrides come first, then the claim URIs Entra, ADFS and LDAP-style IdPs send.

use super::{is_email, Profile};
use crate::saml::response::assertion::AssertionFields;
use crate::saml::{Rejection, NAMEID_EMAIL};

pub struct AttributeNames<'a> {
    pub email: &'a str,
    pub first: &'a str,
    pub last: &'a str,
}

const EMAIL_ALIASES: &[&str] = &[
    "Email",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
    "urn:oid:0.9.2342.19200300.100.1.3",
    "email",
    "mail",
];
const FIRST_ALIASES: &[&str] = &[
    "First",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname",
    "urn:oid:2.5.4.42",
    "firstName",
    "givenName",
];
const LAST_ALIASES: &[&str] =
    &["Last", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname", "urn:oid:2.5.4.4", "lastName", "sn"];

fn lookup<'a>(a: &'a AssertionFields, configured: &str, aliases: &[&str]) -> Option<&'a str> {
    std::iter::once(configured)
        .chain(aliases.iter().copied())
        .find_map(|name| {
            a.attributes
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .and_then(|(_, values)| values.iter().find(|v| !v.is_empty()))
        })
        .map(String::as_str)
}

pub fn profile(a: &AssertionFields, names: &AttributeNames) -> Result<Profile, Rejection> {
    let name_id = a.name_id.as_deref().ok_or(Rejection::NameIdMissing)?;
    let name_id_is_email = a.name_id_format.as_deref() == Some(NAMEID_EMAIL) || is_email(name_id);
    let attribute = lookup(a, names.email, EMAIL_ALIASES);
    let email = match (attribute, name_id_is_email) {
        (Some(attr), true) if !attr.eq_ignore_ascii_case(name_id) => {
            return Err(Rejection::NameIdEmailMismatch { name_id: name_id.into(), attribute: attr.into() })
        }
        (_, true) => name_id,
        (Some(attr), false) => attr,
        (None, false) => return Err(Rejection::EmailMissing),
    };
    if !is_email(email) {
        return Err(Rejection::EmailMissing);
    }
    let clip = |s: &str| s.chars().take(128).collect::<String>();
    Ok(Profile {
        email: email.to_ascii_lowercase(),
        first_name: lookup(a, names.first, FIRST_ALIASES).map(clip),
        last_name: lookup(a, names.last, LAST_ALIASES).map(clip),
    })
}
