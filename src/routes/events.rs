//! Events — administration: create, list, read and partially update events.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::{Admin, AuditedAdmin, EventManager};
use crate::domain::error::DomainError;
use crate::domain::event::{
    DESCRIPTION_MAX, EventPatch, EventStatus, LOCATION_MAX, NAME_MAX, NewEvent, PAYMENT_INFO_MAX,
    Participant, ParticipantStatus, SHORT_DESCRIPTION_MAX, URL_MAX,
};
use crate::domain::event::{EventFilter, dedup_ids};
use crate::domain::series::Scope;
use crate::domain::time::Ts;
use crate::http::error::{AppError, AppResult, ErrorBody, ValidationErrorBody};
use crate::http::extract::{Body, Checks, Input, Page, Path, Query, nullable};
use crate::service::events::{self, EventView, ListEvents};
use crate::service::series;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_event, list_events))
        .routes(routes!(get_event, update_event))
}

/// Body of `POST /events`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct EventCreate {
    /// 1–200 characters after trimming.
    pub name: String,
    pub short_description: Option<String>,
    /// May be empty.
    pub description: String,
    /// Must be later than now.
    pub starts_at: Ts,
    /// Must be later than `starts_at`.
    pub ends_at: Ts,
    pub image_url: String,
    pub payment_info: Option<String>,
    /// Greater than 0, or null for no limit.
    pub max_participants_count: Option<i64>,
    pub location: Option<String>,
    /// Users who take part from the start (duplicates ignored).
    #[serde(default)]
    pub participants_ids: Option<Vec<i64>>,
    /// Whether users may see who is going (`GET /events/{id}/attendees`);
    /// absent or `null`: `true`.
    #[serde(default)]
    pub attendees_visible: Option<bool>,
    /// A category (`GET /categories`), or absent/null for none.
    #[serde(default)]
    pub category_id: Option<i64>,
    /// Users who manage the event with the administrators (edit it, see and
    /// export its participants, manage its waiting list, check people in).
    #[serde(default)]
    pub managers: Option<Vec<i64>>,
}

/// Body of `PUT /events/{event_id}`: every field optional; absent = keep,
/// `null` = clear (`null` is refused for the required fields).
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct EventUpdate {
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub name: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub short_description: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Ts>)]
    pub starts_at: Option<Option<Ts>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Ts>)]
    pub ends_at: Option<Option<Ts>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub image_url: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub payment_info: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>)]
    pub max_participants_count: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub location: Option<Option<String>>,
    /// A timestamp cancels the event; `null` restores it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Ts>)]
    pub rejected_at: Option<Option<Ts>>,
    /// The complete participant set after the update (`null` = nobody).
    /// The waiting list stays (less anyone listed here); seats this frees
    /// go to the head of the list.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Vec<i64>>)]
    pub participants_ids: Option<Option<Vec<i64>>>,
    /// Whether users may see who is going; absent or `null` keeps it.
    #[serde(default)]
    pub attendees_visible: Option<bool>,
    /// A category, or `null` for none.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>)]
    pub category_id: Option<Option<i64>>,
    /// The complete set of the event's managers after the update (`null` =
    /// none); administrators only (403 for managers).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Vec<i64>>)]
    pub managers: Option<Option<Vec<i64>>>,
}

/// The per-field rules shared by create and update.
struct Fields<'a> {
    name: Option<&'a mut String>,
    short_description: Option<&'a str>,
    description: Option<&'a str>,
    image_url: Option<&'a str>,
    payment_info: Option<&'a str>,
    max_participants_count: Option<i64>,
    location: Option<&'a str>,
}

impl Fields<'_> {
    fn check(self, c: &mut Checks) {
        if let Some(name) = self.name {
            c.text("name", name, 1, NAME_MAX);
        }
        // Single-line fields reject control characters; `description` is
        // multi-line.
        let lines = [
            (
                "short_description",
                self.short_description,
                SHORT_DESCRIPTION_MAX,
            ),
            ("image_url", self.image_url, URL_MAX),
            ("payment_info", self.payment_info, PAYMENT_INFO_MAX),
            ("location", self.location, LOCATION_MAX),
        ];
        for (field, value, max) in lines {
            if let Some(value) = value {
                c.line(field, value, max);
            }
        }
        if let Some(value) = self.description {
            c.max_len("description", value, DESCRIPTION_MAX);
        }
        if let Some(max) = self.max_participants_count
            && max <= 0
        {
            let msg = "Input should be greater than 0";
            let error = c.error("max_participants_count", msg, "greater_than");
            c.add(error.with_limit("gt", 0));
        }
    }
}

