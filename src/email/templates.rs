//! Message texts: minijinja templates embedded in the binary.
//!
//! Each notification type has one template per locale
//! (`templates/<locale>/<type>.j2`) that extends the locale's `base.j2` and
//! fills a few blocks — subject, intro, the highlighted code or password,
//! outro and the button label — as plain text. Two layouts turn those blocks
//! and the event's facts into the bodies: `layout.txt.j2` (plain text, also
//! the in-app `content`) and `layout.html.j2`, whose auto-escaping escapes
//! every value, so no user-provided text reaches the HTML unescaped.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Timelike};
use chrono_tz::Tz;
use minijinja::syntax::SyntaxConfig;
use minijinja::{Environment, Value, context};

use crate::config::{Config, Language};
use crate::domain::notice::{Actor, EventFacts, Notice};
use crate::email::Rendered;

macro_rules! embedded {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("templates/", $name)))),*]
    };
}

/// Every template file, by the name templates refer to each other with.
const SOURCES: &[(&str, &str)] = embedded![
    "layout.txt.j2",
    "layout.html.j2",
    "ru/base.j2",
    "ru/reg_confirm_code.j2",
    "ru/reg_welcome.j2",
    "ru/password_reset_link.j2",
    "ru/password_changed.j2",
    "ru/admin_set_password.j2",
    "ru/event_created.j2",
    "ru/event_updated.j2",
    "ru/event_cancelled.j2",
    "ru/event_reminder.j2",
    "ru/event_participation_confirmed.j2",
    "ru/event_participation_cancelled.j2",
    "ru/waitlist_promoted.j2",
    "ru/webhook_disabled.j2",
    "en/base.j2",
    "en/reg_confirm_code.j2",
    "en/reg_welcome.j2",
    "en/password_reset_link.j2",
    "en/password_changed.j2",
    "en/admin_set_password.j2",
    "en/event_created.j2",
    "en/event_updated.j2",
    "en/event_cancelled.j2",
    "en/event_reminder.j2",
    "en/event_participation_confirmed.j2",
    "en/event_participation_cancelled.j2",
    "en/waitlist_promoted.j2",
    "en/webhook_disabled.j2",
];

/// The blocks a message template may fill (see `ru/base.j2`).
const BLOCKS: &[&str] = &[
    "greeting",
    "subject",
    "intro",
    "short",
    "highlight_label",
    "highlight",
    "outro",
    "cta_label",
    "label_when",
    "label_where",
    "label_seats",
    "seats",
    "label_payment",
    "label_ticket",
    "ticket_hint",
    "link_hint",
    "footer",
];

/// Languages with a full set of templates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locale {
    Ru,
    En,
}

impl Locale {
    pub const ALL: [Locale; 2] = [Locale::Ru, Locale::En];

    pub fn code(self) -> &'static str {
        match self {
            Locale::Ru => "ru",
            Locale::En => "en",
        }
    }

    /// The templates' language for a person's choice.
    pub fn of(lang: crate::domain::preferences::Lang) -> Locale {
        match lang {
            crate::domain::preferences::Lang::Ru => Locale::Ru,
            crate::domain::preferences::Lang::En => Locale::En,
        }
    }

    /// `en` picks English; anything else (the default `ru`) Russian.
    pub fn from_config(config: &Config) -> Locale {
        match config.ui.default_locale {
            Language::En => Locale::En,
            Language::Ru => Locale::Ru,
        }
    }

    fn month(self, month0: u32) -> &'static str {
        const RU: [&str; 12] = [
            "января",
            "февраля",
            "марта",
            "апреля",
            "мая",
            "июня",
            "июля",
            "августа",
            "сентября",
            "октября",
            "ноября",
            "декабря",
        ];
        const EN: [&str; 12] = [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ];
        let table = match self {
            Locale::Ru => &RU,
            Locale::En => &EN,
        };
        table[month0 as usize % 12]
    }

    /// `15 мая 2026, 10:00` / `15 May 2026, 10:00`.
    fn date_time(self, t: &DateTime<Tz>) -> String {
        format!("{}, {}", self.date(t), clock_time(t))
    }

    fn date(self, t: &DateTime<Tz>) -> String {
        format!("{} {} {}", t.day(), self.month(t.month0()), t.year())
    }
}

fn clock_time(t: &DateTime<Tz>) -> String {
    format!("{:02}:{:02}", t.hour(), t.minute())
}

/// What a notice contributes besides its type.
#[derive(Default)]
struct Facts<'a> {
    event: Option<&'a EventFacts>,
    user: Option<&'a Actor>,
    code: Option<u32>,
    password: Option<&'a str>,
    webhook: Option<&'a crate::domain::notice::WebhookFacts>,
    cta_url: Option<String>,
}

/// The compiled templates plus what every message needs from the config.
pub struct Templates {
    env: Environment<'static>,
    locale: Locale,
    brand: String,
    public_url: String,
    tz: Tz,
    tz_name: String,
}

