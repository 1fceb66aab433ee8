//! Queries of the accounts area: users as credentials, pending
//! registrations, login sessions and recovery tokens.
//!
//! Secrets never cross this interface in clear: a registration's code is
//! sealed by the service before it is stored, session and recovery tokens
//! are stored and looked up by digest.

use uuid::Uuid;

use crate::domain::error::DomainResult;
use crate::domain::time::Ts;
use crate::domain::user::Role;

/// A user to insert.
#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    pub email: &'a str,
    pub full_name: &'a str,
    pub password_hash: &'a str,
    pub role: Role,
    pub now: Ts,
}

/// An OpenID Connect sign-in waiting for the provider's callback.
#[derive(Debug, Clone, PartialEq)]
pub struct OidcLogin {
    /// SHA-256 (hex) of the `state` sent to the provider.
    pub state_hash: String,
    pub nonce: String,
    pub pkce_verifier: String,
    pub created_at: Ts,
}

/// A user as a credential check sees it.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub user_id: i64,
    pub password_hash: String,
    pub deleted: bool,
}

/// A pending (or used) registration.
#[derive(Debug, Clone)]
pub struct Registration {
    pub id: i64,
    pub token: Uuid,
    pub email: String,
    pub full_name: String,
    pub password_hash: String,
    /// The 6-digit code, sealed with the data dir's key.
    pub code_sealed: String,
    pub created_at: Ts,
    pub used: bool,
    /// Wrong codes entered so far.
    pub failed_attempts: u32,
}

/// A registration to insert.
#[derive(Debug, Clone)]
pub struct NewRegistration<'a> {
    pub token: Uuid,
    pub email: &'a str,
    pub full_name: &'a str,
    pub password_hash: &'a str,
    pub code_sealed: &'a str,
    pub now: Ts,
}

/// A session with its user, as the extractors need it.
#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub token_hash: String,
    pub created_at: Ts,
    pub last_seen_at: Ts,
    pub user_id: i64,
    pub role: Role,
    pub email: String,
    pub full_name: String,
    pub user_deleted: bool,
}

/// One of a user's sessions, for the list.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub uid: Uuid,
    pub user_agent: Option<String>,
    pub created_at: Ts,
    pub last_seen_at: Ts,
}

/// A recovery token's row (found by digest).
#[derive(Debug, Clone)]
pub struct Recovery {
    pub id: i64,
    pub user_id: i64,
    pub created_at: Ts,
    pub used: bool,
    pub user_deleted: bool,
}

/// The accounts queries a transaction offers (implemented per backend).
pub trait AccountStore {
    /// Whether any user (active or deleted) has this email, any case.
    fn email_taken(&mut self, email: &str) -> DomainResult<bool>;
    /// Inserts a user; the caller checked the email is free.
    fn insert_user(&mut self, user: &NewUser) -> DomainResult<i64>;
    /// Password hash and state of the user with this email, any case.
    fn credentials_by_email(&mut self, email: &str) -> DomainResult<Option<Credentials>>;
    /// The stored password hash of a user.
    fn password_hash(&mut self, user_id: i64) -> DomainResult<Option<String>>;
    fn set_password_hash(&mut self, user_id: i64, hash: &str) -> DomainResult<()>;
    /// Id of the active (not deleted) user with this email, any case.
    fn active_user_by_email(&mut self, email: &str) -> DomainResult<Option<i64>>;

    fn insert_registration(&mut self, registration: &NewRegistration) -> DomainResult<()>;
    fn registration(&mut self, token: Uuid) -> DomainResult<Option<Registration>>;
    /// The most recently created registration, used or not.
    fn newest_registration(&mut self) -> DomainResult<Option<Registration>>;
    fn mark_registration_used(&mut self, id: i64, now: Ts) -> DomainResult<()>;
    /// Counts one wrong code against a registration.
    fn registration_failed(&mut self, id: i64) -> DomainResult<()>;
    /// Sets a registration's creation time; `false` when the token is unknown.
    fn set_registration_created(&mut self, token: Uuid, at: Ts) -> DomainResult<bool>;

    /// Inserts a session (the token only as its digest).
    fn insert_session(
        &mut self,
        uid: Uuid,
        user_id: i64,
        token_hash: &str,
        user_agent: Option<&str>,
        now: Ts,
    ) -> DomainResult<()>;
    fn session(&mut self, uid: Uuid) -> DomainResult<Option<SessionRecord>>;
    fn touch_session(&mut self, uid: Uuid, now: Ts) -> DomainResult<()>;
    /// A user's sessions seen after `seen_after`, most recently used first.
    fn sessions_of(&mut self, user_id: i64, seen_after: Ts) -> DomainResult<Vec<SessionInfo>>;
    /// Deletes one session of a user; `false` when there is none.
    fn delete_session(&mut self, uid: Uuid, user_id: i64) -> DomainResult<bool>;
    /// Deletes every session of a user except `keep`.
    fn delete_sessions_of(&mut self, user_id: i64, keep: Option<Uuid>) -> DomainResult<usize>;

    fn insert_recovery(&mut self, token_hash: &str, user_id: i64, now: Ts) -> DomainResult<()>;
    fn recovery(&mut self, token_hash: &str) -> DomainResult<Option<Recovery>>;
    fn mark_recovery_used(&mut self, id: i64, now: Ts) -> DomainResult<()>;
    /// Voids every unused recovery token of a user (their password changed).
    fn void_recoveries(&mut self, user_id: i64) -> DomainResult<usize>;
    /// Sets a recovery's creation time; `false` when the digest is unknown.
    fn set_recovery_created(&mut self, token_hash: &str, at: Ts) -> DomainResult<bool>;

    /// Adds a pending first-run setup token (its digest).
    fn insert_setup_token(&mut self, token_hash: &str, now: Ts) -> DomainResult<()>;
    /// The digests of the pending setup tokens.
    fn setup_tokens(&mut self) -> DomainResult<Vec<String>>;
    /// Deletes every pending setup token and returns their digests. Of two
    /// writers taking them at once, the second waits for the first's commit
    /// and then finds none (or, if it rolled back, all of them).
    fn take_setup_tokens(&mut self) -> DomainResult<Vec<String>>;
    /// Remembers a sign-in sent to the OpenID Provider.
    fn insert_oidc_login(&mut self, login: &OidcLogin) -> DomainResult<()>;
    /// Deletes and returns the sign-in with this state digest: a state is
    /// taken once (a replay finds nothing).
    fn take_oidc_login(&mut self, state_hash: &str) -> DomainResult<Option<OidcLogin>>;
    /// Deletes sign-ins started before `before` (never completed).
    fn delete_oidc_logins_before(&mut self, before: Ts) -> DomainResult<usize>;
}
