//! Logs of the real binary: no colour codes when stderr is not a terminal,
//! request lines under their own target (sampled under load, with a
//! summary), one start-up block.

mod common;

use std::process::{Child, Command, Stdio};

use common::*;

struct Served {
    child: Child,
    base: String,
    dir: tempfile::TempDir,
    log: std::path::PathBuf,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `afisha serve` on a free port with stderr into a file (not a terminal).
fn serve(args: &[&str], env: &[(&str, &str)]) -> Served {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("stderr.log");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_afisha"));
    cmd.args(args)
        .args([
            "serve",
            "--bind",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(dir.path().join("data"))
        .envs(backend_env(dir.path()))
        .env_remove("AFISHA_LOG")
        .env_remove("AFISHA_LOG_FORMAT")
        .env_remove("NO_COLOR")
        .env("AFISHA_AUTH__ARGON2__MEMORY_KIB", "1024")
        .env("AFISHA_AUTH__ARGON2__ITERATIONS", "1")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap());
    for (k, v) in env {
        cmd.env(k, v);
    }
    Served {
        child: cmd.spawn().unwrap(),
        base: format!("http://127.0.0.1:{port}"),
        dir,
        log,
    }
}

impl Served {
    /// Waits (bounded) until the server answers (one request reaches it).
    async fn wait_up(&self) {
        let mut up = false;
        for _ in 0..1000 {
            if reqwest::get(format!("{}/api/health", self.base))
                .await
                .is_ok()
            {
                up = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert!(up, "the server did not start: {}", self.stderr());
    }

    /// Waits until the server is up, then makes a few requests.
    async fn requests(&self) {
        self.wait_up().await;
        let c = Client::new(&self.base);
        for _ in 0..3 {
            c.get("/setup").await.expect(200);
        }
        c.get("/login").await.expect(401);
    }

    /// Everything written so far (each log event is written whole, before
    /// the response it describes is sent).
    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap()
    }

    /// SIGTERM, then waits (bounded) for the graceful exit.
    fn stop(&mut self) {
        // SAFETY: a plain kill(2) on our own child's pid.
        let sent = unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        assert_eq!(sent, 0, "kill: {}", std::io::Error::last_os_error());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "{status}: {}", self.stderr());
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no exit after SIGTERM: {}",
                self.stderr()
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }

    fn data_dir(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }
}

#[tokio::test]
async fn text_logs_have_no_colour_codes_off_a_terminal_and_one_startup_block() {
    let srv = serve(&[], &[]);
    srv.requests().await;
    let log = srv.stderr();
    assert!(!log.contains("\x1b["), "ANSI codes in a file:\n{log}");
    let requests: Vec<&str> = log.lines().filter(|l| l.contains(" request ")).collect();
    // Three to /api/setup and one to /api/login (and the readiness
    // probes to /api/health).
    assert_eq!(
        requests.iter().filter(|l| l.contains("/api/setup")).count(),
        3,
        "{log}"
    );
    assert!(
        requests
            .iter()
            .any(|l| l.contains("/api/login") && l.contains("status=401")),
        "{log}"
    );
    assert!(
        requests.iter().all(|l| l.contains("afisha::access")),
        "{log}"
    );
    // One block, printed once: the URL, the data dir, the database, the
    // storage, the mail backend and what is not configured.
    assert_eq!(log.matches("listening on").count(), 1, "{log}");
    let start = log.find("listening on").unwrap();
    // Aligned columns; compared with single spaces.
    let block: String = log[start..]
        .lines()
        .take(9)
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        block.contains(&format!("listening on {}/", srv.base)),
        "{block}"
    );
    assert!(
        block.contains(&format!("data dir: {}", srv.data_dir())),
        "{block}"
    );
    let database = if on_postgres() {
        "database: postgres://"
    } else {
        "afisha.db"
    };
    assert!(block.contains(database), "{block}");
    assert!(block.contains("storage: fs, images in"), "{block}");
    assert!(
        block.contains("mail: console backend — emails are printed to the log, not sent"),
        "{block}"
    );
    assert!(
        block.contains("backups: not scheduled (backup.schedule)"),
        "{block}"
    );
}

#[tokio::test]
async fn afisha_log_can_silence_request_lines_and_keeps_the_rest_at_info() {
    let srv = serve(&[], &[("AFISHA_LOG", "afisha::access=off")]);
    srv.requests().await;
    let log = srv.stderr();
    assert!(!log.contains(" request "), "request lines:\n{log}");
    assert!(!log.contains("afisha::access"), "{log}");
    assert!(
        log.contains("listening on"),
        "start-up block missing:\n{log}"
    );
}

#[tokio::test]
async fn json_logs_are_one_object_per_line_with_the_startup_fields() {
    let srv = serve(
        &["--log-format", "json"],
        &[("AFISHA_EMAIL__BACKEND", "file")],
    );
    srv.requests().await;
    let log = srv.stderr();
    let events: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not JSON: {l}")))
        .collect();
    let startup: Vec<&serde_json::Value> = events
        .iter()
        .filter(|e| e["data_dir"].is_string())
        .collect();
    assert_eq!(startup.len(), 1, "{log}");
    assert_eq!(startup[0]["data_dir"], srv.data_dir().as_str());
    assert!(
        startup[0]["mail"]
            .as_str()
            .unwrap()
            .starts_with("file backend — emails are written to"),
        "{log}"
    );
    let setup = events
        .iter()
        .filter(|e| e["target"] == "afisha::access" && e["route"] == "/api/setup")
        .count();
    assert_eq!(setup, 3, "{log}");
}

/// A request whose body never arrives: the 1 s request deadline answers
/// 503 (a 5xx the server itself produces).
async fn timed_out_request(base: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = base.trim_start_matches("http://");
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.write_all(
        format!(
            "POST /api/login HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{"
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tcp.read(&mut buf).await.unwrap();
        assert!(n > 0, "closed without an answer");
        head.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&head).into_owned()
}

#[tokio::test]
async fn under_load_request_lines_are_sampled_with_a_summary_and_errors_always_logged() {
    const PER_SECOND: u64 = 5;
    const REQUESTS: usize = 500;
    let mut srv = serve(
        &["--log-format", "json"],
        &[
            ("AFISHA_ACCESS_LOG__LINES_PER_SECOND", "5"),
            // Nothing here is slow; the summary comes at shutdown.
            ("AFISHA_ACCESS_LOG__SLOW_MS", "60000"),
            ("AFISHA_ACCESS_LOG__SUMMARY_SECS", "3600"),
            ("AFISHA_SERVER__REQUEST_TIMEOUT_SECS", "1"),
        ],
    );
    srv.wait_up().await;
    let started = std::time::Instant::now();
    let http = reqwest::Client::new();
    let url = format!("{}/api/setup", srv.base);
    let mut left = REQUESTS;
    while left > 0 {
        let batch = left.min(10);
        let answers = futures_util::future::join_all(
            (0..batch).map(|_| async { http.get(&url).send().await.unwrap().status() }),
        )
        .await;
        assert!(answers.iter().all(|s| s.as_u16() == 200), "{answers:?}");
        left -= batch;
    }
    let seconds = started.elapsed().as_secs();
    let head = timed_out_request(&srv.base).await;
    assert!(head.starts_with("HTTP/1.1 503"), "{head}");
    srv.stop();

    let log = srv.stderr();
    let events: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not JSON: {l}")))
        .collect();
    let access: Vec<&serde_json::Value> = events
        .iter()
        .filter(|e| e["target"] == "afisha::access")
        .collect();
    let lines: Vec<&&serde_json::Value> = access
        .iter()
        .filter(|e| e["message"] == "request")
        .collect();
    // The 5xx has its line, at warn.
    let errors: Vec<_> = lines.iter().filter(|e| e["status"] == 503).collect();
    assert_eq!(errors.len(), 1, "{log}");
    assert_eq!(errors[0]["level"], "WARN");
    assert_eq!(errors[0]["route"], "/api/login");
    // The others: at most PER_SECOND in each second they spanned (plus
    // the readiness probe's second before).
    let fine = lines.len() as u64 - 1;
    assert!(fine >= 1, "{log}");
    assert!(
        fine <= PER_SECOND * (seconds + 2),
        "{fine} lines in {seconds} s:\n{log}"
    );
    // The rest are counted in the summary, written once at shutdown.
    let summaries: Vec<_> = access
        .iter()
        .filter(|e| {
            e["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("requests not logged"))
        })
        .collect();
    assert_eq!(summaries.len(), 1, "{log}");
    let s = summaries[0];
    // Every request the server saw: the load and the readiness probe.
    assert_eq!(
        s["not_logged"].as_u64().unwrap() + fine,
        REQUESTS as u64 + 1,
        "{log}"
    );
    assert_eq!(s["status_2xx"], s["not_logged"]);
    assert_eq!(s["status_4xx"], 0);
    assert!(s["p50_ms"].as_f64().unwrap() <= s["p99_ms"].as_f64().unwrap());
}
