//! The outbox: the one way a service tells people something. For each
//! recipient it writes the in-app notification (event notices) and enqueues
//! one email job, in the caller's transaction — a change that rolls back
//! sends nothing, a commit loses nothing.
//!
//! Nothing is rendered here: the job and the in-app row hold the typed
//! notice, and words are made when the email is delivered or the
//! notification read, outside the writer lock. A secret the notice carries
//! (a code, a reset token, a password) is sealed in the job's own column
//! with the data dir's key, blanked in the payload, and dropped once the
//! job is done or failed.

use serde::{Deserialize, Serialize};

use crate::domain::error::{DomainError, DomainResult};
use crate::domain::notice::{Notice, To};
use crate::domain::time::Ts;
use crate::service::Services;
use crate::store::Tx;
use crate::store::jobs::NewJob;
use crate::store::notifications::InAppNotice;

/// Job kind of an email.
pub const EMAIL: &str = "email";

/// The payload of an email job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmailJob {
    pub to_email: String,
    pub to_name: String,
    /// The notice's type (for queries and `afisha jobs list`).
    pub kind: String,
    /// The notice, its secret (if any) blanked.
    pub notice: Notice,
    /// Event links point into the admin area.
    pub admin_view: bool,
    /// The recipient's language (`ru`/`en`) when they chose one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<crate::domain::preferences::Lang>,
    /// The recipient's IANA time zone when they chose one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// (event, user) whose check-in ticket the email shows: derived when the
    /// email is composed, so the job row holds no ticket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket_for: Option<(i64, i64)>,
}

/// The event of a notice a participant gets about an event they take part
/// in (their ticket goes with it).
fn participant_event(notice: &Notice) -> Option<i64> {
    match notice {
        Notice::EventCreated(e)
        | Notice::EventUpdated(e)
        | Notice::EventReminder(e)
        | Notice::WaitlistPromoted(e) => Some(e.id),
        _ => None,
    }
}

/// Notifies every recipient of `notice` inside `tx`. Deleted users are
/// skipped.
pub fn notify(svc: &Services, tx: &mut dyn Tx, notice: &Notice, to: &[To]) -> DomainResult<()> {
    notify_at(svc, tx, svc.now(), notice, to)
}

/// [`notify`] as of `now`.
pub fn notify_at(
    svc: &Services,
    tx: &mut dyn Tx,
    now: Ts,
    notice: &Notice,
    to: &[To],
) -> DomainResult<()> {
    send(svc, tx, now, notice, to, None)
}

/// Emails coalesced by [`notify_coalesced`]: a recipient gets at most one
/// email per `key` (a topic, e.g. kind + event + actor) per `window`.
#[derive(Debug, Clone)]
pub struct Coalesce {
    pub key: String,
    pub window: chrono::Duration,
}

/// [`notify`], except that a user recipient who was emailed about the same
/// `coalesce.key` within `coalesce.window` (counted from the last email
/// actually enqueued) gets no new email. In-app notices are never
/// coalesced: the notification list keeps every change.
pub fn notify_coalesced(
    svc: &Services,
    tx: &mut dyn Tx,
    notice: &Notice,
    to: &[To],
    coalesce: &Coalesce,
) -> DomainResult<()> {
    send(svc, tx, svc.now(), notice, to, Some(coalesce))
}

