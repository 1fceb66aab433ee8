//! `GET/PUT /api/users/me/preferences`: a person's language, time zone,
//! email switches and reminder offsets.

use std::collections::BTreeMap;

use crate::config::Language;
use crate::domain::error::{DomainError, DomainResult, FieldError};
use crate::domain::notice::Notice;
use crate::domain::preferences::{self, Lang, Preferences};
use crate::service::Services;

/// The preferences in effect (defaults filled in).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Effective {
    pub locale: Lang,
    pub time_zone: String,
    /// Every notification type: whether its email is on.
    pub email: BTreeMap<String, bool>,
    /// Types whose email cannot be turned off.
    pub email_required: Vec<String>,
    /// Longest first.
    pub reminder_offsets_minutes: Vec<i64>,
}

/// A change; `None` / empty = keep.
#[derive(Debug, Clone, Default)]
pub struct Change {
    pub locale: Option<Lang>,
    pub time_zone: Option<String>,
    pub email: Vec<(String, bool)>,
    pub reminder_offsets_minutes: Option<Vec<i64>>,
}

fn effective(svc: &Services, p: &Preferences) -> Effective {
    let locale = p.locale.unwrap_or(match svc.config.ui.default_locale {
        Language::En => Lang::En,
        Language::Ru => Lang::Ru,
    });
    Effective {
        locale,
        time_zone: p
            .time_zone
            .clone()
            .unwrap_or_else(|| svc.config.ui.display_timezone.clone()),
        email: Notice::KINDS
            .iter()
            .map(|k| (k.to_string(), p.wants_email(k)))
            .collect(),
        email_required: Notice::KINDS
            .iter()
            .filter(|k| !Notice::email_optional_kind(k))
            .map(|k| k.to_string())
            .collect(),
        reminder_offsets_minutes: p.reminder_minutes(),
    }
}

/// What user `user_id` has in effect.
pub async fn get(svc: &Services, user_id: i64) -> DomainResult<Effective> {
    let prefs = svc.store.read(move |tx| tx.preferences(user_id)).await?;
    Ok(effective(svc, &prefs))
}

/// Applies `change` to user `user_id`'s preferences; answers what is in
/// effect afterwards. Unknown zones, unknown types, turning off an email
/// that cannot be turned off and bad offsets are 422s naming the field.
pub async fn update(svc: &Services, user_id: i64, change: Change) -> DomainResult<Effective> {
    if let Some(zone) = &change.time_zone
        && zone.parse::<chrono_tz::Tz>().is_err()
    {
        let msg = format!("Unknown time zone '{zone}': give an IANA name such as Europe/Moscow");
        let error = FieldError::new(&["body", "time_zone"], msg, "value_error");
        return Err(DomainError::Invalid(vec![
            error.with_code("unknown_time_zone"),
        ]));
    }
    if let Some(minutes) = &change.reminder_offsets_minutes {
        preferences::check_reminders(minutes)?;
    }
    let now = svc.now();
    let prefs = svc
        .store
        .write(move |tx| {
            let mut prefs = tx.preferences(user_id)?;
            prefs.email_off = preferences::email_switches(&prefs.email_off, &change.email)?;
            if let Some(locale) = change.locale {
                prefs.locale = Some(locale);
            }
            if let Some(zone) = change.time_zone {
                prefs.time_zone = Some(zone);
            }
            if let Some(minutes) = change.reminder_offsets_minutes {
                prefs.reminder_minutes = Some(minutes);
            }
            tx.save_preferences(user_id, &prefs, now)?;
            Ok(prefs)
        })
        .await?;
    Ok(effective(svc, &prefs))
}
