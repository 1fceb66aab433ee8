//! Authentication and authorization: password hashing, sessions, rate limits
//! and the extractors handlers use to say who may call them.
//!
//! Order of checks (API.md): authentication (401) happens in the extractor,
//! before the body or query is read; authorization (403) right after.

pub mod password;
pub mod ratelimit;
pub mod session;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use uuid::Uuid;

use crate::domain::time::Ts;
use crate::http::error::AppError;
use crate::state::AppState;

pub use session::SessionUser;

pub const UID_HEADER: &str = "x-login-session-uid";
pub const TOKEN_HEADER: &str = "x-login-session-token";

/// Any logged-in, not deleted user.
#[derive(Debug, Clone)]
pub struct CurrentUser(pub SessionUser);

/// A logged-in administrator (`ADMINISTRATOR` or `is_system`).
#[derive(Debug, Clone)]
pub struct Admin(pub SessionUser);

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(user) = parts.extensions.get::<CurrentUser>() {
            return Ok(user.clone());
        }
        let header = |name: &str| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .filter(|v| !v.is_empty())
        };
        let (Some(uid), Some(token)) = (header(UID_HEADER), header(TOKEN_HEADER)) else {
            return Err(AppError::unauthorized());
        };
        let Ok(uid) = Uuid::parse_str(uid) else {
            return Err(AppError::unauthorized());
        };
        if token.len() > 256 {
            return Err(AppError::unauthorized());
        }
        let token = token.to_string();
        let now = Ts(state.clock.now());
        let ttl = state.config.auth.session_ttl_days;
        let user = state
            .db
            .read(move |c| session::lookup(c, uid, &token, now, ttl))
            .await?
            .ok_or_else(AppError::unauthorized)?;
        if user.stale {
            state
                .db
                .write(move |tx| session::touch(tx, uid, now))
                .await?;
        }
        let user = CurrentUser(user);
        parts.extensions.insert(user.clone());
        Ok(user)
    }
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let CurrentUser(user) = CurrentUser::from_request_parts(parts, state).await?;
        if user.is_admin() {
            Ok(Admin(user))
        } else {
            Err(AppError::forbidden())
        }
    }
}

/// Lower-cases an email for lookups and uniqueness (Unicode-aware).
pub fn email_key(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Folds text for case-insensitive search (Unicode-aware, unlike SQLite's
/// `lower()`).
pub fn fold(text: &str) -> String {
    text.to_lowercase()
}
