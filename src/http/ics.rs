//! The event as an RFC 5545 iCalendar object: CRLF line endings, escaped
//! text values and lines folded at 75 octets without splitting a UTF-8
//! character.

use chrono::Duration;

use crate::domain::calendar::{Feed, FeedStatus};
use crate::domain::event::Event;
use crate::domain::time::Ts;

/// Longest content line, in octets, before folding (RFC 5545 §3.1).
const LINE_OCTETS: usize = 75;

/// Escapes a TEXT value: backslash, semicolon, comma and line breaks.
pub fn escape_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("\\n");
            }
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Appends `line` to `out`, folded (CRLF + space) so no physical line is
/// longer than 75 octets, and terminated with CRLF.
pub fn push_folded(out: &mut String, line: &str) {
    let mut used = 0;
    for c in line.chars() {
        let len = c.len_utf8();
        if used + len > LINE_OCTETS {
            out.push_str("\r\n ");
            used = 1;
        }
        out.push(c);
        used += len;
    }
    out.push_str("\r\n");
}

/// `YYYYMMDDTHHMMSSZ`.
pub fn utc_stamp(ts: Ts) -> String {
    ts.0.format("%Y%m%dT%H%M%SZ").to_string()
}

/// The host part of `public_url` (the domain of every UID).
fn uid_host(public_url: &str) -> String {
    url::Url::parse(public_url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| "afisha".to_owned())
}

/// The calendar object's header lines.
fn calendar_head() -> Vec<String> {
    vec![
        "BEGIN:VCALENDAR".to_owned(),
        "VERSION:2.0".to_owned(),
        "PRODID:-//Afisha//Afisha//RU".to_owned(),
        "CALSCALE:GREGORIAN".to_owned(),
        "METHOD:PUBLISH".to_owned(),
    ]
}

/// The properties every `VEVENT` of an event has, from `UID` to `URL`
/// (the same UID in the per-event file and in every feed).
fn event_lines(lines: &mut Vec<String>, event: &Event, public_url: &str, host: &str, stamp: Ts) {
    lines.push(format!("UID:event-{}@{}", event.id, host));
    lines.push(format!("DTSTAMP:{}", utc_stamp(stamp)));
    lines.push(format!("DTSTART:{}", utc_stamp(event.starts_at)));
    lines.push(format!("DTEND:{}", utc_stamp(event.ends_at)));
    lines.push(format!("SUMMARY:{}", escape_text(&event.name)));
    if let Some(location) = &event.location {
        lines.push(format!("LOCATION:{}", escape_text(location)));
    }
    let description = match &event.short_description {
        Some(short) if event.description.is_empty() => short.as_str(),
        _ => event.description.as_str(),
    };
    lines.push(format!("DESCRIPTION:{}", escape_text(description)));
    lines.push(format!("URL:{public_url}/events/{}", event.id));
}

fn fold_all(lines: &[String]) -> String {
    let mut out = String::new();
    for line in lines {
        push_folded(&mut out, line);
    }
    out
}

/// The calendar for one event. `public_url` is the web UI's base (no
/// trailing slash); `now` stamps the object.
///
/// `ticket_qr` (the caller's ticket QR code link, while they participate)
/// is added to the description.
pub fn calendar(event: &Event, public_url: &str, now: Ts, ticket_qr: Option<&str>) -> String {
    let host = uid_host(public_url);
    let mut lines = calendar_head();
    lines.push("BEGIN:VEVENT".to_owned());
    event_lines(&mut lines, event, public_url, &host, now);
    if let Some(link) = ticket_qr
        && let Some(line) = lines.iter_mut().find(|l| l.starts_with("DESCRIPTION:"))
    {
        line.push_str(&escape_text(&format!(
            "\n\nTicket (QR code for check-in): {link}"
        )));
    }
    lines.push("END:VEVENT".to_owned());
    lines.push("END:VCALENDAR".to_owned());
    fold_all(&lines)
}

/// A negative RFC 5545 duration (`-P1D`, `-PT2H`, `-PT15M`): `offset`
/// before the start.
pub fn before(offset: Duration) -> String {
    let secs = offset.num_seconds().max(0);
    if secs > 0 && secs % 86_400 == 0 {
        format!("-P{}D", secs / 86_400)
    } else if secs > 0 && secs % 3600 == 0 {
        format!("-PT{}H", secs / 3600)
    } else if secs % 60 == 0 {
        format!("-PT{}M", secs / 60)
    } else {
        format!("-PT{secs}S")
    }
}