impl Templates {
    /// Compiles every embedded template; fails on a syntax error.
    pub fn new(config: &Config) -> Result<Templates, minijinja::Error> {
        Self::with_locale(config, Locale::from_config(config))
    }

    pub fn with_locale(config: &Config, locale: Locale) -> Result<Templates, minijinja::Error> {
        let mut env = Environment::new();
        env.set_syntax(
            SyntaxConfig::builder()
                .trim_blocks(true)
                .lstrip_blocks(true)
                .build()?,
        );
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Chainable);
        env.set_formatter(html_formatter);
        for (name, source) in SOURCES {
            env.add_template(name, source)?;
        }
        Ok(Templates {
            env,
            locale,
            brand: config.ui.brand_name.clone(),
            public_url: config.public_url(),
            tz: config.timezone(),
            tz_name: config.ui.display_timezone.clone(),
        })
    }

    pub fn locale(&self) -> Locale {
        self.locale
    }

    /// The configured zone and its name (`ui.display_timezone`).
    pub fn zone(&self) -> (Tz, &str) {
        (self.tz, &self.tz_name)
    }

    /// Renders `notice` for one recipient. `admin_view` points event links
    /// into the admin area.
    pub fn render(
        &self,
        notice: &Notice,
        recipient_name: &str,
        admin_view: bool,
    ) -> Result<Rendered, minijinja::Error> {
        self.render_as(
            notice,
            recipient_name,
            admin_view,
            self.locale,
            (self.tz, &self.tz_name),
            None,
        )
    }

    /// [`Templates::render`] in `locale` with times in `tz` (named
    /// `tz_name`): the recipient's preferences; `ticket_qr` (the link of the
    /// recipient's ticket QR code) is shown with the event.
    pub fn render_as(
        &self,
        notice: &Notice,
        recipient_name: &str,
        admin_view: bool,
        locale: Locale,
        (tz, tz_name): (Tz, &str),
        ticket_qr: Option<&str>,
    ) -> Result<Rendered, minijinja::Error> {
        let base = &self.public_url;
        let mut facts = Facts::default();
        match notice {
            Notice::RegConfirmCode { code } => facts.code = Some(*code),
            Notice::RegWelcome => facts.cta_url = Some(format!("{base}/events")),
            Notice::PasswordResetLink { token } => {
                let token: String = form_urlencoded::byte_serialize(token.as_bytes()).collect();
                facts.cta_url = Some(format!("{base}/recovery?token={token}"));
            }
            Notice::PasswordChanged => facts.cta_url = Some(format!("{base}/login")),
            Notice::AdminSetPassword { password } => {
                facts.password = Some(password);
                facts.cta_url = Some(format!("{base}/login"));
            }
            Notice::EventCreated(e)
            | Notice::EventUpdated(e)
            | Notice::EventCancelled(e)
            | Notice::EventReminder(e)
            | Notice::WaitlistPromoted(e) => facts.event = Some(e),
            Notice::ParticipationConfirmed { event, user }
            | Notice::ParticipationCancelled { event, user } => {
                facts.event = Some(event);
                facts.user = Some(user);
            }
            Notice::WebhookDisabled(w) => {
                facts.webhook = Some(w);
                facts.cta_url = Some(format!("{base}/admin/webhooks"));
            }
        }
        let Facts {
            event,
            user,
            code,
            password,
            webhook,
            cta_url,
        } = facts;
        let webhook = webhook
            .map(|w| {
                context! {
                    id => w.id,
                    url => w.url.clone(),
                    error => w.error.clone(),
                }
            })
            .unwrap_or(Value::UNDEFINED);
        let cta_url = cta_url.or_else(|| {
            event.map(|e| {
                if admin_view {
                    format!("{base}/admin/events/{}", e.id)
                } else {
                    format!("{base}/events/{}", e.id)
                }
            })
        });
        // Absent facts stay undefined (not none) so that the shared blocks
        // may mention `event.max` in every message.
        let event = event.map_or(Value::UNDEFINED, |e| {
            self.event_value(e, locale, tz, tz_name)
        });
        let user = user
            .map(|u| {
                context! {
                    id => u.id,
                    full_name => u.full_name.clone(),
                    email => u.email.clone(),
                }
            })
            .unwrap_or(Value::UNDEFINED);
        let ctx = context! {
            brand => self.brand.clone(),
            locale => locale.code(),
            public_url => base.clone(),
            name => recipient_name,
            event => event.clone(),
            user => user,
            code => code,
            password => password,
            webhook => webhook,
        };

        let name = format!(
            "{}/{}.j2",
            locale.code(),
            notice.kind().to_ascii_lowercase()
        );
        let blocks = self.blocks(&name, ctx)?;
        let block = |b: &str| blocks.get(b).cloned().unwrap_or_default();
        let subject = one_line(&block("subject"));
        let cta_label = Some(one_line(&block("cta_label"))).filter(|l| !l.is_empty());
        let cta_url = cta_url.filter(|_| cta_label.is_some());
        let cta_label = cta_label.filter(|_| cta_url.is_some());

        let in_app = self.in_app_text(notice, &block, &event);
        let layout_ctx = context! {
            brand => self.brand.clone(),
            locale => locale.code(),
            t => blocks.clone(),
            intro => paragraphs(&block("intro")),
            outro => paragraphs(&block("outro")),
            event => event,
            cta_url => cta_url.clone(),
            ticket_qr => ticket_qr,
        };
        let text = tidy_text(
            &self
                .env
                .get_template("layout.txt.j2")?
                .render(layout_ctx.clone())?,
        );
        let html = self
            .env
            .get_template("layout.html.j2")?
            .render(layout_ctx)?;
        Ok(Rendered {
            subject,
            text,
            html,
            in_app,
            cta_url,
            cta_label,
        })
    }

    /// The in-app words: one short line (the template's `short` block, or
    /// the first paragraph of its intro) and, for event notices, one line of
    /// facts — when and where; an invitation adds the seats and the payment.
    /// No greeting, no raw link, no footer.
    fn in_app_text(
        &self,
        notice: &Notice,
        block: &dyn Fn(&str) -> String,
        event: &Value,
    ) -> String {
        let short = Some(block("short"))
            .filter(|s| !s.is_empty())
            .or_else(|| paragraphs(&block("intro")).into_iter().next())
            .unwrap_or_default();
        let mut out = one_line(&short);
        if event.is_undefined() {
            return out;
        }
        let attr = |name: &str| {
            event
                .get_attr(name)
                .ok()
                .filter(|v| !v.is_undefined() && !v.is_none())
                .map(|v| v.to_string())
        };
        let mut facts = Vec::new();
        if let Some(when) = attr("when") {
            facts.push(format!("{}: {when}", block("label_when")));
        }
        if let Some(location) = attr("location") {
            facts.push(format!("{}: {location}", block("label_where")));
        }
        if matches!(notice, Notice::EventCreated(_)) {
            facts.push(format!("{}: {}", block("label_seats"), block("seats")));
            if let Some(payment) = attr("payment_info") {
                facts.push(format!("{}: {payment}", block("label_payment")));
            }
        }
        if !facts.is_empty() {
            out.push('\n');
            out.push_str(&one_line(&facts.join(" · ")));
        }
        out
    }

    /// Renders each block of a message template on its own, trimmed.
    fn blocks(&self, name: &str, ctx: Value) -> Result<BTreeMap<String, String>, minijinja::Error> {
        let template = self.env.get_template(name)?;
        let mut captured = template.render_captured(ctx)?;
        let mut out = BTreeMap::new();
        for block in BLOCKS {
            let text = captured.with_state_mut(|state| state.render_block(block))?;
            out.insert(block.to_string(), text.trim().to_string());
        }
        Ok(out)
    }

    fn event_value(&self, e: &EventFacts, l: Locale, tz: Tz, tz_name: &str) -> Value {
        let starts = e.starts_at.0.with_timezone(&tz);
        let ends = e.ends_at.0.with_timezone(&tz);
        let until = if starts.date_naive() == ends.date_naive() {
            clock_time(&ends)
        } else {
            l.date_time(&ends)
        };
        context! {
            id => e.id,
            name => e.name.clone(),
            short_description => e.short_description.clone(),
            starts => format!("{} ({})", l.date_time(&starts), tz_name),
            when => format!("{} – {} ({})", l.date_time(&starts), until, tz_name),
            location => e.location.clone(),
            payment_info => e.payment_info.clone(),
            count => e.participants_count,
            max => e.max_participants_count,
        }
    }
}

