//! Use cases of the users area: administrators list, change, delete,
//! restore and reset the password of users; role changes from every path
//! (HTTP, CLI, debug route) go through [`set_role`] or [`update_user`], and
//! all of them keep at least one active administrator.

use crate::domain::error::{DomainError, DomainResult, messages};
use crate::domain::notice::{Notice, To};
use crate::domain::time::Ts;
use crate::domain::user::Role;
use crate::service::audit::{self, Action, Actor, Changes, Target};
use crate::service::{Services, outbox};
use crate::store::Tx;
use crate::store::users::{DeletedExamples, User, UserFilter};

/// Refusal of a password reset for a deleted user.
pub use crate::domain::error::messages::DELETED_USER_PASSWORD;
/// Refusal of `deleted_at: <timestamp>` in an update.
pub use crate::domain::error::messages::USE_DELETE;

/// The last-administrator rule: a change that takes `user` out of the
/// active administrators is refused when no other active one remains.
pub(crate) fn keep_an_administrator(tx: &mut dyn Tx, user: &User) -> DomainResult<()> {
    if !user.is_active_admin() {
        return Ok(());
    }
    // Concurrent demotions (through any instance) queue here.
    tx.lock_administrators()?;
    if tx.active_admin_ids()? == [user.id] {
        return Err(DomainError::rule(messages::LAST_ADMIN));
    }
    Ok(())
}

/// The fields of a user the audit log compares before and after a change.
fn audited(user: &User) -> serde_json::Value {
    serde_json::json!({
        "role": user.role,
        "email": user.email,
        "full_name": user.full_name,
        "deleted_at": user.deleted_at,
    })
}

/// The action a user change is recorded as: a role change first (a
/// security event), then a restore, else an update.
fn user_action(changes: &Changes) -> Action {
    if changes.has("role") {
        Action::UserRoleChanged
    } else if changes.has("deleted_at") {
        Action::UserRestored
    } else {
        Action::UserUpdated
    }
}

fn require(tx: &mut dyn Tx, id: i64) -> DomainResult<User> {
    tx.user(id)?
        .ok_or_else(|| DomainError::not_found(messages::USER_NOT_FOUND))
}

/// The caller's own account as stored.
pub async fn me(svc: &Services, id: i64) -> DomainResult<User> {
    svc.store.read(move |tx| require(tx, id)).await
}

/// Users matching `filter`, ordered by id.
pub async fn list_users(svc: &Services, filter: UserFilter) -> DomainResult<Vec<User>> {
    svc.store.read(move |tx| tx.list_users(&filter)).await
}

/// What an administrator may change of a user; `None` leaves a field as is.
#[derive(Debug, Clone, Default)]
pub struct UserChanges {
    pub role: Option<Role>,
    /// Validated by the caller (syntax); uniqueness is checked here.
    pub email: Option<String>,
    pub full_name: Option<String>,
    /// `Some(None)` restores a deleted user; `Some(Some(_))` is refused
    /// (deleting is [`delete_user`]).
    pub deleted_at: Option<Option<Ts>>,
}

/// Changes a user's role, email, name, or restores them; returns the user
/// as stored afterwards.
pub async fn update_user(
    svc: &Services,
    actor: &Actor,
    id: i64,
    changes: UserChanges,
) -> DomainResult<User> {
    let (svc, actor) = (svc.clone(), actor.clone());
    svc.store
        .clone()
        .write(move |tx| {
            let user = require(tx, id)?;
            if let Some(Some(_)) = changes.deleted_at {
                return Err(DomainError::rule(USE_DELETE));
            }
            if let Some(email) = &changes.email
                && tx.email_in_use(email, Some(id))?
            {
                return Err(DomainError::rule(messages::EMAIL_EXISTS));
            }
            if let Some(role) = changes.role {
                if !role.is_admin() {
                    keep_an_administrator(tx, &user)?;
                }
                tx.set_user_role(id, role)?;
            }
            if let Some(email) = &changes.email {
                tx.set_user_email(id, email)?;
            }
            if let Some(name) = &changes.full_name {
                tx.set_user_full_name(id, name)?;
            }
            if changes.deleted_at == Some(None) {
                tx.set_user_deleted(id, None)?;
            }
            let after = require(tx, id)?;
            let diff = Changes::diff(&audited(&user), &audited(&after));
            audit::record(&svc, tx, &actor, user_action(&diff), Target::user(id), diff)?;
            Ok(after)
        })
        .await
}

/// Restores a deleted user (a no-op for an active one).
pub async fn restore_user(svc: &Services, actor: &Actor, id: i64) -> DomainResult<User> {
    let changes = UserChanges {
        deleted_at: Some(None),
        ..Default::default()
    };
    update_user(svc, actor, id, changes).await
}