fn send(
    svc: &Services,
    tx: &mut dyn Tx,
    now: Ts,
    notice: &Notice,
    to: &[To],
    coalesce: Option<&Coalesce>,
) -> DomainResult<()> {
    let admin_view = matches!(
        notice,
        Notice::ParticipationConfirmed { .. } | Notice::ParticipationCancelled { .. }
    );
    let (public, secret) = split_secret(notice);
    for recipient in to {
        let (user_id, email, name, prefs) = match recipient {
            To::User(id) => match tx.recipient(*id)? {
                Some(r) => (Some(*id), r.email, r.full_name, r.prefs),
                None => continue,
            },
            To::Address { email, name } => (None, email.clone(), name.clone(), Default::default()),
        };
        if let (Some(user_id), true) = (user_id, notice.in_app()) {
            let in_app = InAppNotice {
                notice: public.clone(),
                name: name.clone(),
                admin_view,
            };
            tx.insert_in_app(user_id, &in_app, now)?;
        }
        // The in-app notice stays; only the email follows the switch
        // (codes, password and security emails cannot be turned off).
        if !prefs.wants_email(notice.kind()) {
            continue;
        }
        let coalesce_key = match (coalesce, user_id) {
            (Some(c), Some(user_id)) if !c.window.is_zero() => {
                let key = format!("{}:to={user_id}", c.key);
                if tx.coalesced_since(&key, Ts(now.0 - c.window))? {
                    continue;
                }
                Some(key)
            }
            _ => None,
        };
        let job = EmailJob {
            to_email: email,
            to_name: name,
            kind: notice.kind().to_string(),
            notice: public.clone(),
            admin_view,
            locale: prefs.locale,
            time_zone: prefs.time_zone.clone(),
            ticket_for: match (participant_event(notice), user_id) {
                (Some(event_id), Some(user_id)) if !admin_view => Some((event_id, user_id)),
                _ => None,
            },
        };
        let payload = serde_json::to_value(&job).map_err(DomainError::internal)?;
        // Sealed per job (own nonce), so two rows never share a ciphertext.
        let sealed = secret.as_deref().map(|s| svc.secrets.seal(s));
        tx.enqueue_job(
            &NewJob {
                kind: EMAIL,
                payload: &payload,
                secret: sealed.as_deref(),
                run_at: now,
                max_attempts: svc.config.jobs.max_attempts,
                coalesce_key: coalesce_key.as_deref(),
            },
            now,
        )?;
    }
    Ok(())
}

/// Every active administrator, as recipients.
pub fn admins(tx: &mut dyn Tx) -> DomainResult<Vec<To>> {
    Ok(tx.active_admin_ids()?.into_iter().map(To::User).collect())
}

/// The notice with its secret blanked, and the secret.
pub fn split_secret(notice: &Notice) -> (Notice, Option<String>) {
    match notice {
        Notice::RegConfirmCode { code } => (
            Notice::RegConfirmCode { code: 0 },
            Some(format!("{code:06}")),
        ),
        Notice::PasswordResetLink { token } => (
            Notice::PasswordResetLink {
                token: String::new(),
            },
            Some(token.clone()),
        ),
        Notice::AdminSetPassword { password } => (
            Notice::AdminSetPassword {
                password: String::new(),
            },
            Some(password.clone()),
        ),
        other => (other.clone(), None),
    }
}

/// Whether `notice` carries a secret (sealed apart from the payload).
pub fn has_secret(notice: &Notice) -> bool {
    split_secret(notice).1.is_some()
}

/// Puts `secret` back into a notice [`split_secret`] blanked; `None` when
/// the secret does not fit the notice.
pub fn restore_secret(notice: Notice, secret: String) -> Option<Notice> {
    Some(match notice {
        Notice::RegConfirmCode { .. } => Notice::RegConfirmCode {
            code: secret.parse().ok()?,
        },
        Notice::PasswordResetLink { .. } => Notice::PasswordResetLink { token: secret },
        Notice::AdminSetPassword { .. } => Notice::AdminSetPassword { password: secret },
        other => other,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_split_off_and_come_back() {
        for notice in [
            Notice::RegConfirmCode { code: 42 },
            Notice::PasswordResetLink {
                token: "tok-1".into(),
            },
            Notice::AdminSetPassword {
                password: "pw 2".into(),
            },
        ] {
            let (public, secret) = split_secret(&notice);
            let secret = secret.expect("has a secret");
            let json = serde_json::to_string(&public).unwrap();
            assert!(!json.contains(&secret), "{json}");
            assert_eq!(restore_secret(public, secret), Some(notice));
        }
        let plain = Notice::RegWelcome;
        assert_eq!(split_secret(&plain), (plain, None));
    }
}
