//! PostgreSQL queries of events and participation.

use std::collections::HashMap;

use postgres::Row;

use super::PgTx;
use crate::domain::account::fold;
use crate::domain::error::DomainResult;
use crate::domain::event::{
    Attendee, CardFields, Event, MyParticipation, NewEvent, Participant, ParticipantStatus,
    Participation,
};
use crate::domain::statistics::{DayTotals, EventAggregates, EventCounts, MyCounts};
use crate::domain::time::Ts;
use crate::store::EventStore;
use crate::store::events::{CardRow, EventQuery};

/// Columns for [`event_from_row`], in order, over table alias `e`.
pub(crate) const EVENT_COLUMNS: &str = "e.id, e.name, e.short_description, e.description, e.starts_at, e.ends_at, e.image_url, \
     e.payment_info, e.max_participants_count, e.location, e.created_at, e.rejected_at, \
     e.attendees_visible <> 0, e.category_id, e.series_id, e.series_index";
/// How many columns [`EVENT_COLUMNS`] has (columns selected after them
/// start at this index).
pub(crate) const EVENT_COLUMN_COUNT: usize = 16;

pub(crate) fn event_from_row(r: &Row) -> DomainResult<Event> {
    Ok(Event {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        short_description: r.try_get(2)?,
        description: r.try_get(3)?,
        starts_at: r.try_get(4)?,
        ends_at: r.try_get(5)?,
        image_url: r.try_get(6)?,
        payment_info: r.try_get(7)?,
        max_participants_count: r.try_get(8)?,
        location: r.try_get(9)?,
        created_at: r.try_get(10)?,
        rejected_at: r.try_get(11)?,
        attendees_visible: r.try_get(12)?,
        category_id: r.try_get(13)?,
        series_id: r.try_get(14)?,
        series_index: r.try_get(15)?,
    })
}

/// A flag as stored (0/1).
fn flag(value: bool) -> i64 {
    i64::from(value)
}

/// A card's columns, for [`card_from_row`], over table alias `e`.
const CARD_COLUMNS: &str =
    "e.id, e.name, e.short_description, e.description, e.starts_at, e.ends_at,
        e.image_url, e.location,
        (SELECT count(*) FROM event_participant p
          WHERE p.event_id = e.id AND p.status = 'PARTICIPATING'),
        e.max_participants_count, e.payment_info, e.name_fold,
        (SELECT count(*) FROM event_participant p
          WHERE p.event_id = e.id AND p.status = 'WAITLISTED'),
        e.attendees_visible <> 0, e.rejected_at, e.category_id, e.series_id";

fn card_from_row(r: &Row) -> DomainResult<CardRow> {
    Ok(CardRow {
        fields: CardFields {
            id: r.try_get(0)?,
            name: r.try_get(1)?,
            short_description: r.try_get(2)?,
            description: r.try_get(3)?,
            starts_at: r.try_get(4)?,
            ends_at: r.try_get(5)?,
            image_url: r.try_get(6)?,
            location: r.try_get(7)?,
            participants_count: r.try_get(8)?,
            max_participants_count: r.try_get(9)?,
            payment_info: r.try_get(10)?,
            waitlist_count: r.try_get(12)?,
            attendees_visible: r.try_get(13)?,
            category_id: r.try_get(15)?,
            series_id: r.try_get(16)?,
        },
        name_fold: r.try_get(11)?,
        rejected_at: r.try_get(14)?,
    })
}

/// Non-cancelled events with their `PARTICIPATING` count `n` and capacity
/// `cap`.
const PER_EVENT: &str = "SELECT e.id, e.starts_at, e.max_participants_count AS cap,
        (SELECT count(*) FROM event_participant p
          WHERE p.event_id = e.id AND p.status = 'PARTICIPATING') AS n
     FROM event e WHERE e.rejected_at IS NULL";

impl EventStore for PgTx<'_, '_> {
    fn event(&mut self, id: i64) -> DomainResult<Option<Event>> {
        self.opt(
            &format!("SELECT {EVENT_COLUMNS} FROM event e WHERE e.id = $1"),
            &[&id],
        )?
        .as_ref()
        .map(event_from_row)
        .transpose()
    }

