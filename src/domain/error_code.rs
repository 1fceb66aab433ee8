//! Machine-readable error codes: every error body carries one next to its
//! human `detail`, so clients (the web UI's Russian texts among them)
//! recognise an error without matching English wording.
//!
//! The code is chosen in one place, [`ErrorCode::of`]: the contract's fixed
//! texts have their own ([`ErrorCode::of_message`]); any other message gets
//! the generic code of its kind. Codes are stable: a
//! code once sent is never renamed or reused for another meaning.

use crate::domain::error::DomainError;

macro_rules! error_codes {
    ($($(#[$doc:meta])* $variant:ident = $code:literal),* $(,)?) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($(#[$doc])* $variant,)*
        }

        impl ErrorCode {
            /// Every code, in declaration order (the OpenAPI enum).
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $code,)*
                }
            }
        }
    };
}

error_codes! {
    // The generic code of each kind of error.
    /// 404: the thing asked for does not exist.
    NotFound = "not_found",
    /// 400: a rule of the product refuses the change.
    Refused = "refused",
    /// 401: no or a wrong session or credentials.
    Unauthenticated = "unauthenticated",
    /// 403: the caller may not do this.
    Forbidden = "forbidden",
    /// 415: content of a kind the product does not take.
    UnsupportedMediaType = "unsupported_media_type",
    /// 413: content larger than allowed.
    TooLarge = "too_large",
    /// 507: the disk keeps its reserve.
    InsufficientStorage = "insufficient_storage",
    /// 429: too many attempts; see `Retry-After`.
    RateLimited = "rate_limited",
    /// 422: invalid input; each entry of `detail` has its own `code`.
    ValidationFailed = "validation_failed",
    /// 503: try again later (`Retry-After`).
    Unavailable = "unavailable",
    /// 500: a defect; logged on the server.
    Internal = "internal",
    /// 400: a body that cannot be read in the route's format.
    BadRequest = "bad_request",
    /// 421: a `Host` the server does not serve.
    UnknownHost = "unknown_host",

    // The contract's fixed texts.
    InvalidSession = "invalid_session",
    RequestTimedOut = "request_timed_out",
    AdminRequired = "admin_required",
    EventNotFound = "event_not_found",
    UserNotFound = "user_not_found",
    EventFinished = "event_finished",
    EventFull = "event_full",
    EventHasFreeSeats = "event_has_free_seats",
    AttendeesHidden = "attendees_hidden",
    EmailExists = "email_exists",
    LastAdmin = "last_admin",
    InvalidCode = "invalid_code",
    TooManyVerifications = "too_many_verifications",
    TooManyLogins = "too_many_logins",
    TooManyRecoveries = "too_many_recoveries",
    InvalidRecovery = "invalid_recovery",
    RecoveryExpired = "recovery_expired",
    InvalidCredentials = "invalid_credentials",
    InvalidPassword = "invalid_password",
    SessionNotFound = "session_not_found",
    InvalidSetupToken = "invalid_setup_token",
    SetupCompleted = "setup_completed",
    NoRegistrations = "no_registrations",
    NoRecoveries = "no_recoveries",
    RegistrationNotFound = "registration_not_found",
    RecoveryNotFound = "recovery_not_found",
    Busy = "busy",
    PasswordLoginDisabled = "password_login_disabled",
    DirectoryUnavailable = "directory_unavailable",
    LinkedElsewhere = "linked_elsewhere",
    CategoryExists = "category_exists",
    CategoryNotFound = "category_not_found",
    CalendarNotFound = "calendar_not_found",
    DeletedUserPassword = "deleted_user_password",
    UseDelete = "use_delete",
    StartsBeforeCreation = "starts_before_creation",
    EndsBeforeStart = "ends_before_start",
    ParticipantsMissing = "participants_missing",
    UnsupportedFormat = "unsupported_format",
    UnsupportedFileType = "unsupported_file_type",
    FileTooLarge = "file_too_large",
    NotificationNotFound = "notification_not_found",
    EmailNotFound = "email_not_found",
    EmailAlreadySent = "email_already_sent",
    EmailSending = "email_sending",
    PasswordRequired = "password_required",
    RecentSignInRequired = "recent_sign_in_required",
    WebhookNotFound = "webhook_not_found",
    DeliveryNotFound = "delivery_not_found",
    WebhookDisabled = "webhook_disabled",
    InvalidTicket = "invalid_ticket",
    TicketOtherEvent = "ticket_other_event",
    NotParticipating = "not_participating",
    WaitlistedNotParticipating = "waitlisted_not_participating",
    DeclinedNotParticipating = "declined_not_participating",
    CheckinNotOpen = "checkin_not_open",
    CheckinClosed = "checkin_closed",
    EventCancelled = "event_cancelled",
    TicketOrUser = "ticket_or_user",
    ManagersMissing = "managers_missing",
    ManagersAdminOnly = "managers_admin_only",
}

impl ErrorCode {
    /// The machine-readable code of the error bodies: the contract text's
    /// own code where the message is one, else the generic code of the kind.
    pub fn of(error: &DomainError) -> ErrorCode {
        let (message, generic) = match error {
            DomainError::NotFound(m) => (m.as_ref(), ErrorCode::NotFound),
            DomainError::Rule(m) => (m.as_ref(), ErrorCode::Refused),
            DomainError::Unauthenticated(m) => (m.as_ref(), ErrorCode::Unauthenticated),
            DomainError::Forbidden(m) => (m.as_ref(), ErrorCode::Forbidden),
            DomainError::Unsupported(m) => (m.as_ref(), ErrorCode::UnsupportedMediaType),
            DomainError::TooLarge(m) => (m.as_ref(), ErrorCode::TooLarge),
            DomainError::NoSpace(m) => (m.as_ref(), ErrorCode::InsufficientStorage),
            DomainError::RateLimited { message, .. } => (message.as_ref(), ErrorCode::RateLimited),
            DomainError::Unavailable(cause) => (cause.as_str(), ErrorCode::Unavailable),
            DomainError::Invalid(_) => return ErrorCode::ValidationFailed,
            DomainError::Internal(_) => return ErrorCode::Internal,
        };
        Self::of_message(message).unwrap_or(generic)
    }

