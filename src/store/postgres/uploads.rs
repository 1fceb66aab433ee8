//! PostgreSQL queries of uploaded images.

use super::PgTx;
use super::types::u32_of;
use crate::domain::error::DomainResult;
use crate::domain::time::Ts;
use crate::store::uploads::{UploadStore, UploadUsage};

impl UploadStore for PgTx<'_, '_> {
    fn upload_usage(&mut self, user_id: i64, since: Ts) -> DomainResult<UploadUsage> {
        let r = self.one(
            "SELECT coalesce(sum(bytes), 0)::BIGINT,
                    count(*) FILTER (WHERE created_at >= $2),
                    min(created_at) FILTER (WHERE created_at >= $2)
             FROM upload WHERE user_id = $1",
            &[&user_id, &since],
        )?;
        Ok(UploadUsage {
            bytes: r.try_get::<_, i64>(0)?.max(0) as u64,
            recent: u32_of(r.try_get(1)?),
            oldest_recent: r.try_get(2)?,
        })
    }

    fn insert_upload(&mut self, key: &str, user_id: i64, bytes: u64, now: Ts) -> DomainResult<()> {
        self.change(
            "INSERT INTO upload (key, user_id, bytes, created_at) VALUES ($1, $2, $3, $4)",
            &[&key, &user_id, &(bytes as i64), &now],
        )?;
        Ok(())
    }

    fn delete_upload(&mut self, key: &str) -> DomainResult<()> {
        self.change("DELETE FROM upload WHERE key = $1", &[&key])?;
        Ok(())
    }

    fn adopt_uploads(&mut self, keys: &[String], now: Ts) -> DomainResult<usize> {
        let mut adopted = 0;
        for key in keys {
            adopted += self.change(
                "INSERT INTO upload (key, user_id, bytes, created_at) VALUES ($1, 0, 0, $2)
                 ON CONFLICT (key) DO NOTHING",
                &[key, &now],
            )? as usize;
        }
        Ok(adopted)
    }

    fn take_orphan_uploads(&mut self, before: Ts) -> DomainResult<Vec<String>> {
        self.change_rows(
            "DELETE FROM upload WHERE created_at < $1
               AND NOT EXISTS (SELECT 1 FROM event e WHERE strpos(e.image_url, upload.key) > 0)
             RETURNING key",
            &[&before],
        )?
        .iter()
        .map(|r| Ok(r.try_get(0)?))
        .collect()
    }
}
