//! In-memory rate limits (moka for bounded storage, the app clock for time).
//!
//! Two rules from API.md:
//! - backoff keys (`registration:`, `verification:`, `recovery:`): each
//!   attempt increments a counter and resets its lifetime to
//!   `min(30 s × 2^(n−1), 1 h)`; attempts `n ≤ 2` pass, later ones are refused
//!   with `Retry-After` = that lifetime. Refused attempts count too.
//! - the guess guard (`login:<email>`, `password:<user id>`): at most 5
//!   guesses per 15-minute window. A guess is *reserved* before the password
//!   is verified, so however many arrive at once, at most 5 are ever
//!   evaluated in a window; a failed guess keeps its slot, a refused one
//!   (429) takes none and does not extend the window. A success resets the
//!   count, unless another guess for the same key overlapped it in time (was
//!   in flight when it started, or started before it finished): then the
//!   success keeps its slot like a failure, so a burst cannot reopen the
//!   budget by slipping the right password in among its guesses.

use std::net::IpAddr;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use moka::sync::Cache;

use crate::clock::SharedClock;

const FREE_ATTEMPTS: u32 = 2;
const BASE_SECS: i64 = 30;
const CAP_SECS: i64 = 3600;
const LOGIN_WINDOW_SECS: i64 = 15 * 60;
const LOGIN_MAX_FAILURES: u32 = 5;

#[derive(Clone, Copy)]
struct Entry {
    count: u32,
    expires: DateTime<Utc>,
}

/// The guess guard's state of one key.
#[derive(Clone, Copy)]
struct Guesses {
    /// Guesses evaluated in this window that keep their slot.
    spent: u32,
    /// Guesses reserved and not yet resolved.
    pending: u32,
    /// Reservations ever made on this entry (to see overlaps).
    reserved: u64,
    expires: DateTime<Utc>,
}

/// A reserved guess; resolve it with [`RateLimiter::guess_failed`] or
/// [`RateLimiter::guess_succeeded`]. Dropped unresolved (the request was
/// cancelled) it is counted as failed.
#[must_use]
pub struct Guess<'a> {
    limiter: &'a RateLimiter,
    key: String,
    /// Other guesses were in flight when this one was reserved.
    overlapped: bool,
    /// `reserved` of the entry right after this reservation.
    seq: u64,
    resolved: bool,
}

impl Guess<'_> {
    /// The password was wrong: the slot stays spent until the window ends.
    pub fn failed(mut self) {
        self.resolved = true;
        self.limiter.resolve(&self.key, None);
    }

    /// The password was right: the count resets unless another guess
    /// overlapped this one.
    pub fn succeeded(mut self) {
        self.resolved = true;
        self.limiter
            .resolve(&self.key, Some((self.overlapped, self.seq)));
    }
}

impl Drop for Guess<'_> {
    fn drop(&mut self) {
        if !self.resolved {
            self.limiter.resolve(&self.key, None);
        }
    }
}

pub struct RateLimiter {
    clock: SharedClock,
    backoff: Cache<String, Entry>,
    guesses: Cache<String, Guesses>,
    /// Fixed windows: (start, count) per key.
    windows: Cache<String, (DateTime<Utc>, u32)>,
    /// Serialises the guess guard's read-modify-write per process (short).
    guess_lock: std::sync::Mutex<()>,
}

/// `Err(retry_after_secs)` when refused.
pub type Verdict = Result<(), u64>;

fn secs_until(t: DateTime<Utc>, now: DateTime<Utc>) -> u64 {
    let ms = (t - now).num_milliseconds().max(0);
    ((ms + 999) / 1000).max(1) as u64
}

fn cache_windows() -> Cache<String, (DateTime<Utc>, u32)> {
    Cache::builder()
        .max_capacity(100_000)
        .time_to_idle(StdDuration::from_secs(2 * CAP_SECS as u64))
        .build()
}

impl RateLimiter {
    pub fn new(clock: SharedClock) -> Self {
        // Real-time idle expiry only bounds memory; the rules use the clock.
        let cache = || {
            Cache::builder()
                .max_capacity(100_000)
                .time_to_idle(StdDuration::from_secs(2 * CAP_SECS as u64))
                .build()
        };
        Self {
            clock,
            backoff: cache(),
            guesses: Cache::builder()
                .max_capacity(100_000)
                .time_to_idle(StdDuration::from_secs(2 * CAP_SECS as u64))
                .build(),
            windows: cache_windows(),
            guess_lock: Default::default(),
        }
    }

