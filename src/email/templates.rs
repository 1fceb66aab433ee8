//! Message texts for every notification type.
//! (Interim plain rendering; replaced by embedded minijinja templates.)

use crate::config::Config;
use crate::notify::{EventFacts, Notice, Rendered};

fn when(config: &Config, e: &EventFacts) -> String {
    let tz = config.timezone();
    format!(
        "{} ({})",
        e.starts_at.0.with_timezone(&tz).format("%d.%m.%Y %H:%M"),
        config.ui.display_timezone
    )
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

pub fn render(config: &Config, notice: &Notice, name: &str, admin_view: bool) -> Rendered {
    let base = config.public_url();
    let event_url = |e: &EventFacts| {
        if admin_view {
            format!("{base}/admin/events/{}", e.id)
        } else {
            format!("{base}/events/{}", e.id)
        }
    };
    let (subject, body, cta): (String, String, Option<(String, String)>) = match notice {
        Notice::RegConfirmCode { code } => (
            "Код подтверждения регистрации".into(),
            format!("Ваш код подтверждения: {code}"),
            None,
        ),
        Notice::RegWelcome => (
            "Добро пожаловать".into(),
            "Регистрация завершена.".into(),
            Some((format!("{base}/events"), "Открыть афишу".into())),
        ),
        Notice::PasswordResetLink { token } => (
            "Восстановление пароля".into(),
            "Чтобы задать новый пароль, перейдите по ссылке.".into(),
            Some((
                format!("{base}/recovery?token={token}"),
                "Задать пароль".into(),
            )),
        ),
        Notice::PasswordChanged => ("Пароль изменён".into(), "Ваш пароль изменён.".into(), None),
        Notice::AdminSetPassword { password } => (
            "Администратор задал вам пароль".into(),
            format!("Ваш новый пароль: {password}"),
            None,
        ),
        Notice::EventCreated(e) => (
            format!("Вас пригласили: {}", e.name),
            format!("Событие «{}» начнётся {}.", e.name, when(config, e)),
            Some((event_url(e), "Открыть событие".into())),
        ),
        Notice::EventUpdated(e) => (
            format!("Событие изменено: {}", e.name),
            format!("Событие «{}» начнётся {}.", e.name, when(config, e)),
            Some((event_url(e), "Открыть событие".into())),
        ),
        Notice::EventCancelled(e) => (
            format!("Событие отменено: {}", e.name),
            format!("Событие «{}» отменено.", e.name),
            Some((event_url(e), "Открыть событие".into())),
        ),
        Notice::EventReminder(e) => (
            format!("Напоминание: {}", e.name),
            format!("Событие «{}» начнётся {}.", e.name, when(config, e)),
            Some((event_url(e), "Открыть событие".into())),
        ),
        Notice::ParticipationConfirmed { event, user } => (
            format!("{} подтвердил участие в «{}»", user.full_name, event.name),
            format!("{} ({}) подтвердил участие.", user.full_name, user.email),
            Some((event_url(event), "Открыть событие".into())),
        ),
        Notice::ParticipationCancelled { event, user } => (
            format!("{} отменил участие в «{}»", user.full_name, event.name),
            format!("{} ({}) отменил участие.", user.full_name, user.email),
            Some((event_url(event), "Открыть событие".into())),
        ),
    };
    let text = format!("Здравствуйте, {name}!\n\n{body}\n");
    let html = format!(
        "<p>Здравствуйте, {}!</p><p>{}</p>",
        escape(name),
        escape(&body)
    );
    let (cta_url, cta_label) = match cta {
        Some((u, l)) => (Some(u), Some(l)),
        None => (None, None),
    };
    Rendered {
        subject,
        text,
        html,
        cta_url,
        cta_label,
    }
}
