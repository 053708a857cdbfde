//! Issue 9, "Operating it": liveness and readiness, Prometheus metrics, graceful shutdown on
//! SIGTERM/SIGINT and JSON logs, against the real router and the real binary.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::keys::{self, KeyPair};
use crate::support::xmlsec::ResponseSpec;
use crate::support::{cli, idp_metadata, serve_http_with, ServerProcess, TestApp, ALICE};

const IDP_ENTITY_ID: &str = "https://idp.example.net/saml2/idp";

/// An SSO configuration for example.com trusting a fresh IdP key, made with the CLI.
fn configure_sso(dir: &Path) -> (String, KeyPair) {
    let (ok, out, err) = cli(dir, &["sso", "create", "--name", "Ops", "--domain", "example.com"]);
    assert!(ok, "{err}");
    let sso_id = out.split_whitespace().find(|w| w.len() == 12 && w.bytes().all(|b| b.is_ascii_digit())).unwrap();
    let key = keys::generate("idp.example.net");
    let md = idp_metadata("jumpcloud.xml", IDP_ENTITY_ID, "https://idp.example.net/saml2/sso", &key, None);
    let path = dir.join("idp.xml");
    std::fs::write(&path, md).unwrap();
    let (ok, _, err) = cli(dir, &["idp", "import", sso_id, path.to_str().unwrap()]);
    assert!(ok, "{err}");
    (sso_id.to_string(), key)
}

/// A valid unsolicited response for `email` to `base`'s configuration `sso_id`.
fn response_for(base: &str, sso_id: &str, email: &str) -> ResponseSpec {
    let acs = format!("{base}/api/rest/sso/saml/sso/{sso_id}");
    ResponseSpec::new(IDP_ENTITY_ID, &format!("{base}/api/rest/sso/saml/{sso_id}"), &acs, email)
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// The value of the sample `name{labels…}` in a Prometheus text exposition: the one line whose
/// labels include all of `labels`.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines().filter(|l| !l.starts_with('#')).find_map(|line| {
        let (series, value) = line.rsplit_once(' ')?;
        let (metric, rest) = series.split_once('{').unwrap_or((series, "}"));
        if metric != name {
            return None;
        }
        let body = rest.strip_suffix('}')?;
        let all = labels.iter().all(|(k, v)| body.split(',').any(|pair| pair == format!("{k}=\"{v}\"")));
        all.then(|| value.parse().ok()).flatten()
    })
}

