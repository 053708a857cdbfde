//! ACS validation of a realistic signed response (signed by xmlsec1, the IdP's shape: signed
//! Assertion; and signed Response + Assertion), and of a pysaml2 response with an encrypted
//! (RSA-OAEP + AES-256-CBC) assertion, one thread. Validations per second = 1 / time.
//! Also the intake alone (bounds, DTD/PI refusal, shape checks) to show what the pre-filter costs.
//!
//! Run pinned to one core: `taskset -c 1 cargo bench --bench acs_validation`.

#![allow(clippy::unwrap_used)]

#[path = "../tests/it/support/keys.rs"]
#[allow(dead_code)]
mod keys;
#[path = "../tests/it/support/xmlsec.rs"]
#[allow(dead_code)]
mod xmlsec;

use chrono::Duration;
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use spconnect::saml::response::signature::parse_idp_keys;
use spconnect::saml::response::{verify, Expectations};
use spconnect::saml::xml::{self, AlgorithmPolicy};

const SP: &str = "https://sp.example.com/api/rest/sso/saml/123456789012";
const ACS: &str = "https://sp.example.com/api/rest/sso/saml/sso/123456789012";
const IDP: &str = "https://idp.example.net/saml2/idp";

fn bench(c: &mut Criterion) {
    let idp = keys::generate("idp.example.net");
    let sp_key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
    let certs = parse_idp_keys(std::slice::from_ref(&idp.cert_der)).unwrap();
    let exp = Expectations {
        sp_entity_id: SP,
        acs_url: ACS,
        idp_entity_id: IDP,
        idp_keys: &certs,
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
    assert!(verify(&assertion_signed, &exp, &sp_key, now).is_ok());
    assert!(verify(&both_signed, &exp, &sp_key, now).is_ok());

    let mut group = c.benchmark_group("acs_validation");
    group.bench_function("signed_assertion", |b| {
        b.iter(|| verify(black_box(&assertion_signed), &exp, &sp_key, now).unwrap())
    });
    group.bench_function("signed_response_and_assertion", |b| {
        b.iter(|| verify(black_box(&both_signed), &exp, &sp_key, now).unwrap())
    });
    // The fuzz seed made by pysaml2 with the throwaway fuzz keys: encrypted assertion, signed
    // inside the encryption. Its times are fixed, so `now` is the instant it was made.
    let enc_sp_key = PKey::private_key_from_pem(include_bytes!("../fuzz/fixtures/sp.key")).unwrap();
    let enc_idp = openssl::x509::X509::from_pem(include_bytes!("../fuzz/fixtures/idp.crt")).unwrap();
    let enc_keys = parse_idp_keys(&[enc_idp.to_der().unwrap()]).unwrap();
    let enc_exp = Expectations {
        sp_entity_id: "https://sp.example/api/rest/sso/saml/1",
        acs_url: "https://sp.example/api/rest/sso/saml/sso/1",
        idp_entity_id: "https://idp.example",
        idp_keys: &enc_keys,
        clock_skew: Duration::seconds(180),
        policy: AlgorithmPolicy::default(),
        allow_unsolicited: true,
        encryption: Default::default(),
    };
    let enc_now = chrono::DateTime::parse_from_rfc3339("2026-11-29T05:02:30Z").unwrap().to_utc();
    let encrypted = xmlsec::b64(include_str!("../fuzz/corpus/response_intake/seed-pysaml2-4.xml"));
    verify(&encrypted, &enc_exp, &enc_sp_key, enc_now).unwrap();
    group.bench_function("encrypted_assertion", |b| {
        b.iter(|| verify(black_box(&encrypted), &enc_exp, &enc_sp_key, enc_now).unwrap())
    });
    let decoded = xml::decode_form_value(&assertion_signed).unwrap();
    group.bench_function("intake_only", |b| {
        b.iter(|| {
            xml::scan(black_box(&decoded)).unwrap();
            let doc = xml::parse(&decoded).unwrap();
            xml::check_response_shape(&doc, AlgorithmPolicy::default()).unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
