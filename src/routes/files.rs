//! `POST /api/files` (image upload) and `GET /media/<key>` (stored images on
//! the `fs` backend).

use axum::Json;
use axum::body::Body;
use axum::extract::multipart::{Field, MultipartError};
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::{Bytes, BytesMut};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::CurrentUser;
use crate::domain::error::messages;
use crate::http::error::{AppError, AppResult, ErrorBody, ValidationErrorBody};
use crate::state::AppState;
use crate::storage;

/// Room for the multipart envelope (boundaries, part headers, small extra
/// fields) on top of `storage.max_upload_bytes`.
const ENVELOPE_BYTES: usize = 64 * 1024;

#[derive(Serialize, ToSchema)]
pub struct FileUrl {
    /// Absolute URL of the stored image.
    pub url: String,
}

/// The multipart form of `POST /files`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    /// PNG, JPEG, GIF or WebP (decided from the bytes).
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

pub fn router() -> OpenApiRouter<AppState> {
    // Uploads have their own limit (storage.max_upload_bytes), enforced while
    // streaming in the handler; the general JSON body limit must not apply.
    OpenApiRouter::new()
        .routes(routes!(upload))
        .layer(DefaultBodyLimit::disable())
}

/// `GET /media/<key>`, outside `/api`.
pub fn media_router() -> axum::Router<AppState> {
    axum::Router::new().route("/media/{*key}", get(media))
}

/// Upload an event image.
///
/// Any logged-in user. The type is decided from the leading bytes: PNG, JPEG,
/// GIF or WebP; anything else is 415. Larger than `storage.max_upload_bytes`
/// or over the user's quota (`storage.user_quota_bytes`) is 413; more than
/// `storage.uploads_per_hour` is 429; 507 when the disk of the data dir
/// would keep less than `storage.min_free_bytes`.
#[utoipa::path(post, path = "/files", tag = "files",
    security(("session_uid" = [], "session_token" = [])),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, body = FileUrl),
        (status = 400, body = ErrorBody, description = "Malformed multipart body"),
        (status = 401, body = ErrorBody),
        (status = 413, body = ErrorBody, description = "File too large / Upload quota exceeded"),
        (status = 415, body = ErrorBody, description = "Unsupported file type"),
        (status = 422, body = ValidationErrorBody, description = "No `file` field"),
        (status = 429, body = ErrorBody, description = "Too many uploads (with Retry-After)"),
        (status = 503, body = ErrorBody, description = "Image storage unavailable"),
        (status = 507, body = ErrorBody, description = "Not enough free disk space"),
    ))]
async fn upload(
    CurrentUser(user): CurrentUser,
    State(state): State<AppState>,
    req: Request,
) -> AppResult<(StatusCode, Json<FileUrl>)> {
    let limit = state.config.storage.max_upload_bytes;
    // Bounds the whole body (other fields, part headers) too; the file field
    // itself is held to `limit` exactly below.
    let req = req.map(|body| {
        Body::new(http_body_util::Limited::new(
            body,
            limit.saturating_add(ENVELOPE_BYTES),
        ))
    });
    let mut form = Multipart::from_request(req, &state)
        .await
        .map_err(|_| missing_file())?;
    let bytes = loop {
        match form.next_field().await.map_err(multipart_error)? {
            Some(field) if field.name() == Some("file") => break read_capped(field, limit).await?,
            // Other fields are skipped (their bytes still count against the
            // body bound).
            Some(_) => continue,
            None => return Err(missing_file()),
        }
    };
    let url = crate::service::images::upload(&state.svc, user.id, bytes).await?;
    Ok((StatusCode::CREATED, Json(FileUrl { url })))
}

/// Reads a field chunk by chunk, failing with 413 as soon as it exceeds
/// `limit` — an oversized file is never held in memory whole.
async fn read_capped(mut field: Field<'_>, limit: usize) -> AppResult<Bytes> {
    let mut buf = BytesMut::new();
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        if buf.len() + chunk.len() > limit {
            return Err(too_large());
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

fn too_large() -> AppError {
    AppError::status(StatusCode::PAYLOAD_TOO_LARGE, messages::FILE_TOO_LARGE)
}

fn missing_file() -> AppError {
    AppError::invalid(&["body", "file"], "Field required", "missing")
}

fn multipart_error(e: MultipartError) -> AppError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        too_large()
    } else {
        AppError::bad_body(format!(
            "Malformed multipart/form-data body: {}",
            e.body_text()
        ))
    }
}

/// Serves a stored image (fs backend): its image type, `nosniff`, a year of
/// immutable caching and an ETag; 404 for any key this server does not make.
async fn media(
    State(state): State<AppState>,
    key: Result<axum::extract::Path<String>, axum::extract::rejection::PathRejection>,
    headers: HeaderMap,
) -> Response {
    let Ok(axum::extract::Path(key)) = key else {
        return not_found();
    };
    let image = match state.svc.storage.open_media(&key).await {
        Ok(Some(image)) => image,
        Ok(None) => return not_found(),
        Err(e) => return e.into_response(),
    };
    let mut h = HeaderMap::new();
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(storage::IMMUTABLE),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if let Ok(etag) = HeaderValue::from_str(&image.etag) {
        h.insert(header::ETAG, etag);
    }
    if let Some(modified) = image
        .last_modified
        .as_deref()
        .and_then(|m| HeaderValue::from_str(m).ok())
    {
        h.insert(header::LAST_MODIFIED, modified);
    }
    if etag_matches(&headers, &image.etag) {
        return (StatusCode::NOT_MODIFIED, h).into_response();
    }
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(image.kind.mime()),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(image.len));
    (h, Body::from_stream(image.body)).into_response()
}

/// Whether `If-None-Match` lists `etag` (weak comparison) or is `*`.
fn etag_matches(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == "*" || t == etag)
}

fn not_found() -> Response {
    AppError::route_not_found().into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_forms() {
        let tag = "\"1f-abc\"";
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::IF_NONE_MATCH, HeaderValue::from_str(v).unwrap());
            etag_matches(&h, tag)
        };
        assert!(with("\"1f-abc\""));
        assert!(with("W/\"1f-abc\""));
        assert!(with("\"x\", \"1f-abc\""));
        assert!(with("*"));
        assert!(!with("\"1f-abd\""));
        assert!(!etag_matches(&HeaderMap::new(), tag));
    }
}