    /// Counts one action on `key` in a fixed window of `period` starting
    /// at the first action; refuses (with the seconds left) once `max`
    /// actions have been counted in the window. Refusals are not counted.
    pub fn window(&self, key: &str, max: u32, period: Duration) -> Verdict {
        let now = self.clock.now();
        let mut refused = None;
        self.windows
            .entry(key.to_lowercase())
            .and_upsert_with(|old| match old.map(|e| e.into_value()) {
                Some((start, count)) if start + period > now => {
                    if count >= max {
                        refused = Some(secs_until(start + period, now));
                        (start, count)
                    } else {
                        (start, count + 1)
                    }
                }
                _ => (now, 1),
            });
        match refused {
            Some(secs) => Err(secs),
            None => Ok(()),
        }
    }

    /// Counts an attempt on a backoff key and says whether it may proceed.
    pub fn attempt(&self, key: &str) -> Verdict {
        let key = key.to_lowercase();
        let now = self.clock.now();
        let entry = self.backoff.entry(key).and_upsert_with(|old| {
            let count = match old.map(|e| e.into_value()) {
                Some(e) if e.expires > now => e.count + 1,
                _ => 1,
            };
            let exp = (BASE_SECS << (count - 1).min(10)).min(CAP_SECS);
            Entry {
                count,
                expires: now + Duration::seconds(exp),
            }
        });
        let e = entry.into_value();
        if e.count <= FREE_ATTEMPTS {
            Ok(())
        } else {
            Err(secs_until(e.expires, now))
        }
    }

    /// Reserves one guess on a guess-guard key (`login:<email>`,
    /// `password:<user id>`), or refuses it with the seconds left in the
    /// window.
    pub fn reserve_guess(&self, key: &str) -> Result<Guess<'_>, u64> {
        let key = key.to_lowercase();
        let now = self.clock.now();
        let _serial = self.guess_lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut e = self.guesses.get(&key).unwrap_or(Guesses {
            spent: 0,
            pending: 0,
            reserved: 0,
            expires: now,
        });
        if e.expires <= now {
            e.spent = 0;
            e.expires = now + Duration::seconds(LOGIN_WINDOW_SECS);
        }
        if e.spent + e.pending >= LOGIN_MAX_FAILURES {
            return Err(secs_until(e.expires, now));
        }
        let overlapped = e.pending > 0;
        e.pending += 1;
        e.reserved += 1;
        self.guesses.insert(key.clone(), e);
        Ok(Guess {
            limiter: self,
            key,
            overlapped,
            seq: e.reserved,
            resolved: false,
        })
    }

    /// Resolves a reserved guess: `None` failed, `Some((overlapped at
    /// start, sequence number))` succeeded.
    fn resolve(&self, key: &str, success: Option<(bool, u64)>) {
        let _serial = self.guess_lock.lock().unwrap_or_else(|p| p.into_inner());
        let Some(mut e) = self.guesses.get(key) else {
            return;
        };
        e.pending = e.pending.saturating_sub(1);
        match success {
            Some((overlapped, seq)) if !overlapped && seq == e.reserved && e.pending == 0 => {
                self.guesses.invalidate(key);
                return;
            }
            _ => e.spent += 1,
        }
        self.guesses.insert(key.to_string(), e);
    }
}

