//! `spconnect serve` and `spconnect demo`.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use super::common::PUBLIC_URL_KEY;
use super::settings::Effective;
use crate::app::{self, Tls};
use crate::config::{DataDir, Settings};

pub async fn serve(args: Effective) -> Result<ExitCode, String> {
    let data_dir = &args.data_dir;
    let dir = DataDir::new(data_dir)
        .map_err(|e| format!("data directory {}: {e}", data_dir.display()))?
        .with_database_url(args.database_url.as_deref());
    let listener =
        std::net::TcpListener::bind(&args.listen).map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    let scheme = if args.http { "http" } else { "https" };
    let host = if local.ip().is_unspecified() { "localhost".to_string() } else { local.ip().to_string() };
    let public_url = args.public_url.clone().unwrap_or_else(|| format!("{scheme}://{host}:{}", local.port()));
    let mut settings = Settings::new(&public_url, dir, !args.http);
    args.apply(&mut settings);
    settings.smtp = args
        .smtp_url
        .clone()
        .map(|url| crate::mailer::SmtpConfig { url: crate::config::Secret::new(url), from: args.smtp_from.clone() });
    let svc = app::services_with(settings).await.map_err(|e| e.to_string())?;
    // The key-encryption key must open the SP keys in the database before this instance takes
    // traffic: with the wrong one every sign-in through it would fail while /readyz said ready.
    svc.keys.kek(&svc.store).await.map_err(|e| e.to_string())?;
    for config in svc.store.list_sso().await.map_err(|e| e.to_string())? {
        // Loaded (and cached) now; a configuration whose stored key is damaged is reported and
        // the others keep working.
        if let Err(e) = svc.sp_keys(config.sso_id).await {
            tracing::error!(sso_id = config.sso_id, error = %e, "the SP key of this configuration cannot be used");
        }
    }
    svc.store.put_setting(PUBLIC_URL_KEY, &svc.settings.public_url).await.map_err(|e| e.to_string())?;
    let tls = match (args.http, args.tls_cert.clone(), args.tls_key.clone()) {
        (true, _, _) => Tls::Off,
        (false, Some(cert), Some(key)) => Tls::On { cert: Some(cert), key: Some(key) },
        // Generate (first start) or reuse the self-signed certificate before announcing ourselves.
        _ => {
            let names = vec!["localhost".to_string(), host.clone()];
            let (cert, key) =
                crate::crypto::tls::ensure_self_signed(&svc.settings.data_dir, &names).map_err(|e| e.to_string())?;
            Tls::On { cert: Some(cert), key: Some(key) }
        }
    };
    let metrics = match &args.metrics_listen {
        Some(addr) => {
            Some(std::net::TcpListener::bind(addr).map_err(|e| format!("cannot listen for metrics on {addr}: {e}"))?)
        }
        None => None,
    };
    let metrics_addr = metrics.as_ref().and_then(|l| l.local_addr().ok());
    let grace = std::time::Duration::from_secs(args.shutdown_grace_secs);
    // Handlers first, so a SIGTERM that arrives as soon as we announce ourselves is graceful.
    let stop = tokio_util::sync::CancellationToken::new();
    let signals = stop_signals().map_err(|e| format!("cannot handle signals: {e}"))?;
    tokio::spawn(wait_and_stop(signals, stop.clone(), grace));
    // IdP metadata imported by URL stays current (see ops::idp_refresh).
    tokio::spawn(crate::ops::idp_refresh::run_schedule(svc.clone(), stop.clone()));
    print_banner(&svc, local).await;
    {
        let mut out = std::io::stdout().lock();
        if let Some(addr) = metrics_addr {
            let _ = writeln!(out, "metrics: http://{addr}/metrics");
        }
        for line in args.describe(&svc.settings) {
            let _ = writeln!(out, "{line}");
        }
    }
    let serving = app::Serving { stop, grace, metrics };
    app::serve_with(svc, listener, tls, serving).await.map_err(|e| e.to_string())?;
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

type Signals = (tokio::signal::unix::Signal, tokio::signal::unix::Signal);

fn stop_signals() -> std::io::Result<Signals> {
    use tokio::signal::unix::{signal, SignalKind};
    Ok((signal(SignalKind::terminate())?, signal(SignalKind::interrupt())?))
}

/// On SIGTERM or SIGINT, begin the graceful shutdown; on a second one, stop at once (exit 1).
async fn wait_and_stop(mut signals: Signals, stop: tokio_util::sync::CancellationToken, grace: std::time::Duration) {
    let name = next_signal(&mut signals).await;
    tracing::info!(
        signal = name,
        grace_secs = grace.as_secs(),
        "shutting down: no new connections, requests in flight may finish (a second signal stops at once)"
    );
    stop.cancel();
    let name = next_signal(&mut signals).await;
    tracing::warn!(signal = name, "second signal: stopping now, requests in flight are cut off");
    std::process::exit(1);
}

async fn next_signal(signals: &mut Signals) -> &'static str {
    tokio::select! {
        _ = signals.0.recv() => "SIGTERM",
        _ = signals.1.recv() => "SIGINT",
    }
}

