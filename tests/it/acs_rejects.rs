//! What the ACS refuses. Every hostile message starts from a response that xmlsec1 really
//! signed for an ordinary user; each refusal must carry its reason code and change nothing.

use chrono::{Duration, Utc};
use spconnect::store::SsoSettings;

use crate::support::keys::{self, KeyPair};
use crate::support::xmlsec::{self, b64, ResponseSpec, RSA_SHA1, SHA1};
use crate::support::{reason_code, TestApp, ALICE};

type Build = Box<dyn Fn(&TestApp) -> String>;

fn spec_case(f: impl Fn(&TestApp, &mut ResponseSpec) + 'static) -> Build {
    Box::new(move |app| {
        let mut spec = app.spec(ALICE);
        f(app, &mut spec);
        spec.signed_b64(&app.idp_key)
    })
}

/// Post `value` as SAMLResponse and assert the refusal: status, reason code, no user, no
/// session, no consumed assertion or request.
async fn assert_refused(app: &TestApp, name: &str, value: &str, status: u16, code: &str) {
    let before = app.counts().await;
    let res = app.post_acs(value, None).await;
    let got = reason_code(res).await;
    assert_eq!(got, (status, code.to_string()), "case {name:?}");
    assert_eq!(app.counts().await, before, "case {name:?} changed state");
    assert_eq!(app.whoami().await, None, "case {name:?} logged someone in");
}

fn signed_assertion(xml: &str) -> String {
    let start = xml.find("<saml:Assertion").expect("assertion start");
    let end = xml.find("</saml:Assertion>").expect("assertion end") + "</saml:Assertion>".len();
    xml[start..end].to_string()
}

fn signed_assertion_id(xml: &str) -> String {
    let a = signed_assertion(xml);
    a.split("ID=\"").nth(1).and_then(|s| s.split('"').next()).unwrap().to_string()
}

fn evil_assertion(app: &TestApp, id: &str) -> String {
    let mut evil = app.spec("mallory@example.com");
    evil.assertion_id = id.to_string();
    evil.sign_assertion = false;
    evil.assertion_xml()
}

