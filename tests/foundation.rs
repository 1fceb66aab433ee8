//! The foundation over real HTTP and the real binary: health, the error
//! format, body limits, OpenAPI, config errors and the user CLI.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::*;
use serde_json::json;

#[tokio::test]
async fn health_and_error_format() {
    let srv = TestServer::start().await;
    let c = srv.anon();
    // The contract's body, exactly; with `details` the backend is named
    // (an operator checks which database an instance runs on).
    assert_eq!(c.get("/health").await.expect(200), json!({"status": "ok"}));
    let backend = if on_postgres() { "postgres" } else { "sqlite" };
    assert_eq!(
        c.get("/health?details=true").await.expect(200),
        json!({"status": "ok", "database": backend})
    );
    c.get("/health?details=maybe").await.expect(422);
    c.post("/health", json!({}))
        .await
        .expect_detail(405, "Method Not Allowed");
    c.get("/nope").await.expect_detail(404, "Not Found");
    c.get("/api").await.expect_detail(404, "Not Found");
}

#[tokio::test]
async fn security_headers_and_spa_fallback() {
    let srv = TestServer::start().await;
    let c = srv.anon();
    let r = c.get(&format!("{}/events/12", srv.base)).await;
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    assert_eq!(r.header("cache-control").as_deref(), Some("no-cache"));
    let csp = r.header("content-security-policy").unwrap();
    assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"));
    assert_eq!(
        r.header("x-content-type-options").as_deref(),
        Some("nosniff")
    );
    assert_eq!(r.header("x-frame-options").as_deref(), Some("DENY"));
    // A missing hashed asset is a 404, not the app shell.
    assert_eq!(
        c.get(&format!("{}/assets/missing-abc123.js", srv.base))
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn oversized_json_body_is_413() {
    let srv = TestServer::with(|c| c.server.max_body_bytes = 1024).await;
    let user = srv.user().await;
    let big = json!({"current_password": "x".repeat(4096), "new_password": "y"});
    let r = user.post("/users/me/password", big).await;
    assert_eq!(r.status, 413, "{}", r.text());
    assert!(r.json()["detail"].is_string());
}

#[tokio::test]
async fn openapi_is_3_1_and_docs_page_is_local() {
    let srv = TestServer::start().await;
    let c = srv.anon();
    let doc = c.get("/openapi.json").await.expect(200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    assert!(doc["paths"]["/api/health"]["get"].is_object());
    let r = c.get("/docs").await;
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    assert!(!r.text().contains("//cdn"), "docs must not load from a CDN");
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_afisha"))
}

#[test]
fn config_errors_are_one_line_and_exit_2() {
    let out = bin()
        .args(["serve", "--config", "/no/such/file"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("/no/such/file"));

    let dir = tempfile::tempdir().unwrap();
    let out = bin()
        .args(["serve", "--data-dir"])
        .arg(dir.path())
        .env("AFISHA_SERVER__BIND", "nonsense")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("server.bind") && err.contains("nonsense"),
        "{err}"
    );
    assert!(!err.contains("panicked"));
}

/// Defaults < the TOML file < environment variables < flags, seen through
/// the real binary: every layer names a different (invalid) bind address, and
/// the error quotes the one that won.
#[test]
fn config_layers_file_then_environment_then_flags() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("afisha.toml");
    std::fs::write(&file, "[server]\nbind = \"from-file\"\n").unwrap();
    let run = |env: Option<&str>, flag: Option<&str>| {
        let mut cmd = bin();
        cmd.args(["serve", "--config"])
            .arg(&file)
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .env_remove("AFISHA_SERVER__BIND");
        if let Some(value) = env {
            cmd.env("AFISHA_SERVER__BIND", value);
        }
        if let Some(value) = flag {
            cmd.args(["--bind", value]);
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(2));
        String::from_utf8_lossy(&out.stderr).trim().to_string()
    };
    let quoted = |err: String, value: &str| {
        assert!(
            err.contains("server.bind") && err.contains(&format!("'{value}'")),
            "{err}"
        );
    };
    quoted(run(None, None), "from-file");
    quoted(run(Some("from-env"), None), "from-env");
    quoted(run(Some("from-env"), Some("from-flag")), "from-flag");

    // An unknown value of a key with fixed values: the key, the allowed
    // values and where it came from, on one line.
    let out = bin()
        .args(["serve", "--data-dir"])
        .arg(dir.path().join("data"))
        .env("AFISHA_EMAIL__BACKEND", "pigeon")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "afisha: configuration error: email.backend: 'pigeon' is not one of: console, file, smtp \
         (from environment variable AFISHA_EMAIL__BACKEND)"
    );
}

#[test]
fn user_create_then_list_shows_the_administrator() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = bin()
        .args([
            "user",
            "create",
            "--email",
            "Boss@Example.com",
            "--name",
            "Главный Админ",
            "--admin",
            "--password-stdin",
            "--data-dir",
        ])
        .arg(dir.path())
        .envs(backend_env(dir.path()))
        .env("AFISHA_AUTH__ARGON2__MEMORY_KIB", "1024")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"a-long-password\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = bin()
        .args(["user", "list", "--data-dir"])
        .arg(dir.path())
        .envs(backend_env(dir.path()))
        .output()
        .unwrap();
    assert!(out.status.success());
    let list = String::from_utf8_lossy(&out.stdout);
    assert!(
        list.contains("Boss@Example.com")
            && list.contains("ADMINISTRATOR")
            && list.contains("Главный Админ"),
        "{list}"
    );

    // A short password is refused with the rule, nothing is created.
    let mut child = bin()
        .args([
            "user",
            "create",
            "--email",
            "x@example.com",
            "--name",
            "X",
            "--password-stdin",
            "--data-dir",
        ])
        .arg(dir.path())
        .envs(backend_env(dir.path()))
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"short\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("password"));

    // Duplicate email (any case) is refused.
    let mut child = bin()
        .args([
            "user",
            "create",
            "--email",
            "boss@example.COM",
            "--name",
            "Dup",
            "--password-stdin",
            "--data-dir",
        ])
        .arg(dir.path())
        .envs(backend_env(dir.path()))
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"a-long-password\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Email already exists"));

    // The only administrator cannot be demoted: the same rule as HTTP.
    let set_role = |email: &str, role: &str| {
        bin()
            .args(["user", "set-role", "--email", email, "--role", role])
            .arg("--data-dir")
            .arg(dir.path())
            .envs(backend_env(dir.path()))
            .output()
            .unwrap()
    };
    let out = set_role("BOSS@example.com", "USER");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Cannot remove the last administrator"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = bin()
        .args(["user", "list", "--data-dir"])
        .arg(dir.path())
        .envs(backend_env(dir.path()))
        .output()
        .unwrap();
    let list = String::from_utf8_lossy(&out.stdout);
    assert!(
        list.contains("ADMINISTRATOR") && !list.contains(" USER "),
        "{list}"
    );

    // With a second administrator the first may step down.
    let mut child = bin()
        .args([
            "user",
            "create",
            "--email",
            "deputy@example.com",
            "--name",
            "Deputy",
            "--admin",
            "--password-stdin",
            "--data-dir",
        ])
        .arg(dir.path())
        .envs(backend_env(dir.path()))
        .env("AFISHA_AUTH__ARGON2__MEMORY_KIB", "1024")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"a-long-password\n")
        .unwrap();
    assert!(child.wait_with_output().unwrap().status.success());
    let out = set_role("BOSS@example.com", "USER");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = set_role("nobody@example.com", "USER");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("User not found"));
    let out = bin()
        .args(["user", "list", "--data-dir"])
        .arg(dir.path())
        .envs(backend_env(dir.path()))
        .output()
        .unwrap();
    let list = String::from_utf8_lossy(&out.stdout);
    let boss = list
        .lines()
        .find(|l| l.contains("Boss@Example.com"))
        .unwrap_or_default();
    assert!(boss.contains(" USER "), "{list}");
}

