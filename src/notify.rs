//! TODO(layers): what is left of the old notification module: re-exports
//! and a shim for handlers not yet calling services. The outbox is
//! `service::outbox`; rendering is `email` (at delivery and when read).

pub use crate::domain::notice::{Actor, EventFacts, Notice, To};
use crate::domain::time::Ts;
use crate::http::error::{AppError, AppResult};
use crate::service::{Services, outbox};
use crate::store::sqlite::{OptionalRow, Write};

/// SQL of [`EventFacts`] (moves to the store).
pub struct FactsSql;

impl FactsSql {
    /// The columns [`FactsSql::from_row`] reads, for a query over `event e`.
    pub const COLUMNS: &'static str = crate::store::sqlite::notifications::FACTS_COLUMNS;

    /// Reads [`FactsSql::COLUMNS`] starting at column `first`.
    pub fn from_row(r: &rusqlite::Row, first: usize) -> rusqlite::Result<EventFacts> {
        crate::store::sqlite::notifications::facts_from_row(r, first)
    }

    /// Loads the facts of one event (with its PARTICIPATING count).
    pub fn load(conn: &rusqlite::Connection, event_id: i64) -> AppResult<Option<EventFacts>> {
        Ok(conn
            .prepare_cached(&format!(
                "SELECT {} FROM event e WHERE e.id = ?1",
                Self::COLUMNS
            ))?
            .query_row([event_id], |r| Self::from_row(r, 0))
            .optional()?)
    }
}

/// The old handlers' way to the outbox: [`outbox::notify`] on a raw write
/// transaction. Renders nothing.
#[derive(Clone)]
pub struct Notifier {
    svc: Services,
}

impl Notifier {
    pub fn new(svc: Services) -> Self {
        Notifier { svc }
    }

    /// Writes in-app rows and email jobs for every recipient, in `tx`.
    pub fn send(&self, tx: &Write, now: Ts, notice: &Notice, to: &[To]) -> AppResult<()> {
        outbox::notify_at(&self.svc, &mut tx.store_tx(), now, notice, to).map_err(AppError::from)
    }
}
