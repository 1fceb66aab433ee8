//! Database access behind one interface.
//!
//! Services never see SQL: they ask a [`Store`] for a read or a write
//! transaction and receive a `&mut dyn Tx`, whose methods (grouped per area
//! in the traits re-exported here) are the only queries in the program.
//! The SQLite backend implements every trait in `store::sqlite`, the
//! PostgreSQL backend the same traits in `store::postgres`; [`Store`] picks
//! one from `database.url` and the services do not know which.
//!
//! Rules of the interface:
//! - a write runs as one transaction: it commits when the closure returns
//!   `Ok` and rolls back otherwise (nothing of a refused change is kept);
//! - jobs enqueued in a write wake the scheduler after the commit;
//! - statuses and roles cross the interface as domain enums, never strings.

pub mod accounts;
pub mod audit;
pub mod backups;
pub mod calendar;
pub mod categories;
pub mod copy;
pub mod events;
pub mod jobs;
pub mod limits;
pub mod notifications;
pub mod organiser;
pub mod personal;
pub mod postgres;
pub mod series;
pub mod sqlite;
pub mod uploads;
pub mod users;
pub mod webhooks;

use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use tokio::sync::Notify;

pub use accounts::AccountStore;
pub use audit::AuditStore;
pub use backups::BackupStore;
pub use calendar::CalendarStore;
pub use categories::CategoryStore;
pub use events::EventStore;
pub use jobs::JobStore;
pub use limits::LimitStore;
pub use notifications::NotificationStore;
pub use organiser::OrganiserStore;
pub use personal::PersonalDataStore;
pub use series::SeriesStore;
pub use uploads::UploadStore;
pub use users::UserStore;
pub use webhooks::WebhookStore;

use crate::domain::error::DomainResult;

/// Everything one transaction can do.
pub trait Tx:
    AccountStore
    + AuditStore
    + BackupStore
    + CalendarStore
    + CategoryStore
    + EventStore
    + JobStore
    + LimitStore
    + NotificationStore
    + SeriesStore
    + PersonalDataStore
    + OrganiserStore
    + UploadStore
    + UserStore
    + WebhookStore
{
}

impl<
    T: AccountStore
        + AuditStore
        + BackupStore
        + CalendarStore
        + CategoryStore
        + EventStore
        + JobStore
        + LimitStore
        + NotificationStore
        + SeriesStore
        + PersonalDataStore
        + OrganiserStore
        + UploadStore
        + UserStore
        + WebhookStore
        + ?Sized,
> Tx for T
{
}

/// Where a backend reports how long work waited for the database: the
/// server's metrics histograms, handed over once by [`Store::report_waits`]
/// (until then, and in the CLI, nothing is recorded). Clones share them.
///
/// The store knows only the `metrics` crate's handle type, not the
/// registry that owns it (`crate::metrics`).
#[derive(Clone, Default)]
pub struct Waits(Arc<OnceLock<WaitHistograms>>);

/// The histograms behind [`Waits`], in seconds.
pub struct WaitHistograms {
    /// Waiting for a pooled connection (reads and writes).
    pub connection: metrics::Histogram,
    /// From asking for a write until its transaction began: SQLite, the
    /// group-commit queue or the writer lock (the single writer); PostgreSQL,
    /// a pooled connection and `BEGIN`.
    pub write: metrics::Histogram,
    /// PostgreSQL: statements that only take the row locks a rule counts
    /// under (an event's capacity, a user's quota, the last administrator),
    /// so mostly the wait for another transaction to release them.
    pub row_lock: metrics::Histogram,
}

impl Waits {
    /// Connects these waits to `histograms` (the first call wins).
    fn report_to(&self, histograms: WaitHistograms) {
        let _ = self.0.set(histograms);
    }

    fn record(&self, which: fn(&WaitHistograms) -> &metrics::Histogram, since: Instant) {
        if let Some(h) = self.0.get() {
            which(h).record(since.elapsed().as_secs_f64());
        }
    }

