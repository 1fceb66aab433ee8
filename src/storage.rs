//! Event images: type sniffing, keys, and storage through OpenDAL on local
//! disk (`fs`, served at `/media/…`) or S3.
//!
//! The backend is opened and checked at start-up ([`Storage::open`]) so that a
//! wrong bucket, refused credentials or an unwritable directory stop the
//! server with one line instead of failing the first upload.

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use opendal::{ErrorKind, Operator};
use uuid::Uuid;

use crate::config::{Config, StorageBackend};
use crate::domain::error::{DomainError, DomainResult};

/// How long the start-up check waits for S3 before giving up.
const CHECK_TIMEOUT: Duration = Duration::from_secs(10);
/// Where keys live; the only prefix `/media` serves.
const PREFIX: &str = "events/";
/// `Cache-Control` for stored images: a key is never reused for other bytes.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// The fs backend writes into this directory under the root, then renames,
/// so a failed write never leaves a partial file under a served key.
const FS_STAGING_DIR: &str = ".staging";
/// The file the start-up check writes and deletes.
const FS_PROBE: &str = ".afisha-write-check";

/// An accepted image type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    Png,
    Jpeg,
    Gif,
    Webp,
}

impl ImageKind {
    /// Bytes needed by [`ImageKind::sniff`].
    pub const SNIFF_LEN: usize = 12;
    const ALL: [ImageKind; 4] = [
        ImageKind::Png,
        ImageKind::Jpeg,
        ImageKind::Gif,
        ImageKind::Webp,
    ];

    /// The type from a file's leading bytes (magic numbers); `None` for
    /// anything else, SVG and other text included.
    pub fn sniff(head: &[u8]) -> Option<ImageKind> {
        if head.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(ImageKind::Png)
        } else if head.starts_with(b"\xFF\xD8\xFF") {
            Some(ImageKind::Jpeg)
        } else if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
            Some(ImageKind::Gif)
        } else if head.len() >= 12 && head.starts_with(b"RIFF") && &head[8..12] == b"WEBP" {
            Some(ImageKind::Webp)
        } else {
            None
        }
    }

    pub fn ext(self) -> &'static str {
        match self {
            ImageKind::Png => "png",
            ImageKind::Jpeg => "jpg",
            ImageKind::Gif => "gif",
            ImageKind::Webp => "webp",
        }
    }

    pub fn mime(self) -> &'static str {
        match self {
            ImageKind::Png => "image/png",
            ImageKind::Jpeg => "image/jpeg",
            ImageKind::Gif => "image/gif",
            ImageKind::Webp => "image/webp",
        }
    }

    fn from_ext(ext: &str) -> Option<ImageKind> {
        Self::ALL.into_iter().find(|k| k.ext() == ext)
    }
}

/// A fresh key for an image: `events/<uuid-v4>.<ext>`.
pub fn new_key(kind: ImageKind) -> String {
    format!("{PREFIX}{}.{}", Uuid::new_v4(), kind.ext())
}

/// The image type of a key if it has exactly the shape [`new_key`] makes
/// (lower-case hyphenated UUID v4, known extension); `None` for everything
/// else, so no other path can ever be read.
pub fn parse_key(key: &str) -> Option<ImageKind> {
    let (id, ext) = key.strip_prefix(PREFIX)?.split_once('.')?;
    let uuid = Uuid::try_parse(id).ok()?;
    let canonical = id.len() == 36 && uuid.hyphenated().to_string() == id;
    (canonical && uuid.get_version_num() == 4)
        .then_some(())
        .and(ImageKind::from_ext(ext))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Fs,
    S3,
}

/// The image store shared by the handlers.
#[derive(Clone)]
pub struct Storage {
    op: Operator,
    backend: Backend,
    /// Absolute URL prefix that a key is appended to.
    url_base: String,
}

