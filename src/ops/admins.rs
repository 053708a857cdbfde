//! Console admin accounts: create, list, reset a password, unlock after refused sign-ins, and
//! delete (never the last one: without an admin nobody can sign in to the console). Password
//! hashing and sign-in itself are in `crate::admins`.

use super::{audit, blocking, AccountRef, Actor, OpsError, Result};
use crate::admins::{hash_password, PasswordError};
use crate::services::Services;
use crate::store::ops_support::AdminDeletion;
use crate::store::AdminAccount;

/// An admin account as it is listed: never the password hash.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AdminSummary {
    pub admin_id: i64,
    pub email: String,
    pub created_at: i64,
    pub last_login_at: Option<i64>,
}

impl From<AdminAccount> for AdminSummary {
    fn from(a: AdminAccount) -> Self {
        AdminSummary { admin_id: a.admin_id, email: a.email, created_at: a.created_at, last_login_at: a.last_login_at }
    }
}

/// An admin's email, ASCII lower case, or why it is not one.
fn admin_email(raw: &str) -> Result<String> {
    let email = raw.trim().to_ascii_lowercase();
    if !crate::users::is_email(&email) {
        return Err(OpsError::Invalid(format!(
            "\"{}\" is not an email address.",
            crate::logsafe::clip_to(&email, 100)
        )));
    }
    Ok(email)
}

/// argon2id off the async runtime; a password that is too short is the admin's to fix.
async fn hash(password: String) -> Result<String> {
    blocking(move || hash_password(&password)).await?.map_err(|e| match e {
        PasswordError::TooShort => OpsError::Invalid(e.to_string()),
        PasswordError::Hash(m) => OpsError::Internal(format!("password hashing: {m}")),
    })
}

/// The admin account named by id or email, or `NotFound`.
pub async fn get(svc: &Services, who: &AccountRef) -> Result<AdminAccount> {
    let found = match who {
        AccountRef::Id(id) => svc.store.get_admin(*id).await?,
        AccountRef::Email(email) => svc.store.find_admin(email.trim()).await?,
    };
    found.ok_or_else(|| OpsError::NotFound(format!("no admin {who}")))
}

pub async fn create(svc: &Services, actor: &Actor, email: &str, password: String, now: i64) -> Result<AdminSummary> {
    let email = admin_email(email)?;
    let hash = hash(password).await?;
    let account = svc.store.create_admin(&email, &hash, now).await?;
    audit(svc, actor, "admin.create", &account.email, "", now).await?;
    Ok(account.into())
}

pub async fn list(svc: &Services) -> Result<Vec<AdminSummary>> {
    Ok(svc.store.list_admins().await?.into_iter().map(AdminSummary::from).collect())
}

/// Set a new password. Refused sign-ins and remembered devices are forgotten with the old
/// password (the admin can sign in with the new one at once), in one transaction with the
/// audit row.
pub async fn reset_password(
    svc: &Services,
    actor: &Actor,
    who: &AccountRef,
    password: String,
    now: i64,
) -> Result<AdminSummary> {
    Ok(reset_password_account(svc, actor, who, password, now).await?.into())
}

/// [`reset_password`], answering the account as stored afterwards (with its new hash).
pub async fn reset_password_account(
    svc: &Services,
    actor: &Actor,
    who: &AccountRef,
    password: String,
    now: i64,
) -> Result<AdminAccount> {
    let account = get(svc, who).await?;
    let hash = hash(password).await?;
    svc.store
        .set_admin_password(account.admin_id, &hash, actor.audit_name(), now)
        .await?
        .ok_or_else(|| OpsError::NotFound(format!("no admin {who}")))
}

/// Forget an admin's refused sign-ins, so a throttled account may sign in again at once.
pub async fn unlock(svc: &Services, actor: &Actor, who: &AccountRef, now: i64) -> Result<AdminSummary> {
    let account = get(svc, who).await?;
    svc.store.clear_admin_signin_failures(&account.email).await?;
    audit(svc, actor, "admin.unlock", &account.email, "", now).await?;
    Ok(account.into())
}

/// Delete an admin account, unless it is the last one. The console stops honouring a deleted
/// admin's session at the next request (`web/admin_session.rs`).
pub async fn delete(svc: &Services, actor: &Actor, who: &AccountRef, now: i64) -> Result<AdminSummary> {
    let account = get(svc, who).await?;
    match svc.store.delete_admin_unless_last(account.admin_id).await? {
        AdminDeletion::Deleted => {}
        AdminDeletion::NotFound => return Err(OpsError::NotFound(format!("no admin {who}"))),
        AdminDeletion::LastAdmin => {
            return Err(OpsError::Conflict(format!(
                "{} is the last admin and cannot be deleted: create another admin first.",
                account.email
            )))
        }
    }
    audit(svc, actor, "admin.delete", &account.email, "", now).await?;
    Ok(account.into())
}
