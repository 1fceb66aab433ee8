//! Who is calling: the client's address (for per-client budgets and the
//! audit log).

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};

use crate::auth::ratelimit::{IpNet, client_addr};
use crate::state::AppState;

/// The caller's address for per-client budgets: the socket's peer, or the
/// `X-Forwarded-For` client when the peer is in `server.trusted_proxies`.
/// `None` when the server was not started by `http::server` (no peer).
pub struct ClientIp(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Some(ConnectInfo(peer)) = parts.extensions.get::<ConnectInfo<SocketAddr>>() else {
            return Ok(ClientIp(None));
        };
        let trusted: Vec<IpNet> = state
            .config
            .server
            .trusted_proxies
            .iter()
            .filter_map(|p| IpNet::parse(p))
            .collect();
        let forwarded = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join(",");
        let forwarded = (!forwarded.is_empty()).then_some(forwarded.as_str());
        Ok(ClientIp(Some(client_addr(peer.ip(), forwarded, &trusted))))
    }
}
