//! The job queue, email delivery (file backend and a real SMTP listener),
//! templates, reminders, clean-up and the `afisha jobs` CLI. Time moves by
//! the manual clock; waits below wait for events (a row changing, a message
//! arriving), never for time to pass.

mod common;

use std::process::Command;
use std::sync::{Arc, Mutex};

use afisha::config::Config;
use afisha::domain::error::DomainError;
use afisha::domain::notice::{Actor, EventFacts, Notice, To};
use afisha::domain::time::Ts;
use afisha::email::templates::{Locale, Templates};
use afisha::email::{Mail as EmailJob, Renderer};
use afisha::service::outbox;
use chrono::{Duration, TimeZone, Utc};
use common::smtp::*;
use common::*;

// ---------------------------------------------------------------------------
// Support: job inspection (the SMTP server is tests/common/smtp.rs).
// ---------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct JobState {
    attempts: i64,
    run_at: Ts,
    locked_by: Option<String>,
    last_error: Option<String>,
    done: bool,
    failed: bool,
}

async fn job(srv: &TestServer, id: i64) -> JobState {
    let r = srv
        .sql_rows(
            "SELECT attempts, run_at, locked_by, last_error, done_at IS NOT NULL, failed_at IS NOT NULL
             FROM job WHERE id = ?1",
            vec![id.into()],
        )
        .await
        .remove(0);
    let text = |v: &serde_json::Value| v.as_str().map(str::to_string);
    JobState {
        attempts: r[0].as_i64().unwrap(),
        run_at: Ts::from_micros(r[1].as_i64().unwrap()),
        locked_by: text(&r[2]),
        last_error: text(&r[3]),
        done: r[4].as_i64() == Some(1),
        failed: r[5].as_i64() == Some(1),
    }
}

/// Waits until job `id` satisfies `pred` and returns its state.
async fn wait_job(srv: &TestServer, id: i64, pred: impl Fn(&JobState) -> bool) -> JobState {
    eventually(&format!("job {id} to change"), async || {
        let state = job(srv, id).await;
        pred(&state).then_some(state)
    })
    .await
}

/// Sends `notice` through the outbox in its own transaction and returns
/// the id of the last job enqueued.
async fn notify(srv: &TestServer, notice: Notice, to: Vec<To>) -> i64 {
    let svc = srv.state.svc.clone();
    svc.store
        .clone()
        .write(move |tx| outbox::notify(&svc, tx, &notice, &to))
        .await
        .unwrap();
    srv.query_i64("SELECT max(id) FROM job", vec![]).await
}

fn address(email: &str, name: &str) -> Vec<To> {
    vec![To::Address {
        email: email.into(),
        name: name.into(),
    }]
}

/// The unfolded value of a raw header, as written.
fn raw_header(raw: &str, name: &str) -> Option<String> {
    let mut value: Option<String> = None;
    for line in raw.lines() {
        if line.is_empty() {
            break;
        }
        if let Some(v) = value.as_mut()
            && (line.starts_with(' ') || line.starts_with('\t'))
        {
            v.push(' ');
            v.push_str(line.trim());
            continue;
        }
        if value.is_some() {
            break;
        }
        if line
            .to_ascii_lowercase()
            .starts_with(&format!("{}:", name.to_ascii_lowercase()))
        {
            value = Some(line[name.len() + 1..].trim().to_string());
        }
    }
    value
}

fn facts(id: i64, name: &str, starts_at: Ts) -> EventFacts {
    EventFacts {
        id,
        name: name.into(),
        short_description: Some("Коротко о главном".into()),
        starts_at,
        ends_at: Ts(starts_at.0 + Duration::hours(2)),
        location: Some("Переговорная «Орион»".into()),
        payment_info: None,
        max_participants_count: Some(20),
        participants_count: 5,
    }
}

// ---------------------------------------------------------------------------
// SMTP delivery
// ---------------------------------------------------------------------------

#[tokio::test]
async fn smtp_delivers_multipart_mail_with_an_encoded_cyrillic_subject() {
    let smtp = SmtpServer::start().await;
    let srv = TestServer::with(|c| smtp_config(c, smtp.port)).await;
    let id = notify(
        &srv,
        Notice::RegConfirmCode { code: 493817 },
        address("ivan@example.com", "Иван Петров"),
    )
    .await;

    let got = smtp.wait_message().await;
    assert_eq!(got.mail_from, "afisha@localhost");
    assert_eq!(got.rcpt_to, ["ivan@example.com"]);
    let raw = &got.data;
    let subject = raw_header(raw, "Subject").unwrap();
    assert!(
        subject.is_ascii() && subject.to_ascii_lowercase().contains("=?utf-8?"),
        "the Cyrillic subject is RFC 2047-encoded: {subject}"
    );
    assert_eq!(
        decode_words(&subject),
        "Код подтверждения регистрации — Афиша"
    );
    let from = raw_header(raw, "From").unwrap();
    assert!(from.is_ascii(), "{from}");
    assert_eq!(decode_words(&from), "Афиша <afisha@localhost>");
    let to = decode_words(&raw_header(raw, "To").unwrap());
    assert!(
        to.contains("Иван Петров") && to.contains("<ivan@example.com>"),
        "{to}"
    );
    let message_id = raw_header(raw, "Message-ID").unwrap();
    assert!(
        message_id.starts_with(&format!("<afisha.job.{id}."))
            && message_id.ends_with("@localhost>"),
        "stable per job: {message_id}"
    );
    for name in ["Date", "MIME-Version"] {
        assert!(raw_header(raw, name).is_some(), "{name} header missing");
    }
    assert!(
        raw_header(raw, "Content-Type")
            .unwrap()
            .starts_with("multipart/alternative"),
        "{raw}"
    );
    assert!(
        raw.contains("Content-Type: text/plain; charset=utf-8"),
        "{raw}"
    );
    assert!(
        raw.contains("Content-Type: text/html; charset=utf-8"),
        "{raw}"
    );

    let mail = Mail::parse(raw.clone());
    assert_eq!(mail.code(), Some(493817));
    let body = mail.text();
    assert!(body.contains("Здравствуйте, Иван Петров!"), "{body}");
    assert!(body.contains("<!DOCTYPE html>"), "HTML part: {body}");
    assert!(body.contains("Код подтверждения:"), "{body}");

    let state = wait_job(&srv, id, |j| j.done).await;
    assert_eq!(state.attempts, 1);
    assert_eq!(state.locked_by, None);
}

