//! Event cover images: what may be uploaded, by whom, how much, and where
//! it goes; and the clean-up of images no event uses.

use bytes::Bytes;
use chrono::Duration;

use crate::domain::error::{DomainError, DomainResult};
use crate::domain::time::Ts;
use crate::service::Services;
use crate::storage::{self, ImageKind};

/// Stores an uploaded image of `user_id` under a fresh key and returns its
/// absolute URL. Only PNG, JPEG, GIF and WebP are taken, recognised by their
/// bytes (never by the client's name or type). Refused: over the user's
/// quota (`storage.user_quota_bytes`, 413), over `storage.uploads_per_hour`
/// (429), or when the data dir's filesystem would keep less than
/// `storage.min_free_bytes` (507). The upload is counted before its bytes
/// are written, in one transaction with the checks, so parallel uploads
/// cannot pass the quota together; a failed write leaves nothing.
pub async fn upload(svc: &Services, user_id: i64, bytes: Bytes) -> DomainResult<String> {
    let kind =
        ImageKind::sniff(&bytes[..bytes.len().min(ImageKind::SNIFF_LEN)]).ok_or_else(|| {
            DomainError::Unsupported(crate::domain::error::messages::UNSUPPORTED_FILE_TYPE.into())
        })?;
    let len = bytes.len() as u64;
    svc.storage.check_reserve(&svc.config, len).await?;
    let key = storage::new_key(kind);
    let now = svc.now();
    let quota = svc.config.storage.user_quota_bytes;
    let per_hour = svc.config.storage.uploads_per_hour;
    {
        let key = key.clone();
        svc.store
            .write(move |tx| {
                // Concurrent uploads of the user queue here, so each counts
                // the ones committed before it.
                tx.lock_user(user_id)?;
                let hour_ago = Ts(now.0 - Duration::hours(1));
                let usage = tx.upload_usage(user_id, hour_ago)?;
                if usage.recent >= per_hour {
                    let retry = usage
                        .oldest_recent
                        .map_or(3600, |t| (t.0 + Duration::hours(1) - now.0).num_seconds());
                    return Err(DomainError::rate_limited(
                        format!("Too many uploads: at most {per_hour} per hour"),
                        retry.max(1) as u64,
                    ));
                }
                if usage.bytes.saturating_add(len) > quota {
                    return Err(DomainError::TooLarge(
                        format!(
                            "Upload quota exceeded: {} of {quota} bytes used, this file is {len} bytes",
                            usage.bytes
                        )
                        .into(),
                    ));
                }
                tx.insert_upload(&key, user_id, len, now)
            })
            .await?;
    }
    if let Err(e) = svc.storage.put(&key, kind, bytes).await {
        let forget = key.clone();
        if let Err(e) = svc.store.write(move |tx| tx.delete_upload(&forget)).await {
            tracing::error!(%key, "forgetting a failed upload: {e}");
        }
        return Err(e);
    }
    Ok(svc.storage.url(&key))
}

/// Deletes uploads older than `storage.orphan_grace_hours` that no event's
/// `image_url` references: their rows first (in one transaction, so a
/// reference is checked where it is written), then their files. Returns how
/// many were deleted. A file that cannot be deleted is logged and left.
///
/// Stored images without a row (uploaded before uploads were counted) are
/// adopted first: their grace period starts when the clean-up first sees
/// them. A fresh upload always has its row before its file, so it is never
/// adopted.
pub async fn delete_orphans(svc: &Services) -> DomainResult<usize> {
    let grace = Duration::hours(svc.config.storage.orphan_grace_hours as i64);
    let now = svc.now();
    let before = Ts(now.0 - grace);
    let stored = svc.storage.keys().await?;
    let keys = svc
        .store
        .write(move |tx| {
            tx.adopt_uploads(&stored, now)?;
            tx.take_orphan_uploads(before)
        })
        .await?;
    let mut deleted = 0;
    for key in keys {
        match svc.storage.delete(&key).await {
            Ok(()) => deleted += 1,
            Err(e) => tracing::error!(%key, "deleting an unused image failed: {e}"),
        }
    }
    Ok(deleted)
}
