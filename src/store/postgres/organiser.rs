//! PostgreSQL queries of check-ins, attendance and event managers.

use std::collections::HashMap;

use super::PgTx;
use crate::domain::error::DomainResult;
use crate::domain::organiser::EventAttendance;
use crate::domain::time::Ts;
use crate::store::OrganiserStore;
use crate::store::organiser::Person;

impl OrganiserStore for PgTx<'_, '_> {
    fn check_in(
        &mut self,
        event_id: i64,
        user_id: i64,
        by: i64,
        now: Ts,
    ) -> DomainResult<Option<Ts>> {
        // Two desks scanning the same ticket at once: one insert wins, the
        // other reads the winner's time.
        let inserted = self.change_rows(
            "INSERT INTO event_checkin (event_id, user_id, checked_in_at, checked_in_by)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (event_id, user_id) DO NOTHING
             RETURNING checked_in_at",
            &[&event_id, &user_id, &now, &by],
        )?;
        if !inserted.is_empty() {
            return Ok(None);
        }
        let row = self.one(
            "SELECT checked_in_at FROM event_checkin WHERE event_id = $1 AND user_id = $2",
            &[&event_id, &user_id],
        )?;
        Ok(Some(row.try_get(0)?))
    }

    fn undo_check_in(&mut self, event_id: i64, user_id: i64) -> DomainResult<bool> {
        let n = self.change(
            "DELETE FROM event_checkin WHERE event_id = $1 AND user_id = $2",
            &[&event_id, &user_id],
        )?;
        Ok(n > 0)
    }

    fn check_ins(&mut self, event_id: i64) -> DomainResult<HashMap<i64, Ts>> {
        self.rows(
            "SELECT user_id, checked_in_at FROM event_checkin WHERE event_id = $1",
            &[&event_id],
        )?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
    }

    fn person(&mut self, user_id: i64) -> DomainResult<Option<Person>> {
        self.opt(
            r#"SELECT id, full_name, email FROM "user" WHERE id = $1"#,
            &[&user_id],
        )?
        .map(|r| {
            Ok(Person {
                id: r.try_get(0)?,
                full_name: r.try_get(1)?,
                email: r.try_get(2)?,
            })
        })
        .transpose()
    }

    fn managers_of(&mut self, ids: &[i64]) -> DomainResult<Vec<Vec<i64>>> {
        let mut groups = vec![Vec::new(); ids.len()];
        if ids.is_empty() {
            return Ok(groups);
        }
        let index: HashMap<i64, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
        let rows = self.rows(
            "SELECT event_id, user_id FROM event_manager
             WHERE event_id = ANY($1) ORDER BY event_id, user_id",
            &[&ids],
        )?;
        for r in &rows {
            let event_id: i64 = r.try_get(0)?;
            if let Some(&i) = index.get(&event_id) {
                groups[i].push(r.try_get(1)?);
            }
        }
        Ok(groups)
    }

    fn set_managers(&mut self, event_id: i64, ids: &[i64]) -> DomainResult<()> {
        self.change(
            "DELETE FROM event_manager WHERE event_id = $1 AND NOT (user_id = ANY($2))",
            &[&event_id, &ids],
        )?;
        for id in ids {
            self.change(
                "INSERT INTO event_manager (event_id, user_id) VALUES ($1, $2)
                 ON CONFLICT (event_id, user_id) DO NOTHING",
                &[&event_id, id],
            )?;
        }
        Ok(())
    }

    fn managed_events(&mut self, user_id: i64) -> DomainResult<Vec<i64>> {
        self.rows(
            "SELECT event_id FROM event_manager WHERE user_id = $1 ORDER BY event_id",
            &[&user_id],
        )?
        .iter()
        .map(|r| Ok(r.try_get(0)?))
        .collect()
    }

    fn attendance(&mut self, cutoff: Ts, limit: i64) -> DomainResult<Vec<EventAttendance>> {
        self.rows(
            "SELECT e.id, e.name, e.starts_at,
                    (SELECT count(*) FROM event_participant p
                      WHERE p.event_id = e.id AND p.status = 'PARTICIPATING'),
                    (SELECT count(*) FROM event_participant p
                       JOIN event_checkin c ON c.event_id = p.event_id AND c.user_id = p.user_id
                      WHERE p.event_id = e.id AND p.status = 'PARTICIPATING')
             FROM event e
             WHERE e.rejected_at IS NULL AND e.starts_at <= $1
             ORDER BY e.starts_at DESC, e.id DESC
             LIMIT $2",
            &[&cutoff, &limit],
        )?
        .iter()
        .map(|r| {
            Ok(EventAttendance {
                event_id: r.try_get(0)?,
                name: r.try_get(1)?,
                starts_at: r.try_get(2)?,
                registered: r.try_get(3)?,
                came: r.try_get(4)?,
            })
        })
        .collect()
    }
}
