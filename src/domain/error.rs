//! The one error type of the domain and its services.
//!
//! It names what went wrong in the product's terms and carries the message
//! the contract (API.md) shows to people; it knows nothing of HTTP. The HTTP
//! layer maps each kind to a status in one place (`http::error`), the CLI
//! prints the message.

use std::borrow::Cow;

/// One invalid input field: where (`["body", "email"]`, list indexes as
/// integers), what is wrong and a machine-readable kind (`value_error`,
/// `missing`, …) as the contract has it; then a stable `code` (the kind, or
/// a narrower one such as `invalid_email`) and, for limits, `ctx` with the
/// bound (`{"min": 8}`), so a client words the problem itself.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FieldError {
    pub loc: Vec<serde_json::Value>,
    pub msg: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ctx: Option<serde_json::Map<String, serde_json::Value>>,
}

impl FieldError {
    pub fn new(loc: &[&str], msg: impl Into<String>, kind: &str) -> Self {
        Self::at(
            loc.iter().map(|s| serde_json::Value::from(*s)).collect(),
            msg,
            kind,
        )
    }

    pub fn at(loc: Vec<serde_json::Value>, msg: impl Into<String>, kind: &str) -> Self {
        Self {
            loc,
            msg: msg.into(),
            kind: kind.into(),
            code: kind.into(),
            ctx: None,
        }
    }

    /// A narrower code than the kind (`invalid_email` for a `value_error`).
    pub fn with_code(mut self, code: &str) -> Self {
        self.code = code.into();
        self
    }

