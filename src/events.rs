//! Events: the stored row, its wire forms (`EventDTO`, `EventParticipantDTO`),
//! the status computed from the clock, and the reads and writes shared by the
//! event, participation, export and statistics routes.

pub mod ics;

use rusqlite::{Connection, Row, params};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

use crate::domain::time::Ts;
use crate::http::error::{AppError, AppResult};
use crate::notify::EventFacts;
use crate::store::sqlite::OptionalRow;

pub const PARTICIPATING: &str = "PARTICIPATING";
pub const REJECTED: &str = "REJECTED";

/// Deserialises a field that distinguishes "absent" (`None`, with
/// `#[serde(default)]`) from "sent as null" (`Some(None)`).
pub fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

pub use crate::domain::event::{
    EventStatus, ParticipantStatus, check_capacity, check_dates, dedup_ids, ratio,
};

/// The SQL condition over table alias `e` that selects events of the
/// status bound as `:status` (NULL: every event) at `:now`.
pub const STATUS_FILTER: &str = "(CASE :status
     WHEN 'ACTIVE' THEN e.rejected_at IS NULL AND e.ends_at > :now
     WHEN 'PAST' THEN e.rejected_at IS NULL AND e.ends_at <= :now
     WHEN 'REJECTED' THEN e.rejected_at IS NOT NULL
     ELSE 1 END)";

/// `EventParticipantDTO`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ParticipantDto {
    pub user_id: i64,
    /// When the row was written (join or decline time).
    pub created_at: Ts,
    pub status: ParticipantStatus,
}

pub type EventRow = crate::domain::event::Event;

/// Columns for [`EventRow::from_row`], in order, over table alias `e`.
pub const EVENT_COLUMNS: &str = "e.id, e.name, e.short_description, e.description, e.starts_at, e.ends_at, e.image_url, \
     e.payment_info, e.max_participants_count, e.location, e.created_at, e.rejected_at";

impl EventRow {
    pub fn from_row(r: &Row) -> rusqlite::Result<Self> {
        Ok(EventRow {
            id: r.get(0)?,
            name: r.get(1)?,
            short_description: r.get(2)?,
            description: r.get(3)?,
            starts_at: r.get(4)?,
            ends_at: r.get(5)?,
            image_url: r.get(6)?,
            payment_info: r.get(7)?,
            max_participants_count: r.get(8)?,
            location: r.get(9)?,
            created_at: r.get(10)?,
            rejected_at: r.get(11)?,
        })
    }

    /// What notifications say about the event.
    pub fn facts(&self, participants_count: i64) -> EventFacts {
        EventFacts {
            id: self.id,
            name: self.name.clone(),
            short_description: self.short_description.clone(),
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            location: self.location.clone(),
            payment_info: self.payment_info.clone(),
            max_participants_count: self.max_participants_count,
            participants_count,
        }
    }

    pub fn into_dto(self, now: Ts, participants: Vec<ParticipantDto>) -> EventDto {
        EventDto {
            status: self.status(now),
            id: self.id,
            name: self.name,
            short_description: self.short_description,
            description: self.description,
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            image_url: self.image_url,
            payment_info: self.payment_info,
            max_participants_count: self.max_participants_count,
            location: self.location,
            created_at: self.created_at,
            rejected_at: self.rejected_at,
            participants,
        }
    }
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
    pub participants: Vec<ParticipantDto>,
}

/// The event by id, rejected or not.
pub fn get(conn: &Connection, id: i64) -> AppResult<Option<EventRow>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {EVENT_COLUMNS} FROM event e WHERE e.id = ?1"
        ))?
        .query_row([id], EventRow::from_row)
        .optional()?)
}

/// The event by id; `404 "Event not found"` when unknown (or, with
/// `visible_only`, rejected).
pub fn require(conn: &Connection, id: i64, visible_only: bool) -> AppResult<EventRow> {
    match get(conn, id)? {
        Some(e) if !(visible_only && e.rejected_at.is_some()) => Ok(e),
        _ => Err(AppError::not_found("Event not found")),
    }
}