#[tokio::test]
async fn a_refusing_smtp_server_gets_retries_with_growing_backoff_until_it_accepts() {
    let smtp = SmtpServer::start().await;
    smtp.refuse(Some("451 4.3.0 Mailbox busy, try again later"));
    let srv = TestServer::with(|c| smtp_config(c, smtp.port)).await;
    let id = notify(
        &srv,
        Notice::PasswordChanged,
        address("retry@example.com", "Retry"),
    )
    .await;

    let mut previous_delay = Duration::zero();
    for attempt in 1..=3 {
        let state = wait_job(&srv, id, |j| j.attempts == attempt && j.locked_by.is_none()).await;
        assert!(!state.done && !state.failed, "{state:?}");
        let error = state.last_error.clone().unwrap_or_default();
        assert!(error.contains("451"), "attempt {attempt}: {error}");
        // 30 s × 2^(attempt−1), plus at most 25 % jitter.
        let nominal = Duration::seconds(30 << (attempt - 1));
        let delay = state.run_at.0 - srv.now().0;
        assert!(
            delay >= nominal && delay <= nominal + nominal / 4,
            "attempt {attempt}: retry after {delay}"
        );
        assert!(delay > previous_delay);
        previous_delay = delay;
        // Just before the retry is due nothing happens...
        srv.clock.set(state.run_at.0 - Duration::seconds(1));
        let probe = notify(
            &srv,
            Notice::PasswordChanged,
            address("probe@x.example", "P"),
        )
        .await;
        wait_job(&srv, probe, |j| j.attempts >= 1).await;
        assert_eq!(job(&srv, id).await.attempts, attempt, "retried too early");
        // ...and at the moment it is due, the next attempt runs.
        srv.clock.set(state.run_at.0);
    }

    let state = wait_job(&srv, id, |j| j.attempts == 4 && j.locked_by.is_none()).await;
    assert!(!state.done);
    assert!(smtp.received().is_empty());
    smtp.refuse(None);
    srv.clock.set(state.run_at.0);
    let state = wait_job(&srv, id, |j| j.done).await;
    assert_eq!(state.attempts, 5);
    let got = smtp
        .received()
        .into_iter()
        .filter(|m| m.rcpt_to == ["retry@example.com"])
        .collect::<Vec<_>>();
    assert_eq!(got.len(), 1, "delivered exactly once");
    assert_eq!(
        Mail::parse(got[0].data.clone()).subject,
        "Пароль изменён — Афиша"
    );
}

#[tokio::test]
async fn concurrency_is_bounded_and_shutdown_waits_for_running_jobs() {
    let smtp = SmtpServer::start().await;
    smtp.hold();
    let srv = TestServer::with(|c| {
        smtp_config(c, smtp.port);
        c.jobs.concurrency = 2;
    })
    .await;
    let to: Vec<To> = (0..5)
        .flat_map(|n| address(&format!("c{n}@example.com"), "C"))
        .collect();
    notify(&srv, Notice::PasswordChanged, to).await;
    smtp.wait_held(2).await;
    // Two run (both stuck in SMTP); the other three wait unclaimed.
    assert_eq!(
        srv.query_i64(
            "SELECT count(*) FROM job WHERE locked_by IS NOT NULL",
            vec![]
        )
        .await,
        2
    );
    assert_eq!(
        srv.query_i64("SELECT count(*) FROM job WHERE attempts = 0", vec![])
            .await,
        3
    );

    // Shut down first, then let the two deliveries finish: stop() returns
    // after they are recorded, and nothing new was claimed.
    let store = srv.state.svc.store.clone();
    let ((_dir, _config), ()) = tokio::join!(srv.stop(), async { smtp.release() });
    let count = |sql: &'static str| {
        let store = store.clone();
        async move { sql_rows(&store, sql, vec![]).await[0][0].as_i64().unwrap() }
    };
    assert_eq!(
        count("SELECT count(*) FROM job WHERE done_at IS NOT NULL").await,
        2
    );
    assert_eq!(
        count("SELECT count(*) FROM job WHERE attempts = 0 AND locked_by IS NULL").await,
        3
    );
    assert_eq!(smtp.received().len(), 2);
}

#[tokio::test]
async fn a_delivery_cut_off_at_shutdown_is_sent_again_after_restart() {
    let smtp = SmtpServer::start().await;
    smtp.hold();
    let srv = TestServer::with(|c| {
        smtp_config(c, smtp.port);
        c.server.shutdown_grace_secs = 1;
    })
    .await;
    let id = notify(&srv, Notice::RegWelcome, address("twice@example.com", "T")).await;
    // The SMTP server has the whole message but has not said so yet when
    // the server stops: the grace ends, the job stays claimed, not done.
    smtp.wait_held(1).await;
    let (dir, config) = srv.stop().await;
    smtp.release();
    let srv = TestServer::start_in(dir, config).await;
    let state = job(&srv, id).await;
    assert!(!state.done && state.locked_by.is_some(), "{state:?}");

    // After the lock expires the job runs again: at-least-once delivery
    // means the recipient's server got it twice, with one Message-ID.
    srv.clock.advance(Duration::seconds(
        srv.state.config.jobs.lock_secs as i64 + 1,
    ));
    let state = wait_job(&srv, id, |j| j.done).await;
    assert_eq!(state.attempts, 2);
    let copies = smtp.received();
    assert_eq!(copies.len(), 2);
    assert_eq!(
        raw_header(&copies[0].data, "Message-ID"),
        raw_header(&copies[1].data, "Message-ID")
    );
}

