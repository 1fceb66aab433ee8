//! Events — participants: the cards list, joining/declining, and the event
//! as an iCalendar file.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::{CurrentUser, fold};
use crate::domain::time::Ts;
use crate::events::{self, EventStatus, ParticipantStatus};
use crate::http::error::{AppResult, ErrorBody, ValidationErrorBody};
use crate::http::extract::{Body, Input, Path, Query};
use crate::notify::Actor;
use crate::routes::events::{EventPath, EventsQuery};
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

/// `EventCardDTO`: the fields shared by every user ([`CardFields`]), then
/// the two that depend on the clock and on the caller.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventCardDto {
    #[serde(flatten)]
    pub card: CardFields,
    pub status: EventStatus,
    /// Mine.
    pub participation_status: MyStatus,
}

/// Event cards for the current user: one query however many events.
#[utoipa::path(get, path = "/events/cards", tag = "participation", security(("session_uid" = [], "session_token" = [])),
    params(EventsQuery),
    responses(
        (status = 200, body = Vec<EventCardDto>),
        (status = 401, body = ErrorBody),
        (status = 422, body = ValidationErrorBody),
    ))]
async fn cards(
    CurrentUser(me): CurrentUser,
    State(state): State<AppState>,
    Query(query): Query<EventsQuery>,
) -> AppResult<Response> {
    let past = match query.status {
        Some(EventStatus::Rejected) => return Ok(json_response("[]".to_string())),
        Some(EventStatus::Past) => true,
        Some(EventStatus::Active) | None => false,
    };
    let page = query.page();
    let now = state.now();
    let all = card_bases(&state, now).await?;
    let needle = query.q.as_deref().map(fold);
    let offset = page.offset().max(0) as usize;
    let limit = match page.limit_or_all(1000) {
        n if n < 0 => usize::MAX,
        n => n as usize,
    };
    let chosen: Vec<&CardBase> = all
        .iter()
        .filter(|c| (c.ends_at <= now) == past)
        .filter(|c| needle.as_deref().is_none_or(|q| c.name_fold.contains(q)))
        .skip(offset)
        .take(limit)
        .collect();
    let mine = if chosen.is_empty() {
        std::collections::HashMap::new()
    } else {
        state
            .db
            .read(move |conn| {
                let mut stmt = conn.prepare_cached(
                    "SELECT event_id, status FROM event_participant WHERE user_id = ?1",
                )?;
                let rows = stmt
                    .query_map([me.id], |r| {
                        Ok((r.get::<_, i64>(0)?, r.get::<_, ParticipantStatus>(1)?))
                    })?
                    .collect::<Result<std::collections::HashMap<_, _>, _>>()?;
                Ok(rows)
            })
            .await?
    };
    let status = if past { "PAST" } else { "ACTIVE" };
    let mut body = String::with_capacity(
        chosen
            .iter()
            .map(|c| c.json_prefix.len() + 64)
            .sum::<usize>()
            + 2,
    );
    body.push('[');
    for (i, c) in chosen.iter().enumerate() {
        let my = match mine.get(&c.id) {
            None => "NONE",
            Some(ParticipantStatus::Participating) => "PARTICIPATING",
            Some(ParticipantStatus::Rejected) => "REJECTED",
        };
        if i > 0 {
            body.push(',');
        }
        body.push_str(&c.json_prefix);
        body.push_str(",\"status\":\"");
        body.push_str(status);
        body.push_str("\",\"participation_status\":\"");
        body.push_str(my);
        body.push_str("\"}");
    }
    body.push(']');
    Ok(json_response(body))
}

/// The parts of a card that are the same for every user, with the card's
/// JSON minus its closing brace and the two per-request fields.
pub struct CardBase {
    id: i64,
    name_fold: String,
    ends_at: Ts,
    json_prefix: String,
}

/// Every non-rejected event as a card base, ordered by `starts_at`, `id`;
/// shared by all requests until the next commit (see `snapshot`).
async fn card_bases(state: &AppState, now: Ts) -> AppResult<std::sync::Arc<Vec<CardBase>>> {
    let db = state.db.clone();
    state
        .caches
        .cards
        .get_or_compute(|| db.generation(), now, || load_card_bases(state))
        .await
}

async fn load_card_bases(state: &AppState) -> AppResult<(Vec<CardBase>, Option<Ts>)> {
    let bases = state
        .db
        .read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT e.id, e.name, e.short_description, e.description, e.starts_at, e.ends_at,
                        e.image_url, e.location,
                        (SELECT count(*) FROM event_participant p
                          WHERE p.event_id = e.id AND p.status = 'PARTICIPATING'),
                        e.max_participants_count, e.payment_info, e.name_fold
                 FROM event e
                 WHERE e.rejected_at IS NULL
                 ORDER BY e.starts_at, e.id",
            )?;
            let rows = stmt.query_map([], |r| {
                let base = CardFields {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    short_description: r.get(2)?,
                    description: r.get(3)?,
                    starts_at: r.get(4)?,
                    ends_at: r.get(5)?,
                    image_url: r.get(6)?,
                    location: r.get(7)?,
                    participants_count: r.get(8)?,
                    max_participants_count: r.get(9)?,
                    payment_info: r.get(10)?,
                };
                Ok((base, r.get::<_, String>(11)?))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (fields, name_fold) = row?;
                let mut json = serde_json::to_string(&fields).map_err(anyhow::Error::from)?;
                json.pop(); // the closing brace; status fields follow per request
                out.push(CardBase {
                    id: fields.id,
                    name_fold,
                    ends_at: fields.ends_at,
                    json_prefix: json,
                });
            }
            Ok(out)
        })
        .await?;
    // Card statuses follow the clock per request, so only commits matter.
    Ok((bases, None))
}

/// The fields of [`EventCardDto`] that are the same for every caller.
#[derive(Debug, Serialize, ToSchema)]
pub struct CardFields {
    pub id: i64,
    pub name: String,
    pub short_description: Option<String>,
    pub description: String,
    pub starts_at: Ts,
    pub ends_at: Ts,
    pub image_url: String,
    pub location: Option<String>,
    /// Users `PARTICIPATING`.
    pub participants_count: i64,
    pub max_participants_count: Option<i64>,
    pub payment_info: Option<String>,
}

fn json_response(body: String) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
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
    let event = state
        .db
        .read(move |conn| events::require(conn, event_id, true))
        .await?;
    let text = crate::events::ics::calendar(&event, &state.config.public_url(), state.now());
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
