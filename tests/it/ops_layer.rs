//! The operations layer seen from both front ends: the command line and the console apply the
//! same rules with the same words, command-line changes are audited as "cli", and the last
//! admin account cannot be deleted from either.

use std::io::Write;
use std::path::Path;
use std::process::Stdio;

use serde_json::Value;
use spconnect::ops::{self, Actor};
use spconnect::store::{NewUser, UserStatus};

use crate::admin_console::{csrf_in, ADMIN, PASSWORD};
use crate::support::{cli, TestApp};

/// `spconnect …` that must succeed, with `--json`: its output parsed.
fn cli_json(dir: &Path, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    let (ok, out, err) = cli(dir, &all);
    assert!(ok, "spconnect {args:?}: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("spconnect {args:?} printed no JSON ({e}): {out}"))
}

/// `spconnect …` that must fail: the message after `error: `.
fn cli_error(dir: &Path, args: &[&str]) -> String {
    let (ok, out, err) = cli(dir, args);
    assert!(!ok, "spconnect {args:?} should fail: {out}");
    err.lines().find_map(|l| l.strip_prefix("error: ")).unwrap_or_else(|| panic!("no error line: {err}")).to_string()
}

/// `spconnect …` with `stdin` piped in: (success, stdout, stderr).
fn cli_with_stdin(dir: &Path, args: &[&str], stdin: &str) -> (bool, String, String) {
    let mut child = crate::support::spconnect(dir)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Text as a browser shows it from the page's HTML (askama escapes these).
fn unescape(html: &str) -> String {
    html.replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The audit trail as `spconnect audit` prints it: (actor, action, target), newest first.
fn audit(dir: &Path) -> Vec<(String, String, String)> {
    let rows = cli_json(dir, &["audit"]);
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap().to_string();
            (s("admin_email"), s("action"), s("target"))
        })
        .collect()
}

fn has(audit: &[(String, String, String)], actor: &str, action: &str, target: &str) -> bool {
    audit.iter().any(|(a, b, c)| a == actor && b == action && c == target)
}

#[tokio::test]
async fn sso_create_on_the_command_line_refuses_what_the_console_refuses_with_the_same_message() {
    let app = TestApp::spawn().await;
    let csrf = app.sign_in_admin().await;
    let dir = app.data_dir().to_path_buf();
    let long_label = format!("{}.com", "a".repeat(64));
    for domain in ["example.org.", "bücher.example", "localhost", "10.1.2.3", "corp..example.org", "", &long_label] {
        let from_cli = cli_error(&dir, &["sso", "create", "--name", "Corp", "--domain", domain]);
        assert!(from_cli.contains("is not a domain name"), "{domain:?}: {from_cli}");
        let res = app
            .post_form("/admin/sso", &[("csrf", csrf.as_str()), ("name", "Corp"), ("domain", domain), ("node", "1")])
            .await;
        assert_eq!(res.status(), 422, "{domain:?}");
        let page = unescape(&res.text().await.unwrap());
        assert!(page.contains(&from_cli), "{domain:?}: the console says the same as the CLI ({from_cli})");
    }
    // A name the console refuses is refused by the CLI with the same words too.
    let long_name = "n".repeat(101);
    let from_cli = cli_error(&dir, &["sso", "create", "--name", &long_name, "--domain", "corp.example.org"]);
    assert_eq!(from_cli, "Give the configuration a name of at most 100 characters.");
    assert_eq!(app.svc.store.list_sso().await.unwrap().len(), 1, "nothing was created");

    // Both normalise what they accept the same way.
    let created = cli_json(&dir, &["sso", "create", "--name", "Corp", "--domain", "  Corp.Example.ORG "]);
    let stored = app.svc.store.get_sso(created["sso_id"].as_i64().unwrap()).await.unwrap().unwrap();
    assert_eq!(stored.domain, "corp.example.org");
    let res = app
        .post_form(
            "/admin/sso",
            &[("csrf", csrf.as_str()), ("name", "Dup"), ("domain", "CORP.example.org"), ("node", "1")],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(unescape(&res.text().await.unwrap()).contains("already has an SSO configuration"));
}

#[tokio::test]
async fn command_line_changes_are_audited_as_cli_and_shown_on_the_console() {
    let app = TestApp::spawn().await;
    let dir = app.data_dir().to_path_buf();
    let store = &app.svc.store;
    let bob = store
        .create_user(
            &NewUser {
                email: "bob@example.com",
                first_name: "Bob",
                last_name: "Doe",
                status: UserStatus::Active,
                provisioned_by: "scim",
                node_id: 1,
            },
            0,
        )
        .await
        .unwrap();

    let locked = cli_json(&dir, &["users", "lock", "BOB@example.com"]);
    assert_eq!(locked["status"], "locked");
    assert_eq!(store.get_user(bob.user_id).await.unwrap().unwrap().status, UserStatus::Locked);
    // By id too; never logged in, so unlocking restores "invited" (the console's rule).
    let unlocked = cli_json(&dir, &["users", "unlock", &bob.user_id.to_string()]);
    assert_eq!(unlocked["status"], "invited");
    let issued = cli_json(&dir, &["scim", "token", "1"]);
    let token = issued["token"].as_str().unwrap().to_string();
    cli_json(&dir, &["scim", "token", "1"]);

    let trail = audit(&dir);
    for (action, target) in [
        ("user.lock", "bob@example.com"),
        ("user.unlock", "bob@example.com"),
        ("idm_integration_activate", "1"),
        ("idm_integration_reauth", "1"),
    ] {
        assert!(has(&trail, "cli", action, target), "{action} {target} by cli in {trail:?}");
    }
    let (ok, plain, _) = cli(&dir, &["audit", "--action", "user."]);
    assert!(ok && plain.contains("user.lock") && !plain.contains("idm_integration_activate"), "{plain}");

    // The replaced token no longer works; a revoked one neither, and revoking is audited.
    let users_url = format!("{}/api/rest/scim/v2/1/Users", app.base);
    let res = app.client.get(&users_url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(res.status(), 401);
    let current = cli_json(&dir, &["scim", "token", "1"])["token"].as_str().unwrap().to_string();
    assert_eq!(app.client.get(&users_url).bearer_auth(&current).send().await.unwrap().status(), 200);
    cli_json(&dir, &["scim", "revoke", "1"]);
    assert_eq!(app.client.get(&users_url).bearer_auth(&current).send().await.unwrap().status(), 401);
    assert!(!store.get_node(1).await.unwrap().unwrap().scim_enabled);
    assert!(has(&audit(&dir), "cli", "idm_integration_delete", "1"));
    assert_eq!(cli_error(&dir, &["scim", "revoke", "1"]), "node 1 has no SCIM token");

    // The console's audit tab shows the command line as the actor.
    app.sign_in_admin().await;
    let (status, html) = app.get_html("/admin/events?view=audit").await;
    assert_eq!(status, 200);
    let table = html.split(r#"<table id="audit""#).nth(1).unwrap().split("</table>").next().unwrap();
    assert!(table.contains("<td>cli</td><td><code>user.lock</code></td><td>bob@example.com</td>"), "{table}");
    assert!(table.contains("<td>cli</td><td><code>idm_integration_delete</code></td>"), "{table}");
}

#[tokio::test]
async fn the_last_admin_cannot_be_deleted_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, _, err) =
        cli_with_stdin(dir.path(), &["admin", "create", "--email", "only@example.org"], "only password 1234\n");
    assert!(ok, "{err}");
    let message = cli_error(dir.path(), &["admin", "delete", "only@example.org"]);
    assert_eq!(message, "only@example.org is the last admin and cannot be deleted: create another admin first.");
    assert_eq!(cli_json(dir.path(), &["admin", "list"]).as_array().unwrap().len(), 1, "still there");
    assert_eq!(cli_error(dir.path(), &["admin", "delete", "nobody@example.org"]), "no admin nobody@example.org");
}

#[tokio::test]
async fn the_last_admin_cannot_be_deleted_from_the_console_and_a_deleted_admins_session_ends() {
    let app = TestApp::spawn().await;
    let csrf = app.sign_in_admin().await;
    let me = app.svc.store.find_admin(ADMIN).await.unwrap().unwrap();
    let res = app.post_form(&format!("/admin/admins/{}/delete", me.admin_id), &[("csrf", csrf.as_str())]).await;
    assert_eq!(res.status(), 409);
    let page = res.text().await.unwrap();
    assert!(page.contains("is the last admin and cannot be deleted"), "{page}");
    assert!(app.svc.store.find_admin(ADMIN).await.unwrap().is_some());
    let (status, html) = app.get_html("/admin/admins").await;
    assert_eq!(status, 200, "still signed in");
    assert!(html.contains(ADMIN) && html.contains("(you)"));
    let res = app.post_form(&format!("/admin/admins/{}/unlock", me.admin_id), &[("csrf", csrf.as_str())]).await;
    assert_eq!(res.headers()["location"], "/admin/admins?notice=unlocked");
    let unlocked = app.svc.store.list_audit(Some("admin.unlock"), 10).await.unwrap();
    assert_eq!((unlocked.len(), unlocked[0].admin_email.as_str()), (1, ADMIN));

    // A second admin, signed in on another browser, loses the console once deleted.
    let other = "second@example.org";
    ops::admins::create(&app.svc, &Actor::Cli, other, PASSWORD.to_string(), 0).await.unwrap();
    let browser =
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).cookie_store(true).build().unwrap();
    let login = browser.get(app.admin_url("/admin/login")).send().await.unwrap().text().await.unwrap();
    let form = [("csrf", csrf_in(&login)), ("email", other.to_string()), ("password", PASSWORD.to_string())];
    let res = browser.post(app.admin_url("/admin/login")).form(&form).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(browser.get(app.admin_url("/admin/users")).send().await.unwrap().status(), 200);

    let second = app.svc.store.find_admin(other).await.unwrap().unwrap();
    let forged = app.post_form(&format!("/admin/admins/{}/delete", second.admin_id), &[("csrf", "0000")]).await;
    assert_eq!(forged.status(), 403, "the delete form needs the session's CSRF token");
    assert!(app.svc.store.find_admin(other).await.unwrap().is_some());
    let res = app.post_form(&format!("/admin/admins/{}/delete", second.admin_id), &[("csrf", csrf.as_str())]).await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/admin/admins?notice=deleted");
    let (_, html) = app.get_html("/admin/admins?notice=deleted").await;
    assert!(html.contains("Admin deleted.") && !html.contains(other), "{html}");
    let res = browser.get(app.admin_url("/admin/users")).send().await.unwrap();
    assert_eq!(res.status(), 303, "the deleted admin's session no longer works");
    assert_eq!(res.headers()["location"], "/admin/login");
    let trail = app.svc.store.list_audit(Some("admin.delete"), 10).await.unwrap();
    assert_eq!(trail.len(), 1);
    assert_eq!((trail[0].admin_email.as_str(), trail[0].target.as_str()), (ADMIN, other));
}

#[tokio::test]
async fn admins_are_listed_given_new_passwords_unlocked_and_deleted_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (email, password) in [("ann@example.org", "ann password 1234"), ("ben@example.org", "ben password 1234")] {
        let (ok, _, err) = cli_with_stdin(d, &["admin", "create", "--email", email], &format!("{password}\n"));
        assert!(ok, "{err}");
    }
    let listed = cli_json(d, &["admin", "list"]);
    let emails: Vec<&str> = listed.as_array().unwrap().iter().map(|a| a["email"].as_str().unwrap()).collect();
    assert_eq!(emails, ["ann@example.org", "ben@example.org"]);
    assert!(listed[0].get("password_hash").is_none(), "hashes are never printed: {listed}");
    let (ok, table, _) = cli(d, &["admin", "list"]);
    assert!(ok && table.contains("ann@example.org") && table.contains("ben@example.org") && !table.contains("$argon2"));

    let store = spconnect::store::Store::open(crate::support::database_url_for(d).as_deref(), &d.join("spconnect.db"))
        .await
        .unwrap();
    let hash_of = |email: &'static str| {
        let store = store.clone();
        async move { store.find_admin(email).await.unwrap().unwrap().password_hash }
    };
    // A new password from stdin replaces the old one.
    let (ok, out, err) = cli_with_stdin(d, &["admin", "reset-password", "ANN@example.org"], "ann's new password 99\n");
    assert!(ok, "{err}");
    assert!(out.contains("new password set for ann@example.org") && !out.contains("password:"), "{out}");
    let hash = hash_of("ann@example.org").await;
    assert!(spconnect::admins::verify_password("ann's new password 99", &hash));
    assert!(!spconnect::admins::verify_password("ann password 1234", &hash));
    // Without stdin one is generated and printed once; by id works too.
    let ben = store.find_admin("ben@example.org").await.unwrap().unwrap();
    let generated = cli_json(d, &["admin", "reset-password", &ben.admin_id.to_string()]);
    let password = generated["password"].as_str().unwrap();
    assert!(spconnect::admins::verify_password(password, &hash_of("ben@example.org").await));
    let (ok, _, err) = cli_with_stdin(d, &["admin", "reset-password", "ann@example.org"], "short\n");
    assert!(!ok && err.contains("at least 12"), "{err}");
    assert!(cli_error(d, &["admin", "reset-password", "zed@example.org"]).contains("no admin zed@example.org"));

    // Unlock forgets refused sign-ins: the throttle lets the admin in at once.
    let checks = std::sync::Arc::new(tokio::sync::Semaphore::new(2));
    let attempt = |password: &'static str| spconnect::admins::SignInAttempt {
        email: "ann@example.org",
        password,
        client_addr: "192.0.2.1",
        device_token: None,
        now: chrono::Utc::now().timestamp(),
    };
    for _ in 0..6 {
        assert!(spconnect::admins::sign_in(&store, &checks, attempt("wrong password 123")).await.is_err());
    }
    let throttled = spconnect::admins::sign_in(&store, &checks, attempt("ann's new password 99")).await;
    assert!(matches!(throttled, Err(spconnect::admins::SignInError::RateLimited { .. })));
    cli_json(d, &["admin", "unlock", "ann@example.org"]);
    assert!(spconnect::admins::sign_in(&store, &checks, attempt("ann's new password 99")).await.is_ok());

    let (ok, out, err) = cli(d, &["admin", "delete", "ben@example.org"]);
    assert!(ok && out.contains("deleted admin ben@example.org"), "{err}");
    let left = cli_json(d, &["admin", "list"]);
    assert_eq!(left.as_array().unwrap().len(), 1);
    assert_eq!(left[0]["email"], "ann@example.org");

    let trail = audit(d);
    for (action, target) in [
        ("admin.create", "ann@example.org"),
        ("admin.create", "ben@example.org"),
        ("admin.reset_password", "ann@example.org"),
        ("admin.reset_password", "ben@example.org"),
        ("admin.unlock", "ann@example.org"),
        ("admin.delete", "ben@example.org"),
    ] {
        assert!(has(&trail, "cli", action, target), "{action} {target} by cli in {trail:?}");
    }
}

