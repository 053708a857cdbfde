//! SCIM /Groups = Keeper teams: created pending, every membership form IdPs send, idempotent
//! adds, membership via PATCH /Users path "groups", rename, PUT, DELETE leaving users, and
//! JumpCloud's "Test Connection" sequence.

use serde_json::json;
use spconnect::store::UserStatus;

use crate::support::scim::{q, ScimClient};
use crate::support::TestApp;

async fn member_ids(scim: &ScimClient, gid: &str) -> Vec<String> {
    let a = scim.get(&format!("/Groups/{gid}")).await;
    assert_eq!(a.status, 200, "{}", a.body);
    a.body["members"]
        .as_array()
        .map(|m| m.iter().map(|x| x["value"].as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn groups_are_created_pending_with_members_and_found_by_filter() {
    let app = TestApp::spawn().await;
    let scim = app.scim().await;
    let u1 = scim.create_user("u1@example.com").await;
    let a = scim
        .post(
            "/Groups",
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Engineering",
        "externalId": "jc-eng", "members": [{"value": u1, "display": "ignored"}], "owner": "ignored"}),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.body);
    let gid = a.body["id"].as_str().unwrap().to_string();
    assert_eq!(a.headers["location"].to_str().unwrap(), format!("{}/Groups/{gid}", scim.base));
    assert_eq!(a.body["members"], json!([{"value": u1, "$ref": format!("{}/Users/{u1}", scim.base), "type": "User"}]));
    assert!(a.body.get("owner").is_none());
    let team = app.svc.store.find_team_by_uid(1, &gid).await.unwrap().unwrap();
    assert_eq!(
        (team.status.as_str(), team.name.as_str(), team.external_id.as_deref()),
        ("pending", "Engineering", Some("jc-eng"))
    );
    // The user shows its team.
    assert_eq!(scim.get(&format!("/Users/{u1}")).await.body["groups"][0]["value"], gid.as_str());

    for (filter, n) in
        [(r#"displayName eq "engineering""#, 1), (r#"externalId eq "jc-eng""#, 1), (r#"displayName eq "Sales""#, 0)]
    {
        let a = scim.get(&format!("/Groups?filter={}", q(filter))).await;
        assert_eq!(a.total(), n, "{filter}");
    }
    scim.post("/Groups", &json!({"members": []})).await.assert_error(400, Some("invalidValue"));
    scim.post("/Groups", &json!({"displayName": "X", "members": [{"value": "no-such-user"}]}))
        .await
        .assert_error(404, None);
    scim.get("/Groups/no-such-group").await.assert_error(404, None);
    let approved = app.svc.store.approve_team(&gid, 5).await.unwrap();
    assert_eq!(approved.status, "approved");
}

#[tokio::test]
async fn membership_patch_forms_rfc_filter_azure_and_idempotent_adds() {
    let app = TestApp::spawn().await;
    let scim = app.scim().await;
    let (a, b, c) = (
        scim.create_user("a@example.com").await,
        scim.create_user("b@example.com").await,
        scim.create_user("c@example.com").await,
    );
    let gid = scim.create_group("Team", &[]).await;
    let path = format!("/Groups/{gid}");

    // RFC add, twice (JumpCloud repeats operations): one membership each.
    for _ in 0..2 {
        let r = scim
            .patch(
                &path,
                &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": a}, {"value": b}]}]}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    assert_eq!(member_ids(&scim, &gid).await, vec![a.clone(), b.clone()]);
    // Entra: capitalised op, path-less add.
    scim.patch(&path, &json!({"Operations": [{"op": "Add", "value": {"members": [{"value": c}]}}]})).await;
    assert_eq!(member_ids(&scim, &gid).await, vec![a.clone(), b.clone(), c.clone()]);
    // RFC filter removal.
    scim.patch(&path, &json!({"Operations": [{"op": "remove", "path": format!("members[value eq \"{a}\"]")}]})).await;
    assert_eq!(member_ids(&scim, &gid).await, vec![b.clone(), c.clone()]);
    // Azure/JumpCloud removal: path "members" with a value list.
    scim.patch(&path, &json!({"Operations": [{"op": "Remove", "path": "members", "value": [{"value": b}]}]})).await;
    assert_eq!(member_ids(&scim, &gid).await, vec![c.clone()]);
    // Rename, Keeper's client form: replace with a value object, no path.
    let r = scim
        .patch(
            &path,
            &json!({"Operations": {"op": "replace", "value": {"displayName": "Team Two", "externalId": "t2"}}}),
        )
        .await;
    assert_eq!((r.body["displayName"].as_str(), r.body["externalId"].as_str()), (Some("Team Two"), Some("t2")));
    // Replace all members; unknown member → 404 and nothing changes.
    scim.patch(&path, &json!({"Operations": [{"op": "replace", "path": "members", "value": [{"value": a}]}]})).await;
    assert_eq!(member_ids(&scim, &gid).await, vec![a.clone()]);
    scim.patch(&path, &json!({"Operations": [{"op": "add", "path": "members", "value": [{"value": "ghost"}]}]}))
        .await
        .assert_error(404, None);
    assert_eq!(member_ids(&scim, &gid).await, vec![a.clone()]);
    // Remove all.
    scim.patch(&path, &json!({"Operations": [{"op": "remove", "path": "members"}]})).await;
    assert!(member_ids(&scim, &gid).await.is_empty());
    // The team is still pending; membership was recorded meanwhile.
    assert_eq!(app.svc.store.find_team_by_uid(1, &gid).await.unwrap().unwrap().status, "pending");
}

#[tokio::test]
async fn keepers_client_changes_membership_through_patch_users_groups() {
    let app = TestApp::spawn().await;
    let scim = app.scim().await;
    let u = scim.create_user("k@example.com").await;
    let g1 = scim.create_group("One", &[]).await;
    let g2 = scim.create_group("Two", &[]).await;
    let upath = format!("/Users/{u}");
    let r = scim
        .patch(&upath, &json!({"Operations": {"op": "add", "path": "groups", "value": [{"value": g1}, {"value": g2}]}}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let groups: Vec<&str> = r.body["groups"].as_array().unwrap().iter().map(|g| g["value"].as_str().unwrap()).collect();
    assert_eq!(groups, [g1.as_str(), g2.as_str()]);
    assert_eq!(member_ids(&scim, &g1).await, vec![u.clone()]);
    scim.patch(&upath, &json!({"Operations": [{"op": "remove", "path": "groups", "value": [{"value": g1}]}]})).await;
    assert!(member_ids(&scim, &g1).await.is_empty());
    assert_eq!(member_ids(&scim, &g2).await, vec![u.clone()]);
    // Teams must be in the same node (404 otherwise), like Keeper.
    let node2 = app.svc.store.create_node("Other", 1, 0).await.unwrap().node_id;
    let other = app.scim_for(node2).await;
    let foreign = other.create_group("Foreign", &[]).await;
    scim.patch(&upath, &json!({"Operations": [{"op": "add", "path": "groups", "value": [{"value": foreign}]}]}))
        .await
        .assert_error(404, None);
    // POST with groups joins at creation (Keeper's documented form).
    let r = scim.post("/Users", &json!({"userName": "new@example.com", "groups": [{"value": g2}]})).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(member_ids(&scim, &g2).await.len(), 2);
}

#[tokio::test]
async fn put_replaces_and_delete_removes_the_team_but_leaves_its_users() {
    let app = TestApp::spawn().await;
    let scim = app.scim().await;
    let (a, b) = (scim.create_user("a@example.com").await, scim.create_user("b@example.com").await);
    let gid = scim.create_group("Ops", &[&a]).await;
    let r = scim.put(&format!("/Groups/{gid}"), &json!({"displayName": "Ops 2", "members": [{"value": b}]})).await;
    assert_eq!((r.status, r.body["displayName"].as_str()), (200, Some("Ops 2")), "{}", r.body);
    assert_eq!(member_ids(&scim, &gid).await, vec![b.clone()]);
    scim.put(&format!("/Groups/{gid}"), &json!({"members": []})).await.assert_error(400, Some("invalidValue"));

    let r = scim.delete(&format!("/Groups/{gid}")).await;
    assert_eq!(r.status, 204);
    scim.get(&format!("/Groups/{gid}")).await.assert_error(404, None);
    assert!(app.svc.store.find_team_by_uid(1, &gid).await.unwrap().is_none());
    for email in ["a@example.com", "b@example.com"] {
        let u = app.svc.store.find_user_by_email(email).await.unwrap().unwrap();
        assert_eq!(u.status, UserStatus::Invited, "{email} untouched");
    }
    assert!(scim.get(&format!("/Users/{b}")).await.body.get("groups").is_none());
    let events: Vec<String> =
        app.svc.store.list_provisioning_events(0, 100).await.unwrap().into_iter().map(|e| e.event).collect();
    for name in ["group_create_provision", "group_update_provision", "group_delete_provision", "group_lookup_provision"]
    {
        assert!(events.iter().any(|e| e == name), "{name} in {events:?}");
    }
}

#[tokio::test]
async fn jumpcloud_test_connection_sequence_can_run_repeatedly() {
    let app = TestApp::spawn().await;
    let scim = app.scim().await;
    for round in 0..2 {
        // Lookup by filter, create the test user and a test group, then delete both.
        let look = scim.get(&format!("/Users?filter={}", q(r#"userName eq "jctest@example.com""#))).await;
        assert_eq!(look.total(), 0, "round {round}");
        let u = scim.create_user("jctest@example.com").await;
        let look = scim.get(&format!("/Groups?filter={}", q(r#"displayName eq "JumpCloud Test Group""#))).await;
        assert_eq!(look.total(), 0);
        let g = scim.create_group("JumpCloud Test Group", &[&u]).await;
        assert_eq!(scim.delete(&format!("/Groups/{g}")).await.status, 204);
        assert_eq!(scim.delete(&format!("/Users/{u}")).await.status, 204);
    }
    let events = app.svc.store.list_provisioning_events(0, 100).await.unwrap();
    assert_eq!(events.len(), 12);
    assert!(events.iter().all(|e| e.outcome == "success" && e.node_id == 1 && !e.request_id.is_empty()), "{events:?}");
}
