//! The durable job queue: claiming due jobs, recording how runs ended, and
//! what `afisha jobs list|retry` do.
//!
//! A job is *pending* (`done_at` and `failed_at` NULL), *done* or *failed*.
//! A worker claims a pending job whose `run_at` has come and whose lock is
//! free or expired by setting `locked_by`/`locked_until` and counting the
//! attempt, all in one write transaction, so two workers never hold the same
//! job while its lock lasts. Delivery is at-least-once: a worker that dies
//! after the effect (an SMTP server accepted the message) but before marking
//! the job done leaves the lock to expire, and the job runs again.

use std::collections::HashSet;

use chrono::Duration;
use rand::Rng;

use crate::config::JobsConfig;
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::time::Ts;
use crate::service::Services;
use crate::service::outbox::{EMAIL, EmailJob};
use crate::store::jobs::{JobStatus, QueuedJob};

/// A job a worker holds the lock of.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: i64,
    pub kind: String,
    pub payload: String,
    /// The sealed secret, if the job has one that was not dropped.
    pub secret: Option<String>,
    /// Attempts so far, this one included.
    pub attempts: u32,
    pub max_attempts: u32,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// Try again after the backoff (or fail when attempts are used up).
    Retry(String),
    /// Fail now: retrying cannot help (malformed payload, unknown kind).
    Fail(String),
}

/// A run that ended, to be recorded.
#[derive(Debug, Clone)]
pub struct Ended {
    pub job: Claimed,
    pub outcome: Outcome,
    pub at: Ts,
}

/// In one write transaction: records the runs that `ended` (for `worker`),
/// then claims up to `limit` due jobs until `now + jobs.lock_secs`, oldest
/// `run_at` first, skipping the ids in `skip` (jobs this process is still
/// running though their lock expired). A job found with its lock expired
/// and no attempts left (the worker died during its last attempt) is marked
/// failed instead of run again.
pub async fn record_and_claim(
    svc: &Services,
    worker: &str,
    ended: Vec<Ended>,
    limit: usize,
    skip: HashSet<i64>,
) -> DomainResult<Vec<Claimed>> {
    let now = svc.now();
    let until = Ts(now.0 + Duration::seconds(svc.config.jobs.lock_secs as i64));
    let config = svc.config.jobs.clone();
    let worker = worker.to_string();
    svc.store
        .write(move |tx| {
            for e in &ended {
                match &e.outcome {
                    Outcome::Done => tx.job_done(e.job.id, e.at)?,
                    Outcome::Retry(error) if e.job.attempts < e.job.max_attempts => {
                        let run_at = Ts(e.at.0 + backoff(&config, e.job.attempts));
                        tx.job_retry(e.job.id, &worker, run_at, error)?
                    }
                    Outcome::Retry(error) | Outcome::Fail(error) => {
                        tx.job_failed(e.job.id, Some(&worker), e.at, error)?
                    }
                }
            }
            if limit == 0 {
                return Ok(Vec::new());
            }
            let mut claimed = Vec::with_capacity(limit);
            for job in tx.due_jobs(now, limit + skip.len())? {
                if claimed.len() == limit {
                    break;
                }
                if skip.contains(&job.id) {
                    continue;
                }
                let QueuedJob {
                    id,
                    kind,
                    payload,
                    secret,
                    attempts,
                    max_attempts,
                } = job;
                if attempts >= max_attempts {
                    let error = format!(
                        "the worker stopped during attempt {attempts} of {max_attempts} (its lock expired)"
                    );
                    tx.job_failed(id, None, now, &error)?;
                    continue;
                }
                tx.lock_job(id, &worker, until)?;
                claimed.push(Claimed {
                    id,
                    kind,
                    payload,
                    secret,
                    attempts: attempts + 1,
                    max_attempts,
                });
            }
            Ok(claimed)
        })
        .await
}

/// Whether this process runs a tick of a recurring scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tick {
    /// This process took the tick: run the scan now; the next is due in
    /// one period.
    Run,
    /// Another process (an instance on the same PostgreSQL database) took
    /// it; the next tick is due at this moment.
    Taken(Ts),
}

/// Takes the tick of the recurring scan `name` (run every `every`) due at
/// `now`, for `worker`. Several processes on one database take each tick once
/// between them: the first to move the scan's next run forward runs it,
/// the others skip (see [`crate::store::JobStore::take_tick`]). A process
/// that dies during its scan leaves the work to the next tick (the scans
/// are idempotent: reminders are marked sent in the transaction that sends
/// them, and the clean-up deletes what is still there).
pub async fn take_tick(
    svc: &Services,
    name: &'static str,
    now: Ts,
    every: Duration,
    worker: &str,
) -> DomainResult<Tick> {
    let next = Ts(now.0 + every);
    let worker = worker.to_string();
    let taken = svc
        .store
        .write(move |tx| tx.take_tick(name, &worker, now, next))
        .await?;
    Ok(match taken {
        None => Tick::Run,
        // Never later than one period from now (another process's clock
        // may run ahead of ours).
        Some(at) => Tick::Taken(at.min(next)),
    })
}

