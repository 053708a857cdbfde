#![allow(clippy::unwrap_used)]
//! One integration-test binary (each file under tests/ would otherwise be its own binary and
//! link the whole crate again). Every test starts the real router on 127.0.0.1:0 with its own
//! data directory and SQLite file, and speaks HTTP to it.

mod support;

/// This binary runs every integration test on SQLite; `tests/pg` runs them on PostgreSQL.
pub const BACKEND: support::Backend = support::Backend::Sqlite;

mod acs_accepts;
mod acs_rejects;
mod admin_console;
mod code_shape;
mod config_file;
mod console_admins;
mod console_idp;
mod console_lists;
mod db_ops;
mod ext_login;
mod first_start;
mod hardening;
mod idp_import;
mod idp_refresh;
mod journeys;
mod lifecycle;
mod live_idp;
mod ops;
mod ops_layer;
mod outbox_smtp;
mod prefilter_props;
mod replay_memory;
mod scim_cli;
mod scim_compliance;
mod scim_groups;
mod scim_props;
mod scim_security;
mod scim_users;
mod slo;
mod sp_metadata;
mod verifier_differential;
