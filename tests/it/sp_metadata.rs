//! Journey 1: the admin downloads SP metadata and certificate and gives them to the IdP.

use std::process::Command;

use crate::support::{reason_code, repo_root, TestApp};

#[tokio::test]
async fn metadata_is_served_on_the_entity_id_and_as_downloads() {
    let app = TestApp::spawn().await;
    let inline = app.client.get(app.entity_id()).send().await.unwrap();
    assert_eq!(inline.status(), 200);
    assert_eq!(inline.headers()["content-type"], "application/samlmetadata+xml");
    let inline = inline.text().await.unwrap();

    let download = app.client.get(format!("{}/metadata", app.entity_id())).send().await.unwrap();
    assert_eq!(download.status(), 200);
    let disposition = download.headers()["content-disposition"].to_str().unwrap().to_string();
    assert!(disposition.starts_with("attachment;") && disposition.contains(".xml"), "{disposition}");
    assert_eq!(download.text().await.unwrap(), inline, "download and entity ID serve the same bytes");

    let doc = roxmltree::Document::parse(&inline).unwrap();
    let root = doc.root_element();
    assert_eq!(root.attribute("entityID"), Some(app.entity_id().as_str()));
    let sp = doc.descendants().find(|n| n.has_tag_name("SPSSODescriptor")).expect("SPSSODescriptor");
    assert_eq!(sp.attribute("AuthnRequestsSigned"), Some("true"));
    assert_eq!(sp.attribute("WantAssertionsSigned"), Some("true"));
    let uses: Vec<_> =
        sp.children().filter(|n| n.has_tag_name("KeyDescriptor")).filter_map(|n| n.attribute("use")).collect();
    assert_eq!(uses, ["signing", "encryption"]);
    let acs = sp.children().find(|n| n.has_tag_name("AssertionConsumerService")).unwrap();
    assert_eq!(acs.attribute("Location"), Some(app.acs().as_str()));
    assert_eq!(acs.attribute("Binding"), Some("urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"));
    let slo = sp.children().find(|n| n.has_tag_name("SingleLogoutService")).unwrap();
    assert_eq!(
        slo.attribute("Location"),
        Some(format!("{}/api/rest/sso/saml/slo/{}", app.base, app.sso_id()).as_str())
    );
    assert!(
        inline.contains("<md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>")
    );

    // The certificate download is the certificate in the metadata.
    let cert = app.client.get(format!("{}/cert", app.entity_id())).send().await.unwrap();
    assert!(cert.headers()["content-disposition"].to_str().unwrap().starts_with("attachment;"));
    let pem = cert.text().await.unwrap();
    let x509 = openssl::x509::X509::from_pem(pem.as_bytes()).expect("PEM certificate");
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(x509.to_der().unwrap());
    assert!(inline.contains(&b64), "metadata carries the downloadable certificate");
    assert_eq!(x509.public_key().unwrap().bits(), 2048);
}

#[tokio::test]
async fn pysaml2_accepts_our_metadata_as_sp_metadata() {
    let app = TestApp::spawn().await;
    let file = app.sp_metadata_file().await;
    let out = Command::new("python3")
        .arg(repo_root().join("tests/tools/check_sp_metadata.py"))
        .arg(&file)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "pysaml2 refused our metadata: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["entity_id"], app.entity_id());
    assert_eq!(v["acs"][0], app.acs());
    assert_eq!(v["signing_certs"], 1);
    assert_eq!(v["encryption_certs"], 1);
    assert_eq!(v["authn_requests_signed"], true);
    assert_eq!(v["want_assertions_signed"], true);
}

#[tokio::test]
async fn unknown_configurations_and_slo_answer_clear_pages() {
    let app = TestApp::spawn().await;
    let res = app.client.get(format!("{}/api/rest/sso/saml/123456789012/metadata", app.base)).send().await.unwrap();
    assert_eq!(reason_code(res).await, (404, "NOT_FOUND".to_string()));
    // The SLO endpoint (advertised in the metadata for both bindings) answers an empty visit
    // with a clear refusal, on both bindings, and an unknown configuration with 404.
    let res = app.client.get(format!("{}/api/rest/sso/saml/slo/{}", app.base, app.sso_id())).send().await.unwrap();
    assert_eq!(reason_code(res).await, (400, "SLO_MESSAGE_MISSING".to_string()));
    let res = app.client.post(format!("{}/api/rest/sso/saml/slo/{}", app.base, app.sso_id())).send().await.unwrap();
    assert_eq!(reason_code(res).await, (400, "SLO_MESSAGE_MISSING".to_string()));
    let res =
        app.client.get(format!("{}/api/rest/sso/saml/slo/123456789012?SAMLRequest=x", app.base)).send().await.unwrap();
    assert_eq!(reason_code(res).await, (404, "SSO_NOT_FOUND".to_string()));
}
