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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::saml::NAMEID_EMAIL;

    const KEEPER: AttributeNames<'static> = AttributeNames { email: "Email", first: "First", last: "Last" };

    fn assertion(name_id: Option<&str>, format: Option<&str>, attrs: &[(&str, &str)]) -> AssertionFields {
        AssertionFields {
            name_id: name_id.map(str::to_string),
            name_id_format: format.map(str::to_string),
            attributes: attrs.iter().map(|(n, v)| (n.to_string(), vec![v.to_string()])).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn the_email_comes_from_the_name_id_or_the_attribute_and_they_must_agree() {
        let entra = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress";
        // (NameID, format, attributes, expected email or reason code)
        type Row<'a> = (Option<&'a str>, Option<&'a str>, &'a [(&'a str, &'a str)], Result<&'a str, &'a str>);
        let cases: &[Row] = &[
            (Some("Alice@Example.com"), Some(NAMEID_EMAIL), &[], Ok("alice@example.com")),
            (Some("alice@example.com"), None, &[("Email", "ALICE@example.com")], Ok("alice@example.com")),
            (
                Some("opaque-1234"),
                Some("urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"),
                &[("Email", "bob@example.com")],
                Ok("bob@example.com"),
            ),
            (Some("opaque-1234"), None, &[(entra, "carol@example.com")], Ok("carol@example.com")),
            (Some("opaque-1234"), None, &[("mail", "dave@example.com")], Ok("dave@example.com")),
            (Some("alice@example.com"), None, &[("Email", "mallory@example.com")], Err("SAML_NAMEID_EMAIL_MISMATCH")),
            (None, None, &[("Email", "alice@example.com")], Err("SAML_NAMEID_MISSING")),
            (Some("opaque-1234"), None, &[], Err("SAML_EMAIL_MISSING")),
            (Some("opaque-1234"), None, &[("Email", "not an email")], Err("SAML_EMAIL_MISSING")),
            (Some("\u{212A}im@example.com"), Some(NAMEID_EMAIL), &[], Err("SAML_EMAIL_MISSING")),
        ];
        for (name_id, format, attrs, want) in cases {
            let got = profile(&assertion(*name_id, *format, attrs), &KEEPER).map(|p| p.email).map_err(|r| r.code());
            assert_eq!(got, want.map(str::to_string), "{name_id:?} {attrs:?}");
        }
    }

    #[test]
    fn names_prefer_the_configured_attribute_then_known_claims_and_are_clipped() {
        let a = assertion(
            Some("alice@example.com"),
            Some(NAMEID_EMAIL),
            &[("givenName", "Ally"), ("First", "Alice"), ("sn", &"E".repeat(300))],
        );
        let p = profile(&a, &KEEPER).unwrap();
        assert_eq!(p.first_name.as_deref(), Some("Alice"), "Keeper's name first");
        assert_eq!(p.last_name.map(|l| l.chars().count()), Some(128), "clipped to 128 characters");
        let custom = AttributeNames { email: "Email", first: "givenName", last: "Last" };
        assert_eq!(profile(&a, &custom).unwrap().first_name.as_deref(), Some("Ally"));
        // Empty values are skipped for the next candidate.
        let b = assertion(Some("alice@example.com"), Some(NAMEID_EMAIL), &[("First", ""), ("firstName", "Al")]);
        assert_eq!(profile(&b, &KEEPER).unwrap().first_name.as_deref(), Some("Al"));
    }

    proptest::proptest! {
        #[test]
        fn any_accepted_email_is_ascii_lower_case_and_equals_its_input_folded(local in "[A-Za-z0-9._%+-]{1,20}", domain in "[A-Za-z0-9-]{1,20}\\.[A-Za-z]{2,6}") {
            let email = format!("{local}@{domain}");
            let a = assertion(Some(&email), Some(NAMEID_EMAIL), &[]);
            let p = profile(&a, &KEEPER).unwrap();
            proptest::prop_assert_eq!(p.email, email.to_ascii_lowercase());
        }

        #[test]
        fn non_ascii_identities_are_never_accepted(s in "\\PC{1,40}") {
            let a = assertion(Some(&s), Some(NAMEID_EMAIL), &[]);
            if let Ok(p) = profile(&a, &KEEPER) {
                proptest::prop_assert!(p.email.is_ascii() && p.email.contains('@'));
                proptest::prop_assert_eq!(p.email, s.to_ascii_lowercase());
            }
        }
    }
}
