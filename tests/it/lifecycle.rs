//! The first year in production, against real processes: SP key rollover with a live pysaml2
//! IdP encrypting to our certificates (zero failed logins through every step), bring-your-own
//! SP and HTTPS certificates (PEM and PKCS#12 from the `openssl` tool), configurations turned
//! off, on and deleted, the IdM (SCIM) connection deactivated, and expired IdP certificates no
//! longer trusted.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use spconnect::store::SpKeyRole;

use crate::support::keys::{self, KeyPair};
use crate::support::pysaml2::{self, scrape_form, LiveIdp, SignOptions};
use crate::support::{cli, reason_code, spconnect, TestApp, ALICE};

/// The X509Certificate elements of SP metadata, in order.
fn published_certs(metadata: &str) -> Vec<String> {
    metadata
        .split("<ds:X509Certificate>")
        .skip(1)
        .filter_map(|s| s.split("</ds:X509Certificate>").next())
        .map(str::to_string)
        .collect()
}

async fn sp_metadata(app: &TestApp) -> String {
    let res = app.client.get(app.entity_id()).send().await.unwrap();
    assert_eq!(res.status(), 200);
    res.text().await.unwrap()
}

/// What the IdP knows of us: a snapshot of our metadata, re-read by the IdP on every request.
fn idp_view(app: &TestApp, metadata: &str) -> PathBuf {
    let path = app.data_dir().join("idp-view-of-sp.xml");
    std::fs::write(&path, metadata).unwrap();
    path
}

/// An SP-initiated login through the live IdP, ending in the vault as Dana; then signed out.
async fn login_through(app: &TestApp, idp: &LiveIdp, step: &str) {
    let (_, location) = app.start_login().await;
    let page = app.client.get(&location).send().await.unwrap();
    let status = page.status();
    let html = page.text().await.unwrap();
    assert_eq!(status, 200, "{step}: the IdP refused our AuthnRequest: {html}\n{}", idp.log());
    let (action, response, relay) = scrape_form(&html);
    let mut form = vec![("SAMLResponse", response)];
    if let Some(r) = relay {
        form.push(("RelayState", r));
    }
    let res = app.client.post(action).form(&form).send().await.unwrap();
    let res = app.follow_continuation(res).await;
    if res.status() != 303 {
        let (status, code) = reason_code(res).await;
        panic!("{step}: login refused with {status} {code}");
    }
    assert_eq!(app.whoami().await.as_deref(), Some("dana@example.com"), "{step}");
    let out = app.client.post(format!("{}/logout", app.base)).send().await.unwrap();
    assert!(out.status().is_redirection(), "{step}: logout");
    assert_eq!(app.whoami().await, None, "{step}: signed out");
}

fn rollover(app: &TestApp, extra: &[&str]) -> String {
    let id = app.sso_id().to_string();
    let mut args = vec!["sso", "rollover", id.as_str()];
    args.extend_from_slice(extra);
    let (ok, out, err) = cli(app.data_dir(), &args);
    assert!(ok, "sso rollover {extra:?}: {err}");
    out
}

/// The live IdP's own key pair (its working directory), for one-shot signing with pysaml2.
fn live_idp_key(idp: &LiveIdp) -> KeyPair {
    let dir = idp.workdir.path();
    let cert_pem = std::fs::read(dir.join("idp.crt")).unwrap();
    let cert_der = openssl::x509::X509::from_pem(&cert_pem).unwrap().to_der().unwrap();
    KeyPair {
        key_path: dir.join("idp.key"),
        cert_path: dir.join("idp.crt"),
        cert_der,
        _dir: std::sync::Arc::new(tempfile::tempdir().unwrap()),
    }
}

/// An unsolicited response from the live IdP's key, its assertion encrypted to the one SP
/// certificate in `sp_metadata` (pysaml2, one-shot).
fn encrypted_to(app: &TestApp, idp: &LiveIdp, idp_entity_id: &str, sp_metadata: &str, email: &str) -> String {
    let path = app.data_dir().join(format!("one-cert-{}.xml", rand_suffix()));
    std::fs::write(&path, sp_metadata).unwrap();
    let opts = SignOptions {
        email,
        in_response_to: None,
        sign_assertion: true,
        sign_response: false,
        encrypt: true,
        data_enc: Some("aes256-gcm"),
        key_transport: None,
    };
    pysaml2::sign(&live_idp_key(idp), idp_entity_id, &path, &opts)
}

fn rand_suffix() -> u32 {
    let mut b = [0u8; 4];
    openssl::rand::rand_bytes(&mut b).unwrap();
    u32::from_le_bytes(b)
}

/// Our metadata with only `cert_b64` published (what an IdP that picked that certificate uses).
fn metadata_with_only(app: &TestApp, cert_b64: &str) -> String {
    let urls = app.svc.urls(app.sso_id());
    spconnect::saml::sp_metadata::render(&urls, &[cert_b64.to_string()], "spconnect: Example")
}

