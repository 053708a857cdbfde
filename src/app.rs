//! Wiring: open the store, build the router, serve over HTTPS (rustls) or plain HTTP. Used by
//! `spconnect serve`, `spconnect demo` and the integration tests alike.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use thiserror::Error;
use tokio_util::sync::CancellationToken;

use crate::config::{DataDir, Settings};
use crate::services::Services;
use crate::store::Store;

#[derive(Debug, Error)]
pub enum AppError {
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("storage: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error("sessions: {0}")]
    Sessions(#[from] tower_sessions::session_store::Error),
    #[error("keys: {0}")]
    Crypto(#[from] crate::crypto::CryptoError),
}

pub enum Tls {
    /// Plain HTTP, for running behind a TLS-terminating proxy (and in tests).
    Off,
    /// These PEM files, or a self-signed pair generated in `certs/` when `None`.
    On { cert: Option<PathBuf>, key: Option<PathBuf> },
}

pub async fn services(data_dir: DataDir, public_url: &str, secure_cookies: bool) -> Result<Services, AppError> {
    services_with(Settings::new(public_url, data_dir, secure_cookies)).await
}

/// As [`services`], with settings already adjusted (limits, SMTP).
pub async fn services_with(settings: Settings) -> Result<Services, AppError> {
    let store = Store::open(settings.data_dir.database_url(), &settings.data_dir.database()).await?;
    Ok(Services::new(store, settings))
}

pub async fn router(svc: Services) -> Result<Router, AppError> {
    Ok(crate::web::router(svc).await?)
}

/// How [`serve_with`] runs and stops.
pub struct Serving {
    /// Cancel to stop: the listeners close at once, requests in flight get `grace` to finish,
    /// the background tasks stop after their current step, then the database pool is closed.
    pub stop: CancellationToken,
    /// How long requests in flight may take to finish once `stop` is cancelled; connections
    /// still open after it are closed.
    pub grace: Duration,
    /// Serve `/metrics` on this listener (plain HTTP) instead of the main one.
    pub metrics: Option<std::net::TcpListener>,
}

/// Requests in flight get this long to finish at shutdown, unless told otherwise.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

impl Default for Serving {
    fn default() -> Self {
        Serving { stop: CancellationToken::new(), grace: DEFAULT_SHUTDOWN_GRACE, metrics: None }
    }
}

/// Serve until the process is stopped.
pub async fn serve(svc: Services, listener: std::net::TcpListener, tls: Tls) -> Result<(), AppError> {
    serve_with(svc, listener, tls, Serving::default()).await
}

/// Serve until `serving.stop` is cancelled (or the listener fails), then shut down gracefully.
pub async fn serve_with(
    mut svc: Services,
    listener: std::net::TcpListener,
    tls: Tls,
    serving: Serving,
) -> Result<(), AppError> {
    let Serving { stop, grace, metrics } = serving;
    if metrics.is_some() {
        Arc::make_mut(&mut svc.settings).metrics_on_main_listener = false;
    }
    // Installed before the first request, so counters start at zero rather than appear later.
    crate::metrics::handle();
    let mut background = vec![tokio::spawn(purge_expired(svc.clone(), stop.clone()))];
    if let Some(smtp) = svc.settings.smtp.clone() {
        background.push(tokio::spawn(crate::mailer::run(svc.store.clone(), smtp, stop.clone())));
    }
    if let Some(listener) = metrics {
        background.push(tokio::spawn(serve_metrics(svc.clone(), listener, stop.clone())));
    }
    let store = svc.store.clone();
    let handle = axum_server::Handle::new();
    let trigger = handle.clone();
    let stopping = stop.clone();
    tokio::spawn(async move {
        stopping.cancelled().await;
        trigger.graceful_shutdown(Some(grace));
    });
    let served = serve_main(svc, listener, tls, handle).await;
    // Also when the listener failed: the background tasks must not outlive the service.
    stop.cancel();
    let finished = async {
        for task in background {
            let _ = task.await;
        }
    };
    if tokio::time::timeout(grace, finished).await.is_err() {
        tracing::warn!("background tasks still busy after the shutdown grace period; leaving them");
    }
    // Waits for connections still checked out; bounded in case a task left above holds one.
    if tokio::time::timeout(Duration::from_secs(5), store.close()).await.is_err() {
        tracing::warn!("database connections still in use at exit");
    }
    served
}

/// Every five minutes, forget what has expired (see `Store::purge_expired`), and expired sessions.
async fn purge_expired(svc: Services, stop: CancellationToken) {
    use tower_sessions::ExpiredDeletion;
    let retention = svc.settings.login_retention_secs;
    let sessions = svc.store.sessions();
    loop {
        if let Err(e) = svc.store.purge_expired(chrono::Utc::now().timestamp(), retention).await {
            tracing::error!(error = %e, "purging expired records failed");
        }
        // Expired end-user and admin sessions (and anonymous sign-in-page sessions).
        let _ = sessions.delete_expired().await;
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(300)) => {}
        }
    }
}

/// `/metrics` alone on its own listener, until `stop`.
async fn serve_metrics(svc: Services, listener: std::net::TcpListener, stop: CancellationToken) {
    let serve = async {
        listener.set_nonblocking(true)?;
        let listener = tokio::net::TcpListener::from_std(listener)?;
        axum::serve(listener, crate::web::routes::metrics::standalone(svc))
            .with_graceful_shutdown(stop.cancelled_owned())
            .await
    };
    if let Err(e) = serve.await {
        tracing::error!(error = %e, "the metrics listener failed");
    }
}

async fn serve_main(
    svc: Services,
    listener: std::net::TcpListener,
    tls: Tls,
    handle: axum_server::Handle<SocketAddr>,
) -> Result<(), AppError> {
    let data_dir = svc.settings.data_dir.clone();
    let host = url::Url::parse(&svc.settings.public_url).ok().and_then(|u| u.host_str().map(str::to_string));
    let limits = svc.settings.limits.clone();
    let app = router(svc).await?.into_make_service_with_connect_info::<SocketAddr>();
    listener.set_nonblocking(true)?;
    let max = crate::web::conn_limit::connection_budget(limits.max_connections);
    let gate = crate::web::conn_limit::ConnectionLimit::new(max, limits.max_connections_per_client);
    let configure = |builder: &mut hyper_util::server::conn::auto::Builder<hyper_util::rt::TokioExecutor>| {
        // Headers must arrive within the timeout — of the connection's start, or of the previous
        // response on a kept-alive connection (hyper restarts it while idle), so it is also the
        // idle keep-alive timeout.
        builder.http1().header_read_timeout(limits.header_read_timeout).max_buf_size(64 * 1024);
    };
    // HTTP/1.1 only (`http1_only` below, and ALPN): hyper's HTTP/2 server has no idle timeout (a
    // client that answers pings keeps a connection forever) and multiplies every per-connection
    // bound by its stream count. Sign-ins gain nothing from HTTP/2.
    match tls {
        Tls::Off => {
            let mut server = axum_server::from_tcp(listener)?.handle(handle).acceptor(gate).http1_only();
            configure(server.http_builder());
            server.serve(app).await?;
        }
        Tls::On { cert, key } => {
            let (cert, key) = match (cert, key) {
                (Some(c), Some(k)) => (c, k),
                _ => {
                    let mut names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
                    names.extend(host.filter(|h| h != "localhost" && h != "127.0.0.1"));
                    crate::crypto::tls::ensure_self_signed(&data_dir, &names)?
                }
            };
            let _ = rustls::crypto::ring::default_provider().install_default();
            let pem = axum_server::tls_rustls::RustlsConfig::from_pem_file(&cert, &key).await?;
            // Offer HTTP/1.1 only in ALPN (see `http1_only`).
            let mut inner = (*pem.get_inner()).clone();
            inner.alpn_protocols = vec![b"http/1.1".to_vec()];
            let config = axum_server::tls_rustls::RustlsConfig::from_config(std::sync::Arc::new(inner));
            let acceptor = axum_server::tls_rustls::RustlsAcceptor::new(config)
                .handshake_timeout(limits.header_read_timeout)
                .acceptor(gate);
            let mut server = axum_server::from_tcp(listener)?.handle(handle).acceptor(acceptor).http1_only();
            configure(server.http_builder());
            server.serve(app).await?;
        }
    }
    Ok(())
}
