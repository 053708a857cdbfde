//! The store's upkeep commands: `migrate`, `backup` (SQLite, live), `db copy --to postgres://`.

use serde_json::Value;

use crate::support::xmlsec::ResponseSpec;
use crate::support::{cli, idp_metadata, keys, serve_http_with, Backend, TestApp, ALICE};

#[tokio::test]
async fn migrate_applies_and_reports_the_level() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out, err) = cli(dir.path(), &["migrate"]);
    assert!(ok, "{err}");
    let expected = match crate::BACKEND {
        Backend::Sqlite => format!("level {}, Sqlite", crate::support::migration_level("sqlite")),
        Backend::Postgres => format!("level {}, Postgres", crate::support::migration_level("postgres")),
    };
    assert!(out.contains(&expected), "{out}");
    // Again: nothing to do, same answer.
    assert!(cli(dir.path(), &["migrate"]).1.contains(&expected));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_of_a_live_store_holds_what_was_committed() {
    let app = TestApp::spawn().await;
    assert_eq!(app.post_acs(&app.spec(ALICE).signed_b64(&app.idp_key), None).await.status(), 303);
    let out = app.data_dir().join("backup.db");
    let (ok, stdout, err) = cli(app.data_dir(), &["backup", "--out", out.to_str().unwrap()]);
    match crate::BACKEND {
        Backend::Sqlite => {
            assert!(ok, "{err}");
            assert!(stdout.contains("backed up"), "{stdout}");
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "user data and sealed keys: owner only");
            assert!(app.counts().await.sessions > 0, "the live store has a session");
            let copy = spconnect::store::Store::open_sqlite(&out).await.unwrap();
            assert_eq!(copy.counts().await.unwrap().sessions, 0, "sessions (bearer secrets) are not backed up");
            assert_eq!(copy.find_user_by_email(ALICE).await.unwrap().unwrap().email, ALICE);
            assert_eq!(copy.get_sso(app.sso_id()).await.unwrap().unwrap().domain, "example.com");
            // Never overwrites, never follows a symlink.
            let (ok, _, err) = cli(app.data_dir(), &["backup", "--out", out.to_str().unwrap()]);
            assert!(!ok && err.contains("exists"), "{err}");
            let link = app.data_dir().join("link.db");
            let target = app.data_dir().join("elsewhere.db");
            std::os::unix::fs::symlink(&target, &link).unwrap();
            let (ok, _, err) = cli(app.data_dir(), &["backup", "--out", link.to_str().unwrap()]);
            assert!(!ok, "a dangling symlink is not followed: {err}");
            assert!(!target.exists());
        }
        Backend::Postgres => {
            assert!(!ok && err.contains("pg_dump"), "PostgreSQL is backed up with its own tools: {err}");
        }
    }
}

