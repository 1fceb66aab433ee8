//! PostgreSQL queries of calendar feeds.

use postgres::Row;

use super::PgTx;
use super::events::{EVENT_COLUMN_COUNT, EVENT_COLUMNS, event_from_row};
use crate::domain::error::DomainResult;
use crate::domain::time::Ts;
use crate::store::CalendarStore;
use crate::store::calendar::FeedRow;

/// Reads [`EVENT_COLUMNS`] then `ics_sequence`, `updated_at` and, with
/// `mine`, a participant status.
fn feed_row(r: &Row, mine: bool) -> DomainResult<FeedRow> {
    Ok(FeedRow {
        event: event_from_row(r)?,
        sequence: r.try_get(EVENT_COLUMN_COUNT)?,
        updated_at: r.try_get(EVENT_COLUMN_COUNT + 1)?,
        mine: if mine {
            Some(r.try_get(EVENT_COLUMN_COUNT + 2)?)
        } else {
            None
        },
    })
}

impl CalendarStore for PgTx<'_, '_> {
    fn set_calendar_token(
        &mut self,
        user_id: i64,
        token_hash: &str,
        token_sealed: &str,
        now: Ts,
    ) -> DomainResult<()> {
        self.change(
            "INSERT INTO calendar_token (user_id, token_hash, token_sealed, created_at)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (user_id) DO UPDATE
               SET token_hash = excluded.token_hash, token_sealed = excluded.token_sealed,
                   created_at = excluded.created_at",
            &[&user_id, &token_hash, &token_sealed, &now],
        )?;
        Ok(())
    }

    fn calendar_token_sealed(&mut self, user_id: i64) -> DomainResult<Option<String>> {
        self.opt(
            "SELECT token_sealed FROM calendar_token WHERE user_id = $1",
            &[&user_id],
        )?
        .map(|r| Ok(r.try_get(0)?))
        .transpose()
    }

    fn calendar_token_user(&mut self, token_hash: &str) -> DomainResult<Option<i64>> {
        self.opt(
            "SELECT t.user_id FROM calendar_token t JOIN \"user\" u ON u.id = t.user_id
             WHERE t.token_hash = $1 AND u.deleted_at IS NULL",
            &[&token_hash],
        )?
        .map(|r| Ok(r.try_get(0)?))
        .transpose()
    }

    fn personal_feed_rows(&mut self, user_id: i64, since: Ts) -> DomainResult<Vec<FeedRow>> {
        self.rows(
            &format!(
                "SELECT {EVENT_COLUMNS}, e.ics_sequence, e.updated_at, p.status
                 FROM event_participant p JOIN event e ON e.id = p.event_id
                 WHERE p.user_id = $1 AND e.ends_at >= $2
                 ORDER BY e.starts_at, e.id"
            ),
            &[&user_id, &since],
        )?
        .iter()
        .map(|r| feed_row(r, true))
        .collect()
    }

    fn public_feed_rows(&mut self, now: Ts) -> DomainResult<Vec<FeedRow>> {
        self.rows(
            &format!(
                "SELECT {EVENT_COLUMNS}, e.ics_sequence, e.updated_at
                 FROM event e
                 WHERE e.rejected_at IS NULL AND e.ends_at > $1
                 ORDER BY e.starts_at, e.id"
            ),
            &[&now],
        )?
        .iter()
        .map(|r| feed_row(r, false))
        .collect()
    }

    fn touch_event(&mut self, event_id: i64, now: Ts) -> DomainResult<()> {
        self.change(
            "UPDATE event SET ics_sequence = ics_sequence + 1, updated_at = $2 WHERE id = $1",
            &[&event_id, &now],
        )?;
        Ok(())
    }
}
