//! Recurring events: a series' repeat rule and its expansion into
//! occurrence start times (pure; no I/O).
//!
//! A rule repeats weekly (on chosen weekdays, every N weeks) or monthly
//! (the nth weekday, e.g. the 2nd Tuesday or the last Friday, or a day of
//! the month, every N months), from the first occurrence's local date on,
//! until a local date (inclusive) or for N occurrences — or without an end,
//! in which case only the generation horizon bounds it.
//!
//! Occurrences are computed in the series' time zone (the display time
//! zone): every occurrence starts at the same local wall-clock time as the
//! first, so a 19:00 event stays at 19:00 across daylight-saving changes.
//! Decisions (README "Recurring events"):
//! - day 29–31 of a month that is shorter: the month's last day (the 31st
//!   becomes 30 April and 28/29 February), rather than skipping the month;
//! - an nth weekday a month does not have (a 5th Tuesday): that month has
//!   no occurrence;
//! - a local time that does not exist (the spring-forward gap) moves to the
//!   first half hour after it that exists (02:30 → 03:00); one that exists twice (autumn) takes the first (summer
//!   time) instant.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::domain::error::{DomainError, DomainResult};
use crate::domain::event::{Event, EventPatch, NewEvent};
use crate::domain::time::Ts;

/// Most occurrences one series may have (`count`).
pub const COUNT_MAX: u32 = 1000;
/// The largest repeat interval (weeks or months).
pub const INTERVAL_MAX: u32 = 52;
/// Weeks or months looked at per expansion at most (a guard against a rule
/// that rarely or never matches, such as the 5th Monday of February).
const SCAN_MAX: usize = 100_000;

/// How often a series repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Frequency {
    Weekly,
    Monthly,
}

/// A day of the week as RFC 5545 writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Day {
    MO,
    TU,
    WE,
    TH,
    FR,
    SA,
    SU,
}

impl Day {
    pub fn weekday(self) -> Weekday {
        match self {
            Day::MO => Weekday::Mon,
            Day::TU => Weekday::Tue,
            Day::WE => Weekday::Wed,
            Day::TH => Weekday::Thu,
            Day::FR => Weekday::Fri,
            Day::SA => Weekday::Sat,
            Day::SU => Weekday::Sun,
        }
    }

    pub fn of(weekday: Weekday) -> Day {
        match weekday {
            Weekday::Mon => Day::MO,
            Weekday::Tue => Day::TU,
            Weekday::Wed => Day::WE,
            Weekday::Thu => Day::TH,
            Weekday::Fri => Day::FR,
            Weekday::Sat => Day::SA,
            Weekday::Sun => Day::SU,
        }
    }
}

/// A repeat rule (the wire's `repeat` object, validated by [`Rule::check`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    pub frequency: Frequency,
    /// Every N weeks or months (1 = every).
    pub interval: u32,
    /// Weekly: the days (empty = the first occurrence's weekday).
    #[serde(default)]
    pub weekdays: Vec<Day>,
    /// Monthly on the nth weekday: 1–5, or -1 for the last.
    #[serde(default)]
    pub month_week: Option<i32>,
    #[serde(default)]
    pub month_weekday: Option<Day>,
    /// Monthly on a day of the month, 1–31 (see the module's decisions).
    #[serde(default)]
    pub month_day: Option<u32>,
    /// The last local date an occurrence may fall on.
    #[serde(default)]
    pub until: Option<NaiveDate>,
    /// How many occurrences in all.
    #[serde(default)]
    pub count: Option<u32>,
}

fn bad(message: &str) -> DomainError {
    DomainError::rule(message.to_string())
}