impl Input for EventCreate {
    fn check(&mut self, c: &mut Checks) {
        Fields {
            name: Some(&mut self.name),
            short_description: self.short_description.as_deref(),
            description: Some(&self.description),
            image_url: Some(&self.image_url),
            payment_info: self.payment_info.as_deref(),
            max_participants_count: self.max_participants_count,
            location: self.location.as_deref(),
        }
        .check(c);
    }
}

impl Input for EventUpdate {
    fn check(&mut self, c: &mut Checks) {
        fn inner<T>(v: &Option<Option<T>>) -> Option<&T> {
            v.as_ref().and_then(Option::as_ref)
        }
        Fields {
            name: self.name.as_mut().and_then(Option::as_mut),
            short_description: inner(&self.short_description).map(String::as_str),
            description: inner(&self.description).map(String::as_str),
            image_url: inner(&self.image_url).map(String::as_str),
            payment_info: inner(&self.payment_info).map(String::as_str),
            max_participants_count: inner(&self.max_participants_count).copied(),
            location: inner(&self.location).map(String::as_str),
        }
        .check(c);
    }
}

/// Query of `GET /events` and `GET /events/cards`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// `ACTIVE`, `PAST` or `REJECTED` (cards: absent means `ACTIVE`, and
    /// `REJECTED` lists nothing).
    pub status: Option<EventStatus>,
    /// Substring of the name, short description or location, any case
    /// (Cyrillic included).
    pub q: Option<String>,
    /// The event's time range overlaps `[from, to]`: it ends at or after
    /// `from` (inclusive).
    #[param(value_type = Option<String>, format = DateTime)]
    pub from: Option<Ts>,
    /// … and starts at or before `to` (inclusive).
    #[param(value_type = Option<String>, format = DateTime)]
    pub to: Option<Ts>,
    /// `true`: only events I take part in (`true/false`, `1/0`, `yes/no`…).
    #[serde(default, deserialize_with = "crate::http::extract::query_bool")]
    #[param(value_type = Option<bool>)]
    pub mine: bool,
    /// Absent: all; otherwise clamped to 1..1000.
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// The repeatable `category` parameter of the event lists (read from the
/// raw query: a struct field cannot repeat).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // documentation only: see `EventsQuery::filter`
pub struct CategoryParams {
    /// Category id; repeat for any of several (`category=1&category=2`).
    pub category: Option<Vec<i64>>,
}

impl Input for EventsQuery {
    fn check(&mut self, c: &mut Checks) {
        self.page().check(c);
    }
}

impl EventsQuery {
    pub fn page(&self) -> Page {
        Page {
            limit: self.limit,
            offset: self.offset,
        }
    }

    /// The shared filters, with the repeated `category` values of the raw
    /// query string.
    pub fn filter(&self, raw_query: Option<&str>) -> AppResult<EventFilter> {
        let mut categories = Vec::new();
        for (key, value) in form_urlencoded::parse(raw_query.unwrap_or("").as_bytes()) {
            if key == "category" {
                let id = value.trim().parse::<i64>().map_err(|_| {
                    AppError::invalid(
                        &["query", "category"],
                        "Input should be a valid integer, unable to parse string as an integer",
                        "int_parsing",
                    )
                })?;
                categories.push(id);
            }
        }
        Ok(EventFilter {
            categories: dedup_ids(&categories),
            from: self.from,
            to: self.to,
            q: self
                .q
                .as_deref()
                .map(crate::domain::account::fold)
                .filter(|q| !q.is_empty()),
        })
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct EventPath {
    pub event_id: i64,
}

/// Query of `PUT /events/{event_id}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ScopeQuery {
    /// On an occurrence of a series: `this` (the default), `following`
    /// (split the series here; this and the later occurrences change) or
    /// `all` (the series and every occurrence that has not started).
    #[param(value_type = Option<String>)]
    pub scope: Option<Scope>,
}

impl Input for ScopeQuery {}

/// `EventParticipantDTO`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ParticipantDto {
    pub user_id: i64,
    /// When the row was written (join or decline time).
    pub created_at: Ts,
    pub status: ParticipantStatus,
}

