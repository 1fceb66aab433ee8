//! `GET /metrics`: the Prometheus text format (off unless `metrics.enabled`).

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::http::error::{AppError, AppResult};
use crate::metrics::Gauges;
use crate::state::AppState;

pub async fn scrape(State(state): State<AppState>) -> AppResult<Response> {
    if !state.config.metrics.enabled {
        return Err(AppError::route_not_found());
    }
    let (jobs_pending, jobs_failed_now) = crate::service::jobs::queue_depth(&state.svc).await?;
    let (pool_in_use, idle) = state.svc.store.pool_state();
    let text = state.metrics.render(Gauges {
        jobs_pending,
        jobs_failed_now,
        pool_open: pool_in_use + idle,
        pool_in_use,
    });
    let mut response = (StatusCode::OK, text).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    Ok(response)
}
