//! Email delivery an administrator can see (issue #17): the outbox route,
//! retrying, the test message (route and `afisha email test`), the detailed
//! health report and the start-up check of the SMTP server — against a real
//! SMTP listener in the test, on both database backends.

mod common;

use std::process::{Command, Stdio};

use afisha::domain::notice::{Notice, To};
use afisha::service::outbox;
use chrono::Duration;
use common::smtp::*;
use common::*;
use serde_json::{Value, json};

/// Sends `notice` to `email` through the outbox; returns the job's id.
async fn notify(srv: &TestServer, notice: Notice, email: &str) -> i64 {
    let svc = srv.state.svc.clone();
    let to = vec![To::Address {
        email: email.into(),
        name: "Анна".into(),
    }];
    svc.store
        .clone()
        .write(move |tx| outbox::notify(&svc, tx, &notice, &to))
        .await
        .unwrap();
    srv.query_i64("SELECT max(id) FROM job", vec![]).await
}

/// The outbox item `id` once it satisfies `pred` (listed with `query`).
async fn wait_item(admin: &Client, query: &str, id: i64, pred: impl Fn(&Value) -> bool) -> Value {
    eventually(&format!("email {id} in /admin/outbox{query}"), async || {
        let list = admin
            .get(&format!("/api/admin/outbox{query}"))
            .await
            .expect(200);
        list.as_array()
            .unwrap()
            .iter()
            .find(|i| i["id"] == json!(id) && pred(i))
            .cloned()
    })
    .await
}

const REFUSAL: &str = "451 4.7.1 Greylisted by the test server, try later";

/// Whether `error` carries the server's reply: its code and its words
/// (lettre puts them as "transient error (451): 4.7.1 …").
fn has_reply(error: &str) -> bool {
    error.contains("451") && error.contains("4.7.1 Greylisted by the test server, try later")
}

