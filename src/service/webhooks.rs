//! Outgoing webhooks: administrators register endpoints; every change worth
//! telling becomes one delivery per subscribed endpoint, queued as a job
//! in the transaction of the change ([`emit`]) — a change that rolls back
//! sends nothing, a commit loses nothing (the job queue retries with
//! backoff, at least once).
//!
//! A delivery's body is serialised once, when it is queued, and sent as it
//! is on every attempt with the same `Afisha-Delivery` id (also on a
//! resend), so receivers can drop duplicates. Each attempt is recorded (the
//! delivery log). An endpoint whose attempts have all failed for
//! `webhooks.disable_after_hours` is disabled and every administrator is
//! told (WEBHOOK_DISABLED, in-app and email).
//!
//! **The signing secret** must be readable to sign, so it cannot be stored
//! as a digest: it is sealed with the data dir's key (`crate::secrets`,
//! XChaCha20-Poly1305), shown once when created or rotated, and never
//! returned, logged or written into a job or the delivery log.

use rand::RngCore;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::error::{DomainError, DomainResult};
use crate::domain::event::Event;
use crate::domain::notice::{Notice, WebhookFacts};
use crate::domain::time::Ts;
use crate::domain::webhook::{
    Attempt, DELIVERY_NOT_FOUND, Delivery, DeliveryStatus, Endpoint, EventObject, PING, UserObject,
    WEBHOOK_NOT_FOUND, WebhookEvent, WebhookType, body, failed_too_long,
};
use crate::service::jobs::{Claimed, Outcome};
use crate::service::{Services, outbox};
use crate::store::Tx;
use crate::store::jobs::NewJob;
use crate::store::webhooks::{NewDelivery, NewEndpoint};

/// Job kind of a webhook delivery.
pub const WEBHOOK: &str = "webhook";

/// Refusal of a resend or ping to a disabled endpoint.
pub use crate::domain::webhook::WEBHOOK_DISABLED;

/// The payload of a webhook job: only the delivery's id (the body is in
/// the delivery row, the secret with the endpoint).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WebhookJob {
    pub delivery: String,
}

/// Queues one delivery of `event` to every enabled endpoint subscribed to
/// its type, in the caller's transaction. Cheap when there are no
/// endpoints (one query).
pub fn emit(svc: &Services, tx: &mut dyn Tx, now: Ts, event: &WebhookEvent) -> DomainResult<()> {
    emit_with(svc, tx, now, event.kind(), |_| Ok(Some(event.data())))
}

/// [`emit`] whose `data` is made (by `make`, with the transaction) only
/// when some endpoint takes `kind`; `make` answering `None` sends nothing.
fn emit_with(
    svc: &Services,
    tx: &mut dyn Tx,
    now: Ts,
    kind: WebhookType,
    make: impl FnOnce(&mut dyn Tx) -> DomainResult<Option<serde_json::Value>>,
) -> DomainResult<()> {
    let endpoints: Vec<i64> = tx
        .webhook_endpoints()?
        .into_iter()
        .filter(|e| e.enabled && e.types.contains(&kind))
        .map(|e| e.id)
        .collect();
    if endpoints.is_empty() {
        return Ok(());
    }
    let Some(data) = make(tx)? else {
        return Ok(());
    };
    for endpoint_id in endpoints {
        queue_delivery(svc, tx, now, endpoint_id, kind.as_str(), data.clone())?;
    }
    Ok(())
}

/// A user as webhooks tell them; `None` for a deleted or unknown user.
fn user_object(tx: &mut dyn Tx, id: i64) -> DomainResult<Option<UserObject>> {
    Ok(tx.recipient(id)?.map(|r| UserObject {
        id,
        full_name: r.full_name,
        email: r.email,
    }))
}

fn event_object(tx: &mut dyn Tx, event: &Event) -> DomainResult<EventObject> {
    let count = tx.count_participating(event.id, None)?;
    Ok(EventObject::of(event, count))
}

/// `event.*` about `event` as it is now (after the change).
pub fn emit_event(
    svc: &Services,
    tx: &mut dyn Tx,
    now: Ts,
    kind: WebhookType,
    event: &Event,
) -> DomainResult<()> {
    emit_with(svc, tx, now, kind, |tx| {
        let event = event_object(tx, event)?;
        Ok(Some(WebhookEvent::Event(kind, event).data()))
    })
}