/// Wait until the server printed a line containing `needle`; that line.
fn printed_line(server: &ServerProcess, needle: &str) -> String {
    for _ in 0..250 {
        if let Some(l) = server.stdout().lines().find(|l| l.contains(needle)) {
            return l.to_string();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("the server never printed {needle:?}: {}", server.stdout());
}

// ---------------------------------------------------------------------------------------------
// Liveness and readiness

#[tokio::test]
async fn healthz_and_readyz_answer_ok_when_the_database_is_migrated() {
    let app = TestApp::spawn().await;
    let res = app.client.get(format!("{}/healthz", app.base)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let res = app.client.get(format!("{}/readyz", app.base)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap(), json!({"status": "ready"}));
}

#[tokio::test]
async fn readyz_answers_503_migrations_pending_when_a_migration_is_missing() {
    let app = TestApp::spawn().await;
    // The database as an older binary left it: the last migration not recorded.
    let forget_last = "DELETE FROM _sqlx_migrations WHERE version = (SELECT MAX(version) FROM _sqlx_migrations)";
    match crate::support::database_url_for(app.data_dir()) {
        Some(url) => {
            crate::support::postgres::psql(&url, forget_last);
        }
        None => {
            let url = format!("sqlite://{}", app.data_dir().join("spconnect.db").display());
            let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
            sqlx::query(forget_last).execute(&pool).await.unwrap();
            pool.close().await;
        }
    }

    let res = app.client.get(format!("{}/readyz", app.base)).send().await.unwrap();
    assert_eq!(res.status(), 503);
    assert_eq!(res.json::<Value>().await.unwrap(), json!({"status": "unavailable", "reason": "MIGRATIONS_PENDING"}));
    let live = app.client.get(format!("{}/healthz", app.base)).send().await.unwrap();
    assert_eq!(live.status(), 200, "liveness does not depend on the database");
}

#[tokio::test]
async fn readyz_answers_503_database_unreachable_when_the_database_does_not_answer() {
    let app = TestApp::spawn().await;
    app.svc.store.close().await;
    let res = app.client.get(format!("{}/readyz", app.base)).send().await.unwrap();
    assert_eq!(res.status(), 503);
    assert_eq!(res.json::<Value>().await.unwrap(), json!({"status": "unavailable", "reason": "DATABASE_UNREACHABLE"}));
    let live = app.client.get(format!("{}/healthz", app.base)).send().await.unwrap();
    assert_eq!(live.status(), 200, "liveness does not depend on the database");
}

// ---------------------------------------------------------------------------------------------
// Metrics

#[tokio::test]
async fn metrics_count_logins_by_outcome_and_reason_on_the_separate_listener() {
    let dir = tempfile::tempdir().unwrap();
    let (sso_id, idp_key) = configure_sso(dir.path());
    let (server, base) = serve_http_with(dir.path(), &["--metrics-listen", "127.0.0.1:0"], &[]);
    let line = printed_line(&server, "metrics: http://");
    let metrics_url = line.trim().trim_start_matches("metrics: ").to_string();
    let client = client();

    // With its own listener, /metrics is not on the main one.
    let main = client.get(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(main.status(), 404, "no /metrics on the main listener when --metrics-listen is given");

    let before = client.get(&metrics_url).send().await.unwrap().text().await.unwrap();
    let logins = |text: &str, labels: &[(&str, &str)]| sample(text, "spconnect_logins_total", labels).unwrap_or(0.0);
    let acs = format!("{base}/api/rest/sso/saml/sso/{sso_id}");

    // One accepted login, one refused signature, one replay of the accepted response.
    let good = response_for(&base, &sso_id, ALICE).signed_b64(&idp_key);
    let res = client.post(&acs).form(&[("SAMLResponse", good.as_str())]).send().await.unwrap();
    assert_eq!(res.status(), 303, "the login is accepted");
    let forged = response_for(&base, &sso_id, ALICE).signed_b64(&keys::generate("attacker"));
    let res = client.post(&acs).form(&[("SAMLResponse", forged.as_str())]).send().await.unwrap();
    assert_eq!(res.status(), 403, "a response signed by another key is refused");
    let res = client.post(&acs).form(&[("SAMLResponse", good.as_str())]).send().await.unwrap();
    assert_eq!(res.status(), 403, "a replay is refused");

    let res = client.get(&metrics_url).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let ctype = res.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ctype.starts_with("text/plain; version=0.0.4"), "{ctype}");
    let text = res.text().await.unwrap();
    let moved = |labels: &[(&str, &str)]| logins(&text, labels) - logins(&before, labels);
    assert_eq!(moved(&[("outcome", "success"), ("reason", "none")]), 1.0, "{text}");
    assert_eq!(moved(&[("outcome", "failure"), ("reason", "SAML_SIGNATURE_INVALID")]), 1.0, "{text}");
    assert_eq!(moved(&[("outcome", "failure"), ("reason", "SAML_ASSERTION_REPLAYED")]), 1.0, "{text}");
    assert!(text.contains("# HELP spconnect_logins_total "), "metrics carry help text");

    let acs_count = |outcome| sample(&text, "spconnect_acs_validation_duration_seconds_count", &[("outcome", outcome)]);
    assert_eq!(acs_count("success"), Some(1.0), "{text}");
    assert_eq!(acs_count("failure"), Some(2.0), "{text}");
    assert!(text.contains("spconnect_acs_validation_duration_seconds_bucket{"), "a histogram with buckets");

    // Durations by route template, never by raw path.
    let route = "/api/rest/sso/saml/sso/{sso_id}";
    let posts = sample(
        &text,
        "spconnect_http_request_duration_seconds_count",
        &[("method", "POST"), ("route", route), ("status", "403")],
    );
    assert_eq!(posts, Some(2.0), "{text}");
    assert!(!text.contains(&format!("route=\"/api/rest/sso/saml/sso/{sso_id}\"")), "a raw path became a label");

    // Pool use and certificates.
    assert!(sample(&text, "spconnect_db_pool_connections", &[]).unwrap() >= 1.0, "{text}");
    assert!(sample(&text, "spconnect_db_pool_idle_connections", &[]).is_some(), "{text}");
    let sp_days = sample(&text, "spconnect_certificate_days_left", &[("sso_id", &sso_id), ("kind", "sp")]).unwrap();
    assert!((3600.0..=3650.0).contains(&sp_days), "SP certificate: 10 years, {sp_days} days left");
    let idp_days = sample(&text, "spconnect_certificate_days_left", &[("sso_id", &sso_id), ("kind", "idp")]).unwrap();
    assert!((364.0..=365.0).contains(&idp_days), "IdP test certificate: one year, {idp_days} days left");
}

#[tokio::test]
async fn metrics_on_the_main_listener_answer_loopback_but_not_proxied_requests() {
    let app = TestApp::spawn().await;
    let url = format!("{}/metrics", app.base);
    let direct = app.client.get(&url).send().await.unwrap();
    assert_eq!(direct.status(), 200, "a loopback client may scrape");
    assert!(direct.text().await.unwrap().contains("spconnect_db_pool_connections"));
    for header in ["x-forwarded-for", "forwarded", "x-real-ip"] {
        let proxied = app.client.get(&url).header(header, "203.0.113.9").send().await.unwrap();
        assert_eq!(proxied.status(), 404, "a request relayed by a proxy ({header}) is not answered");
    }
}

#[tokio::test]
async fn metrics_count_scim_requests_by_resource_operation_and_status() {
    let app = TestApp::spawn().await;
    let scim = app.scim().await;
    let user = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "bob@example.com",
        "emails": [{"value": "bob@example.com", "primary": true}],
        "name": {"givenName": "Bob", "familyName": "Example"},
        "active": true
    });
    let scrape =
        || async { app.client.get(format!("{}/metrics", app.base)).send().await.unwrap().text().await.unwrap() };
    let count = |text: &str, operation: &str, status: &str| {
        let labels = [("resource", "Users"), ("operation", operation), ("status", status)];
        sample(text, "spconnect_scim_requests_total", &labels).unwrap_or(0.0)
    };
    let before = scrape().await;
    let created = scim.send("POST", "/Users", Some(&user), Some(&scim.token)).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let id = created.body["id"].as_str().unwrap().to_string();
    assert_eq!(scim.send("GET", &format!("/Users/{id}"), None, Some(&scim.token)).await.status, 200);
    assert_eq!(scim.send("GET", "/Users", None, Some("wrong-token")).await.status, 401);
    let after = scrape().await;
    assert_eq!(count(&after, "create", "201") - count(&before, "create", "201"), 1.0, "{after}");
    assert_eq!(count(&after, "get", "200") - count(&before, "get", "200"), 1.0, "{after}");
    assert_eq!(count(&after, "list", "401") - count(&before, "list", "401"), 1.0, "{after}");
    assert!(!after.contains(&id), "a user id became a label");
}

// ---------------------------------------------------------------------------------------------
// Graceful shutdown

/// Start a POST to the ACS with all but the last bytes of its body sent.
fn start_slow_post(base: &str, path: &str, body: &str) -> (TcpStream, String) {
    let addr = base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let (first, rest) = body.split_at(body.len() - 10);
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(first.as_bytes()).unwrap();
    stream.flush().unwrap();
    (stream, rest.to_string())
}

/// The status line and headers of the answer on `stream`.
fn read_head(stream: &mut TcpStream) -> String {
    let mut reader = BufReader::new(stream);
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
            return head;
        }
        head.push_str(&line);
    }
}

