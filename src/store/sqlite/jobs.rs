//! SQLite queries of the durable job queue and the clean-up.

use rusqlite::params;

use super::{OptionalRow, SqliteTx};
use crate::domain::error::DomainResult;
use crate::domain::time::Ts;
use crate::store::JobStore;
use crate::store::jobs::{
    JobRecord, JobStatus, MailStats, NewJob, OutboxFilter, QueuedJob, SweepBefore, Swept,
};

impl JobStore for SqliteTx<'_> {
    fn enqueue_job(&mut self, job: &NewJob<'_>, now: Ts) -> DomainResult<i64> {
        self.conn
            .prepare_cached(
                "INSERT INTO job (kind, payload, secret, run_at, max_attempts, created_at, coalesce_key)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                job.kind,
                job.payload.to_string(),
                job.secret,
                job.run_at,
                job.max_attempts,
                now,
                job.coalesce_key
            ])?;
        self.mark_enqueued()?;
        Ok(self.conn.last_insert_rowid())
    }

    fn due_jobs(&mut self, now: Ts, limit: usize) -> DomainResult<Vec<QueuedJob>> {
        let jobs = self
            .conn
            .prepare_cached(
                "SELECT id, kind, payload, secret, attempts, max_attempts FROM job
                 WHERE done_at IS NULL AND failed_at IS NULL AND run_at <= ?1
                   AND (locked_until IS NULL OR locked_until <= ?1)
                 ORDER BY run_at, id LIMIT ?2",
            )?
            .query_map(params![now, limit as i64], |r| {
                Ok(QueuedJob {
                    id: r.get(0)?,
                    kind: r.get(1)?,
                    payload: r.get(2)?,
                    secret: r.get(3)?,
                    attempts: r.get(4)?,
                    max_attempts: r.get(5)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(jobs)
    }

    fn lock_job(&mut self, id: i64, worker: &str, until: Ts) -> DomainResult<()> {
        self.conn
            .prepare_cached(
                "UPDATE job SET locked_by = ?2, locked_until = ?3, attempts = attempts + 1 WHERE id = ?1",
            )?
            .execute(params![id, worker, until])?;
        Ok(())
    }

    fn job_done(&mut self, id: i64, now: Ts) -> DomainResult<()> {
        self.conn
            .prepare_cached(
                "UPDATE job SET done_at = ?2, locked_by = NULL, locked_until = NULL, secret = NULL
                 WHERE id = ?1 AND done_at IS NULL",
            )?
            .execute(params![id, now])?;
        Ok(())
    }

    fn job_retry(&mut self, id: i64, worker: &str, run_at: Ts, error: &str) -> DomainResult<()> {
        self.conn
            .prepare_cached(
                "UPDATE job SET run_at = ?3, last_error = ?4, locked_by = NULL, locked_until = NULL
                 WHERE id = ?1 AND locked_by = ?2 AND done_at IS NULL AND failed_at IS NULL",
            )?
            .execute(params![id, worker, run_at, error])?;
        Ok(())
    }

    fn job_failed(
        &mut self,
        id: i64,
        worker: Option<&str>,
        now: Ts,
        error: &str,
    ) -> DomainResult<()> {
        self.conn
            .prepare_cached(
                "UPDATE job SET failed_at = ?3, last_error = ?4, locked_by = NULL, locked_until = NULL,
                        secret = NULL
                 WHERE id = ?1 AND (?2 IS NULL OR locked_by = ?2)
                   AND done_at IS NULL AND failed_at IS NULL",
            )?
            .execute(params![id, worker, now, error])?;
        Ok(())
    }

    fn next_job_due(&mut self, now: Ts) -> DomainResult<Option<Ts>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT min(max(run_at, coalesce(locked_until, run_at))) FROM job
                 WHERE done_at IS NULL AND failed_at IS NULL
                   AND max(run_at, coalesce(locked_until, run_at)) > ?1",
            )?
            .query_row([now], |r| r.get::<_, Option<Ts>>(0))?)
    }

    fn list_jobs(&mut self, failed_only: bool, limit: usize) -> DomainResult<Vec<JobRecord>> {
        let rows = self
            .conn
            .prepare_cached(
                "SELECT id, kind, payload, attempts, max_attempts, run_at, created_at, done_at,
                        failed_at, locked_until, last_error
                 FROM job WHERE (NOT ?1 OR failed_at IS NOT NULL) ORDER BY id DESC LIMIT ?2",
            )?
            .query_map(params![failed_only, limit as i64], record)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    fn list_outbox(
        &mut self,
        kind: &str,
        filter: OutboxFilter,
        limit: usize,
        offset: usize,
    ) -> DomainResult<Vec<JobRecord>> {
        let rows = self
            .conn
            .prepare_cached(
                "SELECT id, kind, payload, attempts, max_attempts, run_at, created_at, done_at,
                        failed_at, locked_until, last_error
                 FROM job
                 WHERE kind = ?1 AND CASE ?2
                     WHEN 'queued' THEN done_at IS NULL AND failed_at IS NULL
                     WHEN 'sent' THEN done_at IS NOT NULL
                     WHEN 'failed' THEN failed_at IS NOT NULL
                     ELSE 1 END
                 ORDER BY id DESC LIMIT ?3 OFFSET ?4",
            )?
            .query_map(
                params![kind, filter.as_str(), limit as i64, offset as i64],
                record,
            )?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    fn job_of_kind(&mut self, kind: &str, id: i64) -> DomainResult<Option<JobRecord>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT id, kind, payload, attempts, max_attempts, run_at, created_at, done_at,
                        failed_at, locked_until, last_error
                 FROM job WHERE id = ?1 AND kind = ?2",
            )?
            .query_row(params![id, kind], record)
            .optional()?)
    }

    fn run_pending_now(&mut self, kind: &str, id: Option<i64>, now: Ts) -> DomainResult<usize> {
        let n = self
            .conn
            .prepare_cached(
                "UPDATE job SET run_at = ?3
                 WHERE kind = ?1 AND done_at IS NULL AND failed_at IS NULL AND run_at > ?3
                   AND (locked_until IS NULL OR locked_until <= ?3)
                   AND (?2 IS NULL AND last_error IS NOT NULL OR id = ?2)",
            )?
            .execute(params![kind, id, now])?;
        if n > 0 {
            self.mark_enqueued()?;
        }
        Ok(n)
    }

    fn mail_stats(&mut self, kind: &str) -> DomainResult<MailStats> {
        Ok(self
            .conn
            .prepare_cached(
                "WITH sent AS (SELECT max(done_at) AS at FROM job WHERE kind = ?1),
                      failing AS (
                        SELECT id, last_error FROM job
                        WHERE kind = ?1 AND done_at IS NULL AND (
                            failed_at IS NULL AND last_error IS NOT NULL
                            OR failed_at > coalesce((SELECT at FROM sent), 0)))
                 SELECT (SELECT at FROM sent),
                    (SELECT count(*) FROM job WHERE kind = ?1 AND done_at IS NULL AND failed_at IS NULL),
                    (SELECT count(*) FROM failing),
                    (SELECT count(*) FROM job WHERE kind = ?1 AND failed_at IS NOT NULL),
                    (SELECT last_error FROM failing ORDER BY id DESC LIMIT 1)",
            )?
            .query_row([kind], |r| {
                Ok(MailStats {
                    last_sent_at: r.get(0)?,
                    queued: r.get(1)?,
                    failing: r.get(2)?,
                    failed: r.get(3)?,
                    last_error: r.get(4)?,
                })
            })?)
    }

    fn job_status(&mut self, id: i64) -> DomainResult<Option<JobStatus>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT done_at IS NOT NULL, failed_at IS NOT NULL FROM job WHERE id = ?1",
            )?
            .query_row([id], |r| {
                Ok(match (r.get::<_, bool>(0)?, r.get::<_, bool>(1)?) {
                    (_, true) => JobStatus::Failed,
                    (true, _) => JobStatus::Done,
                    _ => JobStatus::Pending,
                })
            })
            .optional()?)
    }

    fn revive_failed_jobs(&mut self, id: Option<i64>, now: Ts) -> DomainResult<usize> {
        let n = self
            .conn
            .prepare_cached(
                "UPDATE job SET failed_at = NULL, attempts = 0, run_at = ?2, locked_by = NULL,
                        locked_until = NULL
                 WHERE failed_at IS NOT NULL AND (?1 IS NULL OR id = ?1)",
            )?
            .execute(params![id, now])?;
        if n > 0 {
            self.mark_enqueued()?;
        }
        Ok(n)
    }

    fn coalesced_since(&mut self, key: &str, since: Ts) -> DomainResult<bool> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM job WHERE coalesce_key = ?1 AND created_at >= ?2)",
            )?
            .query_row(params![key, since], |r| r.get(0))?)
    }

    fn job_counts(&mut self) -> DomainResult<(i64, i64)> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT (SELECT count(*) FROM job WHERE done_at IS NULL AND failed_at IS NULL),
                    (SELECT count(*) FROM job WHERE failed_at IS NOT NULL)",
            )?
            .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?)
    }

    fn sweep(&mut self, before: &SweepBefore) -> DomainResult<Swept> {
        let c = self.conn;
        Ok(Swept {
            registrations: c.execute(
                "DELETE FROM issued_registration WHERE created_at < ?1",
                [before.registrations],
            )?,
            recoveries: c.execute(
                "DELETE FROM issued_login_recovery WHERE used_at IS NOT NULL OR created_at < ?1",
                [before.recoveries],
            )?,
            sessions: c.execute(
                "DELETE FROM login_session WHERE last_seen_at <= ?1",
                [before.sessions],
            )?,
            jobs: c.execute(
                "DELETE FROM job WHERE done_at IS NOT NULL AND done_at < ?1",
                [before.done_jobs],
            )?,
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
        let c = self.conn;
        let taken = c.execute(
            "INSERT INTO scan_tick (name, next_at, ran_by, ran_at) VALUES (?1, ?4, ?2, ?3)
             ON CONFLICT (name) DO UPDATE
                SET next_at = excluded.next_at, ran_by = excluded.ran_by, ran_at = excluded.ran_at
                WHERE scan_tick.next_at <= ?3 OR scan_tick.ran_at > ?4",
            params![name, worker, now, next],
        )?;
        if taken > 0 {
            return Ok(None);
        }
        Ok(Some(c.query_row(
            "SELECT next_at FROM scan_tick WHERE name = ?1",
            [name],
            |r| r.get(0),
        )?))
    }
}

fn record(r: &rusqlite::Row<'_>) -> rusqlite::Result<JobRecord> {
    Ok(JobRecord {
        id: r.get(0)?,
        kind: r.get(1)?,
        payload: r.get(2)?,
        attempts: r.get(3)?,
        max_attempts: r.get(4)?,
        run_at: r.get(5)?,
        created_at: r.get(6)?,
        done_at: r.get(7)?,
        failed_at: r.get(8)?,
        locked_until: r.get(9)?,
        last_error: r.get(10)?,
    })
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use crate::domain::time::Ts;
    use crate::store::Store;

    /// A tick is taken once: by the first caller at or after its due time,
    /// not by a second one before the next (even with a clock a little
    /// behind the first one's), again by anyone once the next is due, and
    /// at once when the clock was set back by more than a period.
    #[test]
    fn a_scan_tick_is_taken_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_sqlite(&dir.path().join("afisha.db")).unwrap();
        let t0 = Ts::parse("2026-05-01T10:00:00Z").unwrap();
        let at = |mins: i64| Ts(t0.0 + Duration::minutes(mins));
        let take = |worker: &str, now: Ts| {
            store
                .write_blocking(|tx| {
                    tx.take_tick("cleanup", worker, now, Ts(now.0 + Duration::minutes(60)))
                })
                .unwrap()
        };
        assert_eq!(take("a", at(0)), None, "the first tick");
        assert_eq!(take("b", at(0)), Some(at(60)), "taken by a");
        assert_eq!(take("b", at(59)), Some(at(60)), "not due yet");
        assert_eq!(take("b", at(60)), None, "the next tick");
        assert_eq!(take("a", at(61)), Some(at(120)));
        // b's clock a minute behind the last run's: not taken again.
        assert_eq!(take("b", at(59)), Some(at(120)), "clocks apart a little");
        assert_eq!(take("a", at(-120)), None, "the clock was set back");
        assert_eq!(take("b", at(-120)), Some(at(-60)));
    }
}
