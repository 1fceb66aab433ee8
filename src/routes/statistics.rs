//! Statistics: mine (`GET /users/me/statistics`) and the administrators'
//! dashboard (`GET /statistics`). A handful of aggregate queries each,
//! whatever the number of events.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::{Admin, CurrentUser};
use crate::domain::statistics::EventAggregates;
use crate::http::error::{AppResult, ErrorBody};
use crate::service::statistics;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(my_statistics))
        .routes(routes!(statistics))
}

/// Mine, over non-rejected events.
#[derive(Debug, Serialize, ToSchema)]
pub struct MyStatistics {
    pub total_events: i64,
    pub active_events: i64,
    pub past_events: i64,
    /// My `PARTICIPATING` rows on non-rejected events.
    pub participating_events: i64,
    /// Rejected events I was participating in.
    pub rejected_events: i64,
    /// Participations in events that have not ended.
    pub upcoming_participations: i64,
    /// `participating_events / total_events` (0 when there are none).
    pub participation_rate: f64,
    /// Upcoming events whose waiting list I am on (not counted in
    /// `participating_events`).
    pub waitlisted_events: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Scalar {
    pub name: &'static str,
    #[schema(value_type = f64)]
    pub value: serde_json::Number,
    /// Always `null`: clients label the figures themselves.
    pub unit: Option<&'static str>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Point<'a> {
    /// `YYYY-MM-DD` (UTC).
    pub x: &'a str,
    pub y: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Graph<'a> {
    pub name: &'static str,
    pub points: Vec<Point<'a>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Bin {
    pub label: &'static str,
    pub from_value: Option<f64>,
    pub to_value: Option<f64>,
    pub count: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Histogram {
    pub name: &'static str,
    pub bins: Vec<Bin>,
}

/// Waiting lists of events that are neither cancelled nor over, apart
/// from the participations the scalars count.
#[derive(Debug, Serialize, ToSchema)]
pub struct WaitingList {
    /// `WAITLISTED` rows.
    pub waitlisted: i64,
    /// Events with at least one.
    pub events: i64,
}

/// Attendance of one event whose check-in has opened.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventAttendanceDto {
    pub event_id: i64,
    pub name: String,
    pub starts_at: crate::domain::time::Ts,
    /// `PARTICIPATING` people.
    pub registered: i64,
    /// Of those, checked in.
    pub came: i64,
    /// came / registered (0 when nobody registered).
    pub attendance_rate: f64,
}

/// Who came to the events whose check-in has opened
/// (`events.checkin_opens_minutes` before the start; not cancelled), from
/// check-ins.
#[derive(Debug, Serialize, ToSchema)]
pub struct Attendance {
    /// Over the listed events: `PARTICIPATING` people, and those checked in.
    pub registered: i64,
    pub came: i64,
    /// (registered − came) / registered, 0 when nobody registered.
    pub no_show_rate: f64,
    /// The most recent 100 such events, newest first.
    pub events: Vec<EventAttendanceDto>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Statistics<'a> {
    pub scalars: Vec<Scalar>,
    pub graphs: Vec<Graph<'a>>,
    pub histograms: Vec<Histogram>,
    pub waiting_list: WaitingList,
    /// Check-in figures (apart from the contract's scalars).
    pub attendance: Attendance,
}

fn attendance(events: Vec<crate::domain::organiser::EventAttendance>) -> Attendance {
    let (registered, came, no_show_rate) = crate::domain::organiser::no_show_rate(&events);
    Attendance {
        registered,
        came,
        no_show_rate,
        events: events
            .into_iter()
            .map(|e| EventAttendanceDto {
                attendance_rate: e.rate(),
                event_id: e.event_id,
                name: e.name,
                starts_at: e.starts_at,
                registered: e.registered,
                came: e.came,
            })
            .collect(),
    }
}

/// Event counts over non-rejected events, and the rejected ones.
#[utoipa::path(get, path = "/users/me/statistics", tag = "statistics",
    security(("session_uid" = [], "session_token" = [])),
    responses((status = 200, body = MyStatistics), (status = 401, body = ErrorBody)))]
