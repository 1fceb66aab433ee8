//! The notification service: the one entry point every route uses to tell
//! people something. For each recipient it writes the in-app notification
//! (event types) and enqueues one email job, all in the caller's transaction,
//! so a change that rolls back sends nothing and a commit loses nothing.

use std::sync::Arc;

use rusqlite::params;

use crate::config::Config;
pub use crate::domain::notice::{Actor, EventFacts, Notice, To};
use crate::domain::time::Ts;
use crate::email::templates::Templates;
use crate::http::error::{AppError, AppResult};
use crate::jobs;
use crate::store::sqlite::{OptionalRow, Write};

/// A rendered message.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
    pub cta_url: Option<String>,
    pub cta_label: Option<String>,
}

/// The email job's payload.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct EmailJob {
    pub to_email: String,
    pub to_name: String,
    pub kind: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// SQL of [`EventFacts`] (moves to the store).
pub struct FactsSql;

impl FactsSql {
    /// The columns [`EventFacts::from_row`] reads, for a query over `event e`.
    pub const COLUMNS: &'static str = "e.id, e.name, e.short_description, e.starts_at, e.ends_at,
        e.location, e.payment_info, e.max_participants_count,
        (SELECT count(*) FROM event_participant c
          WHERE c.event_id = e.id AND c.status = 'PARTICIPATING')";

    /// Reads [`EventFacts::COLUMNS`] starting at column `first`.
    pub fn from_row(r: &rusqlite::Row, first: usize) -> rusqlite::Result<EventFacts> {
        Ok(EventFacts {
            id: r.get(first)?,
            name: r.get(first + 1)?,
            short_description: r.get(first + 2)?,
            starts_at: r.get(first + 3)?,
            ends_at: r.get(first + 4)?,
            location: r.get(first + 5)?,
            payment_info: r.get(first + 6)?,
            max_participants_count: r.get(first + 7)?,
            participants_count: r.get(first + 8)?,
        })
    }

    /// Loads the facts of one event (with its PARTICIPATING count).
    pub fn load(conn: &rusqlite::Connection, event_id: i64) -> AppResult<Option<EventFacts>> {
        Ok(conn
            .prepare_cached(&format!(
                "SELECT {} FROM event e WHERE e.id = ?1",
                Self::COLUMNS
            ))?
            .query_row([event_id], |r| Self::from_row(r, 0))
            .optional()?)
    }
}

#[derive(Clone)]
pub struct Notifier {
    config: Arc<Config>,
    templates: Arc<Templates>,
}

impl Notifier {
    /// Compiles the embedded templates (a broken template fails start-up).
    pub fn new(config: Arc<Config>) -> anyhow::Result<Self> {
        let templates =
            Templates::new(&config).map_err(|e| anyhow::anyhow!("email templates: {e:#}"))?;
        Ok(Self {
            config,
            templates: Arc::new(templates),
        })
    }

    /// Renders `notice` for one recipient; `admin_view` links into the admin
    /// area.
    pub fn render(
        &self,
        notice: &Notice,
        recipient_name: &str,
        admin_view: bool,
    ) -> crate::domain::error::DomainResult<Rendered> {
        self.templates
            .render(notice, recipient_name, admin_view)
            .map_err(|e| {
                crate::domain::error::DomainError::internal(format!(
                    "rendering {}: {e:#}",
                    notice.kind()
                ))
            })
    }

    /// Writes in-app rows and email jobs for every recipient, in `tx`.
    pub fn send(&self, tx: &Write, now: Ts, notice: &Notice, to: &[To]) -> AppResult<()> {
        let admin_view = matches!(
            notice,
            Notice::ParticipationConfirmed { .. } | Notice::ParticipationCancelled { .. }
        );
        for recipient in to {
            let (user_id, email, name) = match recipient {
                To::User(id) => {
                    let row = tx
                        .prepare_cached(
                            "SELECT email, full_name FROM user WHERE id = ?1 AND deleted_at IS NULL",
                        )?
                        .query_row([id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
                        .optional()?;
                    match row {
                        Some((email, name)) => (Some(*id), email, name),
                        None => continue,
                    }
                }
                To::Address { email, name } => (None, email.clone(), name.clone()),
            };
            let message = self
                .render(notice, &name, admin_view)
                .map_err(AppError::from)?;
            if let (Some(user_id), true) = (user_id, notice.in_app()) {
                tx.prepare_cached(
                    "INSERT INTO instant_notification (recipient_id, type, title, content, cta_url, cta_label, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )?
                .execute(params![
                    user_id,
                    notice.kind(),
                    message.subject,
                    message.text,
                    message.cta_url,
                    message.cta_label,
                    now
                ])?;
            }
            let job = EmailJob {
                to_email: email,
                to_name: name,
                kind: notice.kind().to_string(),
                subject: message.subject,
                text: message.text,
                html: message.html,
            };
            let payload = serde_json::to_value(&job).map_err(anyhow::Error::from)?;
            jobs::enqueue(
                tx,
                jobs::EMAIL,
                &payload,
                now,
                self.config.jobs.max_attempts,
                now,
            )?;
        }
        Ok(())
    }
}
