//! The HTTP surface: the `/api` router with its OpenAPI document, the JSON
//! 404/405 answers, middleware (request log, timeout, security headers,
//! CORS), and the embedded web UI for everything else.

pub mod access;
pub mod client;
pub mod error;
pub mod extract;
pub mod ics;
pub mod openapi;
pub mod server;
pub mod ui;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;

use crate::domain::error::messages;
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

    let mut router = Router::new()
        .nest("/api", api)
        .merge(routes::outside_api())
        .fallback(ui::spa)
        .layer(compression())
        .layer(middleware::from_fn_with_state(state.clone(), observe));
    if config.server.debug {
        // Debug routes trust loopback callers; a page on another site must
        // not reach them through a rebound DNS name.
        let hosts = Arc::new(allowed_hosts(&config));
        router = router.layer(middleware::from_fn(move |req: Request, next: Next| {
            let hosts = hosts.clone();
            async move { check_host(&hosts, req, next).await }
        }));
    }
    if config.public_url().starts_with("https://") {
        router = router.layer(SetResponseHeaderLayer::if_not_present(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        ));
    }
    router
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

/// Host names a debug server answers to: loopback names, the bind address
/// and the public URL's host (lower case, without port).
fn allowed_hosts(config: &crate::config::Config) -> Vec<String> {
    let mut hosts: Vec<String> = ["localhost", "127.0.0.1", "[::1]"]
        .into_iter()
        .map(String::from)
        .collect();
    if let Ok(bind) = config.bind_addr() {
        hosts.push(match bind.ip() {
            std::net::IpAddr::V4(ip) => ip.to_string(),
            std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        });
    }
    if let Ok(url) = url::Url::parse(&config.public_url())
        && let Some(host) = url.host_str()
    {
        hosts.push(host.to_ascii_lowercase());
    }
    hosts
}

/// The `Host` (or HTTP/2 `:authority`) without its port, lower case.
fn request_host(req: &Request) -> Option<String> {
    let authority = match req.headers().get(header::HOST) {
        Some(value) => value.to_str().ok()?.to_string(),
        None => req.uri().authority()?.as_str().to_string(),
    };
    let authority = authority.to_ascii_lowercase();
    let host = if authority.starts_with('[') {
        match authority.find(']') {
            Some(end) => authority[..=end].to_string(),
            None => authority,
        }
    } else {
        authority
            .rsplit_once(':')
            .map_or(authority.as_str(), |(h, _)| h)
            .to_string()
    };
    Some(host.trim_end_matches('.').to_string())
}

/// 421 for a request naming a host this debug server is not (DNS rebinding).
async fn check_host(hosts: &[String], req: Request, next: Next) -> Response {
    match request_host(&req) {
        Some(host) if hosts.contains(&host) => next.run(req).await,
        _ => AppError::status(StatusCode::MISDIRECTED_REQUEST, messages::UNKNOWN_HOST)
            .into_response(),
    }
}

/// Compresses JSON, text, CSV and calendars with gzip (fast, and every
/// client takes it; Brotli on the fly cost 13 s of every first build for a
/// few per cent on small JSON bodies). Left alone: small bodies, images, spreadsheets (already zip)
/// and the UI's assets, which are served precompressed.
fn compression() -> CompressionLayer<impl Predicate> {
    let predicate = DefaultPredicate::new().and(NotForContentType::const_new(
        "application/vnd.openxmlformats",
    ));
    CompressionLayer::new()
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
    AppError::route_not_found()
}

async fn method_not_allowed() -> AppError {
    AppError::status(StatusCode::METHOD_NOT_ALLOWED, messages::METHOD_NOT_ALLOWED)
}

/// Enforces the request deadline, counts the request in the metrics (keyed
/// by the matched route template; unmatched paths under `/api/*` or `ui`,
/// never the raw path) and logs it (method, route template, status,
/// latency — never bodies, query strings or headers) as
/// [`access`] decides.
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
    // The store sees the deadline too: a write still running when the 503
    // goes out rolls back instead of committing later.
    let work = crate::deadline::scope(started + deadline, next.run(req));
    let response = match tokio::time::timeout(deadline, work).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(%method, %route, "request timed out");
            AppError::status(
                StatusCode::SERVICE_UNAVAILABLE,
                crate::domain::error::messages::REQUEST_TIMED_OUT,
            )
            .into_response()
        }
    };
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    if state.config.metrics.enabled {
        state
            .svc
            .metrics
            .record_request(method.as_str(), &route, status, elapsed.as_secs_f64());
    }
    let latency_ms = elapsed.as_secs_f64() * 1000.0;
    match state.access.admit(status, elapsed) {
        access::Line::Error => {
            tracing::warn!(target: access::TARGET, %method, %route, status, latency_ms, "request")
        }
        access::Line::Info => {
            tracing::info!(target: access::TARGET, %method, %route, status, latency_ms, "request")
        }
        access::Line::Skip => {}
    }
    response
}
