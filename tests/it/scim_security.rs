//! Issue 8, SCIM items: each attack from the outside review replayed against the live service
//! over HTTP, asserting the refusal and that nothing changed (the user rows, the outbox, the
//! other node's view).
//!
//! Nodes used here: root (1) with the test app's configuration for `example.com`; Eng (child of
//! root) with a configuration for `eng.example`; Sales (child of root) with one for
//! `sales.example`. Every configuration trusts the same test IdP key.

use std::net::{IpAddr, Ipv4Addr};

use serde_json::{json, Value};
use spconnect::store::{SsoConfig, SsoSettings, User};

use crate::support::scim::{q, Answer, ScimClient};
use crate::support::xmlsec::ResponseSpec;
use crate::support::TestApp;

/// A node below root with an SSO configuration for `domain` (IdP metadata imported).
async fn node_with_sso(app: &TestApp, name: &str, domain: &str) -> (i64, SsoConfig) {
    let now = chrono::Utc::now().timestamp();
    let node = app.svc.store.create_node(name, 1, now).await.unwrap();
    let sso = app.svc.store.create_sso(name, domain, node.node_id, now).await.unwrap();
    let xml = crate::support::idp_metadata("jumpcloud.xml", &app.idp_entity_id, &app.idp_sso_url, &app.idp_key, None);
    let parsed = spconnect::saml::idp_metadata::parse(&xml).unwrap();
    app.svc.store.set_idp(sso.sso_id, &parsed, &xml, now).await.unwrap();
    (node.node_id, sso)
}

/// Sign `email` in through configuration `sso_id` (an unsolicited, signed response).
async fn sign_in(app: &TestApp, sso_id: i64, email: &str) -> u16 {
    let entity = format!("{}/api/rest/sso/saml/{sso_id}", app.base);
    let acs = format!("{}/api/rest/sso/saml/sso/{sso_id}", app.base);
    let spec = ResponseSpec::new(&app.idp_entity_id, &entity, &acs, email);
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let res = client.post(&acs).form(&[("SAMLResponse", spec.signed_b64(&app.idp_key))]).send().await.unwrap();
    res.status().as_u16()
}

async fn row(app: &TestApp, email: &str) -> Option<User> {
    app.svc.store.find_user_by_email(email).await.unwrap()
}

/// Every user row, as JSON, for "nothing changed" comparisons.
async fn all_rows(app: &TestApp) -> Value {
    serde_json::to_value(app.svc.store.list_users().await.unwrap()).unwrap()
}

/// What a user is (who, where, which state), without `updated_at`, which a successful no-op
/// write refreshes.
async fn identities(app: &TestApp) -> Vec<Value> {
    let users = app.svc.store.list_users().await.unwrap();
    users
        .iter()
        .map(|u| {
            json!([
                u.user_id,
                u.email,
                u.status.as_str(),
                u.node_id,
                u.scim_id,
                u.scim_deleted_at,
                u.first_name,
                u.last_name,
                u.display_name,
                u.external_id
            ])
        })
        .collect()
}

async fn outbox_len(app: &TestApp) -> usize {
    app.svc.store.list_outbox(1000).await.unwrap().len()
}

fn user_body(email: &str) -> Value {
    json!({"schemas": [spconnect::scim::USER_URN], "userName": email, "active": true,
           "emails": [{"value": email, "primary": true}]})
}

async fn find(scim: &ScimClient, email: &str) -> Answer {
    scim.get(&format!("/Users?filter={}", q(&format!("userName eq \"{email}\"")))).await
}

// ---- item 1: cross-node takeover -------------------------------------------------------------

