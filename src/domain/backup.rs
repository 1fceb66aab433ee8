//! Rules of scheduled backups: when they are due, how they are named, which
//! ones retention deletes. Pure; the files are the service's business.

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};

use crate::domain::time::Ts;

/// When scheduled backups run: never, every day at a local time, or at the
/// times of a cron expression (both in the display time zone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    Off,
    /// Every day at this wall-clock time.
    Daily(NaiveTime),
    /// A cron expression (`croner`: five fields, or six with seconds first).
    Cron(Box<croner::Cron>),
}

impl Schedule {
    /// `""` (off), `daily HH:MM` or a cron expression such as `0 3 * * *`;
    /// the error is the reason, for the config.
    pub fn parse(text: &str) -> Result<Schedule, String> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(Schedule::Off);
        }
        let mut words = text.split_whitespace();
        let first = words.next().unwrap_or_default();
        if first.eq_ignore_ascii_case("daily") {
            let bad = || format!("'{text}' is not \"daily HH:MM\" (e.g. \"daily 03:00\")");
            return match (words.next(), words.next()) {
                (Some(at), None) => NaiveTime::parse_from_str(at, "%H:%M")
                    .map(Schedule::Daily)
                    .map_err(|_| bad()),
                _ => Err(bad()),
            };
        }
        text.parse::<croner::Cron>().map(|c| Schedule::Cron(Box::new(c))).map_err(|e| {
            format!(
                "'{text}' is not empty, \"daily HH:MM\" or a cron expression like \"0 3 * * *\" ({e})"
            )
        })
    }

    /// The first scheduled moment strictly after `after`, or `None` when off.
    /// A local time skipped by a DST change runs when the clocks resume
    /// (an hour later); a repeated one runs at its first occurrence.
    pub fn next_after<Z: TimeZone>(&self, after: Ts, tz: &Z) -> Option<Ts> {
        let at = match self {
            Schedule::Off => return None,
            Schedule::Daily(at) => *at,
            Schedule::Cron(cron) => {
                let next = cron
                    .find_next_occurrence(&after.0.with_timezone(tz), false)
                    .ok()?;
                return Some(Ts(next.with_timezone(&Utc)));
            }
        };
        let local_day = after.0.with_timezone(tz).date_naive();
        // Yesterday covers zones where the local date is ahead of UTC's.
        (-1..=2).find_map(|offset| {
            let day = local_day + Duration::days(offset);
            let moment = local_moment(tz, day.and_time(at))?;
            (moment > after.0).then_some(Ts(moment))
        })
    }
}

fn local_moment<Z: TimeZone>(tz: &Z, local: chrono::NaiveDateTime) -> Option<DateTime<Utc>> {
    let resolved = tz.from_local_datetime(&local).earliest().or_else(|| {
        tz.from_local_datetime(&(local + Duration::hours(1)))
            .earliest()
    })?;
    Some(resolved.with_timezone(&Utc))
}

/// File name prefix and suffix of a scheduled backup.
const PREFIX: &str = "afisha-";
const SUFFIX: &str = ".db";
const STAMP: &str = "%Y%m%dT%H%M%SZ";

/// `afisha-20260501T030000Z.db`: the UTC time the backup was taken.
pub fn file_name(taken_at: Ts) -> String {
    format!("{PREFIX}{}{SUFFIX}", taken_at.0.format(STAMP))
}

/// The time in a name made by [`file_name`]; `None` for any other file.
pub fn parse_file_name(name: &str) -> Option<Ts> {
    let stamp = name.strip_prefix(PREFIX)?.strip_suffix(SUFFIX)?;
    let naive = chrono::NaiveDateTime::parse_from_str(stamp, STAMP).ok()?;
    Some(Ts(naive.and_utc()))
}

/// The images directory kept next to a backup file.
pub fn media_name(file_name: &str) -> String {
    format!("{}.media", file_name.trim_end_matches(SUFFIX))
}

/// Of backups taken at `times`, the ones to delete so that the `keep`
/// newest remain.
pub fn beyond_keep(mut times: Vec<Ts>, keep: usize) -> Vec<Ts> {
    times.sort_unstable_by(|a, b| b.cmp(a));
    times.into_iter().skip(keep).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(text: &str) -> Ts {
        Ts::parse(text).unwrap()
    }

    #[test]
    fn parses_off_and_daily_and_rejects_the_rest() {
        assert_eq!(Schedule::parse("").unwrap(), Schedule::Off);
        assert_eq!(
            Schedule::parse(" daily 03:00 ").unwrap(),
            Schedule::Daily(NaiveTime::from_hms_opt(3, 0, 0).unwrap())
        );
        for bad in [
            "daily",
            "daily 25:00",
            "weekly 03:00",
            "daily 03:00 x",
            "3am",
            "61 * * * *",
        ] {
            assert!(Schedule::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn next_daily_moment_is_in_the_display_zone() {
        let s = Schedule::parse("daily 03:00").unwrap();
        assert_eq!(
            s.next_after(ts("2026-05-01T02:59:00Z"), &Utc),
            Some(ts("2026-05-01T03:00:00Z"))
        );
        assert_eq!(
            s.next_after(ts("2026-05-01T03:00:00Z"), &Utc),
            Some(ts("2026-05-02T03:00:00Z"))
        );
        // Moscow is UTC+3: 03:00 there is midnight UTC.
        let msk: chrono_tz::Tz = "Europe/Moscow".parse().unwrap();
        assert_eq!(
            s.next_after(ts("2026-05-01T22:00:00Z"), &msk),
            Some(ts("2026-05-02T00:00:00Z"))
        );
        // Berlin skips 02:00-03:00 on 2026-03-29: 02:30 runs at 03:30 CEST.
        let berlin: chrono_tz::Tz = "Europe/Berlin".parse().unwrap();
        let s = Schedule::parse("daily 02:30").unwrap();
        assert_eq!(
            s.next_after(ts("2026-03-28T12:00:00Z"), &berlin),
            Some(ts("2026-03-29T01:30:00Z"))
        );
        assert_eq!(
            Schedule::Off.next_after(ts("2026-05-01T00:00:00Z"), &Utc),
            None
        );
        // Cron, weekdays at 03:00 Moscow time: Friday 1 May 2026, then Monday.
        let s = Schedule::parse("0 3 * * 1-5").unwrap();
        assert!(matches!(s, Schedule::Cron(_)));
        assert_eq!(
            s.next_after(ts("2026-04-30T22:00:00Z"), &msk),
            Some(ts("2026-05-01T00:00:00Z"))
        );
        assert_eq!(
            s.next_after(ts("2026-05-01T00:00:00Z"), &msk),
            Some(ts("2026-05-04T00:00:00Z"))
        );
    }

    #[test]
    fn names_round_trip_and_retention_keeps_the_newest() {
        let t = ts("2026-05-01T03:00:07Z");
        assert_eq!(file_name(t), "afisha-20260501T030007Z.db");
        assert_eq!(parse_file_name(&file_name(t)), Some(t));
        assert_eq!(parse_file_name("afisha.db"), None);
        assert_eq!(media_name(&file_name(t)), "afisha-20260501T030007Z.media");
        let days: Vec<Ts> = (1..=5)
            .map(|d| ts(&format!("2026-05-0{d}T03:00:00Z")))
            .collect();
        assert_eq!(beyond_keep(days.clone(), 3), vec![days[1], days[0]]);
        assert!(beyond_keep(days, 7).is_empty());
    }
}
