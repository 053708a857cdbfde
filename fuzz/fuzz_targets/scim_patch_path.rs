//! SCIM PATCH paths (`attr`, `attr.sub`, `attr[filter].sub`, URN-prefixed) on arbitrary text:
//! `InvalidPath` or a target, never a panic; and a PATCH with that path applied to a user
//! refuses or applies, never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spconnect::scim::patch;
use spconnect::scim::ScimError;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match patch::parse_path(text) {
        Ok(Some(t)) => assert!(!t.attr.is_empty() && t.attr.is_ascii(), "{t:?}"),
        Ok(None) => {}
        Err(ScimError::InvalidPath(_)) => {}
        Err(other) => panic!("unexpected error kind {other:?}"),
    }
    for op in ["add", "replace", "remove"] {
        let body = serde_json::json!({"Operations": [{"op": op, "path": text, "value": {"value": "x", "type": "work"}}]});
        let mut doc = serde_json::json!({"userName": "a@example.com", "active": true,
            "emails": [{"value": "a@example.com", "type": "work"}], "name": {"givenName": "A"},
            "members": [{"value": "u1"}]});
        if let Ok(ops) = patch::parse(&body) {
            let _ = patch::apply(&mut doc, &ops);
            assert!(doc.is_object());
        }
    }
});
