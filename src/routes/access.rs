//! API.md "Access": registration with an emailed code, login sessions,
//! password recovery and change.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::auth::{AuditedUser, CurrentUser};
use crate::domain::time::Ts;
use crate::domain::user::Role;
use crate::http::client::ClientIp;
use crate::http::error::{AppResult, ErrorBody, ValidationErrorBody};
use crate::http::extract::{Body, Checks, Input, Path};
use crate::service::accounts;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(verify_registration))
        .routes(routes!(resend_code))
        .routes(routes!(login, who_am_i))
        .routes(routes!(logout))
        .routes(routes!(list_sessions))
        .routes(routes!(revoke_session))
        .routes(routes!(request_recovery))
        .routes(routes!(submit_recovery))
        .routes(routes!(change_password))
}

// ---------------------------------------------------------------- register

#[derive(Deserialize, ToSchema)]
pub struct RegisterRequest {
    email: String,
    password: String,
    full_name: String,
}

impl Input for RegisterRequest {
    fn check(&mut self, c: &mut Checks) {
        c.email("email", &mut self.email);
        c.password("password", &self.password);
        c.text("full_name", &mut self.full_name, 1, 200);
    }
}

#[derive(Serialize, ToSchema)]
pub struct RegisterResponse {
    token: Uuid,
}

/// Start a registration: emails a 6-digit code (REG_CONFIRM_CODE).
#[utoipa::path(post, path = "/register", tag = "access", request_body = RegisterRequest,
    responses(
        (status = 201, body = RegisterResponse),
        (status = 400, body = ErrorBody, description = "Email already exists"),
        (status = 422, body = ValidationErrorBody),
        (status = 429, body = ErrorBody, description = "Too many verification requests, try later | Too many requests, try later"),
    ))]
async fn register(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    Body(req): Body<RegisterRequest>,
) -> AppResult<(StatusCode, Json<RegisterResponse>)> {
    let token =
        accounts::register(&state.svc, client, req.email, req.password, req.full_name).await?;
    Ok((StatusCode::CREATED, Json(RegisterResponse { token })))
}

#[derive(Deserialize, ToSchema)]
pub struct VerificationRequest {
    token: Uuid,
    code: i64,
}

impl Input for VerificationRequest {}

/// Confirm the emailed code: creates the user (role USER).
#[utoipa::path(post, path = "/register/verification", tag = "access", request_body = VerificationRequest,
    responses(
        (status = 201, description = "The JSON body `null`; the user now exists"),
        (status = 400, body = ErrorBody, description = "Invalid verification code | Email already exists"),
        (status = 422, body = ValidationErrorBody),
        (status = 429, body = ErrorBody, description = "Too many verification requests, try later"),
    ))]
async fn verify_registration(
    State(state): State<AppState>,
    Body(req): Body<VerificationRequest>,
) -> AppResult<(StatusCode, Json<()>)> {
    accounts::verify_registration(&state.svc, req.token, req.code).await?;
    Ok((StatusCode::CREATED, Json(())))
}

#[derive(Deserialize, ToSchema)]
pub struct ResendRequest {
    token: Uuid,
}

impl Input for ResendRequest {}

/// Send the code of a pending registration again (same code).
#[utoipa::path(post, path = "/register/resend", tag = "access", request_body = ResendRequest,
    responses(
        (status = 204, description = "Sent"),
        (status = 400, body = ErrorBody, description = "Invalid verification code"),
        (status = 422, body = ValidationErrorBody),
        (status = 429, body = ErrorBody, description = "Too many verification requests, try later"),
    ))]
async fn resend_code(
    State(state): State<AppState>,
    Body(req): Body<ResendRequest>,
) -> AppResult<StatusCode> {
    accounts::resend_code(&state.svc, req.token).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------- login

#[derive(Deserialize, ToSchema)]
pub struct LoginRequest {
    email: String,
    password: String,
}

impl Input for LoginRequest {
    fn check(&mut self, c: &mut Checks) {
        c.email("email", &mut self.email);
        c.max_len("password", &self.password, 1024);
    }
}

#[derive(Serialize, ToSchema)]
pub struct LoginResponse {
    login_session_uid: Uuid,
    login_session_token: String,
}

/// Log in; returns the two session headers' values.
#[utoipa::path(post, path = "/login", tag = "access", request_body = LoginRequest,
    responses(
        (status = 201, body = LoginResponse),
        (status = 401, body = ErrorBody, description = "Invalid email or password"),
        (status = 422, body = ValidationErrorBody),
        (status = 429, body = ErrorBody, description = "Too many login attempts, try later | Too many requests, try later"),
    ))]
async fn login(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    headers: HeaderMap,
    Body(req): Body<LoginRequest>,
) -> AppResult<(StatusCode, Json<LoginResponse>)> {
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    let session = accounts::login(&state.svc, client, req.email, req.password, user_agent).await?;
    Ok((
        StatusCode::CREATED,
        Json(LoginResponse {
            login_session_uid: session.uid,
            login_session_token: session.token,
        }),
    ))
}

#[derive(Serialize, ToSchema)]
pub struct Me {
    id: i64,
    role: Role,
    email: String,
    full_name: String,
}