async fn audit_actions(app: &TestApp, prefix: &str) -> Vec<String> {
    let mut actions: Vec<String> =
        app.svc.store.list_audit(Some(prefix), 50).await.unwrap().into_iter().map(|e| e.action).collect();
    actions.reverse();
    actions
}

#[tokio::test]
async fn sp_key_rollover_with_a_live_idp_encrypting_to_our_certificates_fails_no_login() {
    let app = TestApp::spawn().await;
    let m0 = sp_metadata(&app).await;
    let cert_a = published_certs(&m0)[0].clone();
    let view = idp_view(&app, &m0);
    let idp = LiveIdp::start(view.to_str().unwrap(), &["--encrypt-assertion", "--data-enc", "aes256-gcm"]);
    let idp_xml = idp.metadata();
    let parsed = spconnect::saml::idp_metadata::parse(&idp_xml).unwrap();
    let idp_entity_id = parsed.entity_id.clone();
    app.svc.store.set_idp(app.sso_id(), &parsed, &idp_xml, 0).await.unwrap();
    let set_user = format!("{}/set-user?email=dana@example.com&first=Dana&last=Live", idp.base);
    assert_eq!(app.client.get(set_user).send().await.unwrap().status(), 200);

    login_through(&app, &idp, "before the rollover").await;

    // Step 1: the next key pair is published beside the current one.
    let out = rollover(&app, &[]);
    assert!(out.contains("--activate"), "{out}");
    let m1 = sp_metadata(&app).await;
    let certs = published_certs(&m1);
    assert_eq!(certs.len(), 4, "two certificates, each for signing and for encryption: {m1}");
    assert_eq!(certs[0], cert_a, "the active certificate stays first");
    let cert_b = certs.iter().find(|c| **c != cert_a).unwrap().clone();
    login_through(&app, &idp, "rollover begun, IdP still on the old metadata").await;
    idp_view(&app, &m1);
    login_through(&app, &idp, "rollover begun, IdP re-read the metadata").await;
    // An IdP that picked the next certificate for encryption is decrypted too.
    let to_b = encrypted_to(&app, &idp, &idp_entity_id, &metadata_with_only(&app, &cert_b), ALICE);
    let res = app.post_acs(&to_b, None).await;
    assert_eq!(res.status(), 303, "encrypted to the next key: {:?}", reason_code(res).await);
    app.client.post(format!("{}/logout", app.base)).send().await.unwrap();

    // Step 2: the new key signs; the IdP (still on m1) verifies our AuthnRequest with it and
    // still encrypts to the old certificate, which decrypts as the previous key.
    rollover(&app, &["--activate"]);
    let m2 = sp_metadata(&app).await;
    assert_eq!(published_certs(&m2), vec![cert_b.clone(), cert_b.clone()], "only the new key is published");
    login_through(&app, &idp, "activated, IdP still encrypting to the old certificate").await;
    idp_view(&app, &m2);
    login_through(&app, &idp, "activated, IdP re-read the metadata").await;

    // Step 3: the old key is gone; what is encrypted to it is refused like any undecryptable
    // assertion, and logins go on.
    rollover(&app, &["--retire"]);
    login_through(&app, &idp, "old key retired").await;
    let to_a = encrypted_to(&app, &idp, &idp_entity_id, &m0, "late@example.com");
    let (status, code) = reason_code(app.post_acs(&to_a, None).await).await;
    assert_eq!((status, code.as_str()), (403, "SAML_DECRYPTION_FAILED"));

    let steps = audit_actions(&app, "sp_key_").await;
    assert_eq!(steps, ["sp_key_rollover", "sp_key_activate", "sp_key_retire"]);
    let keys = app.svc.store.sp_keys_of(app.sso_id()).await.unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].role, SpKeyRole::Active);
    assert!(keys[0].activated_at.is_some());
    // `sso keys` shows the state and when each step happened.
    let (ok, listing, err) = cli(app.data_dir(), &["sso", "keys", &app.sso_id().to_string()]);
    assert!(ok, "{err}");
    assert!(listing.starts_with("active ") && listing.contains("activated "), "{listing}");
}

