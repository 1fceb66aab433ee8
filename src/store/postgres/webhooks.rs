//! PostgreSQL queries of outgoing webhooks. Webhook rows are bookkeeping:
//! no cached answer depends on them, so writes use `exec`.

use postgres::Row;

use super::PgTx;
use crate::domain::error::DomainResult;
use crate::domain::time::Ts;
use crate::domain::webhook::{Attempt, Delivery, DeliveryStatus, Endpoint};
use crate::store::WebhookStore;
use crate::store::webhooks::{NewDelivery, NewEndpoint, types_of, types_text};

const ENDPOINT_COLUMNS: &str =
    "id, url, event_types, enabled, created_at, updated_at, failing_since, disabled_reason";

fn endpoint_from_row(r: &Row) -> DomainResult<Endpoint> {
    let types: String = r.try_get(2)?;
    Ok(Endpoint {
        id: r.try_get(0)?,
        url: r.try_get(1)?,
        types: types_of(&types),
        enabled: r.try_get(3)?,
        created_at: r.try_get(4)?,
        updated_at: r.try_get(5)?,
        failing_since: r.try_get(6)?,
        disabled_reason: r.try_get(7)?,
    })
}

const DELIVERY_COLUMNS: &str = "id, endpoint_id, event_type, status, attempts, created_at, \
     last_attempt_at, response_code, duration_ms, error";

fn delivery_from_row(r: &Row) -> DomainResult<Delivery> {
    let attempts: i64 = r.try_get(4)?;
    let code: Option<i64> = r.try_get(7)?;
    Ok(Delivery {
        id: r.try_get(0)?,
        endpoint_id: r.try_get(1)?,
        event_type: r.try_get(2)?,
        status: r.try_get(3)?,
        attempts: attempts as u32,
        created_at: r.try_get(5)?,
        last_attempt_at: r.try_get(6)?,
        response_code: code.map(|c| c as u16),
        duration_ms: r.try_get(8)?,
        error: r.try_get(9)?,
    })
}

impl WebhookStore for PgTx<'_, '_> {
    fn webhook_endpoints(&mut self) -> DomainResult<Vec<Endpoint>> {
        self.rows(
            &format!("SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoint ORDER BY id"),
            &[],
        )?
        .iter()
        .map(endpoint_from_row)
        .collect()
    }

    fn webhook_endpoint(&mut self, id: i64) -> DomainResult<Option<Endpoint>> {
        self.opt(
            &format!("SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoint WHERE id = $1"),
            &[&id],
        )?
        .as_ref()
        .map(endpoint_from_row)
        .transpose()
    }

    fn webhook_secret(&mut self, id: i64) -> DomainResult<Option<String>> {
        Ok(self
            .opt(
                "SELECT secret_sealed FROM webhook_endpoint WHERE id = $1",
                &[&id],
            )?
            .map(|r| r.try_get(0))
            .transpose()?)
    }