    /// A pooled connection was handed over; asked for at `since`.
    pub(crate) fn connection(&self, since: Instant) {
        self.record(|h| &h.connection, since);
    }

    /// A write transaction began; asked for at `since`.
    pub(crate) fn write(&self, since: Instant) {
        self.record(|h| &h.write, since);
    }

    /// A row-locking statement that started at `since` returned.
    pub(crate) fn row_lock(&self, since: Instant) {
        self.record(|h| &h.row_lock, since);
    }
}

/// Which database the store is on: `Sqlite` when `database.url` is empty
/// (one file in the data dir, one process), `Postgres` for a `postgres://`
/// URL (several instances may share it).
///
/// An enum rather than a boxed trait object: `read` and `write` are generic
/// over the closure and its result (`FnOnce(&mut dyn Tx) -> DomainResult<T>`),
/// which a `dyn` backend trait could not offer without boxing every closure
/// and erasing `T`; with two backends known at compile time a `match` per
/// call is simpler and costs nothing.
#[derive(Clone)]
pub struct Store {
    backend: Backend,
}

#[derive(Clone)]
enum Backend {
    Sqlite(sqlite::Db),
    Postgres(postgres::Db),
}

/// What `backup_to` answers on PostgreSQL.
pub const USE_PG_DUMP: &str = "the database is PostgreSQL (database.url): Afisha's backups copy the SQLite file; back up PostgreSQL with pg_dump or your provider's backups";

impl Store {
    /// Opens the database `config` names (`database.url`) and applies
    /// migrations. Blocking: call it on a blocking thread or at start-up.
    pub fn open(config: &crate::config::Config) -> anyhow::Result<Store> {
        match config.postgres_url() {
            Some(url) => Self::open_postgres(url),
            None => Self::open_sqlite(&config.database_path()),
        }
    }

    /// Opens (creating if needed) the SQLite database and applies migrations.
    /// Blocking: call it on a blocking thread or at start-up.
    pub fn open_sqlite(path: &Path) -> anyhow::Result<Store> {
        Ok(Store {
            backend: Backend::Sqlite(sqlite::Db::open(path)?),
        })
    }

    /// Connects to PostgreSQL and applies migrations (under an advisory
    /// lock). Blocking.
    pub fn open_postgres(url: &str) -> anyhow::Result<Store> {
        Ok(Store {
            backend: Backend::Postgres(postgres::Db::open(url)?),
        })
    }

