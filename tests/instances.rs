//! Several Afisha instances on one PostgreSQL database (issue 16): two real
//! `afisha serve` processes share the database of an in-process test server
//! (which seeds users and sessions), each with its own data dir holding the
//! same `secret.key`. Runs under `make test-postgres`; on SQLite (one
//! process per database) it says so and passes.

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;

/// `afisha serve` on a free loopback port over `dir` and `database_url`.
struct Instance {
    child: std::process::Child,
    base: String,
    dir: tempfile::TempDir,
}

impl Instance {
    fn start(database_url: &str, key: &[u8]) -> Instance {
        Instance::start_with(database_url, key, &[])
    }

    /// [`Instance::start`] with extra environment (configuration keys).
    fn start_with(database_url: &str, key: &[u8], env: &[(&str, &str)]) -> Instance {
        let dir = tempfile::tempdir().unwrap();
        // Sessions and sealed secrets are checked with the data dir's key:
        // every instance of one install has the same one.
        std::fs::write(dir.path().join("secret.key"), key).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_afisha"))
            .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(dir.path())
            .args(["--database-url", database_url])
            .env_remove("AFISHA_CONFIG")
            .env("AFISHA_EMAIL__BACKEND", "file")
            .env("AFISHA_LOG", "warn")
            .envs(env.iter().copied())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        Instance {
            child,
            base: format!("http://127.0.0.1:{port}"),
            dir,
        }
    }

    /// Waits (bounded) until the instance answers its health check.
    async fn ready(&mut self) {
        for _ in 0..2000 {
            if let Ok(r) = reqwest::get(format!("{}/api/health", self.base)).await
                && r.status().is_success()
            {
                return;
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("the instance exited: {status}");
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the instance did not start");
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn fifty_users_race_for_ten_seats_through_two_instances() {
    if !on_postgres() {
        eprintln!(
            "SKIPPED fifty_users_race_for_ten_seats_through_two_instances: several instances need PostgreSQL (make test-postgres)"
        );
        return;
    }
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let mut users = Vec::new();
    for _ in 0..50 {
        users.push(srv.user().await);
    }
    let event = admin
        .post(
            "/events",
            json!({
                "name": "Ten seats",
                "description": "Two instances, one database",
                "starts_at": at(&srv, 48),
                "ends_at": at(&srv, 50),
                "image_url": "https://example.com/e.png",
                "max_participants_count": 10,
            }),
        )
        .await
        .expect(201);
    let eid = event["id"].as_i64().unwrap();

    let key = std::fs::read(srv.dir.path().join("secret.key")).unwrap();
    let url = srv
        .state
        .config
        .database
        .url
        .clone()
        .expect("a PostgreSQL run");
    let mut a = Instance::start(&url, &key);
    let mut b = Instance::start(&url, &key);
    a.ready().await;
    b.ready().await;

    // Half of the users join through each instance, all at once.
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(users.len()));
    let mut tasks = Vec::new();
    for (n, user) in users.iter().enumerate() {
        let mut user = user.clone();
        user.base = if n % 2 == 0 { &a.base } else { &b.base }.clone();
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            user.put(
                &format!("/events/{eid}/participants/me"),
                json!({"status": "PARTICIPATING"}),
            )
            .await
        }));
    }
    let mut joined = 0;
    let mut refused = 0;
    for task in tasks {
        let r = task.await.unwrap();
        match r.status {
            204 => joined += 1,
            _ => {
                r.expect_detail(400, "Max participants count exceeded");
                refused += 1;
            }
        }
    }
    assert_eq!((joined, refused), (10, 40));
    assert_eq!(
        srv.query_i64(
            "SELECT count(*) FROM event_participant WHERE event_id = ?1 AND status = 'PARTICIPATING'",
            vec![json!(eid)],
        )
        .await,
        10
    );
}