#[tokio::test]
async fn the_outbox_shows_a_failed_email_with_the_servers_reply_and_retry_delivers_it() {
    let smtp = SmtpServer::start().await;
    smtp.refuse(Some(REFUSAL));
    let srv = TestServer::with(|c| {
        smtp_config(c, smtp.port);
        c.jobs.max_attempts = 1;
    })
    .await;
    let admin = srv.admin().await;
    let user = srv.user().await;

    let id = notify(&srv, Notice::PasswordChanged, "anna@example.com").await;
    let code = notify(
        &srv,
        Notice::RegConfirmCode { code: 918_273 },
        "code@example.com",
    )
    .await;

    let item = wait_item(&admin, "?status=failed", id, |_| true).await;
    assert_eq!(item["status"], "failed");
    assert_eq!(item["recipient"], "anna@example.com");
    assert_eq!(item["recipient_name"], "Анна");
    assert_eq!(item["type"], "PASSWORD_CHANGED");
    assert_eq!(item["subject"], "Пароль изменён — Афиша");
    assert_eq!(item["attempts"], 1);
    assert_eq!(item["max_attempts"], 1);
    assert!(item["failed_at"].is_string() && item["sent_at"].is_null());
    let error = item["last_error"].as_str().unwrap();
    assert!(has_reply(error), "the server's reply: {error}");
    // Never a body, the payload or a secret.
    let keys: Vec<&String> = item.as_object().unwrap().keys().collect();
    for hidden in ["text", "html", "body", "payload", "secret", "notice"] {
        assert!(!keys.iter().any(|k| *k == hidden), "{hidden} in {keys:?}");
    }
    wait_item(&admin, "?status=failed", code, |_| true).await;
    let everything = admin.get("/api/admin/outbox").await.expect(200);
    assert!(!everything.to_string().contains("918273"), "{everything}");
    assert!(everything.as_array().unwrap().len() >= 2);
    let queued = admin
        .get("/api/admin/outbox?status=queued")
        .await
        .expect(200);
    assert!(!queued.to_string().contains(&format!("\"id\":{id},")));
    let page = admin
        .get("/api/admin/outbox?limit=1&offset=1")
        .await
        .expect(200);
    assert_eq!(page.as_array().unwrap().len(), 1);
    assert_eq!(page[0]["id"], json!(id), "newest first");
    admin
        .get("/api/admin/outbox?status=lost")
        .await
        .expect_422(&["query", "status"]);

    // Only administrators.
    for path in ["/api/admin/outbox", "/api/admin/health"] {
        user.get(path).await.expect(403);
        srv.anon().get(path).await.expect(401);
    }
    user.post(&format!("/api/admin/outbox/{id}/retry"), json!({}))
        .await
        .expect(403);
    user.post("/api/admin/email/test", json!({"to": "x@example.com"}))
        .await
        .expect(403);

    // The detailed health report says mail is failing, and why; the
    // public probe stays exactly as it was.
    let health = admin.get("/api/admin/health").await.expect(200);
    assert_eq!(health["status"], "degraded", "{health}");
    assert_eq!(health["database"]["status"], "ok");
    assert_eq!(health["storage"]["status"], "ok");
    assert_eq!(health["mail"]["status"], "failing");
    assert_eq!(health["mail"]["backend"], "smtp");
    assert_eq!(health["mail"]["failing"], 2);
    assert_eq!(health["mail"]["failed"], 2);
    assert_eq!(health["mail"]["queued"], 0);
    assert!(health["mail"]["last_sent_at"].is_null());
    assert!(
        has_reply(health["mail"]["last_error"].as_str().unwrap()),
        "{health}"
    );
    assert_eq!(
        srv.anon().get("/api/health").await.expect(200),
        json!({"status": "ok"})
    );

    // The test message reports the server's reply.
    let outcome = admin
        .post("/api/admin/email/test", json!({"to": "probe@example.com"}))
        .await
        .expect(200);
    assert_eq!(outcome["sent"], false, "{outcome}");
    assert_eq!(outcome["backend"], "smtp");
    assert!(has_reply(outcome["error"].as_str().unwrap()), "{outcome}");
    admin
        .post("/api/admin/email/test", json!({"to": "not an address"}))
        .await
        .expect_422(&["body", "to"]);

    // The server accepts again: the test message goes through, and the
    // failed email is retried and delivered once.
    smtp.refuse(None);
    let outcome = admin
        .post("/api/admin/email/test", json!({"to": "probe@example.com"}))
        .await
        .expect(200);
    assert_eq!(
        outcome,
        json!({"sent": true, "backend": "smtp", "error": null})
    );
    assert_eq!(smtp.received_by("probe@example.com"), 1);

    srv.clock.advance(Duration::seconds(1));
    admin
        .post(&format!("/api/admin/outbox/{id}/retry"), json!({}))
        .await
        .expect(204);
    let sent = wait_item(&admin, "?status=sent", id, |_| true).await;
    assert_eq!(sent["attempts"], 1, "attempts start over");
    assert!(sent["sent_at"].is_string() && sent["next_attempt_at"].is_null());
    assert_eq!(smtp.received_by("anna@example.com"), 1);

    // Sent ones and unknown ids cannot be retried.
    admin
        .post(&format!("/api/admin/outbox/{id}/retry"), json!({}))
        .await
        .expect_detail(400, "This email has been sent already");
    admin
        .post("/api/admin/outbox/987654/retry", json!({}))
        .await
        .expect_detail(404, "Email not found");

    // A failure older than the latest delivery no longer counts as failing.
    let health = admin.get("/api/admin/health").await.expect(200);
    assert_eq!(health["mail"]["status"], "ok", "{health}");
    assert_eq!(health["mail"]["failing"], 0);
    assert_eq!(health["mail"]["failed"], 1);
    assert!(health["mail"]["last_sent_at"].is_string());
    assert_eq!(health["status"], "ok");
}

