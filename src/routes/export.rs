//! `GET /events/{event_id}/participants/export`: the participants of an
//! event as CSV or XLSX, safe to open in a spreadsheet.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::EventManager;
use crate::domain::error::DomainError;
use crate::domain::event::Participation;
use crate::domain::time::Ts;
use crate::http::error::{AppError, AppResult, ErrorBody, ValidationErrorBody};
use crate::http::extract::{Input, Path, Query};
use crate::routes::events::EventPath;
use crate::service::events;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(export_participants))
}

pub const COLUMNS: [&str; 7] = [
    "user_id",
    "email",
    "full_name",
    "status",
    "joined_at",
    "event_id",
    "event_name",
];

const CSV_TYPE: &str = "text/csv; charset=utf-8";
const XLSX_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// `csv` (default) or `xlsx`, any case.
    pub format: Option<String>,
    /// `true`: one more column, `checked_in_at` (when the participant was
    /// checked in, RFC 3339 UTC; empty if not). Absent/false: the seven
    /// columns of the contract.
    #[serde(default, deserialize_with = "crate::http::extract::query_bool")]
    #[param(value_type = Option<bool>)]
    pub attendance: bool,
}

impl Input for ExportQuery {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Csv,
    Xlsx,
}

impl Format {
    fn parse(text: Option<&str>) -> AppResult<Format> {
        match text.map(|t| t.trim().to_ascii_lowercase()).as_deref() {
            None | Some("csv") => Ok(Format::Csv),
            Some("xlsx") => Ok(Format::Xlsx),
            Some(_) => {
                Err(DomainError::rule(crate::domain::error::messages::UNSUPPORTED_FORMAT).into())
            }
        }
    }
}

/// One exported row.
pub fn neutralise(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}

/// Export the `PARTICIPATING` users of an event, by join time, then its
/// waiting list (status `WAITLISTED`, `joined_at` = when they joined the
/// list), first in line first.
#[utoipa::path(get, path = "/events/{event_id}/participants/export", tag = "events",
    security(("session_uid" = [], "session_token" = [])),
    params(EventPath, ExportQuery),
    responses(
        (status = 200, description = "The file", content(
            (String = "text/csv"),
            (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 400, body = ErrorBody, description = "Unsupported format"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "Administrator role required, unless a manager of this event"),
        (status = 404, body = ErrorBody, description = "Event not found"),
        (status = 422, body = ValidationErrorBody),
    ))]
async fn export_participants(
    manager: EventManager,
    State(state): State<AppState>,
    Path(EventPath { event_id }): Path<EventPath>,
    Query(query): Query<ExportQuery>,
) -> AppResult<Response> {
    // Existence (404) is checked before the route's own rules (400).
    let (event, rows) = events::participations(&state.svc, manager.acting(), event_id).await?;
    let format = Format::parse(query.format.as_deref())?;
    let sheet = Sheet {
        rows: &rows,
        event_id: event.id,
        event_name: &event.name,
        attendance: query.attendance,
    };
    let (bytes, content_type, ext) = match format {
        Format::Csv => (csv(&sheet)?, CSV_TYPE, "csv"),
        Format::Xlsx => (xlsx(&sheet)?, XLSX_TYPE, "xlsx"),
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"event_{event_id}_participants.{ext}\""),
            ),
        ],
        bytes,
    )
        .into_response())
}

/// The text cells of a row, neutralised.
fn text_cells(row: &Participation, event_name: &str) -> [String; 4] {
    [
        neutralise(&row.email),
        neutralise(&row.full_name),
        neutralise(row.status.as_str()),
        neutralise(event_name),
    ]
}

/// What one export holds.
struct Sheet<'a> {
    rows: &'a [(Participation, Option<Ts>)],
    event_id: i64,
    event_name: &'a str,
    /// Whether the `checked_in_at` column follows the contract's seven.
    attendance: bool,
}

impl Sheet<'_> {
    fn header(&self) -> Vec<&'static str> {
        let mut header = COLUMNS.to_vec();
        if self.attendance {
            header.push(ATTENDANCE_COLUMN);
        }
        header
    }
}

/// The column `?attendance=true` adds.
pub const ATTENDANCE_COLUMN: &str = "checked_in_at";

fn csv(sheet: &Sheet) -> AppResult<Vec<u8>> {
    let mut out = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| AppError::from(DomainError::internal(format!("csv: {e}")));
    out.write_record(sheet.header()).map_err(fail)?;
    for (row, checked_in_at) in sheet.rows {
        let [email, full_name, status, name] = text_cells(row, sheet.event_name);
        let mut record = vec![
            row.user_id.to_string(),
            email,
            full_name,
            status,
            row.joined_at.to_string(),
            sheet.event_id.to_string(),
            name,
        ];
        if sheet.attendance {
            record.push(checked_in_at.map(|t| t.to_string()).unwrap_or_default());
        }
        out.write_record(record).map_err(fail)?;
    }
    out.into_inner()
        .map_err(|e| AppError::from(DomainError::internal(format!("csv: {e}"))))
}

fn xlsx(sheet_data: &Sheet) -> AppResult<Vec<u8>> {
    let (event_id, event_name) = (sheet_data.event_id, sheet_data.event_name);
    let fail =
        |e: rust_xlsxwriter::XlsxError| AppError::from(DomainError::internal(format!("xlsx: {e}")));
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("Participants").map_err(fail)?;
    for (col, title) in sheet_data.header().iter().enumerate() {
        sheet.write_string(0, col as u16, *title).map_err(fail)?;
    }
    for (i, (row, checked_in_at)) in sheet_data.rows.iter().enumerate() {
        let r = i as u32 + 1;
        let [email, full_name, status, name] = text_cells(row, event_name);
        sheet.write_number(r, 0, row.user_id as f64).map_err(fail)?;
        sheet.write_string(r, 1, email).map_err(fail)?;
        sheet.write_string(r, 2, full_name).map_err(fail)?;
        sheet.write_string(r, 3, status).map_err(fail)?;
        sheet
            .write_string(r, 4, row.joined_at.to_string())
            .map_err(fail)?;
        sheet.write_number(r, 5, event_id as f64).map_err(fail)?;
        sheet.write_string(r, 6, name).map_err(fail)?;
        if sheet_data.attendance
            && let Some(at) = checked_in_at
        {
            sheet.write_string(r, 7, at.to_string()).map_err(fail)?;
        }
    }
    book.save_to_buffer().map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_neutralised() {
        for bad in ["=1+2", "+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(neutralise(bad), format!("'{bad}"));
        }
        for ok in ["Иван", "a=b", "", "1-2"] {
            assert_eq!(neutralise(ok), ok);
        }
    }

    #[test]
    fn formats_parse_in_any_case() {
        assert_eq!(Format::parse(None).unwrap(), Format::Csv);
        assert_eq!(Format::parse(Some("XlSx")).unwrap(), Format::Xlsx);
        assert_eq!(Format::parse(Some("CSV")).unwrap(), Format::Csv);
        assert!(Format::parse(Some("pdf")).is_err());
    }
}
