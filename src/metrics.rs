//! Prometheus metrics (`GET /metrics` when `metrics.enabled`) through the
//! `metrics` facade and `metrics-exporter-prometheus`: requests by route
//! template and status, latency histograms, job queue depth, jobs, emails
//! and backups done/failed, database pool usage and how long work waited
//! for the database (a connection, the writer, row locks).
//!
//! The exporter is built without its HTTP listener and push gateway (no
//! hyper server or client of its own): `/metrics` is one of our routes and
//! asks the [`PrometheusHandle`] for the text.

use std::sync::Arc;

use metrics::{Counter, Gauge, Histogram, Key, Label, Recorder, Unit};
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};

/// Latency bucket upper bounds, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// Bucket upper bounds of the database waits, in seconds (most waits are
/// far below a millisecond; the interesting ones are the long tail).
const WAIT_BUCKETS: [f64; 15] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    10.0,
];

const HTTP_REQUESTS: &str = "afisha_http_requests_total";
const HTTP_DURATION: &str = "afisha_http_request_duration_seconds";
const SCANS: &str = "afisha_scans_total";
const DB_INFO: &str = "afisha_db_info";
const WAIT_CONNECTION: &str = "afisha_db_connection_wait_seconds";
const WAIT_WRITE: &str = "afisha_db_write_wait_seconds";
const WAIT_ROW_LOCK: &str = "afisha_db_row_lock_wait_seconds";

/// The handles of the metrics without labels, registered (so shown, at
/// zero) from the start.
struct Fixed {
    jobs_done: Counter,
    jobs_failed: Counter,
    jobs_retried: Counter,
    emails_sent: Counter,
    emails_failed: Counter,
    backups_done: Counter,
    backups_failed: Counter,
    jobs_pending: Gauge,
    jobs_failed_now: Gauge,
    pool_open: Gauge,
    pool_in_use: Gauge,
    pool_idle: Gauge,
    pool_max: Gauge,
    wait_connection: Histogram,
    wait_write: Histogram,
    wait_row_lock: Histogram,
}

/// One server's metrics registry; clones share it.
///
/// The recorder is local to this value, not installed as the process-wide
/// `metrics` recorder, and recording goes through its methods (the HTTP
/// middleware uses the `metrics` macros inside
/// [`metrics::with_local_recorder`], which is synchronous). Reason: `cargo
/// test` runs many servers in one process (nextest runs one test per
/// process), and each server's `/metrics` must count only its own work — a
/// global recorder would mix their counts, and can be installed only once
/// per process. A library that records through the global `metrics`
/// macros would not show up here; none of ours does.
#[derive(Clone)]
pub struct Metrics {
    recorder: Arc<PrometheusRecorder>,
    handle: PrometheusHandle,
    fixed: Arc<Fixed>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Figures read at scrape time from outside the registry.
#[derive(Debug, Clone, Copy, Default)]
pub struct Gauges {
    pub jobs_pending: i64,
    pub jobs_failed_now: i64,
    pub pool_open: u32,
    pub pool_in_use: u32,
    pub pool_idle: u32,
    pub pool_max: u32,
    /// `sqlite` or `postgres` (the `backend` label of `afisha_db_info`).
    pub backend: &'static str,
}

impl Metrics {
    pub fn new() -> Self {
        let mut builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(HTTP_DURATION.into()), &BUCKETS)
            .expect("the latency buckets are not empty");
        for name in [WAIT_CONNECTION, WAIT_WRITE, WAIT_ROW_LOCK] {
            builder = builder
                .set_buckets_for_metric(Matcher::Full(name.into()), &WAIT_BUCKETS)
                .expect("the wait buckets are not empty");
        }
        let recorder = builder.build_recorder();
        let r = &recorder;
        let counter = |name: &'static str, help: &'static str| {
            r.describe_counter(name.into(), None, help.into());
            r.register_counter(&Key::from_static_name(name), metadata())
        };
        let gauge = |name: &'static str, help: &'static str| {
            r.describe_gauge(name.into(), None, help.into());
            r.register_gauge(&Key::from_static_name(name), metadata())
        };
        r.describe_counter(
            HTTP_REQUESTS.into(),
            None,
            "HTTP requests by route template and status.".into(),
        );
        r.describe_histogram(
            HTTP_DURATION.into(),
            Some(Unit::Seconds),
            "HTTP request latency by route template.".into(),
        );
        r.describe_counter(
            SCANS.into(),
            None,
            "Ticks of the recurring scans (reminders, cleanup) this process ran, or skipped because another instance on the database ran them.".into(),
        );
        r.describe_gauge(
            DB_INFO.into(),
            None,
            "The database backend (label backend: sqlite or postgres); always 1.".into(),
        );
        let histogram = |name: &'static str, help: &'static str| {
            r.describe_histogram(name.into(), Some(Unit::Seconds), help.into());
            r.register_histogram(&Key::from_static_name(name), metadata())
        };
        let fixed = Fixed {
            jobs_pending: gauge("afisha_jobs_pending", "Jobs waiting to run or running."),
            jobs_failed_now: gauge(
                "afisha_jobs_failed_current",
                "Jobs that used up their attempts and wait for `afisha jobs retry`.",
            ),
            jobs_done: counter("afisha_jobs_done_total", "Jobs completed since start."),
            jobs_failed: counter(
                "afisha_jobs_failed_total",
                "Jobs that failed for good since start.",
            ),
            jobs_retried: counter(
                "afisha_jobs_retried_total",
                "Job attempts that failed and were rescheduled since start.",
            ),
            emails_sent: counter(
                "afisha_emails_sent_total",
                "Emails handed to the mail backend since start.",
            ),
            emails_failed: counter(
                "afisha_emails_failed_total",
                "Email delivery attempts that failed since start.",
            ),
            backups_done: counter(
                "afisha_backups_done_total",
                "Scheduled backups taken since start.",
            ),
            backups_failed: counter(
                "afisha_backups_failed_total",
                "Scheduled backups that failed since start.",
            ),
            pool_open: gauge("afisha_db_pool_connections", "Open database connections."),
            pool_in_use: gauge("afisha_db_pool_in_use", "Database connections in use."),
            pool_idle: gauge(
                "afisha_db_pool_idle",
                "Open database connections waiting in the pool.",
            ),
            pool_max: gauge(
                "afisha_db_pool_max",
                "The most database connections the pool opens.",
            ),
            wait_connection: histogram(
                WAIT_CONNECTION,
                "Time spent waiting for a pooled database connection.",
            ),
            wait_write: histogram(
                WAIT_WRITE,
                "Time from asking for a write until its transaction began (SQLite: the single writer; PostgreSQL: a connection).",
            ),
            wait_row_lock: histogram(
                WAIT_ROW_LOCK,
                "PostgreSQL: time spent taking the row locks a rule counts under (capacity, quotas, last administrator).",
            ),
        };
        Metrics {
            handle: recorder.handle(),
            recorder: Arc::new(recorder),
            fixed: Arc::new(fixed),
        }
    }

