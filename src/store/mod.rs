//! Database access behind one interface.
//!
//! Services never see SQL: they ask a [`Store`] for a read or a write
//! transaction and receive a `&mut dyn Tx`, whose methods (grouped per area
//! in the traits re-exported here) are the only queries in the program.
//! The SQLite backend implements every trait in `store::sqlite`; a second
//! backend (PostgreSQL) is one more implementation of the same traits and
//! one more arm of [`Store`], not a fork of the services.
//!
//! Rules of the interface:
//! - a write runs as one transaction: it commits when the closure returns
//!   `Ok` and rolls back otherwise (nothing of a refused change is kept);
//! - jobs enqueued in a write wake the scheduler after the commit;
//! - statuses and roles cross the interface as domain enums, never strings.

pub mod accounts;
pub mod backups;
pub mod events;
pub mod jobs;
pub mod notifications;
pub mod sqlite;
pub mod uploads;
pub mod users;

use std::path::Path;
use std::sync::Arc;

use tokio::sync::Notify;

pub use accounts::AccountStore;
pub use backups::BackupStore;
pub use events::EventStore;
pub use jobs::JobStore;
pub use notifications::NotificationStore;
pub use uploads::UploadStore;
pub use users::UserStore;

use crate::domain::error::DomainResult;

/// Everything one transaction can do.
pub trait Tx:
    AccountStore + BackupStore + EventStore + JobStore + NotificationStore + UploadStore + UserStore
{
}

impl<
    T: AccountStore
        + BackupStore
        + EventStore
        + JobStore
        + NotificationStore
        + UploadStore
        + UserStore
        + ?Sized,
> Tx for T
{
}

/// The database: SQLite today (one file, one writer), a second backend later.
#[derive(Clone)]
pub struct Store {
    db: sqlite::Db,
}

impl Store {
    /// Opens (creating if needed) the SQLite database and applies migrations.
    /// Blocking: call it on a blocking thread or at start-up.
    pub fn open_sqlite(path: &Path) -> anyhow::Result<Store> {
        Ok(Store {
            db: sqlite::Db::open(path)?,
        })
    }

    /// Runs `f` in a read-only view on the blocking pool.
    pub async fn read<T, F>(&self, f: F) -> DomainResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn Tx) -> DomainResult<T> + Send + 'static,
    {
        self.db.read_tx(f).await
    }

    /// Runs `f` in one write transaction on the blocking pool.
    pub async fn write<T, F>(&self, f: F) -> DomainResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn Tx) -> DomainResult<T> + Send + 'static,
    {
        self.db.write_tx(f).await
    }

    /// [`Store::read`] for code already on a blocking thread (CLI, workers).
    pub fn read_blocking<T>(
        &self,
        f: impl FnOnce(&mut dyn Tx) -> DomainResult<T>,
    ) -> DomainResult<T> {
        self.db.read_tx_blocking(f)
    }

    /// [`Store::write`] for code already on a blocking thread.
    pub fn write_blocking<T>(
        &self,
        f: impl FnOnce(&mut dyn Tx) -> DomainResult<T>,
    ) -> DomainResult<T> {
        self.db.write_tx_blocking(f)
    }

    /// How many transactions that changed domain data have committed in this
    /// process (cached answers compare it; see `service::snapshot`).
    pub fn generation(&self) -> u64 {
        self.db.generation()
    }

    /// Woken after a commit that enqueued jobs.
    pub fn jobs_enqueued(&self) -> Arc<Notify> {
        self.db.jobs_enqueued()
    }

    /// Background housekeeping of the backend (SQLite: WAL checkpoints).
    pub async fn maintain(&self) -> DomainResult<()> {
        self.db.checkpoint().await
    }

    /// A consistent online copy of the database at `target` (checked before
    /// it gets its final name); returns its size in bytes. Blocking.
    pub fn backup_to(&self, target: &Path) -> anyhow::Result<u64> {
        sqlite::backup_file::backup(self.db.path(), target)
    }

    /// Whether the database answers a trivial query.
    pub async fn ping(&self) -> DomainResult<()> {
        self.db.ping().await
    }

    /// Connections in use and idle (metrics).
    pub fn pool_state(&self) -> (u32, u32) {
        let s = self.db.pool().state();
        (s.connections - s.idle_connections, s.idle_connections)
    }

    /// The SQLite backend, for backups and the transition of old modules.
    pub fn sqlite(&self) -> &sqlite::Db {
        &self.db
    }
}
