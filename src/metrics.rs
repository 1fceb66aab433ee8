//! Prometheus metrics (`GET /metrics` when `metrics.enabled`): requests by
//! route template and status, latency histograms, job queue depth, jobs
//! and emails done/failed, database pool usage. Rendered by hand in the
//! text exposition format; recording is a few atomic adds per request.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

/// Latency bucket upper bounds, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// Counters bumped by the job runner and the mailer.
pub static JOBS_DONE: AtomicU64 = AtomicU64::new(0);
pub static JOBS_FAILED: AtomicU64 = AtomicU64::new(0);
pub static JOBS_RETRIED: AtomicU64 = AtomicU64::new(0);
pub static EMAILS_SENT: AtomicU64 = AtomicU64::new(0);
pub static EMAILS_FAILED: AtomicU64 = AtomicU64::new(0);
/// Counters bumped by the scheduled backups.
pub static BACKUPS_DONE: AtomicU64 = AtomicU64::new(0);
pub static BACKUPS_FAILED: AtomicU64 = AtomicU64::new(0);

#[derive(Default)]
struct RouteStats {
    /// Per status code.
    counts: RwLock<HashMap<u16, Arc<AtomicU64>>>,
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

#[derive(Default)]
pub struct Metrics {
    routes: RwLock<HashMap<(String, String), Arc<RouteStats>>>,
}

impl Metrics {
    pub fn record(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let key = (method.to_string(), route.to_string());
        let stats = {
            let routes = self.routes.read().unwrap_or_else(|p| p.into_inner());
            routes.get(&key).cloned()
        };
        let stats = match stats {
            Some(s) => s,
            None => {
                let mut routes = self.routes.write().unwrap_or_else(|p| p.into_inner());
                routes.entry(key).or_default().clone()
            }
        };
        let counter = {
            let counts = stats.counts.read().unwrap_or_else(|p| p.into_inner());
            counts.get(&status).cloned()
        };
        let counter = match counter {
            Some(c) => c,
            None => {
                let mut counts = stats.counts.write().unwrap_or_else(|p| p.into_inner());
                counts.entry(status).or_default().clone()
            }
        };
        counter.fetch_add(1, Ordering::Relaxed);
        if let Some(i) = BUCKETS.iter().position(|b| seconds <= *b) {
            stats.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        stats.count.fetch_add(1, Ordering::Relaxed);
        stats
            .sum_micros
            .fetch_add((seconds * 1e6) as u64, Ordering::Relaxed);
    }

    fn render_http(&self, out: &mut String) {
        let routes = self.routes.read().unwrap_or_else(|p| p.into_inner());
        let mut keys: Vec<_> = routes.keys().cloned().collect();
        keys.sort();
        out.push_str(
            "# HELP afisha_http_requests_total HTTP requests by route template and status.\n",
        );
        out.push_str("# TYPE afisha_http_requests_total counter\n");
        for key in &keys {
            let stats = &routes[key];
            let counts = stats.counts.read().unwrap_or_else(|p| p.into_inner());
            let mut statuses: Vec<_> = counts.iter().collect();
            statuses.sort_by_key(|(s, _)| **s);
            for (status, n) in statuses {
                let _ = writeln!(
                    out,
                    "afisha_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{status}\"}} {}",
                    key.0,
                    escape(&key.1),
                    n.load(Ordering::Relaxed)
                );
            }
        }
        out.push_str(
            "# HELP afisha_http_request_duration_seconds HTTP request latency by route template.\n",
        );
        out.push_str("# TYPE afisha_http_request_duration_seconds histogram\n");
        for key in &keys {
            let stats = &routes[key];
            let labels = format!("method=\"{}\",route=\"{}\"", key.0, escape(&key.1));
            let mut cumulative = 0;
            for (i, bound) in BUCKETS.iter().enumerate() {
                cumulative += stats.buckets[i].load(Ordering::Relaxed);
                let _ = writeln!(
                    out,
                    "afisha_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {cumulative}"
                );
            }
            let count = stats.count.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "afisha_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {count}"
            );
            let _ = writeln!(
                out,
                "afisha_http_request_duration_seconds_sum{{{labels}}} {}",
                stats.sum_micros.load(Ordering::Relaxed) as f64 / 1e6
            );
            let _ = writeln!(
                out,
                "afisha_http_request_duration_seconds_count{{{labels}}} {count}"
            );
        }
    }
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn metric(out: &mut String, name: &str, kind: &str, help: &str, value: impl std::fmt::Display) {
    let _ = writeln!(
        out,
        "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
    );
}

/// Figures read at scrape time from outside the registry.
#[derive(Debug, Clone, Copy, Default)]
pub struct Gauges {
    pub jobs_pending: i64,
    pub jobs_failed_now: i64,
    pub pool_open: u32,
    pub pool_in_use: u32,
}

impl Metrics {
    /// The Prometheus text exposition of everything.
    pub fn render(&self, g: Gauges) -> String {
        let mut out = String::with_capacity(8192);
        self.render_http(&mut out);
        metric(
            &mut out,
            "afisha_jobs_pending",
            "gauge",
            "Jobs waiting to run or running.",
            g.jobs_pending,
        );
        metric(
            &mut out,
            "afisha_jobs_failed_current",
            "gauge",
            "Jobs that used up their attempts and wait for `afisha jobs retry`.",
            g.jobs_failed_now,
        );
        let counters = [
            (
                "afisha_jobs_done_total",
                "Jobs completed since start.",
                &JOBS_DONE,
            ),
            (
                "afisha_jobs_failed_total",
                "Jobs that failed for good since start.",
                &JOBS_FAILED,
            ),
            (
                "afisha_jobs_retried_total",
                "Job attempts that failed and were rescheduled since start.",
                &JOBS_RETRIED,
            ),
            (
                "afisha_emails_sent_total",
                "Emails handed to the mail backend since start.",
                &EMAILS_SENT,
            ),
            (
                "afisha_emails_failed_total",
                "Email delivery attempts that failed since start.",
                &EMAILS_FAILED,
            ),
            (
                "afisha_backups_done_total",
                "Scheduled backups taken since start.",
                &BACKUPS_DONE,
            ),
            (
                "afisha_backups_failed_total",
                "Scheduled backups that failed since start.",
                &BACKUPS_FAILED,
            ),
        ];
        for (name, help, value) in counters {
            metric(
                &mut out,
                name,
                "counter",
                help,
                value.load(Ordering::Relaxed),
            );
        }
        metric(
            &mut out,
            "afisha_db_pool_connections",
            "gauge",
            "Open database connections.",
            g.pool_open,
        );
        metric(
            &mut out,
            "afisha_db_pool_in_use",
            "gauge",
            "Database connections in use.",
            g.pool_in_use,
        );
        out
    }
}
