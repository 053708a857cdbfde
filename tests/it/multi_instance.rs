//! Several instances on one PostgreSQL database, sharing nothing else (issue 9): each `serve`
//! process has its own data directory; they agree through the database only. Only in the `pg`
//! run (`tests/pg`): SQLite is one host's store.

use std::path::Path;

use base64::Engine;
use serde_json::Value;

use crate::support::xmlsec::ResponseSpec;
use crate::support::{cli, idp_metadata, keys, serve_http_with, share_database, ServerProcess, ALICE};

const IDP: &str = "https://idp.example.net/saml2/idp";
/// What the load balancer in front of both instances is called: IdPs and browsers use it.
const PUBLIC: &str = "http://sso.example.test";

struct Cluster {
    dirs: (tempfile::TempDir, tempfile::TempDir),
    a: (ServerProcess, String),
    b: (ServerProcess, String),
    sso_id: String,
    idp_key: keys::KeyPair,
}

fn kek() -> String {
    let mut k = [0u8; 32];
    openssl::rand::rand_bytes(&mut k).unwrap();
    base64::engine::general_purpose::STANDARD.encode(k)
}

/// Two instances (own data directories, one database, one KEK) with one configuration whose IdP
/// metadata was imported through the CLI on A's side.
fn cluster() -> Cluster {
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    share_database(dir_b.path(), dir_a.path());
    let kek = kek();
    let (sso_id, idp_key) = configure(dir_a.path(), &kek);
    let env = [("SPCONNECT_KEY_ENCRYPTION_KEY", kek.as_str())];
    let a = serve_http_with(dir_a.path(), &["--public-url", PUBLIC], &env);
    let b = serve_http_with(dir_b.path(), &["--public-url", PUBLIC], &env);
    Cluster { sso_id, dirs: (dir_a, dir_b), a, b, idp_key }
}

/// An SSO configuration for example.com with a test IdP's metadata, made through the CLI.
fn configure(dir: &Path, kek: &str) -> (String, keys::KeyPair) {
    let (ok, out, err) = cli_kek(dir, kek, &["sso", "create", "--name", "Multi", "--domain", "example.com"]);
    assert!(ok, "{err}");
    let sso_id = out.split_whitespace().find(|w| w.len() == 12 && w.bytes().all(|b| b.is_ascii_digit())).unwrap();
    let idp_key = keys::generate("idp.example.net");
    let md = idp_metadata("jumpcloud.xml", IDP, "https://idp.example.net/saml2/sso", &idp_key, None);
    let md_path = dir.join("idp.xml");
    std::fs::write(&md_path, md).unwrap();
    let (ok, _, err) = cli_kek(dir, kek, &["idp", "import", sso_id, md_path.to_str().unwrap()]);
    assert!(ok, "{err}");
    (sso_id.to_string(), idp_key)
}

fn cli_kek(dir: &Path, kek: &str, args: &[&str]) -> (bool, String, String) {
    let out = crate::support::spconnect(dir)
        .env("SPCONNECT_KEY_ENCRYPTION_KEY", kek)
        .args(args)
        .output()
        .expect("run spconnect");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

impl Cluster {
    fn public_acs(&self) -> String {
        format!("{PUBLIC}/api/rest/sso/saml/sso/{}", self.sso_id)
    }
    fn entity_id(&self) -> String {
        format!("{PUBLIC}/api/rest/sso/saml/{}", self.sso_id)
    }
    fn acs(&self, base: &str) -> String {
        format!("{base}/api/rest/sso/saml/sso/{}", self.sso_id)
    }
    fn signed(&self, email: &str, in_response_to: Option<&str>) -> String {
        let mut spec = ResponseSpec::new(IDP, &self.entity_id(), &self.public_acs(), email);
        spec.in_response_to = in_response_to.map(str::to_string);
        spec.signed_b64(&self.idp_key)
    }
}

fn browser() -> reqwest::Client {
    // Cookies are per host, not per port: like one browser in front of a load balancer, the
    // same cookies go to both instances.
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).cookie_store(true).build().unwrap()
}

