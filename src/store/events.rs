//! Queries of events and participation.

use std::collections::HashMap;

use crate::domain::error::DomainResult;
use crate::domain::event::{
    Attendee, CardFields, Event, EventStatus, MyParticipation, NewEvent, Participant,
    ParticipantStatus, Participation,
};
use crate::domain::statistics::{EventAggregates, EventCounts, MyCounts};
use crate::domain::time::Ts;

/// Which events `GET /events` lists.
#[derive(Debug, Clone, Default)]
pub struct EventQuery {
    pub status: Option<EventStatus>,
    /// Folded (lower-cased) substring of the name.
    pub name_fold: Option<String>,
    /// `None`: all.
    pub limit: Option<i64>,
    pub offset: i64,
}

/// A card as stored: the fields every user sees plus the folded name the
/// search matches.
#[derive(Debug, Clone)]
pub struct CardRow {
    pub fields: CardFields,
    pub name_fold: String,
    /// When the event was cancelled (only [`EventStore::card`] reads
    /// cancelled events).
    pub rejected_at: Option<Ts>,
}

/// The event and participation queries a transaction offers.
pub trait EventStore {
    /// The event by id, cancelled or not.
    fn event(&mut self, id: i64) -> DomainResult<Option<Event>>;
    /// Holds the event's row for the rest of this write transaction, so that
    /// rules counting its participants (capacity) see every concurrent
    /// writer's commit: call it before reading what the rule counts.
    /// PostgreSQL: `SELECT … FOR UPDATE`; SQLite: nothing to do (its single
    /// writer already serialises every write).
    fn lock_event(&mut self, id: i64) -> DomainResult<()>;
    /// Inserts a new event created at `now`; returns its id.
    fn insert_event(&mut self, new: &NewEvent, now: Ts) -> DomainResult<i64>;
    /// Saves every field of `event` (by id).
    fn save_event(&mut self, event: &Event) -> DomainResult<()>;
    /// Events matching `query`, by id.
    fn list_events(&mut self, query: &EventQuery, now: Ts) -> DomainResult<Vec<Event>>;
    /// Participants of each event in `ids` (in that order), each group by
    /// row time.
    fn participants_of(&mut self, ids: &[i64]) -> DomainResult<Vec<Vec<Participant>>>;
    /// A user's row on an event.
    fn participant_status(
        &mut self,
        event_id: i64,
        user_id: i64,
    ) -> DomainResult<Option<ParticipantStatus>>;
    /// How many users are `PARTICIPATING`, not counting `except`.
    fn count_participating(&mut self, event_id: i64, except: Option<i64>) -> DomainResult<i64>;
    /// Ids of the users `PARTICIPATING`, by join time.
    fn participating_ids(&mut self, event_id: i64) -> DomainResult<Vec<i64>>;
    /// Ids of the users `WAITLISTED`, first in line first: by the time they
    /// joined the list, then by row id (a row that joins the list is written
    /// anew, so its id is larger than every row already on it).
    fn waitlist_ids(&mut self, event_id: i64) -> DomainResult<Vec<i64>>;
    /// Writes (or with `None` removes) a user's row; a new status starts a
    /// new row time and re-arms the reminder. `WAITLISTED` always writes a
    /// new row (a new id), which puts the user at the end of the list.
    fn set_participant(
        &mut self,
        event_id: i64,
        user_id: i64,
        status: Option<ParticipantStatus>,
        now: Ts,
    ) -> DomainResult<()>;
    /// Makes the `PARTICIPATING` set exactly `ids`: stayers keep their rows,
    /// other rows go except `WAITLISTED` ones (the list stays), newcomers
    /// (and decliners or waiting users in `ids`) join at `now`.
    fn replace_participants(&mut self, event_id: i64, ids: &[i64], now: Ts) -> DomainResult<()>;
    /// Re-arms every participant's reminder (the event moved).
    fn rearm_reminders(&mut self, event_id: i64) -> DomainResult<()>;
    /// How many of `ids` (free of duplicates) are active users.
    fn count_active_users(&mut self, ids: &[i64]) -> DomainResult<usize>;
    /// Every non-cancelled event as a card, by start time then id.
    fn cards(&mut self) -> DomainResult<Vec<CardRow>>;
    /// One event as a card, cancelled or not.
    fn card(&mut self, event_id: i64) -> DomainResult<Option<CardRow>>;
    /// A user's rows (with their waiting-list places), by event id; with
    /// `event_id`, that event's row only.
    fn my_statuses(
        &mut self,
        user_id: i64,
        event_id: Option<i64>,
    ) -> DomainResult<HashMap<i64, MyParticipation>>;
    /// The users `PARTICIPATING` in an event who are not deleted, by join
    /// time, without contact.
    fn attendees(&mut self, event_id: i64) -> DomainResult<Vec<Attendee>>;
    /// Rows of an event with the users' contact (the export):
    /// `PARTICIPATING` ones by join time, then `WAITLISTED` ones in list
    /// order.
    fn participations(&mut self, event_id: i64) -> DomainResult<Vec<Participation>>;
    /// Counts of events by status at `now`.
    fn event_counts(&mut self, now: Ts) -> DomainResult<EventCounts>;
    /// A user's participation counts at `now`.
    fn my_counts(&mut self, user_id: i64, now: Ts) -> DomainResult<MyCounts>;
    /// Everything the administrators' statistics are made of.
    fn event_aggregates(&mut self, now: Ts) -> DomainResult<EventAggregates>;
}
