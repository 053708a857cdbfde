//! Admin accounts from the console: add one and give one a new password (generated, shown once
//! on a page nothing caches), over HTTP against the real router.

use crate::admin_console::{csrf_in, ADMIN, PASSWORD};
use crate::support::TestApp;

/// The generated password on the shown-once page.
fn password_in(html: &str) -> String {
    html.split(r#"id="admin-password" type="text" readonly value=""#)
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("the password on the page")
        .to_string()
}

/// A second browser on the same service.
fn browser(app: &TestApp) -> TestApp {
    browser_with(app, std::sync::Arc::new(reqwest::cookie::Jar::default()))
}

/// A second browser whose cookies the test can read.
fn browser_with(app: &TestApp, jar: std::sync::Arc<reqwest::cookie::Jar>) -> TestApp {
    TestApp {
        base: app.base.clone(),
        svc: app.svc.clone(),
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_provider(jar)
            .build()
            .unwrap(),
        dir: tempfile::tempdir().unwrap(),
        sso: app.sso.clone(),
        idp_key: app.idp_key.clone(),
        idp_entity_id: app.idp_entity_id.clone(),
        idp_sso_url: app.idp_sso_url.clone(),
    }
}

async fn admin_id(app: &TestApp, email: &str) -> i64 {
    app.svc.store.find_admin(email).await.unwrap().expect("admin").admin_id
}

#[tokio::test]
async fn an_admin_is_added_from_the_console_with_a_password_shown_once() {
    let app = TestApp::spawn().await;
    let csrf = app.sign_in_admin().await;
    let res = app.post_form("/admin/admins", &[("csrf", &csrf), ("email", " New.Admin@Example.org ")]).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let html = res.text().await.unwrap();
    assert!(html.contains("Admin new.admin@example.org added"), "{html}");
    let password = password_in(&html);
    assert!(password.len() >= 16, "a generated password: {password}");
    let other = browser(&app);
    assert_eq!(other.try_sign_in("new.admin@example.org", &password).await.status(), 303, "it signs in");
    let audit = app.svc.store.list_audit(Some("admin.create"), 10).await.unwrap();
    assert!(audit.iter().any(|a| a.admin_email == ADMIN && a.target == "new.admin@example.org"), "{audit:?}");

    // Refused: the email comes back as typed, its field marked; nothing is created.
    for (typed, why) in [("not an email", "is not an email address"), ("new.admin@example.org", "")] {
        let res = app.post_form("/admin/admins", &[("csrf", &csrf), ("email", typed)]).await;
        assert_eq!(res.status(), 422, "{typed}");
        let html = res.text().await.unwrap();
        assert!(
            html.contains(&format!(
                r#"value="{typed}" aria-describedby="new_email-hint new_email-error" aria-invalid="true""#
            )),
            "{html}"
        );
        assert!(html.contains(why), "{html}");
        assert!(!html.contains("admin-password"), "no password shown");
    }
    assert_eq!(app.svc.store.list_admins().await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_new_password_from_the_console_ends_the_old_one_and_its_sessions() {
    let app = TestApp::spawn().await;
    let csrf = app.sign_in_admin().await;
    spconnect::ops::admins::create(&app.svc, &spconnect::ops::Actor::Cli, "ops@example.org", PASSWORD.into(), 0)
        .await
        .unwrap();
    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    let ops = browser_with(&app, jar.clone());
    assert_eq!(ops.try_sign_in("ops@example.org", PASSWORD).await.status(), 303);
    assert_eq!(ops.get_html("/admin/sso").await.0, 200);
    // The browser is now a known device of that account (its own throttle bucket).
    let device = {
        use reqwest::cookie::CookieStore;
        let url = url::Url::parse(&ops.admin_url("/admin/login")).unwrap();
        let cookies = jar.cookies(&url).expect("cookies for the sign-in page");
        let cookies = cookies.to_str().unwrap().to_string();
        let token = cookies.split("; ").find_map(|c| c.strip_prefix("spconnect_admin_device=")).expect("device cookie");
        spconnect::admins::device_hash(token)
    };
    assert!(app.svc.store.admin_device_known("ops@example.org", &device).await.unwrap());
    let target = admin_id(&app, "ops@example.org").await;
    let path = format!("/admin/admins/{target}/reset-password");

    // Not confirmed: nothing changes.
    let res = app.post_form(&path, &[("csrf", &csrf)]).await;
    assert_eq!(res.status(), 409);
    assert!(res.text().await.unwrap().contains("Nothing was changed"));
    assert_eq!(ops.get_html("/admin/sso").await.0, 200, "their session goes on");

    let res = app.post_form(&path, &[("csrf", &csrf), ("confirm", "yes")]).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let html = res.text().await.unwrap();
    assert!(html.contains("New password for ops@example.org"), "{html}");
    let password = password_in(&html);
    // Their session, begun with the old password, has ended; the old password is refused.
    assert_eq!(ops.get_html("/admin/sso").await.0, 303, "signed out");
    assert_eq!(ops.try_sign_in("ops@example.org", PASSWORD).await.status(), 401);
    assert!(html.contains("Do not reload this page"), "the page warns that a reload sets another password");
    assert!(
        !app.svc.store.admin_device_known("ops@example.org", &device).await.unwrap(),
        "a browser that knew the old password is no longer a known device"
    );
    assert_eq!(ops.try_sign_in("ops@example.org", &password).await.status(), 303);
    assert_eq!(ops.get_html("/admin/sso").await.0, 200);
    let audit = app.svc.store.list_audit(Some("admin.reset_password"), 10).await.unwrap();
    assert!(audit.iter().any(|a| a.admin_email == ADMIN && a.target == "ops@example.org"), "{audit:?}");

    // One's own new password: this session carries on, another of one's sessions ends.
    let second = browser(&app);
    assert_eq!(second.try_sign_in(ADMIN, PASSWORD).await.status(), 303);
    let me = admin_id(&app, ADMIN).await;
    let (_, page) = app.get_html("/admin/admins").await;
    let res = app
        .post_form(&format!("/admin/admins/{me}/reset-password"), &[("csrf", &csrf_in(&page)), ("confirm", "yes")])
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(app.get_html("/admin/admins").await.0, 200, "the admin who reset it stays signed in");
    assert_eq!(second.get_html("/admin/admins").await.0, 303, "their other session ended");
}

/// A console left open (or a stolen session cookie) cannot mint credentials: adding an admin or
/// setting a password needs a recent sign-in (10 minutes; 0 seconds here, so one second later
/// the sign-in is too old).
#[tokio::test]
async fn adding_an_admin_or_setting_a_password_needs_a_recent_sign_in() {
    let app = TestApp::spawn_custom("jumpcloud.xml", None, |s| s.admin_recent_signin_secs = 0).await;
    let csrf = app.sign_in_admin().await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let me = admin_id(&app, ADMIN).await;
    let res = app.post_form("/admin/admins", &[("csrf", &csrf), ("email", "late@example.org")]).await;
    assert_eq!(res.status(), 409);
    assert!(res.text().await.unwrap().contains("needs a sign-in within the last"));
    let res =
        app.post_form(&format!("/admin/admins/{me}/reset-password"), &[("csrf", &csrf), ("confirm", "yes")]).await;
    assert_eq!(res.status(), 409);
    assert_eq!(app.svc.store.list_admins().await.unwrap().len(), 1, "nobody added");
    assert_eq!(app.get_html("/admin/sso").await.0, 200, "the password is unchanged: the session goes on");
    assert!(app.try_sign_in(ADMIN, PASSWORD).await.status() == 303, "the old password still works");
}
