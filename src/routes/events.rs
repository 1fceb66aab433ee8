//! Events — administration: create, list, read and partially update events.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use rusqlite::named_params;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::{Admin, fold};
use crate::domain::time::Ts;
use crate::events::{
    self, EVENT_COLUMNS, EventDto, EventRow, EventStatus, STATUS_FILTER, nullable,
};
use crate::http::error::{AppError, AppResult, ErrorBody, ValidationErrorBody};
use crate::http::extract::{Body, Checks, Input, Page, Path, Query};
use crate::notify::{Notice, To};
use crate::state::AppState;
use crate::store::sqlite::Write;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_event, list_events))
        .routes(routes!(get_event, update_event))
}

/// Length limits of the free-text fields (characters).
const NAME_MAX: usize = 200;
const SHORT_DESCRIPTION_MAX: usize = 500;
const DESCRIPTION_MAX: usize = 20_000;
const URL_MAX: usize = 2048;
const PAYMENT_INFO_MAX: usize = 1000;
const LOCATION_MAX: usize = 500;

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
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Vec<i64>>)]
    pub participants_ids: Option<Option<Vec<i64>>>,
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
        let limits = [
            (
                "short_description",
                self.short_description,
                SHORT_DESCRIPTION_MAX,
            ),
            ("description", self.description, DESCRIPTION_MAX),
            ("image_url", self.image_url, URL_MAX),
            ("payment_info", self.payment_info, PAYMENT_INFO_MAX),
            ("location", self.location, LOCATION_MAX),
        ];
        for (field, value, max) in limits {
            if let Some(value) = value {
                c.max_len(field, value, max);
            }
        }
        if let Some(max) = self.max_participants_count
            && max <= 0
        {
            c.fail(
                "max_participants_count",
                "Input should be greater than 0",
                "greater_than",
            );
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
    /// Substring of the name, any case.
    pub q: Option<String>,
    /// Absent: all; otherwise clamped to 1..1000.
    pub limit: Option<i64>,
    pub offset: Option<i64>,
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
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct EventPath {
    pub event_id: i64,
}

fn recipients(ids: &[i64]) -> Vec<To> {
    ids.iter().map(|id| To::User(*id)).collect()
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
    Admin(_admin): Admin,
    State(state): State<AppState>,
    Body(body): Body<EventCreate>,
) -> AppResult<(StatusCode, Json<EventDto>)> {
    let now = state.now();
    let notifier = state.notifier.clone();
    let dto = state
        .db
        .write(move |tx| {
            let ids = events::dedup_ids(body.participants_ids.as_deref().unwrap_or_default());
            events::require_active_users(tx, &ids)?;
            events::check_dates(now, body.starts_at, body.ends_at)?;
            events::check_capacity(ids.len(), body.max_participants_count)?;
            tx.prepare_cached(
                "INSERT INTO event (name, name_fold, short_description, description, starts_at, ends_at,
                     image_url, payment_info, max_participants_count, location, created_at)
                 VALUES (:name, :name_fold, :short_description, :description, :starts_at, :ends_at,
                     :image_url, :payment_info, :max, :location, :now)",
            )?
            .execute(named_params! {
                ":name": body.name,
                ":name_fold": fold(&body.name),
                ":short_description": body.short_description,
                ":description": body.description,
                ":starts_at": body.starts_at,
                ":ends_at": body.ends_at,
                ":image_url": body.image_url,
                ":payment_info": body.payment_info,
                ":max": body.max_participants_count,
                ":location": body.location,
                ":now": now,
            })?;
            let id = tx.last_insert_rowid();
            events::add_participants(tx, id, &ids, now)?;
            let row = events::require(tx, id, false)?;
            if !ids.is_empty() {
                let notice = Notice::EventCreated(row.facts(ids.len() as i64));
                notifier.send(tx, now, &notice, &recipients(&ids))?;
            }
            events::dto(tx, row, now)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(dto)))
}

/// List events, ordered by id.
#[utoipa::path(get, path = "/events", tag = "events", security(("session_uid" = [], "session_token" = [])),
    params(EventsQuery),
    responses(
        (status = 200, body = Vec<EventDto>),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 422, body = ValidationErrorBody),
    ))]
async fn list_events(
    Admin(_admin): Admin,
    State(state): State<AppState>,
    Query(query): Query<EventsQuery>,
) -> AppResult<Json<Vec<EventDto>>> {
    let now = state.now();
    let list = state
        .db
        .read(move |conn| {
            let page = query.page();
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {EVENT_COLUMNS} FROM event e
                 WHERE {STATUS_FILTER} AND (:q IS NULL OR instr(e.name_fold, :q) > 0)
                 ORDER BY e.id LIMIT :limit OFFSET :offset"
            ))?;
            let rows = stmt
                .query_map(
                    named_params! {
                        ":status": query.status.map(EventStatus::as_str),
                        ":now": now,
                        ":q": query.q.as_deref().map(fold),
                        ":limit": page.limit_or_all(1000),
                        ":offset": page.offset(),
                    },
                    EventRow::from_row,
                )?
                .collect::<Result<Vec<_>, _>>()?;
            events::with_participants(conn, rows, now)
        })
        .await?;
    Ok(Json(list))
}

/// One event with its participants.
#[utoipa::path(get, path = "/events/{event_id}", tag = "events", security(("session_uid" = [], "session_token" = [])),
    params(EventPath),
    responses(
        (status = 200, body = EventDto),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "Event not found"),
        (status = 422, body = ValidationErrorBody),
    ))]
