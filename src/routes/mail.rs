//! Email delivery for administrators: `GET /api/admin/outbox`, retrying,
//! `POST /api/admin/email/test` and `GET /api/admin/health` (database,
//! storage, mail). `GET /api/health` stays the cheap public probe.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::{Admin, AuditedAdmin};
use crate::config::StorageBackend;
use crate::domain::time::Ts;
use crate::http::error::{AppResult, ErrorBody, ValidationErrorBody};
use crate::http::extract::{Body, Checks, Input, Page, Path, Query};
use crate::service::mail::{self, OutboxFilter, OutboxItem, OutboxStatus};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_outbox))
        .routes(routes!(retry_one))
        .routes(routes!(retry_failed))
        .routes(routes!(test_email))
        .routes(routes!(admin_health))
}

/// One email in the outbox. Never the body or a secret (codes, links,
/// passwords).
#[derive(Debug, Serialize, ToSchema)]
pub struct OutboxItemDto {
    pub id: i64,
    /// `queued` (waiting, or waiting to retry after a failed attempt),
    /// `sent` or `failed` (given up; retry puts it back).
    #[schema(value_type = String, example = "queued")]
    pub status: OutboxStatus,
    /// The recipient's address.
    pub recipient: String,
    pub recipient_name: String,
    /// The notification type, e.g. `EVENT_UPDATED`.
    #[serde(rename = "type")]
    pub kind: String,
    pub subject: String,
    pub attempts: u32,
    pub max_attempts: u32,
    /// When a queued email is tried (next); `null` otherwise.
    pub next_attempt_at: Option<Ts>,
    /// The last failed attempt's error (an SMTP server's reply, …).
    pub last_error: Option<String>,
    pub created_at: Ts,
    pub sent_at: Option<Ts>,
    pub failed_at: Option<Ts>,
}

