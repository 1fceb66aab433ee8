//! PostgreSQL queries of the scheduled backups' record (one row, id 1).
//! PostgreSQL installs are backed up with `pg_dump`; the row exists so the
//! schemas match and `GET /api/admin/backups` answers the same way.

use super::PgTx;
use crate::domain::error::DomainResult;
use crate::domain::time::Ts;
use crate::store::backups::{BackupStatus, BackupStore};

impl BackupStore for PgTx<'_, '_> {
    fn backup_status(&mut self) -> DomainResult<BackupStatus> {
        let Some(r) = self.opt(
            "SELECT armed_at, last_run_at, last_success_at, last_failure_at, last_failure
               FROM backup_status WHERE id = 1",
            &[],
        )?
        else {
            return Ok(BackupStatus::default());
        };
        let failure_at: Option<Ts> = r.try_get(3)?;
        let failure: Option<String> = r.try_get(4)?;
        Ok(BackupStatus {
            armed_at: r.try_get(0)?,
            last_run_at: r.try_get(1)?,
            last_success_at: r.try_get(2)?,
            last_failure: failure_at.zip(failure),
        })
    }

    fn backup_arm(&mut self, now: Ts) -> DomainResult<BackupStatus> {
        self.change(
            "INSERT INTO backup_status (id, armed_at) VALUES (1, $1)
             ON CONFLICT (id) DO UPDATE SET armed_at = coalesce(backup_status.armed_at, $1)",
            &[&now],
        )?;
        self.backup_status()
    }

    fn backup_record(&mut self, run_at: Ts, at: Ts, outcome: Result<(), &str>) -> DomainResult<()> {
        match outcome {
            Ok(()) => self.change(
                "INSERT INTO backup_status (id, last_run_at, last_success_at) VALUES (1, $1, $2)
                 ON CONFLICT (id) DO UPDATE SET last_run_at = $1, last_success_at = $2,
                     last_failure_at = NULL, last_failure = NULL",
                &[&run_at, &at],
            )?,
            Err(message) => self.change(
                "INSERT INTO backup_status (id, last_run_at, last_failure_at, last_failure)
                 VALUES (1, $1, $2, $3)
                 ON CONFLICT (id) DO UPDATE SET last_run_at = $1, last_failure_at = $2,
                     last_failure = $3",
                &[&run_at, &at, &message],
            )?,
        };
        Ok(())
    }
}
