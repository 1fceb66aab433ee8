//! The audit log: [`record`] appends an entry inside the transaction of the
//! action it describes (so an action that rolls back leaves no entry, and
//! one that commits always has its entry); administrators list and export
//! entries; the hourly clean-up applies `audit.retention_days`.

use chrono::Duration;

use crate::domain::audit::NewEntry;
pub use crate::domain::audit::{Action, Actor, Changes, Entry, Filter, Target, TargetType};
use crate::domain::error::DomainResult;
use crate::domain::time::Ts;
use crate::service::Services;
use crate::store::Tx;

/// Appends one entry, as of the clock's now, in the caller's transaction.
pub fn record(
    svc: &Services,
    tx: &mut dyn Tx,
    actor: &Actor,
    action: Action,
    target: Target,
    changes: Changes,
) -> DomainResult<()> {
    tx.insert_audit(&NewEntry {
        at: svc.now(),
        actor: actor.clone(),
        action,
        target,
        changes: changes.to_json(),
    })?;
    Ok(())
}

/// [`record`] in a transaction of its own, for actions that write nothing
/// else (a test email, a refused sign-in).
pub async fn record_alone(
    svc: &Services,
    actor: Actor,
    action: Action,
    target: Target,
    changes: Changes,
) -> DomainResult<()> {
    let inner = svc.clone();
    svc.store
        .write(move |tx| record(&inner, tx, &actor, action, target, changes))
        .await
}

/// A page of entries (newest first) and how many match in all.
#[derive(Debug, Clone)]
pub struct Page {
    pub entries: Vec<Entry>,
    pub total: i64,
}

/// Entries matching `filter`, newest first, with the total count.
pub async fn list(svc: &Services, filter: Filter) -> DomainResult<Page> {
    svc.store
        .read(move |tx| {
            Ok(Page {
                total: tx.count_audit(&filter)?,
                entries: tx.audit_entries(&filter)?,
            })
        })
        .await
}

/// Deletes entries past `audit.retention_days` (the hourly clean-up calls
/// this inside its transaction); how many.
pub fn sweep(svc: &Services, tx: &mut dyn Tx, now: Ts) -> DomainResult<usize> {
    let days = svc.config.audit.retention_days;
    tx.delete_audit_before(Ts(now.0 - Duration::days(days)))
}