/// A join through one instance shows in another instance's cached cards
/// within a moment: the commit's `NOTIFY afisha_data` reaches the other
/// instance's listener, which invalidates its snapshots. (Without it the
/// other instance would answer from its cache until the 5 s bound, which
/// the 2 s allowed here does not reach.)
#[tokio::test]
async fn a_join_through_one_instance_shows_in_the_others_cards() {
    if !on_postgres() {
        eprintln!(
            "SKIPPED a_join_through_one_instance_shows_in_the_others_cards: several instances need PostgreSQL (make test-postgres)"
        );
        return;
    }
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let user = srv.user().await;
    let event = admin
        .post(
            "/events",
            json!({
                "name": "Seen everywhere",
                "description": "D",
                "starts_at": at(&srv, 48),
                "ends_at": at(&srv, 50),
                "image_url": "https://example.com/e.png",
            }),
        )
        .await
        .expect(201);
    let eid = event["id"].as_i64().unwrap();
    let key = std::fs::read(srv.dir.path().join("secret.key")).unwrap();
    let url = srv
        .state
        .config
        .database
        .url
        .clone()
        .expect("a PostgreSQL run");
    let mut a = Instance::start(&url, &key);
    let mut b = Instance::start(&url, &key);
    a.ready().await;
    b.ready().await;
    let through = |base: &str| {
        let mut c = user.clone();
        c.base = base.to_string();
        c
    };
    let (via_a, via_b) = (through(&a.base), through(&b.base));
    let count_on_b = async || {
        let cards = via_b.get("/events/cards").await.expect(200);
        cards
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"].as_i64() == Some(eid))
            .map(|c| c["participants_count"].as_i64().unwrap())
            .unwrap()
    };
    // B has its answer cached now.
    assert_eq!(count_on_b().await, 0);
    via_a
        .put(
            &format!("/events/{eid}/participants/me"),
            json!({"status": "PARTICIPATING"}),
        )
        .await
        .expect(204);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    loop {
        if count_on_b().await == 1 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "B still answers from its cache"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Two instances (A and B) on the test server's PostgreSQL database.
async fn two_instances(srv: &TestServer, env: &[(&str, &str)]) -> (Instance, Instance) {
    let key = std::fs::read(srv.dir.path().join("secret.key")).unwrap();
    let url = srv
        .state
        .config
        .database
        .url
        .clone()
        .expect("a PostgreSQL run");
    let mut a = Instance::start_with(&url, &key, env);
    let mut b = Instance::start_with(&url, &key, env);
    a.ready().await;
    b.ready().await;
    (a, b)
}

/// The login guard counts wrong passwords made through any instance: five
/// failures, alternating between A and B, lock the email on both (with
/// per-process counters A would have seen three and B two, and both would
/// still let guesses through).
#[tokio::test]
async fn the_login_guard_counts_attempts_across_instances() {
    if !on_postgres() {
        eprintln!(
            "SKIPPED the_login_guard_counts_attempts_across_instances: several instances need PostgreSQL (make test-postgres)"
        );
        return;
    }
    let srv = TestServer::start().await;
    let (a, b) = two_instances(&srv, &[]).await;
    let (via_a, via_b) = (Client::new(&a.base), Client::new(&b.base));
    let body = |password: &str| json!({"email": "Target@example.com", "password": password});
    for n in 0..5 {
        let via = if n % 2 == 0 { &via_a } else { &via_b };
        via.post("/login", body(&format!("wrong-{n}")))
            .await
            .expect_detail(401, "Invalid email or password");
    }
    for via in [&via_a, &via_b] {
        let r = via.post("/login", body("wrong-again")).await;
        r.expect_detail(429, "Too many login attempts, try later");
        let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
        assert!((1..=900).contains(&retry), "Retry-After {retry}");
    }
    // The key is the lower-cased email, whichever instance is asked.
    via_a
        .post(
            "/login",
            json!({"email": "target@EXAMPLE.com", "password": "x-wrong"}),
        )
        .await
        .expect_detail(429, "Too many login attempts, try later");
}

/// Guesses arriving at once through both instances are reserved in the
/// database before any password is checked: of 16 simultaneous wrong
/// passwords for one email, exactly 5 are evaluated (401) and the rest
/// refused (429), however they are split between A and B.
#[tokio::test]
async fn simultaneous_guesses_through_two_instances_get_five_evaluated() {
    if !on_postgres() {
        eprintln!(
            "SKIPPED simultaneous_guesses_through_two_instances_get_five_evaluated: several instances need PostgreSQL (make test-postgres)"
        );
        return;
    }
    let srv = TestServer::start().await;
    // A hashing budget large enough that none of them is refused for it.
    let (a, b) = two_instances(
        &srv,
        &[
            ("AFISHA_AUTH__HASH_QUEUE", "64"),
            ("AFISHA_AUTH__HASH_PER_CLIENT", "64"),
        ],
    )
    .await;
    const GUESSES: usize = 16;
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(GUESSES));
    let mut tasks = Vec::new();
    for n in 0..GUESSES {
        let via = Client::new(if n % 2 == 0 { &a.base } else { &b.base });
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            via.post(
                "/login",
                json!({"email": "burst@example.com", "password": format!("wrong-{n}")}),
            )
            .await
        }));
    }
    let (mut evaluated, mut refused) = (0, 0);
    for task in tasks {
        let r = task.await.unwrap();
        if r.status == 401 {
            evaluated += 1;
        } else {
            r.expect_detail(429, "Too many login attempts, try later");
            refused += 1;
        }
    }
    assert_eq!((evaluated, refused), (5, GUESSES - 5));
}

