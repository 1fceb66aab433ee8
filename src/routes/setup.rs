//! First run: while no administrator exists, `afisha serve` prints a
//! one-time link `<public_url>/setup?token=…`; the web UI's setup page
//! posts here to create the first administrator. The token lives in memory
//! and is valid until used or until an administrator exists by any means.

use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::session::constant_time_eq;
use crate::http::error::{AppError, AppResult, ErrorBody, ValidationErrorBody};
use crate::http::extract::{Body, Checks, Input};
use crate::state::AppState;
use crate::users::{self, Role, UserDto};

/// The pending setup token, if any.
#[derive(Clone, Default)]
pub struct SetupToken(Arc<Mutex<Option<String>>>);

impl SetupToken {
    fn take_if(&self, token: &str) -> bool {
        let mut slot = self.0.lock().unwrap_or_else(|p| p.into_inner());
        match slot.as_deref() {
            Some(t) if constant_time_eq(t.as_bytes(), token.as_bytes()) => {
                *slot = None;
                true
            }
            _ => false,
        }
    }
    fn put_back(&self, token: String) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(token);
    }
    fn clear(&self) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
    fn pending(&self) -> bool {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).is_some()
    }
}

/// When no administrator exists, creates a token and returns the setup URL.
pub async fn prepare(state: &AppState) -> AppResult<Option<String>> {
    let admins = state.db.read(users::active_admin_ids).await?;
    if !admins.is_empty() {
        state.setup.clear();
        return Ok(None);
    }
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    let token = hex::encode(bytes);
    state.setup.put_back(token.clone());
    Ok(Some(format!(
        "{}/setup?token={token}",
        state.config.public_url()
    )))
}

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
    let admins = state.db.read(users::active_admin_ids).await?;
    Ok(Json(SetupStatus {
        required: admins.is_empty() && state.setup.pending(),
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
    Body(req): Body<SetupRequest>,
) -> AppResult<(StatusCode, Json<UserDto>)> {
    if !state.setup.take_if(&req.token) {
        return Err(if state.setup.pending() {
            AppError::bad_request("Invalid setup token")
        } else {
            AppError::bad_request("Setup already completed")
        });
    }
    let token = req.token.clone();
    let result = async {
        let hash = state.passwords.hash(req.password).await?;
        let now = state.now();
        state
            .db
            .write(move |tx| {
                if !users::active_admin_ids(tx)?.is_empty() {
                    return Err(AppError::bad_request("Setup already completed"));
                }
                let id = users::create(
                    tx,
                    &req.email,
                    &req.full_name,
                    &hash,
                    Role::Administrator,
                    now,
                )?;
                users::get(tx, id)?.ok_or_else(|| AppError::internal("user vanished"))
            })
            .await
    }
    .await;
    match result {
        Ok(user) => Ok((StatusCode::CREATED, Json(user))),
        Err(e) => {
            // A failed attempt (e.g. email taken) leaves the link usable.
            if !matches!(&e, AppError::Domain(crate::domain::error::DomainError::Rule(message)) if message == "Setup already completed")
            {
                state.setup.put_back(token);
            }
            Err(e)
        }
    }
}
