//! Queries of the durable job queue.

use crate::domain::error::DomainResult;
use crate::domain::time::Ts;

/// The job queue queries a transaction offers.
pub trait JobStore {
    /// Inserts a job in this (write) transaction; the scheduler is woken
    /// after the commit. Returns its id.
    fn enqueue_job(
        &mut self,
        kind: &str,
        payload: &serde_json::Value,
        run_at: Ts,
        max_attempts: u32,
        now: Ts,
    ) -> DomainResult<i64>;
}
