//! API.md "Debug routes": only mounted when `server.debug = true` (and then
//! the server only binds to loopback); otherwise every `/api/debug/*` is 404.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::domain::audit::Actor;
use crate::domain::user::Role;
use crate::http::client::ClientIp;
use crate::http::error::{AppResult, ErrorBody, ValidationErrorBody};
use crate::http::extract::{Body, Checks, Input};
use crate::service::accounts;
use crate::state::AppState;
use crate::store::users::DeletedExamples;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(intercept_verification_code))
        .routes(routes!(intercept_recovery_token))
        .routes(routes!(expire_recovery_token))
        .routes(routes!(expire_verification_code))
        .routes(routes!(delete_examples))
        .routes(routes!(change_role))
}

#[derive(Serialize, ToSchema)]
pub struct InterceptedCode {
    token: Uuid,
    code: u32,
}

/// The newest registration's token and code, used or not.
#[utoipa::path(get, path = "/debug/intercept-verification-code", tag = "debug",
    responses((status = 200, body = InterceptedCode), (status = 404, body = ErrorBody)))]
async fn intercept_verification_code(
    State(state): State<AppState>,
) -> AppResult<Json<InterceptedCode>> {
    let (token, code) = accounts::debug_newest_registration(&state.svc).await?;
    Ok(Json(InterceptedCode { token, code }))
}

#[derive(Serialize, ToSchema)]
pub struct InterceptedToken {
    token: Uuid,
}

/// The newest recovery token (kept in memory in debug mode only).
#[utoipa::path(get, path = "/debug/intercept-recovery-token", tag = "debug",
    responses((status = 200, body = InterceptedToken), (status = 404, body = ErrorBody)))]
async fn intercept_recovery_token(
    State(state): State<AppState>,
) -> AppResult<Json<InterceptedToken>> {
    let token = accounts::debug_newest_recovery(&state.svc).await?;
    Ok(Json(InterceptedToken { token }))
}

#[derive(Deserialize, ToSchema)]
pub struct TokenBody {
    token: Uuid,
}

impl Input for TokenBody {}

/// Make a recovery token older than its 24 h lifetime.
#[utoipa::path(post, path = "/debug/expire-recovery-token", tag = "debug", request_body = TokenBody,
    responses((status = 204), (status = 404, body = ErrorBody), (status = 422, body = ValidationErrorBody)))]
async fn expire_recovery_token(
    State(state): State<AppState>,
    Body(req): Body<TokenBody>,
) -> AppResult<StatusCode> {
    accounts::debug_expire_recovery(&state.svc, req.token).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Make a pending registration older than its 24 h lifetime.
#[utoipa::path(post, path = "/debug/expire-verification-code", tag = "debug", request_body = TokenBody,
    responses((status = 204), (status = 404, body = ErrorBody), (status = 422, body = ValidationErrorBody)))]
async fn expire_verification_code(
    State(state): State<AppState>,
    Body(req): Body<TokenBody>,
) -> AppResult<StatusCode> {
    accounts::debug_expire_registration(&state.svc, req.token).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct Deleted {
    users: usize,
    events: usize,
}

/// Delete `@example.com` users and `https://example.com/` events with
/// everything that depends on them.
#[utoipa::path(post, path = "/debug/delete-examples", tag = "debug",
    responses((status = 200, body = Deleted)))]
async fn delete_examples(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
) -> AppResult<Json<Deleted>> {
    let DeletedExamples { users, events } =
        crate::service::users::delete_examples(&state.svc, &debug_actor(ip)).await?;
    Ok(Json(Deleted { users, events }))
}

#[derive(Deserialize, ToSchema)]
pub struct ChangeRole {
    email: String,
    role: Role,
}

impl Input for ChangeRole {
    fn check(&mut self, c: &mut Checks) {
        c.email("email", &mut self.email);
    }
}

/// Set a user's role by email; the last administrator stays one.
#[utoipa::path(post, path = "/debug/change-role", tag = "debug", request_body = ChangeRole,
    responses((status = 204), (status = 400, body = ErrorBody, description = "Cannot remove the last administrator"),
        (status = 404, body = ErrorBody), (status = 422, body = ValidationErrorBody)))]
async fn change_role(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Body(req): Body<ChangeRole>,
) -> AppResult<StatusCode> {
    let actor = debug_actor(ip);
    crate::service::users::set_role(&state.svc, &actor, &req.email, req.role).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The audit log's actor for the debug routes (no session): `debug` from
/// the client's address.
fn debug_actor(ip: Option<std::net::IpAddr>) -> Actor {
    Actor {
        ip: ip.map(|ip| ip.to_string()),
        ..Actor::tool("debug")
    }
}
