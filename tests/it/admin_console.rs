//! The admin console over plain HTTP: nothing without sign-in, CSRF on every form, sign-in rate
//! limiting, headers, and each page doing its job. The browser journeys are in `journeys.rs`.

use spconnect::store::{NewFailure, NewUser, UserStatus};
use spconnect::web::routes::admin::{GET_PAGES, POST_FORMS};

use crate::support::TestApp;

pub const ADMIN: &str = "root@example.org";
pub const PASSWORD: &str = "a long enough admin password";

pub async fn create_admin(app: &TestApp) {
    spconnect::ops::admins::create(&app.svc, &spconnect::ops::Actor::Cli, ADMIN, PASSWORD.to_string(), 0)
        .await
        .expect("admin");
}

pub fn csrf_in(html: &str) -> String {
    html.split(r#"name="csrf" value=""#)
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("csrf field on the page")
        .to_string()
}

impl TestApp {
    pub fn admin_url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get_html(&self, path: &str) -> (u16, String) {
        let res = self.client.get(self.admin_url(path)).send().await.unwrap();
        (res.status().as_u16(), res.text().await.unwrap())
    }

    pub async fn try_sign_in(&self, email: &str, password: &str) -> reqwest::Response {
        let (_, html) = self.get_html("/admin/login").await;
        let form = [("csrf", csrf_in(&html)), ("email", email.to_string()), ("password", password.to_string())];
        self.client.post(self.admin_url("/admin/login")).form(&form).send().await.unwrap()
    }

    /// Sign in as the test admin; returns a CSRF token for the session's forms.
    pub async fn sign_in_admin(&self) -> String {
        create_admin(self).await;
        let res = self.try_sign_in(ADMIN, PASSWORD).await;
        assert_eq!(res.status(), 303, "{}", res.text().await.unwrap_or_default());
        assert_eq!(res.headers()["location"], "/admin/sso");
        let (status, html) = self.get_html("/admin/sso").await;
        assert_eq!(status, 200);
        csrf_in(&html)
    }

    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.client.post(self.admin_url(path)).form(form).send().await.unwrap()
    }
}

/// ` onclick=`, ` onload=`, …: inline handlers, which the CSP would block anyway.
fn has_event_handler(html: &str) -> bool {
    html.match_indices(" on").any(|(i, _)| {
        let rest = &html[i + 3..];
        let word = rest.bytes().take_while(u8::is_ascii_lowercase).count();
        word > 0 && rest[word..].starts_with('=')
    })
}

fn fill(path: &str, sso_id: i64, user_id: i64) -> String {
    path.replace("{sso_id}", &sso_id.to_string())
        .replace("{user_id}", &user_id.to_string())
        .replace("{node_id}", "1")
        .replace("{team_id}", "1")
        .replace("{admin_id}", "1")
}

#[tokio::test]
async fn nothing_under_admin_is_reachable_signed_out_except_the_sign_in_page() {
    let app = TestApp::spawn().await;
    let user = app
        .svc
        .store
        .create_user(
            &NewUser {
                email: "x@example.com",
                first_name: "X",
                last_name: "Y",
                status: UserStatus::Active,
                provisioned_by: "manual",
                node_id: 1,
            },
            0,
        )
        .await
        .unwrap();
    for path in GET_PAGES {
        let res = app.client.get(app.admin_url(&fill(path, app.sso_id(), user.user_id))).send().await.unwrap();
        assert_eq!(res.status(), 303, "GET {path} signed out");
        assert_eq!(res.headers()["location"], "/admin/login", "GET {path}");
    }
    for path in POST_FORMS {
        let res = app
            .client
            .post(app.admin_url(&fill(path, app.sso_id(), user.user_id)))
            .form(&[("csrf", "x")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401, "POST {path} signed out");
    }
    // Nothing was acted on.
    assert_eq!(app.svc.store.get_user(user.user_id).await.unwrap().unwrap().status, UserStatus::Active);
    assert!(!app.svc.store.get_node(1).await.unwrap().unwrap().scim_enabled, "no SCIM token was made");
    assert_eq!(app.svc.store.list_sso().await.unwrap().len(), 1);
    let (status, html) = app.get_html("/admin/login").await;
    assert_eq!(status, 200);
    assert!(html.contains("Admin sign-in"));
}

#[tokio::test]
async fn every_console_page_renders_for_a_signed_in_admin_with_strict_headers() {
    let app = TestApp::spawn().await;
    app.sign_in_admin().await;
    for path in GET_PAGES {
        let res = app.client.get(app.admin_url(&fill(path, app.sso_id(), 0))).send().await.unwrap();
        let status = res.status();
        if *path == "/admin" {
            assert_eq!(status, 303);
            continue;
        }
        assert_eq!(status, 200, "GET {path}");
        let h = res.headers().clone();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("default-src 'none'") && !csp.contains("unsafe-inline"), "{csp}");
        assert_eq!(h["x-frame-options"], "DENY");
        let html = res.text().await.unwrap();
        // The only script is the copy buttons', from our own origin.
        let html = html.replace(r#"<script src="/static/admin-copy.js"></script>"#, "");
        assert!(!html.contains("<script"), "no other script on {path}");
        assert!(!html.contains(" style=") && !has_event_handler(&html), "no inline style or handlers on {path}");
    }
}

#[tokio::test]
async fn the_admin_cookie_is_its_own_strict_http_only_cookie_scoped_to_admin() {
    let app = TestApp::spawn().await;
    create_admin(&app).await;
    let res = app.try_sign_in(ADMIN, PASSWORD).await;
    let cookies: Vec<String> =
        res.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_string()).collect();
    let admin = cookies.iter().find(|c| c.starts_with("spconnect_admin=")).expect("admin cookie");
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/admin"] {
        assert!(admin.contains(attr), "{admin} lacks {attr}");
    }
    assert!(
        !cookies.iter().any(|c| c.starts_with("spconnect_session=")),
        "no end-user session is started by an admin sign-in"
    );
}