#[test]
fn migrate_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    for _ in 0..2 {
        let out = bin()
            .args(["migrate", "--data-dir"])
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(dir.path().join("afisha.db").exists());
}

/// Every route of API.md, as (method, path template relative to /api).
const API_ROUTES: &[(&str, &str)] = &[
    ("post", "/register"),
    ("post", "/register/verification"),
    ("post", "/register/resend"),
    ("post", "/login"),
    ("get", "/login"),
    ("post", "/logout"),
    ("get", "/login/sessions"),
    ("delete", "/login/sessions/{uid}"),
    ("post", "/login/recovery"),
    ("post", "/login/recovery/submit"),
    ("post", "/users/me/password"),
    ("get", "/users"),
    ("put", "/users/{user_id}"),
    ("delete", "/users/{user_id}"),
    ("post", "/users/{user_id}/reset-password"),
    ("post", "/events"),
    ("get", "/events"),
    ("get", "/events/{event_id}"),
    ("put", "/events/{event_id}"),
    ("get", "/events/{event_id}/participants/export"),
    ("get", "/events/cards"),
    ("put", "/events/{event_id}/participants/me"),
    ("get", "/events/{event_id}/ics"),
    ("post", "/files"),
    ("get", "/notifications/instant"),
    ("post", "/notifications/instant/ack"),
    ("post", "/notifications/instant/ack-all"),
    ("get", "/notifications/instant/unread-count"),
    ("get", "/users/me/statistics"),
    ("get", "/statistics"),
    ("get", "/debug/intercept-verification-code"),
    ("get", "/debug/intercept-recovery-token"),
    ("post", "/debug/expire-recovery-token"),
    ("post", "/debug/expire-verification-code"),
    ("post", "/debug/delete-examples"),
    ("post", "/debug/change-role"),
    ("get", "/health"),
];

