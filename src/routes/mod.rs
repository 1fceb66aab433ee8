//! API routes, one module per area of API.md.

pub mod files;
pub mod health;

use axum::Router;
use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

/// Every `/api` route, registered together with its documentation.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(health::router())
        .merge(files::router())
}

/// Routes outside `/api` that are not the web UI (images, metrics).
pub fn outside_api() -> Router<AppState> {
    Router::new().merge(files::media_router())
}
