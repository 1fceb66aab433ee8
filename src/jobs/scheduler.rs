//! The scheduler: one tokio task in `afisha serve` that claims due jobs and
//! runs them with bounded concurrency, and runs the recurring work (the
//! reminder scan every minute, the clean-up and the series generator every
//! hour). Each tick of a
//! recurring scan runs once across every process on the database: the
//! scheduler takes the tick first (`service::jobs::take_tick`) and skips it
//! when another instance already has.
//!
//! It sleeps until the earliest of: the next job's `run_at` (or lock
//! expiry), the next recurring run, a commit that enqueued a job, a running
//! job finishing, a jump of the (manual) clock, or shutdown. All times come
//! from the injectable clock; SQLite work runs on the blocking pool.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::Duration;
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;

use crate::domain::error::DomainResult;
use crate::domain::time::Ts;
use futures_util::FutureExt;

use crate::email::mailer::{Mailer, panic_message};
use crate::email::{Audience, Mail, Renderer};
use crate::service::jobs::{Claimed, Ended, Outcome, Tick};
use crate::service::outbox::{self, EMAIL, EmailJob};
use crate::service::{Services, backups, cleanup, jobs, reminders, series, webhooks};

/// Job kind that panics when run, with `server.debug` on (tests of the
/// panic guard); without debug it is an unknown kind.
pub const DEBUG_PANIC: &str = "debug-panic";
/// How often the reminder scan runs.
pub const REMINDER_EVERY: Duration = Duration::minutes(1);
/// How often the clean-up runs.
pub const CLEANUP_EVERY: Duration = Duration::hours(1);
/// The reminder scan's name (its tick row, its metric label).
pub const REMINDERS: &str = "reminders";
/// The clean-up's name.
pub const CLEANUP: &str = "cleanup";
/// How often the series generator extends every series to the horizon.
pub const SERIES_EVERY: Duration = Duration::hours(1);
/// The series generator's name.
pub const SERIES: &str = "series";
/// The longest real-time sleep: a safety net that also picks up jobs another
/// process (`afisha jobs retry`) put back in the queue.
const MAX_SLEEP: StdDuration = StdDuration::from_secs(60);
/// After a database error, wait this long before trying again.
const ERROR_PAUSE: StdDuration = StdDuration::from_secs(1);

/// Starts the scheduler; it stops claiming when `shutdown` fires and then
/// waits (at most `server.shutdown_grace_secs`) for running jobs.
pub fn start(svc: &Services, renderer: Renderer, shutdown: CancellationToken) -> JoinHandle<()> {
    let svc = svc.clone();
    // Built inside the task: the SMTP transport needs the runtime.
    tokio::spawn(async move { Scheduler::new(svc, renderer).run(shutdown).await })
}

/// What a running job needs; shared by every job task.
struct Runner {
    svc: Services,
    worker: String,
    mailer: Result<Mailer, String>,
    renderer: Renderer,
}

struct Scheduler {
    runner: Arc<Runner>,
    tasks: JoinSet<Ended>,
    /// Job ids by the task running them.
    running: HashMap<tokio::task::Id, i64>,
    /// Runs that ended and are recorded with the next claim, in the same
    /// transaction (one write per batch instead of two per job).
    ended: Vec<Ended>,
    next_reminders: Ts,
    next_cleanup: Ts,
    next_series: Ts,
    /// Scheduled backups: the next run (`None` = off), once armed.
    next_backup: Option<Ts>,
    backup_armed: bool,
    /// The backup running on a blocking thread, if any.
    backup: Option<JoinHandle<()>>,
    /// The last claim filled every free slot: there is a backlog.
    backlogged: bool,
}

/// With a backlog, finished runs are gathered this long before the next
/// record-and-claim transaction, so the queue's bookkeeping takes one write
/// per batch instead of one per job and leaves the single writer to
/// requests.
const BATCH_LINGER: std::time::Duration = std::time::Duration::from_millis(2);