/// `participation.*` of user `user_id` in `event` (after the change).
pub fn emit_participation(
    svc: &Services,
    tx: &mut dyn Tx,
    now: Ts,
    kind: WebhookType,
    event: &Event,
    user_id: i64,
) -> DomainResult<()> {
    emit_with(svc, tx, now, kind, |tx| {
        let Some(user) = user_object(tx, user_id)? else {
            return Ok(None);
        };
        let event = event_object(tx, event)?;
        Ok(Some(WebhookEvent::Participation(kind, event, user).data()))
    })
}

/// `user.created` for a new account (registration, directory or identity
/// provider sign-up, `afisha user create`).
pub fn emit_user_created(svc: &Services, tx: &mut dyn Tx, now: Ts, id: i64) -> DomainResult<()> {
    let kind = WebhookType::UserCreated;
    emit_with(svc, tx, now, kind, |tx| {
        Ok(user_object(tx, id)?.map(|u| WebhookEvent::User(kind, u).data()))
    })
}

/// `user.deleted` for a user who is being deleted: called with the user as
/// it was (`user`), in the deleting transaction — the administrators'
/// `DELETE /users/{id}` and the account deletion of the personal-data work.
pub fn emit_user_deleted(
    svc: &Services,
    tx: &mut dyn Tx,
    now: Ts,
    user: UserObject,
) -> DomainResult<()> {
    emit(
        svc,
        tx,
        now,
        &WebhookEvent::User(WebhookType::UserDeleted, user),
    )
}

fn queue_delivery(
    svc: &Services,
    tx: &mut dyn Tx,
    now: Ts,
    endpoint_id: i64,
    kind: &str,
    data: serde_json::Value,
) -> DomainResult<String> {
    let id = Uuid::new_v4().to_string();
    let body = body(&id, kind, now, data);
    tx.insert_webhook_delivery(
        &NewDelivery {
            id: &id,
            endpoint_id,
            event_type: kind,
            body: &body,
        },
        now,
    )?;
    queue_job(svc, tx, &id, now)?;
    Ok(id)
}

fn queue_job(svc: &Services, tx: &mut dyn Tx, delivery_id: &str, now: Ts) -> DomainResult<()> {
    let payload = serde_json::to_value(WebhookJob {
        delivery: delivery_id.to_string(),
    })
    .map_err(DomainError::internal)?;
    tx.enqueue_job(
        &NewJob {
            kind: WEBHOOK,
            payload: &payload,
            secret: None,
            run_at: now,
            max_attempts: svc.config.webhooks.max_attempts,
            coalesce_key: None,
        },
        now,
    )?;
    Ok(())
}

/// A fresh signing secret: `whsec_` and 32 random bytes in hex.
fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("whsec_{}", hex::encode(bytes))
}

fn require(tx: &mut dyn Tx, id: i64) -> DomainResult<Endpoint> {
    tx.webhook_endpoint(id)?
        .ok_or_else(|| DomainError::not_found(WEBHOOK_NOT_FOUND))
}

/// Every endpoint, by id.
pub async fn list(svc: &Services) -> DomainResult<Vec<Endpoint>> {
    svc.store.read(|tx| tx.webhook_endpoints()).await
}

pub async fn get(svc: &Services, id: i64) -> DomainResult<Endpoint> {
    svc.store.read(move |tx| require(tx, id)).await
}

/// Registers an endpoint; returns it with its secret (shown this once).
/// `url` and `types` were checked by the caller
/// (`domain::webhook::check_url`, `parse_types`).
pub async fn create(
    svc: &Services,
    url: String,
    types: Vec<WebhookType>,
    enabled: bool,
) -> DomainResult<(Endpoint, String)> {
    let secret = new_secret();
    let sealed = svc.secrets.seal(&secret);
    let now = svc.now();
    let endpoint = svc
        .store
        .write(move |tx| {
            let id = tx.insert_webhook_endpoint(
                &NewEndpoint {
                    url: &url,
                    types: &types,
                    enabled,
                    secret_sealed: &sealed,
                },
                now,
            )?;
            require(tx, id)
        })
        .await?;
    Ok((endpoint, secret))
}

/// What an update changes (`None` keeps the field).
#[derive(Debug, Clone, Default)]
pub struct EndpointChanges {
    pub url: Option<String>,
    pub types: Option<Vec<WebhookType>>,
    pub enabled: Option<bool>,
}

