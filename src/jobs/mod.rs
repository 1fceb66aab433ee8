//! The durable job queue: rows in the `job` table, written in the caller's
//! transaction, run by the scheduler in `afisha serve`.
//!
//! A job is *pending* (`done_at` and `failed_at` NULL), *done* or *failed*.
//! A worker claims a pending job whose `run_at` has come and whose lock is
//! free or expired by setting `locked_by`/`locked_until` and counting the
//! attempt, all in one write transaction, so two workers never hold the same
//! job while its lock lasts. Delivery is at-least-once: a worker that dies
//! after the effect (an SMTP server accepted the message) but before marking
//! the job done leaves the lock to expire, and the job runs again.

pub mod cleanup;
pub mod cli;
pub mod reminders;
pub mod scheduler;

use std::collections::HashSet;

use chrono::Duration;
use rand::Rng;
use rusqlite::{Connection, params};

use crate::config::JobsConfig;
use crate::domain::time::Ts;
use crate::http::error::{AppError, AppResult};
use crate::store::sqlite::{OptionalRow, Write};

/// Job kinds.
pub const EMAIL: &str = "email";

/// Enqueues a job inside the caller's write transaction. The scheduler is
/// woken after the transaction commits.
pub fn enqueue(
    tx: &Write,
    kind: &str,
    payload: &serde_json::Value,
    run_at: Ts,
    max_attempts: u32,
    now: Ts,
) -> AppResult<i64> {
    tx.prepare_cached(
        "INSERT INTO job (kind, payload, run_at, max_attempts, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![kind, payload.to_string(), run_at, max_attempts, now])?;
    tx.mark_enqueued();
    Ok(tx.last_insert_rowid())
}

/// A job a worker holds the lock of.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: i64,
    pub kind: String,
    pub payload: String,
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

/// Claims up to `limit` due jobs for `worker` until `locked_until`, oldest
/// `run_at` first, skipping the ids in `skip` (jobs this process is still
/// running even though their lock has expired). A job found with its lock
/// expired and no attempts left (the worker died during its last attempt)
/// is marked failed instead of run again.
pub fn claim(
    tx: &Write,
    worker: &str,
    now: Ts,
    locked_until: Ts,
    limit: usize,
    skip: &HashSet<i64>,
) -> AppResult<Vec<Claimed>> {
    let candidates: Vec<Claimed> = tx
        .prepare_cached(
            "SELECT id, kind, payload, attempts, max_attempts FROM job
             WHERE done_at IS NULL AND failed_at IS NULL AND run_at <= ?1
               AND (locked_until IS NULL OR locked_until <= ?1)
             ORDER BY run_at, id LIMIT ?2",
        )?
        .query_map(params![now, (limit + skip.len()) as i64], |r| {
            Ok(Claimed {
                id: r.get(0)?,
                kind: r.get(1)?,
                payload: r.get(2)?,
                attempts: r.get(3)?,
                max_attempts: r.get(4)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    let mut claimed = Vec::with_capacity(limit);
    for mut job in candidates {
        if claimed.len() == limit {
            break;
        }
        if skip.contains(&job.id) {
            continue;
        }
        if job.attempts >= job.max_attempts {
            tx.prepare_cached(
                "UPDATE job SET failed_at = ?2, locked_by = NULL, locked_until = NULL,
                        last_error = ?3
                 WHERE id = ?1",
            )?
            .execute(params![
                job.id,
                now,
                format!(
                    "the worker stopped during attempt {} of {} (its lock expired)",
                    job.attempts, job.max_attempts
                )
            ])?;
            continue;
        }
        tx.prepare_cached(
            "UPDATE job SET locked_by = ?2, locked_until = ?3, attempts = attempts + 1 WHERE id = ?1",
        )?
        .execute(params![job.id, worker, locked_until])?;
        job.attempts += 1;
        claimed.push(job);
    }
    Ok(claimed)
}

/// The earliest moment after `now` at which a pending job becomes claimable
/// (its `run_at` or, while locked, its lock expiry).
pub fn next_due(conn: &Connection, now: Ts) -> AppResult<Option<Ts>> {
    Ok(conn
        .prepare_cached(
            "SELECT min(max(run_at, coalesce(locked_until, run_at))) FROM job
             WHERE done_at IS NULL AND failed_at IS NULL
               AND max(run_at, coalesce(locked_until, run_at)) > ?1",
        )?
        .query_row([now], |r| r.get::<_, Option<Ts>>(0))?)
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

/// Records how a claimed run ended. Success is recorded whoever holds the
/// lock now (the effect happened); a failure only by the lock's holder, so a
/// worker whose lock expired cannot overwrite a newer attempt's state.
pub fn finish(
    tx: &Write,
    job: &Claimed,
    worker: &str,
    outcome: &Outcome,
    now: Ts,
    config: &JobsConfig,
) -> AppResult<()> {
    match outcome {
        Outcome::Done => {
            tx.prepare_cached(
                "UPDATE job SET done_at = ?2, locked_by = NULL, locked_until = NULL
                 WHERE id = ?1 AND done_at IS NULL",
            )?
            .execute(params![job.id, now])?;
        }
        Outcome::Retry(error) if job.attempts < job.max_attempts => {
            let run_at = Ts(now.0 + backoff(config, job.attempts));
            tx.prepare_cached(
                "UPDATE job SET run_at = ?3, last_error = ?4, locked_by = NULL, locked_until = NULL
                 WHERE id = ?1 AND locked_by = ?2 AND done_at IS NULL AND failed_at IS NULL",
            )?
            .execute(params![job.id, worker, run_at, error])?;
        }
        Outcome::Retry(error) | Outcome::Fail(error) => {
            tx.prepare_cached(
                "UPDATE job SET failed_at = ?3, last_error = ?4, locked_by = NULL, locked_until = NULL
                 WHERE id = ?1 AND locked_by = ?2 AND done_at IS NULL AND failed_at IS NULL",
            )?
            .execute(params![job.id, worker, now, error])?;
        }
    }
    Ok(())
}

/// One row of `afisha jobs list`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct JobRow {
    pub id: i64,
    pub kind: String,
    /// `pending`, `running`, `done` or `failed`.
    pub state: &'static str,
    pub attempts: u32,
    pub max_attempts: u32,
    pub run_at: Ts,
    pub created_at: Ts,
    pub finished_at: Option<Ts>,
    pub last_error: Option<String>,
    /// For email jobs: recipient and subject.
    pub summary: String,
}

/// Lists jobs, newest first; only failed ones when `failed_only`.
pub fn list(conn: &Connection, failed_only: bool, limit: usize, now: Ts) -> AppResult<Vec<JobRow>> {
    let filter = if failed_only {
        "WHERE failed_at IS NOT NULL"
    } else {
        ""
    };
    let mut stmt = conn.prepare(&format!(
        "SELECT id, kind, payload, attempts, max_attempts, run_at, created_at, done_at, failed_at,
                locked_until, last_error
         FROM job {filter} ORDER BY id DESC LIMIT ?1"
    ))?;
    let rows = stmt
        .query_map([limit as i64], |r| {
            let payload: String = r.get(2)?;
            let done_at: Option<Ts> = r.get(7)?;
            let failed_at: Option<Ts> = r.get(8)?;
            let locked_until: Option<Ts> = r.get(9)?;
            let state = match (done_at, failed_at, locked_until) {
                (Some(_), _, _) => "done",
                (_, Some(_), _) => "failed",
                (_, _, Some(until)) if until > now => "running",
                _ => "pending",
            };
            let kind: String = r.get(1)?;
            Ok(JobRow {
                summary: summary(&kind, &payload),
                id: r.get(0)?,
                kind,
                state,
                attempts: r.get(3)?,
                max_attempts: r.get(4)?,
                run_at: r.get(5)?,
                created_at: r.get(6)?,
                finished_at: done_at.or(failed_at),
                last_error: r.get(10)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

fn summary(kind: &str, payload: &str) -> String {
    if kind != EMAIL {
        return String::new();
    }
    match serde_json::from_str::<crate::notify::EmailJob>(payload) {
        Ok(mail) => format!("{} to {}: {}", mail.kind, mail.to_email, mail.subject),
        Err(_) => "(unreadable payload)".into(),
    }
}

/// Puts one failed job back in the queue with its attempts reset.
pub fn retry(tx: &Write, id: i64, now: Ts) -> AppResult<()> {
    let state = tx
        .prepare_cached("SELECT done_at IS NOT NULL, failed_at IS NOT NULL FROM job WHERE id = ?1")?
        .query_row([id], |r| Ok((r.get::<_, bool>(0)?, r.get::<_, bool>(1)?)))
        .optional()?;
    match state {
        None => Err(AppError::not_found(format!("job {id} not found"))),
        Some((_, true)) => {
            revive(tx, Some(id), now)?;
            Ok(())
        }
        Some((true, _)) => Err(AppError::bad_request(format!(
            "job {id} has not failed: it is done"
        ))),
        Some(_) => Err(AppError::bad_request(format!(
            "job {id} has not failed: it is still pending"
        ))),
    }
}

/// Puts every failed job back in the queue; returns how many.
pub fn retry_all_failed(tx: &Write, now: Ts) -> AppResult<usize> {
    revive(tx, None, now)
}

fn revive(tx: &Write, id: Option<i64>, now: Ts) -> AppResult<usize> {
    let n = tx
        .prepare_cached(
            "UPDATE job SET failed_at = NULL, attempts = 0, run_at = ?2, locked_by = NULL,
                    locked_until = NULL
             WHERE failed_at IS NOT NULL AND (?1 IS NULL OR id = ?1)",
        )?
        .execute(params![id, now])?;
    if n > 0 {
        tx.mark_enqueued();
    }
    Ok(n)
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
