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
