//! Events and participation: the stored event, its status on the clock,
//! the changes an administrator may make and the rules they must keep.

use serde::{Deserialize, Serialize};

use crate::domain::error::{DomainError, DomainResult, messages};
use crate::domain::time::Ts;

/// Length limits of the free-text fields (characters).
pub const NAME_MAX: usize = 200;
pub const SHORT_DESCRIPTION_MAX: usize = 500;
pub const DESCRIPTION_MAX: usize = 20_000;
pub const URL_MAX: usize = 2048;
pub const PAYMENT_INFO_MAX: usize = 1000;
pub const LOCATION_MAX: usize = 500;

/// `ACTIVE` | `PAST` | `REJECTED` (cancelled).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum EventStatus {
    Active,
    Past,
    Rejected,
}

impl EventStatus {
    /// `REJECTED` if cancelled, else `PAST` once `ends_at` has come, else
    /// `ACTIVE`.
    pub fn of(rejected_at: Option<Ts>, ends_at: Ts, now: Ts) -> EventStatus {
        if rejected_at.is_some() {
            EventStatus::Rejected
        } else if ends_at <= now {
            EventStatus::Past
        } else {
            EventStatus::Active
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            EventStatus::Active => "ACTIVE",
            EventStatus::Past => "PAST",
            EventStatus::Rejected => "REJECTED",
        }
    }
}

/// A participant row's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ParticipantStatus {
    Participating,
    Rejected,
    /// On the waiting list of a full event, in the order of the row's time
    /// (the time the user joined the list).
    Waitlisted,
}

impl ParticipantStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ParticipantStatus::Participating => "PARTICIPATING",
            ParticipantStatus::Rejected => "REJECTED",
            ParticipantStatus::Waitlisted => "WAITLISTED",
        }
    }

    pub fn parse(text: &str) -> Option<ParticipantStatus> {
        match text {
            "PARTICIPATING" => Some(ParticipantStatus::Participating),
            "REJECTED" => Some(ParticipantStatus::Rejected),
            "WAITLISTED" => Some(ParticipantStatus::Waitlisted),
            _ => None,
        }
    }
}

/// The stored event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: i64,
    pub name: String,
    pub short_description: Option<String>,
    pub description: String,
    pub starts_at: Ts,
    pub ends_at: Ts,
    pub image_url: String,
    pub payment_info: Option<String>,
    pub max_participants_count: Option<i64>,
    pub location: Option<String>,
    pub created_at: Ts,
    pub rejected_at: Option<Ts>,
    /// Whether signed-in users may see who is going (administrators always
    /// may).
    pub attendees_visible: bool,
    /// At most one category; `None` also after the category is deleted.
    pub category_id: Option<i64>,
    /// The series this event is an occurrence of, and its number there
    /// (0 = the first); both `None` for a single event.
    pub series_id: Option<i64>,
    pub series_index: Option<i64>,
}

impl Event {
    /// `REJECTED` if cancelled, else `PAST` once `ends_at` has come, else
    /// `ACTIVE`.
    pub fn status(&self, now: Ts) -> EventStatus {
        EventStatus::of(self.rejected_at, self.ends_at, now)
    }

    /// Whether a user may join now: not cancelled (the caller sees cancelled
    /// events as missing) and not finished.
    pub fn check_joinable(&self, now: Ts) -> DomainResult<()> {
        if self.ends_at <= now {
            return Err(DomainError::rule(messages::EVENT_FINISHED));
        }
        Ok(())
    }

    /// Whether the caller may see who is going: administrators always, other
    /// users unless the event hides its attendees (then 403 "Attendees are
    /// hidden", rather than an empty list that would read as "nobody").
    pub fn check_attendees_visible(&self, is_admin: bool) -> DomainResult<()> {
        if self.attendees_visible || is_admin {
            Ok(())
        } else {
            Err(DomainError::Forbidden(messages::ATTENDEES_HIDDEN.into()))
        }
    }

