//! Users (administrators only): list with filters, update, soft delete and
//! set a password.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use rusqlite::{Connection, named_params, params};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::{Admin, email_key, fold, session};
use crate::domain::time::Ts;
use crate::http::error::{AppError, AppResult, ErrorBody, ValidationErrorBody};
use crate::http::extract::nullable;
use crate::http::extract::{Body, Checks, Input, Page, Path, Query};
use crate::notify::{Notice, To};
use crate::state::AppState;
use crate::users::{self, Role, USER_COLUMNS, UserDto, UserStatus};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users))
        .routes(routes!(update_user, delete_user))
        .routes(routes!(reset_password))
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
    /// Also list deleted users (ignored when `status` is given).
    #[serde(default)]
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
    let deleted = match query.status {
        Some(UserStatus::Active) => Some(false),
        Some(UserStatus::Deleted) => Some(true),
        None if query.include_deleted => None,
        None => Some(false),
    };
    let list = state
        .db
        .read(move |conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {USER_COLUMNS} FROM user
                 WHERE (:name IS NULL OR instr(full_name_fold, :name) > 0)
                   AND (:q IS NULL OR instr(full_name_fold, :q) > 0 OR instr(email_key, :q) > 0)
                   AND (:role IS NULL OR role = :role)
                   AND (:deleted IS NULL OR (deleted_at IS NOT NULL) = :deleted)
                   AND (:from IS NULL OR created_at >= :from)
                   AND (:to IS NULL OR created_at <= :to)
                 ORDER BY id LIMIT :limit OFFSET :offset"
            ))?;
            let rows = stmt.query_map(
                named_params! {
                    ":name": query.full_name.as_deref().map(fold),
                    ":q": query.q.as_deref().map(fold),
                    ":role": query.role.map(Role::as_str),
                    ":deleted": deleted,
                    ":from": query.created_from,
                    ":to": query.created_to,
                    ":limit": page.limit_or(50, 200),
                    ":offset": page.offset(),
                },
                UserDto::from_row,
            )?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await?;
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

fn require_user(conn: &Connection, id: i64) -> AppResult<UserDto> {
    users::get(conn, id)?.ok_or_else(|| AppError::not_found("User not found"))
}

/// `400 "Cannot remove the last administrator"` when `user` is the only
/// active administrator left.
fn guard_last_admin(conn: &Connection, user: &UserDto) -> AppResult<()> {
    let admins = users::active_admin_ids(conn)?;
    if admins == [user.id] {
        return Err(AppError::bad_request(
            "Cannot remove the last administrator",
        ));
    }
    Ok(())
}

fn is_active_admin(user: &UserDto) -> bool {
    user.deleted_at.is_none() && (user.role == Role::Administrator || user.is_system)
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
    Admin(_admin): Admin,
    State(state): State<AppState>,
    Path(UserPath { user_id }): Path<UserPath>,
    Body(body): Body<UserUpdate>,
) -> AppResult<Json<UserDto>> {
    let dto = state
        .db
        .write(move |tx| {
            let user = require_user(tx, user_id)?;
            if let Some(Some(_)) = body.deleted_at {
                return Err(AppError::bad_request("Use DELETE to delete a user"));
            }
            if let Some(email) = &body.email
                && users::email_taken(tx, email, Some(user_id))?
            {
                return Err(AppError::bad_request("Email already exists"));
            }
            let demoted = body.role == Some(Role::User)
                && user.role == Role::Administrator
                && !user.is_system;
            if demoted && is_active_admin(&user) {
                guard_last_admin(tx, &user)?;
            }
            if let Some(role) = body.role {
                tx.execute(
                    "UPDATE user SET role = ?2 WHERE id = ?1",
                    params![user_id, role.as_str()],
                )?;
            }
            if let Some(email) = &body.email {
                tx.execute(
                    "UPDATE user SET email = ?2, email_key = ?3 WHERE id = ?1",
                    params![user_id, email, email_key(email)],
                )?;
            }
            if let Some(name) = &body.full_name {
                tx.execute(
                    "UPDATE user SET full_name = ?2, full_name_fold = ?3 WHERE id = ?1",
                    params![user_id, name, fold(name)],
                )?;
            }
            if body.deleted_at == Some(None) {
                tx.execute("UPDATE user SET deleted_at = NULL WHERE id = ?1", [user_id])?;
            }
            require_user(tx, user_id)
        })
        .await?;
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
    Admin(_admin): Admin,
    State(state): State<AppState>,
    Path(UserPath { user_id }): Path<UserPath>,
) -> AppResult<StatusCode> {
    let now = state.now();
    state
        .db
        .write(move |tx| {
            let user = require_user(tx, user_id)?;
            if user.deleted_at.is_some() {
                return Ok(());
            }
            if is_active_admin(&user) {
                guard_last_admin(tx, &user)?;
            }
            tx.execute(
                "UPDATE user SET deleted_at = ?2 WHERE id = ?1",
                params![user_id, now],
            )?;
            session::revoke_all(tx, user_id, None)?;
            Ok(())
        })
        .await?;
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

/// Refuses unknown (404) and deleted (400) users.
fn require_resettable(conn: &Connection, user_id: i64) -> AppResult<()> {
    if require_user(conn, user_id)?.deleted_at.is_some() {
        return Err(AppError::bad_request(
            "Cannot reset password for deleted user",
        ));
    }
    Ok(())
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
    Admin(_admin): Admin,
    State(state): State<AppState>,
    Path(UserPath { user_id }): Path<UserPath>,
    Body(body): Body<ResetPassword>,
) -> AppResult<StatusCode> {
    // Refuse before paying for a hash; checked again in the write below.
    state
        .db
        .read(move |conn| require_resettable(conn, user_id))
        .await?;
    let hash = state.passwords.hash(body.password.clone()).await?;
    let now = state.now();
    let notifier = state.notifier.clone();
    state
        .db
        .write(move |tx| {
            require_resettable(tx, user_id)?;
            users::set_password(tx, user_id, &hash)?;
            session::revoke_all(tx, user_id, None)?;
            if body.send_email {
                let notice = Notice::AdminSetPassword {
                    password: body.password,
                };
                notifier.send(tx, now, &notice, &[To::User(user_id)])?;
            }
            Ok(())
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
