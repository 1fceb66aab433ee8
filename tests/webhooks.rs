//! Outgoing webhooks (issue 23): a real HTTP receiver on 127.0.0.1 checks
//! every request's signature with the shared secret; retries, timeouts,
//! disabling, the private-address refusal, rollback and `kill -9` are
//! driven through the real server (manual clock, no sleeps to pass time).

mod common;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode};
use chrono::Duration;
use common::smtp::eventually;
use common::*;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

/// How the receiver answers one request.
#[derive(Debug, Clone, Copy)]
enum Reply {
    Status(u16),
    /// Never answers (the sender's timeout ends the attempt).
    Hang,
}

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Got {
    delivery: String,
    timestamp: String,
    signature: String,
    body: String,
}

#[derive(Default)]
struct ReceiverState {
    plan: VecDeque<Reply>,
    /// The answer once the plan is used up.
    otherwise: Option<Reply>,
    got: Vec<Got>,
}

/// A small axum server that records each POST and answers as planned.
#[derive(Clone)]
struct Receiver {
    state: Arc<Mutex<ReceiverState>>,
    url: String,
}

impl Receiver {
    async fn start(plan: &[Reply], otherwise: Reply) -> Receiver {
        let state = Arc::new(Mutex::new(ReceiverState {
            plan: plan.iter().copied().collect(),
            otherwise: Some(otherwise),
            got: Vec::new(),
        }));
        let shared = state.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: String| {
                let state = shared.clone();
                async move {
                    let header = |n: &str| {
                        headers
                            .get(n)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_string()
                    };
                    let reply = {
                        let mut s = state.lock().unwrap();
                        s.got.push(Got {
                            delivery: header("afisha-delivery"),
                            timestamp: header("afisha-timestamp"),
                            signature: header("afisha-signature"),
                            body,
                        });
                        let otherwise = s.otherwise.unwrap_or(Reply::Status(200));
                        s.plan.pop_front().unwrap_or(otherwise)
                    };
                    match reply {
                        Reply::Status(code) => StatusCode::from_u16(code).unwrap(),
                        Reply::Hang => std::future::pending().await,
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        // Redirects (307 keeps the POST): to the same host, and to another
        // host name (`localhost`) of the same server.
        let redirect = |to: String| {
            move || {
                let to = to.clone();
                async move { (StatusCode::TEMPORARY_REDIRECT, [("location", to)]) }
            }
        };
        let app = app
            .route(
                "/same-host",
                axum::routing::post(redirect(format!("http://127.0.0.1:{port}/hook"))),
            )
            .route(
                "/other-host",
                axum::routing::post(redirect(format!("http://localhost:{port}/hook"))),
            );
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver {
            state,
            url: format!("http://127.0.0.1:{port}/hook"),
        }
    }

    fn got(&self) -> Vec<Got> {
        self.state.lock().unwrap().got.clone()
    }

    async fn wait(&self, n: usize) -> Vec<Got> {
        eventually(&format!("{n} request(s) at the receiver"), async || {
            let got = self.got();
            (got.len() >= n).then_some(got)
        })
        .await
    }
}

/// Checks a request's signature as a receiver would (README "Webhooks"),
/// with an HMAC implementation of its own.
fn verify(got: &Got, secret: &str) -> Value {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{}.{}", got.timestamp, got.body).as_bytes());
    let expected = format!("v1={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(got.signature, expected, "signature of {}", got.body);
    let body: Value = serde_json::from_str(&got.body).unwrap();
    assert_eq!(
        body["id"],
        json!(got.delivery),
        "the body's id is the delivery id"
    );
    body
}

fn allow_private(c: &mut afisha::config::Config) {
    c.webhooks.allow_private_networks = true;
}

async fn create_hook(admin: &Client, url: &str, types: &[&str]) -> (i64, String) {
    let r = admin
        .post("/admin/webhooks", json!({"url": url, "event_types": types}))
        .await
        .expect(201);
    let secret = r["secret"].as_str().unwrap().to_string();
    assert!(
        secret.starts_with("whsec_") && secret.len() > 40,
        "{secret}"
    );
    (r["id"].as_i64().unwrap(), secret)
}

async fn create_event(srv: &TestServer, admin: &Client, name: &str, max: Option<i64>) -> i64 {
    let mut body = json!({
        "name": name,
        "description": "Webhook test",
        "starts_at": at(srv, 48),
        "ends_at": at(srv, 50),
        "image_url": "https://example.com/e.png",
    });
    if let Some(max) = max {
        body["max_participants_count"] = json!(max);
    }
    admin.post("/events", body).await.expect(201)["id"]
        .as_i64()
        .unwrap()
}

async fn deliveries(admin: &Client, hook: i64) -> Vec<Value> {
    admin
        .get(&format!("/admin/webhooks/{hook}/deliveries"))
        .await
        .expect(200)
        .as_array()
        .unwrap()
        .clone()
}

#[derive(Debug)]
struct WebhookJob {
    attempts: i64,
    run_at: i64,
    idle: bool,
    done: bool,
    failed: bool,
}

/// The newest webhook job.
async fn webhook_job(srv: &TestServer) -> WebhookJob {
    let r = srv
        .sql_rows(
            "SELECT attempts, run_at, locked_by IS NULL, done_at IS NOT NULL, failed_at IS NOT NULL
             FROM job WHERE kind = 'webhook' ORDER BY id DESC LIMIT 1",
            vec![],
        )
        .await
        .remove(0);
    let flag = |v: &Value| v.as_i64() == Some(1) || v.as_bool() == Some(true);
    WebhookJob {
        attempts: r[0].as_i64().unwrap(),
        run_at: r[1].as_i64().unwrap(),
        idle: flag(&r[2]),
        done: flag(&r[3]),
        failed: flag(&r[4]),
    }
}

async fn wait_webhook_job(srv: &TestServer, pred: impl Fn(&WebhookJob) -> bool) -> WebhookJob {
    eventually("the webhook job to change", async || {
        let job = webhook_job(srv).await;
        pred(&job).then_some(job)
    })
    .await
}

#[tokio::test]
async fn changes_reach_the_receiver_signed_and_the_secret_is_shown_once() {
    let receiver = Receiver::start(&[], Reply::Status(200)).await;
    let srv = TestServer::with(allow_private).await;
    let admin = srv.admin().await;
    let (hook, secret) = create_hook(
        &admin,
        &receiver.url,
        &["event.created", "participation.joined", "user.created"],
    )
    .await;

    let eid = create_event(&srv, &admin, "Hooked", Some(5)).await;
    let user = srv.user().await;
    user.put(
        &format!("/events/{eid}/participants/me"),
        json!({"status": "PARTICIPATING"}),
    )
    .await
    .expect(204);

    let got = receiver.wait(3).await;
    let bodies: Vec<Value> = got.iter().map(|g| verify(g, &secret)).collect();
    let of = |t: &str| bodies.iter().find(|b| b["type"] == t).unwrap().clone();
    let created = of("event.created");
    assert_eq!(created["data"]["event"]["id"], json!(eid));
    assert_eq!(created["data"]["event"]["name"], "Hooked");
    assert_eq!(created["data"]["event"]["cancelled"], false);
    assert!(created["timestamp"].as_str().unwrap().ends_with('Z'));
    let joined = of("participation.joined");
    assert_eq!(joined["data"]["user"]["id"], json!(user.user_id));
    assert_eq!(joined["data"]["event"]["participants_count"], 1);
    assert_eq!(
        of("user.created")["data"]["user"]["id"],
        json!(user.user_id)
    );
    // The timestamp header is the server's (manual) clock.
    let ts: i64 = got[0].timestamp.parse().unwrap();
    assert!((ts - srv.now().0.timestamp()).abs() <= 1, "{ts}");

    // The log: each delivered at its first attempt.
    let log = eventually("three deliveries logged", async || {
        let log = deliveries(&admin, hook).await;
        (log.len() == 3 && log.iter().all(|d| d["status"] == "delivered")).then_some(log)
    })
    .await;
    for d in &log {
        assert_eq!(d["attempts"], 1);
        assert_eq!(d["response_code"], 200);
        assert_eq!(d["attempt_log"].as_array().unwrap().len(), 1);
    }

    // The secret is never shown again nor stored in the clear.
    let listed = admin.get("/admin/webhooks").await.expect(200);
    let one = admin
        .get(&format!("/admin/webhooks/{hook}"))
        .await
        .expect(200);
    for text in [listed.to_string(), one.to_string(), json!(log).to_string()] {
        assert!(!text.contains(&secret), "{text}");
    }
    let stored = srv
        .sql_rows("SELECT secret_sealed FROM webhook_endpoint", vec![])
        .await;
    assert!(!stored[0][0].as_str().unwrap().contains(&secret[6..]));
    let jobs = srv
        .sql_rows("SELECT payload FROM job WHERE kind = 'webhook'", vec![])
        .await;
    assert!(!format!("{jobs:?}").contains(&secret[6..]));

    // Rotating gives a new secret that signs from then on.
    let rotated = admin
        .post(&format!("/admin/webhooks/{hook}/rotate-secret"), json!({}))
        .await
        .expect(200)["secret"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(rotated, secret);
    admin
        .post(&format!("/admin/webhooks/{hook}/ping"), json!({}))
        .await
        .expect(202);
    let got = receiver.wait(4).await;
    let ping = verify(&got[3], &rotated);
    assert_eq!(ping["type"], "ping");
    assert_eq!(ping["data"]["webhook_id"], json!(hook));
}

#[tokio::test]
async fn endpoints_are_validated_and_only_for_administrators() {
    let srv = TestServer::with(allow_private).await;
    let admin = srv.admin().await;
    let user = srv.user().await;
    user.get("/admin/webhooks")
        .await
        .expect_detail(403, "Administrator role required");
    admin
        .post(
            "/admin/webhooks",
            json!({"url": "ftp://example.com/x", "event_types": ["event.created"]}),
        )
        .await
        .expect_422(&["body", "url"]);
    admin
        .post(
            "/admin/webhooks",
            json!({"url": "https://example.com/x", "event_types": ["event.exploded"]}),
        )
        .await
        .expect_422(&["body", "event_types"]);
    let (hook, _) = create_hook(&admin, "https://example.com/x", &["event.created"]).await;
    let r = admin
        .put(
            &format!("/admin/webhooks/{hook}"),
            json!({"enabled": false, "event_types": ["user.deleted", "event.cancelled"]}),
        )
        .await
        .expect(200);
    assert_eq!(r["enabled"], false);
    assert_eq!(r["event_types"], json!(["event.cancelled", "user.deleted"]));
    admin
        .post(&format!("/admin/webhooks/{hook}/ping"), json!({}))
        .await
        .expect_detail(400, "Webhook is disabled");
    admin
        .delete(&format!("/admin/webhooks/{hook}"))
        .await
        .expect(204);
    admin
        .get(&format!("/admin/webhooks/{hook}"))
        .await
        .expect_detail(404, "Webhook not found");
}

#[tokio::test]
async fn retries_after_a_500_and_a_timeout_then_succeeds_with_one_delivery_id() {
    let receiver = Receiver::start(&[Reply::Status(500), Reply::Hang], Reply::Status(200)).await;
    let srv = TestServer::with(|c| {
        allow_private(c);
        c.webhooks.timeout_secs = 1;
    })
    .await;
    let admin = srv.admin().await;
    let (hook, secret) = create_hook(&admin, &receiver.url, &["event.created"]).await;
    create_event(&srv, &admin, "Retried", None).await;

    for attempt in 1..=2 {
        let job = wait_webhook_job(&srv, |j| j.attempts == attempt && j.idle).await;
        assert!(!job.done && !job.failed, "{job:?}");
        assert!(
            job.run_at > srv.now().micros(),
            "a retry waits for its backoff"
        );
        srv.clock
            .set(afisha::domain::time::Ts::from_micros(job.run_at).0);
    }
    wait_webhook_job(&srv, |j| j.done).await;

    let got = receiver.wait(3).await;
    assert_eq!(got.len(), 3);
    for g in &got {
        verify(g, &secret);
        assert_eq!(g.delivery, got[0].delivery, "the same idempotency id");
        assert_eq!(g.body, got[0].body, "the same body");
    }
    let log = deliveries(&admin, hook).await;
    assert_eq!(log.len(), 1);
    let d = &log[0];
    assert_eq!(d["id"], json!(got[0].delivery));
    assert_eq!(d["status"], "delivered");
    assert_eq!(d["attempts"], 3);
    let attempts = d["attempt_log"].as_array().unwrap();
    assert_eq!(attempts.len(), 3);
    assert_eq!(attempts[0]["response_code"], 500);
    assert_eq!(attempts[0]["success"], false);
    assert_eq!(attempts[0]["error"], "HTTP 500");
    assert_eq!(attempts[1]["response_code"], Value::Null);
    assert!(
        attempts[1]["error"].as_str().unwrap().contains("timed out"),
        "{}",
        attempts[1]
    );
    assert!(attempts[1]["duration_ms"].as_i64().unwrap() >= 1000);
    assert_eq!(attempts[2]["response_code"], 200);
    assert_eq!(attempts[2]["success"], true);

    // Resend: the same id and body once more, as a new job.
    admin
        .post(
            &format!(
                "/admin/webhooks/{hook}/deliveries/{}/resend",
                got[0].delivery
            ),
            json!({}),
        )
        .await
        .expect(202);
    let got = receiver.wait(4).await;
    assert_eq!(got[3].delivery, got[0].delivery);
    assert_eq!(got[3].body, got[0].body);
    verify(&got[3], &secret);
}

#[tokio::test]
async fn an_endpoint_failing_for_a_day_is_disabled_and_administrators_are_told() {
    let receiver = Receiver::start(&[], Reply::Status(503)).await;
    let srv = TestServer::with(allow_private).await;
    let admin = srv.admin().await;
    let other_admin = srv.admin().await;
    let (hook, _) = create_hook(&admin, &receiver.url, &["event.created"]).await;
    create_event(&srv, &admin, "Failing", None).await;

    let job = wait_webhook_job(&srv, |j| j.attempts == 1 && j.idle).await;
    let state = admin
        .get(&format!("/admin/webhooks/{hook}"))
        .await
        .expect(200);
    assert_eq!(state["enabled"], true);
    assert!(state["failing_since"].is_string(), "{state}");
    // A day and an hour later the retry fails again: disabled.
    srv.clock.advance(Duration::hours(25));
    assert!(job.run_at <= srv.now().micros());
    let job = wait_webhook_job(&srv, |j| j.attempts == 2 && (j.failed || j.done)).await;
    assert!(job.failed, "{job:?}");
    let state = admin
        .get(&format!("/admin/webhooks/{hook}"))
        .await
        .expect(200);
    assert_eq!(state["enabled"], false, "{state}");
    assert!(state["disabled_reason"].is_string());
    let log = deliveries(&admin, hook).await;
    assert_eq!(log[0]["status"], "failed");
    assert_eq!(log[0]["attempts"], 2);

    for a in [&admin, &other_admin] {
        let list = a.get("/notifications/instant").await.expect(200);
        let found = list
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["type"] == "WEBHOOK_DISABLED");
        assert!(found, "{list}");
    }
    let email = srv
        .wait_mail("admin-", |m| m.subject.contains(&receiver.url))
        .await;
    assert!(email.text().contains(&receiver.url));

    // Nothing more is sent to it; enabling it again forgets the failures.
    create_event(&srv, &admin, "Not sent", None).await;
    assert_eq!(deliveries(&admin, hook).await.len(), 1);
    let state = admin
        .put(&format!("/admin/webhooks/{hook}"), json!({"enabled": true}))
        .await
        .expect(200);
    assert_eq!(state["failing_since"], Value::Null);
    assert_eq!(state["disabled_reason"], Value::Null);
    assert_eq!(receiver.got().len(), 2);
}

#[tokio::test]
async fn a_private_address_is_refused_unless_allowed() {
    let receiver = Receiver::start(&[], Reply::Status(200)).await;
    let srv = TestServer::start().await;
    assert!(!srv.state.config.webhooks.allow_private_networks);
    let admin = srv.admin().await;
    // A name that resolves to loopback is refused like the address.
    let by_name = receiver.url.replace("127.0.0.1", "localhost");
    for url in [receiver.url.clone(), by_name] {
        let (hook, _) = create_hook(&admin, &url, &["event.created"]).await;
        admin
            .post(&format!("/admin/webhooks/{hook}/ping"), json!({}))
            .await
            .expect(202);
        let log = eventually("the refused attempt", async || {
            let log = deliveries(&admin, hook).await;
            (log[0]["attempts"] == 1).then_some(log)
        })
        .await;
        let error = log[0]["error"].as_str().unwrap();
        assert!(error.contains("not a public address"), "{error}");
        assert_eq!(log[0]["response_code"], Value::Null);
    }
    assert!(receiver.got().is_empty(), "nothing reached the receiver");
}

#[tokio::test]
async fn a_change_that_rolls_back_sends_nothing() {
    let receiver = Receiver::start(&[], Reply::Status(200)).await;
    let srv = TestServer::with(allow_private).await;
    let admin = srv.admin().await;
    let (hook, secret) = create_hook(&admin, &receiver.url, &["participation.joined"]).await;
    let eid = create_event(&srv, &admin, "One seat", Some(1)).await;
    let first = srv.user().await;
    let second = srv.user().await;
    let join = json!({"status": "PARTICIPATING"});
    let path = format!("/events/{eid}/participants/me");
    first.put(&path, join.clone()).await.expect(204);
    second
        .put(&path, join)
        .await
        .expect_detail(400, "Max participants count exceeded");
    let got = receiver.wait(1).await;
    assert_eq!(
        verify(&got[0], &secret)["data"]["user"]["id"],
        json!(first.user_id)
    );
    assert_eq!(
        srv.query_i64("SELECT count(*) FROM webhook_delivery", vec![])
            .await,
        1
    );
    assert_eq!(
        srv.query_i64("SELECT count(*) FROM job WHERE kind = 'webhook'", vec![])
            .await,
        1
    );
    assert_eq!(deliveries(&admin, hook).await.len(), 1);
}

/// `afisha serve` over `dir` on a free loopback port.
struct Child {
    child: std::process::Child,
    base: String,
}

impl Child {
    fn start(dir: &std::path::Path, config: &afisha::config::Config) -> Child {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_afisha"));
        cmd.args(["serve", "--bind", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(dir)
            .current_dir(dir)
            .env_remove("AFISHA_CONFIG")
            .env("AFISHA_EMAIL__BACKEND", "file")
            .env("AFISHA_WEBHOOKS__ALLOW_PRIVATE_NETWORKS", "true")
            .env("AFISHA_JOBS__LOCK_SECS", config.jobs.lock_secs.to_string())
            .env("AFISHA_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        if let Some(url) = &config.database.url {
            cmd.env("AFISHA_DATABASE__URL", url);
        }
        Child {
            child: cmd.spawn().unwrap(),
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    async fn ready(&mut self) {
        eventually("the child server to answer", async || {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("afisha serve exited: {status}");
            }
            let r = reqwest::get(format!("{}/api/health", self.base)).await;
            r.is_ok_and(|r| r.status().is_success()).then_some(())
        })
        .await
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `kill -9` of the server while the receiver holds a delivery: the change
/// committed, so after a restart (and the job's lock expiring) the same
/// delivery — same `Afisha-Delivery` id, same body — is sent again.
#[tokio::test]
async fn a_delivery_in_flight_at_kill_9_is_sent_again_after_restart() {
    let receiver = Receiver::start(&[Reply::Hang], Reply::Status(200)).await;
    let srv = TestServer::with(|c| {
        allow_private(c);
        c.jobs.lock_secs = 30;
    })
    .await;
    let mut admin = srv.admin().await;
    let (hook, secret) = create_hook(&admin, &receiver.url, &["event.created"]).await;
    let (dir, config) = srv.stop().await;

    let mut child = Child::start(dir.path(), &config);
    child.ready().await;
    admin.base = child.base.clone();
    let starts = (chrono::Utc::now() + Duration::hours(48)).to_rfc3339();
    let ends = (chrono::Utc::now() + Duration::hours(50)).to_rfc3339();
    admin
        .post(
            "/events",
            json!({
                "name": "Killed", "description": "D", "starts_at": starts,
                "ends_at": ends, "image_url": "https://example.com/e.png",
            }),
        )
        .await
        .expect(201);
    let first = receiver.wait(1).await;
    child.child.kill().unwrap(); // SIGKILL
    child.child.wait().unwrap();

    let srv = TestServer::start_in(dir, config).await;
    // The killed process's lock on the job lasts `jobs.lock_secs`.
    srv.clock.advance(Duration::seconds(31));
    let got = receiver.wait(2).await;
    assert_eq!(
        got[1].delivery, first[0].delivery,
        "the same idempotency id"
    );
    assert_eq!(got[1].body, first[0].body);
    verify(&got[1], &secret);
    wait_webhook_job(&srv, |j| j.done).await;
    let mut admin = admin.clone();
    admin.base = srv.base.clone();
    let log = deliveries(&admin, hook).await;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["status"], "delivered");
}

#[tokio::test]
async fn cancel_restore_and_user_deletion_are_sent() {
    let receiver = Receiver::start(&[], Reply::Status(200)).await;
    let srv = TestServer::with(allow_private).await;
    let admin = srv.admin().await;
    let (_, secret) = create_hook(
        &admin,
        &receiver.url,
        &[
            "event.cancelled",
            "event.restored",
            "event.updated",
            "user.deleted",
        ],
    )
    .await;
    let eid = create_event(&srv, &admin, "Toggled", None).await;
    let user = srv.user().await;
    let path = format!("/events/{eid}");
    admin
        .put(&path, json!({"rejected_at": srv.now().to_string()}))
        .await
        .expect(200);
    admin
        .put(&path, json!({"rejected_at": null}))
        .await
        .expect(200);
    admin
        .put(&path, json!({"name": "Renamed"}))
        .await
        .expect(200);
    admin
        .delete(&format!("/users/{}", user.user_id))
        .await
        .expect(204);
    let got = receiver.wait(4).await;
    let types: Vec<Value> = got.iter().map(|g| verify(g, &secret)).collect();
    let mut kinds: Vec<&str> = types.iter().map(|b| b["type"].as_str().unwrap()).collect();
    kinds.sort_unstable();
    assert_eq!(
        kinds,
        [
            "event.cancelled",
            "event.restored",
            "event.updated",
            "user.deleted"
        ]
    );
    let deleted = types.iter().find(|b| b["type"] == "user.deleted").unwrap();
    assert_eq!(deleted["data"]["user"]["id"], json!(user.user_id));
    let cancelled = types
        .iter()
        .find(|b| b["type"] == "event.cancelled")
        .unwrap();
    assert_eq!(cancelled["data"]["event"]["cancelled"], true);
}

#[tokio::test]
async fn finished_deliveries_leave_the_log_after_its_retention() {
    let receiver = Receiver::start(&[], Reply::Status(200)).await;
    let srv = TestServer::with(|c| {
        allow_private(c);
        // The administrator's session outlives the month the test spans.
        c.auth.session_ttl_days = 365;
        c.auth.session_max_days = 365;
    })
    .await;
    assert_eq!(srv.state.config.webhooks.log_retention_days, 30);
    let admin = srv.admin().await;
    let (hook, _) = create_hook(&admin, &receiver.url, &["event.created"]).await;
    let ping = async || {
        let id = admin
            .post(&format!("/admin/webhooks/{hook}/ping"), json!({}))
            .await
            .expect(202)["id"]
            .as_str()
            .unwrap()
            .to_string();
        eventually("the ping delivered", async || {
            let log = deliveries(&admin, hook).await;
            log.iter()
                .any(|d| d["id"] == json!(id) && d["status"] == "delivered")
                .then_some(())
        })
        .await;
        id
    };
    let old = ping().await;
    srv.clock.advance(Duration::days(20));
    let recent = ping().await;
    // 31 days after the first: the hourly clean-up runs and deletes it,
    // the 11-day-old one stays.
    srv.clock.advance(Duration::days(11));
    let log = eventually("the old delivery swept", async || {
        let log = deliveries(&admin, hook).await;
        (log.len() == 1).then_some(log)
    })
    .await;
    assert_eq!(log[0]["id"], json!(recent));
    assert_ne!(log[0]["id"], json!(old));
    assert_eq!(
        srv.query_i64("SELECT count(*) FROM webhook_attempt", vec![])
            .await,
        1,
        "the attempts went with it"
    );
}

#[tokio::test]
async fn redirects_are_followed_only_to_the_same_host() {
    let receiver = Receiver::start(&[], Reply::Status(200)).await;
    let srv = TestServer::with(allow_private).await;
    let admin = srv.admin().await;
    let same = receiver.url.replace("/hook", "/same-host");
    let other = receiver.url.replace("/hook", "/other-host");
    let (same_hook, secret) = create_hook(&admin, &same, &["event.created"]).await;
    admin
        .post(&format!("/admin/webhooks/{same_hook}/ping"), json!({}))
        .await
        .expect(202);
    let got = receiver.wait(1).await;
    verify(&got[0], &secret);

    let (other_hook, _) = create_hook(&admin, &other, &["event.created"]).await;
    admin
        .post(&format!("/admin/webhooks/{other_hook}/ping"), json!({}))
        .await
        .expect(202);
    let log = eventually("the refused redirect logged", async || {
        let log = deliveries(&admin, other_hook).await;
        (log[0]["attempts"] == 1).then_some(log)
    })
    .await;
    assert_eq!(log[0]["response_code"], 307);
    assert!(
        log[0]["error"].as_str().unwrap().contains("redirect"),
        "{}",
        log[0]
    );
    assert_eq!(receiver.got().len(), 1, "the other host got nothing");
}
