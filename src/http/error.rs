//! The HTTP layer's error: a [`DomainError`] mapped to a status and body in
//! one place, plus the few refusals that only HTTP knows (unknown route,
//! wrong method, body too large, unsupported media type, request timeout).
//!
//! Bodies: `{"detail": "<message>", "code": "<code>"}`; validation errors
//! answer 422 with `{"detail": [{"loc", "msg", "type", "code", "ctx"?}],
//! "code": "validation_failed"}`; anything unexpected is logged and answers
//! `500 {"detail": "Internal Server Error", "code": "internal"}`. The codes
//! are [`ErrorCode`]'s, listed in the OpenAPI document.

use std::borrow::Cow;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

pub use crate::domain::error::FieldError;
use crate::domain::error::{DomainError, messages};
use crate::domain::error_code::ErrorCode;

/// One step of a validation error's location: a field name, or an index
/// into a list.
#[derive(ToSchema)]
#[allow(dead_code)]
#[serde(untagged)]
pub enum LocPart {
    Field(String),
    Index(i64),
}

/// One validation problem, in the wire format clients already parse
/// (documentation of [`FieldError`]).
#[derive(ToSchema)]
#[allow(dead_code)]
#[schema(as = FieldError)]
pub struct FieldErrorSchema {
    /// Where: `["body" | "query" | "path", field…]`, with list indexes as
    /// integers.
    loc: Vec<LocPart>,
    msg: String,
    #[schema(rename = "type")]
    kind: String,
    /// Stable: the `type`, or a narrower code (`invalid_email`).
    code: String,
    /// The bound of a limit: `min`, `max` (lengths, list sizes), `gt`, `ge`.
    ctx: Option<std::collections::BTreeMap<String, i64>>,
}

/// The stable, machine-readable codes of error bodies. Clients recognise
/// errors by these, never by the English `detail`; new codes may be added.
pub struct ErrorCodeSchema;

impl utoipa::PartialSchema for ErrorCodeSchema {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(ErrorCode::ALL.iter().map(|c| c.as_str())))
            .description(Some(
                "Stable machine-readable error code; clients localise by it, never by `detail`.",
            ))
            .into()
    }
}

impl ToSchema for ErrorCodeSchema {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("ErrorCode")
    }
}

/// `{"detail": "<message>", "code": "<code>"}`. The two answers API.md
/// spells out whole, an unknown route's `404 {"detail": "Not Found"}` and
/// `405 {"detail": "Method Not Allowed"}`, keep that exact body (no code).
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub detail: String,
    #[schema(value_type = Option<ErrorCodeSchema>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<&'static str>,
}

/// `{"detail": [{"loc", "msg", "type", "code", "ctx"}], "code":
/// "validation_failed"}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ValidationErrorBody {
    #[schema(value_type = Vec<FieldErrorSchema>)]
    pub detail: Vec<FieldError>,
    #[schema(value_type = ErrorCodeSchema)]
    pub code: &'static str,
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// A refusal of the HTTP layer itself (404 route, 405, 413, 415, 503
    /// timeout) with its message.
    #[error("{status}: {message}")]
    Http {
        status: StatusCode,
        message: Cow<'static, str>,
    },
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn status(status: StatusCode, message: impl Into<Cow<'static, str>>) -> Self {
        AppError::Http {
            status,
            message: message.into(),
        }
    }
    /// `404 "Not Found"`: no such route or file.
    pub fn route_not_found() -> Self {
        Self::status(StatusCode::NOT_FOUND, messages::NOT_FOUND)
    }
    /// `400`: a body that cannot be read as the route's format.
    pub fn bad_body(message: impl Into<Cow<'static, str>>) -> Self {
        Self::status(StatusCode::BAD_REQUEST, message)
    }
    /// Every invalid field of a request.
    pub fn fields(errors: Vec<FieldError>) -> Self {
        DomainError::Invalid(errors).into()
    }
    /// A single validation problem.
    pub fn invalid(loc: &[&str], msg: impl Into<String>, kind: &str) -> Self {
        DomainError::invalid(loc, msg, kind).into()
    }
}

