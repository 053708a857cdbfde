//! Journey 2, first half: the Login URL sends the browser to the IdP with a signed AuthnRequest.

use base64::Engine;
use openssl::hash::MessageDigest;
use openssl::sign::Verifier;

use crate::support::{inflate, reason_code, TestApp};

#[tokio::test]
async fn ext_login_redirects_to_the_idp_with_a_signed_authn_request() {
    let app = TestApp::spawn().await;
    let (id, location) = app.start_login().await;
    assert!(location.starts_with(&format!("{}?", app.idp_sso_url)), "{location}");
    let query = location.split_once('?').unwrap().1;
    let (signed_part, signature) = query.rsplit_once("&Signature=").expect("Signature is the last parameter");
    let names: Vec<_> = signed_part.split('&').map(|p| p.split('=').next().unwrap()).collect();
    assert_eq!(names, ["SAMLRequest", "RelayState", "SigAlg"]);
    let params: std::collections::HashMap<_, _> = url::form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    assert_eq!(params["SigAlg"], "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256");

    // The signature verifies with the certificate we publish, over the query exactly as sent.
    let pem = app.client.get(format!("{}/cert", app.entity_id())).send().await.unwrap().text().await.unwrap();
    let cert = openssl::x509::X509::from_pem(pem.as_bytes()).unwrap();
    let sig = base64::engine::general_purpose::STANDARD
        .decode(url::form_urlencoded::parse(format!("s={signature}").as_bytes()).next().unwrap().1.as_bytes())
        .unwrap();
    let key = cert.public_key().unwrap();
    let mut verifier = Verifier::new(MessageDigest::sha256(), &key).unwrap();
    verifier.update(signed_part.as_bytes()).unwrap();
    assert!(verifier.verify(&sig).unwrap(), "AuthnRequest redirect signature verifies");

    let xml = inflate(&params["SAMLRequest"]);
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let req = doc.root_element();
    assert_eq!(req.tag_name().name(), "AuthnRequest");
    assert_eq!(req.attribute("ID"), Some(id.as_str()));
    assert_eq!(id.len(), 33, "128-bit request ID");
    assert_eq!(req.attribute("Destination"), Some(app.idp_sso_url.as_str()));
    assert_eq!(req.attribute("AssertionConsumerServiceURL"), Some(app.acs().as_str()));
    assert_eq!(req.attribute("ProtocolBinding"), Some("urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"));
    let issuer = req.children().find(|n| n.has_tag_name("Issuer")).unwrap();
    assert_eq!(issuer.text(), Some(app.entity_id().as_str()));
    assert!(app.svc.store.get_authn_request(&id).await.unwrap().is_some(), "request remembered server-side");
}

#[tokio::test]
async fn ext_login_never_reflects_attacker_input_into_the_idp_url() {
    let app = TestApp::spawn().await;
    let hostile = format!(
        "{}?target=https://evil.example/&SAMLRequest=evil&RelayState=https://evil.example&x=%0d%0aLocation:%20https://evil.example",
        app.login_url()
    );
    let res = app.client.get(hostile).send().await.unwrap();
    assert_eq!(res.status(), 302);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    assert!(!location.contains("evil"), "{location}");
    let params: Vec<(String, String)> =
        url::form_urlencoded::parse(location.split_once('?').unwrap().1.as_bytes()).into_owned().collect();
    assert_eq!(params.len(), 4, "only SAMLRequest, RelayState, SigAlg, Signature: {params:?}");
    let relay = &params[1].1;
    let stored = app.svc.store.get_authn_request(relay).await.unwrap().expect("RelayState is our request id");
    assert_eq!(stored.target, "/vault", "a non-relative target falls back to /vault");
}

#[tokio::test]
async fn unknown_or_unfinished_configurations_are_explained() {
    let app = TestApp::spawn().await;
    let res = app.client.get(format!("{}/api/rest/sso/ext_login/999999999999", app.base)).send().await.unwrap();
    assert_eq!(reason_code(res).await, (404, "SSO_NOT_FOUND".into()));
    let res = app.client.get(format!("{}/api/rest/sso/ext_login/notanumber", app.base)).send().await.unwrap();
    assert_eq!(reason_code(res).await, (404, "SSO_NOT_FOUND".into()));
    let bare = app.svc.store.create_sso("Bare", "bare.example", 1, 0).await.unwrap();
    let res = app.client.get(format!("{}/api/rest/sso/ext_login/{}", app.base, bare.sso_id)).send().await.unwrap();
    assert_eq!(reason_code(res).await, (409, "SSO_IDP_NOT_CONFIGURED".into()));
}

#[tokio::test]
async fn login_page_routes_a_domain_or_email_to_its_configuration() {
    let app = TestApp::spawn().await;
    let res =
        app.client.post(format!("{}/login", app.base)).form(&[("domain", "bob@Example.com")]).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], format!("/api/rest/sso/ext_login/{}", app.sso_id()).as_str());
    let res =
        app.client.post(format!("{}/login", app.base)).form(&[("domain", "nowhere.example")]).send().await.unwrap();
    assert_eq!(res.status(), 404);
    assert!(res.text().await.unwrap().contains("No single sign-on is configured"));
    let res = app.client.get(format!("{}/vault", app.base)).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/login");
}
