//! Check-in: the organisers' desk (participants with their check-in
//! times), checking in by ticket or by user, undo; the ticket's QR code;
//! the events I manage.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::{CurrentUser, EventManager};
use crate::domain::organiser::TICKET_OR_USER;
use crate::domain::time::Ts;
use crate::http::error::{AppResult, ErrorBody, ValidationErrorBody};
use crate::http::extract::{Body, Checks, Input, Path};
use crate::routes::events::EventPath;
use crate::service::organiser::{self, Attendee};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(desk, check_in))
        .routes(routes!(undo))
        .routes(routes!(ticket_qr))
        .routes(routes!(managed_events))
}

/// Body of `POST /events/{event_id}/check-ins`: exactly one of the two.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CheckInBody {
    /// A participant's ticket token (or the URL its QR code encodes).
    #[serde(default)]
    pub ticket: Option<String>,
    /// A participant, checked in by hand from the list.
    #[serde(default)]
    pub user_id: Option<i64>,
}

impl Input for CheckInBody {
    fn check(&mut self, c: &mut Checks) {
        if self.ticket.is_some() == self.user_id.is_some() {
            c.fail("ticket", TICKET_OR_USER, "value_error");
        }
        if let Some(ticket) = &mut self.ticket {
            // A scanned QR code is the check-in page's URL with the token.
            if let Some((_, token)) = ticket.split_once("ticket=") {
                *ticket = token.split('&').next().unwrap_or_default().to_string();
            }
            c.max_len("ticket", ticket, 200);
        }
    }
}

/// Who was checked in.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckInDto {
    pub user_id: i64,
    pub full_name: String,
    pub email: String,
    /// `true` when they had been checked in before (nothing changed).
    pub already_checked_in: bool,
    /// When they were (first) checked in.
    pub checked_in_at: Ts,
}

/// Check a participant in, by ticket or by user id; idempotent (200 both
/// times, `already_checked_in` the second). Administrators and the event's
/// managers, from `events.checkin_opens_minutes` before the start until
/// 24 h after the end; only `PARTICIPATING` people of this event.
#[utoipa::path(post, path = "/events/{event_id}/check-ins", tag = "check-in",
    security(("session_uid" = [], "session_token" = [])),
    params(EventPath),
    request_body = CheckInBody,
    responses(
        (status = 200, body = CheckInDto),
        (status = 400, body = ErrorBody, description = "Invalid ticket / This ticket is for another event / Not a participant of this event / On the waiting list, not a participant of this event / Declined this event, not a participant / Check-in is not open yet / Check-in is closed / Event is cancelled"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "Administrator role required, unless a manager of this event"),
        (status = 404, body = ErrorBody, description = "Event not found"),
        (status = 422, body = ValidationErrorBody),
    ))]
