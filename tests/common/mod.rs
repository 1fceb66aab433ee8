//! Test harness: the real router on a real loopback socket, with a temporary
//! data dir, the `file` mail backend and a manual clock.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use afisha::clock::ManualClock;
use afisha::config::Config;
use afisha::domain::time::Ts;
use afisha::state::AppState;
use chrono::Utc;
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

pub const PASSWORD: &str = "correct-horse-battery";

pub struct TestServer {
    pub base: String,
    pub clock: Arc<ManualClock>,
    pub state: AppState,
    pub dir: tempfile::TempDir,
    shutdown: CancellationToken,
    handle: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

/// A configuration for tests: temp data dir, file mail, cheap Argon2, debug.
pub fn test_config(dir: &std::path::Path) -> Config {
    let mut c = Config {
        data_dir: dir.to_path_buf(),
        ..Config::default()
    };
    c.server.bind = "127.0.0.1:0".into();
    c.server.debug = true;
    c.email.backend = "file".into();
    c.auth.argon2.memory_kib = 1024;
    c.auth.argon2.iterations = 1;
    // Tests burst up to a few hundred parallel requests from 127.0.0.1; the
    // per-address cap has its own test.
    c.server.max_connections_per_ip = c.server.max_connections;
    // The disk reserve for uploads has its own test; elsewhere the free
    // space of the machine running the tests must not matter.
    c.storage.min_free_bytes = 0;
    c
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::with(|_| {}).await
    }

