//! Notices: what the product tells people, as typed facts. Rendering them
//! into words (email, in-app) happens elsewhere, when they are delivered.

use serde::{Deserialize, Serialize};

use crate::domain::time::Ts;

/// What an event notification needs to say about the event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventFacts {
    pub id: i64,
    pub name: String,
    pub short_description: Option<String>,
    pub starts_at: Ts,
    pub ends_at: Ts,
    pub location: Option<String>,
    pub payment_info: Option<String>,
    pub max_participants_count: Option<i64>,
    pub participants_count: i64,
}

impl EventFacts {
    /// What notices say about `event` with `participants_count` people.
    pub fn of(event: &crate::domain::event::Event, participants_count: i64) -> EventFacts {
        EventFacts {
            id: event.id,
            name: event.name.clone(),
            short_description: event.short_description.clone(),
            starts_at: event.starts_at,
            ends_at: event.ends_at,
            location: event.location.clone(),
            payment_info: event.payment_info.clone(),
            max_participants_count: event.max_participants_count,
            participants_count,
        }
    }
}

/// The user who did something (joined or left an event).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Actor {
    pub id: i64,
    pub full_name: String,
    pub email: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "facts", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Notice {
    RegConfirmCode {
        code: u32,
    },
    RegWelcome,
    PasswordResetLink {
        token: String,
    },
    PasswordChanged,
    AdminSetPassword {
        password: String,
    },
    EventCreated(EventFacts),
    EventUpdated(EventFacts),
    EventCancelled(EventFacts),
    EventReminder(EventFacts),
    ParticipationConfirmed {
        event: EventFacts,
        user: Actor,
    },
    ParticipationCancelled {
        event: EventFacts,
        user: Actor,
    },
    /// A seat freed and the recipient, first on the waiting list, now takes
    /// part.
    WaitlistPromoted(EventFacts),
    /// An outgoing webhook endpoint failed for `webhooks.disable_after_hours`
    /// and the server disabled it (administrators; in-app and email, which
    /// cannot be turned off).
    WebhookDisabled(WebhookFacts),
}

/// What the administrators are told about a disabled webhook endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookFacts {
    pub id: i64,
    pub url: String,
    /// The last attempt's error.
    pub error: String,
}

impl Notice {
    /// Every type name a person has preferences for, in API.md's order
    /// (the preferences list them). `WEBHOOK_DISABLED` (administrators
    /// only, always emailed) is not among them.
    pub const KINDS: &'static [&'static str] = &[
        "REG_CONFIRM_CODE",
        "REG_WELCOME",
        "PASSWORD_RESET_LINK",
        "PASSWORD_CHANGED",
        "ADMIN_SET_PASSWORD",
        "EVENT_CREATED",
        "EVENT_UPDATED",
        "EVENT_CANCELLED",
        "EVENT_REMINDER",
        "EVENT_PARTICIPATION_CONFIRMED",
        "EVENT_PARTICIPATION_CANCELLED",
        "WAITLIST_PROMOTED",
    ];

    /// Whether a person may turn off the emails of type `kind`: event news
    /// yes; codes, password and security emails never.
    pub fn email_optional_kind(kind: &str) -> bool {
        matches!(
            kind,
            "EVENT_CREATED"
                | "EVENT_UPDATED"
                | "EVENT_CANCELLED"
                | "EVENT_REMINDER"
                | "EVENT_PARTICIPATION_CONFIRMED"
                | "EVENT_PARTICIPATION_CANCELLED"
                | "WAITLIST_PROMOTED"
        )
    }

    /// The type name of API.md's table.
    pub fn kind(&self) -> &'static str {
        match self {
            Notice::RegConfirmCode { .. } => "REG_CONFIRM_CODE",
            Notice::RegWelcome => "REG_WELCOME",
            Notice::PasswordResetLink { .. } => "PASSWORD_RESET_LINK",
            Notice::PasswordChanged => "PASSWORD_CHANGED",
            Notice::AdminSetPassword { .. } => "ADMIN_SET_PASSWORD",
            Notice::EventCreated(_) => "EVENT_CREATED",
            Notice::EventUpdated(_) => "EVENT_UPDATED",
            Notice::EventCancelled(_) => "EVENT_CANCELLED",
            Notice::EventReminder(_) => "EVENT_REMINDER",
            Notice::ParticipationConfirmed { .. } => "EVENT_PARTICIPATION_CONFIRMED",
            Notice::ParticipationCancelled { .. } => "EVENT_PARTICIPATION_CANCELLED",
            Notice::WaitlistPromoted(_) => "WAITLIST_PROMOTED",
            Notice::WebhookDisabled(_) => "WEBHOOK_DISABLED",
        }
    }

    /// Whether this type also appears in the in-app notification centre.
    pub fn in_app(&self) -> bool {
        matches!(
            self,
            Notice::EventCreated(_)
                | Notice::EventUpdated(_)
                | Notice::EventCancelled(_)
                | Notice::EventReminder(_)
                | Notice::ParticipationConfirmed { .. }
                | Notice::ParticipationCancelled { .. }
                | Notice::WaitlistPromoted(_)
                | Notice::WebhookDisabled(_)
        )
    }
}

/// Who receives a notice.
#[derive(Debug, Clone)]
pub enum To {
    /// A user by id; skipped when the user is deleted.
    User(i64),
    /// An address that has no user yet (registration).
    Address { email: String, name: String },
}
