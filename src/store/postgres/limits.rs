//! PostgreSQL queries of rate limits. Several instances may count one key
//! at once: its row is created if missing and locked (`FOR UPDATE`) before
//! it is read, so their read-modify-writes take turns. Limits are
//! bookkeeping (no cached answer depends on them): no `NOTIFY`.

use super::PgTx;
use super::types::u32_of;
use crate::domain::error::DomainResult;
use crate::domain::limits::LimitState;
use crate::domain::time::Ts;
use crate::store::limits::LimitStore;

impl LimitStore for PgTx<'_, '_> {
    fn limit_for_update(&mut self, key: &str) -> DomainResult<LimitState> {
        // One statement that inserts or locks the row and returns it: with a
        // separate `INSERT … DO NOTHING` and `SELECT … FOR UPDATE`, a
        // clean-up committing its `DELETE` in between left the `SELECT`
        // without a row (a 500 under load). `DO UPDATE` takes the row lock
        // atomically, whatever commits meanwhile.
        let r = self.one(
            "INSERT INTO rate_limit (key) VALUES ($1)
             ON CONFLICT (key) DO UPDATE SET key = excluded.key
             RETURNING count, pending, reserved, expires_at",
            &[&key],
        )?;
        Ok(LimitState {
            count: u32_of(r.try_get(0)?),
            pending: u32_of(r.try_get(1)?),
            reserved: r.try_get::<_, i64>(2)?.max(0) as u64,
            expires: r.try_get(3)?,
        })
    }

    fn put_limit(&mut self, key: &str, s: &LimitState) -> DomainResult<()> {
        self.exec(
            "INSERT INTO rate_limit (key, count, pending, reserved, expires_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (key) DO UPDATE SET count = excluded.count,
                 pending = excluded.pending, reserved = excluded.reserved,
                 expires_at = excluded.expires_at",
            &[
                &key,
                &(s.count as i64),
                &(s.pending as i64),
                &(s.reserved as i64),
                &s.expires,
            ],
        )?;
        Ok(())
    }

    fn delete_limit(&mut self, key: &str) -> DomainResult<()> {
        self.exec("DELETE FROM rate_limit WHERE key = $1", &[&key])?;
        Ok(())
    }

    fn sweep_limits(&mut self, before: Ts) -> DomainResult<usize> {
        Ok(self.exec("DELETE FROM rate_limit WHERE expires_at < $1", &[&before])? as usize)
    }
}