impl Scheduler {
    fn new(svc: Services, renderer: Renderer) -> Scheduler {
        let mailer = Mailer::new(&svc.config).map_err(|e| {
            tracing::error!("email delivery is not configured correctly: {e:#}");
            format!("{e:#}")
        });
        let worker = format!(
            "{}-{}",
            std::process::id(),
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        let now = svc.now();
        Scheduler {
            runner: Arc::new(Runner {
                svc,
                worker,
                mailer,
                renderer,
            }),
            tasks: JoinSet::new(),
            running: HashMap::new(),
            ended: Vec::new(),
            next_reminders: now,
            next_cleanup: now,
            next_series: now,
            next_backup: None,
            backup_armed: false,
            backup: None,
            backlogged: false,
        }
    }

    fn svc(&self) -> &Services {
        &self.runner.svc
    }

    async fn run(mut self, shutdown: CancellationToken) {
        let state = self.svc().clone();
        let enqueued = state.store.jobs_enqueued();
        let concurrency = state.config.jobs.concurrency.max(1);
        tracing::debug!(worker = %self.runner.worker, "job scheduler started");
        loop {
            // Listen for clock jumps before reading the clock, so a jump
            // between the two is not missed.
            let jumped = async {
                match state.clock.jumped() {
                    Some(notify) => notify.notified().await,
                    None => std::future::pending().await,
                }
            };
            tokio::pin!(jumped);
            // Polling once registers the waiter (Notify::notified is lazy).
            let _ = futures_util::poll!(jumped.as_mut());
            if shutdown.is_cancelled() {
                break;
            }
            if self.backlogged && !self.tasks.is_empty() {
                tokio::time::sleep(BATCH_LINGER).await;
            }
            while let Some(ended) = self.tasks.try_join_next_with_id() {
                self.reap(ended);
            }

            let now = state.now();
            self.recurring(now).await;

            let mut wake_at = self
                .next_reminders
                .min(self.next_cleanup)
                .min(self.next_series);
            if let Some(at) = self.next_backup {
                wake_at = wake_at.min(at);
            }
            let mut pause = None;
            let free = concurrency.saturating_sub(self.tasks.len());
            // With every slot busy, a finishing job wakes the loop; the
            // next due time only matters when the due jobs ran out.
            let mut saturated = free == 0;
            if free > 0 || !self.ended.is_empty() {
                match self.record_and_claim(free).await {
                    Ok(claimed) => {
                        saturated = claimed.len() == free;
                        self.backlogged = free > 0 && saturated;
                        for job in claimed {
                            let runner = self.runner.clone();
                            let id = job.id;
                            let handle = self.tasks.spawn(async move { runner.run(job).await });
                            self.running.insert(handle.id(), id);
                        }
                    }
                    Err(e) => {
                        tracing::error!("updating the job queue failed: {e}");
                        pause = Some(ERROR_PAUSE);
                    }
                }
            }
            let next_due = if saturated {
                Ok(None)
            } else {
                jobs::next_due(&state).await
            };
            match next_due {
                Ok(Some(at)) => wake_at = wake_at.min(at),
                Ok(None) => {}
                Err(e) => {
                    tracing::error!("reading the job queue failed: {e}");
                    pause = Some(ERROR_PAUSE);
                }
            }
            let sleep = pause.unwrap_or_else(|| {
                (wake_at.0 - state.now().0)
                    .to_std()
                    .unwrap_or(StdDuration::ZERO)
                    .min(MAX_SLEEP)
            });
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = enqueued.notified() => {}
                _ = &mut jumped => {}
                Some(ended) = self.tasks.join_next_with_id(), if !self.tasks.is_empty() => {
                    self.reap(ended);
                }
                _ = tokio::time::sleep(sleep) => {}
            }
        }
        self.drain(StdDuration::from_secs(
            state.config.server.shutdown_grace_secs,
        ))
        .await;
        tracing::debug!("job scheduler stopped");
    }

