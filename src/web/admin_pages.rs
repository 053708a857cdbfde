//! Page types of the admin console (`templates/admin/`). Handlers turn store records into the
//! small row structs here, with times already formatted, so the templates stay logic-free.

use askama::Template;

/// What every console page shows around its content: who is signed in, the CSRF token for its
/// forms, and which menu entry is current.
pub struct Chrome {
    pub admin_email: String,
    pub csrf: String,
    pub section: &'static str,
    /// Banners shown on every page until their cause is fixed: (message, what to do).
    pub warnings: Vec<(String, &'static str)>,
    /// What the last action did, shown once.
    pub notice: String,
}

impl Chrome {
    /// `aria-current` on the menu entry of the page being shown.
    pub fn current(&self, section: &str) -> &'static str {
        if self.section == section {
            "page"
        } else {
            "false"
        }
    }
}

/// Why a console form was refused (422), and which input is at fault (its id): the form comes
/// back with what the admin typed, that input marked (`aria-invalid`, `aria-describedby` to the
/// message) and the message beside it. The markup is `templates/admin/field.html`'s, shared by
/// every form. Empty (the default) when nothing was refused.
#[derive(Debug, Clone, Default)]
pub struct Refusal {
    /// The id of the input at fault; empty when the refusal is about no single field.
    pub field: &'static str,
    pub message: String,
}

impl Refusal {
    pub fn at(field: &'static str, message: impl Into<String>) -> Refusal {
        Refusal { field, message: message.into() }
    }

    /// A refusal about the form as a whole.
    pub fn of_form(message: impl Into<String>) -> Refusal {
        Refusal { field: "", message: message.into() }
    }

    pub fn is_empty(&self) -> bool {
        self.message.is_empty()
    }

    /// Whether the input `field` is the one at fault.
    pub fn is_at(&self, field: &str) -> bool {
        !self.message.is_empty() && !self.field.is_empty() && self.field == field
    }

    /// The `aria-describedby` of the input `field`: its hint's id (may be empty) and, when it
    /// is at fault, the id of the message beside it.
    pub fn described_by(&self, field: &str, hint: &str) -> String {
        match (self.is_at(field), hint.is_empty()) {
            (true, true) => format!("{field}-error"),
            (true, false) => format!("{hint} {field}-error"),
            (false, _) => hint.to_string(),
        }
    }
}

pub fn fmt_time(t: Option<i64>) -> String {
    t.and_then(|t| chrono::DateTime::from_timestamp(t, 0))
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| "never".into())
}

#[derive(Template)]
#[template(path = "admin/login.html")]
pub struct SignInPage<'a> {
    pub csrf: &'a str,
    pub message: &'a str,
    pub email: &'a str,
    /// The email typed into "Sign in with your identity provider" (kept when refused).
    pub sso_email: &'a str,
    /// The message is about the identity-provider form's email field.
    pub sso_field_error: bool,
}

pub struct SsoRow {
    pub sso_id: i64,
    pub name: String,
    pub domain: String,
    pub node: String,
    pub jit: bool,
    pub idp: String,
}

pub struct NodeChoice {
    pub node_id: i64,
    pub label: String,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "admin/sso_list.html")]
pub struct SsoListPage {
    pub chrome: Chrome,
    pub configs: Vec<SsoRow>,
    pub nodes: Vec<NodeChoice>,
    /// Why the create form was refused; its fields keep what was typed.
    pub refusal: Refusal,
    pub name: String,
    pub domain: String,
}

/// One line of the status panel: a label, a value, and whether it needs the admin's attention.
pub struct StatusLine {
    pub label: &'static str,
    pub value: String,
    pub warn: bool,
}

