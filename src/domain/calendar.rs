//! Calendar feeds: which of a user's events a feed lists, with which
//! iCalendar status, and the reminder alarm they carry.

use chrono::Duration;

use crate::domain::event::{Event, ParticipantStatus};
use crate::domain::time::Ts;

/// How far back a personal feed reaches: events that ended at most this many
/// days ago are still listed (calendar apps drop entries that vanish).
pub const FEED_DAYS_BACK: i64 = 90;

/// The `STATUS` of a `VEVENT` in a feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedStatus {
    Confirmed,
    /// On the waiting list.
    Tentative,
    Cancelled,
}

impl FeedStatus {
    pub fn as_ics(self) -> &'static str {
        match self {
            FeedStatus::Confirmed => "CONFIRMED",
            FeedStatus::Tentative => "TENTATIVE",
            FeedStatus::Cancelled => "CANCELLED",
        }
    }
}

/// The status of an event in a personal feed, from the user's own row:
/// `None` leaves the event out. A cancelled event stays, `CANCELLED`, so
/// subscribed calendars strike it instead of silently losing it. Waiting
/// for a seat is `TENTATIVE`.
pub fn personal_status(cancelled: bool, mine: ParticipantStatus) -> Option<FeedStatus> {
    let listed = match mine {
        ParticipantStatus::Participating => FeedStatus::Confirmed,
        ParticipantStatus::Waitlisted => FeedStatus::Tentative,
        ParticipantStatus::Rejected => return None,
    };
    Some(if cancelled {
        FeedStatus::Cancelled
    } else {
        listed
    })
}

/// The earliest end of an event a personal feed still lists at `now`.
pub fn feed_since(now: Ts) -> Ts {
    Ts(now.0 - Duration::days(FEED_DAYS_BACK))
}

/// One `VEVENT` of a feed.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedEntry {
    pub event: Event,
    /// Bumped by every change of the event.
    pub sequence: i64,
    /// The last change, or the creation.
    pub last_modified: Ts,
    pub status: FeedStatus,
}

/// A feed: its entries by start time and how long before each start an
/// alarm fires (the user's reminder offsets; none in the public feed).
#[derive(Debug, Clone, PartialEq)]
pub struct Feed {
    pub entries: Vec<FeedEntry>,
    pub alarms: Vec<Duration>,
}

/// A feed token as the user receives it: 32 random bytes, hex. Anything
/// else in a feed URL cannot be a token.
pub fn is_token_shaped(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn personal_statuses() {
        use ParticipantStatus::*;
        assert_eq!(
            personal_status(false, Participating),
            Some(FeedStatus::Confirmed)
        );
        assert_eq!(
            personal_status(true, Participating),
            Some(FeedStatus::Cancelled)
        );
        assert_eq!(personal_status(false, Rejected), None);
        assert_eq!(personal_status(true, Rejected), None);
    }

    #[test]
    fn token_shape() {
        assert!(is_token_shaped(&"ab".repeat(32)));
        assert!(!is_token_shaped("all"));
        assert!(!is_token_shaped(&"zz".repeat(32)));
    }
}
