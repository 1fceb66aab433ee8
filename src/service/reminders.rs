//! The reminder scan (API.md "Reminders"): each PARTICIPATING participant
//! of a non-rejected event that starts within the next 24 hours and has not
//! started yet gets one EVENT_REMINDER. The notice and `reminder_sent_at`
//! are written in the same transaction, so a reminder is sent exactly once
//! however often the scan runs or the server restarts.

use chrono::Duration;

use crate::domain::error::DomainResult;
use crate::domain::notice::{Notice, To};
use crate::domain::time::Ts;
use crate::service::{Services, outbox};

/// How long before the start a reminder goes out.
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
                let due = tx.due_reminders(now, Ts(now.0 + AHEAD), BATCH)?;
                for r in &due {
                    // A deleted user is skipped by the outbox; the row is
                    // still marked so the scan does not find it again.
                    let notice = Notice::EventReminder(r.event.clone());
                    outbox::notify_at(&batch, tx, now, &notice, &[To::User(r.user_id)])?;
                    tx.mark_reminded(r.participant_id, now)?;
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
