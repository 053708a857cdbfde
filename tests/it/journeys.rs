//! The user journeys in a real browser (headless Chromium, default cookie rules). Each saves a
//! screenshot of its last page under target/journey-screenshots/.

use spconnect::store::{NewProvisioningEvent, NewUser, SsoSettings, UserStatus};

use crate::admin_console::{create_admin, ADMIN, PASSWORD};
use crate::live_idp::wire;
use crate::support::browser::Browser;
use crate::support::pysaml2::LiveIdp;
use crate::support::{serve_binary, spconnect, TestApp};

const TAB: &str = "\u{E004}";

async fn sign_in(b: &Browser, app: &TestApp) {
    b.goto(&app.admin_url("/admin/sso")).await;
    // Signed out, the console sends the browser to its sign-in page.
    b.find("#signin-title").await;
    assert!(b.url().await.ends_with("/admin/login"));
    b.type_into("#email", ADMIN).await;
    b.type_into("#password", PASSWORD).await;
    b.click("form[action='/admin/login'] button[type=submit]").await;
    b.find("#create-title").await;
}

/// Journey 0, the README's first screen: from an empty directory, `serve` (the real binary, its
/// self-signed certificate) → `admin create` → open /admin → create a configuration → export
/// its metadata to the IdP (a live pysaml2 IdP reads the downloaded file) → upload the IdP's
/// metadata → "Test login" opens the IdP in a new tab and comes back with a passing report.
#[tokio::test]
async fn journey_0_first_run_from_an_empty_directory_through_a_successful_test_login() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = serve_binary(dir.path());
    let banner = &server.banner;
    assert!(banner.contains(&format!("admin console: {}/admin", server.base)), "{banner}");
    assert!(banner.contains("no admin yet: run `spconnect admin create --email"), "{banner}");
    assert!(banner.contains("warning: the public URL is a loopback or private address"), "{banner}");

    let out = spconnect(dir.path())
        .args(["admin", "create", "--email", "it@example.com"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("admin create");
    let printed = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{printed}");
    let password = printed.lines().find_map(|l| l.strip_prefix("password: ")).expect("a generated password").trim();

    let b = Browser::start().await;
    b.goto(&format!("{}/admin", server.base)).await;
    b.find("#signin-title").await;
    b.screenshot("journey0-sign-in").await;
    b.type_into("#email", "it@example.com").await;
    b.type_into("#password", password).await;
    b.click("form[action='/admin/login'] button[type=submit]").await;
    b.type_into("#name", "Example JumpCloud").await;
    b.type_into("#domain", "example.com").await;
    b.click("form[action='/admin/sso'] button[type=submit]").await;
    let sso_id: i64 = b.text("#sso-id").await.parse().expect("SSO ID on the view");
    // The loopback trap is named where the URLs are.
    assert!(b.text("#public-url-warning").await.contains("--public-url"));
    b.screenshot("journey0-configuration-created").await;

    // The admin hands the exported metadata to the IdP, and uploads the IdP's.
    b.click("#export-metadata").await;
    let sp_metadata = b.downloaded(&format!("spconnect-{sso_id}-metadata.xml")).await;
    // Over HTTPS, as IdPs are (Chromium will not let the console's https form lead to http).
    let idp = LiveIdp::start(sp_metadata.to_str().expect("path"), &["--tls"]);
    let insecure = reqwest::Client::builder().danger_accept_invalid_certs(true).build().expect("client");
    let user = insecure
        .get(format!("{}/set-user?email=dana@example.com&first=Dana&last=Live", idp.base))
        .send()
        .await
        .expect("IdP set-user");
    assert_eq!(user.status(), 200);
    let idp_metadata = dir.path().join("idp-metadata.xml");
    std::fs::write(&idp_metadata, idp.metadata()).expect("write");
    b.click("#edit-link").await;
    b.type_into("#metadata", idp_metadata.to_str().expect("path")).await;
    b.click("#upload").await;
    assert_eq!(b.text("#notice").await, "IdP metadata uploaded.");

    b.click("#test-login").await;
    tokio::time::sleep(std::time::Duration::from_secs(4)).await;
    eprintln!("DEBUG serve log {}", std::fs::read_to_string(dir.path().join("serve.log")).unwrap_or_default());
    b.switch_to_new_tab().await;
    let outcome = b.text("#test-outcome").await;
    assert!(outcome.starts_with("Passed."), "{outcome}\n{}", idp.log());
    assert!(b.url().await.contains(&format!("/admin/sso/{sso_id}/test-login/")), "the report is the console's page");
    assert_eq!(b.text("#test-name-id").await, "dana@example.com");
    assert!(b.text("#test-would").await.contains("dana@example.com"));
    b.screenshot("journey0-test-login-passed").await;
    let violations = b.accessibility_violations().await;
    assert!(violations.is_empty(), "axe-core on the test login report: {violations:#?}");
    // Nobody was signed in to the vault by the test: the vault sends this browser to sign in.
    b.goto(&format!("{}/vault", server.base)).await;
    assert!(b.url().await.ends_with("/login"), "{}", b.url().await);
}

/// Journey 1: sign in, create a configuration, export its metadata and certificate (the files
/// land and parse), upload IdP metadata through the form (a bad file first, then a good one).
#[tokio::test]
async fn journey_1_admin_creates_a_configuration_exports_and_uploads_metadata() {
    let app = TestApp::spawn().await;
    create_admin(&app).await;
    let b = Browser::start().await;
    sign_in(&b, &app).await;

    b.type_into("#name", "Acme JumpCloud").await;
    b.type_into("#domain", "acme.test").await;
    b.click("form[action='/admin/sso'] button[type=submit]").await;
    let sso_id: i64 = b.text("#sso-id").await.parse().expect("SSO ID on the view");
    let urls = app.svc.urls(sso_id);
    assert_eq!(b.text("#entity-id").await, urls.entity_id);
    assert_eq!(b.text("#idp-initiated-login").await, urls.login);
    assert_eq!(b.text("#acs").await, urls.acs);
    assert_eq!(b.text("#slo").await, urls.slo);

    b.click("#export-metadata").await;
    b.click("#export-cert").await;
    let metadata = std::fs::read_to_string(b.downloaded(&format!("spconnect-{sso_id}-metadata.xml")).await)
        .expect("metadata file");
    let doc = roxmltree::Document::parse(&metadata).expect("downloaded metadata parses");
    assert_eq!(doc.root_element().tag_name().name(), "EntityDescriptor");
    assert_eq!(doc.root_element().attribute("entityID"), Some(urls.entity_id.as_str()));
    let pem = std::fs::read(b.downloaded(&format!("spconnect-{sso_id}-sp.crt")).await).expect("cert file");
    let cert = openssl::x509::X509::from_pem(&pem).expect("downloaded SP certificate parses");
    let cert_b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, cert.to_der().expect("der"));
    assert!(metadata.contains(&cert_b64), "the certificate is the one in the metadata");

    b.click("#edit-link").await;
    let bad = app.data_dir().join("not-idp-metadata.xml");
    std::fs::write(&bad, &metadata).expect("write");
    b.type_into("#metadata", bad.to_str().expect("path")).await;
    b.click("#upload").await;
    let error = b.text("#edit-error").await;
    assert!(error.contains("The metadata was not accepted: no IDPSSODescriptor found"), "{error}");

    let key = crate::support::keys::generate("idp.acme.test");
    let good = app.data_dir().join("jumpcloud-idp-metadata.xml");
    let xml = crate::support::idp_metadata(
        "jumpcloud.xml",
        "https://sso.jumpcloud.com/saml2/acme",
        "https://sso.jumpcloud.com/saml2/acme/sso",
        &key,
        None,
    );
    std::fs::write(&good, xml).expect("write");
    b.type_into("#metadata", good.to_str().expect("path")).await;
    b.click("#upload").await;
    assert_eq!(b.text("#notice").await, "IdP metadata uploaded.");
    assert!(b.text("#status").await.contains("https://sso.jumpcloud.com/saml2/acme"));
    b.screenshot("journey1-configuration-view").await;

    // Keyboard: from the "Skip to content" link, Tab reaches the page's links in order.
    b.goto(&app.admin_url(&format!("/admin/sso/{sso_id}"))).await;
    b.find("#entity-id").await;
    let mut seen = Vec::new();
    for _ in 0..16 {
        b.keys(TAB).await;
        seen.push(b.focused_id().await);
    }
    assert!(seen.contains(&"export-metadata".to_string()) && seen.contains(&"export-cert".to_string()), "{seen:?}");

    // Narrow screen: the console reflows instead of scrolling sideways.
    b.set_window_size(380, 900).await;
    b.goto(&app.admin_url("/admin/events")).await;
    b.find("#events").await;
    b.goto(&app.admin_url(&format!("/admin/sso/{sso_id}"))).await;
    b.find("#entity-id").await;
    assert!(b.scroll_width().await <= 400, "the view fits a narrow screen");
    b.screenshot("journey1-configuration-view-narrow").await;
}

