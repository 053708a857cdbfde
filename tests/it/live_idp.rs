//! Journeys 2 and 3 end to end against a live pysaml2 IdP process on loopback: our ext_login →
//! IdP (which verifies our signed AuthnRequest) → ACS → vault.

use crate::support::pysaml2::{scrape_form, LiveIdp};
use crate::support::TestApp;

pub(crate) async fn wire(app: &TestApp, extra: &[&str]) -> LiveIdp {
    let idp = LiveIdp::start(&app.entity_id(), extra);
    let xml = idp.metadata();
    let parsed = spconnect::saml::idp_metadata::parse(&xml).expect("pysaml2 IdP metadata");
    app.svc.store.set_idp(app.sso_id(), &parsed, &xml, 0).await.unwrap();
    let user = app
        .client
        .get(format!("{}/set-user?email=dana@example.com&first=Dana&last=Live", idp.base))
        .send()
        .await
        .unwrap();
    assert_eq!(user.status(), 200);
    idp
}

async fn follow_idp_form(app: &TestApp, idp: &LiveIdp, url: &str) -> reqwest::Response {
    let page = app.client.get(url).send().await.unwrap();
    let status = page.status();
    let html = page.text().await.unwrap();
    assert_eq!(status, 200, "IdP answered {status}: {html}\n{}", idp.log());
    let (action, response, relay) = scrape_form(&html);
    assert_eq!(action, app.acs());
    let mut form = vec![("SAMLResponse", response)];
    if let Some(r) = relay {
        form.push(("RelayState", r));
    }
    let res = app.client.post(action).form(&form).send().await.unwrap();
    app.follow_continuation(res).await
}

async fn assert_in_vault(app: &TestApp, res: reqwest::Response) {
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap_or_default());
    let vault =
        app.client.get(format!("{}{}", app.base, res.headers()["location"].to_str().unwrap())).send().await.unwrap();
    assert_eq!(vault.status(), 200);
    let html = vault.text().await.unwrap();
    assert!(html.contains("dana@example.com") && html.contains("Dana Live"), "{html}");
}

#[tokio::test]
async fn sp_initiated_login_through_a_live_pysaml2_idp() {
    let app = TestApp::spawn().await;
    let idp = wire(&app, &[]).await;
    let (_, location) = app.start_login().await;
    assert!(location.starts_with(&format!("{}/sso/redirect?", idp.base)), "{location}");
    let res = follow_idp_form(&app, &idp, &location).await;
    let res_loc = res.headers().get("location").cloned();
    assert_eq!(res_loc.as_ref().map(|l| l.to_str().unwrap()), Some("/vault"));
    assert_in_vault(&app, res).await;
}

#[tokio::test]
async fn idp_initiated_tile_launch_through_a_live_pysaml2_idp() {
    let app = TestApp::spawn().await;
    let idp = wire(&app, &["--sign-response"]).await;
    let launch = format!(
        "{}/launch?sp={}&relay_state=/vault",
        idp.base,
        url::form_urlencoded::byte_serialize(app.entity_id().as_bytes()).collect::<String>()
    );
    let res = follow_idp_form(&app, &idp, &launch).await;
    assert_in_vault(&app, res).await;
}

#[tokio::test]
async fn encrypted_assertions_from_a_live_pysaml2_idp() {
    let app = TestApp::spawn().await;
    let idp = wire(&app, &["--encrypt-assertion", "--data-enc", "aes256-gcm"]).await;
    let (_, location) = app.start_login().await;
    let res = follow_idp_form(&app, &idp, &location).await;
    assert_in_vault(&app, res).await;
}