async fn my_statistics(
    CurrentUser(me): CurrentUser,
    State(state): State<AppState>,
) -> AppResult<Json<MyStatistics>> {
    let s = statistics::mine(&state.svc, me.id).await?;
    Ok(Json(MyStatistics {
        total_events: s.events.total,
        active_events: s.events.active,
        past_events: s.events.past,
        participating_events: s.mine.participating,
        rejected_events: s.mine.rejected,
        upcoming_participations: s.mine.upcoming,
        participation_rate: s.participation_rate,
        waitlisted_events: s.mine.waitlisted,
    }))
}

fn int(value: i64) -> serde_json::Number {
    value.into()
}

fn float(value: f64) -> serde_json::Number {
    serde_json::Number::from_f64(value).unwrap_or_else(|| 0.into())
}

/// A scalar; `unit` is `null` as the original sent (the UI has its own
/// labels).
fn scalar(name: &'static str, value: serde_json::Number) -> Scalar {
    Scalar {
        name,
        value,
        unit: None,
    }
}

fn bin(label: &'static str, from: Option<f64>, to: Option<f64>, count: i64) -> Bin {
    Bin {
        label,
        from_value: from,
        to_value: to,
        count,
    }
}

impl<'a> Statistics<'a> {
    fn new(a: &'a EventAggregates, attendance: Attendance) -> Self {
        let (p, f) = (&a.participants_per_event, &a.fill_rate);
        Statistics {
            scalars: vec![
                scalar("events_total", int(a.events.total)),
                scalar("active_events", int(a.events.active)),
                scalar("past_events", int(a.events.past)),
                scalar("rejected_events", int(a.events.rejected)),
                scalar("total_participations", int(a.participations)),
                scalar("unique_participants", int(a.unique_participants)),
                scalar(
                    "avg_participants_per_event",
                    float(a.avg_participants_per_event()),
                ),
                scalar("users_total", int(a.users)),
                scalar("new_users_last_30_days", int(a.new_users_last_30_days)),
            ],
            graphs: vec![
                Graph {
                    name: "events_by_start_date",
                    points: a
                        .by_day
                        .iter()
                        .map(|d| Point {
                            x: &d.day,
                            y: d.events,
                        })
                        .collect(),
                },
                Graph {
                    name: "participants_by_start_date",
                    points: a
                        .by_day
                        .iter()
                        .map(|d| Point {
                            x: &d.day,
                            y: d.participants,
                        })
                        .collect(),
                },
            ],
            histograms: vec![
                Histogram {
                    name: "participants_per_event",
                    bins: vec![
                        bin("0", Some(0.0), Some(0.0), p[0]),
                        bin("1", Some(1.0), Some(1.0), p[1]),
                        bin("2-3", Some(2.0), Some(3.0), p[2]),
                        bin("4-5", Some(4.0), Some(5.0), p[3]),
                        bin("6+", Some(6.0), None, p[4]),
                    ],
                },
                Histogram {
                    name: "capacity_fill_rate",
                    bins: vec![
                        bin("0-25%", Some(0.0), Some(0.25), f[0]),
                        bin("25-50%", Some(0.25), Some(0.5), f[1]),
                        bin("50-75%", Some(0.5), Some(0.75), f[2]),
                        bin("75-100%", Some(0.75), Some(1.0), f[3]),
                        bin("100%+", Some(1.0), None, f[4]),
                    ],
                },
            ],
            waiting_list: WaitingList {
                waitlisted: a.waitlisted,
                events: a.events_with_waitlist,
            },
            attendance,
        }
    }
}

#[utoipa::path(get, path = "/statistics", tag = "statistics",
    security(("session_uid" = [], "session_token" = [])),
    responses(
        (status = 200, body = Statistics),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
    ))]
async fn statistics(Admin(_admin): Admin, State(state): State<AppState>) -> AppResult<Response> {
    let (aggregates, came) = statistics::admin(&state.svc).await?;
    let came = attendance(came);
    let body = serde_json::to_vec(&Statistics::new(aggregates.as_ref(), came))
        .map_err(anyhow::Error::from)?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}