#[tokio::test]
async fn sales_cannot_take_over_a_user_eng_deprovisioned_and_eng_keeps_control() {
    let app = TestApp::spawn().await;
    let (eng_node, eng_sso) = node_with_sso(&app, "Engineering", "eng.example").await;
    let (sales_node, _) = node_with_sso(&app, "Sales", "sales.example").await;
    let eng = app.scim_for(eng_node).await;
    let sales = app.scim_for(sales_node).await;

    // Eng provisions carol, she signs in through Eng's configuration, Eng deprovisions her.
    let carol_id = eng.create_user("carol@eng.example").await;
    assert_eq!(sign_in(&app, eng_sso.sso_id, "carol@eng.example").await, 303);
    assert_eq!(eng.delete(&format!("/Users/{carol_id}")).await.status, 204);
    let before = row(&app, "carol@eng.example").await.unwrap();
    assert_eq!((before.node_id, before.status.as_str()), (eng_node, "locked"));
    let (rows_before, outbox_before) = (all_rows(&app).await, outbox_len(&app).await);

    // The attack: Sales posts her userName with its own token (also in other spellings).
    for name in ["carol@eng.example", "CAROL@Eng.Example"] {
        let a = sales.post("/Users", &user_body(name)).await;
        assert_ne!(a.status, 201, "{}", a.body);
        a.assert_error(400, Some("invalidValue"));
        let detail = a.body["detail"].as_str().unwrap();
        assert!(
            !detail.contains("Engineering") && !detail.contains(&format!("node {eng_node}")),
            "names no other node: {detail}"
        );
    }
    // Nothing changed: same row (node, lock, tombstone, SCIM id), no invitation, Sales sees nothing.
    assert_eq!(all_rows(&app).await, rows_before);
    assert_eq!(outbox_len(&app).await, outbox_before);
    assert_eq!(find(&sales, "carol@eng.example").await.total(), 0);
    sales.get(&format!("/Users/{carol_id}")).await.assert_error(404, None);
    // And her IdP login stays refused (locked), rather than landing anywhere.
    assert_ne!(sign_in(&app, eng_sso.sso_id, "carol@eng.example").await, 303);
    assert_eq!(all_rows(&app).await, rows_before);

    // Eng still controls her: re-creating brings back the same person in Eng, and Eng can lock her.
    let again = eng.create_user("carol@eng.example").await;
    let back = row(&app, "carol@eng.example").await.unwrap();
    assert_eq!((back.user_id, back.node_id, back.status.as_str()), (before.user_id, eng_node, "active"));
    let locked = eng
        .patch(
            &format!("/Users/{again}"),
            &json!({"Operations": [{"op": "replace", "path": "active", "value": false}]}),
        )
        .await;
    assert_eq!((locked.status, locked.body["active"].as_bool()), (200, Some(false)), "{}", locked.body);
    assert_eq!(row(&app, "carol@eng.example").await.unwrap().status.as_str(), "locked");
}

#[tokio::test]
async fn a_node_never_revives_or_moves_another_nodes_user_even_inside_a_domain_it_manages() {
    // The store-level rule, reached when two nodes can both write a domain: the domain
    // shared.example moves from Eng's list to Sales's list after Eng provisioned carol there.
    let app = TestApp::spawn().await;
    let (eng_node, _) = node_with_sso(&app, "Engineering", "eng.example").await;
    let (sales_node, _) = node_with_sso(&app, "Sales", "sales.example").await;
    let eng = app.scim_for(eng_node).await;
    let sales = app.scim_for(sales_node).await;
    app.svc.store.set_node_domains(eng_node, &["shared.example".into()]).await.unwrap();
    let carol = eng.create_user("carol@shared.example").await;
    let _dave = eng.create_user("dave@shared.example").await;
    assert_eq!(eng.delete(&format!("/Users/{carol}")).await.status, 204);
    // While Eng lists it, Sales cannot claim the domain.
    assert!(app.svc.store.set_node_domains(sales_node, &["shared.example".into()]).await.is_err());
    app.svc.store.set_node_domains(eng_node, &[]).await.unwrap();
    app.svc.store.set_node_domains(sales_node, &["shared.example".into()]).await.unwrap();
    let erin = sales.create_user("erin@shared.example").await;
    let (rows_before, outbox_before) = (all_rows(&app).await, outbox_len(&app).await);

    // Eng's tombstone (carol) and Eng's live user (dave): 409, not revived, not moved.
    let tomb = sales.post("/Users", &user_body("carol@shared.example")).await;
    tomb.assert_error(409, Some("uniqueness"));
    let live_elsewhere = sales.post("/Users", &user_body("dave@shared.example")).await;
    live_elsewhere.assert_error(409, Some("uniqueness"));
    // Renaming Sales's own user onto either address: the same 409.
    let erin_path = format!("/Users/{erin}");
    sales.put(&erin_path, &user_body("carol@shared.example")).await.assert_error(409, Some("uniqueness"));
    sales.put(&erin_path, &user_body("dave@shared.example")).await.assert_error(409, Some("uniqueness"));
    assert_eq!(all_rows(&app).await, rows_before, "no row changed");
    assert_eq!(outbox_len(&app).await, outbox_before, "no invitation queued");
    let c = row(&app, "carol@shared.example").await.unwrap();
    assert_eq!((c.node_id, c.status.as_str(), c.scim_deleted_at.is_some()), (eng_node, "locked", true));
    assert_eq!(row(&app, "dave@shared.example").await.unwrap().node_id, eng_node);
    assert_eq!(find(&eng, "dave@shared.example").await.total(), 1, "Eng still sees dave");

    // item 12: one answer whoever holds the address — Sales's own live user reads the same.
    let own = sales.post("/Users", &user_body("erin@shared.example")).await;
    own.assert_error(409, Some("uniqueness"));
    let shape = |a: &Answer, email: &str| a.body["detail"].as_str().unwrap().replace(email, "<userName>");
    assert_eq!(shape(&tomb, "carol@shared.example"), shape(&own, "erin@shared.example"));
    assert_eq!(shape(&live_elsewhere, "dave@shared.example"), shape(&own, "erin@shared.example"));
    for a in [&tomb, &live_elsewhere] {
        let d = a.body["detail"].as_str().unwrap();
        assert!(!d.contains("Engineering") && !d.contains(&format!("node {eng_node}")), "{d}");
    }
}

