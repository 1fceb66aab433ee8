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
        Instance::start_with::<&str>(database_url, key, &[])
    }

    /// [`Instance::start`] with extra environment (configuration keys).
    fn start_with<V: AsRef<str>>(database_url: &str, key: &[u8], env: &[(&str, V)]) -> Instance {
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
            .envs(env.iter().map(|(k, v)| (*k, v.as_ref())))
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
    if skipped_without_postgres("fifty_users_race_for_ten_seats_through_two_instances") {
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

/// A join through one instance shows in another instance's cached cards on
/// the very next request: B compares its cached cards with the database's
/// domain version on every request, and A's join bumped it in the same
/// transaction. Fifty rounds, no waiting between the write and the read
/// (with invalidation by `NOTIFY` alone, B answers from its cache until the
/// notification arrives, and some round sees the old count).
#[tokio::test]
async fn a_join_through_one_instance_shows_in_the_others_cards_on_the_next_request() {
    if skipped_without_postgres(
        "a_join_through_one_instance_shows_in_the_others_cards_on_the_next_request",
    ) {
        return;
    }
    const ROUNDS: i64 = 50;
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let mut users = Vec::new();
    for _ in 0..ROUNDS {
        users.push(srv.user().await);
    }
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
    let through = |user: &Client, base: &str| {
        let mut c = user.clone();
        c.base = base.to_string();
        c
    };
    let viewer = through(&admin, &b.base);
    let count_on_b = async || {
        let cards = viewer.get("/events/cards").await.expect(200);
        cards
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"].as_i64() == Some(eid))
            .map(|c| c["participants_count"].as_i64().unwrap())
            .unwrap()
    };
    // B has its answer cached now, and again after every round.
    assert_eq!(count_on_b().await, 0);
    for (n, user) in users.iter().enumerate() {
        through(user, &a.base)
            .put(
                &format!("/events/{eid}/participants/me"),
                json!({"status": "PARTICIPATING"}),
            )
            .await
            .expect(204);
        assert_eq!(
            count_on_b().await,
            n as i64 + 1,
            "round {n}: B answered from a stale cache"
        );
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
    if skipped_without_postgres("the_login_guard_counts_attempts_across_instances") {
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
    if skipped_without_postgres("simultaneous_guesses_through_two_instances_get_five_evaluated") {
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
    if skipped_without_postgres("registrations_per_client_are_counted_across_instances") {
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
    if skipped_without_postgres("a_setup_link_works_through_any_instance") {
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

/// What a test SMTP server received: the Message-ID of each message, in
/// order, by the listener (port) it arrived at.
#[derive(Default)]
struct Sink {
    received: Vec<(u16, String)>,
}

/// SMTP listeners on loopback ports (just enough of the protocol for
/// lettre) that record every message's Message-ID. A listener started with
/// `hold` records a message at the end of DATA but never answers it: the
/// delivery stays in flight, as with a very slow server.
#[derive(Clone, Default)]
struct SmtpSink(std::sync::Arc<std::sync::Mutex<Sink>>);

impl SmtpSink {
    /// A listener feeding this sink; returns its port.
    async fn listen(&self, hold: bool) -> u16 {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let sink = self.clone();
        tokio::spawn(async move {
            loop {
                if let Ok((socket, _)) = listener.accept().await {
                    tokio::spawn(smtp_session(socket, sink.clone(), port, hold));
                }
            }
        });
        port
    }

    fn received(&self) -> Vec<(u16, String)> {
        self.0.lock().unwrap().received.clone()
    }
}

async fn smtp_session(socket: tokio::net::TcpStream, sink: SmtpSink, port: u16, hold: bool) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
    let (read, mut write) = socket.into_split();
    let mut lines = tokio::io::BufReader::new(read);
    if write.write_all(b"220 sink ESMTP\r\n").await.is_err() {
        return;
    }
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
            return;
        }
        let verb = line
            .split([' ', ':', '\r', '\n'])
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        let answer: &[u8] = match verb.as_str() {
            "EHLO" => b"250-sink\r\n250 8BITMIME\r\n",
            "DATA" => {
                if write.write_all(b"354 go on\r\n").await.is_err() {
                    return;
                }
                let mut id = None;
                loop {
                    line.clear();
                    if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    if line == ".\r\n" || line == ".\n" {
                        break;
                    }
                    if id.is_none() && line.to_ascii_lowercase().starts_with("message-id:") {
                        id = Some(line["message-id:".len()..].trim().to_string());
                    }
                }
                let id = id.expect("every message has a Message-ID");
                sink.0.lock().unwrap().received.push((port, id));
                if hold {
                    std::future::pending::<()>().await;
                }
                b"250 queued\r\n"
            }
            "QUIT" => {
                let _ = write.write_all(b"221 bye\r\n").await;
                return;
            }
            _ => b"250 OK\r\n",
        };
        if write.write_all(answer).await.is_err() {
            return;
        }
    }
}

/// The environment that sends an instance's email to the SMTP listener on
/// `port`, with job leases of `lock_secs`.
fn smtp_env(port: u16, lock_secs: u64) -> Vec<(&'static str, String)> {
    vec![
        ("AFISHA_EMAIL__BACKEND", "smtp".into()),
        ("AFISHA_EMAIL__SMTP__HOST", "127.0.0.1".into()),
        ("AFISHA_EMAIL__SMTP__PORT", port.to_string()),
        ("AFISHA_EMAIL__SMTP__TLS", "none".into()),
        ("AFISHA_JOBS__LOCK_SECS", lock_secs.to_string()),
    ]
}

/// Runs `sql` on the database at `url` (off the async workers: the
/// blocking client runs a runtime of its own).
async fn pg_batch(url: &str, sql: String) {
    let url = url.to_string();
    tokio::task::spawn_blocking(move || {
        let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        client.batch_execute(&sql).unwrap();
    })
    .await
    .unwrap();
}

/// One number from the database at `url`.
async fn pg_i64(url: &str, sql: &'static str) -> i64 {
    let url = url.to_string();
    tokio::task::spawn_blocking(move || {
        let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        client.query_one(sql, &[]).unwrap().get(0)
    })
    .await
    .unwrap()
}

/// Queues `n` email jobs due now, in one transaction, and wakes every
/// instance's scheduler (`NOTIFY afisha_jobs`, as a commit through the
/// store does).
async fn queue_emails(url: &str, n: usize) {
    let now = chrono::Utc::now().timestamp_micros();
    pg_batch(
        url,
        format!(
            "BEGIN;
             INSERT INTO job (kind, payload, run_at, max_attempts, created_at)
             SELECT 'email',
                    json_build_object('to_email', 'r' || n || '@example.com', 'to_name', 'R',
                                      'kind', 'REG_WELCOME', 'subject', 'Job ' || n,
                                      'text', 'text', 'html', '<p>html</p>')::TEXT,
                    {now}, 5, {now}
             FROM generate_series(1, {n}) AS n;
             NOTIFY afisha_jobs;
             COMMIT;"
        ),
    )
    .await;
}

/// Waits (bounded by `secs`) until every job of the database is done.
async fn all_jobs_done(url: &str, jobs: i64, secs: u64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let done = pg_i64(url, "SELECT count(*) FROM job WHERE done_at IS NOT NULL").await;
        if done == jobs {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{done} of {jobs} jobs done"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// How many messages each Message-ID was received as.
fn by_message_id(received: &[(u16, String)]) -> std::collections::HashMap<String, usize> {
    let mut counts = std::collections::HashMap::new();
    for (_, id) in received {
        *counts.entry(id.clone()).or_insert(0) += 1;
    }
    counts
}

/// 1 000 email jobs, two instances claiming from one queue: every message
/// reaches the SMTP server exactly once (by Message-ID, which is the same
/// for every attempt of a job), and both instances take part.
#[tokio::test]
async fn a_thousand_emails_are_delivered_exactly_once_across_two_instances() {
    if skipped_without_postgres("a_thousand_emails_are_delivered_exactly_once_across_two_instances")
    {
        return;
    }
    const JOBS: usize = 1000;
    let url = new_pg_database();
    let key = [7u8; 32];
    let sink = SmtpSink::default();
    let (port_a, port_b) = (sink.listen(false).await, sink.listen(false).await);
    let mut a = Instance::start_with(&url, &key, &smtp_env(port_a, 300));
    let mut b = Instance::start_with(&url, &key, &smtp_env(port_b, 300));
    a.ready().await;
    b.ready().await;
    queue_emails(&url, JOBS).await;
    all_jobs_done(&url, JOBS as i64, 120).await;
    let received = sink.received();
    let counts = by_message_id(&received);
    let twice: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "delivered more than once: {twice:?}");
    assert_eq!(
        (received.len(), counts.len()),
        (JOBS, JOBS),
        "each job's message once"
    );
    let through_a = received.iter().filter(|(p, _)| *p == port_a).count();
    eprintln!(
        "messages sent by A: {through_a}, by B: {}",
        JOBS - through_a
    );
    assert!(
        through_a > 0 && through_a < JOBS,
        "both instances deliver: A sent {through_a}"
    );
}

/// `kill -9` of an instance in the middle of delivering: its claimed jobs
/// stay locked until their lease (`jobs.lock_secs`) runs out, then the
/// other instance delivers them. Every job is delivered at least once; a
/// message is delivered twice only if the killed instance had started
/// sending it (at-least-once: A may have handed it over without recording
/// that it did).
#[tokio::test]
async fn jobs_of_a_killed_instance_are_delivered_by_the_other_after_the_lease() {
    if skipped_without_postgres(
        "jobs_of_a_killed_instance_are_delivered_by_the_other_after_the_lease",
    ) {
        return;
    }
    const JOBS: usize = 200;
    const LEASE_SECS: u64 = 3;
    let url = new_pg_database();
    let key = [7u8; 32];
    let sink = SmtpSink::default();
    // A's server takes the first messages and never answers: A is killed
    // with its claimed jobs in flight.
    let (port_a, port_b) = (sink.listen(true).await, sink.listen(false).await);
    let mut a = Instance::start_with(&url, &key, &smtp_env(port_a, LEASE_SECS));
    a.ready().await;
    queue_emails(&url, JOBS).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while sink.received().is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "A delivers nothing");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    a.child.kill().unwrap(); // SIGKILL
    a.child.wait().unwrap();
    let claimed_by_a = pg_i64(
        &url,
        "SELECT count(*) FROM job WHERE locked_by IS NOT NULL AND done_at IS NULL",
    )
    .await;
    assert!(claimed_by_a > 0, "A held jobs when it was killed");
    let started_by_a: std::collections::HashSet<String> =
        sink.received().into_iter().map(|(_, id)| id).collect();

    let mut b = Instance::start_with(&url, &key, &smtp_env(port_b, LEASE_SECS));
    b.ready().await;
    all_jobs_done(&url, JOBS as i64, 60).await;
    let received = sink.received();
    let counts = by_message_id(&received);
    assert_eq!(counts.len(), JOBS, "every job delivered at least once");
    for (id, n) in &counts {
        assert!(
            *n == 1 || (*n == 2 && started_by_a.contains(id)),
            "{id} delivered {n} times"
        );
    }
    // A's claimed jobs ran again: their second attempt, after the lease.
    assert_eq!(
        pg_i64(&url, "SELECT count(*) FROM job WHERE attempts = 2").await,
        claimed_by_a,
        "the jobs A held were taken over once"
    );
    eprintln!(
        "A held {claimed_by_a} job(s) and had started {} message(s) when killed",
        started_by_a.len()
    );
}

/// The value of the counter `afisha_scans_total` for `scan` and `outcome`
/// in an instance's `/metrics` (0 while absent).
async fn scans(base: &str, scan: &str, outcome: &str) -> u64 {
    let text = reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|l| l.starts_with("afisha_scans_total{"))
        .filter(|l| {
            l.contains(&format!("scan=\"{scan}\"")) && l.contains(&format!("outcome=\"{outcome}\""))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .map(|v| v as u64)
        .sum()
}

/// The recurring scans run once per tick across instances: two instances
/// reach the same reminder and clean-up ticks; one runs each, the other
/// skips it. A due reminder is sent once.
#[tokio::test]
async fn reminders_and_clean_up_run_once_per_tick_across_instances() {
    if skipped_without_postgres("reminders_and_clean_up_run_once_per_tick_across_instances") {
        return;
    }
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let user = srv.user().await;
    let event = admin
        .post(
            "/events",
            json!({
                "name": "Once per tick",
                "description": "D",
                "starts_at": at(&srv, 2),
                "ends_at": at(&srv, 3),
                "image_url": "https://example.com/e.png",
            }),
        )
        .await
        .expect(201);
    let eid = event["id"].as_i64().unwrap();
    user.put(
        &format!("/events/{eid}/participants/me"),
        json!({"status": "PARTICIPATING"}),
    )
    .await
    .expect(204);
    // The seeding server takes the first ticks when it starts (its manual
    // clock stands still, so it takes no more): once it has, make them due
    // again for the two instances.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while srv
        .query_i64("SELECT count(*) FROM scan_tick", vec![])
        .await
        < 3
    {
        assert!(tokio::time::Instant::now() < deadline, "no ticks taken");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    srv.sql_exec("DELETE FROM scan_tick", vec![]).await;
    let key = std::fs::read(srv.dir.path().join("secret.key")).unwrap();
    let url = srv
        .state
        .config
        .database
        .url
        .clone()
        .expect("a PostgreSQL run");
    let env = [
        ("AFISHA_EMAIL__BACKEND", "file".to_string()),
        ("AFISHA_METRICS__ENABLED", "true".to_string()),
    ];
    let mut a = Instance::start_with(&url, &key, &env);
    let mut b = Instance::start_with(&url, &key, &env);
    a.ready().await;
    b.ready().await;
    // Each instance reaches each tick once at start; wait until both have.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let mut ran = std::collections::HashMap::new();
    for scan in ["reminders", "cleanup", "series"] {
        loop {
            let mut seen = Vec::new();
            for base in [&a.base, &b.base] {
                seen.push((
                    scans(base, scan, "ran").await,
                    scans(base, scan, "skipped").await,
                ));
            }
            if seen.iter().all(|(r, s)| r + s >= 1) {
                ran.insert(scan, seen);
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{scan}: the instances did not reach the tick: {seen:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    for (scan, seen) in &ran {
        let total: u64 = seen.iter().map(|(r, _)| r).sum();
        assert_eq!(total, 1, "{scan} ran once across A and B: {seen:?}");
    }
    // The reminder's email, once, whichever process delivered it.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let reminders = loop {
        let mut reminders = 0;
        for dir in [srv.dir.path(), a.dir.path(), b.dir.path()] {
            for file in mail_files(dir) {
                let mail = Mail::parse(std::fs::read_to_string(file).unwrap());
                if mail.subject.starts_with("Reminder:") || mail.subject.starts_with("Напоминание:")
                {
                    reminders += 1;
                }
            }
        }
        let pending = srv
            .query_i64(
                "SELECT count(*) FROM job WHERE done_at IS NULL AND failed_at IS NULL",
                vec![],
            )
            .await;
        if reminders >= 1 && pending == 0 {
            break reminders;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no reminder delivered ({pending} job(s) pending)"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(reminders, 1, "one reminder email");
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
    // Every migration file, once (read from the directory, so that a new
    // migration needs no edit here).
    let mut files: Vec<i32> = std::fs::read_dir("migrations/postgres")
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.strip_prefix('V')?.split("__").next()?.parse().ok()
        })
        .collect();
    files.sort_unstable();
    assert!(files.len() >= 8, "{files:?}");
    assert_eq!(applied, files);
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
            "audit",
            "backup_status",
            "calendar_token",
            "category",
            "domain_version",
            "event",
            "event_checkin",
            "event_manager",
            "event_participant",
            "instant_notification",
            "issued_login_recovery",
            "issued_registration",
            "job",
            "login_session",
            "oidc_login",
            "rate_limit",
            "reminder_sent",
            "scan_tick",
            "series",
            "setup_token",
            "upload",
            "user",
            "user_preferences",
            "user_reminder_offset",
            "webhook_attempt",
            "webhook_delivery",
            "webhook_endpoint"
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

/// Several instances need PostgreSQL: on a SQLite run, says so and tells
/// the test to return.
fn skipped_without_postgres(test: &str) -> bool {
    if on_postgres() {
        return false;
    }
    eprintln!("SKIPPED {test}: several instances need PostgreSQL (make test-postgres)");
    true
}
