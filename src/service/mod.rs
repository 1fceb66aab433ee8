//! Use cases: one function per thing a person (or the scheduler) can do.
//!
//! A service function owns its transaction and the notices it emits; HTTP
//! handlers, the CLI, the debug routes and the demo all call the same
//! function, so a rule lives in exactly one place. Services return
//! [`DomainError`](crate::domain::error::DomainError) and know nothing of
//! HTTP.

pub mod accounts;
pub mod audit;
pub mod backups;
pub mod calendar;
pub mod categories;
pub mod cleanup;
pub mod events;
pub mod external;
pub mod images;
pub mod jobs;
pub mod limits;
pub mod mail;
pub mod my_data;
pub mod notifications;
pub mod oidc;
pub mod organiser;
pub mod outbox;
pub mod participation;
pub mod preferences;
pub mod reminders;
pub mod series;
pub mod session;
pub mod setup;
pub mod snapshot;
pub mod statistics;
pub mod users;
pub mod waitlist;
pub mod webhooks;

use std::sync::Arc;

use crate::auth::password::Passwords;
use crate::clock::SharedClock;
use crate::config::Config;
use crate::domain::time::Ts;
use crate::store::Store;

/// What every service needs: configuration, the store, the clock and the
/// shared infrastructure (password hashing, caches). Rate limits are in
/// the database (`service::limits`).
#[derive(Clone)]
pub struct Services {
    pub config: Arc<Config>,
    pub store: Store,
    pub clock: SharedClock,
    pub passwords: Passwords,
    pub caches: Arc<crate::service::snapshot::Caches>,
    /// Event images (fs or S3), checked at start-up.
    pub storage: crate::storage::Storage,
    /// Seals and hashes secrets at rest (key file in the data dir).
    pub secrets: crate::secrets::Secrets,
    /// In-memory state of the accounts area (the debug recovery token).
    pub volatile: Arc<accounts::Volatile>,
    /// This server's metrics registry (jobs, emails and backups count here).
    pub metrics: crate::metrics::Metrics,
    /// The company directory (`auth.ldap`), when configured.
    pub directory: Option<crate::directory::Directory>,
    /// The company's OpenID Provider (`auth.oidc`), when configured.
    pub oidc: Option<crate::oidc::Provider>,
}

impl Services {
    /// Opens everything the use cases need over a data dir: image storage
    /// (checked first: a broken bucket should be the only thing reported),
    /// the database (migrations applied), the key file. Every
    /// misconfiguration that can be found before serving is found here.
    pub async fn open(config: Arc<Config>, clock: SharedClock) -> anyhow::Result<Services> {
        let storage = crate::storage::Storage::open(&config).await?;
        let (store, secrets) = {
            let config = config.clone();
            tokio::task::spawn_blocking(move || {
                let store = Store::open(&config)?;
                let secrets = crate::secrets::Secrets::open(&config.data_dir)?;
                anyhow::Ok((store, secrets))
            })
            .await??
        };
        let metrics = crate::metrics::Metrics::new();
        // Only while metrics are on: the upkeep that folds samples into the
        // histograms runs only then (app::observability), and unfolded
        // samples would pile up in memory.
        if config.metrics.enabled {
            store.report_waits(metrics.db_waits());
        }
        Ok(Services {
            passwords: Passwords::new(config.auth.argon2)?
                .with_budget(config.auth.hash_queue, config.auth.hash_per_client),
            caches: Default::default(),
            volatile: Default::default(),
            directory: crate::directory::Directory::open(&config.auth.ldap)?,
            oidc: crate::oidc::Provider::open(&config)?,
            metrics,
            storage,
            store,
            secrets,
            clock,
            config,
        })
    }

    pub fn now(&self) -> Ts {
        Ts(self.clock.now())
    }
}
