//! SAML Single Logout end to end against a live, independent IdP (pysaml2 + xmlsec1, see
//! tests/tools/pysaml2_idp.py): SP-initiated round trip (our signed LogoutRequest verified by
//! pysaml2, its signed LogoutResponse verified by us), vault-only sign-out, IdP-initiated
//! logout over HTTP-Redirect and HTTP-POST ending sessions (also on another instance sharing the
//! database), and every refusal leaving the sessions as they were.

use serde_json::Value;
use spconnect::store::SsoSettings;

use crate::live_idp::wire;
use crate::support::pysaml2::{scrape_form, LiveIdp};
use crate::support::{reason_code, TestApp};

fn browser() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).cookie_store(true).build().unwrap()
}

fn slo_url(base: &str, app: &TestApp) -> String {
    format!("{base}/api/rest/sso/saml/slo/{}", app.sso_id())
}

/// Sign `client` in as `email` through the live IdP (SP-initiated, like a browser).
async fn login(app: &TestApp, idp: &LiveIdp, client: &reqwest::Client, email: &str) {
    let set = client.get(format!("{}/set-user?email={email}&first=Test&last=User", idp.base)).send().await.unwrap();
    assert_eq!(set.status(), 200);
    let res = client.get(app.login_url()).send().await.unwrap();
    assert_eq!(res.status(), 302);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    let page = client.get(&location).send().await.unwrap();
    let status = page.status();
    let html = page.text().await.unwrap();
    assert_eq!(status, 200, "IdP answered {status}: {html}\n{}", idp.log());
    let (action, response, relay) = scrape_form(&html);
    let mut form = vec![("SAMLResponse", response)];
    if let Some(r) = relay {
        form.push(("RelayState", r));
    }
    let res = client.post(action).form(&form).send().await.unwrap();
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap_or_default());
    assert_eq!(whoami(client, &app.base).await.as_deref(), Some(email));
}

async fn whoami(client: &reqwest::Client, base: &str) -> Option<String> {
    let res = client.get(format!("{base}/api/rest/sso/session")).send().await.unwrap();
    if res.status() == 401 {
        return None;
    }
    assert_eq!(res.status(), 200);
    let v: Value = res.json().await.unwrap();
    v["email"].as_str().map(str::to_string)
}

/// The vault page as this browser sees it: the user's email, or None when sent to sign in.
async fn vault_user(client: &reqwest::Client, base: &str) -> Option<String> {
    let res = client.get(format!("{base}/vault")).send().await.unwrap();
    if res.status() == 303 || res.status() == 302 {
        assert_eq!(res.headers()["location"], "/login");
        return None;
    }
    let html = res.text().await.unwrap();
    ["dana@example.com", "erin@example.com"].into_iter().find(|e| html.contains(e)).map(str::to_string)
}

async fn idp_json(client: &reqwest::Client, idp: &LiveIdp, path_and_query: &str) -> Value {
    let res = client.get(format!("{}{path_and_query}", idp.base)).send().await.unwrap();
    let status = res.status();
    let text = res.text().await.unwrap();
    assert_eq!(status, 200, "IdP {path_and_query}: {text}\n{}", idp.log());
    serde_json::from_str(&text).unwrap()
}

/// The same message (URL from the IdP), delivered to `slo` (our endpoint on some instance):
/// the query string is kept byte for byte.
fn redirect_to(slo: &str, idp_url: &str) -> String {
    let query = idp_url.split_once('?').unwrap().1;
    format!("{slo}?{query}")
}

async fn setup(logout_idp: bool, extra: &[&str]) -> (TestApp, LiveIdp) {
    let app = TestApp::spawn().await;
    let idp = wire(&app, extra).await;
    if logout_idp {
        app.set(SsoSettings { logout_idp: Some(true), ..Default::default() }).await;
    }
    (app, idp)
}

async fn codes(app: &TestApp) -> Vec<String> {
    app.svc.store.list_login_events(false, 200).await.unwrap().into_iter().filter_map(|e| e.reason_code).collect()
}

