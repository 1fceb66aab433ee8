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
        metrics: Default::default(),
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
    let limits = crate::http::server::Limits {
        max_connections: state.config.server.max_connections,
        max_connections_per_ip: state.config.server.max_connections_per_ip,
        header_read_timeout: Duration::from_secs(state.config.server.header_read_timeout_secs),
    };
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
    let _ = checkpoints.await;
    if tokio::time::timeout(grace, scheduler).await.is_err() {
        tracing::warn!(
            "running jobs did not finish within {grace:?}; they will run again after their lock expires"
        );
    }
    Ok(())
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