fn participant_from_row(r: &Row) -> rusqlite::Result<(i64, ParticipantDto)> {
    Ok((
        r.get(0)?,
        ParticipantDto {
            user_id: r.get(1)?,
            created_at: r.get(2)?,
            status: r.get(3)?,
        },
    ))
}

/// Participants of the events whose ids are given, grouped per event in the
/// order of `ids`; each group ordered by row time, then id. One query.
pub fn participants_of(conn: &Connection, ids: &[i64]) -> AppResult<Vec<Vec<ParticipantDto>>> {
    let mut groups: Vec<Vec<ParticipantDto>> = vec![Vec::new(); ids.len()];
    if ids.is_empty() {
        return Ok(groups);
    }
    let index: std::collections::HashMap<i64, usize> =
        ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    let list = serde_json::to_string(ids).map_err(anyhow::Error::from)?;
    let mut stmt = conn.prepare_cached(
        "SELECT p.event_id, p.user_id, p.created_at, p.status FROM event_participant p
         WHERE p.event_id IN (SELECT value FROM json_each(?1))
         ORDER BY p.event_id, p.created_at, p.id",
    )?;
    let rows = stmt.query_map([list], participant_from_row)?;
    for row in rows {
        let (event_id, p) = row?;
        if let Some(&i) = index.get(&event_id) {
            groups[i].push(p);
        }
    }
    Ok(groups)
}

/// Turns event rows into DTOs with their participants (two queries in all).
pub fn with_participants(
    conn: &Connection,
    rows: Vec<EventRow>,
    now: Ts,
) -> AppResult<Vec<EventDto>> {
    let ids: Vec<i64> = rows.iter().map(|e| e.id).collect();
    let groups = participants_of(conn, &ids)?;
    Ok(rows
        .into_iter()
        .zip(groups)
        .map(|(row, participants)| row.into_dto(now, participants))
        .collect())
}

/// The full DTO of one event.
pub fn dto(conn: &Connection, row: EventRow, now: Ts) -> AppResult<EventDto> {
    Ok(with_participants(conn, vec![row], now)?
        .pop()
        .expect("one row in, one DTO out"))
}

/// Ids of the users `PARTICIPATING` in an event, by join time.
pub fn participating_ids(conn: &Connection, event_id: i64) -> AppResult<Vec<i64>> {
    let mut stmt = conn.prepare_cached(
        "SELECT user_id FROM event_participant
         WHERE event_id = ?1 AND status = 'PARTICIPATING' ORDER BY created_at, id",
    )?;
    let ids = stmt
        .query_map([event_id], |r| r.get(0))?
        .collect::<Result<Vec<i64>, _>>()?;
    Ok(ids)
}

/// `404 "Some participants are missing or deleted"` unless every id names an
/// active user. `ids` must be free of duplicates.
pub fn require_active_users(conn: &Connection, ids: &[i64]) -> AppResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let list = serde_json::to_string(ids).map_err(anyhow::Error::from)?;
    let found: i64 = conn
        .prepare_cached(
            "SELECT count(*) FROM user
             WHERE deleted_at IS NULL AND id IN (SELECT value FROM json_each(?1))",
        )?
        .query_row([list], |r| r.get(0))?;
    if found as usize != ids.len() {
        return Err(AppError::not_found(
            "Some participants are missing or deleted",
        ));
    }
    Ok(())
}

/// Inserts `PARTICIPATING` rows for users that have no row yet and turns
/// declined rows into participation (a new join time, no reminder yet).
pub fn add_participants(conn: &Connection, event_id: i64, ids: &[i64], now: Ts) -> AppResult<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO event_participant (event_id, user_id, status, created_at)
         VALUES (?1, ?2, 'PARTICIPATING', ?3)
         ON CONFLICT (event_id, user_id) DO UPDATE
           SET status = 'PARTICIPATING', created_at = excluded.created_at, reminder_sent_at = NULL
           WHERE status <> 'PARTICIPATING'",
    )?;
    for id in ids {
        stmt.execute(params![event_id, id, now])?;
    }
    Ok(())
}