    /// Runs the reminder scan and the clean-up when they are due.
    async fn recurring(&mut self, now: Ts) {
        // A clock set backwards must not postpone them by the jump.
        if self.next_reminders.0 > now.0 + REMINDER_EVERY {
            self.next_reminders = now;
        }
        if self.next_cleanup.0 > now.0 + CLEANUP_EVERY {
            self.next_cleanup = now;
        }
        if self.next_series.0 > now.0 + SERIES_EVERY {
            self.next_series = now;
        }
        if now >= self.next_reminders {
            let (run, next) = self.take_tick(REMINDERS, now, REMINDER_EVERY).await;
            self.next_reminders = next;
            if run {
                match reminders::scan(self.svc()).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!("sent {n} event reminder(s)"),
                    Err(e) => tracing::error!("reminder scan failed: {e}"),
                }
            }
        }
        if now >= self.next_cleanup {
            let (run, next) = self.take_tick(CLEANUP, now, CLEANUP_EVERY).await;
            self.next_cleanup = next;
            if run {
                match cleanup::run(self.svc()).await {
                    Ok(swept) if swept.total() > 0 => tracing::info!("clean-up: {swept}"),
                    Ok(_) => {}
                    Err(e) => tracing::error!("clean-up failed: {e}"),
                }
            }
        }
        if now >= self.next_series {
            let (run, next) = self.take_tick(SERIES, now, SERIES_EVERY).await;
            self.next_series = next;
            if run {
                match series::extend_all(self.svc()).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!("created {n} occurrence(s) of recurring series"),
                    Err(e) => tracing::error!("extending recurring series failed: {e}"),
                }
            }
        }
        self.scheduled_backup(now).await;
    }

    /// Takes the tick of the scan `name` due at `now`: answers whether this
    /// process runs it now, and when the scan is next due (one period on
    /// when it runs here; when another process took the tick, the moment
    /// that process set).
    async fn take_tick(&self, name: &'static str, now: Ts, every: Duration) -> (bool, Ts) {
        let next = Ts(now.0 + every);
        match jobs::take_tick(self.svc(), name, now, every, &self.runner.worker).await {
            Ok(Tick::Run) => {
                self.svc().metrics.scan(name, true);
                (true, next)
            }
            Ok(Tick::Taken(at)) => {
                tracing::debug!(scan = name, "another instance runs this tick");
                self.svc().metrics.scan(name, false);
                (false, at)
            }
            // Tried again one period on, as a failed scan is.
            Err(e) => {
                tracing::error!("taking the {name} tick failed: {e}");
                (false, next)
            }
        }
    }

    /// Starts a scheduled backup when one is due. It runs in its own task
    /// (the copy on a blocking thread), so the queue keeps moving.
    async fn scheduled_backup(&mut self, now: Ts) {
        if !self.backup_armed {
            match backups::arm(self.svc()).await {
                Ok(next) => {
                    self.next_backup = next;
                    self.backup_armed = true;
                }
                Err(e) => {
                    tracing::error!("reading the backup schedule failed: {e}");
                    return;
                }
            }
        }
        let Some(due) = self.next_backup else {
            return;
        };
        // A clock set backwards must not postpone it by the jump (a
        // scheduled moment before `due` but after now means exactly that).
        if let Some(earlier) = backups::next_after(self.svc(), now)
            && earlier < due
        {
            self.next_backup = Some(earlier);
        }
        if now < due {
            return;
        }
        self.next_backup = backups::next_after(self.svc(), now);
        if self.backup.as_ref().is_some_and(|b| !b.is_finished()) {
            tracing::warn!("the previous scheduled backup is still running; skipping this one");
            return;
        }
        let svc = self.svc().clone();
        self.backup = Some(tokio::spawn(async move {
            // Logged, counted and recorded by the service.
            let _ = backups::run_scheduled(&svc).await;
        }));
    }

    /// In one write transaction: records the runs that ended, then claims
    /// up to `limit` due jobs. On error the ended runs stay for next time.
    async fn record_and_claim(&mut self, limit: usize) -> DomainResult<Vec<Claimed>> {
        let skip: HashSet<i64> = self.running.values().copied().collect();
        let ended = std::mem::take(&mut self.ended);
        let result = jobs::record_and_claim(
            &self.runner.svc,
            &self.runner.worker,
            ended.clone(),
            limit,
            skip,
        )
        .await;
        if result.is_err() {
            // Rolled back: record these runs with the next attempt.
            self.ended = ended;
        }
        result
    }

    fn reap(&mut self, ended: Result<(tokio::task::Id, Ended), tokio::task::JoinError>) {
        match ended {
            Ok((id, ended)) => {
                self.running.remove(&id);
                self.ended.push(ended);
            }
            Err(e) => {
                if e.is_panic() {
                    tracing::error!("a job panicked; it runs again after its lock expires");
                }
                self.running.remove(&e.id());
            }
        }
    }

    /// Waits for running jobs, at most `grace`; jobs still running then are
    /// abandoned and run again once their lock expires.
    async fn drain(&mut self, grace: StdDuration) {
        let finished = tokio::time::timeout(grace, async {
            while let Some(ended) = self.tasks.join_next_with_id().await {
                self.reap(ended);
            }
        })
        .await;
        if finished.is_err() {
            tracing::warn!(
                "{} job(s) still running after {grace:?}; they will run again after their lock expires",
                self.tasks.len()
            );
            self.tasks.abort_all();
        }
        if let Some(backup) = self.backup.take()
            && tokio::time::timeout(grace, backup).await.is_err()
        {
            tracing::warn!(
                "a scheduled backup was still running at shutdown; its .partial copy is removed by the next run"
            );
        }
        if !self.ended.is_empty()
            && let Err(e) = self.record_and_claim(0).await
        {
            tracing::error!(
                "recording finished jobs failed ({e}); they run again after their lock expires"
            );
        }
    }
}

