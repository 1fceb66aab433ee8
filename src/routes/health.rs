//! `GET /api/health`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::http::error::{AppError, AppResult, ErrorBody, ValidationErrorBody};
use crate::http::extract::{Input, Query};
use crate::state::AppState;

/// The answer. Without `details` it is exactly `{"status": "ok"}`, the
/// contract's (API.md) body that load balancers and the original's clients
/// compare; `details=true` adds what an operator asks of one instance.
#[derive(Serialize, ToSchema)]
pub struct Health {
    /// Always `ok`.
    status: &'static str,
    /// With `details=true`: the database backend this instance runs on,
    /// `sqlite` or `postgres`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "sqlite")]
    database: Option<&'static str>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HealthQuery {
    /// Also name the database backend. Accepts `true/false`, `1/0`,
    /// `yes/no`, `on/off`, `t/f`, `y/n` in any case.
    #[serde(default, deserialize_with = "crate::http::extract::query_bool")]
    #[param(value_type = Option<bool>)]
    details: bool,
}

impl Input for HealthQuery {}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(health))
}

/// Whether the server and its database answer.
#[utoipa::path(get, path = "/health", tag = "service", params(HealthQuery),
    responses((status = 200, body = Health), (status = 422, body = ValidationErrorBody),
        (status = 503, body = ErrorBody)))]
async fn health(
    State(state): State<AppState>,
    Query(query): Query<HealthQuery>,
) -> AppResult<Json<Health>> {
    state
        .svc
        .store
        .ping()
        .await
        .map_err(|_| AppError::status(StatusCode::SERVICE_UNAVAILABLE, "Database unavailable"))?;
    Ok(Json(Health {
        status: "ok",
        database: query.details.then(|| state.svc.store.backend_name()),
    }))
}