/// Changes an endpoint. Enabling it (again) forgets the failures that
/// disabled it.
pub async fn update(svc: &Services, id: i64, changes: EndpointChanges) -> DomainResult<Endpoint> {
    let now = svc.now();
    svc.store
        .write(move |tx| {
            let mut endpoint = require(tx, id)?;
            if let Some(url) = changes.url {
                endpoint.url = url;
            }
            if let Some(types) = changes.types {
                endpoint.types = types;
            }
            if let Some(enabled) = changes.enabled {
                if enabled && !endpoint.enabled {
                    endpoint.failing_since = None;
                    endpoint.disabled_reason = None;
                }
                endpoint.enabled = enabled;
            }
            tx.save_webhook_endpoint(&endpoint, now)?;
            require(tx, id)
        })
        .await
}

/// Replaces an endpoint's secret; returns the new one (shown this once).
/// Deliveries sent from now on, retries included, are signed with it.
pub async fn rotate_secret(svc: &Services, id: i64) -> DomainResult<String> {
    let secret = new_secret();
    let sealed = svc.secrets.seal(&secret);
    let now = svc.now();
    svc.store
        .write(move |tx| {
            require(tx, id)?;
            tx.set_webhook_secret(id, &sealed, now)
        })
        .await?;
    Ok(secret)
}

/// Deletes an endpoint with its delivery log; its queued jobs find no
/// delivery and end.
pub async fn delete(svc: &Services, id: i64) -> DomainResult<()> {
    svc.store
        .write(move |tx| {
            if tx.delete_webhook_endpoint(id)? {
                Ok(())
            } else {
                Err(DomainError::not_found(WEBHOOK_NOT_FOUND))
            }
        })
        .await
}

/// A delivery with its attempts.
#[derive(Debug, Clone)]
pub struct LoggedDelivery {
    pub delivery: Delivery,
    pub attempts: Vec<Attempt>,
}

/// An endpoint's delivery log, newest first.
pub async fn deliveries(
    svc: &Services,
    endpoint_id: i64,
    limit: usize,
    offset: usize,
) -> DomainResult<Vec<LoggedDelivery>> {
    svc.store
        .read(move |tx| {
            require(tx, endpoint_id)?;
            let list = tx.webhook_deliveries(endpoint_id, limit, offset)?;
            list.into_iter()
                .map(|delivery| {
                    let attempts = tx.webhook_attempts(&delivery.id)?;
                    Ok(LoggedDelivery { delivery, attempts })
                })
                .collect()
        })
        .await
}

/// Sends a delivery again (same body, same `Afisha-Delivery` id) as a new
/// job with fresh attempts.
pub async fn resend(
    svc: &Services,
    endpoint_id: i64,
    delivery_id: String,
) -> DomainResult<Delivery> {
    let svc2 = svc.clone();
    let now = svc.now();
    svc.store
        .write(move |tx| {
            let endpoint = require(tx, endpoint_id)?;
            let delivery = tx
                .webhook_delivery(&delivery_id)?
                .filter(|d| d.endpoint_id == endpoint_id)
                .ok_or_else(|| DomainError::not_found(DELIVERY_NOT_FOUND))?;
            if !endpoint.enabled {
                return Err(DomainError::rule(WEBHOOK_DISABLED));
            }
            tx.set_webhook_delivery_status(&delivery.id, DeliveryStatus::Pending)?;
            queue_job(&svc2, tx, &delivery.id, now)?;
            tx.webhook_delivery(&delivery.id)?
                .ok_or_else(|| DomainError::not_found(DELIVERY_NOT_FOUND))
        })
        .await
}

/// Queues a test message (`type` "ping") to an endpoint; it appears in the
/// delivery log like any other.
pub async fn ping(svc: &Services, endpoint_id: i64) -> DomainResult<Delivery> {
    let svc2 = svc.clone();
    let now = svc.now();
    svc.store
        .write(move |tx| {
            let endpoint = require(tx, endpoint_id)?;
            if !endpoint.enabled {
                return Err(DomainError::rule(WEBHOOK_DISABLED));
            }
            let data = serde_json::json!({ "webhook_id": endpoint_id });
            let id = queue_delivery(&svc2, tx, now, endpoint_id, PING, data)?;
            tx.webhook_delivery(&id)?
                .ok_or_else(|| DomainError::not_found(DELIVERY_NOT_FOUND))
        })
        .await
}

/// What one attempt needs, read before sending.
struct Prepared {
    endpoint: Endpoint,
    sealed: String,
    body: String,
}

