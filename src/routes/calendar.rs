//! Calendar feeds: `GET /calendar/{token}.ics` (personal, secret URL, no
//! headers needed: calendar apps cannot send them), `GET /calendar/all.ics`
//! (the company's, when `calendar.public_feed` is on) and the feed URL in
//! the profile (`GET`/`POST /users/me/calendar-token`).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::CurrentUser;
use crate::domain::calendar::Feed;
use crate::domain::error::DomainError;
use crate::http::error::{AppResult, ErrorBody};
use crate::http::extract::Path;
use crate::service::calendar::{self, FEED_NOT_FOUND};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(public_feed))
        .routes(routes!(personal_feed))
        .routes(routes!(get_feed_url, rotate_feed_url))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct FeedPath {
    /// The secret token followed by `.ics`.
    pub file: String,
}

/// The profile's view of the personal feed.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeedUrl {
    /// `<public_url>/api/calendar/<token>.ics`; `null` until the first
    /// `POST` makes one.
    pub url: Option<String>,
}

fn feed_url(state: &AppState, token: &str) -> String {
    format!("{}/api/calendar/{token}.ics", state.config.public_url())
}

/// The feed as `text/calendar` with its ETag; 304 when `If-None-Match`
/// already has it.
fn feed_response(state: &AppState, feed: &Feed, headers: &HeaderMap) -> Response {
    let text = crate::http::ics::feed(
        feed,
        &state.config.public_url(),
        &state.config.ui.brand_name,
    );
    let etag = crate::http::ics::etag(&text);
    let etag_value = HeaderValue::from_str(&etag).expect("hex ETag");
    let cache = HeaderValue::from_static("private, no-cache");
    let unchanged = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| crate::http::ics::none_match(v, &etag));
    if unchanged {
        return (
            StatusCode::NOT_MODIFIED,
            [(header::ETAG, etag_value), (header::CACHE_CONTROL, cache)],
        )
            .into_response();
    }
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/calendar; charset=utf-8"),
            ),
            (header::ETAG, etag_value),
            (header::CACHE_CONTROL, cache),
        ],
        text,
    )
        .into_response()
}

/// The company's feed: every upcoming event that is not cancelled. Only
/// while `calendar.public_feed` is on (404 otherwise); no session needed.
#[utoipa::path(get, path = "/calendar/all.ics", tag = "calendar",
    responses(
        (status = 200, content_type = "text/calendar", body = String,
            headers(("ETag" = String, description = "Send back in If-None-Match"))),
        (status = 304, description = "Unchanged since the ETag in If-None-Match"),
        (status = 404, body = ErrorBody, description = "Calendar not found (the public feed is off)"),
    ))]
async fn public_feed(State(state): State<AppState>, headers: HeaderMap) -> AppResult<Response> {
    let feed = calendar::public_feed(&state.svc).await?;
    Ok(feed_response(&state, &feed, &headers))
}

/// A user's personal feed, by the secret token in its URL (no session
/// headers: calendar apps cannot send them). Lists the events the user
/// takes part in from 90 days back: cancelled ones `STATUS:CANCELLED`, each
/// with a `VALARM` at the reminder offset. A rotated token answers 404.
#[utoipa::path(get, path = "/calendar/{file}", tag = "calendar",
    params(FeedPath),
    responses(
        (status = 200, content_type = "text/calendar", body = String,
            headers(("ETag" = String, description = "Send back in If-None-Match"))),
        (status = 304, description = "Unchanged since the ETag in If-None-Match"),
        (status = 404, body = ErrorBody, description = "Calendar not found"),
    ))]
async fn personal_feed(
    State(state): State<AppState>,
    Path(FeedPath { file }): Path<FeedPath>,
    headers: HeaderMap,
) -> AppResult<Response> {
    let token = file
        .strip_suffix(".ics")
        .ok_or_else(|| DomainError::not_found(FEED_NOT_FOUND))?;
    let feed = calendar::personal_feed(&state.svc, token.to_string()).await?;
    Ok(feed_response(&state, &feed, &headers))
}

/// The caller's current personal feed URL (`null` until one is made).
#[utoipa::path(get, path = "/users/me/calendar-token", tag = "calendar",
    security(("session_uid" = [], "session_token" = [])),
    responses(
        (status = 200, body = FeedUrl),
        (status = 401, body = ErrorBody),
    ))]
async fn get_feed_url(
    CurrentUser(me): CurrentUser,
    State(state): State<AppState>,
) -> AppResult<Json<FeedUrl>> {
    let token = calendar::current_token(&state.svc, me.id).await?;
    Ok(Json(FeedUrl {
        url: token.map(|t| feed_url(&state, &t)),
    }))
}

/// Makes a new personal feed URL and returns it; the previous URL answers
/// 404 from now on.
#[utoipa::path(post, path = "/users/me/calendar-token", tag = "calendar",
    security(("session_uid" = [], "session_token" = [])),
    responses(
        (status = 200, body = FeedUrl),
        (status = 401, body = ErrorBody),
    ))]
async fn rotate_feed_url(
    CurrentUser(me): CurrentUser,
    State(state): State<AppState>,
) -> AppResult<Json<FeedUrl>> {
    let token = calendar::rotate_token(&state.svc, me.id).await?;
    Ok(Json(FeedUrl {
        url: Some(feed_url(&state, &token)),
    }))
}
