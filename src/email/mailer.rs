//! Delivery backends: `console` (log the message), `file` (one `.eml` per
//! message) and `smtp` (lettre's async transport).
//!
//! Every message is `multipart/alternative` (plain text + HTML) with the
//! `From` of `email.from`; lettre encodes non-ASCII headers (RFC 2047).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::{Config, EmailBackend, SmtpTls};
use crate::domain::time::Ts;
use crate::email::Mail;

/// Why a message was not delivered. A `permanent` failure will not get
/// better by retrying (the job fails at once); any other is retried.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct SendError {
    pub permanent: bool,
    pub message: String,
}

impl SendError {
    fn permanent(message: impl Into<String>) -> Self {
        SendError {
            permanent: true,
            message: message.into(),
        }
    }
    fn transient(message: impl Into<String>) -> Self {
        SendError {
            permanent: false,
            message: message.into(),
        }
    }
}

enum Backend {
    Console,
    File(PathBuf),
    Smtp(Box<AsyncSmtpTransport<Tokio1Executor>>),
}

/// A configured backend. Build and drop it inside the tokio runtime (the
/// SMTP transport owns a connection pool).
pub struct Mailer {
    from: Mailbox,
    /// The domain of `from`, for Message-IDs.
    domain: String,
    backend: Backend,
    /// Orders file names written within the same microsecond.
    seq: AtomicU64,
}

impl Mailer {
    pub fn new(config: &Config) -> anyhow::Result<Mailer> {
        let from: Mailbox = config
            .email
            .from
            .parse()
            .map_err(|e| anyhow::anyhow!("email.from: {e}"))?;
        let domain = from.email.domain().to_string();
        let backend = match config.email.backend {
            EmailBackend::File => Backend::File(config.mail_dir()),
            EmailBackend::Smtp => Backend::Smtp(Box::new(smtp_transport(config)?)),
            EmailBackend::Console => Backend::Console,
        };
        Ok(Mailer {
            from,
            domain,
            backend,
            seq: AtomicU64::new(0),
        })
    }

    /// Builds the message of `job`, dated `now`. `key` makes the Message-ID
    /// (`<key@from-domain>`); a job passes the same key on every attempt, so
    /// a message resent after a crash carries the same id as the first copy
    /// and receivers that deduplicate by Message-ID drop it.
    pub fn message(&self, job: &Mail, key: &str, now: Ts) -> Result<Message, SendError> {
        let address = job
            .to_email
            .parse()
            .map_err(|e| SendError::permanent(format!("bad recipient '{}': {e}", job.to_email)))?;
        let name = Some(single_line(&job.to_name)).filter(|n| !n.is_empty());
        let subject = single_line(&job.subject);
        let to = Mailbox::new(name, address);
        // Stored values are cleaned above; a panic left in the library for
        // some other value still becomes a failed attempt, never a crash.
        let built = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.build(to, &subject, job, key, now)
        }));
        match built {
            Ok(message) => message,
            Err(panic) => Err(SendError::permanent(format!(
                "cannot build the message: {}",
                panic_message(&*panic)
            ))),
        }
    }

    fn build(
        &self,
        to: Mailbox,
        subject: &str,
        job: &Mail,
        key: &str,
        now: Ts,
    ) -> Result<Message, SendError> {
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .raw_header(HeaderValue::dangerous_new_pre_encoded(
                HeaderName::new_from_ascii_str("Subject"),
                subject.to_string(),
                encode_subject(subject),
            ))
            .date(SystemTime::from(now.0))
            .message_id(Some(format!("<{key}@{}>", self.domain)))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("Auto-Submitted"),
                "auto-generated".into(),
            ))
            .multipart(MultiPart::alternative_plain_html(
                job.text.clone(),
                job.html.clone(),
            ))
            .map_err(|e| SendError::permanent(format!("cannot build the message: {e}")))
    }

    /// Delivers `job` through the configured backend (`key`: see
    /// [`Mailer::message`]).
    pub async fn send(&self, job: &Mail, key: &str, now: Ts) -> Result<(), SendError> {
        let message = self.message(job, key, now)?;
        match &self.backend {
            Backend::Console => {
                tracing::info!(
                    to = %job.to_email,
                    subject = %job.subject,
                    kind = %job.kind,
                    "email (console backend):\n{}",
                    job.text
                );
                Ok(())
            }
            Backend::File(dir) => self.write_file(dir, &message.formatted(), now).await,
            Backend::Smtp(transport) => transport
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| SendError::transient(format!("SMTP: {e}"))),
        }
    }

    /// Checks that the SMTP server answers: connects, negotiates TLS and
    /// authenticates as a delivery would, then says NOOP. Other backends
    /// always pass. The error is the server's (or the network's) words.
    pub async fn check(&self) -> Result<(), String> {
        match &self.backend {
            Backend::Smtp(transport) => match transport.test_connection().await {
                Ok(true) => Ok(()),
                Ok(false) => Err("SMTP: the server did not answer NOOP".into()),
                Err(e) => Err(format!("SMTP: {e}")),
            },
            Backend::Console | Backend::File(_) => Ok(()),
        }
    }

    /// Writes under a temporary name, then renames, so a reader never sees
    /// half a message. Names start with the time, so they sort by it.
    async fn write_file(&self, dir: &Path, bytes: &[u8], now: Ts) -> Result<(), SendError> {
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let name = format!(
            "{}-{:06}-{}.eml",
            now.0.format("%Y%m%dT%H%M%S%.6fZ"),
            seq % 1_000_000,
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        let dir = dir.to_path_buf();
        let bytes = bytes.to_vec();
        let written = tokio::task::spawn_blocking(move || {
            let tmp = dir.join(format!(".{name}.tmp"));
            let write = |tmp: &Path| std::fs::write(tmp, &bytes);
            if let Err(e) = write(&tmp) {
                if e.kind() != std::io::ErrorKind::NotFound {
                    return Err(e);
                }
                std::fs::create_dir_all(&dir)?;
                write(&tmp)?;
            }
            std::fs::rename(&tmp, dir.join(&name))
                .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", dir.display())))
        })
        .await;
        match written {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(SendError::transient(format!("mail file: {e}"))),
            Err(e) => return Err(SendError::transient(format!("mail file: {e}"))),
        }
        Ok(())
    }
}

