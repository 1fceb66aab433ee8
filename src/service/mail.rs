//! Email delivery as an administrator sees it: the outbox (email jobs with
//! their state, never their bodies or secrets), retrying, a test message
//! through the configured backend, the start-up check of the SMTP server
//! and the figures of the detailed health report.

use crate::config::{Config, EmailBackend};
use crate::domain::error::{DomainError, DomainResult, messages};
use crate::domain::time::Ts;
use crate::email::mailer::Mailer;
use crate::email::templates::Locale;
use crate::email::{Audience, Mail, Renderer};
use crate::service::Services;
use crate::service::audit::{self, Action, Actor, Changes, Target, TargetType};
use crate::service::outbox::{EMAIL, EmailJob};
pub use crate::store::jobs::OutboxFilter;
use crate::store::jobs::{JobRecord, MailStats};

/// Where an email job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutboxStatus {
    /// Not delivered yet (waiting, running, or waiting to retry).
    Queued,
    Sent,
    Failed,
}

/// One email job, as the outbox lists it. No body, no secret.
#[derive(Debug, Clone)]
pub struct OutboxItem {
    pub id: i64,
    pub status: OutboxStatus,
    pub recipient: String,
    pub recipient_name: String,
    /// The notification type (`EVENT_UPDATED`, …).
    pub kind: String,
    /// Rendered now from the stored notice (secrets are blanked in it).
    pub subject: String,
    pub attempts: u32,
    pub max_attempts: u32,
    /// When a queued job is (next) tried.
    pub next_attempt_at: Option<Ts>,
    pub last_error: Option<String>,
    pub created_at: Ts,
    pub sent_at: Option<Ts>,
    pub failed_at: Option<Ts>,
}

/// A page of the outbox, newest first.
pub async fn outbox(
    svc: &Services,
    render: &Renderer,
    filter: OutboxFilter,
    limit: usize,
    offset: usize,
) -> DomainResult<Vec<OutboxItem>> {
    let rows = svc
        .store
        .read(move |tx| tx.list_outbox(EMAIL, filter, limit, offset))
        .await?;
    Ok(rows.into_iter().map(|r| item(render, r)).collect())
}

fn item(render: &Renderer, r: JobRecord) -> OutboxItem {
    let status = match (r.done_at, r.failed_at) {
        (Some(_), _) => OutboxStatus::Sent,
        (_, Some(_)) => OutboxStatus::Failed,
        _ => OutboxStatus::Queued,
    };
    let (recipient, recipient_name, kind, subject) =
        match serde_json::from_str::<EmailJob>(&r.payload) {
            Ok(job) => {
                // The stored notice has its secret blanked already.
                let audience = Audience {
                    ticket_qr: None,
                    locale: job.locale,
                    time_zone: job.time_zone.clone(),
                };
                let subject = render
                    .render_for(&job.notice, &job.to_name, job.admin_view, &audience)
                    .map(|m| m.subject)
                    .unwrap_or_default();
                (job.to_email, job.to_name, job.kind, subject)
            }
            Err(_) => match serde_json::from_str::<Mail>(&r.payload) {
                Ok(mail) => (mail.to_email, mail.to_name, mail.kind, mail.subject),
                Err(_) => (String::new(), String::new(), String::new(), String::new()),
            },
        };
    OutboxItem {
        id: r.id,
        status,
        recipient,
        recipient_name,
        kind,
        subject,
        attempts: r.attempts,
        max_attempts: r.max_attempts,
        next_attempt_at: (status == OutboxStatus::Queued).then_some(r.run_at),
        last_error: r.last_error,
        created_at: r.created_at,
        sent_at: r.done_at,
        failed_at: r.failed_at,
    }
}

/// Tries email job `id` again now: a failed job is queued again with its
/// attempts reset, a job waiting to retry runs at once. A delivered job
/// (or one running right now) is refused.
pub async fn retry(svc: &Services, actor: &Actor, id: i64) -> DomainResult<()> {
    let now = svc.now();
    let (svc, actor) = (svc.clone(), actor.clone());
    svc.store
        .clone()
        .write(move |tx| {
            let target = Target::of(TargetType::Email, id);
            audit::record(
                &svc,
                tx,
                &actor,
                Action::EmailRetried,
                target,
                Changes::none(),
            )?;
            let Some(job) = tx.job_of_kind(EMAIL, id)? else {
                return Err(DomainError::not_found(messages::EMAIL_NOT_FOUND));
            };
            if job.done_at.is_some() {
                return Err(DomainError::rule(messages::EMAIL_ALREADY_SENT));
            }
            if job.failed_at.is_some() {
                tx.revive_failed_jobs(Some(id), now)?;
                return Ok(());
            }
            if job.locked_until.is_some_and(|until| until > now) {
                return Err(DomainError::rule(messages::EMAIL_SENDING));
            }
            tx.run_pending_now(EMAIL, Some(id), now)?;
            Ok(())
        })
        .await
}

