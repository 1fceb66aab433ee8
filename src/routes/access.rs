//! API.md "Access": registration with an emailed code, login sessions,
//! password recovery and change.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use chrono::Duration;
use rand::Rng;
use rusqlite::params;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::auth::session::{self, constant_time_eq};
use crate::auth::{CurrentUser, email_key};
use crate::domain::time::Ts;
use crate::http::error::{AppError, AppResult, ErrorBody, ValidationErrorBody};
use crate::http::extract::{Body, Checks, Input, Path};
use crate::notify::{Notice, To};
use crate::state::AppState;
use crate::store::sqlite::OptionalRow;
use crate::users::{self, Role};

/// Pending registrations and recovery tokens live this long.
pub const TOKEN_LIFETIME_HOURS: i64 = 24;

const INVALID_CODE: &str = "Invalid verification code";
const TOO_MANY_VERIFICATIONS: &str = "Too many verification requests, try later";
const TOO_MANY_LOGINS: &str = "Too many login attempts, try later";
const TOO_MANY_RECOVERIES: &str = "Too many recovery requests, try later";
const INVALID_RECOVERY: &str = "Invalid recovery token";

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

fn limited(key: &str, state: &AppState, message: &'static str) -> AppResult<()> {
    state
        .limiter
        .attempt(key)
        .map_err(|secs| AppError::too_many(message, secs))
}

fn expired(created_at: Ts, now: Ts) -> bool {
    created_at.0 + Duration::hours(TOKEN_LIFETIME_HOURS) <= now.0
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
        (status = 429, body = ErrorBody, description = "Too many verification requests, try later"),
    ))]
async fn register(
    State(state): State<AppState>,
    Body(req): Body<RegisterRequest>,
) -> AppResult<(StatusCode, Json<RegisterResponse>)> {
    let email = req.email.clone();
    if state
        .db
        .read(move |c| users::email_taken(c, &email, None))
        .await?
    {
        return Err(AppError::bad_request("Email already exists"));
    }
    limited(
        &format!("registration:{}", email_key(&req.email)),
        &state,
        TOO_MANY_VERIFICATIONS,
    )?;
    let hash = state.passwords.hash(req.password).await?;
    let token = Uuid::new_v4();
    let code: u32 = rand::rng().random_range(100_000..=999_999);
    let now = state.now();
    let notifier = state.notifier.clone();
    state
        .db
        .write(move |tx| {
            tx.execute(
                "INSERT INTO issued_registration (token, email, email_key, full_name, password_hash, code, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    token.to_string(),
                    req.email,
                    email_key(&req.email),
                    req.full_name,
                    hash,
                    code,
                    now
                ],
            )?;
            notifier.send(
                tx,
                now,
                &Notice::RegConfirmCode { code },
                &[To::Address {
                    email: req.email.clone(),
                    name: req.full_name.clone(),
                }],
            )
        })
        .await?;
    Ok((StatusCode::CREATED, Json(RegisterResponse { token })))
}

struct PendingRegistration {
    id: i64,
    email: String,
    full_name: String,
    password_hash: String,
    code: u32,
    created_at: Ts,
    used: bool,
}