    /// The bound a limit names (`min`, `max`, `gt`, `ge`).
    pub fn with_limit(mut self, key: &str, value: i64) -> Self {
        self.ctx
            .get_or_insert_with(Default::default)
            .insert(key.into(), value.into());
        self
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// The thing asked for does not exist (or is not visible to the caller).
    #[error("{0}")]
    NotFound(Cow<'static, str>),
    /// A rule of the product refuses the change ("Event already finished",
    /// "Max participants count exceeded", "Email already exists", …).
    #[error("{0}")]
    Rule(Cow<'static, str>),
    /// The caller could not be identified: no or a wrong session, wrong
    /// credentials.
    #[error("{0}")]
    Unauthenticated(Cow<'static, str>),
    /// The caller is known but may not do this.
    #[error("{0}")]
    Forbidden(Cow<'static, str>),
    /// The content is of a kind the product does not take (an upload that
    /// is not an image it can serve).
    #[error("{0}")]
    Unsupported(Cow<'static, str>),
    /// The content is larger than allowed (an upload over the user's
    /// quota).
    #[error("{0}")]
    TooLarge(Cow<'static, str>),
    /// The server refuses to store more because the disk must keep a
    /// reserve (free space below the configured minimum).
    #[error("{0}")]
    NoSpace(Cow<'static, str>),
    /// Too many attempts; try again after `retry_after_secs`.
    #[error("{message}")]
    RateLimited {
        message: Cow<'static, str>,
        retry_after_secs: u64,
    },
    /// Input that does not parse or is out of bounds, every field at once.
    #[error("invalid input: {0:?}")]
    Invalid(Vec<FieldError>),
    /// The database or disk cannot take the request right now (full,
    /// read-only, busy); the same request may succeed later.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// A defect or an unexpected failure; the cause is logged, never shown.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

pub type DomainResult<T> = Result<T, DomainError>;

impl DomainError {
    pub fn not_found(message: impl Into<Cow<'static, str>>) -> Self {
        DomainError::NotFound(message.into())
    }
    pub fn rule(message: impl Into<Cow<'static, str>>) -> Self {
        DomainError::Rule(message.into())
    }
    pub fn rate_limited(message: impl Into<Cow<'static, str>>, retry_after_secs: u64) -> Self {
        DomainError::RateLimited {
            message: message.into(),
            retry_after_secs,
        }
    }
    /// A single invalid field.
    pub fn invalid(loc: &[&str], msg: impl Into<String>, kind: &str) -> Self {
        DomainError::Invalid(vec![FieldError::new(loc, msg, kind)])
    }
    pub fn internal(message: impl std::fmt::Display) -> Self {
        DomainError::Internal(anyhow::anyhow!("{message}"))
    }
    /// `401 "Invalid login session"` of every protected route.
    pub fn invalid_session() -> Self {
        DomainError::Unauthenticated(Cow::Borrowed(messages::INVALID_SESSION))
    }
    /// The admin-only refusal.
    pub fn admin_required() -> Self {
        DomainError::Forbidden(Cow::Borrowed(messages::ADMIN_REQUIRED))
    }
}

/// The contract's texts, named once.
pub mod messages {
    pub const INVALID_SESSION: &str = "Invalid login session";
    /// A request past its deadline (`server.request_timeout_secs`): the
    /// answer of the timeout itself, and of a write the store cut off at
    /// the deadline (whichever comes first, the client reads the same).
    pub const REQUEST_TIMED_OUT: &str = "Request timed out";
    pub const ADMIN_REQUIRED: &str = "Administrator role required";
    pub const EVENT_NOT_FOUND: &str = "Event not found";
    pub const USER_NOT_FOUND: &str = "User not found";
    pub const EVENT_FINISHED: &str = "Event already finished";
    pub const EVENT_FULL: &str = "Max participants count exceeded";
    /// `WAITLISTED` asked on an event that still has a seat for the caller.
    pub const EVENT_HAS_FREE_SEATS: &str = "Event has free seats";
    /// `GET /events/{id}/attendees` of an event that hides them, for a user.
    pub const ATTENDEES_HIDDEN: &str = "Attendees are hidden";
    pub const EMAIL_EXISTS: &str = "Email already exists";
    pub const LAST_ADMIN: &str = "Cannot remove the last administrator";
    pub const DELETED_USER_PASSWORD: &str = "Cannot reset password for deleted user";
    /// `PATCH /users/{id}` with `status: DELETED`.
    pub const USE_DELETE: &str = "Use DELETE to delete a user";
    pub const STARTS_BEFORE_CREATION: &str = "starts_at must be later than created_at";
    pub const ENDS_BEFORE_START: &str = "ends_at must be later than starts_at";
    pub const PARTICIPANTS_MISSING: &str = "Some participants are missing or deleted";
    /// An export format other than csv/xlsx.
    pub const UNSUPPORTED_FORMAT: &str = "Unsupported format";
    pub const UNSUPPORTED_FILE_TYPE: &str = "Unsupported file type";
    pub const FILE_TOO_LARGE: &str = "File too large";
    pub const NOTIFICATION_NOT_FOUND: &str = "Notification not found";
    /// The outbox's emails (`/api/admin/outbox`).
    pub const EMAIL_NOT_FOUND: &str = "Email not found";
    pub const EMAIL_ALREADY_SENT: &str = "This email has been sent already";
    pub const EMAIL_SENDING: &str = "This email is being sent right now";
    pub const CALENDAR_NOT_FOUND: &str = "Calendar not found";
    pub const CATEGORY_EXISTS: &str = "Category already exists";
    pub const CATEGORY_NOT_FOUND: &str = "Category not found";
    /// No such route or file.
    pub const NOT_FOUND: &str = "Not Found";
    pub const METHOD_NOT_ALLOWED: &str = "Method Not Allowed";
    /// `DELETE /users/me` of a password account without its password.
    pub const PASSWORD_REQUIRED: &str = "Password required";
    /// `DELETE /users/me` of an account without a password, signed in too
    /// long ago.
    pub const SIGN_IN_AGAIN: &str =
        "Sign in again (within the last 10 minutes) to delete your account";
    /// A `Host` header outside `server.allowed_hosts`.
    pub const UNKNOWN_HOST: &str = "Unknown Host";
}
