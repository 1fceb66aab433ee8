//! Queries of check-ins, attendance and event managers.

use std::collections::HashMap;

use crate::domain::error::DomainResult;
use crate::domain::organiser::EventAttendance;
use crate::domain::time::Ts;

/// A person as the check-in desk sees them.
#[derive(Debug, Clone, PartialEq)]
pub struct Person {
    pub id: i64,
    pub full_name: String,
    pub email: String,
}

pub trait OrganiserStore {
    /// Records that a user came, at `now`, unless already recorded; the
    /// time of the earlier check-in when there was one.
    fn check_in(
        &mut self,
        event_id: i64,
        user_id: i64,
        by: i64,
        now: Ts,
    ) -> DomainResult<Option<Ts>>;
    /// Removes a check-in; whether there was one.
    fn undo_check_in(&mut self, event_id: i64, user_id: i64) -> DomainResult<bool>;
    /// When each checked-in user of an event came, by user id.
    fn check_ins(&mut self, event_id: i64) -> DomainResult<HashMap<i64, Ts>>;
    /// A user (deleted ones too: the caller checks the participation).
    fn person(&mut self, user_id: i64) -> DomainResult<Option<Person>>;
    /// Managers of each event in `ids` (in that order), by user id.
    fn managers_of(&mut self, ids: &[i64]) -> DomainResult<Vec<Vec<i64>>>;
    /// Makes the managers of an event exactly `ids`.
    fn set_managers(&mut self, event_id: i64, ids: &[i64]) -> DomainResult<()>;
    /// The events a user manages, by id.
    fn managed_events(&mut self, user_id: i64) -> DomainResult<Vec<i64>>;
    /// Non-cancelled events starting at or before `cutoff`, newest first, at
    /// most `limit`: `PARTICIPATING` rows and those of them checked in.
    fn attendance(&mut self, cutoff: Ts, limit: i64) -> DomainResult<Vec<EventAttendance>>;
}
