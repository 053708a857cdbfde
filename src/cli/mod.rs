//! Command line: `spconnect serve`, `demo`, and the admin commands. Every command takes
//! `--data-dir` (or SPCONNECT_DATA_DIR); record-printing commands take `--json`.

mod admin;
mod scim;
mod serve;
pub mod settings;

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(name = "spconnect", version, about = "SAML 2.0 SSO bridge (service provider) with JIT and SCIM provisioning")]
pub struct Cli {
    /// Directory holding certs/, metadata/ and spconnect.db.
    #[arg(long, global = true, env = "SPCONNECT_DATA_DIR", default_value = ".")]
    pub data_dir: PathBuf,
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
    /// Change a configuration's switches.
    Set {
        sso_id: i64,
        #[arg(long)]
        jit: Option<OnOff>,
        #[arg(long)]
        idp_initiated: Option<OnOff>,
        #[arg(long, value_parser = clap::value_parser!(i64).range(0..=3600))]
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
    },
}

#[derive(Subcommand, Debug)]
pub enum IdpCommand {
    /// Import an IdP metadata XML file (JumpCloud, Okta, Entra ID, …).
    Import { sso_id: i64, file: PathBuf },
}

#[derive(Subcommand, Debug)]
pub enum AdminCommand {
    /// Create a console admin. The password is read from standard input (one line); when
    /// standard input is a terminal or empty, a password is generated and printed once.
    Create {
        #[arg(long)]
        email: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum UsersCommand {
    List,
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

pub(crate) fn print_json(v: &impl serde::Serialize) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

/// Run a command; the error text is what the admin sees. `serve` runs with the settings
/// `settings::resolve` made of flags, environment and configuration file.
pub async fn run(cli: Cli, serve: Option<settings::Effective>) -> Result<std::process::ExitCode, String> {
    match cli.command {
        Command::Serve(_) => serve::serve(serve.ok_or("the serve settings were not resolved")?).await,
        Command::Demo { port, keep_in } => serve::demo(keep_in.as_deref(), port).await,
        command => admin::run(&cli.data_dir, cli.json, command).await,
    }
}
