//! Timestamps on the wire and in the database.
//!
//! Out: RFC 3339, UTC, `Z`, always six fractional digits. In: RFC 3339 with
//! any offset, or naive ISO-8601 meaning UTC. Stored: INTEGER microseconds
//! since the Unix epoch (UTC), so comparisons and indexes are plain integers.
//!
//! Accepted input lies in years 1970–9999 (what the database's date
//! functions compute); a leap second (`23:59:60`) is read as the next second,
//! and sub-microsecond digits are dropped, so an input compares exactly as it
//! is stored.

use std::fmt;

use chrono::{DateTime, Datelike, NaiveDateTime, SecondsFormat, TimeZone, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ts(pub DateTime<Utc>);

impl Ts {
    pub fn micros(self) -> i64 {
        self.0.timestamp_micros()
    }

    pub fn from_micros(us: i64) -> Ts {
        Ts(Utc.timestamp_micros(us).single().unwrap_or_default())
    }

    /// The earliest accepted input year.
    pub const MIN_YEAR: i32 = 1970;
    /// The latest accepted input year.
    pub const MAX_YEAR: i32 = 9999;

    /// Parses an input timestamp; `None` when it is neither form or out of
    /// range (see [`Ts::parse_input`]).
    pub fn parse(text: &str) -> Option<Ts> {
        Ts::parse_input(text).ok()
    }

    /// Parses an input timestamp, normalised to whole microseconds (a leap
    /// second becomes the next second) and bounded to
    /// [`Ts::MIN_YEAR`]..=[`Ts::MAX_YEAR`]; the error says why not.
    pub fn parse_input(text: &str) -> Result<Ts, String> {
        let parsed = Ts::parse_any(text)
            .ok_or_else(|| format!("invalid datetime '{text}': expected RFC 3339 or ISO-8601"))?;
        let ts = Ts::from_micros(parsed.0.timestamp_micros());
        let year = ts.0.year();
        if parsed.0.year() < Ts::MIN_YEAR || !(Ts::MIN_YEAR..=Ts::MAX_YEAR).contains(&year) {
            return Err(format!(
                "invalid datetime '{text}': year must be between {} and {}",
                Ts::MIN_YEAR,
                Ts::MAX_YEAR
            ));
        }
        Ok(ts)
    }

    fn parse_any(text: &str) -> Option<Ts> {
        let text = text.trim();
        if let Ok(dt) = DateTime::parse_from_rfc3339(text) {
            return Some(Ts(dt.with_timezone(&Utc)));
        }
        for format in [
            "%Y-%m-%dT%H:%M:%S%.f",
            "%Y-%m-%d %H:%M:%S%.f",
            "%Y-%m-%dT%H:%M",
        ] {
            if let Ok(naive) = NaiveDateTime::parse_from_str(text, format) {
                return Some(Ts(naive.and_utc()));
            }
        }
        if let Ok(date) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            return Some(Ts(date.and_hms_opt(0, 0, 0)?.and_utc()));
        }
        None
    }
}

impl From<DateTime<Utc>> for Ts {
    fn from(dt: DateTime<Utc>) -> Self {
        Ts(dt)
    }
}

impl fmt::Display for Ts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.to_rfc3339_opts(SecondsFormat::Micros, true))
    }
}

impl Serialize for Ts {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Ts {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Ts::parse_input(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_has_micros_and_z() {
        let ts = Ts::parse("2026-05-01T10:00:00+03:00").unwrap();
        assert_eq!(ts.to_string(), "2026-05-01T07:00:00.000000Z");
    }

    #[test]
    fn naive_input_is_utc() {
        assert_eq!(
            Ts::parse("2026-05-01T10:00:00").unwrap().to_string(),
            "2026-05-01T10:00:00.000000Z"
        );
        assert_eq!(
            Ts::parse("2026-05-01T10:00:00.123456").unwrap().to_string(),
            "2026-05-01T10:00:00.123456Z"
        );
    }

    #[test]
    fn micros_round_trip() {
        let ts = Ts::parse("2026-05-01T10:00:00.123456Z").unwrap();
        assert_eq!(Ts::from_micros(ts.micros()), ts);
    }

    #[test]
    fn leap_second_is_the_next_second() {
        assert_eq!(
            Ts::parse("2030-06-30T23:59:60Z").unwrap().to_string(),
            "2030-07-01T00:00:00.000000Z"
        );
        assert_eq!(
            Ts::parse("2030-06-30T23:59:60.5Z").unwrap().to_string(),
            "2030-07-01T00:00:00.500000Z"
        );
    }

    #[test]
    fn years_outside_1970_to_9999_are_rejected() {
        assert!(Ts::parse_input("10000-01-01T00:00:00Z").is_err());
        assert!(Ts::parse_input("+10000-01-01T00:00:00").is_err());
        assert!(Ts::parse_input("1969-12-31T23:59:59Z").is_err());
        assert!(Ts::parse_input("9999-12-31T23:59:60Z").is_err());
        assert!(Ts::parse_input("9999-12-31T23:59:59Z").is_ok());
        assert!(Ts::parse_input("1970-01-01T00:00:00Z").is_ok());
    }

    #[test]
    fn garbage_is_rejected() {
        assert!(Ts::parse("tomorrow").is_none());
        assert!(Ts::parse("2026-13-01T00:00:00").is_none());
    }
}