#[tokio::test]
async fn rollover_steps_out_of_order_are_refused_and_change_nothing() {
    let app = TestApp::spawn().await;
    let id = app.sso_id().to_string();
    for (args, why) in [
        (vec!["sso", "rollover", id.as_str(), "--activate"], "no next SP key"),
        (vec!["sso", "rollover", id.as_str(), "--retire"], "no previous SP key"),
    ] {
        let (ok, _, err) = cli(app.data_dir(), &args);
        assert!(!ok && err.contains(why), "{args:?}: {err}");
    }
    rollover(&app, &[]);
    let (ok, _, err) = cli(app.data_dir(), &["sso", "rollover", &id]);
    assert!(!ok && err.contains("next SP key already exists"), "{err}");
    rollover(&app, &["--activate"]);
    let (ok, _, err) = cli(app.data_dir(), &["sso", "rollover", &id]);
    assert!(!ok && err.contains("not retired yet"), "{err}");
    let roles: Vec<_> = app.svc.store.sp_keys_of(app.sso_id()).await.unwrap().iter().map(|k| k.role).collect();
    assert_eq!(roles, [SpKeyRole::Active, SpKeyRole::Previous]);
    assert_eq!(audit_actions(&app, "sp_key_").await, ["sp_key_rollover", "sp_key_activate"]);
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl").current_dir(dir).args(args).output().expect("openssl");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A CA-issued-style certificate and key made by the `openssl` tool: (cert.pem, key.pem).
fn openssl_pair(dir: &Path, name: &str, newkey: &[&str]) -> (PathBuf, PathBuf) {
    let (cert, key) = (format!("{name}.crt"), format!("{name}.key"));
    let mut args = vec!["req", "-x509", "-nodes", "-days", "90", "-subj", "/CN=sp.example.com/O=Example"];
    args.extend_from_slice(newkey);
    args.extend_from_slice(&["-keyout", &key, "-out", &cert]);
    openssl(dir, &args);
    (dir.join(cert), dir.join(key))
}

fn sha256_fingerprint(cert: &Path) -> String {
    let out = Command::new("openssl").args(["x509", "-noout", "-fingerprint", "-sha256", "-in"]).arg(cert).output();
    let text = String::from_utf8(out.unwrap().stdout).unwrap();
    text.trim().rsplit('=').next().unwrap().to_string()
}

#[tokio::test]
async fn an_admins_own_sp_certificate_is_imported_as_pem_or_pkcs12_and_refused_when_unusable() {
    let app = TestApp::spawn().await;
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let id = app.sso_id().to_string();
    let (cert, key) = openssl_pair(w, "good", &["-newkey", "rsa:2048"]);
    let (other_cert, _) = openssl_pair(w, "other", &["-newkey", "rsa:2048"]);
    let (weak_cert, weak_key) = openssl_pair(w, "weak", &["-newkey", "rsa:1024"]);
    let (ec_cert, ec_key) = openssl_pair(w, "ec", &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]);
    let expired = keys::generate_valid("old.example.com", 1_600_000_000, 1_650_000_000);
    let path = |p: &Path| p.to_str().unwrap().to_string();
    for (c, k, why) in [
        (path(&other_cert), path(&key), "does not belong to the certificate"),
        (path(&weak_cert), path(&weak_key), "RSA-1024"),
        (path(&ec_cert), path(&ec_key), "must be RSA"),
        (path(&expired.cert_path), path(&expired.key_path), "expired on 2022-04-15"),
    ] {
        let (ok, _, err) = cli(app.data_dir(), &["sso", "rollover", &id, "--cert", &c, "--key", &k]);
        assert!(!ok && err.contains(why), "{c}: {err}");
    }
    let stored = app.svc.store.sp_keys_of(app.sso_id()).await.unwrap();
    assert!(stored.iter().all(|k| k.role == SpKeyRole::Active), "nothing was stored");

    let (ok, _, err) = cli(app.data_dir(), &["sso", "rollover", &id, "--cert", &path(&cert), "--key", &path(&key)]);
    assert!(ok, "{err}");
    let (_, listing, _) = cli(app.data_dir(), &["sso", "keys", &id]);
    let fingerprint = sha256_fingerprint(&cert);
    assert!(listing.contains(&format!("next     {fingerprint}")) && listing.contains("imported"), "{listing}");
    let published = published_certs(&sp_metadata(&app).await);
    let der = openssl::x509::X509::from_pem(&std::fs::read(&cert).unwrap()).unwrap().to_der().unwrap();
    assert!(published.contains(&base64::Engine::encode(&base64::engine::general_purpose::STANDARD, der)));
    rollover(&app, &["--activate"]);
    rollover(&app, &["--retire"]);

    // PKCS#12, as Windows and most CAs hand it out; the password from standard input.
    let (cert2, key2) = openssl_pair(w, "bundle", &["-newkey", "rsa:3072"]);
    openssl(
        w,
        &[
            "pkcs12",
            "-export",
            "-inkey",
            &path(&key2),
            "-in",
            &path(&cert2),
            "-out",
            "sp.p12",
            "-passout",
            "pass:s3cret",
        ],
    );
    let p12 = path(&w.join("sp.p12"));
    let with_stdin = |password: &str| {
        let mut child = spconnect(app.data_dir())
            .args(["sso", "rollover", &id, "--pkcs12", &p12])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child.stdin.take().unwrap().write_all(format!("{password}\n").as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (ok, err) = with_stdin("wrong");
    assert!(!ok && err.contains("password"), "{err}");
    let (ok, err) = with_stdin("s3cret");
    assert!(ok, "{err}");
    let (_, listing, _) = cli(app.data_dir(), &["sso", "keys", &id]);
    assert!(listing.contains(&format!("next     {}", sha256_fingerprint(&cert2))), "{listing}");
    // The imported key signs from now on, and logins go on.
    rollover(&app, &["--activate"]);
    let res = app.post_acs(&app.spec(ALICE).signed_b64(&app.idp_key), None).await;
    assert_eq!(res.status(), 303);
}

#[tokio::test]
async fn an_imported_https_certificate_is_what_serve_presents() {
    let dir = tempfile::tempdir().unwrap();
    let w = dir.path().join("work");
    std::fs::create_dir_all(&w).unwrap();
    let (cert, key) = openssl_pair(&w, "tls", &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]);
    let (other, _) = openssl_pair(&w, "tls-other", &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]);
    let c = |p: &Path| p.to_str().unwrap().to_string();
    let (ok, _, err) = cli(dir.path(), &["tls", "import", "--cert", &c(&other), "--key", &c(&key)]);
    assert!(!ok && err.contains("does not belong"), "{err}");
    assert!(!dir.path().join("certs/tls.key").exists(), "nothing was installed");
    let (ok, out, err) = cli(dir.path(), &["tls", "import", "--cert", &c(&cert), "--key", &c(&key)]);
    assert!(ok, "{err}");
    assert!(out.contains(&sha256_fingerprint(&cert)), "{out}");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir.path().join("certs/tls.key")).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    let mut server = spconnect(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let port = {
        use std::io::BufRead;
        let mut reader = std::io::BufReader::new(server.stdout.take().unwrap());
        let mut line = String::new();
        while !line.contains("listening on") {
            line.clear();
            assert!(reader.read_line(&mut line).unwrap() > 0, "serve exited");
        }
        line.split("listening on 127.0.0.1:").nth(1).and_then(|r| r.split(',').next()).unwrap().trim().to_string()
    };
    let shown = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "openssl s_client -connect 127.0.0.1:{port} -servername localhost </dev/null 2>/dev/null | \
             openssl x509 -noout -fingerprint -sha256"
        ))
        .output()
        .unwrap();
    let _ = server.kill();
    let _ = server.wait();
    let shown = String::from_utf8_lossy(&shown.stdout).trim().rsplit('=').next().unwrap_or("").to_string();
    assert_eq!(shown, sha256_fingerprint(&cert), "serve presents the imported certificate");
}