#[tokio::test]
async fn sigterm_lets_a_login_in_flight_finish_refuses_new_connections_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let (sso_id, idp_key) = configure_sso(dir.path());
    let (mut server, base) = serve_http_with(dir.path(), &["--shutdown-grace-secs", "8"], &[]);
    let value = response_for(&base, &sso_id, ALICE).signed_b64(&idp_key);
    let body = serde_urlencoded::to_string([("SAMLResponse", value.as_str())]).unwrap();
    let (mut stream, rest) = start_slow_post(&base, &format!("/api/rest/sso/saml/sso/{sso_id}"), &body);
    std::thread::sleep(Duration::from_millis(200)); // the request is being read

    server.signal(libc::SIGTERM);
    let signalled = Instant::now();
    // The listener closes at once: new connections are refused.
    let addr = base.trim_start_matches("http://").to_string();
    let mut refused = false;
    for _ in 0..100 {
        if TcpStream::connect(&addr).is_err() {
            refused = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(refused, "new connections are still accepted after SIGTERM");
    assert!(server.wait_exit(Duration::from_millis(300)).is_none(), "exited with a request in flight");

    // The login in flight completes with its normal answer.
    stream.write_all(rest.as_bytes()).unwrap();
    let head = read_head(&mut stream);
    assert!(head.starts_with("HTTP/1.1 303"), "the login in flight was answered: {head}");
    let mut tail = Vec::new();
    let _ = stream.read_to_end(&mut tail); // the server closes the connection after answering

    let status = server.wait_exit(Duration::from_secs(8)).expect("the server exits within the grace period");
    assert!(status.success(), "exit status {status:?}");
    assert!(signalled.elapsed() < Duration::from_secs(8));
    let log = server.log();
    assert!(log.contains("shutting down"), "{log}");
    assert!(log.contains("login accepted"), "the login was committed: {log}");
    let (ok, users, _) = cli(dir.path(), &["users", "list"]);
    assert!(ok && users.contains(ALICE), "{users}");
}

#[test]
fn sigterm_with_a_stalled_request_exits_0_once_the_grace_period_is_over() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, base) = serve_http_with(dir.path(), &["--shutdown-grace-secs", "1"], &[]);
    // A body that never completes.
    let (_stream, _) = start_slow_post(&base, "/api/rest/sso/saml/sso/123456789012", &"x".repeat(100));
    std::thread::sleep(Duration::from_millis(200));
    let signalled = Instant::now();
    server.signal(libc::SIGTERM);
    let status = server.wait_exit(Duration::from_secs(6)).expect("the server exits after the grace period");
    assert!(status.success(), "exit status {status:?}");
    let took = signalled.elapsed();
    assert!(took >= Duration::from_millis(900), "did not wait for the request in flight: {took:?}");
    assert!(took < Duration::from_secs(4), "grace of 1 s, exit after {took:?}");
}