#[tokio::test]
async fn every_validation_step_refuses_with_its_reason_code() {
    let app = TestApp::spawn().await;
    let attacker = keys::generate("idp.example.net");
    let later = Utc::now() + Duration::minutes(10);
    let earlier = Utc::now() - Duration::minutes(10);
    let cases: Vec<(&str, Build, u16, &str)> = vec![
        ("unsigned response and assertion", spec_case(|_, s| s.sign_assertion = false), 403, "SAML_UNSIGNED"),
        (
            "wrong audience",
            spec_case(|_, s| s.audience = Some("https://other-sp.example".into())),
            403,
            "SAML_AUDIENCE_MISMATCH",
        ),
        ("no audience restriction", spec_case(|_, s| s.audience = None), 403, "SAML_AUDIENCE_MISMATCH"),
        (
            "wrong destination",
            spec_case(|_, s| s.destination = Some("https://other-sp.example/acs".into())),
            403,
            "SAML_DESTINATION_MISMATCH",
        ),
        ("missing destination", spec_case(|_, s| s.destination = None), 403, "SAML_DESTINATION_MISMATCH"),
        (
            "wrong recipient",
            spec_case(|_, s| s.recipient = Some("https://other-sp.example/acs".into())),
            403,
            "SAML_RECIPIENT_MISMATCH",
        ),
        (
            "wrong response issuer",
            spec_case(|_, s| s.response_issuer = Some("https://evil-idp.example".into())),
            403,
            "SAML_ISSUER_MISMATCH",
        ),
        (
            "wrong assertion issuer",
            spec_case(|_, s| s.assertion_issuer = "https://evil-idp.example".into()),
            403,
            "SAML_ISSUER_MISMATCH",
        ),
        (
            "status not success",
            spec_case(|_, s| {
                s.status = "urn:oasis:names:tc:SAML:2.0:status:Requester".into();
                s.sign_response = true;
            }),
            403,
            "SAML_STATUS_NOT_SUCCESS",
        ),
        ("expired conditions", spec_case(move |_, s| s.not_on_or_after = earlier), 403, "SAML_ASSERTION_EXPIRED"),
        (
            "expired subject confirmation",
            spec_case(move |_, s| s.scd_not_on_or_after = Some(earlier)),
            403,
            "SAML_ASSERTION_EXPIRED",
        ),
        ("not yet valid", spec_case(move |_, s| s.not_before = later), 403, "SAML_ASSERTION_NOT_YET_VALID"),
        (
            "issue instant in the future",
            spec_case(move |_, s| s.issue_instant = later),
            403,
            "SAML_ISSUE_INSTANT_INVALID",
        ),
        (
            "issue instant long past",
            spec_case(move |_, s| s.issue_instant = earlier),
            403,
            "SAML_ISSUE_INSTANT_INVALID",
        ),
        ("no bearer confirmation", spec_case(|_, s| s.bearer = false), 403, "SAML_SUBJECT_CONFIRMATION_INVALID"),
        (
            "bearer without NotOnOrAfter",
            spec_case(|_, s| s.scd_not_on_or_after = None),
            403,
            "SAML_SUBJECT_CONFIRMATION_INVALID",
        ),
        (
            "InResponseTo never issued",
            spec_case(|_, s| s.in_response_to = Some("_0123456789abcdef0123456789abcdef".into())),
            403,
            "SAML_IN_RESPONSE_TO_UNKNOWN",
        ),
        ("RSA-SHA1 signature", spec_case(|_, s| s.sig_alg = RSA_SHA1.into()), 403, "SAML_ALGORITHM_FORBIDDEN"),
        ("SHA-1 digest", spec_case(|_, s| s.digest_alg = SHA1.into()), 403, "SAML_ALGORITHM_FORBIDDEN"),
        ("missing NameID", spec_case(|_, s| s.name_id = None), 403, "SAML_NAMEID_MISSING"),
        (
            "Email attribute differs from NameID",
            spec_case(|_, s| s.attributes[0].1 = "mallory@example.com".into()),
            403,
            "SAML_NAMEID_EMAIL_MISMATCH",
        ),
        (
            "transient NameID and no Email",
            spec_case(|_, s| {
                s.name_id = Some("_8f7e6d".into());
                s.name_id_format = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient".into();
                s.attributes.clear();
            }),
            403,
            "SAML_EMAIL_MISSING",
        ),
        (
            "signed by an attacker key with its certificate in KeyInfo",
            Box::new(move |app: &TestApp| app.spec(ALICE).signed_b64(&attacker)),
            403,
            "SAML_SIGNATURE_INVALID",
        ),
        (
            "NameID changed after signing",
            Box::new(|app: &TestApp| {
                b64(&app.spec(ALICE).signed_xml(&app.idp_key).replace(ALICE, "mallory@example.com"))
            }),
            403,
            "SAML_SIGNATURE_INVALID",
        ),
        (
            "attribute changed after signing",
            Box::new(|app: &TestApp| b64(&app.spec(ALICE).signed_xml(&app.idp_key).replace(">Alice<", ">Mallory<"))),
            403,
            "SAML_SIGNATURE_INVALID",
        ),
        (
            "Signature element removed",
            Box::new(|app: &TestApp| {
                let xml = app.spec(ALICE).signed_xml(&app.idp_key);
                let (start, end) = (xml.find("<ds:Signature").unwrap(), xml.find("</ds:Signature>").unwrap() + 15);
                let value = xml
                    [xml.find("<ds:SignatureValue>").unwrap()..xml.find("</ds:SignatureValue>").unwrap() + 20]
                    .to_string();
                let stripped = format!("{}{}", &xml[..start], &xml[end..]);
                // The SignatureValue left elsewhere, as if that still meant something.
                let value = value.replace(
                    "<ds:SignatureValue>",
                    r#"<ds:SignatureValue xmlns:ds="http://www.w3.org/2000/09/xmldsig#">"#,
                );
                b64(&stripped
                    .replace("<samlp:Status>", &format!("<samlp:Extensions>{value}</samlp:Extensions><samlp:Status>")))
            }),
            403,
            "SAML_UNSIGNED",
        ),
    ];
    for (name, build, status, code) in cases {
        assert_refused(&app, name, &build(&app), status, code).await;
    }
    // Every refusal was recorded for the admin.
    let failures = app.svc.store.list_login_events(true, 100).await.unwrap();
    assert!(failures.len() >= 25, "{}", failures.len());
}

