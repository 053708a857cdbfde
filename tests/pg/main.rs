#![allow(clippy::unwrap_used)]
//! The integration suite again, on PostgreSQL: the same test files as `tests/it` (included by
//! path), with every data directory given a fresh database on the test server (see
//! `support::database_url_for`). Left out are the tests that never touch the store (the
//! verifier's differential and property tests) and the memory measurement, which needs one
//! engine only.

#[path = "../it/support/mod.rs"]
mod support;

pub const BACKEND: support::Backend = support::Backend::Postgres;

#[path = "../it/acs_accepts.rs"]
mod acs_accepts;
#[path = "../it/acs_rejects.rs"]
mod acs_rejects;
#[path = "../it/admin_console.rs"]
mod admin_console;
#[path = "../it/config_file.rs"]
mod config_file;
#[path = "../it/console_admins.rs"]
mod console_admins;
#[path = "../it/console_idp.rs"]
mod console_idp;
#[path = "../it/console_lists.rs"]
mod console_lists;
#[path = "../it/db_ops.rs"]
mod db_ops;
#[path = "../it/ext_login.rs"]
mod ext_login;
#[path = "../it/first_start.rs"]
mod first_start;
#[path = "../it/hardening.rs"]
mod hardening;
#[path = "../it/idp_import.rs"]
mod idp_import;
#[path = "../it/idp_refresh.rs"]
mod idp_refresh;
#[path = "../it/journeys.rs"]
mod journeys;
#[path = "../it/lifecycle.rs"]
mod lifecycle;
#[path = "../it/live_idp.rs"]
mod live_idp;
#[path = "../it/multi_instance.rs"]
mod multi_instance;
#[path = "../it/ops.rs"]
mod ops;
#[path = "../it/ops_layer.rs"]
mod ops_layer;
#[path = "../it/outbox_smtp.rs"]
mod outbox_smtp;
#[path = "../it/scim_cli.rs"]
mod scim_cli;
#[path = "../it/scim_compliance.rs"]
mod scim_compliance;
#[path = "../it/scim_groups.rs"]
mod scim_groups;
#[path = "../it/scim_props.rs"]
mod scim_props;
#[path = "../it/scim_security.rs"]
mod scim_security;
#[path = "../it/scim_users.rs"]
mod scim_users;
#[path = "../it/slo.rs"]
mod slo;
#[path = "../it/sp_metadata.rs"]
mod sp_metadata;