/// `db copy` moves a running SQLite deployment into PostgreSQL: afterwards the same data
/// directory, started on PostgreSQL, serves the same SP metadata (the same SP key), accepts the
/// same SCIM token, knows the same users, and keeps creating new ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn db_copy_moves_a_sqlite_deployment_into_postgresql() {
    if crate::BACKEND != Backend::Postgres {
        return; // the target is PostgreSQL: this runs in the pg binary
    }
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite://{}", dir.path().join("spconnect.db").display());
    let on_sqlite = |args: &[&str]| {
        let mut all = vec!["--database-url", sqlite.as_str()];
        all.extend_from_slice(args);
        let (ok, out, err) = cli(dir.path(), &all);
        assert!(ok, "{args:?}: {err}");
        out
    };
    let out = on_sqlite(&["sso", "create", "--name", "Move", "--domain", "example.com"]);
    let sso_id = out.split_whitespace().find(|w| w.len() == 12 && w.bytes().all(|b| b.is_ascii_digit())).unwrap();
    let idp = "https://idp.example.net/saml2/idp";
    let key = keys::generate("idp.example.net");
    let md_path = dir.path().join("idp.xml");
    std::fs::write(&md_path, idp_metadata("jumpcloud.xml", idp, "https://idp.example.net/saml2/sso", &key, None))
        .unwrap();
    on_sqlite(&["idp", "import", sso_id, md_path.to_str().unwrap()]);
    let token: Value = serde_json::from_str(&on_sqlite(&["--json", "scim", "token", "1"])).unwrap();
    let token = token["token"].as_str().unwrap().to_string();

    let public = "http://sso.example.test";
    let entity = format!("{public}/api/rest/sso/saml/{sso_id}");
    let acs_public = format!("{public}/api/rest/sso/saml/sso/{sso_id}");
    let login = |base: String, email: &'static str| {
        let value = ResponseSpec::new(idp, &entity, &acs_public, email).signed_b64(&key);
        let acs = format!("{base}/api/rest/sso/saml/sso/{sso_id}");
        async move {
            let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
            client.post(acs).form(&[("SAMLResponse", value.as_str())]).send().await.unwrap().status().as_u16()
        }
    };
    let metadata = |base: String| {
        let url = format!("{base}/api/rest/sso/saml/{sso_id}/metadata");
        async move { reqwest::get(url).await.unwrap().text().await.unwrap() }
    };

    let (mut old, base) = serve_http_with(dir.path(), &["--database-url", &sqlite, "--public-url", public], &[]);
    assert_eq!(login(base.clone(), ALICE).await, 303);
    let md_before = metadata(base.clone()).await;
    old.stop();

    // A second configuration whose SP key exists only as key files, as an older data directory
    // kept them: `db copy` must seal it into the copy, not leave it behind.
    let out = on_sqlite(&["--json", "sso", "create", "--name", "Legacy", "--domain", "legacy.example"]);
    let legacy: i64 = serde_json::from_str::<Value>(&out).unwrap()["sso_id"].as_i64().unwrap();
    let pool = sqlx::SqlitePool::connect(&sqlite).await.unwrap();
    sqlx::query("DELETE FROM sp_keys WHERE sso_id = ?").bind(legacy).execute(&pool).await.unwrap();
    pool.close().await;
    let (key_file, cert_file) =
        (dir.path().join(format!("certs/sp-{legacy}.key")), dir.path().join(format!("certs/sp-{legacy}.crt")));
    let made = std::process::Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-subj", "/CN=legacy", "-keyout"])
        .arg(&key_file)
        .arg("-out")
        .arg(&cert_file)
        .output()
        .unwrap();
    assert!(made.status.success());
    let legacy_cert: String =
        std::fs::read_to_string(&cert_file).unwrap().lines().filter(|l| !l.starts_with("-----")).collect();

    let admin = crate::support::postgres::admin_url();
    let name = format!("t_{}", uuid::Uuid::new_v4().simple());
    crate::support::postgres::psql(&admin, &format!("CREATE DATABASE {name}"));
    let target = crate::support::postgres::with_database(&admin, &name);
    let report: Vec<Value> = serde_json::from_str(&on_sqlite(&["--json", "db", "copy", "--to", &target])).unwrap();
    let rows = |table: &str| report.iter().find(|t| t["table"] == table).unwrap()["target_rows"].as_i64().unwrap();
    assert_eq!(rows("users"), 1);
    assert_eq!(rows("sso_configs"), 2);
    assert_eq!(rows("sp_keys"), 2, "the file-only key was sealed into the copy");
    assert!(report.iter().all(|t| t["source_rows"] == t["target_rows"]), "{report:?}");
    // Into a database that is no longer empty: refused.
    let mut again = crate::support::spconnect(dir.path());
    let out = again.args(["--database-url", &sqlite, "db", "copy", "--to", &target]).output().unwrap();
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("not empty"));

    let (_new, base) = serve_http_with(dir.path(), &["--database-url", &target, "--public-url", public], &[]);
    assert_eq!(metadata(base.clone()).await, md_before, "same SP key and metadata after the move");
    let legacy_md =
        reqwest::get(format!("{base}/api/rest/sso/saml/{legacy}/metadata")).await.unwrap().text().await.unwrap();
    assert!(legacy_md.contains(&legacy_cert), "the file-only SP key moved too");
    let scim = reqwest::Client::new()
        .get(format!("{base}/api/rest/scim/v2/1/Users"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(scim.status(), 200, "the SCIM token still works");
    let listed: Value = scim.json().await.unwrap();
    assert_eq!(listed["totalResults"], 1, "{listed}");
    assert_eq!(login(base.clone(), "newcomer@example.com").await, 303, "new users get new ids");
    assert_eq!(login(base, ALICE).await, 303, "old users sign in again");
}
