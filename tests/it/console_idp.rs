//! The console's own uses of the IdP, over HTTP against the real router: the test login (a
//! report of every check, nobody signed in, only for the admin who started it) and console
//! sign-in through the IdP (only for admin accounts, only where the configuration allows it).
//! Responses are signed by xmlsec1, not by our code.

use spconnect::store::SsoSettings;

use crate::admin_console::{create_admin, csrf_in, ADMIN, PASSWORD};
use crate::support::xmlsec::b64;
use crate::support::{inflate, reason_code, TestApp, ALICE};

/// The IdP URL's RelayState and the AuthnRequest ID inside its SAMLRequest.
fn request_of(location: &str) -> (String, String) {
    let url = url::Url::parse(location).expect("IdP URL");
    let get = |name: &str| url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.to_string());
    let xml = inflate(&get("SAMLRequest").expect("SAMLRequest"));
    let doc = roxmltree::Document::parse(&xml).expect("AuthnRequest");
    (get("RelayState").expect("RelayState"), doc.root_element().attribute("ID").expect("ID").to_string())
}

/// Where a console form's hand-over page sends the browser: the IdP's SSO URL with the
/// AuthnRequest. (A page, not a redirect: a form's redirect to another origin is blocked by the
/// console's CSP `form-action 'self'`, which Chromium also applies to redirects.)
async fn idp_url(app: &TestApp, res: reqwest::Response) -> String {
    assert_eq!(res.status(), 200, "a hand-over page");
    assert_eq!(res.headers()["cache-control"], "no-store");
    // askama writes `&` as `&#38;` inside the attribute.
    let location = result_link(&res.text().await.unwrap()).replace("&#38;", "&");
    assert!(location.starts_with(&app.idp_sso_url), "{location}");
    location
}

/// Start a test login as the signed-in admin: (RelayState, request ID).
async fn start_test(app: &TestApp, csrf: &str) -> (String, String) {
    let res = app.post_form(&format!("/admin/sso/{}/test-login", app.sso_id()), &[("csrf", csrf)]).await;
    request_of(&idp_url(app, res).await)
}

