//! The one source of "now". Production uses the system clock; tests use a
//! [`ManualClock`] and move time instead of sleeping.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use tokio::sync::Notify;

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
    /// Woken whenever the clock jumps (only manual clocks jump), so waiters
    /// that sleep until a moment can re-check.
    fn jumped(&self) -> Option<&Notify> {
        None
    }
}

pub type SharedClock = Arc<dyn Clock>;

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that starts at the real time and then moves only when told.
pub struct ManualClock {
    now: Mutex<DateTime<Utc>>,
    jumped: Notify,
}

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Arc<Self> {
        Arc::new(Self {
            now: Mutex::new(start),
            jumped: Notify::new(),
        })
    }

    pub fn advance(&self, by: Duration) {
        *self.now.lock().expect("clock lock") += by;
        self.jumped.notify_waiters();
    }

    pub fn set(&self, to: DateTime<Utc>) {
        *self.now.lock().expect("clock lock") = to;
        self.jumped.notify_waiters();
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().expect("clock lock")
    }
    fn jumped(&self) -> Option<&Notify> {
        Some(&self.jumped)
    }
}
