//! Test harness: the real router on a real loopback socket, with a temporary
//! data dir, the `file` mail backend and a manual clock.
#![allow(dead_code)]

pub mod smtp;

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
    c.email.backend = afisha::config::EmailBackend::File;
    c.auth.argon2.memory_kib = 1024;
    c.auth.argon2.iterations = 1;
    // Tests burst up to a few hundred parallel requests from 127.0.0.1; the
    // per-address cap has its own test.
    c.server.max_connections_per_ip = c.server.max_connections;
    // The disk reserve for uploads has its own test; elsewhere the free
    // space of the machine running the tests must not matter.
    c.storage.min_free_bytes = 0;
    if on_postgres() {
        let url = new_pg_database();
        // The CLI run in the data dir (`afisha jobs …` in tests/jobs.rs)
        // reads ./afisha.toml, and so finds the same database.
        std::fs::write(
            dir.join("afisha.toml"),
            format!("[database]\nurl = \"{url}\"\n"),
        )
        .expect("write afisha.toml");
        c.database.url = Some(url);
    }
    c
}

/// Whether this run uses PostgreSQL (`AFISHA_TEST_DB=postgres`, set by
/// `scripts/test-postgres.sh` with `AFISHA_TEST_PG_URL`) instead of SQLite.
pub fn on_postgres() -> bool {
    std::env::var("AFISHA_TEST_DB").is_ok_and(|v| v == "postgres")
}

/// Creates an empty database `t_<random>` on the run's PostgreSQL cluster
/// and returns its URL.
pub fn new_pg_database() -> String {
    let admin = std::env::var("AFISHA_TEST_PG_URL")
        .expect("AFISHA_TEST_DB=postgres needs AFISHA_TEST_PG_URL: run scripts/test-postgres.sh");
    let name = format!("t_{}", uuid::Uuid::new_v4().simple());
    let mut url = url::Url::parse(&admin).expect("AFISHA_TEST_PG_URL is a URL");
    url.set_path(&name);
    // The blocking client runs a runtime of its own: not on a tokio thread.
    std::thread::spawn(move || {
        let mut client = postgres::Client::connect(&admin, postgres::NoTls)
            .expect("connect to the test PostgreSQL cluster");
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create a test database");
    })
    .join()
    .expect("create database thread");
    url.to_string()
}

/// The environment that points a spawned `afisha` at this run's backend for
/// the data dir `dir`: nothing on SQLite (the file in the data dir); on
/// PostgreSQL `AFISHA_DATABASE__URL` of a database made for `dir` on first
/// use (remembered in the dir, so every command over it shares it).
pub fn backend_env(dir: &std::path::Path) -> Vec<(String, String)> {
    if !on_postgres() {
        return Vec::new();
    }
    let remembered = dir.join(".test-database-url");
    let url = match std::fs::read_to_string(&remembered) {
        Ok(url) => url,
        Err(_) => {
            let url = new_pg_database();
            std::fs::create_dir_all(dir).expect("data dir");
            std::fs::write(&remembered, &url).expect("remember the database");
            url
        }
    };
    vec![("AFISHA_DATABASE__URL".into(), url)]
}