impl From<anyhow::Error> for AppError {
    fn from(e: anyhow::Error) -> Self {
        AppError::Domain(e.into())
    }
}

fn json(status: StatusCode, body: &impl Serialize) -> Response {
    let mut response = (status, axum::Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn detail(status: StatusCode, code: Option<ErrorCode>, message: impl Into<String>) -> Response {
    json(
        status,
        &ErrorBody {
            detail: message.into(),
            code: code.map(ErrorCode::as_str),
        },
    )
}

/// The code of a refusal only HTTP knows: its text's, else its status's;
/// none for the unknown route and the wrong method (see [`ErrorBody`]).
fn http_code(status: StatusCode, message: &str) -> Option<ErrorCode> {
    if matches!(message, messages::NOT_FOUND | messages::METHOD_NOT_ALLOWED) {
        return None;
    }
    Some(ErrorCode::of_message(message).unwrap_or(match status {
        StatusCode::NOT_FOUND => ErrorCode::NotFound,
        StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::TooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorCode::UnsupportedMediaType,
        StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT => ErrorCode::Unavailable,
        s if s.is_client_error() => ErrorCode::BadRequest,
        _ => ErrorCode::Internal,
    }))
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match self {
            AppError::Http { status, message } => {
                detail(status, http_code(status, &message), message)
            }
            AppError::Domain(e) => e.into_response(),
        }
    }
}

/// The one mapping from the domain's errors to HTTP.
impl IntoResponse for DomainError {
    fn into_response(self) -> Response {
        let code = ErrorCode::of(&self);
        let detail = |status, message: Cow<'static, str>| detail(status, Some(code), message);
        match self {
            DomainError::NotFound(m) => detail(StatusCode::NOT_FOUND, m),
            DomainError::Rule(m) => detail(StatusCode::BAD_REQUEST, m),
            DomainError::Unauthenticated(m) => detail(StatusCode::UNAUTHORIZED, m),
            DomainError::Forbidden(m) => detail(StatusCode::FORBIDDEN, m),
            DomainError::Unsupported(m) => detail(StatusCode::UNSUPPORTED_MEDIA_TYPE, m),
            DomainError::TooLarge(m) => detail(StatusCode::PAYLOAD_TOO_LARGE, m),
            DomainError::NoSpace(m) => detail(StatusCode::INSUFFICIENT_STORAGE, m),
            DomainError::RateLimited {
                message,
                retry_after_secs,
            } => {
                let mut r = detail(StatusCode::TOO_MANY_REQUESTS, message);
                r.headers_mut().insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(retry_after_secs.max(1)),
                );
                r
            }
            DomainError::Invalid(errors) => json(
                StatusCode::UNPROCESSABLE_ENTITY,
                &ValidationErrorBody {
                    detail: errors,
                    code: code.as_str(),
                },
            ),
            // The store cut a write off at the request's deadline: the same
            // answer as the timeout's own, which it raced.
            DomainError::Unavailable(cause) if cause == messages::REQUEST_TIMED_OUT => detail(
                StatusCode::SERVICE_UNAVAILABLE,
                messages::REQUEST_TIMED_OUT.into(),
            ),
            // The directory could not be asked (the service logged why).
            DomainError::Unavailable(cause)
                if cause == crate::domain::account::messages::DIRECTORY_UNAVAILABLE =>
            {
                let mut r = detail(StatusCode::SERVICE_UNAVAILABLE, cause.into());
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
                r
            }
            DomainError::Unavailable(cause) => {
                tracing::error!(%cause, "storage unavailable");
                let mut r = detail(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Service temporarily unavailable, try later".into(),
                );
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
                r
            }
            DomainError::Internal(cause) => {
                tracing::error!(cause = ?cause, "internal error");
                detail(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Internal Server Error".into(),
                )
            }
        }
    }
}
