//! Shared application state handed to every handler: the use cases and
//! the HTTP layer's own infrastructure. No route types.

use std::sync::Arc;

use crate::config::Config;
use crate::domain::time::Ts;

#[derive(Clone)]
pub struct AppState {
    /// The same configuration the services read.
    pub config: Arc<Config>,
    /// The use cases; handlers call these.
    pub svc: crate::service::Services,
    /// Renders in-app notifications when they are read and emails when they
    /// are sent.
    pub render: crate::email::Renderer,
    /// Which request lines are written (and the count of the others).
    pub access: Arc<crate::http::access::AccessLog>,
}

impl AppState {
    pub fn now(&self) -> Ts {
        self.svc.now()
    }
}
