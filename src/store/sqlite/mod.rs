//! SQLite access: one pool, one helper for reads and one for write
//! transactions, both run on tokio's blocking pool.
//!
//! Writes are serialised in-process (one writer at a time, `BEGIN IMMEDIATE`)
//! so writers queue instead of spinning on SQLITE_BUSY: async writes go to
//! the group-commit thread (`writer`), blocking ones take the same lock
//! directly. Code that enqueues a job marks the transaction, and the job
//! scheduler is woken after the commit — never before, so it cannot miss the
//! row.

use std::ops::Deref;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};
use tokio::sync::Notify;

use crate::domain::error::{DomainError, DomainResult};

pub mod accounts;
pub mod audit;
pub mod backup_file;
pub mod backups;
pub mod calendar;
pub mod categories;
pub mod events;
pub mod jobs;
pub mod limits;
pub mod notifications;
pub mod organiser;
pub mod personal;
pub mod series;
pub mod types;
pub mod uploads;
pub mod users;
pub mod webhooks;
mod writer;

use crate::store::{Tx, Waits};

use crate::domain::error::messages::REQUEST_TIMED_OUT as TIMED_OUT;

mod embedded {
    refinery::embed_migrations!("migrations");
}

pub type Pool = r2d2::Pool<SqliteConnectionManager>;

#[derive(Clone)]
pub struct Db {
    path: std::path::PathBuf,
    shared: Arc<Shared>,
    /// Async writes, to the group-commit thread (which ends when the last
    /// clone of this sender is dropped).
    queue: std::sync::mpsc::Sender<writer::Queued>,
}

/// What the writers share.
pub(crate) struct Shared {
    pool: Pool,
    /// Held by whoever writes: the group-commit thread per batch, a
    /// blocking writer per transaction, migrations.
    writer: std::sync::Mutex<()>,
    /// Woken after a commit that enqueued jobs.
    jobs_enqueued: Arc<Notify>,
    /// Incremented after every commit that changed domain data (see
    /// `service::snapshot`).
    generation: std::sync::atomic::AtomicU64,
    /// How long work waited for a connection and for the writer (metrics).
    waits: Waits,
}

impl Shared {
    /// A pooled connection, its wait recorded.
    fn connection(&self) -> Result<r2d2::PooledConnection<SqliteConnectionManager>, r2d2::Error> {
        let asked = Instant::now();
        let conn = self.pool.get()?;
        self.waits.connection(asked);
        Ok(conn)
    }
}

/// A write transaction. Derefs to the rusqlite transaction.
pub struct Write<'c> {
    tx: Transaction<'c>,
    enqueued: std::cell::Cell<bool>,
}

impl<'c> Deref for Write<'c> {
    type Target = Transaction<'c>;
    fn deref(&self) -> &Self::Target {
        &self.tx
    }
}

impl Write<'_> {
    /// Called by the job queue when it inserts a job in this transaction.
    pub fn mark_enqueued(&self) {
        self.enqueued.set(true);
    }

    /// This raw transaction as the store traits see it (tests that look at
    /// rows inside a transaction that then rolls back).
    pub fn store_tx(&self) -> SqliteTx<'_> {
        SqliteTx {
            conn: &self.tx,
            enqueued: Some(&self.enqueued),
        }
    }
}

thread_local! {
    /// Set by the update hook when the current thread's write transaction
    /// changes a table that answers depend on (see [`Db::generation`]).
    static DOMAIN_CHANGED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Tables whose changes do not affect any cached answer: the job queue's
/// bookkeeping, session `last_seen_at` touches, rate limits, setup tokens
/// and the recurring scans' ticks.
const BOOKKEEPING: &[&str] = &[
    "audit",
    "job",
    "login_session",
    "rate_limit",
    "scan_tick",
    "setup_token",
    "webhook_attempt",
    "webhook_delivery",
    "webhook_endpoint",
];

fn configure(conn: &mut Connection) -> rusqlite::Result<()> {
    conn.update_hook(Some(|_action, _db: &str, table: &str, _row| {
        if !BOOKKEEPING.contains(&table) {
            DOMAIN_CHANGED.with(|c| c.set(true));
        }
    }))?;
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = NORMAL;
         PRAGMA foreign_keys = ON;
         PRAGMA temp_store = MEMORY;
         PRAGMA cache_size = -2000;
         PRAGMA wal_autocheckpoint = 10000;",
    )?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(())
}