impl Rule {
    /// The rule as it is kept for a series starting on local date `first`:
    /// checked, weekdays sorted and defaulted, fields of the other
    /// frequency refused.
    pub fn check(mut self, first: NaiveDate) -> DomainResult<Rule> {
        if !(1..=INTERVAL_MAX).contains(&self.interval) {
            return Err(bad("repeat.interval must be between 1 and 52"));
        }
        match self.frequency {
            Frequency::Weekly => {
                if self.month_week.is_some()
                    || self.month_weekday.is_some()
                    || self.month_day.is_some()
                {
                    return Err(bad("A weekly repeat takes weekdays, not days of the month"));
                }
                if self.weekdays.is_empty() {
                    self.weekdays.push(Day::of(first.weekday()));
                }
                self.weekdays.sort();
                self.weekdays.dedup();
            }
            Frequency::Monthly => {
                if !self.weekdays.is_empty() {
                    return Err(bad(
                        "A monthly repeat takes month_day or month_week with month_weekday, not weekdays",
                    ));
                }
                match (self.month_week, self.month_weekday, self.month_day) {
                    (Some(n), Some(_), None) if (1..=5).contains(&n) || n == -1 => {}
                    (Some(_), Some(_), None) => {
                        return Err(bad("repeat.month_week must be 1 to 5, or -1 for the last"));
                    }
                    (None, None, Some(d)) if (1..=31).contains(&d) => {}
                    (None, None, Some(_)) => {
                        return Err(bad("repeat.month_day must be between 1 and 31"));
                    }
                    _ => {
                        return Err(bad(
                            "A monthly repeat needs month_day, or month_week with month_weekday",
                        ));
                    }
                }
            }
        }
        match (self.until, self.count) {
            (Some(_), Some(_)) => {
                return Err(bad("A repeat ends on a date or after a count, not both"));
            }
            (Some(until), None) if until < first => {
                return Err(bad("repeat.until must not be before the first occurrence"));
            }
            (None, Some(n)) if !(1..=COUNT_MAX).contains(&n) => {
                return Err(bad("repeat.count must be between 1 and 1000"));
            }
            _ => {}
        }
        Ok(self)
    }

    /// The candidate local dates from `first` on, in order (before the
    /// end conditions): weekly ones in weeks `0, interval, 2·interval, …`
    /// counted from the week (Monday–Sunday) of `first`, monthly ones in
    /// months counted from the month of `first`.
    fn dates(&self, first: NaiveDate) -> impl Iterator<Item = NaiveDate> + '_ {
        let interval = self.interval.max(1) as i64;
        let monday = first - Duration::days(first.weekday().num_days_from_monday() as i64);
        let month0 = first.year() as i64 * 12 + first.month0() as i64;
        (0..SCAN_MAX as i64)
            .flat_map(move |step| -> Vec<NaiveDate> {
                match self.frequency {
                    Frequency::Weekly => {
                        let week = monday + Duration::weeks(step * interval);
                        self.weekdays
                            .iter()
                            .map(|d| {
                                week + Duration::days(d.weekday().num_days_from_monday() as i64)
                            })
                            .collect()
                    }
                    Frequency::Monthly => {
                        let m = month0 + step * interval;
                        let (year, month) = ((m / 12) as i32, (m % 12) as u32 + 1);
                        self.monthly_date(year, month).into_iter().collect()
                    }
                }
            })
            .take_while(|d| d.year() <= Ts::MAX_YEAR)
            .filter(move |d| *d >= first)
    }

    fn monthly_date(&self, year: i32, month: u32) -> Option<NaiveDate> {
        if let Some(day) = self.month_day {
            let last = last_day(year, month)?;
            return NaiveDate::from_ymd_opt(year, month, day.min(last));
        }
        let weekday = self.month_weekday?.weekday();
        match self.month_week? {
            -1 => {
                let last = NaiveDate::from_ymd_opt(year, month, last_day(year, month)?)?;
                let back = (7 + last.weekday().num_days_from_monday()
                    - weekday.num_days_from_monday())
                    % 7;
                Some(last - Duration::days(back as i64))
            }
            n => NaiveDate::from_weekday_of_month_opt(year, month, weekday, u8::try_from(n).ok()?),
        }
    }
}

/// The number of days of a month.
fn last_day(year: i32, month: u32) -> Option<u32> {
    let next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)?
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)?
    };
    Some(next.pred_opt()?.day())
}

/// The instant a local wall-clock time means in `tz` (see the module's
/// decisions for gaps and repeats).
pub fn resolve(tz: Tz, local: NaiveDateTime) -> Option<Ts> {
    for minutes in (0..=180).step_by(30) {
        let t = local + Duration::minutes(minutes);
        if let Some(at) = tz.from_local_datetime(&t).earliest() {
            return Some(Ts(at.with_timezone(&chrono::Utc)));
        }
    }
    None
}

/// The local wall-clock time of an instant in `tz`.
pub fn local(tz: Tz, at: Ts) -> NaiveDateTime {
    at.0.with_timezone(&tz).naive_local()
}

/// A series' schedule: its rule, its time zone and its first occurrence.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    pub rule: Rule,
    pub tz: Tz,
    /// The first occurrence's local start (its date is where the rule
    /// starts counting; its time is every occurrence's time).
    pub first: NaiveDateTime,
}

