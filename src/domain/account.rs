//! Accounts: registration, sessions and recovery rules that need no I/O.

use chrono::Duration;

use crate::domain::time::Ts;

/// Pending registrations and recovery tokens are valid this long (API.md).
pub const TOKEN_LIFETIME: Duration = Duration::hours(24);

/// Whether a registration or recovery token issued at `issued_at` has expired
/// at `now`.
pub fn token_expired(issued_at: Ts, now: Ts) -> bool {
    issued_at.0 + TOKEN_LIFETIME <= now.0
}

/// An issue time that makes a token expired at `now` (debug routes).
pub fn expired_issue_time(now: Ts) -> Ts {
    Ts(now.0 - TOKEN_LIFETIME - Duration::seconds(1))
}

/// Whether a session last seen at `last_seen` is still valid at `now`.
pub fn session_alive(last_seen: Ts, now: Ts, ttl_days: i64) -> bool {
    last_seen.0 + Duration::days(ttl_days) > now.0
}

/// Whether a session created at `created` is within its absolute lifetime
/// (`auth.session_max_days`) at `now`, however recently it was used.
pub fn session_young(created: Ts, now: Ts, max_days: i64) -> bool {
    created.0 + Duration::days(max_days) > now.0
}

/// Wrong codes a pending registration takes; then it is void and the person
/// registers again.
pub const MAX_CODE_FAILURES: u32 = 5;

/// `last_seen_at` of a session is written at most this often.
pub const TOUCH_EVERY: Duration = Duration::seconds(60);

/// Lower-cases an email for lookups and uniqueness (Unicode-aware).
pub fn email_key(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Folds text for case-insensitive search (Unicode-aware, unlike SQLite's
/// `lower()`).
pub fn fold(text: &str) -> String {
    text.to_lowercase()
}

/// The contract's texts of the accounts area.
pub mod messages {
    pub const INVALID_CODE: &str = "Invalid verification code";
    pub const TOO_MANY_VERIFICATIONS: &str = "Too many verification requests, try later";
    pub const TOO_MANY_LOGINS: &str = "Too many login attempts, try later";
    pub const TOO_MANY_RECOVERIES: &str = "Too many recovery requests, try later";
    pub const INVALID_RECOVERY: &str = "Invalid recovery token";
    pub const RECOVERY_EXPIRED: &str = "Recovery token expired";
    pub const INVALID_CREDENTIALS: &str = "Invalid email or password";
    pub const INVALID_PASSWORD: &str = "Invalid password";
    pub const SESSION_NOT_FOUND: &str = "Session not found";
    pub const INVALID_SETUP_TOKEN: &str = "Invalid setup token";
    pub const SETUP_COMPLETED: &str = "Setup already completed";
    pub const NO_REGISTRATIONS: &str = "No issued registrations found";
    pub const NO_RECOVERIES: &str = "No issued recoveries found";
    pub const REGISTRATION_NOT_FOUND: &str = "Registration not found";
    pub const RECOVERY_NOT_FOUND: &str = "Recovery not found";
    pub const BUSY: &str = "Too many requests, try later";
    /// `auth.password_login = false`: registration, recovery and password
    /// sign-in of non-administrators.
    pub const PASSWORD_LOGIN_DISABLED: &str = "Password sign-in is disabled";
    /// The directory (LDAP) could not be asked; the cause is logged.
    pub const DIRECTORY_UNAVAILABLE: &str = "Sign-in directory unavailable, try later";
    /// The account with this email is linked to another directory entry or
    /// identity (linking happens once, by email; afterwards by identity).
    pub const LINKED_ELSEWHERE: &str = "This account is linked to another identity";
}

/// The user behind a valid login session.
#[derive(Debug, Clone)]
pub struct SessionUser {
    pub session_uid: uuid::Uuid,
    pub id: i64,
    pub role: crate::domain::user::Role,
    pub email: String,
    pub full_name: String,
}

impl SessionUser {
    /// The one admin predicate, applied to this user's role.
    pub fn is_admin(&self) -> bool {
        self.role.is_admin()
    }
}

/// A user as created by registration, setup or the CLI.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: i64,
    pub email: String,
    pub full_name: String,
    pub role: crate::domain::user::Role,
    pub created_at: Ts,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_expires_exactly_after_its_lifetime() {
        let t = Ts::parse("2026-05-01T10:00:00Z").unwrap();
        assert!(!token_expired(
            t,
            Ts(t.0 + TOKEN_LIFETIME - Duration::seconds(1))
        ));
        assert!(token_expired(t, Ts(t.0 + TOKEN_LIFETIME)));
        assert!(token_expired(expired_issue_time(t), t));
    }

    #[test]
    fn a_session_ends_at_its_absolute_lifetime() {
        let t = Ts::parse("2026-05-01T10:00:00Z").unwrap();
        assert!(session_young(
            t,
            Ts(t.0 + Duration::days(30) - Duration::seconds(1)),
            30
        ));
        assert!(!session_young(t, Ts(t.0 + Duration::days(30)), 30));
    }
}