#[tokio::test]
async fn forms_without_the_sessions_csrf_token_are_refused() {
    let app = TestApp::spawn().await;
    let csrf = app.sign_in_admin().await;
    let path = format!("/admin/sso/{}/settings", app.sso_id());
    let form = |token: Option<&str>| -> Vec<(String, String)> {
        let mut f: Vec<(String, String)> =
            [("clock_skew", "5"), ("attr_email", "mail"), ("attr_first", "given"), ("attr_last", "sn")]
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
        if let Some(t) = token {
            f.push(("csrf".into(), t.into()));
        }
        f
    };
    let post = |f: Vec<(String, String)>| app.client.post(app.admin_url(&path)).form(&f).send();
    assert_eq!(post(form(None)).await.unwrap().status(), 403, "missing token");
    assert_eq!(post(form(Some("0000"))).await.unwrap().status(), 403, "wrong token");
    let multipart = reqwest::multipart::Form::new().text("csrf", "nope").text("metadata", "<x/>");
    let res = app
        .client
        .post(app.admin_url(&format!("/admin/sso/{}/idp", app.sso_id())))
        .multipart(multipart)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "wrong token in a multipart upload");
    let unchanged = app.svc.store.get_sso(app.sso_id()).await.unwrap().unwrap();
    assert_eq!((unchanged.clock_skew_secs, unchanged.jit, unchanged.attr_email.as_str()), (180, true, "Email"));
    assert_eq!(unchanged.idp_entity_id.as_deref(), Some(app.idp_entity_id.as_str()));

    let res = post(form(Some(&csrf))).await.unwrap();
    assert_eq!(res.status(), 303);
    let changed = app.svc.store.get_sso(app.sso_id()).await.unwrap().unwrap();
    assert_eq!(
        (changed.clock_skew_secs, changed.jit, changed.idp_initiated, changed.attr_email.as_str()),
        (5, false, false, "mail")
    );
    let audit = app.svc.store.list_audit(Some("sso.settings"), 10).await.unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].admin_email, ADMIN);
}

#[tokio::test]
async fn the_sign_in_form_needs_its_csrf_token_too() {
    let app = TestApp::spawn().await;
    create_admin(&app).await;
    let _ = app.get_html("/admin/login").await;
    let res = app.post_form("/admin/login", &[("email", ADMIN), ("password", PASSWORD)]).await;
    assert_eq!(res.status(), 403);
    let (status, _) = app.get_html("/admin/sso").await;
    assert_eq!(status, 303, "still signed out");
}

