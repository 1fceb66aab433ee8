//! Queries of the audit log: append, list, and the retention clean-up.
//! No query changes an entry.

use crate::domain::audit::{Entry, Filter, NewEntry};
use crate::domain::error::DomainResult;
use crate::domain::time::Ts;

pub trait AuditStore {
    /// Appends an entry; returns its id.
    fn insert_audit(&mut self, entry: &NewEntry) -> DomainResult<i64>;
    /// Entries matching `filter`, newest first (time, then id).
    fn audit_entries(&mut self, filter: &Filter) -> DomainResult<Vec<Entry>>;
    /// How many entries match `filter` (its limit and offset ignored).
    fn count_audit(&mut self, filter: &Filter) -> DomainResult<i64>;
    /// Deletes entries older than `before` (retention); how many.
    fn delete_audit_before(&mut self, before: Ts) -> DomainResult<usize>;
}
