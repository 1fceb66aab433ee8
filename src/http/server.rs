//! The accept loop: HTTP/1 and HTTP/2 via hyper with the limits a public
//! server needs — a cap on open connections overall and per client address,
//! a deadline for request headers, an idle timeout that closes HTTP/1
//! keep-alive and HTTP/2 connections alike (PINGs do not count as activity),
//! and graceful draining. Request bodies and handlers are bounded by the
//! request deadline in the router's middleware.

use std::collections::HashMap;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{Notify, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

pub struct Limits {
    pub max_connections: usize,
    /// Open connections per client address at most.
    pub max_connections_per_ip: usize,
    /// Headers must arrive within this time; a connection without a request
    /// in progress for this long is closed.
    pub header_read_timeout: Duration,
}

/// Open connections per client address.
#[derive(Default)]
struct PerAddress(Mutex<HashMap<IpAddr, usize>>);

/// One counted connection; uncounted on drop.
struct AddressSlot {
    table: Arc<PerAddress>,
    ip: IpAddr,
}

impl PerAddress {
    fn take(self: &Arc<Self>, ip: IpAddr, max: usize) -> Option<AddressSlot> {
        let mut table = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let open = table.entry(ip).or_insert(0);
        if *open >= max {
            return None;
        }
        *open += 1;
        Some(AddressSlot {
            table: self.clone(),
            ip,
        })
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut table = self.table.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(open) = table.get_mut(&self.ip) {
            *open -= 1;
            if *open == 0 {
                table.remove(&self.ip);
            }
        }
    }
}

/// Requests in progress on one connection (until their response body is
/// sent or dropped); wakes the idle timer when the count changes.
#[derive(Default)]
struct Activity {
    in_flight: AtomicUsize,
    changed: Notify,
}

struct Busy(Arc<Activity>);

impl Busy {
    fn new(activity: &Arc<Activity>) -> Busy {
        activity.in_flight.fetch_add(1, Ordering::AcqRel);
        activity.changed.notify_one();
        Busy(activity.clone())
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
        self.0.changed.notify_one();
    }
}

/// A response body that keeps its request counted as in progress.
struct Tracked {
    inner: axum::body::Body,
    _busy: Busy,
}

impl HttpBody for Tracked {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }
    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }
    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Resolves once the connection has had no request in progress for `idle`.
async fn idle_for(activity: &Activity, idle: Duration) {
    loop {
        let changed = activity.changed.notified();
        if activity.in_flight.load(Ordering::Acquire) == 0 {
            if tokio::time::timeout(idle, changed).await.is_err()
                && activity.in_flight.load(Ordering::Acquire) == 0
            {
                return;
            }
        } else {
            changed.await;
        }
    }
}

/// Serves `router` until `shutdown`, then waits for open connections to
/// finish their current request (the caller bounds that wait).
pub async fn run(
    listener: TcpListener,
    router: Router,
    shutdown: CancellationToken,
    limits: Limits,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let per_address = Arc::new(PerAddress::default());
    let connections = TaskTracker::new();
    let idle = limits.header_read_timeout;
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(64 * 1024);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(64)
        .max_header_list_size(64 * 1024)
        .keep_alive_interval(Some(Duration::from_secs(30)))
        .keep_alive_timeout(Duration::from_secs(20));
    let builder = Arc::new(builder);
    let mut refused_logged = false;
    loop {
        let (stream, remote) = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Some(slot) = per_address.take(remote.ip(), limits.max_connections_per_ip) else {
            tracing::debug!(ip = %remote.ip(), "per-address connection limit reached");
            drop(stream);
            continue;
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            if !refused_logged {
                tracing::warn!(
                    max = limits.max_connections,
                    "connection limit reached; refusing new connections"
                );
                refused_logged = true;
            }
            drop(stream);
            continue;
        };
        refused_logged = false;
        let _ = stream.set_nodelay(true);
        let activity = Arc::new(Activity::default());
        let service = {
            // The peer's address for handlers (`ConnectInfo`), e.g. the
            // password-hashing budget per client.
            let router = router
                .clone()
                .layer(axum::Extension(axum::extract::ConnectInfo(remote)));
            let activity = activity.clone();
            tower::service_fn(move |req: axum::extract::Request<hyper::body::Incoming>| {
                let busy = Busy::new(&activity);
                let router = router.clone();
                async move {
                    let response = router.oneshot(req).await?;
                    Ok::<_, std::convert::Infallible>(
                        response.map(|inner| Tracked { inner, _busy: busy }),
                    )
                }
            })
        };
        let service = TowerToHyperService::new(service);
        let builder = builder.clone();
        let shutdown = shutdown.clone();
        connections.spawn(async move {
            let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
            tokio::pin!(conn);
            let idled = tokio::select! {
                _ = conn.as_mut() => return drop((permit, slot)),
                _ = shutdown.cancelled() => false,
                _ = idle_for(&activity, idle) => true,
            };
            // Ask politely (HTTP/2 GOAWAY, HTTP/1 close after the current
            // response); an idle connection that lingers is then dropped.
            conn.as_mut().graceful_shutdown();
            if idled {
                let _ = tokio::time::timeout(idle, conn.as_mut()).await;
            } else {
                let _ = conn.as_mut().await;
            }
            drop((permit, slot));
        });
    }
    drop(listener);
    connections.close();
    connections.wait().await;
}
