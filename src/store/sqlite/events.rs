//! SQLite queries of events and participation.

use rusqlite::params;

use super::{OptionalRow, SqliteTx};
use crate::domain::error::DomainResult;
use crate::domain::event::{Event, ParticipantStatus};
use crate::domain::time::Ts;
use crate::store::EventStore;

/// Columns for [`event_from_row`], in order, over table alias `e`.
pub const EVENT_COLUMNS: &str = "e.id, e.name, e.short_description, e.description, e.starts_at, e.ends_at, e.image_url, \
     e.payment_info, e.max_participants_count, e.location, e.created_at, e.rejected_at";

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
    })
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

    fn set_participant(
        &mut self,
        event_id: i64,
        user_id: i64,
        status: Option<ParticipantStatus>,
        now: Ts,
    ) -> DomainResult<()> {
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
}