fn pending(conn: &rusqlite::Connection, token: Uuid) -> AppResult<Option<PendingRegistration>> {
    Ok(conn
        .prepare_cached(
            "SELECT id, email, full_name, password_hash, code, created_at, used_at IS NOT NULL
             FROM issued_registration WHERE token = ?1",
        )?
        .query_row([token.to_string()], |r| {
            Ok(PendingRegistration {
                id: r.get(0)?,
                email: r.get(1)?,
                full_name: r.get(2)?,
                password_hash: r.get(3)?,
                code: r.get(4)?,
                created_at: r.get(5)?,
                used: r.get(6)?,
            })
        })
        .optional()?)
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
    let token = req.token;
    let found = state.db.read(move |c| pending(c, token)).await?;
    let Some(found) = found else {
        return Err(AppError::bad_request(INVALID_CODE));
    };
    limited(
        &format!("verification:{}", email_key(&found.email)),
        &state,
        TOO_MANY_VERIFICATIONS,
    )?;
    let now = state.now();
    let notifier = state.notifier.clone();
    state
        .db
        .write(move |tx| {
            // Re-read inside the write transaction: of two concurrent
            // verifications only the first sees the registration unused.
            let reg = pending(tx, token)?.ok_or_else(|| AppError::bad_request(INVALID_CODE))?;
            let code_ok = constant_time_eq(
                reg.code.to_string().as_bytes(),
                req.code.to_string().as_bytes(),
            );
            if reg.used || expired(reg.created_at, now) || !code_ok {
                return Err(AppError::bad_request(INVALID_CODE));
            }
            let id = users::create(
                tx,
                &reg.email,
                &reg.full_name,
                &reg.password_hash,
                Role::User,
                now,
            )?;
            tx.execute(
                "UPDATE issued_registration SET used_at = ?2 WHERE id = ?1",
                params![reg.id, now],
            )?;
            notifier.send(tx, now, &Notice::RegWelcome, &[To::User(id)])
        })
        .await?;
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
    let token = req.token;
    let now = state.now();
    let reg = state
        .db
        .read(move |c| pending(c, token))
        .await?
        .filter(|r| !r.used && !expired(r.created_at, now))
        .ok_or_else(|| AppError::bad_request(INVALID_CODE))?;
    limited(
        &format!("registration:{}", email_key(&reg.email)),
        &state,
        TOO_MANY_VERIFICATIONS,
    )?;
    let notifier = state.notifier.clone();
    state
        .db
        .write(move |tx| {
            notifier.send(
                tx,
                now,
                &Notice::RegConfirmCode { code: reg.code },
                &[To::Address {
                    email: reg.email.clone(),
                    name: reg.full_name.clone(),
                }],
            )
        })
        .await?;
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
        (status = 429, body = ErrorBody, description = "Too many login attempts, try later"),
    ))]
