//! `afisha db copy --to postgres://…` (issue 16, moving up): a SQLite
//! install seeded through the real binary and HTTP is stopped, copied into
//! a fresh PostgreSQL database, and served from there with the same data
//! dir — everything is still there. The copy itself needs PostgreSQL (runs
//! under `make test-postgres`; on SQLite it says so and passes); the
//! refusals that need no database run on both.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::*;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

/// Cheap Argon2 for every process of a test (hashes made by one are
/// checked by the other, with the parameters stored in the hash).
const ARGON2: [(&str, &str); 2] = [
    ("AFISHA_AUTH__ARGON2__MEMORY_KIB", "1024"),
    ("AFISHA_AUTH__ARGON2__ITERATIONS", "1"),
];

/// `afisha …` over the data dir `dir`, in `dir` (no stray ./afisha.toml),
/// with no database URL from the environment.
fn afisha(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_afisha"));
    cmd.current_dir(dir)
        .env_remove("AFISHA_CONFIG")
        .env_remove("AFISHA_DATABASE__URL")
        .envs(ARGON2);
    cmd
}

fn run(mut cmd: Command, args: &[&str], dir: &Path) -> Output {
    cmd.args(args).arg("--data-dir").arg(dir).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `afisha serve --debug` on a free loopback port.
struct Server {
    child: Child,
    base: String,
    log: PathBuf,
}

impl Server {
    fn start(dir: &Path, database_url: Option<&str>, env: &[(&str, String)]) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = dir.join(format!("serve-{port}.log"));
        let mut cmd = afisha(dir);
        cmd.args(["serve", "--debug", "--bind", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(dir)
            .env("AFISHA_LOG", "warn")
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap());
        if let Some(url) = database_url {
            cmd.args(["--database-url", url]);
        }
        Server {
            child: cmd.spawn().unwrap(),
            base: format!("http://127.0.0.1:{port}"),
            log,
        }
    }

    /// Waits (bounded) until it answers its health check.
    async fn ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = reqwest::get(format!("{}/api/health", self.base)).await
                && r.status().is_success()
            {
                return;
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("the server exited ({status}): {}", self.stderr());
            }
            assert!(Instant::now() < deadline, "the server did not start");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM, then waits (bounded) for the graceful exit.
    fn stop(&mut self) {
        // SAFETY: a plain kill(2) on our own child's pid.
        let sent = unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        assert_eq!(sent, 0, "kill: {}", std::io::Error::last_os_error());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "{status}: {}", self.stderr());
                return;
            }
            assert!(Instant::now() < deadline, "no exit after SIGTERM");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    async fn login(&self, email: &str) -> Client {
        let anon = Client::new(&self.base);
        let session = anon
            .post("/login", json!({"email": email, "password": PASSWORD}))
            .await
            .expect(201);
        let mut c = Client::new(&self.base);
        c.auth(
            session["login_session_uid"].as_str().unwrap(),
            session["login_session_token"].as_str().unwrap(),
        );
        c.user_id = c.get("/login").await.expect(200)["id"].as_i64().unwrap();
        c
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs blocking PostgreSQL client code off the test's runtime thread.
fn pg<T: Send + 'static>(
    url: &str,
    f: impl FnOnce(&mut postgres::Client) -> T + Send + 'static,
) -> T {
    let url = url.to_string();
    std::thread::spawn(move || {
        let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        f(&mut client)
    })
    .join()
    .unwrap()
}

/// Rows per table (Afisha's tables, not the migration history).
fn pg_counts(url: &str) -> BTreeMap<String, i64> {
    pg(url, |c| {
        let tables: Vec<String> = c
            .query(
                "SELECT table_name::TEXT FROM information_schema.tables
                 WHERE table_schema = 'public' AND table_name <> 'refinery_schema_history'",
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        tables
            .into_iter()
            .map(|t| {
                let n: i64 = c
                    .query_one(&format!("SELECT count(*) FROM \"{t}\""), &[])
                    .unwrap()
                    .get(0);
                (t, n)
            })
            .collect()
    })
}

fn sqlite_counts(file: &Path) -> BTreeMap<String, i64> {
    let c = rusqlite::Connection::open_with_flags(file, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap();
    let tables: Vec<String> = c
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table'
             AND name NOT LIKE 'sqlite%' AND name <> 'refinery_schema_history'",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    tables
        .into_iter()
        .map(|t| {
            let n: i64 = c
                .query_row(&format!("SELECT count(*) FROM \"{t}\""), [], |r| r.get(0))
                .unwrap();
            (t, n)
        })
        .collect()
}

fn pg_tables(url: &str) -> i64 {
    pg(url, |c| {
        c.query_one(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'",
            &[],
        )
        .unwrap()
        .get(0)
    })
}

fn png() -> Vec<u8> {
    let mut v = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0".to_vec();
    v.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    v
}

fn create_user(dir: &Path, email: &str, name: &str, admin: bool) {
    let mut cmd = afisha(dir);
    cmd.args([
        "user",
        "create",
        "--email",
        email,
        "--name",
        name,
        "--password-stdin",
    ])
    .arg("--data-dir")
    .arg(dir)
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    if admin {
        cmd.arg("--admin");
    }
    let mut child = cmd.spawn().unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        writeln!(stdin, "{PASSWORD}").unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// The `.eml` files the `file` backend wrote into `<dir>/mail`.
fn mails(dir: &Path) -> Vec<Mail> {
    let Ok(entries) = std::fs::read_dir(dir.join("mail")) else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .map(Mail::parse)
        .collect()
}

/// Notifications without what is rendered from the server's address.
fn facts(list: &Value) -> Vec<Value> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|n| {
            let mut n = n.clone();
            let n_obj = n.as_object_mut().unwrap();
            n_obj.remove("content");
            n_obj.remove("cta_url");
            n
        })
        .collect()
}

fn id(v: &Value) -> i64 {
    v["id"].as_i64().unwrap()
}

#[tokio::test]
async fn a_stopped_sqlite_install_moves_to_postgres_with_everything() {
    if !on_postgres() {
        eprintln!(
            "SKIPPED a_stopped_sqlite_install_moves_to_postgres_with_everything: the copy needs PostgreSQL (make test-postgres)"
        );
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let dir = data.path();

    // --- Seed a SQLite install through the binary and HTTP. ---
    create_user(dir, "admin@example.com", "Админ", true);
    create_user(dir, "alice@example.com", "Alice", false);
    create_user(dir, "bob@example.com", "Bob", false);
    // Mail is down while the install runs on SQLite: every email job stays
    // queued (retried), each secret sealed with the data dir's key.
    let refused = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mail_down = [
        ("AFISHA_EMAIL__BACKEND", "smtp".to_string()),
        ("AFISHA_EMAIL__SMTP__HOST", "127.0.0.1".to_string()),
        ("AFISHA_EMAIL__SMTP__PORT", refused.to_string()),
        ("AFISHA_EMAIL__SMTP__TLS", "none".to_string()),
        ("AFISHA_JOBS__MAX_ATTEMPTS", "1000".to_string()),
        ("AFISHA_JOBS__RETRY_BASE_SECS", "1".to_string()),
        ("AFISHA_JOBS__RETRY_MAX_SECS", "1".to_string()),
    ];
    let mut sqlite = Server::start(dir, None, &mail_down);
    sqlite.ready().await;
    let admin = sqlite.login("admin@example.com").await;
    let alice = sqlite.login("alice@example.com").await;
    let bob = sqlite.login("bob@example.com").await;
    let in_days = |days: i64| (chrono::Utc::now() + chrono::Duration::days(days)).to_rfc3339();

    let cover = png();
    let uploaded = alice
        .send(
            alice
                .http
                .post(format!("{}/api/files", sqlite.base))
                .multipart(
                    Form::new().part("file", Part::bytes(cover.clone()).file_name("cover.png")),
                ),
        )
        .await
        .expect(201)["url"]
        .as_str()
        .unwrap()
        .to_string();
    let media_path = uploaded[uploaded.find("/media/").unwrap()..].to_string();
    let full = admin
        .post(
            "/events",
            json!({
                "name": "Два места", "description": "Capacity two",
                "starts_at": in_days(3), "ends_at": in_days(4),
                "image_url": uploaded, "max_participants_count": 2,
            }),
        )
        .await
        .expect(201);
    let open = admin
        .post(
            "/events",
            json!({
                "name": "Open", "description": "No limit",
                "starts_at": in_days(5), "ends_at": in_days(6),
                "image_url": "https://example.com/open.png",
            }),
        )
        .await
        .expect(201);
    for user in [&alice, &bob] {
        user.put(
            &format!("/events/{}/participants/me", id(&full)),
            json!({"status": "PARTICIPATING"}),
        )
        .await
        .expect(204);
    }
    // A registration whose code is in a queued email.
    let token = Client::new(&sqlite.base)
        .post(
            "/register",
            json!({"email": "carol@example.com", "password": PASSWORD, "full_name": "Carol"}),
        )
        .await
        .expect(201)["token"]
        .as_str()
        .unwrap()
        .to_string();
    let notifications_before = admin.get("/notifications/instant").await.expect(200);
    assert!(
        !notifications_before.as_array().unwrap().is_empty(),
        "joins notify the administrator"
    );
    let users_before = admin.get("/users").await.expect(200);
    let events_before = admin.get("/events").await.expect(200);

    // --- Refused while the server holds the data dir: nothing written. ---
    let busy_target = new_pg_database();
    let out = run(afisha(dir), &["db", "copy", "--to", &busy_target], dir);
    let err = text(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(err.contains("stop the server"), "{err}");
    assert_eq!(pg_tables(&busy_target), 0, "nothing written to the target");

    sqlite.stop();
    let source = sqlite_counts(&dir.join("afisha.db"));
    for table in [
        "user",
        "login_session",
        "event",
        "event_participant",
        "instant_notification",
        "issued_registration",
        "job",
        "upload",
    ] {
        assert!(source[table] > 0, "seeded {table}: {source:?}");
    }
    let pending_sealed: i64 = rusqlite::Connection::open(dir.join("afisha.db"))
        .unwrap()
        .query_row(
            "SELECT count(*) FROM job WHERE done_at IS NULL AND failed_at IS NULL AND secret IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(pending_sealed >= 1, "a queued job holds a sealed secret");

    // --- The copy. ---
    let target = new_pg_database();
    let out = run(afisha(dir), &["db", "copy", "--to", &target], dir);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}{stdout}", text(&out.stderr));
    for needle in [
        "row counts match",
        "event_participant",
        "Next steps",
        "database.url",
        "secret.key",
        "afisha storage copy",
        "afisha serve",
    ] {
        assert!(stdout.contains(needle), "{needle:?} in:\n{stdout}");
    }
    assert_eq!(pg_counts(&target), source, "every table, every row");
    // The copy's table lists the source's counts.
    let line = stdout
        .lines()
        .find(|l| l.split_whitespace().next() == Some("event_participant"))
        .unwrap();
    assert!(
        line.ends_with(&format!(" {}", source["event_participant"])),
        "{line}"
    );

    // --- Refused again: the target is not empty now; nothing changes. ---
    let out = run(afisha(dir), &["db", "copy", "--to", &target], dir);
    let err = text(&out.stderr);
    assert!(!out.status.success());
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(err.contains("not empty"), "{err}");
    assert_eq!(pg_counts(&target), source);

    // --- Served from PostgreSQL with the same data dir. ---
    let mut moved = Server::start(
        dir,
        Some(&target),
        &[("AFISHA_EMAIL__BACKEND", "file".to_string())],
    );
    moved.ready().await;
    let on_moved = |c: &Client| {
        let mut c = c.clone();
        c.base = moved.base.clone();
        c
    };
    // Sessions were copied (and are checked with the same secret.key)...
    let alice_there = on_moved(&alice);
    assert_eq!(
        alice_there.get("/login").await.expect(200)["email"],
        "alice@example.com"
    );
    // ...and password hashes: a fresh login works.
    let admin_there = moved.login("admin@example.com").await;
    assert_eq!(admin_there.get("/users").await.expect(200), users_before);
    assert_eq!(admin_there.get("/events").await.expect(200), events_before);
    // (Rendered when read: links follow the new server's address.)
    assert_eq!(
        facts(&admin_there.get("/notifications/instant").await.expect(200)),
        facts(&notifications_before)
    );
    // The image's accounting row and the file itself.
    let image = reqwest::get(format!("{}{media_path}", moved.base))
        .await
        .unwrap();
    assert_eq!(image.status(), 200);
    assert_eq!(image.bytes().await.unwrap().to_vec(), cover);

    // The queued job is delivered from PostgreSQL with its sealed code, and
    // the copied registration accepts that code.
    let deadline = Instant::now() + Duration::from_secs(30);
    let code = loop {
        if let Some(code) = mails(dir)
            .iter()
            .find(|m| m.to.contains("carol@example.com"))
            .and_then(Mail::code)
        {
            break code;
        }
        assert!(
            Instant::now() < deadline,
            "the queued code email was not delivered: {}",
            moved.stderr()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    Client::new(&moved.base)
        .post(
            "/register/verification",
            json!({"token": token, "code": code}),
        )
        .await
        .expect(201);
    let carol = moved.login("carol@example.com").await;
    let max_user = users_before
        .as_array()
        .unwrap()
        .iter()
        .map(id)
        .max()
        .unwrap();
    assert!(carol.user_id > max_user, "new ids follow the copied ones");
    // Capacity was copied with its participants: the event is full.
    carol
        .put(
            &format!("/events/{}/participants/me", id(&full)),
            json!({"status": "PARTICIPATING"}),
        )
        .await
        .expect_detail(400, "Max participants count exceeded");
    carol
        .put(
            &format!("/events/{}/participants/me", id(&open)),
            json!({"status": "PARTICIPATING"}),
        )
        .await
        .expect(204);
    // Sequences restart after the highest copied id.
    let newer = admin_there
        .post(
            "/events",
            json!({
                "name": "After the move", "description": "D",
                "starts_at": in_days(7), "ends_at": in_days(8),
                "image_url": "https://example.com/after.png",
            }),
        )
        .await
        .expect(201);
    assert!(id(&newer) > id(&full).max(id(&open)), "{newer}");
    moved.stop();
}

/// Refusals that need no PostgreSQL: a target that is not a PostgreSQL URL
/// (exit 2) and a data dir without a database (exit 1), one line each,
/// nothing created.
#[test]
fn db_copy_refuses_a_wrong_target_or_a_missing_database() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path();
    let out = run(
        afisha(dir),
        &["db", "copy", "--to", "mysql://db/afisha"],
        dir,
    );
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(err.contains("postgres://"), "{err}");

    let out = run(
        afisha(dir),
        &["db", "copy", "--to", "postgres://afisha@127.0.0.1:1/afisha"],
        dir,
    );
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(err.contains("no SQLite database"), "{err}");
    assert!(
        !dir.join("afisha.db").exists(),
        "no empty database was created"
    );
}

/// A table in the SQLite file that the PostgreSQL schema does not have
/// (say, from a migration that exists for SQLite only) stops the copy,
/// naming it, and leaves the target without rows.
#[test]
fn a_table_the_copy_does_not_know_stops_it() {
    if !on_postgres() {
        eprintln!(
            "SKIPPED a_table_the_copy_does_not_know_stops_it: the copy needs PostgreSQL (make test-postgres)"
        );
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let dir = data.path();
    create_user(dir, "admin@example.com", "Admin", true);
    rusqlite::Connection::open(dir.join("afisha.db"))
        .unwrap()
        .execute_batch("CREATE TABLE poll (id INTEGER PRIMARY KEY); INSERT INTO poll VALUES (1);")
        .unwrap();
    let target = new_pg_database();
    let out = run(afisha(dir), &["db", "copy", "--to", &target], dir);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(err.contains("table poll"), "{err}");
    assert!(
        pg_counts(&target).values().all(|n| *n == 0),
        "no rows copied"
    );
}
