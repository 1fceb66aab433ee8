//! Operations: first-run setup link, metrics, backup and restore.

mod common;

use std::process::Command;

use common::*;
use serde_json::json;

#[tokio::test]
async fn setup_link_creates_the_first_administrator_once() {
    let srv = TestServer::start().await;
    let c = srv.anon();
    assert_eq!(
        c.get("/setup").await.expect(200),
        json!({"required": false})
    );
    let link = afisha::service::setup::prepare(&srv.state.svc)
        .await
        .unwrap()
        .expect("a link");
    assert!(link.starts_with(&format!("{}/setup?token=", srv.base)));
    let token = link.split("token=").nth(1).unwrap().to_string();
    assert_eq!(c.get("/setup").await.expect(200), json!({"required": true}));

    let body = |token: &str| json!({"token": token, "email": "root@example.org", "full_name": "Root", "password": PASSWORD});
    c.post("/setup", body("wrong"))
        .await
        .expect_detail(400, "Invalid setup token");
    c.post(
        "/setup",
        json!({"token": token, "email": "bad", "full_name": "Root", "password": "x"}),
    )
    .await
    .expect_422(&["body", "email"]);
    let user = c.post("/setup", body(&token)).await.expect(201);
    assert_eq!(user["role"], json!("ADMINISTRATOR"));
    assert_eq!(user["email"], json!("root@example.org"));
    c.post("/setup", body(&token))
        .await
        .expect_detail(400, "Setup already completed");
    assert_eq!(
        c.get("/setup").await.expect(200),
        json!({"required": false})
    );
    // With an administrator present no link is issued.
    assert!(
        afisha::service::setup::prepare(&srv.state.svc)
            .await
            .unwrap()
            .is_none()
    );
    let r = c
        .post(
            "/login",
            json!({"email": "root@example.org", "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status, 201);
}

#[tokio::test]
async fn metrics_scrape_and_parse() {
    let srv = TestServer::with(|c| c.metrics.enabled = true).await;
    let user = srv.user().await;
    for _ in 0..3 {
        user.get("/login").await.expect(200);
    }
    // A join to a limited event: on PostgreSQL it locks the event row.
    let admin = srv.admin().await;
    let event = admin
        .post(
            "/events",
            json!({
                "name": "Metrics", "description": "Waits",
                "starts_at": at(&srv, 24), "ends_at": at(&srv, 26),
                "image_url": "https://example.org/a.png", "max_participants_count": 5,
            }),
        )
        .await
        .expect(201);
    user.put(
        &format!("/events/{}/participants/me", event["id"]),
        json!({"status": "PARTICIPATING"}),
    )
    .await
    .expect(204);
    srv.anon().get("/login").await.expect(401);
    // Unmatched paths share one label; the raw path never becomes one.
    srv.anon().get("/no-such-route-3141").await.expect(404);
    let r = srv.anon().get(&format!("{}/metrics", srv.base)).await;
    assert_eq!(r.status, 200);
    assert!(
        r.header("content-type")
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = r.text();
    // Every non-comment line is `name{labels} value` with a numeric value.
    let mut samples = std::collections::HashMap::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let (name, value) = line.rsplit_once(' ').expect("name value");
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("bad value in {line}"));
        samples.insert(name.to_string(), value);
    }
    assert_eq!(
        samples[r#"afisha_http_requests_total{method="GET",route="/api/login",status="200"}"#],
        3.0
    );
    assert_eq!(
        samples[r#"afisha_http_requests_total{method="GET",route="/api/login",status="401"}"#],
        1.0
    );
    assert_eq!(
        samples[r#"afisha_http_request_duration_seconds_count{method="GET",route="/api/login"}"#],
        4.0
    );
    assert_eq!(
        samples[r#"afisha_http_requests_total{method="GET",route="/api/*",status="404"}"#],
        1.0
    );
    assert!(!text.contains("3141"), "{text}");
    // The histogram's buckets, cumulative up to +Inf.
    let bucket = |le: &str| {
        samples[&format!(
            r#"afisha_http_request_duration_seconds_bucket{{method="GET",route="/api/login",le="{le}"}}"#
        )]
    };
    let bounds = [
        "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5",
        "10", "+Inf",
    ];
    assert!(bounds.windows(2).all(|w| bucket(w[0]) <= bucket(w[1])));
    assert_eq!(bucket("+Inf"), 4.0);
    // Every metric README documents, with its type and help text.
    for (name, kind, help) in [
        (
            "afisha_http_requests_total",
            "counter",
            "HTTP requests by route template and status.",
        ),
        (
            "afisha_http_request_duration_seconds",
            "histogram",
            "HTTP request latency by route template.",
        ),
        (
            "afisha_jobs_pending",
            "gauge",
            "Jobs waiting to run or running.",
        ),
        (
            "afisha_jobs_failed_current",
            "gauge",
            "Jobs that used up their attempts and wait for `afisha jobs retry`.",
        ),
        (
            "afisha_jobs_done_total",
            "counter",
            "Jobs completed since start.",
        ),
        (
            "afisha_jobs_failed_total",
            "counter",
            "Jobs that failed for good since start.",
        ),
        (
            "afisha_emails_sent_total",
            "counter",
            "Emails handed to the mail backend since start.",
        ),
        (
            "afisha_emails_failed_total",
            "counter",
            "Email delivery attempts that failed since start.",
        ),
        (
            "afisha_backups_done_total",
            "counter",
            "Scheduled backups taken since start.",
        ),
        (
            "afisha_backups_failed_total",
            "counter",
            "Scheduled backups that failed since start.",
        ),
        (
            "afisha_db_pool_connections",
            "gauge",
            "Open database connections.",
        ),
        (
            "afisha_db_pool_in_use",
            "gauge",
            "Database connections in use.",
        ),
        (
            "afisha_db_pool_idle",
            "gauge",
            "Open database connections waiting in the pool.",
        ),
        (
            "afisha_db_pool_max",
            "gauge",
            "The most database connections the pool opens.",
        ),
        (
            "afisha_db_info",
            "gauge",
            "The database backend (label backend: sqlite or postgres); always 1.",
        ),
        (
            "afisha_db_connection_wait_seconds",
            "histogram",
            "Time spent waiting for a pooled database connection.",
        ),
        (
            "afisha_db_write_wait_seconds",
            "histogram",
            "Time from asking for a write until its transaction began (SQLite: the single writer; PostgreSQL: a connection).",
        ),
        (
            "afisha_db_row_lock_wait_seconds",
            "histogram",
            "PostgreSQL: time spent taking the row locks a rule counts under (capacity, quotas, last administrator).",
        ),
    ] {
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines.contains(&format!("# TYPE {name} {kind}").as_str()),
            "{name} {kind} missing:\n{text}"
        );
        assert!(
            lines.contains(&format!("# HELP {name} {help}").as_str()),
            "{name} help missing:\n{text}"
        );
        assert!(
            kind == "histogram"
                || name.starts_with("afisha_http")
                || name == "afisha_db_info"
                || samples.contains_key(name),
            "{name} has no sample:\n{text}"
        );
    }
    // The pool gauges are read at scrape time: this scrape holds one.
    assert!(samples["afisha_db_pool_connections"] >= 1.0, "{text}");
    assert_eq!(
        samples["afisha_db_pool_in_use"] + samples["afisha_db_pool_idle"],
        samples["afisha_db_pool_connections"],
        "{text}"
    );
    // Per backend: its name, its pool's size, and where it waits.
    let (backend, pool_max) = if on_postgres() {
        ("postgres", 16.0)
    } else {
        ("sqlite", 8.0)
    };
    assert_eq!(
        samples.get(&format!(r#"afisha_db_info{{backend="{backend}"}}"#)),
        Some(&1.0),
        "{text}"
    );
    assert_eq!(samples["afisha_db_pool_max"], pool_max, "{text}");
    // Every read and write above took a connection, and the registrations,
    // logins and the join were writes.
    assert!(
        samples["afisha_db_connection_wait_seconds_count"] >= 10.0,
        "{text}"
    );
    assert!(
        samples["afisha_db_write_wait_seconds_count"] >= 4.0,
        "{text}"
    );
    for wait in [
        "afisha_db_connection_wait_seconds",
        "afisha_db_write_wait_seconds",
        "afisha_db_row_lock_wait_seconds",
    ] {
        assert_eq!(
            samples[&format!(r#"{wait}_bucket{{le="+Inf"}}"#)],
            samples[&format!("{wait}_count")],
            "{text}"
        );
        assert!(samples[&format!("{wait}_sum")] >= 0.0, "{text}");
    }
    // Row locks are PostgreSQL's: the join locked the event's row there;
    // SQLite's single writer needs none.
    let row_locks = samples["afisha_db_row_lock_wait_seconds_count"];
    if on_postgres() {
        assert!(row_locks >= 1.0, "{text}");
    } else {
        assert_eq!(row_locks, 0.0, "{text}");
    }
}

#[tokio::test]
async fn metrics_are_404_when_disabled() {
    let srv = TestServer::start().await;
    assert_eq!(
        srv.anon()
            .get(&format!("{}/metrics", srv.base))
            .await
            .status,
        404
    );
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_afisha"))
}

/// `afisha restore FILE [--force] --data-dir DIR`.
fn restore(file: &std::path::Path, dir: &std::path::Path, force: bool) -> std::process::Output {
    let mut cmd = bin();
    cmd.arg("restore");
    if force {
        cmd.arg("--force");
    }
    cmd.arg(file).arg("--data-dir").arg(dir).output().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn backup_during_write_load_is_consistent_and_restores() {
    if sqlite_only(
        "backup_during_write_load_is_consistent_and_restores",
        "afisha backup/restore copy the SQLite file (refused on PostgreSQL: pg_dump)",
    ) {
        return;
    }
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    // Writers keep going while the backup runs.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..4 {
        let stop = stop.clone();
        let state = srv.state.clone();
        writers.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                afisha::service::accounts::create_user(
                    &state.svc,
                    format!("w{w}-{n}@load.test"),
                    "Load".into(),
                    common::PASSWORD.into(),
                    afisha::domain::user::Role::User,
                )
                .await
                .unwrap();
                n += 1;
            }
            n
        }));
    }
    let out_dir = tempfile::tempdir().unwrap();
    let copy = out_dir.path().join("copy.db");
    let data_dir = srv.dir.path().to_path_buf();
    let out = tokio::task::spawn_blocking({
        let copy = copy.clone();
        move || {
            bin()
                .arg("backup")
                .arg(&copy)
                .arg("--data-dir")
                .arg(&data_dir)
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut written = 0;
    for w in writers {
        written += w.await.unwrap();
    }
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(written > 0);
    let conn = rusqlite::Connection::open(&copy).unwrap();
    let verdict: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(verdict, "ok");
    let users: i64 = conn
        .query_row("SELECT count(*) FROM user", [], |r| r.get(0))
        .unwrap();
    assert!(users >= 1, "the copy has the administrator at least");
    drop(conn);
    drop(admin);

    // Restore refuses a data dir in use, and an existing database without --force.
    let target = tempfile::tempdir().unwrap();
    let lock = afisha::store::sqlite::backup_file::DataDirLock::acquire(target.path()).unwrap();
    let out = restore(&copy, target.path(), false);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("stop the server"));
    drop(lock);
    let out = restore(&copy, target.path(), false);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = restore(&copy, target.path(), false);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--force"));
    let out = restore(&copy, target.path(), true);
    assert!(out.status.success());
    // The restored dir serves.
    let (restored_users, _) = {
        let conn = rusqlite::Connection::open(target.path().join("afisha.db")).unwrap();
        let n: i64 = conn
            .query_row("SELECT count(*) FROM user", [], |r| r.get(0))
            .unwrap();
        (n, ())
    };
    assert_eq!(restored_users, users);
    // Not a database: refused with a clear line.
    let junk = out_dir.path().join("junk.db");
    std::fs::write(&junk, b"hello").unwrap();
    let out = restore(&junk, target.path(), true);
    assert!(!out.status.success());
}

#[tokio::test]
async fn demo_seeds_once_and_its_logins_work() {
    let srv = TestServer::start().await;
    assert!(afisha::demo::seed(&srv.state).await.unwrap());
    assert!(
        !afisha::demo::seed(&srv.state).await.unwrap(),
        "seeds only an empty database"
    );
    assert_eq!(
        srv.query_i64("SELECT count(*) FROM event", vec![]).await,
        20
    );
    assert_eq!(
        srv.query_i64(
            "SELECT count(*) FROM event WHERE rejected_at IS NOT NULL",
            vec![]
        )
        .await,
        1
    );
    let now = srv.now().micros();
    assert!(
        srv.query_i64(
            "SELECT count(*) FROM event WHERE ends_at <= ?1",
            vec![json!(now)]
        )
        .await
            >= 5
    );
    assert!(
        srv.query_i64(
            "SELECT count(*) FROM event WHERE starts_at > ?1",
            vec![json!(now)]
        )
        .await
            >= 10
    );
    // One event is full.
    let full = srv
        .query_i64(
            "SELECT count(*) FROM event e WHERE max_participants_count =
               (SELECT count(*) FROM event_participant p WHERE p.event_id = e.id AND p.status = 'PARTICIPATING')",
            vec![],
        )
        .await;
    assert!(full >= 1);
    assert!(
        srv.query_i64("SELECT count(*) FROM instant_notification", vec![])
            .await
            > 0
    );
    let r = srv
        .anon()
        .post(
            "/login",
            json!({"email": afisha::demo::ADMIN_EMAIL, "password": afisha::demo::ADMIN_PASSWORD}),
        )
        .await;
    assert_eq!(r.status, 201);
    let r = srv
        .anon()
        .post(
            "/login",
            json!({"email": "anna@demo.afisha.local", "password": afisha::demo::USER_PASSWORD}),
        )
        .await;
    assert_eq!(r.status, 201);
    // The demo serves cards to a signed-in employee.
    let body = r.json();
    let mut anna = srv.anon();
    anna.auth(
        body["login_session_uid"].as_str().unwrap(),
        body["login_session_token"].as_str().unwrap(),
    );
    let upcoming = anna.get("/events/cards").await.expect(200);
    let upcoming = upcoming.as_array().unwrap();
    assert!(upcoming.len() >= 10);
    assert!(
        upcoming
            .iter()
            .any(|c| c["participation_status"] == "PARTICIPATING")
    );
    let past = anna.get("/events/cards?status=PAST").await.expect(200);
    assert!(past.as_array().unwrap().len() >= 5);
}

/// Passwords, codes and tokens never reach the logs: a full account journey
/// against the real binary with debug-level JSON logs, then a grep.
#[tokio::test]
async fn secrets_never_appear_in_logs() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log_path = dir.path().join("server.log");
    let mut server = std::process::Command::new(env!("CARGO_BIN_EXE_afisha"))
        .args([
            "serve",
            "--debug",
            "--log-format",
            "json",
            "--bind",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(dir.path().join("data"))
        .envs(backend_env(dir.path()))
        .env("AFISHA_LOG", "debug")
        .env("AFISHA_EMAIL__BACKEND", "file")
        .env("AFISHA_AUTH__ARGON2__MEMORY_KIB", "1024")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let c = Client::new(&base);
    for _ in 0..500 {
        if reqwest::get(format!("{base}/api/health")).await.is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let mut secrets = vec![
        "first-Secret-pass".to_string(),
        "second-Secret-pass".to_string(),
        "third-Secret-pass".to_string(),
    ];
    let email = "journey@example.org";
    let token = c
        .post(
            "/register",
            json!({"email": email, "password": secrets[0], "full_name": "Journey"}),
        )
        .await
        .expect(201)["token"]
        .as_str()
        .unwrap()
        .to_string();
    let code = c
        .get("/debug/intercept-verification-code")
        .await
        .expect(200)["code"]
        .to_string();
    c.post(
        "/register/verification",
        json!({"token": token, "code": code.parse::<u32>().unwrap()}),
    )
    .await
    .expect(201);
    let login = c
        .post("/login", json!({"email": email, "password": secrets[0]}))
        .await
        .expect(201);
    let session_token = login["login_session_token"].as_str().unwrap().to_string();
    let mut me = c.clone();
    me.auth(login["login_session_uid"].as_str().unwrap(), &session_token);
    me.get("/login").await.expect(200);
    c.post(
        "/login",
        json!({"email": email, "password": "wrong-Secret-pass"}),
    )
    .await
    .expect(401);
    me.post(
        "/users/me/password",
        json!({"current_password": secrets[0], "new_password": secrets[1]}),
    )
    .await
    .expect(204);
    c.post("/login/recovery", json!({"email": email}))
        .await
        .expect(201);
    let recovery = c.get("/debug/intercept-recovery-token").await.expect(200)["token"]
        .as_str()
        .unwrap()
        .to_string();
    c.post(
        "/login/recovery/submit",
        json!({"token": recovery, "password": secrets[2]}),
    )
    .await
    .expect(204);
    // Let the queued emails go out (they are written to files, not logs).
    for _ in 0..500 {
        let n = std::fs::read_dir(dir.path().join("data/mail"))
            .map(|d| d.count())
            .unwrap_or(0);
        if n >= 4 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    unsafe { libc_kill(server.id() as i32) };
    server.wait().unwrap();
    secrets.extend([
        token,
        code,
        session_token,
        recovery,
        "wrong-Secret-pass".into(),
    ]);
    let logs = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        logs.contains("\"route\":\"/api/login\""),
        "request logs were captured"
    );
    for secret in &secrets {
        assert!(
            !logs.contains(secret.as_str()),
            "secret {secret:?} appears in the logs"
        );
    }
}

unsafe extern "C" {
    #[link_name = "kill"]
    fn libc_kill_raw(pid: i32, sig: i32) -> i32;
}

/// SIGTERM: the graceful path.
unsafe fn libc_kill(pid: i32) {
    unsafe {
        libc_kill_raw(pid, 15);
    }
}