/// Tries every failed email again (attempts reset), and every email
/// waiting to retry at once; returns how many.
pub async fn retry_all_failed(svc: &Services, actor: &Actor) -> DomainResult<usize> {
    let now = svc.now();
    let (svc, actor) = (svc.clone(), actor.clone());
    svc.store
        .clone()
        .write(move |tx| {
            let mut n = 0;
            for job in tx.list_outbox(EMAIL, OutboxFilter::Failed, usize::MAX >> 1, 0)? {
                n += tx.revive_failed_jobs(Some(job.id), now)?;
            }
            let n = n + tx.run_pending_now(EMAIL, None, now)?;
            let changes = Changes::none().with("queued", 0, n);
            let target = Target::system();
            audit::record(&svc, tx, &actor, Action::EmailRetriedAll, target, changes)?;
            Ok(n)
        })
        .await
}

/// What a test message came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestOutcome {
    pub sent: bool,
    /// `console`, `file` or `smtp`.
    pub backend: &'static str,
    /// Why it was not delivered (the SMTP server's reply, …).
    pub error: Option<String>,
}

/// [`send_test`] for an administrator: the attempt and its outcome are
/// recorded in the audit log.
pub async fn send_test_audited(
    svc: &Services,
    actor: &Actor,
    to: &str,
) -> DomainResult<TestOutcome> {
    let outcome = send_test(&svc.config, to).await;
    let changes = Changes::none()
        .with("to", None::<String>, to)
        .with("sent", false, outcome.sent);
    let (action, target) = (Action::EmailTestSent, Target::system());
    audit::record_alone(svc, actor.clone(), action, target, changes).await?;
    Ok(outcome)
}

/// Sends a short test message to `to` through the configured backend, now
/// (not through the queue), and answers how that went.
pub async fn send_test(config: &Config, to: &str) -> TestOutcome {
    let backend = backend_name(config);
    let failed = |error: String| TestOutcome {
        sent: false,
        backend,
        error: Some(error),
    };
    let mailer = match Mailer::new(config) {
        Ok(mailer) => mailer,
        Err(e) => return failed(format!("{e:#}")),
    };
    let brand = &config.ui.brand_name;
    let (subject, text) = match Locale::from_config(config) {
        Locale::En => (
            format!("Test message — {brand}"),
            format!(
                "This is a test message from {brand} ({}).\nEmail delivery works.\n",
                config.public_url()
            ),
        ),
        Locale::Ru => (
            format!("Проверочное письмо — {brand}"),
            format!(
                "Это проверочное письмо от {brand} ({}).\nДоставка почты работает.\n",
                config.public_url()
            ),
        ),
    };
    let html = format!("<p>{}</p>", html_escape(&text).replace('\n', "<br>"));
    let mail = Mail {
        to_email: to.to_string(),
        to_name: String::new(),
        kind: "TEST".into(),
        subject,
        text,
        html,
    };
    let key = format!("afisha.test.{}", uuid::Uuid::new_v4().simple());
    match mailer.send(&mail, &key, Ts(chrono::Utc::now())).await {
        Ok(()) => TestOutcome {
            sent: true,
            backend,
            error: None,
        },
        Err(e) => failed(e.message),
    }
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The configured backend's name.
pub fn backend_name(config: &Config) -> &'static str {
    match config.email.backend {
        EmailBackend::Console => "console",
        EmailBackend::File => "file",
        EmailBackend::Smtp => "smtp",
    }
}

/// `afisha serve`'s start-up check of the SMTP server (connect, TLS,
/// authentication): `Some(line)` to log as a warning when it fails; `None`
/// when it answers or another backend is configured.
pub async fn startup_check(config: &Config) -> Option<String> {
    if config.email.backend != EmailBackend::Smtp {
        return None;
    }
    let smtp = &config.email.smtp;
    let failure = match Mailer::new(config) {
        Ok(mailer) => mailer.check().await.err()?,
        Err(e) => format!("{e:#}"),
    };
    Some(format!(
        "email: the SMTP server {}:{} (tls {}) failed the start-up check: {failure}; \
         the server runs and mail waits in the outbox until it answers",
        smtp.host.trim(),
        smtp.port,
        smtp.tls
    ))
}

/// Email delivery figures for the detailed health report.
#[derive(Debug, Clone)]
pub struct MailHealth {
    pub backend: &'static str,
    /// `true` while some email is failing (see [`MailStats::failing`]).
    pub failing: bool,
    pub stats: MailStats,
}

pub async fn health(svc: &Services) -> DomainResult<MailHealth> {
    let stats = svc.store.read(|tx| tx.mail_stats(EMAIL)).await?;
    Ok(MailHealth {
        backend: backend_name(&svc.config),
        failing: stats.failing > 0,
        stats,
    })
}
