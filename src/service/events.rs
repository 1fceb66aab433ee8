//! Events: what administrators do with them and what users read.

use std::sync::Arc;

use crate::domain::error::{DomainError, DomainResult, messages};
use crate::domain::event::{
    Attendee, Event, EventFilter, EventPatch, EventStatus, MyParticipation, NewEvent, Participant,
    ParticipantStatus, Participation, check_capacity, check_dates, counts_as_mine, dedup_ids,
    search_text,
};
use crate::domain::notice::{EventFacts, Notice, To};
use crate::domain::organiser::{self as organiser_rules, Acting, MANAGERS_ADMIN_ONLY};
use crate::domain::time::Ts;
use crate::domain::webhook::WebhookType;
use crate::service::audit::{self, Action, Actor, Changes, Target};
use crate::service::{Services, organiser, outbox, waitlist, webhooks};
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
    /// The event's managers (co-organisers), by user id.
    pub managers: Vec<i64>,
}

impl EventView {
    /// Splits an event's rows (by row time, as the store gives them) into
    /// participants and the waiting list — whose order is the same
    /// (created_at, id) order.
    fn new(event: Event, rows: Vec<Participant>, managers: Vec<i64>) -> EventView {
        let (waitlist, participants) = rows
            .into_iter()
            .partition(|p| p.status == ParticipantStatus::Waitlisted);
        EventView {
            event,
            participants,
            waitlist,
            managers,
        }
    }
}

pub(crate) fn require(tx: &mut dyn Tx, id: i64) -> DomainResult<Event> {
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
        return Err(DomainError::not_found(messages::PARTICIPANTS_MISSING));
    }
    Ok(())
}

/// Managers must be active users.
fn require_managers(tx: &mut dyn Tx, ids: &[i64]) -> DomainResult<()> {
    if tx.count_active_users(ids)? != ids.len() {
        return Err(DomainError::not_found(organiser_rules::MANAGERS_MISSING));
    }
    Ok(())
}

pub(crate) fn view(tx: &mut dyn Tx, event: Event) -> DomainResult<EventView> {
    let rows = tx.participants_of(&[event.id])?.pop().unwrap_or_default();
    let managers = tx.managers_of(&[event.id])?.pop().unwrap_or_default();
    Ok(EventView::new(event, rows, managers))
}

/// An event's category must exist when it is set.
pub(crate) fn require_category(tx: &mut dyn Tx, id: Option<i64>) -> DomainResult<()> {
    match id {
        Some(id) if tx.category(id)?.is_none() => Err(DomainError::not_found(
            crate::domain::category::CATEGORY_NOT_FOUND,
        )),
        _ => Ok(()),
    }
}

/// The fields of an event the audit log compares before and after a
/// change, with its participants (sorted ids).
pub(crate) fn audited(event: &Event, participants: &[i64]) -> serde_json::Value {
    let mut ids = participants.to_vec();
    ids.sort_unstable();
    serde_json::json!({
        "name": event.name,
        "short_description": event.short_description,
        "description": event.description,
        "starts_at": event.starts_at,
        "ends_at": event.ends_at,
        "image_url": event.image_url,
        "payment_info": event.payment_info,
        "max_participants_count": event.max_participants_count,
        "location": event.location,
        "rejected_at": event.rejected_at,
        "attendees_visible": event.attendees_visible,
        "category_id": event.category_id,
        "participants": ids,
    })
}

/// An update is recorded as a cancellation or a restore when it does that,
/// else as an update.
fn update_action(old: &Event, new: &Event) -> Action {
    match (old.rejected_at.is_some(), new.rejected_at.is_some()) {
        (false, true) => Action::EventCancelled,
        (true, false) => Action::EventRestored,
        _ => Action::EventUpdated,
    }
}

fn recipients(ids: &[i64]) -> Vec<To> {
    ids.iter().map(|id| To::User(*id)).collect()
}