impl From<OutboxItem> for OutboxItemDto {
    fn from(i: OutboxItem) -> Self {
        OutboxItemDto {
            id: i.id,
            status: i.status,
            recipient: i.recipient,
            recipient_name: i.recipient_name,
            kind: i.kind,
            subject: i.subject,
            attempts: i.attempts,
            max_attempts: i.max_attempts,
            next_attempt_at: i.next_attempt_at,
            last_error: i.last_error,
            created_at: i.created_at,
            sent_at: i.sent_at,
            failed_at: i.failed_at,
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum StatusParam {
    Queued,
    Sent,
    Failed,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OutboxQuery {
    /// Only emails in this state; all when absent.
    #[param(inline)]
    status: Option<StatusParam>,
    /// Page size, default 50, clamped to 1..200.
    limit: Option<i64>,
    /// Items to skip (not negative).
    offset: Option<i64>,
}

impl OutboxQuery {
    fn page(&self) -> Page {
        Page {
            limit: self.limit,
            offset: self.offset,
        }
    }
}

impl Input for OutboxQuery {
    fn check(&mut self, c: &mut Checks) {
        self.page().check(c);
    }
}

/// Email jobs, newest first.
#[utoipa::path(get, path = "/admin/outbox", tag = "mail", params(OutboxQuery),
    security(("session_uid" = [], "session_token" = [])),
    responses((status = 200, body = Vec<OutboxItemDto>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ValidationErrorBody)))]
async fn list_outbox(
    Admin(_admin): Admin,
    State(state): State<AppState>,
    Query(q): Query<OutboxQuery>,
) -> AppResult<Json<Vec<OutboxItemDto>>> {
    let filter = match q.status {
        None => OutboxFilter::All,
        Some(StatusParam::Queued) => OutboxFilter::Queued,
        Some(StatusParam::Sent) => OutboxFilter::Sent,
        Some(StatusParam::Failed) => OutboxFilter::Failed,
    };
    let page = q.page();
    let items = mail::outbox(
        &state.svc,
        &state.render,
        filter,
        page.limit_or(50, 200) as usize,
        page.offset() as usize,
    )
    .await?;
    Ok(Json(items.into_iter().map(Into::into).collect()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct OutboxPath {
    pub id: i64,
}

/// Try an email again now: a failed one is queued again (attempts start
/// over), one waiting to retry runs at once.
#[utoipa::path(post, path = "/admin/outbox/{id}/retry", tag = "mail", params(OutboxPath),
    security(("session_uid" = [], "session_token" = [])),
    responses((status = 204, description = "Queued"),
        (status = 400, body = ErrorBody, description = "Sent already, or being sent"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn retry_one(
    AuditedAdmin(_me, actor): AuditedAdmin,
    State(state): State<AppState>,
    Path(OutboxPath { id }): Path<OutboxPath>,
) -> AppResult<StatusCode> {
    mail::retry(&state.svc, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Retried {
    /// How many emails were queued again.
    pub queued: usize,
}

/// Try every failed email again, and every email waiting to retry now.
#[utoipa::path(post, path = "/admin/outbox/retry-failed", tag = "mail",
    security(("session_uid" = [], "session_token" = [])),
    responses((status = 200, body = Retried), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
async fn retry_failed(
    AuditedAdmin(_me, actor): AuditedAdmin,
    State(state): State<AppState>,
) -> AppResult<Json<Retried>> {
    let queued = mail::retry_all_failed(&state.svc, &actor).await?;
    Ok(Json(Retried { queued }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct TestEmailRequest {
    /// Where to send the test message.
    to: String,
}

impl Input for TestEmailRequest {
    fn check(&mut self, c: &mut Checks) {
        c.email("to", &mut self.to);
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TestEmailOutcome {
    /// Whether the backend accepted the message.
    pub sent: bool,
    /// `console`, `file` or `smtp`.
    pub backend: &'static str,
    /// Why not (the SMTP server's reply, a connection error, …).
    pub error: Option<String>,
}

/// Send a test message through the configured backend now (not through
/// the queue) and answer how that went; a failure is still a 200 answer.
#[utoipa::path(post, path = "/admin/email/test", tag = "mail", request_body = TestEmailRequest,
    security(("session_uid" = [], "session_token" = [])),
    responses((status = 200, body = TestEmailOutcome), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ValidationErrorBody)))]
async fn test_email(
    AuditedAdmin(_me, actor): AuditedAdmin,
    State(state): State<AppState>,
    Body(req): Body<TestEmailRequest>,
) -> AppResult<Json<TestEmailOutcome>> {
    let outcome = mail::send_test_audited(&state.svc, &actor, &req.to).await?;
    Ok(Json(TestEmailOutcome {
        sent: outcome.sent,
        backend: outcome.backend,
        error: outcome.error,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PartHealth {
    /// `ok` or `unavailable`.
    pub status: &'static str,
    /// `sqlite`/`postgres`; `fs`/`s3`.
    pub backend: &'static str,
    pub error: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MailHealthDto {
    /// `ok`, or `failing` while emails fail (waiting to retry, or failed
    /// after the latest delivery).
    pub status: &'static str,
    /// `console`, `file` or `smtp`.
    pub backend: &'static str,
    pub last_sent_at: Option<Ts>,
    /// Emails not delivered yet.
    pub queued: i64,
    /// Emails failing now.
    pub failing: i64,
    /// Failed emails (given up on), however old.
    pub failed: i64,
    /// The error of the newest failing email.
    pub last_error: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AdminHealth {
    /// `ok` when every part is; `degraded` otherwise.
    pub status: &'static str,
    pub database: PartHealth,
    pub storage: PartHealth,
    pub mail: MailHealthDto,
}

/// Database, image storage and email delivery, for administrators.
#[utoipa::path(get, path = "/admin/health", tag = "mail",
    security(("session_uid" = [], "session_token" = [])),
    responses((status = 200, body = AdminHealth), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
async fn admin_health(
    Admin(_admin): Admin,
    State(state): State<AppState>,
) -> AppResult<Json<AdminHealth>> {
    let svc = &state.svc;
    let part = |backend, result: Result<(), String>| PartHealth {
        status: if result.is_ok() { "ok" } else { "unavailable" },
        backend,
        error: result.err(),
    };
    let database = part(
        svc.store.backend_name(),
        svc.store.ping().await.map_err(|e| e.to_string()),
    );
    let storage_backend = match state.config.storage.backend {
        StorageBackend::Fs => "fs",
        StorageBackend::S3 => "s3",
    };
    let storage = part(
        storage_backend,
        svc.storage
            .exists("health-check-probe")
            .await
            .map(|_| ())
            .map_err(|e| e.to_string()),
    );
    let mail = match mail::health(svc).await {
        Ok(m) => MailHealthDto {
            status: if m.failing { "failing" } else { "ok" },
            backend: m.backend,
            last_sent_at: m.stats.last_sent_at,
            queued: m.stats.queued,
            failing: m.stats.failing,
            failed: m.stats.failed,
            last_error: m.stats.last_error,
        },
        Err(e) => MailHealthDto {
            status: "unknown",
            backend: mail::backend_name(&state.config),
            last_sent_at: None,
            queued: 0,
            failing: 0,
            failed: 0,
            last_error: Some(e.to_string()),
        },
    };
    let ok = database.status == "ok" && storage.status == "ok" && mail.status == "ok";
    Ok(Json(AdminHealth {
        status: if ok { "ok" } else { "degraded" },
        database,
        storage,
        mail,
    }))
}
