//! The console's long lists and refused forms over HTTP: users searched and paged in the store
//! (50 to a page, the filter kept in the links, a count, no cap), the SCIM provisioning events and
//! the admin audit in their own tabs of /admin/events (filtered, paged), and a refused form that
//! comes back with what was typed and the field at fault marked.

use spconnect::store::{NewProvisioningEvent, NewUser, UserStatus};

use crate::support::TestApp;

/// The rows of the table `id`'s body.
fn rows(html: &str, id: &str) -> usize {
    let table = html.split(&format!(r#"<table id="{id}">"#)).nth(1).and_then(|t| t.split("</table>").next());
    table.unwrap_or("").split("<tbody>").nth(1).unwrap_or("").matches("<tr>").count()
}

/// The address of the link `id`, as a client would follow it.
fn href(html: &str, id: &str) -> Option<String> {
    let start = format!(r#"id="{id}""#);
    let tag = html.split(&start).nth(1)?;
    let value = tag.split(r#"href=""#).nth(1)?.split('"').next()?;
    Some(value.replace("&amp;", "&").replace("&#38;", "&"))
}

/// The opening tag of the element `id` (its attributes).
fn tag<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html.find(&format!(r#"id="{id}""#)).unwrap_or_else(|| panic!("no #{id} in {html}"));
    let open = html[..start].rfind('<').unwrap();
    let end = start + html[start..].find('>').unwrap();
    &html[open..=end]
}

/// The text of the paragraph `id` (no markup inside it).
fn text_of<'a>(html: &'a str, id: &str) -> &'a str {
    let t = tag(html, id);
    let start = html.find(t).unwrap() + t.len();
    html[start..].split('<').next().unwrap()
}

async fn user(app: &TestApp, email: &str, first: &str, status: UserStatus) {
    let new = NewUser { email, first_name: first, last_name: "Doe", status, provisioned_by: "manual", node_id: 1 };
    app.svc.store.create_user(&new, 0).await.unwrap();
}

/// 120 users: 70 `pat…@example.com` (5 of them locked) and 50 `lee…@example.net`.
async fn hundred_and_twenty_users(app: &TestApp) {
    for i in 0..70 {
        let status = if i % 14 == 0 { UserStatus::Locked } else { UserStatus::Active };
        user(app, &format!("pat{i:03}@example.com"), "Pat", status).await;
    }
    for i in 0..50 {
        user(app, &format!("lee{i:03}@example.net"), "Lee", UserStatus::Invited).await;
    }
}

#[tokio::test]
async fn users_are_paged_by_fifty_with_a_count_and_the_filter_kept_in_the_links() {
    let app = TestApp::spawn().await;
    app.sign_in_admin().await;
    hundred_and_twenty_users(&app).await;

    let (status, first) = app.get_html("/admin/users").await;
    assert_eq!(status, 200);
    assert_eq!(rows(&first, "users"), 50, "one page");
    assert_eq!(text_of(&first, "users-count"), "Users 1–50 of 120.");
    assert_eq!(text_of(&first, "page-position"), "Page 1 of 3");
    assert!(href(&first, "previous-page").is_none(), "nothing before the first page");
    assert!(first.contains("lee000@example.net") && !first.contains("pat000@example.com"), "ordered by email");
    let next = href(&first, "next-page").expect("a next link");
    assert_eq!(next, "/admin/users?page=2");
    let (_, second) = app.get_html(&next).await;
    assert_eq!(rows(&second, "users"), 50);
    assert_eq!(href(&second, "previous-page").as_deref(), Some("/admin/users?page=1"));
    let (_, last) = app.get_html(&href(&second, "next-page").unwrap()).await;
    assert_eq!(rows(&last, "users"), 20, "the rest, nothing lost");
    assert_eq!(text_of(&last, "users-count"), "Users 101–120 of 120.");
    assert!(href(&last, "next-page").is_none(), "no page after the last");
    assert!(last.contains("pat069@example.com"));

    // The search runs in the store and the links keep it: 70 Pats fill two pages.
    let (_, pats) = app.get_html("/admin/users?q=PAT0").await;
    assert_eq!(rows(&pats, "users"), 50);
    assert_eq!(text_of(&pats, "users-count"), "Users 1–50 of 70 matching the filter (120 in all).");
    assert!(!pats.contains("example.net"));
    let next = href(&pats, "next-page").unwrap();
    assert_eq!(next, "/admin/users?q=PAT0&page=2");
    let (_, rest) = app.get_html(&next).await;
    assert_eq!(rows(&rest, "users"), 20);
    assert!(href(&rest, "next-page").is_none());
    assert!(rest.contains(r#"value="PAT0""#), "the search box still shows the search");

    // By name ("first last"), by status, both at once; the status is kept in the links too.
    let (_, by_name) = app.get_html("/admin/users?q=lee%20doe").await;
    assert_eq!(text_of(&by_name, "users-count"), "Users 1–50 of 50 matching the filter (120 in all).");
    assert!(href(&by_name, "next-page").is_none(), "exactly one page");
    let (_, locked) = app.get_html("/admin/users?status=locked").await;
    assert_eq!(rows(&locked, "users"), 5);
    assert!(locked.contains(r#"<option value="locked" selected>"#));
    let (_, active) = app.get_html("/admin/users?q=pat&status=active").await;
    assert_eq!(text_of(&active, "users-count"), "Users 1–50 of 65 matching the filter (120 in all).");
    assert_eq!(href(&active, "next-page").as_deref(), Some("/admin/users?q=pat&status=active&page=2"));

    // LIKE's wildcards are the characters they are; a page past the end shows the last one.
    let (_, none) = app.get_html("/admin/users?q=%25").await;
    assert_eq!(rows(&none, "users"), 0);
    assert_eq!(text_of(&none, "users-count"), "No user matches the filter (120 in all).");
    user(&app, "under_score@example.com", "Under", UserStatus::Active).await;
    let (_, underscore) = app.get_html("/admin/users?q=_").await;
    assert_eq!(
        text_of(&underscore, "users-count"),
        "Users 1–1 of 1 matching the filter (121 in all).",
        "`_` is no wildcard"
    );
    let (status, beyond) = app.get_html("/admin/users?page=99").await;
    assert_eq!(status, 200);
    assert_eq!(text_of(&beyond, "page-position"), "Page 3 of 3");
    assert_eq!(rows(&beyond, "users"), 21);
    // A name with non-ASCII letters is found as typed (and in any case on PostgreSQL).
    user(&app, "emile@example.com", "Émile", UserStatus::Active).await;
    let (_, accented) = app.get_html("/admin/users?q=%C3%89mile%20Doe").await;
    assert_eq!(rows(&accented, "users"), 1);
    let (status, junk) = app.get_html("/admin/users?page=abc").await;
    assert_eq!((status, text_of(&junk, "page-position")), (200, "Page 1 of 3"));
}

fn scim_event(at: i64, node_id: i64, success: bool, target: &str) -> NewProvisioningEvent<'_> {
    NewProvisioningEvent {
        at,
        node_id,
        event: "user_update",
        method: "PUT",
        target: Some(target),
        success,
        reason: (!success).then_some("invalidValue"),
        detail: None,
        request_id: "0123456789abcdef0123456789abcdef",
        client_addr: Some("192.0.2.7"),
    }
}

#[tokio::test]
async fn scim_calls_show_in_their_own_tab_filtered_by_node_and_outcome_and_paged() {
    let app = TestApp::spawn().await;
    app.sign_in_admin().await;
    let scim = app.scim().await;
    scim.create_user("sam@example.com").await;
    let again = scim
        .post(
            "/Users",
            &serde_json::json!({"schemas": [spconnect::scim::USER_URN], "userName": "sam@example.com", "active": true}),
        )
        .await;
    assert_eq!(again.status, 409);

    // The logins tab stays the default; the tabs are links, the current one marked.
    let (_, logins) = app.get_html("/admin/events").await;
    assert!(tag(&logins, "tab-logins").contains(r#"aria-current="page""#));
    assert!(logins.contains(r#"<table id="events">"#) && !logins.contains("scim-events"));

    let (status, html) = app.get_html("/admin/events?view=scim").await;
    assert_eq!(status, 200);
    assert!(tag(&html, "tab-scim").contains(r#"aria-current="page""#));
    assert!(!tag(&html, "tab-logins").contains("aria-current"));
    assert_eq!(rows(&html, "scim-events"), 2);
    let table = html.split(r#"<table id="scim-events">"#).nth(1).unwrap();
    assert!(table.contains("POST user_create_provision") && table.contains("sam@example.com"), "{table}");
    assert!(table.contains("success") && table.contains("failure"));
    let (_, failures) = app.get_html("/admin/events?view=scim&outcome=failure").await;
    assert_eq!(rows(&failures, "scim-events"), 1);
    assert!(failures.contains(r#"<option value="failure" selected>"#));
    let (_, other_node) = app.get_html("/admin/events?view=scim&node=2").await;
    assert_eq!(rows(&other_node, "scim-events"), 0);
    assert!(other_node.contains("No SCIM call matches the filter."));

    // 60 more failures on node 1: pages of 50, the tab and the filter kept in the link.
    for i in 0..60 {
        let target = format!("u{i}@example.com");
        app.svc.store.record_provisioning_event(&scim_event(1_800_000_000 + i, 1, false, &target)).await.unwrap();
    }
    let (_, first) = app.get_html("/admin/events?view=scim&node=1&outcome=failure").await;
    assert_eq!(rows(&first, "scim-events"), 50);
    assert!(first.contains("u59@example.com") && !first.contains("u9@example.com"), "newest first");
    let older = href(&first, "older-events").expect("older link");
    assert!(older.starts_with("/admin/events?view=scim&node=1&outcome=failure&before="), "{older}");
    assert!(href(&first, "newest-events").is_none());
    let (_, second) = app.get_html(&older).await;
    assert_eq!(rows(&second, "scim-events"), 11, "10 more and the refused creation");
    assert!(href(&second, "older-events").is_none(), "no page after the last");
    assert_eq!(href(&second, "newest-events").as_deref(), Some("/admin/events?view=scim&node=1&outcome=failure"));
}

#[tokio::test]
async fn the_admin_audit_has_its_own_tab_filtered_and_paged() {
    let app = TestApp::spawn().await;
    app.sign_in_admin().await;
    let store = &app.svc.store;
    // Creating the admin and signing in are in the trail already.
    let earlier = store.list_audit(None, 100).await.unwrap().len();
    for i in 0..60 {
        store.audit("ops@example.org", "user.lock", &format!("u{i}@example.com"), "", 1_800_000_000 + i).await.unwrap();
    }
    store.audit("cli", "sso.create", "7", "Acme (acme.test), node 1", 1_800_000_100).await.unwrap();

    let (_, first) = app.get_html("/admin/events?view=audit").await;
    assert!(tag(&first, "tab-audit").contains(r#"aria-current="page""#));
    assert_eq!(rows(&first, "audit"), 50);
    assert!(first.contains("<td>cli</td><td><code>sso.create</code></td><td>7</td>"), "newest first");
    let older = href(&first, "older-events").unwrap();
    assert!(older.starts_with("/admin/events?view=audit&before="), "{older}");
    let (_, second) = app.get_html(&older).await;
    assert_eq!(rows(&second, "audit"), 11 + earlier);
    assert!(second.contains("u0@example.com") && href(&second, "older-events").is_none());

    let (_, locks) = app.get_html("/admin/events?view=audit&action=user.&admin=OPS@").await;
    assert_eq!(rows(&locks, "audit"), 50);
    assert!(!locks.contains("sso.create"));
    let older = href(&locks, "older-events").unwrap();
    assert!(older.starts_with("/admin/events?view=audit&action=user.&admin=OPS%40&before="), "{older}");
    let (_, rest) = app.get_html(&older).await;
    assert_eq!(rows(&rest, "audit"), 10);
    let (_, by_cli) = app.get_html("/admin/events?view=audit&admin=cli").await;
    let by_cli = by_cli.split(r#"<table id="audit">"#).nth(1).unwrap();
    assert!(by_cli.contains("sso.create") && !by_cli.contains("user.lock"), "{by_cli}");
}

/// The input `id` is marked as the one at fault, its message beside it says `message`.
fn assert_marked(html: &str, id: &str, message: &str) {
    let input = tag(html, id);
    assert!(input.contains(r#"aria-invalid="true""#), "{input}");
    let described = input.split(r#"aria-describedby=""#).nth(1).and_then(|s| s.split('"').next()).unwrap_or("");
    assert!(described.split(' ').any(|d| d == format!("{id}-error")), "{input}");
    assert!(text_of(html, &format!("{id}-error")).contains(message), "{html}");
    assert_eq!(html.matches(r#"aria-invalid="true""#).count(), 1, "one field marked");
}

#[tokio::test]
async fn a_refused_form_keeps_what_was_typed_and_marks_the_field_at_fault() {
    let app = TestApp::spawn().await;
    let csrf = app.sign_in_admin().await;
    let csrf = csrf.as_str();

    // Create: a bad domain, a taken one, a name left blank.
    let res = app
        .post_form("/admin/sso", &[("csrf", csrf), ("name", "Typed Name"), ("domain", "not a domain"), ("node", "1")])
        .await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert_marked(&html, "domain", "is not a domain name");
    assert!(tag(&html, "domain").contains(r#"value="not a domain""#));
    assert!(tag(&html, "domain").contains(r#"aria-describedby="domain-hint domain-error""#), "the hint stays");
    assert!(tag(&html, "name").contains(r#"value="Typed Name""#) && !tag(&html, "name").contains("aria-invalid"));
    assert!(text_of(&html, "create-message").is_empty(), "the summary links to the field");
    assert!(html.contains(r##"<a href="#domain">"##));
    let res = app
        .post_form("/admin/sso", &[("csrf", csrf), ("name", "Second"), ("domain", "Example.COM"), ("node", "1")])
        .await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert_marked(&html, "domain", "already has an SSO configuration");
    assert!(tag(&html, "domain").contains(r#"value="Example.COM""#));
    let res =
        app.post_form("/admin/sso", &[("csrf", csrf), ("name", "   "), ("domain", "fresh.test"), ("node", "1")]).await;
    let html = res.text().await.unwrap();
    assert_marked(&html, "name", "Give the configuration a name");
    assert!(tag(&html, "domain").contains(r#"value="fresh.test""#));
    assert_eq!(app.svc.store.list_sso().await.unwrap().len(), 1, "nothing created");

    // Edit: name, domain and node; the heading keeps the stored name.
    let id = app.sso_id();
    let stored = app.sso.name.clone();
    let res = app
        .post_form(
            &format!("/admin/sso/{id}/identity"),
            &[("csrf", csrf), ("name", "Renamed"), ("domain", "bad domain"), ("node", "1")],
        )
        .await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert_marked(&html, "domain", "is not a domain name");
    assert!(
        tag(&html, "name").contains(r#"value="Renamed""#) && tag(&html, "domain").contains(r#"value="bad domain""#)
    );
    assert!(html.contains(&format!("<h1>Edit {stored}</h1>")));
    let res = app
        .post_form(
            &format!("/admin/sso/{id}/identity"),
            &[("csrf", csrf), ("name", "Renamed"), ("domain", "example.com"), ("node", "99")],
        )
        .await;
    assert_marked(&res.text().await.unwrap(), "node", "there is no node 99");

    // Edit: the switches as ticked, the numbers and names as typed.
    let settings = |skew: &'static str, first: &'static str| {
        [
            ("csrf", csrf),
            ("clock_skew", skew),
            ("attr_email", "mailTyped"),
            ("attr_first", first),
            ("attr_last", "sn"),
            ("allow_sha1", "on"),
        ]
    };
    let res = app.post_form(&format!("/admin/sso/{id}/settings"), &settings("99999", "given")).await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert_marked(&html, "clock_skew", "from 0 to 3600");
    assert!(tag(&html, "clock_skew").contains(r#"value="99999""#));
    assert!(tag(&html, "attr_email").contains(r#"value="mailTyped""#));
    assert!(tag(&html, "allow_sha1").contains("checked") && !tag(&html, "jit").contains("checked"), "as ticked");
    let res = app.post_form(&format!("/admin/sso/{id}/settings"), &settings("ten", "given")).await;
    assert_marked(&res.text().await.unwrap(), "clock_skew", "whole number");
    let res = app.post_form(&format!("/admin/sso/{id}/settings"), &settings("60", "  ")).await;
    let html = res.text().await.unwrap();
    assert_marked(&html, "attr_first", "Each attribute name must be filled in");
    assert!(tag(&html, "clock_skew").contains(r#"value="60""#));
    let unchanged = app.svc.store.get_sso(id).await.unwrap().unwrap();
    assert_eq!((unchanged.clock_skew_secs, unchanged.allow_sha1), (180, false), "nothing saved");

    // Create a node: the name as typed, the parent as chosen.
    let long = "n".repeat(101);
    let res = app.post_form("/admin/nodes", &[("csrf", csrf), ("name", &long), ("parent", "1")]).await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert_marked(&html, "node-name", "Give the node a name of at most 100 characters");
    assert!(tag(&html, "node-name").contains(&format!(r#"value="{long}""#)));
    let res = app.post_form("/admin/nodes", &[("csrf", csrf), ("name", "Sales"), ("parent", "42")]).await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert_marked(&html, "parent", "there is no node 42");
    assert!(tag(&html, "node-name").contains(r#"value="Sales""#));

    // A page shown without a refusal marks nothing.
    let (_, clean) = app.get_html(&format!("/admin/sso/{id}/edit")).await;
    assert!(!clean.contains("aria-invalid") && !clean.contains("-error\""), "nothing marked");
}
