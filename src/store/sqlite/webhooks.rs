//! SQLite queries of outgoing webhooks.

use rusqlite::params;

use super::{OptionalRow, SqliteTx};
use crate::domain::error::DomainResult;
use crate::domain::time::Ts;
use crate::domain::webhook::{Attempt, Delivery, DeliveryStatus, Endpoint};
use crate::store::WebhookStore;
use crate::store::webhooks::{NewDelivery, NewEndpoint, types_of, types_text};

const ENDPOINT_COLUMNS: &str =
    "id, url, event_types, enabled, created_at, updated_at, failing_since, disabled_reason";

fn endpoint_from_row(r: &rusqlite::Row) -> rusqlite::Result<Endpoint> {
    let types: String = r.get(2)?;
    Ok(Endpoint {
        id: r.get(0)?,
        url: r.get(1)?,
        types: types_of(&types),
        enabled: r.get(3)?,
        created_at: r.get(4)?,
        updated_at: r.get(5)?,
        failing_since: r.get(6)?,
        disabled_reason: r.get(7)?,
    })
}

const DELIVERY_COLUMNS: &str = "id, endpoint_id, event_type, status, attempts, created_at, \
     last_attempt_at, response_code, duration_ms, error";

fn delivery_from_row(r: &rusqlite::Row) -> rusqlite::Result<Delivery> {
    Ok(Delivery {
        id: r.get(0)?,
        endpoint_id: r.get(1)?,
        event_type: r.get(2)?,
        status: r.get(3)?,
        attempts: r.get(4)?,
        created_at: r.get(5)?,
        last_attempt_at: r.get(6)?,
        response_code: r.get(7)?,
        duration_ms: r.get(8)?,
        error: r.get(9)?,
    })
}

