//! SQLite queries of in-app notifications, recipients and due reminders.

use rusqlite::params;

use super::{OptionalRow, SqliteTx};
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::notice::EventFacts;
use crate::domain::time::Ts;
use crate::store::NotificationStore;
use crate::store::notifications::{
    DueReminder, InAppBody, InAppNotice, InAppRow, Recipient, StoredNotice,
};

/// The columns [`facts_from_row`] reads, for a query over `event e`.
pub const FACTS_COLUMNS: &str = "e.id, e.name, e.short_description, e.starts_at, e.ends_at,
    e.location, e.payment_info, e.max_participants_count,
    (SELECT count(*) FROM event_participant c
      WHERE c.event_id = e.id AND c.status = 'PARTICIPATING')";

/// Reads [`FACTS_COLUMNS`] starting at column `first`.
pub fn facts_from_row(r: &rusqlite::Row, first: usize) -> rusqlite::Result<EventFacts> {
    Ok(EventFacts {
        id: r.get(first)?,
        name: r.get(first + 1)?,
        short_description: r.get(first + 2)?,
        starts_at: r.get(first + 3)?,
        ends_at: r.get(first + 4)?,
        location: r.get(first + 5)?,
        payment_info: r.get(first + 6)?,
        max_participants_count: r.get(first + 7)?,
        participants_count: r.get(first + 8)?,
    })
}

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

    fn insert_in_app(&mut self, user_id: i64, notice: &InAppNotice, now: Ts) -> DomainResult<()> {
        let json = serde_json::to_string(notice).map_err(DomainError::internal)?;
        // title/content stay empty: the words are rendered when read.
        self.conn
            .prepare_cached(
                "INSERT INTO instant_notification (recipient_id, type, title, content, notice, created_at)
                 VALUES (?1, ?2, '', '', ?3, ?4)",
            )?
            .execute(params![user_id, notice.notice.kind(), json, now])?;
        Ok(())
    }

    fn list_in_app(
        &mut self,
        user_id: i64,
        include_acked: bool,
        limit: i64,
        offset: i64,
    ) -> DomainResult<Vec<InAppRow>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, type, title, content, cta_url, cta_label, notice, created_at, acked_at
             FROM instant_notification
             WHERE recipient_id = ?1 AND (?2 OR acked_at IS NULL)
             ORDER BY created_at DESC, id DESC LIMIT ?3 OFFSET ?4",
        )?;
        let rows = stmt
            .query_map(params![user_id, include_acked, limit, offset], |r| {
                let body = match r.get::<_, Option<String>>(6)? {
                    Some(json) => InAppBody::Typed(StoredNotice(json)),
                    None => InAppBody::Stored {
                        title: r.get(2)?,
                        content: r.get(3)?,
                        cta_url: r.get(4)?,
                        cta_label: r.get(5)?,
                    },
                };
                Ok(InAppRow {
                    id: r.get(0)?,
                    kind: r.get(1)?,
                    body,
                    created_at: r.get(7)?,
                    acked_at: r.get(8)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    fn in_app_is_of(&mut self, id: i64, user_id: i64) -> DomainResult<bool> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT 1 FROM instant_notification WHERE id = ?1 AND recipient_id = ?2",
            )?
            .exists(params![id, user_id])?)
    }

    fn ack_in_app(&mut self, id: i64, user_id: i64, now: Ts) -> DomainResult<()> {
        self.conn
            .prepare_cached(
                "UPDATE instant_notification SET acked_at = ?3
                 WHERE id = ?1 AND recipient_id = ?2 AND acked_at IS NULL",
            )?
            .execute(params![id, user_id, now])?;
        Ok(())
    }

    fn ack_all_in_app(&mut self, user_id: i64, now: Ts) -> DomainResult<()> {
        self.conn
            .prepare_cached(
                "UPDATE instant_notification SET acked_at = ?2 WHERE recipient_id = ?1 AND acked_at IS NULL",
            )?
            .execute(params![user_id, now])?;
        Ok(())
    }

    fn unread_in_app(&mut self, user_id: i64) -> DomainResult<i64> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT count(*) FROM instant_notification WHERE recipient_id = ?1 AND acked_at IS NULL",
            )?
            .query_row([user_id], |r| r.get(0))?)
    }

    fn due_reminders(
        &mut self,
        after: Ts,
        until: Ts,
        limit: usize,
    ) -> DomainResult<Vec<DueReminder>> {
        let due = self
            .conn
            .prepare_cached(&format!(
                "SELECT p.id, p.user_id, {FACTS_COLUMNS}
                 FROM event e JOIN event_participant p ON p.event_id = e.id
                 WHERE e.starts_at > ?1 AND e.starts_at <= ?2 AND e.rejected_at IS NULL
                   AND p.status = 'PARTICIPATING' AND p.reminder_sent_at IS NULL
                 ORDER BY e.starts_at, p.id
                 LIMIT ?3"
            ))?
            .query_map(params![after, until, limit as i64], |r| {
                Ok(DueReminder {
                    participant_id: r.get(0)?,
                    user_id: r.get(1)?,
                    event: facts_from_row(r, 2)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(due)
    }

    fn mark_reminded(&mut self, participant_id: i64, now: Ts) -> DomainResult<()> {
        self.conn
            .prepare_cached("UPDATE event_participant SET reminder_sent_at = ?2 WHERE id = ?1")?
            .execute(params![participant_id, now])?;
        Ok(())
    }
}
