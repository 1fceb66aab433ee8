//! The reminder scan (API.md "Reminders"): each PARTICIPATING participant
//! of a non-rejected event that has not started yet gets one EVENT_REMINDER
//! per reminder offset of theirs (default: one, a day ahead) once the start
//! is within that offset. The notice and the mark (`reminder_sent`: offset,
//! start time, join time) are written in the same transaction, so each
//! reminder is sent exactly once however often the scan runs or the server
//! restarts — and again when the event moves or the person joins anew.

use chrono::Duration;

use crate::domain::error::DomainResult;
use crate::domain::notice::{Notice, To};
use crate::service::{Services, outbox};

/// How long before the start a reminder goes out by default.
pub const AHEAD: Duration = Duration::hours(24);
/// Participants handled per transaction.
const BATCH: usize = 200;

/// Sends every reminder that is due now; returns how many were sent.
pub async fn scan(svc: &Services) -> DomainResult<usize> {
    let mut total = 0;
    loop {
        let now = svc.now();
        let batch = svc.clone();
        let sent = svc
            .store
            .write(move |tx| {
                let due = tx.due_reminders(now, BATCH)?;
                for r in &due {
                    // Marked first: only the scan that marks it sends it
                    // (another scan may have seen the same row as due). A
                    // deleted user is skipped by the outbox; the row is
                    // still marked so the scan does not find it again.
                    if tx.mark_reminded(r, now)? {
                        let notice = Notice::EventReminder(r.event.clone());
                        outbox::notify_at(&batch, tx, now, &notice, &[To::User(r.user_id)])?;
                    }
                }
                Ok(due.len())
            })
            .await?;
        total += sent;
        if sent < BATCH {
            return Ok(total);
        }
    }
}

/// How long before an event's start user `user_id` is reminded, longest
/// first (one day unless they chose otherwise). The seam for calendar
/// feeds (VALARM).
pub async fn reminder_offsets_for(svc: &Services, user_id: i64) -> DomainResult<Vec<Duration>> {
    let prefs = svc.store.read(move |tx| tx.preferences(user_id)).await?;
    Ok(prefs
        .reminder_minutes()
        .into_iter()
        .map(Duration::minutes)
        .collect())
}
