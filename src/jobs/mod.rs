//! The durable job queue: rows in the `job` table, written in the caller's
//! transaction, run by the scheduler in `afisha serve`.

pub mod scheduler;

use rusqlite::params;

use crate::db::Write;
use crate::error::AppResult;
use crate::time::Ts;

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