#[tokio::test]
async fn failed_sign_ins_are_rate_limited_even_for_the_right_password() {
    let app = TestApp::spawn().await;
    create_admin(&app).await;
    let unknown = app.try_sign_in("nobody@example.org", PASSWORD).await;
    assert_eq!(unknown.status(), 401);
    let body = unknown.text().await.unwrap();
    assert!(body.contains("The email or password is wrong."), "{body}");
    for i in 0..spconnect::admins::MAX_FAILURES {
        let res = app.try_sign_in(ADMIN, "wrong password number x").await;
        assert_eq!(res.status(), 401, "attempt {i}");
    }
    let res = app.try_sign_in(ADMIN, PASSWORD).await;
    assert_eq!(res.status(), 429, "the limit holds even for the right password");
    assert!(res.headers().contains_key("retry-after"));
    assert!(res.text().await.unwrap().contains("Too many refused sign-ins"));
    let (status, _) = app.get_html("/admin/sso").await;
    assert_eq!(status, 303, "still signed out");
}

#[tokio::test]
async fn sign_out_ends_the_admin_session() {
    let app = TestApp::spawn().await;
    let csrf = app.sign_in_admin().await;
    let res = app.post_form("/admin/logout", &[("csrf", csrf.as_str())]).await;
    assert_eq!(res.status(), 303);
    let (status, _) = app.get_html("/admin/users").await;
    assert_eq!(status, 303);
}

#[tokio::test]
async fn create_view_and_upload_through_the_console() {
    let app = TestApp::spawn().await;
    let csrf = app.sign_in_admin().await;
    let bad = app
        .post_form(
            "/admin/sso",
            &[("csrf", csrf.as_str()), ("name", "Second"), ("domain", "not a domain"), ("node", "1")],
        )
        .await;
    assert_eq!(bad.status(), 422);
    assert!(bad.text().await.unwrap().contains("is not a domain name"));
    let dup = app
        .post_form("/admin/sso", &[("csrf", csrf.as_str()), ("name", "Dup"), ("domain", "EXAMPLE.com"), ("node", "1")])
        .await;
    assert_eq!(dup.status(), 422);
    assert!(dup.text().await.unwrap().contains("already has an SSO configuration"));

    let res = app
        .post_form(
            "/admin/sso",
            &[("csrf", csrf.as_str()), ("name", "Acme JumpCloud"), ("domain", "acme.test"), ("node", "1")],
        )
        .await;
    assert_eq!(res.status(), 303);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    let sso_id: i64 = location.trim_start_matches("/admin/sso/").split('?').next().unwrap().parse().unwrap();
    let (status, view) = app.get_html(&location).await;
    assert_eq!(status, 200);
    let urls = app.svc.urls(sso_id);
    for expected in [&urls.entity_id, &urls.login, &urls.acs, &urls.slo, &urls.metadata_download, &urls.cert_download] {
        assert!(view.contains(expected.as_str()), "view shows {expected}");
    }
    assert!(
        view.contains("Export Metadata") && view.contains("Export SP Cert") && view.contains("IDP Initiated Login")
    );
    assert!(view.contains("no IdP metadata uploaded yet"));
    assert!(view.contains("days left"), "SP certificate expiry shown");

    let upload = |bytes: Vec<u8>| {
        reqwest::multipart::Form::new()
            .text("csrf", csrf.clone())
            .part("metadata", reqwest::multipart::Part::bytes(bytes).file_name("idp.xml").mime_str("text/xml").unwrap())
    };
    let idp_path = format!("/admin/sso/{sso_id}/idp");
    let sp_metadata = app.svc.sp_metadata(&app.sso).await.unwrap();
    let refused =
        app.client.post(app.admin_url(&idp_path)).multipart(upload(sp_metadata.into_bytes())).send().await.unwrap();
    assert_eq!(refused.status(), 422);
    let html = refused.text().await.unwrap();
    assert!(html.contains("The metadata was not accepted: no IDPSSODescriptor found"), "{html}");

    let key = crate::support::keys::generate("idp.acme.test");
    let xml = crate::support::idp_metadata(
        "jumpcloud.xml",
        "https://sso.acme.test/saml",
        "https://sso.acme.test/saml/sso",
        &key,
        None,
    );
    let ok = app.client.post(app.admin_url(&idp_path)).multipart(upload(xml.into_bytes())).send().await.unwrap();
    assert_eq!(ok.status(), 303);
    let stored = app.svc.store.get_sso(sso_id).await.unwrap().unwrap();
    assert_eq!(stored.idp_entity_id.as_deref(), Some("https://sso.acme.test/saml"));
    assert_eq!(ok.headers()["location"].to_str().unwrap(), format!("/admin/sso/{sso_id}?notice=idp"));
    let (_, view) = app.get_html(&format!("/admin/sso/{sso_id}?notice=idp")).await;
    assert!(view.contains("https://sso.acme.test/saml") && view.contains("IdP metadata uploaded."));
    let actions: Vec<String> =
        app.svc.store.list_audit(None, 10).await.unwrap().into_iter().map(|a| a.action).collect();
    assert!(actions.contains(&"sso.create".to_string()) && actions.contains(&"idp.upload".to_string()), "{actions:?}");
}

