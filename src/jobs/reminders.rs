//! The reminder scan (API.md "Reminders"): every minute, each PARTICIPATING
//! participant of a non-rejected event that starts within the next 24 hours
//! and has not started yet gets one EVENT_REMINDER. The notification and
//! `reminder_sent_at` are written in the same transaction, so a reminder is
//! sent exactly once however often the scan runs or the server restarts.

use chrono::Duration;
use rusqlite::params;

use crate::domain::time::Ts;
use crate::http::error::AppResult;
use crate::notify::{EventFacts, Notice, Notifier, To};
use crate::state::AppState;
use crate::store::sqlite::Write;

/// How long before the start a reminder goes out.
pub const AHEAD: Duration = Duration::hours(24);
/// Participants handled per transaction.
const BATCH: usize = 200;

/// Sends every reminder that is due now; returns how many were sent.
pub async fn scan(state: &AppState) -> AppResult<usize> {
    let mut total = 0;
    loop {
        let notifier = state.notifier.clone();
        let now = state.now();
        let sent = state
            .db
            .write(move |tx| scan_batch(tx, &notifier, now))
            .await?;
        total += sent;
        if sent < BATCH {
            return Ok(total);
        }
    }
}

fn scan_batch(tx: &Write, notifier: &Notifier, now: Ts) -> AppResult<usize> {
    let due: Vec<(i64, i64, EventFacts)> = tx
        .prepare_cached(&format!(
            "SELECT p.id, p.user_id, {}
             FROM event e JOIN event_participant p ON p.event_id = e.id
             WHERE e.starts_at > ?1 AND e.starts_at <= ?2 AND e.rejected_at IS NULL
               AND p.status = 'PARTICIPATING' AND p.reminder_sent_at IS NULL
             ORDER BY e.starts_at, p.id
             LIMIT ?3",
            crate::notify::FactsSql::COLUMNS
        ))?
        .query_map(params![now, Ts(now.0 + AHEAD), BATCH as i64], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                crate::notify::FactsSql::from_row(r, 2)?,
            ))
        })?
        .collect::<Result<_, _>>()?;
    for (participant_id, user_id, event) in &due {
        // A deleted user is skipped by the notifier; the row is still marked
        // so the scan does not find it again.
        notifier.send(
            tx,
            now,
            &Notice::EventReminder(event.clone()),
            &[To::User(*user_id)],
        )?;
        tx.prepare_cached("UPDATE event_participant SET reminder_sent_at = ?2 WHERE id = ?1")?
            .execute(params![participant_id, now])?;
    }
    Ok(due.len())
}
