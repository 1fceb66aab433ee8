//! SQLite queries of the durable job queue.

use rusqlite::params;

use super::SqliteTx;
use crate::domain::error::DomainResult;
use crate::domain::time::Ts;
use crate::store::JobStore;

impl JobStore for SqliteTx<'_> {
    fn enqueue_job(
        &mut self,
        kind: &str,
        payload: &serde_json::Value,
        run_at: Ts,
        max_attempts: u32,
        now: Ts,
    ) -> DomainResult<i64> {
        self.conn
            .prepare_cached(
                "INSERT INTO job (kind, payload, run_at, max_attempts, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![kind, payload.to_string(), run_at, max_attempts, now])?;
        self.mark_enqueued()?;
        Ok(self.conn.last_insert_rowid())
    }
}
