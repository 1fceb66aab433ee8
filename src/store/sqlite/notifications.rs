//! SQLite queries of in-app notifications and recipients.

use rusqlite::params;

use super::{OptionalRow, SqliteTx};
use crate::domain::error::DomainResult;
use crate::domain::time::Ts;
use crate::store::NotificationStore;
use crate::store::notifications::Recipient;

impl NotificationStore for SqliteTx<'_> {
    fn recipient(&mut self, user_id: i64) -> DomainResult<Option<Recipient>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT email, full_name FROM user WHERE id = ?1 AND deleted_at IS NULL",
            )?
            .query_row([user_id], |r| {
                Ok(Recipient {
                    email: r.get(0)?,
                    full_name: r.get(1)?,
                })
            })
            .optional()?)
    }

    fn active_admin_ids(&mut self) -> DomainResult<Vec<i64>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id FROM user WHERE deleted_at IS NULL AND role = 'ADMINISTRATOR' ORDER BY id",
        )?;
        let ids = stmt
            .query_map([], |r| r.get(0))?
            .collect::<Result<Vec<i64>, _>>()?;
        Ok(ids)
    }

    fn insert_in_app(
        &mut self,
        user_id: i64,
        kind: &str,
        title: &str,
        content: &str,
        cta_url: Option<&str>,
        cta_label: Option<&str>,
        now: Ts,
    ) -> DomainResult<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO instant_notification (recipient_id, type, title, content, cta_url, cta_label, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![user_id, kind, title, content, cta_url, cta_label, now])?;
        Ok(())
    }
}