    fn insert_webhook_endpoint(&mut self, new: &NewEndpoint<'_>, now: Ts) -> DomainResult<i64> {
        let row = self.one(
            "INSERT INTO webhook_endpoint
                 (url, event_types, enabled, secret_sealed, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
            &[
                &new.url,
                &types_text(new.types),
                &new.enabled,
                &new.secret_sealed,
                &now,
            ],
        )?;
        Ok(row.try_get(0)?)
    }

    fn save_webhook_endpoint(&mut self, e: &Endpoint, now: Ts) -> DomainResult<()> {
        self.exec(
            "UPDATE webhook_endpoint SET url = $2, event_types = $3, enabled = $4,
                 failing_since = $5, disabled_reason = $6, updated_at = $7
             WHERE id = $1",
            &[
                &e.id,
                &e.url,
                &types_text(&e.types),
                &e.enabled,
                &e.failing_since,
                &e.disabled_reason,
                &now,
            ],
        )?;
        Ok(())
    }

    fn set_webhook_secret(&mut self, id: i64, sealed: &str, now: Ts) -> DomainResult<()> {
        self.exec(
            "UPDATE webhook_endpoint SET secret_sealed = $2, updated_at = $3 WHERE id = $1",
            &[&id, &sealed, &now],
        )?;
        Ok(())
    }

    fn delete_webhook_endpoint(&mut self, id: i64) -> DomainResult<bool> {
        Ok(self.exec("DELETE FROM webhook_endpoint WHERE id = $1", &[&id])? > 0)
    }

    fn webhook_endpoint_result(
        &mut self,
        id: i64,
        success: bool,
        now: Ts,
    ) -> DomainResult<Option<Ts>> {
        let row = self.opt(
            "UPDATE webhook_endpoint
             SET failing_since = CASE WHEN $2 THEN NULL ELSE COALESCE(failing_since, $3) END
             WHERE id = $1
             RETURNING failing_since",
            &[&id, &success, &now],
        )?;
        Ok(match row {
            Some(r) => r.try_get(0)?,
            None => None,
        })
    }

    fn disable_webhook_endpoint(&mut self, id: i64, reason: &str, now: Ts) -> DomainResult<bool> {
        Ok(self.exec(
            "UPDATE webhook_endpoint SET enabled = FALSE, disabled_reason = $2, updated_at = $3
             WHERE id = $1 AND enabled",
            &[&id, &reason, &now],
        )? > 0)
    }

    fn insert_webhook_delivery(&mut self, new: &NewDelivery<'_>, now: Ts) -> DomainResult<()> {
        self.exec(
            "INSERT INTO webhook_delivery
                 (id, endpoint_id, event_type, body, status, attempts, created_at)
             VALUES ($1, $2, $3, $4, $5, 0, $6)",
            &[
                &new.id,
                &new.endpoint_id,
                &new.event_type,
                &new.body,
                &DeliveryStatus::Pending,
                &now,
            ],
        )?;
        Ok(())
    }

    fn webhook_delivery(&mut self, id: &str) -> DomainResult<Option<Delivery>> {
        self.opt(
            &format!("SELECT {DELIVERY_COLUMNS} FROM webhook_delivery WHERE id = $1"),
            &[&id],
        )?
        .as_ref()
        .map(delivery_from_row)
        .transpose()
    }

    fn webhook_delivery_body(&mut self, id: &str) -> DomainResult<Option<String>> {
        Ok(self
            .opt("SELECT body FROM webhook_delivery WHERE id = $1", &[&id])?
            .map(|r| r.try_get(0))
            .transpose()?)
    }

    fn webhook_deliveries(
        &mut self,
        endpoint_id: i64,
        limit: usize,
        offset: usize,
    ) -> DomainResult<Vec<Delivery>> {
        let (limit, offset) = (limit as i64, offset as i64);
        self.rows(
            &format!(
                "SELECT {DELIVERY_COLUMNS} FROM webhook_delivery WHERE endpoint_id = $1
                 ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3"
            ),
            &[&endpoint_id, &limit, &offset],
        )?
        .iter()
        .map(delivery_from_row)
        .collect()
    }

    fn webhook_attempts(&mut self, delivery_id: &str) -> DomainResult<Vec<Attempt>> {
        self.rows(
            "SELECT attempt, at, response_code, duration_ms, error, success
             FROM webhook_attempt WHERE delivery_id = $1 ORDER BY id",
            &[&delivery_id],
        )?
        .iter()
        .map(|r| {
            let attempt: i64 = r.try_get(0)?;
            let code: Option<i64> = r.try_get(2)?;
            Ok(Attempt {
                attempt: attempt as u32,
                at: r.try_get(1)?,
                response_code: code.map(|c| c as u16),
                duration_ms: r.try_get(3)?,
                error: r.try_get(4)?,
                success: r.try_get(5)?,
            })
        })
        .collect()
    }

    fn record_webhook_attempt(
        &mut self,
        delivery_id: &str,
        a: &Attempt,
        status: DeliveryStatus,
    ) -> DomainResult<()> {
        let attempt = a.attempt as i64;
        let code = a.response_code.map(i64::from);
        self.exec(
            "INSERT INTO webhook_attempt
                 (delivery_id, attempt, at, response_code, duration_ms, error, success)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &delivery_id,
                &attempt,
                &a.at,
                &code,
                &a.duration_ms,
                &a.error,
                &a.success,
            ],
        )?;
        self.exec(
            "UPDATE webhook_delivery SET status = $2, attempts = $3, last_attempt_at = $4,
                 response_code = $5, duration_ms = $6, error = $7
             WHERE id = $1",
            &[
                &delivery_id,
                &status,
                &attempt,
                &a.at,
                &code,
                &a.duration_ms,
                &a.error,
            ],
        )?;
        Ok(())
    }

    fn sweep_webhook_deliveries(&mut self, before: Ts) -> DomainResult<usize> {
        // The attempts go with them (ON DELETE CASCADE).
        Ok(self.exec(
            "DELETE FROM webhook_delivery WHERE created_at < $1 AND status <> $2",
            &[&before, &DeliveryStatus::Pending],
        )? as usize)
    }

    fn set_webhook_delivery_status(
        &mut self,
        delivery_id: &str,
        status: DeliveryStatus,
    ) -> DomainResult<()> {
        self.exec(
            "UPDATE webhook_delivery SET status = $2 WHERE id = $1",
            &[&delivery_id, &status],
        )?;
        Ok(())
    }
}
