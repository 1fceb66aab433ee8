//! SQLite queries of recurring-event series.

use rusqlite::params;

use super::events::{EVENT_COLUMNS, event_from_row};
use super::{OptionalRow, SqliteTx};
use crate::domain::error::DomainResult;
use crate::domain::event::Event;
use crate::domain::series::Series;
use crate::domain::time::Ts;
use crate::store::series::{SeriesStore, SeriesText};

impl SeriesStore for SqliteTx<'_> {
    fn insert_series(&mut self, series: &Series) -> DomainResult<i64> {
        let t = SeriesText::of(series)?;
        self.conn
            .prepare_cached(
                "INSERT INTO series (rule, timezone, first_local, template, next_index, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                t.rule,
                t.timezone,
                t.first_local,
                t.template,
                series.next_index as i64,
                series.created_at
            ])?;
        Ok(self.conn.last_insert_rowid())
    }

    fn lock_series(&mut self, _id: i64) -> DomainResult<()> {
        Ok(())
    }

    fn series(&mut self, id: i64) -> DomainResult<Option<Series>> {
        let row = self
            .conn
            .prepare_cached(
                "SELECT rule, timezone, first_local, template, next_index, created_at
                 FROM series WHERE id = ?1",
            )?
            .query_row([id], |r| {
                Ok((
                    SeriesText {
                        rule: r.get(0)?,
                        timezone: r.get(1)?,
                        first_local: r.get(2)?,
                        template: r.get(3)?,
                    },
                    r.get::<_, i64>(4)?,
                    r.get::<_, Ts>(5)?,
                ))
            })
            .optional()?;
        row.map(|(t, next, created)| t.into_series(id, next, created))
            .transpose()
    }

    fn save_series(&mut self, series: &Series) -> DomainResult<()> {
        let t = SeriesText::of(series)?;
        self.conn
            .prepare_cached(
                "UPDATE series SET rule = ?2, timezone = ?3, first_local = ?4, template = ?5,
                     next_index = ?6
                 WHERE id = ?1",
            )?
            .execute(params![
                series.id,
                t.rule,
                t.timezone,
                t.first_local,
                t.template,
                series.next_index as i64
            ])?;
        Ok(())
    }

    fn series_ids(&mut self) -> DomainResult<Vec<i64>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id FROM series ORDER BY id")?;
        let ids = stmt
            .query_map([], |r| r.get(0))?
            .collect::<Result<Vec<i64>, _>>()?;
        Ok(ids)
    }

    fn series_events(&mut self, series_id: i64) -> DomainResult<Vec<Event>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {EVENT_COLUMNS} FROM event e WHERE e.series_id = ?1 ORDER BY e.series_index"
        ))?;
        let rows = stmt
            .query_map([series_id], event_from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }
}
