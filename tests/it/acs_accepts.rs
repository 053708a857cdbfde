//! Journeys 2 and 3, second half: valid responses signed by xmlsec1 or made by pysaml2 log the
//! right user in, JIT creates or updates them, and the session shows who is logged in.

use spconnect::store::{NewUser, SsoSettings, UserStatus};

use crate::support::pysaml2::{self, SignOptions};
use crate::support::{reason_code, TestApp, ALICE};

async fn assert_logged_in(app: &TestApp, res: reqwest::Response, email: &str, target: &str) {
    let status = res.status();
    let location = res.headers().get("location").map(|l| l.to_str().unwrap().to_string());
    if status != 303 {
        panic!("expected 303, got {status}: {}", res.text().await.unwrap());
    }
    assert_eq!(location.as_deref(), Some(target));
    assert_eq!(app.whoami().await.as_deref(), Some(email));
}

#[tokio::test]
async fn xmlsec1_signed_assertion_response_or_both_log_in() {
    for (sign_assertion, sign_response) in [(true, false), (false, true), (true, true)] {
        let app = TestApp::spawn().await;
        let mut spec = app.spec(ALICE);
        spec.sign_assertion = sign_assertion;
        spec.sign_response = sign_response;
        let res = app.post_acs(&spec.signed_b64(&app.idp_key), None).await;
        assert_logged_in(&app, res, ALICE, "/vault").await;
        let user = app.svc.store.find_user_by_email(ALICE).await.unwrap().unwrap();
        assert_eq!(
            (user.first_name.as_str(), user.last_name.as_str(), user.provisioned_by.as_str()),
            ("Alice", "Example", "jit")
        );
        assert_eq!(user.status, UserStatus::Active);
        assert!(user.last_login_at.is_some());
    }
}

#[tokio::test]
async fn sp_initiated_login_answers_our_request_and_lands_on_the_target() {
    let app = TestApp::spawn().await;
    let res = app.client.get(format!("{}?target=/vault/records", app.login_url())).send().await.unwrap();
    let location = res.headers()["location"].to_str().unwrap().to_string();
    let relay =
        url::Url::parse(&location).unwrap().query_pairs().find(|(k, _)| k == "RelayState").unwrap().1.to_string();
    let mut spec = app.spec(ALICE);
    spec.in_response_to = Some(relay.clone());
    let res = app.post_acs(&spec.signed_b64(&app.idp_key), Some(&relay)).await;
    assert_logged_in(&app, res, ALICE, "/vault/records").await;
    assert!(app.svc.store.get_authn_request(&relay).await.unwrap().unwrap().consumed);
}

#[tokio::test]
async fn pysaml2_responses_log_in_signed_either_way_and_encrypted() {
    let cases: [(&str, bool, bool, bool, Option<&str>); 5] = [
        ("signed assertion", true, false, false, None),
        ("signed response", false, true, false, None),
        ("both signed", true, true, false, None),
        ("encrypted, assertion signed inside (aes256-cbc)", true, false, true, None),
        ("encrypted, response signed (aes128-gcm)", false, true, true, Some("aes128-gcm")),
    ];
    for (name, sign_assertion, sign_response, encrypt, data_enc) in cases {
        let app = TestApp::spawn().await;
        let metadata = app.sp_metadata_file().await;
        let (request_id, _) = app.start_login().await;
        let opts = SignOptions {
            email: ALICE,
            in_response_to: Some(&request_id),
            sign_assertion,
            sign_response,
            encrypt,
            data_enc,
            key_transport: None,
        };
        let response = pysaml2::sign(&app.idp_key, &app.idp_entity_id, &metadata, &opts);
        let res = app.post_acs(&response, Some(&request_id)).await;
        let status = res.status();
        if status != 303 {
            panic!("{name}: {status} {:?}", reason_code(res).await);
        }
        assert_eq!(app.whoami().await.as_deref(), Some(ALICE), "{name}");
    }
}

#[tokio::test]
async fn idp_initiated_relay_state_is_honoured_only_as_a_same_site_path() {
    let app = TestApp::spawn().await;
    let res = app.post_acs(&app.spec(ALICE).signed_b64(&app.idp_key), Some("/vault/shared")).await;
    assert_logged_in(&app, res, ALICE, "/vault/shared").await;
    let too_long = format!("/{}", "a".repeat(600));
    for hostile in
        ["https://evil.example/", "//evil.example", "/\\evil.example", "javascript:alert(1)", too_long.as_str()]
    {
        let res = app.post_acs(&app.spec(ALICE).signed_b64(&app.idp_key), Some(hostile)).await;
        assert_logged_in(&app, res, ALICE, "/vault").await;
    }
}

