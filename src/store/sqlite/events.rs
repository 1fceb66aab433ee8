//! SQLite queries of events and participation.

use std::collections::HashMap;

use rusqlite::{named_params, params};

use super::{OptionalRow, SqliteTx};
use crate::domain::account::fold;
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::event::{
    Attendee, CardFields, Event, MyParticipation, NewEvent, Participant, ParticipantStatus,
    Participation,
};
use crate::domain::statistics::{DayTotals, EventAggregates, EventCounts, MyCounts};
use crate::domain::time::Ts;
use crate::store::EventStore;
use crate::store::events::{CardRow, EventQuery};

/// Columns for [`event_from_row`], in order, over table alias `e`.
pub const EVENT_COLUMNS: &str = "e.id, e.name, e.short_description, e.description, e.starts_at, e.ends_at, e.image_url, \
     e.payment_info, e.max_participants_count, e.location, e.created_at, e.rejected_at, \
     e.attendees_visible, e.category_id, e.series_id, e.series_index";
/// How many columns [`EVENT_COLUMNS`] has (columns selected after them
/// start at this index).
pub(crate) const EVENT_COLUMN_COUNT: usize = 16;

pub fn event_from_row(r: &rusqlite::Row) -> rusqlite::Result<Event> {
    Ok(Event {
        id: r.get(0)?,
        name: r.get(1)?,
        short_description: r.get(2)?,
        description: r.get(3)?,
        starts_at: r.get(4)?,
        ends_at: r.get(5)?,
        image_url: r.get(6)?,
        payment_info: r.get(7)?,
        max_participants_count: r.get(8)?,
        location: r.get(9)?,
        created_at: r.get(10)?,
        rejected_at: r.get(11)?,
        attendees_visible: r.get(12)?,
        category_id: r.get(13)?,
        series_id: r.get(14)?,
        series_index: r.get(15)?,
    })
}