    fn lock_event(&mut self, id: i64) -> DomainResult<()> {
        // Held until the commit: writers of the same event's participants
        // (other requests, other instances) queue here, so each one counts
        // what the previous one committed.
        self.lock_rows("SELECT 1 FROM event WHERE id = $1 FOR UPDATE", &[&id])
    }

    fn insert_event(&mut self, new: &NewEvent, now: Ts) -> DomainResult<i64> {
        let e = new.clone().into_event(0, now);
        let rows = self.change_rows(
            "INSERT INTO event (name, name_fold, short_description, description, starts_at,
                 ends_at, image_url, payment_info, max_participants_count, location, created_at,
                 rejected_at, attendees_visible, category_id, series_id, series_index)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
             RETURNING id",
            &[
                &e.name,
                &fold(&e.name),
                &e.short_description,
                &e.description,
                &e.starts_at,
                &e.ends_at,
                &e.image_url,
                &e.payment_info,
                &e.max_participants_count,
                &e.location,
                &e.created_at,
                &e.rejected_at,
                &flag(e.attendees_visible),
                &e.category_id,
                &e.series_id,
                &e.series_index,
            ],
        )?;
        Ok(rows[0].try_get(0)?)
    }

    fn save_event(&mut self, e: &Event) -> DomainResult<()> {
        self.change(
            "UPDATE event SET name = $2, name_fold = $3, short_description = $4,
                 description = $5, starts_at = $6, ends_at = $7, image_url = $8,
                 payment_info = $9, max_participants_count = $10, location = $11,
                 created_at = $12, rejected_at = $13, attendees_visible = $14,
                 category_id = $15, series_id = $16, series_index = $17
             WHERE id = $1",
            &[
                &e.id,
                &e.name,
                &fold(&e.name),
                &e.short_description,
                &e.description,
                &e.starts_at,
                &e.ends_at,
                &e.image_url,
                &e.payment_info,
                &e.max_participants_count,
                &e.location,
                &e.created_at,
                &e.rejected_at,
                &flag(e.attendees_visible),
                &e.category_id,
                &e.series_id,
                &e.series_index,
            ],
        )?;
        Ok(())
    }

    fn list_events(&mut self, q: &EventQuery, now: Ts) -> DomainResult<Vec<Event>> {
        let status = q.status.map(|s| s.as_str());
        self.rows(
            &format!(
                "SELECT {EVENT_COLUMNS} FROM event e
                 WHERE (CASE $1::TEXT
                         WHEN 'ACTIVE' THEN e.rejected_at IS NULL AND e.ends_at > $2
                         WHEN 'PAST' THEN e.rejected_at IS NULL AND e.ends_at <= $2
                         WHEN 'REJECTED' THEN e.rejected_at IS NOT NULL
                         ELSE TRUE END)
                   AND ($3::TEXT IS NULL OR strpos(e.name_fold, $3) > 0)
                 ORDER BY e.id LIMIT $4 OFFSET $5"
            ),
            &[&status, &now, &q.name_fold, &q.limit, &q.offset],
        )?
        .iter()
        .map(event_from_row)
        .collect()
    }

    fn participants_of(&mut self, ids: &[i64]) -> DomainResult<Vec<Vec<Participant>>> {
        let mut groups: Vec<Vec<Participant>> = vec![Vec::new(); ids.len()];
        if ids.is_empty() {
            return Ok(groups);
        }
        let index: HashMap<i64, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
        let rows = self.rows(
            "SELECT p.event_id, p.user_id, p.created_at, p.status FROM event_participant p
             WHERE p.event_id = ANY($1)
             ORDER BY p.event_id, p.created_at, p.id",
            &[&ids],
        )?;
        for r in &rows {
            let event_id: i64 = r.try_get(0)?;
            if let Some(&i) = index.get(&event_id) {
                groups[i].push(Participant {
                    user_id: r.try_get(1)?,
                    created_at: r.try_get(2)?,
                    status: r.try_get(3)?,
                });
            }
        }
        Ok(groups)
    }

    fn participant_status(
        &mut self,
        event_id: i64,
        user_id: i64,
    ) -> DomainResult<Option<ParticipantStatus>> {
        self.opt(
            "SELECT status FROM event_participant WHERE event_id = $1 AND user_id = $2",
            &[&event_id, &user_id],
        )?
        .map(|r| Ok(r.try_get(0)?))
        .transpose()
    }

    fn count_participating(&mut self, event_id: i64, except: Option<i64>) -> DomainResult<i64> {
        Ok(self
            .one(
                "SELECT count(*) FROM event_participant
                 WHERE event_id = $1 AND status = 'PARTICIPATING' AND user_id IS DISTINCT FROM $2",
                &[&event_id, &except],
            )?
            .try_get(0)?)
    }

    fn participating_ids(&mut self, event_id: i64) -> DomainResult<Vec<i64>> {
        self.rows(
            "SELECT user_id FROM event_participant
             WHERE event_id = $1 AND status = 'PARTICIPATING' ORDER BY created_at, id",
            &[&event_id],
        )?
        .iter()
        .map(|r| Ok(r.try_get(0)?))
        .collect()
    }

    fn waitlist_ids(&mut self, event_id: i64) -> DomainResult<Vec<i64>> {
        self.rows(
            "SELECT user_id FROM event_participant
             WHERE event_id = $1 AND status = 'WAITLISTED' ORDER BY created_at, id",
            &[&event_id],
        )?
        .iter()
        .map(|r| Ok(r.try_get(0)?))
        .collect()
    }

    fn set_participant(
        &mut self,
        event_id: i64,
        user_id: i64,
        status: Option<ParticipantStatus>,
        now: Ts,
    ) -> DomainResult<()> {
        if status == Some(ParticipantStatus::Waitlisted) {
            // A new row (a new, larger id): the end of the list.
            self.change(
                "DELETE FROM event_participant WHERE event_id = $1 AND user_id = $2",
                &[&event_id, &user_id],
            )?;
        }
        match status {
            None => self.change(
                "DELETE FROM event_participant WHERE event_id = $1 AND user_id = $2",
                &[&event_id, &user_id],
            )?,
            Some(status) => self.change(
                "INSERT INTO event_participant (event_id, user_id, status, created_at)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (event_id, user_id) DO UPDATE
                   SET status = excluded.status, created_at = excluded.created_at,
                       reminder_sent_at = NULL",
                &[&event_id, &user_id, &status, &now],
            )?,
        };
        Ok(())
    }

    fn replace_participants(&mut self, event_id: i64, ids: &[i64], now: Ts) -> DomainResult<()> {
        self.change(
            "DELETE FROM event_participant
             WHERE event_id = $1 AND status <> 'WAITLISTED' AND NOT (user_id = ANY($2))",
            &[&event_id, &ids],
        )?;
        for id in ids {
            self.change(
                "INSERT INTO event_participant (event_id, user_id, status, created_at)
                 VALUES ($1, $2, 'PARTICIPATING', $3)
                 ON CONFLICT (event_id, user_id) DO UPDATE
                   SET status = 'PARTICIPATING', created_at = excluded.created_at,
                       reminder_sent_at = NULL
                   WHERE event_participant.status <> 'PARTICIPATING'",
                &[&event_id, id, &now],
            )?;
        }
        Ok(())
    }

    fn rearm_reminders(&mut self, event_id: i64) -> DomainResult<()> {
        self.change(
            "UPDATE event_participant SET reminder_sent_at = NULL WHERE event_id = $1",
            &[&event_id],
        )?;
        Ok(())
    }

    fn count_active_users(&mut self, ids: &[i64]) -> DomainResult<usize> {
        if ids.is_empty() {
            return Ok(0);
        }
        let n: i64 = self
            .one(
                r#"SELECT count(*) FROM "user" WHERE deleted_at IS NULL AND id = ANY($1)"#,
                &[&ids],
            )?
            .try_get(0)?;
        Ok(n as usize)
    }

    fn cards(&mut self) -> DomainResult<Vec<CardRow>> {
        self.rows(
            &format!(
                "SELECT {CARD_COLUMNS} FROM event e
                 WHERE e.rejected_at IS NULL
                 ORDER BY e.starts_at, e.id"
            ),
            &[],
        )?
        .iter()
        .map(card_from_row)
        .collect()
    }

    fn card(&mut self, event_id: i64) -> DomainResult<Option<CardRow>> {
        self.opt(
            &format!("SELECT {CARD_COLUMNS} FROM event e WHERE e.id = $1"),
            &[&event_id],
        )?
        .as_ref()
        .map(card_from_row)
        .transpose()
    }

    fn my_statuses(
        &mut self,
        user_id: i64,
        event_id: Option<i64>,
    ) -> DomainResult<HashMap<i64, MyParticipation>> {
        self.rows(
            "SELECT p.event_id, p.status,
                    CASE WHEN p.status = 'WAITLISTED' THEN
                      (SELECT count(*) FROM event_participant q
                        WHERE q.event_id = p.event_id AND q.status = 'WAITLISTED'
                          AND (q.created_at, q.id) <= (p.created_at, p.id))
                    END,
                    (SELECT c.checked_in_at FROM event_checkin c
                      WHERE c.event_id = p.event_id AND c.user_id = p.user_id)
             FROM event_participant p
             WHERE p.user_id = $1 AND ($2::BIGINT IS NULL OR p.event_id = $2)",
            &[&user_id, &event_id],
        )?
        .iter()
        .map(|r| {
            Ok((
                r.try_get(0)?,
                MyParticipation {
                    status: r.try_get(1)?,
                    waitlist_position: r.try_get(2)?,
                    checked_in_at: r.try_get(3)?,
                },
            ))
        })
        .collect()
    }

    fn attendees(&mut self, event_id: i64) -> DomainResult<Vec<Attendee>> {
        self.rows(
            r#"SELECT u.id, u.full_name
               FROM event_participant p JOIN "user" u ON u.id = p.user_id
               WHERE p.event_id = $1 AND p.status = 'PARTICIPATING' AND u.deleted_at IS NULL
               ORDER BY p.created_at, p.id"#,
            &[&event_id],
        )?
        .iter()
        .map(|r| {
            Ok(Attendee {
                user_id: r.try_get(0)?,
                full_name: r.try_get(1)?,
            })
        })
        .collect()
    }

    fn participations(&mut self, event_id: i64) -> DomainResult<Vec<Participation>> {
        self.rows(
            r#"SELECT u.id, u.email, u.full_name, p.status, p.created_at
               FROM event_participant p JOIN "user" u ON u.id = p.user_id
               WHERE p.event_id = $1 AND p.status IN ('PARTICIPATING', 'WAITLISTED')
               ORDER BY p.status = 'WAITLISTED', p.created_at, p.id"#,
            &[&event_id],
        )?
        .iter()
        .map(|r| {
            Ok(Participation {
                user_id: r.try_get(0)?,
                email: r.try_get(1)?,
                full_name: r.try_get(2)?,
                status: r.try_get(3)?,
                joined_at: r.try_get(4)?,
            })
        })
        .collect()
    }

    fn event_counts(&mut self, now: Ts) -> DomainResult<EventCounts> {
        let r = self.one(
            "SELECT count(*) FILTER (WHERE rejected_at IS NULL),
                    count(*) FILTER (WHERE rejected_at IS NULL AND ends_at > $1),
                    count(*) FILTER (WHERE rejected_at IS NULL AND ends_at <= $1),
                    count(*) FILTER (WHERE rejected_at IS NOT NULL)
             FROM event",
            &[&now],
        )?;
        Ok(EventCounts {
            total: r.try_get(0)?,
            active: r.try_get(1)?,
            past: r.try_get(2)?,
            rejected: r.try_get(3)?,
        })
    }

    fn my_counts(&mut self, user_id: i64, now: Ts) -> DomainResult<MyCounts> {
        let r = self.one(
            "SELECT count(*) FILTER (WHERE p.status = 'PARTICIPATING' AND e.rejected_at IS NULL),
                    count(*) FILTER (WHERE p.status = 'PARTICIPATING' AND e.rejected_at IS NULL
                                       AND e.ends_at > $2),
                    count(*) FILTER (WHERE p.status = 'PARTICIPATING' AND e.rejected_at IS NOT NULL),
                    count(*) FILTER (WHERE p.status = 'WAITLISTED' AND e.rejected_at IS NULL
                                       AND e.ends_at > $2)
             FROM event_participant p JOIN event e ON e.id = p.event_id
             WHERE p.user_id = $1",
            &[&user_id, &now],
        )?;
        Ok(MyCounts {
            participating: r.try_get(0)?,
            upcoming: r.try_get(1)?,
            rejected: r.try_get(2)?,
            waitlisted: r.try_get(3)?,
        })
    }

    fn event_aggregates(&mut self, now: Ts) -> DomainResult<EventAggregates> {
        let events = self.event_counts(now)?;
        let r = self.one(
            "SELECT count(*), count(DISTINCT p.user_id)
             FROM event_participant p JOIN event e ON e.id = p.event_id
             WHERE p.status = 'PARTICIPATING' AND e.rejected_at IS NULL",
            &[],
        )?;
        let (participations, unique_participants): (i64, i64) = (r.try_get(0)?, r.try_get(1)?);
        let r = self.one(
            "SELECT count(*), count(DISTINCT p.event_id)
             FROM event_participant p JOIN event e ON e.id = p.event_id
             WHERE p.status = 'WAITLISTED' AND e.rejected_at IS NULL AND e.ends_at > $1",
            &[&now],
        )?;
        let (waitlisted, events_with_waitlist): (i64, i64) = (r.try_get(0)?, r.try_get(1)?);
        let month_ago = Ts(now.0 - chrono::Duration::days(30));
        let r = self.one(
            r#"SELECT count(*), count(*) FILTER (WHERE created_at >= $1)
               FROM "user" WHERE deleted_at IS NULL"#,
            &[&month_ago],
        )?;
        let (users, new_users_last_30_days): (i64, i64) = (r.try_get(0)?, r.try_get(1)?);
        // The UTC calendar day of the start, as SQLite's date(…, 'unixepoch').
        let by_day = self
            .rows(
                &format!(
                    "SELECT to_char(to_timestamp(starts_at / 1000000) AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day,
                            count(*), sum(n)::BIGINT
                     FROM ({PER_EVENT}) AS per_event GROUP BY day ORDER BY day"
                ),
                &[],
            )?
            .iter()
            .map(|r| {
                Ok(DayTotals {
                    day: r.try_get(0)?,
                    events: r.try_get(1)?,
                    participants: r.try_get(2)?,
                })
            })
            .collect::<DomainResult<Vec<_>>>()?;
        // Fill-rate bins compare n/cap with the bounds without division:
        // n/cap < 1/4  <=>  4n < cap, and so on.
        let r = self.one(
            &format!(
                "SELECT count(*) FILTER (WHERE n = 0),
                        count(*) FILTER (WHERE n = 1),
                        count(*) FILTER (WHERE n BETWEEN 2 AND 3),
                        count(*) FILTER (WHERE n BETWEEN 4 AND 5),
                        count(*) FILTER (WHERE n >= 6),
                        count(*) FILTER (WHERE cap IS NOT NULL AND 4 * n < cap),
                        count(*) FILTER (WHERE cap IS NOT NULL AND 4 * n >= cap AND 2 * n < cap),
                        count(*) FILTER (WHERE cap IS NOT NULL AND 2 * n >= cap AND 4 * n < 3 * cap),
                        count(*) FILTER (WHERE cap IS NOT NULL AND 4 * n >= 3 * cap AND n < cap),
                        count(*) FILTER (WHERE cap IS NOT NULL AND n >= cap)
                 FROM ({PER_EVENT}) AS per_event"
            ),
            &[],
        )?;
        let mut h = [0i64; 10];
        for (i, slot) in h.iter_mut().enumerate() {
            *slot = r.try_get(i)?;
        }
        let r = self.one(
            r#"SELECT (SELECT min(ends_at) FROM event WHERE rejected_at IS NULL AND ends_at > $1),
                      (SELECT min(created_at) FROM "user" WHERE deleted_at IS NULL AND created_at >= $2)"#,
            &[&now, &month_ago],
        )?;
        let (event_end, signup): (Option<Ts>, Option<Ts>) = (r.try_get(0)?, r.try_get(1)?);
        let signup_leaves = signup.map(|t| Ts(t.0 + chrono::Duration::days(30)));
        Ok(EventAggregates {
            events,
            participations,
            unique_participants,
            waitlisted,
            events_with_waitlist,
            users,
            new_users_last_30_days,
            by_day,
            participants_per_event: [h[0], h[1], h[2], h[3], h[4]],
            fill_rate: [h[5], h[6], h[7], h[8], h[9]],
            next_change: [event_end, signup_leaves].into_iter().flatten().min(),
        })
    }
}

#[cfg(test)]
mod column_tests {
    #[test]
    fn the_event_column_count_is_the_columns() {
        assert_eq!(
            super::EVENT_COLUMNS.split(',').count(),
            super::EVENT_COLUMN_COUNT
        );
    }
}
