//! Outgoing webhooks: the types an endpoint subscribes to, the message a
//! delivery sends and how it is signed, and which addresses may be called.
//! Pure: the HTTP call and the queue are in `service::webhooks`.

use std::net::IpAddr;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::domain::error::{DomainError, DomainResult, FieldError};
use crate::domain::time::Ts;

/// Refusal of an unknown endpoint id.
pub const WEBHOOK_NOT_FOUND: &str = "Webhook not found";
/// Refusal of an unknown delivery id (or one of another endpoint).
pub const DELIVERY_NOT_FOUND: &str = "Delivery not found";
/// Resend or ping of a disabled endpoint.
pub const WEBHOOK_DISABLED: &str = "Webhook is disabled";

/// The type of the test message `POST …/ping` sends (never subscribed: every
/// endpoint takes it).
pub const PING: &str = "ping";

/// What happened, as the `type` of a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WebhookType {
    EventCreated,
    EventUpdated,
    EventCancelled,
    EventRestored,
    ParticipationJoined,
    ParticipationLeft,
    ParticipationWaitlisted,
    ParticipationPromoted,
    UserCreated,
    UserDeleted,
}

impl WebhookType {
    pub const ALL: [WebhookType; 10] = [
        WebhookType::EventCreated,
        WebhookType::EventUpdated,
        WebhookType::EventCancelled,
        WebhookType::EventRestored,
        WebhookType::ParticipationJoined,
        WebhookType::ParticipationLeft,
        WebhookType::ParticipationWaitlisted,
        WebhookType::ParticipationPromoted,
        WebhookType::UserCreated,
        WebhookType::UserDeleted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            WebhookType::EventCreated => "event.created",
            WebhookType::EventUpdated => "event.updated",
            WebhookType::EventCancelled => "event.cancelled",
            WebhookType::EventRestored => "event.restored",
            WebhookType::ParticipationJoined => "participation.joined",
            WebhookType::ParticipationLeft => "participation.left",
            WebhookType::ParticipationWaitlisted => "participation.waitlisted",
            WebhookType::ParticipationPromoted => "participation.promoted",
            WebhookType::UserCreated => "user.created",
            WebhookType::UserDeleted => "user.deleted",
        }
    }

    pub fn parse(text: &str) -> Option<WebhookType> {
        WebhookType::ALL.into_iter().find(|t| t.as_str() == text)
    }
}

/// The event as a webhook tells it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventObject {
    pub id: i64,
    pub name: String,
    pub short_description: Option<String>,
    pub starts_at: Ts,
    pub ends_at: Ts,
    pub location: Option<String>,
    pub max_participants_count: Option<i64>,
    pub participants_count: i64,
    pub category_id: Option<i64>,
    pub cancelled: bool,
}

impl EventObject {
    pub fn of(event: &crate::domain::event::Event, participants_count: i64) -> EventObject {
        EventObject {
            id: event.id,
            name: event.name.clone(),
            short_description: event.short_description.clone(),
            starts_at: event.starts_at,
            ends_at: event.ends_at,
            location: event.location.clone(),
            max_participants_count: event.max_participants_count,
            participants_count,
            category_id: event.category_id,
            cancelled: event.rejected_at.is_some(),
        }
    }
}

/// A person as a webhook tells them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserObject {
    pub id: i64,
    pub full_name: String,
    pub email: String,
}

/// A change worth telling, with its object (the `data` of the message).
#[derive(Debug, Clone, PartialEq)]
pub enum WebhookEvent {
    Event(WebhookType, EventObject),
    /// A participation change: `event.*` types are not used here.
    Participation(WebhookType, EventObject, UserObject),
    User(WebhookType, UserObject),
}

impl WebhookEvent {
    pub fn kind(&self) -> WebhookType {
        match self {
            WebhookEvent::Event(t, _)
            | WebhookEvent::Participation(t, _, _)
            | WebhookEvent::User(t, _) => *t,
        }
    }

    /// The `data` object of the message.
    pub fn data(&self) -> serde_json::Value {
        match self {
            WebhookEvent::Event(_, event) => serde_json::json!({ "event": event }),
            WebhookEvent::Participation(_, event, user) => {
                serde_json::json!({ "event": event, "user": user })
            }
            WebhookEvent::User(_, user) => serde_json::json!({ "user": user }),
        }
    }
}

/// The body of a delivery, serialised once and sent as it is on every
/// attempt (the signature covers these exact bytes).
pub fn body(delivery_id: &str, kind: &str, at: Ts, data: serde_json::Value) -> String {
    serde_json::json!({
        "id": delivery_id,
        "type": kind,
        "timestamp": at,
        "data": data,
    })
    .to_string()
}