/// What [`Storage::copy_to`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CopyReport {
    /// Images in the source, all of them now in the target.
    pub images: usize,
    /// How many of them this run copied (the rest were there already).
    pub copied: usize,
    /// Bytes this run copied.
    pub bytes: u64,
}

/// A stored image ready to be streamed.
pub struct StoredImage {
    pub kind: ImageKind,
    pub len: u64,
    /// A validator for `If-None-Match`, quoted.
    pub etag: String,
    /// HTTP-date of the last write, when the backend knows it.
    pub last_modified: Option<String>,
    pub body: opendal::FuturesBytesStream,
}

impl Storage {
    /// Builds the operator from config and proves it works: the fs root can
    /// be written; the S3 bucket exists and the credentials are accepted.
    /// Errors are one line starting with `storage:`.
    pub async fn open(config: &Config) -> anyhow::Result<Storage> {
        match config.storage.backend {
            StorageBackend::S3 => Self::open_s3(config).await,
            StorageBackend::Fs => Self::open_fs(config).await,
        }
    }

    /// The `fs` storage at `storage.root`, whatever `storage.backend` says
    /// (the source of `afisha storage copy`).
    pub async fn open_fs(config: &Config) -> anyhow::Result<Storage> {
        let root = config.media_root();
        let shown = root.display().to_string();
        let fail = |what: &str, e: &dyn std::fmt::Display| {
            anyhow::anyhow!(
                "storage: the fs root {shown} (storage.root) {what}: {}",
                one_line(&e.to_string())
            )
        };
        // Created here rather than by OpenDAL so the error is the OS's words.
        std::fs::create_dir_all(&root).map_err(|e| fail("cannot be created", &e))?;
        let staging = root.join(FS_STAGING_DIR);
        let builder = opendal::services::Fs::default()
            .root(&root.to_string_lossy())
            .atomic_write_dir(&staging.to_string_lossy());
        let op = Operator::new(builder).map_err(|e| fail("cannot be opened", &describe(&e)))?;
        op.write(FS_PROBE, Bytes::from_static(b"ok"))
            .await
            .map_err(|e| fail("is not writable", &describe(&e)))?;
        op.delete(FS_PROBE)
            .await
            .map_err(|e| fail("is not writable", &describe(&e)))?;
        Ok(Storage {
            op,
            backend: Backend::Fs,
            url_base: format!("{}/media", config.public_url()),
        })
    }

    /// The S3 storage of `[storage.s3]`, whatever `storage.backend` says
    /// (the target of `afisha storage copy`).
    pub async fn open_s3(config: &Config) -> anyhow::Result<Storage> {
        // The whole tree uses one TLS crypto provider, `ring` (lettre names
        // it itself). OpenDAL's reqwest transport is built without one (its
        // default would compile aws-lc too), so the process default is set
        // before it builds its client. Both installs are first-wins: calling
        // them again changes nothing.
        crate::outbound::install_crypto_provider();
        opendal::HttpTransporter::install_default(
            opendal_http_transport_reqwest::ReqwestTransport::default(),
        );
        let s3 = &config.storage.s3;
        let endpoint = match &s3.endpoint {
            Some(endpoint) => endpoint.trim_end_matches('/').to_string(),
            None => format!("https://s3.{}.amazonaws.com", s3.region),
        };
        // Validated: required with the s3 backend.
        let bucket = s3.bucket.as_deref().unwrap_or_default();
        let mut builder = opendal::services::S3::default()
            .bucket(bucket)
            .region(&s3.region)
            .endpoint(&endpoint)
            .root("/");
        if let (Some(id), Some(secret)) = (&s3.access_key_id, &s3.secret_access_key) {
            builder = builder.access_key_id(id).secret_access_key(secret);
        }
        let where_ = format!("bucket '{bucket}' at {endpoint}");
        let op = Operator::new(builder).map_err(|e| {
            anyhow::anyhow!(
                "storage: S3 {where_} cannot be configured: {}",
                describe(&e)
            )
        })?;
        // Listing proves the endpoint answers, the bucket exists and the
        // credentials are accepted, without writing anything.
        let probe = async {
            let mut lister = op.lister_with(PREFIX).limit(1).await?;
            futures_util::TryStreamExt::try_next(&mut lister).await?;
            Ok::<_, opendal::Error>(())
        };
        match tokio::time::timeout(CHECK_TIMEOUT, probe).await {
            Err(_) => anyhow::bail!(
                "storage: S3 {where_} did not answer within {}s",
                CHECK_TIMEOUT.as_secs()
            ),
            Ok(Err(e)) => anyhow::bail!(
                "storage: S3 {where_} {} ({})",
                match e.kind() {
                    ErrorKind::NotFound => "does not exist (storage.s3.bucket)",
                    ErrorKind::PermissionDenied =>
                        "refused the credentials (storage.s3.access_key_id / secret_access_key)",
                    _ => "cannot be reached (storage.s3.endpoint)",
                },
                describe(&e)
            ),
            Ok(Ok(())) => {}
        }
        let url_base = match &s3.public_base_url {
            Some(base) => base.trim_end_matches('/').to_string(),
            None => format!("{endpoint}/{bucket}"),
        };
        Ok(Storage {
            op,
            backend: Backend::S3,
            url_base,
        })
    }

