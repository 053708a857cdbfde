//! Fetch an IdP's metadata from its URL, as safely as a server fetching an admin-given URL can:
//! the URL is the admin's, but whatever answers there is not ours to trust, and neither is the
//! DNS. Rules, applied to the first URL and to every redirect hop alike:
//!
//! - `https://` only; `http://` only when the admin allowed it explicitly (loopback tests).
//!   No other scheme, no user name or password in the URL.
//! - The addresses are checked, not the host name: a literal IP host (in any spelling the URL
//!   standard accepts: `2130706433`, `0x7f.1`, `[::ffff:127.0.0.1]`) is checked as written; a
//!   name is resolved by our own resolver, which refuses the whole name if any address is
//!   loopback, private, shared (CGNAT), unique-local or reserved (unless the admin allowed
//!   private addresses) or link-local, unspecified, multicast or broadcast (never: cloud
//!   metadata services answer on link-local), and hands the HTTP client exactly
//!   the addresses it checked, so a second DNS answer (rebinding) is never used.
//! - At most [`FetchPolicy::max_redirects`] redirects, followed by hand.
//! - No proxy (an environment `HTTPS_PROXY` would connect elsewhere than the address checked),
//!   no compression (the client sends no `Accept-Encoding` and decodes none), the body streamed
//!   and cut off at [`FetchPolicy::max_bytes`], a connect timeout and a total timeout.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use thiserror::Error;
use url::{Host, Url};

/// How a metadata URL may be fetched.
#[derive(Debug, Clone)]
pub struct FetchPolicy {
    /// Accept `http://` (every hop). For loopback tests only.
    pub allow_http: bool,
    /// Accept loopback, private and link-local addresses. For loopback tests and IdPs inside
    /// the admin's own network only.
    pub allow_private: bool,
    pub max_bytes: usize,
    pub max_redirects: usize,
    pub connect_timeout: Duration,
    /// For the whole fetch, redirects included.
    pub total_timeout: Duration,
}

/// Largest metadata document fetched (Entra's is ~60 KB; aggregates are refused anyway).
pub const MAX_METADATA_BYTES: usize = 1024 * 1024;

impl Default for FetchPolicy {
    fn default() -> Self {
        FetchPolicy {
            allow_http: false,
            allow_private: false,
            max_bytes: MAX_METADATA_BYTES,
            max_redirects: 3,
            connect_timeout: Duration::from_secs(5),
            total_timeout: Duration::from_secs(10),
        }
    }
}

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum FetchError {
    #[error("{0:?} is not a URL")]
    BadUrl(String),
    #[error("{0}")]
    Scheme(String),
    #[error("{0}")]
    Address(String),
    #[error("{0}")]
    Redirect(String),
    #[error("the metadata is larger than {0} bytes")]
    TooLarge(usize),
    #[error("the IdP did not answer within {0} seconds")]
    Timeout(u64),
    #[error("the IdP answered HTTP {0}")]
    Status(u16),
    #[error("the metadata could not be fetched: {0}")]
    Network(String),
}

/// Why an address may not be fetched from, or `None` when it may.
pub fn address_refusal(ip: IpAddr, allow_private: bool) -> Option<&'static str> {
    let ip = canonical(ip);
    // Never reachable or meaningful as a server, whatever the admin allows.
    let never = match ip {
        IpAddr::V4(v4) => v4.is_unspecified() || v4.is_multicast() || v4.is_broadcast() || v4.octets()[0] == 0,
        IpAddr::V6(v6) => v6.is_unspecified() || v6.is_multicast(),
    };
    if never {
        return Some("an unspecified, multicast or broadcast address");
    }
    // Link-local is where cloud metadata services answer (169.254.169.254, fd00:ec2::254 is
    // unique-local); no IdP lives there, so not even --allow-private opens it.
    let link_local = match ip {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => v6.segments()[0] & 0xffc0 == 0xfe80,
    };
    if link_local {
        return Some("a link-local address (cloud metadata services live there)");
    }
    if allow_private {
        return None;
    }
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            if v4.is_loopback() {
                Some("a loopback address")
            } else if v4.is_private()
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0 && v4.octets()[2] == 0)
            {
                Some("a private address")
            } else if a >= 240 || v4.is_documentation() || (a == 198 && (b == 18 || b == 19)) {
                Some("a reserved address")
            } else {
                None
            }
        }
        IpAddr::V6(v6) => {
            let seg = v6.segments();
            if v6.is_loopback() {
                Some("a loopback address")
            } else if seg[0] & 0xfe00 == 0xfc00 || seg[0] & 0xffc0 == 0xfec0 {
                Some("a private (unique-local) address")
            } else if seg[0] == 0x2001 && seg[1] == 0x0db8 {
                Some("a reserved address")
            } else {
                None
            }
        }
    }
}

