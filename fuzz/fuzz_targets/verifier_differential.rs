//! Differential fuzzing of spconnect's own signature verifier against samael + libxmlsec1: the
//! input is a (mutated) signed SAMLResponse document; both verifiers judge it stage by stage
//! (`tests/it/support/oracle.rs`). A stage ours accepts and xmlsec refuses is a crash (a finding)
//! unless xmlsec accepts the same document with its `ds:KeyInfo` cut out (xmlsec parses KeyInfo
//! even with a preset key; spconnect never reads it) - those are counted, as is the reverse (ours
//! stricter); counts are printed every 10,000 runs.
//!
//! Run with LeakSanitizer on; samael 0.0.22's known leaks (libxml2 `xmlGetNsList` arrays and the
//! unlinked root in its reduce step, see shared/deps.md and issue 10) are suppressed by
//! `fuzz/lsan-oracle.supp`, which names only libxml2/samael frames:
//! `LSAN_OPTIONS=suppressions=fuzz/lsan-oracle.supp cargo fuzz run verifier_differential -- -detect_leaks=1`
#![no_main]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use openssl::pkey::{PKey, Private};
use spconnect::saml::response::signature::{parse_idp_keys, IdpKeys};
use spconnect::saml::xml::AlgorithmPolicy;

#[path = "../../tests/it/support/oracle.rs"]
mod oracle;

struct Fixture {
    sp_key: PKey<Private>,
    keys: IdpKeys,
    certs: Vec<Vec<u8>>,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let sp_key = PKey::private_key_from_pem(include_bytes!("../fixtures/sp.key")).expect("sp key");
        let idp = openssl::x509::X509::from_pem(include_bytes!("../fixtures/idp.crt")).expect("idp cert");
        let certs = vec![idp.to_der().expect("der")];
        Fixture { sp_key, keys: parse_idp_keys(&certs).expect("keys"), certs }
    })
}

static RUNS: AtomicU64 = AtomicU64::new(0);
static STRICTER: AtomicU64 = AtomicU64::new(0);
static BOTH_ACCEPT: AtomicU64 = AtomicU64::new(0);
static KEY_INFO_ONLY: AtomicU64 = AtomicU64::new(0);

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let f = fixture();
    let outcome = oracle::compare(text, &f.keys, &f.certs, &f.sp_key, AlgorithmPolicy::default());
    if !outcome.ours_only().is_empty() {
        assert!(
            !outcome.ours_only_beyond_key_info(text, &f.certs, AlgorithmPolicy::default()),
            "ours accepted what xmlsec refused: {:?}",
            outcome.stages
        );
        KEY_INFO_ONLY.fetch_add(1, Ordering::Relaxed);
    }
    if !outcome.oracle_only().is_empty() {
        STRICTER.fetch_add(1, Ordering::Relaxed);
        if std::env::var_os("DIFF_SHOW_STRICTER").is_some() {
            eprintln!("xmlsec accepted, ours refused: {:?}\n{text}", outcome.stages);
        }
    }
    if !outcome.stages.is_empty() && outcome.stages.iter().all(|(_, o, t)| o.accepted() && t.accepted()) {
        BOTH_ACCEPT.fetch_add(1, Ordering::Relaxed);
    }
    let n = RUNS.fetch_add(1, Ordering::Relaxed) + 1;
    if n.is_multiple_of(10_000) {
        eprintln!(
            "differential: {n} inputs, both accepted {}, xmlsec-only accepts (ours stricter) {}, \
             ours-only accepts explained by a malformed KeyInfo alone {}",
            BOTH_ACCEPT.load(Ordering::Relaxed),
            STRICTER.load(Ordering::Relaxed),
            KEY_INFO_ONLY.load(Ordering::Relaxed)
        );
    }
});
