//! PostgreSQL queries of the durable job queue and the clean-up.
//!
//! Several instances may share the queue: [`JobStore::due_jobs`] runs in the
//! claiming write transaction and locks the rows it returns with
//! `FOR UPDATE SKIP LOCKED`, so a job another instance is claiming at the
//! same moment is skipped rather than claimed twice; once that claim commits,
//! its `locked_until` lease keeps the job out of every other claim until the
//! lease runs out (a crashed instance's jobs are taken over then).

use postgres::Row;

use super::PgTx;
use super::types::u32_of;
use crate::domain::error::DomainResult;
use crate::domain::time::Ts;
use crate::store::JobStore;
use crate::store::jobs::{
    JobRecord, JobStatus, MailStats, NewJob, OutboxFilter, QueuedJob, SweepBefore, Swept,
};

fn record_from_row(r: &Row) -> DomainResult<JobRecord> {
    Ok(JobRecord {
        id: r.try_get(0)?,
        kind: r.try_get(1)?,
        payload: r.try_get(2)?,
        attempts: u32_of(r.try_get(3)?),
        max_attempts: u32_of(r.try_get(4)?),
        run_at: r.try_get(5)?,
        created_at: r.try_get(6)?,
        done_at: r.try_get(7)?,
        failed_at: r.try_get(8)?,
        locked_until: r.try_get(9)?,
        last_error: r.try_get(10)?,
    })
}