impl Runner {
    /// Runs one claimed job; the scheduler records the outcome.
    async fn run(&self, job: Claimed) -> Ended {
        let limit = StdDuration::from_secs(self.svc.config.jobs.lock_secs);
        // A panic in a job is caught here and recorded as a failed attempt
        // (retried with backoff like any other), never lost with its task.
        let guarded = std::panic::AssertUnwindSafe(self.execute(&job)).catch_unwind();
        let outcome = match tokio::time::timeout(limit, guarded).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(panic)) => {
                self.svc.metrics.job_retried();
                Outcome::Retry(format!("the job panicked: {}", panic_message(&*panic)))
            }
            Err(_) => Outcome::Retry(format!("timed out after {limit:?}")),
        };
        match &outcome {
            Outcome::Done => tracing::debug!(job = job.id, kind = %job.kind, "job done"),
            Outcome::Retry(e) | Outcome::Fail(e) => tracing::warn!(
                job = job.id,
                kind = %job.kind,
                attempt = job.attempts,
                max_attempts = job.max_attempts,
                "job failed: {e}"
            ),
        }
        Ended {
            job,
            outcome,
            at: self.svc.now(),
        }
    }

    async fn execute(&self, job: &Claimed) -> Outcome {
        let outcome = self.run_kind(job).await;
        let metrics = &self.svc.metrics;
        match &outcome {
            Outcome::Done => metrics.job_done(),
            Outcome::Retry(_) if job.attempts < job.max_attempts => metrics.job_retried(),
            _ => metrics.job_failed(),
        };
        outcome
    }

    async fn run_kind(&self, job: &Claimed) -> Outcome {
        match job.kind.as_str() {
            EMAIL => {
                let mail = match self.compose(job) {
                    Ok(mail) => mail,
                    Err(outcome) => return outcome,
                };
                let mailer = match &self.mailer {
                    Ok(mailer) => mailer,
                    Err(e) => return Outcome::Retry(e.clone()),
                };
                match mailer.send(&mail, &message_key(job), self.svc.now()).await {
                    Ok(()) => {
                        self.svc.metrics.email_sent();
                        Outcome::Done
                    }
                    Err(e) => {
                        self.svc.metrics.email_failed();
                        if e.permanent {
                            Outcome::Fail(e.message)
                        } else {
                            Outcome::Retry(e.message)
                        }
                    }
                }
            }
            webhooks::WEBHOOK => webhooks::deliver(&self.svc, job).await,
            // A job that panics, for tests of the guard above (debug only).
            DEBUG_PANIC if self.svc.config.server.debug => {
                panic!("debug job {} panicked on purpose", job.id)
            }
            other => Outcome::Fail(format!("unknown job kind '{other}'")),
        }
    }

    /// The message of an email job: its notice, with the unsealed secret put
    /// back, rendered now (outside any write transaction). Jobs queued
    /// before notices were typed carry their words already.
    fn compose(&self, job: &Claimed) -> Result<Mail, Outcome> {
        let typed: EmailJob = match serde_json::from_str(&job.payload) {
            Ok(typed) => typed,
            Err(typed_error) => {
                return serde_json::from_str::<Mail>(&job.payload)
                    .map_err(|_| Outcome::Fail(format!("malformed email payload: {typed_error}")));
            }
        };
        let mut notice = typed.notice;
        if outbox::has_secret(&notice) {
            let Some(sealed) = &job.secret else {
                return Err(Outcome::Fail(
                    "secret dropped after failure; ask for a new code/link".into(),
                ));
            };
            let restored = self
                .svc
                .secrets
                .open_sealed(sealed)
                .and_then(|secret| outbox::restore_secret(notice, secret));
            notice = restored.ok_or_else(|| {
                Outcome::Fail(
                    "the sealed secret cannot be opened (was secret.key replaced?); ask for a new code/link"
                        .into(),
                )
            })?;
        }
        // The ticket is derived here, never stored in the job.
        let ticket_qr = typed.ticket_for.map(|(event_id, user_id)| {
            crate::service::organiser::ticket(&self.svc, event_id, user_id).qr_url
        });
        let audience = Audience {
            ticket_qr,
            locale: typed.locale,
            time_zone: typed.time_zone.clone(),
        };
        let message = self
            .renderer
            .render_for(&notice, &typed.to_name, typed.admin_view, &audience)
            .map_err(|e| Outcome::Fail(format!("{e:#}")))?;
        Ok(Mail {
            to_email: typed.to_email,
            to_name: typed.to_name,
            kind: typed.kind,
            subject: message.subject,
            text: message.text,
            html: message.html,
        })
    }
}

/// The same for every attempt of a job and different between jobs (ids are
/// reused only if the database is recreated; the payload's hash tells those
/// apart).
fn message_key(job: &Claimed) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(job.payload.as_bytes());
    format!("afisha.job.{}.{}", job.id, hex::encode(&digest[..6]))
}
