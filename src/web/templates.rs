//! Page types for `templates/` (askama: compiled in, auto-escaped).

use askama::Template;

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage<'a> {
    pub code: &'a str,
    pub message: &'a str,
    pub request_id: &'a str,
    pub status: u16,
}

#[derive(Template)]
#[template(path = "vault.html")]
pub struct VaultPage<'a> {
    pub email: &'a str,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub sso_name: &'a str,
    pub sso_id: i64,
    pub provisioned_by: &'a str,
}

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage<'a> {
    pub message: &'a str,
    pub value: &'a str,
}

#[derive(Template)]
#[template(path = "continue.html")]
pub struct ContinuePage<'a> {
    pub current: &'a str,
    pub incoming: &'a str,
    /// Ties the form to the continuation cookie (defence in depth beside SameSite=Lax).
    pub check: &'a str,
}

/// The ACS's answer when the response was for the console (a test login, a console sign-in):
/// the console's cookie is `SameSite=Strict`, which a redirect from the IdP's cross-site POST
/// would not carry, so this same-site page moves the browser on (at once, or by the link).
#[derive(Template)]
#[template(path = "handoff.html")]
pub struct HandoffPage<'a> {
    pub title: &'a str,
    pub message: &'a str,
    pub link: &'a str,
    /// A path on this service, or the IdP's SSO URL from its metadata (never taken from the
    /// request).
    pub url: &'a str,
}

/// The hand-over page as a response (never cached). Also how a console form leads to the IdP:
/// a form's redirect to another origin is blocked by the console's `form-action 'self'`, a
/// page's own navigation is not.
pub fn handoff(title: &str, message: &str, link: &str, url: &str) -> axum::response::Response {
    use axum::response::IntoResponse;
    let page = HandoffPage { title, message, link, url };
    let mut res = axum::response::Html(render(&page)).into_response();
    res.headers_mut().insert(axum::http::header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
    res
}

/// Render or fall back to a bare message; a template bug must not become a blank 500.
pub fn render<T: Template>(page: &T) -> String {
    page.render().unwrap_or_else(|e| {
        tracing::error!(error = %e, "template rendering failed");
        "<!doctype html><title>spconnect</title><p>Internal error.</p>".to_string()
    })
}

#[derive(Template)]
#[template(path = "signed_out.html")]
pub struct SignedOutPage<'a> {
    pub message: &'a str,
}

/// The HTTP-POST binding towards the IdP's SLO endpoint: a form the page submits itself (its
/// one script is allowed by hash in the page's own Content-Security-Policy).
#[derive(Template)]
#[template(path = "slo_post.html")]
pub struct SloPostPage<'a> {
    pub action: &'a str,
    pub field: &'a str,
    pub value: &'a str,
    /// Empty: no RelayState field.
    pub relay_state: &'a str,
    pub script: &'a str,
}
