//! PostgreSQL access (13+): one connection pool, read and write
//! transactions run on tokio's blocking pool — the same shape as the SQLite
//! backend, so [`crate::store::Store`] hands services the same `&mut dyn Tx`.
//!
//! **Driver and pool.** The store interface is closure-based:
//! `Store::write(|tx: &mut dyn Tx| …)` runs a synchronous closure on the
//! blocking pool and every trait method takes `&mut self`. The blocking
//! [`postgres`] crate with an [`r2d2`] pool (`r2d2_postgres`) mirrors that
//! exactly: one pooled `postgres::Client`, one `postgres::Transaction` per
//! closure, no async inside the store, and the same `r2d2` pool the SQLite
//! backend uses (one set of pool metrics). Each pooled [`Connection`]
//! keeps the statements it has prepared, by query text. An async driver
//! (`tokio-postgres` with `deadpool`) would need the traits to become async
//! or a `block_on` per query on a blocking thread, for no gain while the
//! closures block.
//!
//! **TLS.** Connections use `NoTls` for now: keep the database on a private
//! network or a unix socket. A later change can add `rustls` (with the
//! `ring` provider, never `aws-lc-rs`) through `postgres-rustls`.
//!
//! **Isolation.** Writes run at READ COMMITTED, and rules that count rows
//! another writer may change lock what they count first, where SQLite's
//! single writer made them safe for free: capacity locks the event row
//! ([`crate::store::EventStore::lock_event`]), the upload quota and rate the
//! user's row (`lock_user`), the last-administrator rule the administrators'
//! rows (`lock_administrators`); a registration or recovery token read in a
//! write is held `FOR UPDATE` (codes counted and tokens used one request at
//! a time); the job claim and the reminder scan take their rows with
//! `FOR UPDATE SKIP LOCKED` (each job and reminder once, across instances).
//! Writes past the request's deadline stop waiting (`lock_timeout`,
//! `statement_timeout`). SERIALIZABLE would need
//! every write retried on a serialisation failure, and the service closures
//! are `FnOnce` (they move their inputs in), so they cannot be re-run.
//! Reads run in a READ ONLY, REPEATABLE READ transaction: one snapshot for
//! every query of the closure, as a SQLite read sees.
//!
//! **Other instances' writes.** Cached answers (`service::snapshot`) are
//! checked on every request against [`Db::version`], the sum of the
//! `domain_version` table: each write transaction that changed domain data
//! adds 1 to one of its rows (the connection's slot, so concurrent writers
//! seldom queue on one row lock) just before it commits, atomically with its
//! changes. A write committed through any instance therefore shows through
//! every instance on the next request, at the cost of one small query per
//! cached request. A commit that queued jobs also sends `NOTIFY
//! afisha_jobs`; every instance keeps one connection listening (a thread of
//! its own) and wakes its job scheduler when one arrives, so a job queued
//! through one instance starts within milliseconds wherever a slot is free.
//!
//! **Migrations** (`migrations/postgres/*.pg.sql`, the same versions and
//! tables as the SQLite ones) are applied at start-up under a session-level
//! `pg_advisory_lock`, so several instances starting together apply them
//! once, one after the other.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use postgres::types::ToSql;
use postgres::{IsolationLevel, NoTls, Row, Statement};
use r2d2_postgres::PostgresConnectionManager;
use tokio::sync::Notify;

use crate::domain::error::{DomainError, DomainResult};
use crate::store::sqlite::run_blocking;
use crate::store::{Tx, Waits};

pub mod accounts;
pub mod audit;
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

use crate::domain::error::messages::REQUEST_TIMED_OUT as TIMED_OUT;

/// The advisory lock key migrations run under (any fixed number; this is
/// "afisha" in ASCII).
const MIGRATION_LOCK: i64 = 0x6166_6973_6861;

