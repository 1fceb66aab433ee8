//! Request lines (target `afisha::access`) that stay readable under load:
//! 5xx answers and slow requests always get a line; other requests get one
//! up to `access_log.lines_per_second` each second, and the rest are
//! counted and reported in one summary line every
//! `access_log.summary_secs`.
//!
//! A request costs a few relaxed atomic operations here; no lock.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use crate::config::AccessLogConfig;

pub const TARGET: &str = "afisha::access";

/// Upper bounds (milliseconds) of the latency buckets behind the summary's
/// p50/p99 for requests without a line; the last bucket is unbounded.
const LATENCY_MS: [f64; 12] = [
    1.0, 2.5, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 10000.0,
];

/// Whether a request gets its own line, and at which level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line {
    /// A 5xx answer: always, at `warn`.
    Error,
    /// At least `slow_ms`, or within this second's budget: at `info`.
    Info,
    /// Counted for the summary instead.
    Skip,
}

pub struct AccessLog {
    per_second: u32,
    slow: Duration,
    epoch: Instant,
    /// The second (since `epoch`) the budget below belongs to.
    second: AtomicU64,
    /// Lines given out in that second.
    used: AtomicU32,
    /// Requests without a line since the last summary, by status class
    /// (index `status / 100`, 0..=5).
    skipped: [AtomicU64; 6],
    skipped_latency: [AtomicU64; LATENCY_MS.len() + 1],
}

/// Requests without a line since the previous summary.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub not_logged: u64,
    pub status_2xx: u64,
    pub status_3xx: u64,
    pub status_4xx: u64,
    /// Upper bound of the latency bucket holding the median, in ms
    /// (`f64::INFINITY` beyond the last bound).
    pub p50_ms: f64,
    pub p99_ms: f64,
}

impl AccessLog {
    pub fn new(config: &AccessLogConfig) -> AccessLog {
        AccessLog {
            per_second: config.lines_per_second,
            slow: Duration::from_millis(config.slow_ms),
            epoch: Instant::now(),
            second: AtomicU64::new(0),
            used: AtomicU32::new(0),
            skipped: Default::default(),
            skipped_latency: Default::default(),
        }
    }

    /// Decides for one finished request; a skipped one is counted.
    pub fn admit(&self, status: u16, elapsed: Duration) -> Line {
        if status >= 500 {
            return Line::Error;
        }
        if elapsed >= self.slow || self.take_slot() {
            return Line::Info;
        }
        let class = usize::from(status / 100).min(5);
        self.skipped[class].fetch_add(1, Relaxed);
        let ms = elapsed.as_secs_f64() * 1000.0;
        let bucket = LATENCY_MS
            .iter()
            .position(|b| ms <= *b)
            .unwrap_or(LATENCY_MS.len());
        self.skipped_latency[bucket].fetch_add(1, Relaxed);
        Line::Skip
    }

    /// One line of this second's budget, if any is left. The budget is
    /// reset by the first request of a new second, so under contention a
    /// second may give out a few lines more than the limit.
    fn take_slot(&self) -> bool {
        if self.per_second == 0 {
            return true;
        }
        let now = self.epoch.elapsed().as_secs();
        if now > self.second.load(Relaxed) && self.second.fetch_max(now, Relaxed) < now {
            self.used.store(0, Relaxed);
        }
        self.used.fetch_add(1, Relaxed) < self.per_second
    }

    /// Takes (and resets) the counts since the last summary; `None` when
    /// every request had its line.
    pub fn take_summary(&self) -> Option<Summary> {
        let by_class: Vec<u64> = self.skipped.iter().map(|c| c.swap(0, Relaxed)).collect();
        let latency: Vec<u64> = self
            .skipped_latency
            .iter()
            .map(|c| c.swap(0, Relaxed))
            .collect();
        let not_logged: u64 = by_class.iter().sum();
        if not_logged == 0 {
            return None;
        }
        let quantile = |q: f64| {
            let rank = (q * latency.iter().sum::<u64>() as f64).ceil().max(1.0) as u64;
            let mut seen = 0;
            for (i, n) in latency.iter().enumerate() {
                seen += n;
                if seen >= rank {
                    return LATENCY_MS.get(i).copied().unwrap_or(f64::INFINITY);
                }
            }
            f64::INFINITY
        };
        Some(Summary {
            not_logged,
            status_2xx: by_class[2],
            status_3xx: by_class[3],
            status_4xx: by_class[4],
            p50_ms: quantile(0.5),
            p99_ms: quantile(0.99),
        })
    }

    /// Writes the summary line, if some requests had no line.
    pub fn log_summary(&self) {
        if let Some(s) = self.take_summary() {
            tracing::info!(
                target: TARGET,
                not_logged = s.not_logged,
                status_2xx = s.status_2xx,
                status_3xx = s.status_3xx,
                status_4xx = s.status_4xx,
                p50_ms = s.p50_ms,
                p99_ms = s.p99_ms,
                "requests not logged (over access_log.lines_per_second)"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(per_second: u32) -> AccessLog {
        AccessLog::new(&AccessLogConfig {
            lines_per_second: per_second,
            slow_ms: 100,
            summary_secs: 60,
        })
    }

    const FAST: Duration = Duration::from_millis(2);

    #[test]
    fn errors_and_slow_requests_always_get_a_line_and_the_rest_are_counted() {
        let a = log(3);
        let lines: Vec<Line> = (0..10).map(|_| a.admit(200, FAST)).collect();
        // Ten requests well within one second (no clock moves that fast
        // past a boundary twice): at most two seconds' budgets.
        let info = lines.iter().filter(|l| **l == Line::Info).count();
        assert!((3..=6).contains(&info), "{lines:?}");
        assert_eq!(a.admit(503, FAST), Line::Error);
        assert_eq!(a.admit(500, Duration::ZERO), Line::Error);
        assert_eq!(a.admit(200, Duration::from_millis(100)), Line::Info);
        let skipped_4xx = (0..5).filter(|_| a.admit(404, FAST) == Line::Skip).count() as u64;
        let s = a.take_summary().expect("a summary");
        assert_eq!(s.not_logged, (10 - info) as u64 + skipped_4xx);
        assert_eq!(s.status_2xx, (10 - info) as u64);
        assert_eq!(s.status_4xx, skipped_4xx);
        assert_eq!((s.p50_ms, s.p99_ms), (2.5, 2.5));
        // Counted once: the next summary starts from zero.
        assert_eq!(a.take_summary(), None);
    }

    #[test]
    fn zero_means_a_line_for_every_request() {
        let a = log(0);
        assert!((0..1000).all(|_| a.admit(200, FAST) == Line::Info));
        assert_eq!(a.take_summary(), None);
    }

    #[test]
    fn percentiles_come_from_the_buckets() {
        let a = log(1);
        // A budget of one: spend it, then (almost) everything is skipped.
        let _ = a.admit(200, FAST);
        for i in 0..100 {
            let ms = if i < 90 { 3 } else { 60 };
            let _ = a.admit(200, Duration::from_millis(ms));
        }
        let s = a.take_summary().unwrap();
        assert!(s.not_logged >= 98, "{s:?}");
        assert_eq!((s.p50_ms, s.p99_ms), (5.0, 100.0), "{s:?}");
    }
}
