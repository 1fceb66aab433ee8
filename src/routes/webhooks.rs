//! Outgoing webhooks (administrators): endpoints, their delivery log,
//! resend and ping. See README "Webhooks" for the messages sent.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::Admin;
use crate::domain::time::Ts;
use crate::domain::webhook::{Attempt, Delivery, Endpoint, WebhookType, check_url};
use crate::http::error::{AppResult, ErrorBody, ValidationErrorBody};
use crate::http::extract::{Body, Checks, Input, Page, Path, Query};
use crate::service::webhooks::{self, EndpointChanges, LoggedDelivery};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_webhooks, create_webhook))
        .routes(routes!(get_webhook, update_webhook, delete_webhook))
        .routes(routes!(rotate_secret))
        .routes(routes!(list_deliveries))
        .routes(routes!(resend_delivery))
        .routes(routes!(ping_webhook))
}

/// A registered endpoint; its secret is never shown here.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WebhookDto {
    pub id: i64,
    pub url: String,
    /// Subscribed types, e.g. `event.created`.
    pub event_types: Vec<String>,
    pub enabled: bool,
    pub created_at: Ts,
    pub updated_at: Ts,
    /// The first failed attempt since the last success; `null` = not failing.
    pub failing_since: Option<Ts>,
    /// Why the server disabled it (failing for `webhooks.disable_after_hours`).
    pub disabled_reason: Option<String>,
}

impl From<Endpoint> for WebhookDto {
    fn from(e: Endpoint) -> Self {
        WebhookDto {
            id: e.id,
            url: e.url,
            event_types: e.types.iter().map(|t| t.as_str().to_string()).collect(),
            enabled: e.enabled,
            created_at: e.created_at,
            updated_at: e.updated_at,
            failing_since: e.failing_since,
            disabled_reason: e.disabled_reason,
        }
    }
}

/// A new endpoint with its signing secret, shown this once.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WebhookCreatedDto {
    #[serde(flatten)]
    pub webhook: WebhookDto,
    /// Signs every delivery (`Afisha-Signature`); keep it, it is not
    /// shown again.
    pub secret: String,
}

/// A rotated secret, shown this once.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WebhookSecretDto {
    pub secret: String,
}

/// One HTTP attempt of a delivery.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttemptDto {
    pub attempt: u32,
    pub at: Ts,
    pub response_code: Option<u16>,
    pub duration_ms: i64,
    pub error: Option<String>,
    pub success: bool,
}

impl From<Attempt> for AttemptDto {
    fn from(a: Attempt) -> Self {
        AttemptDto {
            attempt: a.attempt,
            at: a.at,
            response_code: a.response_code,
            duration_ms: a.duration_ms,
            error: a.error,
            success: a.success,
        }
    }
}

/// One delivery: its id is the `Afisha-Delivery` header, the same on every
/// attempt and resend.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeliveryDto {
    pub id: String,
    pub webhook_id: i64,
    /// The message type (`event.created`, …, or `ping`).
    pub event_type: String,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    pub attempts: u32,
    pub created_at: Ts,
    pub last_attempt_at: Option<Ts>,
    pub response_code: Option<u16>,
    pub duration_ms: Option<i64>,
    pub error: Option<String>,
    /// Every attempt, in order (empty in the answers of resend and ping).
    pub attempt_log: Vec<AttemptDto>,
}

