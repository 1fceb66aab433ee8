//! Organiser tools: tickets and check-in, attendance, and who manages an
//! event. Every action takes the acting user ([`Acting`]) so the audit log
//! can record it; [`authorize`] is the one check of event management.

use std::collections::HashMap;

use crate::domain::error::{DomainError, DomainResult, messages};
use crate::domain::event::{Event, ParticipantStatus};
use crate::domain::organiser::{
    self, Acting, EventAttendance, INVALID_TICKET, TICKET_OTHER_EVENT, TicketClaim, can_manage,
    check_in_window, check_participating,
};
use crate::domain::time::Ts;
use crate::secrets::constant_time_eq;
use crate::service::Services;
use crate::service::audit::{self, Action, Actor, Changes, Target};
use crate::store::Tx;
use crate::store::organiser::Person;

/// A participant's ticket: the token, what its QR code encodes (the
/// organisers' check-in page with the token, so a phone camera opens it),
/// and where its QR code is drawn as SVG.
#[derive(Debug, Clone, PartialEq)]
pub struct Ticket {
    pub token: String,
    pub url: String,
    pub qr_url: String,
}

/// The ticket of `user_id` at `event_id`: derived, never stored.
pub fn ticket(svc: &Services, event_id: i64, user_id: i64) -> Ticket {
    let mac = svc
        .secrets
        .mac(&organiser::ticket_message(event_id, user_id));
    let token = organiser::format_ticket(event_id, user_id, &mac);
    let base = svc.config.public_url();
    Ticket {
        url: format!("{base}/events/{event_id}/check-in?ticket={token}"),
        qr_url: format!("{base}/api/tickets/{token}/qr.svg"),
        token,
    }
}

/// The claim of a presented ticket whose MAC is right; anything else
/// (malformed, forged, guessed) is "Invalid ticket".
pub fn verify(svc: &Services, text: &str) -> DomainResult<TicketClaim> {
    let claim = organiser::parse_ticket(text).ok_or_else(|| DomainError::rule(INVALID_TICKET))?;
    let mac = svc
        .secrets
        .mac(&organiser::ticket_message(claim.event_id, claim.user_id));
    if !constant_time_eq(&mac[..organiser::TICKET_MAC_BYTES], &claim.mac) {
        return Err(DomainError::rule(INVALID_TICKET));
    }
    Ok(claim)
}

/// The ticket's QR code as an SVG document (what `qr_url` serves; the
/// ticket must be genuine).
pub fn qr_svg(svc: &Services, text: &str) -> DomainResult<String> {
    let claim = verify(svc, text)?;
    let url = ticket(svc, claim.event_id, claim.user_id).url;
    let code = qrcode::QrCode::with_error_correction_level(url.as_bytes(), qrcode::EcLevel::M)
        .map_err(DomainError::internal)?;
    Ok(code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(240, 240)
        .quiet_zone(true)
        .build())
}

fn require_event(tx: &mut dyn Tx, event_id: i64) -> DomainResult<Event> {
    tx.event(event_id)?
        .ok_or_else(|| DomainError::not_found(messages::EVENT_NOT_FOUND))
}

/// The one check of event management: administrators may manage every
/// event, a user only the events they are a manager of (403 otherwise,
/// whether or not the event exists, with the administrators' message: to
/// everyone else these stay administrator routes, as API.md has them).
pub fn authorize_in(tx: &mut dyn Tx, by: Acting, event_id: i64) -> DomainResult<()> {
    if by.is_admin {
        return Ok(());
    }
    let managers = tx.managers_of(&[event_id])?.pop().unwrap_or_default();
    if can_manage(by, &managers) {
        Ok(())
    } else {
        Err(DomainError::admin_required())
    }
}

/// [`authorize_in`] in its own read transaction (the HTTP extractor calls
/// it before reading the request body).
pub async fn authorize(svc: &Services, by: Acting, event_id: i64) -> DomainResult<()> {
    if by.is_admin {
        return Ok(());
    }
    svc.store
        .read(move |tx| authorize_in(tx, by, event_id))
        .await
}

/// Who is being checked in.
#[derive(Debug, Clone)]
pub enum Attendee {
    Ticket(String),
    User(i64),
}

/// The answer of a check-in.
#[derive(Debug, Clone)]
pub struct CheckedIn {
    pub person: Person,
    pub already_checked_in: bool,
    pub checked_in_at: Ts,
}