    /// The absolute URL clients fetch `key` from.
    pub fn url(&self, key: &str) -> String {
        format!("{}/{key}", self.url_base)
    }

    /// Stores `bytes` under `key` in one write. Any backend failure is a 503,
    /// and whatever may have been written is removed.
    pub async fn put(&self, key: &str, kind: ImageKind, bytes: Bytes) -> DomainResult<()> {
        let written = match self.backend {
            Backend::S3 => {
                self.op
                    .write_with(key, bytes)
                    .content_type(kind.mime())
                    .cache_control(IMMUTABLE)
                    .await
            }
            Backend::Fs => self.op.write(key, bytes).await,
        };
        if let Err(e) = written {
            let _ = self.op.delete(key).await;
            return Err(DomainError::Unavailable(format!(
                "image storage: {}",
                describe(&e)
            )));
        }
        Ok(())
    }

    /// Deletes a stored image; a key that is already gone is not an error.
    pub async fn delete(&self, key: &str) -> DomainResult<()> {
        match self.op.delete(key).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(DomainError::Unavailable(format!(
                "image storage: {}",
                describe(&e)
            ))),
        }
    }

    /// Every stored image key (the shape [`new_key`] makes; anything else
    /// under the prefix is ignored).
    pub async fn keys(&self) -> DomainResult<Vec<String>> {
        let entries =
            self.op.list(PREFIX).await.map_err(|e| {
                DomainError::Unavailable(format!("image storage: {}", describe(&e)))
            })?;
        Ok(entries
            .into_iter()
            .map(|e| e.path().to_string())
            .filter(|k| parse_key(k).is_some())
            .collect())
    }

    /// Copies every image this storage has and `to` lacks (an image is never
    /// rewritten under its key, so one of the same size is the same image),
    /// eight at a time, then checks that `to` holds every key with its
    /// size. Safe to run again: a second run copies only what arrived since.
    pub async fn copy_to(&self, to: &Storage) -> anyhow::Result<CopyReport> {
        use futures_util::{StreamExt, TryStreamExt};
        let keys = self.keys().await?;
        let results: Vec<(u64, bool)> = futures_util::stream::iter(keys.iter())
            .map(|key| async move {
                let len = self.op.stat(key).await?.content_length();
                if let Ok(there) = to.op.stat(key).await
                    && there.content_length() == len
                {
                    return Ok((len, false));
                }
                let kind = parse_key(key).expect("keys() returns parsed keys");
                let bytes = self.op.read(key).await?.to_bytes();
                to.put(key, kind, bytes)
                    .await
                    .map_err(|e| anyhow::anyhow!("{key}: {e}"))?;
                Ok::<_, anyhow::Error>((len, true))
            })
            .buffer_unordered(8)
            .try_collect()
            .await?;
        for key in &keys {
            let here = self.op.stat(key).await?.content_length();
            let there = to.op.stat(key).await.map(|m| m.content_length()).ok();
            anyhow::ensure!(
                there == Some(here),
                "{key}: {here} bytes here, {there:?} in the target after the copy"
            );
        }
        Ok(CopyReport {
            images: keys.len(),
            copied: results.iter().filter(|(_, copied)| *copied).count(),
            bytes: results.iter().filter(|(_, c)| *c).map(|(len, _)| len).sum(),
        })
    }

    /// Whether a stored image exists under `key`.
    pub async fn exists(&self, key: &str) -> DomainResult<bool> {
        self.op
            .exists(key)
            .await
            .map_err(|e| DomainError::Unavailable(format!("image storage: {}", describe(&e))))
    }

    /// Refuses (507) an upload of `len` bytes that would leave less than
    /// `storage.min_free_bytes` free on the data dir's filesystem. Only
    /// uploads that land there are checked: with `storage.root` on another
    /// filesystem, or on S3, images cannot eat the database's reserve.
    pub async fn check_reserve(&self, config: &Config, len: u64) -> DomainResult<()> {
        if self.backend != Backend::Fs || config.storage.min_free_bytes == 0 {
            return Ok(());
        }
        let data_dir = config.data_dir.clone();
        let root = config.media_root();
        let free = tokio::task::spawn_blocking(move || shared_free_bytes(&data_dir, &root))
            .await
            .map_err(DomainError::internal)?
            .map_err(|e| DomainError::Unavailable(format!("free space of the data dir: {e}")))?;
        match free {
            Some(free) if free.saturating_sub(len) < config.storage.min_free_bytes => {
                Err(DomainError::NoSpace(
                    "Not enough free disk space to store the file: the server keeps a reserve \
                     for its database"
                        .into(),
                ))
            }
            _ => Ok(()),
        }
    }

    /// Opens a stored image for `/media`: `None` when the key is not one this
    /// server makes, the file does not exist, or the backend is not `fs`.
    pub async fn open_media(&self, key: &str) -> DomainResult<Option<StoredImage>> {
        let Some(kind) = parse_key(key) else {
            return Ok(None);
        };
        if self.backend != Backend::Fs {
            return Ok(None);
        }
        let unavailable = |e: opendal::Error| DomainError::Unavailable(describe(&e));
        let meta = match self.op.stat(key).await {
            Ok(meta) if meta.is_file() => meta,
            Ok(_) => return Ok(None),
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(unavailable(e)),
        };
        let len = meta.content_length();
        let modified = meta.last_modified();
        let stamp = modified.map_or(0, |t| t.into_inner().as_microsecond());
        let body = self
            .op
            .reader(key)
            .await
            .map_err(unavailable)?
            .into_bytes_stream(0..len)
            .await
            .map_err(unavailable)?;
        Ok(Some(StoredImage {
            kind,
            len,
            etag: format!("\"{len:x}-{stamp:x}\""),
            last_modified: modified.map(|t| t.format_http_date()),
            body,
        }))
    }
}

