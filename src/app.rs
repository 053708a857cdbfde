//! Wiring: open the store, build the router, serve over HTTPS (rustls) or plain HTTP. Used by
//! `spconnect serve`, `spconnect demo` and the integration tests alike.

use std::net::SocketAddr;
use std::path::PathBuf;

use axum::Router;
use thiserror::Error;

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
    let store = Store::open(data_dir.database_url(), &data_dir.database()).await?;
    Ok(Services::new(store, Settings::new(public_url, data_dir, secure_cookies)))
}

pub async fn router(svc: Services) -> Result<Router, AppError> {
    Ok(crate::web::router(svc).await?)
}

/// Serve until the process is stopped.
pub async fn serve(svc: Services, listener: std::net::TcpListener, tls: Tls) -> Result<(), AppError> {
    let purge = svc.store.clone();
    let retention = svc.settings.login_retention_secs;
    let sessions = svc.store.sessions();
    tokio::spawn(async move {
        use tower_sessions::ExpiredDeletion;
        loop {
            if let Err(e) = purge.purge_expired(chrono::Utc::now().timestamp(), retention).await {
                tracing::error!(error = %e, "purging expired records failed");
            }
            // Expired end-user and admin sessions (and anonymous sign-in-page sessions).
            let _ = sessions.delete_expired().await;
            tokio::time::sleep(std::time::Duration::from_secs(300)).await;
        }
    });
    if let Some(smtp) = svc.settings.smtp.clone() {
        tokio::spawn(crate::mailer::run(svc.store.clone(), smtp));
    }
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
            let mut server = axum_server::from_tcp(listener)?.acceptor(gate).http1_only();
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
            let mut server = axum_server::from_tcp(listener)?.acceptor(acceptor).http1_only();
            configure(server.http_builder());
            server.serve(app).await?;
        }
    }
    Ok(())
}