/// One occurrence: its number in the series (0 = the first) and its start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Occurrence {
    pub index: u32,
    pub starts_at: Ts,
}

impl Schedule {
    /// The occurrences that start no later than `horizon`, in order,
    /// within the rule's end (until / count).
    pub fn until(&self, horizon: Ts) -> Vec<Occurrence> {
        let time = self.first.time();
        let mut out = Vec::new();
        for (i, date) in self.rule.dates(self.first.date()).enumerate() {
            let index = i as u32;
            if self.rule.count.is_some_and(|n| index >= n) {
                break;
            }
            if self.rule.until.is_some_and(|u| date > u) {
                break;
            }
            let Some(starts_at) = resolve(self.tz, date.and_time(time)) else {
                continue;
            };
            if starts_at > horizon {
                break;
            }
            out.push(Occurrence { index, starts_at });
        }
        out
    }

    /// Occurrence `index`'s local start (`None` past the rule's end).
    pub fn nth_local(&self, index: u32) -> Option<NaiveDateTime> {
        if self.rule.count.is_some_and(|n| index >= n) {
            return None;
        }
        let date = self.rule.dates(self.first.date()).nth(index as usize)?;
        if self.rule.until.is_some_and(|u| date > u) {
            return None;
        }
        Some(date.and_time(self.first.time()))
    }

    /// The same schedule counted from occurrence `index` on (its local
    /// start `from`): the second half of a split. A count shrinks by the
    /// occurrences before `index`.
    pub fn from_occurrence(&self, index: u32, from: NaiveDateTime) -> Schedule {
        let mut rule = self.rule.clone();
        rule.count = rule.count.map(|n| n.saturating_sub(index).max(1));
        Schedule {
            rule,
            tz: self.tz,
            first: from,
        }
    }

    /// The same schedule ending before occurrence `index` (the first half
    /// of a split).
    pub fn ending_before(&self, index: u32) -> Schedule {
        let mut rule = self.rule.clone();
        rule.until = None;
        rule.count = Some(index.max(1));
        Schedule {
            rule,
            tz: self.tz,
            first: self.first,
        }
    }
}

/// The fields every new occurrence of a series gets (the event form's
/// fields without the dates; `duration` gives the end).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Template {
    pub name: String,
    pub short_description: Option<String>,
    pub description: String,
    pub image_url: String,
    pub payment_info: Option<String>,
    pub max_participants_count: Option<i64>,
    pub location: Option<String>,
    pub attendees_visible: bool,
    pub category_id: Option<i64>,
    /// Microseconds from start to end.
    pub duration_us: i64,
}

impl Template {
    /// The template an event's fields make (its length gives the duration).
    pub fn of(event: &Event) -> Template {
        Template {
            name: event.name.clone(),
            short_description: event.short_description.clone(),
            description: event.description.clone(),
            image_url: event.image_url.clone(),
            payment_info: event.payment_info.clone(),
            max_participants_count: event.max_participants_count,
            location: event.location.clone(),
            attendees_visible: event.attendees_visible,
            category_id: event.category_id,
            duration_us: (event.ends_at.0 - event.starts_at.0)
                .num_microseconds()
                .unwrap_or(i64::MAX),
        }
    }

    /// Occurrence `index` of series `series_id`, starting at `starts_at`.
    pub fn occurrence(&self, series_id: i64, index: u32, starts_at: Ts) -> NewEvent {
        NewEvent {
            name: self.name.clone(),
            short_description: self.short_description.clone(),
            description: self.description.clone(),
            starts_at,
            ends_at: Ts(starts_at.0 + Duration::microseconds(self.duration_us)),
            image_url: self.image_url.clone(),
            payment_info: self.payment_info.clone(),
            max_participants_count: self.max_participants_count,
            location: self.location.clone(),
            attendees_visible: self.attendees_visible,
            category_id: self.category_id,
            series_id: Some(series_id),
            series_index: Some(index as i64),
        }
    }

    /// The template after `patch`'s field changes (its dates ignored),
    /// with occurrences lasting `duration_us`.
    pub fn patched(&self, patch: &EventPatch, duration_us: i64) -> DomainResult<Template> {
        let start = Ts::from_micros(1_000_000);
        let base = self.occurrence(0, 0, start);
        let event = base.into_event(0, Ts::from_micros(0));
        let fields = EventPatch {
            starts_at: None,
            ends_at: None,
            rejected_at: None,
            ..patch.clone()
        };
        let mut template = Template::of(&fields.apply(&event)?);
        template.duration_us = duration_us;
        Ok(template)
    }
}

