//! In-memory rate limits (moka for bounded storage, the app clock for time).
//!
//! Two rules from API.md:
//! - backoff keys (`registration:`, `verification:`, `recovery:`): each
//!   attempt increments a counter and resets its lifetime to
//!   `min(30 s × 2^(n−1), 1 h)`; attempts `n ≤ 2` pass, later ones are refused
//!   with `Retry-After` = that lifetime. Refused attempts count too.
//! - the login guard (`login:`): failures counted in a 15-minute window that
//!   starts at the first failure; after 5 every attempt is refused until the
//!   window ends; a success before that resets the count.

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

pub struct RateLimiter {
    clock: SharedClock,
    backoff: Cache<String, Entry>,
    logins: Cache<String, Entry>,
}

/// `Err(retry_after_secs)` when refused.
pub type Verdict = Result<(), u64>;

fn secs_until(t: DateTime<Utc>, now: DateTime<Utc>) -> u64 {
    let ms = (t - now).num_milliseconds().max(0);
    ((ms + 999) / 1000).max(1) as u64
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
            logins: cache(),
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

    /// Whether a login for this key may be tried now.
    pub fn login_allowed(&self, key: &str) -> Verdict {
        let now = self.clock.now();
        match self.logins.get(&key.to_lowercase()) {
            Some(e) if e.expires > now && e.count >= LOGIN_MAX_FAILURES => {
                Err(secs_until(e.expires, now))
            }
            _ => Ok(()),
        }
    }

    pub fn login_failed(&self, key: &str) {
        let now = self.clock.now();
        self.logins
            .entry(key.to_lowercase())
            .and_upsert_with(|old| match old.map(|e| e.into_value()) {
                Some(e) if e.expires > now => Entry {
                    count: e.count + 1,
                    expires: e.expires,
                },
                _ => Entry {
                    count: 1,
                    expires: now + Duration::seconds(LOGIN_WINDOW_SECS),
                },
            });
    }

    pub fn login_succeeded(&self, key: &str) {
        self.logins.invalidate(&key.to_lowercase());
    }
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
            assert!(rl.login_allowed("login:u@x.io").is_ok());
            rl.login_failed("login:u@x.io");
        }
        clock.advance(Duration::seconds(60));
        rl.login_failed("login:U@x.io");
        assert_eq!(rl.login_allowed("login:u@x.io"), Err(14 * 60));
        clock.advance(Duration::seconds(14 * 60));
        assert!(rl.login_allowed("login:u@x.io").is_ok());
        rl.login_failed("login:u@x.io");
        rl.login_succeeded("login:u@x.io");
        assert!(rl.login_allowed("login:u@x.io").is_ok());
    }
}