/// IPv4 addresses written as IPv6 (mapped `::ffff:a.b.c.d`, compatible `::a.b.c.d`, NAT64
/// `64:ff9b::a.b.c.d`, 6to4 `2002:AABB:CCDD::`) are judged as the IPv4 address they reach.
fn canonical(ip: IpAddr) -> IpAddr {
    let IpAddr::V6(v6) = ip else { return ip };
    if let Some(v4) = v6.to_ipv4_mapped() {
        return IpAddr::V4(v4);
    }
    let seg = v6.segments();
    let embedded = |hi: u16, lo: u16| IpAddr::V4(Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8));
    if seg[..6] == [0, 0, 0, 0, 0, 0] && !v6.is_loopback() && !v6.is_unspecified() {
        return embedded(seg[6], seg[7]);
    }
    // SIIT IPv4-translated (::ffff:0:a.b.c.d, RFC 2765).
    if seg[..6] == [0, 0, 0, 0, 0xffff, 0] {
        return embedded(seg[6], seg[7]);
    }
    // NAT64: the well-known prefix 64:ff9b::/96 and the local-use 64:ff9b:1::/48 (RFC 8215),
    // whose last 32 bits name the IPv4 host a translator would reach.
    if seg[0] == 0x0064 && seg[1] == 0xff9b && (seg[2..6] == [0, 0, 0, 0] || seg[2] == 1) {
        return embedded(seg[6], seg[7]);
    }
    if seg[0] == 0x2002 {
        return embedded(seg[1], seg[2]);
    }
    IpAddr::V6(Ipv6Addr::from(seg))
}

/// The checks on one URL (the first, or a redirect's target) that need no DNS.
pub fn check_url(url: &Url, policy: &FetchPolicy) -> Result<(), FetchError> {
    match url.scheme() {
        "https" => {}
        "http" if policy.allow_http => {}
        "http" => {
            return Err(FetchError::Scheme(format!(
                "{} is plain http://; metadata is fetched over https:// only",
                crate::logsafe::clip_to(url.as_str(), 200)
            )))
        }
        other => {
            return Err(FetchError::Scheme(format!(
                "the {:?} scheme is not fetched; metadata is fetched over https:// only",
                crate::logsafe::clip_to(other, 20)
            )))
        }
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(FetchError::Scheme(
            "a URL with a user name or password is not fetched (the credentials would go to whoever answers)".into(),
        ));
    }
    let ip = match url.host() {
        None => return Err(FetchError::BadUrl(crate::logsafe::clip_to(url.as_str(), 200))),
        Some(Host::Domain(_)) => return Ok(()),
        Some(Host::Ipv4(v4)) => IpAddr::V4(v4),
        Some(Host::Ipv6(v6)) => IpAddr::V6(v6),
    };
    match address_refusal(ip, policy.allow_private) {
        Some(why) => Err(FetchError::Address(format!("{ip} is {why}; it is not fetched from"))),
        None => Ok(()),
    }
}

/// Resolves host names for the HTTP client, refusing names with a forbidden address and
/// returning exactly the addresses checked. The refusal is kept for the error message.
struct CheckedResolver {
    allow_private: bool,
    refusal: Arc<Mutex<Option<String>>>,
}

