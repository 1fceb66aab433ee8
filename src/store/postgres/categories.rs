//! PostgreSQL queries of event categories.

use postgres::Row;

use super::PgTx;
use crate::domain::category::{CATEGORY_EXISTS, Category};
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::time::Ts;
use crate::store::CategoryStore;

fn category_from_row(r: &Row) -> DomainResult<Category> {
    Ok(Category {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        color: r.try_get(2)?,
    })
}

/// The unique name key: another category has this name (a concurrent
/// insert may have won).
fn exists_on_conflict(e: postgres::Error) -> DomainError {
    if super::is_unique_violation(&e) {
        DomainError::rule(CATEGORY_EXISTS)
    } else {
        e.into()
    }
}

impl CategoryStore for PgTx<'_, '_> {
    fn categories(&mut self) -> DomainResult<Vec<Category>> {
        self.rows(
            "SELECT id, name, color FROM category ORDER BY name_key, id",
            &[],
        )?
        .iter()
        .map(category_from_row)
        .collect()
    }

    fn category(&mut self, id: i64) -> DomainResult<Option<Category>> {
        self.opt("SELECT id, name, color FROM category WHERE id = $1", &[&id])?
            .as_ref()
            .map(category_from_row)
            .transpose()
    }

    fn insert_category(
        &mut self,
        name: &str,
        name_key: &str,
        color: &str,
        now: Ts,
    ) -> DomainResult<i64> {
        let rows = self
            .try_rows(
                "INSERT INTO category (name, name_key, color, created_at)
                 VALUES ($1, $2, $3, $4) RETURNING id",
                &[&name, &name_key, &color, &now],
            )
            .map_err(exists_on_conflict)?;
        self.changed = true;
        Ok(rows[0].try_get(0)?)
    }

    fn save_category(&mut self, c: &Category, name_key: &str) -> DomainResult<()> {
        self.try_rows(
            "UPDATE category SET name = $2, name_key = $3, color = $4 WHERE id = $1 RETURNING id",
            &[&c.id, &c.name, &name_key, &c.color],
        )
        .map_err(exists_on_conflict)?;
        self.changed = true;
        Ok(())
    }

    fn delete_category(&mut self, id: i64) -> DomainResult<bool> {
        // The foreign key un-sets `event.category_id` (ON DELETE SET NULL).
        Ok(self.change("DELETE FROM category WHERE id = $1", &[&id])? > 0)
    }
}
