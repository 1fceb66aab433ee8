//! `GET /api/health`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::http::error::{AppError, AppResult, ErrorBody};
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// Always `ok`.
    status: &'static str,
    /// The database backend this instance runs on: `sqlite` or `postgres`.
    #[schema(example = "sqlite")]
    database: &'static str,
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(health))
}

/// Whether the server and its database answer.
#[utoipa::path(get, path = "/health", tag = "service",
    responses((status = 200, body = Health), (status = 503, body = ErrorBody)))]
async fn health(State(state): State<AppState>) -> AppResult<Json<Health>> {
    state
        .svc
        .store
        .ping()
        .await
        .map_err(|_| AppError::status(StatusCode::SERVICE_UNAVAILABLE, "Database unavailable"))?;
    Ok(Json(Health {
        status: "ok",
        database: state.svc.store.backend_name(),
    }))
}
