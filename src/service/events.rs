//! Events: what administrators do with them and what users read.

use std::sync::Arc;

use crate::domain::error::{DomainError, DomainResult, messages};
use crate::domain::event::{
    Attendee, Event, EventPatch, EventStatus, MyParticipation, NewEvent, Participant,
    ParticipantStatus, Participation, check_capacity, check_dates, dedup_ids,
};
use crate::domain::notice::{EventFacts, Notice, To};
use crate::service::{Services, outbox, waitlist};
use crate::store::Tx;
use crate::store::events::{CardRow, EventQuery};

/// An event with its participant rows (the administrators' view).
#[derive(Debug, Clone)]
pub struct EventView {
    pub event: Event,
    /// `PARTICIPATING` and `REJECTED` rows, by row time.
    pub participants: Vec<Participant>,
    /// `WAITLISTED` rows, first in line first.
    pub waitlist: Vec<Participant>,
}

impl EventView {
    /// Splits an event's rows (by row time, as the store gives them) into
    /// participants and the waiting list — whose order is the same
    /// (created_at, id) order.
    fn new(event: Event, rows: Vec<Participant>) -> EventView {
        let (waitlist, participants) = rows
            .into_iter()
            .partition(|p| p.status == ParticipantStatus::Waitlisted);
        EventView {
            event,
            participants,
            waitlist,
        }
    }
}

fn require(tx: &mut dyn Tx, id: i64) -> DomainResult<Event> {
    tx.event(id)?
        .ok_or_else(|| DomainError::not_found(messages::EVENT_NOT_FOUND))
}

/// The event unless it is cancelled (what users may see and join).
pub fn require_visible(tx: &mut dyn Tx, id: i64) -> DomainResult<Event> {
    tx.event(id)?
        .filter(|e| e.rejected_at.is_none())
        .ok_or_else(|| DomainError::not_found(messages::EVENT_NOT_FOUND))
}

fn require_active_users(tx: &mut dyn Tx, ids: &[i64]) -> DomainResult<()> {
    if tx.count_active_users(ids)? != ids.len() {
        return Err(DomainError::not_found(
            "Some participants are missing or deleted",
        ));
    }
    Ok(())
}

fn view(tx: &mut dyn Tx, event: Event) -> DomainResult<EventView> {
    let rows = tx.participants_of(&[event.id])?.pop().unwrap_or_default();
    Ok(EventView::new(event, rows))
}

fn recipients(ids: &[i64]) -> Vec<To> {
    ids.iter().map(|id| To::User(*id)).collect()
}

/// Creates an event with its first participants (duplicates ignored);
/// they get EVENT_CREATED.
pub async fn create(
    svc: &Services,
    new: NewEvent,
    participant_ids: Vec<i64>,
) -> DomainResult<EventView> {
    let svc = svc.clone();
    svc.store
        .clone()
        .write(move |tx| {
            let now = svc.now();
            let ids = dedup_ids(&participant_ids);
            require_active_users(tx, &ids)?;
            check_dates(now, new.starts_at, new.ends_at)?;
            check_capacity(ids.len(), new.max_participants_count)?;
            let id = tx.insert_event(&new, now)?;
            tx.replace_participants(id, &ids, now)?;
            let event = new.into_event(id, now);
            if !ids.is_empty() {
                let notice = Notice::EventCreated(EventFacts::of(&event, ids.len() as i64));
                outbox::notify(&svc, tx, &notice, &recipients(&ids))?;
            }
            view(tx, event)
        })
        .await
}

/// Which events to list.
#[derive(Debug, Clone, Default)]
pub struct ListEvents {
    pub status: Option<EventStatus>,
    /// Substring of the name, any case.
    pub q: Option<String>,
    pub limit: Option<i64>,
    pub offset: i64,
}

/// Events with their participants, by id (two queries however many).
pub async fn list(svc: &Services, filter: ListEvents) -> DomainResult<Vec<EventView>> {
    let now = svc.now();
    svc.store
        .read(move |tx| {
            let query = EventQuery {
                status: filter.status,
                name_fold: filter.q.as_deref().map(crate::domain::account::fold),
                limit: filter.limit,
                offset: filter.offset,
            };
            let events = tx.list_events(&query, now)?;
            let ids: Vec<i64> = events.iter().map(|e| e.id).collect();
            let groups = tx.participants_of(&ids)?;
            Ok(events
                .into_iter()
                .zip(groups)
                .map(|(event, rows)| EventView::new(event, rows))
                .collect())
        })
        .await
}

