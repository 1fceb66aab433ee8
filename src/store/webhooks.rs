//! Queries of outgoing webhooks: endpoints, deliveries and their attempts.

use crate::domain::error::DomainResult;
use crate::domain::time::Ts;
use crate::domain::webhook::{Attempt, Delivery, DeliveryStatus, Endpoint, WebhookType};

/// An endpoint to insert.
#[derive(Debug, Clone)]
pub struct NewEndpoint<'a> {
    pub url: &'a str,
    pub types: &'a [WebhookType],
    pub enabled: bool,
    /// The signing secret, sealed (`crate::secrets`).
    pub secret_sealed: &'a str,
}

/// A delivery to insert (status pending, no attempt yet).
#[derive(Debug, Clone)]
pub struct NewDelivery<'a> {
    pub id: &'a str,
    pub endpoint_id: i64,
    pub event_type: &'a str,
    pub body: &'a str,
}

/// The types as stored: comma-separated names.
pub fn types_text(types: &[WebhookType]) -> String {
    types
        .iter()
        .map(|t| t.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// The types from their stored text (unknown names are skipped).
pub fn types_of(text: &str) -> Vec<WebhookType> {
    text.split(',').filter_map(WebhookType::parse).collect()
}

pub trait WebhookStore {
    /// Every endpoint, by id.
    fn webhook_endpoints(&mut self) -> DomainResult<Vec<Endpoint>>;
    fn webhook_endpoint(&mut self, id: i64) -> DomainResult<Option<Endpoint>>;
    /// The sealed signing secret of an endpoint.
    fn webhook_secret(&mut self, id: i64) -> DomainResult<Option<String>>;
    fn insert_webhook_endpoint(&mut self, new: &NewEndpoint<'_>, now: Ts) -> DomainResult<i64>;
    /// Saves URL, types, enabled flag, `failing_since` and
    /// `disabled_reason` (by id), and sets `updated_at` to `now`.
    fn save_webhook_endpoint(&mut self, endpoint: &Endpoint, now: Ts) -> DomainResult<()>;
    fn set_webhook_secret(&mut self, id: i64, sealed: &str, now: Ts) -> DomainResult<()>;
    /// Deletes an endpoint with its deliveries; whether it existed.
    fn delete_webhook_endpoint(&mut self, id: i64) -> DomainResult<bool>;
    /// Records how an attempt to the endpoint ended: a success clears
    /// `failing_since`, a failure sets it unless set. Returns it after.
    fn webhook_endpoint_result(
        &mut self,
        id: i64,
        success: bool,
        now: Ts,
    ) -> DomainResult<Option<Ts>>;
    /// Disables an enabled endpoint with `reason`; whether it was enabled
    /// (so that of two concurrent callers one disables it).
    fn disable_webhook_endpoint(&mut self, id: i64, reason: &str, now: Ts) -> DomainResult<bool>;

    fn insert_webhook_delivery(&mut self, new: &NewDelivery<'_>, now: Ts) -> DomainResult<()>;
    fn webhook_delivery(&mut self, id: &str) -> DomainResult<Option<Delivery>>;
    /// The exact body a delivery sends.
    fn webhook_delivery_body(&mut self, id: &str) -> DomainResult<Option<String>>;
    /// An endpoint's deliveries, newest first.
    fn webhook_deliveries(
        &mut self,
        endpoint_id: i64,
        limit: usize,
        offset: usize,
    ) -> DomainResult<Vec<Delivery>>;
    /// The attempts of a delivery, in order.
    fn webhook_attempts(&mut self, delivery_id: &str) -> DomainResult<Vec<Attempt>>;
    /// Records an attempt and sets the delivery's status and latest
    /// attempt figures.
    fn record_webhook_attempt(
        &mut self,
        delivery_id: &str,
        attempt: &Attempt,
        status: DeliveryStatus,
    ) -> DomainResult<()>;
    /// Deletes finished (not pending) deliveries queued before `before`,
    /// with their attempts; returns how many.
    fn sweep_webhook_deliveries(&mut self, before: Ts) -> DomainResult<usize>;
    fn set_webhook_delivery_status(
        &mut self,
        delivery_id: &str,
        status: DeliveryStatus,
    ) -> DomainResult<()>;
}