/// The PostgreSQL migrations, in order: (refinery name, SQL). The files are
/// named `*.pg.sql` so that the SQLite migrations' embedding (which walks
/// `migrations/` recursively for `V<n>__<name>.sql`) does not take them.
const MIGRATIONS: &[(&str, &str)] = &[
    (
        "V1__initial",
        include_str!("../../../migrations/postgres/V1__initial.pg.sql"),
    ),
    (
        "V2__account_secrets",
        include_str!("../../../migrations/postgres/V2__account_secrets.pg.sql"),
    ),
    (
        "V3__outbox",
        include_str!("../../../migrations/postgres/V3__outbox.pg.sql"),
    ),
    (
        "V4__guess_caps",
        include_str!("../../../migrations/postgres/V4__guess_caps.pg.sql"),
    ),
    (
        "V5__uploads_and_coalescing",
        include_str!("../../../migrations/postgres/V5__uploads_and_coalescing.pg.sql"),
    ),
    (
        "V6__backup_status",
        include_str!("../../../migrations/postgres/V6__backup_status.pg.sql"),
    ),
    (
        "V7__shared_limits",
        include_str!("../../../migrations/postgres/V7__shared_limits.pg.sql"),
    ),
    (
        "V8__domain_version",
        include_str!("../../../migrations/postgres/V8__domain_version.pg.sql"),
    ),
    (
        "V9__waiting_list",
        include_str!("../../../migrations/postgres/V9__waiting_list.pg.sql"),
    ),
    (
        "V10__preferences",
        include_str!("../../../migrations/postgres/V10__preferences.pg.sql"),
    ),
    (
        "V11__calendar_and_categories",
        include_str!("../../../migrations/postgres/V11__calendar_and_categories.pg.sql"),
    ),
    (
        "V12__external_identity",
        include_str!("../../../migrations/postgres/V12__external_identity.pg.sql"),
    ),
    (
        "V13__oidc_login",
        include_str!("../../../migrations/postgres/V13__oidc_login.pg.sql"),
    ),
    (
        "V14__checkin_and_managers",
        include_str!("../../../migrations/postgres/V14__checkin_and_managers.pg.sql"),
    ),
    (
        "V15__series",
        include_str!("../../../migrations/postgres/V15__series.pg.sql"),
    ),
    (
        "V16__webhooks",
        include_str!("../../../migrations/postgres/V16__webhooks.pg.sql"),
    ),
    (
        "V17__audit",
        include_str!("../../../migrations/postgres/V17__audit.pg.sql"),
    ),
];

/// How many rows of `domain_version` writers spread their increments over.
const VERSION_SLOTS: i32 = 64;

pub type Pool = r2d2::Pool<Manager>;

/// A pooled connection with the statements it has prepared: each query
/// text is parsed and planned once per connection, and later runs are one
/// round trip (bind + execute) instead of two.
pub struct Connection {
    client: postgres::Client,
    statements: HashMap<String, Statement>,
}

/// Makes [`Connection`]s (connecting through `r2d2_postgres`).
pub struct Manager(PostgresConnectionManager<NoTls>);

impl r2d2::ManageConnection for Manager {
    type Connection = Connection;
    type Error = postgres::Error;

    fn connect(&self) -> Result<Connection, postgres::Error> {
        Ok(Connection {
            client: self.0.connect()?,
            statements: HashMap::new(),
        })
    }

    fn is_valid(&self, conn: &mut Connection) -> Result<(), postgres::Error> {
        self.0.is_valid(&mut conn.client)
    }

    fn has_broken(&self, conn: &mut Connection) -> bool {
        conn.client.is_closed()
    }
}

/// Most distinct statements one connection keeps prepared (the store's
/// queries are a fixed set well below this; the bound only guards memory).
const STATEMENT_CACHE: usize = 256;

#[derive(Clone)]
pub struct Db {
    pool: Arc<PoolHolder>,
    /// Woken after a commit that enqueued jobs.
    pub jobs_enqueued: Arc<Notify>,
    /// How long work waited for a connection, a write and row locks
    /// (metrics).
    waits: Waits,
}