impl DeliveryDto {
    fn of(d: Delivery, attempts: Vec<Attempt>) -> DeliveryDto {
        DeliveryDto {
            id: d.id,
            webhook_id: d.endpoint_id,
            event_type: d.event_type,
            status: d.status.as_str().to_string(),
            attempts: d.attempts,
            created_at: d.created_at,
            last_attempt_at: d.last_attempt_at,
            response_code: d.response_code,
            duration_ms: d.duration_ms,
            error: d.error,
            attempt_log: attempts.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<LoggedDelivery> for DeliveryDto {
    fn from(l: LoggedDelivery) -> Self {
        DeliveryDto::of(l.delivery, l.attempts)
    }
}

fn check_types(c: &mut Checks, types: &[String]) {
    for t in types {
        if WebhookType::parse(t.trim()).is_none() {
            c.fail(
                "event_types",
                format!(
                    "Unknown event type '{t}'; one of: {}",
                    WebhookType::ALL.map(WebhookType::as_str).join(", ")
                ),
                "value_error",
            );
        }
    }
}

fn parse_types(types: &[String]) -> Vec<WebhookType> {
    WebhookType::ALL
        .into_iter()
        .filter(|t| types.iter().any(|s| s.trim() == t.as_str()))
        .collect()
}

fn check_url_field(c: &mut Checks, url: &mut String) {
    match check_url(url) {
        Ok(trimmed) => *url = trimmed,
        Err(msg) => c.fail("url", msg, "value_error"),
    }
}

/// Body of `POST /admin/webhooks`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct WebhookCreate {
    /// `http://` or `https://`.
    pub url: String,
    /// Types to receive: `event.created|updated|cancelled|restored`,
    /// `participation.joined|left|waitlisted|promoted`,
    /// `user.created|deleted`.
    pub event_types: Vec<String>,
    /// Default `true`.
    pub enabled: Option<bool>,
}

impl Input for WebhookCreate {
    fn check(&mut self, c: &mut Checks) {
        check_url_field(c, &mut self.url);
        check_types(c, &self.event_types);
    }
}

/// Body of `PUT /admin/webhooks/{webhook_id}`: absent fields are kept.
/// Enabling a disabled endpoint forgets its failures.
#[derive(Debug, Deserialize, ToSchema)]
pub struct WebhookUpdate {
    pub url: Option<String>,
    pub event_types: Option<Vec<String>>,
    pub enabled: Option<bool>,
}

impl Input for WebhookUpdate {
    fn check(&mut self, c: &mut Checks) {
        if let Some(url) = &mut self.url {
            check_url_field(c, url);
        }
        if let Some(types) = &self.event_types {
            check_types(c, types);
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct WebhookPath {
    pub webhook_id: i64,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct DeliveryPath {
    pub webhook_id: i64,
    pub delivery_id: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveriesQuery {
    /// Page size, default 50, clamped to 1..200.
    limit: Option<i64>,
    /// Items to skip (not negative).
    offset: Option<i64>,
}

impl DeliveriesQuery {
    fn page(&self) -> Page {
        Page {
            limit: self.limit,
            offset: self.offset,
        }
    }
}

impl Input for DeliveriesQuery {
    fn check(&mut self, c: &mut Checks) {
        self.page().check(c);
    }
}

/// Every webhook endpoint.
#[utoipa::path(get, path = "/admin/webhooks", tag = "webhooks",
    security(("session_uid" = [], "session_token" = [])),
    responses((status = 200, body = Vec<WebhookDto>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
async fn list_webhooks(
    Admin(_admin): Admin,
    State(state): State<AppState>,
) -> AppResult<Json<Vec<WebhookDto>>> {
    let list = webhooks::list(&state.svc).await?;
    Ok(Json(list.into_iter().map(Into::into).collect()))
}

/// Register an endpoint; the answer holds its secret, shown this once.
#[utoipa::path(post, path = "/admin/webhooks", tag = "webhooks",
    security(("session_uid" = [], "session_token" = [])),
    request_body = WebhookCreate,
    responses((status = 201, body = WebhookCreatedDto), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ValidationErrorBody)))]
async fn create_webhook(
    Admin(_admin): Admin,
    State(state): State<AppState>,
    Body(body): Body<WebhookCreate>,
) -> AppResult<(StatusCode, Json<WebhookCreatedDto>)> {
    let (endpoint, secret) = webhooks::create(
        &state.svc,
        body.url,
        parse_types(&body.event_types),
        body.enabled.unwrap_or(true),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(WebhookCreatedDto {
            webhook: endpoint.into(),
            secret,
        }),
    ))
}

/// One endpoint.
#[utoipa::path(get, path = "/admin/webhooks/{webhook_id}", tag = "webhooks",
    security(("session_uid" = [], "session_token" = [])), params(WebhookPath),
    responses((status = 200, body = WebhookDto), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "Webhook not found")))]
async fn get_webhook(
    Admin(_admin): Admin,
    State(state): State<AppState>,
    Path(WebhookPath { webhook_id }): Path<WebhookPath>,
) -> AppResult<Json<WebhookDto>> {
    Ok(Json(webhooks::get(&state.svc, webhook_id).await?.into()))
}

/// Change the URL, the types or the enabled flag.
#[utoipa::path(put, path = "/admin/webhooks/{webhook_id}", tag = "webhooks",
    security(("session_uid" = [], "session_token" = [])), params(WebhookPath),
    request_body = WebhookUpdate,
    responses((status = 200, body = WebhookDto), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "Webhook not found"),
        (status = 422, body = ValidationErrorBody)))]
