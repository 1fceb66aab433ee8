//! API.md "Notifications": the in-app notification centre.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::CurrentUser;
use crate::domain::error::DomainError;
use crate::domain::time::Ts;
use crate::email::{Audience, InAppText};
use crate::http::error::{AppResult, ErrorBody, ValidationErrorBody};
use crate::http::extract::{Body, Checks, Input, Page, Query};
use crate::service::notifications;
use crate::state::AppState;
use crate::store::notifications::{InAppBody, InAppRow};

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
    #[schema(value_type = String)]
    title: Text,
    #[schema(value_type = String)]
    content: Text,
    #[schema(value_type = Option<String>)]
    cta_url: Option<Text>,
    #[schema(value_type = Option<String>)]
    cta_label: Option<Text>,
    created_at: Ts,
    acked_at: Option<Ts>,
    /// The notification type, e.g. `EVENT_CREATED`.
    #[serde(rename = "type")]
    kind: String,
}

/// Text shared with the render cache, serialised as a plain string.
#[derive(Debug, Clone)]
pub struct Text(Arc<str>);

impl Serialize for Text {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
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
    let (rows, prefs) = notifications::list(
        &state.svc,
        user.id,
        q.include_acked.unwrap_or(false),
        page.limit_or(50, 200),
        page.offset(),
    )
    .await?;
    let audience = Audience {
        ticket_qr: None,
        locale: prefs.locale,
        time_zone: prefs.time_zone,
    };
    let dtos = rows
        .into_iter()
        .map(|row| dto(&state, row, &audience))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Json(dtos))
}

/// The wire form of a row; a typed notice is rendered (cached) now.
pub(crate) fn dto(
    state: &AppState,
    row: InAppRow,
    audience: &Audience,
) -> Result<NotificationDto, DomainError> {
    let words = match row.body {
        InAppBody::Stored {
            title,
            content,
            cta_url,
            cta_label,
        } => InAppText {
            title: title.into(),
            content: content.into(),
            cta_url: cta_url.map(Into::into),
            cta_label: cta_label.map(Into::into),
        },
        InAppBody::Typed(stored) => {
            let key = (row.id, row.created_at.micros(), audience.key());
            match state.render.cached_in_app(&key) {
                Some(hit) => hit,
                None => {
                    let n = stored.parse()?;
                    state
                        .render
                        .render_in_app(key, &n.notice, &n.name, n.admin_view, audience)
                        .map_err(DomainError::Internal)?
                }
            }
        }
    };
    Ok(NotificationDto {
        id: row.id,
        title: Text(words.title),
        content: Text(words.content),
        cta_url: words.cta_url.map(Text),
        cta_label: words.cta_label.map(Text),
        created_at: row.created_at,
        acked_at: row.acked_at,
        kind: row.kind,
    })
}

#[derive(Deserialize, ToSchema)]
pub struct AckRequest {
    ids: Vec<i64>,
}

impl Input for AckRequest {
    fn check(&mut self, c: &mut Checks) {
        if self.ids.is_empty() {
            let error = c.error("ids", "List should have at least 1 item", "too_short");
            c.add(error.with_limit("min", 1));
        } else if self.ids.len() > 1000 {
            let error = c.error("ids", "List should have at most 1000 items", "too_long");
            c.add(error.with_limit("max", 1000));
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
    notifications::ack(&state.svc, user.id, req.ids).await?;
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
    notifications::ack_all(&state.svc, user.id).await?;
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
    let count = notifications::unread_count(&state.svc, user.id).await?;
    Ok(Json(UnreadCount { count }))
}