// ---- item 2: squatting another node's domain ------------------------------------------------

#[tokio::test]
async fn a_child_node_cannot_create_or_rename_users_in_its_parents_domain() {
    let app = TestApp::spawn().await;
    let (eng_node, eng_sso) = node_with_sso(&app, "Engineering", "eng.example").await;
    let eng = app.scim_for(eng_node).await;
    let rows_before = all_rows(&app).await;

    // The squat: Eng creates the CEO of root's domain before the CEO's first login.
    for body in [
        user_body("ceo@example.com"),
        json!({"userName": "ceo@example.com", "active": false}),
        json!({"userName": "ceo@sub.eng.example"}),
        json!({"userName": "ceo@eng.example.evil"}),
    ] {
        let a = eng.post("/Users", &body).await;
        a.assert_error(400, Some("invalidValue"));
        assert!(a.body["detail"].as_str().unwrap().contains("eng.example"), "{}", a.body);
    }
    assert_eq!(all_rows(&app).await, rows_before, "no user created");
    // The CEO's first login goes through root's configuration and lands in root, not in Eng.
    assert_eq!(sign_in(&app, app.sso_id(), "ceo@example.com").await, 303);
    assert_eq!(row(&app, "ceo@example.com").await.unwrap().node_id, 1);
    assert_eq!(find(&eng, "ceo@example.com").await.total(), 0);

    // Renames into (and out of) a domain Eng does not manage are refused, by PUT and by PATCH.
    let mole = eng.create_user("mole@eng.example").await;
    let path = format!("/Users/{mole}");
    let before = all_rows(&app).await;
    eng.put(&path, &user_body("ceo2@example.com")).await.assert_error(400, Some("invalidValue"));
    eng.patch(&path, &json!({"Operations": [{"op": "replace", "path": "userName", "value": "ceo2@example.com"}]}))
        .await
        .assert_error(400, Some("invalidValue"));
    eng.patch(&path, &json!({"Operations": [{"op": "replace", "value": {"userName": "x@example.com"}}]}))
        .await
        .assert_error(400, Some("invalidValue"));
    assert_eq!(all_rows(&app).await, before, "nothing renamed");
    // Inside its own domain Eng renames freely (and a case change is no rename at all).
    let ok = eng.put(&path, &user_body("agent@eng.example")).await;
    assert_eq!((ok.status, ok.body["userName"].as_str()), (200, Some("agent@eng.example")), "{}", ok.body);
    assert_eq!(eng.put(&path, &user_body("AGENT@eng.example")).await.status, 200);

    // A user in Eng's domain who signed in through root's configuration (root allows other
    // domains) is vouched for by root's IdP: Eng's SCIM may not rename it.
    app.set(SsoSettings { allow_other_domains: Some(true), ..Default::default() }).await;
    let dual = eng.create_user("dual@eng.example").await;
    assert_eq!(sign_in(&app, app.sso_id(), "dual@eng.example").await, 303);
    let before = all_rows(&app).await;
    let dual_path = format!("/Users/{dual}");
    eng.put(&dual_path, &user_body("dual2@eng.example")).await.assert_error(400, Some("mutability"));
    eng.patch(
        &dual_path,
        &json!({"Operations": [{"op": "replace", "path": "userName", "value": "dual2@eng.example"}]}),
    )
    .await
    .assert_error(400, Some("mutability"));
    assert_eq!(all_rows(&app).await, before, "nothing renamed");
    // Eng can still lock it (deprovisioning is not a rename).
    let lock =
        eng.patch(&dual_path, &json!({"Operations": [{"op": "replace", "path": "active", "value": false}]})).await;
    assert_eq!(lock.status, 200, "{}", lock.body);
    // Signing in through Eng's own configuration does not block Eng's renames.
    let own = eng.create_user("own@eng.example").await;
    assert_eq!(sign_in(&app, eng_sso.sso_id, "own@eng.example").await, 303);
    assert_eq!(eng.put(&format!("/Users/{own}"), &user_body("own2@eng.example")).await.status, 200);
}

