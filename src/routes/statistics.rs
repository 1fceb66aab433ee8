//! Statistics: mine (`GET /users/me/statistics`) and the administrators'
//! dashboard (`GET /statistics`). A handful of aggregate queries each,
//! whatever the number of events.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use rusqlite::Connection;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::{Admin, CurrentUser};
use crate::domain::time::Ts;
use crate::events::ratio;
use crate::http::error::{AppResult, ErrorBody};
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
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Scalar {
    pub name: &'static str,
    #[schema(value_type = f64)]
    pub value: serde_json::Number,
    pub unit: Option<&'static str>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Point {
    /// `YYYY-MM-DD` (UTC).
    pub x: String,
    pub y: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Graph {
    pub name: &'static str,
    pub points: Vec<Point>,
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

#[derive(Debug, Serialize, ToSchema)]
pub struct Statistics {
    pub scalars: Vec<Scalar>,
    pub graphs: Vec<Graph>,
    pub histograms: Vec<Histogram>,
}

/// Event counts over non-rejected events, and the rejected ones.
struct EventCounts {
    total: i64,
    active: i64,
    past: i64,
    rejected: i64,
}

fn event_counts(conn: &Connection, now: Ts) -> AppResult<EventCounts> {
    Ok(conn
        .prepare_cached(
            "SELECT count(*) FILTER (WHERE rejected_at IS NULL),
                    count(*) FILTER (WHERE rejected_at IS NULL AND ends_at > ?1),
                    count(*) FILTER (WHERE rejected_at IS NULL AND ends_at <= ?1),
                    count(*) FILTER (WHERE rejected_at IS NOT NULL)
             FROM event",
        )?
        .query_row([now], |r| {
            Ok(EventCounts {
                total: r.get(0)?,
                active: r.get(1)?,
                past: r.get(2)?,
                rejected: r.get(3)?,
            })
        })?)
}

/// My participation figures.
#[utoipa::path(get, path = "/users/me/statistics", tag = "statistics",
    security(("session_uid" = [], "session_token" = [])),
    responses((status = 200, body = MyStatistics), (status = 401, body = ErrorBody)))]
async fn my_statistics(
    CurrentUser(me): CurrentUser,
    State(state): State<AppState>,
) -> AppResult<Json<MyStatistics>> {
    let now = state.now();
    let stats = state
        .db
        .read(move |conn| {
            let events = event_counts(conn, now)?;
            let (participating, upcoming, rejected) = conn
                .prepare_cached(
                    "SELECT count(*) FILTER (WHERE e.rejected_at IS NULL),
                            count(*) FILTER (WHERE e.rejected_at IS NULL AND e.ends_at > ?2),
                            count(*) FILTER (WHERE e.rejected_at IS NOT NULL)
                     FROM event_participant p JOIN event e ON e.id = p.event_id
                     WHERE p.user_id = ?1 AND p.status = 'PARTICIPATING'",
                )?
                .query_row(rusqlite::params![me.id, now], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, i64>(2)?,
                    ))
                })?;
            Ok(MyStatistics {
                total_events: events.total,
                active_events: events.active,
                past_events: events.past,
                participating_events: participating,
                rejected_events: rejected,
                upcoming_participations: upcoming,
                participation_rate: ratio(participating, events.total),
            })
        })
        .await?;
    Ok(Json(stats))
}

/// Per-event participant counts of non-rejected events, as a subquery.
const PER_EVENT: &str = "SELECT e.id, e.starts_at, e.max_participants_count AS max,
        (SELECT count(*) FROM event_participant p
          WHERE p.event_id = e.id AND p.status = 'PARTICIPATING') AS n
     FROM event e WHERE e.rejected_at IS NULL";

fn int(value: i64) -> serde_json::Number {
    value.into()
}

fn float(value: f64) -> serde_json::Number {
    serde_json::Number::from_f64(value).unwrap_or_else(|| 0.into())
}

fn scalar(name: &'static str, value: serde_json::Number, unit: Option<&'static str>) -> Scalar {
    Scalar { name, value, unit }
}

fn bin(label: &'static str, from: Option<f64>, to: Option<f64>, count: i64) -> Bin {
    Bin {
        label,
        from_value: from,
        to_value: to,
        count,
    }
}