fn cli(dir: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_afisha"))
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .current_dir(dir)
        .env_remove("AFISHA_CONFIG")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn a_job_fails_after_max_attempts_and_jobs_retry_revives_it() {
    let mut smtp = SmtpServer::start().await;
    smtp.stop().await; // the server is down
    let srv = TestServer::with(|c| smtp_config(c, smtp.port)).await;
    assert_eq!(srv.state.config.jobs.max_attempts, 5);
    let id = notify(
        &srv,
        Notice::RegWelcome,
        address("down@example.com", "Down"),
    )
    .await;
    for attempt in 1..5 {
        let state = wait_job(&srv, id, |j| j.attempts == attempt && j.locked_by.is_none()).await;
        assert!(!state.failed, "attempt {attempt}: {state:?}");
        srv.clock.set(state.run_at.0);
    }
    let state = wait_job(&srv, id, |j| j.failed).await;
    assert_eq!(state.attempts, 5);
    assert!(!state.done);
    let error = state.last_error.unwrap();
    assert!(error.starts_with("SMTP"), "the last error is kept: {error}");

    let dir = srv.dir.path().to_path_buf();
    let (ok, out, err) = cli(&dir, &["jobs", "list", "--failed"]);
    assert!(ok, "{err}");
    let line = out
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("{id} ")))
        .unwrap_or_else(|| panic!("job {id} not listed:\n{out}"));
    assert!(line.contains("failed") && line.contains("5/5"), "{line}");
    assert!(line.contains("down@example.com"), "{line}");
    assert!(out.contains("last error: SMTP"), "{out}");

    // The server comes back, then the job is revived. On PostgreSQL the
    // CLI's commit may wake the server's scheduler at once (NOTIFY), so
    // the mail server is up first and the revived job can only succeed.
    smtp.restart().await;
    let (ok, _, err) = cli(&dir, &["jobs", "retry", &id.to_string()]);
    assert!(ok, "{err}");
    let (ok, out, _) = cli(&dir, &["jobs", "list", "--failed"]);
    assert!(ok);
    assert_eq!(out.trim(), "no failed jobs");

    // A clock tick wakes the scheduler where nothing else did (on SQLite
    // another process's change sends no in-process notification).
    srv.clock.advance(Duration::seconds(1));
    let state = wait_job(&srv, id, |j| j.done).await;
    assert!(!state.failed);
    // Reset to 0 by the retry, then one delivery (not 6).
    assert_eq!(state.attempts, 1);
    let got = smtp.wait_message().await;
    assert_eq!(got.rcpt_to, ["down@example.com"]);

    // Only failed jobs can be retried; unknown ids are reported.
    let (ok, _, err) = cli(&dir, &["jobs", "retry", &id.to_string()]);
    assert!(!ok);
    assert!(err.contains("has not failed"), "{err}");
    let (ok, _, err) = cli(&dir, &["jobs", "retry", "987654"]);
    assert!(!ok);
    assert!(err.contains("job 987654 not found"), "{err}");
    let (ok, _, err) = cli(&dir, &["jobs", "retry"]);
    assert!(!ok, "an id or --all-failed is required: {err}");
}

#[tokio::test]
async fn retry_all_failed_revives_every_failed_job_for_the_next_start() {
    let srv = TestServer::start().await;
    let now = srv.now();
    // Three jobs that failed earlier.
    for n in 0..3 {
        let job = EmailJob {
            to_email: format!("failed{n}@example.com"),
            to_name: "F".into(),
            kind: "REG_WELCOME".into(),
            subject: format!("Revived {n}"),
            text: "text".into(),
            html: "<p>html</p>".into(),
        };
        srv.sql_exec(
            "INSERT INTO job (kind, payload, run_at, attempts, max_attempts, last_error, created_at, failed_at)
             VALUES ('email', ?1, ?2, 5, 5, 'SMTP: refused', ?2, ?2)",
            vec![serde_json::to_string(&job).unwrap().into(), now.micros().into()],
        )
        .await;
    }
    let (dir, config) = srv.stop().await;

    let (ok, out, err) = cli(dir.path(), &["jobs", "retry", "--all-failed"]);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "3 failed job(s) queued again");

    let srv = TestServer::start_in(dir, config).await;
    for n in 0..3 {
        let mail = srv
            .wait_mail(&format!("failed{n}@example.com"), |_| true)
            .await;
        assert_eq!(mail.subject, format!("Revived {n}"));
    }
    assert_eq!(
        srv.query_i64(
            "SELECT count(*) FROM job WHERE failed_at IS NOT NULL",
            vec![]
        )
        .await,
        0
    );
}

// ---------------------------------------------------------------------------
// Crash recovery, atomicity, the file backend
// ---------------------------------------------------------------------------

/// Inserts an email job as a worker that then died would have left it.
async fn insert_locked_job(srv: &TestServer, to: &str, attempts: i64, lock_for: Duration) -> i64 {
    let now = srv.now();
    let payload = serde_json::to_string(&EmailJob {
        to_email: to.into(),
        to_name: "Crash".into(),
        kind: "PASSWORD_CHANGED".into(),
        subject: format!("After the crash ({to})"),
        text: "text body".into(),
        html: "<p>html body</p>".into(),
    })
    .unwrap();
    srv.sql_rows(
        "INSERT INTO job (kind, payload, run_at, attempts, max_attempts, locked_by, locked_until, created_at)
         VALUES ('email', ?1, ?2, ?3, 5, 'dead-worker', ?4, ?2) RETURNING id",
        vec![
            payload.into(),
            now.micros().into(),
            attempts.into(),
            (now.0 + lock_for).timestamp_micros().into(),
        ],
    )
    .await[0][0]
        .as_i64()
        .unwrap()
}

#[tokio::test]
async fn a_job_locked_by_a_dead_worker_runs_again_after_its_lock_expires() {
    let srv = TestServer::start().await;
    let lock = Duration::seconds(srv.state.config.jobs.lock_secs as i64);
    let crashed = insert_locked_job(&srv, "crash@example.com", 1, lock).await;
    let last_try = insert_locked_job(&srv, "last@example.com", 5, lock).await;

    // One second before the lock expires the job is still someone else's:
    // a scheduler pass at that time (proved by a fresh job being delivered)
    // leaves it alone.
    srv.clock.advance(lock - Duration::seconds(1));
    notify(
        &srv,
        Notice::PasswordChanged,
        address("probe@example.com", "P"),
    )
    .await;
    srv.wait_mail("probe@example.com", |_| true).await;
    let state = job(&srv, crashed).await;
    assert_eq!(state.locked_by.as_deref(), Some("dead-worker"));
    assert_eq!(state.attempts, 1);
    assert!(srv.mails().iter().all(|m| !m.to.contains("crash@")));

    // Once it has expired the job is claimed again and delivered.
    srv.clock.advance(Duration::seconds(2));
    let mail = srv.wait_mail("crash@example.com", |_| true).await;
    assert_eq!(mail.subject, "After the crash (crash@example.com)");
    let state = wait_job(&srv, crashed, |j| j.done).await;
    assert_eq!(state.attempts, 2);
    assert_eq!(state.locked_by, None);

    // A worker that died during the last attempt leaves a failed job.
    let state = wait_job(&srv, last_try, |j| j.failed).await;
    assert!(
        state.last_error.unwrap().contains("lock expired"),
        "the failure says why"
    );
    assert!(srv.mails().iter().all(|m| !m.to.contains("last@")));
}

