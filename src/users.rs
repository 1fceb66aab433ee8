//! Users: the wire form, and `create` on a raw connection that
//! tests/operations.rs still calls (TODO(layers): removed with that caller;
//! new code uses the services).

use rusqlite::{Connection, params};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::{email_key, fold};
use crate::domain::time::Ts;
use crate::http::error::{AppError, AppResult};
use crate::store::sqlite::OptionalRow;

pub use crate::domain::user::{Role, UserStatus};
use crate::store::users::User;

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
}

impl From<User> for UserDto {
    fn from(u: User) -> Self {
        UserDto {
            id: u.id,
            role: u.role,
            username: u.email.clone(),
            status: u.status(),
            email: u.email,
            full_name: u.full_name,
            created_at: u.created_at,
            deleted_at: u.deleted_at,
            is_system: false,
        }
    }
}

pub fn email_taken(conn: &Connection, email: &str, except: Option<i64>) -> AppResult<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM user WHERE email_key = ?1 AND id <> ?2")?
        .query_row(params![email_key(email), except.unwrap_or(-1)], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Inserts a user; `400 "Email already exists"` when the address is taken.
pub fn create(
    conn: &Connection,
    email: &str,
    full_name: &str,
    password_hash: &str,
    role: Role,
    now: Ts,
) -> AppResult<i64> {
    if email_taken(conn, email, None)? {
        return Err(AppError::bad_request("Email already exists"));
    }
    conn.execute(
        "INSERT INTO user (email, email_key, full_name, full_name_fold, password_hash, role, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            email.trim(),
            email_key(email),
            full_name,
            fold(full_name),
            password_hash,
            role,
            now
        ],
    )?;
    Ok(conn.last_insert_rowid())
}
