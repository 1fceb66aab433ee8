//! Users (administrators only): list with filters, update, soft delete and
//! set a password.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::{Admin, AuditedAdmin, CurrentUser};
use crate::domain::time::Ts;
use crate::domain::user::{Role, SignInMethod, UserStatus};
use crate::http::error::{AppResult, ErrorBody, ValidationErrorBody};
use crate::http::extract::nullable;
use crate::http::extract::{Body, Checks, Input, Page, Path, Query};
use crate::service::users::{self as service, UserChanges};
use crate::state::AppState;
use crate::store::users::User;
use crate::store::users::UserFilter;

/// `UserDTO` of API.md.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserDto {
    pub id: i64,
    pub role: Role,
    pub email: String,
    pub username: String,
    pub full_name: String,
    pub created_at: Ts,
    pub deleted_at: Option<Ts>,
    pub status: UserStatus,
    /// Always `false`: the contract keeps the field, the product has no
    /// system users.
    pub is_system: bool,
    /// How the account signs in: `password` (a local password is set),
    /// `ldap` / `oidc` (linked to the directory / identity provider).
    pub sign_in: Vec<SignInMethod>,
}

impl From<User> for UserDto {
    fn from(u: User) -> Self {
        UserDto {
            id: u.id,
            role: u.role,
            username: u.email.clone(),
            status: u.status(),
            sign_in: u.sign_in(),
            email: u.email,
            full_name: u.full_name,
            created_at: u.created_at,
            deleted_at: u.deleted_at,
            is_system: false,
        }
    }
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users))
        .routes(routes!(update_user, delete_user))
        .routes(routes!(reset_password))
        .routes(routes!(me))
}

/// My account as administrators see it in `GET /users` (with `sign_in`:
/// how I sign in).
#[utoipa::path(get, path = "/users/me", tag = "users", security(("session_uid" = [], "session_token" = [])),
    responses((status = 200, body = UserDto), (status = 401, body = ErrorBody)))]
async fn me(
    CurrentUser(me): CurrentUser,
    State(state): State<AppState>,
) -> AppResult<Json<UserDto>> {
    Ok(Json(service::me(&state.svc, me.id).await?.into()))
}

/// Query of `GET /users`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UsersQuery {
    /// Default 50, clamped to 1..200.
    pub limit: Option<i64>,
    pub offset: Option<i64>,
    /// Case-insensitive substring of the full name.
    pub full_name: Option<String>,
    /// Case-insensitive substring of the email or the full name.
    pub q: Option<String>,
    pub role: Option<Role>,
    /// `ACTIVE` (not deleted) or `DELETED` (deleted only).
    pub status: Option<UserStatus>,
    /// Inclusive lower bound on `created_at`.
    #[param(value_type = Option<String>, format = DateTime)]
    pub created_from: Option<Ts>,
    /// Inclusive upper bound on `created_at`.
    #[param(value_type = Option<String>, format = DateTime)]
    pub created_to: Option<Ts>,
    /// Also list deleted users (ignored when `status` is given). Accepts
    /// `true/false`, `1/0`, `yes/no`, `on/off`, `t/f`, `y/n` in any case.
    #[serde(default, deserialize_with = "crate::http::extract::query_bool")]
    #[param(value_type = Option<bool>)]
    pub include_deleted: bool,
}

impl Input for UsersQuery {
    fn check(&mut self, c: &mut Checks) {
        c.non_negative("offset", self.offset.unwrap_or(0));
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct UserPath {
    pub user_id: i64,
}

/// List users, ordered by id.
#[utoipa::path(get, path = "/users", tag = "users", security(("session_uid" = [], "session_token" = [])),
    params(UsersQuery),
    responses(
        (status = 200, body = Vec<UserDto>),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 422, body = ValidationErrorBody),
    ))]
