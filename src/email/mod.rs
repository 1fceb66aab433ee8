//! Email: message texts (embedded templates) and delivery backends.
//!
//! This module depends only on domain types and the configuration: the
//! scheduler renders a job's notice here when it runs, and the HTTP side
//! renders in-app notifications when they are read.

pub mod mailer;
pub mod templates;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::config::Config;
use crate::domain::notice::Notice;
use templates::Templates;

/// A rendered message.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
    /// The in-app `content`: a short line and, for events, a line of facts.
    pub in_app: String,
    pub cta_url: Option<String>,
    pub cta_label: Option<String>,
}

/// A message ready to send. Also the payload of email jobs queued before
/// notices were stored typed (they carry their words).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Mail {
    pub to_email: String,
    pub to_name: String,
    pub kind: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Cached in-app renderings at most; the cache is emptied when full.
const IN_APP_CACHE: usize = 20_000;

/// The words of an in-app notification, shared with the cache (a read
/// copies pointers, not text).
#[derive(Debug, Clone, PartialEq)]
pub struct InAppText {
    pub title: Arc<str>,
    pub content: Arc<str>,
    pub cta_url: Option<Arc<str>>,
    pub cta_label: Option<Arc<str>>,
}

impl From<Rendered> for InAppText {
    fn from(r: Rendered) -> Self {
        InAppText {
            title: r.subject.into(),
            content: r.in_app.into(),
            cta_url: r.cta_url.map(Into::into),
            cta_label: r.cta_label.map(Into::into),
        }
    }
}

/// Rendered in-app notifications by (id, created_at in µs, audience).
type InAppCache = HashMap<InAppKey, InAppText>;

/// A row (id, creation time in µs) as rendered for one audience
/// ([`Audience::key`]).
pub type InAppKey = (i64, i64, String);

/// Whom a message is rendered for: a language and a time zone; `None` =
/// the configured defaults (`ui.default_locale`, `ui.display_timezone`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Audience {
    pub locale: Option<crate::domain::preferences::Lang>,
    /// An IANA zone name; one that does not parse means the default.
    pub time_zone: Option<String>,
    /// The recipient's check-in ticket for the message's event (its QR code
    /// link), on the emails a participant gets about it.
    pub ticket_qr: Option<String>,
}

impl Audience {
    /// Names the audience in cache keys.
    pub fn key(&self) -> String {
        format!(
            "{}|{}",
            self.locale.map_or("", |l| l.code()),
            self.time_zone.as_deref().unwrap_or("")
        )
    }
}

/// The compiled templates plus a cache of rendered in-app notifications
/// (their rows never change, so each is rendered once per process).
#[derive(Clone)]
pub struct Renderer {
    templates: Arc<Templates>,
    in_app: Arc<Mutex<InAppCache>>,
}

impl Renderer {
    /// Compiles the embedded templates (a broken template fails start-up).
    pub fn new(config: &Config) -> anyhow::Result<Renderer> {
        let templates =
            Templates::new(config).map_err(|e| anyhow::anyhow!("email templates: {e:#}"))?;
        Ok(Renderer {
            templates: Arc::new(templates),
            in_app: Default::default(),
        })
    }

    /// Renders `notice` for one recipient; `admin_view` links into the
    /// admin area.
    pub fn render(
        &self,
        notice: &Notice,
        recipient_name: &str,
        admin_view: bool,
    ) -> anyhow::Result<Rendered> {
        self.render_for(notice, recipient_name, admin_view, &Audience::default())
    }

    /// [`Renderer::render`] in the language and time zone of `audience`.
    pub fn render_for(
        &self,
        notice: &Notice,
        recipient_name: &str,
        admin_view: bool,
        audience: &Audience,
    ) -> anyhow::Result<Rendered> {
        let locale = audience
            .locale
            .map_or(self.templates.locale(), templates::Locale::of);
        let (default_tz, default_name) = self.templates.zone();
        let zone = audience
            .time_zone
            .as_deref()
            .and_then(|name| name.parse::<chrono_tz::Tz>().ok().map(|tz| (tz, name)));
        let (tz, tz_name) = zone.unwrap_or((default_tz, default_name));
        self.templates
            .render_as(
                notice,
                recipient_name,
                admin_view,
                locale,
                (tz, tz_name),
                audience.ticket_qr.as_deref(),
            )
            .map_err(|e| anyhow::anyhow!("rendering {}: {e:#}", notice.kind()))
    }

    /// An in-app notification [`Renderer::render_in_app`] rendered before.
    pub fn cached_in_app(&self, key: &InAppKey) -> Option<InAppText> {
        self.cache().get(key).cloned()
    }

    /// [`Renderer::render_for`] for an in-app notification, cached by `key`
    /// (its id and creation time, which together never name another row,
    /// and the audience).
    pub fn render_in_app(
        &self,
        key: InAppKey,
        notice: &Notice,
        recipient_name: &str,
        admin_view: bool,
        audience: &Audience,
    ) -> anyhow::Result<InAppText> {
        let rendered =
            InAppText::from(self.render_for(notice, recipient_name, admin_view, audience)?);
        let mut cache = self.cache();
        if cache.len() >= IN_APP_CACHE {
            cache.clear();
        }
        cache.insert(key, rendered.clone());
        Ok(rendered)
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, InAppCache> {
        self.in_app.lock().unwrap_or_else(|p| p.into_inner())
    }
}
