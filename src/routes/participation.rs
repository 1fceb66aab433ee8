//! Events — participants: the cards list and one event's card, joining,
//! declining and the waiting list, who is going, and the event as an
//! iCalendar file.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::CurrentUser;
use crate::domain::event::{EventStatus, MyParticipation, ParticipantStatus};
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
        .routes(routes!(card))
        .routes(routes!(attendees))
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
    /// On the waiting list of a full event.
    Waitlisted,
}

impl From<Option<ParticipantStatus>> for MyStatus {
    fn from(status: Option<ParticipantStatus>) -> Self {
        match status {
            None => MyStatus::None,
            Some(ParticipantStatus::Participating) => MyStatus::Participating,
            Some(ParticipantStatus::Rejected) => MyStatus::Rejected,
            Some(ParticipantStatus::Waitlisted) => MyStatus::Waitlisted,
        }
    }
}

impl MyStatus {
    fn row(self) -> Option<ParticipantStatus> {
        match self {
            MyStatus::None => None,
            MyStatus::Participating => Some(ParticipantStatus::Participating),
            MyStatus::Rejected => Some(ParticipantStatus::Rejected),
            MyStatus::Waitlisted => Some(ParticipantStatus::Waitlisted),
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            MyStatus::None => "NONE",
            MyStatus::Participating => "PARTICIPATING",
            MyStatus::Rejected => "REJECTED",
            MyStatus::Waitlisted => "WAITLISTED",
        }
    }
}

/// `EventCardDTO`: the fields shared by every user ([`CardFieldsDto`]),
/// then the three that depend on the clock and on the caller.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventCardDto<'a> {
    #[serde(flatten)]
    pub card: CardFieldsDto<'a>,
    pub status: EventStatus,
    /// Mine.
    pub participation_status: MyStatus,
    /// My place in the waiting list (1 = next) when I am `WAITLISTED`,
    /// else `null`.
    pub waitlist_position: Option<i64>,
    /// When I was checked in at this event ("I attended"), else `null`.
    pub checked_in_at: Option<Ts>,
}

/// My ticket for an event I participate in.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketDto {
    /// The ticket token (`<event_id>.<user_id>.<MAC>`), unguessable.
    pub token: String,
    /// What the QR code encodes: the organisers' check-in page with the
    /// token.
    pub url: String,
    /// The QR code as SVG (no session needed: the token is the key).
    pub qr_url: String,
}

/// `GET /events/{event_id}/card`: an [`EventCardDto`] (status `REJECTED`
/// for a cancelled event) plus when it was cancelled.
#[derive(Debug, Serialize, ToSchema)]
pub struct OneCardDto<'a> {
    #[serde(flatten)]
    pub card: EventCardDto<'a>,
    /// When the event was cancelled; `null` unless `status` is `REJECTED`.
    pub rejected_at: Option<Ts>,
    /// My ticket while I participate in an event that is not cancelled,
    /// else `null`.
    pub ticket: Option<TicketDto>,
    /// Whether I may manage the event (administrator or one of its
    /// managers): edit it, its participants, check-in.
    pub can_manage: bool,
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
    /// Users `WAITLISTED` (the waiting list's length).
    pub waitlist_count: i64,
    /// Whether `GET /events/{event_id}/attendees` answers for users.
    pub attendees_visible: bool,
    /// The event's category (`GET /categories`), if any.
    pub category_id: Option<i64>,
    /// The recurring series the event is an occurrence of
    /// (`GET /series/{series_id}`), or `null`.
    pub series_id: Option<i64>,
}

/// The per-caller tail of a card's JSON (after the shared fields, without
/// their closing brace): status, my status, my waiting-list place.
fn push_card_tail(body: &mut String, status: EventStatus, mine: Option<MyParticipation>) {
    body.push_str(",\"status\":\"");
    body.push_str(status.as_str());
    body.push_str("\",\"participation_status\":\"");
    body.push_str(MyStatus::from(mine.map(|m| m.status)).as_str());
    body.push_str("\",\"waitlist_position\":");
    match mine.and_then(|m| m.waitlist_position) {
        Some(place) => body.push_str(&place.to_string()),
        None => body.push_str("null"),
    }
    body.push_str(",\"checked_in_at\":");
    match mine.and_then(|m| m.checked_in_at) {
        Some(at) => {
            body.push('"');
            body.push_str(&at.to_string());
            body.push('"');
        }
        None => body.push_str("null"),
    }
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
    // per-request fields are written here.
    let status = cards.status;
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
        push_card_tail(&mut body, status, mine);
        body.push('}');
    }
    body.push(']');
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// One event's card for the current user: the same shape as in
/// `/events/cards`, for any event that exists — a cancelled one with status
/// `REJECTED` (and `rejected_at`), a past one with `PAST`.
#[utoipa::path(get, path = "/events/{event_id}/card", tag = "participation",
    security(("session_uid" = [], "session_token" = [])),
    params(EventPath),
    responses(
        (status = 200, body = OneCardDto),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "Event not found"),
        (status = 422, body = ValidationErrorBody),
    ))]
