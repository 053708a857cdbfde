//! Failed SCIM bearer tokens, counted per client address (issue 8, item 13).
//!
//! After `max_failures` refused tokens from one address within `window`, further requests from
//! it are answered 429 without looking at the token or the database until the window ends.
//! Tokens are 256-bit random, so this is not what keeps them secret; it keeps a token-guessing
//! client from costing a database lookup per request and from filling the log.
//!
//! The count is kept in this process only, in a map bounded to `capacity` addresses (expired
//! entries go first, then the oldest window). Several instances behind one database each keep
//! their own count. IPv6 clients are counted per /64, the block one host usually controls.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const MAX_FAILURES: u32 = 10;
pub const WINDOW: Duration = Duration::from_secs(5 * 60);
pub const CAPACITY: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Entry {
    since: Instant,
    failures: u32,
}

#[derive(Debug)]
pub struct TokenThrottle {
    max_failures: u32,
    window: Duration,
    capacity: usize,
    seen: Mutex<HashMap<IpAddr, Entry>>,
}

impl Default for TokenThrottle {
    fn default() -> Self {
        TokenThrottle::new(MAX_FAILURES, WINDOW, CAPACITY)
    }
}

/// What `record_failure` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counted {
    /// Still under the limit.
    Counted,
    /// This failure reached the limit: the address is blocked from now on (log it once).
    NowBlocked,
}

/// IPv4 as is (IPv4-mapped IPv6 too); IPv6 by its /64.
fn key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut seg = v6.segments();
                seg[4..].iter_mut().for_each(|s| *s = 0);
                IpAddr::V6(seg.into())
            }
        },
    }
}

impl TokenThrottle {
    pub fn new(max_failures: u32, window: Duration, capacity: usize) -> TokenThrottle {
        TokenThrottle { max_failures, window, capacity: capacity.max(1), seen: Mutex::new(HashMap::new()) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, Entry>> {
        // A panic while holding this lock cannot leave the map inconsistent: keep using it.
        self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// `Some(seconds until the window ends)` when `ip` is blocked.
    pub fn blocked(&self, ip: IpAddr, now: Instant) -> Option<u64> {
        let seen = self.lock();
        let e = seen.get(&key(ip))?;
        let elapsed = now.saturating_duration_since(e.since);
        (e.failures >= self.max_failures && elapsed < self.window).then(|| (self.window - elapsed).as_secs().max(1))
    }

    /// Count one refused token from `ip`.
    pub fn record_failure(&self, ip: IpAddr, now: Instant) -> Counted {
        let k = key(ip);
        let mut seen = self.lock();
        if !seen.contains_key(&k) && seen.len() >= self.capacity {
            let window = self.window;
            seen.retain(|_, e| now.saturating_duration_since(e.since) < window);
            if seen.len() >= self.capacity {
                if let Some(oldest) = seen.iter().min_by_key(|(_, e)| e.since).map(|(k, _)| *k) {
                    seen.remove(&oldest);
                }
            }
        }
        let e = seen.entry(k).or_insert(Entry { since: now, failures: 0 });
        if now.saturating_duration_since(e.since) >= self.window {
            *e = Entry { since: now, failures: 0 };
        }
        e.failures = e.failures.saturating_add(1);
        if e.failures == self.max_failures {
            Counted::NowBlocked
        } else {
            Counted::Counted
        }
    }

    /// Addresses tracked right now (for tests and the bound).
    pub fn tracked(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn blocks_after_the_limit_until_the_window_ends() {
        let t = TokenThrottle::new(3, Duration::from_secs(60), 100);
        let t0 = Instant::now();
        assert_eq!(t.record_failure(ip("192.0.2.1"), t0), Counted::Counted);
        assert_eq!(t.record_failure(ip("192.0.2.1"), t0), Counted::Counted);
        assert_eq!(t.blocked(ip("192.0.2.1"), t0), None);
        assert_eq!(t.record_failure(ip("192.0.2.1"), t0), Counted::NowBlocked);
        assert_eq!(t.blocked(ip("192.0.2.1"), t0 + Duration::from_secs(20)), Some(40));
        assert_eq!(t.blocked(ip("192.0.2.2"), t0), None, "another address is not affected");
        assert_eq!(t.blocked(ip("192.0.2.1"), t0 + Duration::from_secs(60)), None, "the window ended");
        assert_eq!(t.record_failure(ip("192.0.2.1"), t0 + Duration::from_secs(61)), Counted::Counted);
    }

    #[test]
    fn ipv6_counts_per_64_and_mapped_ipv4_as_ipv4() {
        let t = TokenThrottle::new(2, Duration::from_secs(60), 100);
        let now = Instant::now();
        t.record_failure(ip("2001:db8:1:2::1"), now);
        t.record_failure(ip("2001:db8:1:2:ffff::9"), now);
        assert!(t.blocked(ip("2001:db8:1:2::77"), now).is_some());
        assert!(t.blocked(ip("2001:db8:1:3::1"), now).is_none());
        t.record_failure(ip("::ffff:198.51.100.7"), now);
        t.record_failure(ip("198.51.100.7"), now);
        assert!(t.blocked(ip("198.51.100.7"), now).is_some());
    }

    #[test]
    fn memory_is_bounded_and_the_oldest_goes_first() {
        let t = TokenThrottle::new(1, Duration::from_secs(60), 50);
        let t0 = Instant::now();
        t.record_failure(ip("203.0.113.1"), t0);
        for i in 0..1000u32 {
            let a = IpAddr::V4((0x0a00_0000 + i).into());
            t.record_failure(a, t0 + Duration::from_millis(u64::from(i) + 1));
            assert!(t.tracked() <= 50);
        }
        assert_eq!(t.tracked(), 50);
        assert!(t.blocked(ip("203.0.113.1"), t0).is_none(), "the oldest entry was evicted");
        assert!(t.blocked(IpAddr::V4((0x0a00_0000 + 999).into()), t0 + Duration::from_secs(2)).is_some());
    }
}