#[tokio::test]
async fn signature_wrapping_permutations_are_refused() {
    let app = TestApp::spawn().await;
    let resp_signed = || {
        let mut s = app.spec(ALICE);
        s.sign_assertion = false;
        s.sign_response = true;
        s
    };
    let assertion_signed = app.spec(ALICE);
    let a_xml = assertion_signed.signed_xml(&app.idp_key);
    let r_spec = resp_signed();
    let r_xml = r_spec.signed_xml(&app.idp_key);
    let r_body = r_xml.split_once("?>").map(|(_, b)| b).unwrap_or(&r_xml).to_string();
    let a_signed = signed_assertion(&a_xml);
    let aid = assertion_signed.assertion_id.clone();
    let forged_response = |inner: &str, extra: &str| {
        let mut evil = app.spec("mallory@example.com");
        evil.sign_assertion = false;
        evil.response_id = "_evilresponse".into();
        let assertion = format!("{extra}{}", evil.assertion_xml());
        evil.template_with_assertion(&assertion).replace("<samlp:Status>", &format!("{inner}<samlp:Status>"))
    };
    let sig_of =
        |xml: &str| xml[xml.find("<ds:Signature").unwrap()..xml.find("</ds:Signature>").unwrap() + 15].to_string();
    let cases: Vec<(&str, String, &str)> = vec![
        // XSW1: forged Response as root, the signed Response copied inside its Signature.
        (
            "XSW1 signed response inside the forged response's signature",
            forged_response(&sig_of(&r_xml).replace("</ds:Signature>", &format!("{r_body}</ds:Signature>")), ""),
            "SAML_ASSERTION_COUNT",
        ),
        // XSW2: the signed Response as a detached sibling before the forged content.
        (
            "XSW2 signed response detached inside the forged response",
            forged_response(&r_body, ""),
            "SAML_ASSERTION_COUNT",
        ),
        // XSW3: forged Assertion with the same ID placed before the signed one.
        (
            "XSW3 forged assertion with colliding ID before the signed one",
            a_xml.replace("<saml:Assertion", &format!("{}<saml:Assertion", evil_assertion(&app, &aid))),
            "SAML_ASSERTION_COUNT",
        ),
        // XSW4: the signed assertion wrapped inside a forged assertion.
        (
            "XSW4 signed assertion wrapped in a forged one",
            a_xml.replace(
                &a_signed,
                &evil_assertion(&app, "_evil").replace("</saml:Assertion>", &format!("{a_signed}</saml:Assertion>")),
            ),
            "SAML_ASSERTION_COUNT",
        ),
        // XSW5: the signature moved onto a forged copy, the original appended after.
        (
            "XSW5 signature moved to a forged copy, original appended",
            {
                let forged = evil_assertion(&app, &aid)
                    .replace("<saml:Subject>", &format!("{}<saml:Subject>", sig_of(&a_signed)));
                a_xml.replace(&a_signed, &format!("{forged}{}", a_signed))
            },
            "SAML_ASSERTION_COUNT",
        ),
        // XSW6: the original assertion inside the forged assertion's signature.
        (
            "XSW6 original inside the forged assertion's signature",
            {
                let sig = sig_of(&a_signed).replace("</ds:Signature>", &format!("{a_signed}</ds:Signature>"));
                a_xml.replace(
                    &a_signed,
                    &evil_assertion(&app, &aid).replace("<saml:Subject>", &format!("{sig}<saml:Subject>")),
                )
            },
            "SAML_ASSERTION_COUNT",
        ),
        // XSW7: signed assertion hidden in Extensions, forged assertion outside.
        (
            "XSW7 signed assertion in Extensions",
            a_xml
                .replace(&a_signed, &evil_assertion(&app, "_evil"))
                .replace("<samlp:Status>", &format!("<samlp:Extensions>{a_signed}</samlp:Extensions><samlp:Status>")),
            "SAML_ASSERTION_COUNT",
        ),
        // XSW8: original inside a ds:Object of the forged assertion's signature.
        (
            "XSW8 original in ds:Object",
            {
                let sig = sig_of(&a_signed)
                    .replace("</ds:Signature>", &format!("<ds:Object>{a_signed}</ds:Object></ds:Signature>"));
                a_xml.replace(
                    &a_signed,
                    &evil_assertion(&app, &aid).replace("<saml:Subject>", &format!("{sig}<saml:Subject>")),
                )
            },
            "SAML_ASSERTION_COUNT",
        ),
        (
            "two assertions, both genuine",
            a_xml.replace(&a_signed, &format!("{a_signed}{a_signed}")),
            "SAML_ASSERTION_COUNT",
        ),
        (
            "signed assertion followed by an unsigned one",
            a_xml.replace(&a_signed, &format!("{a_signed}{}", evil_assertion(&app, "_evil"))),
            "SAML_ASSERTION_COUNT",
        ),
        (
            "signature copied onto a forged assertion with another ID",
            a_xml.replace(
                &a_signed,
                &evil_assertion(&app, "_evil")
                    .replace("<saml:Subject>", &format!("{}<saml:Subject>", sig_of(&a_signed))),
            ),
            "SAML_REFERENCE_FORBIDDEN",
        ),
        (
            "forged assertion with the signed ID and the stolen signature",
            a_xml.replace(
                &a_signed,
                &evil_assertion(&app, &aid).replace("<saml:Subject>", &format!("{}<saml:Subject>", sig_of(&a_signed))),
            ),
            "SAML_SIGNATURE_INVALID",
        ),
    ];
    for (name, xml, code) in cases {
        assert_refused(&app, name, &b64(&xml), 403, code).await;
    }
}

