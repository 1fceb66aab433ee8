//! Scheduled backups on the manual clock: taken at the due time, checked,
//! pruned to `backup.keep`, images copied alongside, failures counted and
//! shown to administrators.

mod common;

use std::time::Duration;

use afisha::domain::time::Ts;
use common::*;
use serde_json::Value;

/// Waits (bounded) until the admin route's answer satisfies `pred` — the
/// backup runs in the background; this waits for that event, not for time.
async fn wait_backups(admin: &Client, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let v = admin.get("/admin/backups").await.expect(200);
        if pred(&v) {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "gave up waiting; last: {v:#}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn ts(v: &Value) -> Ts {
    Ts::parse(v.as_str().unwrap_or_else(|| panic!("not a time: {v}"))).unwrap()
}

/// Moves the clock a minute past the next scheduled run and waits until
/// that run has succeeded; returns the route's answer.
async fn next_run(srv: &TestServer, admin: &Client) -> Value {
    let before = wait_backups(admin, |v| !v["next_at"].is_null()).await;
    let due = ts(&before["next_at"]);
    assert!(due > srv.now(), "next run {due} is not in the future");
    let at = due.0 + chrono::Duration::minutes(1);
    srv.clock.set(at);
    let expected = Ts(at).to_string();
    wait_backups(admin, |v| v["last_success_at"] == expected.as_str()).await
}

fn integrity(path: &std::path::Path) -> String {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap()
}

#[tokio::test]
async fn daily_backup_at_the_due_time_then_only_keep_remain() {
    if sqlite_only(
        "daily_backup_at_the_due_time_then_only_keep_remain",
        "scheduled backups copy the SQLite file (refused on PostgreSQL: pg_dump)",
    ) {
        return;
    }
    let keep = 3;
    let srv = TestServer::with(|c| {
        c.backup.schedule = Some("daily 03:00".into());
        c.backup.keep = keep;
        c.metrics.enabled = true;
    })
    .await;
    let admin = srv.admin().await;
    // An image on fs storage, to be copied alongside.
    let media = srv.state.config.media_root().join("covers");
    std::fs::create_dir_all(&media).unwrap();
    std::fs::write(media.join("a.png"), b"\x89PNG\r\n\x1a\nimage").unwrap();

    let first = wait_backups(&admin, |v| !v["next_at"].is_null()).await;
    assert_eq!(first["schedule"], "daily 03:00");
    assert_eq!(first["backups"], serde_json::json!([]));
    let due = ts(&first["next_at"]);
    assert_eq!(
        due.0.format("%H:%M:%S").to_string(),
        "03:00:00",
        "UTC display zone"
    );
    assert!(due.0 - srv.now().0 <= chrono::Duration::days(1));

    // A minute before: nothing.
    srv.clock.set(due.0 - chrono::Duration::minutes(1));
    let v = admin.get("/admin/backups").await.expect(200);
    assert_eq!(v["backups"], serde_json::json!([]));

    // A copy a crash left half-written is cleaned up by the next run.
    let dir = srv.state.config.backup_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let stale = dir.join("afisha-20200101T030000Z.db.partial");
    std::fs::write(&stale, b"half").unwrap();

    let v = next_run(&srv, &admin).await;
    assert!(!stale.exists(), "stale .partial left behind");
    let list = v["backups"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{v:#}");
    assert_eq!(list[0]["images"], 1);
    assert!(list[0]["size_bytes"].as_u64().unwrap() > 0);
    let name = list[0]["file_name"].as_str().unwrap().to_string();
    assert_eq!(
        name,
        afisha::domain::backup::file_name(ts(&list[0]["taken_at"]))
    );
    assert_eq!(integrity(&dir.join(&name)), "ok");
    let copied = dir
        .join(afisha::domain::backup::media_name(&name))
        .join("covers/a.png");
    assert_eq!(std::fs::read(copied).unwrap(), b"\x89PNG\r\n\x1a\nimage");
    assert!(v["last_failure"].is_null());

    // keep + 1 days in all: the oldest is deleted with its images.
    for _ in 0..keep {
        next_run(&srv, &admin).await;
    }
    let v = admin.get("/admin/backups").await.expect(200);
    let names: Vec<&str> = v["backups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["file_name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), keep, "{v:#}");
    assert!(!names.contains(&name.as_str()), "the oldest is gone");
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    assert_eq!(on_disk.len(), 2 * keep, "{on_disk:?}");
    for n in &names {
        assert_eq!(integrity(&dir.join(n)), "ok");
    }

    let metrics = srv
        .anon()
        .get(&format!("{}/metrics", srv.base))
        .await
        .text();
    assert!(
        metrics.contains(&format!("\nafisha_backups_done_total {}\n", keep + 1)),
        "{metrics}"
    );
    assert!(
        metrics.contains("\nafisha_backups_failed_total 0\n"),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_failing_backup_dir_is_counted_and_shown_to_administrators() {
    if sqlite_only(
        "a_failing_backup_dir_is_counted_and_shown_to_administrators",
        "scheduled backups copy the SQLite file (refused on PostgreSQL: pg_dump)",
    ) {
        return;
    }
    let outside = tempfile::tempdir().unwrap();
    // A file where a directory should be: fails even for root, which a
    // read-only directory would not.
    let blocker = outside.path().join("not-a-dir");
    std::fs::write(&blocker, b"").unwrap();
    let target = blocker.join("backups");
    let srv = TestServer::with(|c| {
        // A cron expression works as well as `daily HH:MM`.
        c.backup.schedule = Some("0 3 * * *".into());
        c.backup.dir = Some(target.clone());
        c.metrics.enabled = true;
    })
    .await;
    let admin = srv.admin().await;
    srv.user()
        .await
        .get("/admin/backups")
        .await
        .expect_detail(403, "Administrator role required");

    let before = wait_backups(&admin, |v| !v["next_at"].is_null()).await;
    assert_eq!(
        ts(&before["next_at"]).0.format("%H:%M:%S").to_string(),
        "03:00:00"
    );
    srv.clock
        .set(ts(&before["next_at"]).0 + chrono::Duration::minutes(1));
    let v = wait_backups(&admin, |v| !v["last_failure"].is_null()).await;
    let message = v["last_failure"]["message"].as_str().unwrap();
    assert!(message.contains("backup directory"), "{message}");
    assert_eq!(
        v["last_failure"]["at"],
        Ts(srv.now().0).to_string().as_str()
    );
    assert!(v["last_success_at"].is_null());
    assert_eq!(v["dir"], target.display().to_string().as_str());
    // The next run is tomorrow, not a retry loop.
    assert!(ts(&v["next_at"]) > srv.now());

    let metrics = srv
        .anon()
        .get(&format!("{}/metrics", srv.base))
        .await
        .text();
    assert!(
        metrics.contains("\nafisha_backups_failed_total 1\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("\nafisha_backups_done_total 0\n"),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_restart_remembers_the_last_run_and_catches_up_a_missed_one() {
    if sqlite_only(
        "a_restart_remembers_the_last_run_and_catches_up_a_missed_one",
        "scheduled backups copy the SQLite file (refused on PostgreSQL: pg_dump)",
    ) {
        return;
    }
    let srv = TestServer::with(|c| c.backup.schedule = Some("daily 03:00".into())).await;
    let admin = srv.admin().await;
    let first = next_run(&srv, &admin).await;
    let ran_at = ts(&first["last_success_at"]);
    let (dir, config) = srv.stop().await;

    // Restarted with its own clock: the next run follows the recorded one.
    let srv = TestServer::start_in(dir, config).await;
    let admin = srv.admin().await;
    let v = admin.get("/admin/backups").await.expect(200);
    let tomorrow = ran_at.0 + chrono::Duration::days(1) - chrono::Duration::minutes(1);
    assert_eq!(ts(&v["next_at"]), Ts(tomorrow));
    assert_eq!(v["backups"].as_array().unwrap().len(), 1);

    // Down over that time: the missed run is taken at once, then daily.
    let later = tomorrow + chrono::Duration::days(1) + chrono::Duration::hours(1);
    srv.clock.set(later);
    let v = wait_backups(&admin, |v| {
        v["last_success_at"] == Ts(later).to_string().as_str()
    })
    .await;
    assert_eq!(v["backups"].as_array().unwrap().len(), 2, "{v:#}");
    assert_eq!(ts(&v["next_at"]), Ts(tomorrow + chrono::Duration::days(2)));
}

/// On PostgreSQL Afisha's backups refuse clearly: `afisha backup` and
/// `afisha restore` name pg_dump, and a backup schedule is a configuration
/// error naming the key. (Neither connects, so this runs on both backends.)
#[test]
fn backups_refuse_on_postgres_and_name_pg_dump() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_afisha"))
            .args(args)
            .arg("--data-dir")
            .arg(dir.path())
            .args(["--database-url", "postgres://afisha@127.0.0.1:1/afisha"])
            .envs(env.iter().copied())
            .env_remove("AFISHA_CONFIG")
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let target = dir.path().join("copy.db");
    let target = target.to_str().unwrap();
    for args in [vec!["backup", target], vec!["restore", target, "--force"]] {
        let (code, err) = run(&args, &[]);
        assert_ne!(code, Some(0), "{args:?}");
        assert!(err.contains("pg_dump"), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    }
    let (code, err) = run(&["migrate"], &[("AFISHA_BACKUP__SCHEDULE", "daily 03:00")]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("backup.schedule") && err.contains("pg_dump"),
        "{err}"
    );
}