/// The earliest moment after now at which a pending job becomes claimable.
pub async fn next_due(svc: &Services) -> DomainResult<Option<Ts>> {
    let now = svc.now();
    svc.store.read(move |tx| tx.next_job_due(now)).await
}

/// The delay before attempt `attempts + 1`, after `attempts` failed ones:
/// `min(base × 2^(attempts−1), max)` plus a random 0–25 % of that.
pub fn backoff(config: &JobsConfig, attempts: u32) -> Duration {
    let exp = attempts.saturating_sub(1).min(30);
    let base = config.retry_base_secs.max(1).saturating_mul(1u64 << exp);
    let delay_ms = base.min(config.retry_max_secs.max(1)).saturating_mul(1000);
    let jitter = rand::rng().random_range(0..=delay_ms / 4);
    Duration::milliseconds(delay_ms.saturating_add(jitter).min(i64::MAX as u64) as i64)
}

/// Where a job stands, as `afisha jobs list` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    Pending,
    Running,
    Done,
    Failed,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Pending => "pending",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Failed => "failed",
        }
    }
}

/// One row of `afisha jobs list`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct JobRow {
    pub id: i64,
    pub kind: String,
    pub state: JobState,
    pub attempts: u32,
    pub max_attempts: u32,
    pub run_at: Ts,
    pub created_at: Ts,
    pub finished_at: Option<Ts>,
    pub last_error: Option<String>,
    /// For email jobs: type and recipient (and the subject of jobs queued
    /// before notices were typed).
    pub summary: String,
}

/// Jobs, newest first; only failed ones when `failed_only`. Blocking (CLI).
pub fn list_blocking(svc: &Services, failed_only: bool, limit: usize) -> DomainResult<Vec<JobRow>> {
    let now = svc.now();
    let rows = svc
        .store
        .read_blocking(|tx| tx.list_jobs(failed_only, limit))?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let state = match (r.done_at, r.failed_at, r.locked_until) {
                (Some(_), _, _) => JobState::Done,
                (_, Some(_), _) => JobState::Failed,
                (_, _, Some(until)) if until > now => JobState::Running,
                _ => JobState::Pending,
            };
            JobRow {
                summary: summary(&r.kind, &r.payload),
                id: r.id,
                kind: r.kind,
                state,
                attempts: r.attempts,
                max_attempts: r.max_attempts,
                run_at: r.run_at,
                created_at: r.created_at,
                finished_at: r.done_at.or(r.failed_at),
                last_error: r.last_error,
            }
        })
        .collect())
}

fn summary(kind: &str, payload: &str) -> String {
    if kind != EMAIL {
        return String::new();
    }
    #[derive(serde::Deserialize)]
    struct Legacy {
        to_email: String,
        kind: String,
        subject: String,
    }
    if let Ok(mail) = serde_json::from_str::<EmailJob>(payload) {
        return format!("{} to {}", mail.kind, mail.to_email);
    }
    match serde_json::from_str::<Legacy>(payload) {
        Ok(mail) => format!("{} to {}: {}", mail.kind, mail.to_email, mail.subject),
        Err(_) => "(unreadable payload)".into(),
    }
}

/// Puts one failed job back in the queue with its attempts reset.
/// Blocking (CLI).
pub fn retry_blocking(svc: &Services, id: i64) -> DomainResult<()> {
    let now = svc.now();
    svc.store.write_blocking(|tx| match tx.job_status(id)? {
        None => Err(DomainError::not_found(format!("job {id} not found"))),
        Some(JobStatus::Failed) => {
            tx.revive_failed_jobs(Some(id), now)?;
            Ok(())
        }
        Some(JobStatus::Done) => Err(DomainError::rule(format!(
            "job {id} has not failed: it is done"
        ))),
        Some(JobStatus::Pending) => Err(DomainError::rule(format!(
            "job {id} has not failed: it is still pending"
        ))),
    })
}

/// Puts every failed job back in the queue; returns how many. Blocking
/// (CLI).
pub fn retry_all_failed_blocking(svc: &Services) -> DomainResult<usize> {
    let now = svc.now();
    svc.store
        .write_blocking(|tx| tx.revive_failed_jobs(None, now))
}

/// Pending and failed job counts (the queue depth gauges).
pub async fn queue_depth(svc: &Services) -> DomainResult<(i64, i64)> {
    svc.store.read(|tx| tx.job_counts()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_bounded_jitter_and_a_cap() {
        let config = JobsConfig {
            retry_base_secs: 30,
            retry_max_secs: 3600,
            ..JobsConfig::default()
        };
        for attempts in 1..=12u32 {
            let nominal = (30i64 << (attempts - 1).min(30)).min(3600) * 1000;
            for _ in 0..50 {
                let d = backoff(&config, attempts).num_milliseconds();
                assert!(
                    (nominal..=nominal + nominal / 4).contains(&d),
                    "attempt {attempts}: {d} ms"
                );
            }
        }
        // Absurd attempt counts neither overflow nor exceed the cap.
        assert!(backoff(&config, u32::MAX).num_seconds() <= 4500);
    }
}