#[tokio::test]
async fn a_stale_signature_over_a_recomputed_digest_is_refused() {
    let app = TestApp::spawn().await;
    let genuine = app.spec(ALICE).signed_xml(&app.idp_key);
    // The attacker signs their own edit (so the digest matches the edited content) and pastes
    // the IdP's old SignatureValue over theirs.
    let attacker = keys::generate("idp.example.net");
    let mut evil = app.spec("mallory@example.com");
    evil.assertion_id = "_evilid".into();
    let forged = evil.signed_xml(&attacker);
    let value =
        |x: &str| x[x.find("<ds:SignatureValue>").unwrap()..x.find("</ds:SignatureValue>").unwrap()].to_string();
    let spliced = forged.replace(&value(&forged), &value(&genuine));
    assert_refused(&app, "stale signature", &b64(&spliced), 403, "SAML_SIGNATURE_INVALID").await;
}

#[tokio::test]
async fn an_attacker_certificate_copying_the_idps_subject_and_serial_is_refused() {
    let app = TestApp::spawn().await;
    let victim = openssl::x509::X509::from_der(&app.idp_key.cert_der).unwrap();
    let lookalike: KeyPair = keys::generate_with_serial("idp.example.net", Some(victim.serial_number()));
    assert_refused(
        &app,
        "lookalike certificate",
        &app.spec(ALICE).signed_b64(&lookalike),
        403,
        "SAML_SIGNATURE_INVALID",
    )
    .await;
}

#[tokio::test]
async fn a_comment_inside_the_nameid_never_truncates_the_identity() {
    let app = TestApp::spawn().await;
    let spoof = "admin@example.com<!---->.evil.example";
    let build = |app: &TestApp| {
        let mut spec = app.spec(spoof);
        spec.attributes = vec![("Email".into(), spoof.into())];
        spec.signed_b64(&app.idp_key)
    };
    assert_refused(&app, "comment in NameID", &build(&app), 400, "SAML_XML_COMMENT_FORBIDDEN").await;
    // Even where other domains are allowed, nobody is logged in as the truncated identity.
    app.set(SsoSettings { allow_other_domains: Some(true), ..Default::default() }).await;
    assert_refused(&app, "comment in NameID, other domains allowed", &build(&app), 400, "SAML_XML_COMMENT_FORBIDDEN")
        .await;
    assert!(app.svc.store.find_user_by_email("admin@example.com").await.unwrap().is_none());
}