impl WebhookStore for SqliteTx<'_> {
    fn webhook_endpoints(&mut self) -> DomainResult<Vec<Endpoint>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoint ORDER BY id"
        ))?;
        let rows = stmt
            .query_map([], endpoint_from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    fn webhook_endpoint(&mut self, id: i64) -> DomainResult<Option<Endpoint>> {
        Ok(self
            .conn
            .prepare_cached(&format!(
                "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoint WHERE id = ?1"
            ))?
            .query_row([id], endpoint_from_row)
            .optional()?)
    }

    fn webhook_secret(&mut self, id: i64) -> DomainResult<Option<String>> {
        Ok(self
            .conn
            .prepare_cached("SELECT secret_sealed FROM webhook_endpoint WHERE id = ?1")?
            .query_row([id], |r| r.get(0))
            .optional()?)
    }

    fn insert_webhook_endpoint(&mut self, new: &NewEndpoint<'_>, now: Ts) -> DomainResult<i64> {
        self.conn
            .prepare_cached(
                "INSERT INTO webhook_endpoint
                     (url, event_types, enabled, secret_sealed, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
            )?
            .execute(params![
                new.url,
                types_text(new.types),
                new.enabled,
                new.secret_sealed,
                now
            ])?;
        Ok(self.conn.last_insert_rowid())
    }

    fn save_webhook_endpoint(&mut self, e: &Endpoint, now: Ts) -> DomainResult<()> {
        self.conn
            .prepare_cached(
                "UPDATE webhook_endpoint SET url = ?2, event_types = ?3, enabled = ?4,
                     failing_since = ?5, disabled_reason = ?6, updated_at = ?7
                 WHERE id = ?1",
            )?
            .execute(params![
                e.id,
                e.url,
                types_text(&e.types),
                e.enabled,
                e.failing_since,
                e.disabled_reason,
                now
            ])?;
        Ok(())
    }

    fn set_webhook_secret(&mut self, id: i64, sealed: &str, now: Ts) -> DomainResult<()> {
        self.conn
            .prepare_cached(
                "UPDATE webhook_endpoint SET secret_sealed = ?2, updated_at = ?3 WHERE id = ?1",
            )?
            .execute(params![id, sealed, now])?;
        Ok(())
    }

    fn delete_webhook_endpoint(&mut self, id: i64) -> DomainResult<bool> {
        let n = self
            .conn
            .prepare_cached("DELETE FROM webhook_endpoint WHERE id = ?1")?
            .execute([id])?;
        Ok(n > 0)
    }

    fn webhook_endpoint_result(
        &mut self,
        id: i64,
        success: bool,
        now: Ts,
    ) -> DomainResult<Option<Ts>> {
        let since: Option<Option<Ts>> = self
            .conn
            .prepare_cached(
                "UPDATE webhook_endpoint
                 SET failing_since = CASE WHEN ?2 THEN NULL ELSE COALESCE(failing_since, ?3) END
                 WHERE id = ?1
                 RETURNING failing_since",
            )?
            .query_row(params![id, success, now], |r| r.get(0))
            .optional()?;
        Ok(since.flatten())
    }

    fn disable_webhook_endpoint(&mut self, id: i64, reason: &str, now: Ts) -> DomainResult<bool> {
        let n = self
            .conn
            .prepare_cached(
                "UPDATE webhook_endpoint SET enabled = 0, disabled_reason = ?2, updated_at = ?3
                 WHERE id = ?1 AND enabled",
            )?
            .execute(params![id, reason, now])?;
        Ok(n > 0)
    }

    fn insert_webhook_delivery(&mut self, new: &NewDelivery<'_>, now: Ts) -> DomainResult<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO webhook_delivery
                     (id, endpoint_id, event_type, body, status, attempts, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6)",
            )?
            .execute(params![
                new.id,
                new.endpoint_id,
                new.event_type,
                new.body,
                DeliveryStatus::Pending,
                now
            ])?;
        Ok(())
    }

    fn webhook_delivery(&mut self, id: &str) -> DomainResult<Option<Delivery>> {
        Ok(self
            .conn
            .prepare_cached(&format!(
                "SELECT {DELIVERY_COLUMNS} FROM webhook_delivery WHERE id = ?1"
            ))?
            .query_row([id], delivery_from_row)
            .optional()?)
    }

    fn webhook_delivery_body(&mut self, id: &str) -> DomainResult<Option<String>> {
        Ok(self
            .conn
            .prepare_cached("SELECT body FROM webhook_delivery WHERE id = ?1")?
            .query_row([id], |r| r.get(0))
            .optional()?)
    }

    fn webhook_deliveries(
        &mut self,
        endpoint_id: i64,
        limit: usize,
        offset: usize,
    ) -> DomainResult<Vec<Delivery>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_delivery WHERE endpoint_id = ?1
             ORDER BY created_at DESC, rowid DESC LIMIT ?2 OFFSET ?3"
        ))?;
        let rows = stmt
            .query_map(
                params![endpoint_id, limit as i64, offset as i64],
                delivery_from_row,
            )?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    fn webhook_attempts(&mut self, delivery_id: &str) -> DomainResult<Vec<Attempt>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT attempt, at, response_code, duration_ms, error, success
             FROM webhook_attempt WHERE delivery_id = ?1 ORDER BY id",
        )?;
        let rows = stmt
            .query_map([delivery_id], |r| {
                Ok(Attempt {
                    attempt: r.get(0)?,
                    at: r.get(1)?,
                    response_code: r.get(2)?,
                    duration_ms: r.get(3)?,
                    error: r.get(4)?,
                    success: r.get(5)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    fn record_webhook_attempt(
        &mut self,
        delivery_id: &str,
        a: &Attempt,
        status: DeliveryStatus,
    ) -> DomainResult<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO webhook_attempt
                     (delivery_id, attempt, at, response_code, duration_ms, error, success)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                delivery_id,
                a.attempt,
                a.at,
                a.response_code,
                a.duration_ms,
                a.error,
                a.success
            ])?;
        self.conn
            .prepare_cached(
                "UPDATE webhook_delivery SET status = ?2, attempts = ?3, last_attempt_at = ?4,
                     response_code = ?5, duration_ms = ?6, error = ?7
                 WHERE id = ?1",
            )?
            .execute(params![
                delivery_id,
                status,
                a.attempt,
                a.at,
                a.response_code,
                a.duration_ms,
                a.error
            ])?;
        Ok(())
    }

    fn sweep_webhook_deliveries(&mut self, before: Ts) -> DomainResult<usize> {
        // The attempts go with them (ON DELETE CASCADE).
        Ok(self
            .conn
            .prepare_cached("DELETE FROM webhook_delivery WHERE created_at < ?1 AND status <> ?2")?
            .execute(params![before, DeliveryStatus::Pending])?)
    }

    fn set_webhook_delivery_status(
        &mut self,
        delivery_id: &str,
        status: DeliveryStatus,
    ) -> DomainResult<()> {
        self.conn
            .prepare_cached("UPDATE webhook_delivery SET status = ?2 WHERE id = ?1")?
            .execute(params![delivery_id, status])?;
        Ok(())
    }
}