    /// How many people at the head of the waiting list move up now, with
    /// `participating` people in and `waiting` on the list: as many as there
    /// are free seats (everyone without a limit), and nobody once the event
    /// is cancelled or finished (its list is inert).
    pub fn seats_to_promote(&self, now: Ts, participating: i64, waiting: i64) -> i64 {
        if self.status(now) != EventStatus::Active {
            return 0;
        }
        match self.max_participants_count {
            None => waiting.max(0),
            Some(max) => (max - participating).clamp(0, waiting.max(0)),
        }
    }
}

/// Joining the waiting list is for a full event only: `others` people other
/// than the caller participate. An event with a free seat answers 400
/// "Event has free seats" (join it instead).
pub fn check_waitlist_join(others: i64, max: Option<i64>) -> DomainResult<()> {
    match max {
        Some(max) if others >= max => Ok(()),
        _ => Err(DomainError::rule(messages::EVENT_HAS_FREE_SEATS)),
    }
}

/// A person going to an event, as other users see them (no contact).
#[derive(Debug, Clone, PartialEq)]
pub struct Attendee {
    pub user_id: i64,
    pub full_name: String,
}

/// My row on an event, with my place in its waiting list (1 = next).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MyParticipation {
    pub status: ParticipantStatus,
    pub waitlist_position: Option<i64>,
    /// When I was checked in at this event, if I was.
    pub checked_in_at: Option<Ts>,
}

/// A user's row on an event.
#[derive(Debug, Clone, PartialEq)]
pub struct Participant {
    pub user_id: i64,
    /// When the row was written (join or decline time).
    pub created_at: Ts,
    pub status: ParticipantStatus,
}

/// A participation with the participant's contact (exports).
#[derive(Debug, Clone)]
pub struct Participation {
    pub user_id: i64,
    pub email: String,
    pub full_name: String,
    pub status: ParticipantStatus,
    pub joined_at: Ts,
}

/// The fields of an event card that are the same for every user.
#[derive(Debug, Clone, Serialize)]
pub struct CardFields {
    pub id: i64,
    pub name: String,
    pub short_description: Option<String>,
    pub description: String,
    pub starts_at: Ts,
    pub ends_at: Ts,
    pub image_url: String,
    pub location: Option<String>,
    /// Users `PARTICIPATING`.
    pub participants_count: i64,
    pub max_participants_count: Option<i64>,
    pub payment_info: Option<String>,
    /// Users `WAITLISTED`.
    pub waitlist_count: i64,
    pub attendees_visible: bool,
    pub category_id: Option<i64>,
    /// The series the event belongs to (`null` for a single event).
    pub series_id: Option<i64>,
}

/// The fields of a new event (after input parsing).
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub name: String,
    pub short_description: Option<String>,
    pub description: String,
    pub starts_at: Ts,
    pub ends_at: Ts,
    pub image_url: String,
    pub payment_info: Option<String>,
    pub max_participants_count: Option<i64>,
    pub location: Option<String>,
    pub attendees_visible: bool,
    pub category_id: Option<i64>,
    /// An occurrence: its series and number there.
    pub series_id: Option<i64>,
    pub series_index: Option<i64>,
}

impl NewEvent {
    /// The event as stored once created at `now` with `id`.
    pub fn into_event(self, id: i64, now: Ts) -> Event {
        Event {
            id,
            name: self.name,
            short_description: self.short_description,
            description: self.description,
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            image_url: self.image_url,
            payment_info: self.payment_info,
            max_participants_count: self.max_participants_count,
            location: self.location,
            created_at: now,
            rejected_at: None,
            attendees_visible: self.attendees_visible,
            category_id: self.category_id,
            series_id: self.series_id,
            series_index: self.series_index,
        }
    }
}