#[tokio::test]
async fn sp_initiated_logout_round_trip_through_a_live_pysaml2_idp() {
    let (app, idp) = setup(true, &[]).await;
    login(&app, &idp, &app.client, "dana@example.com").await;

    let res = app.client.post(format!("{}/logout", app.base)).send().await.unwrap();
    assert_eq!(res.status(), 302, "{}", res.text().await.unwrap_or_default());
    let to_idp = res.headers()["location"].to_str().unwrap().to_string();
    assert!(to_idp.starts_with(&format!("{}/slo/redirect?SAMLRequest=", idp.base)), "{to_idp}");
    assert!(to_idp.contains("&SigAlg=") && to_idp.contains("&Signature="), "{to_idp}");
    // The vault session ends before the browser even reaches the IdP.
    assert_eq!(whoami(&app.client, &app.base).await, None);

    // pysaml2 verifies our LogoutRequest (raw query signature and its own check) and answers.
    let at_idp = app.client.get(&to_idp).send().await.unwrap();
    assert_eq!(at_idp.status(), 302, "{}\n{}", at_idp.text().await.unwrap_or_default(), idp.log());
    let back = at_idp.headers()["location"].to_str().unwrap().to_string();
    assert!(back.starts_with(&format!("{}?SAMLResponse=", slo_url(&app.base, &app))), "{back}");
    let seen = idp_json(&app.client, &idp, "/last-logout").await;
    assert_eq!(seen["kind"], "LogoutRequest");
    assert_eq!(seen["verified_by"], "pysaml2");
    assert_eq!(seen["name_id"], "dana@example.com");
    assert_eq!(seen["issuer"], app.entity_id());
    assert_eq!(seen["destination"], format!("{}/slo/redirect", idp.base));
    assert_eq!(seen["session_index_issued_here"], true, "the login's SessionIndex: {seen}");

    // The IdP's signed LogoutResponse lands on our signed-out page.
    let done = app.client.get(&back).send().await.unwrap();
    assert_eq!(done.status(), 200);
    let html = done.text().await.unwrap();
    assert!(html.contains(r#"id="signed-out""#) && html.contains("identity provider"), "{html}");
    assert_eq!(whoami(&app.client, &app.base).await, None);
    assert_eq!(vault_user(&app.client, &app.base).await, None);
    assert_eq!(app.svc.store.count_login_sessions(app.sso_id()).await.unwrap(), 0);
    assert!(codes(&app).await.contains(&"SLO_LOGOUT".to_string()));
    // The logout is in the record, but the console's "last successful login" is still the login.
    let (last_success, _) = app.svc.store.last_logins(app.sso_id()).await.unwrap();
    assert_eq!(last_success.and_then(|e| e.email).as_deref(), Some("dana@example.com"));

    // The same LogoutResponse again: its request was answered once.
    let again = app.client.get(&back).send().await.unwrap();
    assert_eq!(reason_code(again).await, (403, "SLO_REPLAYED".to_string()));
}

#[tokio::test]
async fn vault_only_sign_out_sends_nothing_to_the_idp() {
    let (app, idp) = setup(false, &[]).await;
    login(&app, &idp, &app.client, "dana@example.com").await;
    let res = app.client.post(format!("{}/logout", app.base)).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/login");
    assert_eq!(whoami(&app.client, &app.base).await, None);
    let last = app.client.get(format!("{}/last-logout", idp.base)).send().await.unwrap();
    assert_eq!(last.status(), 404, "the IdP received no logout message");

    // Switched on, but an IdP without a SingleLogoutService: the vault alone is closed.
    let (app, idp) = setup(true, &["--slo-binding", "none"]).await;
    login(&app, &idp, &app.client, "dana@example.com").await;
    let res = app.client.post(format!("{}/logout", app.base)).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/login");
    assert_eq!(whoami(&app.client, &app.base).await, None);
}

#[tokio::test]
async fn sp_initiated_logout_to_a_post_only_idp_is_a_signed_form() {
    let (app, idp) = setup(true, &["--slo-binding", "post"]).await;
    login(&app, &idp, &app.client, "dana@example.com").await;
    let res = app.client.post(format!("{}/logout", app.base)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let csp = res.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(csp.contains("script-src 'sha256-") && csp.contains(&format!("form-action {}", idp.base)), "{csp}");
    let html = res.text().await.unwrap();
    let action = html.split("action=\"").nth(1).and_then(|s| s.split('"').next()).unwrap().to_string();
    let value = html.split("name=\"SAMLRequest\" value=\"").nth(1).and_then(|s| s.split('"').next()).unwrap();
    assert_eq!(action, format!("{}/slo/post", idp.base));
    // pysaml2 verifies the XML signature of our POSTed LogoutRequest and answers (its metadata
    // names only POST for itself; ours offers Redirect, which it uses for the answer).
    let at_idp = app.client.post(&action).form(&[("SAMLRequest", value)]).send().await.unwrap();
    let status = at_idp.status();
    let body = at_idp.text().await.unwrap();
    assert_eq!(status, 200, "{body}\n{}", idp.log());
    let seen = idp_json(&app.client, &idp, "/last-logout").await;
    assert_eq!(seen["binding"], "post");
    assert_eq!(seen["name_id"], "dana@example.com");
    let (back, response, _) = scrape_form(&body);
    assert_eq!(back, slo_url(&app.base, &app));
    let done = app.client.post(&back).form(&[("SAMLResponse", response)]).send().await.unwrap();
    assert_eq!(done.status(), 200);
    assert!(done.text().await.unwrap().contains(r#"id="signed-out""#));
}

/// Carry an IdP-initiated LogoutRequest (JSON from /logout-initiate) to `slo` as a browser would.
async fn deliver(client: &reqwest::Client, slo: &str, msg: &Value) -> reqwest::Response {
    match msg.get("url") {
        Some(url) => client.get(redirect_to(slo, url.as_str().unwrap())).send().await.unwrap(),
        None => client.post(slo).form(&[("SAMLRequest", msg["SAMLRequest"].as_str().unwrap())]).send().await.unwrap(),
    }
}

#[tokio::test]
async fn idp_initiated_logout_ends_the_users_sessions_over_redirect_and_post() {
    let (app, idp) = setup(false, &[]).await;
    let (dana, erin, idp_browser) = (browser(), browser(), browser());
    let slo = slo_url(&app.base, &app);

    for binding in ["redirect", "post"] {
        login(&app, &idp, &dana, "dana@example.com").await;
        login(&app, &idp, &erin, "erin@example.com").await;

        // A SessionIndex the IdP never gave this login: nothing of hers ends, yet the IdP is
        // answered with Success (the answer does not tell which sessions exist).
        let msg = idp_json(
            &idp_browser,
            &idp,
            &format!("/logout-initiate?email=dana@example.com&binding={binding}&session_index=_not_hers"),
        )
        .await;
        let res = deliver(&idp_browser, &slo, &msg).await;
        assert_eq!(res.status(), 302, "{binding}: {}", res.text().await.unwrap_or_default());
        assert_eq!(vault_user(&dana, &app.base).await.as_deref(), Some("dana@example.com"), "{binding}");

        // Her login's SessionIndex: her session ends, Erin's stays.
        let msg =
            idp_json(&idp_browser, &idp, &format!("/logout-initiate?email=dana@example.com&binding={binding}")).await;
        let res = deliver(&idp_browser, &slo, &msg).await;
        assert_eq!(res.status(), 302, "{binding}");
        let answer = res.headers()["location"].to_str().unwrap().to_string();
        assert!(answer.starts_with(&format!("{}/slo/redirect?SAMLResponse=", idp.base)), "{answer}");
        // pysaml2 checks our signed LogoutResponse (raw query signature with our metadata key).
        let at_idp = idp_browser.get(&answer).send().await.unwrap();
        assert_eq!(at_idp.status(), 200, "{}\n{}", at_idp.text().await.unwrap_or_default(), idp.log());
        let seen = idp_json(&idp_browser, &idp, "/last-logout").await;
        assert_eq!(seen["kind"], "LogoutResponse");
        assert_eq!(seen["in_response_to"], msg["id"]);
        assert_eq!(seen["status"], "urn:oasis:names:tc:SAML:2.0:status:Success");

        assert_eq!(vault_user(&dana, &app.base).await, None, "{binding}: the same browser's vault no longer shows her");
        assert_eq!(whoami(&dana, &app.base).await, None);
        assert_eq!(vault_user(&erin, &app.base).await.as_deref(), Some("erin@example.com"), "{binding}");
    }

    // Without a SessionIndex: every session of the subject from this configuration ends.
    let other_dana = browser();
    login(&app, &idp, &dana, "dana@example.com").await;
    login(&app, &idp, &other_dana, "dana@example.com").await;
    let msg = idp_json(&idp_browser, &idp, "/logout-initiate?email=dana@example.com&session_index=none").await;
    assert_eq!(deliver(&idp_browser, &slo, &msg).await.status(), 302);
    assert_eq!(whoami(&dana, &app.base).await, None);
    assert_eq!(whoami(&other_dana, &app.base).await, None);
    assert_eq!(whoami(&erin, &app.base).await.as_deref(), Some("erin@example.com"));

    // An unknown user gets the same Success answer.
    let msg = idp_json(&idp_browser, &idp, "/logout-initiate?email=nobody@example.com&session_index=_x").await;
    let res = deliver(&idp_browser, &slo, &msg).await;
    assert_eq!(res.status(), 302);
    assert!(res.headers()["location"].to_str().unwrap().contains("SAMLResponse="));
}

#[tokio::test]
async fn refused_logout_messages_change_nothing() {
    let (app, idp) = setup(false, &[]).await;
    let (dana, idp_browser) = (browser(), browser());
    let slo = slo_url(&app.base, &app);
    login(&app, &idp, &dana, "dana@example.com").await;
    let base = "/logout-initiate?email=dana@example.com";

    let mut cases: Vec<(&str, Value, u16, &str)> = vec![
        ("unsigned", idp_json(&idp_browser, &idp, &format!("{base}&sign=0")).await, 403, "SLO_UNSIGNED"),
        (
            "unsigned POST",
            idp_json(&idp_browser, &idp, &format!("{base}&sign=0&binding=post")).await,
            403,
            "SLO_UNSIGNED",
        ),
        ("wrong key", idp_json(&idp_browser, &idp, &format!("{base}&key=other")).await, 403, "SLO_SIGNATURE_INVALID"),
        (
            "wrong destination",
            idp_json(&idp_browser, &idp, &format!("{base}&destination=https://elsewhere.example/slo")).await,
            403,
            "SLO_DESTINATION_MISMATCH",
        ),
        (
            "wrong issuer",
            idp_json(&idp_browser, &idp, &format!("{base}&issuer=https://evil.example/idp")).await,
            403,
            "SLO_ISSUER_MISMATCH",
        ),
        (
            "unknown InResponseTo",
            idp_json(&idp_browser, &idp, "/logout-response?in_response_to=_never_sent_by_us").await,
            403,
            "SLO_UNKNOWN_IN_RESPONSE_TO",
        ),
    ];
    // A LogoutResponse answering a request of ours whose time ran out.
    let now = chrono::Utc::now().timestamp();
    app.svc.store.insert_logout_request("_expired_request", app.sso_id(), now - 700, now - 100).await.unwrap();
    cases.push((
        "answer to an expired request",
        idp_json(&idp_browser, &idp, "/logout-response?in_response_to=_expired_request").await,
        403,
        "SLO_EXPIRED",
    ));
    // A signed POST LogoutRequest whose NameID was changed after signing.
    let mut tampered = idp_json(&idp_browser, &idp, &format!("{base}&binding=post")).await;
    let xml = String::from_utf8(
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, tampered["SAMLRequest"].as_str().unwrap())
            .unwrap(),
    )
    .unwrap();
    let xml = xml.replace("dana@example.com", "erin@example.com");
    tampered["SAMLRequest"] = Value::from(base64::Engine::encode(&base64::engine::general_purpose::STANDARD, xml));
    cases.push(("tampered POST", tampered, 403, "SLO_SIGNATURE_INVALID"));
    // A deflate bomb in SAMLRequest is refused without being inflated past the bound (here it
    // is not even signed: no signature is ever checked over a message we would not read).
    let bomb = {
        use std::io::Write;
        let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(&vec![b' '; 4 << 20]).unwrap();
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, enc.finish().unwrap())
    };
    let bomb_url =
        format!("{slo}?SAMLRequest={}", url::form_urlencoded::byte_serialize(bomb.as_bytes()).collect::<String>());
    cases.push(("deflate bomb", serde_json::json!({"url": bomb_url}), 403, "SLO_UNSIGNED"));

    for (name, msg, status, code) in cases {
        let res = deliver(&idp_browser, &slo, &msg).await;
        assert_eq!(reason_code(res).await, (status, code.to_string()), "{name}");
        assert_eq!(vault_user(&dana, &app.base).await.as_deref(), Some("dana@example.com"), "{name} changed nothing");
    }

    // Replay: the same signed LogoutRequest (ID) twice. The first (with a SessionIndex that is
    // not hers, so her session survives it) is accepted; the second is refused.
    let msg = idp_json(&idp_browser, &idp, &format!("{base}&session_index=_not_hers")).await;
    assert_eq!(deliver(&idp_browser, &slo, &msg).await.status(), 302);
    let res = deliver(&idp_browser, &slo, &msg).await;
    assert_eq!(reason_code(res).await, (403, "SLO_REPLAYED".to_string()));
    // The same ID in a freshly signed message (now naming her session) is a replay too.
    let id = msg["id"].as_str().unwrap();
    let again = idp_json(&idp_browser, &idp, &format!("{base}&id={id}&binding=post")).await;
    let res = deliver(&idp_browser, &slo, &again).await;
    assert_eq!(reason_code(res).await, (403, "SLO_REPLAYED".to_string()));
    assert_eq!(vault_user(&dana, &app.base).await.as_deref(), Some("dana@example.com"));

    // The page says what was refused.
    let msg = idp_json(&idp_browser, &idp, &format!("{base}&sign=0")).await;
    let page = deliver(&idp_browser, &slo, &msg).await.text().await.unwrap();
    assert!(page.contains("Sign-out refused") && page.contains("SLO_UNSIGNED"), "{page}");

    // Every refusal is in the admin's failure list with its code.
    let failures: Vec<String> =
        app.svc.store.list_login_events(true, 100).await.unwrap().into_iter().filter_map(|e| e.reason_code).collect();
    for code in [
        "SLO_UNSIGNED",
        "SLO_SIGNATURE_INVALID",
        "SLO_DESTINATION_MISMATCH",
        "SLO_ISSUER_MISMATCH",
        "SLO_UNKNOWN_IN_RESPONSE_TO",
        "SLO_REPLAYED",
        "SLO_EXPIRED",
    ] {
        assert!(failures.iter().any(|c| c == code), "{code} in {failures:?}");
    }
}

#[tokio::test]
async fn relay_state_never_redirects_the_browser() {
    let (app, idp) = setup(false, &[]).await;
    let (dana, idp_browser) = (browser(), browser());
    login(&app, &idp, &dana, "dana@example.com").await;
    let msg =
        idp_json(&idp_browser, &idp, "/logout-initiate?email=dana@example.com&relay_state=https://evil.example/phish")
            .await;
    let res = deliver(&idp_browser, &slo_url(&app.base, &app), &msg).await;
    assert_eq!(res.status(), 302);
    // The browser goes to the IdP's SLO URL from its metadata, whatever the RelayState says;
    // the RelayState is handed back to the IdP (signed, as the binding requires), nothing more.
    let location = res.headers()["location"].to_str().unwrap();
    assert!(location.starts_with(&format!("{}/slo/redirect?SAMLResponse=", idp.base)), "{location}");
    assert!(location.contains("&RelayState=https%3A%2F%2Fevil.example%2Fphish&SigAlg="), "{location}");
    let at_idp = idp_browser.get(location).send().await.unwrap();
    assert_eq!(at_idp.status(), 200, "the IdP verifies the signature over the returned RelayState too");
    assert_eq!(vault_user(&dana, &app.base).await, None);
}

/// A second instance of the service, in this process but with its own services, pools and caches,
/// on the first one's data directory and database (SQLite file or PostgreSQL database).
async fn second_instance(app: &TestApp) -> String {
    use spconnect::app::{self, Tls};
    use spconnect::config::DataDir;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let data = DataDir::new(app.data_dir())
        .unwrap()
        .with_database_url(crate::support::database_url_for(app.data_dir()).as_deref());
    // The same public URL: both sit behind one name, as behind a load balancer.
    let svc = app::services(data, &app.svc.settings.public_url, false).await.unwrap();
    tokio::spawn(app::serve(svc, listener, Tls::Off));
    for _ in 0..100 {
        if reqwest::get(format!("{base}/healthz")).await.is_ok() {
            return base;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("second instance did not start");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idp_initiated_logout_at_instance_b_ends_the_session_made_on_instance_a() {
    let (app, idp) = setup(false, &[]).await;
    let b = second_instance(&app).await;
    let (dana, erin, idp_browser) = (browser(), browser(), browser());
    login(&app, &idp, &dana, "dana@example.com").await;
    login(&app, &idp, &erin, "erin@example.com").await;
    // The session made on A works on B (same database).
    assert_eq!(whoami(&dana, &b).await.as_deref(), Some("dana@example.com"));

    let msg = idp_json(&idp_browser, &idp, "/logout-initiate?email=dana@example.com").await;
    let res = deliver(&idp_browser, &slo_url(&b, &app), &msg).await;
    assert_eq!(res.status(), 302, "{}", res.text().await.unwrap_or_default());
    assert_eq!(vault_user(&dana, &app.base).await, None, "gone on A");
    assert_eq!(whoami(&dana, &b).await, None, "gone on B");
    assert_eq!(vault_user(&erin, &app.base).await.as_deref(), Some("erin@example.com"));

    // The same message at A now: one-time across instances.
    let res = deliver(&idp_browser, &slo_url(&app.base, &app), &msg).await;
    assert_eq!(reason_code(res).await, (403, "SLO_REPLAYED".to_string()));
}

#[tokio::test]
async fn the_sign_out_behaviour_is_set_from_the_cli_and_the_console() {
    let app = TestApp::spawn().await;
    let sso = app.sso_id().to_string();
    assert!(!app.svc.store.get_sso(app.sso_id()).await.unwrap().unwrap().logout_idp, "default: close the vault only");

    let (ok, out, err) = crate::support::cli(app.data_dir(), &["sso", "set", &sso, "--logout-idp", "on", "--json"]);
    assert!(ok, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["logout_idp"], true);
    assert!(app.svc.store.get_sso(app.sso_id()).await.unwrap().unwrap().logout_idp);

    let csrf = app.sign_in_admin().await;
    let (status, html) = app.get_html(&format!("/admin/sso/{sso}/edit")).await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"id="logout_idp" name="logout_idp" type="checkbox" value="on" checked"#), "{html}");
    // The fixture IdP metadata has no SingleLogoutService: the console says so.
    assert!(html.contains("has no SingleLogoutService"), "{html}");
    // Unticked in the console: back to closing the vault only.
    let form = [
        ("csrf", csrf.as_str()),
        ("jit", "on"),
        ("clock_skew", "180"),
        ("attr_email", "Email"),
        ("attr_first", "First"),
        ("attr_last", "Last"),
    ];
    let res = app.post_form(&format!("/admin/sso/{sso}/settings"), &form).await;
    assert_eq!(res.status(), 303);
    assert!(!app.svc.store.get_sso(app.sso_id()).await.unwrap().unwrap().logout_idp);
    let (_, view) = app.get_html(&format!("/admin/sso/{sso}")).await;
    assert!(view.contains("closes the vault only"), "{view}");
    let audit = app.svc.store.list_audit(Some("sso.settings"), 10).await.unwrap();
    assert!(audit.iter().any(|a| a.detail.contains("logout_idp=true")), "the CLI change is audited");
    assert!(audit.iter().any(|a| a.detail.contains("logout_idp=false")), "the console change is audited");
}
