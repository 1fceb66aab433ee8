//! Group commit: one thread runs the queued async writes, many per
//! transaction.
//!
//! Every request that writes sends its closure here instead of taking a
//! blocking thread and queueing on the writer lock. The thread takes what is
//! waiting (up to [`MAX_BATCH`]), opens one `BEGIN IMMEDIATE` transaction,
//! runs each closure inside its own savepoint — a closure that fails is
//! rolled back to its savepoint and answers its own error, the others are
//! unaffected — and commits once. Every caller hears its result only after
//! that commit, so an `Ok` always means "durable as far as SQLite's
//! `synchronous = NORMAL` promises", exactly as with one transaction each.
//!
//! What this saves under load: one commit (WAL append) per batch instead of
//! per request, and no pile of blocking threads contending for a mutex.
//! Blocking callers (CLI, job workers) keep the direct path and take the
//! same writer lock, so writes stay serialised.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, TryRecvError};
use std::time::Instant;

use rusqlite::TransactionBehavior;

use super::{DOMAIN_CHANGED, Shared, TIMED_OUT, Write};
use crate::domain::error::{DomainError, DomainResult};
use crate::store::Waits;

/// The most writes one transaction takes (bounds how long one batch holds
/// the lock and how much one failed commit can take down with it).
pub const MAX_BATCH: usize = 64;

/// A queued write, type-erased: given the batch's transaction it runs and
/// says whether its changes are to be kept; given `None` it is not run and
/// only prepares its answer (the batch failed before its turn).
pub type Queued = Box<dyn FnOnce(Option<&Write>) -> Ran + Send>;

/// Answers a queued write's caller, given the batch's error if it failed.
type Deliver = Box<dyn FnOnce(Option<&DomainError>) + Send>;

/// What a queued write did.
pub struct Ran {
    /// `false`: roll its savepoint back (it failed or its deadline passed).
    keep: bool,
    /// Delivers the caller's answer once the batch's fate is known: `None`
    /// when the batch committed, the batch's error otherwise (a write that
    /// failed on its own ignores it and answers its own error).
    deliver: Deliver,
}

/// Wraps `f` for the queue; its answer goes to `answer`. The time from now
/// until `f` starts (behind the queue, the writer lock and the writes run
/// before it in its batch) is recorded in `waits` as the write's wait.
pub fn queue<T, F>(
    f: F,
    deadline: Option<Instant>,
    waits: Waits,
    answer: impl FnOnce(DomainResult<T>) + Send + 'static,
) -> Queued
where
    T: Send + 'static,
    F: FnOnce(&Write) -> DomainResult<T> + Send + 'static,
{
    let queued = Instant::now();
    Box::new(move |write: Option<&Write>| {
        let Some(write) = write else {
            return Ran {
                keep: false,
                deliver: Box::new(move |failed| {
                    answer(Err(failed.map_or_else(
                        || DomainError::internal("queued write not run"),
                        copy_of,
                    )))
                }),
            };
        };
        waits.write(queued);
        let late = || DomainError::Unavailable(TIMED_OUT.into());
        let outcome = if crate::deadline::passed(deadline) {
            Err(late())
        } else {
            match f(write) {
                // The request already answered 503: nothing of it may stay.
                Ok(_) if crate::deadline::passed(deadline) => Err(late()),
                other => other,
            }
        };
        match outcome {
            Ok(value) => Ran {
                keep: true,
                deliver: Box::new(move |failed| {
                    answer(match failed {
                        None => Ok(value),
                        Some(e) => Err(copy_of(e)),
                    })
                }),
            },
            Err(e) => Ran {
                keep: false,
                deliver: Box::new(move |_| answer(Err(e))),
            },
        }
    })
}

/// The writer thread's loop; ends when every sender is gone.
pub fn run(shared: Arc<Shared>, queue: Receiver<Queued>) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(next) => batch.push(next),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
        let mut pending = batch.into_iter();
        // A batch whose transaction SQLite aborted under it (disk full, I/O
        // error) answers those already run and starts again with the rest.
        while pending.len() > 0 {
            run_batch(&shared, &mut pending);
        }
    }
}

/// Runs writes from `pending` in one transaction until it is empty or the
/// transaction is lost, then commits and answers them.
fn run_batch(shared: &Shared, pending: &mut std::vec::IntoIter<Queued>) {
    let mut conn = match shared.connection() {
        Ok(conn) => conn,
        Err(e) => return fail_all(pending, &DomainError::from(e)),
    };
    let mut ran: Vec<Ran> = Vec::with_capacity(pending.len());
    let committed = {
        let _guard = shared.writer.lock().unwrap_or_else(|p| p.into_inner());
        DOMAIN_CHANGED.with(|c| c.set(false));
        let tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
            Ok(tx) => tx,
            Err(e) => return fail_all(pending, &DomainError::from(e)),
        };
        let write = Write {
            tx,
            enqueued: std::cell::Cell::new(false),
        };
        let mut lost = None;
        for job in pending.by_ref() {
            if let Err(e) = write.tx.execute_batch("SAVEPOINT queued_write") {
                lost = Some(DomainError::from(e));
                // Not run: answered with the batch's error below.
                ran.push(job(None));
                break;
            }
            // A panicking write drops its answer channel (its caller gets an
            // internal error) and is rolled back like a failed one.
            let outcome = catch_unwind(AssertUnwindSafe(|| job(Some(&write))));
            let keep = matches!(&outcome, Ok(r) if r.keep);
            let end = if keep {
                "RELEASE queued_write"
            } else {
                "ROLLBACK TO queued_write; RELEASE queued_write"
            };
            if let Ok(r) = outcome {
                ran.push(r);
            }
            if write.tx.is_autocommit() || write.tx.execute_batch(end).is_err() {
                lost = Some(DomainError::Unavailable(
                    "the database aborted the transaction".into(),
                ));
                break;
            }
        }
        let enqueued = write.enqueued.get();
        let result = match lost {
            Some(e) => Err(e),
            None => write.tx.commit().map_err(DomainError::from),
        };
        if result.is_ok() && DOMAIN_CHANGED.with(|c| c.replace(false)) {
            shared
                .generation
                .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        }
        if result.is_ok() && enqueued {
            shared.jobs_enqueued.notify_one();
        }
        result
    };
    let failed = committed.err();
    for r in ran {
        (r.deliver)(failed.as_ref());
    }
}

/// Answers every write in `pending` with (a copy of) `e` without running it.
fn fail_all(pending: &mut std::vec::IntoIter<Queued>, e: &DomainError) {
    for job in pending.by_ref() {
        (job(None).deliver)(Some(e));
    }
}

/// The same failure for another caller of the batch.
fn copy_of(e: &DomainError) -> DomainError {
    match e {
        DomainError::Unavailable(m) => DomainError::Unavailable(m.clone()),
        other => DomainError::internal(other),
    }
}
