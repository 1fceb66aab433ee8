//! `GET/PUT /api/users/me/preferences`.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::CurrentUser;
use crate::domain::preferences::Lang;
use crate::http::error::{AppResult, ErrorBody, ValidationErrorBody};
use crate::http::extract::{Body, Input};
use crate::service::preferences::{self, Change, Effective};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_preferences, put_preferences))
}

/// My notification preferences, defaults filled in.
#[derive(Debug, Serialize, ToSchema)]
pub struct PreferencesDto {
    /// `ru` or `en`: emails and in-app texts.
    #[schema(value_type = String, example = "en")]
    locale: Lang,
    /// IANA zone of the times in emails and notifications.
    #[schema(example = "Europe/Moscow")]
    time_zone: String,
    /// Every notification type: whether its email is on.
    email: BTreeMap<String, bool>,
    /// Types whose email cannot be turned off (codes, password, security).
    email_required: Vec<String>,
    /// Reminders before each event I join, in minutes before its start,
    /// longest first (default one day: `[1440]`).
    reminder_offsets_minutes: Vec<i64>,
}

impl From<Effective> for PreferencesDto {
    fn from(e: Effective) -> Self {
        PreferencesDto {
            locale: e.locale,
            time_zone: e.time_zone,
            email: e.email,
            email_required: e.email_required,
            reminder_offsets_minutes: e.reminder_offsets_minutes,
        }
    }
}

/// A change; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreferencesUpdate {
    #[schema(value_type = Option<String>, example = "en")]
    locale: Option<Lang>,
    time_zone: Option<String>,
    /// Types to switch: `{"EVENT_UPDATED": false}`.
    email: Option<BTreeMap<String, bool>>,
    /// 1 to 5 offsets, 5 minutes to 30 days, all different.
    reminder_offsets_minutes: Option<Vec<i64>>,
}

impl Input for PreferencesUpdate {}

/// My notification preferences.
#[utoipa::path(get, path = "/users/me/preferences", tag = "users",
    security(("session_uid" = [], "session_token" = [])),
    responses((status = 200, body = PreferencesDto), (status = 401, body = ErrorBody)))]
async fn get_preferences(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> AppResult<Json<PreferencesDto>> {
    Ok(Json(preferences::get(&state.svc, user.id).await?.into()))
}

/// Change my notification preferences.
#[utoipa::path(put, path = "/users/me/preferences", tag = "users", request_body = PreferencesUpdate,
    security(("session_uid" = [], "session_token" = [])),
    responses((status = 200, body = PreferencesDto), (status = 401, body = ErrorBody),
        (status = 422, body = ValidationErrorBody)))]
async fn put_preferences(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Body(body): Body<PreferencesUpdate>,
) -> AppResult<Json<PreferencesDto>> {
    let change = Change {
        locale: body.locale,
        time_zone: body.time_zone.map(|z| z.trim().to_string()),
        email: body.email.unwrap_or_default().into_iter().collect(),
        reminder_offsets_minutes: body.reminder_offsets_minutes,
    };
    Ok(Json(
        preferences::update(&state.svc, user.id, change)
            .await?
            .into(),
    ))
}
