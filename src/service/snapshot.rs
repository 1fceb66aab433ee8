//! Exact read caching for hot, shared answers (event cards, statistics).
//!
//! A snapshot is reused only while no write transaction that changed domain
//! data has committed since it was computed (the store's
//! [`version`](crate::store::Store::version), read per request: on
//! PostgreSQL it counts the commits of every instance), before the moment
//! the answer could change with time alone (`valid_until`), and for at most
//! [`MAX_AGE_SECS`] — the bound on staleness for writes the version does not
//! see (another process, such as the CLI, on the same SQLite file; SQL run
//! by hand).

use std::sync::{Arc, Mutex};

use chrono::Duration;

use crate::domain::time::Ts;

pub const MAX_AGE_SECS: i64 = 5;

struct Entry<T> {
    generation: u64,
    computed_at: Ts,
    valid_until: Ts,
    value: Arc<T>,
}

pub struct Snapshot<T> {
    slot: Mutex<Option<Entry<T>>>,
    /// One computation at a time: requests that miss together wait for it
    /// instead of all recomputing (no thundering herd after a commit).
    computing: tokio::sync::Mutex<()>,
}

impl<T> Default for Snapshot<T> {
    fn default() -> Self {
        Self {
            slot: Mutex::new(None),
            computing: tokio::sync::Mutex::new(()),
        }
    }
}

impl<T> Snapshot<T> {
    /// The cached value, if still valid at `now` for `generation`.
    pub fn get(&self, generation: u64, now: Ts) -> Option<Arc<T>> {
        let slot = self.slot.lock().unwrap_or_else(|p| p.into_inner());
        let entry = slot.as_ref()?;
        let fresh = entry.generation == generation
            && now >= entry.computed_at
            && now < entry.valid_until
            && now.0 < entry.computed_at.0 + Duration::seconds(MAX_AGE_SECS);
        fresh.then(|| entry.value.clone())
    }

    /// The cached value, or the one `compute` makes (at most one runs at a
    /// time; the others wait and then take its result). `compute` returns
    /// the value and the moment it stops being valid by time alone.
    ///
    /// `version` reads the store's version; it is read before `compute`
    /// runs (so a write during the computation makes the value stale at
    /// once) and again after waiting for another request's computation.
    pub async fn get_or_compute<V, VFut, F, Fut, E>(
        &self,
        version: V,
        now: Ts,
        compute: F,
    ) -> Result<Arc<T>, E>
    where
        V: Fn() -> VFut,
        VFut: std::future::Future<Output = Result<u64, E>>,
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<(T, Option<Ts>), E>>,
    {
        if let Some(hit) = self.get(version().await?, now) {
            return Ok(hit);
        }
        let _turn = self.computing.lock().await;
        let current = version().await?;
        if let Some(hit) = self.get(current, now) {
            return Ok(hit);
        }
        let (value, valid_until) = compute().await?;
        let value = Arc::new(value);
        self.put(current, now, valid_until, value.clone());
        Ok(value)
    }

    /// Stores a value computed at `now` from the state of `generation`
    /// (read the generation *before* computing, so a write during the
    /// computation makes the value stale at once).
    pub fn put(&self, generation: u64, now: Ts, valid_until: Option<Ts>, value: Arc<T>) {
        let valid_until = valid_until.unwrap_or(Ts(now.0 + Duration::seconds(MAX_AGE_SECS)));
        let mut slot = self.slot.lock().unwrap_or_else(|p| p.into_inner());
        let newer = slot.as_ref().is_none_or(|e| e.generation <= generation);
        if newer {
            *slot = Some(Entry {
                generation,
                computed_at: now,
                valid_until,
                value,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_only_for_its_generation_and_time_window() {
        let s = Snapshot::default();
        let t0 = Ts::parse("2026-05-01T10:00:00Z").unwrap();
        let later = |secs| Ts(t0.0 + Duration::seconds(secs));
        s.put(7, t0, Some(later(3)), Arc::new(42));
        assert_eq!(s.get(7, later(2)).as_deref(), Some(&42));
        assert!(s.get(8, later(2)).is_none(), "a commit invalidates");
        assert!(s.get(7, later(3)).is_none(), "time-driven change");
        s.put(7, t0, Some(later(60)), Arc::new(1));
        assert!(s.get(7, later(MAX_AGE_SECS)).is_none(), "age cap");
        s.put(6, t0, None, Arc::new(0));
        assert_eq!(
            s.get(7, later(1)).as_deref(),
            Some(&1),
            "an older generation does not replace a newer one"
        );
    }
}

/// The snapshots an application keeps (one set per running server).
#[derive(Default)]
pub struct Caches {
    pub cards: Snapshot<Vec<crate::service::events::CachedCard>>,
    pub statistics: Snapshot<crate::domain::statistics::EventAggregates>,
}