#[tokio::test]
async fn sha1_is_accepted_only_where_the_admin_allowed_it() {
    let app = TestApp::spawn().await;
    let mut spec = app.spec(ALICE);
    spec.sig_alg = RSA_SHA1.into();
    spec.digest_alg = SHA1.into();
    assert_refused(&app, "sha1 by default", &spec.signed_b64(&app.idp_key), 403, "SAML_ALGORITHM_FORBIDDEN").await;
    app.set(SsoSettings { allow_sha1: Some(true), ..Default::default() }).await;
    let mut spec = app.spec(ALICE);
    spec.sig_alg = RSA_SHA1.into();
    spec.digest_alg = SHA1.into();
    assert_eq!(app.post_acs(&spec.signed_b64(&app.idp_key), None).await.status(), 303);
}

#[tokio::test]
async fn unsolicited_responses_need_idp_initiated_login_enabled() {
    let app = TestApp::spawn().await;
    app.set(SsoSettings { idp_initiated: Some(false), ..Default::default() }).await;
    assert_refused(&app, "unsolicited", &app.spec(ALICE).signed_b64(&app.idp_key), 403, "SAML_UNSOLICITED_NOT_ALLOWED")
        .await;
    // SP-initiated still works.
    let (id, _) = app.start_login().await;
    let mut spec = app.spec(ALICE);
    spec.in_response_to = Some(id);
    assert_eq!(app.post_acs(&spec.signed_b64(&app.idp_key), None).await.status(), 303);
}

#[tokio::test]
async fn replays_are_refused_and_a_request_is_answered_once() {
    let app = TestApp::spawn().await;
    let response = app.spec(ALICE).signed_b64(&app.idp_key);
    assert_eq!(app.post_acs(&response, None).await.status(), 303);
    assert_refused_after_login(&app, &response, "SAML_ASSERTION_REPLAYED").await;

    let (id, _) = app.start_login().await;
    let mut first = app.spec(ALICE);
    first.in_response_to = Some(id.clone());
    assert_eq!(app.post_acs(&first.signed_b64(&app.idp_key), None).await.status(), 303);
    let mut second = app.spec(ALICE);
    second.in_response_to = Some(id);
    assert_refused_after_login(&app, &second.signed_b64(&app.idp_key), "SAML_IN_RESPONSE_TO_USED").await;
}

async fn assert_refused_after_login(app: &TestApp, value: &str, code: &str) {
    let before = app.counts().await;
    let fresh = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let res = fresh.post(app.acs()).form(&[("SAMLResponse", value)]).send().await.unwrap();
    assert_eq!(reason_code(res).await, (403, code.to_string()));
    let after = app.counts().await;
    assert_eq!(
        (after.users, after.used_assertions, after.consumed_requests),
        (before.users, before.used_assertions, before.consumed_requests)
    );
}

