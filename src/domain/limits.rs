//! The rules of rate limits and login guards, over one key's stored state
//! (the `rate_limit` table, shared by every instance on one database; see
//! `service::limits`).
//!
//! Three rules from API.md:
//! - backoff keys (`registration:`, `verification:`, `recovery:`): each
//!   attempt increments a counter and resets its lifetime to
//!   `min(30 s × 2^(n−1), 1 h)`; attempts `n ≤ 2` pass, later ones are refused
//!   with `Retry-After` = that lifetime. Refused attempts count too.
//! - fixed windows (`register-client:`): at most `max` actions in a window
//!   of `period` that starts at the first action; refusals are not counted.
//! - the guess guard (`login:<email>`, `password:<user id>`): at most 5
//!   guesses per 15-minute window. A guess is *reserved* before the password
//!   is verified, so however many arrive at once (through any instance), at
//!   most 5 are ever evaluated in a window; a failed guess keeps its slot, a
//!   refused one (429) takes none and does not extend the window. A success
//!   resets the count, unless another guess for the same key overlapped it
//!   in time (was in flight when it started, or started before it finished):
//!   then the success keeps its slot like a failure, so a burst cannot
//!   reopen the budget by slipping the right password in among its guesses.
//!   When a window ends, guesses still marked in flight are forgotten (an
//!   instance that died mid-guess cannot hold a slot for longer than one
//!   window); a guess resolved after its window ended counts in the current
//!   one.

use chrono::Duration;

use crate::domain::time::Ts;

const FREE_ATTEMPTS: u32 = 2;
const BASE_SECS: i64 = 30;
const CAP_SECS: i64 = 3600;
/// The guess guard's window.
pub const GUESS_WINDOW_SECS: i64 = 15 * 60;
/// Guesses evaluated per window at most.
pub const GUESS_MAX: u32 = 5;

/// One key's state. A key never seen is [`LimitState::default`] (expired).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitState {
    /// Attempts (backoff), actions (window) or spent guesses (guess guard).
    pub count: u32,
    /// Guesses reserved and not yet resolved.
    pub pending: u32,
    /// Guesses ever reserved in this window (to see overlaps).
    pub reserved: u64,
    /// When the state lapses; at or before now it counts as absent.
    pub expires: Ts,
}

impl Default for LimitState {
    fn default() -> Self {
        LimitState {
            count: 0,
            pending: 0,
            reserved: 0,
            expires: Ts::from_micros(0),
        }
    }
}

/// `Err(retry_after_secs)` when refused.
pub type Verdict = Result<(), u64>;

fn secs_until(t: Ts, now: Ts) -> u64 {
    let ms = (t.0 - now.0).num_milliseconds().max(0);
    ((ms + 999) / 1000).max(1) as u64
}

impl LimitState {
    /// Whether the state is still in force at `now`.
    pub fn live(&self, now: Ts) -> bool {
        self.expires > now
    }

    /// Counts an attempt on a backoff key and says whether it may proceed.
    pub fn attempt(&mut self, now: Ts) -> Verdict {
        let count = if self.live(now) { self.count + 1 } else { 1 };
        let lifetime = (BASE_SECS << (count - 1).min(10)).min(CAP_SECS);
        *self = LimitState {
            count,
            expires: Ts(now.0 + Duration::seconds(lifetime)),
            ..LimitState::default()
        };
        if count <= FREE_ATTEMPTS {
            Ok(())
        } else {
            Err(secs_until(self.expires, now))
        }
    }

    /// Counts one action in a fixed window of `period` starting at the first
    /// action; refuses (with the seconds left) once `max` actions have been
    /// counted in the window. Refusals are not counted.
    pub fn window(&mut self, now: Ts, max: u32, period: Duration) -> Verdict {
        if !self.live(now) {
            *self = LimitState {
                count: 0,
                expires: Ts(now.0 + period),
                ..LimitState::default()
            };
        }
        if self.count >= max {
            return Err(secs_until(self.expires, now));
        }
        self.count += 1;
        Ok(())
    }

    /// Reserves one guess, or refuses it with the seconds left in the
    /// window (and no change).
    pub fn reserve_guess(&mut self, now: Ts) -> Result<Ticket, u64> {
        if !self.live(now) {
            *self = LimitState {
                expires: Ts(now.0 + Duration::seconds(GUESS_WINDOW_SECS)),
                ..LimitState::default()
            };
        }
        if self.count + self.pending >= GUESS_MAX {
            return Err(secs_until(self.expires, now));
        }
        let overlapped = self.pending > 0;
        self.pending += 1;
        self.reserved += 1;
        Ok(Ticket {
            overlapped,
            seq: self.reserved,
            window: self.expires,
        })
    }

    /// Resolves a reserved guess. Returns `false` when the state is to be
    /// forgotten (a success that resets the count), `true` to keep it.
    pub fn resolve_guess(&mut self, ticket: Ticket, succeeded: bool) -> bool {
        // Compared as stored: whole microseconds.
        if ticket.window.micros() != self.expires.micros() {
            // Its window has ended (or was reset): the guess counts in the
            // current one, whose in-flight guesses it is not among.
            self.count += 1;
            return true;
        }
        self.pending = self.pending.saturating_sub(1);
        if succeeded && !ticket.overlapped && ticket.seq == self.reserved && self.pending == 0 {
            return false;
        }
        self.count += 1;
        true
    }
}

