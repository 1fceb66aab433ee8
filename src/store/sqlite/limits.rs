//! SQLite queries of rate limits (one writer at a time: the state read in
//! a write cannot change before its commit).

use rusqlite::{OptionalExtension, params};

use super::SqliteTx;
use crate::domain::error::DomainResult;
use crate::domain::limits::LimitState;
use crate::domain::time::Ts;
use crate::store::limits::LimitStore;

impl LimitStore for SqliteTx<'_> {
    fn limit_for_update(&mut self, key: &str) -> DomainResult<LimitState> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT count, pending, reserved, expires_at FROM rate_limit WHERE key = ?1",
            )?
            .query_row([key], |r| {
                Ok(LimitState {
                    count: r.get::<_, i64>(0)?.clamp(0, u32::MAX as i64) as u32,
                    pending: r.get::<_, i64>(1)?.clamp(0, u32::MAX as i64) as u32,
                    reserved: r.get::<_, i64>(2)?.max(0) as u64,
                    expires: r.get(3)?,
                })
            })
            .optional()?
            .unwrap_or_default())
    }

    fn put_limit(&mut self, key: &str, s: &LimitState) -> DomainResult<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO rate_limit (key, count, pending, reserved, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (key) DO UPDATE SET count = excluded.count,
                     pending = excluded.pending, reserved = excluded.reserved,
                     expires_at = excluded.expires_at",
            )?
            .execute(params![
                key,
                s.count as i64,
                s.pending as i64,
                s.reserved as i64,
                s.expires
            ])?;
        Ok(())
    }

    fn delete_limit(&mut self, key: &str) -> DomainResult<()> {
        self.conn
            .prepare_cached("DELETE FROM rate_limit WHERE key = ?1")?
            .execute([key])?;
        Ok(())
    }

    fn sweep_limits(&mut self, before: Ts) -> DomainResult<usize> {
        Ok(self
            .conn
            .prepare_cached("DELETE FROM rate_limit WHERE expires_at < ?1")?
            .execute([before])?)
    }
}