/// The bytes available to this process on the filesystem of `data_dir`,
/// when `root` lives on that same filesystem; `None` when it does not.
fn shared_free_bytes(data_dir: &Path, root: &Path) -> std::io::Result<Option<u64>> {
    use std::os::unix::fs::MetadataExt;
    if std::fs::metadata(data_dir)?.dev() != std::fs::metadata(root)?.dev() {
        return Ok(None);
    }
    free_bytes(data_dir).map(Some)
}

/// Free bytes for unprivileged users on the filesystem holding `path`
/// (`statvfs`).
pub fn free_bytes(path: &Path) -> std::io::Result<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let mut stat = std::mem::MaybeUninit::<libc::statvfs>::zeroed();
    // SAFETY: `c_path` is a valid NUL-terminated string and `stat` points to
    // writable memory of the right type; statvfs writes only into it.
    let rc = unsafe { libc::statvfs(c_path.as_ptr(), stat.as_mut_ptr()) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: statvfs returned 0, so it filled the struct.
    let stat = unsafe { stat.assume_init() };
    #[allow(clippy::unnecessary_cast)] // the field types differ by platform
    Ok((stat.f_bavail as u64).saturating_mul(stat.f_frsize as u64))
}

/// An OpenDAL error as one line: what failed and the innermost cause (for a
/// network error, e.g. "Connection refused").
fn describe(e: &opendal::Error) -> String {
    let mut text = format!("{}: {}", e.kind(), e.message());
    let mut source = std::error::Error::source(e);
    let mut last = None;
    while let Some(s) = source {
        last = Some(s.to_string());
        source = s.source();
    }
    if let Some(cause) = last {
        text.push_str(": ");
        text.push_str(&cause);
    }
    one_line(&text)
}

