//! Login sessions: creation, lookup by the two headers, expiry, revocation.
//!
//! The token is 32 random bytes, hex-encoded, handed to the client once; only
//! its SHA-256 is stored.

use chrono::Duration;
use rand::RngCore;
use rusqlite::{Connection, params};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::domain::time::Ts;
use crate::http::error::AppResult;
use crate::store::sqlite::OptionalRow;

/// `last_seen_at` is written at most this often per session.
pub const TOUCH_EVERY_SECS: i64 = 60;

pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Equal-length comparison whose time does not depend on where bytes differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub struct NewSession {
    pub uid: Uuid,
    pub token: String,
}

/// Inserts a session for `user_id` (call inside a write transaction).
pub fn create(
    conn: &Connection,
    user_id: i64,
    user_agent: Option<&str>,
    now: Ts,
) -> AppResult<NewSession> {
    let uid = Uuid::new_v4();
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = hex::encode(bytes);
    let user_agent = user_agent.map(|ua| ua.chars().take(512).collect::<String>());
    conn.execute(
        "INSERT INTO login_session (uid, user_id, token_hash, user_agent, created_at, last_seen_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
        params![
            uid.to_string(),
            user_id,
            hash_token(&token),
            user_agent,
            now
        ],
    )?;
    Ok(NewSession { uid, token })
}

/// The user behind a valid session.
#[derive(Debug, Clone)]
pub struct SessionUser {
    pub session_uid: Uuid,
    pub id: i64,
    pub role: String,
    pub is_system: bool,
    pub email: String,
    pub full_name: String,
    /// `last_seen_at` is old enough to be refreshed.
    pub stale: bool,
}

impl SessionUser {
    pub fn is_admin(&self) -> bool {
        self.role == "ADMINISTRATOR" || self.is_system
    }
}

/// Looks up a session; `None` for unknown, wrong token, expired or deleted user.
pub fn lookup(
    conn: &Connection,
    uid: Uuid,
    token: &str,
    now: Ts,
    ttl_days: i64,
) -> AppResult<Option<SessionUser>> {
    let row = conn
        .prepare_cached(
            "SELECT s.token_hash, s.last_seen_at, u.id, u.role, u.is_system, u.email, u.full_name, u.deleted_at
             FROM login_session s JOIN user u ON u.id = s.user_id
             WHERE s.uid = ?1",
        )?
        .query_row([uid.to_string()], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Ts>(1)?,
                SessionUser {
                    session_uid: uid,
                    id: r.get(2)?,
                    role: r.get(3)?,
                    is_system: r.get(4)?,
                    email: r.get(5)?,
                    full_name: r.get(6)?,
                    stale: false,
                },
                r.get::<_, Option<i64>>(7)?,
            ))
        })
        .optional()?;
    let Some((stored_hash, last_seen, mut user, deleted_at)) = row else {
        return Ok(None);
    };
    if !constant_time_eq(stored_hash.as_bytes(), hash_token(token).as_bytes()) {
        return Ok(None);
    }
    if deleted_at.is_some() || last_seen.0 + Duration::days(ttl_days) <= now.0 {
        return Ok(None);
    }
    user.stale = now.0 - last_seen.0 >= Duration::seconds(TOUCH_EVERY_SECS);
    Ok(Some(user))
}

pub fn touch(conn: &Connection, uid: Uuid, now: Ts) -> AppResult<()> {
    conn.execute(
        "UPDATE login_session SET last_seen_at = ?2 WHERE uid = ?1",
        params![uid.to_string(), now],
    )?;
    Ok(())
}

/// Revokes every session of a user, optionally keeping one.
pub fn revoke_all(conn: &Connection, user_id: i64, keep: Option<Uuid>) -> AppResult<usize> {
    let keep = keep.map(|u| u.to_string()).unwrap_or_default();
    Ok(conn.execute(
        "DELETE FROM login_session WHERE user_id = ?1 AND uid <> ?2",
        params![user_id, keep],
    )?)
}