async fn update_webhook(
    Admin(_admin): Admin,
    State(state): State<AppState>,
    Path(WebhookPath { webhook_id }): Path<WebhookPath>,
    Body(body): Body<WebhookUpdate>,
) -> AppResult<Json<WebhookDto>> {
    let changes = EndpointChanges {
        url: body.url,
        types: body.event_types.as_deref().map(parse_types),
        enabled: body.enabled,
    };
    Ok(Json(
        webhooks::update(&state.svc, webhook_id, changes)
            .await?
            .into(),
    ))
}

/// Delete an endpoint and its delivery log.
#[utoipa::path(delete, path = "/admin/webhooks/{webhook_id}", tag = "webhooks",
    security(("session_uid" = [], "session_token" = [])), params(WebhookPath),
    responses((status = 204, description = "Deleted"), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "Webhook not found")))]
async fn delete_webhook(
    Admin(_admin): Admin,
    State(state): State<AppState>,
    Path(WebhookPath { webhook_id }): Path<WebhookPath>,
) -> AppResult<StatusCode> {
    webhooks::delete(&state.svc, webhook_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Replace the signing secret; the answer holds the new one, shown this
/// once.
#[utoipa::path(post, path = "/admin/webhooks/{webhook_id}/rotate-secret", tag = "webhooks",
    security(("session_uid" = [], "session_token" = [])), params(WebhookPath),
    responses((status = 200, body = WebhookSecretDto), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "Webhook not found")))]
async fn rotate_secret(
    Admin(_admin): Admin,
    State(state): State<AppState>,
    Path(WebhookPath { webhook_id }): Path<WebhookPath>,
) -> AppResult<Json<WebhookSecretDto>> {
    let secret = webhooks::rotate_secret(&state.svc, webhook_id).await?;
    Ok(Json(WebhookSecretDto { secret }))
}

/// The delivery log of an endpoint, newest first, each with its attempts.
#[utoipa::path(get, path = "/admin/webhooks/{webhook_id}/deliveries", tag = "webhooks",
    security(("session_uid" = [], "session_token" = [])), params(WebhookPath, DeliveriesQuery),
    responses((status = 200, body = Vec<DeliveryDto>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "Webhook not found"),
        (status = 422, body = ValidationErrorBody)))]
async fn list_deliveries(
    Admin(_admin): Admin,
    State(state): State<AppState>,
    Path(WebhookPath { webhook_id }): Path<WebhookPath>,
    Query(q): Query<DeliveriesQuery>,
) -> AppResult<Json<Vec<DeliveryDto>>> {
    let page = q.page();
    let list = webhooks::deliveries(
        &state.svc,
        webhook_id,
        page.limit_or(50, 200) as usize,
        page.offset() as usize,
    )
    .await?;
    Ok(Json(list.into_iter().map(Into::into).collect()))
}

/// Send a delivery again: same body, same `Afisha-Delivery` id, fresh
/// attempts.
#[utoipa::path(post, path = "/admin/webhooks/{webhook_id}/deliveries/{delivery_id}/resend",
    tag = "webhooks", security(("session_uid" = [], "session_token" = [])), params(DeliveryPath),
    responses((status = 202, body = DeliveryDto), (status = 400, body = ErrorBody,
            description = "Webhook is disabled"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "Webhook not found / Delivery not found")))]
async fn resend_delivery(
    Admin(_admin): Admin,
    State(state): State<AppState>,
    Path(DeliveryPath {
        webhook_id,
        delivery_id,
    }): Path<DeliveryPath>,
) -> AppResult<(StatusCode, Json<DeliveryDto>)> {
    let d = webhooks::resend(&state.svc, webhook_id, delivery_id).await?;
    Ok((StatusCode::ACCEPTED, Json(DeliveryDto::of(d, Vec::new()))))
}

/// Queue a test message (`"type": "ping"`); it shows in the delivery log.
#[utoipa::path(post, path = "/admin/webhooks/{webhook_id}/ping", tag = "webhooks",
    security(("session_uid" = [], "session_token" = [])), params(WebhookPath),
    responses((status = 202, body = DeliveryDto), (status = 400, body = ErrorBody,
            description = "Webhook is disabled"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "Webhook not found")))]
async fn ping_webhook(
    Admin(_admin): Admin,
    State(state): State<AppState>,
    Path(WebhookPath { webhook_id }): Path<WebhookPath>,
) -> AppResult<(StatusCode, Json<DeliveryDto>)> {
    let d = webhooks::ping(&state.svc, webhook_id).await?;
    Ok((StatusCode::ACCEPTED, Json(DeliveryDto::of(d, Vec::new()))))
}
