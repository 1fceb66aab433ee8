//! API.md "Files": `POST /api/files` and `GET /media/<key>`, on the `fs`
//! backend and on a real S3-compatible server (moto) started on loopback.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use afisha::config::Config;
use common::*;
use reqwest::multipart::{Form, Part};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const MIB: usize = 1024 * 1024;

// ------------------------------------------------------------------ samples

fn unique() -> [u8; 16] {
    *uuid::Uuid::new_v4().as_bytes()
}

fn png() -> Vec<u8> {
    let mut v = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0".to_vec();
    v.extend_from_slice(&unique());
    v
}

fn jpeg() -> Vec<u8> {
    let mut v = b"\xFF\xD8\xFF\xE0\0\x10JFIF\0\x01\x01\0\0\x01\0\x01\0\0".to_vec();
    v.extend_from_slice(&unique());
    v.extend_from_slice(b"\xFF\xD9");
    v
}

fn gif() -> Vec<u8> {
    let mut v = b"GIF89a\x01\0\x01\0\x80\0\0".to_vec();
    v.extend_from_slice(&unique());
    v.push(b';');
    v
}

fn webp() -> Vec<u8> {
    let mut body = b"WEBPVP8L\x11\0\0\0\x2f\0\0\0".to_vec();
    body.extend_from_slice(&unique());
    let mut v = b"RIFF".to_vec();
    v.extend_from_slice(&(body.len() as u32).to_le_bytes());
    v.extend_from_slice(&body);
    v
}

/// One sample of each accepted type with its extension and content type.
fn samples() -> [(Vec<u8>, &'static str, &'static str); 4] {
    [
        (png(), "png", "image/png"),
        (jpeg(), "jpg", "image/jpeg"),
        (gif(), "gif", "image/gif"),
        (webp(), "webp", "image/webp"),
    ]
}

/// A PNG header padded with zeros to `len` bytes.
fn png_of(len: usize) -> Vec<u8> {
    let mut v = png();
    v.resize(len, 0);
    v
}

const SVG: &[u8] = b"<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"1\" height=\"1\"><script>alert(1)</script></svg>\n";

// ------------------------------------------------------------------ helpers

async fn upload_field(c: &Client, field: &str, name: &str, mime: &str, data: Vec<u8>) -> Resp {
    let part = Part::bytes(data)
        .file_name(name.to_string())
        .mime_str(mime)
        .expect("mime");
    let form = Form::new()
        .text("note", "ignored")
        .part(field.to_string(), part);
    c.send(c.http.post(format!("{}/api/files", c.base)).multipart(form))
        .await
}

async fn upload(c: &Client, data: Vec<u8>) -> Resp {
    upload_field(c, "file", "cover.png", "image/png", data).await
}

/// Uploads and returns the URL, checking its shape: `<base>/events/<uuid-v4>.<ext>`.
async fn upload_ok(c: &Client, data: Vec<u8>, base: &str, ext: &str) -> String {
    let body = upload(c, data).await.expect(201);
    let url = body["url"].as_str().expect("url").to_string();
    let rest = url
        .strip_prefix(&format!("{base}/events/"))
        .unwrap_or_else(|| panic!("{url} is not under {base}/events/"));
    let (id, got_ext) = rest.split_once('.').expect("extension");
    let id = uuid::Uuid::parse_str(id).expect("uuid");
    assert_eq!(id.get_version_num(), 4, "{url}");
    assert_eq!(got_ext, ext, "{url}");
    url
}

/// Uploads `data` (always claiming to be `cover.png`, `image/png`: the bytes
/// decide) and fetches it back from the returned URL.
async fn round_trip(c: &Client, data: &[u8], base: &str, ext: &str, mime: &str) -> (String, Resp) {
    let url = upload_ok(c, data.to_vec(), base, ext).await;
    let r = get(&url, &[]).await;
    assert_eq!(r.status, 200, "{url}: {}", r.text());
    assert_eq!(r.bytes, data, "{url}");
    assert_eq!(r.header("content-type").as_deref(), Some(mime), "{url}");
    (url, r)
}