/// Runs one attempt of a webhook job (the scheduler's `webhook` kind):
/// reads the delivery, sends it outside any transaction, then records the
/// attempt, the endpoint's failure streak and, when it has failed long
/// enough, disables it and tells the administrators.
pub async fn deliver(svc: &Services, job: &Claimed) -> Outcome {
    let payload: WebhookJob = match serde_json::from_str(&job.payload) {
        Ok(p) => p,
        Err(e) => return Outcome::Fail(format!("malformed webhook payload: {e}")),
    };
    let delivery_id = payload.delivery;
    let id = delivery_id.clone();
    let prepared = svc
        .store
        .read(move |tx| {
            let Some(delivery) = tx.webhook_delivery(&id)? else {
                return Ok(None);
            };
            let endpoint = tx.webhook_endpoint(delivery.endpoint_id)?;
            let sealed = tx.webhook_secret(delivery.endpoint_id)?;
            let body = tx.webhook_delivery_body(&id)?;
            Ok(match (endpoint, sealed, body) {
                (Some(endpoint), Some(sealed), Some(body)) => Some(Prepared {
                    endpoint,
                    sealed,
                    body,
                }),
                _ => None,
            })
        })
        .await;
    let prepared = match prepared {
        Ok(Some(p)) => p,
        Ok(None) => return Outcome::Fail("the delivery or its endpoint was deleted".into()),
        Err(e) => return Outcome::Retry(format!("reading the delivery failed: {e}")),
    };
    if !prepared.endpoint.enabled {
        let error = "the endpoint is disabled".to_string();
        let id = delivery_id.clone();
        let _ = svc
            .store
            .write(move |tx| tx.set_webhook_delivery_status(&id, DeliveryStatus::Failed))
            .await;
        return Outcome::Fail(error);
    }
    let Some(secret) = svc.secrets.open_sealed(&prepared.sealed) else {
        return Outcome::Fail(
            "the endpoint's secret cannot be opened (was secret.key replaced?); rotate the secret"
                .into(),
        );
    };
    let message = crate::webhook_sender::Message {
        url: &prepared.endpoint.url,
        delivery_id: &delivery_id,
        body: &prepared.body,
        timestamp: svc.now().0.timestamp(),
    };
    let sent = crate::webhook_sender::send(&svc.config.webhooks, &message, &secret).await;
    drop(secret);
    let now = svc.now();
    let last = job.attempts >= job.max_attempts;
    let endpoint = prepared.endpoint;
    let hours = svc.config.webhooks.disable_after_hours;
    let svc2 = svc.clone();
    let sent2 = sent.clone();
    let recorded = svc
        .store
        .write(move |tx| {
            let Some(delivery) = tx.webhook_delivery(&delivery_id)? else {
                return Ok(false);
            };
            let success = sent2.success();
            let attempt = Attempt {
                attempt: delivery.attempts + 1,
                at: now,
                response_code: sent2.status,
                duration_ms: sent2.duration_ms,
                error: sent2.error.clone(),
                success,
            };
            let since = tx.webhook_endpoint_result(endpoint.id, success, now)?;
            let mut disabled = false;
            if !success
                && failed_too_long(since, now, hours)
                && tx.disable_webhook_endpoint(
                    endpoint.id,
                    &format!("failing for {hours} h"),
                    now,
                )?
            {
                disabled = true;
                let notice = Notice::WebhookDisabled(WebhookFacts {
                    id: endpoint.id,
                    url: endpoint.url.clone(),
                    error: sent2.error.clone().unwrap_or_default(),
                });
                let admins = outbox::admins(tx)?;
                outbox::notify_at(&svc2, tx, now, &notice, &admins)?;
            }
            let status = match (success, last || disabled) {
                (true, _) => DeliveryStatus::Delivered,
                (false, true) => DeliveryStatus::Failed,
                (false, false) => DeliveryStatus::Pending,
            };
            tx.record_webhook_attempt(&delivery.id, &attempt, status)?;
            if disabled {
                tracing::warn!(
                    webhook = endpoint.id,
                    "webhook endpoint disabled after failing for {hours} h"
                );
            }
            Ok(disabled)
        })
        .await;
    match (sent.error, recorded) {
        (None, _) => Outcome::Done,
        (Some(error), Ok(true)) => Outcome::Fail(format!("{error}; the endpoint was disabled")),
        (Some(error), _) => Outcome::Retry(error),
    }
}