/// A partial update: `None` keeps a field, `Some(None)` clears it (refused
/// for the required ones), `Some(Some(v))` sets it.
#[derive(Debug, Clone, Default)]
pub struct EventPatch {
    pub name: Option<Option<String>>,
    pub short_description: Option<Option<String>>,
    pub description: Option<Option<String>>,
    pub starts_at: Option<Option<Ts>>,
    pub ends_at: Option<Option<Ts>>,
    pub image_url: Option<Option<String>>,
    pub payment_info: Option<Option<String>>,
    pub max_participants_count: Option<Option<i64>>,
    pub location: Option<Option<String>>,
    /// A timestamp cancels the event; `null` restores it.
    pub rejected_at: Option<Option<Ts>>,
    pub attendees_visible: Option<bool>,
    pub category_id: Option<Option<i64>>,
}

fn required<T>(field: &str, value: Option<Option<T>>, slot: &mut T) -> DomainResult<()> {
    match value {
        None => Ok(()),
        Some(None) => Err(DomainError::rule(format!("{field} cannot be null"))),
        Some(Some(v)) => {
            *slot = v;
            Ok(())
        }
    }
}

fn optional<T>(value: Option<Option<T>>, slot: &mut Option<T>) {
    if let Some(v) = value {
        *slot = v;
    }
}

impl EventPatch {
    /// The event after the patch, its date rules checked.
    pub fn apply(self, event: &Event) -> DomainResult<Event> {
        let mut e = event.clone();
        required("name", self.name, &mut e.name)?;
        required("description", self.description, &mut e.description)?;
        required("image_url", self.image_url, &mut e.image_url)?;
        required("starts_at", self.starts_at, &mut e.starts_at)?;
        required("ends_at", self.ends_at, &mut e.ends_at)?;
        optional(self.short_description, &mut e.short_description);
        optional(self.payment_info, &mut e.payment_info);
        optional(self.max_participants_count, &mut e.max_participants_count);
        optional(self.location, &mut e.location);
        optional(self.rejected_at, &mut e.rejected_at);
        if let Some(visible) = self.attendees_visible {
            e.attendees_visible = visible;
        }
        optional(self.category_id, &mut e.category_id);
        check_dates(e.created_at, e.starts_at, e.ends_at)?;
        Ok(e)
    }
}

/// The capacity rule, the only one: `participating` people (after the
/// change) must not exceed the maximum.
pub fn check_capacity(participating: usize, max: Option<i64>) -> DomainResult<()> {
    match max {
        Some(max) if participating as i64 > max => Err(DomainError::rule(messages::EVENT_FULL)),
        _ => Ok(()),
    }
}

/// The date rules shared by create and update: the event starts after it
/// was created and ends after it starts.
pub fn check_dates(created_at: Ts, starts_at: Ts, ends_at: Ts) -> DomainResult<()> {
    if starts_at <= created_at {
        return Err(DomainError::rule(messages::STARTS_BEFORE_CREATION));
    }
    if ends_at <= starts_at {
        return Err(DomainError::rule(messages::ENDS_BEFORE_START));
    }
    Ok(())
}

/// Whether a user's row makes the event one of "mine" (`mine=true`, the
/// Mine tab): taking part or waiting for a seat.
pub fn counts_as_mine(status: ParticipantStatus) -> bool {
    match status {
        ParticipantStatus::Participating | ParticipantStatus::Waitlisted => true,
        ParticipantStatus::Rejected => false,
    }
}

/// What `q` is matched against: the name, short description and location,
/// folded (Unicode lower case), separated by a character none of these
/// single-line fields can hold.
pub fn search_text(name: &str, short_description: Option<&str>, location: Option<&str>) -> String {
    let mut text = crate::domain::account::fold(name);
    for part in [short_description, location].into_iter().flatten() {
        text.push('\u{1f}');
        text.push_str(&crate::domain::account::fold(part));
    }
    text
}