async fn get(url: &str, headers: &[(&str, &str)]) -> Resp {
    let mut req = reqwest::Client::new().get(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let r = req.send().await.expect("request");
    Resp {
        status: r.status().as_u16(),
        headers: r.headers().clone(),
        bytes: r.bytes().await.expect("body").to_vec(),
    }
}

/// Sends a request line exactly as written (no client-side normalisation of
/// `..` or `%2e%2e`) and returns the status code.
async fn raw_status(base: &str, target: &str) -> u16 {
    let addr = base.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let req = format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.expect("write");
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.expect("read");
    let text = String::from_utf8_lossy(&out);
    text.split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status line for {target}: {text}"))
}

/// Every file under `dir` (recursively), as paths relative to it.
fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}

fn media_files(srv: &TestServer) -> Vec<String> {
    files_under(&srv.state.config.media_root())
}

// ------------------------------------------------------------------ fs backend

#[tokio::test]
async fn fs_round_trip_types_come_from_the_bytes() {
    let srv = TestServer::start().await;
    let user = srv.user().await;
    let base = format!("{}/media", srv.base);
    for (data, ext, mime) in samples() {
        let (url, r) = round_trip(&user, &data, &base, ext, mime).await;
        assert_eq!(
            r.header("x-content-type-options").as_deref(),
            Some("nosniff")
        );
        assert_eq!(
            r.header("cache-control").as_deref(),
            Some("public, max-age=31536000, immutable")
        );
        assert!(r.header("last-modified").is_some());
        let etag = r.header("etag").expect("etag");

        let again = get(&url, &[("if-none-match", &etag)]).await;
        assert_eq!(again.status, 304);
        assert!(again.bytes.is_empty());
        assert_eq!(again.header("etag"), Some(etag.clone()));
        let weak = format!("\"other\", W/{etag}");
        assert_eq!(get(&url, &[("if-none-match", &weak)]).await.status, 304);
        let other = get(&url, &[("if-none-match", "\"something-else\"")]).await;
        assert_eq!(other.status, 200);
        assert_eq!(other.bytes, data);
    }
    // Two uploads of the same bytes get two keys.
    let same = png();
    let a = upload_ok(&user, same.clone(), &base, "png").await;
    let b = upload_ok(&user, same, &base, "png").await;
    assert_ne!(a, b);
    // Stored under events/ only; no staging leftovers, no write-check file.
    let files = media_files(&srv);
    assert_eq!(files.len(), 6, "{files:?}");
    assert!(files.iter().all(|f| f.starts_with("events/")), "{files:?}");
}

#[tokio::test]
async fn upload_requires_login_and_an_image() {
    let srv = TestServer::start().await;
    srv.anon()
        .send(
            srv.anon()
                .http
                .post(format!("{}/api/files", srv.base))
                .multipart(Form::new().part("file", Part::bytes(png()).file_name("cover.png"))),
        )
        .await
        .expect_detail(401, "Invalid login session");

    let user = srv.user().await;
    upload(&user, b"this is plain text, not an image at all\n".to_vec())
        .await
        .expect_detail(415, "Unsupported file type");
    upload_field(&user, "file", "cover.svg", "image/svg+xml", SVG.to_vec())
        .await
        .expect_detail(415, "Unsupported file type");
    upload(&user, Vec::new())
        .await
        .expect_detail(415, "Unsupported file type");
    // A WAV is RIFF too, but not WebP.
    upload(&user, b"RIFF\x24\0\0\0WAVEfmt \x10\0\0\0".to_vec())
        .await
        .expect_detail(415, "Unsupported file type");

    // No `file` field, or no multipart body at all: 422 at body.file.
    upload_field(&user, "image", "cover.png", "image/png", png())
        .await
        .expect_422(&["body", "file"]);
    user.post("/files", json!({"file": "cover.png"}))
        .await
        .expect_422(&["body", "file"]);
    // A multipart body that breaks off inside the file part.
    let broken = b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n\r\n\x89PNG\r\n\x1a\n".to_vec();
    let r = user
        .post_raw("/files", "multipart/form-data; boundary=XyZ", broken)
        .await;
    assert_eq!(r.status, 400, "{}", r.text());

    assert!(media_files(&srv).is_empty(), "{:?}", media_files(&srv));
}