#[tokio::test]
async fn a_rolled_back_transaction_leaves_no_job_and_no_notification() {
    let srv = TestServer::start().await;
    let user = srv.user().await;
    let svc = srv.state.svc.clone();
    let now = srv.now();
    let uid = user.user_id;
    let event = facts(7, "Откатный вечер", Ts(now.0 + Duration::days(3)));
    let inside = Arc::new(Mutex::new((0i64, 0i64)));
    let seen = inside.clone();
    let result: Result<(), DomainError> = srv
        .state
        .svc
        .store
        .write(move |tx| {
            let notice = Notice::EventCreated(event);
            outbox::notify_at(&svc, tx, now, &notice, &[To::User(uid)])?;
            *seen.lock().unwrap() = (tx.job_counts()?.0, tx.unread_in_app(uid)?);
            Err(DomainError::rule("the change failed"))
        })
        .await;
    assert!(result.is_err());
    assert_eq!(
        *inside.lock().unwrap(),
        (1, 1),
        "both were written, then..."
    );
    assert_eq!(srv.query_i64("SELECT count(*) FROM job", vec![]).await, 0);
    assert_eq!(
        srv.query_i64("SELECT count(*) FROM instant_notification", vec![])
            .await,
        0,
        "...rolled back together"
    );

    // The same send committed: one in-app notification (title = subject,
    // content = the text body, CTA into the event page) and one delivered
    // email.
    let event = facts(7, "Откатный вечер", Ts(now.0 + Duration::days(3)));
    notify(&srv, Notice::EventCreated(event), vec![To::User(uid)]).await;
    let list = user.get("/notifications/instant").await.expect(200);
    let [n] = list.as_array().unwrap().as_slice() else {
        panic!("one notification: {list}");
    };
    let s = |k: &str| n[k].as_str().unwrap().to_string();
    let (title, content, cta_url, cta_label) =
        (s("title"), s("content"), s("cta_url"), s("cta_label"));
    assert_eq!(s("type"), "EVENT_CREATED");
    assert_eq!(title, "Приглашение: Откатный вечер");
    assert_eq!(cta_url, format!("{}/events/7", srv.base));
    assert_eq!(cta_label, "Открыть событие");
    let mail = srv.wait_mail("@example.com", |m| m.subject == title).await;
    assert!(mail.text().contains(content.lines().next().unwrap()));
    assert!(content.contains("Переговорная «Орион»"), "{content}");
}

#[tokio::test]
async fn the_file_backend_writes_whole_time_ordered_eml_files() {
    let srv = TestServer::start().await;
    for n in 0..5 {
        notify(
            &srv,
            Notice::RegConfirmCode { code: 100000 + n },
            address(&format!("file{n}@example.com"), "Файл"),
        )
        .await;
        srv.clock.advance(Duration::seconds(1));
    }
    for n in 0..5 {
        let mail = srv
            .wait_mail(&format!("file{n}@example.com"), |_| true)
            .await;
        assert_eq!(mail.code(), Some(100000 + n));
        assert_eq!(mail.subject, "Код подтверждения регистрации — Афиша");
    }
    let mut names: Vec<String> = std::fs::read_dir(srv.mail_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names
            .iter()
            .all(|n| n.ends_with(".eml") && !n.starts_with('.')),
        "no temporary files are left: {names:?}"
    );
    names.sort();
    let order: Vec<String> = srv.mails().iter().map(|m| m.to.clone()).collect();
    assert_eq!(names.len(), 5);
    for (n, to) in order.iter().enumerate() {
        assert!(
            to.contains(&format!("file{n}@")),
            "sorted by time: {order:?}"
        );
    }
}

// ---------------------------------------------------------------------------
// The typed outbox: nothing rendered at enqueue, secrets sealed
// ---------------------------------------------------------------------------

