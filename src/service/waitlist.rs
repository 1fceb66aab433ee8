//! The waiting list of a full event: promotion when seats free up.
//!
//! Every change that can free a seat (a participant leaves or declines, an
//! administrator removes participants, raises or removes the maximum,
//! restores a cancelled event) calls [`promote`] inside its own write
//! transaction, after the change: the freed seats and the promotions commit
//! together, so nobody can take a freed seat in between and the count never
//! exceeds the maximum.

use crate::domain::error::DomainResult;
use crate::domain::event::{Event, ParticipantStatus};
use crate::domain::notice::{EventFacts, Notice, To};
use crate::domain::time::Ts;
use crate::domain::webhook::WebhookType;
use crate::service::{Services, outbox, webhooks};
use crate::store::Tx;

/// Moves the head of `event`'s waiting list into the free seats, first in
/// line first, and tells each promoted user (WAITLIST_PROMOTED, in-app and
/// email). Nobody moves on a cancelled or finished event. The caller holds
/// the event's lock (`Tx::lock_event`) and has written its change; `event`
/// is the event as it is now. Returns the promoted users' ids, in order.
pub fn promote(svc: &Services, tx: &mut dyn Tx, event: &Event, now: Ts) -> DomainResult<Vec<i64>> {
    let waiting = tx.waitlist_ids(event.id)?;
    if waiting.is_empty() {
        return Ok(Vec::new());
    }
    let participating = tx.count_participating(event.id, None)?;
    let seats = event.seats_to_promote(now, participating, waiting.len() as i64);
    let promoted: Vec<i64> = waiting.into_iter().take(seats as usize).collect();
    if promoted.is_empty() {
        return Ok(promoted);
    }
    for user_id in &promoted {
        tx.set_participant(
            event.id,
            *user_id,
            Some(ParticipantStatus::Participating),
            now,
        )?;
    }
    let facts = EventFacts::of(event, participating + promoted.len() as i64);
    let to: Vec<To> = promoted.iter().map(|id| To::User(*id)).collect();
    outbox::notify_at(svc, tx, now, &Notice::WaitlistPromoted(facts), &to)?;
    for user_id in &promoted {
        webhooks::emit_participation(
            svc,
            tx,
            now,
            WebhookType::ParticipationPromoted,
            event,
            *user_id,
        )?;
    }
    Ok(promoted)
}
