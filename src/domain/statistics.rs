//! Statistics: the counts the product reports, as plain numbers.

use crate::domain::event::ratio;
use crate::domain::time::Ts;

/// Events by status (`total` = not cancelled).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct EventCounts {
    pub total: i64,
    pub active: i64,
    pub past: i64,
    pub rejected: i64,
}

/// A user's `PARTICIPATING` rows: on non-cancelled events, of those the
/// upcoming ones, and on cancelled events.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MyCounts {
    pub participating: i64,
    pub upcoming: i64,
    pub rejected: i64,
    /// My `WAITLISTED` rows on events that are neither cancelled nor over
    /// (counted apart from `participating`).
    pub waitlisted: i64,
}

/// `GET /users/me/statistics`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MyStatistics {
    pub events: EventCounts,
    pub mine: MyCounts,
    /// participating / total, 0 when there are no events.
    pub participation_rate: f64,
}

impl MyStatistics {
    pub fn new(events: EventCounts, mine: MyCounts) -> Self {
        MyStatistics {
            participation_rate: ratio(mine.participating, events.total),
            events,
            mine,
        }
    }
}

/// Per UTC start day of non-cancelled events.
#[derive(Debug, Clone, PartialEq)]
pub struct DayTotals {
    /// `YYYY-MM-DD`.
    pub day: String,
    pub events: i64,
    pub participants: i64,
}

/// Everything the administrators' statistics are made of.
#[derive(Debug, Clone, PartialEq)]
pub struct EventAggregates {
    pub events: EventCounts,
    /// `PARTICIPATING` rows on non-cancelled events.
    pub participations: i64,
    /// Distinct users among those.
    pub unique_participants: i64,
    /// `WAITLISTED` rows on events that are neither cancelled nor over (not
    /// in `participations`), and how many events have such a list.
    pub waitlisted: i64,
    pub events_with_waitlist: i64,
    /// Not deleted.
    pub users: i64,
    pub new_users_last_30_days: i64,
    pub by_day: Vec<DayTotals>,
    /// Non-cancelled events with 0, 1, 2–3, 4–5, 6+ participants.
    pub participants_per_event: [i64; 5],
    /// Events with a maximum by fill rate: [0, .25), [.25, .5), [.5, .75),
    /// [.75, 1), [1, ∞).
    pub fill_rate: [i64; 5],
    /// The next moment the figures change by time alone (an event ends, a
    /// sign-up leaves the 30-day window).
    pub next_change: Option<Ts>,
}

impl EventAggregates {
    pub fn avg_participants_per_event(&self) -> f64 {
        ratio(self.participations, self.events.total)
    }
}
