//! Issue 8, item 8: replaying one captured, validly signed response must not grow the process.
//! (samael 0.0.22 leaked ~2.4 KB of libxml2 memory per verified signature, so anyone holding one
//! response could inflate the service by posting it again and again, without logging in.)
//! Measured on the real binary: resident set after a warm-up, then after 10,000 replays.

use crate::support::xmlsec::ResponseSpec;
use crate::support::{cli, idp_metadata, keys, serve_http, ALICE};

fn resident_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .expect("VmRSS")
}

async fn replay(acs: &str, value: &str, posts: usize) {
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..8 {
        let (acs, value) = (acs.to_string(), value.to_string());
        tasks.spawn(async move {
            let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
            for _ in (worker..posts).step_by(8) {
                let res = client.post(&acs).form(&[("SAMLResponse", value.as_str())]).send().await.unwrap();
                assert_eq!(res.status(), 403, "a replay is refused");
            }
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_replays_of_a_valid_response_do_not_grow_the_process() {
    let dir = tempfile::tempdir().unwrap();
    let (out_ok, out, err) = cli(dir.path(), &["sso", "create", "--name", "Replay", "--domain", "example.com"]);
    assert!(out_ok, "{err}");
    let sso_id = out.split_whitespace().find(|w| w.len() == 12 && w.bytes().all(|b| b.is_ascii_digit())).unwrap();
    let key = keys::generate("idp.example.net");
    let idp = "https://idp.example.net/saml2/idp";
    let md = idp_metadata("jumpcloud.xml", idp, "https://idp.example.net/saml2/sso", &key, None);
    let md_path = dir.path().join("idp.xml");
    std::fs::write(&md_path, md).unwrap();
    assert!(cli(dir.path(), &["idp", "import", sso_id, md_path.to_str().unwrap()]).0);
    let (mut server, base) = serve_http(dir.path());
    let acs = format!("{base}/api/rest/sso/saml/sso/{sso_id}");
    let entity = format!("{base}/api/rest/sso/saml/{sso_id}");

    let mut spec = ResponseSpec::new(idp, &entity, &acs, ALICE);
    spec.not_on_or_after = chrono::Utc::now() + chrono::Duration::minutes(30);
    spec.scd_not_on_or_after = Some(spec.not_on_or_after);
    let value = spec.signed_b64(&key);
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let first = client.post(&acs).form(&[("SAMLResponse", value.as_str())]).send().await.unwrap();
    assert_eq!(first.status(), 303, "the first post signs in");

    let pid = server.0.id();
    replay(&acs, &value, 3_000).await; // warm-up: allocator pools, SQLite page caches, buffers
    let before = resident_kb(pid);
    replay(&acs, &value, 10_000).await;
    let after = resident_kb(pid);
    let log = server.stop();
    assert!(log.contains("SAML_ASSERTION_REPLAYED"), "refused as replays");
    let grown = after.saturating_sub(before);
    println!("resident set {before} kB -> {after} kB over 10,000 replays (+{grown} kB)");
    assert!(grown < 5 * 1024, "resident set grew {grown} kB over 10,000 replays ({before} -> {after} kB)");
}