/// One place in an event's waiting list (administrators' view).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WaitlistEntryDto {
    /// 1 = the next to get a seat.
    pub position: i64,
    pub user_id: i64,
    /// When the user joined the list.
    pub created_at: Ts,
}

/// `EventDTO`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EventDto {
    pub id: i64,
    pub name: String,
    pub short_description: Option<String>,
    pub description: String,
    pub starts_at: Ts,
    pub ends_at: Ts,
    pub image_url: String,
    pub payment_info: Option<String>,
    pub max_participants_count: Option<i64>,
    pub location: Option<String>,
    pub created_at: Ts,
    pub rejected_at: Option<Ts>,
    /// Computed from the clock: `REJECTED`, else `PAST` once `ends_at` has passed.
    pub status: EventStatus,
    pub category_id: Option<i64>,
    /// The recurring series the event is an occurrence of
    /// (`GET /series/{series_id}`), or `null`.
    pub series_id: Option<i64>,
    /// Its number in that series (0 = the first), or `null`.
    pub series_index: Option<i64>,
    /// `PARTICIPATING` and `REJECTED` rows (waiting users are in `waitlist`).
    pub participants: Vec<ParticipantDto>,
    pub attendees_visible: bool,
    /// The length of `waitlist`.
    pub waitlist_count: i64,
    /// The waiting list, first in line first (by the time each joined).
    pub waitlist: Vec<WaitlistEntryDto>,
    /// The event's managers (user ids).
    pub managers: Vec<i64>,
}

impl EventDto {
    pub(crate) fn new(view: EventView, now: Ts) -> Self {
        let e = view.event;
        EventDto {
            status: e.status(now),
            id: e.id,
            name: e.name,
            short_description: e.short_description,
            description: e.description,
            starts_at: e.starts_at,
            ends_at: e.ends_at,
            image_url: e.image_url,
            payment_info: e.payment_info,
            max_participants_count: e.max_participants_count,
            location: e.location,
            created_at: e.created_at,
            rejected_at: e.rejected_at,
            attendees_visible: e.attendees_visible,
            category_id: e.category_id,
            series_id: e.series_id,
            series_index: e.series_index,
            participants: view
                .participants
                .into_iter()
                .map(|p: Participant| ParticipantDto {
                    user_id: p.user_id,
                    created_at: p.created_at,
                    status: p.status,
                })
                .collect(),
            managers: view.managers,
            waitlist_count: view.waitlist.len() as i64,
            waitlist: view
                .waitlist
                .into_iter()
                .enumerate()
                .map(|(i, p)| WaitlistEntryDto {
                    position: i as i64 + 1,
                    user_id: p.user_id,
                    created_at: p.created_at,
                })
                .collect(),
        }
    }
}

/// Create an event; listed participants get EVENT_CREATED.
#[utoipa::path(post, path = "/events", tag = "events", security(("session_uid" = [], "session_token" = [])),
    request_body = EventCreate,
    responses(
        (status = 201, body = EventDto),
        (status = 400, body = ErrorBody, description = "Date rules or capacity"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "Some participants are missing or deleted"),
        (status = 422, body = ValidationErrorBody),
    ))]
async fn create_event(
    AuditedAdmin(_me, actor): AuditedAdmin,
    State(state): State<AppState>,
    Body(body): Body<EventCreate>,
) -> AppResult<(StatusCode, Json<EventDto>)> {
    let new = NewEvent {
        name: body.name,
        short_description: body.short_description,
        description: body.description,
        starts_at: body.starts_at,
        ends_at: body.ends_at,
        image_url: body.image_url,
        payment_info: body.payment_info,
        max_participants_count: body.max_participants_count,
        location: body.location,
        attendees_visible: body.attendees_visible.unwrap_or(true),
        category_id: body.category_id,
        series_id: None,
        series_index: None,
    };
    let ids = body.participants_ids.unwrap_or_default();
    let managers = body.managers.unwrap_or_default();
    let view = events::create(&state.svc, &actor, new, ids, managers).await?;
    Ok((StatusCode::CREATED, Json(EventDto::new(view, state.now()))))
}

