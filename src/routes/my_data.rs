//! "Your data": `GET /users/me/export` (everything stored about me, as a
//! JSON file) and `DELETE /users/me` (delete my account).

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::auth::{AuditedUser, CurrentUser};
use crate::domain::time::Ts;
use crate::domain::user::IdentityProvider;
use crate::email::Audience;
use crate::http::error::{AppResult, ErrorBody, ValidationErrorBody};
use crate::http::extract::{Body, Checks, Input};
use crate::routes::notifications::{NotificationDto, dto as notification_dto};
use crate::routes::preferences::PreferencesDto;
use crate::routes::users::UserDto;
use crate::service::my_data;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(export_my_data))
        .routes(routes!(delete_me))
}

#[derive(Serialize, ToSchema)]
pub struct MySessionDto {
    uid: Uuid,
    user_agent: Option<String>,
    created_at: Ts,
    last_seen_at: Ts,
    /// The session that asked for this export.
    current: bool,
}

#[derive(Serialize, ToSchema)]
pub struct MyParticipationDto {
    event_id: i64,
    event_name: String,
    /// `PARTICIPATING`, `REJECTED` or `WAITLISTED`.
    status: String,
    /// When I joined (or was listed).
    joined_at: Ts,
}

#[derive(Serialize, ToSchema)]
pub struct CalendarFeedDto {
    /// Whether a personal calendar feed URL exists (the URL is a secret and
    /// is not included; `GET /users/me/calendar-token` shows it).
    exists: bool,
}

/// Everything stored about me. No secret: no password hash, no session,
/// calendar or recovery token.
#[derive(Serialize, ToSchema)]
pub struct MyDataDto {
    exported_at: Ts,
    profile: UserDto,
    /// `ldap` or `oidc` when the account is linked to one.
    #[schema(value_type = Option<String>)]
    identity_provider: Option<IdentityProvider>,
    sessions: Vec<MySessionDto>,
    participations: Vec<MyParticipationDto>,
    notifications: Vec<NotificationDto>,
    preferences: PreferencesDto,
    calendar_feed: CalendarFeedDto,
}

/// Download everything stored about me (a JSON file).
#[utoipa::path(get, path = "/users/me/export", tag = "users",
    security(("session_uid" = [], "session_token" = [])),
    responses(
        (status = 200, body = MyDataDto, description = "As an attachment `my-data.json`"),
        (status = 401, body = ErrorBody),
    ))]
async fn export_my_data(
    CurrentUser(me): CurrentUser,
    State(state): State<AppState>,
) -> AppResult<Response> {
    let data = my_data::export(&state.svc, me.id).await?;
    let audience = Audience {
        locale: data.notification_prefs.locale,
        time_zone: data.notification_prefs.time_zone.clone(),
        ticket_qr: None,
    };
    let notifications = data
        .notifications
        .into_iter()
        .map(|row| notification_dto(&state, row, &audience))
        .collect::<Result<Vec<_>, _>>()?;
    let doc = MyDataDto {
        exported_at: state.now(),
        identity_provider: data.user.identity_provider,
        profile: data.user.into(),
        sessions: data
            .sessions
            .into_iter()
            .map(|s| MySessionDto {
                current: s.uid == me.session_uid,
                uid: s.uid,
                user_agent: s.user_agent,
                created_at: s.created_at,
                last_seen_at: s.last_seen_at,
            })
            .collect(),
        participations: data
            .participations
            .into_iter()
            .map(|p| MyParticipationDto {
                event_id: p.event_id,
                event_name: p.event_name,
                status: p.status.as_str().to_string(),
                joined_at: p.created_at,
            })
            .collect(),
        notifications,
        preferences: data.preferences.into(),
        calendar_feed: CalendarFeedDto {
            exists: data.calendar_feed,
        },
    };
    let body =
        serde_json::to_vec_pretty(&doc).map_err(crate::domain::error::DomainError::internal)?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/json"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"my-data.json\"",
            ),
        ],
        body,
    )
        .into_response())
}

/// Body of `DELETE /users/me`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct DeleteMe {
    /// My password; accounts without one (directory or identity provider)
    /// leave it out and must have signed in within the last 10 minutes.
    #[serde(default)]
    password: Option<String>,
}

impl Input for DeleteMe {
    fn check(&mut self, c: &mut Checks) {
        if let Some(p) = &self.password {
            c.max_len("password", p, 1024);
        }
    }
}

/// Delete my account: name and email anonymised, sessions, calendar
/// token, preferences and notifications removed; my participations stay as
/// anonymous counts. The last administrator cannot delete themselves.
#[utoipa::path(delete, path = "/users/me", tag = "users", request_body = DeleteMe,
    security(("session_uid" = [], "session_token" = [])),
    responses(
        (status = 204, description = "Deleted; every session of mine has ended"),
        (status = 400, body = ErrorBody, description = "Password required | Invalid password | Cannot remove the last administrator"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "Sign in again (within the last 10 minutes) to delete your account"),
        (status = 422, body = ValidationErrorBody),
        (status = 429, body = ErrorBody, description = "Too many login attempts, try later"),
    ))]
async fn delete_me(
    AuditedUser(me, actor): AuditedUser,
    State(state): State<AppState>,
    Body(body): Body<DeleteMe>,
) -> AppResult<StatusCode> {
    my_data::delete_me(&state.svc, &me, &actor, body.password).await?;
    Ok(StatusCode::NO_CONTENT)
}