impl Db {
    /// Opens (creating if needed) the database file and applies migrations.
    pub fn open(path: &Path) -> anyhow::Result<Db> {
        if let Some(dir) = path.parent() {
            crate::secrets::create_private_dir(dir).map_err(|e| {
                anyhow::anyhow!("cannot create data directory {}: {e}", dir.display())
            })?;
        }
        let manager = SqliteConnectionManager::file(path)
            .with_flags(
                OpenFlags::SQLITE_OPEN_READ_WRITE
                    | OpenFlags::SQLITE_OPEN_CREATE
                    | OpenFlags::SQLITE_OPEN_NO_MUTEX
                    | OpenFlags::SQLITE_OPEN_URI,
            )
            .with_init(configure);
        let pool = r2d2::Pool::builder()
            .max_size(8)
            .min_idle(Some(2))
            .connection_timeout(Duration::from_secs(10))
            .build(manager)
            .map_err(|e| anyhow::anyhow!("cannot open database {}: {e}", path.display()))?;
        let shared = Arc::new(Shared {
            pool,
            writer: std::sync::Mutex::new(()),
            jobs_enqueued: Arc::new(Notify::new()),
            generation: std::sync::atomic::AtomicU64::new(0),
            waits: Waits::default(),
        });
        let (queue, queued) = std::sync::mpsc::channel();
        let db = Db {
            path: path.to_path_buf(),
            shared: shared.clone(),
            queue,
        };
        db.migrate()?;
        std::thread::Builder::new()
            .name("afisha-writer".into())
            .spawn(move || writer::run(shared, queued))
            .map_err(|e| anyhow::anyhow!("cannot start the database writer: {e}"))?;
        // Owner-only whatever the umask was (SQLite creates files 0644).
        for suffix in ["", "-wal", "-shm"] {
            let mut name = path.as_os_str().to_owned();
            name.push(suffix);
            crate::secrets::restrict_file(Path::new(&name))
                .map_err(|e| anyhow::anyhow!("cannot restrict {}: {e}", path.display()))?;
        }
        Ok(db)
    }

    /// Applies pending migrations; returns how many were applied.
    pub fn migrate(&self) -> anyhow::Result<usize> {
        let mut conn = self.shared.pool.get()?;
        let _guard = self.shared.writer.lock().expect("writer lock");
        let report = embedded::migrations::runner().run(&mut *conn)?;
        Ok(report.applied_migrations().len())
    }

    /// Copies committed WAL frames into the database without waiting for
    /// readers or writers, so checkpoints happen here (a background tick)
    /// rather than inside a request's commit.
    ///
    /// Keep it PASSIVE (as `wal_autocheckpoint` is): Litestream, when it
    /// replicates this file, holds a read transaction on the WAL so that a
    /// PASSIVE checkpoint only copies frames it has already read and the
    /// WAL cannot start over behind its back; it runs the checkpoints that
    /// restart the WAL itself. A RESTART or TRUNCATE here would wait on that
    /// reader while blocking every writer (README "Litestream";
    /// `tests/litestream.rs` replicates under load beside this tick).
    pub async fn checkpoint(&self) -> DomainResult<()> {
        self.read(|c| {
            c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
            Ok(())
        })
        .await
    }

    /// Runs `SELECT 1`.
    pub async fn ping(&self) -> DomainResult<()> {
        self.read(|c| {
            c.query_row("SELECT 1", [], |_| Ok(()))?;
            Ok(())
        })
        .await
    }

    /// How many write transactions that changed domain data (anything but
    /// job bookkeeping and session touches) have committed in this process.
    pub fn generation(&self) -> u64 {
        self.shared
            .generation
            .load(std::sync::atomic::Ordering::Acquire)
    }

    /// Woken after a commit that enqueued jobs.
    pub fn jobs_enqueued(&self) -> Arc<Notify> {
        self.shared.jobs_enqueued.clone()
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn pool(&self) -> &Pool {
        &self.shared.pool
    }

    /// Where waits for a connection and for the writer are recorded.
    pub fn waits(&self) -> &Waits {
        &self.shared.waits
    }

    /// Runs `f` on a pooled connection on the blocking pool. Raw
    /// connections are for this backend's own tools (backups, migrations)
    /// and for tests that inspect what was stored; services use
    /// [`Db::read_tx`] and [`Db::write_tx`] through the store traits.
    pub async fn read<T, F>(&self, f: F) -> DomainResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> DomainResult<T> + Send + 'static,
    {
        let shared = self.shared.clone();
        run_blocking(move || {
            let conn = shared.connection().map_err(DomainError::from)?;
            f(&conn)
        })
        .await
    }

    /// Runs `f` on the group-commit thread inside a `BEGIN IMMEDIATE`
    /// transaction (shared with other queued writes, each in its own
    /// savepoint); answers once that transaction committed. Everything `f`
    /// did is kept when it returns `Ok` and rolled back otherwise.
    pub async fn write<T, F>(&self, f: F) -> DomainResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Write) -> DomainResult<T> + Send + 'static,
    {
        // The request's deadline (if any) travels with the write: one that
        // would commit after it rolls back instead.
        let deadline = crate::deadline::current();
        let (answer, answered) = tokio::sync::oneshot::channel();
        let job = writer::queue(f, deadline, self.shared.waits.clone(), move |result| {
            let _ = answer.send(result);
        });
        self.queue
            .send(job)
            .map_err(|_| DomainError::Unavailable("the database writer has stopped".into()))?;
        answered
            .await
            .map_err(|_| DomainError::internal("the write failed (see the log)"))?
    }