/// Whether `needle` occurs anywhere in `haystack`.
fn contains_bytes(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn a_registration_code_is_sealed_in_the_queue_and_dropped_after_delivery() {
    let smtp = SmtpServer::start().await;
    smtp.hold();
    let srv = TestServer::with(|c| smtp_config(c, smtp.port)).await;
    srv.anon()
        .post(
            "/register",
            serde_json::json!({"email": "sealed@example.com", "password": PASSWORD, "full_name": "Сейф"}),
        )
        .await
        .expect(201);
    // The message is in flight: the job still holds its sealed code.
    smtp.wait_held(1).await;
    let id = srv.query_i64("SELECT max(id) FROM job", vec![]).await;
    assert_eq!(
        srv.query_i64(
            "SELECT count(*) FROM job WHERE id = ?1 AND secret IS NOT NULL
               AND CAST(json_extract(payload, '$.notice.facts.code') AS INTEGER) = 0",
            vec![id.into()]
        )
        .await,
        1,
        "sealed apart, blanked in the payload"
    );
    smtp.release();
    let got = smtp.wait_message().await;
    assert_eq!(got.rcpt_to, ["sealed@example.com"]);
    let code = Mail::parse(got.data.clone())
        .code()
        .expect("the email carries the code")
        .to_string();
    let state = wait_job(&srv, id, |j| j.done).await;
    assert_eq!(state.attempts, 1);
    assert_eq!(
        srv.query_i64(
            "SELECT count(*) FROM job WHERE id = ?1 AND secret IS NULL",
            vec![id.into()]
        )
        .await,
        1,
        "the sealed code is dropped once delivered"
    );

    // The code is nowhere in the job table, the database or its WAL.
    let rows: Vec<String> = srv
        .sql_rows(
            "SELECT kind || payload || coalesce(secret, '') || coalesce(last_error, '') FROM job",
            vec![],
        )
        .await
        .into_iter()
        .map(|r| r[0].as_str().unwrap().to_string())
        .collect();
    assert_eq!(rows.len(), 1);
    assert!(!rows[0].contains(&code), "{}", rows[0]);
    if sqlite_only(
        "a_registration_code_is_sealed_in_the_queue_and_dropped_after_delivery (file part)",
        "reads the SQLite file and its WAL",
    ) {
        return;
    }
    let db = srv.state.config.database_path();
    let wal = db.with_file_name("afisha.db-wal");
    assert!(wal.exists());
    for file in [db, wal] {
        let bytes = std::fs::read(&file).unwrap();
        assert!(
            !contains_bytes(&bytes, code.as_bytes()),
            "{} holds the code",
            file.display()
        );
    }
}

#[tokio::test]
async fn a_revived_job_whose_secret_was_dropped_fails_with_a_clear_error() {
    let mut smtp = SmtpServer::start().await;
    smtp.stop().await; // the server is down
    let srv = TestServer::with(|c| {
        smtp_config(c, smtp.port);
        c.jobs.max_attempts = 1;
    })
    .await;
    let id = notify(
        &srv,
        Notice::PasswordResetLink {
            token: "reset-token-kept-sealed".into(),
        },
        address("reset@example.com", "R"),
    )
    .await;
    let state = wait_job(&srv, id, |j| j.failed).await;
    assert!(state.last_error.unwrap().starts_with("SMTP"));
    assert_eq!(
        srv.query_i64(
            "SELECT count(*) FROM job WHERE id = ?1 AND secret IS NULL AND payload NOT LIKE '%reset-token%'",
            vec![id.into()]
        )
        .await,
        1,
        "a failed job keeps no secret"
    );

    let (ok, _, err) = cli(srv.dir.path(), &["jobs", "retry", &id.to_string()]);
    assert!(ok, "{err}");
    smtp.restart().await;
    srv.clock.advance(Duration::seconds(1));
    let state = wait_job(&srv, id, |j| j.failed && j.attempts == 1).await;
    assert_eq!(
        state.last_error.as_deref(),
        Some("secret dropped after failure; ask for a new code/link")
    );
    assert!(smtp.received().is_empty(), "no email without its secret");
}

#[tokio::test]
async fn notices_are_stored_typed_and_rendered_when_read_or_delivered() {
    let srv = TestServer::start().await;
    let user = srv.user().await;
    let uid = user.user_id;
    let now = srv.now();
    let event = facts(9, "Типизированный вечер", Ts(now.0 + Duration::days(2)));
    let id = notify(&srv, Notice::EventUpdated(event), vec![To::User(uid)]).await;
    // Stored as facts: no words in the job or the in-app row.
    assert_eq!(
        srv.query_i64(
            "SELECT count(*) FROM job WHERE id = ?1
               AND json_extract(payload, '$.kind') = 'EVENT_UPDATED'
               AND json_extract(payload, '$.notice.type') = 'EVENT_UPDATED'
               AND json_extract(payload, '$.subject') IS NULL",
            vec![id.into()]
        )
        .await,
        1
    );
    assert_eq!(
        srv.query_i64(
            "SELECT count(*) FROM instant_notification
             WHERE recipient_id = ?1 AND title = '' AND notice IS NOT NULL",
            vec![uid.into()]
        )
        .await,
        1
    );
    // Rendered when read, the same words as the email.
    let list = user.get("/notifications/instant").await.expect(200);
    let n = &list[0];
    let title = n["title"].as_str().unwrap().to_string();
    assert!(title.contains("Типизированный вечер"), "{title}");
    assert_eq!(
        n["cta_url"].as_str().unwrap(),
        format!("{}/events/9", srv.base)
    );
    let mail = srv.wait_mail("@example.com", |m| m.subject == title).await;
    let content = n["content"].as_str().unwrap();
    assert!(mail.text().contains(content.lines().next().unwrap()));
    // Reading again gives the same answer.
    assert_eq!(user.get("/notifications/instant").await.expect(200), list);

    // A row written before notices were typed keeps its stored words.
    srv.sql_exec(
        "INSERT INTO instant_notification (recipient_id, type, title, content, cta_url, cta_label, created_at)
         VALUES (?1, 'EVENT_CREATED', 'Old title', 'Old content', 'http://old/events/1', 'Open', ?2)",
        vec![
            uid.into(),
            (now.0 + Duration::seconds(1)).timestamp_micros().into(),
        ],
    )
    .await;
    let list = user.get("/notifications/instant").await.expect(200);
    assert_eq!(list.as_array().unwrap().len(), 2);
    let old = &list[0];
    assert_eq!(old["title"], "Old title");
    assert_eq!(old["content"], "Old content");
    assert_eq!(old["cta_url"], "http://old/events/1");
    assert_eq!(old["cta_label"], "Open");
    assert_eq!(old["type"], "EVENT_CREATED");
    assert_eq!(list[1]["title"], title.as_str());
}

// ---------------------------------------------------------------------------
// Reminders
// ---------------------------------------------------------------------------

async fn insert_event(srv: &TestServer, name: &str, starts_in: Duration, rejected: bool) -> i64 {
    let now = srv.now();
    let name = name.to_string();
    srv.sql_rows(
        "INSERT INTO event (name, name_fold, description, starts_at, ends_at, image_url, location,
                            max_participants_count, created_at, rejected_at)
         VALUES (?1, lower(?1), 'Описание', ?2, ?3, 'https://example.com/i.png', 'Зал', 30, ?4, ?5)
         RETURNING id",
        vec![
            name.into(),
            (now.0 + starts_in).timestamp_micros().into(),
            (now.0 + starts_in + Duration::hours(3))
                .timestamp_micros()
                .into(),
            now.micros().into(),
            rejected.then_some(now.micros()).into(),
        ],
    )
    .await[0][0]
        .as_i64()
        .unwrap()
}

async fn join(srv: &TestServer, event: i64, user: i64, status: &'static str) {
    let now = srv.now();
    srv.sql_exec(
        "INSERT INTO event_participant (event_id, user_id, status, created_at) VALUES (?1, ?2, ?3, ?4)",
        vec![event.into(), user.into(), status.into(), now.micros().into()],
    )
    .await;
}

/// Titles of `user`'s reminders, oldest first, as the API shows them.
async fn reminders_of(srv: &TestServer, user: &Client) -> Vec<String> {
    let mut user = user.clone();
    user.base = srv.base.clone();
    let list = user
        .get("/notifications/instant?include_acked=true")
        .await
        .expect(200);
    let mut titles: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["type"] == "EVENT_REMINDER")
        .map(|n| n["title"].as_str().unwrap().to_string())
        .collect();
    titles.reverse();
    titles
}

