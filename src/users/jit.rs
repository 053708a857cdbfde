//! Just-In-Time provisioning: what a valid login may do to the user table.

use super::{email_domain, Profile};
use crate::store::{SsoConfig, User, UserStatus};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JitAction {
    /// Known user: log in, refresh names, activate an invited (SCIM) user.
    Update,
    /// Unknown user and JIT on: create active, provisioned_by = jit.
    Create,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JitRefusal {
    DomainNotAllowed(String),
    Locked(String),
    NotProvisioned(String),
    OutsideNode(String),
}

/// `existing_in_scope`: the known user belongs to the configuration's node or a node below it.
/// Keeper refuses SSO for enterprise users outside the SSO node; so do we, so that a second
/// configuration (another IdP) cannot log in users another node's IdP manages.
pub fn decide(
    config: &SsoConfig,
    existing: Option<&User>,
    existing_in_scope: bool,
    profile: &Profile,
) -> Result<JitAction, JitRefusal> {
    if !config.allow_other_domains && !email_domain(&profile.email).eq_ignore_ascii_case(&config.domain) {
        return Err(JitRefusal::DomainNotAllowed(profile.email.clone()));
    }
    match existing {
        Some(u) if u.status == UserStatus::Locked => Err(JitRefusal::Locked(u.email.clone())),
        Some(u) if !existing_in_scope => Err(JitRefusal::OutsideNode(u.email.clone())),
        Some(_) => Ok(JitAction::Update),
        None if config.jit => Ok(JitAction::Create),
        None => Err(JitRefusal::NotProvisioned(profile.email.clone())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(jit: bool, allow_other_domains: bool) -> SsoConfig {
        SsoConfig { domain: "example.com".into(), jit, allow_other_domains, ..Default::default() }
    }

    fn user(email: &str, status: UserStatus) -> User {
        User {
            user_id: 1,
            email: email.into(),
            first_name: String::new(),
            last_name: String::new(),
            status,
            provisioned_by: "scim".into(),
            node_id: 1,
            created_at: 0,
            last_login_at: None,
            scim_id: "00000000-0000-4000-8000-000000000000".into(),
            external_id: None,
            display_name: None,
            updated_at: None,
            scim_deleted_at: None,
        }
    }

    fn profile(email: &str) -> Profile {
        Profile { email: email.into(), first_name: None, last_name: None }
    }

    #[test]
    fn every_way_a_valid_login_is_let_in_or_refused() {
        let alice = "alice@example.com";
        let active = user(alice, UserStatus::Active);
        let invited = user(alice, UserStatus::Invited);
        let locked = user(alice, UserStatus::Locked);
        use JitAction::*;
        use JitRefusal::*;
        // (config, existing, in scope, asserted email, outcome)
        type Case<'a> = (SsoConfig, Option<&'a User>, bool, &'a str, Result<JitAction, JitRefusal>);
        let cases: Vec<Case> = vec![
            (config(true, false), None, true, alice, Ok(Create)),
            (config(false, false), None, true, alice, Err(NotProvisioned(alice.into()))),
            (config(false, false), Some(&active), true, alice, Ok(Update)),
            // An invited (SCIM) user is activated by their first login.
            (config(false, false), Some(&invited), true, alice, Ok(Update)),
            (config(true, false), Some(&locked), true, alice, Err(Locked(alice.into()))),
            (config(true, false), Some(&active), false, alice, Err(OutsideNode(alice.into()))),
            // The domain comes first, case-insensitively; other domains only when allowed.
            (config(true, false), None, true, "bob@EXAMPLE.COM", Ok(Create)),
            (config(true, false), None, true, "bob@other.example", Err(DomainNotAllowed("bob@other.example".into()))),
            (
                config(true, false),
                Some(&locked),
                true,
                "bob@other.example",
                Err(DomainNotAllowed("bob@other.example".into())),
            ),
            (
                config(true, false),
                None,
                true,
                "bob@sub.example.com",
                Err(DomainNotAllowed("bob@sub.example.com".into())),
            ),
            (config(true, true), None, true, "bob@other.example", Ok(Create)),
            (config(false, true), None, true, "bob@other.example", Err(NotProvisioned("bob@other.example".into()))),
        ];
        for (config, existing, in_scope, email, want) in cases {
            let got = decide(&config, existing, in_scope, &profile(email));
            assert_eq!(
                got,
                want,
                "jit {} other domains {} existing {:?} in scope {in_scope} {email}",
                config.jit,
                config.allow_other_domains,
                existing.map(|u| u.status)
            );
        }
    }
}
