//! PostgreSQL queries of in-app notifications, recipients and due reminders.

use postgres::Row;

use super::PgTx;
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::notice::EventFacts;
use crate::domain::time::Ts;
use crate::store::NotificationStore;
use crate::store::notifications::{
    DueReminder, InAppBody, InAppNotice, InAppRow, Recipient, StoredNotice,
};

/// The columns [`facts_from_row`] reads, for a query over `event e`.
const FACTS_COLUMNS: &str = "e.id, e.name, e.short_description, e.starts_at, e.ends_at,
    e.location, e.payment_info, e.max_participants_count,
    (SELECT count(*) FROM event_participant c
      WHERE c.event_id = e.id AND c.status = 'PARTICIPATING')";

/// Reads [`FACTS_COLUMNS`] starting at column `first`.
fn facts_from_row(r: &Row, first: usize) -> DomainResult<EventFacts> {
    Ok(EventFacts {
        id: r.try_get(first)?,
        name: r.try_get(first + 1)?,
        short_description: r.try_get(first + 2)?,
        starts_at: r.try_get(first + 3)?,
        ends_at: r.try_get(first + 4)?,
        location: r.try_get(first + 5)?,
        payment_info: r.try_get(first + 6)?,
        max_participants_count: r.try_get(first + 7)?,
        participants_count: r.try_get(first + 8)?,
    })
}

impl NotificationStore for PgTx<'_, '_> {
    fn recipient(&mut self, user_id: i64) -> DomainResult<Option<Recipient>> {
        self.opt(
            r#"SELECT email, full_name FROM "user" WHERE id = $1 AND deleted_at IS NULL"#,
            &[&user_id],
        )?
        .map(|r| {
            Ok(Recipient {
                email: r.try_get(0)?,
                full_name: r.try_get(1)?,
            })
        })
        .transpose()
    }

    fn active_admin_ids(&mut self) -> DomainResult<Vec<i64>> {
        self.rows(
            r#"SELECT id FROM "user" WHERE deleted_at IS NULL AND role = 'ADMINISTRATOR' ORDER BY id"#,
            &[],
        )?
        .iter()
        .map(|r| Ok(r.try_get(0)?))
        .collect()
    }

    fn insert_in_app(&mut self, user_id: i64, notice: &InAppNotice, now: Ts) -> DomainResult<()> {
        let json = serde_json::to_string(notice).map_err(DomainError::internal)?;
        // title/content stay empty: the words are rendered when read.
        self.change(
            "INSERT INTO instant_notification (recipient_id, type, title, content, notice, created_at)
             VALUES ($1, $2, '', '', $3, $4)",
            &[&user_id, &notice.notice.kind(), &json, &now],
        )?;
        Ok(())
    }

    fn list_in_app(
        &mut self,
        user_id: i64,
        include_acked: bool,
        limit: i64,
        offset: i64,
    ) -> DomainResult<Vec<InAppRow>> {
        self.rows(
            "SELECT id, type, title, content, cta_url, cta_label, notice, created_at, acked_at
             FROM instant_notification
             WHERE recipient_id = $1 AND ($2::BOOLEAN OR acked_at IS NULL)
             ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4",
            &[&user_id, &include_acked, &limit, &offset],
        )?
        .iter()
        .map(|r| {
            let body = match r.try_get::<_, Option<String>>(6)? {
                Some(json) => InAppBody::Typed(StoredNotice(json)),
                None => InAppBody::Stored {
                    title: r.try_get(2)?,
                    content: r.try_get(3)?,
                    cta_url: r.try_get(4)?,
                    cta_label: r.try_get(5)?,
                },
            };
            Ok(InAppRow {
                id: r.try_get(0)?,
                kind: r.try_get(1)?,
                body,
                created_at: r.try_get(7)?,
                acked_at: r.try_get(8)?,
            })
        })
        .collect()
    }

    fn in_app_is_of(&mut self, id: i64, user_id: i64) -> DomainResult<bool> {
        Ok(self
            .opt(
                "SELECT 1 FROM instant_notification WHERE id = $1 AND recipient_id = $2",
                &[&id, &user_id],
            )?
            .is_some())
    }

    fn ack_in_app(&mut self, id: i64, user_id: i64, now: Ts) -> DomainResult<()> {
        self.change(
            "UPDATE instant_notification SET acked_at = $3
             WHERE id = $1 AND recipient_id = $2 AND acked_at IS NULL",
            &[&id, &user_id, &now],
        )?;
        Ok(())
    }

    fn ack_all_in_app(&mut self, user_id: i64, now: Ts) -> DomainResult<()> {
        self.change(
            "UPDATE instant_notification SET acked_at = $2 WHERE recipient_id = $1 AND acked_at IS NULL",
            &[&user_id, &now],
        )?;
        Ok(())
    }

    fn unread_in_app(&mut self, user_id: i64) -> DomainResult<i64> {
        Ok(self
            .one(
                "SELECT count(*) FROM instant_notification WHERE recipient_id = $1 AND acked_at IS NULL",
                &[&user_id],
            )?
            .try_get(0)?)
    }

    fn due_reminders(
        &mut self,
        after: Ts,
        until: Ts,
        limit: usize,
    ) -> DomainResult<Vec<DueReminder>> {
        // In the scan's write, rows another scan (this instance's scheduler
        // racing a manual scan, or another instance) is reminding right now
        // are skipped, so each reminder goes out once.
        let lock = if self.write {
            "FOR UPDATE OF p SKIP LOCKED"
        } else {
            ""
        };
        self.rows(
            &format!(
                "SELECT p.id, p.user_id, {FACTS_COLUMNS}
                 FROM event e JOIN event_participant p ON p.event_id = e.id
                 WHERE e.starts_at > $1 AND e.starts_at <= $2 AND e.rejected_at IS NULL
                   AND p.status = 'PARTICIPATING' AND p.reminder_sent_at IS NULL
                 ORDER BY e.starts_at, p.id
                 LIMIT $3 {lock}"
            ),
            &[&after, &until, &(limit as i64)],
        )?
        .iter()
        .map(|r| {
            Ok(DueReminder {
                participant_id: r.try_get(0)?,
                user_id: r.try_get(1)?,
                event: facts_from_row(r, 2)?,
            })
        })
        .collect()
    }

    fn mark_reminded(&mut self, participant_id: i64, now: Ts) -> DomainResult<()> {
        self.change(
            "UPDATE event_participant SET reminder_sent_at = $2 WHERE id = $1",
            &[&participant_id, &now],
        )?;
        Ok(())
    }
}
