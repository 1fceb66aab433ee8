//! API.md first-run setup: `GET /api/setup` says whether the first
//! administrator is still to be created, `POST /api/setup` creates it with
//! the one-time token `afisha serve` printed (see `service::setup`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::domain::account::Account;
use crate::domain::user::{SignInMethod, UserStatus};
use crate::http::client::ClientIp;
use crate::http::error::{AppResult, ErrorBody, ValidationErrorBody};
use crate::http::extract::{Body, Checks, Input};
use crate::routes::users::UserDto;
use crate::service::setup;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(status, complete))
}

#[derive(Serialize, ToSchema)]
pub struct SetupStatus {
    /// Whether the first administrator still has to be created.
    required: bool,
}

/// Whether first-run setup is pending.
#[utoipa::path(get, path = "/setup", tag = "setup", responses((status = 200, body = SetupStatus)))]
async fn status(State(state): State<AppState>) -> AppResult<Json<SetupStatus>> {
    Ok(Json(SetupStatus {
        required: setup::required(&state.svc).await?,
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct SetupRequest {
    token: String,
    email: String,
    full_name: String,
    password: String,
}

impl Input for SetupRequest {
    fn check(&mut self, c: &mut Checks) {
        c.email("email", &mut self.email);
        c.text("full_name", &mut self.full_name, 1, 200);
        c.password("password", &self.password);
    }
}

/// Create the first administrator with the one-time setup token.
#[utoipa::path(post, path = "/setup", tag = "setup", request_body = SetupRequest,
    responses(
        (status = 201, body = UserDto),
        (status = 400, body = ErrorBody, description = "Invalid setup token | Setup already completed | Email already exists"),
        (status = 422, body = ValidationErrorBody),
    ))]
async fn complete(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    Body(req): Body<SetupRequest>,
) -> AppResult<(StatusCode, Json<UserDto>)> {
    let user = setup::complete(
        &state.svc,
        req.token,
        req.email,
        req.full_name,
        req.password,
        client,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(user_dto(user))))
}

/// The wire form of a just-created user.
pub fn user_dto(user: Account) -> UserDto {
    UserDto {
        id: user.id,
        role: user.role,
        username: user.email.clone(),
        email: user.email,
        full_name: user.full_name,
        created_at: user.created_at,
        deleted_at: None,
        status: UserStatus::Active,
        is_system: false,
        sign_in: vec![SignInMethod::Password],
    }
}
