//! What the scheduled backups remember between runs.

use crate::domain::error::DomainResult;
use crate::domain::time::Ts;

/// The scheduled backups' record, as stored (one row).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BackupStatus {
    /// When the scheduler first saw a schedule; `None` before that.
    pub armed_at: Option<Ts>,
    /// When the last scheduled run started (success or failure).
    pub last_run_at: Option<Ts>,
    pub last_success_at: Option<Ts>,
    /// The last failure, kept until a later run succeeds.
    pub last_failure: Option<(Ts, String)>,
}

pub trait BackupStore {
    /// The stored record (all empty before the scheduler first ran).
    fn backup_status(&mut self) -> DomainResult<BackupStatus>;
    /// Notes `now` as the moment the schedule was first seen, unless it
    /// already was; returns the record.
    fn backup_arm(&mut self, now: Ts) -> DomainResult<BackupStatus>;
    /// Records a run that started at `run_at`: `Ok` finished at `at`, or
    /// failed with the message (a success clears the last failure).
    fn backup_record(&mut self, run_at: Ts, at: Ts, outcome: Result<(), &str>) -> DomainResult<()>;
}