fn compute(conn: &Connection, now: Ts) -> AppResult<Statistics> {
    let events = event_counts(conn, now)?;
    let (participations, unique): (i64, i64) = conn
        .prepare_cached(
            "SELECT count(*), count(DISTINCT p.user_id)
             FROM event_participant p JOIN event e ON e.id = p.event_id
             WHERE p.status = 'PARTICIPATING' AND e.rejected_at IS NULL",
        )?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let month_ago = Ts(now.0 - chrono::Duration::days(30));
    let (users, new_users): (i64, i64) = conn
        .prepare_cached(
            "SELECT count(*), count(*) FILTER (WHERE created_at >= ?1)
             FROM user WHERE deleted_at IS NULL",
        )?
        .query_row([month_ago], |r| Ok((r.get(0)?, r.get(1)?)))?;

    let mut by_events = Vec::new();
    let mut by_participants = Vec::new();
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT date(starts_at / 1000000, 'unixepoch') AS day, count(*), sum(n)
         FROM ({PER_EVENT}) GROUP BY day ORDER BY day"
    ))?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let day: String = r.get(0)?;
        by_events.push(Point {
            x: day.clone(),
            y: r.get(1)?,
        });
        by_participants.push(Point {
            x: day,
            y: r.get(2)?,
        });
    }

    // Fill-rate bins compare n/max with the bounds without division:
    // n/max < 1/4  <=>  4n < max, and so on.
    let h: [i64; 10] = conn
        .prepare_cached(&format!(
            "SELECT count(*) FILTER (WHERE n = 0),
                    count(*) FILTER (WHERE n = 1),
                    count(*) FILTER (WHERE n BETWEEN 2 AND 3),
                    count(*) FILTER (WHERE n BETWEEN 4 AND 5),
                    count(*) FILTER (WHERE n >= 6),
                    count(*) FILTER (WHERE max IS NOT NULL AND 4 * n < max),
                    count(*) FILTER (WHERE max IS NOT NULL AND 4 * n >= max AND 2 * n < max),
                    count(*) FILTER (WHERE max IS NOT NULL AND 2 * n >= max AND 4 * n < 3 * max),
                    count(*) FILTER (WHERE max IS NOT NULL AND 4 * n >= 3 * max AND n < max),
                    count(*) FILTER (WHERE max IS NOT NULL AND n >= max)
             FROM ({PER_EVENT})"
        ))?
        .query_row([], |r| {
            let mut out = [0i64; 10];
            for (i, slot) in out.iter_mut().enumerate() {
                *slot = r.get(i)?;
            }
            Ok(out)
        })?;

    Ok(Statistics {
        scalars: vec![
            scalar("events_total", int(events.total), Some("events")),
            scalar("active_events", int(events.active), Some("events")),
            scalar("past_events", int(events.past), Some("events")),
            scalar("rejected_events", int(events.rejected), Some("events")),
            scalar(
                "total_participations",
                int(participations),
                Some("participations"),
            ),
            scalar("unique_participants", int(unique), Some("users")),
            scalar(
                "avg_participants_per_event",
                float(ratio(participations, events.total)),
                Some("participants per event"),
            ),
            scalar("users_total", int(users), Some("users")),
            scalar("new_users_last_30_days", int(new_users), Some("users")),
        ],
        graphs: vec![
            Graph {
                name: "events_by_start_date",
                points: by_events,
            },
            Graph {
                name: "participants_by_start_date",
                points: by_participants,
            },
        ],
        histograms: vec![
            Histogram {
                name: "participants_per_event",
                bins: vec![
                    bin("0", Some(0.0), Some(0.0), h[0]),
                    bin("1", Some(1.0), Some(1.0), h[1]),
                    bin("2-3", Some(2.0), Some(3.0), h[2]),
                    bin("4-5", Some(4.0), Some(5.0), h[3]),
                    bin("6+", Some(6.0), None, h[4]),
                ],
            },
            Histogram {
                name: "capacity_fill_rate",
                bins: vec![
                    bin("0-25%", Some(0.0), Some(0.25), h[5]),
                    bin("25-50%", Some(0.25), Some(0.5), h[6]),
                    bin("50-75%", Some(0.5), Some(0.75), h[7]),
                    bin("75-100%", Some(0.75), Some(1.0), h[8]),
                    bin("100%+", Some(1.0), None, h[9]),
                ],
            },
        ],
    })
}

/// The administrators' dashboard: scalars, graphs by UTC start date, and
/// histograms, over non-rejected events unless named otherwise.
#[utoipa::path(get, path = "/statistics", tag = "statistics",
    security(("session_uid" = [], "session_token" = [])),
    responses(
        (status = 200, body = Statistics),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
    ))]
async fn statistics(Admin(_admin): Admin, State(state): State<AppState>) -> AppResult<Response> {
    let now = state.now();
    let db = state.db.clone();
    let stats = state
        .caches
        .statistics
        .get_or_compute(
            || db.generation(),
            now,
            || {
                state
                    .db
                    .read(move |conn| Ok((compute(conn, now)?, next_change(conn, now)?)))
            },
        )
        .await?;
    Ok(Json(stats.as_ref()).into_response())
}

/// The next moment the statistics change with time alone: an active event
/// ends, or a user's sign-up leaves the 30-day window.
fn next_change(conn: &Connection, now: Ts) -> AppResult<Option<Ts>> {
    let month_ago = Ts(now.0 - chrono::Duration::days(30));
    let (event_end, signup): (Option<Ts>, Option<Ts>) = conn
        .prepare_cached(
            "SELECT (SELECT min(ends_at) FROM event WHERE rejected_at IS NULL AND ends_at > ?1),
                    (SELECT min(created_at) FROM user WHERE deleted_at IS NULL AND created_at >= ?2)",
        )?
        .query_row(rusqlite::params![now, month_ago], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let signup_leaves = signup.map(|t| Ts(t.0 + chrono::Duration::days(30)));
    Ok([event_end, signup_leaves].into_iter().flatten().min())
}
