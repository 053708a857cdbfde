//! spconnect: a SAML 2.0 service provider that bridges an IdP (JumpCloud, Okta, Entra ID) to
//! users created Just-In-Time or over SCIM. The login flow, file by file:
//!
//! ```text
//! browser ─GET─▶ web/routes/ext_login.rs ─▶ login/start.rs ─▶ saml/authn_request.rs ─302─▶ IdP
//! IdP ─POST─▶ web/routes/acs.rs ─▶ login/finish.rs
//!               ├─▶ saml/response/ (xml intake → signature → decrypt → conditions)
//!               ├─▶ store: InResponseTo issued by us, assertion ID used once (all instances)
//!               ├─▶ users/attributes.rs + users/jit.rs
//!               └─▶ web/session.rs ─303─▶ /vault
//! ```
//!
//! Provisioning: an IdP's SCIM client ─▶ web/routes/scim.rs (bearer token, body limit) ─▶
//! scim/service.rs (Keeper's rules; scim/filter.rs, scim/patch.rs) ─▶ store/provisioning.rs,
//! store/teams.rs; refusals become SCIM error bodies in web/scim_error.rs.
//!
//! Administration: the console (`web/routes/admin/`, behind `web/admin_session.rs`: its own
//! session cookie, CSRF on every form) and the command line (`cli/`) parse their input and call
//! `ops/` (configurations, nodes and SCIM tokens, users, admin accounts), which holds the rules
//! once and writes the audit trail; `admins.rs` hashes passwords and rate-limits sign-ins.

pub mod admins;
pub mod app;
pub mod cli;
pub mod config;
pub mod crypto;
pub mod demo;
pub mod login;
pub mod logout;
pub mod logsafe;
pub mod mailer;
pub mod metrics;
pub mod ops;
pub mod saml;
pub mod scim;
pub mod services;
pub mod store;
pub mod users;
pub mod web;
