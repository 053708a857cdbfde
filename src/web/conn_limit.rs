//! Bounds on connections, applied at accept (before TLS and HTTP): so many at once in all, and so
//! many from one client address. Over a bound the connection is closed at once; a slow client
//! (half-sent headers, a trickled body) holds its slot only until the header or body timeout
//! closes it, and a single address cannot take every slot.

use std::collections::HashMap;
use std::future::{ready, Ready};
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use axum_server::accept::Accept;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

#[derive(Clone)]
pub struct ConnectionLimit {
    total: Arc<Semaphore>,
    per_client: Arc<Mutex<HashMap<IpAddr, usize>>>,
    max_per_client: usize,
}

impl ConnectionLimit {
    pub fn new(max_total: usize, max_per_client: usize) -> Self {
        ConnectionLimit {
            total: Arc::new(Semaphore::new(max_total.max(1))),
            per_client: Arc::new(Mutex::new(HashMap::new())),
            max_per_client: max_per_client.max(1),
        }
    }

    fn admit(&self, ip: IpAddr) -> io::Result<Slot> {
        let refuse = |why: &str| io::Error::new(io::ErrorKind::ConnectionRefused, why.to_string());
        let permit = self.total.clone().try_acquire_owned().map_err(|_| refuse("connection limit reached"))?;
        let mut map = self.per_client.lock().map_err(|_| refuse("connection table poisoned"))?;
        let n = map.entry(ip).or_insert(0);
        if *n >= self.max_per_client {
            return Err(refuse("per-client connection limit reached"));
        }
        *n += 1;
        Ok(Slot { _permit: permit, ip, table: self.per_client.clone() })
    }
}

/// One admitted connection; frees its place when the connection ends.
struct Slot {
    _permit: OwnedSemaphorePermit,
    ip: IpAddr,
    table: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Ok(mut map) = self.table.lock() {
            if let Some(n) = map.get_mut(&self.ip) {
                *n -= 1;
                if *n == 0 {
                    map.remove(&self.ip);
                }
            }
        }
    }
}

/// A TCP stream that holds its slot.
pub struct Limited {
    inner: TcpStream,
    _slot: Slot,
}

impl Limited {
    /// The first bytes the client sent, left in place for whoever reads next.
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.peek(buf).await
    }
}

impl<S> Accept<TcpStream, S> for ConnectionLimit {
    type Stream = Limited;
    type Service = S;
    type Future = Ready<io::Result<(Limited, S)>>;

    fn accept(&self, stream: TcpStream, service: S) -> Self::Future {
        let admitted = stream.peer_addr().and_then(|peer| self.admit(peer.ip()));
        ready(match admitted {
            Ok(slot) => {
                let _ = stream.set_nodelay(true);
                Ok((Limited { inner: stream, _slot: slot }, service))
            }
            Err(e) => {
                tracing::warn!(error = %e, "connection refused at accept");
                Err(e)
            }
        })
    }
}

impl AsyncRead for Limited {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Limited {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// Raise the open-file limit to its hard maximum and return the usable number of connections
/// under it (leaving room for the database, logs and key files).
pub fn connection_budget(wanted: usize) -> usize {
    const RESERVED: u64 = 64;
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return wanted;
        }
        if lim.rlim_cur < lim.rlim_max {
            let raised = libc::rlimit { rlim_cur: lim.rlim_max, rlim_max: lim.rlim_max };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                lim.rlim_cur = lim.rlim_max;
            }
        }
    }
    let usable = lim.rlim_cur.saturating_sub(RESERVED).max(16);
    wanted.min(usize::try_from(usable).unwrap_or(usize::MAX))
}
