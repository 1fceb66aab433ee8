//! Events — participants: the cards list, joining/declining, and the event
//! as an iCalendar file.

use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::CurrentUser;
use crate::domain::event::{EventStatus, ParticipantStatus};
use crate::domain::notice::Actor;
use crate::domain::time::Ts;
use crate::http::error::{AppResult, ErrorBody, ValidationErrorBody};
use crate::http::extract::{Body, Input, Path, Query};
use crate::routes::events::{CategoryParams, EventPath, EventsQuery};
use crate::service::events::{self, ListCards};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(cards))
        .routes(routes!(set_my_participation))
        .routes(routes!(ics))
}

/// `participation_status` of a card and the body of `PUT participants/me`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum MyStatus {
    #[default]
    None,
    Participating,
    Rejected,
}

impl From<Option<ParticipantStatus>> for MyStatus {
    fn from(status: Option<ParticipantStatus>) -> Self {
        match status {
            None => MyStatus::None,
            Some(ParticipantStatus::Participating) => MyStatus::Participating,
            Some(ParticipantStatus::Rejected) => MyStatus::Rejected,
        }
    }
}

impl MyStatus {
    fn row(self) -> Option<ParticipantStatus> {
        match self {
            MyStatus::None => None,
            MyStatus::Participating => Some(ParticipantStatus::Participating),
            MyStatus::Rejected => Some(ParticipantStatus::Rejected),
        }
    }
}

/// `EventCardDTO`: the fields shared by every user ([`CardFieldsDto`]),
/// then the two that depend on the clock and on the caller.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventCardDto<'a> {
    #[serde(flatten)]
    pub card: CardFieldsDto<'a>,
    pub status: EventStatus,
    /// Mine.
    pub participation_status: MyStatus,
}

/// The fields of [`EventCardDto`] that are the same for every caller (the
/// documentation of `domain::event::CardFields`, which is what is sent).
#[derive(Debug, Serialize, ToSchema)]
pub struct CardFieldsDto<'a> {
    pub id: i64,
    pub name: &'a str,
    pub short_description: Option<&'a str>,
    pub description: &'a str,
    pub starts_at: Ts,
    pub ends_at: Ts,
    pub image_url: &'a str,
    pub location: Option<&'a str>,
    /// Users `PARTICIPATING`.
    pub participants_count: i64,
    pub max_participants_count: Option<i64>,
    pub payment_info: Option<&'a str>,
    pub category_id: Option<i64>,
}

/// Event cards for the current user: one query however many events.
#[utoipa::path(get, path = "/events/cards", tag = "participation", security(("session_uid" = [], "session_token" = [])),
    params(EventsQuery, CategoryParams),
    responses(
        (status = 200, body = Vec<EventCardDto>),
        (status = 401, body = ErrorBody),
        (status = 422, body = ValidationErrorBody),
    ))]
async fn cards(
    CurrentUser(me): CurrentUser,
    State(state): State<AppState>,
    Query(query): Query<EventsQuery>,
    RawQuery(raw): RawQuery,
) -> AppResult<Response> {
    let page = query.page();
    let cards = events::cards(
        &state.svc,
        me.id,
        ListCards {
            status: query.status,
            filter: query.filter(raw.as_deref())?,
            mine: query.mine,
            limit: page.limit_all(1000),
            offset: page.offset(),
        },
    )
    .await?;
    // Each card's shared part is serialised once per snapshot; only the
    // two per-request fields are written here.
    let status = cards.status.as_str();
    let mut body = String::with_capacity(
        cards
            .iter()
            .map(|(c, _)| c.json_prefix.len() + 64)
            .sum::<usize>()
            + 2,
    );
    body.push('[');
    for (i, (card, mine)) in cards.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&card.json_prefix);
        body.push_str(",\"status\":\"");
        body.push_str(status);
        body.push_str("\",\"participation_status\":\"");
        body.push_str(match MyStatus::from(mine) {
            MyStatus::None => "NONE",
            MyStatus::Participating => "PARTICIPATING",
            MyStatus::Rejected => "REJECTED",
        });
        body.push_str("\"}");
    }
    body.push(']');
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// Body of `PUT /events/{event_id}/participants/me`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ParticipationBody {
    /// Default `NONE` (removes my row).
    #[serde(default)]
    pub status: Option<MyStatus>,
}

impl Input for ParticipationBody {}

/// Join, decline or forget an event. The capacity check and the write are
/// one transaction; administrators hear about real changes only.
#[utoipa::path(put, path = "/events/{event_id}/participants/me", tag = "participation",
    security(("session_uid" = [], "session_token" = [])),
    params(EventPath),
    request_body = ParticipationBody,
    responses(
        (status = 204, description = "Done"),
        (status = 400, body = ErrorBody, description = "Event already finished / Max participants count exceeded"),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "Event not found"),
        (status = 422, body = ValidationErrorBody),
    ))]
async fn set_my_participation(
    CurrentUser(me): CurrentUser,
    State(state): State<AppState>,
    Path(EventPath { event_id }): Path<EventPath>,
    Body(body): Body<ParticipationBody>,
) -> AppResult<StatusCode> {
    let me = Actor {
        id: me.id,
        full_name: me.full_name,
        email: me.email,
    };
    crate::service::participation::set_mine(
        &state.svc,
        me,
        event_id,
        body.status.unwrap_or_default().row(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The event as an RFC 5545 calendar with one VEVENT.
#[utoipa::path(get, path = "/events/{event_id}/ics", tag = "participation",
    security(("session_uid" = [], "session_token" = [])),
    params(EventPath),
    responses(
        (status = 200, content_type = "text/calendar", body = String),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "Event not found"),
        (status = 422, body = ValidationErrorBody),
    ))]
async fn ics(
    CurrentUser(_user): CurrentUser,
    State(state): State<AppState>,
    Path(EventPath { event_id }): Path<EventPath>,
) -> AppResult<Response> {
    let event = events::get_visible(&state.svc, event_id).await?;
    let text = crate::http::ics::calendar(&event, &state.config.public_url(), state.now());
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "text/calendar; charset=utf-8".to_string(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"event_{event_id}.ics\""),
            ),
        ],
        text,
    )
        .into_response())
}