/// `text` as one header-safe line: control characters (CR, LF, tabs, …)
/// and Unicode line/paragraph separators become spaces, runs of whitespace
/// collapse, the ends are trimmed.
pub fn single_line(text: &str) -> String {
    text.split(|c: char| c.is_control() || c.is_whitespace())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The text of a caught panic's payload.
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic without a message".into()
    }
}

fn smtp_transport(config: &Config) -> anyhow::Result<AsyncSmtpTransport<Tokio1Executor>> {
    let smtp = &config.email.smtp;
    let host = smtp.host.trim();
    let builder = match smtp.tls {
        SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host),
        SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host),
        SmtpTls::None => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
            host,
        )),
    }
    .map_err(|e| anyhow::anyhow!("email.smtp: {e}"))?;
    let mut builder = builder
        .port(smtp.port)
        .timeout(Some(Duration::from_secs(smtp.timeout_secs)));
    if let Some(username) = &smtp.username {
        builder = builder.credentials(Credentials::new(
            username.clone(),
            smtp.password.clone().unwrap_or_default(),
        ));
    }
    Ok(builder.build())
}

/// The `Subject` header value: as is when it is short ASCII, otherwise a
/// run of RFC 2047 base64 encoded-words, each under 76 characters, split at
/// character boundaries and folded onto continuation lines. Whitespace
/// between adjacent encoded-words is not part of the text, so every decoder
/// gets the subject back exactly (lettre's own encoder mixes plain and
/// encoded words, which lenient parsers join wrongly).
fn encode_subject(subject: &str) -> String {
    const MAX_CHUNK_BYTES: usize = 45; // 60 base64 characters + 12 of framing
    if subject.is_ascii() && subject.len() <= 70 && !subject.chars().any(char::is_control) {
        return subject.to_string();
    }
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in subject.chars() {
        if chunk.len() + c.len_utf8() > MAX_CHUNK_BYTES {
            words.push(format!("=?utf-8?b?{}?=", base64(chunk.as_bytes())));
            chunk.clear();
        }
        chunk.push(c);
    }
    if !chunk.is_empty() || words.is_empty() {
        words.push(format!("=?utf-8?b?{}?=", base64(chunk.as_bytes())));
    }
    words.join("\r\n ")
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for group in bytes.chunks(3) {
        let n = group
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (*b as u32) << (16 - 8 * i));
        for i in 0..4 {
            if i <= group.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_rfc_4648_vectors() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
    }

    #[test]
    fn subjects_are_encoded_whole_and_folded() {
        assert_eq!(encode_subject("Plain subject"), "Plain subject");
        let subject = "Напоминание: Скоро — 26 ноября 2026, 02:17 (Europe/Moscow)";
        let encoded = encode_subject(subject);
        let words: Vec<&str> = encoded.split("\r\n ").collect();
        assert!(words.len() > 1);
        for word in &words {
            assert!(word.len() <= 75 && word.is_ascii(), "{word}");
            assert!(word.starts_with("=?utf-8?b?") && word.ends_with("?="));
        }
        let mailer = Mailer::new(&Config::default()).unwrap();
        let job = Mail {
            to_email: "a@example.com".into(),
            to_name: String::new(),
            kind: "X".into(),
            subject: subject.into(),
            text: "t".into(),
            html: "h".into(),
        };
        let raw = mailer
            .message(&job, "k1", Ts(chrono::Utc::now()))
            .unwrap()
            .formatted();
        let raw = String::from_utf8(raw).unwrap();
        assert!(
            raw.contains(&format!("\r\nSubject: {encoded}\r\n")),
            "{raw}"
        );
    }

    #[test]
    fn hostile_names_and_subjects_build_one_line_headers() {
        let mailer = Mailer::new(&Config::default()).unwrap();
        for hostile in [
            "Ann\r\nBcc: evil@example.com",
            "Ann\nB",
            "Ann\rB",
            "\u{2028}Ann\u{2029}B\u{85}",
            "A\u{0}n\u{7f}n\t",
            "\r\n",
        ] {
            let job = Mail {
                to_name: hostile.into(),
                subject: hostile.into(),
                ..sample()
            };
            let raw = mailer
                .message(&job, "k", Ts(chrono::Utc::now()))
                .unwrap()
                .formatted();
            let raw = String::from_utf8(raw).unwrap();
            let head = raw.split("\r\n\r\n").next().unwrap();
            assert!(!head.to_lowercase().contains("\r\nbcc:"), "{head}");
            for line in head.split("\r\n") {
                assert!(!line.contains('\r') && !line.contains('\n'), "{line:?}");
            }
        }
        assert_eq!(single_line(" Ann\r\n  Lee\u{2028}"), "Ann Lee");
    }

    fn sample() -> Mail {
        Mail {
            to_email: "console@example.com".into(),
            to_name: "Консоль".into(),
            kind: "REG_CONFIRM_CODE".into(),
            subject: "Код".into(),
            text: "Ваш код: 123456".into(),
            html: "<p>123456</p>".into(),
        }
    }

    #[tokio::test]
    async fn console_delivers_and_bad_recipients_fail_for_good() {
        let mailer = Mailer::new(&Config::default()).unwrap();
        let now = Ts(chrono::Utc::now());
        mailer.send(&sample(), "k", now).await.unwrap();
        let bad = Mail {
            to_email: "not an address".into(),
            ..sample()
        };
        let err = mailer.send(&bad, "k", now).await.unwrap_err();
        assert!(err.permanent, "{err}");
    }

    /// (lettre's connection pool needs a runtime to be built and dropped in.)
    #[tokio::test]
    async fn every_smtp_mode_builds_with_and_without_auth() {
        for tls in [SmtpTls::Starttls, SmtpTls::Tls, SmtpTls::None] {
            for user in [None, Some("mailer")] {
                let mut config = Config::default();
                config.email.backend = EmailBackend::Smtp;
                config.email.smtp.host = "smtp.example.com".into();
                config.email.smtp.tls = tls;
                config.email.smtp.username = user.map(String::from);
                config.email.smtp.password = Some("secret".into());
                assert!(Mailer::new(&config).is_ok(), "{tls} {user:?}");
            }
        }
    }
}
