//! The HTTP server: HTTPS (rustls) or plain HTTP, HTTP/1.1 only, with the connection gate, header
//! and handshake timeouts, graceful shutdown; and the optional separate `/metrics` listener.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use thiserror::Error;
use tokio_util::sync::CancellationToken;

use crate::services::Services;

#[derive(Debug, Error)]
pub enum ServeError {
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
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

/// `/metrics` alone on its own listener, until `stop`.
pub async fn serve_metrics(svc: Services, listener: std::net::TcpListener, stop: CancellationToken) {
    let serve = async {
        listener.set_nonblocking(true)?;
        let listener = tokio::net::TcpListener::from_std(listener)?;
        axum::serve(listener, super::routes::metrics::standalone(svc))
            .with_graceful_shutdown(stop.cancelled_owned())
            .await
    };
    if let Err(e) = serve.await {
        tracing::error!(error = %e, "the metrics listener failed");
    }
}

/// Serve the whole HTTP surface on `listener` until `stop`, then let requests in flight finish
/// for up to `grace`.
pub async fn serve(
    svc: Services,
    listener: std::net::TcpListener,
    tls: Tls,
    stop: CancellationToken,
    grace: Duration,
) -> Result<(), ServeError> {
    let handle = axum_server::Handle::<SocketAddr>::new();
    let trigger = handle.clone();
    tokio::spawn(async move {
        stop.cancelled().await;
        trigger.graceful_shutdown(Some(grace));
    });
    let data_dir = svc.settings.data_dir.clone();
    let host = url::Url::parse(&svc.settings.public_url).ok().and_then(|u| u.host_str().map(str::to_string));
    let limits = svc.settings.limits.clone();
    let public_url = svc.settings.public_url.clone();
    let app = super::router(svc).await?.into_make_service_with_connect_info::<SocketAddr>();
    listener.set_nonblocking(true)?;
    let max = super::conn_limit::connection_budget(limits.max_connections);
    let gate = super::conn_limit::ConnectionLimit::new(max, limits.max_connections_per_client);
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
            let https_url = if public_url.starts_with("https://") {
                public_url.clone()
            } else {
                format!("https://{}", public_url.trim_start_matches("http://"))
            };
            let gate = super::plain_on_tls::PlainHttpAnswer::new(gate, &https_url, limits.header_read_timeout);
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