async fn list_users(
    Admin(_admin): Admin,
    State(state): State<AppState>,
    Query(query): Query<UsersQuery>,
) -> AppResult<Json<Vec<UserDto>>> {
    let page = Page {
        limit: query.limit,
        offset: query.offset,
    };
    let status = match query.status {
        None if query.include_deleted => None,
        None => Some(UserStatus::Active),
        given => given,
    };
    let filter = UserFilter {
        full_name: query.full_name,
        q: query.q,
        role: query.role,
        status,
        created_from: query.created_from,
        created_to: query.created_to,
        limit: Some(page.limit_or(50, 200)),
        offset: page.offset(),
    };
    let list = service::list_users(&state.svc, filter).await?;
    let list = list.into_iter().map(UserDto::from).collect();
    Ok(Json(list))
}

/// Body of `PUT /users/{user_id}`: every field optional.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UserUpdate {
    pub role: Option<Role>,
    pub email: Option<String>,
    /// 1–200 characters after trimming.
    pub full_name: Option<String>,
    /// `null` restores a deleted user; a timestamp is refused (use DELETE).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Ts>)]
    pub deleted_at: Option<Option<Ts>>,
}

impl Input for UserUpdate {
    fn check(&mut self, c: &mut Checks) {
        if let Some(email) = &mut self.email {
            c.email("email", email);
        }
        if let Some(name) = &mut self.full_name {
            c.text("full_name", name, 1, 200);
        }
    }
}

/// Update a user's role, email, name, or restore a deleted user.
#[utoipa::path(put, path = "/users/{user_id}", tag = "users", security(("session_uid" = [], "session_token" = [])),
    params(UserPath),
    request_body = UserUpdate,
    responses(
        (status = 200, body = UserDto),
        (status = 400, body = ErrorBody, description = "Email already exists / Use DELETE to delete a user / Cannot remove the last administrator"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "User not found"),
        (status = 422, body = ValidationErrorBody),
    ))]
async fn update_user(
    AuditedAdmin(_me, actor): AuditedAdmin,
    State(state): State<AppState>,
    Path(UserPath { user_id }): Path<UserPath>,
    Body(body): Body<UserUpdate>,
) -> AppResult<Json<UserDto>> {
    let changes = UserChanges {
        role: body.role,
        email: body.email,
        full_name: body.full_name,
        deleted_at: body.deleted_at,
    };
    let dto = service::update_user(&state.svc, &actor, user_id, changes)
        .await?
        .into();
    Ok(Json(dto))
}

/// Soft-delete a user and revoke their sessions.
#[utoipa::path(delete, path = "/users/{user_id}", tag = "users", security(("session_uid" = [], "session_token" = [])),
    params(UserPath),
    responses(
        (status = 204, description = "Deleted (or already deleted)"),
        (status = 400, body = ErrorBody, description = "Cannot remove the last administrator"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "User not found"),
        (status = 422, body = ValidationErrorBody),
    ))]
async fn delete_user(
    AuditedAdmin(_me, actor): AuditedAdmin,
    State(state): State<AppState>,
    Path(UserPath { user_id }): Path<UserPath>,
) -> AppResult<StatusCode> {
    service::delete_user(&state.svc, &actor, user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Body of `POST /users/{user_id}/reset-password`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ResetPassword {
    /// Same rules as at registration.
    pub password: String,
    /// Email the new password to the user (ADMIN_SET_PASSWORD).
    #[serde(default)]
    pub send_email: bool,
}

impl Input for ResetPassword {
    fn check(&mut self, c: &mut Checks) {
        c.password("password", &self.password);
    }
}

/// Set a user's password; their sessions are revoked.
#[utoipa::path(post, path = "/users/{user_id}/reset-password", tag = "users",
    security(("session_uid" = [], "session_token" = [])),
    params(UserPath),
    request_body = ResetPassword,
    responses(
        (status = 204, description = "Password set"),
        (status = 400, body = ErrorBody, description = "Cannot reset password for deleted user"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "User not found"),
        (status = 422, body = ValidationErrorBody),
    ))]
async fn reset_password(
    AuditedAdmin(_me, actor): AuditedAdmin,
    State(state): State<AppState>,
    Path(UserPath { user_id }): Path<UserPath>,
    Body(body): Body<ResetPassword>,
) -> AppResult<StatusCode> {
    service::reset_password(&state.svc, &actor, user_id, body.password, body.send_email).await?;
    Ok(StatusCode::NO_CONTENT)
}
