//! The scheduler that runs queued jobs (interim: not yet running jobs).

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::state::AppState;

pub fn start(_state: &AppState, shutdown: CancellationToken) -> JoinHandle<()> {
    tokio::spawn(async move { shutdown.cancelled().await })
}