/// The filters event lists share (cards and the administrators' list);
/// they compose (all must hold).
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// Any of these categories (empty: no condition).
    pub categories: Vec<i64>,
    /// The event's time range overlaps `[from, to]`, bounds inclusive: it
    /// ends at or after `from` and starts at or before `to`.
    pub from: Option<Ts>,
    pub to: Option<Ts>,
    /// Folded needle, matched against [`search_text`].
    pub q: Option<String>,
}

impl EventFilter {
    /// Whether no condition is set.
    pub fn is_empty(&self) -> bool {
        self.categories.is_empty() && self.from.is_none() && self.to.is_none() && self.q.is_none()
    }

    /// Whether an event with these fields passes; `search` is its
    /// [`search_text`].
    pub fn matches(
        &self,
        starts_at: Ts,
        ends_at: Ts,
        category_id: Option<i64>,
        search: &str,
    ) -> bool {
        let in_category =
            self.categories.is_empty() || category_id.is_some_and(|c| self.categories.contains(&c));
        in_category
            && self.from.is_none_or(|from| ends_at >= from)
            && self.to.is_none_or(|to| starts_at <= to)
            && self.q.as_deref().is_none_or(|q| search.contains(q))
    }
}

/// Removes duplicates, keeping the first occurrence's order.
pub fn dedup_ids(ids: &[i64]) -> Vec<i64> {
    let mut seen = std::collections::HashSet::new();
    ids.iter().copied().filter(|id| seen.insert(*id)).collect()
}