/// The vault page in the browser shows this email.
async fn assert_vault(b: &Browser, email: &str) {
    assert_eq!(b.text("#user-email").await, email);
    assert!(b.url().await.ends_with("/vault"));
}

/// Journey 2: SP-initiated: the Login URL → the live pysaml2 IdP (its page auto-posts) → ACS → vault.
#[tokio::test]
async fn journey_2_sp_initiated_login_lands_in_the_vault() {
    let app = TestApp::spawn().await;
    let _idp = wire(&app, &[]).await;
    let b = Browser::start().await;
    b.goto(&app.login_url()).await;
    assert_vault(&b, "dana@example.com").await;
    assert!(b.text("#user-name").await.contains("Dana Live"));
    b.screenshot("journey2-sp-initiated-vault").await;
}

/// Journey 3: IdP-initiated tile launch: the IdP posts an unsolicited response to the ACS.
#[tokio::test]
async fn journey_3_idp_initiated_tile_launch_lands_in_the_vault() {
    let app = TestApp::spawn().await;
    let idp = wire(&app, &["--sign-response"]).await;
    let b = Browser::start().await;
    let sp = url::form_urlencoded::byte_serialize(app.entity_id().as_bytes()).collect::<String>();
    b.goto(&format!("{}/launch?sp={sp}&relay_state=/vault", idp.base)).await;
    assert_vault(&b, "dana@example.com").await;
    b.screenshot("journey3-idp-initiated-vault").await;
}

