//! Putting the pieces together: open the data dir, build the state, run the
//! HTTP server and the job scheduler until shutdown.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::clock::SharedClock;
use crate::config::Config;
use crate::service::Services;
use crate::state::AppState;

/// Opens the database (applying migrations) and builds the shared state.
/// Every misconfiguration that can be found before serving is found here.
pub async fn build(config: Config, clock: SharedClock) -> anyhow::Result<AppState> {
    let svc = Services::open(Arc::new(config), clock).await?;
    Ok(AppState {
        render: crate::email::Renderer::new(&svc.config)?,
        access: Arc::new(crate::http::access::AccessLog::new(&svc.config.access_log)),
        config: svc.config.clone(),
        svc,
    })
}

/// Serves HTTP on `listener` and runs the scheduler until `shutdown` fires,
/// then drains: stop accepting, finish in-flight requests and running jobs
/// within `server.shutdown_grace_secs`.
pub async fn serve(
    state: AppState,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let grace = Duration::from_secs(state.config.server.shutdown_grace_secs);
    let scheduler =
        crate::jobs::scheduler::start(&state.svc, state.render.clone(), shutdown.clone());
    let checkpoints = {
        let (store, shutdown) = (state.svc.store.clone(), shutdown.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tick.tick() => {
                        if let Err(e) = store.maintain().await {
                            tracing::warn!(error = %e, "database housekeeping failed");
                        }
                    }
                }
            }
        })
    };
    let observability = observability(&state, shutdown.clone());
    let limits = crate::http::server::Limits {
        max_connections: state.config.server.max_connections,
        max_connections_per_ip: state.config.server.max_connections_per_ip,
        header_read_timeout: Duration::from_secs(state.config.server.header_read_timeout_secs),
    };
    let access = state.access.clone();
    let router = crate::http::router(state);
    let mut server = tokio::spawn(crate::http::server::run(
        listener,
        router,
        shutdown.clone(),
        limits,
    ));
    tokio::select! {
        result = &mut server => result?,
        _ = shutdown.cancelled() => {
            match tokio::time::timeout(grace, &mut server).await {
                Ok(result) => result?,
                Err(_) => {
                    tracing::warn!("in-flight requests did not finish within {grace:?}; closing");
                    server.abort();
                }
            }
        }
    }
    let _ = observability.await;
    access.log_summary();
    let _ = checkpoints.await;
    if tokio::time::timeout(grace, scheduler).await.is_err() {
        tracing::warn!(
            "running jobs did not finish within {grace:?}; they will run again after their lock expires"
        );
    }
    Ok(())
}

/// Until `shutdown`: folds recorded latencies into the metrics' histograms
/// every 5 s (when metrics are on) and writes the summary of requests
/// without a log line every `access_log.summary_secs`; at the end, once
/// more, after the server has drained — the last summary counts every
/// request.
fn observability(state: &AppState, shutdown: CancellationToken) -> tokio::task::JoinHandle<()> {
    let metrics = state
        .config
        .metrics
        .enabled
        .then(|| state.svc.metrics.clone());
    let access = state.access.clone();
    let every = Duration::from_secs(state.config.access_log.summary_secs);
    tokio::spawn(async move {
        let mut upkeep = tokio::time::interval(Duration::from_secs(5));
        let mut summary = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        upkeep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        summary.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = upkeep.tick(), if metrics.is_some() => {
                    if let Some(m) = &metrics {
                        m.run_upkeep();
                    }
                }
                _ = summary.tick() => access.log_summary(),
            }
        }
    })
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
