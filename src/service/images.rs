//! Event cover images: what may be uploaded and where it goes.

use bytes::Bytes;

use crate::domain::error::{DomainError, DomainResult};
use crate::service::Services;
use crate::storage::{self, ImageKind};

/// Stores an uploaded image under a fresh key and returns its absolute
/// URL. Only PNG, JPEG, GIF and WebP are taken, recognised by their bytes
/// (never by the client's name or type); a failed write leaves nothing.
pub async fn upload(svc: &Services, bytes: Bytes) -> DomainResult<String> {
    let kind = ImageKind::sniff(&bytes[..bytes.len().min(ImageKind::SNIFF_LEN)])
        .ok_or_else(|| DomainError::Unsupported("Unsupported file type".into()))?;
    let key = storage::new_key(kind);
    svc.storage.put(&key, kind, bytes).await?;
    Ok(svc.storage.url(&key))
}