#[derive(Template)]
#[template(path = "admin/sso_view.html")]
pub struct SsoViewPage {
    pub chrome: Chrome,
    pub sso_id: i64,
    pub name: String,
    pub domain: String,
    pub entity_id: String,
    pub idp_initiated_login: String,
    pub acs: String,
    pub slo: String,
    pub metadata_download: String,
    pub cert_download: String,
    pub status: Vec<StatusLine>,
    pub settings: Vec<(&'static str, String)>,
    pub notice: String,
    /// Off: sign-ins are refused (SSO_DEACTIVATED).
    pub active: bool,
    pub active_changed: String,
    pub keys: Vec<KeyRow>,
    pub has_next: bool,
    pub has_previous: bool,
    /// Why the last IdP metadata refresh failed (the banner); empty when it did not.
    pub idp_warning: String,
    /// The public URL when it is loopback or private: the URLs below work on this machine only.
    pub public_url_local: Option<String>,
}

/// One SP key pair on a configuration's page (key rollover).
pub struct KeyRow {
    pub role: &'static str,
    pub fingerprint: String,
    pub subject: String,
    pub expires: String,
    pub source: String,
    pub created: String,
    pub activated: String,
    pub published: bool,
}

#[derive(Template)]
#[template(path = "admin/sso_edit.html")]
pub struct SsoEditPage {
    pub chrome: Chrome,
    pub sso_id: i64,
    /// The configuration's name as stored (the page's heading).
    pub heading: String,
    /// The name in the form: as stored, or as typed in a refused form.
    pub name: String,
    pub jit: bool,
    pub idp_initiated: bool,
    /// "Sign out" also ends the IdP session (Single Logout).
    pub logout_idp: bool,
    /// Admins of this domain may sign in to the console through the IdP.
    pub admin_signin: bool,
    /// Whether the IdP's metadata names a SingleLogoutService.
    pub idp_has_slo: bool,
    /// Seconds, as stored or as typed.
    pub clock_skew: String,
    pub attr_email: String,
    pub attr_first: String,
    pub attr_last: String,
    pub idp_entity_id: String,
    /// Why the last form of the page was refused, and its field; the form shows what was typed.
    pub refusal: Refusal,
    pub domain: String,
    pub nodes: Vec<NodeChoice>,
    pub allow_sha1: bool,
    pub allow_other_domains: bool,
    pub debug_keep_responses: bool,
    pub encrypted_requires_signed_response: bool,
    pub encrypted_gcm_only: bool,
    /// Why the last IdP metadata refresh failed (the banner); empty when it did not.
    pub idp_warning: String,
    /// The metadata URL the configuration is refreshed from; empty for a file import.
    pub idp_url: String,
    pub idp_allow_http: bool,
    pub idp_allow_private: bool,
    /// SHA-256 of the pinned metadata signing certificate; empty when none is pinned.
    pub pinned: String,
}

pub struct UserRow {
    pub user_id: i64,
    pub email: String,
    pub name: String,
    pub status: &'static str,
    pub provisioned_by: String,
    pub last_login: String,
    pub locked: bool,
    /// The configurations the user signs in through, or that they no longer are attached to one.
    pub sso: String,
}

#[derive(Template)]
#[template(path = "admin/users.html")]
pub struct UsersPage {
    pub chrome: Chrome,
    pub users: Vec<UserRow>,
    pub q: String,
    pub status: String,
    /// A search or a status narrows the list.
    pub filtered: bool,
    /// This page's number (from 1) and how many pages the matching users fill.
    pub page: i64,
    pub pages: i64,
    /// The position of this page's first and last user among the matching ones (from 1).
    pub first: i64,
    pub last: i64,
    /// Users matching the filter, and users in all.
    pub matching: i64,
    pub all: i64,
    /// The neighbouring pages with the same filter; empty at either end.
    pub previous_link: String,
    pub next_link: String,
}

pub struct EventRow {
    pub at: String,
    pub sso_id: String,
    pub outcome: String,
    pub who: String,
    pub reason_code: String,
    pub meaning: String,
    pub fix: String,
    pub detail: String,
    pub client_addr: String,
    pub request_id: String,
}

pub struct AuditRow {
    pub at: String,
    pub admin_email: String,
    pub action: String,
    pub target: String,
    pub detail: String,
}

pub struct CodeChoice {
    pub code: String,
    pub selected: bool,
}

/// One SCIM call as the SCIM tab shows it.
pub struct ScimEventRow {
    pub at: String,
    /// The node's name and id.
    pub node: String,
    /// Method and event: `POST user.create`.
    pub call: String,
    pub target: String,
    pub outcome: String,
    pub reason: String,
    pub detail: String,
    pub client_addr: String,
    pub request_id: String,
}

/// /admin/events: one of three tabs (`view`: logins, scim, audit); only its fields are filled.
#[derive(Template)]
#[template(path = "admin/events.html")]
pub struct EventsPage {
    pub chrome: Chrome,
    pub view: &'static str,
    /// Logins: the rows, the reason codes to filter by, and the filter as typed.
    pub events: Vec<EventRow>,
    pub codes: Vec<CodeChoice>,
    pub who: String,
    pub sso: String,
    pub request: String,
    /// SCIM: the rows and the nodes to filter by.
    pub scim: Vec<ScimEventRow>,
    pub nodes: Vec<NodeChoice>,
    /// Audit: the rows and the filter as typed.
    pub audit: Vec<AuditRow>,
    pub action: String,
    pub admin: String,
    /// The outcome filter of the logins or SCIM tab.
    pub outcome: String,
    /// The next (older) page of the tab, with the same filter; empty on the last page.
    pub older_link: String,
    /// Back to the tab's newest records, with the same filter; empty on the first page.
    pub newest_link: String,
    pub reference: Vec<(&'static str, &'static str, &'static str)>,
}

pub struct NodeRowView {
    pub node_id: i64,
    pub name: String,
    pub parent: String,
    pub seats: String,
    pub scim: String,
    pub scim_enabled: bool,
    pub base_url: String,
    pub last_call: String,
}

#[derive(Template)]
#[template(path = "admin/nodes.html")]
pub struct NodesPage {
    pub chrome: Chrome,
    pub nodes: Vec<NodeRowView>,
    pub parents: Vec<NodeChoice>,
    /// Why the create form was refused; its fields keep what was typed.
    pub refusal: Refusal,
    pub name: String,
}

/// Shown once, right after the token is generated: only its hash is kept.
#[derive(Template)]
#[template(path = "admin/scim_token.html")]
pub struct ScimTokenPage {
    pub chrome: Chrome,
    pub node_name: String,
    pub token: String,
    pub base_url: String,
}

/// A console failure outside any page (no menu: it may come before the session is read).
#[derive(Template)]
#[template(path = "admin/error.html")]
pub struct AdminErrorPage<'a> {
    pub status: u16,
    pub text: &'a str,
}

pub struct AdminRow {
    pub admin_id: i64,
    pub email: String,
    pub created: String,
    pub last_login: String,
    /// The signed-in admin's own row.
    pub is_me: bool,
}

#[derive(Template)]
#[template(path = "admin/admins.html")]
pub struct AdminsPage {
    pub chrome: Chrome,
    pub admins: Vec<AdminRow>,
    /// Why the last action was refused, or what it did; empty otherwise.
    pub message: String,
    pub error: bool,
    /// "Add admin": the email as typed when it was refused, and why (at `new_email`).
    pub new_email: String,
    pub refusal: Refusal,
}

/// A generated admin password, shown once (only its argon2id hash is kept).
#[derive(Template)]
#[template(path = "admin/admin_password.html")]
pub struct AdminPasswordPage {
    pub chrome: Chrome,
    pub email: String,
    pub password: String,
    /// A new account (or a new password for an existing one).
    pub created: bool,
}

pub struct TeamRow {
    pub team_id: i64,
    pub team_uid: String,
    pub name: String,
    pub node: String,
    pub pending: bool,
    pub members: Vec<String>,
    pub created: String,
}

#[derive(Template)]
#[template(path = "admin/teams.html")]
pub struct TeamsPage {
    pub chrome: Chrome,
    pub teams: Vec<TeamRow>,
    pub pending: usize,
}

/// One check of a test login, as the report shows it.
pub struct TestLoginStep {
    pub check: String,
    /// passed, refused, does not apply, not reached
    pub outcome: &'static str,
    /// The row's CSS class: passed, refused, skipped, not-reached
    pub class: &'static str,
    pub detail: String,
    /// What the check makes sure of.
    pub explanation: String,
}

#[derive(Template)]
#[template(path = "admin/test_login.html")]
pub struct TestLoginPage {
    pub chrome: Chrome,
    pub sso_id: i64,
    pub sso_name: String,
    pub at: String,
    pub passed: bool,
    pub code: String,
    pub message: String,
    pub meaning: String,
    pub fix: String,
    /// The console page where the fix is (empty: none).
    pub fix_label: &'static str,
    pub fix_url: String,
    pub steps: Vec<TestLoginStep>,
    pub name_id: String,
    pub name_id_format: String,
    pub session_index: String,
    pub attributes: Vec<(String, String)>,
    pub would: String,
}
