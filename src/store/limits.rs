//! Rate limits and login guards as the database keeps them (one row per
//! key in `rate_limit`), so that every instance on one database counts the
//! same attempts. The rules are in [`crate::domain::limits`].

use crate::domain::error::DomainResult;
use crate::domain::limits::LimitState;
use crate::domain::time::Ts;

/// The rate-limit queries a transaction offers.
pub trait LimitStore {
    /// The state of `key` (a fresh, expired one when the key is unknown),
    /// held until the transaction ends: on PostgreSQL the row is created if
    /// missing and locked, so writers of one key take turns.
    fn limit_for_update(&mut self, key: &str) -> DomainResult<LimitState>;
    /// Stores the state of `key`.
    fn put_limit(&mut self, key: &str, state: &LimitState) -> DomainResult<()>;
    /// Forgets `key` (a successful guess reset its count).
    fn delete_limit(&mut self, key: &str) -> DomainResult<()>;
    /// Deletes the states that lapsed before `before`; returns how many.
    fn sweep_limits(&mut self, before: Ts) -> DomainResult<usize>;
}