/// One event with its participants, cancelled or not.
pub async fn get(svc: &Services, id: i64) -> DomainResult<EventView> {
    svc.store
        .read(move |tx| {
            let event = require(tx, id)?;
            view(tx, event)
        })
        .await
}

/// The event as users see it (not cancelled), for its calendar file.
pub async fn get_visible(svc: &Services, id: i64) -> DomainResult<Event> {
    svc.store.read(move |tx| require_visible(tx, id)).await
}

/// Applies a partial update; `participant_ids` (when given) becomes the
/// complete participant set (the waiting list stays, less those listed).
/// Participants after the update get EVENT_UPDATED, or EVENT_CANCELLED when
/// the update cancels the event. Seats the update frees (participants
/// removed, the maximum raised or removed, the event restored) go to the
/// head of the waiting list in the same transaction; those promoted get
/// WAITLIST_PROMOTED instead of EVENT_UPDATED.
pub async fn update(
    svc: &Services,
    id: i64,
    patch: EventPatch,
    participant_ids: Option<Vec<i64>>,
) -> DomainResult<EventView> {
    let svc = svc.clone();
    svc.store
        .clone()
        .write(move |tx| {
            let now = svc.now();
            // The capacity check below must see concurrent joins.
            tx.lock_event(id)?;
            let old = require(tx, id)?;
            let new_ids = participant_ids.map(|ids| dedup_ids(&ids));
            if let Some(ids) = &new_ids {
                require_active_users(tx, ids)?;
            }
            let event = patch.apply(&old)?;
            let mut before = tx.participating_ids(id)?;
            if let Some(ids) = &new_ids {
                tx.replace_participants(id, ids, now)?;
            }
            let mut after = tx.participating_ids(id)?;
            check_capacity(after.len(), event.max_participants_count)?;
            if event != old {
                tx.save_event(&event)?;
            }
            if event.starts_at != old.starts_at {
                tx.rearm_reminders(id)?;
            }
            let promoted = waitlist::promote(&svc, tx, &event, now)?;
            let to = recipients(&after);
            let facts = EventFacts::of(&event, (after.len() + promoted.len()) as i64);
            before.sort_unstable();
            after.sort_unstable();
            // Who may see the attendees is the administrators' setting, not
            // news for the participants.
            let news = Event {
                attendees_visible: old.attendees_visible,
                ..event.clone()
            } != old;
            let notice = if old.rejected_at.is_none() && event.rejected_at.is_some() {
                Some(Notice::EventCancelled(facts))
            } else if news || before != after {
                Some(Notice::EventUpdated(facts))
            } else {
                None
            };
            if let Some(notice) = notice {
                outbox::notify(&svc, tx, &notice, &to)?;
            }
            view(tx, event)
        })
        .await
}

/// Which cards to show.
#[derive(Debug, Clone, Default)]
pub struct ListCards {
    /// `PAST` lists finished events, `REJECTED` lists nothing, otherwise
    /// upcoming ones.
    pub status: Option<EventStatus>,
    pub q: Option<String>,
    pub limit: Option<i64>,
    pub offset: i64,
}

/// A card as cached for every user: its row and, serialised once per
/// snapshot, its JSON object without the closing brace (the two per-user
/// fields follow per request).
#[derive(Debug)]
pub struct CachedCard {
    pub row: CardRow,
    pub json_prefix: String,
}

impl CachedCard {
    fn new(row: CardRow) -> DomainResult<CachedCard> {
        let mut json = serde_json::to_string(&row.fields).map_err(DomainError::internal)?;
        json.pop(); // the closing brace
        Ok(CachedCard {
            row,
            json_prefix: json,
        })
    }
}

/// Cards for one user: shared rows (a snapshot) and, per chosen row, the
/// user's own row.
pub struct Cards {
    rows: Arc<Vec<CachedCard>>,
    picks: Vec<(usize, Option<MyParticipation>)>,
    /// The status every listed card has (`ACTIVE` or `PAST`).
    pub status: EventStatus,
}

