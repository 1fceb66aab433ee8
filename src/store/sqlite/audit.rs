//! SQLite queries of the audit log.

use rusqlite::{ToSql, named_params, params};

use super::SqliteTx;
use crate::domain::account::fold;
use crate::domain::audit::{Actor, Entry, Filter, NewEntry, Target};
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::time::Ts;
use crate::store::AuditStore;

const COLUMNS: &str = "id, at, actor_id, actor_email, ip, action, target_type, target_id, changes";

/// The filter's conditions (named parameters, shared by list and count).
const WHERE: &str = "WHERE (:actor_id IS NULL OR actor_id = :actor_id)
       AND (:actor IS NULL OR instr(actor_key, :actor) > 0)
       AND (:action IS NULL OR action = :action)
       AND (:target_type IS NULL OR target_type = :target_type)
       AND (:target_id IS NULL OR target_id = :target_id)
       AND (:from IS NULL OR at >= :from)
       AND (:to IS NULL OR at <= :to)";

fn entry_from_row(r: &rusqlite::Row) -> rusqlite::Result<(Entry, String)> {
    Ok((
        Entry {
            id: r.get(0)?,
            at: r.get(1)?,
            actor: Actor {
                user_id: r.get(2)?,
                email: r.get(3)?,
                ip: r.get(4)?,
            },
            action: r.get(5)?,
            target: Target {
                kind: r.get(6)?,
                id: r.get(7)?,
            },
            changes: serde_json::Value::Null,
        },
        r.get(8)?,
    ))
}

fn with_changes((mut entry, changes): (Entry, String)) -> DomainResult<Entry> {
    entry.changes = serde_json::from_str(&changes).map_err(DomainError::internal)?;
    Ok(entry)
}

fn filter_params(f: &Filter) -> Vec<(&'static str, Box<dyn ToSql>)> {
    vec![
        (":actor_id", Box::new(f.actor_id)),
        (":actor", Box::new(f.actor.as_deref().map(fold))),
        (":action", Box::new(f.action)),
        (":target_type", Box::new(f.target_type)),
        (":target_id", Box::new(f.target_id.clone())),
        (":from", Box::new(f.from)),
        (":to", Box::new(f.to)),
    ]
}

impl AuditStore for SqliteTx<'_> {
    fn insert_audit(&mut self, e: &NewEntry) -> DomainResult<i64> {
        self.conn
            .prepare_cached(
                "INSERT INTO audit (at, actor_id, actor_email, actor_key, ip, action,
                                    target_type, target_id, changes)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![
                e.at,
                e.actor.user_id,
                e.actor.email,
                e.actor.email.as_deref().map(fold),
                e.actor.ip,
                e.action,
                e.target.kind,
                e.target.id,
                e.changes.to_string(),
            ])?;
        Ok(self.conn.last_insert_rowid())
    }

    fn audit_entries(&mut self, filter: &Filter) -> DomainResult<Vec<Entry>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM audit {WHERE}
             ORDER BY at DESC, id DESC LIMIT :limit OFFSET :offset"
        ))?;
        let mut named = filter_params(filter);
        named.push((":limit", Box::new(filter.limit.unwrap_or(-1))));
        named.push((":offset", Box::new(filter.offset)));
        let refs: Vec<(&str, &dyn ToSql)> = named.iter().map(|(k, v)| (*k, v.as_ref())).collect();
        let rows = stmt
            .query_map(refs.as_slice(), entry_from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter().map(with_changes).collect()
    }

    fn count_audit(&mut self, filter: &Filter) -> DomainResult<i64> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("SELECT COUNT(*) FROM audit {WHERE}"))?;
        let named = filter_params(filter);
        let refs: Vec<(&str, &dyn ToSql)> = named.iter().map(|(k, v)| (*k, v.as_ref())).collect();
        Ok(stmt.query_row(refs.as_slice(), |r| r.get(0))?)
    }

    fn delete_audit_before(&mut self, before: Ts) -> DomainResult<usize> {
        Ok(self
            .conn
            .prepare_cached("DELETE FROM audit WHERE at < :before")?
            .execute(named_params! { ":before": before })?)
    }
}
