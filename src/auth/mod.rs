//! Authentication and authorization: password hashing, sessions, rate limits
//! and the extractors handlers use to say who may call them.
//!
//! Order of checks (API.md): authentication (401) happens in the extractor,
//! before the body or query is read; authorization (403) right after.

pub mod password;
pub mod ratelimit;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use uuid::Uuid;

use crate::domain::audit::Actor;
use crate::domain::error::DomainError;
use crate::http::client::ClientIp;
use crate::http::error::AppError;
use crate::service::accounts;
use crate::state::AppState;

pub use crate::domain::account::SessionUser;

pub const UID_HEADER: &str = "x-login-session-uid";
pub const TOKEN_HEADER: &str = "x-login-session-token";

/// Any logged-in, not deleted user.
#[derive(Debug, Clone)]
pub struct CurrentUser(pub SessionUser);

/// A logged-in administrator (`Role::is_admin`).
#[derive(Debug, Clone)]
pub struct Admin(pub SessionUser);

/// A logged-in administrator or manager of the event in the path
/// (`{event_id}`): the check is `service::organiser::authorize`, made
/// before the body is read, so a user who does not manage the event gets
/// 403 "Administrator role required" exactly as on administrator routes.
#[derive(Debug, Clone)]
pub struct EventManager(pub SessionUser, pub Actor);

impl EventManager {
    /// The acting user, for the service functions.
    pub fn acting(&self) -> crate::domain::organiser::Acting {
        acting(&self.0)
    }
}

/// A session user as the acting user of a service function.
pub fn acting(user: &SessionUser) -> crate::domain::organiser::Acting {
    crate::domain::organiser::Acting {
        user_id: user.id,
        is_admin: user.is_admin(),
    }
}

impl FromRequestParts<AppState> for EventManager {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let CurrentUser(user) = CurrentUser::from_request_parts(parts, state).await?;
        let actor = actor_of(parts, state, &user).await;
        if user.is_admin() {
            return Ok(EventManager(user, actor));
        }
        #[derive(serde::Deserialize)]
        struct EventId {
            event_id: i64,
        }
        // A path that names no event: nobody but an administrator manages it.
        let Ok(axum::extract::Path(EventId { event_id })) =
            axum::extract::Path::<EventId>::from_request_parts(parts, state).await
        else {
            return Err(DomainError::admin_required().into());
        };
        crate::service::organiser::authorize(&state.svc, acting(&user), event_id).await?;
        Ok(EventManager(user, actor))
    }
}

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
            return Err(DomainError::invalid_session().into());
        };
        let Ok(uid) = Uuid::parse_str(uid) else {
            return Err(DomainError::invalid_session().into());
        };
        if token.len() > 256 {
            return Err(DomainError::invalid_session().into());
        }
        let token = token.to_string();
        let user = CurrentUser(accounts::authenticate(&state.svc, uid, &token).await?);
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
        if user.role.is_admin() {
            Ok(Admin(user))
        } else {
            Err(DomainError::admin_required().into())
        }
    }
}

/// A logged-in administrator and the audit log's view of them (with the
/// client address): handlers of administrators' changes pass the [`Actor`]
/// to the service, which records the action in its transaction.
#[derive(Debug, Clone)]
pub struct AuditedAdmin(pub SessionUser, pub Actor);

/// Any logged-in user with the audit log's view of them.
#[derive(Debug, Clone)]
pub struct AuditedUser(pub SessionUser, pub Actor);

/// The audit log's view of the user behind a request: who, from where.
async fn actor_of(parts: &mut Parts, state: &AppState, user: &SessionUser) -> Actor {
    let Ok(ClientIp(ip)) = ClientIp::from_request_parts(parts, state).await;
    Actor::user(user.id, &user.email, ip)
}

impl FromRequestParts<AppState> for AuditedAdmin {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Admin(user) = Admin::from_request_parts(parts, state).await?;
        let actor = actor_of(parts, state, &user).await;
        Ok(AuditedAdmin(user, actor))
    }
}

impl FromRequestParts<AppState> for AuditedUser {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let CurrentUser(user) = CurrentUser::from_request_parts(parts, state).await?;
        let actor = actor_of(parts, state, &user).await;
        Ok(AuditedUser(user, actor))
    }
}

pub use crate::domain::account::{email_key, fold};
