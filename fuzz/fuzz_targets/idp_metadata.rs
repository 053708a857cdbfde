//! IdP metadata import on arbitrary bytes: it must refuse or parse, never panic or hang.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = spconnect::saml::idp_metadata::parse(text);
    }
});
