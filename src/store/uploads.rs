//! Uploaded images as the database counts them: per-user quota and rate,
//! and the clean-up of images no event references.

use crate::domain::error::DomainResult;
use crate::domain::time::Ts;

/// What one user has uploaded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UploadUsage {
    /// Bytes of the user's uploads still stored.
    pub bytes: u64,
    /// Uploads made at or after the `since` asked for.
    pub recent: u32,
    /// The oldest of those recent uploads.
    pub oldest_recent: Option<Ts>,
}

/// The upload queries a transaction offers.
pub trait UploadStore {
    /// The usage of `user_id`, counting recent uploads from `since`.
    fn upload_usage(&mut self, user_id: i64, since: Ts) -> DomainResult<UploadUsage>;
    /// Records an upload (before its bytes are written, so it counts at
    /// once against the quota and the rate).
    fn insert_upload(&mut self, key: &str, user_id: i64, bytes: u64, now: Ts) -> DomainResult<()>;
    /// Forgets an upload (its write failed, or its file was deleted).
    fn delete_upload(&mut self, key: &str) -> DomainResult<()>;
    /// Records, as of `now` and owned by no user (id 0), those of `keys`
    /// that have no row (images stored before uploads were counted), so the
    /// orphan clean-up's grace period starts for them. Returns how many.
    fn adopt_uploads(&mut self, keys: &[String], now: Ts) -> DomainResult<usize>;
    /// Deletes and returns the keys of uploads made before `before` that no
    /// event's `image_url` contains.
    fn take_orphan_uploads(&mut self, before: Ts) -> DomainResult<Vec<String>>;
}