impl reqwest::dns::Resolve for CheckedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_private = self.allow_private;
        let refusal = self.refusal.clone();
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if addrs.is_empty() {
                return Err(format!("{host} has no address").into());
            }
            for a in &addrs {
                if let Some(why) = address_refusal(a.ip(), allow_private) {
                    let message = format!(
                        "{} resolves to {} which is {why}; it is not fetched from",
                        crate::logsafe::clip_to(&host, 100),
                        a.ip()
                    );
                    if let Ok(mut r) = refusal.lock() {
                        *r = Some(message.clone());
                    }
                    return Err(message.into());
                }
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The body at `url`, following at most `policy.max_redirects` redirects, every hop checked.
pub async fn fetch(url: &str, policy: &FetchPolicy) -> Result<Vec<u8>, FetchError> {
    let total = policy.total_timeout;
    match tokio::time::timeout(total, fetch_inner(url, policy)).await {
        Ok(r) => r,
        Err(_) => Err(FetchError::Timeout(total.as_secs())),
    }
}

async fn fetch_inner(url: &str, policy: &FetchPolicy) -> Result<Vec<u8>, FetchError> {
    let mut current = Url::parse(url.trim()).map_err(|_| FetchError::BadUrl(crate::logsafe::clip_to(url, 200)))?;
    let refusal = Arc::new(Mutex::new(None));
    let resolver = CheckedResolver { allow_private: policy.allow_private, refusal: refusal.clone() };
    let client = reqwest::Client::builder()
        .use_rustls_tls()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(policy.connect_timeout)
        .timeout(policy.total_timeout)
        .dns_resolver(Arc::new(resolver))
        .user_agent(concat!("spconnect/", env!("CARGO_PKG_VERSION"), " (IdP metadata refresh)"))
        .build()
        .map_err(|e| FetchError::Network(e.to_string()))?;
    let mut hops = 0usize;
    loop {
        check_url(&current, policy)?;
        let sent = client
            .get(current.clone())
            .header("Accept", "application/samlmetadata+xml, application/xml, text/xml")
            .send()
            .await;
        let mut res = match sent {
            Ok(r) => r,
            Err(e) => {
                if let Some(message) = refusal.lock().ok().and_then(|r| r.clone()) {
                    return Err(FetchError::Address(message));
                }
                if e.is_timeout() {
                    return Err(FetchError::Timeout(policy.total_timeout.as_secs()));
                }
                return Err(FetchError::Network(network_message(&e)));
            }
        };
        let status = res.status();
        if status.is_redirection() {
            hops += 1;
            if hops > policy.max_redirects {
                return Err(FetchError::Redirect(format!("more than {} redirects", policy.max_redirects)));
            }
            let location = res
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .ok_or_else(|| FetchError::Redirect("a redirect without a Location".into()))?;
            let next = current.join(location).map_err(|_| {
                FetchError::Redirect(format!("a redirect to {:?}", crate::logsafe::clip_to(location, 200)))
            })?;
            check_url(&next, policy).map_err(|e| FetchError::Redirect(format!("a redirect was refused: {e}")))?;
            current = next;
            continue;
        }
        if !status.is_success() {
            return Err(FetchError::Status(status.as_u16()));
        }
        if res.content_length().is_some_and(|l| l > policy.max_bytes as u64) {
            return Err(FetchError::TooLarge(policy.max_bytes));
        }
        let mut body = Vec::new();
        loop {
            match res.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > policy.max_bytes {
                        return Err(FetchError::TooLarge(policy.max_bytes));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => return Ok(body),
                Err(e) if e.is_timeout() => return Err(FetchError::Timeout(policy.total_timeout.as_secs())),
                Err(e) => return Err(FetchError::Network(network_message(&e))),
            }
        }
    }
}

/// The error and its causes on one line. reqwest's own message names the URL, which the admin
/// already has; the causes say what went wrong (refused connection, TLS, reset).
fn network_message(e: &reqwest::Error) -> String {
    let what = if e.is_connect() {
        "cannot connect"
    } else if e.is_body() || e.is_decode() {
        "the answer broke off"
    } else {
        "the request failed"
    };
    let mut parts = vec![what.to_string()];
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        parts.push(s.to_string());
        source = s.source();
    }
    parts.dedup();
    crate::logsafe::clip_to(&parts.join(": "), 300)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn addresses_refused_unless_private_is_allowed() {
        for (ip, public) in [
            ("93.184.216.34", true),
            ("2606:4700::1111", true),
            ("127.0.0.1", false),
            ("127.8.9.10", false),
            ("10.1.2.3", false),
            ("172.16.0.1", false),
            ("192.168.1.1", false),
            ("169.254.169.254", false),
            ("100.64.0.1", false),
            ("198.18.0.1", false),
            ("240.0.0.1", false),
            ("::1", false),
            ("fe80::1", false),
            ("fd00::1", false),
            ("::ffff:127.0.0.1", false),
            ("::ffff:169.254.169.254", false),
            ("::ffff:93.184.216.34", true),
            ("::127.0.0.1", false),
            ("64:ff9b::a9fe:a9fe", false),
            ("::ffff:0:127.0.0.1", false),
            ("::ffff:0:a9fe:a9fe", false),
            ("64:ff9b:1::7f00:1", false),
            ("64:ff9b:1:2:3:4:a9fe:a9fe", false),
            ("2002:7f00:1::", false),
            ("2002:5db8:d822::", true),
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert_eq!(address_refusal(ip, false).is_none(), public, "{ip}");
        }
        for ip in ["127.0.0.1", "10.0.0.1", "192.168.0.10", "fd00::1", "::1", "::ffff:10.0.0.1"] {
            assert_eq!(address_refusal(ip.parse().unwrap(), true), None, "{ip} with allow_private");
        }
        for ip in [
            "0.0.0.0",
            "0.1.2.3",
            "255.255.255.255",
            "224.0.0.1",
            "::",
            "ff02::1",
            "::ffff:0.0.0.0",
            "169.254.169.254",
            "::ffff:169.254.169.254",
            "fe80::1",
            "::ffff:0:169.254.169.254",
            "64:ff9b:1::a9fe:a9fe",
        ] {
            assert!(address_refusal(ip.parse().unwrap(), true).is_some(), "{ip} is never fetched from");
        }
    }

    #[test]
    fn urls_are_checked_as_the_url_standard_reads_them() {
        let strict = FetchPolicy::default();
        let http = FetchPolicy { allow_http: true, ..FetchPolicy::default() };
        for (url, policy, ok) in [
            ("https://idp.example.net/metadata", &strict, true),
            ("https://93.184.216.34/m", &strict, true),
            ("http://idp.example.net/metadata", &strict, false),
            ("http://idp.example.net/metadata", &http, true),
            ("file:///etc/passwd", &http, false),
            ("ftp://idp.example.net/m", &http, false),
            ("gopher://idp.example.net/m", &http, false),
            ("https://127.0.0.1/m", &strict, false),
            ("https://2130706433/m", &strict, false),
            ("https://0x7f.1/m", &strict, false),
            ("https://0177.0.0.1/m", &strict, false),
            ("https://017700000001/m", &strict, false),
            ("https://[::1]/m", &strict, false),
            ("https://[::ffff:127.0.0.1]/m", &strict, false),
            ("https://[::ffff:a9fe:a9fe]/m", &strict, false),
            ("https://169.254.169.254/latest/meta-data/", &strict, false),
            ("https://user:pw@idp.example.net/m", &strict, false),
        ] {
            let parsed = Url::parse(url).unwrap();
            assert_eq!(check_url(&parsed, policy).is_ok(), ok, "{url}: {:?}", check_url(&parsed, policy));
        }
    }
}
