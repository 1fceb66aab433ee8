//! Issue 14, the HTTP edge: content types, Host checks, HSTS, control
//! characters, date bounds, HTTP/2 idle and per-address limits, and no
//! commit after a request's deadline — over real sockets.

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn addr(srv: &TestServer) -> String {
    srv.base.trim_start_matches("http://").to_string()
}

/// One raw HTTP/1.1 request; the whole answer as text.
async fn raw(srv: &TestServer, request: String) -> String {
    let mut s = TcpStream::connect(addr(srv)).await.unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out))
        .await
        .expect("answer")
        .unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn json_bodies_need_a_json_content_type() {
    let srv = TestServer::start().await;
    let user = srv.user().await;
    let email = format!("{}@example.com", uuid::Uuid::new_v4().simple());
    drop(user);
    srv.user_with(&email, "Target", false).await;
    let anon = srv.anon();
    let body = json!({"email": email, "role": "ADMINISTRATOR"}).to_string();
    // What a form on another site can send without a preflight.
    for ct in [
        "text/plain",
        "text/plain; charset=utf-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ] {
        anon.post_raw("/debug/change-role", ct, body.clone().into_bytes())
            .await
            .expect_detail(415, "Content-Type must be application/json");
    }
    let no_type = anon
        .send(
            reqwest::Client::new()
                .post(format!("{}/api/debug/change-role", srv.base))
                .body(body.clone()),
        )
        .await;
    no_type.expect_detail(415, "Content-Type must be application/json");
    let admins = "SELECT COUNT(*) FROM user WHERE email = ?1 AND role = 'ADMINISTRATOR'";
    assert_eq!(srv.query_i64(admins, vec![json!(email)]).await, 0);

    // An absent body keeps the contract's 422.
    anon.post_raw("/debug/change-role", "text/plain", Vec::new())
        .await
        .expect_422(&["body"]);
    // JSON with parameters or a +json suffix is fine.
    anon.post_raw(
        "/debug/change-role",
        "application/json; charset=utf-8",
        body.clone().into_bytes(),
    )
    .await
    .expect(204);
    anon.post_raw(
        "/debug/change-role",
        "Application/Merge-Patch+JSON",
        body.into_bytes(),
    )
    .await
    .expect(204);
    assert_eq!(srv.query_i64(admins, vec![json!(email)]).await, 1);
    // The 415 is documented wherever a JSON body is.
    let doc = anon.get("/openapi.json").await.expect(200);
    for (path, op) in [("/api/debug/change-role", "post"), ("/api/events", "post")] {
        assert!(
            doc["paths"][path][op]["responses"]["415"].is_object(),
            "{op} {path}"
        );
    }
}

#[tokio::test]
async fn debug_server_answers_only_its_own_host_names() {
    let srv = TestServer::start().await;
    let port = addr(&srv).rsplit_once(':').unwrap().1.to_string();
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        "LOCALHOST".to_string(),
    ] {
        let answer = raw(
            &srv,
            format!("GET /api/health HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"),
        )
        .await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{host}: {answer}");
    }
    // A rebound name pointing at loopback.
    for host in [format!("evil.example:{port}"), "attacker.test".to_string()] {
        let answer = raw(
            &srv,
            format!(
                "POST /api/debug/change-role HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
            ),
        )
        .await;
        assert!(answer.starts_with("HTTP/1.1 421"), "{host}: {answer}");
    }
    let srv = TestServer::with(|c| c.server.debug = false).await;
    let answer = raw(
        &srv,
        "GET /api/health HTTP/1.1\r\nHost: afisha.example.com\r\nConnection: close\r\n\r\n".into(),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test]