    /// The code of one of the contract's fixed texts, if it is one.
    pub fn of_message(message: &str) -> Option<ErrorCode> {
        use crate::domain::account::messages as a;
        use crate::domain::error::messages as m;
        use crate::domain::organiser as o;
        use crate::domain::webhook as w;
        use ErrorCode::*;
        let code = match message {
            m::INVALID_SESSION => InvalidSession,
            m::REQUEST_TIMED_OUT => RequestTimedOut,
            m::ADMIN_REQUIRED => AdminRequired,
            m::EVENT_NOT_FOUND => EventNotFound,
            m::USER_NOT_FOUND => UserNotFound,
            m::EVENT_FINISHED => EventFinished,
            m::EVENT_FULL => EventFull,
            m::EVENT_HAS_FREE_SEATS => EventHasFreeSeats,
            m::ATTENDEES_HIDDEN => AttendeesHidden,
            m::EMAIL_EXISTS => EmailExists,
            m::LAST_ADMIN => LastAdmin,
            m::DELETED_USER_PASSWORD => DeletedUserPassword,
            m::USE_DELETE => UseDelete,
            m::STARTS_BEFORE_CREATION => StartsBeforeCreation,
            m::ENDS_BEFORE_START => EndsBeforeStart,
            m::PARTICIPANTS_MISSING => ParticipantsMissing,
            m::UNSUPPORTED_FORMAT => UnsupportedFormat,
            m::UNSUPPORTED_FILE_TYPE => UnsupportedFileType,
            m::FILE_TOO_LARGE => FileTooLarge,
            m::NOTIFICATION_NOT_FOUND => NotificationNotFound,
            m::EMAIL_NOT_FOUND => EmailNotFound,
            m::EMAIL_ALREADY_SENT => EmailAlreadySent,
            m::EMAIL_SENDING => EmailSending,
            m::PASSWORD_REQUIRED => PasswordRequired,
            m::SIGN_IN_AGAIN => RecentSignInRequired,
            o::INVALID_TICKET => InvalidTicket,
            o::TICKET_OTHER_EVENT => TicketOtherEvent,
            o::NOT_PARTICIPATING => NotParticipating,
            o::WAITLISTED_NOT_PARTICIPATING => WaitlistedNotParticipating,
            o::DECLINED_NOT_PARTICIPATING => DeclinedNotParticipating,
            o::CHECKIN_NOT_OPEN => CheckinNotOpen,
            o::CHECKIN_CLOSED => CheckinClosed,
            o::EVENT_CANCELLED => EventCancelled,
            o::TICKET_OR_USER => TicketOrUser,
            o::MANAGERS_MISSING => ManagersMissing,
            o::MANAGERS_ADMIN_ONLY => ManagersAdminOnly,
            w::WEBHOOK_NOT_FOUND => WebhookNotFound,
            w::DELIVERY_NOT_FOUND => DeliveryNotFound,
            w::WEBHOOK_DISABLED => WebhookDisabled,
            m::CATEGORY_EXISTS => CategoryExists,
            m::CATEGORY_NOT_FOUND => CategoryNotFound,
            m::CALENDAR_NOT_FOUND => CalendarNotFound,
            m::UNKNOWN_HOST => UnknownHost,
            a::INVALID_CODE => InvalidCode,
            a::TOO_MANY_VERIFICATIONS => TooManyVerifications,
            a::TOO_MANY_LOGINS => TooManyLogins,
            a::TOO_MANY_RECOVERIES => TooManyRecoveries,
            a::INVALID_RECOVERY => InvalidRecovery,
            a::RECOVERY_EXPIRED => RecoveryExpired,
            a::INVALID_CREDENTIALS => InvalidCredentials,
            a::INVALID_PASSWORD => InvalidPassword,
            a::SESSION_NOT_FOUND => SessionNotFound,
            a::INVALID_SETUP_TOKEN => InvalidSetupToken,
            a::SETUP_COMPLETED => SetupCompleted,
            a::NO_REGISTRATIONS => NoRegistrations,
            a::NO_RECOVERIES => NoRecoveries,
            a::REGISTRATION_NOT_FOUND => RegistrationNotFound,
            a::RECOVERY_NOT_FOUND => RecoveryNotFound,
            a::BUSY => Busy,
            a::PASSWORD_LOGIN_DISABLED => PasswordLoginDisabled,
            a::DIRECTORY_UNAVAILABLE => DirectoryUnavailable,
            a::LINKED_ELSEWHERE => LinkedElsewhere,
            _ => return None,
        };
        Some(code)
    }
}

#[cfg(test)]
mod tests {
    use super::ErrorCode;

    #[test]
    fn codes_are_unique_snake_case() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            let s = code.as_str();
            assert!(seen.insert(s), "{s} twice");
            assert!(s.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{s}");
        }
    }

    #[test]
    fn fixed_texts_have_their_code() {
        use crate::domain::error::messages as m;
        assert_eq!(
            ErrorCode::of_message(m::EVENT_FULL),
            Some(ErrorCode::EventFull)
        );
        assert_eq!(ErrorCode::of_message("job 7 not found"), None);
    }
}
