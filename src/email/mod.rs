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
            content: r.text.into(),
            cta_url: r.cta_url.map(Into::into),
            cta_label: r.cta_label.map(Into::into),
        }
    }
}

/// Rendered in-app notifications by (id, created_at in µs).
type InAppCache = HashMap<(i64, i64), InAppText>;

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
        self.templates
            .render(notice, recipient_name, admin_view)
            .map_err(|e| anyhow::anyhow!("rendering {}: {e:#}", notice.kind()))
    }

    /// An in-app notification [`Renderer::render_in_app`] rendered before.
    pub fn cached_in_app(&self, key: (i64, i64)) -> Option<InAppText> {
        self.cache().get(&key).cloned()
    }

    /// [`Renderer::render`] for an in-app notification, cached by `key`
    /// (its id and creation time, which together never name another row).
    pub fn render_in_app(
        &self,
        key: (i64, i64),
        notice: &Notice,
        recipient_name: &str,
        admin_view: bool,
    ) -> anyhow::Result<InAppText> {
        let rendered = InAppText::from(self.render(notice, recipient_name, admin_view)?);
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
