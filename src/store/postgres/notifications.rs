//! PostgreSQL queries of in-app notifications, recipients and due reminders.

use postgres::Row;

use super::PgTx;
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::notice::EventFacts;
use crate::domain::preferences::{DEFAULT_REMINDER_MINUTES, Lang, Preferences};
use crate::domain::time::Ts;
use crate::store::NotificationStore;
use crate::store::notifications::{
    DueReminder, InAppBody, InAppNotice, InAppRow, Recipient, StoredNotice, split_kinds,
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
            r#"SELECT u.email, u.full_name, p.locale, p.time_zone, p.email_off
               FROM "user" u LEFT JOIN user_preferences p ON p.user_id = u.id
               WHERE u.id = $1 AND u.deleted_at IS NULL"#,
            &[&user_id],
        )?
        .map(|r| {
            Ok(Recipient {
                email: r.try_get(0)?,
                full_name: r.try_get(1)?,
                prefs: Preferences {
                    locale: r.try_get(2)?,
                    time_zone: r.try_get(3)?,
                    email_off: split_kinds(r.try_get::<_, Option<String>>(4)?.as_deref()),
                    reminder_minutes: None,
                },
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

    fn due_reminders(&mut self, now: Ts, limit: usize) -> DomainResult<Vec<DueReminder>> {
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
                r#"SELECT p.id, p.user_id, o.minutes, p.created_at, {FACTS_COLUMNS}
                 FROM event e JOIN event_participant p ON p.event_id = e.id
                 JOIN (SELECT user_id, minutes FROM user_reminder_offset
                       UNION ALL
                       SELECT id, {DEFAULT_REMINDER_MINUTES}::BIGINT FROM "user" u WHERE NOT EXISTS
                         (SELECT 1 FROM user_reminder_offset x WHERE x.user_id = u.id)) o
                   ON o.user_id = p.user_id
                 WHERE e.starts_at > $1 AND e.starts_at <= $1 + o.minutes * 60000000
                   AND e.rejected_at IS NULL AND p.status = 'PARTICIPATING'
                   AND NOT EXISTS (SELECT 1 FROM reminder_sent s
                       WHERE s.participant_id = p.id AND s.minutes = o.minutes
                         AND s.starts_at = e.starts_at AND s.joined_at = p.created_at)
                 ORDER BY e.starts_at, p.id, o.minutes DESC
                 LIMIT $2 {lock}"#
            ),
            &[&now, &(limit as i64)],
        )?
        .iter()
        .map(|r| {
            Ok(DueReminder {
                participant_id: r.try_get(0)?,
                user_id: r.try_get(1)?,
                minutes: r.try_get(2)?,
                joined_at: r.try_get(3)?,
                event: facts_from_row(r, 4)?,
            })
        })
        .collect()
    }

    fn mark_reminded(&mut self, due: &DueReminder, now: Ts) -> DomainResult<bool> {
        // ON CONFLICT decides on the latest committed row (it waits for a
        // concurrent scan's insert), unlike the scan's snapshot.
        let marked = self.change(
            "INSERT INTO reminder_sent (participant_id, minutes, starts_at, joined_at, sent_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (participant_id, minutes) DO UPDATE
                SET starts_at = excluded.starts_at, joined_at = excluded.joined_at,
                    sent_at = excluded.sent_at
                WHERE reminder_sent.starts_at IS DISTINCT FROM excluded.starts_at
                   OR reminder_sent.joined_at IS DISTINCT FROM excluded.joined_at",
            &[
                &due.participant_id,
                &due.minutes,
                &due.event.starts_at,
                &due.joined_at,
                &now,
            ],
        )?;
        if marked == 0 {
            return Ok(false);
        }
        self.change(
            "UPDATE event_participant SET reminder_sent_at = $2 WHERE id = $1",
            &[&due.participant_id, &now],
        )?;
        Ok(true)
    }

    fn preferences(&mut self, user_id: i64) -> DomainResult<Preferences> {
        let row = self.opt(
            "SELECT locale, time_zone, email_off FROM user_preferences WHERE user_id = $1",
            &[&user_id],
        )?;
        let (locale, time_zone, email_off) = match row {
            Some(r) => (
                r.try_get::<_, Option<Lang>>(0)?,
                r.try_get::<_, Option<String>>(1)?,
                r.try_get::<_, String>(2)?,
            ),
            None => Default::default(),
        };
        let minutes = self
            .rows(
                "SELECT minutes FROM user_reminder_offset WHERE user_id = $1 ORDER BY minutes DESC",
                &[&user_id],
            )?
            .iter()
            .map(|r| r.try_get::<_, i64>(0))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Preferences {
            locale,
            time_zone,
            email_off: split_kinds(Some(&email_off)),
            reminder_minutes: (!minutes.is_empty()).then_some(minutes),
        })
    }

    fn save_preferences(&mut self, user_id: i64, prefs: &Preferences, now: Ts) -> DomainResult<()> {
        let email_off = prefs
            .email_off
            .iter()
            .cloned()
            .collect::<Vec<_>>()
            .join(",");
        self.change(
            "INSERT INTO user_preferences (user_id, locale, time_zone, email_off, updated_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (user_id) DO UPDATE SET locale = excluded.locale,
                time_zone = excluded.time_zone, email_off = excluded.email_off,
                updated_at = excluded.updated_at",
            &[&user_id, &prefs.locale, &prefs.time_zone, &email_off, &now],
        )?;
        self.change(
            "DELETE FROM user_reminder_offset WHERE user_id = $1",
            &[&user_id],
        )?;
        for m in prefs.reminder_minutes.iter().flatten() {
            self.change(
                "INSERT INTO user_reminder_offset (user_id, minutes) VALUES ($1, $2)",
                &[&user_id, m],
            )?;
        }
        Ok(())
    }
}