/// A reserved guess, as its resolution needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket {
    /// Other guesses were in flight when this one was reserved.
    pub overlapped: bool,
    /// `reserved` of the state right after this reservation.
    pub seq: u64,
    /// The window it was reserved in (its end).
    pub window: Ts,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Timelike, Utc};

    struct Keys(std::collections::HashMap<String, LimitState>);

    impl Keys {
        fn state(&mut self, key: &str) -> &mut LimitState {
            self.0.entry(key.to_lowercase()).or_default()
        }
    }

    #[test]
    fn backoff_sequence_matches_the_contract() {
        let mut now = Ts(Utc::now());
        let mut keys = Keys(Default::default());
        assert_eq!(keys.state("registration:A@x.io").attempt(now), Ok(()));
        assert_eq!(keys.state("registration:a@x.io").attempt(now), Ok(()));
        assert_eq!(keys.state("registration:a@x.io").attempt(now), Err(120));
        assert_eq!(keys.state("registration:a@x.io").attempt(now), Err(240));
        for _ in 0..10 {
            let _ = keys.state("registration:a@x.io").attempt(now);
        }
        assert_eq!(keys.state("registration:a@x.io").attempt(now), Err(3600));
        now = Ts(now.0 + Duration::seconds(3601));
        assert_eq!(keys.state("registration:a@x.io").attempt(now), Ok(()));
    }

    #[test]
    fn window_counts_actions_not_refusals() {
        let now = Ts(Utc::now());
        let mut s = LimitState::default();
        let hour = Duration::hours(1);
        assert_eq!(s.window(now, 2, hour), Ok(()));
        let later = Ts(now.0 + Duration::minutes(10));
        assert_eq!(s.window(later, 2, hour), Ok(()));
        assert_eq!(s.window(later, 2, hour), Err(50 * 60));
        assert_eq!(s.count, 2);
        assert_eq!(s.window(Ts(now.0 + hour), 2, hour), Ok(()));
    }

    fn fail(s: &mut LimitState, now: Ts) {
        let t = s.reserve_guess(now).unwrap();
        assert!(s.resolve_guess(t, false));
    }

    #[test]
    fn login_guard_window() {
        let mut now = Ts(Utc::now());
        let mut s = LimitState::default();
        for _ in 0..4 {
            fail(&mut s, now);
        }
        now = Ts(now.0 + Duration::seconds(60));
        fail(&mut s, now);
        assert_eq!(s.reserve_guess(now).err(), Some(14 * 60));
        now = Ts(now.0 + Duration::seconds(14 * 60));
        fail(&mut s, now);
        let t = s.reserve_guess(now).unwrap();
        if !s.resolve_guess(t, true) {
            s = LimitState::default();
        }
        for _ in 0..5 {
            fail(&mut s, now);
        }
        assert!(s.reserve_guess(now).is_err());
    }

    #[test]
    fn reservations_bound_concurrent_guesses_and_overlapping_success_keeps_its_slot() {
        let now = Ts(Utc::now());
        let mut s = LimitState::default();
        let held: Vec<_> = (0..5).map(|_| s.reserve_guess(now).unwrap()).collect();
        assert!(s.reserve_guess(now).is_err(), "all 5 slots in flight");
        let mut held = held.into_iter();
        assert!(
            s.resolve_guess(held.next().unwrap(), true),
            "overlapped: no reset"
        );
        assert!(s.reserve_guess(now).is_err());
        for t in held {
            s.resolve_guess(t, false);
        }
        assert!(s.reserve_guess(now).is_err());
    }

    #[test]
    fn a_stored_state_resolves_its_own_guesses() {
        // The clock has nanoseconds, the database keeps microseconds.
        let now = Ts(Utc::now().with_nanosecond(123_456_789).unwrap());
        let mut s = LimitState::default();
        let t = s.reserve_guess(now).unwrap();
        s.expires = Ts::from_micros(s.expires.micros());
        assert!(s.resolve_guess(t, false));
        assert_eq!((s.count, s.pending), (1, 0));
    }

    #[test]
    fn a_window_forgets_guesses_left_in_flight() {
        let now = Ts(Utc::now());
        let mut s = LimitState::default();
        // An instance died with two guesses in flight.
        let _lost = (s.reserve_guess(now).unwrap(), s.reserve_guess(now).unwrap());
        for _ in 0..3 {
            fail(&mut s, now);
        }
        assert!(s.reserve_guess(now).is_err());
        let next = Ts(now.0 + Duration::seconds(GUESS_WINDOW_SECS));
        let t = s.reserve_guess(next).unwrap();
        assert!(!t.overlapped);
        assert!(!s.resolve_guess(t, true), "a lone success resets");
        // A late resolution of an old window's guess counts in the new one.
        let mut s = LimitState::default();
        let old = s.reserve_guess(now).unwrap();
        let t = s.reserve_guess(next).unwrap();
        assert!(s.resolve_guess(old, false));
        assert_eq!((s.count, s.pending), (1, 1));
        assert!(s.resolve_guess(t, false));
        assert_eq!((s.count, s.pending), (2, 0));
    }
}
