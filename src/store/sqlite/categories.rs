//! SQLite queries of event categories.

use rusqlite::params;

use super::{OptionalRow, SqliteTx};
use crate::domain::category::{CATEGORY_EXISTS, Category};
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::time::Ts;
use crate::store::CategoryStore;

fn category_from_row(r: &rusqlite::Row) -> rusqlite::Result<Category> {
    Ok(Category {
        id: r.get(0)?,
        name: r.get(1)?,
        color: r.get(2)?,
    })
}

/// The unique name key: another category has this name.
fn exists_on_conflict(e: rusqlite::Error) -> DomainError {
    match e {
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            DomainError::rule(CATEGORY_EXISTS)
        }
        e => e.into(),
    }
}

impl CategoryStore for SqliteTx<'_> {
    fn categories(&mut self) -> DomainResult<Vec<Category>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id, name, color FROM category ORDER BY name_key, id")?;
        let rows = stmt
            .query_map([], category_from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    fn category(&mut self, id: i64) -> DomainResult<Option<Category>> {
        Ok(self
            .conn
            .prepare_cached("SELECT id, name, color FROM category WHERE id = ?1")?
            .query_row([id], category_from_row)
            .optional()?)
    }

    fn insert_category(
        &mut self,
        name: &str,
        name_key: &str,
        color: &str,
        now: Ts,
    ) -> DomainResult<i64> {
        self.conn
            .prepare_cached(
                "INSERT INTO category (name, name_key, color, created_at) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![name, name_key, color, now])
            .map_err(exists_on_conflict)?;
        Ok(self.conn.last_insert_rowid())
    }

    fn save_category(&mut self, c: &Category, name_key: &str) -> DomainResult<()> {
        self.conn
            .prepare_cached(
                "UPDATE category SET name = ?2, name_key = ?3, color = ?4 WHERE id = ?1",
            )?
            .execute(params![c.id, c.name, name_key, c.color])
            .map_err(exists_on_conflict)?;
        Ok(())
    }

    fn delete_category(&mut self, id: i64) -> DomainResult<bool> {
        // The foreign key un-sets `event.category_id` (ON DELETE SET NULL).
        let n = self
            .conn
            .prepare_cached("DELETE FROM category WHERE id = ?1")?
            .execute([id])?;
        Ok(n > 0)
    }
}