/// A subscription feed: every entry as a `VEVENT` with `SEQUENCE`,
/// `LAST-MODIFIED` and `STATUS`, and (for entries not cancelled) a `VALARM`
/// for each of `feed.alarms`, that far before the start. `DTSTAMP` is the
/// entry's last change, so the text is the same until something changes
/// (the ETag is its digest). `name` names the calendar in the app.
pub fn feed(feed: &Feed, public_url: &str, name: &str) -> String {
    let host = uid_host(public_url);
    let mut lines = calendar_head();
    lines.push(format!("X-WR-CALNAME:{}", escape_text(name)));
    lines.push("REFRESH-INTERVAL;VALUE=DURATION:PT1H".to_owned());
    lines.push("X-PUBLISHED-TTL:PT1H".to_owned());
    for entry in &feed.entries {
        let event = &entry.event;
        lines.push("BEGIN:VEVENT".to_owned());
        event_lines(&mut lines, event, public_url, &host, entry.last_modified);
        lines.push(format!("SEQUENCE:{}", entry.sequence));
        lines.push(format!("LAST-MODIFIED:{}", utc_stamp(entry.last_modified)));
        lines.push(format!("CREATED:{}", utc_stamp(event.created_at)));
        lines.push(format!("STATUS:{}", entry.status.as_ics()));
        let alarms = match entry.status {
            FeedStatus::Cancelled => &[][..],
            _ => &feed.alarms[..],
        };
        for &offset in alarms {
            lines.push("BEGIN:VALARM".to_owned());
            lines.push("ACTION:DISPLAY".to_owned());
            lines.push(format!("DESCRIPTION:{}", escape_text(&event.name)));
            lines.push(format!("TRIGGER:{}", before(offset)));
            lines.push("END:VALARM".to_owned());
        }
        lines.push("END:VEVENT".to_owned());
    }
    lines.push("END:VCALENDAR".to_owned());
    fold_all(&lines)
}

/// The ETag of a feed's text: weak, because the answer may be sent
/// gzip-compressed (the same text in other bytes).
pub fn etag(text: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(text.as_bytes());
    format!("W/\"{}\"", hex::encode(&digest[..16]))
}

/// Whether an `If-None-Match` header value matches `etag` (a list, `*`, or
/// weak forms compare by their opaque part).
pub fn none_match(header: &str, etag: &str) -> bool {
    let opaque = etag.trim_start_matches("W/");
    header
        .split(',')
        .map(str::trim)
        .any(|candidate| candidate == "*" || candidate.trim_start_matches("W/") == opaque)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_text() {
        assert_eq!(escape_text("a\\b;c,d\ne\r\nf"), "a\\\\b\\;c\\,d\\ne\\nf");
    }

    #[test]
    fn folds_at_75_octets_on_char_boundaries() {
        let line = format!("SUMMARY:{}", "Ж".repeat(100));
        let mut out = String::new();
        push_folded(&mut out, &line);
        assert!(out.ends_with("\r\n"));
        let physical: Vec<&str> = out.trim_end_matches("\r\n").split("\r\n").collect();
        assert!(physical.len() > 2);
        for (i, l) in physical.iter().enumerate() {
            assert!(l.len() <= 75, "{i}: {}", l.len());
            if i > 0 {
                assert!(l.starts_with(' '));
            }
        }
        let unfolded = out.trim_end_matches("\r\n").replace("\r\n ", "");
        assert_eq!(unfolded, line);
    }

    #[test]
    fn alarm_durations() {
        assert_eq!(before(Duration::days(1)), "-P1D");
        assert_eq!(before(Duration::hours(3)), "-PT3H");
        assert_eq!(before(Duration::minutes(90)), "-PT90M");
    }

    #[test]
    fn if_none_match_forms() {
        let tag = "\"abc\"";
        assert!(none_match("\"abc\"", tag));
        assert!(none_match("\"x\", W/\"abc\"", tag));
        assert!(none_match("*", tag));
        assert!(!none_match("\"abd\"", tag));
    }

    #[test]
    fn short_lines_are_not_folded() {
        let mut out = String::new();
        push_folded(&mut out, &"x".repeat(75));
        assert_eq!(out, format!("{}\r\n", "x".repeat(75)));
    }
}
