//! The outbox: the one way a service tells people something. For each
//! recipient it writes the in-app notification (event notices) and enqueues
//! one email job, in the caller's transaction — a change that rolls back
//! sends nothing, a commit loses nothing.

use crate::domain::error::{DomainError, DomainResult};
use crate::domain::notice::{Notice, To};
use crate::notify::EmailJob;
use crate::service::Services;
use crate::store::Tx;

/// Job kind of an email.
pub const EMAIL: &str = "email";

/// Notifies every recipient of `notice` inside `tx`. Deleted users are
/// skipped.
pub fn notify(svc: &Services, tx: &mut dyn Tx, notice: &Notice, to: &[To]) -> DomainResult<()> {
    let now = svc.now();
    let admin_view = matches!(
        notice,
        Notice::ParticipationConfirmed { .. } | Notice::ParticipationCancelled { .. }
    );
    for recipient in to {
        let (user_id, email, name) = match recipient {
            To::User(id) => match tx.recipient(*id)? {
                Some(r) => (Some(*id), r.email, r.full_name),
                None => continue,
            },
            To::Address { email, name } => (None, email.clone(), name.clone()),
        };
        // TODO(outbox): render at delivery, outside the writer lock.
        let message = svc.notifier.render(notice, &name, admin_view)?;
        if let (Some(user_id), true) = (user_id, notice.in_app()) {
            tx.insert_in_app(
                user_id,
                notice.kind(),
                &message.subject,
                &message.text,
                message.cta_url.as_deref(),
                message.cta_label.as_deref(),
                now,
            )?;
        }
        let job = EmailJob {
            to_email: email,
            to_name: name,
            kind: notice.kind().to_string(),
            subject: message.subject,
            text: message.text,
            html: message.html,
        };
        let payload = serde_json::to_value(&job).map_err(DomainError::internal)?;
        tx.enqueue_job(EMAIL, &payload, now, svc.config.jobs.max_attempts, now)?;
    }
    Ok(())
}

/// Every active administrator, as recipients.
pub fn admins(tx: &mut dyn Tx) -> DomainResult<Vec<To>> {
    Ok(tx.active_admin_ids()?.into_iter().map(To::User).collect())
}
