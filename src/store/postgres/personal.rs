//! PostgreSQL queries of a person's own data.

use super::PgTx;
use crate::domain::error::DomainResult;
use crate::store::PersonalDataStore;
use crate::store::personal::{Anonymised, MyParticipationRow};

impl PersonalDataStore for PgTx<'_, '_> {
    fn my_participation_rows(&mut self, user_id: i64) -> DomainResult<Vec<MyParticipationRow>> {
        self.rows(
            "SELECT p.event_id, e.name, p.status, p.created_at
             FROM event_participant p JOIN event e ON e.id = p.event_id
             WHERE p.user_id = $1 ORDER BY p.created_at, p.id",
            &[&user_id],
        )?
        .iter()
        .map(|r| {
            Ok(MyParticipationRow {
                event_id: r.try_get(0)?,
                event_name: r.try_get(1)?,
                status: r.try_get(2)?,
                created_at: r.try_get(3)?,
            })
        })
        .collect()
    }

    fn has_calendar_token(&mut self, user_id: i64) -> DomainResult<bool> {
        Ok(self
            .one(
                "SELECT EXISTS (SELECT 1 FROM calendar_token WHERE user_id = $1)",
                &[&user_id],
            )?
            .try_get(0)?)
    }

    fn anonymise_user(&mut self, id: i64, to: &Anonymised<'_>) -> DomainResult<()> {
        self.change(
            r#"UPDATE "user" SET email = $2, email_key = $3, full_name = $4, full_name_fold = $5,
                      password_hash = '', identity_provider = NULL, identity_subject = NULL,
                      deleted_at = $6
               WHERE id = $1"#,
            &[
                &id,
                &to.email,
                &to.email_key,
                &to.full_name,
                &to.full_name_fold,
                &to.deleted_at,
            ],
        )?;
        Ok(())
    }

    fn erase_personal_rows(&mut self, user_id: i64) -> DomainResult<()> {
        for sql in [
            "DELETE FROM login_session WHERE user_id = $1",
            "DELETE FROM issued_login_recovery WHERE user_id = $1",
            "DELETE FROM calendar_token WHERE user_id = $1",
            "DELETE FROM user_preferences WHERE user_id = $1",
            "DELETE FROM user_reminder_offset WHERE user_id = $1",
            "DELETE FROM instant_notification WHERE recipient_id = $1",
        ] {
            self.change(sql, &[&user_id])?;
        }
        Ok(())
    }
}