#[tokio::test]
async fn repeat_logins_refresh_names_and_the_vault_shows_the_user() {
    let app = TestApp::spawn().await;
    app.post_acs(&app.spec(ALICE).signed_b64(&app.idp_key), None).await;
    let mut spec = app.spec(ALICE);
    spec.attributes =
        vec![("Email".into(), ALICE.into()), ("First".into(), "Alicia".into()), ("Last".into(), "Exemplar".into())];
    let res = app.post_acs(&spec.signed_b64(&app.idp_key), None).await;
    assert_eq!(res.status(), 303);
    let user = app.svc.store.find_user_by_email(ALICE).await.unwrap().unwrap();
    assert_eq!((user.first_name.as_str(), user.last_name.as_str()), ("Alicia", "Exemplar"));
    assert_eq!(app.svc.store.list_users().await.unwrap().len(), 1);

    let page = app.client.get(format!("{}/vault", app.base)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains(ALICE) && html.contains("Alicia Exemplar") && html.contains("Example"), "{html}");
    let res = app.client.post(format!("{}/logout", app.base)).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(app.whoami().await, None);
}

#[tokio::test]
async fn claim_uri_attributes_and_uppercase_email_are_accepted() {
    let app = TestApp::spawn().await;
    let mut spec = app.spec("Alice@Example.COM");
    spec.attributes = vec![
        ("http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress".into(), "alice@example.com".into()),
        ("http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname".into(), "Alice".into()),
        ("http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname".into(), "Claims".into()),
    ];
    let res = app.post_acs(&spec.signed_b64(&app.idp_key), None).await;
    assert_logged_in(&app, res, ALICE, "/vault").await;
    assert_eq!(app.svc.store.find_user_by_email(ALICE).await.unwrap().unwrap().last_name, "Claims");
}

#[tokio::test]
async fn jit_off_admits_known_users_and_refuses_unknown_ones() {
    let app = TestApp::spawn().await;
    app.set(SsoSettings { jit: Some(false), ..Default::default() }).await;
    let before = app.counts().await;
    let res = app.post_acs(&app.spec("bob@example.com").signed_b64(&app.idp_key), None).await;
    assert_eq!(reason_code(res).await, (403, "USER_NOT_PROVISIONED".into()));
    assert_eq!(app.counts().await, before, "nothing created or consumed");
    assert_eq!(app.whoami().await, None);

    let bob = NewUser {
        email: "bob@example.com",
        first_name: "Bob",
        last_name: "B",
        status: UserStatus::Invited,
        provisioned_by: "scim",
        node_id: 1,
    };
    app.svc.store.create_user(&bob, 0).await.unwrap();
    let res = app.post_acs(&app.spec("bob@example.com").signed_b64(&app.idp_key), None).await;
    assert_logged_in(&app, res, "bob@example.com", "/vault").await;
    let bob = app.svc.store.find_user_by_email("bob@example.com").await.unwrap().unwrap();
    assert_eq!(bob.status, UserStatus::Active, "an invited user becomes active at first SSO login");
    assert_eq!(bob.provisioned_by, "scim");
}

#[tokio::test]
async fn locked_users_are_refused_and_lose_their_session() {
    let app = TestApp::spawn().await;
    app.post_acs(&app.spec(ALICE).signed_b64(&app.idp_key), None).await;
    assert_eq!(app.whoami().await.as_deref(), Some(ALICE));
    app.svc.store.set_user_status(ALICE, UserStatus::Locked).await.unwrap();
    assert_eq!(app.whoami().await, None, "a locked user's session no longer works");
    let before = app.counts().await;
    let res = app.post_acs(&app.spec(ALICE).signed_b64(&app.idp_key), None).await;
    assert_eq!(reason_code(res).await, (403, "USER_LOCKED".into()));
    assert_eq!(app.counts().await, before);
}

#[tokio::test]
async fn other_domains_need_the_admins_consent() {
    let app = TestApp::spawn().await;
    let res = app.post_acs(&app.spec("carol@elsewhere.example").signed_b64(&app.idp_key), None).await;
    assert_eq!(reason_code(res).await, (403, "USER_DOMAIN_NOT_ALLOWED".into()));
    app.set(SsoSettings { allow_other_domains: Some(true), ..Default::default() }).await;
    let res = app.post_acs(&app.spec("carol@elsewhere.example").signed_b64(&app.idp_key), None).await;
    assert_logged_in(&app, res, "carol@elsewhere.example", "/vault").await;
}

