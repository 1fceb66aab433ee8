//! Scheduled backups: when the schedule says so, an online copy of the
//! database (SQLite's backup API, checked, then renamed into place), the
//! images of `fs` storage hard-linked (or copied) next to it, and the
//! oldest copies beyond `backup.keep` deleted. Runs on a blocking thread;
//! the backup API reads through its own connection and never takes the
//! writer lock. The outcome is recorded for administrators and counted in
//! the metrics.

use std::path::{Path, PathBuf};

use crate::domain::backup::{self, Schedule};
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::time::Ts;
use crate::service::Services;
use crate::store::Store;

/// A backup in the backup directory.
#[derive(Debug, Clone, PartialEq)]
pub struct Backup {
    pub file_name: String,
    /// When it was taken (from its name).
    pub taken_at: Ts,
    /// The database copy's size in bytes.
    pub size_bytes: u64,
    /// Images kept alongside (none on S3 storage).
    pub images: u64,
}

/// What administrators see of the scheduled backups.
#[derive(Debug, Clone)]
pub struct Overview {
    pub schedule: String,
    pub dir: PathBuf,
    pub keep: usize,
    /// The next scheduled run; `None` when off or not started yet.
    pub next_at: Option<Ts>,
    pub last_success_at: Option<Ts>,
    /// The last failure and its reason, until a later run succeeds.
    pub last_failure: Option<(Ts, String)>,
    /// Newest first.
    pub backups: Vec<Backup>,
}

fn schedule(svc: &Services) -> Schedule {
    // Validated with the configuration.
    Schedule::parse(svc.config.backup.schedule.as_deref().unwrap_or_default())
        .unwrap_or(Schedule::Off)
}

fn next_from(svc: &Services, armed_at: Option<Ts>, last_run_at: Option<Ts>) -> Option<Ts> {
    let since = last_run_at.or(armed_at)?;
    schedule(svc).next_after(since, &svc.config.timezone())
}

/// Called by the scheduler when it starts: notes the schedule (the first
/// run is the next scheduled moment after this) and returns the next run.
/// A run missed while the server was down is due at once.
pub async fn arm(svc: &Services) -> DomainResult<Option<Ts>> {
    if matches!(schedule(svc), Schedule::Off) {
        return Ok(None);
    }
    let now = svc.now();
    let status = svc.store.write(move |tx| tx.backup_arm(now)).await?;
    Ok(next_from(svc, status.armed_at, status.last_run_at))
}

/// The next scheduled moment after `now` (the scheduler's next wake-up
/// once a run has started at `now`).
pub fn next_after(svc: &Services, now: Ts) -> Option<Ts> {
    schedule(svc).next_after(now, &svc.config.timezone())
}

/// Takes a scheduled backup now and records the outcome; the error is also
/// logged and counted. Returns the new backup.
pub async fn run_scheduled(svc: &Services) -> DomainResult<Backup> {
    let started = svc.now();
    let (config, store) = (svc.config.clone(), svc.store.clone());
    let taken = tokio::task::spawn_blocking(move || take(&config, &store, started))
        .await
        .map_err(|e| DomainError::internal(format!("backup task: {e}")))
        .and_then(|r| r.map_err(|e| DomainError::internal(format!("{e:#}"))));
    let finished = svc.now();
    let outcome = match &taken {
        Ok(b) => {
            svc.metrics.backup_done();
            tracing::info!(
                file = %b.file_name,
                size_bytes = b.size_bytes,
                images = b.images,
                "scheduled backup done"
            );
            Ok(())
        }
        Err(e) => {
            svc.metrics.backup_failed();
            tracing::error!("scheduled backup failed: {e}");
            Err(e.to_string())
        }
    };
    svc.store
        .write(move |tx| {
            tx.backup_record(
                started,
                finished,
                outcome.as_ref().map(|_| ()).map_err(String::as_str),
            )
        })
        .await?;
    taken
}