async fn refusal(b: &Browser, app: &TestApp, idp: &LiveIdp, email: &str) -> (String, String) {
    let set = format!("{}/set-user?email={email}&first=Ref&last=Used", idp.base);
    assert_eq!(app.client.get(set).send().await.expect("set-user").status(), 200);
    b.goto(&app.login_url()).await;
    let code = b.text("#reason-code").await;
    let page = b.text("main").await;
    assert!(!b.text("#request-id").await.is_empty());
    (code, page)
}

/// Journey 4: a locked user and an unknown user with JIT off each see a clear refusal.
#[tokio::test]
async fn journey_4_locked_and_unprovisioned_users_see_a_clear_refusal() {
    let app = TestApp::spawn().await;
    let idp = wire(&app, &[]).await;
    let locked = NewUser {
        email: "lou@example.com",
        first_name: "Lou",
        last_name: "Locked",
        status: UserStatus::Locked,
        provisioned_by: "scim",
        node_id: 1,
    };
    app.svc.store.create_user(&locked, 0).await.expect("user");
    let b = Browser::start().await;

    let (code, page) = refusal(&b, &app, &idp, "lou@example.com").await;
    assert_eq!(code, "USER_LOCKED");
    assert!(page.contains("Your account is locked"), "{page}");
    b.screenshot("journey4-locked-user").await;

    app.set(SsoSettings { jit: Some(false), ..Default::default() }).await;
    let (code, page) = refusal(&b, &app, &idp, "newcomer@example.com").await;
    assert_eq!(code, "USER_NOT_PROVISIONED");
    assert!(page.contains("has not been set up for this service"), "{page}");
    assert!(
        app.svc.store.find_user_by_email("newcomer@example.com").await.expect("store").is_none(),
        "nobody was created"
    );
    b.screenshot("journey4-jit-off-unknown-user").await;
}

