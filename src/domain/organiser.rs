//! Organiser tools: check-in tickets and their window, attendance figures,
//! and who may manage an event (administrators and the event's managers).
//!
//! A ticket is `<event_id>.<user_id>.<mac>`: the MAC (HMAC-SHA-256 under a
//! key derived from `secret.key`, the first [`TICKET_MAC_BYTES`] bytes,
//! base64url) is what makes it unguessable; the two ids only say which
//! participation it claims to be, so a ticket of another event can be
//! named as such. Computing the MAC is the service's job (the key is not
//! domain data); parsing, formatting and the rules are here.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Duration;

use crate::domain::error::{DomainError, DomainResult};
use crate::domain::event::{Event, ParticipantStatus};
use crate::domain::time::Ts;

/// 160 bits of MAC in every ticket.
pub const TICKET_MAC_BYTES: usize = 20;
/// Check-in stays open this long after the event ends.
pub const CHECKIN_CLOSES_AFTER_END_HOURS: i64 = 24;

pub const INVALID_TICKET: &str = "Invalid ticket";
pub const TICKET_OTHER_EVENT: &str = "This ticket is for another event";
pub const NOT_PARTICIPATING: &str = "Not a participant of this event";
pub const WAITLISTED_NOT_PARTICIPATING: &str =
    "On the waiting list, not a participant of this event";
pub const DECLINED_NOT_PARTICIPATING: &str = "Declined this event, not a participant";
pub const CHECKIN_NOT_OPEN: &str = "Check-in is not open yet";
pub const CHECKIN_CLOSED: &str = "Check-in is closed";
pub const EVENT_CANCELLED: &str = "Event is cancelled";
pub const TICKET_OR_USER: &str = "Give either ticket or user_id";
pub const MANAGERS_MISSING: &str = "Some managers are missing or deleted";
pub const MANAGERS_ADMIN_ONLY: &str = "Only administrators set event managers";

/// What the MAC of a ticket is computed over.
pub fn ticket_message(event_id: i64, user_id: i64) -> Vec<u8> {
    format!("afisha ticket v1\0{event_id}\0{user_id}").into_bytes()
}

/// The ticket text from its ids and the full MAC (truncated here).
pub fn format_ticket(event_id: i64, user_id: i64, mac: &[u8]) -> String {
    let mac = &mac[..TICKET_MAC_BYTES.min(mac.len())];
    format!("{event_id}.{user_id}.{}", URL_SAFE_NO_PAD.encode(mac))
}

/// What a presented ticket claims (not yet verified).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketClaim {
    pub event_id: i64,
    pub user_id: i64,
    pub mac: Vec<u8>,
}

/// Parses `<event_id>.<user_id>.<mac>`; `None` for anything else (which is
/// answered as an invalid ticket, like a wrong MAC).
pub fn parse_ticket(text: &str) -> Option<TicketClaim> {
    let mut parts = text.trim().split('.');
    let event_id = parts.next()?.parse::<i64>().ok()?;
    let user_id = parts.next()?.parse::<i64>().ok()?;
    let mac = URL_SAFE_NO_PAD.decode(parts.next()?).ok()?;
    if parts.next().is_some() || mac.len() != TICKET_MAC_BYTES {
        return None;
    }
    Some(TicketClaim {
        event_id,
        user_id,
        mac,
    })
}

/// Check-in is open from `opens_minutes` before the start until 24 hours
/// after the end, for events that are not cancelled.
pub fn check_in_window(event: &Event, now: Ts, opens_minutes: u32) -> DomainResult<()> {
    if event.rejected_at.is_some() {
        return Err(DomainError::rule(EVENT_CANCELLED));
    }
    let opens = event.starts_at.0 - Duration::minutes(i64::from(opens_minutes));
    let closes = event.ends_at.0 + Duration::hours(CHECKIN_CLOSES_AFTER_END_HOURS);
    if now.0 < opens {
        return Err(DomainError::rule(CHECKIN_NOT_OPEN));
    }
    if now.0 > closes {
        return Err(DomainError::rule(CHECKIN_CLOSED));
    }
    Ok(())
}

/// Only `PARTICIPATING` people check in; the others get a message saying
/// why not.
pub fn check_participating(status: Option<ParticipantStatus>) -> DomainResult<()> {
    match status {
        Some(ParticipantStatus::Participating) => Ok(()),
        Some(ParticipantStatus::Waitlisted) => Err(DomainError::rule(WAITLISTED_NOT_PARTICIPATING)),
        Some(ParticipantStatus::Rejected) => Err(DomainError::rule(DECLINED_NOT_PARTICIPATING)),
        None => Err(DomainError::rule(NOT_PARTICIPATING)),
    }
}

/// Who is acting on an event (the audit log will record it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Acting {
    pub user_id: i64,
    pub is_admin: bool,
}