#[tokio::test]
async fn users_created_on_the_command_line_are_invited_and_validated() {
    let app = TestApp::spawn().await;
    let dir = app.data_dir().to_path_buf();
    let user = cli_json(&dir, &["users", "create", "--email", "Carol@Example.com", "--first-name", "Carol"]);
    assert_eq!((user["email"].as_str(), user["status"].as_str()), (Some("carol@example.com"), Some("invited")));
    let stored = app.svc.store.find_user_by_email("carol@example.com").await.unwrap().unwrap();
    assert_eq!((stored.provisioned_by.as_str(), stored.first_name.as_str()), ("manual", "Carol"));
    assert_eq!(
        cli_error(&dir, &["users", "create", "--email", "not-an-email"]),
        "\"not-an-email\" is not an email address."
    );
    assert!(cli_error(&dir, &["users", "create", "--email", "carol@example.com"]).contains("already exists"));
    assert_eq!(
        cli_error(&dir, &["users", "create", "--email", "dan@example.com", "--node", "99"]),
        "there is no node 99"
    );
    assert_eq!(cli_error(&dir, &["users", "lock", "nobody@example.com"]), "no user nobody@example.com");
    assert!(has(&audit(&dir), "cli", "user.create", "carol@example.com"));
}

#[tokio::test]
async fn settings_refusals_read_the_same_on_the_command_line_and_the_console() {
    let app = TestApp::spawn().await;
    let csrf = app.sign_in_admin().await;
    let dir = app.data_dir().to_path_buf();
    let sso = app.sso_id().to_string();
    let before = app.svc.store.get_sso(app.sso_id()).await.unwrap().unwrap();
    for (skew, attr) in [("3601", "Email"), ("-1", "Email"), ("60", "   ")] {
        let skew_arg = format!("--clock-skew={skew}");
        let from_cli = cli_error(&dir, &["sso", "set", &sso, &skew_arg, "--attr-email", attr]);
        let form = [
            ("csrf", csrf.as_str()),
            ("clock_skew", skew),
            ("attr_email", attr),
            ("attr_first", "First"),
            ("attr_last", "Last"),
        ];
        let res = app.post_form(&format!("/admin/sso/{sso}/settings"), &form).await;
        assert_eq!(res.status(), 422, "{skew} {attr:?}");
        let page = unescape(&res.text().await.unwrap());
        assert!(page.contains(&from_cli), "{skew} {attr:?}: the console says the same as the CLI ({from_cli})");
    }
    let after = app.svc.store.get_sso(app.sso_id()).await.unwrap().unwrap();
    assert_eq!((after.clock_skew_secs, after.attr_email), (before.clock_skew_secs, before.attr_email), "unchanged");
    assert!(app.svc.store.list_audit(Some("sso.settings"), 10).await.unwrap().is_empty());

    let changed = cli_json(&dir, &["sso", "set", &sso, "--clock-skew", "3600", "--attr-email", " mail "]);
    assert_eq!((changed["clock_skew_secs"].as_i64(), changed["attr_email"].as_str()), (Some(3600), Some("mail")));
    assert!(has(&audit(&dir), "cli", "sso.settings", &sso));
}