async fn whoami(client: &reqwest::Client, base: &str) -> Option<String> {
    let res = client.get(format!("{base}/api/rest/sso/session")).send().await.unwrap();
    if res.status() == 401 {
        return None;
    }
    let v: Value = res.json().await.unwrap();
    v["email"].as_str().map(str::to_string)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_started_on_one_instance_completes_on_the_other_and_the_session_works_on_both() {
    let c = cluster();
    let (a, b) = (c.a.1.clone(), c.b.1.clone());

    // Identical SP metadata (same SP key from the database, same public URL) from both.
    let metadata = |base: String| {
        let url = format!("{base}/api/rest/sso/saml/{}/metadata", c.sso_id);
        async move { reqwest::get(url).await.unwrap().text().await.unwrap() }
    };
    let (md_a, md_b) = (metadata(a.clone()).await, metadata(b.clone()).await);
    assert!(md_a.contains("X509Certificate"), "{md_a}");
    assert_eq!(md_a, md_b, "both instances serve the same SP metadata");

    // SP-initiated: the AuthnRequest is issued by A ...
    let client = browser();
    let res = client.get(format!("{a}/api/rest/sso/ext_login/{}", c.sso_id)).send().await.unwrap();
    assert_eq!(res.status(), 302);
    let location = url::Url::parse(res.headers()["location"].to_str().unwrap()).unwrap();
    let saml_request = location.query_pairs().find(|(k, _)| k == "SAMLRequest").unwrap().1.to_string();
    let request_xml = crate::support::inflate(&saml_request);
    let doc = roxmltree::Document::parse(&request_xml).unwrap();
    let request_id = doc.root_element().attribute("ID").unwrap().to_string();

    // ... and answered at B (the load balancer sent the IdP's POST there).
    let value = c.signed(ALICE, Some(&request_id));
    let res = client.post(c.acs(&b)).form(&[("SAMLResponse", value.as_str())]).send().await.unwrap();
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap_or_default());
    assert_eq!(whoami(&client, &b).await.as_deref(), Some(ALICE), "session on B");
    assert_eq!(whoami(&client, &a).await.as_deref(), Some(ALICE), "the same session on A");

    // The same response again, at A this time: one-time use holds across instances.
    let res = client.post(c.acs(&a)).form(&[("SAMLResponse", value.as_str())]).send().await.unwrap();
    assert_eq!(res.status(), 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_response_posted_fifty_times_at_once_across_both_instances_logs_in_once() {
    let c = cluster();
    let value = c.signed(ALICE, None);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..50 {
        let acs = c.acs(if i % 2 == 0 { &c.a.1 } else { &c.b.1 });
        let value = value.clone();
        tasks.spawn(async move {
            let client = browser();
            client.post(acs).form(&[("SAMLResponse", value.as_str())]).send().await.unwrap().status().as_u16()
        });
    }
    let mut statuses = Vec::new();
    while let Some(s) = tasks.join_next().await {
        statuses.push(s.unwrap());
    }
    let accepted = statuses.iter().filter(|s| **s == 303).count();
    let refused = statuses.iter().filter(|s| **s == 403).count();
    assert_eq!((accepted, refused), (1, 49), "{statuses:?}");
    let (ok, out, err) = cli(c.dirs.0.path(), &["--json", "logins", "--limit", "1000"]);
    assert!(ok, "{err}");
    let logins: Vec<Value> = serde_json::from_str(&out).unwrap();
    let successes = logins.iter().filter(|l| l["outcome"] == "success").count();
    let replays = logins.iter().filter(|l| l["reason_code"] == "SAML_ASSERTION_REPLAYED").count();
    assert_eq!((successes, replays), (1, 49));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scim_users_and_token_changes_are_seen_by_every_instance_at_once() {
    let c = cluster();
    let (a, b) = (c.a.1.clone(), c.b.1.clone());
    let dir_a = c.dirs.0.path();
    let issue = || {
        let (ok, out, err) = cli(dir_a, &["--json", "scim", "token", "1"]);
        assert!(ok, "{err}");
        serde_json::from_str::<Value>(&out).unwrap()["token"].as_str().unwrap().to_string()
    };
    let token = issue();
    let http = reqwest::Client::new();
    let users = |base: &str| format!("{base}/api/rest/scim/v2/1/Users");
    let created = http
        .post(users(&a))
        .bearer_auth(&token)
        .header("content-type", "application/scim+json")
        .body(
            serde_json::json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": "bob@example.com",
                "name": {"givenName": "Bob", "familyName": "Builder"},
                "emails": [{"value": "bob@example.com", "primary": true}],
                "active": true
            })
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201, "{}", created.text().await.unwrap());
    let id = created.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    let read = http.get(format!("{}/{id}", users(&b))).bearer_auth(&token).send().await.unwrap();
    assert_eq!(read.status(), 200, "created on A, read on B");
    assert_eq!(read.json::<Value>().await.unwrap()["userName"], "bob@example.com");

    // A new token (through the CLI, as an admin would) kills the old one on both instances
    // on the very next request: nothing caches it.
    let newer = issue();
    for base in [&a, &b] {
        let old = http.get(users(base)).bearer_auth(&token).send().await.unwrap();
        assert_eq!(old.status(), 401, "the replaced token is refused on {base}");
        let new = http.get(users(base)).bearer_auth(&newer).send().await.unwrap();
        assert_eq!(new.status(), 200, "the new token works on {base}");
    }

    // A user locked through one instance (SCIM DELETE locks, as Keeper does) is refused at
    // sign-in on either instance.
    let deleted = http.delete(format!("{}/{id}", users(&b))).bearer_auth(&newer).send().await.unwrap();
    assert_eq!(deleted.status(), 204);
    for base in [&a, &b] {
        let res = browser()
            .post(c.acs(base))
            .form(&[("SAMLResponse", c.signed("bob@example.com", None).as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "locked user refused on {base}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_one_instance_mid_load_loses_or_doubles_no_login_and_the_other_keeps_serving() {
    let mut c = cluster();
    let (a, b) = (c.a.1.clone(), c.b.1.clone());
    // 120 distinct users, each posted once, alternating instances, 8 at a time.
    let posts: Vec<(String, String, String)> = (0..120)
        .map(|i| {
            let email = format!("load{i}@example.com");
            let base = if i % 2 == 0 { a.clone() } else { b.clone() };
            (c.acs(&base), c.signed(&email, None), email)
        })
        .collect();
    let posts = std::sync::Arc::new(posts);
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (posts, next) = (posts.clone(), next.clone());
        tasks.spawn(async move {
            let client = browser();
            let mut seen = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Some((acs, value, email)) = posts.get(i) else { break };
                let status = match client.post(acs).form(&[("SAMLResponse", value.as_str())]).send().await {
                    Ok(res) => Some(res.status().as_u16()),
                    Err(_) => None, // the connection died with the instance
                };
                seen.push((email.clone(), status));
            }
            seen
        });
    }
    // Let the load run, then kill A without warning.
    while next.load(std::sync::atomic::Ordering::SeqCst) < 40 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    // SAFETY: sending a signal to our own child process, by its PID.
    unsafe {
        libc::kill(c.a.0 .0.id() as i32, libc::SIGKILL);
    }
    let mut results = Vec::new();
    while let Some(r) = tasks.join_next().await {
        results.extend(r.unwrap());
    }
    let _ = c.a.0.stop();

    let (ok, out, err) = cli(c.dirs.1.path(), &["--json", "logins", "--limit", "1000"]);
    assert!(ok, "{err}");
    let logins: Vec<Value> = serde_json::from_str(&out).unwrap();
    let committed: Vec<&str> =
        logins.iter().filter(|l| l["outcome"] == "success").filter_map(|l| l["email"].as_str()).collect();
    let mut unique = committed.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), committed.len(), "no login committed twice");
    let answered_303: Vec<&String> = results.iter().filter(|(_, s)| *s == Some(303)).map(|(e, _)| e).collect();
    for email in &answered_303 {
        assert!(committed.contains(&email.as_str()), "{email} got a 303 but no committed login");
    }
    let b_posts = results
        .iter()
        .filter(|(e, _)| e.trim_start_matches("load").split('@').next().unwrap().parse::<u32>().unwrap() % 2 == 1);
    assert!(b_posts.clone().all(|(_, s)| *s == Some(303)), "every post to the survivor succeeded: {results:?}");
    assert!(answered_303.len() >= 60, "the survivor's half at least");

    // The survivor keeps serving.
    let res = browser()
        .post(c.acs(&b))
        .form(&[("SAMLResponse", c.signed("after@example.com", None).as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
}

/// A PostgreSQL server of this test's own (so stopping it disturbs no other test).
struct OwnPostgres {
    port: String,
    dir: String,
}

impl OwnPostgres {
    fn start() -> OwnPostgres {
        let port = (56_000 + std::process::id() % 4_000).to_string();
        let dir = format!("/tmp/spconnect-test-pg-fault-{}", uuid::Uuid::new_v4().simple());
        let pg = OwnPostgres { port, dir };
        pg.run(&[]);
        pg
    }
    fn run(&self, args: &[&str]) -> String {
        let out = std::process::Command::new(crate::support::repo_root().join(".ci/postgres"))
            .args(args)
            .env("SPCONNECT_PG_PORT", &self.port)
            .env("SPCONNECT_PG_DIR", &self.dir)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        self.run(&["stop"]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_database_down_logins_get_a_clear_page_and_resume_when_it_is_back() {
    let pg = OwnPostgres::start();
    let url = pg.run(&[]);
    let dir = tempfile::tempdir().unwrap();
    crate::support::set_database(dir.path(), url);
    let kek = kek();
    let (sso_id, idp_key) = configure(dir.path(), &kek);
    let (mut server, base) =
        serve_http_with(dir.path(), &["--public-url", PUBLIC], &[("SPCONNECT_KEY_ENCRYPTION_KEY", &kek)]);
    let acs = format!("{base}/api/rest/sso/saml/sso/{sso_id}");
    let signed = |email: &str| {
        ResponseSpec::new(
            IDP,
            &format!("{PUBLIC}/api/rest/sso/saml/{sso_id}"),
            &format!("{PUBLIC}/api/rest/sso/saml/sso/{sso_id}"),
            email,
        )
        .signed_b64(&idp_key)
    };
    let post = |value: String| {
        let acs = acs.clone();
        async move { browser().post(acs).form(&[("SAMLResponse", value.as_str())]).send().await.unwrap() }
    };
    assert_eq!(post(signed("before@example.com")).await.status(), 303);

    pg.run(&["stop"]);
    let res = post(signed("during@example.com")).await;
    let (status, code) = crate::support::reason_code(res).await;
    assert_eq!((status, code.as_str()), (503, "DATABASE_UNAVAILABLE"));
    let ready = reqwest::get(format!("{base}/readyz")).await.unwrap();
    assert_eq!(ready.status(), 503);
    assert_eq!(ready.json::<Value>().await.unwrap()["reason"], "DATABASE_UNREACHABLE");
    assert_eq!(reqwest::get(format!("{base}/healthz")).await.unwrap().status(), 200, "alive all the same");
    let md = reqwest::get(format!("{base}/api/rest/sso/saml/{sso_id}/metadata")).await.unwrap();
    let (status, code) = crate::support::reason_code(md).await;
    assert_eq!((status, code.as_str()), (503, "DATABASE_UNAVAILABLE"), "not a 404 while the database is down");
    let scim = reqwest::Client::new()
        .get(format!("{base}/api/rest/scim/v2/1/Users"))
        .bearer_auth("not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(scim.status(), 503, "SCIM says unavailable, not 500");

    pg.run(&[]);
    // Back without restarting the service (the pool reconnects on the next request).
    let mut last = 0;
    for _ in 0..20 {
        last = post(signed(&format!("after{}@example.com", uuid::Uuid::new_v4().simple()))).await.status().as_u16();
        if last == 303 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert_eq!(last, 303, "sign-in resumes once the database is back");
    let log = server.stop();
    assert!(!log.contains("panicked"), "{log}");
}

#[test]
fn a_bad_database_url_is_one_clear_line_and_a_failing_exit() {
    let admin = crate::support::postgres::admin_url();
    let wrong_password = admin.replacen(":spconnect@", ":not-the-password@", 1);
    let cases = [
        (wrong_password.as_str(), "cannot connect to PostgreSQL"),
        ("postgres://spconnect:secret-pw@127.0.0.1:1/postgres", "cannot connect to PostgreSQL"),
        ("mysql://root@127.0.0.1/db", "expected postgres://"),
    ];
    for (url, expected) in cases {
        let dir = tempfile::tempdir().unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_spconnect"))
            .arg("--data-dir")
            .arg(dir.path())
            .args(["--database-url", url, "serve", "--http", "--listen", "127.0.0.1:0"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{url}: must not start");
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "{url}: one line, got {stderr}");
        assert!(lines[0].starts_with("error: ") && lines[0].contains(expected), "{url}: {stderr}");
        assert!(!stderr.contains("not-the-password") && !stderr.contains("secret-pw"), "password shown: {stderr}");
    }
}

/// Outside review after issue 9: an admin command run without the deployment's key-encryption
/// key made a KEK of its own and sealed a new configuration's SP key with it (broken on every
/// instance), and an instance with the wrong KEK started and answered /readyz while every login
/// through it failed. Both are refused now, with the fingerprint that is needed.
#[tokio::test]
async fn a_process_without_the_deployments_key_encryption_key_is_refused() {
    let (dir_a, stray) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    share_database(stray.path(), dir_a.path());
    let kek_a = kek();
    configure(dir_a.path(), &kek_a);

    // An admin command elsewhere, without the KEK: refused, and no stray certs/kek is made.
    let out = crate::support::spconnect(stray.path())
        .env_remove("SPCONNECT_KEY_ENCRYPTION_KEY")
        .args(["sso", "create", "--name", "Oops", "--domain", "oops.example"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "refused: {stderr}");
    assert!(stderr.contains("sealed with key-encryption key"), "{stderr}");
    assert!(!stray.path().join("certs/kek").exists(), "no KEK of its own was made");
    let (ok, list, _) = cli_kek(dir_a.path(), &kek_a, &["--json", "sso", "list"]);
    assert!(ok);
    assert!(!list.contains("oops.example"), "nothing was created: {list}");

    // An instance with another KEK does not start.
    let other = kek();
    let out = crate::support::spconnect(stray.path())
        .env("SPCONNECT_KEY_ENCRYPTION_KEY", &other)
        .args(["serve", "--http", "--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "must not start");
    assert!(stderr.contains("key-encryption key") && !stderr.contains(&other), "{stderr}");
}

/// Migrations are safe when several instances start at once on an empty database: one applies
/// them (under sqlx's advisory lock), the others wait and find them done.
#[test]
fn instances_starting_together_on_an_empty_database_migrate_it_once() {
    let admin = crate::support::postgres::admin_url();
    let name = format!("t_{}", uuid::Uuid::new_v4().simple());
    crate::support::postgres::psql(&admin, &format!("CREATE DATABASE {name}"));
    let url = crate::support::postgres::with_database(&admin, &name);
    let dirs: Vec<tempfile::TempDir> = (0..4).map(|_| tempfile::tempdir().unwrap()).collect();
    let children: Vec<std::process::Child> = dirs
        .iter()
        .map(|d| {
            std::process::Command::new(env!("CARGO_BIN_EXE_spconnect"))
                .arg("--data-dir")
                .arg(d.path())
                .args(["--database-url", &url, "migrate"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let level = crate::support::migration_level("postgres");
        assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("level {level}, Postgres")));
    }
    let applied = crate::support::postgres::psql(&url, "SELECT COUNT(*) FROM _sqlx_migrations WHERE success");
    assert_eq!(applied, crate::support::migration_count("postgres").to_string(), "each migration recorded once");
    let roots = crate::support::postgres::psql(&url, "SELECT COUNT(*) FROM nodes");
    assert_eq!(roots, "1", "one root node");
}