/// Soft-deletes a user and ends their sessions; deleting a deleted user
/// changes nothing.
pub async fn delete_user(svc: &Services, actor: &Actor, id: i64) -> DomainResult<()> {
    let now = svc.now();
    let (svc, actor) = (svc.clone(), actor.clone());
    svc.store
        .clone()
        .write(move |tx| {
            let user = require(tx, id)?;
            if user.deleted_at.is_some() {
                // Nothing changes, so nothing to record.
                return Ok(());
            }
            keep_an_administrator(tx, &user)?;
            let deleted = crate::domain::webhook::UserObject {
                id,
                full_name: user.full_name.clone(),
                email: user.email.clone(),
            };
            crate::service::webhooks::emit_user_deleted(&svc, tx, now, deleted)?;
            tx.set_user_deleted(id, Some(now))?;
            let sessions = tx.delete_sessions_of(id, None)?;
            let changes = Changes::none()
                .with("deleted_at", None::<Ts>, Some(now))
                .with("sessions_revoked", 0, sessions);
            audit::record(
                &svc,
                tx,
                &actor,
                Action::UserDeleted,
                Target::user(id),
                changes,
            )
        })
        .await
}

/// Sets a user's role by email (CLI `user set-role`, debug change-role).
/// Returns the user as stored afterwards.
pub async fn set_role(
    svc: &Services,
    actor: &Actor,
    email: &str,
    role: Role,
) -> DomainResult<User> {
    let email = email.to_string();
    let (svc, actor) = (svc.clone(), actor.clone());
    svc.store
        .clone()
        .write(move |tx| {
            let user = tx
                .user_by_email(&email)?
                .ok_or_else(|| DomainError::not_found(messages::USER_NOT_FOUND))?;
            if !role.is_admin() {
                keep_an_administrator(tx, &user)?;
            }
            tx.set_user_role(user.id, role)?;
            if user.role != role {
                let changes = Changes::none().with("role", user.role, role);
                let target = Target::user(user.id);
                audit::record(&svc, tx, &actor, Action::UserRoleChanged, target, changes)?;
            }
            require(tx, user.id)
        })
        .await
}

/// Hashes on the blocking pool (never inside a write).
async fn hash(svc: &Services, password: String) -> DomainResult<String> {
    // Hashing fails only by a defect (or a lost blocking task).
    svc.passwords
        .hash(password)
        .await
        .map_err(DomainError::internal)
}

fn require_resettable(tx: &mut dyn Tx, id: i64) -> DomainResult<()> {
    if require(tx, id)?.deleted_at.is_some() {
        return Err(DomainError::rule(DELETED_USER_PASSWORD));
    }
    Ok(())
}

/// An administrator sets a user's password: their sessions end, and with
/// `send_email` the user is mailed the new password.
pub async fn reset_password(
    svc: &Services,
    actor: &Actor,
    id: i64,
    password: String,
    send_email: bool,
) -> DomainResult<()> {
    // Refuse before paying for a hash; checked again in the write.
    svc.store.read(move |tx| require_resettable(tx, id)).await?;
    let hash = hash(svc, password.clone()).await?;
    let svc2 = svc.clone();
    let actor = actor.clone();
    svc.store
        .write(move |tx| {
            require_resettable(tx, id)?;
            tx.set_password_hash(id, &hash)?;
            let sessions = tx.delete_sessions_of(id, None)?;
            let changes = Changes::none()
                .secret("password")
                .with("sessions_revoked", 0, sessions)
                .with("send_email", false, send_email);
            let target = Target::user(id);
            audit::record(
                &svc2,
                tx,
                &actor,
                Action::UserPasswordReset,
                target,
                changes,
            )?;
            // A new password voids every recovery link issued before it.
            tx.void_recoveries(id)?;
            if send_email {
                let notice = Notice::AdminSetPassword { password };
                outbox::notify(&svc2, tx, &notice, &[To::User(id)])?;
            }
            Ok(())
        })
        .await
}

/// Whether the database has any user (the demo seeds only an empty one).
pub async fn has_users(svc: &Services) -> DomainResult<bool> {
    svc.store.read(|tx| tx.has_users()).await
}

/// Debug clean-up: removes `@example.com` users and `https://example.com/`
/// events with everything that depends on them.
pub async fn delete_examples(svc: &Services, actor: &Actor) -> DomainResult<DeletedExamples> {
    let (svc, actor) = (svc.clone(), actor.clone());
    svc.store
        .clone()
        .write(move |tx| {
            let deleted = tx.delete_examples()?;
            let changes =
                Changes::none()
                    .with("users", 0, deleted.users)
                    .with("events", 0, deleted.events);
            let target = Target::system();
            audit::record(&svc, tx, &actor, Action::ExamplesDeleted, target, changes)?;
            Ok(deleted)
        })
        .await
}