async fn check_in(
    manager: EventManager,
    State(state): State<AppState>,
    Path(EventPath { event_id }): Path<EventPath>,
    Body(body): Body<CheckInBody>,
) -> AppResult<Json<CheckInDto>> {
    let who = match (body.ticket, body.user_id) {
        (Some(ticket), _) => Attendee::Ticket(ticket),
        (None, Some(id)) => Attendee::User(id),
        (None, None) => unreachable!("checked by CheckInBody::check"),
    };
    let done = organiser::check_in(&state.svc, manager.acting(), &manager.1, event_id, who).await?;
    Ok(Json(CheckInDto {
        user_id: done.person.id,
        full_name: done.person.full_name,
        email: done.person.email,
        already_checked_in: done.already_checked_in,
        checked_in_at: done.checked_in_at,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct CheckInPath {
    pub event_id: i64,
    pub user_id: i64,
}

/// Undo a check-in (204 also when there was none), while check-in is open.
#[utoipa::path(delete, path = "/events/{event_id}/check-ins/{user_id}", tag = "check-in",
    security(("session_uid" = [], "session_token" = [])),
    params(CheckInPath),
    responses(
        (status = 204, description = "Not checked in (any more)"),
        (status = 400, body = ErrorBody, description = "Check-in is not open yet / Check-in is closed / Event is cancelled"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "Administrator role required, unless a manager of this event"),
        (status = 404, body = ErrorBody, description = "Event not found"),
        (status = 422, body = ValidationErrorBody),
    ))]
async fn undo(
    manager: EventManager,
    State(state): State<AppState>,
    Path(CheckInPath { event_id, user_id }): Path<CheckInPath>,
) -> AppResult<StatusCode> {
    organiser::undo_check_in(&state.svc, manager.acting(), &manager.1, event_id, user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// One participant at the desk.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeskRowDto {
    pub user_id: i64,
    pub full_name: String,
    pub email: String,
    pub checked_in_at: Option<Ts>,
}

/// `GET /events/{event_id}/check-ins`.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeskDto {
    pub event_id: i64,
    pub name: String,
    pub starts_at: Ts,
    pub ends_at: Ts,
    /// Whether check-in is open now.
    pub open: bool,
    /// Why not, when it is not ("Check-in is not open yet"…).
    pub closed_reason: Option<String>,
    /// `PARTICIPATING` people by join time.
    pub participants: Vec<DeskRowDto>,
    /// How many of them are checked in.
    pub checked_in: usize,
}

/// The check-in desk: the participants and who of them came.
#[utoipa::path(get, path = "/events/{event_id}/check-ins", tag = "check-in",
    security(("session_uid" = [], "session_token" = [])),
    params(EventPath),
    responses(
        (status = 200, body = DeskDto),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "Administrator role required, unless a manager of this event"),
        (status = 404, body = ErrorBody, description = "Event not found"),
        (status = 422, body = ValidationErrorBody),
    ))]
async fn desk(
    manager: EventManager,
    State(state): State<AppState>,
    Path(EventPath { event_id }): Path<EventPath>,
) -> AppResult<Json<DeskDto>> {
    let desk = organiser::desk(&state.svc, manager.acting(), event_id).await?;
    let participants: Vec<DeskRowDto> = desk
        .rows
        .into_iter()
        .map(|r| DeskRowDto {
            user_id: r.person.id,
            full_name: r.person.full_name,
            email: r.person.email,
            checked_in_at: r.checked_in_at,
        })
        .collect();
    Ok(Json(DeskDto {
        event_id: desk.event.id,
        name: desk.event.name,
        starts_at: desk.event.starts_at,
        ends_at: desk.event.ends_at,
        open: desk.open,
        closed_reason: desk.closed_reason,
        checked_in: participants
            .iter()
            .filter(|p| p.checked_in_at.is_some())
            .count(),
        participants,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct TicketPath {
    /// The ticket token.
    pub ticket: String,
}

/// The QR code of a ticket, as SVG: what the event page, the calendar
/// file and emails show. No session: the token itself is the key (a
/// forged one is 400 "Invalid ticket").
#[utoipa::path(get, path = "/tickets/{ticket}/qr.svg", tag = "check-in",
    params(TicketPath),
    responses(
        (status = 200, content_type = "image/svg+xml", body = String),
        (status = 400, body = ErrorBody, description = "Invalid ticket"),
    ))]
async fn ticket_qr(
    State(state): State<AppState>,
    Path(TicketPath { ticket }): Path<TicketPath>,
) -> AppResult<Response> {
    let svg = organiser::qr_svg(&state.svc, &ticket)?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "private, max-age=86400"),
        ],
        svg,
    )
        .into_response())
}

/// `GET /users/me/managed-events`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ManagedEventsDto {
    /// The events I am a manager of (administrators manage every event
    /// without being listed).
    pub event_ids: Vec<i64>,
}

/// The events I manage.
#[utoipa::path(get, path = "/users/me/managed-events", tag = "check-in",
    security(("session_uid" = [], "session_token" = [])),
    responses(
        (status = 200, body = ManagedEventsDto),
        (status = 401, body = ErrorBody),
    ))]
async fn managed_events(
    CurrentUser(me): CurrentUser,
    State(state): State<AppState>,
) -> AppResult<Json<ManagedEventsDto>> {
    Ok(Json(ManagedEventsDto {
        event_ids: organiser::managed_events(&state.svc, me.id).await?,
    }))
}
