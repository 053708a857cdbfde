//! Wiring: open the store, start the background tasks, serve (the HTTP server itself is
//! `web::server`), shut down in order. Used by `spconnect serve`, `spconnect demo` and the
//! integration tests alike.

use std::sync::Arc;
use std::time::Duration;

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
    #[error("{0}")]
    Serve(#[from] crate::web::server::ServeError),
}

pub use crate::web::server::Tls;

pub async fn services(data_dir: DataDir, public_url: &str, secure_cookies: bool) -> Result<Services, AppError> {
    services_with(Settings::new(public_url, data_dir, secure_cookies)).await
}

/// As [`services`], with settings already adjusted (limits, SMTP).
pub async fn services_with(settings: Settings) -> Result<Services, AppError> {
    let store = Store::open(settings.data_dir.database_url(), &settings.data_dir.database()).await?;
    Ok(Services::new(store, settings))
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
    let mut background = vec![
        tokio::spawn(purge_expired(svc.clone(), stop.clone())),
        tokio::spawn(certificate_alerts(svc.clone(), stop.clone())),
    ];
    if let Some(smtp) = svc.settings.smtp.clone() {
        background.push(tokio::spawn(crate::mailer::run(svc.store.clone(), smtp, stop.clone())));
    }
    if let Some(listener) = metrics {
        background.push(tokio::spawn(crate::web::server::serve_metrics(svc.clone(), listener, stop.clone())));
    }
    let store = svc.store.clone();
    let served = crate::web::server::serve(svc, listener, tls, stop.clone(), grace).await.map_err(AppError::from);
    // Also when the listener failed: the background tasks must not outlive the service.
    stop.cancel();
    let finished = async {
        for task in background {
            let _ = task.await;
        }
    };
    // The main listener already had `grace`; what is left gets a short, fixed bound so the whole
    // shutdown stays within grace + 4 s (a slow client of the metrics listener cannot stretch it).
    if tokio::time::timeout(Duration::from_secs(2), finished).await.is_err() {
        tracing::warn!("background tasks still busy after the shutdown grace period; leaving them");
    }
    // Waits for connections still checked out; bounded in case a task left above holds one.
    if tokio::time::timeout(Duration::from_secs(2), store.close()).await.is_err() {
        tracing::warn!("database connections still in use at exit");
    }
    served
}

/// At start and then every hour: warn of certificates close to expiry (see `ops::certs`).
async fn certificate_alerts(svc: Services, stop: CancellationToken) {
    loop {
        if let Err(e) = crate::ops::certs::alert(&svc, chrono::Utc::now().timestamp()).await {
            tracing::error!(error = %e, "certificate expiry check failed");
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(3600)) => {}
        }
    }
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