/// The one script in the console (the SCIM token page's copy buttons) loads and runs under
/// that page's CSP; the token is shown once.
#[tokio::test]
async fn scim_token_copy_button_runs_under_the_strict_csp() {
    let app = TestApp::spawn().await;
    create_admin(&app).await;
    let b = Browser::start().await;
    sign_in(&b, &app).await;
    b.click("a[href='/admin/nodes']").await;
    b.click("form[action='/admin/nodes/1/scim-token'] button").await;
    let token = b.find("#scim-token").await;
    assert!(!token.is_empty());
    assert!(b.source().await.contains("/api/rest/scim/v2/1"));
    b.click("button[data-copy='scim-token']").await;
    for _ in 0..50 {
        if b.text("#copy-status").await == "Copied." {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(b.text("#copy-status").await, "Copied.", "the copy script ran");
    b.screenshot("scim-token-page").await;
}

/// Day 300 in the browser: roll the SP key over with the configuration page's buttons (the
/// activation asks for its confirmation box first), then turn the configuration off.
#[tokio::test]
async fn journey_5_sp_key_rollover_and_deactivation_from_the_console() {
    let app = TestApp::spawn().await;
    create_admin(&app).await;
    let b = Browser::start().await;
    sign_in(&b, &app).await;
    let id = app.sso_id();
    b.goto(&app.admin_url(&format!("/admin/sso/{id}"))).await;
    b.click("#start-rollover").await;
    b.find("#activate-next-key").await;
    assert!(b.source().await.contains("<td>next</td>"));
    // Without the confirmation box ticked, the browser does not submit the form.
    b.click("#activate-next-key").await;
    assert!(b.source().await.contains("<td>next</td>"), "not activated without the confirmation");
    b.click("form[action$='/keys/activate'] input[name=confirm]").await;
    b.click("#activate-next-key").await;
    b.find("#retire-previous-key").await;
    b.screenshot("journey5-sp-key-rollover-activated").await;
    b.click("form[action$='/keys/retire'] input[name=confirm]").await;
    b.click("#retire-previous-key").await;
    b.find("#start-rollover").await;
    assert_eq!(app.svc.store.sp_keys_of(id).await.unwrap().len(), 1);

    b.click("form[action$='/deactivate'] input[name=confirm]").await;
    b.click("#deactivate").await;
    b.find("#deactivated-state").await;
    b.screenshot("journey5-configuration-turned-off").await;
    b.goto(&app.login_url()).await;
    assert!(b.source().await.contains("SSO_DEACTIVATED"));
    b.screenshot("journey5-sign-in-turned-off").await;
    // Everything else about the configuration is on its Edit page: name, domain, node, every
    // switch, the logout behaviour, and the IdP metadata URL.
    b.goto(&app.admin_url(&format!("/admin/sso/{id}/edit"))).await;
    b.find("#save-identity").await;
    let page = b.source().await;
    for field in ["id=\"domain\"", "id=\"allow_sha1\"", "id=\"logout_idp\"", "name=\"url\""] {
        assert!(page.contains(field), "{field} on the Edit page");
    }
    b.screenshot("journey5-edit-page").await;
}

/// Single Logout in the browser: signed in through the live pysaml2 IdP, "Log out" with the
/// configuration set to log out of the IdP too: the browser visits the IdP's SLO endpoint and
/// lands on the signed-out page; the vault no longer knows it.
#[tokio::test]
async fn journey_6_sign_out_of_the_vault_and_the_idp() {
    let app = TestApp::spawn().await;
    let _idp = wire(&app, &[]).await;
    app.set(SsoSettings { logout_idp: Some(true), ..Default::default() }).await;
    let b = Browser::start().await;
    b.goto(&app.login_url()).await;
    assert_vault(&b, "dana@example.com").await;
    b.click("form[action='/logout'] button[type=submit]").await;
    b.find("#signed-out-title").await;
    b.screenshot("journey6-signed-out-of-the-idp").await;
    b.goto(&format!("{}/vault", app.base)).await;
    b.find("form[action='/login']").await;
    assert!(b.url().await.ends_with("/login"), "the vault asks to sign in again");
}

/// The configuration's URLs each have a copy button that puts exactly the URL on the
/// clipboard's selection, under the strict CSP (the script comes from /static).
#[tokio::test]
async fn the_configuration_urls_have_copy_buttons() {
    let app = TestApp::spawn().await;
    create_admin(&app).await;
    let b = Browser::start().await;
    sign_in(&b, &app).await;
    b.goto(&app.admin_url(&format!("/admin/sso/{}", app.sso_id()))).await;
    for id in ["entity-id", "idp-initiated-login", "acs", "slo"] {
        b.click(&format!("button[data-copy='{id}']")).await;
        assert_eq!(b.text("#copy-status").await, "Copied.", "{id}");
    }
    b.screenshot("configuration-view-copy-buttons").await;
}

/// Every console page, the sign-in pages, the vault, an error page and the signed-out page,
/// checked in the real Chromium by axe-core: no serious or critical accessibility violation.
#[tokio::test]
async fn accessibility_of_every_page_checked_by_axe_core() {
    let app = TestApp::spawn().await;
    let _idp = wire(&app, &[]).await;
    create_admin(&app).await;
    many_users(&app, 60).await;
    app.svc.store.record_provisioning_event(&scim_creation("sam@example.com")).await.unwrap();
    let b = Browser::start().await;
    let mut found = Vec::new();
    let mut check =
        |page: String, violations: Vec<String>| found.extend(violations.into_iter().map(|v| format!("{page}: {v}")));

    b.goto(&app.admin_url("/admin/login")).await;
    b.find("#signin-title").await;
    check("/admin/login".into(), b.accessibility_violations().await);
    // The checker itself works: an image without a text alternative is a critical violation.
    b.execute("document.querySelector('main').appendChild(document.createElement('img')).src = '/x.png';").await;
    let planted = b.accessibility_violations().await;
    assert!(planted.iter().any(|v| v.starts_with("image-alt (critical)")), "{planted:?}");
    sign_in(&b, &app).await;
    let sso = app.sso_id().to_string();
    for path in spconnect::web::routes::admin::GET_PAGES.iter().filter(|p| **p != "/admin") {
        let path = path.replace("{sso_id}", &sso);
        b.goto(&app.admin_url(&path)).await;
        b.find("main").await;
        check(path, b.accessibility_violations().await);
    }
    // The events page's other tabs (with rows), a second page of users, and a refused form
    // with its field marked.
    for path in ["/admin/events?view=scim", "/admin/events?view=audit", "/admin/users?page=2"] {
        b.goto(&app.admin_url(path)).await;
        b.find("main").await;
        check(path.into(), b.accessibility_violations().await);
    }
    b.goto(&app.admin_url("/admin/sso")).await;
    b.type_into("#name", "Refused").await;
    b.type_into("#domain", "not a domain").await;
    b.click("form[action='/admin/sso'] button[type=submit]").await;
    b.find("#domain-error").await;
    check("/admin/sso (refused)".into(), b.accessibility_violations().await);
    for path in ["/login", "/no/such/page"] {
        b.goto(&format!("{}{path}", app.base)).await;
        b.find("main, body").await;
        check(path.into(), b.accessibility_violations().await);
    }
    b.goto(&app.login_url()).await;
    assert_vault(&b, "dana@example.com").await;
    check("/vault".into(), b.accessibility_violations().await);
    assert!(found.is_empty(), "accessibility violations:\n{}", found.join("\n"));
}

/// Journey 8: an admin whose email is in the configuration's domain signs in to the console
/// through the IdP (the ACS parks the sign-in, the hand-over page's own navigation carries it
/// into the console's SameSite=Strict session); a test login's report opens in a new tab.
#[tokio::test]
async fn journey_8_console_sign_in_through_the_idp_and_a_test_login() {
    let app = TestApp::spawn().await;
    let idp = wire(&app, &[]).await;
    spconnect::ops::admins::create(&app.svc, &spconnect::ops::Actor::Cli, "dana@example.com", PASSWORD.into(), 0)
        .await
        .expect("admin");
    app.set(SsoSettings { admin_signin: Some(true), ..Default::default() }).await;
    let b = Browser::start().await;
    b.goto(&app.admin_url("/admin/login")).await;
    b.type_into("#sso-email", "dana@example.com").await;
    b.screenshot("journey8-sign-in-with-the-idp").await;
    let violations = b.accessibility_violations().await;
    assert!(violations.is_empty(), "axe-core on the sign-in page: {violations:#?}");
    b.click("#sso-signin").await;
    b.find("#create-title").await;
    assert!(b.url().await.ends_with("/admin/sso"), "{}", b.url().await);
    assert!(b.source().await.contains("dana@example.com"), "signed in as the IdP's user");
    b.screenshot("journey8-signed-in-through-the-idp").await;

    b.goto(&app.admin_url(&format!("/admin/sso/{}", app.sso_id()))).await;
    b.click("#test-login").await;
    b.switch_to_new_tab().await;
    let outcome = b.text("#test-outcome").await;
    assert!(outcome.starts_with("Passed."), "{outcome}\n{}", idp.log());
    assert_eq!(b.text("#test-name-id").await, "dana@example.com");
}

async fn many_users(app: &TestApp, n: usize) {
    for i in 0..n {
        let email = format!("user{i:03}@example.com");
        let new = NewUser {
            email: &email,
            first_name: "Many",
            last_name: "Users",
            status: UserStatus::Active,
            provisioned_by: "scim",
            node_id: 1,
        };
        app.svc.store.create_user(&new, 0).await.unwrap();
    }
}

fn scim_creation(email: &str) -> NewProvisioningEvent<'_> {
    NewProvisioningEvent {
        at: chrono::Utc::now().timestamp(),
        node_id: 1,
        event: "user_create_provision",
        method: "POST",
        target: Some(email),
        success: true,
        reason: None,
        detail: None,
        request_id: "00000000000000000000000000000001",
        client_addr: Some("192.0.2.1"),
    }
}

/// Wait until the element `css` reads `expected` (the page after a click has loaded).
async fn wait_text(b: &Browser, css: &str, expected: &str) {
    for _ in 0..50 {
        if b.text(css).await == expected {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(b.text(css).await, expected, "{css}");
}

/// The console's long lists and a refused form: 120 users paged by 50 with the search kept on
/// the next page, a SCIM creation in the SCIM tab of the events page, and a configuration
/// refused for its domain, shown again with what was typed and the domain field marked.
#[tokio::test]
async fn journey_7_users_paged_scim_events_and_a_refused_form() {
    let app = TestApp::spawn().await;
    create_admin(&app).await;
    many_users(&app, 120).await;
    let b = Browser::start().await;
    sign_in(&b, &app).await;

    b.click("a[href='/admin/users']").await;
    wait_text(&b, "#users-count", "Users 1–50 of 120.").await;
    b.type_into("#q", "user0").await;
    b.click("form[action='/admin/users'] button[type=submit]").await;
    wait_text(&b, "#users-count", "Users 1–50 of 100 matching the filter (120 in all).").await;
    b.click("#next-page").await;
    wait_text(&b, "#page-position", "Page 2 of 2").await;
    assert_eq!(b.text("#users-count").await, "Users 51–100 of 100 matching the filter (120 in all).");
    assert_eq!(b.execute("return document.getElementById('q').value").await, "user0", "the search is kept");
    assert!(b.source().await.contains("user099@example.com"));
    b.find("#previous-page").await;
    b.execute("document.getElementById('page-position').scrollIntoView({block: 'center'})").await;
    b.screenshot("journey7-users-paged").await;

    let scim = app.scim().await;
    scim.create_user("sam@example.com").await;
    b.click("a[href='/admin/events']").await;
    b.click("#tab-scim").await;
    let table = b.text("#scim-events").await;
    assert!(table.contains("sam@example.com") && table.contains("POST user_create_provision"), "{table}");
    assert_eq!(b.execute("return document.getElementById('tab-scim').getAttribute('aria-current')").await, "page");
    b.screenshot("journey7-scim-events-tab").await;

    b.click("a[href='/admin/sso']").await;
    b.type_into("#name", "Acme Typed").await;
    b.type_into("#domain", "acme .test").await;
    b.click("form[action='/admin/sso'] button[type=submit]").await;
    let error = b.text("#domain-error").await;
    assert!(error.contains("is not a domain name"), "{error}");
    let attr = |name: &str| format!("return document.getElementById('domain').getAttribute('{name}')");
    assert_eq!(b.execute(&attr("aria-invalid")).await, "true");
    assert_eq!(b.execute(&attr("aria-describedby")).await, "domain-hint domain-error");
    assert_eq!(b.execute("return document.getElementById('name').value").await, "Acme Typed");
    assert_eq!(b.execute("return document.getElementById('domain').value").await, "acme .test");
    b.screenshot("journey7-refused-form-domain-marked").await;
    let violations = b.accessibility_violations().await;
    assert!(violations.is_empty(), "{violations:?}");
}

/// Journey 9: a refused user hands over the request ID from their error page and the admin
/// finds that login by it; locking a user asks for confirmation; unknown console addresses
/// and a wrong method get a real page.
#[tokio::test]
async fn journey_9_failure_found_by_request_id_lock_confirmation_and_the_404_page() {
    let app = TestApp::spawn().await;
    let idp = wire(&app, &[]).await;
    create_admin(&app).await;
    app.set(SsoSettings { jit: Some(false), ..Default::default() }).await;
    let b = Browser::start().await;
    let (code, _) = refusal(&b, &app, &idp, "newcomer@example.com").await;
    assert_eq!(code, "USER_NOT_PROVISIONED");
    let request_id = b.text("#request-id").await;

    sign_in(&b, &app).await;
    b.goto(&app.admin_url("/admin/events")).await;
    b.type_into("#request", &request_id).await;
    b.click("form[action='/admin/events'] button[type=submit]").await;
    b.find("#events").await;
    let found = b.text("#events tbody").await;
    assert!(found.contains("USER_NOT_PROVISIONED") && found.contains("newcomer@example.com"), "{found}");
    assert_eq!(found.matches(&request_id).count(), 1, "exactly that login: {found}");
    assert!(b.url().await.contains(&format!("request={request_id}")));
    b.screenshot("journey9-failure-found-by-request-id").await;

    // Locking a user: the button does nothing until the confirmation is ticked.
    app.set(SsoSettings { jit: Some(true), ..Default::default() }).await;
    b.goto(&app.login_url()).await;
    b.find("#user-email").await;
    b.goto(&app.admin_url("/admin/users")).await;
    b.click("button[aria-label='Lock newcomer@example.com']").await;
    assert!(b.url().await.ends_with("/admin/users"), "not submitted without the confirmation");
    assert!(b.source().await.contains("aria-label=\"Lock newcomer@example.com\""));
    b.screenshot("journey9-lock-asks-for-confirmation").await;
    b.click("input[aria-label='Confirm locking newcomer@example.com']").await;
    b.click("button[aria-label='Lock newcomer@example.com']").await;
    assert!(b.text("#flash").await.contains("newcomer@example.com is locked"));
    assert!(b.source().await.contains("aria-label=\"Unlock newcomer@example.com\""));

    // A mistyped console address and GET on the ACS: pages with a reason code, not empty bodies.
    b.goto(&app.admin_url("/admin/no-such-page")).await;
    assert_eq!(b.text("#err-title").await, "Page not found");
    assert_eq!(b.text("#reason-code").await, "NOT_FOUND");
    b.screenshot("journey9-not-found").await;
    let violations = b.accessibility_violations().await;
    assert!(violations.is_empty(), "axe-core on the 404 page: {violations:#?}");
    b.goto(&app.acs()).await;
    assert_eq!(b.text("#reason-code").await, "METHOD_NOT_ALLOWED");
    assert_eq!(b.text("#err-title").await, "Not allowed at this address");
}