/// An IP network from `server.trusted_proxies`: an address or a CIDR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    /// Parses `10.0.0.1`, `10.0.0.0/8`, `::1` or `fd00::/8`.
    pub fn parse(text: &str) -> Option<IpNet> {
        let text = text.trim();
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a.parse::<IpAddr>().ok()?, Some(p.parse::<u8>().ok()?)),
            None => (text.parse::<IpAddr>().ok()?, None),
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(IpNet { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX.checked_shl(32 - self.prefix as u32).unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX.checked_shl(128 - self.prefix as u32).unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// The client's address: the socket peer, or, when the peer is a trusted
/// proxy, the right-most `X-Forwarded-For` entry that is not itself a
/// trusted proxy (entries to its left are the client's own claims).
pub fn client_addr(peer: IpAddr, forwarded_for: Option<&str>, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let Some(list) = forwarded_for else {
        return peer;
    };
    let mut client = peer;
    for part in list.rsplit(',') {
        let Ok(ip) = part.trim().parse::<IpAddr>() else {
            break;
        };
        client = ip;
        if !is_trusted(ip) {
            break;
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    #[test]
    fn backoff_sequence_matches_the_contract() {
        let clock = ManualClock::new(Utc::now());
        let rl = RateLimiter::new(clock.clone());
        assert_eq!(rl.attempt("registration:A@x.io"), Ok(()));
        assert_eq!(rl.attempt("registration:a@x.io"), Ok(()));
        assert_eq!(rl.attempt("registration:a@x.io"), Err(120));
        assert_eq!(rl.attempt("registration:a@x.io"), Err(240));
        for _ in 0..10 {
            let _ = rl.attempt("registration:a@x.io");
        }
        assert_eq!(rl.attempt("registration:a@x.io"), Err(3600));
        clock.advance(Duration::seconds(3601));
        assert_eq!(rl.attempt("registration:a@x.io"), Ok(()));
    }

    #[test]
    fn login_guard_window() {
        let clock = ManualClock::new(Utc::now());
        let rl = RateLimiter::new(clock.clone());
        for _ in 0..4 {
            rl.reserve_guess("login:u@x.io").unwrap().failed();
        }
        clock.advance(Duration::seconds(60));
        rl.reserve_guess("login:U@x.io").unwrap().failed();
        assert_eq!(rl.reserve_guess("login:u@x.io").err(), Some(14 * 60));
        clock.advance(Duration::seconds(14 * 60));
        rl.reserve_guess("login:u@x.io").unwrap().failed();
        rl.reserve_guess("login:u@x.io").unwrap().succeeded();
        for _ in 0..5 {
            rl.reserve_guess("login:u@x.io").unwrap().failed();
        }
        assert!(rl.reserve_guess("login:u@x.io").is_err());
    }

    #[test]
    fn reservations_bound_concurrent_guesses_and_overlapping_success_keeps_its_slot() {
        let clock = ManualClock::new(Utc::now());
        let rl = RateLimiter::new(clock.clone());
        let held: Vec<_> = (0..5)
            .map(|_| rl.reserve_guess("login:a").unwrap())
            .collect();
        assert!(
            rl.reserve_guess("login:a").is_err(),
            "all 5 slots in flight"
        );
        let mut held = held.into_iter();
        held.next().unwrap().succeeded(); // overlapped: no reset
        assert!(rl.reserve_guess("login:a").is_err());
        held.for_each(Guess::failed);
        assert!(rl.reserve_guess("login:a").is_err());
        // Dropped unresolved counts as failed.
        drop(rl.reserve_guess("login:b").unwrap());
        for _ in 0..4 {
            rl.reserve_guess("login:b").unwrap().failed();
        }
        assert!(rl.reserve_guess("login:b").is_err());
    }

    #[test]
    fn client_address_from_trusted_proxies_only() {
        let trusted = [
            IpNet::parse("10.0.0.0/8").unwrap(),
            IpNet::parse("::1").unwrap(),
        ];
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(
            client_addr(ip("1.2.3.4"), Some("9.9.9.9"), &trusted),
            ip("1.2.3.4")
        );
        assert_eq!(
            client_addr(ip("10.1.2.3"), Some("6.6.6.6, 5.5.5.5, 10.0.0.9"), &trusted),
            ip("5.5.5.5")
        );
        assert_eq!(
            client_addr(ip("::1"), Some("5.5.5.5"), &trusted),
            ip("5.5.5.5")
        );
        assert_eq!(
            client_addr(ip("10.1.2.3"), Some("junk"), &trusted),
            ip("10.1.2.3")
        );
        assert_eq!(client_addr(ip("10.1.2.3"), None, &trusted), ip("10.1.2.3"));
        assert!(IpNet::parse("10.0.0.0/33").is_none());
        assert!(IpNet::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        assert!(
            IpNet::parse("10.0.0.0/8")
                .unwrap()
                .contains(ip("::ffff:10.2.3.4"))
        );
    }
}
