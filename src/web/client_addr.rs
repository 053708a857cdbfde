//! Who the client is, for the per-address bounds and the records: the TCP peer, or — when the
//! peer is a trusted reverse proxy (`--trusted-proxy`) — the address that proxy reports in
//! `X-Forwarded-For`. Only trusted hops are believed: the list is read from the right, and the
//! first address that is not a trusted proxy is the client. An untrusted peer's header is ignored
//! (anyone can send one).

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use ipnet::IpNet;

use super::AppState;

/// The client address of a request (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, svc: &AppState) -> Result<Self, Self::Rejection> {
        let peer =
            parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()).unwrap_or(IpAddr::from([0, 0, 0, 0]));
        Ok(ClientAddr(client_ip(peer, &parts.headers, &svc.settings.trusted_proxies)))
    }
}

/// At most this many hops of `X-Forwarded-For` are looked at; a longer chain is cut there.
const MAX_HOPS: usize = 16;

pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev().take(MAX_HOPS) {
        if !is_trusted(&client) {
            break;
        }
        match hop.parse::<IpAddr>() {
            Ok(ip) => client = ip,
            // Not an address: nothing further left of it can be believed.
            Err(_) => break,
        }
    }
    client
}

/// `--trusted-proxy` values: addresses or networks (`10.0.0.5`, `10.0.0.0/8`, `::1`).
pub fn parse_trusted(values: &[String]) -> Result<Vec<IpNet>, String> {
    values
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(|v| {
            v.parse::<IpNet>()
                .or_else(|_| v.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("trusted proxy {v:?} is not an address or a network (10.0.0.0/8)"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    #[test]
    fn only_trusted_hops_are_believed() {
        let trusted = parse_trusted(&["10.0.0.0/8".into(), "192.0.2.1".into()]).unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let cases: &[(&str, &[&str], &str)] = &[
            // Not from a proxy: the header is anyone's to forge.
            ("203.0.113.9", &["1.2.3.4"], "203.0.113.9"),
            // From the proxy: its report.
            ("10.0.0.5", &["198.51.100.7"], "198.51.100.7"),
            // A client-supplied entry left of the real one is not believed.
            ("10.0.0.5", &["6.6.6.6, 198.51.100.7"], "198.51.100.7"),
            // Two trusted proxies in a row, over two header lines.
            ("192.0.2.1", &["198.51.100.7", "10.1.2.3"], "198.51.100.7"),
            // Garbage stops the walk at the last trusted hop.
            ("10.0.0.5", &["198.51.100.7, junk"], "10.0.0.5"),
            // No header from the proxy: the proxy itself.
            ("10.0.0.5", &[], "10.0.0.5"),
            ("10.0.0.5", &["2001:db8::7"], "2001:db8::7"),
        ];
        for (peer, xff, expected) in cases {
            assert_eq!(client_ip(ip(peer), &headers(xff), &trusted), ip(expected), "{peer} {xff:?}");
        }
        assert_eq!(client_ip(ip("10.0.0.5"), &headers(&["198.51.100.7"]), &[]), ip("10.0.0.5"), "none trusted");
    }

    #[test]
    fn trusted_proxy_values_parse_or_say_why() {
        assert_eq!(parse_trusted(&["10.0.0.0/8, ::1".into()]).unwrap().len(), 2);
        assert!(parse_trusted(&["10.0.0.0/33".into()]).is_err());
        assert!(parse_trusted(&["proxy.example".into()]).unwrap_err().contains("proxy.example"));
    }
}
