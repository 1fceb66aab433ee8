//! A person's notification preferences: language, time zone, which emails
//! they want, and how long before an event they are reminded.

use std::collections::BTreeSet;

use crate::domain::error::{DomainError, DomainResult, FieldError};
use crate::domain::notice::Notice;

/// Languages people can choose (the templates exist for both).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    Ru,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Ru => "ru",
            Lang::En => "en",
        }
    }

    pub fn parse(code: &str) -> Option<Lang> {
        match code {
            "ru" => Some(Lang::Ru),
            "en" => Some(Lang::En),
            _ => None,
        }
    }
}

/// The reminder offset of everyone who has not chosen: one day.
pub const DEFAULT_REMINDER_MINUTES: i64 = 24 * 60;
/// Offsets one person may have at most.
pub const MAX_REMINDERS: usize = 5;
/// The shortest and longest offset, in minutes (5 minutes, 30 days).
pub const REMINDER_RANGE: (i64, i64) = (5, 30 * 24 * 60);

/// What a user chose; `None` = the server's default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Preferences {
    pub locale: Option<Lang>,
    /// An IANA zone name (checked by the caller, which knows the zones).
    pub time_zone: Option<String>,
    /// Notification types whose email this user turned off (only types
    /// [`Notice::email_optional_kind`] allows).
    pub email_off: BTreeSet<String>,
    /// Minutes before the start; `None` = [`DEFAULT_REMINDER_MINUTES`].
    pub reminder_minutes: Option<Vec<i64>>,
}

impl Preferences {
    /// Whether this user gets emails of type `kind`.
    pub fn wants_email(&self, kind: &str) -> bool {
        !Notice::email_optional_kind(kind) || !self.email_off.contains(kind)
    }

    /// The reminder offsets in effect, longest first.
    pub fn reminder_minutes(&self) -> Vec<i64> {
        let mut m = self
            .reminder_minutes
            .clone()
            .unwrap_or_else(|| vec![DEFAULT_REMINDER_MINUTES]);
        m.sort_unstable_by(|a, b| b.cmp(a));
        m
    }
}

/// Checks a change of the email switches: every type must be known, and
/// types that cannot be turned off (codes, password, security) may only be
/// `true`. Answers the set of types turned off.
pub fn email_switches(
    current: &BTreeSet<String>,
    changes: &[(String, bool)],
) -> DomainResult<BTreeSet<String>> {
    let mut off = current.clone();
    let mut errors = Vec::new();
    for (kind, on) in changes {
        let loc = vec!["body".into(), "email".into(), kind.clone().into()];
        if !Notice::KINDS.contains(&kind.as_str()) {
            errors.push(
                FieldError::at(
                    loc,
                    format!("Unknown notification type {kind}"),
                    "value_error",
                )
                .with_code("unknown_notification_type"),
            );
        } else if !on && !Notice::email_optional_kind(kind) {
            errors.push(
                FieldError::at(
                    loc,
                    format!(
                        "{kind} emails cannot be turned off (codes, password and security emails)"
                    ),
                    "value_error",
                )
                .with_code("email_required"),
            );
        } else if *on {
            off.remove(kind);
        } else {
            off.insert(kind.clone());
        }
    }
    if errors.is_empty() {
        Ok(off)
    } else {
        Err(DomainError::Invalid(errors))
    }
}

/// Checks reminder offsets: 1 to [`MAX_REMINDERS`], each within
/// [`REMINDER_RANGE`], no two the same.
pub fn check_reminders(minutes: &[i64]) -> DomainResult<()> {
    let fail = |msg: String| {
        let loc = &["body", "reminder_offsets_minutes"];
        let error = FieldError::new(loc, msg, "value_error").with_code("invalid_reminders");
        Err(DomainError::Invalid(vec![error]))
    };
    if minutes.is_empty() || minutes.len() > MAX_REMINDERS {
        return fail(format!("Give 1 to {MAX_REMINDERS} reminder offsets"));
    }
    let (min, max) = REMINDER_RANGE;
    if let Some(bad) = minutes.iter().find(|m| !(min..=max).contains(*m)) {
        return fail(format!(
            "Reminder offset {bad} is outside {min}..{max} minutes"
        ));
    }
    let unique: BTreeSet<_> = minutes.iter().collect();
    if unique.len() != minutes.len() {
        return fail("Reminder offsets must differ".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn security_emails_cannot_be_turned_off() {
        let none = BTreeSet::new();
        let off = email_switches(&none, &[("EVENT_UPDATED".into(), false)]).unwrap();
        assert!(off.contains("EVENT_UPDATED"));
        let prefs = Preferences {
            email_off: off.clone(),
            ..Default::default()
        };
        assert!(!prefs.wants_email("EVENT_UPDATED"));
        assert!(prefs.wants_email("PASSWORD_CHANGED"));
        assert!(email_switches(&off, &[("PASSWORD_CHANGED".into(), false)]).is_err());
        assert!(email_switches(&off, &[("NOPE".into(), true)]).is_err());
        assert!(
            email_switches(&off, &[("EVENT_UPDATED".into(), true)])
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn reminder_offsets_are_checked() {
        assert!(check_reminders(&[1440, 60]).is_ok());
        assert!(check_reminders(&[]).is_err());
        assert!(check_reminders(&[60, 60]).is_err());
        assert!(check_reminders(&[1]).is_err());
        assert_eq!(Preferences::default().reminder_minutes(), [1440]);
    }
}
