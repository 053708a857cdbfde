//! The provisioning admin commands, run as the real binary against a test app's data dir:
//! node create/list/set, scim token (hash stored, old token dead), sso list's JIT warning,
//! outbox list, teams list/approve, events.

use std::path::Path;

use serde_json::{json, Value};

use crate::support::TestApp;

fn cli(dir: &Path, args: &[&str]) -> (String, String) {
    let out = crate::support::spconnect(dir).args(args).env("SPCONNECT_LOG", "warn").output().expect("run spconnect");
    let (stdout, stderr) =
        (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned());
    assert!(out.status.success(), "spconnect {args:?}: {stderr}");
    (stdout, stderr)
}

fn cli_json(dir: &Path, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    serde_json::from_str(&cli(dir, &all).0).expect("JSON output")
}

#[tokio::test]
async fn node_token_outbox_teams_events_and_the_jit_warning() {
    let app = TestApp::spawn().await;
    let dir = app.data_dir().to_path_buf();

    let node = cli_json(&dir, &["node", "create", "Sales", "--parent", "1"]);
    let node_id = node["node_id"].as_i64().unwrap();
    assert!(node_id > 1);
    let (plain, _) = cli(&dir, &["node", "create", "Sub", "--parent", &node_id.to_string()]);
    assert!(plain.trim().parse::<i64>().is_ok(), "{plain}");
    let nodes = cli_json(&dir, &["node", "list"]);
    assert_eq!(nodes.as_array().unwrap().len(), 3);
    assert_eq!(cli_json(&dir, &["node", "set", "1", "--seats", "50"])["seats"], 50);

    // No warning before SCIM is on; JIT is on by default.
    let (list, _) = cli(&dir, &["sso", "list"]);
    assert!(!list.contains("JIT provisioning on while"), "{list}");

    let issued = cli_json(&dir, &["scim", "token", "1"]);
    let token = issued["token"].as_str().unwrap().to_string();
    assert!(issued["base_url"].as_str().unwrap().ends_with("/api/rest/scim/v2/1"), "{issued}");
    let stored = app.svc.store.scim_token_hash(1).await.unwrap().unwrap();
    assert_ne!(stored, token, "only a hash is stored");
    assert!(spconnect::scim::tokens::verify(&token, &stored));

    let (list, stderr) = cli(&dir, &["sso", "list"]);
    assert!(list.contains("warning:") && list.contains("--jit off"), "sso list warns: {list}");
    assert!(stderr.contains("JIT provisioning on while"), "and logs it: {stderr}");
    let rows = cli_json(&dir, &["sso", "list"]);
    assert_eq!(rows[0]["warnings"].as_array().unwrap().len(), 1);

    // The printed token works on the live server; a new one replaces it at once.
    let url = format!("{}/api/rest/scim/v2/1/Users", app.base);
    let created = app
        .client
        .post(&url)
        .bearer_auth(&token)
        .header("content-type", "application/scim+json")
        .body(json!({"userName": "cli@example.com"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let group = app
        .client
        .post(format!("{}/api/rest/scim/v2/1/Groups", app.base))
        .bearer_auth(&token)
        .body(json!({"displayName": "CLI Team"}).to_string())
        .send()
        .await
        .unwrap();
    let gid = serde_json::from_str::<Value>(&group.text().await.unwrap()).unwrap()["id"].as_str().unwrap().to_string();
    let newer = cli_json(&dir, &["scim", "token", "1"])["token"].as_str().unwrap().to_string();
    assert_ne!(newer, token);
    assert_eq!(app.client.get(&url).bearer_auth(&token).send().await.unwrap().status(), 401);
    assert_eq!(app.client.get(&url).bearer_auth(&newer).send().await.unwrap().status(), 200);

    let outbox = cli_json(&dir, &["outbox", "list"]);
    assert_eq!(outbox[0]["recipient"], "cli@example.com");
    assert_eq!(outbox[0]["kind"], "invitation");
    let (plain, _) = cli(&dir, &["outbox", "list"]);
    assert!(plain.contains("cli@example.com") && plain.contains("queued"), "{plain}");

    let teams = cli_json(&dir, &["teams", "list"]);
    assert_eq!(teams[0]["team"]["status"], "pending");
    assert_eq!(cli_json(&dir, &["teams", "approve", &gid])["status"], "approved");
    assert_eq!(app.svc.store.find_team_by_uid(1, &gid).await.unwrap().unwrap().status, "approved");

    let events = cli_json(&dir, &["events", "--since", "1h"]);
    let names: Vec<&str> = events.as_array().unwrap().iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(names, ["user_lookup_provision", "group_create_provision", "user_create_provision"]);
    assert_eq!(events[2]["target"], "cli@example.com");
    assert_eq!(events[2]["outcome"], "success");
    assert_eq!(cli_json(&dir, &["events", "--since", "2999-01-01T00:00:00Z"]).as_array().unwrap().len(), 0);
    let (plain, _) = cli(&dir, &["events"]);
    assert!(plain.contains("user_create_provision") && !plain.contains(&newer) && !plain.contains(&token));
}
