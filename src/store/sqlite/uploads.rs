//! SQLite queries of uploaded images.

use rusqlite::params;

use super::SqliteTx;
use crate::domain::error::DomainResult;
use crate::domain::time::Ts;
use crate::store::uploads::{UploadStore, UploadUsage};

impl UploadStore for SqliteTx<'_> {
    fn upload_usage(&mut self, user_id: i64, since: Ts) -> DomainResult<UploadUsage> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT coalesce(sum(bytes), 0),
                        count(*) FILTER (WHERE created_at >= ?2),
                        min(created_at) FILTER (WHERE created_at >= ?2)
                 FROM upload WHERE user_id = ?1",
            )?
            .query_row(params![user_id, since], |r| {
                Ok(UploadUsage {
                    bytes: r.get::<_, i64>(0)?.max(0) as u64,
                    recent: r.get(1)?,
                    oldest_recent: r.get(2)?,
                })
            })?)
    }

    fn insert_upload(&mut self, key: &str, user_id: i64, bytes: u64, now: Ts) -> DomainResult<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO upload (key, user_id, bytes, created_at) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![key, user_id, bytes as i64, now])?;
        Ok(())
    }

    fn delete_upload(&mut self, key: &str) -> DomainResult<()> {
        self.conn
            .prepare_cached("DELETE FROM upload WHERE key = ?1")?
            .execute([key])?;
        Ok(())
    }

    fn adopt_uploads(&mut self, keys: &[String], now: Ts) -> DomainResult<usize> {
        let mut insert = self.conn.prepare_cached(
            "INSERT OR IGNORE INTO upload (key, user_id, bytes, created_at) VALUES (?1, 0, 0, ?2)",
        )?;
        let mut adopted = 0;
        for key in keys {
            adopted += insert.execute(params![key, now])?;
        }
        Ok(adopted)
    }

    fn take_orphan_uploads(&mut self, before: Ts) -> DomainResult<Vec<String>> {
        let keys = self
            .conn
            .prepare_cached(
                "DELETE FROM upload WHERE created_at < ?1
                   AND NOT EXISTS (SELECT 1 FROM event e WHERE instr(e.image_url, upload.key) > 0)
                 RETURNING key",
            )?
            .query_map([before], |r| r.get(0))?
            .collect::<Result<Vec<String>, _>>()?;
        Ok(keys)
    }
}
