//! Queries of recurring-event series (their occurrences are events, read
//! through [`crate::store::EventStore`]).

use chrono::NaiveDateTime;

use crate::domain::error::{DomainError, DomainResult};
use crate::domain::event::Event;
use crate::domain::series::{Rule, Schedule, Series, Template};
use crate::domain::time::Ts;

pub trait SeriesStore {
    /// Inserts a series (its `id` is ignored); returns the new id.
    fn insert_series(&mut self, series: &Series) -> DomainResult<i64>;
    /// Holds the series' row for the rest of this write transaction (the
    /// generator and edits of one series queue). PostgreSQL: `FOR UPDATE`;
    /// SQLite: nothing to do (its single writer serialises).
    fn lock_series(&mut self, id: i64) -> DomainResult<()>;
    /// The series by id.
    fn series(&mut self, id: i64) -> DomainResult<Option<Series>>;
    /// Saves the schedule, template and horizon state of a series (by id).
    fn save_series(&mut self, series: &Series) -> DomainResult<()>;
    /// Every series id, ascending.
    fn series_ids(&mut self) -> DomainResult<Vec<i64>>;
    /// The occurrences of a series (cancelled ones too), by number.
    fn series_events(&mut self, series_id: i64) -> DomainResult<Vec<Event>>;
}

/// A series' columns as text, the same on both backends: the rule and the
/// template as JSON, the first local start as ISO-8601 without an offset.
pub struct SeriesText {
    pub rule: String,
    pub timezone: String,
    pub first_local: String,
    pub template: String,
}

const LOCAL_FORMAT: &str = "%Y-%m-%dT%H:%M:%S";

impl SeriesText {
    pub fn of(series: &Series) -> DomainResult<SeriesText> {
        Ok(SeriesText {
            rule: serde_json::to_string(&series.schedule.rule).map_err(DomainError::internal)?,
            timezone: series.schedule.tz.name().to_string(),
            first_local: series.schedule.first.format(LOCAL_FORMAT).to_string(),
            template: serde_json::to_string(&series.template).map_err(DomainError::internal)?,
        })
    }

    /// The series these columns hold, with the other columns.
    pub fn into_series(self, id: i64, next_index: i64, created_at: Ts) -> DomainResult<Series> {
        let rule: Rule = serde_json::from_str(&self.rule).map_err(DomainError::internal)?;
        let template: Template =
            serde_json::from_str(&self.template).map_err(DomainError::internal)?;
        let tz = self
            .timezone
            .parse()
            .map_err(|e| DomainError::internal(format!("series {id}: time zone: {e}")))?;
        let first = NaiveDateTime::parse_from_str(&self.first_local, LOCAL_FORMAT)
            .map_err(DomainError::internal)?;
        Ok(Series {
            id,
            schedule: Schedule { rule, tz, first },
            template,
            next_index: u32::try_from(next_index).unwrap_or(u32::MAX),
            created_at,
        })
    }
}
