//! Joining, declining, leaving an event, and its waiting list.

use crate::domain::error::{DomainError, DomainResult, messages};
use crate::domain::event::{ParticipantStatus, check_capacity, check_waitlist_join};
use crate::domain::notice::{Actor, Notice};
use crate::domain::webhook::WebhookType;
use crate::service::{Services, outbox, waitlist, webhooks};

/// Sets the caller's participation in an event: `PARTICIPATING` joins (the
/// capacity check and the write are one transaction, so concurrent joins
/// never over-fill an event), `WAITLISTED` joins the waiting list of a full
/// event (400 "Event has free seats" otherwise; asking again keeps one's
/// place), `REJECTED` declines, `None` forgets. A change in or out of
/// `PARTICIPATING` notifies the administrators; a seat freed by leaving goes
/// to the head of the waiting list in the same transaction.
pub async fn set_mine(
    svc: &Services,
    me: Actor,
    event_id: i64,
    wanted: Option<ParticipantStatus>,
) -> DomainResult<()> {
    let svc = svc.clone();
    let store = svc.store.clone();
    store
        .write(move |tx| {
            let now = svc.now();
            // Concurrent joins (through any instance) queue here, so the
            // capacity check below counts every earlier commit.
            tx.lock_event(event_id)?;
            let event = tx
                .event(event_id)?
                .filter(|e| e.rejected_at.is_none())
                .ok_or_else(|| DomainError::not_found(messages::EVENT_NOT_FOUND))?;
            let current = tx.participant_status(event_id, me.id)?;
            match wanted {
                Some(ParticipantStatus::Participating) => {
                    event.check_joinable(now)?;
                    let others = tx.count_participating(event_id, Some(me.id))?;
                    check_capacity(others as usize + 1, event.max_participants_count)?;
                }
                Some(ParticipantStatus::Waitlisted) => {
                    event.check_joinable(now)?;
                    if current == wanted {
                        // Already on the list: keep the place.
                        return Ok(());
                    }
                    let others = tx.count_participating(event_id, Some(me.id))?;
                    check_waitlist_join(others, event.max_participants_count)?;
                }
                Some(ParticipantStatus::Rejected) | None => {}
            }
            if current == wanted {
                return Ok(());
            }
            tx.set_participant(event_id, me.id, wanted, now)?;
            let actor_id = me.id;
            let joined = wanted == Some(ParticipantStatus::Participating);
            let left = current == Some(ParticipantStatus::Participating);
            // The webhook goes before the promotions it causes.
            let hook = match wanted {
                Some(ParticipantStatus::Participating) => Some(WebhookType::ParticipationJoined),
                Some(ParticipantStatus::Waitlisted) => Some(WebhookType::ParticipationWaitlisted),
                _ if matches!(
                    current,
                    Some(ParticipantStatus::Participating | ParticipantStatus::Waitlisted)
                ) =>
                {
                    Some(WebhookType::ParticipationLeft)
                }
                _ => None,
            };
            if let Some(kind) = hook {
                webhooks::emit_participation(&svc, tx, now, kind, &event, me.id)?;
            }
            if left {
                waitlist::promote(&svc, tx, &event, now)?;
            }
            if joined || left {
                let count = tx.count_participating(event_id, None)?;
                let event = crate::domain::notice::EventFacts::of(&event, count);
                let notice = if joined {
                    Notice::ParticipationConfirmed { event, user: me }
                } else {
                    Notice::ParticipationCancelled { event, user: me }
                };
                // One email per (administrator, kind, event, user) per
                // window, however often the user toggles; in-app keeps all.
                let coalesce = outbox::Coalesce {
                    key: format!("{}:event={event_id}:user={actor_id}", notice.kind()),
                    window: chrono::Duration::minutes(
                        svc.config.email.admin_notice_coalesce_minutes as i64,
                    ),
                };
                let admins = outbox::admins(tx)?;
                outbox::notify_coalesced(&svc, tx, &notice, &admins, &coalesce)?;
            }
            Ok(())
        })
        .await
}