#[tokio::test]
async fn users_are_listed_searched_locked_and_unlocked() {
    let app = TestApp::spawn().await;
    let csrf = app.sign_in_admin().await;
    let store = &app.svc.store;
    let new = |email: &'static str, by: &'static str| NewUser {
        email,
        first_name: "Pat",
        last_name: "Doe",
        status: UserStatus::Invited,
        provisioned_by: by,
        node_id: 1,
    };
    let bob = store.create_user(&new("bob@example.com", "scim"), 0).await.unwrap();
    store.create_user(&new("carol@example.com", "manual"), 0).await.unwrap();
    let (_, html) = app.get_html("/admin/users?q=bob").await;
    assert!(html.contains("bob@example.com") && !html.contains("carol@example.com"));
    assert!(html.contains("scim") && html.contains("invited") && html.contains("never"));

    let res = app.post_form(&format!("/admin/users/{}/lock", bob.user_id), &[("csrf", csrf.as_str())]).await;
    assert_eq!(res.status(), 409, "locking asks for a confirmation");
    assert_eq!(store.get_user(bob.user_id).await.unwrap().unwrap().status, UserStatus::Invited);
    let confirmed = [("csrf", csrf.as_str()), ("confirm", "yes")];
    let res = app.post_form(&format!("/admin/users/{}/lock", bob.user_id), &confirmed).await;
    assert_eq!(res.status(), 303);
    // The page after the action says what it did, once (POST-redirect-GET).
    let (_, after) = app.get_html("/admin/users").await;
    assert!(after.contains(r#"id="flash""#) && after.contains("bob@example.com is locked"), "{after}");
    let (_, again) = app.get_html("/admin/users").await;
    assert!(!again.contains(r#"id="flash""#), "shown once");
    assert_eq!(store.get_user(bob.user_id).await.unwrap().unwrap().status, UserStatus::Locked);
    let (_, html) = app.get_html("/admin/users?status=locked").await;
    assert!(html.contains("bob@example.com") && html.contains("Unlock bob@example.com"));
    app.post_form(&format!("/admin/users/{}/unlock", bob.user_id), &[("csrf", csrf.as_str())]).await;
    assert_eq!(
        store.get_user(bob.user_id).await.unwrap().unwrap().status,
        UserStatus::Invited,
        "never logged in: back to invited"
    );
}

#[tokio::test]
async fn login_failures_are_filterable_and_explained() {
    let app = TestApp::spawn().await;
    app.sign_in_admin().await;
    let now = chrono::Utc::now().timestamp();
    let ahead =
        chrono::DateTime::from_timestamp(now + 420, 0).unwrap().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let failure = |code: &str, detail: String| NewFailure {
        sso_id: Some(app.sso_id()),
        reason_code: code.into(),
        detail,
        issuer: Some(app.idp_entity_id.clone()),
        name_id: Some("eve@example.com".into()),
        client_addr: Some("127.0.0.1".into()),
        request_id: "req-1".into(),
        at: now,
    };
    let store = &app.svc.store;
    store
        .record_login_failure(&failure(
            "SAML_ASSERTION_NOT_YET_VALID",
            format!("the assertion is not valid before {ahead} (clock skew allowance included)"),
        ))
        .await
        .unwrap();
    store
        .record_login_failure(&failure("SAML_SIGNATURE_INVALID", "the signature does not verify".into()))
        .await
        .unwrap();

    let (_, html) = app.get_html("/admin/events").await;
    assert!(html.contains("SAML_ASSERTION_NOT_YET_VALID") && html.contains("SAML_SIGNATURE_INVALID"));
    assert!(html.contains("about 420 seconds ahead"), "clock difference worked out");
    assert!(html.contains("Check NTP") && html.contains("re-upload it"));

    let (_, filtered) = app.get_html("/admin/events?outcome=failure&code=SAML_SIGNATURE_INVALID").await;
    let table = filtered.split("<table id=\"events\"").nth(1).unwrap().split("</table>").next().unwrap();
    assert!(table.contains("SAML_SIGNATURE_INVALID") && !table.contains("SAML_ASSERTION_NOT_YET_VALID"));
    let (_, none) = app.get_html(&format!("/admin/events?sso={}", app.sso_id() + 1)).await;
    assert!(none.contains("No login matches the filter."));
}

#[tokio::test]
async fn admin_create_reads_the_password_from_stdin_or_generates_one() {
    use std::io::Write;
    use std::process::Stdio;
    let dir = tempfile::tempdir().unwrap();
    let run = |email: &str, stdin: Option<&str>| {
        let mut child = crate::support::spconnect(dir.path())
            .args(["admin", "create", "--email", email])
            .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        if let Some(s) = stdin {
            child.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
        }
        let out = child.wait_with_output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, out, err) = run("piped@example.org", Some("piped password 1234\n"));
    assert!(ok, "{err}");
    assert!(out.contains("created admin piped@example.org") && !out.contains("password:"), "{out}");
    let (ok, out, err) = run("gen@example.org", None);
    assert!(ok, "{err}");
    let generated =
        out.lines().find_map(|l| l.strip_prefix("password: ")).expect("generated password printed").to_string();
    assert_eq!(generated.len(), 20);
    let (ok, _, err) = run("short@example.org", Some("short\n"));
    assert!(!ok && err.contains("at least 12"), "{err}");
    let (ok, _, err) = run("piped@example.org", Some("another password 1234\n"));
    assert!(!ok && err.contains("already exists"), "{err}");

    let store = spconnect::store::Store::open(
        crate::support::database_url_for(dir.path()).as_deref(),
        &dir.path().join("spconnect.db"),
    )
    .await
    .unwrap();
    let stored = store.find_admin("GEN@example.org").await.unwrap().unwrap();
    assert!(stored.password_hash.starts_with("$argon2id$") && !stored.password_hash.contains(&generated));
    assert!(spconnect::admins::verify_password(&generated, &stored.password_hash));
    let attempt = spconnect::admins::SignInAttempt {
        email: "piped@example.org",
        password: "piped password 1234",
        client_addr: "127.0.0.1",
        device_token: None,
        now: 0,
    };
    let checks = std::sync::Arc::new(tokio::sync::Semaphore::new(1));
    assert!(spconnect::admins::sign_in(&store, &checks, attempt).await.is_ok());
}

#[tokio::test]
async fn a_scim_token_is_shown_once_with_its_base_url_and_works() {
    let app = TestApp::spawn().await;
    let csrf = app.sign_in_admin().await;
    let res = app.post_form("/admin/nodes", &[("csrf", csrf.as_str()), ("name", "Engineering"), ("parent", "1")]).await;
    assert_eq!(res.status(), 303);
    let node =
        app.svc.store.list_nodes().await.unwrap().into_iter().find(|n| n.name == "Engineering").expect("node created");
    let (_, html) = app.get_html("/admin/nodes").await;
    assert!(html.contains("Engineering") && html.contains("Enable SCIM for Engineering"));

    let res = app.post_form(&format!("/admin/nodes/{}/scim-token", node.node_id), &[("csrf", csrf.as_str())]).await;
    assert_eq!(res.status(), 200);
    let csp = res.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "{csp}");
    let html = res.text().await.unwrap();
    let token = html
        .split(r#"id="scim-token" type="text" readonly value=""#)
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("token shown")
        .to_string();
    let base = format!("{}/api/rest/scim/v2/{}", app.base, node.node_id);
    assert!(
        html.contains(&base) && html.contains("data-copy=\"scim-token\"") && html.contains("/static/admin-copy.js")
    );
    assert!(!html.contains("<script>"), "no inline script");
    let js = app.client.get(format!("{}/static/admin-copy.js", app.base)).send().await.unwrap();
    assert_eq!(js.status(), 200);

    // The token works against the SCIM server, and the call shows as the last provisioning call.
    let scim = app.client.get(format!("{base}/Users")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(scim.status(), 200);
    let (_, html) = app.get_html("/admin/nodes").await;
    assert!(!html.contains(&token), "the token is never shown again");
    assert!(html.contains("token last used") && html.contains("GET"), "{html}");
    let actions: Vec<String> =
        app.svc.store.list_audit(Some("idm_integration_"), 10).await.unwrap().into_iter().map(|a| a.action).collect();
    assert_eq!(actions, ["idm_integration_activate"]);
}

#[tokio::test]
async fn pending_teams_are_listed_with_members_and_approved() {
    let app = TestApp::spawn().await;
    let csrf = app.sign_in_admin().await;
    let store = &app.svc.store;
    let user = store
        .create_user(
            &NewUser {
                email: "tm@example.com",
                first_name: "T",
                last_name: "M",
                status: UserStatus::Active,
                provisioned_by: "scim",
                node_id: 1,
            },
            0,
        )
        .await
        .unwrap();
    let team = store
        .create_team(
            1,
            &spconnect::store::TeamWrite {
                name: "Platform".into(),
                external_id: None,
                members: Some(vec![user.user_id]),
            },
            0,
        )
        .await
        .unwrap();
    assert_eq!(team.status, "pending");
    let (_, html) = app.get_html("/admin/teams").await;
    assert!(
        html.contains("Platform")
            && html.contains("tm@example.com")
            && html.contains("Approve Platform")
            && html.contains("1 pending")
    );
    let res = app.post_form(&format!("/admin/teams/{}/approve", team.team_id), &[("csrf", csrf.as_str())]).await;
    assert_eq!(res.status(), 303);
    assert_eq!(store.get_team(team.team_id).await.unwrap().unwrap().status, "approved");
    let (_, html) = app.get_html("/admin/teams").await;
    assert!(html.contains("0 pending") && !html.contains("Approve Platform"));
}

#[tokio::test]
async fn login_failures_page_on_and_are_found_by_the_request_id_a_user_hands_over() {
    let app = TestApp::spawn().await;
    app.sign_in_admin().await;
    for i in 0..60 {
        let failure = NewFailure {
            sso_id: Some(app.sso_id()),
            reason_code: "SAML_SIGNATURE_INVALID".into(),
            detail: format!("failure {i}"),
            issuer: None,
            name_id: Some(format!("user{i}@example.com")),
            client_addr: Some("127.0.0.1".into()),
            request_id: format!("{i:032x}"),
            at: 1_800_000_000 + i,
        };
        app.svc.store.record_login_failure(&failure).await.unwrap();
    }
    let rows = |html: &str| {
        let table = html.split(r#"<table id="events">"#).nth(1).and_then(|t| t.split("</table>").next());
        table.unwrap_or("").split("<tbody>").nth(1).unwrap_or("").matches("<tr>").count()
    };
    let (_, first) = app.get_html("/admin/events").await;
    assert_eq!(rows(&first), 50, "one page");
    let older = first.split(r#"id="older-events" href=""#).nth(1).and_then(|s| s.split('"').next()).unwrap();
    let older = older.replace("&amp;", "&").replace("&#38;", "&");
    let (_, second) = app.get_html(&older).await;
    assert_eq!(rows(&second), 10, "the rest, nothing lost");
    assert!(!second.contains("id=\"older-events\""), "no page after the last");
    assert!(second.contains("user0@example.com") && !second.contains("user59@example.com"));

    let wanted = format!("{:032x}", 42);
    let (_, found) = app.get_html(&format!("/admin/events?request={}", wanted.to_uppercase())).await;
    assert_eq!(rows(&found), 1);
    assert!(found.contains("user42@example.com") && found.contains(&wanted), "{found}");
}

/// The loopback trap: URLs built on a loopback or private public URL work on this machine only,
/// and the configuration page says so (with the flag that fixes it) where the URLs are shown.
#[tokio::test]
async fn the_configuration_page_warns_when_the_public_url_is_loopback() {
    let app = TestApp::spawn().await;
    app.sign_in_admin().await;
    let (status, view) = app.get_html(&format!("/admin/sso/{}", app.sso_id())).await;
    assert_eq!(status, 200);
    let warning = view.split(r#"id="public-url-warning""#).nth(1).expect("warning on a 127.0.0.1 public URL");
    assert!(warning.contains(&format!("<code>{}</code>", app.svc.settings.public_url)), "{warning}");
    assert!(warning.contains("--public-url https://sso.your-company.example"), "{warning}");

    let public =
        TestApp::spawn_custom("jumpcloud.xml", None, |s| s.public_url = "https://sso.example.com".into()).await;
    public.sign_in_admin().await;
    let (status, view) = public.get_html(&format!("/admin/sso/{}", public.sso_id())).await;
    assert_eq!(status, 200);
    assert!(view.contains("https://sso.example.com/api/rest/sso/saml/"), "the URLs use the public URL");
    assert!(!view.contains("public-url-warning"), "no warning for a public host");
}