async fn get_event(
    Admin(_admin): Admin,
    State(state): State<AppState>,
    Path(EventPath { event_id }): Path<EventPath>,
) -> AppResult<Json<EventDto>> {
    let now = state.now();
    let dto = state
        .db
        .read(move |conn| {
            let row = events::require(conn, event_id, false)?;
            events::dto(conn, row, now)
        })
        .await?;
    Ok(Json(dto))
}

/// Sets a required field: absent keeps it, `null` is refused.
fn required<T>(field: &str, value: Option<Option<T>>, slot: &mut T) -> AppResult<()> {
    match value {
        None => Ok(()),
        Some(None) => Err(AppError::bad_request(format!("{field} cannot be null"))),
        Some(Some(v)) => {
            *slot = v;
            Ok(())
        }
    }
}

/// Sets an optional field: absent keeps it, `null` clears it.
fn optional<T>(value: Option<Option<T>>, slot: &mut Option<T>) {
    if let Some(v) = value {
        *slot = v;
    }
}

impl EventUpdate {
    /// Applies the scalar fields to `row` (participants are handled apart).
    fn apply(self, row: &mut EventRow) -> AppResult<()> {
        required("name", self.name, &mut row.name)?;
        required("description", self.description, &mut row.description)?;
        required("image_url", self.image_url, &mut row.image_url)?;
        required("starts_at", self.starts_at, &mut row.starts_at)?;
        required("ends_at", self.ends_at, &mut row.ends_at)?;
        optional(self.short_description, &mut row.short_description);
        optional(self.payment_info, &mut row.payment_info);
        optional(self.max_participants_count, &mut row.max_participants_count);
        optional(self.location, &mut row.location);
        optional(self.rejected_at, &mut row.rejected_at);
        Ok(())
    }
}

fn save(tx: &Write, row: &EventRow) -> AppResult<()> {
    tx.prepare_cached(
        "UPDATE event SET name = :name, name_fold = :name_fold, short_description = :short_description,
             description = :description, starts_at = :starts_at, ends_at = :ends_at,
             image_url = :image_url, payment_info = :payment_info, max_participants_count = :max,
             location = :location, rejected_at = :rejected_at
         WHERE id = :id",
    )?
    .execute(named_params! {
        ":id": row.id,
        ":name": row.name,
        ":name_fold": fold(&row.name),
        ":short_description": row.short_description,
        ":description": row.description,
        ":starts_at": row.starts_at,
        ":ends_at": row.ends_at,
        ":image_url": row.image_url,
        ":payment_info": row.payment_info,
        ":max": row.max_participants_count,
        ":location": row.location,
        ":rejected_at": row.rejected_at,
    })?;
    Ok(())
}

/// Makes the participant set exactly `ids`: stayers keep their rows, the
/// others are removed, newcomers join now.
fn replace_participants(tx: &Write, event_id: i64, ids: &[i64], now: Ts) -> AppResult<()> {
    let list = serde_json::to_string(ids).map_err(anyhow::Error::from)?;
    tx.prepare_cached(
        "DELETE FROM event_participant
         WHERE event_id = ?1 AND user_id NOT IN (SELECT value FROM json_each(?2))",
    )?
    .execute(rusqlite::params![event_id, list])?;
    events::add_participants(tx, event_id, ids, now)
}

/// Partially update an event; participants after the update get
/// EVENT_UPDATED, or EVENT_CANCELLED when the update cancels the event.
#[utoipa::path(put, path = "/events/{event_id}", tag = "events", security(("session_uid" = [], "session_token" = [])),
    params(EventPath),
    request_body = EventUpdate,
    responses(
        (status = 200, body = EventDto),
        (status = 400, body = ErrorBody, description = "A required field sent as null, date rules or capacity"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "Event not found / Some participants are missing or deleted"),
        (status = 422, body = ValidationErrorBody),
    ))]
async fn update_event(
    Admin(_admin): Admin,
    State(state): State<AppState>,
    Path(EventPath { event_id }): Path<EventPath>,
    Body(mut body): Body<EventUpdate>,
) -> AppResult<Json<EventDto>> {
    let now = state.now();
    let notifier = state.notifier.clone();
    let dto = state
        .db
        .write(move |tx| {
            let old = events::require(tx, event_id, false)?;
            let new_ids = body
                .participants_ids
                .take()
                .map(|ids| events::dedup_ids(ids.as_deref().unwrap_or_default()));
            if let Some(ids) = &new_ids {
                events::require_active_users(tx, ids)?;
            }
            let mut row = old.clone();
            body.apply(&mut row)?;
            events::check_dates(old.created_at, row.starts_at, row.ends_at)?;

            let mut before = events::participating_ids(tx, event_id)?;
            if let Some(ids) = &new_ids {
                replace_participants(tx, event_id, ids, now)?;
            }
            let mut after = events::participating_ids(tx, event_id)?;
            events::check_capacity(after.len(), row.max_participants_count)?;
            if row != old {
                save(tx, &row)?;
            }
            if row.starts_at != old.starts_at {
                tx.prepare_cached(
                    "UPDATE event_participant SET reminder_sent_at = NULL WHERE event_id = ?1",
                )?
                .execute([event_id])?;
            }

            let to = recipients(&after);
            let facts = row.facts(after.len() as i64);
            before.sort_unstable();
            after.sort_unstable();
            let notice = if old.rejected_at.is_none() && row.rejected_at.is_some() {
                Some(Notice::EventCancelled(facts))
            } else if row != old || before != after {
                Some(Notice::EventUpdated(facts))
            } else {
                None
            };
            if let Some(notice) = notice {
                notifier.send(tx, now, &notice, &to)?;
            }
            events::dto(tx, row, now)
        })
        .await?;
    Ok(Json(dto))
}
