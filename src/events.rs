//! Events: the stored row, its wire forms (`EventDTO`, `EventParticipantDTO`),
//! the status computed from the clock, and the reads and writes shared by the
//! event, participation, export and statistics routes.

pub mod ics;

use rusqlite::{Connection, Row, params};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

use crate::db::OptionalRow;
use crate::error::{AppError, AppResult};
use crate::notify::EventFacts;
use crate::time::Ts;

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

/// `ACTIVE` | `PAST` | `REJECTED`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum EventStatus {
    Active,
    Past,
    Rejected,
}

/// The SQL condition over table alias `e` that selects events of the
/// status bound as `:status` (NULL: every event) at `:now`.
pub const STATUS_FILTER: &str = "(CASE :status
     WHEN 'ACTIVE' THEN e.rejected_at IS NULL AND e.ends_at > :now
     WHEN 'PAST' THEN e.rejected_at IS NULL AND e.ends_at <= :now
     WHEN 'REJECTED' THEN e.rejected_at IS NOT NULL
     ELSE 1 END)";

impl EventStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            EventStatus::Active => "ACTIVE",
            EventStatus::Past => "PAST",
            EventStatus::Rejected => "REJECTED",
        }
    }
}

/// A participant row's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum ParticipantStatus {
    Participating,
    Rejected,
}

impl ParticipantStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ParticipantStatus::Participating => PARTICIPATING,
            ParticipantStatus::Rejected => REJECTED,
        }
    }

    pub fn parse(text: &str) -> Option<ParticipantStatus> {
        match text {
            PARTICIPATING => Some(ParticipantStatus::Participating),
            REJECTED => Some(ParticipantStatus::Rejected),
            _ => None,
        }
    }
}

impl rusqlite::types::FromSql for ParticipantStatus {
    fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        let text = value.as_str()?;
        ParticipantStatus::parse(text)
            .ok_or_else(|| rusqlite::types::FromSqlError::Other(format!("status {text}").into()))
    }
}

/// `EventParticipantDTO`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ParticipantDto {
    pub user_id: i64,
    /// When the row was written (join or decline time).
    pub created_at: Ts,
    pub status: ParticipantStatus,
}

/// The stored event.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRow {
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
}

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

    /// `REJECTED` if rejected, else `PAST` if `ends_at <= now`, else `ACTIVE`.
    pub fn status(&self, now: Ts) -> EventStatus {
        if self.rejected_at.is_some() {
            EventStatus::Rejected
        } else if self.ends_at <= now {
            EventStatus::Past
        } else {
            EventStatus::Active
        }
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

/// `400 "Max participants count exceeded"` when `count` is over `max`.
pub fn check_capacity(count: usize, max: Option<i64>) -> AppResult<()> {
    match max {
        Some(max) if count as i64 > max => {
            Err(AppError::bad_request("Max participants count exceeded"))
        }
        _ => Ok(()),
    }
}

/// The date rules shared by create and update.
pub fn check_dates(created_at: Ts, starts_at: Ts, ends_at: Ts) -> AppResult<()> {
    if starts_at <= created_at {
        return Err(AppError::bad_request(
            "starts_at must be later than created_at",
        ));
    }
    if ends_at <= starts_at {
        return Err(AppError::bad_request(
            "ends_at must be later than starts_at",
        ));
    }
    Ok(())
}

/// Removes duplicates, keeping the first occurrence's order.
pub fn dedup_ids(ids: &[i64]) -> Vec<i64> {
    let mut seen = std::collections::HashSet::new();
    ids.iter().copied().filter(|id| seen.insert(*id)).collect()
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

/// `part / whole`, 0 when `whole` is 0.
pub fn ratio(part: i64, whole: i64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_follows_the_clock() {
        let t = |s: &str| Ts::parse(s).unwrap();
        let mut e = EventRow {
            id: 1,
            name: "n".into(),
            short_description: None,
            description: String::new(),
            starts_at: t("2026-05-01T10:00:00Z"),
            ends_at: t("2026-05-01T12:00:00Z"),
            image_url: String::new(),
            payment_info: None,
            max_participants_count: None,
            location: None,
            created_at: t("2026-04-01T10:00:00Z"),
            rejected_at: None,
        };
        assert_eq!(e.status(t("2026-05-01T11:59:59Z")), EventStatus::Active);
        assert_eq!(e.status(t("2026-05-01T12:00:00Z")), EventStatus::Past);
        e.rejected_at = Some(t("2026-04-02T00:00:00Z"));
        assert_eq!(e.status(t("2026-04-03T00:00:00Z")), EventStatus::Rejected);
    }

    #[test]
    fn dedup_keeps_first_order() {
        assert_eq!(dedup_ids(&[3, 1, 3, 2, 1]), vec![3, 1, 2]);
    }

    #[test]
    fn capacity_and_dates() {
        assert!(check_capacity(2, Some(2)).is_ok());
        assert!(check_capacity(3, Some(2)).is_err());
        assert!(check_capacity(300, None).is_ok());
        let t = |s: &str| Ts::parse(s).unwrap();
        let c = t("2026-01-01T00:00:00Z");
        assert!(check_dates(c, c, t("2026-01-02T00:00:00Z")).is_err());
        assert!(check_dates(c, t("2026-01-02T00:00:00Z"), t("2026-01-02T00:00:00Z")).is_err());
        assert!(check_dates(c, t("2026-01-02T00:00:00Z"), t("2026-01-03T00:00:00Z")).is_ok());
    }
}