/// Owns the pool and closes it off the async workers: the blocking driver
/// closes a connection by running a small runtime of its own, which tokio
/// forbids on a thread that drives async tasks (a server shutting down
/// drops its store there).
struct PoolHolder(Option<Pool>);

impl std::ops::Deref for PoolHolder {
    type Target = Pool;
    fn deref(&self) -> &Pool {
        self.0.as_ref().expect("pool present until drop")
    }
}

impl Drop for PoolHolder {
    fn drop(&mut self) {
        if let Some(pool) = self.0.take()
            && tokio::runtime::Handle::try_current().is_ok()
        {
            std::thread::spawn(move || drop(pool));
        }
    }
}

impl Db {
    /// Connects to `url` (`postgres://…`) and applies pending migrations.
    pub fn open(url: &str) -> anyhow::Result<Db> {
        let config: postgres::Config = url
            .parse()
            .map_err(|e| anyhow::anyhow!("database.url: not a PostgreSQL URL: {e}"))?;
        // One connection first, for a precise error (the pool only says it
        // timed out) and without waiting for the pool's timeout.
        config
            .connect(NoTls)
            .map_err(|e| anyhow::anyhow!("cannot connect to PostgreSQL: {}", describe(&e)))?;
        let manager = Manager(PostgresConnectionManager::new(config.clone(), NoTls));
        let pool = r2d2::Pool::builder()
            .max_size(16)
            .min_idle(Some(2))
            .connection_timeout(Duration::from_secs(10))
            .build(manager)
            .map_err(|e| anyhow::anyhow!("cannot connect to PostgreSQL: {e}"))?;
        let db = Db {
            pool: Arc::new(PoolHolder(Some(pool))),
            jobs_enqueued: Arc::new(Notify::new()),
            waits: Waits::default(),
        };
        db.migrate()?;
        listen(config, &db.jobs_enqueued);
        Ok(db)
    }

