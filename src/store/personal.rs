//! Queries of a person's own data: what `GET /users/me/export` gathers and
//! what `DELETE /users/me` erases.

use crate::domain::error::DomainResult;
use crate::domain::event::ParticipantStatus;
use crate::domain::time::Ts;

/// One of my participation rows with its event's name.
#[derive(Debug, Clone, PartialEq)]
pub struct MyParticipationRow {
    pub event_id: i64,
    pub event_name: String,
    pub status: ParticipantStatus,
    pub created_at: Ts,
}

/// What replaces a deleted account's personal fields.
#[derive(Debug, Clone)]
pub struct Anonymised<'a> {
    pub email: &'a str,
    pub email_key: &'a str,
    pub full_name: &'a str,
    pub full_name_fold: &'a str,
    pub deleted_at: Ts,
}

pub trait PersonalDataStore {
    /// Every participation row of the user (any status), oldest first.
    fn my_participation_rows(&mut self, user_id: i64) -> DomainResult<Vec<MyParticipationRow>>;
    /// Whether the user has a calendar feed token (never the token).
    fn has_calendar_token(&mut self, user_id: i64) -> DomainResult<bool>;
    /// Replaces the user's email and name, removes the password hash and
    /// the identity link, and marks the user deleted.
    fn anonymise_user(&mut self, id: i64, to: &Anonymised<'_>) -> DomainResult<()>;
    /// Deletes what is only the user's: sessions, recovery tokens, the
    /// calendar token, preferences, reminder offsets and notifications.
    /// Participation rows stay (statistics count them).
    fn erase_personal_rows(&mut self, user_id: i64) -> DomainResult<()>;
}
