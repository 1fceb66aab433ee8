use clap::Parser;

fn main() {
    private_files();
    tune_allocator();
    let cli = afisha::cli::Cli::parse();
    if let Err(failure) = afisha::cli::run(cli) {
        eprintln!("afisha: {}", failure.message);
        std::process::exit(failure.code);
    }
}

/// glibc raises its mmap threshold after large frees, so every Argon2
/// working buffer (19 MiB by default) would stay resident in one of many
/// per-thread arenas: a login flood grew the process past 1 GiB. A fixed
/// threshold sends such buffers straight back to the system after use, and
/// fewer arenas keep small-allocation fragmentation bounded.
fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only adjusts allocator parameters; called before any
    // thread is started.
    unsafe {
        // Above response-body sizes (a full cards list is ~250 KB), below
        // Argon2's working memory.
        libc::mallopt(libc::M_MMAP_THRESHOLD, 4 * 1024 * 1024);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 8 * 1024 * 1024);
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// Everything the process creates (data dir, database, WAL, backups, keys,
/// uploads) is the owner's only: directories 0700, files 0600.
fn private_files() {
    #[cfg(unix)]
    // SAFETY: umask only changes the process's file-creation mask.
    unsafe {
        libc::umask(0o077);
    }
}