/// The URLs a newcomer needs. Write errors are ignored: a closed stdout (a supervisor that
/// stopped reading) must not take the service down.
async fn print_banner(svc: &crate::services::Services, local: std::net::SocketAddr) {
    let configs = svc.store.list_sso().await.unwrap_or_default();
    let mut out = std::io::stdout().lock();
    macro_rules! say {
        ($o:expr, $($t:tt)*) => { let _ = writeln!($o, $($t)*); };
    }
    say!(out, "spconnect listening on {local}, public URL {}", svc.settings.public_url);
    say!(out, "data directory: {}", svc.settings.data_dir.root().display());
    say!(out, "admin console: {}/admin", svc.settings.public_url);
    if svc.store.count_admins().await.unwrap_or(0) == 0 {
        say!(out, "  no admin yet: run `spconnect admin create --email you@example.com` (prints a password)");
    }
    if svc.settings.public_url_is_local() {
        say!(
            out,
            "warning: the public URL is a loopback or private address; IdPs and other people's browsers cannot reach it. Start with --public-url https://sso.your-company.example"
        );
    }
    if configs.is_empty() {
        say!(out, "no SSO configuration yet: run `spconnect sso create --name NAME --domain example.com`");
    }
    for c in configs {
        let urls = svc.urls(c.sso_id);
        say!(out, "SSO {} \"{}\" ({}):", c.sso_id, c.name, c.domain);
        say!(out, "  Login URL (SP-initiated):  {}", urls.login);
        say!(out, "  SP entity ID:              {}", urls.entity_id);
        say!(out, "  ACS (HTTP-POST):           {}", urls.acs);
        say!(out, "  SP metadata download:      {}", urls.metadata_download);
        say!(out, "  SP certificate download:   {}", urls.cert_download);
        if c.idp_entity_id.is_none() {
            say!(out, "  IdP metadata missing:      spconnect idp import {} FILE.xml", c.sso_id);
        }
        if let Some(w) = super::common::jit_with_scim_warning(svc, &c).await {
            say!(out, "  warning: {w}");
        }
    }
    say!(out, "vault page: {}/vault", svc.settings.public_url);
}

/// The demo in `keep_in`, or in a fresh temporary directory removed when the demo stops.
pub async fn demo(keep_in: Option<&Path>, port: u16) -> Result<ExitCode, String> {
    if let Some(dir) = keep_in {
        println!("demo data directory: {} (kept)", dir.display());
        return crate::demo::run(dir, port).await;
    }
    let dir = std::env::temp_dir().join(format!(
        "spconnect-demo-{}-{}",
        std::process::id(),
        hex::encode(rand::random::<[u8; 4]>())
    ));
    println!("demo data directory: {} (temporary, removed on exit; --keep-in DIR keeps it)", dir.display());
    let result = crate::demo::run(&dir, port).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}
