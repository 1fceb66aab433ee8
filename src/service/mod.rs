//! Use cases: one function per thing a person (or the scheduler) can do.
//!
//! A service function owns its transaction and the notices it emits; HTTP
//! handlers, the CLI, the debug routes and the demo all call the same
//! function, so a rule lives in exactly one place. Services return
//! [`DomainError`](crate::domain::error::DomainError) and know nothing of
//! HTTP.

pub mod accounts;
pub mod events;
pub mod images;
pub mod outbox;
pub mod participation;
pub mod snapshot;
pub mod statistics;
pub mod users;

use std::sync::Arc;

use crate::auth::password::Passwords;
use crate::auth::ratelimit::RateLimiter;
use crate::clock::SharedClock;
use crate::config::Config;
use crate::domain::time::Ts;
use crate::store::Store;

/// What every service needs: configuration, the store, the clock and the
/// shared infrastructure (password hashing, rate limits, caches).
#[derive(Clone)]
pub struct Services {
    pub config: Arc<Config>,
    pub store: Store,
    pub clock: SharedClock,
    pub passwords: Passwords,
    pub limiter: Arc<RateLimiter>,
    pub caches: Arc<crate::service::snapshot::Caches>,
    /// Event images (fs or S3), checked at start-up.
    pub storage: crate::storage::Storage,
    /// Seals and hashes secrets at rest (key file in the data dir).
    pub secrets: crate::secrets::Secrets,
    /// TODO(outbox): rendering moves to delivery; then this goes.
    pub notifier: crate::notify::Notifier,
}

impl Services {
    pub fn now(&self) -> Ts {
        Ts(self.clock.now())
    }
}