/// Checks a participant in (idempotent: a second time answers
/// `already_checked_in` with the first time). Only `PARTICIPATING` people
/// of this event, while check-in is open.
pub async fn check_in(
    svc: &Services,
    by: Acting,
    actor: &Actor,
    event_id: i64,
    who: Attendee,
) -> DomainResult<CheckedIn> {
    let (user_id, claimed_event) = match &who {
        Attendee::User(id) => (*id, None),
        Attendee::Ticket(text) => {
            let claim = verify(svc, text)?;
            (claim.user_id, Some(claim.event_id))
        }
    };
    let (svc, actor) = (svc.clone(), actor.clone());
    svc.store
        .clone()
        .write(move |tx| {
            let now = svc.now();
            authorize_in(tx, by, event_id)?;
            let event = require_event(tx, event_id)?;
            if claimed_event.is_some_and(|e| e != event_id) {
                return Err(DomainError::rule(TICKET_OTHER_EVENT));
            }
            check_in_window(&event, now, svc.config.events.checkin_opens_minutes)?;
            let person = tx
                .person(user_id)?
                .ok_or_else(|| DomainError::rule(organiser::NOT_PARTICIPATING))?;
            check_participating(tx.participant_status(event_id, user_id)?)?;
            let before = tx.check_in(event_id, user_id, by.user_id, now)?;
            let changes = Changes::none().with(
                "checked_in",
                serde_json::json!({"user_id": user_id, "checked_in_at": before}),
                serde_json::json!({"user_id": user_id, "checked_in_at": before.unwrap_or(now)}),
            );
            let target = Target::event(event_id);
            audit::record(&svc, tx, &actor, Action::CheckInRecorded, target, changes)?;
            Ok(CheckedIn {
                person,
                already_checked_in: before.is_some(),
                checked_in_at: before.unwrap_or(now),
            })
        })
        .await
}

/// Undoes a check-in (nothing to undo is fine), while check-in is open.
pub async fn undo_check_in(
    svc: &Services,
    by: Acting,
    actor: &Actor,
    event_id: i64,
    user_id: i64,
) -> DomainResult<()> {
    let (svc, actor) = (svc.clone(), actor.clone());
    svc.store
        .clone()
        .write(move |tx| {
            let now = svc.now();
            authorize_in(tx, by, event_id)?;
            let event = require_event(tx, event_id)?;
            check_in_window(&event, now, svc.config.events.checkin_opens_minutes)?;
            let before = tx.check_ins(event_id)?.get(&user_id).copied();
            tx.undo_check_in(event_id, user_id)?;
            let changes = Changes::none().with(
                "checked_in",
                serde_json::json!({"user_id": user_id, "checked_in_at": before}),
                serde_json::json!({"user_id": user_id, "checked_in_at": null}),
            );
            let target = Target::event(event_id);
            audit::record(&svc, tx, &actor, Action::CheckInUndone, target, changes)?;
            Ok(())
        })
        .await
}

/// One row of the check-in desk.
#[derive(Debug, Clone)]
pub struct DeskRow {
    pub person: Person,
    pub checked_in_at: Option<Ts>,
}

/// The check-in desk of an event: its participants (`PARTICIPATING`, by
/// join time) with their check-in times, and whether check-in is open.
#[derive(Debug, Clone)]
pub struct Desk {
    pub event: Event,
    pub open: bool,
    /// Why check-in is not open (`None` when it is).
    pub closed_reason: Option<String>,
    pub rows: Vec<DeskRow>,
}

pub async fn desk(svc: &Services, by: Acting, event_id: i64) -> DomainResult<Desk> {
    let now = svc.now();
    let opens = svc.config.events.checkin_opens_minutes;
    svc.store
        .read(move |tx| {
            authorize_in(tx, by, event_id)?;
            let event = require_event(tx, event_id)?;
            let closed_reason = check_in_window(&event, now, opens)
                .err()
                .map(|e| e.to_string());
            let times: HashMap<i64, Ts> = tx.check_ins(event_id)?;
            let rows = tx
                .participations(event_id)?
                .into_iter()
                .filter(|p| p.status == ParticipantStatus::Participating)
                .map(|p| DeskRow {
                    checked_in_at: times.get(&p.user_id).copied(),
                    person: Person {
                        id: p.user_id,
                        full_name: p.full_name,
                        email: p.email,
                    },
                })
                .collect();
            Ok(Desk {
                event,
                open: closed_reason.is_none(),
                closed_reason,
                rows,
            })
        })
        .await
}

/// Attendance of the most recent `limit` events whose check-in has opened
/// (`events.checkin_opens_minutes` before the start).
pub async fn attendance(svc: &Services, limit: i64) -> DomainResult<Vec<EventAttendance>> {
    let opens = chrono::Duration::minutes(i64::from(svc.config.events.checkin_opens_minutes));
    let cutoff = Ts(svc.now().0 + opens);
    svc.store.read(move |tx| tx.attendance(cutoff, limit)).await
}

/// The events a user manages (the UI shows them "Manage" and "Check-in").
pub async fn managed_events(svc: &Services, user_id: i64) -> DomainResult<Vec<i64>> {
    svc.store.read(move |tx| tx.managed_events(user_id)).await
}

/// When each participant of an event checked in (the export).
pub async fn check_in_times(svc: &Services, event_id: i64) -> DomainResult<HashMap<i64, Ts>> {
    svc.store.read(move |tx| tx.check_ins(event_id)).await
}
