//! The operations an administrator performs, whichever front end they use: the admin console
//! (`web/routes/admin/`) and the command line (`cli/`) both parse their input, call a function
//! here and render what it returns. Each rule lives here once (what a domain name is, what
//! unlocking a user restores, how a SCIM base URL reads), and every change is written to the
//! audit trail with the acting admin, or `cli` for the command line.
//!
//! HTTP-free and SQL-free: nothing here imports axum, askama or sqlx. Reads and writes go
//! through `Store`; errors come back as one [`OpsError`] for the front ends to map.

pub mod admins;
pub mod certs;
pub mod idp_refresh;
pub mod nodes;
pub mod sso;
pub mod teams;
pub mod users;

use thiserror::Error;

use crate::services::Services;
use crate::store::StoreError;

/// Who performs an operation, as the audit trail records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A signed-in console admin.
    Admin { admin_id: i64, email: String },
    /// Someone with access to the data directory, through `spconnect …`.
    Cli,
}

impl Actor {
    /// The audit trail's `admin_email` column: the admin's email, or `cli`.
    pub fn audit_name(&self) -> &str {
        match self {
            Actor::Admin { email, .. } => email,
            Actor::Cli => "cli",
        }
    }
}

/// Why an operation did not happen. The message of `Invalid`, `NotFound` and `Conflict` is
/// meant for the admin and is shown as is by both front ends.
#[derive(Debug, Error)]
pub enum OpsError {
    /// The input breaks a rule (a domain name that is not one, a name too long, …).
    #[error("{0}")]
    Invalid(String),
    /// What the operation names does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The operation would clash with what exists (a domain taken, the last admin, …).
    #[error("{0}")]
    Conflict(String),
    /// The database failed; the admin can only retry or read the log.
    #[error("storage: {0}")]
    Store(StoreError),
    /// Something else on this host failed: SP key generation, a file, a task that panicked.
    #[error("{0}")]
    Internal(String),
}

/// The store's domain outcomes become the matching variants; its infrastructure failures stay
/// `Store`.
impl From<StoreError> for OpsError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => OpsError::NotFound(format!("{what} not found")),
            StoreError::Conflict(message) => OpsError::Conflict(message),
            other => OpsError::Store(other),
        }
    }
}

pub type Result<T> = std::result::Result<T, OpsError>;

/// A user or an admin account as a front end names it: the console by numeric id (from a URL),
/// the command line by id or email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountRef {
    Id(i64),
    Email(String),
}

impl AccountRef {
    /// Digits only: an id; anything else: an email (normalised by the operation).
    pub fn parse(raw: &str) -> AccountRef {
        let raw = raw.trim();
        match raw.parse::<i64>() {
            Ok(id) if raw.bytes().all(|b| b.is_ascii_digit()) => AccountRef::Id(id),
            _ => AccountRef::Email(raw.to_string()),
        }
    }
}

impl std::fmt::Display for AccountRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AccountRef::Id(id) => write!(f, "{id}"),
            AccountRef::Email(email) => f.write_str(&crate::logsafe::clip(email)),
        }
    }
}

/// Names of configurations and nodes: what the console's list shows in one line.
pub const MAX_NAME_CHARS: usize = 100;

/// A trimmed display name of at most [`MAX_NAME_CHARS`]; `what` names the thing in the message
/// ("configuration", "node").
pub fn display_name(raw: &str, what: &str) -> Result<String> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(OpsError::Invalid(format!("Give the {what} a name of at most {MAX_NAME_CHARS} characters.")));
    }
    Ok(name.to_string())
}

/// Write one audit event for `actor`. Action names are stable verbs (`sso.create`,
/// `user.lock`, …): the console's events page and `spconnect audit` show them.
async fn audit(svc: &Services, actor: &Actor, action: &str, target: &str, detail: &str, now: i64) -> Result<()> {
    svc.store.audit(actor.audit_name(), action, target, detail, now).await.map_err(OpsError::from)
}

/// CPU-heavy work (RSA key generation, argon2id) off the async runtime.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f).await.map_err(|e| OpsError::Internal(format!("background task failed: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_refs_are_ids_when_all_digits_else_emails() {
        let cases = [
            ("42", AccountRef::Id(42)),
            (" 7 ", AccountRef::Id(7)),
            ("+7", AccountRef::Email("+7".into())),
            ("-1", AccountRef::Email("-1".into())),
            ("bob@example.com", AccountRef::Email("bob@example.com".into())),
            ("99999999999999999999", AccountRef::Email("99999999999999999999".into())),
        ];
        for (raw, want) in cases {
            assert_eq!(AccountRef::parse(raw), want, "{raw:?}");
        }
    }

    #[test]
    fn display_names_are_trimmed_and_bounded() {
        assert_eq!(display_name("  Sales ", "node").unwrap(), "Sales");
        assert_eq!(display_name(&"é".repeat(100), "node").unwrap().chars().count(), 100);
        for bad in ["", "   ", &"x".repeat(101)] {
            let err = display_name(bad, "node").unwrap_err();
            assert_eq!(err.to_string(), "Give the node a name of at most 100 characters.");
        }
    }

    #[test]
    fn the_cli_is_audited_as_cli_and_an_admin_by_email() {
        assert_eq!(Actor::Cli.audit_name(), "cli");
        let admin = Actor::Admin { admin_id: 3, email: "root@example.org".into() };
        assert_eq!(admin.audit_name(), "root@example.org");
    }

    #[test]
    fn store_outcomes_map_to_their_variants() {
        assert!(matches!(OpsError::from(StoreError::NotFound("node")), OpsError::NotFound(m) if m == "node not found"));
        assert!(matches!(OpsError::from(StoreError::Conflict("taken".into())), OpsError::Conflict(m) if m == "taken"));
        assert!(matches!(OpsError::from(StoreError::SeatLimit(3)), OpsError::Store(_)));
    }
}
