//! IdP metadata that stays current: import by URL (CLI and console), the fetcher's refusals,
//! refresh on demand and on the schedule inside a running `serve`, certificate rollover trusted
//! after a refresh, a failed refresh keeping the last good copy (banner, metric), the audit of
//! certificate changes, a pinned metadata-signing certificate (signatures made by xmlsec1), and
//! comments in metadata. The IdP side is a tiny HTTP server on loopback written here: it is not
//! ours to trust, so it can misbehave on request (redirects, huge or slow answers).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use spconnect::ops::idp_refresh::{self, PinChange, UrlImport};
use spconnect::ops::Actor;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::keys::{self, KeyPair};
use crate::support::{cli, idp_metadata, serve_http_with, TestApp, ALICE};

/// What the test IdP answers on one path.
#[derive(Clone)]
enum Answer {
    Xml(String),
    Redirect(String),
    /// 2 MiB without a Content-Length (streamed until the connection closes).
    Huge,
    /// 2 MiB announced in Content-Length.
    HugeAnnounced,
    /// Headers, then nothing for a minute.
    Slow,
    Status(u16),
}

/// A loopback HTTP/1.1 server answering each path as told; `set` changes an answer.
#[derive(Clone)]
struct MetadataServer {
    base: String,
    port: u16,
    answers: Arc<Mutex<HashMap<String, Answer>>>,
    hits: Arc<Mutex<usize>>,
}

impl MetadataServer {
    /// On its own thread and runtime: the tests block their own runtime while the real binary
    /// (`cli`) fetches from this server.
    async fn start() -> MetadataServer {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        std_listener.set_nonblocking(true).unwrap();
        let port = std_listener.local_addr().unwrap().port();
        let server = MetadataServer {
            base: format!("http://127.0.0.1:{port}"),
            port,
            answers: Arc::default(),
            hits: Arc::default(),
        };
        let s = server.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(std_listener).unwrap();
                loop {
                    let Ok((conn, _)) = listener.accept().await else { return };
                    tokio::spawn(s.clone().answer(conn));
                }
            });
        });
        server
    }

    fn set(&self, path: &str, answer: Answer) {
        self.answers.lock().unwrap().insert(path.to_string(), answer);
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn hits(&self) -> usize {
        *self.hits.lock().unwrap()
    }

    async fn answer(self, mut conn: tokio::net::TcpStream) {
        let mut request = Vec::new();
        let mut buf = [0u8; 1024];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            match conn.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => request.extend_from_slice(&buf[..n]),
            }
        }
        *self.hits.lock().unwrap() += 1;
        let text = String::from_utf8_lossy(&request).to_string();
        let path = text.split_whitespace().nth(1).unwrap_or("/").to_string();
        let answer = self.answers.lock().unwrap().get(&path).cloned().unwrap_or(Answer::Status(404));
        let head = |status: &str, extra: &str| {
            format!(
                "HTTP/1.1 {status}\r\nContent-Type: application/samlmetadata+xml\r\nConnection: close\r\n{extra}\r\n"
            )
        };
        let _ = match answer {
            Answer::Xml(body) => {
                conn.write_all(
                    format!("{}{body}", head("200 OK", &format!("Content-Length: {}\r\n", body.len()))).as_bytes(),
                )
                .await
            }
            Answer::Redirect(to) => {
                conn.write_all(head("302 Found", &format!("Location: {to}\r\nContent-Length: 0\r\n")).as_bytes()).await
            }
            Answer::Status(code) => {
                conn.write_all(head(&format!("{code} Nope"), "Content-Length: 0\r\n").as_bytes()).await
            }
            Answer::Slow => {
                let _ = conn.write_all(head("200 OK", "Content-Length: 100\r\n").as_bytes()).await;
                tokio::time::sleep(Duration::from_secs(60)).await;
                Ok(())
            }
            Answer::Huge | Answer::HugeAnnounced => {
                let total = 2 * 1024 * 1024;
                let extra = if matches!(answer, Answer::HugeAnnounced) {
                    format!("Content-Length: {total}\r\n")
                } else {
                    String::new()
                };
                let _ = conn.write_all(head("200 OK", &extra).as_bytes()).await;
                let chunk = vec![b' '; 64 * 1024];
                for _ in 0..total / chunk.len() {
                    if conn.write_all(&chunk).await.is_err() {
                        break;
                    }
                }
                Ok(())
            }
        };
        let _ = conn.shutdown().await;
    }
}

