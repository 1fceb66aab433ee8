//! API routes, one module per area of API.md.

pub mod access;
pub mod audit;
pub mod backups;
pub mod calendar;
pub mod categories;
pub mod checkin;
pub mod client_config;
pub mod debug;
pub mod events;
pub mod export;
pub mod files;
pub mod health;
pub mod mail;
pub mod metrics;
pub mod my_data;
pub mod notifications;
pub mod oidc;
pub mod participation;
pub mod preferences;
pub mod series;
pub mod setup;
pub mod statistics;
pub mod users;
pub mod webhooks;

use axum::Router;
use utoipa_axum::router::OpenApiRouter;

use crate::config::Config;
use crate::state::AppState;

/// Every `/api` route, registered together with its documentation.
pub fn api(config: &Config) -> OpenApiRouter<AppState> {
    let api = OpenApiRouter::new()
        .merge(health::router())
        .merge(client_config::router())
        .merge(access::router())
        .merge(oidc::router())
        .merge(users::router())
        .merge(events::router())
        .merge(participation::router())
        .merge(export::router())
        .merge(statistics::router())
        .merge(files::router())
        .merge(notifications::router())
        .merge(setup::router())
        .merge(backups::router())
        .merge(calendar::router())
        .merge(categories::router())
        .merge(mail::router())
        .merge(preferences::router())
        .merge(series::router())
        .merge(audit::router())
        .merge(my_data::router())
        .merge(webhooks::router())
        .merge(checkin::router());
    if config.server.debug {
        api.merge(debug::router())
    } else {
        api
    }
}

/// Routes outside `/api` that are not the web UI (images, metrics).
pub fn outside_api() -> Router<AppState> {
    Router::new()
        .route("/metrics", axum::routing::get(metrics::scrape))
        .merge(files::media_router())
}