/// `part / whole`, 0 when `whole` is 0.
pub fn ratio(part: i64, whole: i64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Ts {
        Ts::parse(s).unwrap()
    }

    fn event() -> Event {
        Event {
            id: 1,
            name: "n".into(),
            short_description: None,
            description: String::new(),
            starts_at: t("2026-05-01T10:00:00Z"),
            ends_at: t("2026-05-01T12:00:00Z"),
            image_url: String::new(),
            payment_info: None,
            max_participants_count: None,
            location: None,
            created_at: t("2026-04-01T10:00:00Z"),
            rejected_at: None,
            attendees_visible: true,
            category_id: None,
            series_id: None,
            series_index: None,
        }
    }

    #[test]
    fn status_follows_the_clock() {
        let mut e = event();
        assert_eq!(e.status(t("2026-05-01T11:59:59Z")), EventStatus::Active);
        assert_eq!(e.status(t("2026-05-01T12:00:00Z")), EventStatus::Past);
        e.rejected_at = Some(t("2026-04-02T00:00:00Z"));
        assert_eq!(e.status(t("2026-04-03T00:00:00Z")), EventStatus::Rejected);
    }

    #[test]
    fn promotion_fills_free_seats_of_active_events_only() {
        let mut e = event();
        let before = t("2026-05-01T09:00:00Z");
        e.max_participants_count = Some(10);
        assert_eq!(e.seats_to_promote(before, 10, 40), 0);
        assert_eq!(e.seats_to_promote(before, 5, 40), 5);
        assert_eq!(e.seats_to_promote(before, 5, 2), 2);
        assert_eq!(e.seats_to_promote(before, 12, 2), 0, "over-full");
        e.max_participants_count = None;
        assert_eq!(e.seats_to_promote(before, 10, 40), 40);
        assert_eq!(
            e.seats_to_promote(t("2026-05-01T12:00:00Z"), 0, 40),
            0,
            "past"
        );
        e.rejected_at = Some(t("2026-04-02T00:00:00Z"));
        assert_eq!(e.seats_to_promote(before, 0, 40), 0, "cancelled");
    }

    #[test]
    fn waiting_list_is_for_full_events() {
        assert!(check_waitlist_join(10, Some(10)).is_ok());
        assert!(matches!(
            check_waitlist_join(9, Some(10)),
            Err(DomainError::Rule(m)) if m == messages::EVENT_HAS_FREE_SEATS
        ));
        assert!(check_waitlist_join(1000, None).is_err());
    }

    #[test]
    fn hidden_attendees_are_for_administrators() {
        let mut e = event();
        assert!(e.check_attendees_visible(false).is_ok());
        e.attendees_visible = false;
        assert!(e.check_attendees_visible(true).is_ok());
        assert!(matches!(
            e.check_attendees_visible(false),
            Err(DomainError::Forbidden(m)) if m == messages::ATTENDEES_HIDDEN
        ));
    }

    #[test]
    fn filter_bounds_are_inclusive_overlaps() {
        let f = EventFilter {
            from: Some(t("2026-05-01T00:00:00Z")),
            to: Some(t("2026-05-01T23:59:59Z")),
            ..Default::default()
        };
        // Spans midnight into the day; started before `from`, ends inside.
        assert!(f.matches(
            t("2026-04-30T22:00:00Z"),
            t("2026-05-01T01:00:00Z"),
            None,
            ""
        ));
        // Ends exactly at `from`; starts exactly at `to`.
        assert!(f.matches(
            t("2026-04-30T22:00:00Z"),
            t("2026-05-01T00:00:00Z"),
            None,
            ""
        ));
        assert!(f.matches(
            t("2026-05-01T23:59:59Z"),
            t("2026-05-02T01:00:00Z"),
            None,
            ""
        ));
        assert!(!f.matches(
            t("2026-04-30T20:00:00Z"),
            t("2026-04-30T23:59:59Z"),
            None,
            ""
        ));
        assert!(!f.matches(
            t("2026-05-02T00:00:00Z"),
            t("2026-05-02T01:00:00Z"),
            None,
            ""
        ));
    }

    #[test]
    fn filter_categories_and_search_compose() {
        let search = search_text("Лекция", Some("О главном"), Some("Большой зал"));
        let f = EventFilter {
            categories: vec![2, 3],
            q: Some(crate::domain::account::fold("БОЛЬШОЙ")),
            ..Default::default()
        };
        let (a, b) = (t("2026-05-01T10:00:00Z"), t("2026-05-01T11:00:00Z"));
        assert!(f.matches(a, b, Some(3), &search));
        assert!(!f.matches(a, b, Some(1), &search));
        assert!(!f.matches(a, b, None, &search));
        assert!(!f.matches(a, b, Some(3), &search_text("Лекция", None, None)));
    }

    #[test]
    fn dedup_keeps_first_order() {
        assert_eq!(dedup_ids(&[3, 1, 3, 2, 1]), vec![3, 1, 2]);
    }

    #[test]
    fn capacity_counts_people_after_the_change() {
        assert!(check_capacity(2, Some(2)).is_ok());
        assert!(check_capacity(3, Some(2)).is_err());
        assert!(check_capacity(300, None).is_ok());
    }

    #[test]
    fn dates() {
        let c = t("2026-01-01T00:00:00Z");
        assert!(check_dates(c, c, t("2026-01-02T00:00:00Z")).is_err());
        assert!(check_dates(c, t("2026-01-02T00:00:00Z"), t("2026-01-02T00:00:00Z")).is_err());
        assert!(check_dates(c, t("2026-01-02T00:00:00Z"), t("2026-01-03T00:00:00Z")).is_ok());
    }

    #[test]
    fn patch_keeps_clears_and_refuses_null_for_required_fields() {
        let e = Event {
            location: Some("Hall".into()),
            ..event()
        };
        let cleared = EventPatch {
            location: Some(None),
            ..Default::default()
        }
        .apply(&e)
        .unwrap();
        assert_eq!(cleared.location, None);
        assert_eq!(cleared.name, "n");
        let refused = EventPatch {
            name: Some(None),
            ..Default::default()
        }
        .apply(&e);
        assert!(matches!(refused, Err(DomainError::Rule(m)) if m == "name cannot be null"));
    }
}