#[tokio::test]
async fn configured_upload_limit_is_exact() {
    let srv = TestServer::with(|c| c.storage.max_upload_bytes = 4096).await;
    let user = srv.user().await;
    let base = format!("{}/media", srv.base);
    upload_ok(&user, png_of(4096), &base, "png").await;
    upload(&user, png_of(4097))
        .await
        .expect_detail(413, "File too large");
    // Far over the limit: refused while streaming, not after buffering.
    upload(&user, png_of(3 * MIB))
        .await
        .expect_detail(413, "File too large");
    assert_eq!(media_files(&srv).len(), 1);
}

#[tokio::test]
async fn default_limit_is_ten_mib_not_the_json_body_limit() {
    let srv = TestServer::start().await;
    assert_eq!(srv.state.config.server.max_body_bytes, MIB);
    let user = srv.user().await;
    let base = format!("{}/media", srv.base);
    // Over the general 1 MiB body limit, under the upload limit.
    let big = png_of(3 * MIB);
    let url = upload_ok(&user, big.clone(), &base, "png").await;
    assert_eq!(get(&url, &[]).await.bytes.len(), big.len());
    upload(&user, png_of(11 * MIB))
        .await
        .expect_detail(413, "File too large");
    assert_eq!(media_files(&srv).len(), 1);
}

#[tokio::test]
async fn media_serves_only_stored_keys() {
    let srv = TestServer::start().await;
    let user = srv.user().await;
    let base = format!("{}/media", srv.base);
    let url = upload_ok(&user, png(), &base, "png").await;
    let key = url.strip_prefix(&format!("{base}/")).unwrap().to_string();
    let id = key
        .trim_start_matches("events/")
        .trim_end_matches(".png")
        .to_string();
    assert_eq!(raw_status(&srv.base, &format!("/media/{key}")).await, 200);
    // A file next to the key that is not an image key is never served.
    std::fs::write(srv.state.config.media_root().join("events/notes.txt"), "x").unwrap();
    for target in [
        "/media/../afisha.db".to_string(),
        "/media/%2e%2e/afisha.db".into(),
        "/media/%2E%2E/%2E%2E/etc/passwd".into(),
        "/media/events/..%2fafisha.db".into(),
        "/media/events/..%2f..%2fafisha.db".into(),
        "/media/events/%2e%2e%2f%2e%2e%2fafisha.db".into(),
        "/media//etc/passwd".into(),
        "/media/%2fetc%2fpasswd".into(),
        "/media/events%5c..%5c..%5cafisha.db".into(),
        "/media/events\\..\\afisha.db".into(),
        "/media/events/notes.txt".into(),
        "/media/afisha.db".into(),
        format!("/media/events/{}.png", uuid::Uuid::new_v4()),
        format!("/media/events/{id}.jpg"),
        format!("/media/events/{}.png", id.to_uppercase()),
        format!("/media/events/{id}.png/"),
        format!("/media/events/./{id}.png"),
        format!("/media/events/x/../{id}.png"),
        format!("/media/./events/{id}.png"),
        "/media/.staging".into(),
        "/media/".into(),
    ] {
        assert_eq!(raw_status(&srv.base, &target).await, 404, "{target}");
    }
    let r = get(&format!("{base}/events/{}.png", uuid::Uuid::new_v4()), &[]).await;
    r.expect_detail(404, "Not Found");
}

#[tokio::test]
async fn fs_root_that_cannot_be_a_directory_stops_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let mut config = test_config(dir.path());
    config.storage.root = Some(file.join("media"));
    let err = build_error(config).await;
    assert!(err.starts_with("storage: "), "{err}");
    assert!(err.contains("storage.root"), "{err}");
}

// ------------------------------------------------------------------ S3 backend

const BUCKET: &str = "afisha-images";

