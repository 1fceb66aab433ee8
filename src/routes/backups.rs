//! `GET /api/admin/backups`: the scheduled backups and their last failure.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::Admin;
use crate::domain::time::Ts;
use crate::http::error::{AppResult, ErrorBody};
use crate::service::backups;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_backups))
}

/// One backup in the backup directory.
#[derive(Debug, Serialize, ToSchema)]
pub struct BackupItem {
    /// `afisha-YYYYMMDDTHHMMSSZ.db`, in `dir`.
    pub file_name: String,
    /// When it was taken (UTC, from the name).
    pub taken_at: Ts,
    /// Size of the database copy in bytes.
    pub size_bytes: u64,
    /// Image files kept alongside (`<name>.media/`; 0 on S3 storage).
    pub images: u64,
}

/// The last scheduled backup that failed.
#[derive(Debug, Serialize, ToSchema)]
pub struct BackupFailure {
    pub at: Ts,
    pub message: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Backups {
    /// `backup.schedule`: empty (off), `daily HH:MM` or a cron expression.
    pub schedule: String,
    /// `backup.dir` as resolved.
    pub dir: String,
    /// `backup.keep`.
    pub keep: usize,
    /// The next scheduled run; `null` when off or not started yet.
    pub next_at: Option<Ts>,
    pub last_success_at: Option<Ts>,
    /// Kept until a later run succeeds.
    pub last_failure: Option<BackupFailure>,
    /// Newest first.
    pub backups: Vec<BackupItem>,
}

/// Scheduled backups: schedule, the copies kept, the last failure.
#[utoipa::path(get, path = "/admin/backups", tag = "service",
    security(("session_uid" = [], "session_token" = [])),
    responses((status = 200, body = Backups), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
async fn list_backups(
    Admin(_admin): Admin,
    State(state): State<AppState>,
) -> AppResult<Json<Backups>> {
    let o = backups::overview(&state.svc).await?;
    Ok(Json(Backups {
        schedule: o.schedule,
        dir: o.dir.display().to_string(),
        keep: o.keep,
        next_at: o.next_at,
        last_success_at: o.last_success_at,
        last_failure: o
            .last_failure
            .map(|(at, message)| BackupFailure { at, message }),
        backups: o
            .backups
            .into_iter()
            .map(|b| BackupItem {
                file_name: b.file_name,
                taken_at: b.taken_at,
                size_bytes: b.size_bytes,
                images: b.images,
            })
            .collect(),
    }))
}