#[test]
fn sigint_stops_an_idle_server_and_its_background_tasks_at_once_with_status_0() {
    let dir = tempfile::tempdir().unwrap();
    // With the mailer running (nothing queued; port 9 is never contacted) and a long grace
    // period: exiting well within it shows the purge and mail tasks stopped when told to.
    let args = ["--smtp-url", "smtp://127.0.0.1:9", "--shutdown-grace-secs", "5"];
    let (mut server, _base) = serve_http_with(dir.path(), &args, &[]);
    let signalled = Instant::now();
    server.signal(libc::SIGINT);
    let status = server.wait_exit(Duration::from_secs(5)).expect("an idle server exits at once");
    assert!(status.success(), "exit status {status:?}");
    assert!(signalled.elapsed() < Duration::from_secs(2), "took {:?}", signalled.elapsed());
    let log = server.log();
    assert!(log.contains("SIGINT"), "{log}");
    assert!(!log.contains("background tasks still busy"), "{log}");
}

#[test]
fn a_second_signal_stops_at_once_without_waiting_for_the_grace_period() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, base) = serve_http_with(dir.path(), &["--shutdown-grace-secs", "30"], &[]);
    let (_stream, _) = start_slow_post(&base, "/api/rest/sso/saml/sso/123456789012", &"x".repeat(100));
    std::thread::sleep(Duration::from_millis(200));
    server.signal(libc::SIGTERM);
    assert!(server.wait_exit(Duration::from_millis(500)).is_none(), "waits for the request in flight");
    let signalled = Instant::now();
    server.signal(libc::SIGTERM);
    let status = server.wait_exit(Duration::from_secs(3)).expect("a second signal stops at once");
    assert_eq!(status.code(), Some(1), "a forced stop is not a clean exit");
    assert!(signalled.elapsed() < Duration::from_secs(2));
    assert!(server.log().contains("second signal"), "{}", server.log());
}