    /// Applies pending migrations under an advisory lock (one instance at a
    /// time); returns how many were applied.
    pub fn migrate(&self) -> anyhow::Result<usize> {
        let mut pooled = self.pool.get()?;
        let conn = &mut pooled.client;
        conn.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])?;
        let migrations = MIGRATIONS
            .iter()
            .map(|(name, sql)| refinery::Migration::unapplied(name, sql))
            .collect::<Result<Vec<_>, _>>();
        let outcome = migrations
            .map_err(anyhow::Error::from)
            .and_then(|m| Ok(refinery::Runner::new(&m).run(conn)?));
        // The lock is the session's: release it even when a migration failed
        // (the connection goes back to the pool).
        conn.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])?;
        Ok(outcome?.applied_migrations().len())
    }

    /// Runs `SELECT 1`.
    pub async fn ping(&self) -> DomainResult<()> {
        let pool = self.pool.clone();
        run_blocking(move || {
            pool.get()?.client.simple_query("SELECT 1")?;
            Ok(())
        })
        .await
    }

    /// The domain version (see the module doc): equal for two reads only
    /// if no domain change committed between them. One query on a pooled
    /// connection, outside any transaction.
    pub async fn version(&self) -> DomainResult<u64> {
        let pool = self.pool.clone();
        run_blocking(move || {
            let mut conn = pool.get()?;
            let Connection { client, statements } = &mut *conn;
            const SQL: &str = "SELECT coalesce(sum(v), 0)::BIGINT FROM domain_version";
            let statement = match statements.get(SQL) {
                Some(statement) => statement.clone(),
                None => {
                    let statement = client.prepare(SQL)?;
                    statements.insert(SQL.to_string(), statement.clone());
                    statement
                }
            };
            let v: i64 = client.query_one(&statement, &[])?.try_get(0)?;
            Ok(v as u64)
        })
        .await
    }

    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Where waits for a connection, a write and row locks are recorded.
    pub fn waits(&self) -> &Waits {
        &self.waits
    }

    /// A pooled connection, its wait recorded.
    fn connection(&self) -> Result<r2d2::PooledConnection<Manager>, r2d2::Error> {
        let asked = Instant::now();
        let conn = self.pool.get()?;
        self.waits.connection(asked);
        Ok(conn)
    }

    /// Runs `f` on a pooled connection on the blocking pool. Raw
    /// connections are for this backend's own tools and for tests that
    /// inspect what was stored; services use the store traits.
    pub async fn raw<T, F>(&self, f: F) -> DomainResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut postgres::Client) -> DomainResult<T> + Send + 'static,
    {
        let pool = self.pool.clone();
        run_blocking(move || f(&mut pool.get()?.client)).await
    }

    pub async fn read_tx<T, F>(&self, f: F) -> DomainResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn Tx) -> DomainResult<T> + Send + 'static,
    {
        let db = self.clone();
        run_blocking(move || db.read_tx_blocking(f)).await
    }

    pub async fn write_tx<T, F>(&self, f: F) -> DomainResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn Tx) -> DomainResult<T> + Send + 'static,
    {
        let db = self.clone();
        let deadline = crate::deadline::current();
        run_blocking(move || db.write_until(deadline, f)).await
    }

    pub fn read_tx_blocking<T>(
        &self,
        f: impl FnOnce(&mut dyn Tx) -> DomainResult<T>,
    ) -> DomainResult<T> {
        let mut conn = self.connection()?;
        let Connection { client, statements } = &mut *conn;
        let mut tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()?;
        let value = f(&mut PgTx::new(&mut tx, statements, &self.waits, false))?;
        tx.commit()?;
        Ok(value)
    }

    pub fn write_tx_blocking<T>(
        &self,
        f: impl FnOnce(&mut dyn Tx) -> DomainResult<T>,
    ) -> DomainResult<T> {
        self.write_until(None, f)
    }

    /// A write that refuses to start, and rolls back instead of committing,
    /// once `deadline` has passed (the request already answered 503).
    fn write_until<T>(
        &self,
        deadline: Option<Instant>,
        f: impl FnOnce(&mut dyn Tx) -> DomainResult<T>,
    ) -> DomainResult<T> {
        let late = || DomainError::Unavailable(TIMED_OUT.into());
        let asked = Instant::now();
        let mut conn = self.connection()?;
        if crate::deadline::passed(deadline) {
            return Err(late());
        }
        let Connection { client, statements } = &mut *conn;
        let mut tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::ReadCommitted)
            .start()?;
        self.waits.write(asked);
        if let Some(deadline) = deadline {
            // Waits for row locks and statements end with the request: a
            // write that could no longer commit does not hold a connection
            // (and a blocking thread) for longer.
            // Rounded up, so a timeout means the deadline has passed.
            let ms = deadline
                .saturating_duration_since(Instant::now())
                .as_millis()
                + 1;
            tx.batch_execute(&format!(
                "SET LOCAL lock_timeout = {ms}; SET LOCAL statement_timeout = {ms}"
            ))?;
        }
        let mut pg = PgTx::new(&mut tx, statements, &self.waits, true);
        let value = match f(&mut pg) {
            Ok(value) => value,
            // Cut off by the timeouts above: the request's own answer.
            Err(_) if crate::deadline::passed(deadline) => return Err(late()),
            Err(e) => return Err(e),
        };
        if pg.changed {
            // Last, so the slot's row lock is held only for the commit;
            // committed (or rolled back) with the changes it counts.
            pg.exec(
                "INSERT INTO domain_version (slot, v) VALUES (pg_backend_pid() % $1, 1)
                 ON CONFLICT (slot) DO UPDATE SET v = domain_version.v + 1",
                &[&VERSION_SLOTS],
            )?;
        }
        let enqueued = pg.enqueued;
        if crate::deadline::passed(deadline) {
            // Dropping the transaction rolls it back.
            return Err(late());
        }
        if enqueued {
            // Delivered to every instance's listener when (and only if) the
            // transaction commits.
            tx.batch_execute("NOTIFY afisha_jobs")?;
        }
        tx.commit()?;
        if enqueued {
            self.jobs_enqueued.notify_one();
        }
        Ok(value)
    }
}

