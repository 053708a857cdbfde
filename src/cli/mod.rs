//! Command line: `spconnect serve`, `demo`, and the admin commands. Every command takes
//! `--data-dir` (or SPCONNECT_DATA_DIR); record-printing commands take `--json`. The admin
//! commands parse their arguments, call `ops/` (as the actor `cli`, so they are audited) and
//! print the result: `sso.rs` (configurations, IdP metadata, logins), `users.rs`, `admins.rs`
//! (console accounts, audit trail) and `scim.rs` (nodes, SCIM tokens, outbox, teams, events).

mod admins;
mod common;
mod db;
mod scim;
mod serve;
pub mod settings;
mod sso;
mod users;

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(name = "spconnect", version, about = "SAML 2.0 SSO bridge (service provider) with JIT and SCIM provisioning")]
pub struct Cli {
    /// Directory holding certs/, metadata/ and spconnect.db.
    #[arg(long, global = true, env = "SPCONNECT_DATA_DIR", default_value = ".")]
    pub data_dir: PathBuf,
    /// The database: `postgres://user:password@host/db` for PostgreSQL (several instances can
    /// share it), or `sqlite:///path/file.db`. Default: spconnect.db in the data directory.
    #[arg(long, global = true, env = "SPCONNECT_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Print records as JSON.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the web service.
    Serve(ServeArgs),
    /// Apply the database migrations and print the level reached (`serve` applies them too;
    /// several instances starting at once are safe).
    Migrate,
    /// A consistent copy of a live SQLite store in one new file (PostgreSQL: use pg_dump).
    Backup {
        #[arg(long)]
        out: PathBuf,
    },
    /// Database moves.
    #[command(subcommand)]
    Db(DbCommand),
    /// Run the service plus a built-in demo IdP on loopback, wired together. The demo keeps its
    /// data in a fresh temporary directory (removed on exit), never in `--data-dir`: it trusts a
    /// demo IdP key, which must not end up in a real deployment's configuration.
    Demo {
        /// Port of the service (the demo IdP takes the next one).
        #[arg(long, default_value_t = 8443)]
        port: u16,
        /// Keep the demo's data in this directory instead (created if missing; kept on exit).
        #[arg(long)]
        keep_in: Option<PathBuf>,
    },
    /// Manage SSO configurations.
    #[command(subcommand)]
    Sso(SsoCommand),
    /// Import IdP metadata.
    #[command(subcommand)]
    Idp(IdpCommand),
    /// The HTTPS certificate.
    #[command(subcommand)]
    Tls(TlsCommand),
    /// Print the SP metadata of a configuration (same bytes as the download).
    Metadata { sso_id: i64 },
    /// Print the SP certificate of a configuration (PEM).
    Cert { sso_id: i64 },
    /// Diagnose base64 SAMLResponses offline; nothing is consumed or created.
    CheckResponse {
        sso_id: i64,
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Evaluate as of this instant (RFC 3339) instead of now.
        #[arg(long)]
        at: Option<String>,
    },
    /// Users.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Admin console accounts.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Login records (successes and refusals).
    Logins {
        /// Only refused logins.
        #[arg(long)]
        failed: bool,
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
    /// The last responses kept while a configuration's debug switch is on (redacted).
    DebugResponses { sso_id: i64 },
    /// Nodes (organisational units); SCIM provisions one node.
    #[command(subcommand)]
    Node(NodeCommand),
    /// SCIM provisioning tokens.
    #[command(subcommand)]
    Scim(ScimCommand),
    /// Queued messages (invitations to SCIM-created users).
    #[command(subcommand)]
    Outbox(OutboxCommand),
    /// Teams (SCIM Groups) and their approval.
    #[command(subcommand)]
    Teams(TeamsCommand),
    /// What admins and the command line changed (sso.create, user.lock, idm_integration_activate, …), newest
    /// first; command-line changes are recorded as "cli".
    Audit {
        /// Only actions starting with this (e.g. `user.` or `admin.delete`).
        #[arg(long)]
        action: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
    /// Provisioning audit events (user_create_provision, user_deprovision, …).
    Events {
        /// Only events since then: RFC 3339, unix seconds, or relative (30m, 24h, 7d).
        #[arg(long)]
        since: Option<String>,
        #[arg(long, default_value_t = 1000)]
        limit: i64,
    },
}

#[derive(Subcommand, Debug)]
pub enum NodeCommand {
    /// Create a node; prints its numeric node ID.
    Create {
        name: String,
        #[arg(long, default_value_t = crate::store::ROOT_NODE_ID)]
        parent: i64,
    },
    /// List nodes with their seat limits and SCIM state.
    List,
    /// Set a node's licensed seats (SCIM creation past it answers 428).
    Set {
        node_id: i64,
        #[arg(long, conflicts_with = "unlimited", value_parser = clap::value_parser!(i64).range(0..))]
        seats: Option<i64>,
        /// Remove the seat limit.
        #[arg(long)]
        unlimited: bool,
    },
    /// Set the domains the node's SCIM may provision besides its SSO configurations' enterprise
    /// domains (none given: clear the list). A domain another node manages is refused.
    SetDomains { node_id: i64, domains: Vec<String> },
}

#[derive(Subcommand, Debug)]
pub enum ScimCommand {
    /// Generate the node's bearer token (shown once; replaces the previous one at once).
    Token { node_id: i64 },
    /// Deactivate the node's IdM connection (JumpCloud's "Deactivate IdM connection"): its
    /// bearer token stops working at once; reactivating means generating a new token.
    #[command(alias = "revoke")]
    Deactivate { node_id: i64 },
}

#[derive(Subcommand, Debug)]
pub enum OutboxCommand {
    List {
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
}

#[derive(Subcommand, Debug)]
pub enum TeamsCommand {
    /// List teams with status (pending/approved) and members.
    List {
        #[arg(long)]
        node: Option<i64>,
    },
    /// Approve a pending team, by numeric id or team UID (SCIM id).
    Approve { id: String },
}

/// `serve` settings; each can also come from `--config FILE` (see `settings`).
#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, env = "SPCONNECT_LISTEN", default_value = "127.0.0.1:8443")]
    pub listen: String,
    /// URL browsers and IdPs use to reach this service (default: derived from --listen).
    #[arg(long, env = "SPCONNECT_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// HTTPS certificate chain (PEM); without it a self-signed one is made in certs/.
    #[arg(long, env = "SPCONNECT_TLS_CERT", requires = "tls_key", conflicts_with = "http")]
    pub tls_cert: Option<PathBuf>,
    /// HTTPS private key (PEM).
    #[arg(long, env = "SPCONNECT_TLS_KEY", requires = "tls_cert", conflicts_with = "http")]
    pub tls_key: Option<PathBuf>,
    /// Serve plain HTTP (behind a TLS-terminating proxy). The variable takes true/false,
    /// 1/0, yes/no, on/off.
    #[arg(long, env = "SPCONNECT_HTTP", value_parser = clap::builder::BoolishValueParser::new())]
    pub http: bool,
    /// Deliver queued invitations through this SMTP relay (smtp://host:port, smtps://…,
    /// `?tls=required` for STARTTLS). Without it they stay in the outbox.
    #[arg(long, env = "SPCONNECT_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,
    /// Sender address of outgoing mail.
    #[arg(long, env = "SPCONNECT_SMTP_FROM", default_value = "spconnect <spconnect@localhost>")]
    pub smtp_from: String,
    #[command(flatten)]
    pub ops: Box<settings::OperationArgs>,
}

#[derive(Subcommand, Debug)]
pub enum SsoCommand {
    /// Create a configuration; prints the new SSO ID.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        domain: String,
        #[arg(long, default_value_t = crate::store::ROOT_NODE_ID)]
        node: i64,
    },
    /// List configurations.
    List,
    /// What the console's status panel shows: IdP metadata, certificate expiry, last logins.
    Status { sso_id: i64 },
    /// Change a configuration: its name, enterprise domain, node and switches.
    Set {
        sso_id: i64,
        #[arg(long)]
        name: Option<String>,
        /// The enterprise domain users sign in with (the part after the @).
        #[arg(long)]
        domain: Option<String>,
        /// Move the configuration to another node.
        #[arg(long)]
        node: Option<i64>,
        #[arg(long)]
        jit: Option<OnOff>,
        #[arg(long)]
        idp_initiated: Option<OnOff>,
        /// Seconds, from 0 to 3600.
        #[arg(long)]
        clock_skew: Option<i64>,
        /// Accept RSA-SHA1 / SHA-1 signatures from this IdP (weak; logged as a warning).
        #[arg(long)]
        allow_sha1: Option<OnOff>,
        /// Accept users whose email is outside the enterprise domain.
        #[arg(long)]
        allow_other_domains: Option<OnOff>,
        #[arg(long)]
        attr_email: Option<String>,
        #[arg(long)]
        attr_first: Option<String>,
        #[arg(long)]
        attr_last: Option<String>,
        /// Keep the last few posted responses (signatures redacted) for `debug-responses`.
        #[arg(long)]
        debug_responses: Option<OnOff>,
        /// Refuse encrypted assertions unless the whole Response is signed (closes the
        /// XML-Encryption padding oracle for IdPs that sign the Response).
        #[arg(long)]
        encrypted_requires_signed_response: Option<OnOff>,
        /// Refuse AES-CBC encrypted assertions: AES-GCM only.
        #[arg(long)]
        encrypted_gcm_only: Option<OnOff>,
        /// "Sign out" also ends the IdP session with a signed LogoutRequest (Single Logout;
        /// needs a SingleLogoutService in the IdP's metadata). Off: close the vault only.
        #[arg(long)]
        logout_idp: Option<OnOff>,
        /// Let admins whose email is in this configuration's domain sign in to the console through its IdP (local passwords keep working).
        #[arg(long)]
        admin_signin: Option<OnOff>,
    },
    /// Turn a configuration off: its Login URL and ACS refuse every sign-in (SSO_DEACTIVATED)
    /// until it is activated again. Nothing is deleted.
    Deactivate { sso_id: i64 },
    /// Turn a deactivated configuration on again.
    Activate { sso_id: i64 },
    /// Delete a configuration with its SP keys. Users stay, no longer attached to it; the SSO
    /// ID is never reused. Needs --yes.
    Delete {
        sso_id: i64,
        /// Confirm the deletion (IdPs still pointing at this configuration stop working).
        #[arg(long)]
        yes: bool,
    },
    /// SP key rollover without downtime. Without a flag: make the next key pair (or import
    /// yours with --cert/--key or --pkcs12) and publish its certificate in the metadata beside
    /// the current one; assertions encrypted to either are decrypted. Then, once the IdPs have
    /// re-read the metadata: --activate (the new key signs), and later --retire (the old key
    /// is removed).
    Rollover {
        sso_id: i64,
        /// Make the next key the signing key (the previous one still decrypts).
        #[arg(long, conflicts_with_all = ["retire", "cert", "pkcs12"])]
        activate: bool,
        /// Remove the previous key.
        #[arg(long, conflicts_with_all = ["cert", "pkcs12"])]
        retire: bool,
        /// Your CA-issued SP certificate (PEM; the chain may follow it), with --key.
        #[arg(long, requires = "key", conflicts_with = "pkcs12")]
        cert: Option<PathBuf>,
        /// The certificate's private key (unencrypted PEM, RSA-2048 or stronger).
        #[arg(long, requires = "cert")]
        key: Option<PathBuf>,
        /// Your SP certificate and key as a PKCS#12 bundle (.p12/.pfx); its password is read
        /// from --password-file, else from standard input.
        #[arg(long)]
        pkcs12: Option<PathBuf>,
        #[arg(long, requires = "pkcs12")]
        password_file: Option<PathBuf>,
    },
    /// The configuration's SP key pairs: role (active, next, previous), fingerprint, expiry,
    /// and when each rollover step happened.
    Keys { sso_id: i64 },
}

#[derive(Subcommand, Debug)]
pub enum TlsCommand {
    /// Install your own HTTPS certificate and key (PEM, or PKCS#12 with its password from
    /// --password-file or standard input) into the data directory's certs/, checked first:
    /// key and certificate must match, the certificate must be valid now, and the key must be
    /// RSA-2048 / ECDSA P-256 or stronger. `serve` uses it from its next start.
    Import {
        #[arg(long, requires = "key", conflicts_with = "pkcs12")]
        cert: Option<PathBuf>,
        #[arg(long, requires = "cert")]
        key: Option<PathBuf>,
        #[arg(long)]
        pkcs12: Option<PathBuf>,
        #[arg(long, requires = "pkcs12")]
        password_file: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
pub enum IdpCommand {
    /// Import IdP metadata (JumpCloud, Okta, Entra ID, …): from an XML file, or from the IdP's
    /// metadata URL, which `serve` then refreshes on a schedule.
    Import {
        sso_id: i64,
        /// The metadata XML file.
        #[arg(conflicts_with_all = ["file_opt", "url"], required_unless_present_any = ["file_opt", "url"])]
        file: Option<PathBuf>,
        /// The metadata XML file (same as giving it without --file).
        #[arg(long = "file", id = "file_opt", value_name = "FILE", conflicts_with = "url")]
        file_opt: Option<PathBuf>,
        /// Fetch the metadata from this https:// URL, and refresh it from there.
        #[arg(long)]
        url: Option<String>,
        /// Allow a plain http:// URL (loopback tests only: metadata in the clear can be changed
        /// on the way).
        #[arg(long, requires = "url")]
        allow_http: bool,
        /// Allow loopback, private and link-local addresses (an IdP inside your own network, or
        /// tests).
        #[arg(long, requires = "url")]
        allow_private: bool,
        /// Pin this certificate (PEM or DER): from now on the metadata must carry an enveloped
        /// signature made with its key, on import and on every refresh.
        #[arg(long, value_name = "FILE", conflicts_with = "unpin")]
        pin_cert: Option<PathBuf>,
        /// Remove the pinned certificate.
        #[arg(long)]
        unpin: bool,
    },
    /// Fetch a URL-backed configuration's metadata now (as the schedule would); on failure the
    /// last good metadata stays in use and the command exits 1.
    Refresh { sso_id: i64 },
    /// Where a configuration's metadata comes from and how its refreshes went.
    Status { sso_id: i64 },
}

#[derive(Subcommand, Debug)]
pub enum AdminCommand {
    /// Create a console admin. The password is read from standard input (one line); when
    /// standard input is a terminal or empty, a password is generated and printed once.
    Create {
        #[arg(long)]
        email: String,
    },
    /// List console admins.
    List,
    /// Set a new password (read from standard input, or generated and printed once, as for
    /// `create`); the admin's refused sign-ins are forgotten.
    ResetPassword {
        /// Email or numeric id.
        admin: String,
    },
    /// Delete a console admin; the last one cannot be deleted.
    Delete {
        /// Email or numeric id.
        admin: String,
    },
    /// Forget an admin's refused sign-ins, so a throttled account may sign in at once.
    Unlock {
        /// Email or numeric id.
        admin: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum UsersCommand {
    /// List users with their id, status and last login.
    List,
    /// Create a user by hand (invited until their first login).
    Create {
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "")]
        first_name: String,
        #[arg(long, default_value = "")]
        last_name: String,
        #[arg(long, default_value_t = crate::store::ROOT_NODE_ID)]
        node: i64,
    },
    /// Lock a user: their logins are refused, whatever the IdP says.
    Lock {
        /// Email or numeric id.
        user: String,
    },
    /// Unlock a user: active again once they have logged in before, else invited.
    Unlock {
        /// Email or numeric id.
        user: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum DbCommand {
    /// Copy this deployment (the data directory's SQLite store, or --database-url) into an
    /// empty PostgreSQL database, verified table by table by row counts. Stop the service first
    /// (or accept that what happens during the copy is not copied); sessions are not copied.
    Copy {
        /// postgres://user:password@host/database (created empty beforehand).
        #[arg(long)]
        to: String,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum OnOff {
    On,
    Off,
}

impl From<OnOff> for bool {
    fn from(v: OnOff) -> bool {
        matches!(v, OnOff::On)
    }
}

/// Run a command; the error text is what the admin sees. `serve` runs with the settings
/// `settings::resolve` made of flags, environment and configuration file.
pub async fn run(cli: Cli, serve: Option<settings::Effective>) -> Result<std::process::ExitCode, String> {
    let (dir, json, db) = (cli.data_dir.as_path(), cli.json, cli.database_url.as_deref());
    match cli.command {
        Command::Serve(_) => serve::serve(serve.ok_or("the serve settings were not resolved")?).await,
        Command::Migrate | Command::Backup { .. } | Command::Db(_) => db::run(dir, db, json, cli.command).await,
        Command::Demo { port, keep_in } => serve::demo(keep_in.as_deref(), port).await,
        Command::Sso(cmd) => sso::sso(&common::open(dir, db).await?, json, cmd).await,
        Command::Idp(cmd) => sso::idp(&common::open(dir, db).await?, json, cmd).await,
        Command::Tls(cmd) => sso::tls(dir, cmd),
        Command::Metadata { sso_id } => sso::metadata(&common::open(dir, db).await?, sso_id).await,
        Command::Cert { sso_id } => sso::cert(&common::open(dir, db).await?, sso_id).await,
        Command::CheckResponse { sso_id, files, at } => {
            sso::check_responses(&common::open(dir, db).await?, sso_id, &files, at, json).await
        }
        Command::Logins { failed, limit } => sso::logins(&common::open(dir, db).await?, json, failed, limit).await,
        Command::DebugResponses { sso_id } => sso::debug_responses(&common::open(dir, db).await?, json, sso_id).await,
        Command::Users(cmd) => users::users(&common::open(dir, db).await?, json, cmd).await,
        Command::Admin(cmd) => admins::admin(&common::open(dir, db).await?, json, cmd).await,
        Command::Audit { action, limit } => admins::audit(&common::open(dir, db).await?, json, action, limit).await,
        Command::Node(cmd) => scim::node(&common::open(dir, db).await?, json, cmd).await,
        Command::Scim(cmd) => scim::scim(&common::open(dir, db).await?, json, cmd).await,
        Command::Outbox(cmd) => scim::outbox(&common::open(dir, db).await?, json, cmd).await,
        Command::Teams(cmd) => scim::teams(&common::open(dir, db).await?, json, cmd).await,
        Command::Events { since, limit } => scim::events(&common::open(dir, db).await?, json, since, limit).await,
    }
}
