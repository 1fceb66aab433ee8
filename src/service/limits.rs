//! Rate limits and login guards, counted in the database (`rate_limit`) so
//! that every instance on one database enforces the same limit: five wrong
//! passwords are five whether they arrived through one instance or several.
//!
//! One code path for both backends. With SQLite (one process) an in-memory
//! table would be exact too, but two implementations of the same rules
//! would be tested half as much; the price is one small write transaction
//! per limited attempt, on routes that already cost an Argon2 hash or an
//! email (never on a read path). Each check is one write transaction that
//! reads the key's state (locked on PostgreSQL), applies the rule of
//! [`crate::domain::limits`] and stores the result, so concurrent attempts
//! through different instances take turns on the key's row. Keys are
//! stored as their SHA-256, so attempted addresses are not kept in clear;
//! lapsed rows are deleted by the hourly clean-up.
//!
//! What stays per instance, by design: the hashing budget
//! (`auth.hash_queue`, `auth.hash_per_client`, `auth::password`) protects
//! this process's CPU and counts what is in flight here; the open
//! connections per client (`server.max_connections_per_ip`) are this
//! process's sockets.

use chrono::Duration;

use crate::domain::error::DomainResult;
use crate::domain::limits::{LimitState, Ticket, Verdict};
use crate::secrets::token_digest;
use crate::service::Services;

/// How a key is stored: its lower-cased text's SHA-256.
fn stored_key(key: &str) -> String {
    token_digest(&key.to_lowercase())
}

/// Applies `rule` to the state of `key` in one write transaction and
/// stores the new state (refusals are committed too: a backoff counts
/// them).
async fn apply<T: Send + 'static>(
    svc: &Services,
    key: &str,
    rule: impl FnOnce(&mut LimitState, crate::domain::time::Ts) -> T + Send + 'static,
) -> DomainResult<T> {
    let key = stored_key(key);
    let inner = svc.clone();
    svc.store
        .write(move |tx| {
            let mut state = tx.limit_for_update(&key)?;
            let before = state;
            let answer = rule(&mut state, inner.now());
            if state != before {
                tx.put_limit(&key, &state)?;
            }
            Ok(answer)
        })
        .await
}

/// Counts an attempt on a backoff key (`registration:`, `verification:`,
/// `recovery:`) and says whether it may proceed.
pub async fn attempt(svc: &Services, key: &str) -> DomainResult<Verdict> {
    apply(svc, key, |state, now| state.attempt(now)).await
}

/// Counts one action on `key` in a fixed window of `period` (see
/// [`LimitState::window`]).
pub async fn window(
    svc: &Services,
    key: &str,
    max: u32,
    period: Duration,
) -> DomainResult<Verdict> {
    apply(svc, key, move |state, now| state.window(now, max, period)).await
}

/// Reserves one guess on a guess-guard key (`login:<email>`,
/// `password:<user id>`), or refuses it with the seconds left in the
/// window.
pub async fn reserve_guess(svc: &Services, key: &str) -> DomainResult<Result<Guess, u64>> {
    let ticket = apply(svc, key, |state, now| state.reserve_guess(now)).await?;
    Ok(ticket.map(|ticket| Guess {
        svc: svc.clone(),
        key: key.to_string(),
        ticket,
        resolved: false,
    }))
}

/// A reserved guess; resolve it with [`Guess::failed`] or
/// [`Guess::succeeded`]. Dropped unresolved (the request was cancelled) it
/// is counted as failed.
#[must_use]
pub struct Guess {
    svc: Services,
    key: String,
    ticket: Ticket,
    resolved: bool,
}

async fn resolve(svc: &Services, key: &str, ticket: Ticket, succeeded: bool) -> DomainResult<()> {
    let key = stored_key(key);
    let inner = svc.clone();
    svc.store
        .write(move |tx| {
            let mut state = tx.limit_for_update(&key)?;
            if !state.live(inner.now()) {
                // Lapsed or reset meanwhile: nothing to count against.
                return Ok(());
            }
            if state.resolve_guess(ticket, succeeded) {
                tx.put_limit(&key, &state)
            } else {
                tx.delete_limit(&key)
            }
        })
        .await
}

impl Guess {
    /// The password was wrong: the slot stays spent until the window ends.
    pub async fn failed(mut self) -> DomainResult<()> {
        self.resolved = true;
        resolve(&self.svc, &self.key, self.ticket, false).await
    }

    /// The password was right: the count resets unless another guess
    /// overlapped this one.
    pub async fn succeeded(mut self) -> DomainResult<()> {
        self.resolved = true;
        resolve(&self.svc, &self.key, self.ticket, true).await
    }
}

impl Drop for Guess {
    fn drop(&mut self) {
        if self.resolved {
            return;
        }
        let (svc, key, ticket) = (self.svc.clone(), std::mem::take(&mut self.key), self.ticket);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(e) = resolve(&svc, &key, ticket, false).await {
                    tracing::warn!("counting an abandoned guess: {e}");
                }
            });
        }
    }
}
