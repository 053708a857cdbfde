//! SCIM /Users over HTTP: Keeper's rules (userName = email, invited on create, lock on
//! deprovision/DELETE), filters, pagination, projection, the PATCH variants real IdPs send,
//! tokens, seats, and the full lifecycle against the SAML login.

use serde_json::json;
use spconnect::store::UserStatus;

use crate::support::scim::q;
use crate::support::{reason_code, TestApp};

const CAROL: &str = "carol@example.com";

#[tokio::test]
async fn create_makes_an_invited_user_queues_an_invitation_and_ignores_unknown_attributes() {
    let app = TestApp::spawn().await;
    let scim = app.scim().await;
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "userName": "Carol@Example.com", "externalId": "jc-42", "displayName": "Carol C",
        "name": {"givenName": "Carol", "familyName": "Cee", "middleName": "X"},
        "emails": [{"value": "carol@example.com", "type": "work", "primary": true}],
        "nickName": "cc", "title": "CFO",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Finance", "employeeNumber": "7"},
        "active": true,
    });
    let a = scim.post("/Users", &body).await;
    assert_eq!(a.status, 201, "{}", a.body);
    assert!(a.content_type.starts_with("application/scim+json"));
    let id = a.body["id"].as_str().unwrap().to_string();
    assert_eq!(a.headers["location"].to_str().unwrap(), format!("{}/Users/{id}", scim.base));
    assert_eq!(a.body["userName"], "carol@example.com");
    assert_eq!(a.body["name"], json!({"givenName": "Carol", "familyName": "Cee"}));
    assert_eq!(
        (a.body["externalId"].as_str(), a.body["displayName"].as_str(), a.body["active"].as_bool()),
        (Some("jc-42"), Some("Carol C"), Some(true))
    );
    let text = a.body.to_string();
    for never in ["enterprise:2.0:User\":", "Finance", "nickName", "CFO", "middleName"] {
        assert!(!text.contains(never), "{never} echoed: {text}");
    }
    let user = app.svc.store.find_user_by_email(CAROL).await.unwrap().unwrap();
    assert_eq!(
        (user.status, user.provisioned_by.as_str(), user.first_name.as_str()),
        (UserStatus::Invited, "scim", "Carol")
    );
    let outbox = app.svc.store.list_outbox(10).await.unwrap();
    assert_eq!(outbox.len(), 1);
    assert_eq!((outbox[0].kind.as_str(), outbox[0].recipient.as_str(), outbox[0].sent_at), ("invitation", CAROL, None));
    assert_eq!(scim.get(&format!("/Users/{id}")).await.body, a.body);
}

