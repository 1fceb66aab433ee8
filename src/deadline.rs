//! The deadline of the request being served, visible to the store so that a
//! write whose request already timed out rolls back instead of committing.
//!
//! The HTTP middleware runs each request inside [`scope`]; the store reads
//! [`current`] when a write starts (on the async side) and checks it again
//! just before `COMMIT`. Work outside a request (CLI, jobs) has no deadline.

use std::future::Future;
use std::time::Instant;

tokio::task_local! {
    static DEADLINE: Instant;
}

/// Runs `fut` with `deadline` as the current request deadline.
pub async fn scope<F: Future>(deadline: Instant, fut: F) -> F::Output {
    DEADLINE.scope(deadline, fut).await
}

/// The current task's request deadline, if it runs inside [`scope`].
pub fn current() -> Option<Instant> {
    DEADLINE.try_with(|d| *d).ok()
}

/// Whether `deadline` (if any) has passed.
pub fn passed(deadline: Option<Instant>) -> bool {
    deadline.is_some_and(|d| Instant::now() >= d)
}