#[tokio::test]
async fn a_deactivated_configuration_refuses_every_sign_in_until_it_is_turned_on() {
    let app = TestApp::spawn().await;
    let id = app.sso_id().to_string();
    let (ok, out, err) = cli(app.data_dir(), &["sso", "deactivate", &id]);
    assert!(ok && out.contains("is off"), "{err}");

    let res = app.client.get(app.login_url()).send().await.unwrap();
    let status = res.status();
    let page = res.text().await.unwrap();
    assert_eq!(status, 409);
    assert!(page.contains("SSO_DEACTIVATED") && page.contains("turned off"), "{page}");
    let (status, code) = reason_code(app.post_acs(&app.spec(ALICE).signed_b64(&app.idp_key), None).await).await;
    assert_eq!((status, code.as_str()), (409, "SSO_DEACTIVATED"));
    assert!(app.svc.store.find_user_by_email(ALICE).await.unwrap().is_none(), "nothing was created");
    let failures = app.svc.store.list_login_events(true, 10).await.unwrap();
    assert!(failures.iter().any(|f| f.reason_code.as_deref() == Some("SSO_DEACTIVATED")), "the admin sees why");
    // The metadata stays downloadable: the IdP side is removed separately.
    assert_eq!(app.client.get(app.entity_id()).send().await.unwrap().status(), 200);

    let (ok, _, err) = cli(app.data_dir(), &["sso", "activate", &id]);
    assert!(ok, "{err}");
    let res = app.post_acs(&app.spec(ALICE).signed_b64(&app.idp_key), None).await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        audit_actions(&app, "sso_integration_").await,
        ["sso_integration_deactivate", "sso_integration_activate"]
    );
}

#[tokio::test]
async fn a_deleted_configuration_is_gone_with_its_keys_and_its_users_stay() {
    let app = TestApp::spawn().await;
    let id = app.sso_id().to_string();
    assert_eq!(app.post_acs(&app.spec(ALICE).signed_b64(&app.idp_key), None).await.status(), 303);

    let (ok, _, err) = cli(app.data_dir(), &["sso", "delete", &id]);
    assert!(!ok && err.contains("--yes"), "{err}");
    assert!(app.svc.store.get_sso(app.sso_id()).await.unwrap().is_some(), "not deleted without --yes");

    let (ok, out, err) = cli(app.data_dir(), &["sso", "delete", &id, "--yes"]);
    assert!(ok && out.contains("users stay"), "{err}");
    assert!(app.svc.store.get_sso(app.sso_id()).await.unwrap().is_none());
    assert!(app.svc.store.sp_keys_of(app.sso_id()).await.unwrap().is_empty(), "its keys are deleted");
    assert_eq!(app.svc.store.deleted_sso(app.sso_id()).await.unwrap().map(|d| d.0).as_deref(), Some("Example"));
    assert!(app.svc.store.find_user_by_email(ALICE).await.unwrap().is_some(), "the user stays");

    assert_eq!(app.client.get(app.entity_id()).send().await.unwrap().status(), 404);
    let (status, code) = reason_code(app.client.get(app.login_url()).send().await.unwrap()).await;
    assert_eq!((status, code.as_str()), (404, "SSO_NOT_FOUND"));
    let (status, code) = reason_code(app.post_acs(&app.spec(ALICE).signed_b64(&app.idp_key), None).await).await;
    assert_eq!((status, code.as_str()), (404, "SSO_NOT_FOUND"));
    assert_eq!(audit_actions(&app, "sso_integration_").await, ["sso_integration_delete"]);
    let (ok, _, err) = cli(app.data_dir(), &["sso", "delete", &id, "--yes"]);
    assert!(!ok && err.contains(&format!("no SSO configuration {id}")), "{err}");
}

