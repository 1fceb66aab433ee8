//! Queries of the users area.

use crate::domain::error::DomainResult;
use crate::domain::time::Ts;
use crate::domain::user::{IdentityProvider, Role, SignInMethod, UserStatus};

/// A user as stored (without the password hash).
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: i64,
    pub role: Role,
    pub email: String,
    pub full_name: String,
    pub created_at: Ts,
    pub deleted_at: Option<Ts>,
    /// The directory or identity provider the account is linked to.
    pub identity_provider: Option<IdentityProvider>,
    /// Whether a local password is set (accounts provisioned by a
    /// directory have none).
    pub has_password: bool,
}

impl User {
    pub fn status(&self) -> UserStatus {
        if self.deleted_at.is_some() {
            UserStatus::Deleted
        } else {
            UserStatus::Active
        }
    }

    /// How the account can sign in: its local password (if set), then the
    /// identity it is linked to.
    pub fn sign_in(&self) -> Vec<SignInMethod> {
        let password = self.has_password.then_some(SignInMethod::Password);
        password
            .into_iter()
            .chain(self.identity_provider.map(SignInMethod::from))
            .collect()
    }

    /// Counts towards "at least one administrator remains".
    pub fn is_active_admin(&self) -> bool {
        self.deleted_at.is_none() && self.role.is_admin()
    }
}

/// Which users a listing returns, ordered by id.
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    /// Case-insensitive substring of the full name.
    pub full_name: Option<String>,
    /// Case-insensitive substring of the email or the full name.
    pub q: Option<String>,
    pub role: Option<Role>,
    /// `None`: deleted or not.
    pub status: Option<UserStatus>,
    /// Inclusive bounds on `created_at`.
    pub created_from: Option<Ts>,
    pub created_to: Option<Ts>,
    /// `None`: no limit.
    pub limit: Option<i64>,
    pub offset: i64,
}

/// What [`UserStore::delete_examples`] removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeletedExamples {
    pub users: usize,
    pub events: usize,
}

/// The users queries a transaction offers (implemented per backend).
pub trait UserStore {
    /// The user by id, deleted or not.
    fn user(&mut self, id: i64) -> DomainResult<Option<User>>;
    /// The user by email, compared case-insensitively.
    fn user_by_email(&mut self, email: &str) -> DomainResult<Option<User>>;
    /// Whether another user (not `except`) has this email, any case.
    fn email_in_use(&mut self, email: &str, except: Option<i64>) -> DomainResult<bool>;
    /// Holds the user's row for the rest of this write transaction, so that
    /// rules counting the user's rows (the upload quota and rate) see every
    /// concurrent writer's commit. PostgreSQL: `SELECT … FOR UPDATE`;
    /// SQLite: nothing to do (its single writer serialises every write).
    fn lock_user(&mut self, id: i64) -> DomainResult<()>;
    /// Holds the rows of the active administrators for the rest of this
    /// write transaction (the last-administrator rule: two administrators
    /// demoted at once must not both pass). SQLite: nothing to do.
    fn lock_administrators(&mut self) -> DomainResult<()>;
    /// Whether any user exists at all.
    fn has_users(&mut self) -> DomainResult<bool>;
    fn list_users(&mut self, filter: &UserFilter) -> DomainResult<Vec<User>>;
    fn set_user_role(&mut self, id: i64, role: Role) -> DomainResult<()>;
    fn set_user_email(&mut self, id: i64, email: &str) -> DomainResult<()>;
    fn set_user_full_name(&mut self, id: i64, full_name: &str) -> DomainResult<()>;
    /// The user linked to `subject` at `provider`, deleted or not.
    fn user_by_identity(
        &mut self,
        provider: IdentityProvider,
        subject: &str,
    ) -> DomainResult<Option<User>>;
    /// Links the user to `subject` at `provider` (replacing any link).
    fn link_identity(
        &mut self,
        id: i64,
        provider: IdentityProvider,
        subject: &str,
    ) -> DomainResult<()>;
    /// Soft-deletes (`Some`) or restores (`None`).
    fn set_user_deleted(&mut self, id: i64, deleted_at: Option<Ts>) -> DomainResult<()>;
    /// Removes `@example.com` users and `https://example.com/` events with
    /// everything that depends on them (debug clean-up of test data).
    fn delete_examples(&mut self) -> DomainResult<DeletedExamples>;
}
