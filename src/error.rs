//! The one error type of the HTTP layer and its mapping to responses.
//!
//! Domain errors answer `{"detail": "<message>"}`; validation errors answer
//! 422 with `{"detail": [{"loc", "msg", "type"}]}`; anything unexpected is
//! logged and answers `500 {"detail": "Internal Server Error"}`.

use std::borrow::Cow;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// One step of a validation error's location: a field name, or an index
/// into a list.
#[derive(ToSchema)]
#[allow(dead_code)]
#[serde(untagged)]
pub enum LocPart {
    Field(String),
    Index(i64),
}

/// One validation problem, in the wire format clients already parse.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct FieldError {
    /// Where: `["body" | "query" | "path", field…]`, with list indexes as
    /// integers.
    #[schema(value_type = Vec<LocPart>)]
    pub loc: Vec<serde_json::Value>,
    pub msg: String,
    #[serde(rename = "type")]
    pub kind: String,
}

impl FieldError {
    pub fn new(loc: &[&str], msg: impl Into<String>, kind: &str) -> Self {
        Self {
            loc: loc.iter().map(|s| serde_json::Value::from(*s)).collect(),
            msg: msg.into(),
            kind: kind.into(),
        }
    }

    pub fn at(loc: Vec<serde_json::Value>, msg: impl Into<String>, kind: &str) -> Self {
        Self {
            loc,
            msg: msg.into(),
            kind: kind.into(),
        }
    }
}

/// `{"detail": "<message>"}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub detail: String,
}

/// `{"detail": [{"loc", "msg", "type"}]}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ValidationErrorBody {
    pub detail: Vec<FieldError>,
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A domain or HTTP error with its contract message.
    #[error("{status}: {message}")]
    Detail {
        status: StatusCode,
        message: Cow<'static, str>,
    },
    /// 429 with `Retry-After`.
    #[error("429: {message}")]
    TooMany {
        message: Cow<'static, str>,
        retry_after_secs: u64,
    },
    #[error("422: {0:?}")]
    Validation(Vec<FieldError>),
    /// The database or disk cannot take writes right now (full, read-only,
    /// locked for too long): 503, the request may be retried.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn status(status: StatusCode, message: impl Into<Cow<'static, str>>) -> Self {
        AppError::Detail {
            status,
            message: message.into(),
        }
    }
    pub fn bad_request(message: impl Into<Cow<'static, str>>) -> Self {
        Self::status(StatusCode::BAD_REQUEST, message)
    }
    pub fn not_found(message: impl Into<Cow<'static, str>>) -> Self {
        Self::status(StatusCode::NOT_FOUND, message)
    }
    pub fn unauthorized() -> Self {
        Self::status(StatusCode::UNAUTHORIZED, "Invalid login session")
    }
    pub fn forbidden() -> Self {
        Self::status(StatusCode::FORBIDDEN, "Administrator role required")
    }
    pub fn too_many(message: impl Into<Cow<'static, str>>, retry_after_secs: u64) -> Self {
        AppError::TooMany {
            message: message.into(),
            retry_after_secs,
        }
    }
    /// A single validation problem.
    pub fn invalid(loc: &[&str], msg: impl Into<String>, kind: &str) -> Self {
        AppError::Validation(vec![FieldError::new(loc, msg, kind)])
    }
    pub fn internal(message: impl std::fmt::Display) -> Self {
        AppError::Internal(anyhow::anyhow!("{message}"))
    }
}

impl From<rusqlite::Error> for AppError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode::*;
        if let rusqlite::Error::SqliteFailure(f, _) = &e
            && matches!(
                f.code,
                DiskFull | ReadOnly | DatabaseBusy | DatabaseLocked | CannotOpen | SystemIoFailure
            )
        {
            return AppError::Unavailable(e.to_string());
        }
        AppError::Internal(e.into())
    }
}

impl From<r2d2::Error> for AppError {
    fn from(e: r2d2::Error) -> Self {
        AppError::Unavailable(format!("database pool: {e}"))
    }
}

fn json(status: StatusCode, body: &impl Serialize) -> Response {
    let mut response = (status, axum::Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match self {
            AppError::Detail { status, message } => json(
                status,
                &ErrorBody {
                    detail: message.into_owned(),
                },
            ),
            AppError::TooMany {
                message,
                retry_after_secs,
            } => {
                let mut r = json(
                    StatusCode::TOO_MANY_REQUESTS,
                    &ErrorBody {
                        detail: message.into_owned(),
                    },
                );
                r.headers_mut().insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(retry_after_secs.max(1)),
                );
                r
            }
            AppError::Validation(detail) => json(
                StatusCode::UNPROCESSABLE_ENTITY,
                &ValidationErrorBody { detail },
            ),
            AppError::Unavailable(cause) => {
                tracing::error!(%cause, "storage unavailable");
                let mut r = json(
                    StatusCode::SERVICE_UNAVAILABLE,
                    &ErrorBody {
                        detail: "Service temporarily unavailable, try later".into(),
                    },
                );
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
                r
            }
            AppError::Internal(cause) => {
                tracing::error!(cause = ?cause, "internal error");
                json(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    &ErrorBody {
                        detail: "Internal Server Error".into(),
                    },
                )
            }
        }
    }
}
