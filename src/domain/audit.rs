//! The audit log: who did what to which thing, when, from where, and which
//! fields changed. Entries are append-only; only the retention clean-up
//! deletes them.
//!
//! The action names on the wire are the serde names below; the store maps
//! actions and target types to its own text in its `types.rs`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::time::Ts;

/// What was done. Administrators' actions first, then security events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Action {
    /// `PUT /users/{id}` (or the CLI / debug route) changed a user's role.
    #[serde(rename = "user.role_changed")]
    UserRoleChanged,
    /// `PUT /users/{id}` changed email or name (no role change).
    #[serde(rename = "user.updated")]
    UserUpdated,
    /// `PUT /users/{id}` with `deleted_at: null`.
    #[serde(rename = "user.restored")]
    UserRestored,
    /// `DELETE /users/{id}`.
    #[serde(rename = "user.deleted")]
    UserDeleted,
    /// `POST /users/{id}/reset-password`.
    #[serde(rename = "user.password_reset")]
    UserPasswordReset,
    #[serde(rename = "event.created")]
    EventCreated,
    /// `PUT /events/{id}` (fields or participants, not the cancellation).
    #[serde(rename = "event.updated")]
    EventUpdated,
    #[serde(rename = "event.cancelled")]
    EventCancelled,
    #[serde(rename = "event.restored")]
    EventRestored,
    #[serde(rename = "category.created")]
    CategoryCreated,
    #[serde(rename = "category.updated")]
    CategoryUpdated,
    #[serde(rename = "category.deleted")]
    CategoryDeleted,
    /// `POST /admin/outbox/{id}/retry`.
    #[serde(rename = "email.retried")]
    EmailRetried,
    /// `POST /admin/outbox/retry-failed`.
    #[serde(rename = "email.retried_all")]
    EmailRetriedAll,
    /// `POST /admin/email/test`.
    #[serde(rename = "email.test_sent")]
    EmailTestSent,
    /// `POST /debug/delete-examples` (debug mode only).
    #[serde(rename = "debug.examples_deleted")]
    ExamplesDeleted,
    /// Security: a sign-in refused because the guess limit was reached.
    #[serde(rename = "login.throttled")]
    LoginThrottled,
    /// Security: a user changed their own password.
    #[serde(rename = "password.changed")]
    PasswordChanged,
    /// Security: a password set with a recovery link.
    #[serde(rename = "password.recovered")]
    PasswordRecovered,
    /// Security: a user revoked one of their sessions.
    #[serde(rename = "session.revoked")]
    SessionRevoked,
    /// Security: the first administrator created with the setup link.
    #[serde(rename = "setup.completed")]
    SetupCompleted,
    /// Security: an account linked to (or provisioned from) the directory
    /// or the identity provider.
    #[serde(rename = "identity.linked")]
    IdentityLinked,
    /// A user deleted their own account (`DELETE /users/me`).
    #[serde(rename = "account.deleted")]
    AccountDeleted,
    /// An administrator or the event's manager checked someone in
    /// (`POST /events/{id}/check-ins`).
    #[serde(rename = "checkin.recorded")]
    CheckInRecorded,
    /// A check-in undone (`DELETE /events/{id}/check-ins/{user_id}`).
    #[serde(rename = "checkin.undone")]
    CheckInUndone,
}

impl Action {
    /// Every action (the filter's documentation, tests).
    pub const ALL: &'static [Action] = &[
        Action::UserRoleChanged,
        Action::UserUpdated,
        Action::UserRestored,
        Action::UserDeleted,
        Action::UserPasswordReset,
        Action::EventCreated,
        Action::EventUpdated,
        Action::EventCancelled,
        Action::EventRestored,
        Action::CategoryCreated,
        Action::CategoryUpdated,
        Action::CategoryDeleted,
        Action::EmailRetried,
        Action::EmailRetriedAll,
        Action::EmailTestSent,
        Action::ExamplesDeleted,
        Action::LoginThrottled,
        Action::PasswordChanged,
        Action::PasswordRecovered,
        Action::SessionRevoked,
        Action::SetupCompleted,
        Action::IdentityLinked,
        Action::AccountDeleted,
        Action::CheckInRecorded,
        Action::CheckInUndone,
    ];
}

/// The kind of thing an action was done to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetType {
    User,
    Event,
    Category,
    Email,
    Session,
    /// The installation itself (setup, clean-ups, test emails).
    System,
}

/// What an action was done to: a type and, for most, an id (a number, a
/// session UID or an email address as text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub kind: TargetType,
    pub id: Option<String>,
}

impl Target {
    pub fn user(id: i64) -> Target {
        Target::of(TargetType::User, id)
    }
    pub fn event(id: i64) -> Target {
        Target::of(TargetType::Event, id)
    }
    pub fn category(id: i64) -> Target {
        Target::of(TargetType::Category, id)
    }
    pub fn of(kind: TargetType, id: impl ToString) -> Target {
        Target {
            kind,
            id: Some(id.to_string()),
        }
    }
    pub fn system() -> Target {
        Target {
            kind: TargetType::System,
            id: None,
        }
    }
}