    /// The same as [`Db::write`] for code already on a blocking thread
    /// (CLI commands, the scheduler's workers): its own transaction, under
    /// the same writer lock as the group-commit thread's batches.
    pub fn write_blocking<T, F>(&self, f: F) -> DomainResult<T>
    where
        F: FnOnce(&Write) -> DomainResult<T>,
    {
        let asked = Instant::now();
        let mut conn = self.shared.connection().map_err(DomainError::from)?;
        let (value, enqueued) = {
            let _guard = self.shared.writer.lock().unwrap_or_else(|p| p.into_inner());
            DOMAIN_CHANGED.with(|c| c.set(false));
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(DomainError::from)?;
            self.shared.waits.write(asked);
            let write = Write {
                tx,
                enqueued: std::cell::Cell::new(false),
            };
            // An error drops the transaction, which rolls it back.
            let value = f(&write)?;
            let enqueued = write.enqueued.get();
            write.tx.commit().map_err(DomainError::from)?;
            if DOMAIN_CHANGED.with(|c| c.replace(false)) {
                self.shared
                    .generation
                    .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
            }
            (value, enqueued)
        };
        if enqueued {
            self.shared.jobs_enqueued.notify_one();
        }
        Ok(value)
    }

    /// Read on the current (blocking) thread.
    pub fn read_blocking<T, F>(&self, f: F) -> DomainResult<T>
    where
        F: FnOnce(&Connection) -> DomainResult<T>,
    {
        let conn = self.shared.connection()?;
        f(&conn)
    }
}

/// Runs CPU-bound or blocking work (SQLite, Argon2) off the async workers.
pub async fn run_blocking<T, F>(f: F) -> DomainResult<T>
where
    T: Send + 'static,
    F: FnOnce() -> DomainResult<T> + Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => result,
        Err(join) => Err(DomainError::internal(format!(
            "blocking task failed: {join}"
        ))),
    }
}

impl From<rusqlite::Error> for DomainError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode::*;
        if let rusqlite::Error::SqliteFailure(f, _) = &e
            && matches!(
                f.code,
                DiskFull | ReadOnly | DatabaseBusy | DatabaseLocked | CannotOpen | SystemIoFailure
            )
        {
            return DomainError::Unavailable(e.to_string());
        }
        DomainError::Internal(e.into())
    }
}

impl From<r2d2::Error> for DomainError {
    fn from(e: r2d2::Error) -> Self {
        DomainError::Unavailable(format!("database pool: {e}"))
    }
}

/// A transaction as the store traits see it: the connection, and whether
/// this is a write (only writes may enqueue jobs).
pub struct SqliteTx<'c> {
    pub(crate) conn: &'c Connection,
    enqueued: Option<&'c std::cell::Cell<bool>>,
}

impl SqliteTx<'_> {
    /// Records that a job was inserted, so the scheduler is woken after the
    /// commit. Enqueueing in a read is a defect.
    pub(crate) fn mark_enqueued(&self) -> DomainResult<()> {
        match self.enqueued {
            Some(flag) => {
                flag.set(true);
                Ok(())
            }
            None => Err(DomainError::internal("a job was enqueued in a read")),
        }
    }
}

impl Db {
    pub async fn read_tx<T, F>(&self, f: F) -> DomainResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn Tx) -> DomainResult<T> + Send + 'static,
    {
        self.read(move |conn| {
            f(&mut SqliteTx {
                conn,
                enqueued: None,
            })
        })
        .await
    }

    pub async fn write_tx<T, F>(&self, f: F) -> DomainResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn Tx) -> DomainResult<T> + Send + 'static,
    {
        self.write(move |w| {
            f(&mut SqliteTx {
                conn: &w.tx,
                enqueued: Some(&w.enqueued),
            })
        })
        .await
    }

    pub fn read_tx_blocking<T>(
        &self,
        f: impl FnOnce(&mut dyn Tx) -> DomainResult<T>,
    ) -> DomainResult<T> {
        self.read_blocking(move |conn| {
            f(&mut SqliteTx {
                conn,
                enqueued: None,
            })
        })
    }

    pub fn write_tx_blocking<T>(
        &self,
        f: impl FnOnce(&mut dyn Tx) -> DomainResult<T>,
    ) -> DomainResult<T> {
        self.write_blocking(move |w| {
            f(&mut SqliteTx {
                conn: &w.tx,
                enqueued: Some(&w.enqueued),
            })
        })
    }
}