#[tokio::test]
async fn the_admin_can_list_failures_with_reason_and_request_id() {
    let app = TestApp::spawn().await;
    let mut spec = app.spec(ALICE);
    spec.audience = Some("https://someone-else.example".into());
    let res = app.post_acs(&spec.signed_b64(&app.idp_key), None).await;
    let request_id = res.headers()["x-request-id"].to_str().unwrap().to_string();
    let body = res.text().await.unwrap();
    assert!(body.contains(&request_id), "the page shows the same request id as the header");
    let failures = app.svc.store.list_login_events(true, 10).await.unwrap();
    assert_eq!(failures.len(), 1);
    let f = &failures[0];
    assert_eq!(f.reason_code.as_deref(), Some("SAML_AUDIENCE_MISMATCH"));
    assert_eq!(f.request_id, request_id);
    assert_eq!(f.issuer.as_deref(), Some(app.idp_entity_id.as_str()));
    assert_eq!(f.name_id.as_deref(), Some(ALICE));
    assert_eq!(f.client_addr.as_deref(), Some("127.0.0.1"));
}

#[tokio::test]
async fn the_debug_switch_keeps_the_last_few_responses_redacted() {
    let app = TestApp::spawn().await;
    app.post_acs(&app.spec(ALICE).signed_b64(&app.idp_key), None).await;
    assert!(app.svc.store.list_debug_responses(app.sso_id()).await.unwrap().is_empty(), "off by default");

    app.set(SsoSettings { debug_keep_responses: Some(true), ..Default::default() }).await;
    let mut wrong = app.spec(ALICE);
    wrong.audience = Some("https://elsewhere.example".into());
    app.post_acs(&wrong.signed_b64(&app.idp_key), None).await;
    let kept = app.svc.store.list_debug_responses(app.sso_id()).await.unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].reason_code.as_deref(), Some("SAML_AUDIENCE_MISMATCH"));
    assert!(kept[0].xml.contains("https://elsewhere.example"), "the admin sees what the IdP sent");
    assert!(kept[0].xml.contains("<ds:SignatureValue>[redacted]</ds:SignatureValue>"));
    assert!(kept[0].xml.contains("<ds:X509Certificate>[redacted]</ds:X509Certificate>"));

    for _ in 0..6 {
        app.post_acs(&app.spec(ALICE).signed_b64(&app.idp_key), None).await;
    }
    let kept = app.svc.store.list_debug_responses(app.sso_id()).await.unwrap();
    assert_eq!(kept.len() as i64, spconnect::store::DEBUG_RESPONSES_KEPT, "only the newest few are kept");
    assert!(kept.iter().all(|k| k.outcome == "success"));
}

#[tokio::test]
async fn users_of_another_node_cannot_sign_in_through_this_configuration() {
    let app = TestApp::spawn().await;
    let now = chrono::Utc::now().timestamp();
    let eng = app.svc.store.create_node("Engineering", 1, now).await.unwrap();
    let sales = app.svc.store.create_node("Sales", 1, now).await.unwrap();
    let dana = NewUser {
        email: "dana@example.com",
        first_name: "Dana",
        last_name: "S",
        status: UserStatus::Active,
        provisioned_by: "scim",
        node_id: sales.node_id,
    };
    app.svc.store.create_user(&dana, now).await.unwrap();
    // An SSO configuration on the Engineering node, with the same domain allowed.
    let eng_sso = app.svc.store.create_sso("Eng", "eng.example", eng.node_id, now).await.unwrap();
    app.svc
        .store
        .update_sso_settings(eng_sso.sso_id, &SsoSettings { allow_other_domains: Some(true), ..Default::default() })
        .await
        .unwrap();
    let xml = crate::support::idp_metadata("jumpcloud.xml", &app.idp_entity_id, &app.idp_sso_url, &app.idp_key, None);
    let parsed = spconnect::saml::idp_metadata::parse(&xml).unwrap();
    app.svc.store.set_idp(eng_sso.sso_id, &parsed, &xml, now).await.unwrap();
    let entity = format!("{}/api/rest/sso/saml/{}", app.base, eng_sso.sso_id);
    let acs = format!("{}/api/rest/sso/saml/sso/{}", app.base, eng_sso.sso_id);
    let spec = crate::support::xmlsec::ResponseSpec::new(&app.idp_entity_id, &entity, &acs, "dana@example.com");
    let res = app.client.post(&acs).form(&[("SAMLResponse", spec.signed_b64(&app.idp_key))]).send().await.unwrap();
    assert_eq!(reason_code(res).await, (403, "USER_OUTSIDE_SSO_NODE".into()));
    // The root-node configuration covers every node below it.
    let res = app.post_acs(&app.spec("dana@example.com").signed_b64(&app.idp_key), None).await;
    assert_logged_in(&app, res, "dana@example.com", "/vault").await;
}