    /// Runs `f` in a read-only view on the blocking pool.
    pub async fn read<T, F>(&self, f: F) -> DomainResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn Tx) -> DomainResult<T> + Send + 'static,
    {
        match &self.backend {
            Backend::Sqlite(db) => db.read_tx(f).await,
            Backend::Postgres(db) => db.read_tx(f).await,
        }
    }

    /// Runs `f` in one write transaction on the blocking pool.
    pub async fn write<T, F>(&self, f: F) -> DomainResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn Tx) -> DomainResult<T> + Send + 'static,
    {
        match &self.backend {
            Backend::Sqlite(db) => db.write_tx(f).await,
            Backend::Postgres(db) => db.write_tx(f).await,
        }
    }

    /// [`Store::read`] for code already on a blocking thread (CLI, workers).
    pub fn read_blocking<T>(
        &self,
        f: impl FnOnce(&mut dyn Tx) -> DomainResult<T>,
    ) -> DomainResult<T> {
        match &self.backend {
            Backend::Sqlite(db) => db.read_tx_blocking(f),
            Backend::Postgres(db) => db.read_tx_blocking(f),
        }
    }

    /// [`Store::write`] for code already on a blocking thread.
    pub fn write_blocking<T>(
        &self,
        f: impl FnOnce(&mut dyn Tx) -> DomainResult<T>,
    ) -> DomainResult<T> {
        match &self.backend {
            Backend::Sqlite(db) => db.write_tx_blocking(f),
            Backend::Postgres(db) => db.write_tx_blocking(f),
        }
    }

    /// The version of the domain data that cached answers compare (see
    /// `service::snapshot`): two reads give the same number only if no
    /// transaction that changed domain data committed between them.
    /// SQLite: the count of such commits in this process (the one writer;
    /// free). PostgreSQL: the shared `domain_version` of every instance (one
    /// small query), so a write through any instance is seen by the next
    /// request through any other.
    pub async fn version(&self) -> DomainResult<u64> {
        match &self.backend {
            Backend::Sqlite(db) => Ok(db.generation()),
            Backend::Postgres(db) => db.version().await,
        }
    }

    /// Woken after a commit that enqueued jobs.
    pub fn jobs_enqueued(&self) -> Arc<Notify> {
        match &self.backend {
            Backend::Sqlite(db) => db.jobs_enqueued(),
            Backend::Postgres(db) => db.jobs_enqueued.clone(),
        }
    }

    /// Background housekeeping of the backend (SQLite: WAL checkpoints;
    /// PostgreSQL: nothing, autovacuum does its own).
    pub async fn maintain(&self) -> DomainResult<()> {
        match &self.backend {
            Backend::Sqlite(db) => db.checkpoint().await,
            Backend::Postgres(_) => Ok(()),
        }
    }

    /// A consistent online copy of the database at `target` (checked before
    /// it gets its final name); returns its size in bytes. Blocking.
    /// PostgreSQL: refused ([`USE_PG_DUMP`]).
    pub fn backup_to(&self, target: &Path) -> anyhow::Result<u64> {
        match &self.backend {
            Backend::Sqlite(db) => sqlite::backup_file::backup(db.path(), target),
            Backend::Postgres(_) => Err(anyhow::anyhow!(USE_PG_DUMP)),
        }
    }

    /// Whether the database answers a trivial query.
    pub async fn ping(&self) -> DomainResult<()> {
        match &self.backend {
            Backend::Sqlite(db) => db.ping().await,
            Backend::Postgres(db) => db.ping().await,
        }
    }

    /// Connections in use and idle (metrics).
    pub fn pool_state(&self) -> (u32, u32) {
        let s = match &self.backend {
            Backend::Sqlite(db) => db.pool().state(),
            Backend::Postgres(db) => db.pool().state(),
        };
        (s.connections - s.idle_connections, s.idle_connections)
    }

    /// The most connections the pool opens (metrics).
    pub fn pool_max(&self) -> u32 {
        match &self.backend {
            Backend::Sqlite(db) => db.pool().max_size(),
            Backend::Postgres(db) => db.pool().max_size(),
        }
    }

    /// From now on, record how long work waits for the database into
    /// `histograms` (the server's metrics; see [`Waits`]).
    pub fn report_waits(&self, histograms: WaitHistograms) {
        match &self.backend {
            Backend::Sqlite(db) => db.waits().report_to(histograms),
            Backend::Postgres(db) => db.waits().report_to(histograms),
        }
    }

    /// The backend's name as `GET /api/health` and the metrics give it:
    /// `sqlite` or `postgres`.
    pub fn backend_name(&self) -> &'static str {
        match &self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// The SQLite backend, when the store is on SQLite (its own tools such
    /// as backups, and tests that inspect the file).
    pub fn sqlite(&self) -> Option<&sqlite::Db> {
        match &self.backend {
            Backend::Sqlite(db) => Some(db),
            Backend::Postgres(_) => None,
        }
    }

    /// The PostgreSQL backend, when the store is on PostgreSQL.
    pub fn postgres(&self) -> Option<&postgres::Db> {
        match &self.backend {
            Backend::Sqlite(_) => None,
            Backend::Postgres(db) => Some(db),
        }
    }
}