#[tokio::test]
async fn create_refusals_are_scim_errors() {
    let app = TestApp::spawn().await;
    let scim = app.scim().await;
    scim.create_user(CAROL).await;
    scim.post("/Users", &json!({"userName": "CAROL@example.COM"})).await.assert_error(409, Some("uniqueness"));
    scim.post("/Users", &json!({"userName": "carol"})).await.assert_error(400, Some("invalidValue"));
    scim.post(
        "/Users",
        &json!({"userName": "dave@example.com", "emails": [{"value": "david@example.com", "primary": true}]}),
    )
    .await
    .assert_error(400, Some("invalidValue"));
    scim.post("/Users", &json!({"name": {"givenName": "No"}})).await.assert_error(400, Some("invalidValue"));
    scim.post("/Users", &json!({"userName": "eve@example.com", "active": "perhaps"}))
        .await
        .assert_error(400, Some("invalidValue"));
    let raw = app
        .client
        .post(format!("{}/Users", scim.base))
        .bearer_auth(&scim.token)
        .body("{\"userName\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 400);
    let v: serde_json::Value = serde_json::from_str(&raw.text().await.unwrap()).unwrap();
    assert_eq!((v["scimType"].as_str(), v["status"].as_str()), (Some("invalidSyntax"), Some("400")));
    let big = json!({"userName": "big@example.com", "displayName": "x".repeat(2 * 1024 * 1024)});
    scim.post("/Users", &big).await.assert_error(413, None);
    scim.get("/Users/00000000-0000-4000-8000-000000000000").await.assert_error(404, None);
    scim.post("/Users/abc", &json!({})).await.assert_error(405, None);
    assert_eq!(app.svc.store.list_users().await.unwrap().len(), 1, "nothing created by refusals");
    assert_eq!(app.svc.store.list_outbox(10).await.unwrap().len(), 1);
}

#[tokio::test]
async fn filters_cover_what_idps_send_and_bad_filters_are_400() {
    let app = TestApp::spawn().await;
    let scim = app.scim().await;
    let carol = scim.create_user(CAROL).await;
    let dave = scim.create_user("dave@example.com").await;
    scim.patch(
        &format!("/Users/{dave}"),
        &json!({"Operations": [{"op": "replace", "value": {"externalId": "ext-D", "displayName": "Dave D"}}]}),
    )
    .await;
    for (filter, want) in [
        (r#"userName eq "CAROL@EXAMPLE.COM""#, vec![&carol]),
        (r#"emails.value eq "dave@example.com""#, vec![&dave]),
        (r#"externalId eq "ext-D""#, vec![&dave]),
        (r#"externalId eq "EXT-D""#, vec![]),
        (r#"displayName eq "dave d""#, vec![&dave]),
        (r#"userName eq "carol@example.com" or displayName eq "Dave D""#, vec![&carol, &dave]),
        (r#"userName sw "dave" and active eq true"#, vec![&dave]),
        (r#"userName eq "nobody@example.com""#, vec![]),
    ] {
        let a = scim.get(&format!("/Users?filter={}", q(filter))).await;
        assert_eq!(a.ids(), want.iter().map(|s| s.to_string()).collect::<Vec<_>>(), "{filter}");
        assert_eq!(a.total() as usize, want.len());
    }
    let deep = format!("{}userName pr{}", "(".repeat(30), ")".repeat(30));
    for bad in [r#"userName eq"#, r#"userName xx "a""#, r#"(userName pr"#, deep.as_str()] {
        scim.get(&format!("/Users?filter={}", q(bad))).await.assert_error(400, Some("invalidFilter"));
    }
    let long = format!("userName eq \"{}\"", "a".repeat(3000));
    scim.get(&format!("/Users?filter={}", q(&long))).await.assert_error(400, Some("invalidFilter"));
}

#[tokio::test]
async fn pagination_and_attribute_projection() {
    let app = TestApp::spawn().await;
    let scim = app.scim().await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(scim.create_user(&format!("u{i}@example.com")).await);
    }
    let a = scim.get("/Users?startIndex=2&count=2").await;
    assert_eq!((a.total(), a.body["startIndex"].as_u64(), a.body["itemsPerPage"].as_u64()), (5, Some(2), Some(2)));
    assert_eq!(a.ids(), ids[1..3].to_vec());
    let a = scim.get("/Users?count=0").await;
    assert_eq!((a.total(), a.ids().len()), (5, 0));
    let a = scim.get("/Users?startIndex=5&count=100").await;
    assert_eq!(a.ids(), vec![ids[4].clone()]);
    let a = scim.get("/Users?count=5000").await;
    assert_eq!(a.ids().len(), 5, "count above 1000 is capped, not refused");
    scim.get("/Users?count=many").await.assert_error(400, Some("invalidValue"));

    let a = scim.get(&format!("/Users/{}?attributes=userName,name.givenName", ids[0])).await;
    let keys: Vec<&String> = a.body.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["id", "name", "schemas", "userName"]);
    assert_eq!(a.body["name"], json!({"givenName": "Test"}));
    let a = scim
        .get(&format!("/Users?excludedAttributes=emails,meta&filter={}", q(r#"userName eq "u1@example.com""#)))
        .await;
    let r = &a.body["Resources"][0];
    assert!(r.get("emails").is_none() && r.get("meta").is_none() && r["userName"] == "u1@example.com", "{r}");
}

#[tokio::test]
async fn patch_variants_from_entra_okta_and_keepers_client() {
    let app = TestApp::spawn().await;
    let scim = app.scim().await;
    let id = scim.create_user(CAROL).await;
    let path = format!("/Users/{id}");

    // Keeper's own client: Operations as one object, value an array of a dotted-key object.
    let a = scim.patch(&path, &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations":
        {"op": "replace", "value": [{"externalId": "k-1", "displayName": "Carol K", "name.givenName": "Caroline", "name.familyName": "Kay", "active": true}]}})).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(
        (a.body["name"]["givenName"].as_str(), a.body["name"]["familyName"].as_str(), a.body["externalId"].as_str()),
        (Some("Caroline"), Some("Kay"), Some("k-1"))
    );

    // Entra: capitalised op, "False" as a string.
    let a = scim.patch(&path, &json!({"Operations": [{"op": "Replace", "path": "active", "value": "False"}]})).await;
    assert_eq!(a.body["active"], false, "{}", a.body);
    assert_eq!(app.svc.store.find_user_by_email(CAROL).await.unwrap().unwrap().status, UserStatus::Locked);
    let a = scim.patch(&path, &json!({"Operations": [{"op": "Replace", "path": "active", "value": "True"}]})).await;
    assert_eq!(a.body["active"], true);
    assert_eq!(
        app.svc.store.find_user_by_email(CAROL).await.unwrap().unwrap().status,
        UserStatus::Invited,
        "never logged in: back to invited"
    );

    // Entra renames: userName and the work email together, with a filtered path.
    let a = scim
        .patch(
            &path,
            &json!({"Operations": [
        {"op": "Replace", "path": "userName", "value": "caroline@example.com"},
        {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "caroline@example.com"},
        {"op": "Add", "path": "name.givenName", "value": "Lina"}]}),
        )
        .await;
    assert_eq!(
        (a.status, a.body["userName"].as_str(), a.body["name"]["givenName"].as_str()),
        (200, Some("caroline@example.com"), Some("Lina")),
        "{}",
        a.body
    );
    assert!(app.svc.store.find_user_by_email("caroline@example.com").await.unwrap().is_some());
    // A work email that differs from userName is refused and nothing changes.
    scim.patch(&path, &json!({"Operations": [{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "other@example.com"}]}))
        .await
        .assert_error(400, Some("invalidValue"));
    // Okta: path-less replace with an object, id included (ignored).
    let a = scim.patch(&path, &json!({"Operations": [{"op": "replace", "value": {"id": id, "active": false}}]})).await;
    assert_eq!(a.body["active"], false);
    // Refusals.
    scim.patch(&path, &json!({"Operations": [{"op": "remove"}]})).await.assert_error(400, Some("noTarget"));
    scim.patch(&path, &json!({"Operations": [{"op": "jump", "path": "active"}]}))
        .await
        .assert_error(400, Some("invalidSyntax"));
    scim.patch(&path, &json!({"Operations": [{"op": "replace", "path": "emails[type eq", "value": "x"}]}))
        .await
        .assert_error(400, Some("invalidPath"));
    scim.patch(&path, &json!({"Operations": [{"op": "remove", "path": "active"}]}))
        .await
        .assert_error(400, Some("invalidValue"));
    scim.patch("/Users/nope", &json!({"Operations": []})).await.assert_error(404, None);

    // PUT replaces: names not sent are cleared; active=false locks.
    let a = scim
        .put(&path, &json!({"userName": "caroline@example.com", "name": {"givenName": "C"}, "active": false}))
        .await;
    assert_eq!(
        (a.status, a.body["name"].clone(), a.body.get("displayName").is_none()),
        (200, json!({"givenName": "C"}), true),
        "{}",
        a.body
    );
    scim.put(&path, &json!({"userName": "not-an-email"})).await.assert_error(400, Some("invalidValue"));
    scim.create_user("taken@example.com").await;
    scim.put(&path, &json!({"userName": "TAKEN@example.com"})).await.assert_error(409, Some("uniqueness"));

    let names: Vec<String> =
        app.svc.store.list_provisioning_events(0, 100).await.unwrap().into_iter().map(|e| e.event).collect();
    assert!(
        names.contains(&"user_deprovision".to_string()) && names.contains(&"user_update_provision".to_string()),
        "{names:?}"
    );
}

#[tokio::test]
async fn lifecycle_create_login_deactivate_refused_reactivate_login_delete() {
    let app = TestApp::spawn().await;
    let scim = app.scim().await;
    let id = scim.create_user("alice@example.com").await;
    let path = format!("/Users/{id}");
    assert_eq!(
        app.svc.store.find_user_by_email("alice@example.com").await.unwrap().unwrap().status,
        UserStatus::Invited
    );

    let res = app.post_acs(&app.spec("alice@example.com").signed_b64(&app.idp_key), None).await;
    assert_eq!(res.status(), 303, "an invited user logs in");
    assert_eq!(
        app.svc.store.find_user_by_email("alice@example.com").await.unwrap().unwrap().status,
        UserStatus::Active
    );

    let a =
        scim.patch(&path, &json!({"Operations": [{"op": "replace", "path": "displayName", "value": "Alice A"}]})).await;
    assert_eq!(a.body["displayName"], "Alice A");

    let a = scim.patch(&path, &json!({"Operations": [{"op": "replace", "path": "active", "value": false}]})).await;
    assert_eq!(a.body["active"], false);
    let res = app.post_acs(&app.spec("alice@example.com").signed_b64(&app.idp_key), None).await;
    assert_eq!(reason_code(res).await, (403, "USER_LOCKED".into()));

    let a = scim.patch(&path, &json!({"Operations": [{"op": "replace", "path": "active", "value": true}]})).await;
    assert_eq!(a.body["active"], true);
    assert_eq!(
        app.svc.store.find_user_by_email("alice@example.com").await.unwrap().unwrap().status,
        UserStatus::Active,
        "logged in before: active again"
    );
    let res = app.post_acs(&app.spec("alice@example.com").signed_b64(&app.idp_key), None).await;
    assert_eq!(res.status(), 303, "reactivated user logs in");

    let a = scim.delete(&path).await;
    assert_eq!((a.status, a.body.is_null()), (204, true));
    scim.get(&path).await.assert_error(404, None);
    scim.delete(&path).await.assert_error(404, None);
    assert_eq!(scim.get(&format!("/Users?filter={}", q(r#"userName eq "alice@example.com""#))).await.total(), 0);
    let kept = app.svc.store.find_user_by_email("alice@example.com").await.unwrap().unwrap();
    assert_eq!(kept.status, UserStatus::Locked, "DELETE locks, never deletes");
    let res = app.post_acs(&app.spec("alice@example.com").signed_b64(&app.idp_key), None).await;
    assert_eq!(reason_code(res).await, (403, "USER_LOCKED".into()));

    // Re-creating the same userName works (JumpCloud's Test Connection runs again), new id.
    let again = scim.create_user("alice@example.com").await;
    assert_ne!(again, id);
    assert_eq!(app.svc.store.find_user_by_email("alice@example.com").await.unwrap().unwrap().user_id, kept.user_id);

    let events: Vec<(String, String)> = app
        .svc
        .store
        .list_provisioning_events(0, 100)
        .await
        .unwrap()
        .into_iter()
        .rev()
        .map(|e| (e.event, e.outcome))
        .collect();
    let names: Vec<&str> = events.iter().map(|(e, _)| e.as_str()).collect();
    assert_eq!(
        names,
        [
            "user_create_provision",
            "user_update_provision",
            "user_deprovision",
            "user_update_provision",
            "user_delete_provision",
            "user_lookup_provision",
            "user_delete_provision",
            "user_lookup_provision",
            "user_create_provision"
        ]
    );
    assert_eq!(events[6].1, "failure", "second DELETE recorded as a failure");
}

#[tokio::test]
async fn tokens_are_per_node_replaced_at_once_and_refusals_are_401_scim_errors() {
    let app = TestApp::spawn().await;
    let scim = app.scim().await;
    let a = scim.send("GET", "/Users", None, None).await;
    a.assert_error(401, None);
    assert!(a.headers["www-authenticate"].to_str().unwrap().starts_with("Bearer"));
    scim.send("GET", "/Users", None, Some("spc_wrong")).await.assert_error(401, None);
    scim.send("GET", "/ServiceProviderConfig", None, Some("spc_wrong")).await.assert_error(401, None);

    let node2 = app.svc.store.create_node("Sales", 1, 0).await.unwrap().node_id;
    let other = app.scim_for(node2).await;
    let url = format!("{}/Users", other.base);
    scim.send("GET", &url, None, Some(&scim.token)).await.assert_error(401, None);
    assert_eq!(other.get("/Users").await.status, 200);

    // Users of one node are invisible to the other.
    let id = scim.create_user(CAROL).await;
    other.get(&format!("/Users/{id}")).await.assert_error(404, None);
    assert_eq!(other.get("/Users").await.total(), 0);

    let newer = app.scim().await;
    scim.get("/Users").await.assert_error(401, None);
    assert_eq!(newer.get("/Users").await.status, 200);
    let node = app.svc.store.get_node(1).await.unwrap().unwrap();
    assert!(node.scim_enabled && node.scim_last_used_at.is_some());
    assert!(app
        .svc
        .store
        .list_provisioning_events(0, 100)
        .await
        .unwrap()
        .iter()
        .all(|e| e.detail.as_deref().is_none_or(|d| !d.contains("spc_"))));
}

#[tokio::test]
async fn seat_limit_answers_428_like_keeper() {
    let app = TestApp::spawn().await;
    let scim = app.scim().await;
    app.svc.store.set_node_seats(1, Some(1)).await.unwrap();
    let id = scim.create_user("one@example.com").await;
    let a = scim.post("/Users", &json!({"userName": "two@example.com"})).await;
    a.assert_error(428, None);
    assert!(a.body["detail"].as_str().unwrap().contains("seats"));
    assert!(app.svc.store.find_user_by_email("two@example.com").await.unwrap().is_none());
    // A locked user frees its seat; unlocking needs one.
    scim.patch(&format!("/Users/{id}"), &json!({"Operations": [{"op": "replace", "path": "active", "value": false}]}))
        .await;
    let two = scim.create_user("two@example.com").await;
    scim.patch(&format!("/Users/{id}"), &json!({"Operations": [{"op": "replace", "path": "active", "value": true}]}))
        .await
        .assert_error(428, None);
    scim.delete(&format!("/Users/{two}")).await;
    assert_eq!(
        scim.patch(
            &format!("/Users/{id}"),
            &json!({"Operations": [{"op": "replace", "path": "active", "value": true}]})
        )
        .await
        .status,
        200
    );
}
