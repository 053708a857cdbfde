//! SCIM filter parser (RFC 7644 §3.4.2.2) on arbitrary text: it must refuse with
//! `InvalidFilter` or parse, never panic or hang, and what it accepts must read back the same
//! from its canonical text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spconnect::scim::filter;
use spconnect::scim::ScimError;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match filter::parse(text) {
        Ok(f) => {
            let canonical = f.to_string();
            if canonical.len() <= filter::MAX_FILTER_LEN {
                assert_eq!(filter::parse(&canonical).ok(), Some(f.clone()), "round trip of {canonical:?}");
            }
            // Evaluation over a typical user never panics either.
            let user = serde_json::json!({"id": "1", "userName": "a@example.com", "active": true,
                "name": {"givenName": "Ä"}, "emails": [{"value": "a@example.com", "type": "work", "primary": true}],
                "groups": [{"value": "g", "display": "Team"}], "meta": {"lastModified": "2026-01-01T00:00:00Z"}});
            let _ = f.matches(&user);
            let _ = f.as_user_name_eq();
        }
        Err(ScimError::InvalidFilter(_)) => {}
        Err(other) => panic!("unexpected error kind {other:?}"),
    }
});
