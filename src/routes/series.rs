//! Recurring events (README "Recurring events"): an administrator creates
//! a series (`POST /series`) and reads it with its occurrences
//! (`GET /series/{series_id}`); occurrences are events, edited through
//! `PUT /events/{event_id}?scope=…`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::{Admin, AuditedAdmin};
use crate::domain::event::NewEvent;
use crate::domain::series::{Day, Frequency, Rule};
use crate::http::error::{AppResult, ErrorBody, ValidationErrorBody};
use crate::http::extract::{Body, Checks, Input, Path};
use crate::routes::events::{EventCreate, EventDto};
use crate::service::events::EventView;
use crate::service::series::{self, SeriesView};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_series))
        .routes(routes!(get_series))
}

fn one() -> u32 {
    1
}

/// How a series repeats. Weekly: `weekdays` (absent: the first
/// occurrence's day), every `interval` weeks. Monthly: `month_day`
/// (1–31; a day a short month lacks means its last day), or `month_week`
/// (1–5, or -1 for the last) with `month_weekday` — every `interval`
/// months. It ends on `until` (a local date, inclusive) or after `count`
/// occurrences, or neither (then occurrences keep coming, always
/// `events.series_horizon_days` ahead).
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct RepeatDto {
    /// `WEEKLY` or `MONTHLY`.
    #[schema(value_type = String, example = "WEEKLY")]
    pub frequency: Frequency,
    /// Every N weeks or months, 1–52; absent: 1.
    #[serde(default = "one")]
    pub interval: u32,
    /// Weekly: days as `MO`, `TU`, `WE`, `TH`, `FR`, `SA`, `SU`.
    #[serde(default)]
    #[schema(value_type = Vec<String>, example = json!(["TU", "TH"]))]
    pub weekdays: Vec<Day>,
    #[serde(default)]
    pub month_week: Option<i32>,
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "TU")]
    pub month_weekday: Option<Day>,
    #[serde(default)]
    pub month_day: Option<u32>,
    #[serde(default)]
    pub until: Option<NaiveDate>,
    #[serde(default)]
    pub count: Option<u32>,
}

impl From<RepeatDto> for Rule {
    fn from(r: RepeatDto) -> Rule {
        Rule {
            frequency: r.frequency,
            interval: r.interval,
            weekdays: r.weekdays,
            month_week: r.month_week,
            month_weekday: r.month_weekday,
            month_day: r.month_day,
            until: r.until,
            count: r.count,
        }
    }
}

impl From<Rule> for RepeatDto {
    fn from(r: Rule) -> RepeatDto {
        RepeatDto {
            frequency: r.frequency,
            interval: r.interval,
            weekdays: r.weekdays,
            month_week: r.month_week,
            month_weekday: r.month_weekday,
            month_day: r.month_day,
            until: r.until,
            count: r.count,
        }
    }
}

/// Body of `POST /series`: the first occurrence's fields as for
/// `POST /events` (its start and end give every occurrence's local time and
/// length; `participants_ids` is refused: people join each occurrence) and
/// how it repeats.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SeriesCreate {
    #[serde(flatten)]
    pub event: EventCreate,
    pub repeat: RepeatDto,
}

impl Input for SeriesCreate {
    fn check(&mut self, c: &mut Checks) {
        self.event.check(c);
        if self
            .event
            .participants_ids
            .as_ref()
            .is_some_and(|ids| !ids.is_empty())
        {
            c.fail(
                "participants_ids",
                "People join each occurrence of a series",
                "value_error",
            );
        }
    }
}

/// `SeriesDTO`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SeriesDto {
    pub id: i64,
    pub repeat: RepeatDto,
    /// The time zone occurrences are computed in (`ui.display_timezone`
    /// when the series was created).
    pub timezone: String,
    /// Every occurrence's local start time, `HH:MM`.
    pub local_time: String,
    /// The occurrences that exist so far (cancelled ones too), by number.
    pub occurrences: Vec<EventDto>,
}

impl SeriesDto {
    fn new(view: SeriesView, state: &AppState) -> SeriesDto {
        let now = state.now();
        let s = view.series;
        SeriesDto {
            id: s.id,
            repeat: s.schedule.rule.into(),
            timezone: s.schedule.tz.name().to_string(),
            local_time: s.schedule.first.format("%H:%M").to_string(),
            occurrences: view
                .occurrences
                .into_iter()
                .map(|event| {
                    EventDto::new(
                        EventView {
                            event,
                            participants: Vec::new(),
                            waitlist: Vec::new(),
                            managers: Vec::new(),
                        },
                        now,
                    )
                })
                .collect(),
        }
    }
}

/// Create a recurring series; its occurrences up to
/// `events.series_horizon_days` ahead exist at once, later ones are created
/// by the hourly generator.
#[utoipa::path(post, path = "/series", tag = "events", security(("session_uid" = [], "session_token" = [])),
    request_body = SeriesCreate,
    responses(
        (status = 201, body = SeriesDto),
        (status = 400, body = ErrorBody, description = "Date rules or an invalid repeat rule"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "Category not found"),
        (status = 422, body = ValidationErrorBody),
    ))]
async fn create_series(
    AuditedAdmin(_admin, actor): AuditedAdmin,
    State(state): State<AppState>,
    Body(body): Body<SeriesCreate>,
) -> AppResult<(StatusCode, Json<SeriesDto>)> {
    let e = body.event;
    let first = NewEvent {
        name: e.name,
        short_description: e.short_description,
        description: e.description,
        starts_at: e.starts_at,
        ends_at: e.ends_at,
        image_url: e.image_url,
        payment_info: e.payment_info,
        max_participants_count: e.max_participants_count,
        location: e.location,
        attendees_visible: e.attendees_visible.unwrap_or(true),
        category_id: e.category_id,
        series_id: None,
        series_index: None,
    };
    let view = series::create(&state.svc, &actor, first, body.repeat.into()).await?;
    Ok((StatusCode::CREATED, Json(SeriesDto::new(view, &state))))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct SeriesPath {
    pub series_id: i64,
}

/// A series with its occurrences (participants are on each event).
#[utoipa::path(get, path = "/series/{series_id}", tag = "events", security(("session_uid" = [], "session_token" = [])),
    params(SeriesPath),
    responses(
        (status = 200, body = SeriesDto),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "Series not found"),
        (status = 422, body = ValidationErrorBody),
    ))]
async fn get_series(
    Admin(_admin): Admin,
    State(state): State<AppState>,
    Path(SeriesPath { series_id }): Path<SeriesPath>,
) -> AppResult<Json<SeriesDto>> {
    let view = series::get(&state.svc, series_id).await?;
    Ok(Json(SeriesDto::new(view, &state)))
}