async fn hsts_only_when_the_public_url_is_https() {
    let plain = TestServer::start().await;
    let r = plain.anon().get("/health").await;
    assert_eq!(r.header("strict-transport-security"), None);
    let tls =
        TestServer::with(|c| c.server.public_url = Some("https://afisha.example.com".into())).await;
    for path in ["/health", "/nope", "/"] {
        let r = tls.anon().get(path).await;
        assert_eq!(
            r.header("strict-transport-security").as_deref(),
            Some("max-age=31536000"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn single_line_fields_reject_control_characters() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let event = |extra: serde_json::Value| {
        let mut b = json!({
            "name": "Event",
            "description": "Line one\nline two\r\n",
            "starts_at": at(&srv, 48),
            "ends_at": at(&srv, 50),
            "image_url": "https://example.com/e.png",
        });
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    for bad in [
        "a\nb",
        "a\r\nb",
        "a\u{2028}b",
        "a\u{2029}b",
        "a\u{0}b",
        "a\u{85}b",
        "a\tb",
        "a\u{7f}b",
    ] {
        for field in ["name", "location", "short_description", "payment_info"] {
            admin
                .post("/events", event(json!({ field: bad })))
                .await
                .expect_422(&["body", field]);
        }
        srv.anon()
            .post(
                "/register",
                json!({"email": "new@example.com", "password": PASSWORD, "full_name": format!("Eve{bad}Bcc: x@y.z")}),
            )
            .await
            .expect_422(&["body", "full_name"]);
        srv.anon()
            .post(
                "/register",
                json!({"email": format!("a{bad}b@example.com"), "password": PASSWORD, "full_name": "Eve"}),
            )
            .await
            .expect_422(&["body", "email"]);
    }
    // Multi-line description is fine; surrounding line breaks of a name are trimmed.
    let ev = admin
        .post(
            "/events",
            event(json!({"name": "\r\nTrimmed\n", "location": "Room 1"})),
        )
        .await
        .expect(201);
    assert_eq!(ev["name"], "Trimmed");
    assert_eq!(ev["description"], "Line one\nline two\r\n");
}

#[tokio::test]
async fn timestamps_are_bounded_and_leap_seconds_are_the_next_second() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let event = |starts: &str, ends: &str| {
        json!({
            "name": format!("Event {}", uuid::Uuid::new_v4().simple()),
            "description": "d",
            "starts_at": starts,
            "ends_at": ends,
            "image_url": "https://example.com/e.png",
        })
    };
    for far in [
        "10000-01-01T00:00:00Z",
        // In range as written, year 10000 in UTC.
        "9999-12-31T23:00:00-05:00",
        "9999-12-31T23:59:60Z",
    ] {
        let errors = admin
            .post("/events", event(&at(&srv, 1), far))
            .await
            .expect_422(&["body", "ends_at"]);
        // (Five-digit years do not parse at all.)
        if far != "10000-01-01T00:00:00Z" {
            let msg = errors[0]["msg"].as_str().unwrap();
            assert!(msg.contains("between 1970 and 9999"), "{errors:?}");
        }
    }
    admin
        .post("/events", event("1970-01-01T00:00:00+03:00", &at(&srv, 1)))
        .await
        .expect_422(&["body", "starts_at"]);
    // The last representable year still works end to end.
    admin
        .post(
            "/events",
            event("9999-12-31T10:00:00Z", "9999-12-31T23:59:59Z"),
        )
        .await
        .expect(201);
    admin.get("/statistics").await.expect(200);
    admin.get("/events").await.expect(200);

    // A leap second is read as the next second.
    let ev = admin
        .post(
            "/events",
            event("2030-06-30T23:59:60Z", "2030-07-01T02:00:00Z"),
        )
        .await
        .expect(201);
    assert_eq!(ev["starts_at"], "2030-07-01T00:00:00.000000Z");
    // ... so ending at that same instant is the ordinary rule, not a 500.
    let r = admin
        .post(
            "/events",
            event("2030-06-30T23:59:60Z", "2030-07-01T00:00:00Z"),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    admin.get("/statistics").await.expect(200);
}

/// An HTTP/2 (prior knowledge) client connection to `srv`, from `source`.
async fn h2_connect(
    srv: &TestServer,
    source: &str,
) -> Option<(
    h2::client::SendRequest<bytes::Bytes>,
    tokio::task::JoinHandle<Result<(), h2::Error>>,
)> {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(format!("{source}:0").parse().unwrap()).unwrap();
    let tcp = socket.connect(addr(srv).parse().unwrap()).await.ok()?;
    let (client, conn) = h2::client::handshake(tcp).await.ok()?;
    Some((client, tokio::spawn(conn)))
}

/// GET /api/health over `client`; the status, or `None` if the connection
/// is unusable.
async fn h2_health(
    srv: &TestServer,
    client: &mut h2::client::SendRequest<bytes::Bytes>,
) -> Option<u16> {
    let req = http::Request::get(format!("{}/api/health", srv.base))
        .body(())
        .unwrap();
    let fut = async {
        let mut ready = client.clone().ready().await.ok()?;
        let (response, _) = ready.send_request(req, true).ok()?;
        let response = response.await.ok()?;
        let status = response.status().as_u16();
        let mut body = response.into_body();
        while let Some(chunk) = body.data().await {
            let chunk = chunk.ok()?;
            let _ = body.flow_control().release_capacity(chunk.len());
        }
        Some(status)
    };
    tokio::time::timeout(Duration::from_secs(10), fut)
        .await
        .ok()
        .flatten()
}

#[tokio::test]
async fn idle_http2_connections_are_closed() {
    let srv = TestServer::with(|c| c.server.header_read_timeout_secs = 1).await;
    let (mut client, conn) = h2_connect(&srv, "127.0.0.1").await.expect("h2");
    assert_eq!(h2_health(&srv, &mut client).await, Some(200));
    // The client answers PINGs and keeps its handle; the server still
    // closes the connection once it has been idle for the timeout.
    let started = std::time::Instant::now();
    tokio::time::timeout(Duration::from_secs(10), conn)
        .await
        .expect("the server must close an idle HTTP/2 connection")
        .unwrap()
        .ok();
    assert!(started.elapsed() < Duration::from_secs(5));

    // A connection that never sends a request is closed as well.
    let (_client, conn) = h2_connect(&srv, "127.0.0.1").await.expect("h2");
    tokio::time::timeout(Duration::from_secs(10), conn)
        .await
        .expect("the server must close a silent HTTP/2 connection")
        .unwrap()
        .ok();
}

#[tokio::test]
async fn one_address_cannot_take_every_connection() {
    let srv = TestServer::with(|c| {
        c.server.max_connections = 8;
        c.server.max_connections_per_ip = 3;
        c.server.header_read_timeout_secs = 60;
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..3 {
        let (mut client, conn) = h2_connect(&srv, "127.0.0.1").await.expect("h2");
        assert_eq!(h2_health(&srv, &mut client).await, Some(200));
        held.push((client, conn));
    }
    // The fourth from the same address is refused...
    let fourth = match h2_connect(&srv, "127.0.0.1").await {
        None => None,
        Some((mut client, _conn)) => h2_health(&srv, &mut client).await,
    };
    assert_eq!(
        fourth, None,
        "a fourth connection from one address was served"
    );
    // ...while another address is served.
    let (mut other, _conn) = h2_connect(&srv, "127.0.0.2")
        .await
        .expect("h2 from 127.0.0.2");
    assert_eq!(h2_health(&srv, &mut other).await, Some(200));
    // A closed connection frees its slot.
    let (client, conn) = held.pop().unwrap();
    drop(client);
    conn.abort();
    let _ = conn.await;
    let mut served = None;
    for _ in 0..50 {
        if let Some((mut c, _conn)) = h2_connect(&srv, "127.0.0.1").await {
            served = h2_health(&srv, &mut c).await;
            if served.is_some() {
                break;
            }
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(served, Some(200));
}

#[tokio::test]
async fn a_write_past_the_request_deadline_does_not_commit() {
    let srv = TestServer::with(|c| c.server.request_timeout_secs = 1).await;
    let email = format!("{}@example.com", uuid::Uuid::new_v4().simple());
    let target = srv.user_with(&email, "Target", false).await.user_id;
    // Hold the database's writer until the request has timed out (SQLite:
    // any write holds the single writer; PostgreSQL: the row lock of a
    // write to the same user).
    let (release, held) = std::sync::mpsc::channel::<()>();
    let (locked, is_locked) = std::sync::mpsc::channel::<()>();
    let store = srv.state.svc.store.clone();
    let holder = std::thread::spawn(move || {
        store
            .write_blocking(|tx| {
                tx.set_user_role(target, afisha::domain::user::Role::User)?;
                locked.send(()).unwrap();
                held.recv().unwrap();
                Ok(())
            })
            .unwrap();
    });
    is_locked.recv().unwrap();
    srv.anon()
        .post(
            "/debug/change-role",
            json!({"email": email, "role": "ADMINISTRATOR"}),
        )
        .await
        .expect_detail(503, "Request timed out");
    release.send(()).unwrap();
    holder.join().unwrap();
    // Wait until the abandoned write has finished (its connection is back).
    let store = srv.state.svc.store.clone();
    // (Polls a condition with a deadline: on a loaded machine the
    // abandoned write's thread may not run for a while.)
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while store.pool_state().0 != 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert_eq!(store.pool_state().0, 0, "write still running");
    let admins = "SELECT COUNT(*) FROM user WHERE email = ?1 AND role = 'ADMINISTRATOR'";
    assert_eq!(srv.query_i64(admins, vec![json!(email)]).await, 0);
}

/// The real binary with a permissive umask, as a shell would start it.
fn afisha() -> std::process::Command {
    use std::os::unix::process::CommandExt;
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_afisha"));
    // SAFETY: umask is async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            libc::umask(0o022);
            Ok(())
        });
    }
    cmd
}

fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn data_files_are_private_to_the_owner() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let run = |args: &[&str]| {
        let out = afisha()
            .args(args)
            .arg("--data-dir")
            .arg(&data)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&["migrate"]);
    let copy = root.path().join("copy.db");
    run(&["backup", copy.to_str().unwrap()]);
    assert_eq!(mode(&data), 0o700, "data dir");
    let mut files = 0;
    for entry in std::fs::read_dir(&data).unwrap() {
        let path = entry.unwrap().path();
        let expected = if path.is_dir() { 0o700 } else { 0o600 };
        assert_eq!(mode(&path), expected, "{}", path.display());
        files += 1;
    }
    assert!(data.join("afisha.db").exists() && files >= 1);
    assert_eq!(mode(&copy), 0o600, "backup");
}