#[tokio::test]
async fn the_console_revokes_a_scim_token_and_the_audit_names_the_admin() {
    let app = TestApp::spawn().await;
    let csrf = app.sign_in_admin().await;
    let token = cli_json(app.data_dir(), &["scim", "token", "1"])["token"].as_str().unwrap().to_string();
    let (_, html) = app.get_html("/admin/nodes").await;
    assert!(html.contains("action=\"/admin/nodes/1/scim-token/revoke\""), "a revoke button once SCIM is on");
    let res = app.post_form("/admin/nodes/1/scim-token/revoke", &[("csrf", csrf.as_str())]).await;
    assert_eq!(res.status(), 409, "not without the confirmation");
    assert!(app.svc.store.get_node(1).await.unwrap().unwrap().scim_enabled);
    let confirmed = [("csrf", csrf.as_str()), ("confirm", "yes")];
    let res = app.post_form("/admin/nodes/1/scim-token/revoke", &confirmed).await;
    assert_eq!(res.status(), 303);
    assert!(!app.svc.store.get_node(1).await.unwrap().unwrap().scim_enabled);
    let users_url = format!("{}/api/rest/scim/v2/1/Users", app.base);
    assert_eq!(app.client.get(&users_url).bearer_auth(&token).send().await.unwrap().status(), 401);
    let (_, html) = app.get_html("/admin/nodes").await;
    assert!(!html.contains("/scim-token/revoke"), "no revoke button once SCIM is off");
    // Revoking again is refused with the reason, and nothing more is audited.
    let res = app.post_form("/admin/nodes/1/scim-token/revoke", &confirmed).await;
    assert_eq!(res.status(), 409);
    assert!(res.text().await.unwrap().contains("node 1 has no SCIM token"));
    let trail = app.svc.store.list_audit(Some("idm_integration_delete"), 10).await.unwrap();
    assert_eq!(trail.len(), 1);
    assert_eq!((trail[0].admin_email.as_str(), trail[0].target.as_str()), (ADMIN, "1"));
}

