//! The hourly clean-up of rows nobody can use any more.

use std::fmt;

use chrono::Duration;

use crate::domain::error::DomainResult;
use crate::domain::time::Ts;
use crate::service::Services;
use crate::store::jobs::SweepBefore;
pub use crate::store::jobs::Swept;

pub use crate::domain::account::TOKEN_LIFETIME;
/// Expired, unused recovery tokens are kept this much longer, so that a late
/// click still answers "Recovery token expired" rather than "Invalid
/// recovery token".
pub const EXPIRED_RECOVERY_GRACE: Duration = Duration::days(7);

impl Swept {
    pub fn total(&self) -> usize {
        self.registrations + self.recoveries + self.sessions + self.jobs + self.images + self.audit
    }
}

impl fmt::Display for Swept {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} registration(s), {} recovery token(s), {} session(s), {} done job(s), \
             {} unused image(s), {} audit entry(ies) deleted",
            self.registrations, self.recoveries, self.sessions, self.jobs, self.images, self.audit
        )
    }
}

/// Deletes, as of the clock's now: registrations older than 24 h (pending
/// ones have expired, used ones are spent), used recovery tokens and expired
/// ones past the grace period, sessions idle longer than
/// `auth.session_ttl_days`, done jobs older than `jobs.retention_days`, and
/// uploaded images no event references after `storage.orphan_grace_hours`,
/// rate-limit states that have lapsed, audit entries older than
/// `audit.retention_days`, and finished webhook deliveries older than
/// `webhooks.log_retention_days`.
/// Failed jobs stay until retried.
pub async fn run(svc: &Services) -> DomainResult<Swept> {
    let now = svc.now();
    let before = |d: Duration| Ts(now.0 - d);
    let sweep = SweepBefore {
        registrations: before(TOKEN_LIFETIME),
        recoveries: before(TOKEN_LIFETIME + EXPIRED_RECOVERY_GRACE),
        sessions: before(Duration::days(svc.config.auth.session_ttl_days)),
        done_jobs: before(Duration::days(svc.config.jobs.retention_days)),
    };
    let inner = svc.clone();
    let deliveries_before = before(Duration::days(svc.config.webhooks.log_retention_days));
    let (mut swept, deliveries) = svc
        .store
        .write(move |tx| {
            let mut swept = tx.sweep(&sweep)?;
            // Lapsed rate-limit states (not reported: they are not data).
            tx.sweep_limits(now)?;
            swept.audit = crate::service::audit::sweep(&inner, tx, now)?;
            let deliveries = tx.sweep_webhook_deliveries(deliveries_before)?;
            Ok((swept, deliveries))
        })
        .await?;
    if deliveries > 0 {
        tracing::info!("clean-up: {deliveries} old webhook deliveries deleted");
    }
    // Image storage being away must not hide the rows swept above.
    match crate::service::images::delete_orphans(svc).await {
        Ok(n) => swept.images = n,
        Err(e) => tracing::error!("clean-up of unused images failed: {e}"),
    }
    Ok(swept)
}
