//! Queries of events and participation.

use crate::domain::error::DomainResult;
use crate::domain::event::{Event, ParticipantStatus};
use crate::domain::time::Ts;

/// The event and participation queries a transaction offers.
pub trait EventStore {
    /// The event by id, cancelled or not.
    fn event(&mut self, id: i64) -> DomainResult<Option<Event>>;
    /// A user's row on an event.
    fn participant_status(
        &mut self,
        event_id: i64,
        user_id: i64,
    ) -> DomainResult<Option<ParticipantStatus>>;
    /// How many users are `PARTICIPATING`, not counting `except`.
    fn count_participating(&mut self, event_id: i64, except: Option<i64>) -> DomainResult<i64>;
    /// Writes (or with `None` removes) a user's row; a new status starts a
    /// new row time and re-arms the reminder.
    fn set_participant(
        &mut self,
        event_id: i64,
        user_id: i64,
        status: Option<ParticipantStatus>,
        now: Ts,
    ) -> DomainResult<()>;
}