/// List events, ordered by id.
#[utoipa::path(get, path = "/events", tag = "events", security(("session_uid" = [], "session_token" = [])),
    params(EventsQuery, CategoryParams),
    responses(
        (status = 200, body = Vec<EventDto>),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 422, body = ValidationErrorBody),
    ))]
async fn list_events(
    Admin(admin): Admin,
    State(state): State<AppState>,
    Query(query): Query<EventsQuery>,
    RawQuery(raw): RawQuery,
) -> AppResult<Json<Vec<EventDto>>> {
    let page = query.page();
    let filter = ListEvents {
        status: query.status,
        filter: query.filter(raw.as_deref())?,
        mine_of: query.mine.then_some(admin.id),
        limit: page.limit_all(1000),
        offset: page.offset(),
    };
    let list = events::list(&state.svc, filter).await?;
    let now = state.now();
    Ok(Json(
        list.into_iter().map(|v| EventDto::new(v, now)).collect(),
    ))
}

/// One event with its participants (administrators and the event's
/// managers).
#[utoipa::path(get, path = "/events/{event_id}", tag = "events", security(("session_uid" = [], "session_token" = [])),
    params(EventPath),
    responses(
        (status = 200, body = EventDto),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "Administrator role required, unless a manager of this event"),
        (status = 404, body = ErrorBody, description = "Event not found"),
        (status = 422, body = ValidationErrorBody),
    ))]
async fn get_event(
    manager: EventManager,
    State(state): State<AppState>,
    Path(EventPath { event_id }): Path<EventPath>,
) -> AppResult<Json<EventDto>> {
    let view = events::get(&state.svc, manager.acting(), event_id).await?;
    Ok(Json(EventDto::new(view, state.now())))
}

/// Partially update an event; participants after the update get
/// EVENT_UPDATED, or EVENT_CANCELLED when the update cancels the event.
/// Administrators and the event's managers; only administrators set
/// `managers`. On an occurrence of a series, `scope=following` or
/// `scope=all` reaches further (administrators only: it changes other
/// events; README "Recurring events"); without `scope` only this event
/// changes.
#[utoipa::path(put, path = "/events/{event_id}", tag = "events", security(("session_uid" = [], "session_token" = [])),
    params(EventPath, ScopeQuery),
    request_body = EventUpdate,
    responses(
        (status = 200, body = EventDto),
        (status = 400, body = ErrorBody, description = "A required field sent as null, date rules or capacity"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "Administrator role required, unless a manager of this event / Only administrators set event managers"),
        (status = 404, body = ErrorBody, description = "Event not found / Some participants are missing or deleted"),
        (status = 422, body = ValidationErrorBody),
    ))]
async fn update_event(
    EventManager(me, actor): EventManager,
    State(state): State<AppState>,
    Path(EventPath { event_id }): Path<EventPath>,
    Query(ScopeQuery { scope }): Query<ScopeQuery>,
    Body(body): Body<EventUpdate>,
) -> AppResult<Json<EventDto>> {
    let patch = EventPatch {
        name: body.name,
        short_description: body.short_description,
        description: body.description,
        starts_at: body.starts_at,
        ends_at: body.ends_at,
        image_url: body.image_url,
        payment_info: body.payment_info,
        max_participants_count: body.max_participants_count,
        location: body.location,
        rejected_at: body.rejected_at,
        attendees_visible: body.attendees_visible,
        category_id: body.category_id,
    };
    let ids = body.participants_ids.map(Option::unwrap_or_default);
    let managers = body.managers.map(Option::unwrap_or_default);
    let acting = crate::auth::acting(&me);
    let view = match scope {
        None => events::update(&state.svc, &actor, acting, event_id, patch, ids, managers).await?,
        Some(_) if !acting.is_admin => return Err(DomainError::admin_required().into()),
        Some(scope) => series::update(&state.svc, &actor, event_id, patch, ids, scope).await?,
    };
    Ok(Json(EventDto::new(view, state.now())))
}
