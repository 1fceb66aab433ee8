//! Outages with real parts: a full disk under the data dir.

mod common;

use std::process::{Child, Command, Stdio};

use common::*;
use serde_json::json;

/// The real binary in a private mount namespace whose data dir is a small
/// tmpfs (`unshare -rm`, no root needed where user namespaces are allowed).
fn serve_on_tiny_disk(port: u16, size: &str) -> Child {
    let script = format!(
        "set -e; d=$(mktemp -d); mount -t tmpfs -o size={size} tmpfs \"$d\"; exec \"$0\" serve --debug --bind 127.0.0.1:{port} --data-dir \"$d\""
    );
    Command::new("unshare")
        .args(["-rm", "sh", "-c", &script, env!("CARGO_BIN_EXE_afisha")])
        .env("AFISHA_EMAIL__BACKEND", "file")
        .env("AFISHA_AUTH__ARGON2__MEMORY_KIB", "1024")
        // No reserve, so that uploads can fill this small disk.
        .env("AFISHA_STORAGE__MIN_FREE_BYTES", "0")
        .env("AFISHA_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("unshare (util-linux) is needed for this test")
}

/// Whether `unshare -rm` works here (util-linux installed and user
/// namespaces allowed).
fn can_unshare() -> bool {
    Command::new("unshare")
        .args(["-rm", "true"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A PNG of roughly `n` bytes (a valid signature; the rest is padding the
/// server stores as is).
fn png_of(n: usize) -> Vec<u8> {
    let mut v = b"\x89PNG\r\n\x1a\n".to_vec();
    v.resize(n, 7);
    v
}

#[tokio::test]
async fn full_disk_makes_writes_503_and_reads_keep_working() {
    if !can_unshare() {
        skip_or_fail(
            "full_disk_makes_writes_503_and_reads_keep_working",
            "`unshare -rm` is unavailable (install util-linux; user namespaces must be allowed)",
        );
        return;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = serve_on_tiny_disk(port, "4m");
    let base = format!("http://127.0.0.1:{port}");
    let c = Client::new(&base);
    let mut up = false;
    for _ in 0..1000 {
        if reqwest::get(format!("{base}/api/health"))
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            up = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(up, "server on tmpfs did not start");

    let token = c
        .post(
            "/register",
            json!({"email": "disk@example.org", "password": PASSWORD, "full_name": "Disk"}),
        )
        .await
        .expect(201)["token"]
        .clone();
    let code = c
        .get("/debug/intercept-verification-code")
        .await
        .expect(200)["code"]
        .clone();
    c.post(
        "/register/verification",
        json!({"token": token, "code": code}),
    )
    .await
    .expect(201);
    let login = c
        .post(
            "/login",
            json!({"email": "disk@example.org", "password": PASSWORD}),
        )
        .await
        .expect(201);
    let mut me = c.clone();
    me.auth(
        login["login_session_uid"].as_str().unwrap(),
        login["login_session_token"].as_str().unwrap(),
    );

    // Fill the disk with uploads of shrinking size; every refusal is a
    // clean 503 and leaves nothing behind.
    let mut stored = Vec::new();
    let mut size = 1 << 20;
    while size >= 1024 {
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(png_of(size)).file_name("x.png"),
        );
        let r = me
            .send(me.http.post(format!("{base}/api/files")).multipart(form))
            .await;
        match r.status {
            201 => stored.push(r.json()["url"].as_str().unwrap().to_string()),
            503 => size /= 2,
            other => panic!("upload answered {other}: {}", r.text()),
        }
    }
    assert!(!stored.is_empty());

    // Database writes now fail cleanly (503 with Retry-After), never 500.
    let mut refused = false;
    for i in 0..200 {
        let r = c
            .post("/register", json!({"email": format!("more{i}@example.org"), "password": PASSWORD, "full_name": "M"}))
            .await;
        match r.status {
            201 | 429 => continue,
            503 => {
                assert!(r.header("retry-after").is_some());
                refused = true;
                break;
            }
            other => panic!("register on a full disk answered {other}: {}", r.text()),
        }
    }
    assert!(refused, "the disk never filled up");
    // Reads keep working: health, the session, stored images.
    c.get("/health").await.expect(200);
    me.get("/login").await.expect(200);
    for url in &stored {
        assert_eq!(c.get(url).await.status, 200, "{url}");
    }
    let _ = server.kill();
    let _ = server.wait();
}