#[tokio::test]
async fn an_unsigned_envelope_cannot_make_an_unsolicited_assertion_solicited() {
    let app = TestApp::spawn().await;
    app.set(SsoSettings { idp_initiated: Some(false), ..Default::default() }).await;
    // The attacker starts a login to get a genuine pending request ID…
    let (request_id, _) = app.start_login().await;
    // …and adds it to the unsigned Response around a signed unsolicited assertion.
    let xml = app.spec(ALICE).signed_xml(&app.idp_key);
    let forged = xml.replacen("<samlp:Response ", &format!(r#"<samlp:Response InResponseTo="{request_id}" "#), 1);
    assert_refused(&app, "envelope-only InResponseTo", &b64(&forged), 403, "SAML_IN_RESPONSE_TO_MISMATCH").await;
}

#[tokio::test]
async fn encrypted_assertions_that_are_not_signed_or_use_pkcs1_v15_are_refused() {
    use crate::support::pysaml2::{self, SignOptions};
    let app = TestApp::spawn().await;
    let metadata = app.sp_metadata_file().await;
    // Anyone can encrypt to our public certificate: encryption proves nothing about the sender.
    let unsigned = SignOptions {
        email: ALICE,
        in_response_to: None,
        sign_assertion: false,
        sign_response: false,
        encrypt: true,
        data_enc: None,
        key_transport: None,
    };
    let value = pysaml2::sign(&app.idp_key, &app.idp_entity_id, &metadata, &unsigned);
    // With the Response unsigned, everything after decryption answers the one decryption refusal
    // (no oracle: see SECURITY.md); the admin's log keeps SAML_ASSERTION_NOT_SIGNED as the cause.
    assert_refused(&app, "encrypted, nothing signed", &value, 403, "SAML_DECRYPTION_FAILED").await;
    let detail = app.svc.store.list_login_events(true, 1).await.unwrap().remove(0).detail.unwrap_or_default();
    assert!(detail.contains("SAML_ASSERTION_NOT_SIGNED"), "{detail}");
    let pkcs1 = SignOptions { sign_response: true, key_transport: Some("rsa-1_5"), ..unsigned };
    let value = pysaml2::sign(&app.idp_key, &app.idp_entity_id, &metadata, &pkcs1);
    assert_refused(&app, "RSA PKCS#1 v1.5 key transport", &value, 403, "SAML_DECRYPTION_FAILED").await;
}

#[tokio::test]
async fn identities_that_unicode_case_folding_would_merge_are_refused() {
    let app = TestApp::spawn().await;
    let kelvin = "\u{212A}im@example.com";
    let mut spec = app.spec(kelvin);
    spec.attributes = vec![("Email".into(), kelvin.into())];
    assert_refused(&app, "KELVIN SIGN email", &spec.signed_b64(&app.idp_key), 403, "SAML_EMAIL_MISSING").await;
}

#[tokio::test]
async fn an_answer_to_an_expired_request_is_refused() {
    let app = TestApp::spawn().await;
    let now = Utc::now().timestamp();
    let id = "_00112233445566778899aabbccddeeff";
    let request = |request_id, sso_id, now, expires_at| spconnect::store::NewAuthnRequest {
        request_id,
        sso_id,
        target: "/vault",
        browser_binding: "",
        client_addr: "127.0.0.1",
        now,
        expires_at,
        max_per_client: 32,
        max_per_sso: 10_000,
        purpose: spconnect::store::RequestPurpose::Login,
        admin_id: None,
    };
    app.svc.store.insert_authn_request(&request(id, app.sso_id(), now - 700, now - 100)).await.unwrap();
    let mut spec = app.spec(ALICE);
    spec.in_response_to = Some(id.into());
    assert_refused(&app, "expired request", &spec.signed_b64(&app.idp_key), 403, "SAML_IN_RESPONSE_TO_EXPIRED").await;
    // A request of another SSO configuration is as unknown as one never issued.
    let other = app.svc.store.create_sso("Other", "other.example", 1, now).await.unwrap();
    let foreign = request("_ffeeddccbbaa99887766554433221100", other.sso_id, now, now + 600);
    app.svc.store.insert_authn_request(&foreign).await.unwrap();
    let mut spec = app.spec(ALICE);
    spec.in_response_to = Some("_ffeeddccbbaa99887766554433221100".into());
    assert_refused(
        &app,
        "another configuration's request",
        &spec.signed_b64(&app.idp_key),
        403,
        "SAML_IN_RESPONSE_TO_UNKNOWN",
    )
    .await;
}

#[tokio::test]
async fn fifty_concurrent_posts_of_one_response_log_in_exactly_once() {
    let app = TestApp::spawn().await;
    let response = app.spec(ALICE).signed_b64(&app.idp_key);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let (client, acs, value) = (
            reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap(),
            app.acs(),
            response.clone(),
        );
        tasks.spawn(async move {
            client.post(acs).form(&[("SAMLResponse", value)]).send().await.unwrap().status().as_u16()
        });
    }
    let mut statuses = Vec::new();
    while let Some(s) = tasks.join_next().await {
        statuses.push(s.unwrap());
    }
    assert_eq!(statuses.iter().filter(|s| **s == 303).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 403).count(), 49, "{statuses:?}");
    assert_eq!(app.counts().await.used_assertions, 1);
}