/// The schedule, the backups in the directory and the last outcome.
pub async fn overview(svc: &Services) -> DomainResult<Overview> {
    let status = svc.store.read(|tx| tx.backup_status()).await?;
    let dir = svc.config.backup_dir();
    let listed = {
        let dir = dir.clone();
        tokio::task::spawn_blocking(move || list(&dir))
            .await
            .map_err(|e| DomainError::internal(format!("listing backups: {e}")))?
            .map_err(|e| DomainError::internal(format!("listing backups: {e:#}")))?
    };
    Ok(Overview {
        schedule: svc
            .config
            .backup
            .schedule
            .as_deref()
            .unwrap_or_default()
            .trim()
            .to_string(),
        keep: svc.config.backup.keep,
        next_at: next_from(svc, status.armed_at, status.last_run_at),
        last_success_at: status.last_success_at,
        last_failure: status.last_failure,
        backups: listed,
        dir,
    })
}

/// Blocking: the copy, the images, the retention.
fn take(config: &crate::config::Config, store: &Store, now: Ts) -> anyhow::Result<Backup> {
    use anyhow::Context;
    let dir = config.backup_dir();
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create the backup directory {}", dir.display()))?;
    let file_name = backup::file_name(now);
    let target = dir.join(&file_name);
    let size_bytes = store.backup_to(&target)?;
    let mut images = 0;
    if config.storage.backend == crate::config::StorageBackend::Fs {
        let media = dir.join(backup::media_name(&file_name));
        match copy_tree(&config.media_root(), &media) {
            Ok(n) => images = n,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&media);
                let _ = std::fs::remove_file(&target);
                return Err(e.context("copying the images"));
            }
        }
    }
    prune(&dir, config.backup.keep)?;
    Ok(Backup {
        file_name,
        taken_at: now,
        size_bytes,
        images,
    })
}

/// Hard-links (or, across file systems, copies) every file under `from`
/// into `to`; images are never changed in place, so a link is a copy.
/// Skips storage's staging directory. Returns the number of files.
fn copy_tree(from: &Path, to: &Path) -> anyhow::Result<u64> {
    use anyhow::Context;
    std::fs::create_dir_all(to).with_context(|| format!("cannot create {}", to.display()))?;
    if !from.exists() {
        return Ok(0);
    }
    let mut count = 0;
    for entry in
        std::fs::read_dir(from).with_context(|| format!("cannot read {}", from.display()))?
    {
        let entry = entry?;
        let name = entry.file_name();
        if name == ".staging" {
            continue;
        }
        let (src, dst) = (entry.path(), to.join(&name));
        let kind = entry.file_type()?;
        if kind.is_dir() {
            count += copy_tree(&src, &dst)?;
        } else if kind.is_file() {
            if std::fs::hard_link(&src, &dst).is_err() {
                std::fs::copy(&src, &dst).with_context(|| {
                    format!("cannot copy {} to {}", src.display(), dst.display())
                })?;
            }
            count += 1;
        }
    }
    Ok(count)
}

/// The scheduled backups in `dir`, newest first.
fn list(dir: &Path) -> anyhow::Result<Vec<Backup>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        // Not readable (a failing target): no backups to show; the failure
        // itself is recorded by the run.
        Err(e) => {
            tracing::warn!("cannot read the backup directory {}: {e}", dir.display());
            return Ok(Vec::new());
        }
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(taken_at) = backup::parse_file_name(&name) else {
            continue;
        };
        let media = dir.join(backup::media_name(&name));
        out.push(Backup {
            size_bytes: entry.metadata()?.len(),
            images: count_files(&media),
            file_name: name,
            taken_at,
        });
    }
    out.sort_by_key(|b| std::cmp::Reverse(b.taken_at));
    Ok(out)
}

fn count_files(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => count_files(&e.path()),
            Ok(t) if t.is_file() => 1,
            _ => 0,
        })
        .sum()
}

/// Deletes the scheduled backups (and their images) beyond the `keep`
/// newest.
fn prune(dir: &Path, keep: usize) -> anyhow::Result<()> {
    use anyhow::Context;
    // Copies a crash left half-written.
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(stem) = name.strip_suffix(".partial")
                && backup::parse_file_name(stem).is_some()
            {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    let times = list(dir)?.into_iter().map(|b| b.taken_at).collect();
    for old in backup::beyond_keep(times, keep) {
        let name = backup::file_name(old);
        let media = dir.join(backup::media_name(&name));
        if media.exists() {
            std::fs::remove_dir_all(&media)
                .with_context(|| format!("cannot delete {}", media.display()))?;
        }
        std::fs::remove_file(dir.join(&name))
            .with_context(|| format!("cannot delete {}", dir.join(&name).display()))?;
    }
    Ok(())
}