/// Starts the thread that listens for other instances' queued jobs (see
/// the module doc). It holds the waker weakly and ends once the `Db` is
/// gone.
fn listen(config: postgres::Config, jobs: &Arc<Notify>) {
    let jobs = Arc::downgrade(jobs);
    let spawned = std::thread::Builder::new()
        .name("afisha-pg-listen".into())
        .spawn(move || {
            let mut client: Option<postgres::Client> = None;
            loop {
                let Some(jobs) = jobs.upgrade() else {
                    return;
                };
                let Some(c) = client.as_mut().filter(|c| !c.is_closed()) else {
                    match config.connect(NoTls).and_then(|mut c| {
                        c.batch_execute("LISTEN afisha_jobs")?;
                        Ok(c)
                    }) {
                        Ok(c) => {
                            client = Some(c);
                            // Whatever was sent while nobody listened.
                            jobs.notify_one();
                        }
                        Err(e) => {
                            tracing::warn!(
                                "listening for other instances' writes: {}",
                                describe(&e)
                            );
                            std::thread::sleep(Duration::from_secs(1));
                        }
                    }
                    continue;
                };
                let failed = drain(c, &jobs);
                if failed {
                    client = None;
                    std::thread::sleep(Duration::from_secs(1));
                }
            }
        });
    if let Err(e) = spawned {
        tracing::error!("cannot start the PostgreSQL listener: {e}");
    }
}

/// Handles the notifications that arrive within a second (then returns, so
/// the caller sees whether the `Db` is still there); `true` when the
/// connection failed.
fn drain(client: &mut postgres::Client, jobs: &Notify) -> bool {
    use postgres::fallible_iterator::FallibleIterator;
    let mut notifications = client.notifications();
    let mut pending = notifications.timeout_iter(Duration::from_secs(1));
    loop {
        match pending.next() {
            Ok(Some(_)) => jobs.notify_one(),
            Ok(None) => return false,
            Err(e) => {
                tracing::warn!("listening for other instances' writes: {}", describe(&e));
                return true;
            }
        }
    }
}

impl From<postgres::Error> for DomainError {
    fn from(e: postgres::Error) -> Self {
        use postgres::error::SqlState;
        let unavailable = match e.code() {
            // Connection exceptions, insufficient resources, operator
            // intervention (shutdown), lock and serialisation conflicts.
            Some(code) => {
                let class = &code.code()[..2];
                matches!(class, "08" | "53" | "57")
                    || *code == SqlState::T_R_DEADLOCK_DETECTED
                    || *code == SqlState::T_R_SERIALIZATION_FAILURE
                    || *code == SqlState::LOCK_NOT_AVAILABLE
            }
            // No server answer: the connection is gone.
            None => e.is_closed() || std::error::Error::source(&e).is_some(),
        };
        if unavailable {
            DomainError::Unavailable(format!("database: {}", describe(&e)))
        } else {
            DomainError::internal(describe(&e))
        }
    }
}

/// The error with the server's message, detail and SQLSTATE (the driver's
/// `Display` says only "db error").
pub fn describe(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut text = format!("PostgreSQL {}: {}", db.code().code(), db.message());
            if let Some(detail) = db.detail() {
                text.push_str(&format!(" ({detail})"));
            }
            text
        }
        None => {
            let mut text = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(cause) = source {
                text.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            text
        }
    }
}

/// Whether `e` is a unique-constraint violation.
pub(crate) fn is_unique_violation(e: &postgres::Error) -> bool {
    e.code() == Some(&postgres::error::SqlState::UNIQUE_VIOLATION)
}

/// One transaction as the store traits see it.
pub struct PgTx<'a, 'c> {
    tx: &'a mut postgres::Transaction<'c>,
    /// The connection's prepared statements, by query text.
    statements: &'a mut HashMap<String, Statement>,
    /// Where [`PgTx::lock_rows`] records its waits.
    waits: &'a Waits,
    write: bool,
    /// A job was inserted: wake the scheduler after the commit.
    enqueued: bool,
    /// Domain data changed (anything but job bookkeeping and session
    /// touches): the commit bumps the domain version, so cached answers
    /// are recomputed.
    changed: bool,
}

