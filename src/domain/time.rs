//! Timestamps on the wire and in the database.
//!
//! Out: RFC 3339, UTC, `Z`, always six fractional digits. In: RFC 3339 with
//! any offset, or naive ISO-8601 meaning UTC. Stored: INTEGER microseconds
//! since the Unix epoch (UTC), so comparisons and indexes are plain integers.

use std::fmt;

use chrono::{DateTime, NaiveDateTime, SecondsFormat, TimeZone, Utc};
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

    /// Parses an input timestamp; `None` when it is neither form.
    pub fn parse(text: &str) -> Option<Ts> {
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
        Ts::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "invalid datetime '{text}': expected RFC 3339 or ISO-8601"
            ))
        })
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
    fn garbage_is_rejected() {
        assert!(Ts::parse("tomorrow").is_none());
        assert!(Ts::parse("2026-13-01T00:00:00").is_none());
    }
}