#[tokio::test]
async fn each_participant_gets_one_reminder_a_day_ahead_across_scans_and_restarts() {
    let srv = TestServer::start().await;
    let alice_client = srv.user().await;
    let bob_client = srv.user().await;
    let (alice, bob) = (alice_client.user_id, bob_client.user_id);
    let soon = insert_event(&srv, "Скоро", Duration::hours(23), false).await;
    let started = insert_event(&srv, "Уже идёт", Duration::minutes(-30), false).await;
    let cancelled = insert_event(&srv, "Отменено", Duration::hours(5), true).await;
    let later = insert_event(&srv, "Послезавтра", Duration::hours(25), false).await;
    join(&srv, soon, alice, "PARTICIPATING").await;
    join(&srv, soon, bob, "REJECTED").await;
    for event in [started, cancelled, later] {
        join(&srv, event, alice, "PARTICIPATING").await;
        join(&srv, event, bob, "PARTICIPATING").await;
    }

    let facts = srv
        .state
        .svc
        .store
        .read(move |tx| {
            let event = tx.event(soon)?.expect("the event");
            let count = tx.count_participating(soon, None)?;
            Ok(afisha::domain::notice::EventFacts::of(&event, count))
        })
        .await
        .unwrap();
    assert_eq!(
        (facts.name.as_str(), facts.participants_count),
        ("Скоро", 1)
    );

    // The minute passes; the scheduler's scan sends the reminder.
    srv.clock.advance(Duration::minutes(1));
    let titles = eventually("the reminder", async || {
        let t = reminders_of(&srv, &alice_client).await;
        (!t.is_empty()).then_some(t)
    })
    .await;
    assert_eq!(titles.len(), 1);
    assert!(titles[0].starts_with("Напоминание: Скоро — "), "{titles:?}");
    let mail = srv
        .wait_mail("@example.com", |m| m.subject == titles[0])
        .await;
    assert!(mail.text().contains("Зал"));
    let list = alice_client.get("/notifications/instant").await.expect(200);
    let reminder = &list.as_array().unwrap()[0];
    assert_eq!(reminder["type"], "EVENT_REMINDER");
    assert_eq!(
        reminder["cta_url"].as_str().unwrap(),
        format!("{}/events/{soon}", srv.base)
    );
    assert_eq!(
        srv.query_i64(
            "SELECT count(*) FROM event_participant WHERE reminder_sent_at IS NOT NULL",
            vec![]
        )
        .await,
        1
    );

    // Another scan finds nothing more to send.
    assert_eq!(
        afisha::service::reminders::scan(&srv.state.svc)
            .await
            .unwrap(),
        0
    );

    // Nor does a restarted server (its scheduler scans at start; so do we,
    // racing it).
    let (dir, config) = srv.stop().await;
    let srv = TestServer::start_in(dir, config).await;
    assert_eq!(
        afisha::service::reminders::scan(&srv.state.svc)
            .await
            .unwrap(),
        0
    );
    srv.clock.advance(Duration::minutes(1));
    assert_eq!(
        afisha::service::reminders::scan(&srv.state.svc)
            .await
            .unwrap(),
        0
    );
    assert_eq!(reminders_of(&srv, &alice_client).await.len(), 1);
    assert!(reminders_of(&srv, &bob_client).await.is_empty());
    assert_eq!(
        srv.query_i64(
            "SELECT count(*) FROM job WHERE payload LIKE '%EVENT_REMINDER%'",
            vec![]
        )
        .await,
        1,
        "one reminder email in all"
    );

    // Two hours on, the later event is within 24 h: both its participants
    // get theirs.
    // The scheduler wakes on the jump and scans too: whichever scan takes
    // them (on PostgreSQL both run at once), each goes out once.
    srv.clock.advance(Duration::hours(2));
    let manual = afisha::service::reminders::scan(&srv.state.svc)
        .await
        .unwrap();
    assert!(manual <= 2, "{manual}");
    eventually("the later event's reminders", async || {
        (reminders_of(&srv, &alice_client).await.len() == 2
            && reminders_of(&srv, &bob_client).await.len() == 1)
            .then_some(())
    })
    .await;
    assert_eq!(
        srv.query_i64(
            "SELECT count(*) FROM job WHERE payload LIKE '%EVENT_REMINDER%'",
            vec![]
        )
        .await,
        3,
        "three reminder emails in all"
    );
}

// ---------------------------------------------------------------------------
// Clean-up
// ---------------------------------------------------------------------------

#[tokio::test]
async fn the_hourly_clean_up_deletes_only_what_is_dead() {
    let srv = TestServer::start().await;
    let user = srv.user().await;
    let uid = user.user_id;
    let now = srv.now();
    let ago = move |d: Duration| serde_json::json!((now.0 - d).timestamp_micros());
    let null = serde_json::Value::Null;
    // One transaction: the scheduler's clean-up at start sees all or none.
    let mut rows: Vec<(String, Vec<serde_json::Value>)> = Vec::new();
    let reg = "INSERT INTO issued_registration (token, email, email_key, full_name, password_hash, code_sealed, created_at, used_at)
               VALUES (?1, 'r@example.com', 'r@example.com', 'R', 'h', 'sealed', ?2, ?3)";
    rows.push((
        reg.into(),
        vec!["reg-old".into(), ago(Duration::hours(25)), null.clone()],
    ));
    rows.push((
        reg.into(),
        vec!["reg-fresh".into(), ago(Duration::hours(1)), null.clone()],
    ));
    let rec = "INSERT INTO issued_login_recovery (token_hash, user_id, created_at, used_at) VALUES (?1, ?2, ?3, ?4)";
    for (token, created, used) in [
        ("rec-used", ago(Duration::hours(1)), now.micros().into()),
        ("rec-expired", ago(Duration::hours(30)), null.clone()),
        ("rec-ancient", ago(Duration::days(9)), null.clone()),
        ("rec-fresh", ago(Duration::hours(1)), null.clone()),
    ] {
        rows.push((rec.into(), vec![token.into(), uid.into(), created, used]));
    }
    rows.push((
        "INSERT INTO login_session (uid, user_id, token_hash, created_at, last_seen_at)
         VALUES ('idle-session', ?1, 'x', ?2, ?2)"
            .into(),
        vec![uid.into(), ago(Duration::days(30))],
    ));
    let job = "INSERT INTO job (kind, payload, run_at, max_attempts, created_at, done_at, failed_at, last_error)
               VALUES ('old', '{}', ?1, 5, ?1, ?2, ?3, ?4)";
    for params in [
        vec![
            ago(Duration::days(9)),
            ago(Duration::days(8)),
            null.clone(),
            null.clone(),
        ],
        vec![
            ago(Duration::days(2)),
            ago(Duration::days(1)),
            null.clone(),
            null.clone(),
        ],
        vec![
            ago(Duration::days(30)),
            null.clone(),
            ago(Duration::days(30)),
            "x".into(),
        ],
    ] {
        rows.push((job.into(), params));
    }
    // Rate-limit states: one lapsed an hour ago, one in force for two more.
    let limit = "INSERT INTO rate_limit (key, count, expires_at) VALUES (?1, 1, ?2)";
    rows.push((limit.into(), vec!["lapsed".into(), ago(Duration::hours(1))]));
    rows.push((limit.into(), vec!["live".into(), ago(Duration::hours(-2))]));
    srv.sql_exec_all(rows).await;

    // The hour passes; the scheduler's clean-up runs.
    srv.clock.advance(Duration::minutes(61));
    eventually("the clean-up", async || {
        (srv.query_i64("SELECT count(*) FROM issued_registration", vec![])
            .await
            == 1)
            .then_some(())
    })
    .await;
    let tokens = |table: &'static str, column: &'static str| {
        let srv = &srv;
        async move {
            srv.sql_rows(
                &format!("SELECT {column} FROM {table} ORDER BY {column}"),
                vec![],
            )
            .await
            .into_iter()
            .map(|r| r[0].as_str().unwrap().to_string())
            .collect::<Vec<String>>()
        }
    };
    assert_eq!(tokens("issued_registration", "token").await, ["reg-fresh"]);
    assert_eq!(
        tokens("rate_limit", "key").await,
        ["live"],
        "lapsed rate-limit states go"
    );
    assert_eq!(
        tokens("issued_login_recovery", "token_hash").await,
        ["rec-expired", "rec-fresh"],
        "used and long-expired tokens go; a recently expired one stays to say so"
    );
    assert_eq!(
        srv.query_i64(
            "SELECT count(*) FROM login_session WHERE uid = 'idle-session'",
            vec![]
        )
        .await,
        0
    );
    assert_eq!(
        srv.query_i64(
            "SELECT count(*) FROM login_session WHERE user_id = ?1",
            vec![uid.into()]
        )
        .await,
        1,
        "the session in use stays"
    );
    assert_eq!(
        srv.query_i64("SELECT count(*) FROM job WHERE kind = 'old'", vec![])
            .await,
        2,
        "the old done job went; the recent one and the failed one stay"
    );
    assert_eq!(
        srv.query_i64(
            "SELECT count(*) FROM job WHERE kind = 'old' AND failed_at IS NOT NULL",
            vec![]
        )
        .await,
        1
    );
}

