//! Queries of calendar feeds: feed tokens and the events a feed lists.

use crate::domain::error::DomainResult;
use crate::domain::event::{Event, ParticipantStatus};
use crate::domain::time::Ts;

/// An event as a feed lists it.
#[derive(Debug, Clone)]
pub struct FeedRow {
    pub event: Event,
    /// How many times the event was changed.
    pub sequence: i64,
    /// The last change; `None`: unchanged since created.
    pub updated_at: Option<Ts>,
    /// The feed owner's row (`None` in the public feed).
    pub mine: Option<ParticipantStatus>,
}

pub trait CalendarStore {
    /// Makes `(token_hash, token_sealed)` the user's one feed token.
    fn set_calendar_token(
        &mut self,
        user_id: i64,
        token_hash: &str,
        token_sealed: &str,
        now: Ts,
    ) -> DomainResult<()>;
    /// The user's sealed feed token, if one was made.
    fn calendar_token_sealed(&mut self, user_id: i64) -> DomainResult<Option<String>>;
    /// The active (not deleted) user whose token has this hash.
    fn calendar_token_user(&mut self, token_hash: &str) -> DomainResult<Option<i64>>;
    /// Events the user has a row on that ended at or after `since`,
    /// cancelled ones included, by start time then id.
    fn personal_feed_rows(&mut self, user_id: i64, since: Ts) -> DomainResult<Vec<FeedRow>>;
    /// Non-cancelled events not yet ended at `now`, by start time then id.
    fn public_feed_rows(&mut self, now: Ts) -> DomainResult<Vec<FeedRow>>;
    /// Records a change of the event at `now` (SEQUENCE, LAST-MODIFIED).
    fn touch_event(&mut self, event_id: i64, now: Ts) -> DomainResult<()>;
}