/// Extension for optional single-row queries.
pub trait OptionalRow<T> {
    fn optional(self) -> rusqlite::Result<Option<T>>;
}

impl<T> OptionalRow<T> for rusqlite::Result<T> {
    fn optional(self) -> rusqlite::Result<Option<T>> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(rusqlite::Error::QueryReturnedNoRows) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn migrations_apply_once_and_pragmas_hold() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("t.db")).unwrap();
        assert_eq!(db.migrate().unwrap(), 0, "second run applies nothing");
        let (mode, fk): (String, i64) = db
            .read(|c| -> DomainResult<(String, i64)> {
                Ok((
                    c.query_row("PRAGMA journal_mode", [], |r| r.get(0))?,
                    c.query_row("PRAGMA foreign_keys", [], |r| r.get(0))?,
                ))
            })
            .await
            .unwrap();
        assert_eq!(mode, "wal");
        assert_eq!(fk, 1);
        let tables: Vec<String> = db
            .read(|c| -> DomainResult<Vec<String>> {
                let mut s = c.prepare(
                    "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'refinery%' AND name NOT LIKE 'sqlite%' ORDER BY name",
                )?;
                let rows = s.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
                Ok(rows)
            })
            .await
            .unwrap();
        assert_eq!(
            tables,
            [
                "audit",
                "backup_status",
                "calendar_token",
                "category",
                "domain_version",
                "event",
                "event_checkin",
                "event_manager",
                "event_participant",
                "instant_notification",
                "issued_login_recovery",
                "issued_registration",
                "job",
                "login_session",
                "oidc_login",
                "rate_limit",
                "reminder_sent",
                "scan_tick",
                "series",
                "setup_token",
                "upload",
                "user",
                "user_preferences",
                "user_reminder_offset",
                "webhook_attempt",
                "webhook_delivery",
                "webhook_endpoint"
            ]
        );
    }

    #[tokio::test]
    async fn failed_write_rolls_back() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("t.db")).unwrap();
        let r: DomainResult<()> = db
            .write(|tx| {
                tx.execute(
                    "INSERT INTO user (email, email_key, full_name, full_name_fold, password_hash, role, created_at)
                     VALUES ('a@b.c', 'a@b.c', 'A', 'a', 'x', 'USER', 0)",
                    [],
                )?;
                Err(DomainError::rule("no"))
            })
            .await;
        assert!(r.is_err());
        let n: i64 = db
            .read(|c| -> DomainResult<i64> {
                Ok(c.query_row("SELECT count(*) FROM user", [], |r| r.get(0))?)
            })
            .await
            .unwrap();
        assert_eq!(n, 0);
    }

    fn insert_user(tx: &Write, email: &str) -> DomainResult<()> {
        tx.execute(
            "INSERT INTO user (email, email_key, full_name, full_name_fold, password_hash, role, created_at)
             VALUES (?1, ?1, 'A', 'a', 'x', 'USER', 0)",
            [email],
        )?;
        Ok(())
    }

    /// Many writes at once share transactions; the one that fails and the
    /// one that panics lose their own changes only, and every caller hears
    /// its own answer.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn queued_writes_fail_alone() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("t.db")).unwrap();
        let mut tasks = Vec::new();
        for i in 0..200 {
            let db = db.clone();
            tasks.push(tokio::spawn(async move {
                db.write(move |tx| {
                    insert_user(tx, &format!("u{i}@x"))?;
                    match i % 50 {
                        7 => Err(DomainError::rule("refused")),
                        13 => panic!("a defect in one write"),
                        _ => Ok(i),
                    }
                })
                .await
            }));
        }
        let mut ok = 0;
        for (i, t) in tasks.into_iter().enumerate() {
            match (i % 50, t.await.unwrap()) {
                (7, Err(DomainError::Rule(_))) | (13, Err(DomainError::Internal(_))) => {}
                (_, Ok(v)) => {
                    assert_eq!(v, i);
                    ok += 1;
                }
                (k, other) => panic!("write {i} (kind {k}) answered {other:?}"),
            }
        }
        assert_eq!(ok, 192);
        let kept: Vec<String> = db
            .read(|c| -> DomainResult<Vec<String>> {
                let mut s = c.prepare("SELECT email FROM user ORDER BY id")?;
                let rows = s.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
                Ok(rows)
            })
            .await
            .unwrap();
        assert_eq!(kept.len(), 192);
        assert!(
            !kept
                .iter()
                .any(|e| e == "u7@x" || e == "u13@x" || e == "u57@x")
        );
        assert!(db.generation() >= 1);
        // A constraint error in one write (duplicate email) is that write's
        // error; the writer keeps serving.
        let dup = db.write(|tx| insert_user(tx, "u0@x")).await;
        assert!(dup.is_err());
        db.write(|tx| insert_user(tx, "fresh@x")).await.unwrap();
    }
}