#[tokio::test]
async fn deactivating_the_idm_connection_stops_its_token_at_once_and_only_a_new_token_reactivates() {
    let app = TestApp::spawn().await;
    let token_of = |out: &str| out.lines().find_map(|l| l.strip_prefix("Token:")).unwrap().trim().to_string();
    let (ok, out, err) = cli(app.data_dir(), &["scim", "token", "1"]);
    assert!(ok, "{err}");
    let old = token_of(&out);
    let users = format!("{}/api/rest/scim/v2/1/Users", app.base);
    let get = |token: String| {
        let (client, users) = (app.client.clone(), users.clone());
        async move { client.get(users).bearer_auth(token).send().await.unwrap().status().as_u16() }
    };
    assert_eq!(get(old.clone()).await, 200);
    let (ok, out, err) = cli(app.data_dir(), &["scim", "deactivate", "1"]);
    assert!(ok && out.contains("IdM connection deactivated"), "{err}");
    assert_eq!(get(old.clone()).await, 401, "the token stops working at once");
    let (ok, out, _) = cli(app.data_dir(), &["scim", "token", "1"]);
    assert!(ok);
    let new = token_of(&out);
    assert_eq!(get(new).await, 200);
    assert_eq!(get(old).await, 401, "reactivation never brings the old token back");
    assert_eq!(
        audit_actions(&app, "idm_integration_").await,
        ["idm_integration_activate", "idm_integration_delete", "idm_integration_activate"]
    );
}

#[tokio::test]
async fn expired_idp_certificates_are_no_longer_trusted() {
    let app = TestApp::spawn().await;
    let now = chrono::Utc::now().timestamp();
    let expired = keys::generate_valid("idp.example.net", now - 400 * 86_400, now - 86_400);
    let current = keys::generate_valid("idp.example.net", now - 86_400, now + 300 * 86_400);
    let import = |certs: (&KeyPair, Option<&KeyPair>)| {
        let xml = crate::support::idp_metadata("entra.xml", &app.idp_entity_id, &app.idp_sso_url, certs.0, certs.1);
        let parsed = spconnect::saml::idp_metadata::parse(&xml).expect("metadata with an expired certificate parses");
        (parsed, xml)
    };

    let (parsed, xml) = import((&expired, None));
    app.svc.store.set_idp(app.sso_id(), &parsed, &xml, now).await.unwrap();
    let (status, code) = reason_code(app.post_acs(&app.spec(ALICE).signed_b64(&expired), None).await).await;
    assert_eq!((status, code.as_str()), (403, "SSO_IDP_CERTIFICATE_EXPIRED"));
    assert!(app.svc.store.find_user_by_email(ALICE).await.unwrap().is_none());

    // During an IdP's certificate rollover, the expired one is dropped and the current one works.
    let (parsed, xml) = import((&expired, Some(&current)));
    app.svc.store.set_idp(app.sso_id(), &parsed, &xml, now).await.unwrap();
    let (status, code) = reason_code(app.post_acs(&app.spec(ALICE).signed_b64(&expired), None).await).await;
    assert_eq!((status, code.as_str()), (403, "SAML_SIGNATURE_INVALID"));
    assert_eq!(app.post_acs(&app.spec(ALICE).signed_b64(&current), None).await.status(), 303);
}