#[tokio::test]
async fn a_node_without_a_domain_cannot_create_users_and_says_why() {
    let app = TestApp::spawn().await;
    let bare = app.svc.store.create_node("Bare", 1, 0).await.unwrap().node_id;
    let scim = app.scim_for(bare).await;
    let a = scim.post("/Users", &user_body("x@example.com")).await;
    a.assert_error(400, Some("invalidValue"));
    assert!(a.body["detail"].as_str().unwrap().contains("manages no domain"), "{}", a.body);
    assert!(row(&app, "x@example.com").await.is_none());
    // An admin-listed domain makes it a provisioning node; another node's domain is refused.
    assert!(app.svc.store.set_node_domains(bare, &["example.com".into()]).await.is_err(), "root's domain");
    app.svc.store.set_node_domains(bare, &["Bare.Example".into()]).await.unwrap();
    assert_eq!(app.svc.store.node_managed_domains(bare).await.unwrap(), ["bare.example"]);
    scim.create_user("x@bare.example").await;
    // And no SSO configuration of another node can take a listed domain afterwards.
    let now = chrono::Utc::now().timestamp();
    let err = app.svc.store.create_sso("Late", "bare.example", 1, now).await.unwrap_err();
    assert!(err.to_string().contains("listed for another node"), "{err}");
    assert_eq!(app.svc.store.node_managed_domains(1).await.unwrap(), ["example.com"]);
    // Groups need no domain.
    scim.create_group("Team", &[]).await;
}

// ---- item 12: no existence oracle across domains -------------------------------------------

#[tokio::test]
async fn an_address_outside_the_nodes_domains_gets_one_answer_whether_or_not_it_exists() {
    let app = TestApp::spawn().await;
    let (eng_node, _) = node_with_sso(&app, "Engineering", "eng.example").await;
    let (sales_node, _) = node_with_sso(&app, "Sales", "sales.example").await;
    let eng = app.scim_for(eng_node).await;
    let sales = app.scim_for(sales_node).await;
    let live = eng.create_user("live@eng.example").await;
    let gone = eng.create_user("gone@eng.example").await;
    assert_eq!(eng.delete(&format!("/Users/{gone}")).await.status, 204);
    let _ = live;
    let answers: Vec<Answer> = post_each(&sales, &["live@eng.example", "gone@eng.example", "nobody@eng.example"]).await;
    for a in &answers {
        a.assert_error(400, Some("invalidValue"));
    }
    assert_eq!(answers[0].body, answers[2].body, "exists elsewhere reads as does not exist");
    assert_eq!(answers[1].body, answers[2].body, "deleted elsewhere reads as does not exist");
    assert!(row(&app, "nobody@eng.example").await.is_none());
}

