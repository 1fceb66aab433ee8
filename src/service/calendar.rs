//! Calendar feeds: the personal feed behind a secret token (rotated by its
//! owner) and the optional public feed of the company.
//!
//! The token is 32 random bytes, hex. The database keeps its SHA-256 (what
//! a feed request is matched against) and the token sealed with the data
//! dir's key, so that the profile can show the current URL again without a
//! rotation; a copy of the database alone reveals no feed.

use chrono::Duration;
use rand::RngCore;

use crate::domain::calendar::{
    Feed, FeedEntry, FeedStatus, feed_since, is_token_shaped, personal_status,
};
use crate::domain::error::{DomainError, DomainResult};
use crate::secrets::token_digest;
use crate::service::Services;
use crate::store::calendar::FeedRow;

/// The answer to an unknown, rotated or malformed token, and to the public
/// feed while it is off.
pub use crate::domain::error::messages::CALENDAR_NOT_FOUND as FEED_NOT_FOUND;

/// Makes a new feed token for the user; the previous one stops working.
pub async fn rotate_token(svc: &Services, user_id: i64) -> DomainResult<String> {
    let svc = svc.clone();
    let store = svc.store.clone();
    store
        .write(move |tx| {
            let mut bytes = [0u8; 32];
            rand::rng().fill_bytes(&mut bytes);
            let token = hex::encode(bytes);
            let sealed = svc.secrets.seal(&token);
            tx.set_calendar_token(user_id, &token_digest(&token), &sealed, svc.now())?;
            Ok(token)
        })
        .await
}

/// The user's current feed token, if one was made (and can still be
/// opened with this data dir's key).
pub async fn current_token(svc: &Services, user_id: i64) -> DomainResult<Option<String>> {
    let sealed = svc
        .store
        .read(move |tx| tx.calendar_token_sealed(user_id))
        .await?;
    Ok(sealed.and_then(|s| svc.secrets.open_sealed(&s)))
}

fn entry(row: FeedRow, status: FeedStatus) -> FeedEntry {
    let last_modified = row.updated_at.unwrap_or(row.event.created_at);
    FeedEntry {
        event: row.event,
        sequence: row.sequence,
        last_modified,
        status,
    }
}

/// The feed of the user whose token this is: the events they take part in
/// (or wait for) that ended at most 90 days ago, cancelled ones marked.
pub async fn personal_feed(svc: &Services, token: String) -> DomainResult<Feed> {
    if !is_token_shaped(&token) {
        return Err(DomainError::not_found(FEED_NOT_FOUND));
    }
    let digest = token_digest(&token);
    let now = svc.now();
    svc.store
        .read(move |tx| {
            let user_id = tx
                .calendar_token_user(&digest)?
                .ok_or_else(|| DomainError::not_found(FEED_NOT_FOUND))?;
            // The alarms match the user's reminder emails.
            let alarms = tx
                .preferences(user_id)?
                .reminder_minutes()
                .into_iter()
                .map(Duration::minutes)
                .collect();
            let entries = tx
                .personal_feed_rows(user_id, feed_since(now))?
                .into_iter()
                .filter_map(|row| {
                    let mine = row.mine?;
                    let status = personal_status(row.event.rejected_at.is_some(), mine)?;
                    Some(entry(row, status))
                })
                .collect();
            Ok(Feed { entries, alarms })
        })
        .await
}

/// Every upcoming, not cancelled event, when `calendar.public_feed` is on.
pub async fn public_feed(svc: &Services) -> DomainResult<Feed> {
    if !svc.config.calendar.public_feed {
        return Err(DomainError::not_found(FEED_NOT_FOUND));
    }
    let now = svc.now();
    svc.store
        .read(move |tx| {
            let entries = tx
                .public_feed_rows(now)?
                .into_iter()
                .map(|row| entry(row, FeedStatus::Confirmed))
                .collect();
            Ok(Feed {
                entries,
                alarms: Vec::new(),
            })
        })
        .await
}