#[tokio::test]
async fn certificates_close_to_expiry_raise_a_banner_a_metric_and_one_email_per_threshold() {
    let (smtp_port, received) = crate::outbox_smtp::smtp_sink();
    let app = TestApp::spawn_custom("jumpcloud.xml", None, |s| {
        s.smtp = Some(spconnect::mailer::SmtpConfig {
            url: spconnect::config::Secret::new(format!("smtp://127.0.0.1:{smtp_port}")),
            from: "spconnect <sso@example.com>".into(),
        });
    })
    .await;
    app.sign_in_admin().await;
    let (_, calm) = app.get_html("/admin/users").await;
    assert!(!calm.contains("class=\"banner warning\""), "no warning while every certificate is far from expiry");

    let now = chrono::Utc::now().timestamp();
    let ending = keys::generate_valid("idp.example.net", now - 86_400, now + 5 * 86_400);
    let xml = crate::support::idp_metadata("jumpcloud.xml", &app.idp_entity_id, &app.idp_sso_url, &ending, None);
    let parsed = spconnect::saml::idp_metadata::parse(&xml).unwrap();
    app.svc.store.set_idp(app.sso_id(), &parsed, &xml, now).await.unwrap();

    // The banner is on every console page, with what to do.
    for page in ["/admin/users", "/admin/sso", "/admin/nodes", "/admin/events"] {
        let (status, html) = app.get_html(page).await;
        assert_eq!(status, 200);
        let banner = html.split("class=\"banner warning\"").nth(1).unwrap_or_default();
        assert!(
            banner.contains("The IdP signing certificate of") && banner.contains("(within 7 days)"),
            "{page}: {html}"
        );
        assert!(banner.contains("current metadata with its new signing certificate"), "{banner}");
    }
    let metrics = app.client.get(format!("{}/metrics", app.base)).send().await.unwrap().text().await.unwrap();
    assert!(metrics.lines().any(|l| l == "spconnect_certificate_warnings 1"), "{metrics}");

    // The hourly check: one email to each admin, once per certificate and threshold.
    let raised = spconnect::ops::certs::alert(&app.svc, now).await.unwrap();
    assert_eq!(raised.len(), 1);
    let got = tokio::task::spawn_blocking(move || received.recv_timeout(std::time::Duration::from_secs(20)));
    let Ok((rcpt, data)) = got.await.unwrap() else {
        panic!("the alert did not reach the relay; outbox: {:?}", app.svc.store.list_outbox(10).await);
    };
    assert_eq!(rcpt, format!("<{}>", crate::admin_console::ADMIN));
    assert!(data.contains("within 7 days") && data.contains("SHA-256 fingerprint"), "{data}");
    spconnect::ops::certs::alert(&app.svc, now + 60).await.unwrap();
    let queued = app.svc.store.list_outbox(100).await.unwrap();
    assert_eq!(queued.iter().filter(|m| m.kind == "certificate_alert").count(), 1, "not queued twice");
    // Crossing the next threshold is a new alert.
    spconnect::ops::certs::alert(&app.svc, now + 4 * 86_400 + 60).await.unwrap();
    let queued = app.svc.store.list_outbox(100).await.unwrap();
    assert_eq!(queued.iter().filter(|m| m.kind == "certificate_alert").count(), 2);
}

#[tokio::test]
async fn the_console_rolls_the_sp_key_over_turns_a_configuration_off_and_deletes_it_with_confirmation() {
    let app = TestApp::spawn().await;
    assert_eq!(app.post_acs(&app.spec(ALICE).signed_b64(&app.idp_key), None).await.status(), 303);
    let csrf = app.sign_in_admin().await;
    let id = app.sso_id();
    let page = format!("/admin/sso/{id}");
    let post = |path: &str, confirm: Option<&str>| {
        let mut form = vec![("csrf", csrf.clone())];
        if let Some(c) = confirm {
            form.push(("confirm", c.to_string()));
        }
        let url = app.admin_url(&format!("/admin/sso/{id}/{path}"));
        let client = app.client.clone();
        async move { client.post(url).form(&form).send().await.unwrap() }
    };
    let (_, html) = app.get_html(&page).await;
    assert!(html.contains("id=\"sp-keys\"") && html.contains("<td>active</td>"), "{html}");
    assert!(html.contains("id=\"start-rollover\""));

    assert_eq!(post("keys/rollover", None).await.status(), 303);
    let (_, html) = app.get_html(&page).await;
    assert!(html.contains("<td>next</td>"), "no next row: {html}");
    assert_eq!(html.matches("<td>published</td>").count(), 2, "{html}");
    let refused = post("keys/activate", None).await;
    assert_eq!(refused.status(), 409);
    assert!(refused.text().await.unwrap().contains("Nothing was changed"));
    assert_eq!(post("keys/activate", Some("yes")).await.status(), 303);
    let (_, html) = app.get_html(&page).await;
    assert!(html.contains("<td>previous</td>") && html.contains("decrypts only"), "{html}");
    assert_eq!(post("keys/retire", Some("yes")).await.status(), 303);
    assert_eq!(app.svc.store.sp_keys_of(id).await.unwrap().len(), 1);

    assert_eq!(post("deactivate", None).await.status(), 409, "not without the confirmation");
    assert!(app.svc.store.get_sso(id).await.unwrap().unwrap().active);
    assert_eq!(post("deactivate", Some("yes")).await.status(), 303);
    let (_, html) = app.get_html(&page).await;
    assert!(html.contains("id=\"deactivated-state\"") && html.contains("Turned off"), "{html}");
    let (status, code) = reason_code(app.client.get(app.login_url()).send().await.unwrap()).await;
    assert_eq!((status, code.as_str()), (409, "SSO_DEACTIVATED"));
    assert_eq!(post("activate", None).await.status(), 303);
    assert!(app.svc.store.get_sso(id).await.unwrap().unwrap().active);

    assert_eq!(post("delete", Some("123")).await.status(), 409, "the SSO ID must be typed");
    assert!(app.svc.store.get_sso(id).await.unwrap().is_some());
    let res = post("delete", Some(&id.to_string())).await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/admin/sso?notice=deleted");
    assert!(app.svc.store.get_sso(id).await.unwrap().is_none());
    let (_, users) = app.get_html("/admin/users").await;
    assert!(users.contains("no longer attached to an SSO configuration (Example deleted)"), "{users}");

    let trail = app.svc.store.list_audit(None, 50).await.unwrap();
    let by_admin: Vec<&str> =
        trail.iter().filter(|e| e.admin_email == crate::admin_console::ADMIN).map(|e| e.action.as_str()).collect();
    for action in [
        "sp_key_rollover",
        "sp_key_activate",
        "sp_key_retire",
        "sso_integration_deactivate",
        "sso_integration_activate",
        "sso_integration_delete",
    ] {
        assert!(by_admin.contains(&action), "{action} by the admin: {by_admin:?}");
    }
}