/// Who acted and from where: a signed-in user with the client's address,
/// or a tool (`cli`, `demo`, the directory) with no user.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Actor {
    pub user_id: Option<i64>,
    /// The email at the time (a snapshot: the entry keeps it if the user
    /// changes address later).
    pub email: Option<String>,
    /// The client address (`server.trusted_proxies` applied).
    pub ip: Option<String>,
}

impl Actor {
    pub fn user(id: i64, email: &str, ip: Option<std::net::IpAddr>) -> Actor {
        Actor {
            user_id: Some(id),
            email: Some(email.to_string()),
            ip: ip.map(|ip| ip.to_string()),
        }
    }

    /// A tool acting without a signed-in user; `name` goes where the email
    /// would (`cli`, `demo`, `directory`).
    pub fn tool(name: &str) -> Actor {
        Actor {
            user_id: None,
            email: Some(name.to_string()),
            ip: None,
        }
    }
}

/// What a secret field's old and new values are written as: only the fact
/// that it changed is recorded.
pub const REDACTED: &str = "[redacted]";

/// Changed fields: `{"field": {"before": …, "after": …}}`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Changes(BTreeMap<String, (Value, Value)>);

impl Changes {
    pub fn none() -> Changes {
        Changes::default()
    }

    /// One field changed from `before` to `after` (kept even if equal:
    /// the caller decided it is worth recording).
    pub fn with<B: Serialize, A: Serialize>(mut self, field: &str, before: B, after: A) -> Changes {
        let json = |v: serde_json::Result<Value>| v.unwrap_or(Value::Null);
        self.0.insert(
            field.to_string(),
            (
                json(serde_json::to_value(before)),
                json(serde_json::to_value(after)),
            ),
        );
        self
    }

    /// A secret field that changed; its values are not recorded.
    pub fn secret(self, field: &str) -> Changes {
        self.with(field, REDACTED, REDACTED)
    }

    /// The fields whose values differ between two JSON objects (fields
    /// missing on one side count as `null`).
    pub fn diff(before: &Value, after: &Value) -> Changes {
        let empty = serde_json::Map::new();
        let b = before.as_object().unwrap_or(&empty);
        let a = after.as_object().unwrap_or(&empty);
        let mut out = BTreeMap::new();
        for key in b.keys().chain(a.keys()) {
            let old = b.get(key).cloned().unwrap_or(Value::Null);
            let new = a.get(key).cloned().unwrap_or(Value::Null);
            if old != new {
                out.insert(key.clone(), (old, new));
            }
        }
        Changes(out)
    }

    /// Whether a field is among the changes.
    pub fn has(&self, field: &str) -> bool {
        self.0.contains_key(field)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The JSON form stored and shown.
    pub fn to_json(&self) -> Value {
        let map = self
            .0
            .iter()
            .map(|(k, (b, a))| (k.clone(), serde_json::json!({ "before": b, "after": a })))
            .collect::<serde_json::Map<_, _>>();
        Value::Object(map)
    }
}

/// An entry to append.
#[derive(Debug, Clone)]
pub struct NewEntry {
    pub at: Ts,
    pub actor: Actor,
    pub action: Action,
    pub target: Target,
    pub changes: Value,
}

/// A stored entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub id: i64,
    pub at: Ts,
    pub actor: Actor,
    pub action: Action,
    pub target: Target,
    pub changes: Value,
}

/// Which entries to list, newest first.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub actor_id: Option<i64>,
    /// Case-insensitive substring of the actor's email snapshot (folded).
    pub actor: Option<String>,
    pub action: Option<Action>,
    pub target_type: Option<TargetType>,
    pub target_id: Option<String>,
    /// Inclusive bounds on the time.
    pub from: Option<Ts>,
    pub to: Option<Ts>,
    /// `None`: no limit.
    pub limit: Option<i64>,
    pub offset: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn diff_keeps_only_changed_fields() {
        let c = Changes::diff(
            &json!({"a": 1, "b": "x", "c": null}),
            &json!({"a": 1, "b": "y", "d": true}),
        );
        assert_eq!(
            c.to_json(),
            json!({
                "b": {"before": "x", "after": "y"},
                "d": {"before": null, "after": true},
            })
        );
    }

    #[test]
    fn secrets_are_not_recorded() {
        let c = Changes::none().secret("password");
        assert_eq!(
            c.to_json(),
            json!({"password": {"before": REDACTED, "after": REDACTED}})
        );
    }

    #[test]
    fn action_names_are_distinct() {
        let names: std::collections::HashSet<String> = Action::ALL
            .iter()
            .map(|a| serde_json::to_string(a).unwrap())
            .collect();
        assert_eq!(names.len(), Action::ALL.len());
    }
}