// ---------------------------------------------------------------------------------------------
// JSON logs

#[tokio::test]
async fn json_log_lines_carry_the_request_id_of_the_response() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, base) = serve_http_with(dir.path(), &[], &[("SPCONNECT_LOG_FORMAT", "json")]);
    // A refused login (no such configuration) logs a line about the request.
    let res = client()
        .post(format!("{base}/api/rest/sso/saml/sso/123456789012"))
        .form(&[("SAMLResponse", "bm90IFNBTUw=")])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_client_error(), "{}", res.status());
    let request_id = res.headers()["x-request-id"].to_str().unwrap().to_string();
    server.signal(libc::SIGTERM);
    assert!(server.wait_exit(Duration::from_secs(5)).is_some_and(|s| s.success()));
    let log = server.log();

    let lines: Vec<Value> =
        log.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}"))).collect();
    assert!(lines.len() >= 3, "the refusal, 'shutting down' and 'stopped': {log}");
    let refused = lines
        .iter()
        .find(|l| l["message"] == "login refused")
        .unwrap_or_else(|| panic!("no 'login refused' line: {log}"));
    let spans = refused["spans"].as_array().unwrap_or_else(|| panic!("no spans: {refused}"));
    let request = spans.iter().find(|s| s["name"] == "request").unwrap_or_else(|| panic!("no request span: {refused}"));
    assert_eq!(request["request_id"], request_id.as_str(), "{refused}");
    assert_eq!(refused["reason"], "SSO_NOT_FOUND", "{refused}");
    assert_eq!(refused["level"], "WARN");
}

/// Behind a reverse proxy: the client address recorded (and used for the per-address bounds) is
/// the one a trusted proxy reports in X-Forwarded-For; from anyone else the header is ignored.
#[tokio::test]
async fn x_forwarded_for_is_believed_from_trusted_proxies_only() {
    for (trusted, expected) in [(true, "203.0.113.7"), (false, "127.0.0.1")] {
        let app = TestApp::spawn_custom("jumpcloud.xml", None, |s| {
            if trusted {
                s.trusted_proxies = spconnect::web::client_addr::parse_trusted(&["127.0.0.1".into()]).unwrap();
            }
        })
        .await;
        let forged = app.spec("alice@example.com");
        let mut forged_xml = forged.signed_b64(&app.idp_key);
        forged_xml.insert(10, 'A'); // a broken signature: refused and recorded
        let res = app
            .client
            .post(app.acs())
            .header("x-forwarded-for", "6.6.6.6, 203.0.113.7")
            .form(&[("SAMLResponse", forged_xml.as_str())])
            .send()
            .await
            .unwrap();
        assert!(res.status().is_client_error());
        let events = app.svc.store.list_login_events(true, 10).await.unwrap();
        assert_eq!(events[0].client_addr.as_deref(), Some(expected), "trusted={trusted}");
    }
}