#[tokio::test]
async fn name_domain_node_and_every_switch_change_from_the_cli_and_the_console() {
    let app = TestApp::spawn().await;
    let id = app.sso_id();
    let ids = id.to_string();
    let (ok, node, err) = cli(app.data_dir(), &["node", "create", "Sales"]);
    assert!(ok, "{err}");
    let node = node.trim().to_string();
    let (ok, _, err) =
        cli(app.data_dir(), &["sso", "set", &ids, "--name", "Sales SSO", "--domain", "Sales.Example", "--node", &node]);
    assert!(ok, "{err}");
    let c = app.svc.store.get_sso(id).await.unwrap().unwrap();
    assert_eq!(
        (c.name.as_str(), c.domain.as_str(), c.node_id.to_string()),
        ("Sales SSO", "sales.example", node.clone())
    );
    let other = app.svc.store.create_sso("Other", "other.example", 1, 0).await.unwrap();
    let (ok, _, err) = cli(app.data_dir(), &["sso", "set", &ids, "--domain", "other.example"]);
    assert!(!ok && err.contains("already has an SSO configuration"), "{err}");
    let (ok, _, err) = cli(app.data_dir(), &["sso", "set", &ids, "--domain", "not a domain"]);
    assert!(!ok && err.contains("is not a domain name"), "{err}");
    assert_eq!(app.svc.store.get_sso(id).await.unwrap().unwrap().domain, "sales.example", "refusals change nothing");
    assert!(app.svc.store.list_audit(Some("sso.identity"), 10).await.unwrap().len() == 1);

    let csrf = app.sign_in_admin().await;
    let (status, html) = app.get_html(&format!("/admin/sso/{id}/edit")).await;
    assert_eq!(status, 200);
    for field in ["id=\"name\"", "id=\"domain\"", "id=\"node\"", "id=\"allow_sha1\"", "id=\"debug_responses\""] {
        assert!(html.contains(field), "{field}");
    }
    let res = app
        .post_form(
            &format!("/admin/sso/{id}/identity"),
            &[("csrf", &csrf), ("name", "Example"), ("domain", &other.domain), ("node", "1")],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("already has an SSO configuration"));
    let res = app
        .post_form(
            &format!("/admin/sso/{id}/identity"),
            &[("csrf", &csrf), ("name", "Example"), ("domain", "example.com"), ("node", "1")],
        )
        .await;
    assert_eq!(res.status(), 303);
    let switches = [
        ("csrf", csrf.as_str()),
        ("jit", "on"),
        ("clock_skew", "120"),
        ("attr_email", "Email"),
        ("attr_first", "First"),
        ("attr_last", "Last"),
        ("allow_sha1", "on"),
        ("allow_other_domains", "on"),
        ("debug_responses", "on"),
        ("encrypted_requires_signed_response", "on"),
        ("encrypted_gcm_only", "on"),
    ];
    assert_eq!(app.post_form(&format!("/admin/sso/{id}/settings"), &switches).await.status(), 303);
    let c = app.svc.store.get_sso(id).await.unwrap().unwrap();
    assert_eq!((c.name.as_str(), c.domain.as_str(), c.node_id), ("Example", "example.com", 1));
    assert!(c.jit && !c.idp_initiated && c.clock_skew_secs == 120);
    assert!(c.allow_sha1 && c.allow_other_domains && c.debug_keep_responses);
    assert!(c.encrypted_requires_signed_response && c.encrypted_gcm_only);
}

#[tokio::test]
async fn turning_a_configuration_off_ends_its_sessions_and_its_parked_logins() {
    let app = TestApp::spawn().await;
    let id = app.sso_id().to_string();
    // Signed in through the configuration.
    assert_eq!(app.post_acs(&app.spec(ALICE).signed_b64(&app.idp_key), None).await.status(), 303);
    assert_eq!(app.whoami().await.as_deref(), Some(ALICE));
    // An unsolicited login parked at the ACS, its continuation not yet followed.
    let other =
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).cookie_store(true).build().unwrap();
    let parked = other
        .post(app.acs())
        .form(&[("SAMLResponse", app.spec("bob@example.com").signed_b64(&app.idp_key))])
        .send()
        .await
        .unwrap();
    assert_eq!(parked.status(), 303);
    assert_eq!(parked.headers()["location"], crate::support::CONTINUE_PATH);

    let (ok, _, err) = cli(app.data_dir(), &["sso", "deactivate", &id]);
    assert!(ok, "{err}");
    assert_eq!(app.whoami().await, None, "the session made through it ends");
    let res = other.get(format!("{}{}", app.base, crate::support::CONTINUE_PATH)).send().await.unwrap();
    let (status, code) = reason_code(res).await;
    assert_eq!((status, code.as_str()), (409, "SSO_DEACTIVATED"), "the parked login makes no session");
    let session = other.get(format!("{}/api/rest/sso/session", app.base)).send().await.unwrap();
    assert_eq!(session.status(), 401);
}