/// Creates an event with its first participants (duplicates ignored);
/// they get EVENT_CREATED. `managers` become its managers (co-organisers).
pub async fn create(
    svc: &Services,
    actor: &Actor,
    new: NewEvent,
    participant_ids: Vec<i64>,
    managers: Vec<i64>,
) -> DomainResult<EventView> {
    let (svc, actor) = (svc.clone(), actor.clone());
    svc.store
        .clone()
        .write(move |tx| {
            let now = svc.now();
            let ids = dedup_ids(&participant_ids);
            require_active_users(tx, &ids)?;
            check_dates(now, new.starts_at, new.ends_at)?;
            check_capacity(ids.len(), new.max_participants_count)?;
            require_category(tx, new.category_id)?;
            let managers = dedup_ids(&managers);
            require_managers(tx, &managers)?;
            let id = tx.insert_event(&new, now)?;
            tx.replace_participants(id, &ids, now)?;
            tx.set_managers(id, &managers)?;
            let event = new.into_event(id, now);
            let changes = Changes::diff(&serde_json::json!({}), &audited(&event, &ids));
            audit::record(
                &svc,
                tx,
                &actor,
                Action::EventCreated,
                Target::event(id),
                changes,
            )?;
            if !ids.is_empty() {
                let notice = Notice::EventCreated(EventFacts::of(&event, ids.len() as i64));
                outbox::notify(&svc, tx, &notice, &recipients(&ids))?;
            }
            webhooks::emit_event(&svc, tx, now, WebhookType::EventCreated, &event)?;
            view(tx, event)
        })
        .await
}

/// Which events to list.
#[derive(Debug, Clone, Default)]
pub struct ListEvents {
    pub status: Option<EventStatus>,
    /// Categories, dates and the search (name, short description,
    /// location).
    pub filter: EventFilter,
    /// Only the events this user takes part in (`mine=true`).
    pub mine_of: Option<i64>,
    pub limit: Option<i64>,
    pub offset: i64,
}

/// Events with their participants, by id (two queries however many, three
/// with `mine_of`).
pub async fn list(svc: &Services, list: ListEvents) -> DomainResult<Vec<EventView>> {
    let now = svc.now();
    svc.store
        .read(move |tx| {
            // The status and the page in SQL; the other filters (the
            // search folds Unicode in Rust) over the status's events.
            let simple = list.filter.is_empty() && list.mine_of.is_none();
            let query = EventQuery {
                status: list.status,
                name_fold: None,
                limit: if simple { list.limit } else { None },
                offset: if simple { list.offset } else { 0 },
            };
            let mut events = tx.list_events(&query, now)?;
            if !simple {
                let mine = match list.mine_of {
                    Some(user_id) => Some(tx.my_statuses(user_id, None)?),
                    None => None,
                };
                events = events
                    .into_iter()
                    .filter(|e| {
                        let search = search_text(
                            &e.name,
                            e.short_description.as_deref(),
                            e.location.as_deref(),
                        );
                        list.filter
                            .matches(e.starts_at, e.ends_at, e.category_id, &search)
                            && mine.as_ref().is_none_or(|m| {
                                m.get(&e.id).is_some_and(|p| counts_as_mine(p.status))
                            })
                    })
                    .skip(list.offset.max(0) as usize)
                    .take(list.limit.map_or(usize::MAX, |n| n.max(0) as usize))
                    .collect();
            }
            let ids: Vec<i64> = events.iter().map(|e| e.id).collect();
            let groups = tx.participants_of(&ids)?;
            let managers = tx.managers_of(&ids)?;
            Ok(events
                .into_iter()
                .zip(groups)
                .zip(managers)
                .map(|((event, rows), managers)| EventView::new(event, rows, managers))
                .collect())
        })
        .await
}