#[tokio::test]
async fn two_admins_deleted_at_once_leave_one() {
    for round in 0..4 {
        let app = TestApp::spawn().await;
        let (a, b) = ("a@example.org", "b@example.org");
        for email in [a, b] {
            ops::admins::create(&app.svc, &Actor::Cli, email, PASSWORD.to_string(), 0).await.unwrap();
        }
        let (ref_a, ref_b) = (ops::AccountRef::Email(a.into()), ops::AccountRef::Email(b.into()));
        let (ra, rb) = tokio::join!(
            ops::admins::delete(&app.svc, &Actor::Cli, &ref_a, 0),
            ops::admins::delete(&app.svc, &Actor::Cli, &ref_b, 0)
        );
        let deleted = [&ra, &rb].iter().filter(|r| r.is_ok()).count();
        let refused = [&ra, &rb].iter().filter(|r| matches!(r, Err(ops::OpsError::Conflict(_)))).count();
        assert_eq!((deleted, refused), (1, 1), "round {round}: {ra:?} {rb:?}");
        assert_eq!(ops::admins::list(&app.svc).await.unwrap().len(), 1, "round {round}");
    }
}

#[tokio::test]
async fn node_domains_follow_the_same_domain_rule_and_are_audited() {
    let app = TestApp::spawn().await;
    let dir = app.data_dir().to_path_buf();
    let node = cli_json(&dir, &["node", "create", "Sales"])["node_id"].as_i64().unwrap().to_string();
    let refused = cli_error(&dir, &["node", "set-domains", &node, "sales.example", "sales.example."]);
    assert_eq!(refused, "\"sales.example.\" is not a domain name: it ends with a dot (for example: example.com).");
    assert!(app.svc.store.node_listed_domains(node.parse().unwrap()).await.unwrap().is_empty(), "nothing written");
    let set = cli_json(&dir, &["node", "set-domains", &node, "@Sales.Example", "eu.sales.example"]);
    assert_eq!(set["listed"], serde_json::json!(["eu.sales.example", "sales.example"]));
    assert!(cli_error(&dir, &["node", "set-domains", "1", "sales.example"]).contains("already managed by node"));
    assert_eq!(cli_error(&dir, &["node", "create", "   "]), "Give the node a name of at most 100 characters.");
    assert_eq!(cli_error(&dir, &["node", "set", "99", "--seats", "3"]), "there is no node 99");
    let trail = audit(&dir);
    assert!(has(&trail, "cli", "node.create", &node) && has(&trail, "cli", "node.domains", &node), "{trail:?}");
}