    pub async fn with(adjust: impl FnOnce(&mut Config)) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = test_config(dir.path());
        adjust(&mut config);
        Self::start_in(dir, config).await
    }

    /// Starts a server over an existing data dir (restart tests).
    pub async fn start_in(dir: tempfile::TempDir, mut config: Config) -> TestServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        config.server.bind = addr.to_string();
        if config.server.public_url.is_empty() {
            config.server.public_url = format!("http://{addr}");
        }
        config.validate().expect("valid test config");
        let clock = ManualClock::new(Utc::now());
        let state = afisha::app::build(config, clock.clone())
            .await
            .expect("build app");
        let shutdown = CancellationToken::new();
        let handle = tokio::spawn(afisha::app::serve(
            state.clone(),
            listener,
            shutdown.clone(),
        ));
        TestServer {
            base: format!("http://{addr}"),
            clock,
            state,
            dir,
            shutdown,
            handle: Some(handle),
        }
    }

    /// Stops the server gracefully and hands back its data dir.
    pub async fn stop(mut self) -> (tempfile::TempDir, Config) {
        self.shutdown.cancel();
        if let Some(h) = self.handle.take() {
            h.await.expect("server task").expect("server result");
        }
        let config = (*self.state.config).clone();
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().expect("temp"));
        (dir, config)
    }

    pub fn anon(&self) -> Client {
        Client::new(&self.base)
    }

    pub fn now(&self) -> Ts {
        self.state.now()
    }

    /// Creates a user (no email) and returns a logged-in client.
    pub async fn user_with(&self, email: &str, name: &str, admin: bool) -> Client {
        let svc = &self.state.svc;
        let role = if admin {
            afisha::domain::user::Role::Administrator
        } else {
            afisha::domain::user::Role::User
        };
        let user = afisha::service::accounts::create_user(
            svc,
            email.to_string(),
            name.to_string(),
            PASSWORD.into(),
            role,
        )
        .await
        .expect("create user");
        let session = afisha::service::accounts::start_session(svc, user.id, Some("tests".into()))
            .await
            .expect("session");
        let mut c = Client::new(&self.base);
        c.user_id = user.id;
        c.auth(&session.uid.to_string(), &session.token);
        c
    }

    pub async fn user(&self) -> Client {
        let tag = uuid::Uuid::new_v4().simple().to_string();
        self.user_with(
            &format!("user-{tag}@example.com"),
            &format!("User {}", &tag[..6]),
            false,
        )
        .await
    }

    pub async fn admin(&self) -> Client {
        let tag = uuid::Uuid::new_v4().simple().to_string();
        self.user_with(
            &format!("admin-{tag}@example.com"),
            &format!("Admin {}", &tag[..6]),
            true,
        )
        .await
    }

    pub fn mail_dir(&self) -> PathBuf {
        self.state.config.mail_dir()
    }

    /// Every message the `file` backend has written so far.
    pub fn mails(&self) -> Vec<Mail> {
        let Ok(entries) = std::fs::read_dir(self.mail_dir()) else {
            return Vec::new();
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        files.sort();
        files
            .into_iter()
            .filter_map(|p| std::fs::read_to_string(&p).ok())
            .map(Mail::parse)
            .collect()
    }

    /// Waits (bounded) until a message to `to` matching `pred` arrives — the
    /// scheduler delivers asynchronously; this waits for that event, it does
    /// not wait for time to pass.
    pub async fn wait_mail(&self, to: &str, pred: impl Fn(&Mail) -> bool) -> Mail {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(m) = self
                .mails()
                .into_iter()
                .find(|m| m.to.to_lowercase().contains(&to.to_lowercase()) && pred(m))
            {
                return m;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no mail to {to} arrived; have: {:?}",
                self.mails()
                    .iter()
                    .map(|m| (&m.to, &m.subject))
                    .collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Runs a read against the server's database.
    pub async fn query_i64(&self, sql: &'static str, params: Vec<Value>) -> i64 {
        self.state
            .svc
            .store
            .sqlite()
            .read(move |c| {
                let params: Vec<Box<dyn rusqlite::ToSql>> = params
                    .into_iter()
                    .map(|v| -> Box<dyn rusqlite::ToSql> {
                        match v {
                            Value::Number(n) => Box::new(n.as_i64().unwrap_or_default()),
                            Value::String(s) => Box::new(s),
                            other => Box::new(other.to_string()),
                        }
                    })
                    .collect();
                Ok(c.query_row(sql, rusqlite::params_from_iter(params.iter()), |r| r.get(0))?)
            })
            .await
            .expect("query")
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// A parsed `.eml` written by the `file` backend (headers decoded enough for
/// assertions; bodies as the decoded text of each part).
#[derive(Debug, Clone)]
pub struct Mail {
    pub raw: String,
    pub to: String,
    pub subject: String,
}

impl Mail {
    pub fn parse(raw: String) -> Mail {
        let header = |name: &str| {
            let mut value = String::new();
            let mut inside = false;
            for line in raw.lines() {
                if line.is_empty() {
                    break;
                }
                if inside && (line.starts_with(' ') || line.starts_with('\t')) {
                    value.push_str(line.trim_start());
                    continue;
                }
                inside = line
                    .to_ascii_lowercase()
                    .starts_with(&format!("{}:", name.to_ascii_lowercase()));
                if inside {
                    value = line[name.len() + 1..].trim().to_string();
                }
            }
            value
        };
        Mail {
            to: header("To"),
            subject: decode_words(&header("Subject")),
            raw,
        }
    }

    /// The first 6-digit number in the plain-text part (a verification
    /// code; the HTML part has colours like #111827).
    pub fn code(&self) -> Option<u32> {
        let all = self.text();
        let lower = all.to_ascii_lowercase();
        let end = ["<!doctype", "<html"]
            .iter()
            .filter_map(|m| lower.find(m))
            .min()
            .unwrap_or(all.len());
        let text = &all[..end];
        let bytes = text.as_bytes();
        (0..bytes.len().saturating_sub(5)).find_map(|i| {
            let w = &bytes[i..i + 6];
            let before = i == 0 || !bytes[i - 1].is_ascii_digit();
            let after = bytes.get(i + 6).is_none_or(|b| !b.is_ascii_digit());
            (before && after && w.iter().all(u8::is_ascii_digit))
                .then(|| std::str::from_utf8(w).ok()?.parse().ok())
                .flatten()
        })
    }

    /// Decoded text of all parts (quoted-printable and base64 handled).
    pub fn text(&self) -> String {
        let mut out = String::new();
        let mut encoding = String::new();
        let mut body = String::new();
        let mut in_headers = true;
        let flush = |encoding: &str, body: &str, out: &mut String| {
            out.push_str(&decode_body(encoding, body));
            out.push('\n');
        };
        for line in self.raw.lines() {
            if line.starts_with("--") {
                flush(&encoding, &body, &mut out);
                body.clear();
                encoding.clear();
                in_headers = true;
                continue;
            }
            if in_headers {
                if line.is_empty() {
                    in_headers = false;
                } else if let Some(v) = line
                    .to_ascii_lowercase()
                    .strip_prefix("content-transfer-encoding:")
                {
                    encoding = v.trim().to_string();
                }
                continue;
            }
            body.push_str(line);
            body.push('\n');
        }
        flush(&encoding, &body, &mut out);
        out
    }
}

fn decode_body(encoding: &str, body: &str) -> String {
    match encoding {
        "base64" => {
            let joined: String = body.split_whitespace().collect();
            String::from_utf8_lossy(&b64(&joined)).into_owned()
        }
        "quoted-printable" => {
            let mut bytes = Vec::new();
            let src = body.replace("=\r\n", "").replace("=\n", "");
            let b = src.as_bytes();
            let mut i = 0;
            while i < b.len() {
                if b[i] == b'='
                    && let Some(hex) = b.get(i + 1..i + 3)
                    && let Ok(v) = u8::from_str_radix(std::str::from_utf8(hex).unwrap_or("zz"), 16)
                {
                    bytes.push(v);
                    i += 3;
                    continue;
                }
                bytes.push(b[i]);
                i += 1;
            }
            String::from_utf8_lossy(&bytes).into_owned()
        }
        _ => body.to_string(),
    }
}

fn b64(s: &str) -> Vec<u8> {
    const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let mut buf = 0u32;
    let mut bits = 0;
    for c in s.bytes() {
        let Some(v) = T.iter().position(|&x| x == c) else {
            continue;
        };
        buf = (buf << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
        }
    }
    out
}

/// Decodes RFC 2047 encoded words (`=?utf-8?b?…?=` / `?q?`).
pub fn decode_words(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    let mut after_word = false;
    while let Some(start) = rest.find("=?") {
        let between = &rest[..start];
        // Whitespace between two encoded words is not part of the text.
        if !(after_word && between.trim().is_empty()) {
            out.push_str(between);
        }
        let tail = &rest[start + 2..];
        let parts: Vec<&str> = tail.splitn(3, '?').collect();
        if parts.len() < 3 {
            out.push_str(&rest[start..]);
            return out;
        }
        let Some(end) = parts[2].find("?=") else {
            out.push_str(&rest[start..]);
            return out;
        };
        let payload = &parts[2][..end];
        let decoded = match parts[1].to_ascii_lowercase().as_str() {
            "b" => String::from_utf8_lossy(&b64(payload)).into_owned(),
            _ => decode_body("quoted-printable", &payload.replace('_', " ")),
        };
        out.push_str(&decoded);
        rest = &parts[2][end + 2..];
        after_word = true;
    }
    out.push_str(rest);
    out
}

/// A small typed HTTP client that remembers its session headers.
#[derive(Clone)]
pub struct Client {
    pub http: reqwest::Client,
    pub base: String,
    pub headers: HeaderMap,
    pub user_id: i64,
}

pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub bytes: Vec<u8>,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap_or_else(|_| {
            panic!(
                "not JSON ({}): {}",
                self.status,
                String::from_utf8_lossy(&self.bytes)
            )
        })
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(String::from)
    }
    /// Asserts the status and returns the JSON body.
    #[track_caller]
    pub fn expect(&self, status: u16) -> Value {
        assert_eq!(self.status, status, "body: {}", self.text());
        if self.bytes.is_empty() {
            Value::Null
        } else {
            self.json()
        }
    }
    /// Asserts `{"detail": message}` with the status.
    #[track_caller]
    pub fn expect_detail(&self, status: u16, message: &str) {
        assert_eq!(self.status, status, "body: {}", self.text());
        assert_eq!(self.json(), json!({ "detail": message }));
    }
    /// Asserts a 422 with an entry at `loc` and returns the entries.
    #[track_caller]
    pub fn expect_422(&self, loc: &[&str]) -> Vec<Value> {
        assert_eq!(self.status, 422, "body: {}", self.text());
        let detail = self.json()["detail"]
            .as_array()
            .cloned()
            .expect("detail list");
        let want: Vec<Value> = loc.iter().map(|s| json!(s)).collect();
        assert!(
            detail.iter().any(|e| e["loc"].as_array() == Some(&want)),
            "no entry at {loc:?}: {detail:?}"
        );
        detail
    }
}

impl Client {
    pub fn new(base: &str) -> Client {
        Client {
            http: reqwest::Client::builder()
                .user_agent("afisha-tests/1")
                .build()
                .expect("client"),
            base: base.to_string(),
            headers: HeaderMap::new(),
            user_id: 0,
        }
    }

    pub fn auth(&mut self, uid: &str, token: &str) {
        self.headers.insert(
            "X-Login-Session-Uid",
            HeaderValue::from_str(uid).expect("uid"),
        );
        self.headers.insert(
            "X-Login-Session-Token",
            HeaderValue::from_str(token).expect("token"),
        );
    }

    pub fn uid(&self) -> String {
        self.headers["X-Login-Session-Uid"]
            .to_str()
            .unwrap()
            .to_string()
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_string()
        } else if path.starts_with("/media") || !path.starts_with('/') || path.starts_with("/api") {
            format!("{}{}", self.base, path)
        } else {
            format!("{}/api{}", self.base, path)
        }
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> Resp {
        let r = req
            .headers(self.headers.clone())
            .send()
            .await
            .expect("request");
        Resp {
            status: r.status().as_u16(),
            headers: r.headers().clone(),
            bytes: r.bytes().await.expect("body").to_vec(),
        }
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.send(self.http.get(self.url(path))).await
    }
    pub async fn delete(&self, path: &str) -> Resp {
        self.send(self.http.delete(self.url(path))).await
    }
    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.send(self.http.post(self.url(path)).json(&body)).await
    }
    pub async fn put(&self, path: &str, body: Value) -> Resp {
        self.send(self.http.put(self.url(path)).json(&body)).await
    }
    pub async fn post_raw(&self, path: &str, content_type: &str, body: Vec<u8>) -> Resp {
        self.send(
            self.http
                .post(self.url(path))
                .header("content-type", content_type)
                .body(body),
        )
        .await
    }
    pub async fn put_raw(&self, path: &str, content_type: &str, body: Vec<u8>) -> Resp {
        self.send(
            self.http
                .put(self.url(path))
                .header("content-type", content_type)
                .body(body),
        )
        .await
    }
}

/// An ISO timestamp `hours` from the server's clock.
pub fn at(srv: &TestServer, hours: i64) -> String {
    (srv.now().0 + chrono::Duration::hours(hours)).to_rfc3339()
}