/// Who am I.
#[utoipa::path(get, path = "/login", tag = "access", security(("session_uid" = [], "session_token" = [])),
    responses((status = 200, body = Me), (status = 401, body = ErrorBody)))]
async fn who_am_i(CurrentUser(user): CurrentUser) -> Json<Me> {
    Json(Me {
        id: user.id,
        role: user.role,
        email: user.email,
        full_name: user.full_name,
    })
}

/// Delete the current session.
#[utoipa::path(post, path = "/logout", tag = "access", security(("session_uid" = [], "session_token" = [])),
    responses((status = 204, description = "Logged out"), (status = 401, body = ErrorBody)))]
async fn logout(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> AppResult<StatusCode> {
    accounts::logout(&state.svc, &user).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct SessionDto {
    uid: Uuid,
    user_agent: Option<String>,
    created_at: Ts,
    last_seen_at: Ts,
    current: bool,
}

/// My sessions, most recently used first.
#[utoipa::path(get, path = "/login/sessions", tag = "access", security(("session_uid" = [], "session_token" = [])),
    responses((status = 200, body = Vec<SessionDto>), (status = 401, body = ErrorBody)))]
async fn list_sessions(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> AppResult<Json<Vec<SessionDto>>> {
    let list = accounts::list_sessions(&state.svc, &user).await?;
    Ok(Json(
        list.into_iter()
            .map(|s| SessionDto {
                uid: s.session.uid,
                user_agent: s.session.user_agent,
                created_at: s.session.created_at,
                last_seen_at: s.session.last_seen_at,
                current: s.current,
            })
            .collect(),
    ))
}

/// Revoke one of my sessions.
#[utoipa::path(delete, path = "/login/sessions/{uid}", tag = "access", security(("session_uid" = [], "session_token" = [])),
    params(("uid" = Uuid, Path, description = "Session UID")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "Session not found"),
        (status = 422, body = ValidationErrorBody),
    ))]
async fn revoke_session(
    State(state): State<AppState>,
    AuditedUser(user, actor): AuditedUser,
    Path(uid): Path<Uuid>,
) -> AppResult<StatusCode> {
    accounts::revoke_session(&state.svc, &user, &actor, uid).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------- recovery

#[derive(Deserialize, ToSchema)]
pub struct RecoveryRequest {
    email: String,
}

impl Input for RecoveryRequest {
    fn check(&mut self, c: &mut Checks) {
        c.email("email", &mut self.email);
    }
}

#[derive(Serialize, ToSchema)]
pub struct Empty {}

/// Ask for a password reset link (PASSWORD_RESET_LINK).
#[utoipa::path(post, path = "/login/recovery", tag = "access", request_body = RecoveryRequest,
    responses(
        (status = 201, body = Empty),
        (status = 404, body = ErrorBody, description = "User not found"),
        (status = 422, body = ValidationErrorBody),
        (status = 429, body = ErrorBody, description = "Too many recovery requests, try later"),
    ))]
async fn request_recovery(
    State(state): State<AppState>,
    Body(req): Body<RecoveryRequest>,
) -> AppResult<(StatusCode, Json<Empty>)> {
    accounts::request_recovery(&state.svc, req.email).await?;
    Ok((StatusCode::CREATED, Json(Empty {})))
}

#[derive(Deserialize, ToSchema)]
pub struct RecoverySubmit {
    token: Uuid,
    password: String,
}

impl Input for RecoverySubmit {
    fn check(&mut self, c: &mut Checks) {
        c.password("password", &self.password);
    }
}

/// Set a new password with a recovery token; revokes every session.
#[utoipa::path(post, path = "/login/recovery/submit", tag = "access", request_body = RecoverySubmit,
    responses(
        (status = 204, description = "Password replaced"),
        (status = 400, body = ErrorBody, description = "Invalid recovery token | Recovery token expired"),
        (status = 422, body = ValidationErrorBody),
        (status = 429, body = ErrorBody, description = "Too many requests, try later"),
    ))]
async fn submit_recovery(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    Body(req): Body<RecoverySubmit>,
) -> AppResult<StatusCode> {
    accounts::submit_recovery(&state.svc, client, req.token, req.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub struct ChangePassword {
    current_password: String,
    new_password: String,
}

impl Input for ChangePassword {
    fn check(&mut self, c: &mut Checks) {
        c.max_len("current_password", &self.current_password, 1024);
        c.password("new_password", &self.new_password);
    }
}

/// Change my password; every other session of mine is revoked.
#[utoipa::path(post, path = "/users/me/password", tag = "access", request_body = ChangePassword,
    security(("session_uid" = [], "session_token" = [])),
    responses(
        (status = 204, description = "Changed"),
        (status = 400, body = ErrorBody, description = "Invalid password"),
        (status = 401, body = ErrorBody),
        (status = 422, body = ValidationErrorBody),
        (status = 429, body = ErrorBody, description = "Too many login attempts, try later | Too many requests, try later"),
    ))]
async fn change_password(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    CurrentUser(user): CurrentUser,
    Body(req): Body<ChangePassword>,
) -> AppResult<StatusCode> {
    accounts::change_password(
        &state.svc,
        client,
        &user,
        req.current_password,
        req.new_password,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
