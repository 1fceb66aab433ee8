//! Shared application state handed to every handler.

use std::sync::Arc;

use crate::auth::password::Passwords;
use crate::auth::ratelimit::RateLimiter;
use crate::clock::SharedClock;
use crate::config::Config;
use crate::store::sqlite::Db;

use crate::domain::time::Ts;
use crate::metrics::Metrics;
use crate::notify::Notifier;
use crate::storage::Storage;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: Db,
    pub clock: SharedClock,
    pub passwords: Passwords,
    pub limiter: Arc<RateLimiter>,
    /// TODO(layers): the old handlers' way to the outbox (renders
    /// nothing); goes when they call services.
    pub notifier: Notifier,
    /// Renders in-app notifications when they are read.
    pub render: crate::email::Renderer,
    pub metrics: Arc<Metrics>,
    /// Event images (fs or S3), checked at start-up.
    pub storage: Storage,
    pub caches: Arc<crate::service::snapshot::Caches>,
    /// The use cases; handlers call these.
    pub svc: crate::service::Services,
}

impl AppState {
    pub fn now(&self) -> Ts {
        Ts(self.clock.now())
    }
}
