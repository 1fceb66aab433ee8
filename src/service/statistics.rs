//! Statistics: mine, and the administrators' dashboard.

use std::sync::Arc;

use crate::domain::error::DomainResult;
use crate::domain::statistics::{EventAggregates, MyStatistics};
use crate::service::Services;

/// `GET /users/me/statistics`.
pub async fn mine(svc: &Services, user_id: i64) -> DomainResult<MyStatistics> {
    let now = svc.now();
    svc.store
        .read(move |tx| {
            Ok(MyStatistics::new(
                tx.event_counts(now)?,
                tx.my_counts(user_id, now)?,
            ))
        })
        .await
}

/// The administrators' figures: one snapshot, exact until the next commit
/// or the next moment they change by time alone.
pub async fn dashboard(svc: &Services) -> DomainResult<Arc<EventAggregates>> {
    let now = svc.now();
    let store = svc.store.clone();
    svc.caches
        .statistics
        .get_or_compute(
            || store.version(),
            now,
            || async {
                let a = svc.store.read(move |tx| tx.event_aggregates(now)).await?;
                let until = a.next_change;
                Ok((a, until))
            },
        )
        .await
}