    /// One HTTP request: `route` is the matched route template (or one
    /// fixed label for everything unmatched), never the raw path, so the
    /// label sets stay bounded.
    pub fn record_request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let method = bounded_method(method);
        metrics::with_local_recorder(self.recorder.as_ref(), || {
            metrics::counter!(
                HTTP_REQUESTS,
                "method" => method,
                "route" => route.to_owned(),
                "status" => status.to_string(),
            )
            .increment(1);
            metrics::histogram!(HTTP_DURATION, "method" => method, "route" => route.to_owned())
                .record(seconds);
        });
    }

    pub fn job_done(&self) {
        self.fixed.jobs_done.increment(1);
    }

    pub fn job_failed(&self) {
        self.fixed.jobs_failed.increment(1);
    }

    pub fn job_retried(&self) {
        self.fixed.jobs_retried.increment(1);
    }

    pub fn email_sent(&self) {
        self.fixed.emails_sent.increment(1);
    }

    pub fn email_failed(&self) {
        self.fixed.emails_failed.increment(1);
    }

    pub fn backup_done(&self) {
        self.fixed.backups_done.increment(1);
    }

    pub fn backup_failed(&self) {
        self.fixed.backups_failed.increment(1);
    }

    /// One tick of the recurring scan `scan`: run here (`ran`) or skipped
    /// (another instance took it).
    pub fn scan(&self, scan: &'static str, ran: bool) {
        let outcome = if ran { "ran" } else { "skipped" };
        metrics::with_local_recorder(self.recorder.as_ref(), || {
            metrics::counter!(SCANS, "scan" => scan, "outcome" => outcome).increment(1);
        });
    }

    /// The histograms the store records its waits into (see
    /// [`crate::store::Store::report_waits`]).
    pub fn db_waits(&self) -> crate::store::WaitHistograms {
        crate::store::WaitHistograms {
            connection: self.fixed.wait_connection.clone(),
            write: self.fixed.wait_write.clone(),
            row_lock: self.fixed.wait_row_lock.clone(),
        }
    }

    /// Folds recorded latencies into the histograms. Run every few seconds
    /// while metrics are on: without it the samples of an unscraped server
    /// pile up in memory.
    pub fn run_upkeep(&self) {
        self.handle.run_upkeep();
    }

    /// The Prometheus text exposition of everything, with the sampled
    /// gauges set to `g` first. CPU work only (no I/O); the scrape route
    /// runs it off the async workers.
    pub fn render(&self, g: Gauges) -> String {
        self.fixed.jobs_pending.set(g.jobs_pending as f64);
        self.fixed.jobs_failed_now.set(g.jobs_failed_now as f64);
        self.fixed.pool_open.set(g.pool_open);
        self.fixed.pool_in_use.set(g.pool_in_use);
        self.fixed.pool_idle.set(g.pool_idle);
        self.fixed.pool_max.set(g.pool_max);
        if !g.backend.is_empty() {
            let key = Key::from_parts(DB_INFO, vec![Label::new("backend", g.backend)]);
            self.recorder.register_gauge(&key, metadata()).set(1.0);
        }
        self.handle.render()
    }
}