/// The per-client registration limit counts registrations made through
/// any instance: 3 an hour, the fourth is refused whichever instance gets
/// it.
#[tokio::test]
async fn registrations_per_client_are_counted_across_instances() {
    if !on_postgres() {
        eprintln!(
            "SKIPPED registrations_per_client_are_counted_across_instances: several instances need PostgreSQL (make test-postgres)"
        );
        return;
    }
    let srv = TestServer::start().await;
    let (a, b) = two_instances(
        &srv,
        &[("AFISHA_AUTH__REGISTRATIONS_PER_CLIENT_PER_HOUR", "3")],
    )
    .await;
    let (via_a, via_b) = (Client::new(&a.base), Client::new(&b.base));
    let body = |n: usize| json!({"email": format!("new{n}@example.com"), "password": PASSWORD, "full_name": "New"});
    for n in 0..3 {
        let via = if n % 2 == 0 { &via_a } else { &via_b };
        via.post("/register", body(n)).await.expect(201);
    }
    for (n, via) in [(3, &via_b), (4, &via_a)] {
        via.post("/register", body(n))
            .await
            .expect_detail(429, "Too many verification requests, try later");
    }
}

/// The first-run setup link works through any instance: the token is
/// stored (as a digest) in the database, not in the memory of the process
/// that printed it; once used, every instance says setup is complete.
#[tokio::test]
async fn a_setup_link_works_through_any_instance() {
    if !on_postgres() {
        eprintln!(
            "SKIPPED a_setup_link_works_through_any_instance: several instances need PostgreSQL (make test-postgres)"
        );
        return;
    }
    let srv = TestServer::start().await;
    // The link the test server's process would print.
    let link = afisha::service::setup::prepare(&srv.state.svc)
        .await
        .unwrap()
        .expect("no administrator yet: a link");
    let token = link.split("token=").nth(1).unwrap().to_string();
    let (a, b) = two_instances(&srv, &[]).await;
    let (via_a, via_b) = (Client::new(&a.base), Client::new(&b.base));
    for via in [&via_a, &via_b] {
        assert_eq!(
            via.get("/setup").await.expect(200),
            json!({"required": true})
        );
    }
    let body = |token: &str| json!({"token": token, "email": "root@example.org", "full_name": "Root", "password": PASSWORD});
    via_a
        .post("/setup", body("0123456789abcdef"))
        .await
        .expect_detail(400, "Invalid setup token");
    let user = via_b.post("/setup", body(&token)).await.expect(201);
    assert_eq!(user["role"], json!("ADMINISTRATOR"));
    for via in [&via_a, &via_b] {
        via.post("/setup", body(&token))
            .await
            .expect_detail(400, "Setup already completed");
        assert_eq!(
            via.get("/setup").await.expect(200),
            json!({"required": false})
        );
    }
}