// ---------------------------------------------------------------------------
// Templates
// ---------------------------------------------------------------------------

const XSS: &str = "<script>alert('x')</script>";

fn every_notice(starts_at: Ts) -> Vec<(Notice, bool)> {
    let event = EventFacts {
        id: 42,
        name: format!("Пикник {XSS}"),
        short_description: Some(format!("Кратко {XSS}")),
        starts_at,
        ends_at: Ts(starts_at.0 + Duration::hours(3)),
        location: Some(format!("Парк {XSS}")),
        payment_info: Some(format!("500 ₽ {XSS}")),
        max_participants_count: Some(20),
        participants_count: 7,
    };
    let actor = Actor {
        id: 3,
        full_name: format!("Мария {XSS}"),
        email: "maria@example.com".into(),
    };
    vec![
        (Notice::RegConfirmCode { code: 654321 }, false),
        (Notice::RegWelcome, false),
        (
            Notice::PasswordResetLink {
                token: "0b6d9a3e-6c1f-4a53-9d51-2f1a3f7e9c10".into(),
            },
            false,
        ),
        (Notice::PasswordChanged, false),
        (
            Notice::AdminSetPassword {
                password: "S3cret<&>pass".into(),
            },
            false,
        ),
        (Notice::EventCreated(event.clone()), false),
        (Notice::EventUpdated(event.clone()), false),
        (Notice::EventCancelled(event.clone()), false),
        (Notice::EventReminder(event.clone()), false),
        (
            Notice::ParticipationConfirmed {
                event: event.clone(),
                user: actor.clone(),
            },
            true,
        ),
        (
            Notice::ParticipationCancelled {
                event: event.clone(),
                user: actor,
            },
            true,
        ),
        (Notice::WaitlistPromoted(event), false),
    ]
}

#[test]
fn every_template_renders_in_both_locales_and_escapes_html() {
    let mut config = Config::default();
    config.server.public_url = Some("https://events.example.com".into());
    config.ui.display_timezone = "Europe/Moscow".into();
    config.ui.brand_name = "Афиша & Co".into();
    // 07:00 UTC = 10:00 in Moscow.
    let starts = Ts(Utc.with_ymd_and_hms(2026, 5, 15, 7, 0, 0).unwrap());
    let recipient = format!("Иван {XSS}");
    let mut subjects = std::collections::HashMap::new();
    for locale in Locale::ALL {
        let templates = Templates::with_locale(&config, locale).unwrap();
        let notices = every_notice(starts);
        assert_eq!(
            notices.len(),
            12,
            "one per type of API.md's table, and WAITLIST_PROMOTED"
        );
        for (notice, admin_view) in notices {
            let kind = notice.kind();
            let what = format!("{kind} ({locale:?})");
            let r = templates.render(&notice, &recipient, admin_view).unwrap();
            assert!(!r.subject.is_empty() && !r.subject.contains('\n'), "{what}");
            assert!(r.text.contains(&recipient), "{what}: greeting:\n{}", r.text);
            assert!(r.text.contains("Афиша & Co"), "{what}: brand in text");
            assert!(r.html.contains("Афиша &amp; Co"), "{what}: brand in HTML");
            assert!(r.html.starts_with("<!DOCTYPE html>"), "{what}");
            // Every user-provided value is escaped in HTML, kept in text.
            assert!(
                !r.html.contains("<script>"),
                "{what}: unescaped:\n{}",
                r.html
            );
            assert!(r.html.contains("&lt;script&gt;"), "{what}");
            assert!(r.text.contains(XSS), "{what}");
            subjects
                .entry(kind)
                .or_insert_with(Vec::new)
                .push(r.subject.clone());

            match &notice {
                Notice::RegConfirmCode { .. } => {
                    assert!(
                        r.text.contains("    654321\n"),
                        "{what}: code on its own line"
                    );
                    assert!(r.html.contains(">654321</p>"), "{what}");
                    assert_eq!(r.cta_url, None);
                    assert_eq!(r.cta_label, None);
                }
                Notice::AdminSetPassword { .. } => {
                    assert!(r.text.contains("    S3cret<&>pass\n"), "{what}");
                    assert!(r.html.contains(">S3cret&lt;&amp;&gt;pass</p>"), "{what}");
                }
                Notice::PasswordResetLink { .. } => assert_eq!(
                    r.cta_url.as_deref(),
                    Some(
                        "https://events.example.com/recovery?token=0b6d9a3e-6c1f-4a53-9d51-2f1a3f7e9c10"
                    )
                ),
                _ => {}
            }
            if let Some(url) = &r.cta_url {
                let label = r.cta_label.as_deref().expect("a button has a label");
                assert!(
                    r.text.contains(&format!("{label}: {url}")),
                    "{what}:\n{}",
                    r.text
                );
                assert!(r.html.contains(&format!("href=\"{url}\"")), "{what}");
            }
            if notice.in_app() {
                let url = r.cta_url.as_deref().unwrap();
                let want = if admin_view {
                    "https://events.example.com/admin/events/42"
                } else {
                    "https://events.example.com/events/42"
                };
                assert_eq!(url, want, "{what}");
                let when = match locale {
                    Locale::Ru => "15 мая 2026, 10:00 – 13:00 (Europe/Moscow)",
                    Locale::En => "15 May 2026, 10:00 – 13:00 (Europe/Moscow)",
                };
                assert!(
                    r.text.contains(when),
                    "{what}: time in the display zone:\n{}",
                    r.text
                );
                assert!(r.text.contains("7 "), "{what}: seats");
                assert!(r.text.contains(&format!("Парк {XSS}")), "{what}: place");
                assert!(r.html.contains("Парк &lt;script&gt;"), "{what}: place");
            }
            if let (Locale::Ru, Notice::ParticipationConfirmed { .. }) = (locale, &notice) {
                assert!(r.subject.contains("подтвердил участие"), "{}", r.subject);
            }
            if let (Locale::Ru, Notice::ParticipationCancelled { .. }) = (locale, &notice) {
                assert!(r.subject.contains("отменил участие"), "{}", r.subject);
            }
            if locale == Locale::En {
                let ours: String = r
                    .subject
                    .replace("Афиша", "")
                    .replace("Пикник", "")
                    .replace("Мария", "");
                assert!(
                    !ours
                        .chars()
                        .any(|c| ('а'..='я').contains(&c.to_lowercase().next().unwrap())),
                    "{what}: English subject: {}",
                    r.subject
                );
            }
        }
    }
    for (kind, both) in subjects {
        assert_ne!(both[0], both[1], "{kind}: the locales differ");
    }
}

