//! The event as an RFC 5545 iCalendar object: CRLF line endings, escaped
//! text values and lines folded at 75 octets without splitting a UTF-8
//! character.

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

/// The calendar for one event. `public_url` is the web UI's base (no
/// trailing slash); `now` stamps the object.
pub fn calendar(event: &Event, public_url: &str, now: Ts) -> String {
    let host = url::Url::parse(public_url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| "afisha".to_owned());
    let mut lines = vec![
        "BEGIN:VCALENDAR".to_owned(),
        "VERSION:2.0".to_owned(),
        "PRODID:-//Afisha//Afisha//RU".to_owned(),
        "CALSCALE:GREGORIAN".to_owned(),
        "METHOD:PUBLISH".to_owned(),
        "BEGIN:VEVENT".to_owned(),
        format!("UID:event-{}@{}", event.id, host),
        format!("DTSTAMP:{}", utc_stamp(now)),
        format!("DTSTART:{}", utc_stamp(event.starts_at)),
        format!("DTEND:{}", utc_stamp(event.ends_at)),
        format!("SUMMARY:{}", escape_text(&event.name)),
    ];
    if let Some(location) = &event.location {
        lines.push(format!("LOCATION:{}", escape_text(location)));
    }
    let description = match &event.short_description {
        Some(short) if event.description.is_empty() => short.as_str(),
        _ => event.description.as_str(),
    };
    lines.push(format!("DESCRIPTION:{}", escape_text(description)));
    lines.push(format!("URL:{public_url}/events/{}", event.id));
    lines.push("END:VEVENT".to_owned());
    lines.push("END:VCALENDAR".to_owned());
    let mut out = String::new();
    for line in &lines {
        push_folded(&mut out, line);
    }
    out
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
    fn short_lines_are_not_folded() {
        let mut out = String::new();
        push_folded(&mut out, &"x".repeat(75));
        assert_eq!(out, format!("{}\r\n", "x".repeat(75)));
    }
}
