//! A plain `http://` request sent to the HTTPS port gets a short plain-HTTP answer that names
//! the right address, instead of a TLS alert the browser shows as a broken page. Between the
//! connection gate and the TLS handshake, the first bytes are peeked (not consumed): a TLS
//! ClientHello starts with the handshake record type 0x16 and goes on to rustls untouched;
//! anything that starts like an HTTP request line gets the answer and is closed. The peek waits
//! no longer than the handshake would.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::time::Duration;

use axum_server::accept::Accept;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::conn_limit::{ConnectionLimit, Limited};

/// TLS record type of a handshake message (RFC 8446 §5.1): the first byte of a ClientHello.
const TLS_HANDSHAKE: u8 = 0x16;

#[derive(Clone)]
pub struct PlainHttpAnswer {
    inner: ConnectionLimit,
    https_url: String,
    wait: Duration,
}

impl PlainHttpAnswer {
    pub fn new(inner: ConnectionLimit, https_url: &str, wait: Duration) -> Self {
        PlainHttpAnswer { inner, https_url: https_url.trim_end_matches('/').to_string(), wait }
    }
}

/// Does this look like the start of an HTTP/1 request line (an upper-case method and a space)?
pub fn looks_like_http(first: &[u8]) -> bool {
    let method_len = first.iter().take_while(|b| b.is_ascii_uppercase()).count();
    (3..=7).contains(&method_len) && first.get(method_len) == Some(&b' ')
}

fn answer(https_url: &str) -> Vec<u8> {
    let body = format!(
        "This port speaks HTTPS only. Open {https_url}/ instead.\n\
         (Until a certificate from a public CA is configured, the browser warns about the self-signed one.)\n"
    );
    format!(
        "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n\
         Connection: close\r\nCache-Control: no-store\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

impl<S: Send + 'static> Accept<TcpStream, S> for PlainHttpAnswer {
    type Stream = Limited;
    type Service = S;
    type Future = Pin<Box<dyn Future<Output = io::Result<(Limited, S)>> + Send>>;

    fn accept(&self, stream: TcpStream, service: S) -> Self::Future {
        let admitted = self.inner.accept(stream, service);
        let (https_url, wait) = (self.https_url.clone(), self.wait);
        Box::pin(async move {
            let (mut stream, service) = admitted.await?;
            let mut first = [0u8; 8];
            let peeked = tokio::time::timeout(wait, stream.peek(&mut first)).await;
            let n = match peeked {
                Ok(Ok(n)) => n,
                Ok(Err(e)) => return Err(e),
                Err(_) => {
                    return Err(io::Error::new(io::ErrorKind::TimedOut, "nothing sent before the handshake timeout"))
                }
            };
            if n > 0 && first[0] != TLS_HANDSHAKE && looks_like_http(&first[..n]) {
                let _ = tokio::time::timeout(wait, stream.write_all(&answer(&https_url))).await;
                let _ = stream.shutdown().await;
                return Err(io::Error::new(io::ErrorKind::InvalidData, "plain HTTP on the HTTPS port (answered)"));
            }
            Ok((stream, service))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::looks_like_http;

    #[test]
    fn request_lines_and_client_hellos_are_told_apart() {
        for (first, http) in [
            (&b"GET / HT"[..], true),
            (b"POST /ap", true),
            (b"OPTIONS ", true),
            (b"HEAD /x ", true),
            (b"\x16\x03\x01\x02\x00\x01\x00\x01", false),
            (b"get / HT", false),
            (b"GE", false),
            (b"", false),
            (b"XXXXXXXX", false),
        ] {
            assert_eq!(looks_like_http(first), http, "{first:?}");
        }
    }
}