#[tokio::test]
async fn a_refused_connection_shows_as_retrying_and_retry_all_delivers_after_the_server_returns() {
    let mut smtp = SmtpServer::start().await;
    smtp.stop().await; // connections are refused
    let srv = TestServer::with(|c| smtp_config(c, smtp.port)).await;
    let admin = srv.admin().await;

    let id = notify(&srv, Notice::RegWelcome, "welcome@example.com").await;
    let item = wait_item(&admin, "?status=queued", id, |i| {
        i["attempts"] == 1 && i["last_error"].is_string()
    })
    .await;
    let error = item["last_error"].as_str().unwrap_or_default();
    assert!(error.starts_with("SMTP"), "{item}");
    let next = item["next_attempt_at"].as_str().unwrap();
    assert!(
        afisha::domain::time::Ts::parse(next).unwrap() > srv.now(),
        "retried later: {item}"
    );
    let health = admin.get("/api/admin/health").await.expect(200);
    assert_eq!(health["mail"]["status"], "failing", "{health}");
    assert_eq!(health["mail"]["queued"], 1);
    assert_eq!(health["mail"]["failing"], 1);

    let outcome = admin
        .post("/api/admin/email/test", json!({"to": "probe@example.com"}))
        .await
        .expect(200);
    assert_eq!(outcome["sent"], false);
    assert!(
        outcome["error"].as_str().unwrap().starts_with("SMTP"),
        "{outcome}"
    );

    smtp.restart().await;
    let retried = admin
        .post("/api/admin/outbox/retry-failed", json!({}))
        .await
        .expect(200);
    assert_eq!(retried, json!({"queued": 1}));
    wait_item(&admin, "?status=sent", id, |_| true).await;
    assert_eq!(smtp.received_by("welcome@example.com"), 1);
    let health = admin.get("/api/admin/health").await.expect(200);
    assert_eq!(health["mail"]["status"], "ok", "{health}");
}

fn afisha(dir: &std::path::Path, port: u16, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_afisha"))
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .current_dir(dir)
        .env_remove("AFISHA_CONFIG")
        .envs(backend_env(dir))
        .env("AFISHA_EMAIL__BACKEND", "smtp")
        .env("AFISHA_EMAIL__SMTP__HOST", "127.0.0.1")
        .env("AFISHA_EMAIL__SMTP__PORT", port.to_string())
        .env("AFISHA_EMAIL__SMTP__TLS", "none")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn afisha_email_test_reports_the_outcome() {
    let smtp = SmtpServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let port = smtp.port;
    let run = |args: &'static [&'static str]| {
        let dir = dir.path().to_path_buf();
        tokio::task::spawn_blocking(move || afisha(&dir, port, args))
    };

    smtp.refuse(Some(REFUSAL));
    let (ok, _, err) = run(&["email", "test", "--to", "cli@example.com"])
        .await
        .unwrap();
    assert!(!ok);
    assert!(has_reply(&err), "{err}");

    smtp.refuse(None);
    let (ok, out, err) = run(&["email", "test", "--to", "cli@example.com"])
        .await
        .unwrap();
    assert!(ok, "{err}");
    assert!(out.contains("accepted by the smtp backend"), "{out}");
    assert_eq!(smtp.received_by("cli@example.com"), 1);

    let (ok, _, err) = run(&["email", "test", "--to", "nobody"]).await.unwrap();
    assert!(!ok);
    assert!(err.contains("not a valid email address"), "{err}");
    assert_eq!(smtp.received_by("nobody"), 0);
}

#[tokio::test]
async fn serve_warns_once_when_the_smtp_server_fails_the_start_up_check() {
    let mut smtp = SmtpServer::start().await;
    smtp.stop().await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("stderr.log");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let data = dir.path().join("data");
    let mut child = Command::new(env!("CARGO_BIN_EXE_afisha"))
        .args([
            "serve",
            "--bind",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(&data)
        .env_remove("AFISHA_CONFIG")
        .env_remove("AFISHA_LOG")
        .envs(backend_env(dir.path()))
        .env("AFISHA_EMAIL__BACKEND", "smtp")
        .env("AFISHA_EMAIL__SMTP__HOST", "127.0.0.1")
        .env("AFISHA_EMAIL__SMTP__PORT", smtp.port.to_string())
        .env("AFISHA_EMAIL__SMTP__TLS", "none")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let read = || std::fs::read_to_string(&log).unwrap_or_default();
    let line = eventually("the start-up warning", async || {
        read()
            .lines()
            .find(|l| l.contains("failed the start-up check"))
            .map(String::from)
    })
    .await;
    // The server still started and answers.
    let up = reqwest::get(format!("http://127.0.0.1:{port}/api/health"))
        .await
        .unwrap();
    assert_eq!(up.status(), 200);
    let _ = child.kill();
    let _ = child.wait();
    assert!(line.contains("WARN"), "{line}");
    assert!(
        line.contains(&format!("SMTP server 127.0.0.1:{}", smtp.port)),
        "{line}"
    );
    assert!(line.contains("mail waits in the outbox"), "{line}");
    assert_eq!(
        read().matches("failed the start-up check").count(),
        1,
        "one line"
    );
}
