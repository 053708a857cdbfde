//! The real binary: first start generates certificates (keys 0600) and serves metadata; a
//! second start reuses them; the admin commands print the same bytes as the downloads.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use crate::support::xmlsec::ResponseSpec;
use crate::support::{idp_metadata, keys, repo_root, serve_binary};

const BIN: &str = env!("CARGO_BIN_EXE_spconnect");

fn cli(dir: &Path, args: &[&str]) -> (bool, String, String) {
    let out = crate::support::spconnect(dir).args(args).output().expect("run spconnect");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn first_start_generates_keys_and_a_second_start_reuses_them() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out, err) = cli(dir.path(), &["--json", "sso", "create", "--name", "Acme", "--domain", "acme.example"]);
    assert!(ok, "{err}");
    let sso_id = serde_json::from_str::<serde_json::Value>(&out).unwrap()["sso_id"].as_i64().unwrap();
    assert!((100_000_000_000..1_000_000_000_000).contains(&sso_id), "12-digit SSO ID");
    // The SP private key is in the database, sealed under the key-encryption key (0600 file);
    // no key file is written and the database never holds the key in the clear.
    assert_eq!(mode(&dir.path().join("certs/kek")), 0o600);
    assert!(!dir.path().join(format!("certs/sp-{sso_id}.key")).exists());
    let stored = match crate::support::database_url_for(dir.path()) {
        Some(url) => crate::support::postgres::psql(&url, "SELECT cert_pem || key_sealed FROM sp_keys"),
        None => ["spconnect.db", "spconnect.db-wal"]
            .iter()
            .filter_map(|f| std::fs::read(dir.path().join(f)).ok())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .collect(),
    };
    assert!(stored.contains("BEGIN CERTIFICATE"), "the certificate is stored");
    assert!(!stored.contains("PRIVATE KEY"), "the private key is not stored in the clear");

    let server = serve_binary(dir.path());
    assert_eq!(mode(&dir.path().join("certs/tls.key")), 0o600);
    let tls_cert = std::fs::read(dir.path().join("certs/tls.crt")).unwrap();
    let client = reqwest::Client::builder().danger_accept_invalid_certs(true).build().unwrap();
    let metadata = client.get(format!("{}/api/rest/sso/saml/{sso_id}/metadata", server.base)).send().await.unwrap();
    assert_eq!(metadata.status(), 200);
    let downloaded = metadata.text().await.unwrap();
    assert!(downloaded.contains(&format!("{}/api/rest/sso/saml/{sso_id}", server.base)));

    // The CLI prints the same bytes as the download (it uses the public URL serve recorded).
    let (_, printed, _) = cli(dir.path(), &["metadata", &sso_id.to_string()]);
    assert_eq!(printed, downloaded);
    let (_, cert, _) = cli(dir.path(), &["cert", &sso_id.to_string()]);
    let cert_download = client
        .get(format!("{}/api/rest/sso/saml/{sso_id}/cert", server.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(cert, cert_download);
    drop(server);

    let server = serve_binary(dir.path());
    assert_eq!(std::fs::read(dir.path().join("certs/tls.crt")).unwrap(), tls_cert, "TLS certificate reused");
    let again = client
        .get(format!("{}/api/rest/sso/saml/{sso_id}/cert", server.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(again, cert_download, "SP certificate reused");
}

#[test]
fn idp_import_and_check_response_diagnose_offline() {
    let dir = tempfile::tempdir().unwrap();
    let (_, out, _) = cli(dir.path(), &["--json", "sso", "create", "--name", "Acme", "--domain", "example.com"]);
    let sso_id = serde_json::from_str::<serde_json::Value>(&out).unwrap()["sso_id"].as_i64().unwrap().to_string();
    let key = keys::generate("idp");
    let bad = dir.path().join("bad.xml");
    std::fs::write(&bad, idp_metadata("no-signing-cert.xml", "https://idp.test", "https://idp.test/sso", &key, None))
        .unwrap();
    let (ok, _, err) = cli(dir.path(), &["idp", "import", &sso_id, bad.to_str().unwrap()]);
    assert!(!ok && err.contains("no signing certificate"), "{err}");

    let good = dir.path().join("jumpcloud.xml");
    std::fs::write(&good, idp_metadata("jumpcloud.xml", "https://idp.test", "https://idp.test/sso", &key, None))
        .unwrap();
    let (ok, out, err) = cli(dir.path(), &["idp", "import", &sso_id, good.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(out.contains("https://idp.test"));

    let base = "https://127.0.0.1:8443";
    let (entity, acs) =
        (format!("{base}/api/rest/sso/saml/{sso_id}"), format!("{base}/api/rest/sso/saml/sso/{sso_id}"));
    let spec = ResponseSpec::new("https://idp.test", &entity, &acs, "alice@example.com");
    let good_resp = dir.path().join("good.b64");
    std::fs::write(&good_resp, spec.signed_b64(&key)).unwrap();
    let mut wrong = spec.clone();
    wrong.audience = Some("https://elsewhere".into());
    let bad_resp = dir.path().join("bad.b64");
    std::fs::write(&bad_resp, wrong.signed_b64(&key)).unwrap();

    let (ok, out, err) = cli(dir.path(), &["check-response", &sso_id, good_resp.to_str().unwrap()]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("accept OK alice@example.com"), "{out}");
    let (ok, out, _) = cli(
        dir.path(),
        &["--json", "check-response", &sso_id, good_resp.to_str().unwrap(), bad_resp.to_str().unwrap()],
    );
    assert!(!ok, "exit status is non-zero when any file would be refused");
    let rows: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(rows[1]["reason_code"], "SAML_AUDIENCE_MISMATCH");
    // Evaluated a day later, the same good response is expired; in 2099, the IdP's certificate
    // has expired too, and nothing it signed is trusted any more.
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
    let (ok, out, _) = cli(dir.path(), &["check-response", &sso_id, good_resp.to_str().unwrap(), "--at", &tomorrow]);
    assert!(!ok && out.contains("SAML_ASSERTION_EXPIRED"), "{out}");
    let (ok, out, _) =
        cli(dir.path(), &["check-response", &sso_id, good_resp.to_str().unwrap(), "--at", "2099-01-01T00:00:00Z"]);
    assert!(!ok && out.contains("SSO_IDP_CERTIFICATE_EXPIRED"), "{out}");
    // Nothing was consumed or created.
    let (_, users, _) = cli(dir.path(), &["--json", "users", "list"]);
    assert_eq!(users.trim(), "[]");
    let _ = repo_root();
}

#[tokio::test]
async fn the_demo_wires_a_working_idp_for_both_journeys() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .arg("--data-dir")
        .arg(dir.path())
        .args(["demo", "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn demo");
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut banner = String::new();
    while !banner.contains("Stop with Ctrl-C") {
        assert!(reader.read_line(&mut banner).unwrap() > 0, "demo exited: {banner}");
    }
    let _demo = KillOnDrop(child);
    let url_after = |label: &str| {
        banner.lines().find(|l| l.contains(label)).and_then(|l| l.split_whitespace().last()).unwrap().to_string()
    };
    let (login, launch) = (url_after("SP-initiated login:"), url_after("IdP-initiated launch:"));
    let sp_base = login.split("/api/").next().unwrap().to_string();
    for start in [login, launch] {
        let client =
            reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).cookie_store(true).build().unwrap();
        let mut idp_page = client.get(&start).send().await.unwrap();
        if idp_page.status() == 302 {
            let to = idp_page.headers()["location"].to_str().unwrap().to_string();
            idp_page = client.get(to).send().await.unwrap();
        }
        let (action, response, relay) = crate::support::pysaml2::scrape_form(&idp_page.text().await.unwrap());
        let mut form = vec![("SAMLResponse", response)];
        form.extend(relay.map(|r| ("RelayState", r)));
        let res = client.post(action).form(&form).send().await.unwrap();
        let res = crate::support::follow_continuation(&client, &sp_base, res).await;
        assert_eq!(res.status(), 303, "{start}");
        let session = client.get(format!("{sp_base}/api/rest/sso/session")).send().await.unwrap().text().await.unwrap();
        assert!(session.contains("alice@demo.example"), "{start}: {session}");
    }
    drop(_demo);
    // The demo trusts a demo IdP key: it never writes into the data directory it was given.
    assert!(banner.contains("(temporary, removed on exit"), "{banner}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "nothing written to --data-dir");
}