#[tokio::test]
async fn sso_status_on_the_command_line_shows_what_the_console_status_panel_shows() {
    let app = TestApp::spawn().await;
    let dir = app.data_dir().to_path_buf();
    let sso = app.sso_id().to_string();
    let status = cli_json(&dir, &["sso", "status", &sso]);
    assert_eq!(status["idp_entity_id"], app.idp_entity_id.as_str());
    assert!(status["idp_certificate_expires"].is_string() && status["sp_certificate_expires"].is_string(), "{status}");
    assert!(status["last_success"].is_null() && status["last_failure"].is_null());
    assert_eq!(status["jit_while_scim_provisions"], false);

    cli_json(&dir, &["scim", "token", "1"]);
    let (ok, text, err) = cli(&dir, &["sso", "status", &sso]);
    assert!(ok, "{err}");
    assert!(text.contains(&app.idp_entity_id) && text.contains("days left"), "{text}");
    assert!(text.contains("last successful login:           never"), "{text}");
    assert!(text.contains("warning: SSO") && text.contains("--jit off"), "JIT with SCIM is flagged: {text}");
    assert_eq!(cli_error(&dir, &["sso", "status", "42"]), "no SSO configuration 42");

    app.sign_in_admin().await;
    let (_, view) = app.get_html(&format!("/admin/sso/{sso}")).await;
    assert!(view.contains("JIT is on while SCIM provisions this node"), "the console flags the same state");
}
