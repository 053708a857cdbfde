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
