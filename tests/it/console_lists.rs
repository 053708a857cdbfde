//! The console's long lists over HTTP: users searched and paged in the store (50 to a page, the
//! filter kept in the links, a count, no cap).

use spconnect::store::{NewUser, UserStatus};

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
