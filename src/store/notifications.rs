//! Queries of in-app notifications, recipients and due reminders.

use serde::{Deserialize, Serialize};

use crate::domain::error::DomainResult;
use crate::domain::notice::{EventFacts, Notice};
use crate::domain::preferences::Preferences;
use crate::domain::time::Ts;

/// Who a notice goes to, as stored.
#[derive(Debug, Clone)]
pub struct Recipient {
    pub email: String,
    pub full_name: String,
    /// Locale, time zone and email switches (not the reminder offsets).
    pub prefs: Preferences,
}

/// What an in-app notification keeps so that it can be rendered when read:
/// the typed notice and the recipient's name as it was when sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InAppNotice {
    pub notice: Notice,
    pub name: String,
    /// Links point into the admin area.
    pub admin_view: bool,
}

/// An [`InAppNotice`] as stored (JSON), parsed only when it must be
/// rendered (rendered rows are cached, so most reads skip the parse).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredNotice(pub String);

impl StoredNotice {
    pub fn parse(&self) -> DomainResult<InAppNotice> {
        serde_json::from_str(&self.0)
            .map_err(|e| crate::domain::error::DomainError::internal(format!("stored notice: {e}")))
    }
}

/// The words of an in-app notification.
#[derive(Debug, Clone, PartialEq)]
pub enum InAppBody {
    /// Written before notices were stored typed: the text as rendered then.
    Stored {
        title: String,
        content: String,
        cta_url: Option<String>,
        cta_label: Option<String>,
    },
    /// Rendered when read.
    Typed(StoredNotice),
}

/// One in-app notification.
#[derive(Debug, Clone)]
pub struct InAppRow {
    pub id: i64,
    /// The notification type, e.g. `EVENT_CREATED`.
    pub kind: String,
    pub body: InAppBody,
    pub created_at: Ts,
    pub acked_at: Option<Ts>,
}

/// A participant whose event reminder (at one offset) is due.
#[derive(Debug, Clone)]
pub struct DueReminder {
    pub participant_id: i64,
    pub user_id: i64,
    /// The offset: minutes before the start.
    pub minutes: i64,
    /// When the participant joined (a new join re-arms the reminder).
    pub joined_at: Ts,
    pub event: EventFacts,
}

/// The notification queries a transaction offers.
pub trait NotificationStore {
    /// Email and name of an active (not deleted) user.
    fn recipient(&mut self, user_id: i64) -> DomainResult<Option<Recipient>>;
    /// Ids of active administrators, ascending.
    fn active_admin_ids(&mut self) -> DomainResult<Vec<i64>>;
    /// Appends an in-app notification holding the typed notice.
    fn insert_in_app(&mut self, user_id: i64, notice: &InAppNotice, now: Ts) -> DomainResult<()>;
    /// A user's notifications, newest first.
    fn list_in_app(
        &mut self,
        user_id: i64,
        include_acked: bool,
        limit: i64,
        offset: i64,
    ) -> DomainResult<Vec<InAppRow>>;
    /// Whether notification `id` is `user_id`'s.
    fn in_app_is_of(&mut self, id: i64, user_id: i64) -> DomainResult<bool>;
    /// Marks one of a user's notifications read (if unread).
    fn ack_in_app(&mut self, id: i64, user_id: i64, now: Ts) -> DomainResult<()>;
    /// Marks every unread notification of a user read.
    fn ack_all_in_app(&mut self, user_id: i64, now: Ts) -> DomainResult<()>;
    /// How many of a user's notifications are unread.
    fn unread_in_app(&mut self, user_id: i64) -> DomainResult<i64>;
    /// PARTICIPATING participants of a non-rejected event that starts
    /// after `now` and within one of their reminder offsets (no offsets =
    /// one day) whose reminder at that offset has not gone out for this
    /// start time and this join; soonest first.
    fn due_reminders(&mut self, now: Ts, limit: usize) -> DomainResult<Vec<DueReminder>>;
    /// Records that `due` goes out; false when it already had (for this
    /// start time and join), decided on the committed row — a concurrent
    /// scan whose `due_reminders` saw an older state then sends nothing.
    fn mark_reminded(&mut self, due: &DueReminder, now: Ts) -> DomainResult<bool>;
    /// What user `user_id` chose (defaults when nothing).
    fn preferences(&mut self, user_id: i64) -> DomainResult<Preferences>;
    /// Stores what user `user_id` chose.
    fn save_preferences(&mut self, user_id: i64, prefs: &Preferences, now: Ts) -> DomainResult<()>;
}

/// Notification types as stored: comma-separated.
pub fn split_kinds(text: Option<&str>) -> std::collections::BTreeSet<String> {
    text.unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(String::from)
        .collect()
}
