//! The web UI embedded in the binary: hashed assets with long caching,
//! precompressed variants, and `index.html` for every other GET outside
//! `/api` and `/media` (client-side routing).

use axum::body::Body;
use axum::extract::{Path, Request};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;

use crate::config::{Config, StorageBackend};
use crate::domain::error::messages;
use crate::http::error::AppError;

#[derive(RustEmbed)]
#[folder = "frontend-dist/"]
struct Assets;

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const NO_CACHE: &str = "no-cache";

pub fn content_security_policy(config: &Config) -> HeaderValue {
    let mut img = String::from("'self' data: blob:");
    if config.storage.backend == StorageBackend::S3 {
        let s3 = &config.storage.s3;
        let base = s3
            .public_base_url
            .as_deref()
            .or(s3.endpoint.as_deref())
            .unwrap_or_default();
        if let Ok(url) = url::Url::parse(base) {
            img.push(' ');
            img.push_str(&url.origin().ascii_serialization());
        } else if base.is_empty() {
            img.push_str(" https://*.amazonaws.com");
        }
    }
    let csp = format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src {img}; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    );
    HeaderValue::from_str(&csp).unwrap_or_else(|_| HeaderValue::from_static("default-src 'self'"))
}

/// Serves one embedded file, picking a precompressed variant the client
/// accepts.
fn serve(path: &str, headers: &HeaderMap, cache: &'static str) -> Option<Response> {
    let file = Assets::get(path)?;
    let accepts = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let (body, encoding) = [("br", ".br"), ("gzip", ".gz")]
        .iter()
        .filter(|(name, _)| accepts.split(',').any(|a| a.trim().starts_with(name)))
        .find_map(|(name, ext)| Assets::get(&format!("{path}{ext}")).map(|f| (f.data, Some(*name))))
        .unwrap_or((file.data, None));
    let mime = mime_guess::from_path(path).first_or_octet_stream();
    let mut response = Response::new(Body::from(body.into_owned()));
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(mime.as_ref())
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    if let Some(enc) = encoding {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static(enc));
    }
    Some(response)
}

pub async fn spa(req: Request) -> Response {
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        return AppError::status(StatusCode::METHOD_NOT_ALLOWED, messages::METHOD_NOT_ALLOWED)
            .into_response();
    }
    let path = req.uri().path().trim_start_matches('/');
    if path.starts_with("api/") || path == "api" || path.starts_with("media/") {
        return AppError::route_not_found().into_response();
    }
    if !path.is_empty()
        && !path.ends_with(".html")
        && let Some(r) = serve(
            path,
            req.headers(),
            if path.starts_with("assets/") {
                IMMUTABLE
            } else {
                NO_CACHE
            },
        )
    {
        return r;
    }
    // A missing asset is a 404, not the app shell.
    if path.starts_with("assets/") {
        return (StatusCode::NOT_FOUND, "Not Found").into_response();
    }
    serve("index.html", req.headers(), NO_CACHE)
        .unwrap_or_else(|| (StatusCode::NOT_FOUND, "The web UI is not built").into_response())
}

pub async fn docs_index(headers: HeaderMap) -> Response {
    serve("docs/index.html", &headers, NO_CACHE)
        .unwrap_or_else(|| AppError::route_not_found().into_response())
}

pub async fn docs_asset(Path(file): Path<String>, headers: HeaderMap) -> Response {
    if file.contains("..") {
        return AppError::route_not_found().into_response();
    }
    serve(&format!("docs/{file}"), &headers, NO_CACHE)
        .unwrap_or_else(|| AppError::route_not_found().into_response())
}