/// The metadata `app`'s IdP would publish, signed with `key` (and `key2` during a rollover).
fn metadata_for(app: &TestApp, key: &KeyPair, key2: Option<&KeyPair>) -> String {
    match key2 {
        None => idp_metadata("jumpcloud.xml", &app.idp_entity_id, &app.idp_sso_url, key, None),
        Some(k2) => idp_metadata("entra.xml", &app.idp_entity_id, &app.idp_sso_url, key, Some(k2)),
    }
}

/// Enveloped signature over the root EntityDescriptor, made by the xmlsec1 tool with `key`.
fn xmlsec1_signed_metadata(xml: &str, key: &KeyPair) -> String {
    let body = xml.trim_start_matches(r#"<?xml version="1.0" encoding="UTF-8"?>"#).trim_start();
    let root_end = body.find('>').unwrap();
    let template = r##"<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/><ds:Reference URI="#_metadata1"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/><ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue/></ds:Reference></ds:SignedInfo><ds:SignatureValue/><ds:KeyInfo><ds:X509Data/></ds:KeyInfo></ds:Signature>"##;
    let unsigned = format!(r#"{} ID="_metadata1">{template}{}"#, &body[..root_end], &body[root_end + 1..]);
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (dir.path().join("in.xml"), dir.path().join("out.xml"));
    std::fs::write(&input, unsigned).unwrap();
    let out = std::process::Command::new("xmlsec1")
        .arg("--sign")
        .arg("--privkey-pem")
        .arg(format!("{},{}", key.key_path.display(), key.cert_path.display()))
        .args(["--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:metadata:EntityDescriptor"])
        .arg("--output")
        .arg(&output)
        .arg(&input)
        .output()
        .expect("xmlsec1 must be installed (Debian package xmlsec1)");
    assert!(out.status.success(), "xmlsec1 --sign: {}", String::from_utf8_lossy(&out.stderr));
    std::fs::read_to_string(output).unwrap()
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// `spconnect idp import SSO --url URL --allow-http --allow-private [more]` on the app's data.
fn import_url(app: &TestApp, url: &str, more: &[&str]) -> (bool, String, String) {
    let id = app.sso_id().to_string();
    let mut args = vec!["idp", "import", id.as_str(), "--url", url, "--allow-http", "--allow-private"];
    args.extend_from_slice(more);
    cli(app.data_dir(), &args)
}

async fn stored_metadata(app: &TestApp) -> (Option<String>, Option<String>) {
    let c = app.svc.store.get_sso(app.sso_id()).await.unwrap().unwrap();
    let url = app.svc.store.get_idp_source(app.sso_id()).await.unwrap().and_then(|s| s.url);
    (c.idp_metadata, url)
}

/// A login for `email` signed (by xmlsec1) with `key`: the ACS's status and reason code.
async fn login_with(app: &TestApp, key: &KeyPair, email: &str) -> (u16, Option<String>) {
    let res = app.post_acs(&app.spec(email).signed_b64(key), None).await;
    if res.status() == 303 {
        return (303, None);
    }
    let (status, code) = crate::support::reason_code(res).await;
    (status, Some(code))
}

#[tokio::test]
async fn import_by_url_stores_the_metadata_and_remembers_the_url_and_files_still_import() {
    let app = TestApp::spawn().await;
    let idp = MetadataServer::start().await;
    let new_key = keys::generate("idp.example.net 2");
    idp.set("/metadata", Answer::Xml(metadata_for(&app, &new_key, None)));
    let (ok, out, err) = import_url(&app, &idp.url("/metadata"), &[]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("imported IdP https://idp.example.net/saml2/idp"), "{out}");
    assert!(out.contains("next refresh due"), "{out}");
    let (xml, url) = stored_metadata(&app).await;
    assert_eq!(url.as_deref(), Some(idp.url("/metadata").as_str()));
    assert!(xml.unwrap().contains(&new_key.cert_b64()), "the fetched metadata is the one stored");
    let (ok, out, _) = cli(app.data_dir(), &["idp", "status", &app.sso_id().to_string(), "--json"]);
    assert!(ok);
    let status: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(status["source"]["url"], idp.url("/metadata"));
    assert_eq!(status["source"]["allow_private"], true);
    let next = status["source"]["next_refresh_at"].as_i64().unwrap();
    assert!((now() + 3_500..=now() + 86_500).contains(&next), "next refresh within the default bounds: {next}");
    // The new key signs logins now.
    assert_eq!(login_with(&app, &new_key, ALICE).await.0, 303);

    // A file import still works (positional and --file) and ends the URL refreshes.
    let file = app.data_dir().join("idp.xml");
    std::fs::write(&file, metadata_for(&app, &app.idp_key, None)).unwrap();
    let id = app.sso_id().to_string();
    for args in [
        vec!["idp", "import", &id, file.to_str().unwrap()],
        vec!["idp", "import", &id, "--file", file.to_str().unwrap()],
    ] {
        let (ok, out, err) = cli(app.data_dir(), &args);
        assert!(ok, "{args:?}: {out}{err}");
        assert!(out.contains("imported IdP"), "{out}");
    }
    assert_eq!(stored_metadata(&app).await.1, None, "a file import is not refreshed from the old URL");
    let (ok, _, err) = cli(app.data_dir(), &["idp", "refresh", &id]);
    assert!(!ok);
    assert!(err.contains("has no metadata URL to refresh from"), "{err}");
    // Both forms of the source at once are refused by the command line.
    let (ok, _, err) = cli(app.data_dir(), &["idp", "import", &id, "--file", "x.xml", "--url", "https://a.example/"]);
    assert!(!ok && err.contains("cannot be used with"), "{err}");
}

#[tokio::test]
async fn refused_fetches_say_why_and_store_nothing() {
    let app = TestApp::spawn().await;
    let idp = MetadataServer::start().await;
    let good = metadata_for(&app, &keys::generate("other"), None);
    idp.set("/good", Answer::Xml(good.clone()));
    idp.set("/huge", Answer::Huge);
    idp.set("/huge-announced", Answer::HugeAnnounced);
    idp.set("/to-file", Answer::Redirect("file:///etc/passwd".into()));
    idp.set("/to-metadata-service", Answer::Redirect("http://169.254.169.254/latest/meta-data/".into()));
    idp.set("/to-mapped-metadata-service", Answer::Redirect("http://[::ffff:a9fe:a9fe]/latest/".into()));
    idp.set("/to-credentials", Answer::Redirect(format!("http://user:pw@127.0.0.1:{}/good", idp.port)));
    idp.set("/to-gopher", Answer::Redirect("gopher://127.0.0.1:70/".into()));
    for i in 1..=4 {
        idp.set(&format!("/hop{i}"), Answer::Redirect(format!("/hop{}", i + 1)));
    }
    idp.set("/hop5", Answer::Xml(good.clone()));
    idp.set("/slow", Answer::Slow);
    idp.set("/error", Answer::Status(500));
    let expired =
        good.replacen("<md:EntityDescriptor ", r#"<md:EntityDescriptor validUntil="2020-01-01T00:00:00Z" "#, 1);
    idp.set("/expired", Answer::Xml(expired));
    let expired_outer = format!(
        r#"<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" validUntil="2021-06-01T00:00:00Z">{}</md:EntitiesDescriptor>"#,
        good.trim_start_matches(r#"<?xml version="1.0" encoding="UTF-8"?>"#)
    );
    idp.set("/expired-outer", Answer::Xml(expired_outer));
    let doctype = good.replacen(
        "<md:EntityDescriptor",
        "<!DOCTYPE md:EntityDescriptor [<!ENTITY x \"y\">]><md:EntityDescriptor",
        1,
    );
    idp.set("/doctype", Answer::Xml(doctype));
    idp.set("/not-metadata", Answer::Xml("<html><body>Sign in</body></html>".into()));
    let port = idp.port;
    let before = stored_metadata(&app).await;
    let loopback = |path: &str| format!("http://127.0.0.1:{port}{path}");
    let only_http = ["--allow-http"];
    let cases: Vec<(&str, String, &[&str], &str)> = vec![
        (
            "plain http without --allow-http",
            loopback("/good"),
            &[],
            "is plain http://; metadata is fetched over https:// only",
        ),
        ("loopback without --allow-private", loopback("/good"), &only_http, "127.0.0.1 is a loopback address"),
        (
            "a name resolving to loopback",
            format!("http://localhost:{port}/good"),
            &only_http,
            "localhost resolves to 127.0.0.1 which is a loopback address",
        ),
        ("a decimal IP host", format!("http://2130706433:{port}/good"), &only_http, "127.0.0.1 is a loopback address"),
        ("an octal IP host", format!("http://0177.0.0.1:{port}/good"), &only_http, "127.0.0.1 is a loopback address"),
        (
            "an IPv4-mapped IPv6 host",
            format!("http://[::ffff:127.0.0.1]:{port}/good"),
            &only_http,
            "is a loopback address",
        ),
        ("IPv6 loopback", format!("http://[::1]:{port}/good"), &only_http, "::1 is a loopback address"),
        (
            "the cloud metadata address",
            "https://169.254.169.254/latest/meta-data/".into(),
            &[],
            "169.254.169.254 is a link-local address",
        ),
        ("a file URL", "file:///etc/passwd".into(), &[], "the \"file\" scheme is not fetched"),
    ];
    let id = app.sso_id().to_string();
    for (name, url, flags, want) in cases {
        let mut args = vec!["idp", "import", id.as_str(), "--url", url.as_str()];
        args.extend_from_slice(flags);
        let (ok, out, err) = cli(app.data_dir(), &args);
        assert!(!ok, "{name}: accepted: {out}");
        assert!(err.contains("The metadata was not accepted") && err.contains(want), "{name}: {err}");
        assert_eq!(stored_metadata(&app).await, before, "{name}: nothing stored");
    }
    let hits_before = idp.hits();
    let with_allowances: Vec<(&str, &str, &str)> = vec![
        ("oversize, streamed", "/huge", "the metadata is larger than 1048576 bytes"),
        ("oversize, announced", "/huge-announced", "the metadata is larger than 1048576 bytes"),
        ("redirect to a file URL", "/to-file", "a redirect was refused: the \"file\" scheme is not fetched"),
        ("redirect to gopher", "/to-gopher", "a redirect was refused: the \"gopher\" scheme is not fetched"),
        ("a redirect chain", "/hop1", "more than 3 redirects"),
        (
            "redirect to the cloud metadata service",
            "/to-metadata-service",
            "a redirect was refused: 169.254.169.254 is a link-local address",
        ),
        (
            "redirect to the metadata service as IPv4-mapped IPv6",
            "/to-mapped-metadata-service",
            "a redirect was refused: ::ffff:169.254.169.254 is a link-local address",
        ),
        ("redirect with credentials", "/to-credentials", "a URL with a user name or password is not fetched"),
        ("an error status", "/error", "the IdP answered HTTP 500"),
        (
            "an expired validUntil",
            "/expired",
            "the metadata expired: its validUntil (2020-01-01T00:00:00+00:00) has passed",
        ),
        (
            "an expired enclosing EntitiesDescriptor",
            "/expired-outer",
            "its validUntil (2021-06-01T00:00:00+00:00) has passed",
        ),
        ("a DOCTYPE", "/doctype", "DOCTYPE or entity declaration"),
        ("not metadata", "/not-metadata", "no IDPSSODescriptor found"),
    ];
    for (name, path, want) in with_allowances {
        let (ok, out, err) = import_url(&app, &idp.url(path), &[]);
        assert!(!ok, "{name}: accepted: {out}");
        assert!(err.contains("The metadata was not accepted") && err.contains(want), "{name}: {err}");
        assert_eq!(stored_metadata(&app).await, before, "{name}: nothing stored");
    }
    assert!(idp.hits() > hits_before, "the allowed fetches did reach the server");
    let started = Instant::now();
    let (ok, _, err) = import_url(&app, &idp.url("/slow"), &[]);
    let took = started.elapsed();
    assert!(!ok && err.contains("the IdP did not answer within 10 seconds"), "{err}");
    assert!(took < Duration::from_secs(15), "a slow IdP is cut off: {took:?}");
    assert_eq!(stored_metadata(&app).await, before, "slow: nothing stored");
    // Nothing was audited as an import.
    let (_, out, _) = cli(app.data_dir(), &["audit", "--action", "idp.import_url", "--json"]);
    assert_eq!(serde_json::from_str::<serde_json::Value>(&out).unwrap(), serde_json::json!([]));
}

#[tokio::test]
async fn comments_are_accepted_in_metadata_but_not_in_responses() {
    let app = TestApp::spawn().await;
    let idp = MetadataServer::start().await;
    let key = keys::generate("shibboleth idp");
    let shibboleth = metadata_for(&app, &key, None)
        .replacen(
            "<md:IDPSSODescriptor",
            "<!-- This is example metadata only. Do *NOT* supply it as is. --><md:IDPSSODescriptor",
            1,
        )
        .replacen("<md:KeyDescriptor", "<!-- The signing key --><md:KeyDescriptor", 1)
        .replacen("</md:IDPSSODescriptor>", "<!-- end --></md:IDPSSODescriptor>", 1);
    idp.set("/shibboleth", Answer::Xml(shibboleth.clone()));
    let (ok, out, err) = import_url(&app, &idp.url("/shibboleth"), &[]);
    assert!(ok, "{out}{err}");
    let file = app.data_dir().join("shib.xml");
    std::fs::write(&file, &shibboleth).unwrap();
    let (ok, out, err) =
        cli(app.data_dir(), &["idp", "import", &app.sso_id().to_string(), "--file", file.to_str().unwrap()]);
    assert!(ok, "{out}{err}");
    // A response with a comment is still refused.
    let signed = app.spec(ALICE).signed_xml(&key);
    let with_comment = signed.replacen("<saml:Issuer>", "<saml:Issuer><!-- x -->", 1);
    let res = app.post_acs(&crate::support::xmlsec::b64(&with_comment), None).await;
    let (status, code) = crate::support::reason_code(res).await;
    assert_eq!((status, code.as_str()), (400, "SAML_XML_COMMENT_FORBIDDEN"));
}

#[tokio::test]
async fn a_refresh_that_adds_a_signing_certificate_trusts_it_and_audits_the_change() {
    let app = TestApp::spawn().await;
    let idp = MetadataServer::start().await;
    idp.set("/metadata", Answer::Xml(metadata_for(&app, &app.idp_key, None)));
    let (ok, out, err) = import_url(&app, &idp.url("/metadata"), &[]);
    assert!(ok, "{out}{err}");
    // Entra's rollover: the new key is announced next to the old one before it signs.
    let new_key = keys::generate("idp.example.net rollover");
    let (status, code) = login_with(&app, &new_key, "bob@example.com").await;
    assert_eq!((status, code.as_deref()), (403, Some("SAML_SIGNATURE_INVALID")), "not trusted before the refresh");
    idp.set("/metadata", Answer::Xml(metadata_for(&app, &app.idp_key, Some(&new_key))));
    let (ok, out, err) = cli(app.data_dir(), &["idp", "refresh", &app.sso_id().to_string()]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("the signing certificates changed"), "{out}");
    assert_eq!(login_with(&app, &new_key, "bob@example.com").await.0, 303, "trusted after the refresh");
    assert_eq!(
        login_with(&app, &app.idp_key, "bob@example.com").await.0,
        303,
        "the old key is still trusted during the overlap"
    );

    let (ok, out, _) = cli(app.data_dir(), &["audit", "--action", "idp.metadata.certificates_changed", "--json"]);
    assert!(ok);
    let events: serde_json::Value = serde_json::from_str(&out).unwrap();
    let events = events.as_array().unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    let old = idp_refresh::fingerprint(&app.idp_key.cert_der);
    let new = idp_refresh::fingerprint(&new_key.cert_der);
    assert_eq!(events[0]["detail"], format!("old SHA-256: {old}; new SHA-256: {old}, {new}"));
    assert_eq!(events[0]["admin_email"], "cli");
    assert_eq!(events[0]["target"], app.sso_id().to_string());

    // The same metadata again changes nothing and is not audited again.
    let (ok, out, _) = cli(app.data_dir(), &["idp", "refresh", &app.sso_id().to_string()]);
    assert!(ok && !out.contains("changed"), "{out}");
    // The old key retires: only the new one is trusted.
    idp.set("/metadata", Answer::Xml(metadata_for(&app, &new_key, None)));
    assert!(cli(app.data_dir(), &["idp", "refresh", &app.sso_id().to_string()]).0);
    let (status, code) = login_with(&app, &app.idp_key, "bob@example.com").await;
    assert_eq!((status, code.as_deref()), (403, Some("SAML_SIGNATURE_INVALID")));
    let (_, out, _) = cli(app.data_dir(), &["audit", "--action", "idp.metadata.certificates_changed", "--json"]);
    assert_eq!(serde_json::from_str::<serde_json::Value>(&out).unwrap().as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_failed_refresh_keeps_the_last_good_copy_shows_a_banner_and_counts_in_metrics() {
    let app = TestApp::spawn().await;
    let idp = MetadataServer::start().await;
    idp.set("/metadata", Answer::Xml(metadata_for(&app, &app.idp_key, None)));
    let csrf = app.sign_in_admin().await;
    // Import through the console's URL form.
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf.clone())
        .text("url", idp.url("/metadata"))
        .text("allow_http", "on")
        .text("allow_private", "on");
    let res = app
        .client
        .post(app.admin_url(&format!("/admin/sso/{}/idp-url", app.sso_id())))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
    let (_, page) = app.get_html(&format!("/admin/sso/{}?notice=idp-url", app.sso_id())).await;
    assert!(page.contains("imported from its URL"), "{page}");
    assert!(!page.contains("idp-refresh-warning"));
    let good = stored_metadata(&app).await;
    assert_eq!(good.1.as_deref(), Some(idp.url("/metadata").as_str()));

    // The console refuses a URL it may not fetch, with the reason, and keeps what it had.
    let form = reqwest::multipart::Form::new().text("csrf", csrf.clone()).text("url", idp.url("/metadata"));
    let res = app
        .client
        .post(app.admin_url(&format!("/admin/sso/{}/idp-url", app.sso_id())))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("is plain http://; metadata is fetched over https:// only"));
    assert_eq!(stored_metadata(&app).await, good);

    // The IdP breaks: first an error, then a document that is not acceptable metadata.
    for (answer, why) in [
        (Answer::Status(503), "the IdP answered HTTP 503"),
        (
            Answer::Xml(
                "<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" entityID=\"x\"/>".into(),
            ),
            "no IDPSSODescriptor found",
        ),
    ] {
        idp.set("/metadata", answer);
        let res = app.post_form(&format!("/admin/sso/{}/idp-refresh", app.sso_id()), &[("csrf", &csrf)]).await;
        assert_eq!(res.status(), 502);
        let page = res.text().await.unwrap();
        assert!(page.contains(r#"id="idp-refresh-warning""#) && page.contains(why), "{page}");
        assert_eq!(stored_metadata(&app).await, good, "the last good copy stays");
    }
    let (_, view) = app.get_html(&format!("/admin/sso/{}", app.sso_id())).await;
    assert!(view.contains(r#"id="idp-refresh-warning""#), "banner on the configuration page");
    assert!(view.contains("2 time(s) in a row") && view.contains("The last good metadata stays in use"), "{view}");
    // Logins keep working with the last good metadata.
    assert_eq!(login_with(&app, &app.idp_key, ALICE).await.0, 303);
    let metrics = app.client.get(format!("{}/metrics", app.base)).send().await.unwrap().text().await.unwrap();
    let failures = format!("spconnect_idp_metadata_refresh_failures_total{{sso_id=\"{}\"}} 2", app.sso_id());
    assert!(metrics.contains(&failures), "{metrics}");
    assert!(metrics.contains("spconnect_idp_metadata_stale_configurations 1"), "{metrics}");
    // The status command tells the same.
    let (ok, out, _) = cli(app.data_dir(), &["idp", "status", &app.sso_id().to_string()]);
    assert!(ok && out.contains("warning: the last refresh failed (2 time(s) in a row)"), "{out}");

    // The IdP recovers: the banner and the gauge clear.
    idp.set("/metadata", Answer::Xml(metadata_for(&app, &app.idp_key, None)));
    let res = app.post_form(&format!("/admin/sso/{}/idp-refresh", app.sso_id()), &[("csrf", &csrf)]).await;
    assert_eq!(res.status(), 303);
    let (_, view) = app.get_html(&format!("/admin/sso/{}", app.sso_id())).await;
    assert!(!view.contains("idp-refresh-warning"), "{view}");
    let metrics = app.client.get(format!("{}/metrics", app.base)).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("spconnect_idp_metadata_stale_configurations 0"), "{metrics}");
    // The refresh form needs the session's CSRF token like every other form.
    let res = app.post_form(&format!("/admin/sso/{}/idp-refresh", app.sso_id()), &[("csrf", "wrong")]).await;
    assert_eq!(res.status(), 403);
}

#[tokio::test]
async fn a_pinned_certificate_requires_a_valid_metadata_signature() {
    let app = TestApp::spawn().await;
    let idp = MetadataServer::start().await;
    let signer = keys::generate("metadata signer");
    let other = keys::generate("someone else");
    let plain = metadata_for(&app, &app.idp_key, None);
    let signed = xmlsec1_signed_metadata(&plain, &signer);
    // The verifier agrees with xmlsec1 on its own signature.
    let verified = std::process::Command::new("xmlsec1")
        .args(["--verify", "--pubkey-cert-pem"])
        .arg(&signer.cert_path)
        .args(["--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:metadata:EntityDescriptor"])
        .arg({
            let p = app.data_dir().join("signed.xml");
            std::fs::write(&p, &signed).unwrap();
            p
        })
        .output()
        .unwrap();
    assert!(verified.status.success(), "{}", String::from_utf8_lossy(&verified.stderr));
    idp.set("/plain", Answer::Xml(plain.clone()));
    idp.set("/signed", Answer::Xml(signed.clone()));
    idp.set("/signed-by-other", Answer::Xml(xmlsec1_signed_metadata(&plain, &other)));
    let tampered = signed.replacen("https://idp.example.net/saml2/sso", "https://evil.example/sso", 1);
    assert_ne!(tampered, signed);
    idp.set("/tampered", Answer::Xml(tampered));
    let pin = signer.cert_path.to_str().unwrap();
    let before = stored_metadata(&app).await;
    for (path, want) in [
        ("/plain", "not signed by the pinned certificate: the document carries no signature on its root element"),
        ("/signed-by-other", "the signature does not verify with the pinned certificate's key"),
        ("/tampered", "the signature does not verify with the pinned certificate's key"),
    ] {
        let (ok, out, err) = import_url(&app, &idp.url(path), &["--pin-cert", pin]);
        assert!(!ok, "{path}: {out}");
        assert!(err.contains(want), "{path}: {err}");
        assert_eq!(stored_metadata(&app).await, before, "{path}: nothing stored, nothing pinned");
    }
    assert!(app.svc.store.get_idp_source(app.sso_id()).await.unwrap().is_none_or(|s| s.pin_cert.is_none()));
    let (ok, out, err) = import_url(&app, &idp.url("/signed"), &["--pin-cert", pin]);
    assert!(ok, "{out}{err}");
    let (_, out, _) = cli(app.data_dir(), &["idp", "status", &app.sso_id().to_string()]);
    assert!(out.contains(&idp_refresh::fingerprint(&signer.cert_der)), "{out}");
    // The pin holds for refreshes: unsigned metadata is refused and the signed copy stays.
    idp.set("/signed", Answer::Xml(plain.clone()));
    let (ok, _, err) = cli(app.data_dir(), &["idp", "refresh", &app.sso_id().to_string()]);
    assert!(!ok && err.contains("not signed by the pinned certificate"), "{err}");
    assert_eq!(stored_metadata(&app).await.0.as_deref(), Some(signed.as_str()));
    // …and for file imports.
    let file = app.data_dir().join("plain.xml");
    std::fs::write(&file, &plain).unwrap();
    let (ok, _, err) = cli(app.data_dir(), &["idp", "import", &app.sso_id().to_string(), file.to_str().unwrap()]);
    assert!(!ok && err.contains("not signed by the pinned certificate"), "{err}");
    // Until the admin removes the pin.
    let (ok, out, err) =
        cli(app.data_dir(), &["idp", "import", &app.sso_id().to_string(), file.to_str().unwrap(), "--unpin"]);
    assert!(ok, "{out}{err}");
    let (_, out, _) = cli(app.data_dir(), &["audit", "--action", "idp.metadata.", "--json"]);
    let actions: Vec<String> = serde_json::from_str::<Vec<serde_json::Value>>(&out)
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect();
    assert!(
        actions.contains(&"idp.metadata.pin".to_string()) && actions.contains(&"idp.metadata.unpin".to_string()),
        "{actions:?}"
    );
}

#[tokio::test]
async fn one_instance_claims_a_due_refresh() {
    let app = TestApp::spawn().await;
    let idp = MetadataServer::start().await;
    idp.set("/metadata", Answer::Xml(metadata_for(&app, &app.idp_key, None)));
    let imp = UrlImport { url: &idp.url("/metadata"), allow_http: true, allow_private: true };
    idp_refresh::import_from_url(&app.svc, &Actor::Cli, app.sso_id(), imp, PinChange::Keep, now()).await.unwrap();
    let source = app.svc.store.get_idp_source(app.sso_id()).await.unwrap().unwrap();
    let due = source.next_refresh_at.unwrap();
    let store = &app.svc.store;
    // Not due yet: nobody claims it.
    assert!(!store.claim_idp_refresh(app.sso_id(), due - 10, 0, due + 100).await.unwrap());
    // Due: of eight claims at once, exactly one wins.
    let claims = futures_claims(store, app.sso_id(), due).await;
    assert_eq!(claims.iter().filter(|c| **c).count(), 1, "{claims:?}");
    // The lease holds until it runs out.
    assert!(!store.claim_idp_refresh(app.sso_id(), due + 50, 0, due + 200).await.unwrap());
    assert!(store.claim_idp_refresh(app.sso_id(), due + 100, 0, due + 200).await.unwrap());
}

async fn futures_claims(store: &spconnect::store::Store, sso_id: i64, due: i64) -> Vec<bool> {
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move { store.claim_idp_refresh(sso_id, due, 0, due + 100).await.unwrap() }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

#[tokio::test]
async fn the_schedule_refreshes_inside_a_running_serve() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out, err) = cli(dir.path(), &["sso", "create", "--name", "Example", "--domain", "example.com"]);
    assert!(ok, "{out}{err}");
    let sso_id = out.trim().to_string();
    let idp = MetadataServer::start().await;
    let (key, new_key) = (keys::generate("idp one"), keys::generate("idp two"));
    let md = |k2: Option<&KeyPair>| match k2 {
        None => idp_metadata("jumpcloud.xml", "https://idp.example.net/i", "https://idp.example.net/sso", &key, None),
        Some(k2) => {
            idp_metadata("entra.xml", "https://idp.example.net/i", "https://idp.example.net/sso", &key, Some(k2))
        }
    };
    idp.set("/metadata", Answer::Xml(md(None)));
    let (ok, out, err) =
        cli(dir.path(), &["idp", "import", &sso_id, "--url", &idp.url("/metadata"), "--allow-http", "--allow-private"]);
    assert!(ok, "{out}{err}");
    idp.set("/metadata", Answer::Xml(md(Some(&new_key))));
    let hits = idp.hits();
    let (mut server, _base) =
        serve_http_with(dir.path(), &["--idp-refresh-min-secs", "1", "--idp-refresh-max-secs", "2"], &[]);
    let until = Instant::now() + Duration::from_secs(20);
    let changed = loop {
        let (_, out, _) = cli(dir.path(), &["audit", "--action", "idp.metadata.certificates_changed", "--json"]);
        let events: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
        if let Some(e) = events.first() {
            break e.clone();
        }
        assert!(Instant::now() < until, "no scheduled refresh within 20 s: {}", server.log());
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(changed["admin_email"], idp_refresh::SCHEDULER);
    assert!(changed["detail"].as_str().unwrap().contains(&idp_refresh::fingerprint(&new_key.cert_der)));
    assert!(idp.hits() > hits);
    // It keeps going on its schedule (every 1–2 s here), and a failure is logged as a warning.
    idp.set("/metadata", Answer::Status(500));
    let until = Instant::now() + Duration::from_secs(20);
    while !server.log().contains("IdP metadata refresh failed; the last good metadata stays in use") {
        assert!(Instant::now() < until, "no failed refresh logged: {}", server.log());
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(server.stdout().contains("idp_refresh_max_secs            = 2  (flag)"), "{}", server.stdout());
    let log = server.stop();
    assert!(log.contains("IdP metadata refreshed"), "{log}");
    let (_, out, _) = cli(dir.path(), &["idp", "status", &sso_id, "--json"]);
    let status: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(status["source"]["last_error"], "the IdP answered HTTP 500");
}