/// The `metrics` macros' call-site metadata, for our direct registrations.
fn metadata() -> &'static metrics::Metadata<'static> {
    static META: metrics::Metadata<'static> =
        metrics::Metadata::new(module_path!(), metrics::Level::INFO, Some(module_path!()));
    &META
}

/// The standard methods by name, anything else as `OTHER` (a client can
/// send any token as a method; a label must not grow with them).
fn bounded_method(method: &str) -> &'static str {
    const KNOWN: [&str; 9] = [
        "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE",
    ];
    KNOWN.into_iter().find(|m| *m == method).unwrap_or("OTHER")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_metric_with_its_help_and_histogram_buckets() {
        let m = Metrics::new();
        m.record_request("GET", "/api/login", 200, 0.003);
        m.record_request("GET", "/api/login", 401, 0.02);
        m.record_request("BREW", "/api/*", 404, 0.0001);
        m.job_done();
        m.db_waits().write.record(0.003);
        let text = m.render(Gauges {
            jobs_pending: 2,
            jobs_failed_now: 0,
            pool_open: 3,
            pool_in_use: 1,
            pool_idle: 2,
            pool_max: 8,
            backend: "sqlite",
        });
        for line in [
            "# HELP afisha_http_requests_total HTTP requests by route template and status.",
            "# TYPE afisha_http_requests_total counter",
            r#"afisha_http_requests_total{method="GET",route="/api/login",status="200"} 1"#,
            r#"afisha_http_requests_total{method="OTHER",route="/api/*",status="404"} 1"#,
            "# TYPE afisha_http_request_duration_seconds histogram",
            r#"afisha_http_request_duration_seconds_bucket{method="GET",route="/api/login",le="0.001"} 0"#,
            r#"afisha_http_request_duration_seconds_bucket{method="GET",route="/api/login",le="0.005"} 1"#,
            r#"afisha_http_request_duration_seconds_bucket{method="GET",route="/api/login",le="0.025"} 2"#,
            r#"afisha_http_request_duration_seconds_bucket{method="GET",route="/api/login",le="10"} 2"#,
            r#"afisha_http_request_duration_seconds_bucket{method="GET",route="/api/login",le="+Inf"} 2"#,
            r#"afisha_http_request_duration_seconds_count{method="GET",route="/api/login"} 2"#,
            "# HELP afisha_jobs_done_total Jobs completed since start.",
            "afisha_jobs_done_total 1",
            "afisha_jobs_failed_total 0",
            "afisha_backups_failed_total 0",
            "afisha_jobs_pending 2",
            "afisha_jobs_failed_current 0",
            "afisha_db_pool_connections 3",
            "afisha_db_pool_in_use 1",
            "afisha_db_pool_idle 2",
            "afisha_db_pool_max 8",
            r#"afisha_db_info{backend="sqlite"} 1"#,
            "# TYPE afisha_db_write_wait_seconds histogram",
            "# HELP afisha_db_row_lock_wait_seconds PostgreSQL: time spent taking the row locks a rule counts under (capacity, quotas, last administrator).",
            r#"afisha_db_write_wait_seconds_bucket{le="0.0001"} 0"#,
            r#"afisha_db_write_wait_seconds_bucket{le="0.01"} 1"#,
            r#"afisha_db_write_wait_seconds_bucket{le="+Inf"} 1"#,
            "afisha_db_write_wait_seconds_count 1",
            "afisha_db_row_lock_wait_seconds_count 0",
            r#"afisha_db_connection_wait_seconds_bucket{le="+Inf"} 0"#,
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in:\n{text}"
            );
        }
    }

    #[test]
    fn two_registries_do_not_share_counts() {
        let (a, b) = (Metrics::new(), Metrics::new());
        a.record_request("GET", "/api/health", 200, 0.001);
        a.backup_done();
        let text = b.render(Gauges::default());
        assert!(!text.contains("/api/health"), "{text}");
        assert!(text.contains("\nafisha_backups_done_total 0\n"), "{text}");
    }
}
