//! SQLite queries of a person's own data.

use rusqlite::params;

use super::SqliteTx;
use crate::domain::error::DomainResult;
use crate::store::PersonalDataStore;
use crate::store::personal::{Anonymised, MyParticipationRow};

impl PersonalDataStore for SqliteTx<'_> {
    fn my_participation_rows(&mut self, user_id: i64) -> DomainResult<Vec<MyParticipationRow>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT p.event_id, e.name, p.status, p.created_at
             FROM event_participant p JOIN event e ON e.id = p.event_id
             WHERE p.user_id = ?1 ORDER BY p.created_at, p.id",
        )?;
        let rows = stmt
            .query_map([user_id], |r| {
                Ok(MyParticipationRow {
                    event_id: r.get(0)?,
                    event_name: r.get(1)?,
                    status: r.get(2)?,
                    created_at: r.get(3)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    fn has_calendar_token(&mut self, user_id: i64) -> DomainResult<bool> {
        Ok(self
            .conn
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM calendar_token WHERE user_id = ?1)")?
            .query_row([user_id], |r| r.get(0))?)
    }

    fn anonymise_user(&mut self, id: i64, to: &Anonymised<'_>) -> DomainResult<()> {
        self.conn
            .prepare_cached(
                "UPDATE user SET email = ?2, email_key = ?3, full_name = ?4, full_name_fold = ?5,
                        password_hash = '', identity_provider = NULL, identity_subject = NULL,
                        deleted_at = ?6
                 WHERE id = ?1",
            )?
            .execute(params![
                id,
                to.email,
                to.email_key,
                to.full_name,
                to.full_name_fold,
                to.deleted_at
            ])?;
        Ok(())
    }

    fn erase_personal_rows(&mut self, user_id: i64) -> DomainResult<()> {
        for sql in [
            "DELETE FROM login_session WHERE user_id = ?1",
            "DELETE FROM issued_login_recovery WHERE user_id = ?1",
            "DELETE FROM calendar_token WHERE user_id = ?1",
            "DELETE FROM user_preferences WHERE user_id = ?1",
            "DELETE FROM user_reminder_offset WHERE user_id = ?1",
            "DELETE FROM instant_notification WHERE recipient_id = ?1",
        ] {
            self.conn.prepare_cached(sql)?.execute([user_id])?;
        }
        Ok(())
    }
}
