//! ACS validation of a realistic signed response (signed by xmlsec1, the IdP's shape: signed
//! Assertion; and signed Response + Assertion), one thread. Validations per second = 1 / time.
//! Also the intake alone (bounds, DTD/PI refusal, shape checks) to show what the pre-filter costs.

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
use spconnect::saml::response::{verify, Expectations};
use spconnect::saml::xml::{self, AlgorithmPolicy};

const SP: &str = "https://sp.example.com/api/rest/sso/saml/123456789012";
const ACS: &str = "https://sp.example.com/api/rest/sso/saml/sso/123456789012";
const IDP: &str = "https://idp.example.net/saml2/idp";

fn bench(c: &mut Criterion) {
    let idp = keys::generate("idp.example.net");
    let sp_key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
    let certs = vec![idp.cert_der.clone()];
    let exp = Expectations {
        sp_entity_id: SP,
        acs_url: ACS,
        idp_entity_id: IDP,
        idp_certs_der: &certs,
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
