//! API.md "Notifications": the in-app notification centre.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use rusqlite::params;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::CurrentUser;
use crate::domain::time::Ts;
use crate::http::error::{AppError, AppResult, ErrorBody, ValidationErrorBody};
use crate::http::extract::{Body, Checks, Input, Page, Query};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(ack))
        .routes(routes!(ack_all))
        .routes(routes!(unread_count))
}

/// `InstantNotificationDTO`.
#[derive(Serialize, ToSchema)]
pub struct NotificationDto {
    id: i64,
    title: String,
    content: String,
    cta_url: Option<String>,
    cta_label: Option<String>,
    created_at: Ts,
    acked_at: Option<Ts>,
    /// The notification type, e.g. `EVENT_CREATED`.
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Include acknowledged notifications (default false).
    include_acked: Option<bool>,
    /// Page size, default 50, clamped to 1..200.
    limit: Option<i64>,
    /// Items to skip (not negative).
    offset: Option<i64>,
}

impl Input for ListQuery {
    fn check(&mut self, c: &mut Checks) {
        self.page().check(c);
    }
}

impl ListQuery {
    fn page(&self) -> Page {
        Page {
            limit: self.limit,
            offset: self.offset,
        }
    }
}

/// My notifications, newest first.
#[utoipa::path(get, path = "/notifications/instant", tag = "notifications", params(ListQuery),
    security(("session_uid" = [], "session_token" = [])),
    responses(
        (status = 200, body = Vec<NotificationDto>),
        (status = 401, body = ErrorBody),
        (status = 422, body = ValidationErrorBody),
    ))]
async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Query(q): Query<ListQuery>,
) -> AppResult<Json<Vec<NotificationDto>>> {
    let page = q.page();
    let include_acked = q.include_acked.unwrap_or(false);
    let rows = state
        .db
        .read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT id, title, content, cta_url, cta_label, created_at, acked_at, type
                 FROM instant_notification
                 WHERE recipient_id = ?1 AND (?2 OR acked_at IS NULL)
                 ORDER BY created_at DESC, id DESC LIMIT ?3 OFFSET ?4",
            )?;
            let rows = stmt
                .query_map(
                    params![
                        user.id,
                        include_acked,
                        page.limit_or(50, 200),
                        page.offset()
                    ],
                    |r| {
                        Ok(NotificationDto {
                            id: r.get(0)?,
                            title: r.get(1)?,
                            content: r.get(2)?,
                            cta_url: r.get(3)?,
                            cta_label: r.get(4)?,
                            created_at: r.get(5)?,
                            acked_at: r.get(6)?,
                            kind: r.get(7)?,
                        })
                    },
                )?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
        .await?;
    Ok(Json(rows))
}

#[derive(Deserialize, ToSchema)]
pub struct AckRequest {
    ids: Vec<i64>,
}

impl Input for AckRequest {
    fn check(&mut self, c: &mut Checks) {
        if self.ids.is_empty() {
            c.fail("ids", "List should have at least 1 item", "too_short");
        } else if self.ids.len() > 1000 {
            c.fail("ids", "List should have at most 1000 items", "too_long");
        }
    }
}

/// Mark notifications as read; all or nothing.
#[utoipa::path(post, path = "/notifications/instant/ack", tag = "notifications", request_body = AckRequest,
    security(("session_uid" = [], "session_token" = [])),
    responses(
        (status = 204, description = "Acknowledged"),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "Notification not found"),
        (status = 422, body = ValidationErrorBody),
    ))]
async fn ack(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Body(req): Body<AckRequest>,
) -> AppResult<StatusCode> {
    let now = state.now();
    state
        .db
        .write(move |tx| {
            let mut ids = req.ids;
            ids.sort_unstable();
            ids.dedup();
            let mut mine = tx.prepare_cached(
                "SELECT 1 FROM instant_notification WHERE id = ?1 AND recipient_id = ?2",
            )?;
            for id in &ids {
                if !mine.exists(params![id, user.id])? {
                    return Err(AppError::not_found("Notification not found"));
                }
            }
            let mut mark = tx.prepare_cached(
                "UPDATE instant_notification SET acked_at = ?3
                 WHERE id = ?1 AND recipient_id = ?2 AND acked_at IS NULL",
            )?;
            for id in &ids {
                mark.execute(params![id, user.id, now])?;
            }
            Ok(())
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Mark all my notifications as read.
#[utoipa::path(post, path = "/notifications/instant/ack-all", tag = "notifications",
    security(("session_uid" = [], "session_token" = [])),
    responses((status = 204, description = "Acknowledged"), (status = 401, body = ErrorBody)))]
async fn ack_all(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> AppResult<StatusCode> {
    let now = state.now();
    state
        .db
        .write(move |tx| {
            tx.execute(
                "UPDATE instant_notification SET acked_at = ?2 WHERE recipient_id = ?1 AND acked_at IS NULL",
                params![user.id, now],
            )?;
            Ok(())
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct UnreadCount {
    count: i64,
}

/// How many of my notifications are unread.
#[utoipa::path(get, path = "/notifications/instant/unread-count", tag = "notifications",
    security(("session_uid" = [], "session_token" = [])),
    responses((status = 200, body = UnreadCount), (status = 401, body = ErrorBody)))]
async fn unread_count(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> AppResult<Json<UnreadCount>> {
    let count = state
        .db
        .read(move |c| {
            Ok(c.prepare_cached(
                "SELECT count(*) FROM instant_notification WHERE recipient_id = ?1 AND acked_at IS NULL",
            )?
            .query_row([user.id], |r| r.get(0))?)
        })
        .await?;
    Ok(Json(UnreadCount { count }))
}
