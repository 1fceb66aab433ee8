//! Consistent online backups with SQLite's backup API, restore into a
//! stopped data dir, and the data-dir lock that tells the two apart.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use rusqlite::{Connection, OpenFlags};

/// Held by `afisha serve` for its lifetime: at most one server per data dir,
/// and `restore` refuses to run while it is held.
pub struct DataDirLock {
    _file: File,
}

fn lock_path(data_dir: &Path) -> PathBuf {
    data_dir.join("afisha.lock")
}

impl DataDirLock {
    pub fn acquire(data_dir: &Path) -> anyhow::Result<DataDirLock> {
        crate::secrets::create_private_dir(data_dir)
            .with_context(|| format!("cannot create data directory {}", data_dir.display()))?;
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(lock_path(data_dir))
            .with_context(|| format!("cannot open {}", lock_path(data_dir).display()))?;
        match file.try_lock() {
            Ok(()) => Ok(DataDirLock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => bail!(
                "another afisha process is using the data directory {}",
                data_dir.display()
            ),
            Err(std::fs::TryLockError::Error(e)) => {
                Err(e).with_context(|| format!("cannot lock {}", lock_path(data_dir).display()))
            }
        }
    }
}

/// Copies the live database to `target` page by page while others keep
/// writing, then checks the copy. Returns the copy's size in bytes.
pub fn backup(database: &Path, target: &Path) -> anyhow::Result<u64> {
    if !database.exists() {
        bail!("no database at {}", database.display());
    }
    let source = Connection::open_with_flags(
        database,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .with_context(|| format!("cannot open {}", database.display()))?;
    source.busy_timeout(Duration::from_secs(10))?;
    let partial = partial_name(target);
    let _ = std::fs::remove_file(&partial);
    // The copy is as private as the database: created 0600 before any data.
    {
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        options
            .open(&partial)
            .with_context(|| format!("cannot create {}", partial.display()))?;
    }
    {
        let mut copy = Connection::open(&partial)
            .with_context(|| format!("cannot create {}", partial.display()))?;
        let step = rusqlite::backup::Backup::new(&source, &mut copy)?;
        step.run_to_completion(256, Duration::from_millis(5), None)?;
        drop(step);
        // The copy inherits WAL mode; a one-file copy leaves no -wal/-shm
        // behind under the `.partial` name.
        copy.pragma_update(None, "journal_mode", "DELETE")?;
    }
    check(&partial)?;
    std::fs::rename(&partial, target)
        .with_context(|| format!("cannot move the copy to {}", target.display()))?;
    Ok(std::fs::metadata(target)?.len())
}

fn partial_name(target: &Path) -> PathBuf {
    let mut name = target.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}

/// `PRAGMA integrity_check` and the presence of Afisha's schema.
pub fn check(file: &Path) -> anyhow::Result<()> {
    let conn = Connection::open_with_flags(file, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .with_context(|| format!("cannot open {}", file.display()))?;
    let verdict: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .with_context(|| format!("{} is not an SQLite database", file.display()))?;
    if verdict != "ok" {
        bail!("{} failed the integrity check: {verdict}", file.display());
    }
    let has_schema: bool = conn.query_row(
        "SELECT count(*) = 2 FROM sqlite_master WHERE type = 'table' AND name IN ('user', 'event')",
        [],
        |r| r.get(0),
    )?;
    if !has_schema {
        bail!("{} is not an Afisha database", file.display());
    }
    Ok(())
}

/// Replaces the database of a stopped data dir with `file`.
pub fn restore(file: &Path, data_dir: &Path, database: &Path, force: bool) -> anyhow::Result<()> {
    check(file)?;
    let _lock = DataDirLock::acquire(data_dir)
        .context("stop the server before restoring (the data directory is in use)")?;
    if database.exists() && !force {
        bail!(
            "{} exists; pass --force to replace it (make a backup of it first)",
            database.display()
        );
    }
    let staged = partial_name(database);
    std::fs::copy(file, &staged)
        .with_context(|| format!("cannot copy {} into {}", file.display(), data_dir.display()))?;
    for suffix in ["-wal", "-shm"] {
        let mut side = database.as_os_str().to_owned();
        side.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(side));
    }
    std::fs::rename(&staged, database)?;
    Ok(())
}
