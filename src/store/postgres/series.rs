//! PostgreSQL queries of recurring-event series.

use super::PgTx;
use super::events::{EVENT_COLUMNS, event_from_row};
use crate::domain::error::DomainResult;
use crate::domain::event::Event;
use crate::domain::series::Series;
use crate::domain::time::Ts;
use crate::store::series::{SeriesStore, SeriesText};

impl SeriesStore for PgTx<'_, '_> {
    fn insert_series(&mut self, series: &Series) -> DomainResult<i64> {
        let t = SeriesText::of(series)?;
        let rows = self.change_rows(
            "INSERT INTO series (rule, timezone, first_local, template, next_index, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            &[
                &t.rule,
                &t.timezone,
                &t.first_local,
                &t.template,
                &(series.next_index as i64),
                &series.created_at,
            ],
        )?;
        Ok(rows[0].try_get(0)?)
    }

    fn lock_series(&mut self, id: i64) -> DomainResult<()> {
        self.lock_rows("SELECT 1 FROM series WHERE id = $1 FOR UPDATE", &[&id])
    }

    fn series(&mut self, id: i64) -> DomainResult<Option<Series>> {
        let Some(r) = self.opt(
            "SELECT rule, timezone, first_local, template, next_index, created_at
             FROM series WHERE id = $1",
            &[&id],
        )?
        else {
            return Ok(None);
        };
        let text = SeriesText {
            rule: r.try_get(0)?,
            timezone: r.try_get(1)?,
            first_local: r.try_get(2)?,
            template: r.try_get(3)?,
        };
        let next: i64 = r.try_get(4)?;
        let created: Ts = r.try_get(5)?;
        text.into_series(id, next, created).map(Some)
    }

    fn save_series(&mut self, series: &Series) -> DomainResult<()> {
        let t = SeriesText::of(series)?;
        self.change(
            "UPDATE series SET rule = $2, timezone = $3, first_local = $4, template = $5,
                 next_index = $6
             WHERE id = $1",
            &[
                &series.id,
                &t.rule,
                &t.timezone,
                &t.first_local,
                &t.template,
                &(series.next_index as i64),
            ],
        )?;
        Ok(())
    }

    fn series_ids(&mut self) -> DomainResult<Vec<i64>> {
        self.rows("SELECT id FROM series ORDER BY id", &[])?
            .iter()
            .map(|r| Ok(r.try_get(0)?))
            .collect()
    }

    fn series_events(&mut self, series_id: i64) -> DomainResult<Vec<Event>> {
        self.rows(
            &format!(
                "SELECT {EVENT_COLUMNS} FROM event e WHERE e.series_id = $1 ORDER BY e.series_index"
            ),
            &[&series_id],
        )?
        .iter()
        .map(event_from_row)
        .collect()
    }
}
