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

/// How many started events the administrators' attendance lists.
pub const ATTENDANCE_EVENTS: i64 = 100;

/// The administrators' dashboard: the cached figures and the attendance
/// of the most recent events whose check-in has opened (read anew: every
/// check-in changes it).
pub async fn admin(
    svc: &Services,
) -> DomainResult<(
    Arc<EventAggregates>,
    Vec<crate::domain::organiser::EventAttendance>,
)> {
    let figures = dashboard(svc).await?;
    let attendance = crate::service::organiser::attendance(svc, ATTENDANCE_EVENTS).await?;
    Ok((figures, attendance))
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