async fn post_each(scim: &ScimClient, emails: &[&str]) -> Vec<Answer> {
    let mut out = Vec::new();
    for e in emails {
        out.push(scim.post("/Users", &user_body(e)).await);
    }
    out
}

// ---- item 9: multi-byte characters ------------------------------------------------------------

#[tokio::test]
async fn multibyte_characters_in_filters_attributes_and_paths_answer_instead_of_dropping_the_connection() {
    let app = TestApp::spawn().await;
    let scim = app.scim().await;
    let id = scim.create_user("carol@example.com").await;
    // One byte short of the core URN, then a two-byte character across its end: this used to
    // panic in strip_core_urn (connection dropped, no answer, no audit row).
    let urnish = "urn:ietf:params:scim:schemas:core:2.0:Useé:userName";
    let events_before = app.svc.store.list_provisioning_events(0, 1000).await.unwrap().len();

    let a = scim.get(&format!("/Users?filter={}", q(&format!("{urnish} eq \"x\"")))).await;
    a.assert_error(400, Some("invalidFilter"));
    for f in ["userNäme eq \"x\"", "userName eq \"a\" \u{3000}and\u{3000} active eq true", "名前 pr", "userName eq ü"]
    {
        let a = scim.get(&format!("/Users?filter={}", q(f))).await;
        assert!(a.status == 400 || a.status == 200, "{f}: {}", a.body);
        if a.status == 400 {
            a.assert_error(400, Some("invalidFilter"));
        }
    }
    let a = scim.get(&format!("/Groups?filter={}", q(&format!("{urnish} pr")))).await;
    a.assert_error(400, Some("invalidFilter"));

    let a = scim.get(&format!("/Users/{id}?attributes={}", q(urnish))).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["id"], id.as_str(), "only id and schemas survive an unknown attribute");
    assert!(a.body.get("userName").is_none(), "{}", a.body);
    let a = scim.get(&format!("/Users?excludedAttributes={}&attributes=userName", q(&format!("€,{urnish}")))).await;
    assert_eq!(a.body["Resources"][0]["userName"], "carol@example.com");

    let path = format!("/Users/{id}");
    let before = identities(&app).await;
    for (p, want) in [
        (urnish, 200), // a path in an unknown schema is ignored, like an extension
        ("name.givé", 400),
        ("emails[typé eq \"work\"].value", 400),
        ("emails[type eq \"wörk\"].välue", 400),
        ("ñ", 400),
    ] {
        let a = scim.patch(&path, &json!({"Operations": [{"op": "replace", "path": p, "value": "x"}]})).await;
        if want == 400 {
            a.assert_error(400, Some("invalidPath"));
        } else {
            assert_eq!(a.status, 200, "{p}: {}", a.body);
        }
    }
    assert_eq!(identities(&app).await, before, "nothing changed");
    let after = app.svc.store.list_provisioning_events(0, 1000).await.unwrap();
    // 1 + 4 + 1 filters, 2 projections, 5 patches: every one of them answered and recorded.
    assert_eq!(after.len() - events_before, 13);
}

// ---- item 13: oversized bodies and token guessing ----------------------------------------------

#[tokio::test]
async fn oversized_bodies_get_a_413_scim_error_not_a_reset() {
    let app = TestApp::spawn().await;
    let scim = app.scim().await;
    let id = scim.create_user("carol@example.com").await;
    let rows_before = all_rows(&app).await;
    let limit = spconnect::scim::MAX_BODY_BYTES;
    for (method, path, size) in [
        ("POST", "/Users".to_string(), limit + 1),
        ("POST", "/Users".to_string(), 5 * limit),
        ("PUT", format!("/Users/{id}"), 3 * limit),
        ("PATCH", format!("/Users/{id}"), 2 * limit),
        ("POST", "/Groups".to_string(), 4 * limit),
    ] {
        let pad = "x".repeat(size);
        let body = json!({"userName": "big@example.com", "displayName": pad, "Operations": []});
        let a = scim.call(method, &path, Some(&body)).await;
        a.assert_error(413, None);
        assert_eq!(a.body["status"], "413");
    }
    // Exactly at the limit is read (and then judged on its content).
    let mut exact = json!({"userName": "edge@example.com", "displayName": ""}).to_string();
    let room = limit - exact.len();
    exact = exact.replace("\"displayName\":\"\"", &format!("\"displayName\":\"{}\"", " ".repeat(room)));
    assert_eq!(exact.len(), limit);
    let res = reqwest::Client::new()
        .post(format!("{}/Users", scim.base))
        .bearer_auth(&scim.token)
        .header("content-type", "application/scim+json")
        .body(exact)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let rows_after = all_rows(&app).await;
    assert_eq!(rows_after.as_array().unwrap().len(), rows_before.as_array().unwrap().len() + 1);
    let refused = app.svc.store.list_provisioning_events(0, 100).await.unwrap();
    assert_eq!(refused.iter().filter(|e| e.reason.as_deref() == Some("TOO_LARGE")).count(), 5, "each one audited");
}

