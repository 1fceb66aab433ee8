//! Queries of the durable job queue, and the deletes of the hourly
//! clean-up.

use crate::domain::error::DomainResult;
use crate::domain::time::Ts;

/// A job to insert.
#[derive(Debug, Clone)]
pub struct NewJob<'a> {
    pub kind: &'a str,
    pub payload: &'a serde_json::Value,
    /// Sealed secret the job delivers (see `crate::secrets`), if any.
    pub secret: Option<&'a str>,
    pub run_at: Ts,
    pub max_attempts: u32,
    /// Names what the job tells whom, for coalescing (see
    /// [`JobStore::coalesced_since`]); `None` for jobs never coalesced.
    pub coalesce_key: Option<&'a str>,
}

/// A pending job as the queue holds it.
#[derive(Debug, Clone)]
pub struct QueuedJob {
    pub id: i64,
    pub kind: String,
    pub payload: String,
    /// The sealed secret; `None` when the job has none or it was dropped.
    pub secret: Option<String>,
    /// Attempts started so far.
    pub attempts: u32,
    pub max_attempts: u32,
}

/// One row of the queue, for listings.
#[derive(Debug, Clone)]
pub struct JobRecord {
    pub id: i64,
    pub kind: String,
    pub payload: String,
    pub attempts: u32,
    pub max_attempts: u32,
    pub run_at: Ts,
    pub created_at: Ts,
    pub done_at: Option<Ts>,
    pub failed_at: Option<Ts>,
    pub locked_until: Option<Ts>,
    pub last_error: Option<String>,
}

/// Where a job stands, for `retry`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStatus {
    Pending,
    Done,
    Failed,
}

/// Which email jobs the administrators' outbox lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxFilter {
    /// Every email job.
    All,
    /// Not delivered yet: waiting, running or retrying after a failure.
    Queued,
    /// Delivered (until the clean-up deletes it).
    Sent,
    /// Given up on (attempts used up, or a permanent error).
    Failed,
}

impl OutboxFilter {
    /// The name the route and the queries use.
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxFilter::All => "all",
            OutboxFilter::Queued => "queued",
            OutboxFilter::Sent => "sent",
            OutboxFilter::Failed => "failed",
        }
    }
}

/// How email delivery is doing, from the queue's point of view.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MailStats {
    /// When the latest email job was delivered (done jobs are kept
    /// `jobs.retention_days`).
    pub last_sent_at: Option<Ts>,
    /// Email jobs not delivered yet.
    pub queued: i64,
    /// Email jobs failing now: waiting to retry after a failed attempt, or
    /// failed after the latest delivery.
    pub failing: i64,
    /// Failed email jobs (however old).
    pub failed: i64,
    /// The error of the newest failing job.
    pub last_error: Option<String>,
}

/// Rows the clean-up deletes, by age.
#[derive(Debug, Clone, Copy)]
pub struct SweepBefore {
    /// Registrations created before this.
    pub registrations: Ts,
    /// Unused recovery tokens created before this (used ones always go).
    pub recoveries: Ts,
    /// Sessions last seen at or before this.
    pub sessions: Ts,
    /// Jobs done before this.
    pub done_jobs: Ts,
}

/// How many rows a clean-up deleted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    pub registrations: usize,
    pub recoveries: usize,
    pub sessions: usize,
    pub jobs: usize,
    /// Unused uploaded images (deleted by the service, not the sweep).
    pub images: usize,
    /// Audit entries past their retention (service::audit::sweep).
    pub audit: usize,
}

/// The job queue queries a transaction offers.
pub trait JobStore {
    /// Inserts a job in this (write) transaction; the scheduler is woken
    /// after the commit. Returns its id.
    fn enqueue_job(&mut self, job: &NewJob<'_>, now: Ts) -> DomainResult<i64>;
    /// Pending jobs whose `run_at` has come and whose lock is free or
    /// expired, oldest `run_at` first.
    fn due_jobs(&mut self, now: Ts, limit: usize) -> DomainResult<Vec<QueuedJob>>;
    /// Locks a job for `worker` until `until` and counts the attempt.
    fn lock_job(&mut self, id: i64, worker: &str, until: Ts) -> DomainResult<()>;
    /// Marks a job done (whoever holds its lock) and drops its secret.
    fn job_done(&mut self, id: i64, now: Ts) -> DomainResult<()>;
    /// Puts a job back for `run_at`, if `worker` still holds its lock.
    fn job_retry(&mut self, id: i64, worker: &str, run_at: Ts, error: &str) -> DomainResult<()>;
    /// Marks a pending job failed and drops its secret; with `worker`, only
    /// if that worker still holds its lock.
    fn job_failed(
        &mut self,
        id: i64,
        worker: Option<&str>,
        now: Ts,
        error: &str,
    ) -> DomainResult<()>;
    /// The earliest moment after `now` at which a pending job becomes
    /// claimable (its `run_at` or, while locked, its lock expiry).
    fn next_job_due(&mut self, now: Ts) -> DomainResult<Option<Ts>>;
    /// Jobs, newest first; only failed ones when `failed_only`.
    fn list_jobs(&mut self, failed_only: bool, limit: usize) -> DomainResult<Vec<JobRecord>>;
    /// Where job `id` stands; `None` when there is no such job.
    fn job_status(&mut self, id: i64) -> DomainResult<Option<JobStatus>>;
    /// Puts failed jobs (one, or all with `None`) back in the queue with
    /// their attempts reset; returns how many.
    fn revive_failed_jobs(&mut self, id: Option<i64>, now: Ts) -> DomainResult<usize>;
    /// Jobs of `kind` (email) for the outbox listing, newest first.
    fn list_outbox(
        &mut self,
        kind: &str,
        filter: OutboxFilter,
        limit: usize,
        offset: usize,
    ) -> DomainResult<Vec<JobRecord>>;
    /// Job `id` of `kind`, if there is one.
    fn job_of_kind(&mut self, kind: &str, id: i64) -> DomainResult<Option<JobRecord>>;
    /// Moves the run of a pending job of `kind` that is not running
    /// (waiting, or waiting to retry) to `now`; with `None`, of every such
    /// job that failed an attempt. Returns how many.
    fn run_pending_now(&mut self, kind: &str, id: Option<i64>, now: Ts) -> DomainResult<usize>;
    /// Delivery figures of the jobs of `kind` (see [`MailStats`]).
    fn mail_stats(&mut self, kind: &str) -> DomainResult<MailStats>;
    /// Whether a job with `key` was enqueued at or after `since`.
    fn coalesced_since(&mut self, key: &str, since: Ts) -> DomainResult<bool>;
    /// Pending and failed job counts (the queue depth gauges).
    fn job_counts(&mut self) -> DomainResult<(i64, i64)>;
    /// The clean-up's deletes (registrations, recovery tokens, sessions,
    /// done jobs).
    fn sweep(&mut self, before: &SweepBefore) -> DomainResult<Swept>;
    /// Takes the tick of the recurring scan `name` for `worker`: when its
    /// next run is due at `now` (or the last run is after `next`, one period
    /// ahead: this clock was set back — a smaller lead is another
    /// instance's clock running a little ahead, and waits), sets it to
    /// `next` and answers `None` — the caller runs the scan;
    /// otherwise (another process took this tick) answers when the next run
    /// is due. Atomic across processes sharing the database.
    fn take_tick(
        &mut self,
        name: &str,
        worker: &str,
        now: Ts,
        next: Ts,
    ) -> DomainResult<Option<Ts>>;
}