/// The OpenAPI document lists every route of API.md, and every operation
/// it lists is really routed (answers something other than the router's
/// own 404/405). Routes are registered together with their documentation
/// (utoipa-axum), so the router cannot hold an undocumented /api route.
#[tokio::test]
async fn openapi_documents_every_route_and_every_documented_route_exists() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let doc = admin.get("/openapi.json").await.expect(200);
    let paths = doc["paths"].as_object().unwrap();
    let missing: Vec<String> = API_ROUTES
        .iter()
        .filter(|(m, p)| {
            paths
                .get(&format!("/api{p}"))
                .and_then(|i| i.get(*m))
                .is_none()
        })
        .map(|(m, p)| format!("{} {p}", m.to_uppercase()))
        .collect();
    assert!(
        missing.is_empty(),
        "routes missing from openapi.json: {missing:?}"
    );

    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            let concrete = path
                .replace("{uid}", "00000000-0000-4000-8000-000000000000")
                .replace("{user_id}", "999999")
                .replace("{event_id}", "999999");
            let url = format!("{}{concrete}", srv.base);
            let req = match method.as_str() {
                "get" => admin.http.get(&url),
                "post" => admin.http.post(&url).json(&json!({})),
                "put" => admin.http.put(&url).json(&json!({})),
                "delete" => admin.http.delete(&url),
                other => panic!("unexpected method {other} on {path}"),
            };
            let r = admin.send(req).await;
            let body = r.text();
            assert!(
                !(r.status == 404 && body == r#"{"detail":"Not Found"}"#) && r.status != 405,
                "{method} {path} is documented but not routed: {} {body}",
                r.status
            );
            assert!(
                r.status < 500,
                "{method} {path} answered {}: {body}",
                r.status
            );
            // Every operation that takes input documents its error responses.
            let takes_input = op.get("requestBody").is_some()
                || op
                    .get("parameters")
                    .is_some_and(|p| p.as_array().is_some_and(|a| !a.is_empty()))
                || op.get("security").is_some();
            let responses = op["responses"].as_object().unwrap();
            assert!(
                !takes_input
                    || responses.keys().any(|k| k.starts_with('4'))
                    || path.contains("/debug/"),
                "{method} {path} documents no 4xx response"
            );
        }
    }
}

/// Reads until the server closes the connection; returns what it sent.
async fn read_to_close(stream: &mut tokio::net::TcpStream) -> Vec<u8> {
    use tokio::io::AsyncReadExt;
    let mut out = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        stream.read_to_end(&mut out),
    )
    .await
    .expect("the server must close the connection");
    out
}

#[tokio::test]
async fn slow_clients_cannot_hold_connections() {
    use tokio::io::AsyncWriteExt;
    let srv = TestServer::with(|c| {
        c.server.header_read_timeout_secs = 1;
        c.server.max_connections = 2;
    })
    .await;
    let addr = srv.base.trim_start_matches("http://").to_string();
    // Slowloris: half a request line, then nothing. Closed at the deadline.
    let mut slow = tokio::net::TcpStream::connect(&addr).await.unwrap();
    slow.write_all(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .await
        .unwrap();
    let started = std::time::Instant::now();
    read_to_close(&mut slow).await;
    assert!(started.elapsed() < std::time::Duration::from_secs(10));

    // Two idle connections fill the cap; a third is refused at once.
    let mut a = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let _b = tokio::net::TcpStream::connect(&addr).await.unwrap();
    a.write_all(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 12];
    use tokio::io::AsyncReadExt;
    a.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"HTTP/1.1 200");
    let mut third = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let _ = third
        .write_all(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await;
    let answer = read_to_close(&mut third).await;
    assert!(
        answer.is_empty(),
        "over the cap: {}",
        String::from_utf8_lossy(&answer)
    );
}

#[tokio::test]
async fn graceful_shutdown_stops_accepting() {
    let srv = TestServer::start().await;
    let base = srv.base.clone();
    srv.anon().get("/health").await.expect(200);
    let (_dir, _config) = srv.stop().await;
    assert!(reqwest::get(format!("{base}/api/health")).await.is_err());
}
