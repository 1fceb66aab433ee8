//! SQLite queries of check-ins, attendance and event managers.

use std::collections::HashMap;

use rusqlite::params;

use super::{OptionalRow, SqliteTx};
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::organiser::EventAttendance;
use crate::domain::time::Ts;
use crate::store::OrganiserStore;
use crate::store::organiser::Person;

fn id_list(ids: &[i64]) -> DomainResult<String> {
    serde_json::to_string(ids).map_err(DomainError::internal)
}

impl OrganiserStore for SqliteTx<'_> {
    fn check_in(
        &mut self,
        event_id: i64,
        user_id: i64,
        by: i64,
        now: Ts,
    ) -> DomainResult<Option<Ts>> {
        let before: Option<Ts> = self
            .conn
            .prepare_cached(
                "SELECT checked_in_at FROM event_checkin WHERE event_id = ?1 AND user_id = ?2",
            )?
            .query_row(params![event_id, user_id], |r| r.get(0))
            .optional()?;
        if before.is_none() {
            self.conn
                .prepare_cached(
                    "INSERT INTO event_checkin (event_id, user_id, checked_in_at, checked_in_by)
                     VALUES (?1, ?2, ?3, ?4)",
                )?
                .execute(params![event_id, user_id, now, by])?;
        }
        Ok(before)
    }

    fn undo_check_in(&mut self, event_id: i64, user_id: i64) -> DomainResult<bool> {
        let n = self
            .conn
            .prepare_cached("DELETE FROM event_checkin WHERE event_id = ?1 AND user_id = ?2")?
            .execute(params![event_id, user_id])?;
        Ok(n > 0)
    }

    fn check_ins(&mut self, event_id: i64) -> DomainResult<HashMap<i64, Ts>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT user_id, checked_in_at FROM event_checkin WHERE event_id = ?1",
        )?;
        let rows = stmt
            .query_map([event_id], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<HashMap<_, _>, _>>()?;
        Ok(rows)
    }

    fn person(&mut self, user_id: i64) -> DomainResult<Option<Person>> {
        Ok(self
            .conn
            .prepare_cached("SELECT id, full_name, email FROM user WHERE id = ?1")?
            .query_row([user_id], |r| {
                Ok(Person {
                    id: r.get(0)?,
                    full_name: r.get(1)?,
                    email: r.get(2)?,
                })
            })
            .optional()?)
    }

    fn managers_of(&mut self, ids: &[i64]) -> DomainResult<Vec<Vec<i64>>> {
        let mut groups = vec![Vec::new(); ids.len()];
        if ids.is_empty() {
            return Ok(groups);
        }
        let index: HashMap<i64, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
        let mut stmt = self.conn.prepare_cached(
            "SELECT event_id, user_id FROM event_manager
             WHERE event_id IN (SELECT value FROM json_each(?1))
             ORDER BY event_id, user_id",
        )?;
        let rows = stmt
            .query_map([id_list(ids)?], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        for (event_id, user_id) in rows {
            if let Some(&i) = index.get(&event_id) {
                groups[i].push(user_id);
            }
        }
        Ok(groups)
    }

    fn set_managers(&mut self, event_id: i64, ids: &[i64]) -> DomainResult<()> {
        self.conn
            .prepare_cached(
                "DELETE FROM event_manager
                 WHERE event_id = ?1 AND user_id NOT IN (SELECT value FROM json_each(?2))",
            )?
            .execute(params![event_id, id_list(ids)?])?;
        let mut stmt = self.conn.prepare_cached(
            "INSERT INTO event_manager (event_id, user_id) VALUES (?1, ?2)
             ON CONFLICT (event_id, user_id) DO NOTHING",
        )?;
        for id in ids {
            stmt.execute(params![event_id, id])?;
        }
        Ok(())
    }

    fn managed_events(&mut self, user_id: i64) -> DomainResult<Vec<i64>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT event_id FROM event_manager WHERE user_id = ?1 ORDER BY event_id",
        )?;
        let rows = stmt
            .query_map([user_id], |r| r.get(0))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    fn attendance(&mut self, cutoff: Ts, limit: i64) -> DomainResult<Vec<EventAttendance>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT e.id, e.name, e.starts_at,
                    (SELECT count(*) FROM event_participant p
                      WHERE p.event_id = e.id AND p.status = 'PARTICIPATING'),
                    (SELECT count(*) FROM event_participant p
                       JOIN event_checkin c ON c.event_id = p.event_id AND c.user_id = p.user_id
                      WHERE p.event_id = e.id AND p.status = 'PARTICIPATING')
             FROM event e
             WHERE e.rejected_at IS NULL AND e.starts_at <= ?1
             ORDER BY e.starts_at DESC, e.id DESC
             LIMIT ?2",
        )?;
        let rows = stmt
            .query_map(params![cutoff, limit], |r| {
                Ok(EventAttendance {
                    event_id: r.get(0)?,
                    name: r.get(1)?,
                    starts_at: r.get(2)?,
                    registered: r.get(3)?,
                    came: r.get(4)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }
}