/// One event with its participants, cancelled or not, for an
/// administrator or one of its managers.
pub async fn get(svc: &Services, by: Acting, id: i64) -> DomainResult<EventView> {
    svc.store
        .read(move |tx| {
            organiser::authorize_in(tx, by, id)?;
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
///
/// Administrators and the event's managers may update it (a manager's
/// update is theirs to answer for: `by` is recorded by the audit log);
/// only administrators set `managers` (the complete set after the update).
pub async fn update(
    svc: &Services,
    actor: &Actor,
    by: Acting,
    id: i64,
    patch: EventPatch,
    participant_ids: Option<Vec<i64>>,
    managers: Option<Vec<i64>>,
) -> DomainResult<EventView> {
    let (svc, actor) = (svc.clone(), actor.clone());
    svc.store
        .clone()
        .write(move |tx| {
            let now = svc.now();
            organiser::authorize_in(tx, by, id)?;
            if managers.is_some() && !by.is_admin {
                return Err(DomainError::Forbidden(MANAGERS_ADMIN_ONLY.into()));
            }
            if let Some(ids) = managers.as_ref().map(|ids| dedup_ids(ids)) {
                require(tx, id)?;
                require_managers(tx, &ids)?;
                tx.set_managers(id, &ids)?;
            }
            update_in(&svc, tx, &actor, id, patch, participant_ids, now)
        })
        .await
}

/// [`update`] inside the caller's write transaction (series edits apply it
/// to each occurrence they reach).
pub(crate) fn update_in(
    svc: &Services,
    tx: &mut dyn Tx,
    actor: &Actor,
    id: i64,
    patch: EventPatch,
    participant_ids: Option<Vec<i64>>,
    now: crate::domain::time::Ts,
) -> DomainResult<EventView> {
    // The capacity check below must see concurrent joins.
    tx.lock_event(id)?;
    let old = require(tx, id)?;
    let new_ids = participant_ids.map(|ids| dedup_ids(&ids));
    if let Some(ids) = &new_ids {
        require_active_users(tx, ids)?;
    }
    let event = patch.apply(&old)?;
    if event.category_id != old.category_id {
        require_category(tx, event.category_id)?;
    }
    let mut before = tx.participating_ids(id)?;
    if let Some(ids) = &new_ids {
        tx.replace_participants(id, ids, now)?;
    }
    let mut after = tx.participating_ids(id)?;
    check_capacity(after.len(), event.max_participants_count)?;
    if event != old {
        tx.save_event(&event)?;
        // Calendar feeds: a higher SEQUENCE and a new LAST-MODIFIED.
        tx.touch_event(id, now)?;
    }
    if event.starts_at != old.starts_at {
        tx.rearm_reminders(id)?;
    }
    let promoted = waitlist::promote(svc, tx, &event, now)?;
    let changes = Changes::diff(
        &audited(&old, &before),
        &audited(&event, &tx.participating_ids(id)?),
    );
    let action = update_action(&old, &event);
    audit::record(svc, tx, actor, action, Target::event(id), changes)?;
    let to = recipients(&after);
    let facts = EventFacts::of(&event, (after.len() + promoted.len()) as i64);
    before.sort_unstable();
    after.sort_unstable();
    // Who may see the attendees is the administrators' setting, not
    // news for the participants; nor is the series an occurrence belongs to.
    let news = Event {
        attendees_visible: old.attendees_visible,
        series_id: old.series_id,
        series_index: old.series_index,
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
        outbox::notify(svc, tx, &notice, &to)?;
    }
    let cancelled = old.rejected_at.is_none() && event.rejected_at.is_some();
    let restored = old.rejected_at.is_some() && event.rejected_at.is_none();
    let kind = if cancelled {
        Some(WebhookType::EventCancelled)
    } else if restored {
        Some(WebhookType::EventRestored)
    } else if event != old || before != after {
        Some(WebhookType::EventUpdated)
    } else {
        None
    };
    if let Some(kind) = kind {
        webhooks::emit_event(svc, tx, now, kind, &event)?;
    }
    // Participants the administrator added or removed (the
    // promoted ones are told by `waitlist::promote`).
    for id in after.iter().filter(|id| !before.contains(id)) {
        if !promoted.contains(id) {
            webhooks::emit_participation(
                svc,
                tx,
                now,
                WebhookType::ParticipationJoined,
                &event,
                *id,
            )?;
        }
    }
    for id in before.iter().filter(|id| !after.contains(id)) {
        webhooks::emit_participation(svc, tx, now, WebhookType::ParticipationLeft, &event, *id)?;
    }
    view(tx, event)
}

/// Which cards to show.
#[derive(Debug, Clone, Default)]
pub struct ListCards {
    /// `PAST` lists finished events (newest first), `REJECTED` lists
    /// nothing, otherwise upcoming ones (soonest first).
    pub status: Option<EventStatus>,
    /// Categories, dates and the search (name, short description,
    /// location).
    pub filter: EventFilter,
    /// Only the events the user takes part in.
    pub mine: bool,
    pub limit: Option<i64>,
    pub offset: i64,
}

/// A card as cached for every user: its row, what `q` searches and,
/// serialised once per snapshot, its JSON object without the closing brace
/// (the two per-user fields follow per request).
#[derive(Debug)]
pub struct CachedCard {
    pub row: CardRow,
    pub search: String,
    pub json_prefix: String,
}

impl CachedCard {
    fn new(row: CardRow) -> DomainResult<CachedCard> {
        let mut json = serde_json::to_string(&row.fields).map_err(DomainError::internal)?;
        json.pop(); // the closing brace
        let f = &row.fields;
        let search = search_text(
            &f.name,
            f.short_description.as_deref(),
            f.location.as_deref(),
        );
        Ok(CachedCard {
            row,
            search,
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
    // `mine` needs the user's rows before choosing; otherwise they are
    // read only for the chosen page.
    let mut mine = if filter.mine {
        Some(
            svc.store
                .read(move |tx| tx.my_statuses(user_id, None))
                .await?,
        )
    } else {
        None
    };
    let matching = |(_, c): &(usize, &CachedCard)| {
        let f = &c.row.fields;
        (f.ends_at <= now) == past
            && filter
                .filter
                .matches(f.starts_at, f.ends_at, f.category_id, &c.search)
            && mine
                .as_ref()
                .is_none_or(|m| m.get(&f.id).is_some_and(|p| counts_as_mine(p.status)))
    };
    let page = |it: &mut dyn Iterator<Item = usize>| -> Vec<usize> {
        it.skip(filter.offset.max(0) as usize)
            .take(filter.limit.map_or(usize::MAX, |n| n.max(0) as usize))
            .collect()
    };
    // The snapshot is by start time then id: upcoming soonest first, past
    // newest first (walked backwards).
    let chosen: Vec<usize> = if past {
        page(
            &mut rows
                .iter()
                .enumerate()
                .rev()
                .filter(matching)
                .map(|(i, _)| i),
        )
    } else {
        page(&mut rows.iter().enumerate().filter(matching).map(|(i, _)| i))
    };
    let mine = match mine.take() {
        Some(m) => m,
        None if chosen.is_empty() => Default::default(),
        None => {
            svc.store
                .read(move |tx| tx.my_statuses(user_id, None))
                .await?
        }
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
    /// My ticket while I participate (and the event is not cancelled).
    pub ticket: Option<organiser::Ticket>,
    /// Whether I may manage this event (administrator or manager).
    pub can_manage: bool,
}

/// The card of one event for a user; 404 only when there is no such event.
pub async fn card(svc: &Services, by: Acting, event_id: i64) -> DomainResult<OneCard> {
    let now = svc.now();
    let svc = svc.clone();
    svc.store
        .clone()
        .read(move |tx| {
            let user_id = by.user_id;
            let row = tx
                .card(event_id)?
                .ok_or_else(|| DomainError::not_found(messages::EVENT_NOT_FOUND))?;
            let mine = tx.my_statuses(user_id, Some(event_id))?.remove(&event_id);
            let status = EventStatus::of(row.rejected_at, row.fields.ends_at, now);
            let ticket = (row.rejected_at.is_none()
                && mine.is_some_and(|m| m.status == ParticipantStatus::Participating))
            .then(|| organiser::ticket(&svc, event_id, user_id));
            let can_manage = organiser::authorize_in(tx, by, event_id).is_ok();
            Ok(OneCard {
                row,
                status,
                mine,
                ticket,
                can_manage,
            })
        })
        .await
}

/// The event as users see it (not cancelled), for its calendar file, with
/// the caller's ticket while they participate.
pub async fn calendar_entry(
    svc: &Services,
    user_id: i64,
    id: i64,
) -> DomainResult<(Event, Option<organiser::Ticket>)> {
    let svc = svc.clone();
    svc.store
        .clone()
        .read(move |tx| {
            let event = require_visible(tx, id)?;
            let ticket = (tx.participant_status(id, user_id)?
                == Some(ParticipantStatus::Participating))
            .then(|| organiser::ticket(&svc, id, user_id));
            Ok((event, ticket))
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

/// The participants of an event with their contact and when each checked
/// in, for the export (administrators and the event's managers).
pub async fn participations(
    svc: &Services,
    by: Acting,
    event_id: i64,
) -> DomainResult<(Event, Vec<(Participation, Option<Ts>)>)> {
    svc.store
        .read(move |tx| {
            organiser::authorize_in(tx, by, event_id)?;
            let event = require(tx, event_id)?;
            let times = tx.check_ins(event_id)?;
            let rows = tx
                .participations(event_id)?
                .into_iter()
                .map(|p| {
                    let at = times.get(&p.user_id).copied();
                    (p, at)
                })
                .collect();
            Ok((event, rows))
        })
        .await
}
