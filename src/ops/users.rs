//! Users: create one by hand, lock and unlock (with the one rule for what unlocking restores).

use super::{audit, AccountRef, Actor, OpsError, Result};
use crate::services::Services;
use crate::store::{NewUser, User, UserStatus};

/// First and last names longer than this are refused.
pub const MAX_USER_NAME_CHARS: usize = 200;

/// What unlocking restores: active once the user has logged in, else invited (the state a
/// user is created in until the first login).
pub fn unlocked_status(user: &User) -> UserStatus {
    crate::users::lifecycle::unlocked_status(user.last_login_at.is_some())
}

/// The user named by id or email, or `NotFound`.
pub async fn get(svc: &Services, who: &AccountRef) -> Result<User> {
    let found = match who {
        AccountRef::Id(id) => svc.store.get_user(*id).await?,
        AccountRef::Email(email) => svc.store.find_user_by_email(email.trim()).await?,
    };
    found.ok_or_else(|| OpsError::NotFound(format!("no user {who}")))
}

/// Lock a user: their next login is refused, whatever the IdP says.
pub async fn lock(svc: &Services, actor: &Actor, who: &AccountRef, now: i64) -> Result<User> {
    set_status(svc, actor, who, true, now).await
}

/// Unlock a user (see [`unlocked_status`]).
pub async fn unlock(svc: &Services, actor: &Actor, who: &AccountRef, now: i64) -> Result<User> {
    set_status(svc, actor, who, false, now).await
}

async fn set_status(svc: &Services, actor: &Actor, who: &AccountRef, lock: bool, now: i64) -> Result<User> {
    let user = get(svc, who).await?;
    let status = if lock { UserStatus::Locked } else { unlocked_status(&user) };
    svc.store.set_user_status(&user.email, status).await?;
    let action = if lock { "user.lock" } else { "user.unlock" };
    audit(svc, actor, action, &user.email, status.as_str(), now).await?;
    Ok(User { status, ..user })
}

/// A user an admin creates by hand.
#[derive(Debug, Clone, Copy)]
pub struct NewManualUser<'a> {
    pub email: &'a str,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub node_id: i64,
}

/// Create a user by hand: invited until their first login, provisioned by `manual`.
pub async fn create(svc: &Services, actor: &Actor, new: NewManualUser<'_>, now: i64) -> Result<User> {
    let email = new.email.trim().to_ascii_lowercase();
    if !crate::users::is_email(&email) {
        return Err(OpsError::Invalid(format!(
            "\"{}\" is not an email address.",
            crate::logsafe::clip_to(&email, 100)
        )));
    }
    let (first, last) = (new.first_name.trim(), new.last_name.trim());
    if first.chars().count() > MAX_USER_NAME_CHARS || last.chars().count() > MAX_USER_NAME_CHARS {
        return Err(OpsError::Invalid(format!("Names may have at most {MAX_USER_NAME_CHARS} characters.")));
    }
    super::nodes::get(svc, new.node_id).await?;
    let user = svc
        .store
        .create_user(
            &NewUser {
                email: &email,
                first_name: first,
                last_name: last,
                status: UserStatus::Invited,
                provisioned_by: "manual",
                node_id: new.node_id,
            },
            now,
        )
        .await?;
    audit(svc, actor, "user.create", &user.email, &format!("node {}", new.node_id), now).await?;
    Ok(user)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unlocking_restores_active_after_a_login_else_invited() {
        let user = |last_login_at| User {
            user_id: 1,
            email: "bob@example.com".into(),
            first_name: String::new(),
            last_name: String::new(),
            status: UserStatus::Locked,
            provisioned_by: "scim".into(),
            node_id: 1,
            created_at: 0,
            last_login_at,
            scim_id: String::new(),
            external_id: None,
            display_name: None,
            updated_at: None,
            scim_deleted_at: None,
        };
        assert_eq!(unlocked_status(&user(None)), UserStatus::Invited);
        assert_eq!(unlocked_status(&user(Some(1_700_000_000))), UserStatus::Active);
    }
}