#[tokio::test]
async fn failed_tokens_are_throttled_per_client_address() {
    let app = TestApp::spawn().await;
    let scim = app.scim().await;
    let max = spconnect::scim::throttle::MAX_FAILURES;
    for i in 0..max {
        scim.send("GET", "/Users", None, Some(&format!("spc_guess{i}"))).await.assert_error(401, None);
    }
    // Past the limit: 429 with a SCIM body and Retry-After, without looking at the token —
    // the right token from this address is refused too.
    for token in ["spc_guess_more", scim.token.as_str()] {
        let a = scim.send("GET", "/Users", None, Some(token)).await;
        a.assert_error(429, None);
        let retry: u64 = a.headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!(retry > 0 && retry <= spconnect::scim::throttle::WINDOW.as_secs(), "{retry}");
    }
    let a = scim.send("POST", "/Users", Some(&user_body("x@example.com")), Some(&scim.token)).await;
    a.assert_error(429, None);
    assert!(row(&app, "x@example.com").await.is_none());
    // Another client address is not affected.
    let other = reqwest::Client::builder().local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2))).build().unwrap();
    let res = other.get(format!("{}/Users", scim.base)).bearer_auth(&scim.token).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let res = other.get(format!("{}/Users", scim.base)).bearer_auth("spc_wrong").send().await.unwrap();
    assert_eq!(res.status(), 401, "that address has its own count");
    // Refusals are logged, never recorded in the audit table (which only the accepted call reached).
    let events = app.svc.store.list_provisioning_events(0, 100).await.unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].client_addr.as_deref(), Some("127.0.0.2"));
}

/// Outside review after issue 9: on PostgreSQL a login read the user's status without a row lock
/// and wrote `active` back, so a SCIM DELETE (or an admin lock) committing in between was undone:
/// a deprovisioned user kept signing in and SCIM could no longer see it. Here every user is
/// deprovisioned while four of its logins run at once; none may end up both deleted and active.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deprovision_racing_logins_always_leaves_the_user_locked() {
    let app = TestApp::spawn().await;
    let scim = app.scim().await;
    for round in 0..40 {
        let email = format!("race{round}@example.com");
        let id = scim.create_user(&email).await;
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..4 {
            let (client, acs) =
                (reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap(), app.acs());
            let value = app.spec(&email).signed_b64(&app.idp_key);
            tasks.spawn(async move {
                client.post(acs).form(&[("SAMLResponse", value)]).send().await.unwrap().status().as_u16()
            });
        }
        let deleted = scim.delete(&format!("/Users/{id}")).await;
        assert_eq!(deleted.status, 204);
        while let Some(s) = tasks.join_next().await {
            assert!(matches!(s.unwrap(), 303 | 403), "a login either happened before the deprovision or was refused");
        }
        let user = app.svc.store.find_user_by_email(&email).await.unwrap().unwrap();
        assert!(user.scim_deleted_at.is_some());
        assert_eq!(user.status, spconnect::store::UserStatus::Locked, "round {round}: {user:?}");
        let late = app.post_acs_raw(&app.spec(&email).signed_b64(&app.idp_key), None).await;
        assert_eq!(late.status(), 403, "round {round}: a deprovisioned user cannot sign in");
    }
}
