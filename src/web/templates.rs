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

/// Render or fall back to a bare message; a template bug must not become a blank 500.
pub fn render<T: Template>(page: &T) -> String {
    page.render().unwrap_or_else(|e| {
        tracing::error!(error = %e, "template rendering failed");
        "<!doctype html><title>spconnect</title><p>Internal error.</p>".to_string()
    })
}
