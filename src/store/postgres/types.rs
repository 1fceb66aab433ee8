//! How domain values are stored in PostgreSQL — the same representation as
//! in SQLite, so that a copy between the two is a plain copy: timestamps as
//! BIGINT microseconds since the Unix epoch (UTC), enums as their upper-case
//! names in TEXT, UUIDs as their hyphenated TEXT, flags as 0/1 integers.
//! The one place where a status or a role becomes SQL text and back.

use std::error::Error;

use bytes::BytesMut;
use postgres::types::{FromSql, IsNull, ToSql, Type, accepts, to_sql_checked};

use crate::domain::event::ParticipantStatus;
use crate::domain::time::Ts;
use crate::domain::user::{IdentityProvider, Role};

type Failure = Box<dyn Error + Sync + Send>;

impl ToSql for Ts {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, Failure> {
        self.micros().to_sql(ty, out)
    }
    accepts!(INT8);
    to_sql_checked!();
}

impl<'a> FromSql<'a> for Ts {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, Failure> {
        i64::from_sql(ty, raw).map(Ts::from_micros)
    }
    accepts!(INT8);
}

fn text_enum<T>(ty: &Type, raw: &[u8], parse: impl Fn(&str) -> Option<T>) -> Result<T, Failure> {
    let text = <&str as FromSql>::from_sql(ty, raw)?;
    parse(text).ok_or_else(|| format!("unknown value {text:?}").into())
}

impl ToSql for ParticipantStatus {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, Failure> {
        self.as_str().to_sql(ty, out)
    }
    accepts!(TEXT, VARCHAR);
    to_sql_checked!();
}

impl<'a> FromSql<'a> for ParticipantStatus {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, Failure> {
        text_enum(ty, raw, ParticipantStatus::parse)
    }
    accepts!(TEXT, VARCHAR);
}

impl ToSql for IdentityProvider {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, Failure> {
        self.as_str().to_sql(ty, out)
    }
    accepts!(TEXT, VARCHAR);
    to_sql_checked!();
}

impl<'a> FromSql<'a> for IdentityProvider {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, Failure> {
        text_enum(ty, raw, IdentityProvider::parse)
    }
    accepts!(TEXT, VARCHAR);
}

impl ToSql for Role {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, Failure> {
        self.as_str().to_sql(ty, out)
    }
    accepts!(TEXT, VARCHAR);
    to_sql_checked!();
}

impl<'a> FromSql<'a> for Role {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, Failure> {
        text_enum(ty, raw, Role::parse)
    }
    accepts!(TEXT, VARCHAR);
}

impl ToSql for crate::domain::preferences::Lang {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, Failure> {
        self.code().to_sql(ty, out)
    }
    accepts!(TEXT, VARCHAR);
    to_sql_checked!();
}

impl<'a> FromSql<'a> for crate::domain::preferences::Lang {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, Failure> {
        text_enum(ty, raw, crate::domain::preferences::Lang::parse)
    }
    accepts!(TEXT, VARCHAR);
}

/// A count or a small non-negative integer read as BIGINT.
pub(crate) fn u32_of(value: i64) -> u32 {
    u32::try_from(value.max(0)).unwrap_or(u32::MAX)
}

// ---------------------------------------------------------------- audit log

use crate::domain::audit::{Action, TargetType};
use crate::store::sqlite::types::{action_text, parse_action, parse_target_type, target_type_text};

impl ToSql for Action {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, Failure> {
        action_text(*self).to_sql(ty, out)
    }
    accepts!(TEXT, VARCHAR);
    to_sql_checked!();
}

impl<'a> FromSql<'a> for Action {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, Failure> {
        text_enum(ty, raw, parse_action)
    }
    accepts!(TEXT, VARCHAR);
}

impl ToSql for TargetType {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, Failure> {
        target_type_text(*self).to_sql(ty, out)
    }
    accepts!(TEXT, VARCHAR);
    to_sql_checked!();
}

impl<'a> FromSql<'a> for TargetType {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, Failure> {
        text_enum(ty, raw, parse_target_type)
    }
    accepts!(TEXT, VARCHAR);
}

// ----------------------------------------------------------------- webhooks

impl ToSql for crate::domain::webhook::DeliveryStatus {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, Failure> {
        self.as_str().to_sql(ty, out)
    }
    accepts!(TEXT, VARCHAR);
    to_sql_checked!();
}

impl<'a> FromSql<'a> for crate::domain::webhook::DeliveryStatus {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, Failure> {
        text_enum(ty, raw, crate::domain::webhook::DeliveryStatus::parse)
    }
    accepts!(TEXT, VARCHAR);
}