#[tokio::test]
async fn idp_certificates_not_valid_yet_are_not_trusted_yet() {
    let app = TestApp::spawn().await;
    let now = chrono::Utc::now().timestamp();
    let future = keys::generate_valid("idp.example.net", now + 10 * 86_400, now + 400 * 86_400);
    let current = keys::generate_valid("idp.example.net", now - 86_400, now + 300 * 86_400);
    let set = |first: &KeyPair, second: Option<&KeyPair>| {
        let xml = crate::support::idp_metadata("entra.xml", &app.idp_entity_id, &app.idp_sso_url, first, second);
        (spconnect::saml::idp_metadata::parse(&xml).unwrap(), xml)
    };
    let (parsed, xml) = set(&future, None);
    app.svc.store.set_idp(app.sso_id(), &parsed, &xml, now).await.unwrap();
    let (status, code) = reason_code(app.post_acs(&app.spec(ALICE).signed_b64(&future), None).await).await;
    assert_eq!((status, code.as_str()), (403, "SSO_IDP_CERTIFICATE_NOT_YET_VALID"));
    let (parsed, xml) = set(&future, Some(&current));
    app.svc.store.set_idp(app.sso_id(), &parsed, &xml, now).await.unwrap();
    let (status, code) = reason_code(app.post_acs(&app.spec(ALICE).signed_b64(&future), None).await).await;
    assert_eq!((status, code.as_str()), (403, "SAML_SIGNATURE_INVALID"));
    assert_eq!(app.post_acs(&app.spec(ALICE).signed_b64(&current), None).await.status(), 303);
}

#[tokio::test]
async fn a_users_sign_ins_keep_vouching_for_their_node_after_the_configuration_is_moved_or_deleted() {
    let app = TestApp::spawn().await;
    assert_eq!(app.post_acs(&app.spec(ALICE).signed_b64(&app.idp_key), None).await.status(), 303);
    let user = app.svc.store.find_user_by_email(ALICE).await.unwrap().unwrap();
    let (ok, sales, err) = cli(app.data_dir(), &["node", "create", "Sales"]);
    assert!(ok, "{err}");
    let sales: i64 = sales.trim().parse().unwrap();
    let store = &app.svc.store;
    assert!(store.user_signed_in_outside_node(user.user_id, sales).await.unwrap(), "Sales may not rename Alice");
    assert!(!store.user_signed_in_outside_node(user.user_id, 1).await.unwrap());
    // Moved to Sales: neither node alone vouches for her any more.
    let (ok, _, err) = cli(app.data_dir(), &["sso", "set", &app.sso_id().to_string(), "--node", &sales.to_string()]);
    assert!(ok, "{err}");
    assert!(store.user_signed_in_outside_node(user.user_id, sales).await.unwrap());
    assert!(store.user_signed_in_outside_node(user.user_id, 1).await.unwrap());
    // Deleted: the record of her sign-ins still says which node vouched for her.
    let (ok, _, err) = cli(app.data_dir(), &["sso", "delete", &app.sso_id().to_string(), "--yes"]);
    assert!(ok, "{err}");
    assert!(store.user_signed_in_outside_node(user.user_id, sales).await.unwrap(), "still protected after deletion");
    assert!(store.get_idp_source(app.sso_id()).await.unwrap().is_none(), "no metadata source is left behind");
}

#[tokio::test]
async fn a_new_scim_token_in_the_console_asks_first_when_it_would_stop_the_working_one() {
    let app = TestApp::spawn().await;
    let csrf = app.sign_in_admin().await;
    // SCIM off: the first token stops nothing, no question.
    let first = app.post_form("/admin/nodes/1/scim-token", &[("csrf", csrf.as_str())]).await;
    assert_eq!(first.status(), 200);
    let (_, nodes) = app.get_html("/admin/nodes").await;
    assert!(nodes.contains("The working token stops now"), "{nodes}");
    let refused = app.post_form("/admin/nodes/1/scim-token", &[("csrf", csrf.as_str())]).await;
    assert_eq!(refused.status(), 409);
    assert!(refused.text().await.unwrap().contains("Nothing was changed"));
    let trail = app.svc.store.list_audit(Some("idm_integration_"), 10).await.unwrap();
    assert_eq!(trail.len(), 1, "nothing happened without the confirmation");
    let second = app.post_form("/admin/nodes/1/scim-token", &[("csrf", csrf.as_str()), ("confirm", "yes")]).await;
    assert_eq!(second.status(), 200);
    assert_eq!(app.svc.store.list_audit(Some("idm_integration_reauth"), 10).await.unwrap().len(), 1);
}
