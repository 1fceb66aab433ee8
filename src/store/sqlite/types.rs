//! How domain values are stored in SQLite: timestamps as INTEGER
//! microseconds since the Unix epoch (UTC), enums as their upper-case names.
//! The one place where a status or a role becomes SQL text and back.

use crate::domain::time::Ts;

impl rusqlite::ToSql for Ts {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(self.micros().into())
    }
}

impl rusqlite::types::FromSql for Ts {
    fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        value.as_i64().map(Ts::from_micros)
    }
}

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSqlOutput, ValueRef};

use crate::domain::event::ParticipantStatus;
use crate::domain::user::{IdentityProvider, Role};

fn text_enum<T>(value: ValueRef<'_>, parse: impl Fn(&str) -> Option<T>) -> FromSqlResult<T> {
    let text = value.as_str()?;
    parse(text).ok_or_else(|| FromSqlError::Other(format!("unknown value {text:?}").into()))
}

impl FromSql for ParticipantStatus {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        text_enum(value, ParticipantStatus::parse)
    }
}

impl rusqlite::ToSql for ParticipantStatus {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(self.as_str().into())
    }
}

impl FromSql for IdentityProvider {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        text_enum(value, IdentityProvider::parse)
    }
}

impl rusqlite::ToSql for IdentityProvider {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(self.as_str().into())
    }
}

impl FromSql for Role {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        text_enum(value, Role::parse)
    }
}

impl rusqlite::ToSql for Role {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(self.as_str().into())
    }
}

impl FromSql for crate::domain::preferences::Lang {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        text_enum(value, crate::domain::preferences::Lang::parse)
    }
}

impl rusqlite::ToSql for crate::domain::preferences::Lang {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(self.code().into())
    }
}

// ---------------------------------------------------------------- audit log

use crate::domain::audit::{Action, TargetType};

/// An audit action as stored (both backends store the same text).
pub(crate) fn action_text(action: Action) -> &'static str {
    match action {
        Action::UserRoleChanged => "user.role_changed",
        Action::UserUpdated => "user.updated",
        Action::UserRestored => "user.restored",
        Action::UserDeleted => "user.deleted",
        Action::UserPasswordReset => "user.password_reset",
        Action::EventCreated => "event.created",
        Action::EventUpdated => "event.updated",
        Action::EventCancelled => "event.cancelled",
        Action::EventRestored => "event.restored",
        Action::CategoryCreated => "category.created",
        Action::CategoryUpdated => "category.updated",
        Action::CategoryDeleted => "category.deleted",
        Action::EmailRetried => "email.retried",
        Action::EmailRetriedAll => "email.retried_all",
        Action::EmailTestSent => "email.test_sent",
        Action::ExamplesDeleted => "debug.examples_deleted",
        Action::LoginThrottled => "login.throttled",
        Action::PasswordChanged => "password.changed",
        Action::PasswordRecovered => "password.recovered",
        Action::SessionRevoked => "session.revoked",
        Action::SetupCompleted => "setup.completed",
        Action::IdentityLinked => "identity.linked",
        Action::AccountDeleted => "account.deleted",
        Action::CheckInRecorded => "checkin.recorded",
        Action::CheckInUndone => "checkin.undone",
    }
}

pub(crate) fn parse_action(text: &str) -> Option<Action> {
    Action::ALL
        .iter()
        .copied()
        .find(|a| action_text(*a) == text)
}

/// An audit target type as stored.
pub(crate) fn target_type_text(kind: TargetType) -> &'static str {
    match kind {
        TargetType::User => "user",
        TargetType::Event => "event",
        TargetType::Category => "category",
        TargetType::Email => "email",
        TargetType::Session => "session",
        TargetType::System => "system",
    }
}

pub(crate) fn parse_target_type(text: &str) -> Option<TargetType> {
    [
        TargetType::User,
        TargetType::Event,
        TargetType::Category,
        TargetType::Email,
        TargetType::Session,
        TargetType::System,
    ]
    .into_iter()
    .find(|t| target_type_text(*t) == text)
}

impl FromSql for Action {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        text_enum(value, parse_action)
    }
}

impl rusqlite::ToSql for Action {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(action_text(*self).into())
    }
}

impl FromSql for TargetType {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        text_enum(value, parse_target_type)
    }
}

impl rusqlite::ToSql for TargetType {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(target_type_text(*self).into())
    }
}

// ----------------------------------------------------------------- webhooks

impl FromSql for crate::domain::webhook::DeliveryStatus {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        text_enum(value, crate::domain::webhook::DeliveryStatus::parse)
    }
}

impl rusqlite::ToSql for crate::domain::webhook::DeliveryStatus {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(self.as_str().into())
    }
}

#[cfg(test)]
mod audit_tests {
    use super::*;

    #[test]
    fn every_action_is_stored_as_its_wire_name() {
        for a in Action::ALL {
            let wire = serde_json::to_value(a).unwrap();
            assert_eq!(wire.as_str(), Some(action_text(*a)));
            assert_eq!(parse_action(action_text(*a)), Some(*a));
        }
    }
}
