//! API routes, one module per area of API.md.

pub mod events;
pub mod export;
pub mod health;
pub mod participation;
pub mod statistics;
pub mod users;

use axum::Router;
use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

/// Every `/api` route, registered together with its documentation.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(health::router())
        .merge(users::router())
        .merge(events::router())
        .merge(participation::router())
        .merge(export::router())
        .merge(statistics::router())
}

/// Routes outside `/api` that are not the web UI (images, metrics).
pub fn outside_api() -> Router<AppState> {
    Router::new()
}
