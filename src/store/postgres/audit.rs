//! PostgreSQL queries of the audit log. Entries are not domain data for
//! the cached answers (`exec`, not `change`).

use postgres::Row;

use super::PgTx;
use crate::domain::account::fold;
use crate::domain::audit::{Actor, Entry, Filter, NewEntry, Target};
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::time::Ts;
use crate::store::AuditStore;

const COLUMNS: &str = "id, at, actor_id, actor_email, ip, action, target_type, target_id, changes";

/// The filter's conditions ($1–$7, shared by list and count).
const WHERE: &str = "WHERE ($1::BIGINT IS NULL OR actor_id = $1)
       AND ($2::TEXT IS NULL OR strpos(actor_key, $2) > 0)
       AND ($3::TEXT IS NULL OR action = $3)
       AND ($4::TEXT IS NULL OR target_type = $4)
       AND ($5::TEXT IS NULL OR target_id = $5)
       AND ($6::BIGINT IS NULL OR at >= $6)
       AND ($7::BIGINT IS NULL OR at <= $7)";

fn entry_from_row(r: &Row) -> DomainResult<Entry> {
    let changes: String = r.try_get(8)?;
    Ok(Entry {
        id: r.try_get(0)?,
        at: r.try_get(1)?,
        actor: Actor {
            user_id: r.try_get(2)?,
            email: r.try_get(3)?,
            ip: r.try_get(4)?,
        },
        action: r.try_get(5)?,
        target: Target {
            kind: r.try_get(6)?,
            id: r.try_get(7)?,
        },
        changes: serde_json::from_str(&changes).map_err(DomainError::internal)?,
    })
}

impl AuditStore for PgTx<'_, '_> {
    fn insert_audit(&mut self, e: &NewEntry) -> DomainResult<i64> {
        let key = e.actor.email.as_deref().map(fold);
        let changes = e.changes.to_string();
        let row = self.one(
            "INSERT INTO audit (at, actor_id, actor_email, actor_key, ip, action,
                                target_type, target_id, changes)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
            &[
                &e.at,
                &e.actor.user_id,
                &e.actor.email,
                &key,
                &e.actor.ip,
                &e.action,
                &e.target.kind,
                &e.target.id,
                &changes,
            ],
        )?;
        Ok(row.try_get(0)?)
    }

    fn audit_entries(&mut self, f: &Filter) -> DomainResult<Vec<Entry>> {
        let actor = f.actor.as_deref().map(fold);
        self.rows(
            &format!(
                "SELECT {COLUMNS} FROM audit {WHERE}
                 ORDER BY at DESC, id DESC LIMIT $8 OFFSET $9"
            ),
            &[
                &f.actor_id,
                &actor,
                &f.action,
                &f.target_type,
                &f.target_id,
                &f.from,
                &f.to,
                &f.limit,
                &f.offset,
            ],
        )?
        .iter()
        .map(entry_from_row)
        .collect()
    }

    fn count_audit(&mut self, f: &Filter) -> DomainResult<i64> {
        let actor = f.actor.as_deref().map(fold);
        let row = self.one(
            &format!("SELECT COUNT(*) FROM audit {WHERE}"),
            &[
                &f.actor_id,
                &actor,
                &f.action,
                &f.target_type,
                &f.target_id,
                &f.from,
                &f.to,
            ],
        )?;
        Ok(row.try_get(0)?)
    }

    fn delete_audit_before(&mut self, before: Ts) -> DomainResult<usize> {
        Ok(self.exec("DELETE FROM audit WHERE at < $1", &[&before])? as usize)
    }
}