#[test]
fn default_locale_en_switches_the_notifier_to_english() {
    let mut config = Config::default();
    config.ui.default_locale = afisha::config::Language::En;
    let renderer = Renderer::new(&config).unwrap();
    let r = renderer
        .render(&Notice::RegConfirmCode { code: 111222 }, "Ann", false)
        .unwrap();
    assert_eq!(r.subject, "Your Афиша confirmation code");
    assert!(r.text.starts_with("Hello, Ann!"), "{}", r.text);
    let ru = Renderer::new(&Config::default()).unwrap();
    let r = ru.render(&Notice::RegWelcome, "Аня", false).unwrap();
    assert!(r.text.starts_with("Здравствуйте, Аня!"), "{}", r.text);
    assert_eq!(r.cta_url.as_deref(), Some("http://127.0.0.1:8080/events"));
}

// ---------------------------------------------------------------------------
// Hostile stored values, panics, coalescing (issue 14: 6, 11)
// ---------------------------------------------------------------------------

async fn set_participation(srv: &TestServer, user: &Client, event: i64, status: &str) {
    let mut user = user.clone();
    user.base = srv.base.clone();
    user.put(
        &format!("/events/{event}/participants/me"),
        serde_json::json!({ "status": status }),
    )
    .await
    .expect(204);
}

#[tokio::test]
async fn a_line_break_in_a_stored_name_does_not_break_that_users_email() {
    let srv = TestServer::start().await;
    let admin = srv.user_with("crlf-admin@example.com", "Admin", true).await;
    let id = admin.user_id;
    // What a server before the edge check could have stored.
    srv.sql_exec(
        "UPDATE user SET full_name = 'Ann\r\nBcc: evil@example.com\u{2028}X' WHERE id = ?1",
        vec![id.into()],
    )
    .await;
    let user = srv.user().await;
    let event = insert_event(&srv, "Вечер", Duration::days(3), false).await;
    set_participation(&srv, &user, event, "PARTICIPATING").await;

    let mail = srv.wait_mail("crlf-admin@example.com", |_| true).await;
    let head = mail.raw.split("\r\n\r\n").next().unwrap().to_string();
    assert!(
        head.split("\r\n")
            .all(|l| !l.to_lowercase().starts_with("bcc:")),
        "no header was injected: {head}"
    );
    assert!(
        head.split("\r\n")
            .any(|l| l.starts_with("To:") && l.contains("crlf-admin@example.com")),
        "{head}"
    );
    assert!(
        srv.mails()
            .iter()
            .all(|m| !m.raw.contains("evil@example.com>"))
    );
}

#[tokio::test]
async fn a_job_that_panics_is_retried_with_backoff_not_lost() {
    let srv = TestServer::start().await;
    let now = srv.now();
    let id = srv
        .sql_rows(
            "INSERT INTO job (kind, payload, run_at, max_attempts, created_at)
             VALUES ('debug-panic', '{}', ?1, 2, ?1) RETURNING id",
            vec![now.micros().into()],
        )
        .await[0][0]
        .as_i64()
        .unwrap();
    let first = wait_job(&srv, id, |j| j.attempts == 1 && j.locked_by.is_none()).await;
    assert!(!first.failed && !first.done, "{first:?}");
    let error = first.last_error.clone().unwrap();
    assert!(error.contains("panicked on purpose"), "{error}");
    assert!(first.run_at > now, "a backoff applies: {first:?}");

    srv.clock.set(first.run_at.0);
    let last = wait_job(&srv, id, |j| j.failed).await;
    assert_eq!(last.attempts, 2);
    assert!(last.last_error.unwrap().contains("panicked"));

    // The scheduler survived both panics: it still delivers.
    notify(
        &srv,
        Notice::PasswordChanged,
        address("after-panic@example.com", "P"),
    )
    .await;
    srv.wait_mail("after-panic@example.com", |_| true).await;
}

async fn emails_to(srv: &TestServer, email: &str) -> i64 {
    srv.query_i64(
        "SELECT count(*) FROM job WHERE kind = 'email' AND json_extract(payload, '$.to_email') = ?1",
        vec![email.into()],
    )
    .await
}

#[tokio::test]
async fn toggling_participation_coalesces_administrator_emails() {
    let srv = TestServer::start().await;
    assert_eq!(srv.state.config.email.admin_notice_coalesce_minutes, 10);
    let admins = [
        srv.user_with("coal-a@example.com", "A", true).await,
        srv.user_with("coal-b@example.com", "B", true).await,
    ];
    let user = srv.user().await;
    let event = insert_event(&srv, "Вечер", Duration::days(3), false).await;
    for _ in 0..10 {
        set_participation(&srv, &user, event, "PARTICIPATING").await;
        set_participation(&srv, &user, event, "NONE").await;
    }
    for (admin, email) in admins
        .iter()
        .zip(["coal-a@example.com", "coal-b@example.com"])
    {
        assert_eq!(
            emails_to(&srv, email).await,
            2,
            "one joined and one left email to {email}"
        );
        assert_eq!(
            srv.query_i64(
                "SELECT count(*) FROM instant_notification WHERE recipient_id = ?1",
                vec![admin.user_id.into()]
            )
            .await,
            20,
            "in-app notices keep every change"
        );
    }

    // Within the window still nothing new; after it a change emails again.
    srv.clock.advance(Duration::minutes(9));
    set_participation(&srv, &user, event, "PARTICIPATING").await;
    assert_eq!(emails_to(&srv, "coal-a@example.com").await, 2);
    srv.clock.advance(Duration::minutes(2));
    set_participation(&srv, &user, event, "NONE").await;
    set_participation(&srv, &user, event, "PARTICIPATING").await;
    for email in ["coal-a@example.com", "coal-b@example.com"] {
        assert_eq!(emails_to(&srv, email).await, 4, "{email}");
    }
    srv.wait_mail("coal-b@example.com", |_| true).await;
}