/// `moto_server` on a free loopback port, killed on drop.
struct Moto {
    child: Child,
    url: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `None` when moto is not installed (the test is then skipped, see
/// `skip_or_fail`).
fn moto_binary() -> Option<PathBuf> {
    common::test_tool(
        "MOTO_SERVER",
        "moto_server",
        "--help",
        "S3 storage tests",
        "Install it with: scripts/install-test-deps.sh   (or: pip install 'moto[server]')",
    )
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start_moto() -> Option<Moto> {
    let bin = moto_binary()?;
    let port = free_port();
    let child = Command::new(&bin)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
    let moto = Moto {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    // Wait (bounded) for the server to answer.
    let http = reqwest::Client::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        if http.get(&moto.url).send().await.is_ok() {
            return Some(moto);
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "moto_server did not answer on {}",
            moto.url
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

impl Moto {
    async fn create_bucket(&self, bucket: &str) {
        let r = reqwest::Client::new()
            .put(format!("{}/{bucket}", self.url))
            .send()
            .await
            .expect("create bucket");
        assert!(r.status().is_success(), "create bucket: {}", r.status());
        // Image URLs are fetched anonymously, as a browser would: the bucket
        // must be publicly readable (as the README asks of a deployment).
        let policy = json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": format!("arn:aws:s3:::{bucket}/*"),
            }],
        });
        let r = reqwest::Client::new()
            .put(format!("{}/{bucket}?policy", self.url))
            .json(&policy)
            .send()
            .await
            .expect("bucket policy");
        assert!(r.status().is_success(), "bucket policy: {}", r.status());
    }

    async fn keys(&self, bucket: &str) -> Vec<String> {
        let xml = reqwest::Client::new()
            .get(format!("{}/{bucket}?list-type=2", self.url))
            .send()
            .await
            .expect("list")
            .text()
            .await
            .expect("list body");
        xml.split("<Key>")
            .skip(1)
            .filter_map(|s| s.split("</Key>").next())
            .map(String::from)
            .collect()
    }
}

fn s3_config(config: &mut Config, endpoint: &str) {
    config.storage.backend = afisha::config::StorageBackend::S3;
    config.storage.s3.bucket = Some(BUCKET.into());
    config.storage.s3.region = "us-east-1".into();
    config.storage.s3.endpoint = Some(endpoint.into());
    // Explicit keys: the credential chain never looks further (no metadata
    // service lookups from tests).
    config.storage.s3.access_key_id = Some("testing".into());
    config.storage.s3.secret_access_key = Some("testing".into());
}

async fn build_error(config: Config) -> String {
    config.validate().expect("valid config");
    match afisha::app::build(config, afisha::clock::ManualClock::new(chrono::Utc::now())).await {
        Ok(_) => panic!("build accepted a broken storage configuration"),
        Err(e) => {
            let text = format!("{e:#}");
            assert!(!text.contains('\n'), "not one line: {text}");
            text
        }
    }
}

/// A TCP relay in front of moto that can be cut off, to play "S3 went away"
/// while the real server keeps its objects for inspection.
struct Relay {
    addr: SocketAddr,
    tasks: Arc<Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl Relay {
    async fn start(upstream: &str) -> Relay {
        let upstream = upstream.trim_start_matches("http://").to_string();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let tasks: Arc<Mutex<Vec<tokio::task::AbortHandle>>> = Arc::default();
        let registry = tasks.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let upstream = upstream.clone();
                let conn = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                registry.lock().unwrap().push(conn.abort_handle());
            }
        });
        tasks.lock().unwrap().push(accept.abort_handle());
        Relay { addr, tasks }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Closes the listener and every open connection: new connections are
    /// refused from now on.
    fn stop(&self) {
        for t in self.tasks.lock().unwrap().drain(..) {
            t.abort();
        }
    }
}

#[tokio::test]
async fn s3_round_trip_start_up_checks_and_outage() {
    let Some(moto) = start_moto().await else {
        return;
    };

    // No bucket yet: start-up fails and says why.
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path());
    s3_config(&mut config, &moto.url);
    let err = build_error(config).await;
    assert!(err.starts_with("storage: "), "{err}");
    assert!(err.contains("does not exist"), "{err}");

    moto.create_bucket(BUCKET).await;
    let relay = Relay::start(&moto.url).await;
    let srv = TestServer::with(|c| s3_config(c, &relay.url())).await;
    let user = srv.user().await;
    let base = format!("{}/{BUCKET}", relay.url());
    let mut stored = Vec::new();
    for (data, ext, mime) in samples() {
        let (url, _) = round_trip(&user, &data, &base, ext, mime).await;
        stored.push(url.strip_prefix(&format!("{base}/")).unwrap().to_string());
        // The fs route does not serve S3 objects.
        assert_eq!(
            raw_status(&srv.base, &format!("/media/{}", stored.last().unwrap())).await,
            404
        );
    }
    // 3 MiB through the API into the bucket.
    let big = png_of(3 * MIB);
    let url = upload_ok(&user, big.clone(), &base, "png").await;
    assert_eq!(get(&url, &[]).await.bytes, big);
    stored.push(url.strip_prefix(&format!("{base}/")).unwrap().to_string());
    stored.sort();
    assert_eq!(moto.keys(BUCKET).await, stored);
    assert!(
        files_under(dir.path())
            .iter()
            .all(|f| !f.contains("events")),
        "nothing on local disk"
    );

    // S3 goes away after start-up: 503, and nothing new is stored.
    relay.stop();
    let r = upload(&user, png()).await;
    r.expect_detail(503, "Service temporarily unavailable, try later");
    assert!(r.header("retry-after").is_some());
    assert_eq!(moto.keys(BUCKET).await, stored);

    // public_base_url replaces <endpoint>/<bucket> in the URLs.
    let cdn = TestServer::with(|c| {
        s3_config(c, &moto.url);
        c.storage.s3.public_base_url = Some("https://cdn.example.com/img/".into());
    })
    .await;
    let u = cdn.user().await;
    let url = upload_ok(&u, gif(), "https://cdn.example.com/img", "gif").await;
    let key = url.strip_prefix("https://cdn.example.com/img/").unwrap();
    assert_eq!(
        get(&format!("{}/{BUCKET}/{key}", moto.url), &[])
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn s3_endpoint_refusing_connections_stops_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path());
    s3_config(&mut config, &format!("http://127.0.0.1:{}", free_port()));
    let err = build_error(config).await;
    assert!(err.starts_with("storage: "), "{err}");
    assert!(err.contains("cannot be reached"), "{err}");
}

#[tokio::test]
async fn the_binary_exits_non_zero_with_one_line_on_broken_storage() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("afisha.toml");
    std::fs::write(
        &file,
        format!(
            "data_dir = {data:?}\n[server]\nbind = \"127.0.0.1:0\"\n[storage]\nbackend = \"s3\"\n\
             [storage.s3]\nbucket = \"{BUCKET}\"\nendpoint = \"http://127.0.0.1:{port}\"\n\
             access_key_id = \"testing\"\nsecret_access_key = \"testing\"\n",
            data = dir.path().join("data").display().to_string(),
            port = free_port(),
        ),
    )
    .unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_afisha"))
        .arg("--config")
        .arg(&file)
        .arg("serve")
        .stdin(Stdio::null())
        .output()
        .await
        .expect("run afisha");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].starts_with("afisha: storage: S3"), "{stderr}");
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

// ------------------------------------------------------------------ quota, rate, orphans, reserve (issue 14: 4)

async fn upload_rows(srv: &TestServer) -> i64 {
    srv.query_i64("SELECT count(*) FROM upload", vec![]).await
}

#[tokio::test]
async fn a_users_upload_quota_is_enforced_with_413_and_nothing_stored() {
    let srv = TestServer::with(|c| c.storage.user_quota_bytes = 10_000).await;
    assert_eq!(
        afisha::config::Config::default().storage.user_quota_bytes,
        50 * MIB as u64
    );
    let user = srv.user().await;
    let other = srv.user().await;
    let base = format!("{}/media", srv.base);
    upload_ok(&user, png_of(6000), &base, "png").await;
    let refused = upload(&user, png_of(5000)).await;
    let body = refused.expect(413);
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.starts_with("Upload quota exceeded"), "{detail}");
    assert_eq!(media_files(&srv).len(), 1, "nothing of the refused upload");
    assert_eq!(upload_rows(&srv).await, 1);
    // Exactly up to the quota is fine; the quota is per user.
    upload_ok(&user, png_of(4000), &base, "png").await;
    upload_ok(&other, png_of(9000), &base, "png").await;
    upload(&user, png_of(100)).await.expect(413);

    // Parallel uploads cannot pass the quota together.
    let racer = srv.user().await;
    let results = futures_util::future::join_all(
        (0..8)
            .map(|_| upload(&racer, png_of(3000)))
            .collect::<Vec<_>>(),
    )
    .await;
    let ok = results.iter().filter(|r| r.status == 201).count();
    assert_eq!(
        ok,
        3,
        "{:?}",
        results.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert!(results.iter().all(|r| r.status == 201 || r.status == 413));
}

#[tokio::test]
async fn uploads_per_hour_are_limited_with_429_and_retry_after() {
    let srv = TestServer::with(|c| c.storage.uploads_per_hour = 3).await;
    let user = srv.user().await;
    let base = format!("{}/media", srv.base);
    for _ in 0..3 {
        upload_ok(&user, png(), &base, "png").await;
        srv.clock.advance(chrono::Duration::minutes(1));
    }
    let refused = upload(&user, png()).await;
    let body = refused.expect(429);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .starts_with("Too many uploads"),
        "{body}"
    );
    let retry: i64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!((3400..=3420).contains(&retry), "{retry}");
    assert_eq!(media_files(&srv).len(), 3);
    srv.clock.advance(chrono::Duration::minutes(58));
    upload_ok(&user, png(), &base, "png").await;
}

#[tokio::test]
async fn unreferenced_uploads_are_deleted_by_the_clean_up_after_the_grace_period() {
    let srv = TestServer::start().await;
    assert_eq!(srv.state.config.storage.orphan_grace_hours, 24);
    let user = srv.user().await;
    let base = format!("{}/media", srv.base);
    let used = upload_ok(&user, png(), &base, "png").await;
    let unused = upload_ok(&user, png(), &base, "png").await;
    let now = srv.now();
    let image = used.clone();
    srv.sql_exec(
        "INSERT INTO event (name, name_fold, description, starts_at, ends_at, image_url, location,
                            max_participants_count, created_at)
         VALUES ('E', 'e', 'D', ?1, ?2, ?3, 'L', 10, ?1)",
        vec![
            now.micros().into(),
            (now.0 + chrono::Duration::hours(2))
                .timestamp_micros()
                .into(),
            image.into(),
        ],
    )
    .await;
    let key = |url: &str| url.rsplit_once("/media/").unwrap().1.to_string();
    let (used_key, unused_key) = (key(&used), key(&unused));
    assert_eq!(media_files(&srv), {
        let mut v = vec![used_key.clone(), unused_key.clone()];
        v.sort();
        v
    });

    // Within the grace period the clean-up keeps both.
    srv.clock.advance(chrono::Duration::hours(23));
    wait_until("the clean-up at 23 h", || async {
        srv.query_i64("SELECT count(*) FROM upload", vec![]).await == 2
    })
    .await;
    assert_eq!(media_files(&srv).len(), 2);

    // After it, the unreferenced one goes; the referenced one stays.
    srv.clock.advance(chrono::Duration::hours(2));
    wait_until("the orphan to be deleted", || async {
        media_files(&srv) == [used_key.clone()]
    })
    .await;
    assert_eq!(upload_rows(&srv).await, 1);
    assert_eq!(get(&used, &[]).await.status, 200);
    assert_eq!(
        raw_status(&srv.base, &format!("/media/{unused_key}")).await,
        404
    );

    // An image stored before uploads were counted (no row) is adopted by
    // the next clean-up and deleted a grace period later.
    let legacy = format!("events/{}.png", uuid::Uuid::new_v4());
    std::fs::write(srv.state.config.media_root().join(&legacy), png()).unwrap();
    srv.clock.advance(chrono::Duration::hours(1));
    wait_until("the legacy image to be adopted", || async {
        upload_rows(&srv).await == 2
    })
    .await;
    assert!(media_files(&srv).contains(&legacy));
    srv.clock.advance(chrono::Duration::hours(25));
    wait_until("the legacy image to be deleted", || async {
        media_files(&srv) == [used_key.clone()]
    })
    .await;
}

async fn wait_until<F: std::future::Future<Output = bool>>(what: &str, probe: impl Fn() -> F) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !probe().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn an_upload_that_would_eat_the_databases_reserve_is_refused() {
    assert_eq!(
        afisha::config::Config::default().storage.min_free_bytes,
        256 * MIB as u64
    );
    // A reserve larger than any disk: every upload to the data dir's
    // filesystem is refused.
    let srv = TestServer::with(|c| c.storage.min_free_bytes = u64::MAX / 2).await;
    let user = srv.user().await;
    let refused = upload(&user, png()).await;
    let body = refused.expect(507);
    assert!(
        body["detail"].as_str().unwrap().contains("free disk space"),
        "{body}"
    );
    assert!(media_files(&srv).is_empty());
    assert_eq!(upload_rows(&srv).await, 0);
    // The database itself still takes writes.
    srv.user().await;
}

/// `afisha storage copy`: images uploaded on `fs` end up in the bucket with
/// the same keys and bytes; a second run copies nothing; a server switched
/// to S3 then serves the covers events already point at.
#[tokio::test]
async fn storage_copy_moves_fs_images_into_s3() {
    let Some(moto) = start_moto().await else {
        return;
    };
    moto.create_bucket(BUCKET).await;
    let on_fs = TestServer::start().await;
    let user = on_fs.user().await;
    let fs_base = format!("{}/media", on_fs.base);
    let mut originals = Vec::new();
    for (data, ext, _) in samples() {
        let url = upload_ok(&user, data.clone(), &fs_base, ext).await;
        let key = url
            .strip_prefix(&format!("{fs_base}/"))
            .unwrap()
            .to_string();
        originals.push((key, data));
    }
    originals.sort();
    let data_dir = on_fs.state.config.data_dir.clone();

    let copy = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_afisha"))
            .args(["storage", "copy", "--data-dir"])
            .arg(&data_dir)
            .env("AFISHA_STORAGE__S3__BUCKET", BUCKET)
            .env("AFISHA_STORAGE__S3__ENDPOINT", &moto.url)
            .env("AFISHA_STORAGE__S3__REGION", "us-east-1")
            .env("AFISHA_STORAGE__S3__ACCESS_KEY_ID", "testing")
            .env("AFISHA_STORAGE__S3__SECRET_ACCESS_KEY", "testing")
            .output()
            .expect("run afisha storage copy")
    };
    let first = copy();
    let said = String::from_utf8_lossy(&first.stdout).to_string();
    assert!(
        first.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(said.contains("4 images in"), "{said}");
    assert!(said.contains("4 copied"), "{said}");
    let keys: Vec<String> = originals.iter().map(|(k, _)| k.clone()).collect();
    assert_eq!(moto.keys(BUCKET).await, keys);
    for (key, data) in &originals {
        let got = get(&format!("{}/{BUCKET}/{key}", moto.url), &[]).await;
        assert_eq!(&got.bytes, data, "{key}");
    }

    let again = copy();
    let said = String::from_utf8_lossy(&again.stdout).to_string();
    assert!(again.status.success(), "{said}");
    assert!(said.contains("0 copied"), "{said}");
    assert!(said.contains("4 already in the bucket"), "{said}");

    // Without a bucket it refuses in one line and copies nothing.
    let refused = std::process::Command::new(env!("CARGO_BIN_EXE_afisha"))
        .args(["storage", "copy", "--data-dir"])
        .arg(&data_dir)
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("storage.s3.bucket"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
}
