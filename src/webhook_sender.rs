//! The HTTP side of outgoing webhooks: one signed POST per attempt.
//!
//! Every attempt resolves the endpoint's host itself, refuses non-public
//! addresses unless `webhooks.allow_private_networks` (a name that resolves
//! to `127.0.0.1` or to a cloud metadata address is refused like the
//! address itself), and then connects only to the addresses it checked
//! (the client is pinned to them), so a second DNS answer cannot slip
//! another address in. Redirects are followed only to the same host and
//! scheme family (http/https), at most five; a redirect elsewhere ends the
//! attempt as a failure. The secret is used to sign and never logged.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use outbound_http as reqwest;

use crate::config::WebhooksConfig;
use crate::domain::webhook::{is_public, signature};

/// One signed message to send.
#[derive(Debug, Clone)]
pub struct Message<'a> {
    pub url: &'a str,
    pub delivery_id: &'a str,
    pub body: &'a str,
    /// Unix seconds of `Afisha-Timestamp` (signed with the body).
    pub timestamp: i64,
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Sent {
    /// The response status, when a response came.
    pub status: Option<u16>,
    /// Why the attempt failed (`None` = a 2xx answer).
    pub error: Option<String>,
    pub duration_ms: i64,
}

impl Sent {
    pub fn success(&self) -> bool {
        self.error.is_none()
    }
}

/// Sends `message` signed with `secret`.
pub async fn send(config: &WebhooksConfig, message: &Message<'_>, secret: &str) -> Sent {
    let started = Instant::now();
    let result = attempt(config, message, secret).await;
    let duration_ms = started.elapsed().as_millis().min(i64::MAX as u128) as i64;
    match result {
        Ok(status) if (200..300).contains(&status) => Sent {
            status: Some(status),
            error: None,
            duration_ms,
        },
        Ok(status) => Sent {
            status: Some(status),
            error: Some(if (300..400).contains(&status) {
                format!(
                    "HTTP {status}: a redirect that is not followed (to another host, or too many)"
                )
            } else {
                format!("HTTP {status}")
            }),
            duration_ms,
        },
        Err(error) => Sent {
            status: None,
            error: Some(error),
            duration_ms,
        },
    }
}

async fn attempt(
    config: &WebhooksConfig,
    message: &Message<'_>,
    secret: &str,
) -> Result<u16, String> {
    let url = url::Url::parse(message.url).map_err(|e| format!("bad URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("only http:// and https:// URLs are called".into());
    }
    let port = url
        .port_or_known_default()
        .ok_or_else(|| "the URL has no port".to_string())?;
    let timeout = Duration::from_secs(config.timeout_secs.max(1));
    let (domain, addrs): (Option<String>, Vec<SocketAddr>) = match url.host() {
        Some(url::Host::Ipv4(ip)) => (None, vec![SocketAddr::new(IpAddr::V4(ip), port)]),
        Some(url::Host::Ipv6(ip)) => (None, vec![SocketAddr::new(IpAddr::V6(ip), port)]),
        Some(url::Host::Domain(name)) => {
            let lookup = tokio::time::timeout(timeout, tokio::net::lookup_host((name, port)))
                .await
                .map_err(|_| format!("resolving {name} timed out"))?
                .map_err(|e| format!("cannot resolve {name}: {e}"))?;
            let addrs: Vec<SocketAddr> = lookup.collect();
            if addrs.is_empty() {
                return Err(format!("{name} has no address"));
            }
            (Some(name.to_string()), addrs)
        }
        None => return Err("the URL has no host".into()),
    };
    if !config.allow_private_networks
        && let Some(bad) = addrs.iter().find(|a| !is_public(a.ip()))
    {
        return Err(format!(
            "refused: {} is not a public address (webhooks.allow_private_networks = false)",
            bad.ip()
        ));
    }
    let host = url.host_str().unwrap_or_default().to_string();
    let policy = reqwest::redirect::Policy::custom(move |next| {
        let same_host = next.url().host_str() == Some(host.as_str())
            && matches!(next.url().scheme(), "http" | "https");
        if !same_host || next.previous().len() >= 5 {
            next.stop()
        } else {
            next.follow()
        }
    });
    crate::outbound::install_crypto_provider();
    let mut builder = reqwest::Client::builder()
        .timeout(timeout)
        .redirect(policy)
        .no_proxy()
        .user_agent(concat!("Afisha-Webhooks/", env!("CARGO_PKG_VERSION")));
    if let Some(name) = &domain {
        builder = builder.resolve_to_addrs(name, &addrs);
    }
    let client = builder
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
    let response = client
        .post(url)
        .header("Content-Type", "application/json")
        .header(
            "Afisha-Signature",
            signature(secret, message.timestamp, message.body),
        )
        .header("Afisha-Timestamp", message.timestamp.to_string())
        .header("Afisha-Delivery", message.delivery_id)
        .body(message.body.to_string())
        .send()
        .await
        .map_err(|e| describe(&e, timeout))?;
    let status = response.status().as_u16();
    // The answer's body is not kept; reading it (bounded by the timeout)
    // lets the connection finish cleanly.
    let _ = response.bytes().await;
    Ok(status)
}

/// A request error in one line, with its causes (never the secret: it is
/// only in a header).
fn describe(e: &reqwest::Error, timeout: Duration) -> String {
    if e.is_timeout() {
        return format!("timed out after {}s", timeout.as_secs());
    }
    let mut out = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
