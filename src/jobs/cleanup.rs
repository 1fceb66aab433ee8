//! The hourly clean-up of rows nobody can use any more.

use std::fmt;

use chrono::Duration;
use rusqlite::params;

use crate::domain::time::Ts;
use crate::http::error::AppResult;
use crate::state::AppState;

/// Registrations and recovery tokens are valid this long (API.md).
pub use crate::domain::account::TOKEN_LIFETIME;
/// Expired, unused recovery tokens are kept this much longer, so that a late
/// click still answers "Recovery token expired" rather than "Invalid
/// recovery token".
pub const EXPIRED_RECOVERY_GRACE: Duration = Duration::days(7);

/// How many rows one run deleted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    pub registrations: usize,
    pub recoveries: usize,
    pub sessions: usize,
    pub jobs: usize,
}

impl Swept {
    pub fn total(&self) -> usize {
        self.registrations + self.recoveries + self.sessions + self.jobs
    }
}

impl fmt::Display for Swept {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} registration(s), {} recovery token(s), {} session(s), {} done job(s) deleted",
            self.registrations, self.recoveries, self.sessions, self.jobs
        )
    }
}

/// Deletes, as of the clock's now: registrations older than 24 h (pending
/// ones have expired, used ones are spent), used recovery tokens and expired
/// ones past the grace period, sessions idle longer than
/// `auth.session_ttl_days`, and done jobs older than `jobs.retention_days`.
/// Failed jobs stay until retried.
pub async fn run(state: &AppState) -> AppResult<Swept> {
    let now = state.now();
    let session_ttl = Duration::days(state.config.auth.session_ttl_days);
    let retention = Duration::days(state.config.jobs.retention_days);
    state
        .db
        .write(move |tx| {
            let before = |d: Duration| Ts(now.0 - d);
            Ok(Swept {
                registrations: tx.execute(
                    "DELETE FROM issued_registration WHERE created_at < ?1",
                    [before(TOKEN_LIFETIME)],
                )?,
                recoveries: tx.execute(
                    "DELETE FROM issued_login_recovery WHERE used_at IS NOT NULL OR created_at < ?1",
                    [before(TOKEN_LIFETIME + EXPIRED_RECOVERY_GRACE)],
                )?,
                sessions: tx.execute(
                    "DELETE FROM login_session WHERE last_seen_at <= ?1",
                    [before(session_ttl)],
                )?,
                jobs: tx.execute(
                    "DELETE FROM job WHERE done_at IS NOT NULL AND done_at < ?1",
                    params![before(retention)],
                )?,
            })
        })
        .await
}