async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    Body(req): Body<LoginRequest>,
) -> AppResult<(StatusCode, Json<LoginResponse>)> {
    let key = format!("login:{}", email_key(&req.email));
    state
        .limiter
        .login_allowed(&key)
        .map_err(|secs| AppError::too_many(TOO_MANY_LOGINS, secs))?;
    let lookup = email_key(&req.email);
    let account: Option<(i64, String, bool)> = state
        .db
        .read(move |c| {
            Ok(c.prepare_cached(
                "SELECT id, password_hash, deleted_at IS NOT NULL FROM user WHERE email_key = ?1",
            )?
            .query_row([lookup], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?)
        })
        .await?;
    let stored = account.as_ref().map(|(_, hash, _)| hash.clone());
    let verified = state.passwords.verify(req.password.clone(), stored).await?;
    let user_id = match account {
        Some((id, _, false)) if verified.ok => id,
        _ => {
            state.limiter.login_failed(&key);
            return Err(AppError::status(
                StatusCode::UNAUTHORIZED,
                "Invalid email or password",
            ));
        }
    };
    state.limiter.login_succeeded(&key);
    let rehash = if verified.needs_rehash {
        Some(state.passwords.hash(req.password).await?)
    } else {
        None
    };
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    let now = state.now();
    let created = state
        .db
        .write(move |tx| {
            if let Some(hash) = rehash {
                users::set_password(tx, user_id, &hash)?;
            }
            session::create(tx, user_id, user_agent.as_deref(), now)
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(LoginResponse {
            login_session_uid: created.uid,
            login_session_token: created.token,
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
        role: if user.role == users::ADMINISTRATOR {
            Role::Administrator
        } else {
            Role::User
        },
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
    let uid = user.session_uid.to_string();
    state
        .db
        .write(move |tx| {
            tx.execute("DELETE FROM login_session WHERE uid = ?1", [uid])?;
            Ok(())
        })
        .await?;
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
    let now = state.now();
    let oldest = Ts(now.0 - Duration::days(state.config.auth.session_ttl_days));
    let list = state
        .db
        .read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT uid, user_agent, created_at, last_seen_at FROM login_session
                 WHERE user_id = ?1 AND last_seen_at > ?2
                 ORDER BY last_seen_at DESC, created_at DESC",
            )?;
            let rows = stmt
                .query_map(params![user.id, oldest], |r| {
                    let uid: String = r.get(0)?;
                    let uid = Uuid::parse_str(&uid).unwrap_or_default();
                    Ok(SessionDto {
                        current: uid == user.session_uid,
                        uid,
                        user_agent: r.get(1)?,
                        created_at: r.get(2)?,
                        last_seen_at: r.get(3)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
        .await?;
    Ok(Json(list))
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
    CurrentUser(user): CurrentUser,
    Path(uid): Path<Uuid>,
) -> AppResult<StatusCode> {
    let deleted = state
        .db
        .write(move |tx| {
            Ok(tx.execute(
                "DELETE FROM login_session WHERE uid = ?1 AND user_id = ?2",
                params![uid.to_string(), user.id],
            )?)
        })
        .await?;
    if deleted == 0 {
        return Err(AppError::not_found("Session not found"));
    }
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
    limited(
        &format!("recovery:{}", email_key(&req.email)),
        &state,
        TOO_MANY_RECOVERIES,
    )?;
    let now = state.now();
    let notifier = state.notifier.clone();
    state
        .db
        .write(move |tx| {
            let user = users::find_by_email(tx, &req.email)?
                .filter(|u| u.deleted_at.is_none())
                .ok_or_else(|| AppError::not_found("User not found"))?;
            let token = Uuid::new_v4().to_string();
            tx.execute(
                "INSERT INTO issued_login_recovery (token, user_id, created_at) VALUES (?1, ?2, ?3)",
                params![token, user.id, now],
            )?;
            notifier.send(
                tx,
                now,
                &Notice::PasswordResetLink { token },
                &[To::User(user.id)],
            )
        })
        .await?;
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
    ))]
async fn submit_recovery(
    State(state): State<AppState>,
    Body(req): Body<RecoverySubmit>,
) -> AppResult<StatusCode> {
    let token = req.token.to_string();
    let now = state.now();
    let check = move |c: &rusqlite::Connection, token: &str| -> AppResult<i64> {
        let row: Option<(i64, i64, Ts, bool, bool)> = c
            .prepare_cached(
                "SELECT r.id, r.user_id, r.created_at, r.used_at IS NOT NULL, u.deleted_at IS NOT NULL
                 FROM issued_login_recovery r JOIN user u ON u.id = r.user_id WHERE r.token = ?1",
            )?
            .query_row([token], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .optional()?;
        match row {
            Some((_, _, _, used, deleted)) if used || deleted => {
                Err(AppError::bad_request(INVALID_RECOVERY))
            }
            Some((_, _, created, _, _)) if expired(created, now) => {
                Err(AppError::bad_request("Recovery token expired"))
            }
            Some((_, user_id, ..)) => Ok(user_id),
            None => Err(AppError::bad_request(INVALID_RECOVERY)),
        }
    };
    let t = token.clone();
    state.db.read(move |c| check(c, &t).map(|_| ())).await?;
    let hash = state.passwords.hash(req.password).await?;
    let notifier = state.notifier.clone();
    state
        .db
        .write(move |tx| {
            let user_id = check(tx, &token)?;
            tx.execute(
                "UPDATE issued_login_recovery SET used_at = ?2 WHERE token = ?1",
                params![token, now],
            )?;
            users::set_password(tx, user_id, &hash)?;
            session::revoke_all(tx, user_id, None)?;
            notifier.send(tx, now, &Notice::PasswordChanged, &[To::User(user_id)])
        })
        .await?;
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
    ))]
async fn change_password(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Body(req): Body<ChangePassword>,
) -> AppResult<StatusCode> {
    let id = user.id;
    let stored: String = state
        .db
        .read(move |c| {
            Ok(
                c.query_row("SELECT password_hash FROM user WHERE id = ?1", [id], |r| {
                    r.get(0)
                })?,
            )
        })
        .await?;
    if !state
        .passwords
        .verify(req.current_password, Some(stored))
        .await?
        .ok
    {
        return Err(AppError::bad_request("Invalid password"));
    }
    let hash = state.passwords.hash(req.new_password).await?;
    let now = state.now();
    let notifier = state.notifier.clone();
    state
        .db
        .write(move |tx| {
            users::set_password(tx, id, &hash)?;
            session::revoke_all(tx, id, Some(user.session_uid))?;
            notifier.send(tx, now, &Notice::PasswordChanged, &[To::User(id)])
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