/// A stored series.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub id: i64,
    pub schedule: Schedule,
    pub template: Template,
    /// Occurrences `0..next_index` have been generated (or were skipped
    /// because they were already past): the generator's horizon state.
    pub next_index: u32,
    pub created_at: Ts,
}

/// How far an edit of an occurrence reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// This occurrence only (also the meaning without a scope).
    This,
    /// This occurrence and the later ones: the series splits here.
    Following,
    /// Every future occurrence and the series' template.
    All,
}

/// The wall-clock shift of a series edit: the edited occurrence's local
/// start moved from `old` to `new`. Only the time of day may move (the
/// days come from the rule).
pub fn time_shift(old: NaiveDateTime, new: NaiveDateTime) -> DomainResult<Duration> {
    if old.date() != new.date() {
        return Err(bad(
            "An edit of following or all occurrences may change the time of day, not the day",
        ));
    }
    Ok(new - old)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveTime, Timelike};

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn rule(frequency: Frequency) -> Rule {
        Rule {
            frequency,
            interval: 1,
            weekdays: vec![],
            month_week: None,
            month_weekday: None,
            month_day: None,
            until: None,
            count: None,
        }
    }

    fn far() -> Ts {
        Ts::parse("2100-01-01T00:00:00Z").unwrap()
    }

    fn schedule(rule: Rule, tz: Tz, first: NaiveDateTime) -> Schedule {
        let rule = rule.check(first.date()).unwrap();
        Schedule { rule, tz, first }
    }

    fn at(date: NaiveDate, h: u32) -> NaiveDateTime {
        date.and_time(NaiveTime::from_hms_opt(h, 0, 0).unwrap())
    }

    #[test]
    fn weekly_keeps_local_time_across_dst_in_berlin() {
        let mut r = rule(Frequency::Weekly);
        r.count = Some(4);
        // Thursdays at 19:00 around the 2027-03-28 spring change.
        let s = schedule(r, chrono_tz::Europe::Berlin, at(d(2027, 3, 18), 19));
        let occ = s.until(far());
        assert_eq!(occ.len(), 4);
        for o in &occ {
            let l = local(s.tz, o.starts_at);
            assert_eq!((l.hour(), l.minute()), (19, 0));
            assert_eq!(l.weekday(), Weekday::Thu);
        }
        // 18:00 UTC before the change, 17:00 UTC after it.
        assert_eq!(occ[0].starts_at.0.hour(), 18);
        assert_eq!(occ[2].starts_at.0.hour(), 17);
    }

    #[test]
    fn weekly_chosen_days_every_second_week() {
        let mut r = rule(Frequency::Weekly);
        r.interval = 2;
        r.weekdays = vec![Day::TH, Day::MO];
        r.count = Some(5);
        // Starts on a Wednesday: that week's Monday is before it.
        let s = schedule(r, chrono_tz::UTC, at(d(2027, 1, 6), 10));
        let days: Vec<NaiveDate> = s
            .until(far())
            .iter()
            .map(|o| local(s.tz, o.starts_at).date())
            .collect();
        assert_eq!(
            days,
            [
                d(2027, 1, 7),
                d(2027, 1, 18),
                d(2027, 1, 21),
                d(2027, 2, 1),
                d(2027, 2, 4)
            ]
        );
    }

    #[test]
    fn monthly_nth_and_last_weekday() {
        let mut r = rule(Frequency::Monthly);
        r.month_week = Some(2);
        r.month_weekday = Some(Day::TU);
        r.count = Some(3);
        let s = schedule(r, chrono_tz::UTC, at(d(2027, 1, 1), 18));
        let days: Vec<_> = s
            .until(far())
            .iter()
            .map(|o| o.starts_at.0.date_naive())
            .collect();
        assert_eq!(days, [d(2027, 1, 12), d(2027, 2, 9), d(2027, 3, 9)]);

        let mut r = rule(Frequency::Monthly);
        r.month_week = Some(-1);
        r.month_weekday = Some(Day::FR);
        r.until = Some(d(2027, 3, 31));
        let s = schedule(r, chrono_tz::UTC, at(d(2027, 1, 1), 18));
        let days: Vec<_> = s
            .until(far())
            .iter()
            .map(|o| o.starts_at.0.date_naive())
            .collect();
        assert_eq!(days, [d(2027, 1, 29), d(2027, 2, 26), d(2027, 3, 26)]);

        // A 5th Monday: only months that have one.
        let mut r = rule(Frequency::Monthly);
        r.month_week = Some(5);
        r.month_weekday = Some(Day::MO);
        r.count = Some(2);
        let s = schedule(r, chrono_tz::UTC, at(d(2027, 1, 1), 18));
        let days: Vec<_> = s
            .until(far())
            .iter()
            .map(|o| o.starts_at.0.date_naive())
            .collect();
        assert_eq!(days, [d(2027, 3, 29), d(2027, 5, 31)]);
    }

    #[test]
    fn day_31_is_the_last_day_of_short_months() {
        let mut r = rule(Frequency::Monthly);
        r.month_day = Some(31);
        r.count = Some(4);
        let s = schedule(r, chrono_tz::UTC, at(d(2027, 1, 31), 9));
        let days: Vec<_> = s
            .until(far())
            .iter()
            .map(|o| o.starts_at.0.date_naive())
            .collect();
        assert_eq!(
            days,
            [
                d(2027, 1, 31),
                d(2027, 2, 28),
                d(2027, 3, 31),
                d(2027, 4, 30)
            ]
        );
    }

    #[test]
    fn until_is_inclusive_and_count_counts_from_the_first() {
        let mut r = rule(Frequency::Weekly);
        r.until = Some(d(2027, 1, 21));
        let s = schedule(r, chrono_tz::UTC, at(d(2027, 1, 7), 9));
        assert_eq!(s.until(far()).len(), 3);
        let mut r = rule(Frequency::Weekly);
        r.count = Some(3);
        let s = schedule(r, chrono_tz::UTC, at(d(2027, 1, 7), 9));
        let occ = s.until(far());
        assert_eq!(occ.iter().map(|o| o.index).collect::<Vec<_>>(), [0, 1, 2]);
        // The horizon cuts an open-ended series.
        let s = schedule(
            rule(Frequency::Weekly),
            chrono_tz::UTC,
            at(d(2027, 1, 7), 9),
        );
        let horizon = Ts::parse("2027-01-29T00:00:00Z").unwrap();
        assert_eq!(s.until(horizon).len(), 4);
    }

    #[test]
    fn gaps_move_later_and_repeats_take_the_first() {
        let berlin = chrono_tz::Europe::Berlin;
        let gap = at(d(2027, 3, 28), 2) + Duration::minutes(30);
        let t = resolve(berlin, gap).unwrap();
        assert_eq!(local(berlin, t), at(d(2027, 3, 28), 3));
        let twice = at(d(2027, 10, 31), 2) + Duration::minutes(30);
        let t = resolve(berlin, twice).unwrap();
        assert_eq!(t, Ts::parse("2027-10-31T00:30:00Z").unwrap());
    }

    #[test]
    fn a_split_continues_the_same_dates() {
        let mut r = rule(Frequency::Weekly);
        r.interval = 2;
        r.weekdays = vec![Day::MO, Day::TH];
        r.count = Some(8);
        let s = schedule(r, chrono_tz::UTC, at(d(2027, 1, 4), 9));
        let all = s.until(far());
        let second = s.from_occurrence(3, local(s.tz, all[3].starts_at));
        let first = s.ending_before(3);
        let joined: Vec<Ts> = first
            .until(far())
            .into_iter()
            .chain(second.until(far()))
            .map(|o| o.starts_at)
            .collect();
        assert_eq!(joined, all.iter().map(|o| o.starts_at).collect::<Vec<_>>());
    }

    #[test]
    fn invalid_rules_are_refused() {
        let first = d(2027, 1, 7);
        let mut r = rule(Frequency::Weekly);
        r.interval = 0;
        assert!(r.check(first).is_err());
        let mut r = rule(Frequency::Monthly);
        assert!(r.clone().check(first).is_err());
        r.month_day = Some(32);
        assert!(r.check(first).is_err());
        let mut r = rule(Frequency::Weekly);
        r.until = Some(d(2027, 1, 6));
        assert!(r.clone().check(first).is_err());
        r.until = Some(d(2027, 1, 8));
        r.count = Some(2);
        assert!(r.check(first).is_err());
        let mut r = rule(Frequency::Weekly);
        r.month_day = Some(3);
        assert!(r.check(first).is_err());
    }

    #[test]
    fn only_the_time_of_day_may_shift() {
        let old = at(d(2027, 1, 7), 19);
        assert_eq!(
            time_shift(old, at(d(2027, 1, 7), 20)).unwrap(),
            Duration::hours(1)
        );
        assert!(time_shift(old, at(d(2027, 1, 8), 19)).is_err());
    }
}
