//! The notification service: the one entry point every route uses to tell
//! people something. For each recipient it writes the in-app notification
//! (event types) and enqueues one email job, all in the caller's transaction,
//! so a change that rolls back sends nothing and a commit loses nothing.

use std::sync::Arc;

use rusqlite::params;

use crate::config::Config;
use crate::db::{OptionalRow, Write};
use crate::email::templates::Templates;
use crate::error::{AppError, AppResult};
use crate::jobs;
use crate::time::Ts;

/// What an event notification needs to say about the event.
#[derive(Debug, Clone, serde::Serialize)]
pub struct EventFacts {
    pub id: i64,
    pub name: String,
    pub short_description: Option<String>,
    pub starts_at: Ts,
    pub ends_at: Ts,
    pub location: Option<String>,
    pub payment_info: Option<String>,
    pub max_participants_count: Option<i64>,
    pub participants_count: i64,
}

/// The user who did something (joined or left an event).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Actor {
    pub id: i64,
    pub full_name: String,
    pub email: String,
}

#[derive(Debug, Clone)]
pub enum Notice {
    RegConfirmCode { code: u32 },
    RegWelcome,
    PasswordResetLink { token: String },
    PasswordChanged,
    AdminSetPassword { password: String },
    EventCreated(EventFacts),
    EventUpdated(EventFacts),
    EventCancelled(EventFacts),
    EventReminder(EventFacts),
    ParticipationConfirmed { event: EventFacts, user: Actor },
    ParticipationCancelled { event: EventFacts, user: Actor },
}

impl Notice {
    /// The type name of API.md's table.
    pub fn kind(&self) -> &'static str {
        match self {
            Notice::RegConfirmCode { .. } => "REG_CONFIRM_CODE",
            Notice::RegWelcome => "REG_WELCOME",
            Notice::PasswordResetLink { .. } => "PASSWORD_RESET_LINK",
            Notice::PasswordChanged => "PASSWORD_CHANGED",
            Notice::AdminSetPassword { .. } => "ADMIN_SET_PASSWORD",
            Notice::EventCreated(_) => "EVENT_CREATED",
            Notice::EventUpdated(_) => "EVENT_UPDATED",
            Notice::EventCancelled(_) => "EVENT_CANCELLED",
            Notice::EventReminder(_) => "EVENT_REMINDER",
            Notice::ParticipationConfirmed { .. } => "EVENT_PARTICIPATION_CONFIRMED",
            Notice::ParticipationCancelled { .. } => "EVENT_PARTICIPATION_CANCELLED",
        }
    }

    /// Whether this type also appears in the in-app notification centre.
    pub fn in_app(&self) -> bool {
        matches!(
            self,
            Notice::EventCreated(_)
                | Notice::EventUpdated(_)
                | Notice::EventCancelled(_)
                | Notice::EventReminder(_)
                | Notice::ParticipationConfirmed { .. }
                | Notice::ParticipationCancelled { .. }
        )
    }
}

/// Who receives a notice.
#[derive(Debug, Clone)]
pub enum To {
    /// A user by id; skipped when the user is deleted.
    User(i64),
    /// An address that has no user yet (registration).
    Address { email: String, name: String },
}

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

impl EventFacts {
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
    ) -> AppResult<Rendered> {
        self.templates
            .render(notice, recipient_name, admin_view)
            .map_err(|e| AppError::internal(format!("rendering {}: {e:#}", notice.kind())))
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
            let message = self.render(notice, &name, admin_view)?;
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