async fn card(
    CurrentUser(me): CurrentUser,
    State(state): State<AppState>,
    Path(EventPath { event_id }): Path<EventPath>,
) -> AppResult<Response> {
    let one = events::card(&state.svc, crate::auth::acting(&me), event_id).await?;
    let mut body = serde_json::to_string(&one.row.fields).map_err(anyhow::Error::from)?;
    body.pop(); // the closing brace
    push_card_tail(&mut body, one.status, one.mine);
    body.push_str(",\"rejected_at\":");
    body.push_str(&serde_json::to_string(&one.row.rejected_at).map_err(anyhow::Error::from)?);
    let ticket = one.ticket.map(|t| TicketDto {
        token: t.token,
        url: t.url,
        qr_url: t.qr_url,
    });
    body.push_str(",\"ticket\":");
    body.push_str(&serde_json::to_string(&ticket).map_err(anyhow::Error::from)?);
    body.push_str(",\"can_manage\":");
    body.push_str(if one.can_manage { "true" } else { "false" });
    body.push('}');
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// One person going to an event.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttendeeDto {
    pub user_id: i64,
    pub full_name: String,
}

/// `GET /events/{event_id}/attendees`.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttendeesDto {
    /// How many are listed (deleted users are not).
    pub count: usize,
    /// `PARTICIPATING` users, by join time: names only, no email.
    pub attendees: Vec<AttendeeDto>,
}

/// Who is going: the names of an event's participants, for any signed-in
/// user. An event that hides them (`attendees_visible: false`) answers 403
/// "Attendees are hidden" to users (not an empty list, which would read as
/// "nobody is going"); administrators always see them.
#[utoipa::path(get, path = "/events/{event_id}/attendees", tag = "participation",
    security(("session_uid" = [], "session_token" = [])),
    params(EventPath),
    responses(
        (status = 200, body = AttendeesDto),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "Attendees are hidden"),
        (status = 404, body = ErrorBody, description = "Event not found"),
        (status = 422, body = ValidationErrorBody),
    ))]
async fn attendees(
    CurrentUser(me): CurrentUser,
    State(state): State<AppState>,
    Path(EventPath { event_id }): Path<EventPath>,
) -> AppResult<Json<AttendeesDto>> {
    let (_event, list) = events::attendees(&state.svc, event_id, me.role.is_admin()).await?;
    Ok(Json(AttendeesDto {
        count: list.len(),
        attendees: list
            .into_iter()
            .map(|a| AttendeeDto {
                user_id: a.user_id,
                full_name: a.full_name,
            })
            .collect(),
    }))
}

/// Body of `PUT /events/{event_id}/participants/me`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ParticipationBody {
    /// Default `NONE` (removes my row). `WAITLISTED` joins the waiting list
    /// of a full event.
    #[serde(default)]
    pub status: Option<MyStatus>,
}

impl Input for ParticipationBody {}

/// Join, decline or forget an event, or join its waiting list when it is
/// full. The capacity check and the write are one transaction;
/// administrators hear about real changes only. Leaving frees a seat for
/// the first on the waiting list in the same transaction.
#[utoipa::path(put, path = "/events/{event_id}/participants/me", tag = "participation",
    security(("session_uid" = [], "session_token" = [])),
    params(EventPath),
    request_body = ParticipationBody,
    responses(
        (status = 204, description = "Done"),
        (status = 400, body = ErrorBody, description = "Event already finished / Max participants count exceeded / Event has free seats"),
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
    CurrentUser(me): CurrentUser,
    State(state): State<AppState>,
    Path(EventPath { event_id }): Path<EventPath>,
) -> AppResult<Response> {
    let (event, ticket) = events::calendar_entry(&state.svc, me.id, event_id).await?;
    let text = crate::http::ics::calendar(
        &event,
        &state.config.public_url(),
        state.now(),
        ticket.as_ref().map(|t| t.qr_url.as_str()),
    );
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
