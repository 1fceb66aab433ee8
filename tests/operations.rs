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
    let link = afisha::routes::setup::prepare(&srv.state)
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
        afisha::routes::setup::prepare(&srv.state)
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
    srv.anon().get("/login").await.expect(401);
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
    for name in [
        "afisha_jobs_pending",
        "afisha_emails_sent_total",
        "afisha_jobs_failed_total",
        "afisha_db_pool_in_use",
    ] {
        assert!(samples.contains_key(name), "{name} missing:\n{text}");
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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn backup_during_write_load_is_consistent_and_restores() {
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
                let now = state.now();
                state
                    .db
                    .write(move |tx| {
                        afisha::users::create(
                            tx,
                            &format!("w{w}-{n}@load.test"),
                            "Load",
                            "x",
                            afisha::users::Role::User,
                            now,
                        )?;
                        Ok(())
                    })
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
    let lock = afisha::backup::DataDirLock::acquire(target.path()).unwrap();
    let out = bin()
        .arg("restore")
        .arg(&copy)
        .arg("--data-dir")
        .arg(target.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("stop the server"));
    drop(lock);
    let out = bin()
        .arg("restore")
        .arg(&copy)
        .arg("--data-dir")
        .arg(target.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = bin()
        .arg("restore")
        .arg(&copy)
        .arg("--data-dir")
        .arg(target.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--force"));
    let out = bin()
        .args(["restore", "--force"])
        .arg(&copy)
        .arg("--data-dir")
        .arg(target.path())
        .output()
        .unwrap();
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
    let out = bin()
        .args(["restore", "--force"])
        .arg(&junk)
        .arg("--data-dir")
        .arg(target.path())
        .output()
        .unwrap();
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
}
