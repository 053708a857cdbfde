//! Keeper's user-lifecycle rules as pure functions: given what the store read inside its
//! transaction, they say what to write. The store (`store/logins.rs`, `store/provisioning.rs`)
//! reads, asks here, and applies the answer in the same transaction; the rules themselves hold
//! no SQL, so both database engines, the console and the CLI share exactly one copy.

use crate::store::UserStatus;

/// A user as the rules need to see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Existing {
    pub user_id: i64,
    pub node_id: i64,
    pub status: UserStatus,
    pub has_logged_in: bool,
    /// SCIM deleted it (locked, gone from SCIM reads).
    pub scim_deleted: bool,
}

/// What a successful SSO login does to the user record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnLogin {
    /// Known and not locked: mark active (an invited user's first login), refresh the names.
    Update { user_id: i64 },
    /// Unknown and JIT allowed: create, active.
    Create,
    /// Locked (possibly between validation and commit): refuse.
    RefuseLocked,
    /// Unknown and JIT not allowed.
    RefuseUnknown,
}

pub fn on_login(existing: Option<Existing>, jit_allowed: bool) -> OnLogin {
    match existing {
        Some(u) if u.status == UserStatus::Locked => OnLogin::RefuseLocked,
        Some(u) => OnLogin::Update { user_id: u.user_id },
        None if jit_allowed => OnLogin::Create,
        None => OnLogin::RefuseUnknown,
    }
}

/// What unlocking restores: active once the user has logged in, else invited (the state a user
/// is created in until the first login).
pub fn unlocked_status(has_logged_in: bool) -> UserStatus {
    if has_logged_in {
        UserStatus::Active
    } else {
        UserStatus::Invited
    }
}

/// What a SCIM create writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScimCreate {
    /// Bring back this node's own SCIM-deleted user instead of inserting a new one.
    pub revive: Option<i64>,
    pub status: UserStatus,
    /// The new user takes a licensed seat (check the node's seats before writing).
    pub takes_seat: bool,
    /// Queue an invitation (a user created `invited`).
    pub invite: bool,
}

/// The userName is held: by a live user of any node, or by another node's deleted user. One
/// answer for all of them, so SCIM cannot tell which (issue 8, item 12).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Taken;

/// SCIM create: `invited` (with an invitation) unless `active` is false, then `locked`. Only
/// this node's own tombstone with that email may be revived (an IdP's "Test Connection" creates
/// and deletes the same user again and again); it comes back `active` if it had logged in.
pub fn scim_create(existing: Option<Existing>, node_id: i64, active: Option<bool>) -> Result<ScimCreate, Taken> {
    let revive = match existing {
        None => None,
        Some(u) if u.node_id == node_id && u.scim_deleted => Some(u),
        Some(_) => return Err(Taken),
    };
    let status = match (active, revive) {
        (Some(false), _) => UserStatus::Locked,
        (_, Some(u)) => unlocked_status(u.has_logged_in),
        (_, None) => UserStatus::Invited,
    };
    Ok(ScimCreate {
        revive: revive.map(|u| u.user_id),
        status,
        takes_seat: status != UserStatus::Locked,
        invite: status == UserStatus::Invited,
    })
}

/// SCIM replace: `active: false` locks; `active: true` unlocks a locked user (which takes a
/// seat again); anything else leaves the status alone. Returns the new status and whether a
/// seat must be free.
pub fn scim_replace(current: UserStatus, has_logged_in: bool, active: Option<bool>) -> (UserStatus, bool) {
    match (active, current) {
        (Some(false), _) => (UserStatus::Locked, false),
        (Some(true), UserStatus::Locked) => (unlocked_status(has_logged_in), true),
        (_, status) => (status, false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use UserStatus::{Active, Invited, Locked};

    fn user(node_id: i64, status: UserStatus, has_logged_in: bool, scim_deleted: bool) -> Existing {
        Existing { user_id: 7, node_id, status, has_logged_in, scim_deleted }
    }

    #[test]
    fn login_decisions() {
        let cases = [
            (None, true, OnLogin::Create),
            (None, false, OnLogin::RefuseUnknown),
            (Some(user(1, Active, true, false)), false, OnLogin::Update { user_id: 7 }),
            (Some(user(1, Invited, false, false)), false, OnLogin::Update { user_id: 7 }),
            (Some(user(1, Locked, true, false)), true, OnLogin::RefuseLocked),
            // SCIM-deleted users are locked: a login never brings them back.
            (Some(user(1, Locked, true, true)), true, OnLogin::RefuseLocked),
        ];
        for (existing, jit, expected) in cases {
            assert_eq!(on_login(existing, jit), expected, "{existing:?} jit={jit}");
        }
    }

    #[test]
    fn scim_create_decisions() {
        let fresh = |status, takes_seat, invite| Ok(ScimCreate { revive: None, status, takes_seat, invite });
        let revived = |status, takes_seat, invite| Ok(ScimCreate { revive: Some(7), status, takes_seat, invite });
        let cases = [
            (None, None, fresh(Invited, true, true)),
            (None, Some(true), fresh(Invited, true, true)),
            (None, Some(false), fresh(Locked, false, false)),
            // This node's own tombstone comes back: active if it had logged in, else invited.
            (Some(user(1, Locked, true, true)), None, revived(Active, true, false)),
            (Some(user(1, Locked, false, true)), None, revived(Invited, true, true)),
            (Some(user(1, Locked, true, true)), Some(false), revived(Locked, false, false)),
            // Everything else with that userName is taken, whoever holds it.
            (Some(user(1, Active, true, false)), None, Err(Taken)),
            (Some(user(2, Active, true, false)), None, Err(Taken)),
            (Some(user(2, Locked, true, true)), None, Err(Taken)),
        ];
        for (existing, active, expected) in cases {
            assert_eq!(scim_create(existing, 1, active), expected, "{existing:?} active={active:?}");
        }
    }

    #[test]
    fn scim_replace_decisions() {
        let cases = [
            (Active, true, Some(false), (Locked, false)),
            (Invited, false, Some(false), (Locked, false)),
            (Locked, true, Some(true), (Active, true)),
            (Locked, false, Some(true), (Invited, true)),
            (Active, true, Some(true), (Active, false)),
            (Invited, false, None, (Invited, false)),
            (Locked, true, None, (Locked, false)),
        ];
        for (current, logged_in, active, expected) in cases {
            assert_eq!(scim_replace(current, logged_in, active), expected, "{current:?} {logged_in} {active:?}");
        }
    }
}
