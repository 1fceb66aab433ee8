//! SQLite queries of the scheduled backups' record (one row, id 1).

use rusqlite::params;

use super::{OptionalRow, SqliteTx};
use crate::domain::error::DomainResult;
use crate::domain::time::Ts;
use crate::store::backups::{BackupStatus, BackupStore};

impl BackupStore for SqliteTx<'_> {
    fn backup_status(&mut self) -> DomainResult<BackupStatus> {
        let row = self
            .conn
            .query_row(
                "SELECT armed_at, last_run_at, last_success_at, last_failure_at, last_failure
                   FROM backup_status WHERE id = 1",
                [],
                |r| {
                    let failure_at: Option<Ts> = r.get(3)?;
                    let failure: Option<String> = r.get(4)?;
                    Ok(BackupStatus {
                        armed_at: r.get(0)?,
                        last_run_at: r.get(1)?,
                        last_success_at: r.get(2)?,
                        last_failure: failure_at.zip(failure),
                    })
                },
            )
            .optional()?;
        Ok(row.unwrap_or_default())
    }

    fn backup_arm(&mut self, now: Ts) -> DomainResult<BackupStatus> {
        self.conn.execute(
            "INSERT INTO backup_status (id, armed_at) VALUES (1, ?1)
             ON CONFLICT (id) DO UPDATE SET armed_at = coalesce(armed_at, ?1)",
            params![now],
        )?;
        self.backup_status()
    }

    fn backup_record(&mut self, run_at: Ts, at: Ts, outcome: Result<(), &str>) -> DomainResult<()> {
        match outcome {
            Ok(()) => self.conn.execute(
                "INSERT INTO backup_status (id, last_run_at, last_success_at) VALUES (1, ?1, ?2)
                 ON CONFLICT (id) DO UPDATE SET last_run_at = ?1, last_success_at = ?2,
                     last_failure_at = NULL, last_failure = NULL",
                params![run_at, at],
            )?,
            Err(message) => self.conn.execute(
                "INSERT INTO backup_status (id, last_run_at, last_failure_at, last_failure)
                 VALUES (1, ?1, ?2, ?3)
                 ON CONFLICT (id) DO UPDATE SET last_run_at = ?1, last_failure_at = ?2,
                     last_failure = ?3",
                params![run_at, at, message],
            )?,
        };
        Ok(())
    }
}