impl JobStore for PgTx<'_, '_> {
    fn enqueue_job(&mut self, job: &NewJob<'_>, now: Ts) -> DomainResult<i64> {
        let row = self.one(
            "INSERT INTO job (kind, payload, secret, run_at, max_attempts, created_at, coalesce_key)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            &[
                &job.kind,
                &job.payload.to_string(),
                &job.secret,
                &job.run_at,
                &i64::from(job.max_attempts),
                &now,
                &job.coalesce_key,
            ],
        )?;
        self.mark_enqueued()?;
        Ok(row.try_get(0)?)
    }

    fn due_jobs(&mut self, now: Ts, limit: usize) -> DomainResult<Vec<QueuedJob>> {
        // Row locks need a write transaction; a read only looks.
        let lock = if self.write {
            "FOR UPDATE SKIP LOCKED"
        } else {
            ""
        };
        self.rows(
            &format!(
                "SELECT id, kind, payload, secret, attempts, max_attempts FROM job
                 WHERE done_at IS NULL AND failed_at IS NULL AND run_at <= $1
                   AND (locked_until IS NULL OR locked_until <= $1)
                 ORDER BY run_at, id LIMIT $2 {lock}"
            ),
            &[&now, &(limit as i64)],
        )?
        .iter()
        .map(|r| {
            Ok(QueuedJob {
                id: r.try_get(0)?,
                kind: r.try_get(1)?,
                payload: r.try_get(2)?,
                secret: r.try_get(3)?,
                attempts: u32_of(r.try_get(4)?),
                max_attempts: u32_of(r.try_get(5)?),
            })
        })
        .collect()
    }

    fn lock_job(&mut self, id: i64, worker: &str, until: Ts) -> DomainResult<()> {
        self.exec(
            "UPDATE job SET locked_by = $2, locked_until = $3, attempts = attempts + 1 WHERE id = $1",
            &[&id, &worker, &until],
        )?;
        Ok(())
    }

    fn job_done(&mut self, id: i64, now: Ts) -> DomainResult<()> {
        self.exec(
            "UPDATE job SET done_at = $2, locked_by = NULL, locked_until = NULL, secret = NULL
             WHERE id = $1 AND done_at IS NULL",
            &[&id, &now],
        )?;
        Ok(())
    }

    fn job_retry(&mut self, id: i64, worker: &str, run_at: Ts, error: &str) -> DomainResult<()> {
        self.exec(
            "UPDATE job SET run_at = $3, last_error = $4, locked_by = NULL, locked_until = NULL
             WHERE id = $1 AND locked_by = $2 AND done_at IS NULL AND failed_at IS NULL",
            &[&id, &worker, &run_at, &error],
        )?;
        Ok(())
    }

    fn job_failed(
        &mut self,
        id: i64,
        worker: Option<&str>,
        now: Ts,
        error: &str,
    ) -> DomainResult<()> {
        self.exec(
            "UPDATE job SET failed_at = $3, last_error = $4, locked_by = NULL, locked_until = NULL,
                    secret = NULL
             WHERE id = $1 AND ($2::TEXT IS NULL OR locked_by = $2)
               AND done_at IS NULL AND failed_at IS NULL",
            &[&id, &worker, &now, &error],
        )?;
        Ok(())
    }

    fn next_job_due(&mut self, now: Ts) -> DomainResult<Option<Ts>> {
        Ok(self
            .one(
                "SELECT min(GREATEST(run_at, coalesce(locked_until, run_at))) FROM job
                 WHERE done_at IS NULL AND failed_at IS NULL
                   AND GREATEST(run_at, coalesce(locked_until, run_at)) > $1",
                &[&now],
            )?
            .try_get(0)?)
    }

    fn list_jobs(&mut self, failed_only: bool, limit: usize) -> DomainResult<Vec<JobRecord>> {
        self.rows(
            "SELECT id, kind, payload, attempts, max_attempts, run_at, created_at, done_at,
                    failed_at, locked_until, last_error
             FROM job WHERE (NOT $1::BOOLEAN OR failed_at IS NOT NULL) ORDER BY id DESC LIMIT $2",
            &[&failed_only, &(limit as i64)],
        )?
        .iter()
        .map(record_from_row)
        .collect()
    }

    fn list_outbox(
        &mut self,
        kind: &str,
        filter: OutboxFilter,
        limit: usize,
        offset: usize,
    ) -> DomainResult<Vec<JobRecord>> {
        self.rows(
            "SELECT id, kind, payload, attempts, max_attempts, run_at, created_at, done_at,
                    failed_at, locked_until, last_error
             FROM job
             WHERE kind = $1 AND CASE $2::TEXT
                 WHEN 'queued' THEN done_at IS NULL AND failed_at IS NULL
                 WHEN 'sent' THEN done_at IS NOT NULL
                 WHEN 'failed' THEN failed_at IS NOT NULL
                 ELSE TRUE END
             ORDER BY id DESC LIMIT $3 OFFSET $4",
            &[&kind, &filter.as_str(), &(limit as i64), &(offset as i64)],
        )?
        .iter()
        .map(record_from_row)
        .collect()
    }

    fn job_of_kind(&mut self, kind: &str, id: i64) -> DomainResult<Option<JobRecord>> {
        self.opt(
            "SELECT id, kind, payload, attempts, max_attempts, run_at, created_at, done_at,
                    failed_at, locked_until, last_error
             FROM job WHERE id = $1 AND kind = $2",
            &[&id, &kind],
        )?
        .as_ref()
        .map(record_from_row)
        .transpose()
    }

    fn run_pending_now(&mut self, kind: &str, id: Option<i64>, now: Ts) -> DomainResult<usize> {
        let n = self.exec(
            "UPDATE job SET run_at = $3
             WHERE kind = $1 AND done_at IS NULL AND failed_at IS NULL AND run_at > $3
               AND (locked_until IS NULL OR locked_until <= $3)
               AND ($2::BIGINT IS NULL AND last_error IS NOT NULL OR id = $2)",
            &[&kind, &id, &now],
        )?;
        if n > 0 {
            self.mark_enqueued()?;
        }
        Ok(n as usize)
    }

    fn mail_stats(&mut self, kind: &str) -> DomainResult<MailStats> {
        let r = self.one(
            "WITH sent AS (SELECT max(done_at) AS at FROM job WHERE kind = $1),
                  failing AS (
                    SELECT id, last_error FROM job
                    WHERE kind = $1 AND done_at IS NULL AND (
                        failed_at IS NULL AND last_error IS NOT NULL
                        OR failed_at > coalesce((SELECT at FROM sent), 0)))
             SELECT (SELECT at FROM sent),
                (SELECT count(*) FROM job WHERE kind = $1 AND done_at IS NULL AND failed_at IS NULL),
                (SELECT count(*) FROM failing),
                (SELECT count(*) FROM job WHERE kind = $1 AND failed_at IS NOT NULL),
                (SELECT last_error FROM failing ORDER BY id DESC LIMIT 1)",
            &[&kind],
        )?;
        Ok(MailStats {
            last_sent_at: r.try_get(0)?,
            queued: r.try_get(1)?,
            failing: r.try_get(2)?,
            failed: r.try_get(3)?,
            last_error: r.try_get(4)?,
        })
    }

    fn job_status(&mut self, id: i64) -> DomainResult<Option<JobStatus>> {
        self.opt(
            "SELECT done_at IS NOT NULL, failed_at IS NOT NULL FROM job WHERE id = $1",
            &[&id],
        )?
        .map(|r| {
            Ok(match (r.try_get::<_, bool>(0)?, r.try_get::<_, bool>(1)?) {
                (_, true) => JobStatus::Failed,
                (true, _) => JobStatus::Done,
                _ => JobStatus::Pending,
            })
        })
        .transpose()
    }

    fn revive_failed_jobs(&mut self, id: Option<i64>, now: Ts) -> DomainResult<usize> {
        let n = self.exec(
            "UPDATE job SET failed_at = NULL, attempts = 0, run_at = $2, locked_by = NULL,
                    locked_until = NULL
             WHERE failed_at IS NOT NULL AND ($1::BIGINT IS NULL OR id = $1)",
            &[&id, &now],
        )?;
        if n > 0 {
            self.mark_enqueued()?;
        }
        Ok(n as usize)
    }

    fn coalesced_since(&mut self, key: &str, since: Ts) -> DomainResult<bool> {
        Ok(self
            .one(
                "SELECT EXISTS (SELECT 1 FROM job WHERE coalesce_key = $1 AND created_at >= $2)",
                &[&key, &since],
            )?
            .try_get(0)?)
    }

    fn job_counts(&mut self) -> DomainResult<(i64, i64)> {
        let r = self.one(
            "SELECT (SELECT count(*) FROM job WHERE done_at IS NULL AND failed_at IS NULL),
                    (SELECT count(*) FROM job WHERE failed_at IS NOT NULL)",
            &[],
        )?;
        Ok((r.try_get(0)?, r.try_get(1)?))
    }

    fn sweep(&mut self, before: &SweepBefore) -> DomainResult<Swept> {
        Ok(Swept {
            registrations: self.change(
                "DELETE FROM issued_registration WHERE created_at < $1",
                &[&before.registrations],
            )? as usize,
            recoveries: self.change(
                "DELETE FROM issued_login_recovery WHERE used_at IS NOT NULL OR created_at < $1",
                &[&before.recoveries],
            )? as usize,
            sessions: self.exec(
                "DELETE FROM login_session WHERE last_seen_at <= $1",
                &[&before.sessions],
            )? as usize,
            jobs: self.exec(
                "DELETE FROM job WHERE done_at IS NOT NULL AND done_at < $1",
                &[&before.done_jobs],
            )? as usize,
            images: 0,
            audit: 0,
        })
    }

    fn take_tick(
        &mut self,
        name: &str,
        worker: &str,
        now: Ts,
        next: Ts,
    ) -> DomainResult<Option<Ts>> {
        // The upsert locks the row and re-checks the condition on its latest
        // version: of two instances taking the same tick, the second sees
        // the first one's `next_at` and updates nothing.
        let taken = self.exec(
            "INSERT INTO scan_tick (name, next_at, ran_by, ran_at) VALUES ($1, $4, $2, $3)
             ON CONFLICT (name) DO UPDATE
                SET next_at = EXCLUDED.next_at, ran_by = EXCLUDED.ran_by, ran_at = EXCLUDED.ran_at
                WHERE scan_tick.next_at <= $3 OR scan_tick.ran_at > $4",
            &[&name, &worker, &now, &next],
        )?;
        if taken > 0 {
            return Ok(None);
        }
        Ok(Some(
            self.one("SELECT next_at FROM scan_tick WHERE name = $1", &[&name])?
                .try_get(0)?,
        ))
    }
}
