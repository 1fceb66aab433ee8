//! The in-app notification centre: reading and acknowledging one's own
//! notifications. The rows hold typed notices; the HTTP side renders them.

use crate::domain::error::{DomainError, DomainResult};
use crate::domain::preferences::Preferences;
use crate::service::Services;
use crate::store::notifications::InAppRow;

/// A user's notifications, newest first; acknowledged ones only with
/// `include_acked`; with the reader's preferences (their language and time
/// zone render the words).
pub async fn list(
    svc: &Services,
    user_id: i64,
    include_acked: bool,
    limit: i64,
    offset: i64,
) -> DomainResult<(Vec<InAppRow>, Preferences)> {
    svc.store
        .read(move |tx| {
            let rows = tx.list_in_app(user_id, include_acked, limit, offset)?;
            Ok((rows, tx.preferences(user_id)?))
        })
        .await
}

/// Marks the given notifications of `user_id` read: all or nothing, and
/// "Notification not found" when one is not theirs.
pub async fn ack(svc: &Services, user_id: i64, mut ids: Vec<i64>) -> DomainResult<()> {
    let now = svc.now();
    ids.sort_unstable();
    ids.dedup();
    svc.store
        .write(move |tx| {
            for id in &ids {
                if !tx.in_app_is_of(*id, user_id)? {
                    return Err(DomainError::not_found(
                        crate::domain::error::messages::NOTIFICATION_NOT_FOUND,
                    ));
                }
            }
            for id in &ids {
                tx.ack_in_app(*id, user_id, now)?;
            }
            Ok(())
        })
        .await
}

/// Marks every notification of `user_id` read.
pub async fn ack_all(svc: &Services, user_id: i64) -> DomainResult<()> {
    let now = svc.now();
    svc.store
        .write(move |tx| tx.ack_all_in_app(user_id, now))
        .await
}

/// How many of `user_id`'s notifications are unread.
pub async fn unread_count(svc: &Services, user_id: i64) -> DomainResult<i64> {
    svc.store.read(move |tx| tx.unread_in_app(user_id)).await
}