fn result_link(html: &str) -> String {
    html.split(r#"id="handoff-link" href=""#).nth(1).and_then(|s| s.split('"').next()).expect("hand-over link").into()
}

#[tokio::test]
async fn a_test_login_reports_every_check_and_signs_nobody_in() {
    let app = TestApp::spawn().await;
    let csrf = app.sign_in_admin().await;
    let (relay, request_id) = start_test(&app, &csrf).await;
    assert_eq!(relay, format!("spconnect-test:{request_id}"));
    let mut spec = app.spec(ALICE);
    spec.in_response_to = Some(request_id.clone());
    let response = b64(&spec.signed_xml(&app.idp_key));

    let res = app.post_acs_raw(&response, Some(&relay)).await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    let link = result_link(&html);
    assert_eq!(link, format!("/admin/sso/{}/test-login/{request_id}", app.sso_id()));
    assert!(html.contains(&format!(r#"<meta http-equiv="refresh" content="0;url={link}">"#)), "{html}");

    let (status, report) = app.get_html(&link).await;
    assert_eq!(status, 200);
    assert!(report.contains("<strong>Passed.</strong>"), "{report}");
    for (check, _) in spconnect::saml::response::trace::CHECKS {
        assert!(report.contains(&format!("<th scope=\"row\">{check}</th>")), "{check} is listed");
    }
    assert!(!report.contains("refused</strong>") && !report.contains("not reached"), "{report}");
    assert!(report.contains("alice@example.com is new: Just-In-Time provisioning would create it"), "{report}");
    assert!(report.contains(r#"<code id="test-name-id">alice@example.com</code>"#), "{report}");

    // Nobody was signed in or created, and the assertion is spent: it cannot sign Alice in now.
    assert_eq!(app.whoami().await, None);
    assert_eq!(app.counts().await.users, 0);
    let (status, code) = reason_code(app.post_acs(&response, None).await).await;
    assert_eq!((status, code.as_str()), (403, "SAML_ASSERTION_REPLAYED"));
    // …nor make a second report: the test request was answered.
    let (status, code) = reason_code(app.post_acs_raw(&response, Some(&relay)).await).await;
    assert_eq!((status, code.as_str()), (403, "SAML_IN_RESPONSE_TO_USED"));
    assert_eq!(app.counts().await.users, 0);
    let audit = app.svc.store.list_audit(Some("sso.test_login"), 10).await.unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!((audit[0].admin_email.as_str(), audit[0].detail.as_str()), (ADMIN, "passed"));
}

#[tokio::test]
async fn a_refused_test_login_names_the_check_its_code_and_the_fix() {
    let app = TestApp::spawn().await;
    let csrf = app.sign_in_admin().await;
    let (relay, request_id) = start_test(&app, &csrf).await;
    let mut spec = app.spec(ALICE);
    spec.in_response_to = Some(request_id);
    // Signed with a key that is not in the IdP's metadata (the IdP rotated its certificate).
    let rotated = crate::support::keys::generate("rotated.idp.example.net");
    let res = app.post_acs_raw(&b64(&spec.signed_xml(&rotated)), Some(&relay)).await;
    assert_eq!(res.status(), 200);
    let (status, report) = app.get_html(&result_link(&res.text().await.unwrap())).await;
    assert_eq!(status, 200);
    assert!(report.contains(r#"<code id="test-code">SAML_SIGNATURE_INVALID</code>"#), "{report}");
    assert!(report.contains("usually the IdP rotated its signing certificate"), "the meaning is explained");
    assert!(
        report.contains(&format!(r#"id="test-fix-action" href="/admin/sso/{}/edit#idp-title""#, app.sso_id())),
        "the fix is a button: {report}"
    );
    let row = |check: &str| {
        report.split(&format!("<th scope=\"row\">{check}</th>")).nth(1).and_then(|s| s.split("</tr>").next()).unwrap()
    };
    assert!(row("Decoding").contains("<strong>passed</strong>"));
    assert!(row("Signature").contains("<strong>refused</strong>"));
    assert!(row("Audience").contains("<strong>not reached</strong>"));
    // Unverified content is never shown as the IdP's.
    assert!(report.contains(r#"id="no-attributes""#) && !report.contains("test-name-id"), "{report}");
    assert_eq!(app.whoami().await, None);
}

#[tokio::test]
async fn a_test_request_never_signs_a_user_in_and_a_login_request_never_makes_a_report() {
    let app = TestApp::spawn().await;
    let csrf = app.sign_in_admin().await;
    // The test's answer with its RelayState stripped or replaced takes the login path, which
    // does not know the test request.
    let (_, test_request) = start_test(&app, &csrf).await;
    let mut spec = app.spec(ALICE);
    spec.in_response_to = Some(test_request.clone());
    let answer = b64(&spec.signed_xml(&app.idp_key));
    for relay in [None, Some(test_request.as_str()), Some("/vault")] {
        let (status, code) = reason_code(app.post_acs(&answer, relay).await).await;
        assert_eq!((status, code.as_str()), (403, "SAML_IN_RESPONSE_TO_UNKNOWN"), "RelayState {relay:?}");
    }
    // A user's login request named in a test RelayState: no report, no login.
    let (login_request, _) = app.start_login().await;
    let mut spec = app.spec(ALICE);
    spec.in_response_to = Some(login_request.clone());
    let answer = b64(&spec.signed_xml(&app.idp_key));
    let (status, code) =
        reason_code(app.post_acs_raw(&answer, Some(&format!("spconnect-test:{login_request}"))).await).await;
    assert_eq!((status, code.as_str()), (403, "SAML_IN_RESPONSE_TO_UNKNOWN"));
    assert_eq!(app.whoami().await, None);
    assert_eq!(app.counts().await.users, 0);
    // The login request is untouched by that: the user's own answer still signs them in.
    assert_eq!(app.post_acs(&answer, Some(&login_request)).await.status(), 303);
    assert_eq!(app.whoami().await.as_deref(), Some(ALICE));
}

#[tokio::test]
async fn a_test_report_is_made_only_from_the_starting_browser_and_shown_only_to_its_admin() {
    let app = TestApp::spawn().await;
    let csrf = app.sign_in_admin().await;
    let (relay, request_id) = start_test(&app, &csrf).await;
    let mut spec = app.spec(ALICE);
    spec.in_response_to = Some(request_id.clone());
    let answer = b64(&spec.signed_xml(&app.idp_key));
    // Posted from another browser (no binding cookie): refused, and no report exists.
    let stranger = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let res = stranger
        .post(app.acs())
        .form(&[("SAMLResponse", answer.as_str()), ("RelayState", &relay)])
        .send()
        .await
        .unwrap();
    let (status, code) = reason_code(res).await;
    assert_eq!((status, code.as_str()), (403, "SAML_REQUEST_NOT_FROM_THIS_BROWSER"));
    let link = format!("/admin/sso/{}/test-login/{request_id}", app.sso_id());
    assert_eq!(app.get_html(&link).await.0, 404);
    // From the admin's browser it is reported, to that admin only.
    assert_eq!(app.post_acs_raw(&answer, Some(&relay)).await.status(), 200);
    assert_eq!(app.get_html(&link).await.0, 200);
    spconnect::ops::admins::create(&app.svc, &spconnect::ops::Actor::Cli, "other@example.org", PASSWORD.into(), 0)
        .await
        .unwrap();
    let other = clone_app(&app);
    let res = other.try_sign_in("other@example.org", PASSWORD).await;
    assert_eq!(res.status(), 303);
    assert_eq!(other.get_html(&link).await.0, 404, "another admin does not see the report");
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).cookie_store(true).build().unwrap()
}

/// A second handle on the same running service, with its own browser (and an unused data
/// directory of its own; the service keeps the first handle's).
fn clone_app(app: &TestApp) -> TestApp {
    TestApp {
        base: app.base.clone(),
        svc: app.svc.clone(),
        client: client(),
        dir: tempfile::tempdir().unwrap(),
        sso: app.sso.clone(),
        idp_key: app.idp_key.clone(),
        idp_entity_id: app.idp_entity_id.clone(),
        idp_sso_url: app.idp_sso_url.clone(),
    }
}

const DOMAIN_ADMIN: &str = "ops@example.com";

/// "Continue with the identity provider" on the sign-in page: the answer of the console.
async fn start_console_signin(app: &TestApp, email: &str) -> reqwest::Response {
    let (_, html) = app.get_html("/admin/login").await;
    app.client
        .post(app.admin_url("/admin/login/sso"))
        .form(&[("csrf", csrf_in(&html)), ("email", email.to_string())])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_admin_signs_in_to_the_console_through_the_idp_where_the_configuration_allows_it() {
    let app = TestApp::spawn().await;
    create_admin(&app).await;
    spconnect::ops::admins::create(&app.svc, &spconnect::ops::Actor::Cli, DOMAIN_ADMIN, PASSWORD.into(), 0)
        .await
        .unwrap();
    // Off by default: the form says so on its own field and keeps what was typed.
    let res = start_console_signin(&app, DOMAIN_ADMIN).await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(
        html.contains(&format!(r#"value="{DOMAIN_ADMIN}" aria-invalid="true" aria-describedby="sso-email-error""#)),
        "{html}"
    );

    app.set(SsoSettings { admin_signin: Some(true), ..Default::default() }).await;
    let res = start_console_signin(&app, DOMAIN_ADMIN).await;
    let (relay, request_id) = request_of(&idp_url(&app, res).await);
    assert_eq!(relay, format!("spconnect-console:{request_id}"));
    let mut spec = app.spec(DOMAIN_ADMIN);
    spec.in_response_to = Some(request_id);
    let answer = b64(&spec.signed_xml(&app.idp_key));
    let res = app.post_acs_raw(&answer, Some(&relay)).await;
    assert_eq!(res.status(), 200);
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.starts_with("spconnect_admin_sso=") && cookie.contains("HttpOnly"), "{cookie}");
    assert_eq!(result_link(&res.text().await.unwrap()), "/admin/login/sso/continue");
    let res = app.client.get(app.admin_url("/admin/login/sso/continue")).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/admin/sso");
    let (status, html) = app.get_html("/admin/sso").await;
    assert_eq!(status, 200);
    assert!(html.contains(DOMAIN_ADMIN), "signed in as the IdP's user");
    // The vault is untouched: the console sign-in is not a user login.
    assert_eq!(app.whoami().await, None);
    assert_eq!(app.counts().await.users, 0);
    // The hand-over is one-time, and the assertion cannot be used again anywhere.
    let again = client();
    let res = again.get(app.admin_url("/admin/login/sso/continue")).send().await.unwrap();
    assert_eq!(res.status(), 400);
    let (status, code) = reason_code(app.post_acs(&answer, None).await).await;
    assert_eq!((status, code.as_str()), (403, "SAML_ASSERTION_REPLAYED"));
    let audit = app.svc.store.list_audit(Some("admin.sign_in"), 10).await.unwrap();
    assert!(audit.iter().any(|a| a.admin_email == DOMAIN_ADMIN && a.detail.starts_with("through SSO configuration")));
}

#[tokio::test]
async fn console_signin_through_the_idp_is_refused_to_anyone_without_an_admin_account() {
    let app = TestApp::spawn().await;
    app.set(SsoSettings { admin_signin: Some(true), jit: Some(true), ..Default::default() }).await;
    // Alice is a user of the domain (the IdP vouches for her) but no admin.
    let res = start_console_signin(&app, ALICE).await;
    let (relay, request_id) = request_of(&idp_url(&app, res).await);
    let mut spec = app.spec(ALICE);
    spec.in_response_to = Some(request_id);
    let res = app.post_acs_raw(&b64(&spec.signed_xml(&app.idp_key)), Some(&relay)).await;
    assert!(res.headers().get("set-cookie").is_none_or(|c| !c.to_str().unwrap().contains("spconnect_admin_sso")));
    let (status, code) = reason_code(res).await;
    assert_eq!((status, code.as_str()), (403, "ADMIN_NOT_FOUND"));
    let (status, _) = app.get_html("/admin/sso").await;
    assert_eq!(status, 303, "not signed in to the console");
    // An admin email answered for by another IdP user: the IdP's answer names the user, not
    // what was typed into the form.
    create_admin(&app).await;
    let res = start_console_signin(&app, "anyone@example.com").await;
    let (relay, request_id) = request_of(&idp_url(&app, res).await);
    let mut spec = app.spec("bob@example.com");
    spec.in_response_to = Some(request_id);
    let (status, code) = reason_code(app.post_acs_raw(&b64(&spec.signed_xml(&app.idp_key)), Some(&relay)).await).await;
    assert_eq!((status, code.as_str()), (403, "ADMIN_NOT_FOUND"));
    // A password still works (break-glass) even with console sign-in through the IdP on.
    assert_eq!(app.try_sign_in(ADMIN, PASSWORD).await.status(), 303);
}

#[tokio::test]
async fn a_parked_console_signin_is_not_taken_once_the_switch_is_off() {
    let app = TestApp::spawn().await;
    spconnect::ops::admins::create(&app.svc, &spconnect::ops::Actor::Cli, DOMAIN_ADMIN, PASSWORD.into(), 0)
        .await
        .unwrap();
    app.set(SsoSettings { admin_signin: Some(true), ..Default::default() }).await;
    let res = start_console_signin(&app, DOMAIN_ADMIN).await;
    let (relay, request_id) = request_of(&idp_url(&app, res).await);
    let mut spec = app.spec(DOMAIN_ADMIN);
    spec.in_response_to = Some(request_id);
    assert_eq!(app.post_acs_raw(&b64(&spec.signed_xml(&app.idp_key)), Some(&relay)).await.status(), 200);
    // Switched off between the IdP's answer and the console page: the hand-over is refused.
    app.set(SsoSettings { admin_signin: Some(false), ..Default::default() }).await;
    let res = app.client.get(app.admin_url("/admin/login/sso/continue")).send().await.unwrap();
    assert_eq!(res.status(), 400);
    let (status, _) = app.get_html("/admin/sso").await;
    assert_eq!(status, 303, "not signed in to the console");
}

/// Anyone can post to the ACS with a console RelayState: nothing of the response is parsed,
/// verified or decrypted before the request it names is this browser's console request (the
/// decryption timing floor of a user's login cannot be sidestepped through these paths).
#[tokio::test]
async fn a_console_answer_is_not_looked_at_before_its_request_is_known() {
    let app = TestApp::spawn().await;
    app.set(SsoSettings { admin_signin: Some(true), ..Default::default() }).await;
    let forged = b64(&app.spec(DOMAIN_ADMIN).signed_xml(&crate::support::keys::generate("forger")));
    for relay in
        ["spconnect-console:_00112233445566778899aabbccddeeff", "spconnect-test:_00112233445566778899aabbccddeeff"]
    {
        let (status, code) = reason_code(app.post_acs_raw(&forged, Some(relay)).await).await;
        assert_eq!((status, code.as_str()), (403, "SAML_IN_RESPONSE_TO_UNKNOWN"), "{relay}: not SIGNATURE_INVALID");
    }
    // Recorded for the admin, but not even parsed for the log (no claimed issuer or NameID).
    let filter = spconnect::store::LoginEventFilter {
        sso_id: Some(app.sso_id()),
        outcome: Some("failure".into()),
        reason_code: None,
        who: None,
        request_id: None,
        before_id: None,
        limit: 10,
    };
    let recorded = app.svc.store.search_login_events(&filter).await.unwrap();
    assert_eq!(recorded.len(), 2);
    assert!(recorded.iter().all(|e| e.issuer.is_none() && e.name_id.is_none()), "{recorded:?}");
    // A real console request, answered from another browser: refused on the binding, still
    // before the (forged) signature is looked at.
    let res = start_console_signin(&app, DOMAIN_ADMIN).await;
    let (relay, _) = request_of(&idp_url(&app, res).await);
    let stranger = client();
    let res = stranger
        .post(app.acs())
        .form(&[("SAMLResponse", forged.as_str()), ("RelayState", &relay)])
        .send()
        .await
        .unwrap();
    let (status, code) = reason_code(res).await;
    assert_eq!((status, code.as_str()), (403, "SAML_REQUEST_NOT_FROM_THIS_BROWSER"));
}
