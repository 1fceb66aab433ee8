//! The HTTP surface: the `/api` router with its OpenAPI document, the JSON
//! 404/405 answers, middleware (request log, timeout, security headers,
//! CORS), and the embedded web UI for everything else.

pub mod error;
pub mod extract;
pub mod ics;
pub mod openapi;
pub mod server;
pub mod ui;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower_http::CompressionLevel;
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{DefaultPredicate, NotForContentType, Predicate};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::http::error::AppError;
use crate::routes;
use crate::state::AppState;

/// The API router (paths relative to `/api`) and its OpenAPI document (paths
/// with the `/api` prefix).
pub fn api(config: &crate::config::Config) -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, doc) = routes::api(config).split_for_parts();
    (router, openapi::finish(doc))
}

pub fn router(state: AppState) -> Router {
    let config = state.config.clone();
    let (api, doc) = api(&config);
    let doc = Arc::new(doc);
    let api = api
        .route(
            "/openapi.json",
            get(move || {
                let doc = doc.clone();
                async move { axum::Json(doc.as_ref().clone()) }
            }),
        )
        .route("/docs", get(ui::docs_index))
        .route("/docs/{*file}", get(ui::docs_asset))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(config.server.max_body_bytes))
        .layer(cors(&config.server.cors_allowed_origins));

    Router::new()
        .nest("/api", api)
        .merge(routes::outside_api())
        .fallback(ui::spa)
        .layer(compression())
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("strict-origin-when-cross-origin"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            ui::content_security_policy(&config),
        ))
        .with_state(state)
}

/// Compresses JSON, text, CSV and calendars (Brotli or gzip, as the client
/// accepts). Left alone: small bodies, images, spreadsheets (already zip)
/// and the UI's assets, which are served precompressed.
fn compression() -> CompressionLayer<impl Predicate> {
    let predicate = DefaultPredicate::new().and(NotForContentType::const_new(
        "application/vnd.openxmlformats",
    ));
    CompressionLayer::new()
        .br(true)
        .gzip(true)
        .quality(CompressionLevel::Fastest)
        .compress_when(predicate)
}

fn cors(origins: &[String]) -> CorsLayer {
    let origins: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o.trim_end_matches('/')).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
        .allow_headers([
            header::CONTENT_TYPE,
            HeaderName::from_static(crate::auth::UID_HEADER),
            HeaderName::from_static(crate::auth::TOKEN_HEADER),
        ])
        .expose_headers([header::RETRY_AFTER, header::CONTENT_DISPOSITION])
        .max_age(Duration::from_secs(600))
}

async fn not_found() -> AppError {
    AppError::not_found("Not Found")
}

async fn method_not_allowed() -> AppError {
    AppError::status(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed")
}

/// Logs every request (method, route template, status, latency — never
/// bodies, query strings or headers) and enforces the request deadline.
async fn observe(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| {
            if req.uri().path().starts_with("/api/") {
                "/api/*".to_owned()
            } else {
                "ui".to_owned()
            }
        });
    let deadline = Duration::from_secs(state.config.server.request_timeout_secs);
    let response = match tokio::time::timeout(deadline, next.run(req)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(%method, %route, "request timed out");
            AppError::status(StatusCode::SERVICE_UNAVAILABLE, "Request timed out").into_response()
        }
    };
    let status = response.status().as_u16();
    let elapsed = started.elapsed().as_secs_f64();
    if state.config.metrics.enabled {
        state
            .metrics
            .record(method.as_str(), &route, status, elapsed);
    }
    let latency_ms = elapsed * 1000.0;
    tracing::info!(target: "afisha::access", %method, %route, status, latency_ms, "request");
    response
}