/// Auto-escaping as minijinja does it, minus its escaping of `/` (legal
/// but noisy in every link): `& < > " '` become entities.
fn html_formatter(
    out: &mut minijinja::Output,
    state: &mut minijinja::State,
    value: &Value,
) -> Result<(), minijinja::Error> {
    if *state.auto_escape() != minijinja::AutoEscape::Html
        || value.is_safe()
        || value.is_undefined()
        || value.is_none()
    {
        return minijinja::escape_formatter(out, state, value);
    }
    let text = value.to_string();
    let mut escaped = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    out.write_str(&escaped)
        .map_err(|e| minijinja::Error::new(minijinja::ErrorKind::WriteFailure, e.to_string()))
}

/// Subjects and labels are one line: a name with a line break cannot split a
/// header.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Splits a block into paragraphs at blank lines.
fn paragraphs(text: &str) -> Vec<String> {
    text.split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(String::from)
        .collect()
}

/// Trailing spaces off, at most one blank line in a row, one final newline.
fn tidy_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for line in text.trim().lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank += 1;
            if blank > 1 {
                continue;
            }
        } else {
            blank = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_tidied() {
        assert_eq!(tidy_text("\n a  \n\n\n\nb\n\n"), "a\n\nb\n");
        assert_eq!(paragraphs("one\n\n two \n\n\n"), ["one", "two"]);
        assert_eq!(one_line(" a\r\n b\t"), "a b");
    }
}