/// `ids` as a JSON array, for `json_each(?)`.
fn id_list(ids: &[i64]) -> DomainResult<String> {
    serde_json::to_string(ids).map_err(DomainError::internal)
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
        e.attendees_visible, e.rejected_at, e.category_id, e.series_id";

fn card_from_row(r: &rusqlite::Row) -> rusqlite::Result<CardRow> {
    Ok(CardRow {
        fields: CardFields {
            id: r.get(0)?,
            name: r.get(1)?,
            short_description: r.get(2)?,
            description: r.get(3)?,
            starts_at: r.get(4)?,
            ends_at: r.get(5)?,
            image_url: r.get(6)?,
            location: r.get(7)?,
            participants_count: r.get(8)?,
            max_participants_count: r.get(9)?,
            payment_info: r.get(10)?,
            waitlist_count: r.get(12)?,
            attendees_visible: r.get(13)?,
            category_id: r.get(15)?,
            series_id: r.get(16)?,
        },
        name_fold: r.get(11)?,
        rejected_at: r.get(14)?,
    })
}

/// A user's rows with the place of each `WAITLISTED` one in its event's
/// list (1 = next), as `(event_id, status, place)`.
const MY_ROWS: &str = "SELECT p.event_id, p.status,
        CASE WHEN p.status = 'WAITLISTED' THEN
          (SELECT count(*) FROM event_participant q
            WHERE q.event_id = p.event_id AND q.status = 'WAITLISTED'
              AND (q.created_at < p.created_at OR (q.created_at = p.created_at AND q.id <= p.id)))
        END,
        (SELECT c.checked_in_at FROM event_checkin c
          WHERE c.event_id = p.event_id AND c.user_id = p.user_id)
     FROM event_participant p
     WHERE p.user_id = ?1 AND (?2 IS NULL OR p.event_id = ?2)";

/// The events of non-cancelled events with their `PARTICIPATING` count `n`.
const PER_EVENT: &str = "SELECT e.id, e.starts_at, e.max_participants_count AS max,
        (SELECT count(*) FROM event_participant p
          WHERE p.event_id = e.id AND p.status = 'PARTICIPATING') AS n
     FROM event e WHERE e.rejected_at IS NULL";

/// Runs an INSERT or UPDATE of every event column (`id` NULL: a new row).
fn write_event(
    conn: &rusqlite::Connection,
    sql: &str,
    e: &Event,
    id: Option<i64>,
) -> DomainResult<()> {
    conn.prepare_cached(sql)?.execute(named_params! {
        ":id": id,
        ":name": e.name,
        ":name_fold": fold(&e.name),
        ":short_description": e.short_description,
        ":description": e.description,
        ":starts_at": e.starts_at,
        ":ends_at": e.ends_at,
        ":image_url": e.image_url,
        ":payment_info": e.payment_info,
        ":max": e.max_participants_count,
        ":location": e.location,
        ":created_at": e.created_at,
        ":rejected_at": e.rejected_at,
        ":attendees_visible": e.attendees_visible,
        ":category_id": e.category_id,
        ":series_id": e.series_id,
        ":series_index": e.series_index,
    })?;
    Ok(())
}

impl EventStore for SqliteTx<'_> {
    fn event(&mut self, id: i64) -> DomainResult<Option<Event>> {
        Ok(self
            .conn
            .prepare_cached(&format!(
                "SELECT {EVENT_COLUMNS} FROM event e WHERE e.id = ?1"
            ))?
            .query_row([id], event_from_row)
            .optional()?)
    }

    fn lock_event(&mut self, _id: i64) -> DomainResult<()> {
        // `BEGIN IMMEDIATE` and the in-process writer lock already make
        // this transaction the only writer.
        Ok(())
    }

    fn insert_event(&mut self, e: &NewEvent, now: Ts) -> DomainResult<i64> {
        write_event(
            self.conn,
            "INSERT INTO event (id, name, name_fold, short_description, description, starts_at,
                 ends_at, image_url, payment_info, max_participants_count, location, created_at,
                 rejected_at, attendees_visible, category_id, series_id, series_index)
             VALUES (:id, :name, :name_fold, :short_description, :description, :starts_at,
                 :ends_at, :image_url, :payment_info, :max, :location, :created_at, :rejected_at,
                 :attendees_visible, :category_id, :series_id, :series_index)",
            &e.clone().into_event(0, now),
            None,
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    fn save_event(&mut self, e: &Event) -> DomainResult<()> {
        write_event(
            self.conn,
            "UPDATE event SET name = :name, name_fold = :name_fold,
                 short_description = :short_description, description = :description,
                 starts_at = :starts_at, ends_at = :ends_at, image_url = :image_url,
                 payment_info = :payment_info, max_participants_count = :max,
                 location = :location, created_at = :created_at, rejected_at = :rejected_at,
                 attendees_visible = :attendees_visible,
                 category_id = :category_id, series_id = :series_id,
                 series_index = :series_index
             WHERE id = :id",
            e,
            Some(e.id),
        )
    }

    fn list_events(&mut self, q: &EventQuery, now: Ts) -> DomainResult<Vec<Event>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {EVENT_COLUMNS} FROM event e
             WHERE (CASE :status
                     WHEN 'ACTIVE' THEN e.rejected_at IS NULL AND e.ends_at > :now
                     WHEN 'PAST' THEN e.rejected_at IS NULL AND e.ends_at <= :now
                     WHEN 'REJECTED' THEN e.rejected_at IS NOT NULL
                     ELSE 1 END)
               AND (:q IS NULL OR instr(e.name_fold, :q) > 0)
             ORDER BY e.id LIMIT :limit OFFSET :offset"
        ))?;
        let rows = stmt
            .query_map(
                named_params! {
                    ":status": q.status.map(|s| s.as_str()),
                    ":now": now,
                    ":q": q.name_fold,
                    ":limit": q.limit.unwrap_or(-1),
                    ":offset": q.offset,
                },
                event_from_row,
            )?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    fn participants_of(&mut self, ids: &[i64]) -> DomainResult<Vec<Vec<Participant>>> {
        let mut groups: Vec<Vec<Participant>> = vec![Vec::new(); ids.len()];
        if ids.is_empty() {
            return Ok(groups);
        }
        let index: HashMap<i64, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
        let mut stmt = self.conn.prepare_cached(
            "SELECT p.event_id, p.user_id, p.created_at, p.status FROM event_participant p
             WHERE p.event_id IN (SELECT value FROM json_each(?1))
             ORDER BY p.event_id, p.created_at, p.id",
        )?;
        let rows = stmt.query_map([id_list(ids)?], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                Participant {
                    user_id: r.get(1)?,
                    created_at: r.get(2)?,
                    status: r.get(3)?,
                },
            ))
        })?;
        for row in rows {
            let (event_id, p) = row?;
            if let Some(&i) = index.get(&event_id) {
                groups[i].push(p);
            }
        }
        Ok(groups)
    }

    fn participant_status(
        &mut self,
        event_id: i64,
        user_id: i64,
    ) -> DomainResult<Option<ParticipantStatus>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT status FROM event_participant WHERE event_id = ?1 AND user_id = ?2",
            )?
            .query_row(params![event_id, user_id], |r| r.get(0))
            .optional()?)
    }

    fn count_participating(&mut self, event_id: i64, except: Option<i64>) -> DomainResult<i64> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT count(*) FROM event_participant
                 WHERE event_id = ?1 AND status = 'PARTICIPATING' AND user_id IS NOT ?2",
            )?
            .query_row(params![event_id, except], |r| r.get(0))?)
    }

    fn participating_ids(&mut self, event_id: i64) -> DomainResult<Vec<i64>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT user_id FROM event_participant
             WHERE event_id = ?1 AND status = 'PARTICIPATING' ORDER BY created_at, id",
        )?;
        let ids = stmt
            .query_map([event_id], |r| r.get(0))?
            .collect::<Result<Vec<i64>, _>>()?;
        Ok(ids)
    }

    fn waitlist_ids(&mut self, event_id: i64) -> DomainResult<Vec<i64>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT user_id FROM event_participant
             WHERE event_id = ?1 AND status = 'WAITLISTED' ORDER BY created_at, id",
        )?;
        let ids = stmt
            .query_map([event_id], |r| r.get(0))?
            .collect::<Result<Vec<i64>, _>>()?;
        Ok(ids)
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
            self.conn
                .prepare_cached(
                    "DELETE FROM event_participant WHERE event_id = ?1 AND user_id = ?2",
                )?
                .execute(params![event_id, user_id])?;
        }
        match status {
            None => {
                self.conn
                    .prepare_cached(
                        "DELETE FROM event_participant WHERE event_id = ?1 AND user_id = ?2",
                    )?
                    .execute(params![event_id, user_id])?;
            }
            Some(status) => {
                self.conn
                    .prepare_cached(
                        "INSERT INTO event_participant (event_id, user_id, status, created_at)
                         VALUES (?1, ?2, ?3, ?4)
                         ON CONFLICT (event_id, user_id) DO UPDATE
                           SET status = excluded.status, created_at = excluded.created_at,
                               reminder_sent_at = NULL",
                    )?
                    .execute(params![event_id, user_id, status, now])?;
            }
        }
        Ok(())
    }

    fn replace_participants(&mut self, event_id: i64, ids: &[i64], now: Ts) -> DomainResult<()> {
        self.conn
            .prepare_cached(
                "DELETE FROM event_participant
                 WHERE event_id = ?1 AND status <> 'WAITLISTED'
                   AND user_id NOT IN (SELECT value FROM json_each(?2))",
            )?
            .execute(params![event_id, id_list(ids)?])?;
        let mut stmt = self.conn.prepare_cached(
            "INSERT INTO event_participant (event_id, user_id, status, created_at)
             VALUES (?1, ?2, 'PARTICIPATING', ?3)
             ON CONFLICT (event_id, user_id) DO UPDATE
               SET status = 'PARTICIPATING', created_at = excluded.created_at, reminder_sent_at = NULL
               WHERE status <> 'PARTICIPATING'",
        )?;
        for id in ids {
            stmt.execute(params![event_id, id, now])?;
        }
        Ok(())
    }

    fn rearm_reminders(&mut self, event_id: i64) -> DomainResult<()> {
        self.conn
            .prepare_cached(
                "UPDATE event_participant SET reminder_sent_at = NULL WHERE event_id = ?1",
            )?
            .execute([event_id])?;
        Ok(())
    }

    fn count_active_users(&mut self, ids: &[i64]) -> DomainResult<usize> {
        if ids.is_empty() {
            return Ok(0);
        }
        let n: i64 = self
            .conn
            .prepare_cached(
                "SELECT count(*) FROM user
                 WHERE deleted_at IS NULL AND id IN (SELECT value FROM json_each(?1))",
            )?
            .query_row([id_list(ids)?], |r| r.get(0))?;
        Ok(n as usize)
    }

    fn cards(&mut self) -> DomainResult<Vec<CardRow>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {CARD_COLUMNS} FROM event e
             WHERE e.rejected_at IS NULL
             ORDER BY e.starts_at, e.id"
        ))?;
        let rows = stmt
            .query_map([], card_from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    fn card(&mut self, event_id: i64) -> DomainResult<Option<CardRow>> {
        Ok(self
            .conn
            .prepare_cached(&format!(
                "SELECT {CARD_COLUMNS} FROM event e WHERE e.id = ?1"
            ))?
            .query_row([event_id], card_from_row)
            .optional()?)
    }

    fn my_statuses(
        &mut self,
        user_id: i64,
        event_id: Option<i64>,
    ) -> DomainResult<HashMap<i64, MyParticipation>> {
        let mut stmt = self.conn.prepare_cached(MY_ROWS)?;
        let rows = stmt
            .query_map(params![user_id, event_id], |r| {
                Ok((
                    r.get(0)?,
                    MyParticipation {
                        status: r.get(1)?,
                        waitlist_position: r.get(2)?,
                        checked_in_at: r.get(3)?,
                    },
                ))
            })?
            .collect::<Result<HashMap<_, _>, _>>()?;
        Ok(rows)
    }

    fn attendees(&mut self, event_id: i64) -> DomainResult<Vec<Attendee>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT u.id, u.full_name
             FROM event_participant p JOIN user u ON u.id = p.user_id
             WHERE p.event_id = ?1 AND p.status = 'PARTICIPATING' AND u.deleted_at IS NULL
             ORDER BY p.created_at, p.id",
        )?;
        let rows = stmt
            .query_map([event_id], |r| {
                Ok(Attendee {
                    user_id: r.get(0)?,
                    full_name: r.get(1)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    fn participations(&mut self, event_id: i64) -> DomainResult<Vec<Participation>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT u.id, u.email, u.full_name, p.status, p.created_at
             FROM event_participant p JOIN user u ON u.id = p.user_id
             WHERE p.event_id = ?1 AND p.status IN ('PARTICIPATING', 'WAITLISTED')
             ORDER BY p.status = 'WAITLISTED', p.created_at, p.id",
        )?;
        let rows = stmt
            .query_map([event_id], |r| {
                Ok(Participation {
                    user_id: r.get(0)?,
                    email: r.get(1)?,
                    full_name: r.get(2)?,
                    status: r.get(3)?,
                    joined_at: r.get(4)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    fn event_counts(&mut self, now: Ts) -> DomainResult<EventCounts> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT count(*) FILTER (WHERE rejected_at IS NULL),
                        count(*) FILTER (WHERE rejected_at IS NULL AND ends_at > ?1),
                        count(*) FILTER (WHERE rejected_at IS NULL AND ends_at <= ?1),
                        count(*) FILTER (WHERE rejected_at IS NOT NULL)
                 FROM event",
            )?
            .query_row([now], |r| {
                Ok(EventCounts {
                    total: r.get(0)?,
                    active: r.get(1)?,
                    past: r.get(2)?,
                    rejected: r.get(3)?,
                })
            })?)
    }

    fn my_counts(&mut self, user_id: i64, now: Ts) -> DomainResult<MyCounts> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT count(*) FILTER (WHERE p.status = 'PARTICIPATING' AND e.rejected_at IS NULL),
                        count(*) FILTER (WHERE p.status = 'PARTICIPATING' AND e.rejected_at IS NULL
                                           AND e.ends_at > ?2),
                        count(*) FILTER (WHERE p.status = 'PARTICIPATING' AND e.rejected_at IS NOT NULL),
                        count(*) FILTER (WHERE p.status = 'WAITLISTED' AND e.rejected_at IS NULL
                                           AND e.ends_at > ?2)
                 FROM event_participant p JOIN event e ON e.id = p.event_id
                 WHERE p.user_id = ?1",
            )?
            .query_row(params![user_id, now], |r| {
                Ok(MyCounts {
                    participating: r.get(0)?,
                    upcoming: r.get(1)?,
                    rejected: r.get(2)?,
                    waitlisted: r.get(3)?,
                })
            })?)
    }

    fn event_aggregates(&mut self, now: Ts) -> DomainResult<EventAggregates> {
        let events = self.event_counts(now)?;
        let conn = self.conn;
        let (participations, unique_participants): (i64, i64) = conn
            .prepare_cached(
                "SELECT count(*), count(DISTINCT p.user_id)
                 FROM event_participant p JOIN event e ON e.id = p.event_id
                 WHERE p.status = 'PARTICIPATING' AND e.rejected_at IS NULL",
            )?
            .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        let (waitlisted, events_with_waitlist): (i64, i64) = conn
            .prepare_cached(
                "SELECT count(*), count(DISTINCT p.event_id)
                 FROM event_participant p JOIN event e ON e.id = p.event_id
                 WHERE p.status = 'WAITLISTED' AND e.rejected_at IS NULL AND e.ends_at > ?1",
            )?
            .query_row([now], |r| Ok((r.get(0)?, r.get(1)?)))?;
        let month_ago = Ts(now.0 - chrono::Duration::days(30));
        let (users, new_users_last_30_days): (i64, i64) = conn
            .prepare_cached(
                "SELECT count(*), count(*) FILTER (WHERE created_at >= ?1)
                 FROM user WHERE deleted_at IS NULL",
            )?
            .query_row([month_ago], |r| Ok((r.get(0)?, r.get(1)?)))?;
        let by_day = conn
            .prepare_cached(&format!(
                "SELECT date(starts_at / 1000000, 'unixepoch') AS day, count(*), sum(n)
                 FROM ({PER_EVENT}) GROUP BY day ORDER BY day"
            ))?
            .query_map([], |r| {
                Ok(DayTotals {
                    day: r.get(0)?,
                    events: r.get(1)?,
                    participants: r.get(2)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        // Fill-rate bins compare n/max with the bounds without division:
        // n/max < 1/4  <=>  4n < max, and so on.
        let h: [i64; 10] = conn
            .prepare_cached(&format!(
                "SELECT count(*) FILTER (WHERE n = 0),
                        count(*) FILTER (WHERE n = 1),
                        count(*) FILTER (WHERE n BETWEEN 2 AND 3),
                        count(*) FILTER (WHERE n BETWEEN 4 AND 5),
                        count(*) FILTER (WHERE n >= 6),
                        count(*) FILTER (WHERE max IS NOT NULL AND 4 * n < max),
                        count(*) FILTER (WHERE max IS NOT NULL AND 4 * n >= max AND 2 * n < max),
                        count(*) FILTER (WHERE max IS NOT NULL AND 2 * n >= max AND 4 * n < 3 * max),
                        count(*) FILTER (WHERE max IS NOT NULL AND 4 * n >= 3 * max AND n < max),
                        count(*) FILTER (WHERE max IS NOT NULL AND n >= max)
                 FROM ({PER_EVENT})"
            ))?
            .query_row([], |r| {
                let mut out = [0i64; 10];
                for (i, slot) in out.iter_mut().enumerate() {
                    *slot = r.get(i)?;
                }
                Ok(out)
            })?;
        let (event_end, signup): (Option<Ts>, Option<Ts>) = conn
            .prepare_cached(
                "SELECT (SELECT min(ends_at) FROM event WHERE rejected_at IS NULL AND ends_at > ?1),
                        (SELECT min(created_at) FROM user WHERE deleted_at IS NULL AND created_at >= ?2)",
            )?
            .query_row(params![now, month_ago], |r| Ok((r.get(0)?, r.get(1)?)))?;
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