/// On PostgreSQL, says why a test that checks something SQLite-specific
/// (the file, WAL, `integrity_check`, file backups) does not run, and
/// returns `true`; the caller returns.
pub fn sqlite_only(test: &str, why: &str) -> bool {
    if on_postgres() {
        eprintln!("SKIPPED on PostgreSQL {test}: {why}");
    }
    on_postgres()
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
        if config.server.public_url.is_none() {
            config.server.public_url = Some(format!("http://{addr}"));
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

    /// Runs a query that returns one integer against the server's database
    /// (SQL as [`sql_rows`] takes it).
    pub async fn query_i64(&self, sql: &'static str, params: Vec<Value>) -> i64 {
        let rows = sql_rows(&self.state.svc.store, sql, params).await;
        rows[0][0].as_i64().expect("an integer")
    }

    /// [`sql_rows`] on this server's database.
    pub async fn sql_rows(&self, sql: &str, params: Vec<Value>) -> Vec<Vec<Value>> {
        sql_rows(&self.state.svc.store, sql, params).await
    }

    /// [`sql_exec`] on this server's database.
    pub async fn sql_exec(&self, sql: &str, params: Vec<Value>) -> u64 {
        sql_exec_all(&self.state.svc.store, vec![(sql.to_string(), params)]).await
    }

    /// Runs statements (as [`sql_rows`] takes them) in one transaction, so
    /// that the server's background work sees all of them or none.
    pub async fn sql_exec_all(&self, statements: Vec<(String, Vec<Value>)>) -> u64 {
        sql_exec_all(&self.state.svc.store, statements).await
    }
}

/// Runs one statement against either backend and returns its rows as JSON
/// values (integers and 0/1 for booleans, text, null), for tests that look
/// at or set up rows the API does not show. The SQL is written once for
/// both: `?1`-style parameters and the table `user` unquoted; on PostgreSQL
/// they become `$1` and `"user"`. Parameters are JSON numbers, strings or
/// null.
pub async fn sql_rows(
    store: &afisha::store::Store,
    sql: &str,
    params: Vec<Value>,
) -> Vec<Vec<Value>> {
    let sql = sql.to_string();
    if let Some(db) = store.postgres() {
        let sql = pg_dialect(&sql);
        return db
            .raw(move |c| {
                let params: Vec<PgParam> = params.into_iter().map(PgParam).collect();
                let refs: Vec<&(dyn postgres::types::ToSql + Sync)> = params
                    .iter()
                    .map(|p| p as &(dyn postgres::types::ToSql + Sync))
                    .collect();
                let rows = c.query(&sql, &refs).map_err(|e| {
                    afisha::domain::error::DomainError::internal(format!(
                        "{}: {sql}",
                        afisha::store::postgres::describe(&e)
                    ))
                })?;
                Ok(rows.iter().map(pg_row).collect())
            })
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    store
        .sqlite()
        .expect("a store")
        .read(move |w| {
            let mut stmt = w.prepare(&sql)?;
            let columns = stmt.column_count();
            let rows = stmt
                .query_map(rusqlite::params_from_iter(sqlite_params(params)), |r| {
                    (0..columns)
                        .map(|i| {
                            Ok(match r.get_ref(i)? {
                                rusqlite::types::ValueRef::Null => Value::Null,
                                rusqlite::types::ValueRef::Integer(n) => json!(n),
                                rusqlite::types::ValueRef::Real(f) => json!(f),
                                rusqlite::types::ValueRef::Text(t) => {
                                    json!(String::from_utf8_lossy(t))
                                }
                                rusqlite::types::ValueRef::Blob(b) => json!(hex_of(b)),
                            })
                        })
                        .collect::<rusqlite::Result<Vec<Value>>>()
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Runs statements that return no rows (SQL as [`sql_rows`] takes it) in
/// one transaction; returns how many rows they changed.
pub async fn sql_exec_all(
    store: &afisha::store::Store,
    statements: Vec<(String, Vec<Value>)>,
) -> u64 {
    if let Some(db) = store.postgres() {
        return db
            .raw(move |c| {
                let mut tx = c.transaction()?;
                let mut changed = 0;
                for (sql, params) in statements {
                    let sql = pg_dialect(&sql);
                    let params: Vec<PgParam> = params.into_iter().map(PgParam).collect();
                    let refs: Vec<&(dyn postgres::types::ToSql + Sync)> = params
                        .iter()
                        .map(|p| p as &(dyn postgres::types::ToSql + Sync))
                        .collect();
                    changed += tx.execute(&sql, &refs).map_err(|e| {
                        afisha::domain::error::DomainError::internal(format!(
                            "{}: {sql}",
                            afisha::store::postgres::describe(&e)
                        ))
                    })?;
                }
                tx.commit()?;
                Ok(changed)
            })
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    store
        .sqlite()
        .expect("a store")
        .write(move |w| {
            let mut changed = 0;
            for (sql, params) in statements {
                changed +=
                    w.execute(&sql, rusqlite::params_from_iter(sqlite_params(params)))? as u64;
            }
            Ok(changed)
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn sqlite_params(params: Vec<Value>) -> Vec<rusqlite::types::Value> {
    params
        .into_iter()
        .map(|v| match v {
            Value::Null => rusqlite::types::Value::Null,
            Value::Bool(b) => rusqlite::types::Value::Integer(b as i64),
            Value::Number(n) => match n.as_i64() {
                Some(i) => rusqlite::types::Value::Integer(i),
                None => rusqlite::types::Value::Real(n.as_f64().unwrap_or_default()),
            },
            Value::String(s) => rusqlite::types::Value::Text(s),
            other => rusqlite::types::Value::Text(other.to_string()),
        })
        .collect()
}

/// `?N` parameters become `$N`; the table `user` (a reserved word in
/// PostgreSQL) is quoted after FROM, JOIN, INTO and UPDATE.
pub fn pg_dialect(sql: &str) -> String {
    let sql = &pg_json_extract(sql);
    let mut out = String::with_capacity(sql.len() + 8);
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '?' && chars.peek().is_some_and(|d| d.is_ascii_digit()) {
            out.push('$');
        } else {
            out.push(c);
        }
    }
    let mut quoted = String::with_capacity(out.len());
    let words: Vec<&str> = out.split_inclusive(|c: char| c.is_whitespace()).collect();
    let mut previous = "";
    for word in words {
        let bare = word.trim_end();
        let rest = &word[bare.len()..];
        let keyword = matches!(
            previous.to_ascii_uppercase().as_str(),
            "FROM" | "JOIN" | "INTO" | "UPDATE"
        );
        if keyword && (bare == "user" || bare.starts_with("user(") || bare.starts_with("user,")) {
            quoted.push_str(&bare.replacen("user", "\"user\"", 1));
            quoted.push_str(rest);
        } else {
            quoted.push_str(word);
        }
        if !bare.is_empty() {
            previous = bare;
        }
    }
    quoted
}

/// `json_extract(x, '$.a.b')` becomes `(x::jsonb #>> '{a,b}')` (as text).
fn pg_json_extract(sql: &str) -> String {
    let mut out = String::new();
    let mut rest = sql;
    while let Some(at) = rest.find("json_extract(") {
        out.push_str(&rest[..at]);
        let after = &rest[at + "json_extract(".len()..];
        let comma = after.find(", '$.").expect("json_extract(x, '$.path')");
        let column = &after[..comma];
        let path_start = comma + ", '$.".len();
        let path_len = after[path_start..].find("')").expect("a closed path");
        let path = after[path_start..path_start + path_len].replace('.', ",");
        out.push_str(&format!("({column}::jsonb #>> '{{{path}}}')"));
        rest = &after[path_start + path_len + 2..];
    }
    out.push_str(rest);
    out
}

/// A JSON parameter bound as whatever type PostgreSQL expects there.
#[derive(Debug)]
struct PgParam(Value);

impl postgres::types::ToSql for PgParam {
    fn to_sql(
        &self,
        ty: &postgres::types::Type,
        out: &mut bytes::BytesMut,
    ) -> Result<postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        use postgres::types::Type;
        match &self.0 {
            Value::Null => Ok(postgres::types::IsNull::Yes),
            Value::Bool(b) if *ty == Type::BOOL => b.to_sql(ty, out),
            Value::Bool(b) => (*b as i64).to_sql(ty, out),
            Value::Number(n) if *ty == Type::BOOL => (n.as_i64() != Some(0)).to_sql(ty, out),
            Value::Number(n) if *ty == Type::INT4 => {
                (n.as_i64().unwrap_or_default() as i32).to_sql(ty, out)
            }
            Value::Number(n) if *ty == Type::FLOAT8 => {
                n.as_f64().unwrap_or_default().to_sql(ty, out)
            }
            Value::Number(n) if *ty == Type::TEXT => n.to_string().to_sql(ty, out),
            Value::Number(n) => n.as_i64().unwrap_or_default().to_sql(ty, out),
            Value::String(s) => s.as_str().to_sql(ty, out),
            other => other.to_string().to_sql(ty, out),
        }
    }

    fn accepts(_: &postgres::types::Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

fn pg_row(r: &postgres::Row) -> Vec<Value> {
    use postgres::types::Type;
    (0..r.len())
        .map(|i| {
            let ty = r.columns()[i].type_().clone();
            let value = if ty == Type::INT8 {
                r.get::<_, Option<i64>>(i).map(|n| json!(n))
            } else if ty == Type::INT4 {
                r.get::<_, Option<i32>>(i).map(|n| json!(n))
            } else if ty == Type::INT2 {
                r.get::<_, Option<i16>>(i).map(|n| json!(n))
            } else if ty == Type::BOOL {
                r.get::<_, Option<bool>>(i).map(|b| json!(b as i64))
            } else if ty == Type::FLOAT8 {
                r.get::<_, Option<f64>>(i).map(|f| json!(f))
            } else {
                r.get::<_, Option<String>>(i).map(|s| json!(s))
            };
            value.unwrap_or(Value::Null)
        })
        .collect()
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// A parsed `.eml` written by the `file` backend (headers decoded enough for
/// assertions; bodies as the decoded text of each part), read with the
/// `mail-parser` crate.
#[derive(Debug, Clone)]
pub struct Mail {
    pub raw: String,
    /// `Name <address>` of each recipient, comma-separated.
    pub to: String,
    pub subject: String,
}

fn parse_message(raw: &str) -> mail_parser::Message<'_> {
    mail_parser::MessageParser::default()
        .parse(raw.as_bytes())
        .unwrap_or_else(|| panic!("not an email message:\n{raw}"))
}

impl Mail {
    pub fn parse(raw: String) -> Mail {
        let message = parse_message(&raw);
        let to = message
            .to()
            .map(|list| {
                list.iter()
                    .map(|a| match (a.name(), a.address()) {
                        (Some(name), Some(address)) => format!("{name} <{address}>"),
                        (None, Some(address)) => address.to_string(),
                        (Some(name), None) => name.to_string(),
                        (None, None) => String::new(),
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        let subject = message.subject().unwrap_or_default().to_string();
        Mail { raw, to, subject }
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

    /// Decoded text of all parts, in order (transfer encodings and charsets
    /// handled by the parser).
    pub fn text(&self) -> String {
        let message = parse_message(&self.raw);
        let mut out = String::new();
        for part in &message.parts {
            if let Some(text) = part.text_contents() {
                out.push_str(text);
                out.push('\n');
            }
        }
        out
    }
}

/// Decodes RFC 2047 encoded words (`=?utf-8?b?…?=` / `?q?`) in a header
/// value, as the parser reads an unstructured header.
pub fn decode_words(s: &str) -> String {
    let one = format!("Subject: {s}\r\n\r\n");
    parse_message(&one)
        .subject()
        .unwrap_or_default()
        .to_string()
}

/// Skips a test whose outside tool is missing on a developer box: says so
/// on stderr. CI sets `AFISHA_REQUIRE_ALL=1`, and there a missing tool fails
/// the test instead, so nothing is skipped silently.
#[track_caller]
pub fn skip_or_fail(test: &str, missing: &str) {
    let required = std::env::var("AFISHA_REQUIRE_ALL").is_ok_and(|v| !v.is_empty() && v != "0");
    if required {
        panic!("{test}: {missing} (AFISHA_REQUIRE_ALL is set, so this cannot be skipped)");
    }
    eprintln!("SKIPPED {test}: {missing}");
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
    /// Asserts `{"detail": message, "code": …}` with the status; returns
    /// the code. An unknown route's and a wrong method's bodies are exactly
    /// `{"detail": message}` (API.md).
    #[track_caller]
    pub fn expect_detail(&self, status: u16, message: &str) -> String {
        assert_eq!(self.status, status, "body: {}", self.text());
        let body = self.json();
        if matches!(message, "Not Found" | "Method Not Allowed") {
            assert_eq!(body, json!({ "detail": message }));
            return String::new();
        }
        assert_eq!(body["detail"], json!(message), "body: {body}");
        let code = body["code"].as_str().expect("a code").to_string();
        assert_eq!(body.as_object().map(|o| o.len()), Some(2), "body: {body}");
        code
    }
    /// Asserts the status and the error body's `code`.
    #[track_caller]
    pub fn expect_code(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "body: {}", self.text());
        assert_eq!(self.json()["code"], json!(code), "body: {}", self.text());
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

/// A helper program the tests run (moto, litestream): `$env_var` (set by
/// `make test`), the venv of `scripts/install-test-deps.sh`, or `PATH`
/// (where `name probe` must succeed). `None` when there is none: the tests
/// of `what` are then skipped, see [`skip_or_fail`].
pub fn test_tool(
    env_var: &str,
    name: &str,
    probe: &str,
    what: &str,
    install: &str,
) -> Option<std::path::PathBuf> {
    use std::path::PathBuf;
    use std::process::{Command, Stdio};
    if let Some(p) = std::env::var_os(env_var).filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        assert!(
            p.is_file(),
            "{env_var}={} does not exist. {install}",
            p.display()
        );
        return Some(p);
    }
    let venv = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/test-deps/venv/bin")
        .join(name);
    if venv.is_file() {
        return Some(venv);
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| {
                p.is_file()
                    && Command::new(p)
                        .arg(probe)
                        .stdout(Stdio::null())
                        .stderr(Stdio::null())
                        .status()
                        .is_ok_and(|s| s.success())
            })
    });
    if on_path.is_none() {
        skip_or_fail(
            what,
            &format!(
                "{name} was not found on PATH, in ${env_var} or in target/test-deps/venv. {install}"
            ),
        );
    }
    on_path
}

/// How many EVENT_REMINDER notifications `user` has.
pub async fn count_reminders(user: &Client) -> usize {
    let list = user
        .get("/notifications/instant?include_acked=true&limit=200")
        .await
        .expect(200);
    list.as_array()
        .unwrap()
        .iter()
        .filter(|n| n["type"] == "EVENT_REMINDER")
        .count()
}

/// Runs the reminder scan until `user` has `n` reminders (the scheduler
/// may be scanning at the same moment: on PostgreSQL a scan skips rows
/// another is reminding, so the count is awaited, bounded), then once more
/// to check no further one comes.
pub async fn expect_reminders(srv: &TestServer, user: &Client, n: usize, why: &str) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        afisha::service::reminders::scan(&srv.state.svc)
            .await
            .unwrap();
        let got = count_reminders(user).await;
        assert!(got <= n, "{why}: {got} reminders, expected {n}");
        if got == n {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{why}: {got} reminders, expected {n}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    afisha::service::reminders::scan(&srv.state.svc)
        .await
        .unwrap();
    assert_eq!(count_reminders(user).await, n, "{why}: once");
}