type Params<'p> = &'p [&'p (dyn ToSql + Sync)];

impl<'a, 'c> PgTx<'a, 'c> {
    fn new(
        tx: &'a mut postgres::Transaction<'c>,
        statements: &'a mut HashMap<String, Statement>,
        waits: &'a Waits,
        write: bool,
    ) -> Self {
        PgTx {
            tx,
            statements,
            waits,
            write,
            enqueued: false,
            changed: false,
        }
    }

    /// `FOR UPDATE` in a write transaction (rows read there are held until
    /// the commit), nothing in a read.
    pub(crate) fn for_update(&self) -> &'static str {
        if self.write { "FOR UPDATE" } else { "" }
    }

    /// Records that a job was inserted. Enqueueing in a read is a defect.
    pub(crate) fn mark_enqueued(&mut self) -> DomainResult<()> {
        if !self.write {
            return Err(DomainError::internal("a job was enqueued in a read"));
        }
        self.enqueued = true;
        Ok(())
    }

    /// The prepared statement for `sql` (prepared on first use on this
    /// connection). A statement prepared inside a transaction that then
    /// rolls back stays prepared: statements belong to the session.
    fn statement(&mut self, sql: &str) -> Result<Statement, postgres::Error> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.tx.prepare(sql)?;
        if self.statements.len() >= STATEMENT_CACHE {
            self.statements.clear();
        }
        self.statements.insert(sql.to_string(), statement.clone());
        Ok(statement)
    }

    pub(crate) fn try_rows(
        &mut self,
        sql: &str,
        params: Params,
    ) -> Result<Vec<Row>, postgres::Error> {
        let statement = self.statement(sql)?;
        self.tx.query(&statement, params)
    }

    pub(crate) fn rows(&mut self, sql: &str, params: Params) -> DomainResult<Vec<Row>> {
        Ok(self.try_rows(sql, params)?)
    }

    /// A `SELECT … FOR UPDATE` that only takes the row locks a rule counts
    /// under; its time (mostly waiting for another transaction holding
    /// them) is recorded as a row-lock wait.
    pub(crate) fn lock_rows(&mut self, sql: &str, params: Params) -> DomainResult<()> {
        let statement = self.statement(sql)?;
        let started = Instant::now();
        let locked = self.tx.query(&statement, params);
        self.waits.row_lock(started);
        locked?;
        Ok(())
    }

    pub(crate) fn opt(&mut self, sql: &str, params: Params) -> DomainResult<Option<Row>> {
        let statement = self.statement(sql)?;
        Ok(self.tx.query_opt(&statement, params)?)
    }

    pub(crate) fn one(&mut self, sql: &str, params: Params) -> DomainResult<Row> {
        let statement = self.statement(sql)?;
        Ok(self.tx.query_one(&statement, params)?)
    }

    /// A statement that changes only bookkeeping (the job queue, session
    /// touches): cached answers stay valid.
    pub(crate) fn exec(&mut self, sql: &str, params: Params) -> DomainResult<u64> {
        let statement = self.statement(sql)?;
        Ok(self.tx.execute(&statement, params)?)
    }

    /// A statement that changes domain data (see `changed`).
    pub(crate) fn change(&mut self, sql: &str, params: Params) -> DomainResult<u64> {
        let n = self.exec(sql, params)?;
        self.changed |= n > 0;
        Ok(n)
    }

    /// [`PgTx::change`] for a statement returning rows (`RETURNING …`).
    pub(crate) fn change_rows(&mut self, sql: &str, params: Params) -> DomainResult<Vec<Row>> {
        let rows = self.rows(sql, params)?;
        self.changed |= !rows.is_empty();
        Ok(rows)
    }
}