#[tokio::test]
async fn xml_tricks_are_refused_before_any_parser_or_fetch() {
    let app = TestApp::spawn().await;
    // A listener that records any connection: no reference or entity may make us fetch.
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    probe.set_nonblocking(true).unwrap();
    let probe_url = format!("http://127.0.0.1:{}/probe", probe.local_addr().unwrap().port());
    let signed = app.spec(ALICE).signed_xml(&app.idp_key);
    let body = signed.split_once("?>").unwrap().1.to_string();
    let laughs = format!(
        r#"<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>{}"#,
        body.replacen(ALICE, "&c;", 1)
    );
    let cases: Vec<(&str, String, u16, &str)> = vec![
        ("billion laughs", laughs, 400, "SAML_XML_DTD_FORBIDDEN"),
        ("external entity to a file", format!(r#"<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>{}"#, body.replacen(ALICE, "&x;", 1)), 400, "SAML_XML_DTD_FORBIDDEN"),
        ("external entity to loopback", format!(r#"<!DOCTYPE r [<!ENTITY x SYSTEM "{probe_url}">]>{}"#, body.replacen(ALICE, "&x;", 1)), 400, "SAML_XML_DTD_FORBIDDEN"),
        ("any DOCTYPE", format!("<!DOCTYPE samlp:Response>{body}"), 400, "SAML_XML_DTD_FORBIDDEN"),
        ("undeclared entity", body.replacen(ALICE, "&x;", 1), 400, "SAML_XML_DTD_FORBIDDEN"),
        ("processing instruction", body.replacen("<samlp:Status>", "<?xml-stylesheet href=\"x\"?><samlp:Status>", 1), 400, "SAML_XML_PI_FORBIDDEN"),
        ("remote Reference URI", signed.replacen(r##"URI="#"##, &format!(r#"URI="{probe_url}#"#), 1), 403, "SAML_REFERENCE_FORBIDDEN"),
        ("XSLT transform", signed.replacen(
            r#"<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>"#,
            r#"<ds:Transform Algorithm="http://www.w3.org/TR/1999/REC-xslt-19991116"><xsl:stylesheet xmlns:xsl="http://www.w3.org/1999/XSL/Transform" version="1.0"><xsl:template match="/"><xsl:message>pwned</xsl:message></xsl:template></xsl:stylesheet></ds:Transform>"#, 1), 403, "SAML_TRANSFORM_FORBIDDEN"),
        ("XPath transform", signed.replacen(
            r#"<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>"#,
            r#"<ds:Transform Algorithm="http://www.w3.org/TR/1999/REC-xpath-19991116"><ds:XPath>1</ds:XPath></ds:Transform>"#, 1), 403, "SAML_TRANSFORM_FORBIDDEN"),
        // libxml2 would decode UTF-7 and find a Signature our parsers saw as text.
        ("UTF-7 declaration hiding a remote reference", signed.replacen(r#"encoding="UTF-8""#, r#"encoding="UTF-7""#, 1).replacen(
            "<samlp:Status>",
            &format!(r#"<x>+ADw-ds:Signature xmlns:ds=+ACI-http://www.w3.org/2000/09/xmldsig#+ACI-+AD4-+ADw-ds:SignedInfo+AD4-+ADw-ds:Reference URI=+ACI-{probe_url}+ACI-/+AD4-+ADw-/ds:SignedInfo+AD4-+ADw-/ds:Signature+AD4-</x><samlp:Status>"#), 1), 400, "SAML_XML_MALFORMED"),
        ("UTF-16 declaration", signed.replacen(r#"encoding="UTF-8""#, r#"encoding="UTF-16""#, 1), 400, "SAML_XML_MALFORMED"),
        ("xml:id colliding with the signed ID", signed.replacen("<samlp:Status>", &format!(r#"<samlp:Extensions><x xml:id="{}"/></samlp:Extensions><samlp:Status>"#, signed_assertion_id(&signed)), 1), 403, "SAML_DUPLICATE_ID"),
        ("namespaced ID attribute", signed.replacen("<samlp:Status>", r#"<samlp:Extensions><x xmlns:e="urn:e" e:ID="_evil"/></samlp:Extensions><samlp:Status>"#, 1), 403, "SAML_DUPLICATE_ID"),
        ("KeyInfo RetrievalMethod", signed.replacen("<ds:X509Data>", &format!(r#"<ds:RetrievalMethod URI="{probe_url}"/><ds:X509Data>"#), 1), 403, "SAML_REFERENCE_FORBIDDEN"),
    ];
    for (name, xml, status, code) in cases {
        assert_refused(&app, name, &b64(&xml), status, code).await;
    }
    assert!(probe.accept().is_err(), "nothing connected to the probe listener");
}

#[tokio::test]
async fn malformed_and_oversized_input_gets_a_400_page_and_the_service_stays_up() {
    let app = TestApp::spawn().await;
    let valid = app.spec(ALICE).signed_xml(&app.idp_key);
    let deep = format!(
        "<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\">{}{}</samlp:Response>",
        "<a>".repeat(500),
        "</a>".repeat(500)
    );
    let many_attrs: String = (0..2100)
        .map(|i| format!("<saml:Attribute Name=\"a{i}\"><saml:AttributeValue>v</saml:AttributeValue></saml:Attribute>"))
        .collect();
    let cases: Vec<(&str, String, u16, &str)> = vec![
        ("empty SAMLResponse", String::new(), 400, "SAML_RESPONSE_MISSING"),
        ("bad base64", "!!!not base64!!!".into(), 400, "SAML_BASE64_INVALID"),
        ("truncated XML", b64(&valid[..valid.len() / 2]), 400, "SAML_XML_MALFORMED"),
        ("not XML", b64("hello"), 400, "SAML_XML_MALFORMED"),
        ("wrong root", b64("<foo/>"), 400, "SAML_NOT_A_RESPONSE"),
        ("deep nesting", b64(&deep), 400, "SAML_XML_TOO_COMPLEX"),
        (
            "huge attribute count",
            b64(&app
                .spec(ALICE)
                .template()
                .replace("<saml:AttributeStatement>", &format!("<saml:AttributeStatement>{many_attrs}"))),
            400,
            "SAML_XML_TOO_COMPLEX",
        ),
        ("SAMLResponse value over 512 KiB", b64(&" ".repeat(400 * 1024)), 413, "SAML_RESPONSE_TOO_LARGE"),
    ];
    for (name, value, status, code) in cases {
        assert_refused(&app, name, &value, status, code).await;
    }
    // No SAMLResponse field at all.
    let res = app.client.post(app.acs()).form(&[("RelayState", "/vault")]).send().await.unwrap();
    assert_eq!(reason_code(res).await, (400, "SAML_RESPONSE_MISSING".into()));
    // A 10 MB body is cut off by the body limit, not read whole.
    let res = app
        .client
        .post(app.acs())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(vec![b'a'; 10 * 1024 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(reason_code(res).await, (413, "SAML_RESPONSE_TOO_LARGE".into()));
    assert_eq!(app.client.get(format!("{}/healthz", app.base)).send().await.unwrap().status(), 200);
    // And a valid login still works afterwards.
    assert_eq!(app.post_acs(&xmlsec::b64(&app.spec(ALICE).signed_xml(&app.idp_key)), None).await.status(), 303);
}

#[tokio::test]
async fn an_assertion_without_conditions_is_refused_with_its_own_code() {
    let app = TestApp::spawn().await;
    let spec = app.spec(ALICE);
    let assertion = spec.assertion_xml();
    let start = assertion.find("<saml:Conditions").expect("Conditions in the fixture");
    let end = assertion.find("</saml:Conditions>").expect("end of Conditions") + "</saml:Conditions>".len();
    let bare = format!("{}{}", &assertion[..start], &assertion[end..]);
    let xml = crate::support::xmlsec::sign_xml(&spec.template_with_assertion(&bare), &app.idp_key, true, false);
    assert_refused(&app, "no Conditions", &crate::support::xmlsec::b64(&xml), 403, "SAML_CONDITIONS_MISSING").await;
}
