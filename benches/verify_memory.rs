//! Resident-set growth of ACS validation: after a warm-up, 100,000 validations of each kind
//! (signed Assertion, signed Response + Assertion, encrypted assertion signed inside) must grow
//! RSS by less than 5 MB in total. samael 0.0.22 leaked ~2.5 KB per verified signature, which
//! would be ~500 MB here. Not a criterion bench: it prints the figures.
//!
//! `cargo bench --bench verify_memory` (optionally `-- 20000` for a shorter run).

#![allow(clippy::unwrap_used)]

#[path = "../tests/it/support/keys.rs"]
#[allow(dead_code)]
mod keys;
#[path = "../tests/it/support/xmlsec.rs"]
#[allow(dead_code)]
mod xmlsec;

use chrono::Duration;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use spconnect::saml::response::signature::parse_idp_keys;
use spconnect::saml::response::{verify, Expectations};
use spconnect::saml::xml::AlgorithmPolicy;

const SP: &str = "https://sp.example.com/api/rest/sso/saml/123456789012";
const ACS: &str = "https://sp.example.com/api/rest/sso/saml/sso/123456789012";
const IDP: &str = "https://idp.example.net/saml2/idp";

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let resident: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    // statm counts pages; 4 KiB on the Linux x86-64 machines this runs on.
    resident * 4096
}

fn main() {
    let n: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(100_000);
    let idp = keys::generate("idp.example.net");
    let sp_key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
    let keys = parse_idp_keys(std::slice::from_ref(&idp.cert_der)).unwrap();
    let exp = Expectations {
        sp_entity_id: SP,
        acs_url: ACS,
        idp_entity_id: IDP,
        idp_keys: &keys,
        clock_skew: Duration::seconds(180),
        policy: AlgorithmPolicy::default(),
        allow_unsolicited: true,
        encryption: Default::default(),
    };
    let spec = xmlsec::ResponseSpec::new(IDP, SP, ACS, "alice@example.com");
    let now = spec.issue_instant;
    let assertion_signed = spec.signed_b64(&idp);
    let mut both = spec.clone();
    both.sign_response = true;
    let both_signed = both.signed_b64(&idp);

    let enc_sp_key = PKey::private_key_from_pem(include_bytes!("../fuzz/fixtures/sp.key")).unwrap();
    let enc_idp = openssl::x509::X509::from_pem(include_bytes!("../fuzz/fixtures/idp.crt")).unwrap();
    let enc_keys = parse_idp_keys(&[enc_idp.to_der().unwrap()]).unwrap();
    let enc_exp = Expectations {
        sp_entity_id: "https://sp.example/api/rest/sso/saml/1",
        acs_url: "https://sp.example/api/rest/sso/saml/sso/1",
        idp_entity_id: "https://idp.example",
        idp_keys: &enc_keys,
        ..exp.clone()
    };
    let enc_now = chrono::DateTime::parse_from_rfc3339("2026-11-29T05:02:30Z").unwrap().to_utc();
    let encrypted = xmlsec::b64(include_str!("../fuzz/corpus/response_intake/seed-pysaml2-4.xml"));

    let run = |count: usize| {
        for _ in 0..count {
            verify(&assertion_signed, &exp, &sp_key, now).unwrap();
            verify(&both_signed, &exp, &sp_key, now).unwrap();
            verify(&encrypted, &enc_exp, &enc_sp_key, enc_now).unwrap();
        }
    };
    run(2_000);
    let before = rss_bytes();
    let started = std::time::Instant::now();
    run(n);
    let after = rss_bytes();
    let grown = after as i64 - before as i64;
    println!(
        "verify_memory: {n} x (signed assertion + signed response&assertion + encrypted) = {} validations in {:.1} s; \
         RSS before {:.2} MB, after {:.2} MB, growth {:.3} MB ({:.1} bytes/validation)",
        3 * n,
        started.elapsed().as_secs_f64(),
        before as f64 / 1e6,
        after as f64 / 1e6,
        grown as f64 / 1e6,
        grown as f64 / (3 * n) as f64
    );
    assert!(grown < 5_000_000, "RSS grew by {grown} bytes");
}