/// Collapses whitespace (S3 error bodies are multi-line XML) and bounds the
/// length, so a start-up failure stays one readable line.
fn one_line(text: &str) -> String {
    let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match joined.char_indices().nth(400) {
        Some((cut, _)) => format!("{}…", &joined[..cut]),
        None => joined,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_magic_numbers() {
        assert_eq!(
            ImageKind::sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"),
            Some(ImageKind::Png)
        );
        assert_eq!(
            ImageKind::sniff(b"\xFF\xD8\xFF\xE0\0\x10JFIF"),
            Some(ImageKind::Jpeg)
        );
        assert_eq!(ImageKind::sniff(b"GIF89a\x01\0"), Some(ImageKind::Gif));
        assert_eq!(ImageKind::sniff(b"GIF87a\x01\0"), Some(ImageKind::Gif));
        assert_eq!(
            ImageKind::sniff(b"RIFF\x1e\0\0\0WEBPVP8L"),
            Some(ImageKind::Webp)
        );
        for other in [
            &b""[..],
            b"\x89PNG",
            b"RIFF\x1e\0\0\0WAVEfmt ",
            b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>",
            b"<?xml version=\"1.0\"?><svg/>",
            b"GIF90a",
            b"plain text",
        ] {
            assert_eq!(ImageKind::sniff(other), None, "{other:?}");
        }
    }

    #[test]
    fn keys_round_trip_and_nothing_else_parses() {
        for kind in ImageKind::ALL {
            let key = new_key(kind);
            assert_eq!(parse_key(&key), Some(kind), "{key}");
        }
        let id = Uuid::new_v4();
        let upper = id.hyphenated().to_string().to_uppercase();
        for bad in [
            String::new(),
            "events/".into(),
            format!("events/{id}"),
            format!("events/{id}.svg"),
            format!("events/{id}.png.png"),
            format!("events/{upper}.png"),
            format!("events/{}.png", id.simple()),
            format!("other/{id}.png"),
            format!("/events/{id}.png"),
            format!("events/../{id}.png"),
            format!("events\\{id}.png"),
            "events/00000000-0000-0000-0000-000000000000.png".into(),
            "../afisha.db".into(),
        ] {
            assert_eq!(parse_key(&bad), None, "{bad}");
        }
    }

    #[test]
    fn free_bytes_reads_the_filesystem() {
        let dir = tempfile::tempdir().unwrap();
        assert!(free_bytes(dir.path()).unwrap() > 0);
        assert!(free_bytes(&dir.path().join("missing")).is_err());
        assert!(shared_free_bytes(dir.path(), dir.path()).unwrap().is_some());
    }

    #[test]
    fn one_line_collapses_and_bounds() {
        assert_eq!(one_line("a\n  b\r\n\tc"), "a b c");
        assert!(one_line(&"x ".repeat(1000)).chars().count() <= 401);
    }
}