impl Cards {
    pub fn iter(&self) -> impl Iterator<Item = (&CachedCard, Option<MyParticipation>)> {
        self.picks.iter().map(|(i, mine)| (&self.rows[*i], *mine))
    }

    pub fn len(&self) -> usize {
        self.picks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.picks.is_empty()
    }
}

/// Event cards for a user, by start time: served from a snapshot shared
/// until the next commit, plus one query for the user's own rows.
pub async fn cards(svc: &Services, user_id: i64, filter: ListCards) -> DomainResult<Cards> {
    let (past, status) = match filter.status {
        Some(EventStatus::Rejected) => {
            return Ok(Cards {
                rows: Default::default(),
                picks: Vec::new(),
                status: EventStatus::Rejected,
            });
        }
        Some(EventStatus::Past) => (true, EventStatus::Past),
        Some(EventStatus::Active) | None => (false, EventStatus::Active),
    };
    let now = svc.now();
    let store = svc.store.clone();
    let rows = svc
        .caches
        .cards
        .get_or_compute(
            || store.version(),
            now,
            // Card statuses follow the clock per request: only commits matter.
            || async {
                let rows = svc.store.read(|tx| tx.cards()).await?;
                let cards = rows
                    .into_iter()
                    .map(CachedCard::new)
                    .collect::<DomainResult<Vec<_>>>()?;
                Ok::<_, DomainError>((cards, None))
            },
        )
        .await?;
    let needle = filter.q.as_deref().map(crate::domain::account::fold);
    let chosen: Vec<usize> = rows
        .iter()
        .enumerate()
        .filter(|(_, c)| (c.row.fields.ends_at <= now) == past)
        .filter(|(_, c)| {
            needle
                .as_deref()
                .is_none_or(|q| c.row.name_fold.contains(q))
        })
        .map(|(i, _)| i)
        .skip(filter.offset.max(0) as usize)
        .take(filter.limit.map_or(usize::MAX, |n| n.max(0) as usize))
        .collect();
    let mine = if chosen.is_empty() {
        Default::default()
    } else {
        svc.store
            .read(move |tx| tx.my_statuses(user_id, None))
            .await?
    };
    let picks = chosen
        .into_iter()
        .map(|i| (i, mine.get(&rows[i].row.fields.id).copied()))
        .collect();
    Ok(Cards {
        rows,
        picks,
        status,
    })
}

/// One event as a user sees it on its page: any event that exists,
/// cancelled (`REJECTED`) and past ones included.
#[derive(Debug)]
pub struct OneCard {
    pub row: CardRow,
    pub status: EventStatus,
    pub mine: Option<MyParticipation>,
}

/// The card of one event for a user; 404 only when there is no such event.
pub async fn card(svc: &Services, user_id: i64, event_id: i64) -> DomainResult<OneCard> {
    let now = svc.now();
    svc.store
        .read(move |tx| {
            let row = tx
                .card(event_id)?
                .ok_or_else(|| DomainError::not_found(messages::EVENT_NOT_FOUND))?;
            let mine = tx.my_statuses(user_id, Some(event_id))?.remove(&event_id);
            let status = EventStatus::of(row.rejected_at, row.fields.ends_at, now);
            Ok(OneCard { row, status, mine })
        })
        .await
}

/// Who is going to an event (names, no contact), for a signed-in user:
/// 404 when the event does not exist, 403 "Attendees are hidden" when it
/// hides them and the caller is not an administrator.
pub async fn attendees(
    svc: &Services,
    event_id: i64,
    is_admin: bool,
) -> DomainResult<(Event, Vec<Attendee>)> {
    svc.store
        .read(move |tx| {
            let event = require(tx, event_id)?;
            event.check_attendees_visible(is_admin)?;
            let list = tx.attendees(event_id)?;
            Ok((event, list))
        })
        .await
}

/// The participants of an event with their contact, for the export.
pub async fn participations(
    svc: &Services,
    event_id: i64,
) -> DomainResult<(Event, Vec<Participation>)> {
    svc.store
        .read(move |tx| {
            let event = require(tx, event_id)?;
            Ok((event, tx.participations(event_id)?))
        })
        .await
}
