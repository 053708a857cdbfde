//! IdP metadata as JumpCloud, Okta and Entra ID export it; metadata that would weaken
//! verification is refused.

use crate::support::{idp_metadata, keys, TestApp, ALICE};
use spconnect::saml::idp_metadata::{parse, MetadataError};

#[test]
fn exports_of_common_idps_are_understood() {
    let k1 = keys::generate("idp one");
    let k2 = keys::generate("idp two");
    for fixture in ["jumpcloud.xml", "okta.xml", "entra.xml"] {
        let xml = idp_metadata(fixture, "https://idp.test/entity", "https://idp.test/sso", &k1, Some(&k2));
        let idp = parse(&xml).unwrap_or_else(|e| panic!("{fixture}: {e}"));
        assert_eq!(idp.entity_id, "https://idp.test/entity", "{fixture}");
        assert_eq!(idp.sso_redirect_url, "https://idp.test/sso", "{fixture}");
        assert!(idp.signing_certs.iter().any(|c| c.der == k1.cert_der), "{fixture}");
    }
    let entra = parse(&idp_metadata("entra.xml", "e", "https://idp.test/sso", &k1, Some(&k2))).unwrap();
    assert_eq!(entra.signing_certs.len(), 2, "Entra publishes two signing certificates during rollover");
}

#[test]
fn metadata_that_would_weaken_verification_is_refused() {
    let k = keys::generate("idp");
    let no_cert = idp_metadata("no-signing-cert.xml", "e", "https://idp.test/sso", &k, None);
    assert_eq!(parse(&no_cert), Err(MetadataError::NoSigningCertificate));
    let no_sso = idp_metadata("no-sso-endpoint.xml", "e", "https://idp.test/sso", &k, None);
    assert_eq!(parse(&no_sso), Err(MetadataError::NoSsoEndpoint));
    let dtd = format!(
        "<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>{}",
        no_sso.trim_start_matches(|c| c != '<').split_once("?>").unwrap().1
    );
    assert!(matches!(parse(&dtd), Err(MetadataError::Xml(_))));
    assert_eq!(parse("<html/>"), Err(MetadataError::NotIdp));
}

#[tokio::test]
async fn entra_shaped_metadata_with_two_certificates_accepts_either() {
    let app = TestApp::spawn_with("entra.xml").await;
    let res = app.post_acs(&app.spec(ALICE).signed_b64(&app.idp_key), None).await;
    assert_eq!(res.status(), 303);
    assert_eq!(app.whoami().await.as_deref(), Some(ALICE));
}

#[tokio::test]
async fn okta_shaped_metadata_works() {
    let app = TestApp::spawn_with("okta.xml").await;
    let res = app.post_acs(&app.spec(ALICE).signed_b64(&app.idp_key), None).await;
    assert_eq!(res.status(), 303);
    assert_eq!(app.whoami().await.as_deref(), Some(ALICE));
}
