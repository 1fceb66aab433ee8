//! `GET /admin/audit` and `GET /admin/audit.csv`: the audit log for
//! administrators, filtered and paged. No route changes or deletes an
//! entry (the paths answer 405 to anything but GET).

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::Admin;
use crate::domain::audit::{Action, Entry, Filter, TargetType};
use crate::domain::error::DomainError;
use crate::domain::time::Ts;
use crate::http::error::{AppError, AppResult, ErrorBody, ValidationErrorBody};
use crate::http::extract::{Checks, Input, Query};
use crate::routes::export::neutralise;
use crate::service::audit;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_audit))
        .routes(routes!(export_audit))
}

/// Entries a CSV export holds at most (newest first).
pub const CSV_MAX_ROWS: i64 = 100_000;

/// Filters of both audit routes.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only this user's actions.
    pub actor_id: Option<i64>,
    /// Case-insensitive substring of the actor's email (as it was then).
    pub actor: Option<String>,
    pub action: Option<Action>,
    pub target_type: Option<TargetType>,
    /// The target's id (with `target_type`), e.g. a user or event id.
    pub target_id: Option<String>,
    /// Inclusive lower bound on the time.
    #[param(value_type = Option<String>, format = DateTime)]
    pub from: Option<Ts>,
    /// Inclusive upper bound on the time.
    #[param(value_type = Option<String>, format = DateTime)]
    pub to: Option<Ts>,
    /// Page size, default 50, clamped to 1..500 (ignored by the CSV).
    pub limit: Option<i64>,
    /// Entries to skip (ignored by the CSV).
    pub offset: Option<i64>,
    /// `json` (default) or `csv` (the same as `/admin/audit.csv`).
    pub format: Option<String>,
}

impl Input for AuditQuery {
    fn check(&mut self, c: &mut Checks) {
        c.non_negative("offset", self.offset.unwrap_or(0));
        if let Some(actor) = &self.actor {
            c.max_len("actor", actor, 254);
        }
        if let Some(id) = &self.target_id {
            c.max_len("target_id", id, 254);
        }
    }
}

impl AuditQuery {
    fn filter(&self, limit: Option<i64>, offset: i64) -> Filter {
        Filter {
            actor_id: self.actor_id,
            actor: self.actor.clone().filter(|a| !a.trim().is_empty()),
            action: self.action,
            target_type: self.target_type,
            target_id: self.target_id.clone().filter(|t| !t.is_empty()),
            from: self.from,
            to: self.to,
            limit,
            offset,
        }
    }
}

/// One audit entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntryDto {
    pub id: i64,
    pub at: Ts,
    /// `null` for a tool (the CLI, the directory, the debug routes).
    pub actor_id: Option<i64>,
    /// The actor's email when the entry was written (or the tool's name).
    pub actor_email: Option<String>,
    /// The client address (`server.trusted_proxies` applied).
    pub ip: Option<String>,
    pub action: Action,
    pub target_type: TargetType,
    pub target_id: Option<String>,
    /// Changed fields: `{"field": {"before": …, "after": …}}`; secrets
    /// appear as `"[redacted]"`.
    #[schema(value_type = std::collections::BTreeMap<String, FieldChange>)]
    pub changes: serde_json::Value,
}

/// One changed field of an audit entry (documentation of `changes`).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct FieldChange {
    #[schema(value_type = Value)]
    before: serde_json::Value,
    #[schema(value_type = Value)]
    after: serde_json::Value,
}

impl From<Entry> for AuditEntryDto {
    fn from(e: Entry) -> Self {
        AuditEntryDto {
            id: e.id,
            at: e.at,
            actor_id: e.actor.user_id,
            actor_email: e.actor.email,
            ip: e.actor.ip,
            action: e.action,
            target_type: e.target.kind,
            target_id: e.target.id,
            changes: e.changes,
        }
    }
}

/// A page of the audit log.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    /// Newest first.
    pub items: Vec<AuditEntryDto>,
    /// Entries matching the filters in all.
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

/// The audit log, newest first, filtered and paged (`?format=csv`: the
/// CSV file).
#[utoipa::path(get, path = "/admin/audit", tag = "audit",
    security(("session_uid" = [], "session_token" = [])),
    params(AuditQuery),
    responses(
        (status = 200, body = AuditPage, description = "A page (or, with `format=csv`, the CSV file)"),
        (status = 400, body = ErrorBody, description = "Unsupported format"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 422, body = ValidationErrorBody),
    ))]
async fn list_audit(
    Admin(_admin): Admin,
    State(state): State<AppState>,
    Query(query): Query<AuditQuery>,
) -> AppResult<Response> {
    match query.format.as_deref().map(str::trim) {
        None | Some("") | Some("json") => {}
        Some("csv") => return csv_response(&state, &query).await,
        Some(_) => return Err(DomainError::rule("Unsupported format").into()),
    }
    let limit = query.limit.unwrap_or(50).clamp(1, 500);
    let offset = query.offset.unwrap_or(0).max(0);
    let page = audit::list(&state.svc, query.filter(Some(limit), offset)).await?;
    Ok(Json(AuditPage {
        items: page.entries.into_iter().map(AuditEntryDto::from).collect(),
        total: page.total,
        limit,
        offset,
    })
    .into_response())
}

/// The audit log as CSV (newest first, every entry matching the filters,
/// at most 100 000), safe to open in a spreadsheet.
#[utoipa::path(get, path = "/admin/audit.csv", tag = "audit",
    security(("session_uid" = [], "session_token" = [])),
    params(AuditQuery),
    responses(
        (status = 200, description = "The CSV file", content((String = "text/csv"))),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 422, body = ValidationErrorBody),
    ))]
async fn export_audit(
    Admin(_admin): Admin,
    State(state): State<AppState>,
    Query(query): Query<AuditQuery>,
) -> AppResult<Response> {
    csv_response(&state, &query).await
}

/// The CSV's columns.
pub const COLUMNS: [&str; 9] = [
    "id",
    "at",
    "actor_id",
    "actor_email",
    "ip",
    "action",
    "target_type",
    "target_id",
    "changes",
];

async fn csv_response(state: &AppState, query: &AuditQuery) -> AppResult<Response> {
    let page = audit::list(&state.svc, query.filter(Some(CSV_MAX_ROWS), 0)).await?;
    let fail = |e: csv::Error| AppError::from(DomainError::internal(format!("csv: {e}")));
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(COLUMNS).map_err(fail)?;
    for e in page.entries {
        let dto = AuditEntryDto::from(e);
        let text = |v: &serde_json::Value| match v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        out.write_record([
            dto.id.to_string(),
            dto.at.to_string(),
            dto.actor_id.map(|i| i.to_string()).unwrap_or_default(),
            neutralise(&dto.actor_email.unwrap_or_default()),
            neutralise(&dto.ip.unwrap_or_default()),
            text(&serde_json::to_value(dto.action).unwrap_or_default()),
            text(&serde_json::to_value(dto.target_type).unwrap_or_default()),
            neutralise(&dto.target_id.unwrap_or_default()),
            neutralise(&dto.changes.to_string()),
        ])
        .map_err(fail)?;
    }
    let bytes = out
        .into_inner()
        .map_err(|e| AppError::from(DomainError::internal(format!("csv: {e}"))))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"audit.csv\"",
            ),
        ],
        bytes,
    )
        .into_response())
}
