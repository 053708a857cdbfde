//! The whole ACS intake on attacker bytes: base64 → bounded XML → pre-filter → signature verify →
//! decrypt → conditions. Any panic, abort or hang is a bug. The input is used both as the raw
//! form value and, base64-encoded, as a document, so the fuzzer reaches the XML stages directly.
#![no_main]

use std::sync::OnceLock;

use base64::Engine;
use libfuzzer_sys::fuzz_target;
use openssl::pkey::{PKey, Private};
use spconnect::saml::response::signature::{parse_idp_keys, IdpKeys};
use spconnect::saml::response::{verify, Expectations};
use spconnect::saml::xml::AlgorithmPolicy;

struct Fixture {
    sp_key: PKey<Private>,
    keys: IdpKeys,
}

/// The seed corpus was made by pysaml2 with these throwaway keys (fuzz/fixtures, test-only), so
/// mutations of it get past signature verification and decryption into the later checks.
fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let sp_key = PKey::private_key_from_pem(include_bytes!("../fixtures/sp.key")).expect("sp key");
        let idp = openssl::x509::X509::from_pem(include_bytes!("../fixtures/idp.crt")).expect("idp cert");
        Fixture { sp_key, keys: parse_idp_keys(&[idp.to_der().expect("der")]).expect("keys") }
    })
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let exp = Expectations {
        sp_entity_id: "https://sp.example/api/rest/sso/saml/1",
        acs_url: "https://sp.example/api/rest/sso/saml/sso/1",
        idp_entity_id: "https://idp.example",
        idp_keys: &f.keys,
        clock_skew: chrono::Duration::seconds(180),
        policy: AlgorithmPolicy::default(),
        allow_unsolicited: true,
        encryption: Default::default(),
    };
    // The instant the seeds were made, so valid seeds pass the time checks.
    let now = chrono::DateTime::parse_from_rfc3339("2026-11-29T05:02:30Z").map(|t| t.to_utc()).unwrap_or_default();
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = verify(text, &exp, &f.sp_key, now);
    }
    let encoded = base64::engine::general_purpose::STANDARD.encode(data);
    let _ = verify(&encoded, &exp, &f.sp_key, now);
});