/// The `.eml` files the `file` mail backend wrote under a data dir.
fn mail_files(data_dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(data_dir.join("mail"))
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn queued_emails_are_delivered_once_across_two_instances() {
    if !on_postgres() {
        eprintln!(
            "SKIPPED queued_emails_are_delivered_once_across_two_instances: several instances need PostgreSQL (make test-postgres)"
        );
        return;
    }
    const JOBS: usize = 300;
    let srv = TestServer::start().await;
    // Queued before the instances start, in one transaction, due in two
    // seconds of real time (the instances run on the system clock): both
    // are up by then and wake for the same jobs at once.
    let now = chrono::Utc::now().timestamp_micros();
    let due = now + 2_000_000;
    let statements = (0..JOBS)
        .map(|n| {
            let payload = json!({
                "to_email": format!("r{n}@example.com"),
                "to_name": "R",
                "kind": "REG_WELCOME",
                "subject": format!("Job {n}"),
                "text": "text",
                "html": "<p>html</p>",
            });
            (
                "INSERT INTO job (kind, payload, run_at, max_attempts, created_at)
                 VALUES ('email', ?1, ?2, 5, ?3)"
                    .to_string(),
                vec![json!(payload.to_string()), json!(due), json!(now)],
            )
        })
        .collect();
    srv.sql_exec_all(statements).await;
    let key = std::fs::read(srv.dir.path().join("secret.key")).unwrap();
    let url = srv
        .state
        .config
        .database
        .url
        .clone()
        .expect("a PostgreSQL run");
    let mut a = Instance::start(&url, &key);
    let mut b = Instance::start(&url, &key);
    a.ready().await;
    b.ready().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while srv
        .query_i64("SELECT count(*) FROM job WHERE done_at IS NOT NULL", vec![])
        .await
        < JOBS as i64
    {
        assert!(tokio::time::Instant::now() < deadline, "jobs still pending");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Every message once, whichever process (the two instances or the
    // seeding server's own scheduler) sent it.
    let mut subjects = Vec::new();
    let mut per_process = Vec::new();
    for dir in [srv.dir.path(), a.dir.path(), b.dir.path()] {
        let files = mail_files(dir);
        per_process.push(files.len());
        for file in files {
            let mail = Mail::parse(std::fs::read_to_string(file).unwrap());
            subjects.push(mail.subject);
        }
    }
    subjects.sort();
    let sent = subjects.len();
    subjects.dedup();
    assert_eq!(
        (sent, subjects.len()),
        (JOBS, JOBS),
        "per process: {per_process:?}"
    );
    eprintln!("messages sent per process (seeding server, A, B): {per_process:?}");
}

/// A wrong `database.url` stops the program with one line: another scheme
/// names the key (exit 2), an unreachable server says why (exit 1).
/// Neither needs a running PostgreSQL, so this runs on both backends.
#[test]
fn database_url_errors_are_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let migrate = |url: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_afisha"))
            .arg("migrate")
            .arg("--data-dir")
            .arg(dir.path())
            .args(["--database-url", url])
            .env_remove("AFISHA_CONFIG")
            .env_remove("AFISHA_DATABASE__URL")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
        (out.status.code(), err)
    };
    let (code, err) = migrate("mysql://db/afisha");
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("database.url"), "{err}");
    // Port 1 on loopback: nothing listens there.
    let (code, err) = migrate("postgres://afisha:hunter2@127.0.0.1:1/afisha");
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("cannot connect to PostgreSQL"), "{err}");
    assert!(err.contains("refused"), "{err}");
    assert!(
        !err.contains("hunter2"),
        "no password in the message: {err}"
    );
}

/// Instances starting together migrate one at a time (an advisory lock):
/// every one opens, and each migration is applied once.
#[test]
fn instances_starting_together_migrate_once() {
    if !on_postgres() {
        eprintln!(
            "SKIPPED instances_starting_together_migrate_once: the migration lock is PostgreSQL's (make test-postgres)"
        );
        return;
    }
    let url = new_pg_database();
    let opened: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || afisha::store::Store::open_postgres(&url).map(|_| ()))
        })
        .collect();
    for handle in opened {
        handle.join().unwrap().expect("every instance opens");
    }
    let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let applied: Vec<i32> = client
        .query(
            "SELECT version FROM refinery_schema_history ORDER BY version",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(applied, [1, 2, 3, 4, 5, 6, 7]);
    let tables: Vec<String> = client
        .query(
            "SELECT table_name::TEXT FROM information_schema.tables
             WHERE table_schema = 'public' AND table_name NOT LIKE 'refinery%'
             ORDER BY table_name",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        tables,
        [
            "backup_status",
            "event",
            "event_participant",
            "instant_notification",
            "issued_login_recovery",
            "issued_registration",
            "job",
            "login_session",
            "rate_limit",
            "setup_token",
            "upload",
            "user"
        ],
        "the same tables as the SQLite schema"
    );
}

/// The PostgreSQL store keeps each connection's prepared statements across
/// transactions (`store::postgres::PgTx::statement`); that holds only if a
/// statement prepared in a transaction that rolls back, or that failed
/// after it was prepared, stays prepared. This checks the server does so.
#[test]
fn statements_prepared_in_a_rolled_back_transaction_stay_prepared() {
    if !on_postgres() {
        eprintln!(
            "SKIPPED statements_prepared_in_a_rolled_back_transaction_stay_prepared: needs PostgreSQL (make test-postgres)"
        );
        return;
    }
    let url = new_pg_database();
    let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let mut tx = client.transaction().unwrap();
    let statement = tx.prepare("SELECT $1::BIGINT + 1").unwrap();
    assert!(
        tx.batch_execute("SELECT 1/0").is_err(),
        "the transaction fails"
    );
    drop(tx); // rolls back
    let row = client.query_one(&statement, &[&41i64]).unwrap();
    assert_eq!(row.get::<_, i64>(0), 42);
}
