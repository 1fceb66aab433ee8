//! Logs of the real binary: no colour codes when stderr is not a terminal,
//! request lines under their own target, one start-up block.

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
    /// Waits (bounded) until the server answers, then makes a few requests.
    async fn requests(&self) {
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