impl Acting {
    /// The server itself (the demo data, the CLI): an administrator with
    /// no user id.
    pub const SYSTEM: Acting = Acting {
        user_id: 0,
        is_admin: true,
    };
}

/// The one rule of event management: administrators manage every event,
/// a user manages the events whose `managers` list them.
pub fn can_manage(by: Acting, managers: &[i64]) -> bool {
    by.is_admin || managers.contains(&by.user_id)
}

/// Attendance of one event whose check-in has opened: `came` of `registered`
/// (`PARTICIPATING`) people checked in.
#[derive(Debug, Clone, PartialEq)]
pub struct EventAttendance {
    pub event_id: i64,
    pub name: String,
    pub starts_at: Ts,
    pub registered: i64,
    pub came: i64,
}

impl EventAttendance {
    /// came / registered, 0 when nobody registered.
    pub fn rate(&self) -> f64 {
        crate::domain::event::ratio(self.came, self.registered)
    }
}

/// Over those events: everyone registered, everyone who came,
/// and the share of registered people who did not come (0 when none).
pub fn no_show_rate(events: &[EventAttendance]) -> (i64, i64, f64) {
    let registered: i64 = events.iter().map(|e| e.registered).sum();
    let came: i64 = events.iter().map(|e| e.came.min(e.registered)).sum();
    (
        registered,
        came,
        crate::domain::event::ratio(registered - came, registered),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Ts {
        Ts::parse(s).unwrap()
    }

    fn event() -> Event {
        Event {
            id: 7,
            name: "n".into(),
            short_description: None,
            description: String::new(),
            starts_at: t("2026-05-01T10:00:00Z"),
            ends_at: t("2026-05-01T12:00:00Z"),
            image_url: String::new(),
            payment_info: None,
            max_participants_count: None,
            location: None,
            created_at: t("2026-04-01T10:00:00Z"),
            rejected_at: None,
            attendees_visible: true,
            category_id: None,
            series_id: None,
            series_index: None,
        }
    }

    #[test]
    fn tickets_round_trip_and_reject_anything_else() {
        let mac = [7u8; 32];
        let text = format_ticket(12, 34, &mac);
        let claim = parse_ticket(&text).unwrap();
        assert_eq!((claim.event_id, claim.user_id), (12, 34));
        assert_eq!(claim.mac, mac[..TICKET_MAC_BYTES].to_vec());
        for bad in [
            "",
            "12.34",
            "12.34.",
            "x.34.AAAA",
            &format!("{text}.1"),
            "12.34.AAAAAAAAAAAAAAAAAAAAAA",
        ] {
            assert_eq!(parse_ticket(bad), None, "{bad}");
        }
    }

    #[test]
    fn window_opens_before_the_start_and_closes_a_day_after_the_end() {
        let e = event();
        assert!(matches!(
            check_in_window(&e, t("2026-05-01T08:59:59Z"), 60),
            Err(DomainError::Rule(m)) if m == CHECKIN_NOT_OPEN
        ));
        assert!(check_in_window(&e, t("2026-05-01T09:00:00Z"), 60).is_ok());
        assert!(check_in_window(&e, t("2026-05-02T12:00:00Z"), 60).is_ok());
        assert!(matches!(
            check_in_window(&e, t("2026-05-02T12:00:01Z"), 60),
            Err(DomainError::Rule(m)) if m == CHECKIN_CLOSED
        ));
        let cancelled = Event {
            rejected_at: Some(t("2026-04-02T00:00:00Z")),
            ..e
        };
        assert!(check_in_window(&cancelled, t("2026-05-01T10:00:00Z"), 60).is_err());
    }

    #[test]
    fn only_participants_check_in() {
        assert!(check_participating(Some(ParticipantStatus::Participating)).is_ok());
        for s in [
            Some(ParticipantStatus::Waitlisted),
            Some(ParticipantStatus::Rejected),
            None,
        ] {
            assert!(check_participating(s).is_err());
        }
    }

    #[test]
    fn managers_and_administrators_manage() {
        let user = Acting {
            user_id: 5,
            is_admin: false,
        };
        assert!(can_manage(user, &[3, 5]));
        assert!(!can_manage(user, &[3]));
        assert!(can_manage(
            Acting {
                user_id: 1,
                is_admin: true
            },
            &[]
        ));
    }

    #[test]
    fn no_show_rate_over_started_events() {
        let e = |registered, came| EventAttendance {
            event_id: 1,
            name: String::new(),
            starts_at: t("2026-05-01T10:00:00Z"),
            registered,
            came,
        };
        assert_eq!(no_show_rate(&[]), (0, 0, 0.0));
        assert_eq!(no_show_rate(&[e(4, 3), e(6, 2)]), (10, 5, 0.5));
        assert_eq!(e(4, 3).rate(), 0.75);
    }
}
