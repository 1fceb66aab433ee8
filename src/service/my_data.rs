//! "Your data": a person downloads everything stored about them, or
//! deletes their account.
//!
//! Deleting keeps the account's row (other rows point at it) but makes it
//! no one's: the name and email are replaced by a unique placeholder, the
//! password hash and the identity link are removed, and every row that is
//! only the person's (sessions, recovery links, the calendar token,
//! preferences, reminder offsets, notifications) is deleted. Participation
//! rows stay, so events' and the statistics' totals do not change; they
//! now belong to "Deleted user".

use chrono::Duration;

use crate::domain::account::messages as m;
use crate::domain::account::{SessionUser, email_key, fold};
use crate::domain::error::{DomainError, DomainResult, messages};
use crate::domain::preferences::Preferences;
use crate::domain::time::Ts;
use crate::service::audit::{self, Action, Actor, Changes, Target};
use crate::service::{Services, limits, preferences, users};
use crate::store::accounts::SessionInfo;
use crate::store::notifications::InAppRow;
use crate::store::personal::{Anonymised, MyParticipationRow};
use crate::store::users::User;

/// How recent a session must be for an account without a password (signed
/// in through LDAP or OpenID Connect) to be deleted with it: the person
/// signed in again just now, instead of typing a password we do not have.
pub const FRESH_SIGN_IN: Duration = Duration::minutes(10);

/// The name a deleted account is shown with.
pub const DELETED_NAME: &str = "Deleted user";

/// Refusals.
pub use crate::domain::error::messages::{PASSWORD_REQUIRED, SIGN_IN_AGAIN};

/// Everything stored about one person (no secret: no password hash, no
/// session or calendar token, no recovery link).
#[derive(Debug, Clone)]
pub struct MyData {
    pub user: User,
    /// Live sessions, most recently used first.
    pub sessions: Vec<SessionInfo>,
    pub participations: Vec<MyParticipationRow>,
    /// Newest first, read or not, with the preferences that render them.
    pub notifications: Vec<InAppRow>,
    pub notification_prefs: Preferences,
    pub preferences: preferences::Effective,
    /// Whether a personal calendar feed URL exists (not the URL: it is a
    /// secret).
    pub calendar_feed: bool,
}

/// Gathers [`MyData`] in one read (preferences in a second).
pub async fn export(svc: &Services, user_id: i64) -> DomainResult<MyData> {
    let prefs = preferences::get(svc, user_id).await?;
    let oldest = Ts(svc.now().0 - Duration::days(svc.config.auth.session_ttl_days));
    svc.store
        .read(move |tx| {
            let user = tx
                .user(user_id)?
                .ok_or_else(|| DomainError::not_found(messages::USER_NOT_FOUND))?;
            Ok(MyData {
                user,
                sessions: tx.sessions_of(user_id, oldest)?,
                participations: tx.my_participation_rows(user_id)?,
                notifications: tx.list_in_app(user_id, true, i64::MAX, 0)?,
                notification_prefs: tx.preferences(user_id)?,
                preferences: prefs,
                calendar_feed: tx.has_calendar_token(user_id)?,
            })
        })
        .await
}

/// The unique placeholder address of deleted account `id`.
pub fn placeholder_email(id: i64) -> String {
    format!("deleted-user-{id}@deleted.invalid")
}

/// Deletes the caller's account (see the module's text). A password
/// account must give its password (guesses limited like a password
/// change); an account without one must have signed in within
/// [`FRESH_SIGN_IN`]. The last administrator is refused.
pub async fn delete_me(
    svc: &Services,
    me: &SessionUser,
    actor: &Actor,
    password: Option<String>,
) -> DomainResult<()> {
    let (id, session_uid) = (me.id, me.session_uid);
    let stored = svc.store.read(move |tx| tx.password_hash(id)).await?;
    match stored.filter(|h| !h.is_empty()) {
        Some(hash) => {
            let Some(password) = password else {
                return Err(DomainError::rule(PASSWORD_REQUIRED));
            };
            let guess = limits::reserve_guess(svc, &format!("password:{id}"))
                .await?
                .map_err(|secs| DomainError::rate_limited(m::TOO_MANY_LOGINS, secs))?;
            if !svc.passwords.verify(password, Some(hash)).await?.ok {
                guess.failed().await?;
                return Err(DomainError::rule(m::INVALID_PASSWORD));
            }
            guess.succeeded().await?;
        }
        None => {
            let now = svc.now();
            let session = svc.store.read(move |tx| tx.session(session_uid)).await?;
            let fresh = session.is_some_and(|s| now.0 - s.created_at.0 <= FRESH_SIGN_IN);
            if !fresh {
                return Err(DomainError::Forbidden(SIGN_IN_AGAIN.into()));
            }
        }
    }
    let now = svc.now();
    let (inner, actor) = (svc.clone(), actor.clone());
    svc.store
        .write(move |tx| {
            let user = tx
                .user(id)?
                .ok_or_else(|| DomainError::not_found(messages::USER_NOT_FOUND))?;
            users::keep_an_administrator(tx, &user)?;
            let email = placeholder_email(id);
            tx.anonymise_user(
                id,
                &Anonymised {
                    email: &email,
                    email_key: &email_key(&email),
                    full_name: DELETED_NAME,
                    full_name_fold: &fold(DELETED_NAME),
                    deleted_at: now,
                },
            )?;
            tx.erase_personal_rows(id)?;
            // The entry names the account by its placeholder: the log
            // keeps no personal data of a deleted account.
            let actor = Actor {
                email: Some(email),
                ..actor
            };
            let changes = Changes::none().secret("email").secret("full_name").with(
                "deleted_at",
                None::<Ts>,
                Some(now),
            );
            audit::record(
                &inner,
                tx,
                &actor,
                Action::AccountDeleted,
                Target::user(id),
                changes,
            )?;
            // Receivers learn which account went (its id), not who it was:
            // the person asked for their data to be gone.
            let gone = crate::domain::webhook::UserObject {
                id,
                full_name: DELETED_NAME.to_string(),
                email: placeholder_email(id),
            };
            crate::service::webhooks::emit_user_deleted(&inner, tx, now, gone)?;
            Ok(())
        })
        .await
}
