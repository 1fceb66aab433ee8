//! `GET /metrics`: the Prometheus text format (off unless `metrics.enabled`).

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::domain::error::DomainError;
use crate::http::error::{AppError, AppResult};
use crate::metrics::Gauges;
use crate::state::AppState;

/// The sampled gauges (queue depth, pool) are read now; rendering runs on
/// a blocking thread so a large registry never stalls an async worker.
pub async fn scrape(State(state): State<AppState>) -> AppResult<Response> {
    if !state.config.metrics.enabled {
        return Err(AppError::route_not_found());
    }
    let (jobs_pending, jobs_failed_now) = crate::service::jobs::queue_depth(&state.svc).await?;
    let (pool_in_use, idle) = state.svc.store.pool_state();
    let gauges = Gauges {
        jobs_pending,
        jobs_failed_now,
        pool_open: pool_in_use + idle,
        pool_in_use,
        pool_idle: idle,
        pool_max: state.svc.store.pool_max(),
        backend: state.svc.store.backend_name(),
    };
    let metrics = state.svc.metrics.clone();
    let text = tokio::task::spawn_blocking(move || metrics.render(gauges))
        .await
        .map_err(|e| DomainError::internal(format!("rendering metrics: {e}")))?;
    let mut response = (StatusCode::OK, text).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    Ok(response)
}