/// `Afisha-Signature`: `v1=` and the hex HMAC-SHA256, keyed with the
/// endpoint's secret, of `<Afisha-Timestamp>.<body>` (the timestamp as the
/// decimal Unix seconds of the header).
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Checks an endpoint URL: absolute, `http` or `https`, with a host and no
/// credentials. Returns it trimmed.
pub fn check_url(url: &str) -> Result<String, String> {
    let url = url.trim();
    let parsed = url::Url::parse(url).map_err(|e| format!("Not a valid URL: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err("URL must start with http:// or https://".into());
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err("URL must name a host".into());
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("URL must not contain credentials".into());
    }
    if url.len() > 2000 {
        return Err("URL is longer than 2000 characters".into());
    }
    Ok(url.to_string())
}

/// Parses subscribed types (duplicates dropped, order of [`WebhookType::ALL`]);
/// an unknown one is an invalid `field`.
pub fn parse_types(field: &str, types: &[String]) -> DomainResult<Vec<WebhookType>> {
    let mut errors = Vec::new();
    let mut wanted = Vec::new();
    for (i, t) in types.iter().enumerate() {
        match WebhookType::parse(t.trim()) {
            Some(t) => wanted.push(t),
            None => errors.push(FieldError::at(
                vec!["body".into(), field.into(), i.into()],
                format!(
                    "Unknown event type '{t}'; one of: {}",
                    WebhookType::ALL.map(WebhookType::as_str).join(", ")
                ),
                "value_error",
            )),
        }
    }
    if !errors.is_empty() {
        return Err(DomainError::Invalid(errors));
    }
    Ok(WebhookType::ALL
        .into_iter()
        .filter(|t| wanted.contains(t))
        .collect())
}

/// Whether an address is on the public internet: not loopback, private
/// (RFC 1918, unique local), link-local, carrier-grade NAT, unspecified,
/// broadcast, multicast, documentation or an IPv4-mapped one of those.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (b == 18 || b == 19))
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || first == 0x2001 && v6.segments()[1] == 0x0db8)
        }
    }
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// Waiting for its first or next attempt.
    Pending,
    Delivered,
    /// Attempts used up, or the endpoint was disabled or deleted.
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<DeliveryStatus> {
        match text {
            "pending" => Some(DeliveryStatus::Pending),
            "delivered" => Some(DeliveryStatus::Delivered),
            "failed" => Some(DeliveryStatus::Failed),
            _ => None,
        }
    }
}

/// A registered endpoint (without its secret).
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    pub id: i64,
    pub url: String,
    pub types: Vec<WebhookType>,
    pub enabled: bool,
    pub created_at: Ts,
    pub updated_at: Ts,
    /// The first failed attempt since the last success.
    pub failing_since: Option<Ts>,
    /// Why the server disabled it, when it did.
    pub disabled_reason: Option<String>,
}

/// One delivery and its latest attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub id: String,
    pub endpoint_id: i64,
    pub event_type: String,
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub created_at: Ts,
    pub last_attempt_at: Option<Ts>,
    pub response_code: Option<u16>,
    pub duration_ms: Option<i64>,
    pub error: Option<String>,
}

/// One HTTP attempt of a delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    pub attempt: u32,
    pub at: Ts,
    pub response_code: Option<u16>,
    pub duration_ms: i64,
    pub error: Option<String>,
    pub success: bool,
}

/// Whether an endpoint failing since `since` has failed long enough
/// (`hours`) at `now` to be disabled.
pub fn failed_too_long(since: Option<Ts>, now: Ts, hours: u64) -> bool {
    since.is_some_and(|s| now.0 - s.0 >= chrono::Duration::hours(hours as i64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_of_timestamp_dot_body() {
        // Computed independently: python3 -c 'import hmac, hashlib;
        // print(hmac.new(b"key", b"1700000000.{}", hashlib.sha256).hexdigest())'
        assert_eq!(
            signature("key", 1_700_000_000, "{}"),
            "v1=9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae"
        );
        assert_ne!(signature("key", 1, "{}"), signature("key", 2, "{}"));
        assert_ne!(signature("a", 1, "{}"), signature("b", 1, "{}"));
    }

    #[test]
    fn urls_are_http_or_https_with_a_host() {
        assert!(check_url(" https://hooks.example.com/x ").is_ok());
        assert!(check_url("http://10.0.0.1:8080/").is_ok());
        assert!(check_url("ftp://example.com/").is_err());
        assert!(check_url("file:///etc/passwd").is_err());
        assert!(check_url("https://user:pw@example.com/").is_err());
        assert!(check_url("not a url").is_err());
    }

    #[test]
    fn private_and_special_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "8.8.8.8", "2606:4700::1111"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn types_parse_dedup_and_refuse_unknown() {
        let t = parse_types(
            "event_types",
            &[
                "user.created".into(),
                "event.created".into(),
                "user.created".into(),
            ],
        )
        .unwrap();
        assert_eq!(t, [WebhookType::EventCreated, WebhookType::UserCreated]);
        assert!(parse_types("event_types", &["nope".into()]).is_err());
    }
}
