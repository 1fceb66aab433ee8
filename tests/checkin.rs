//! Issue 22 items 1–3: check-in with tickets, attendance, event managers —
//! over real HTTP, on the backend the run selects (SQLite, or PostgreSQL
//! under `scripts/test-postgres.sh`). Time moves by the ManualClock only.

mod common;

use chrono::Duration;
use common::*;
use rand::RngCore;
use serde_json::{Value, json};

const INVALID: &str = "Invalid ticket";
const OTHER_EVENT: &str = "This ticket is for another event";
const WAITLISTED: &str = "On the waiting list, not a participant of this event";
const DECLINED: &str = "Declined this event, not a participant";
const NOT_PARTICIPANT: &str = "Not a participant of this event";
const NOT_OPEN: &str = "Check-in is not open yet";
const CLOSED: &str = "Check-in is closed";
const ADMIN_REQUIRED: &str = "Administrator role required";

/// An event starting `hours` from now, lasting 2 h.
async fn create(srv: &TestServer, admin: &Client, hours: i64, extra: Value) -> i64 {
    let mut b = json!({
        "name": format!("Event {}", uuid::Uuid::new_v4().simple()),
        "description": "Description",
        "starts_at": at(srv, hours),
        "ends_at": at(srv, hours + 2),
        "image_url": "https://example.com/e.png",
    });
    for (k, v) in extra.as_object().expect("object") {
        b[k] = v.clone();
    }
    admin.post("/events", b).await.expect(201)["id"]
        .as_i64()
        .unwrap()
}

async fn join(c: &Client, event_id: i64, status: &str) {
    let r = c
        .put(
            &format!("/events/{event_id}/participants/me"),
            json!({ "status": status }),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text());
}

async fn card(c: &Client, event_id: i64) -> Value {
    c.get(&format!("/events/{event_id}/card")).await.expect(200)
}

async fn ticket(c: &Client, event_id: i64) -> String {
    card(c, event_id).await["ticket"]["token"]
        .as_str()
        .expect("a ticket while participating")
        .to_string()
}

async fn check_in(c: &Client, event_id: i64, body: Value) -> Resp {
    c.post(&format!("/events/{event_id}/check-ins"), body).await
}

/// Moves the server's clock to `minutes` after (negative: before) the
/// start of an event created `hours` ahead.
fn to_start(srv: &TestServer, start: chrono::DateTime<chrono::Utc>, minutes: i64) {
    srv.clock.set(start + Duration::minutes(minutes));
}

fn start_of(card: &Value) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(card["starts_at"].as_str().unwrap())
        .unwrap()
        .with_timezone(&chrono::Utc)
}

fn random_128() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

#[tokio::test]
async fn check_in_by_ticket_and_by_user_is_idempotent_and_undoable() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let (ann, bob) = (srv.user().await, srv.user().await);
    let event = create(&srv, &admin, 48, json!({})).await;
    join(&ann, event, "PARTICIPATING").await;
    join(&bob, event, "PARTICIPATING").await;

    let c = card(&ann, event).await;
    assert_eq!(c["checked_in_at"], Value::Null);
    let token = c["ticket"]["token"].as_str().unwrap().to_string();
    assert!(c["ticket"]["url"].as_str().unwrap().contains(&token));
    // The ticket is derived, never stored: no column anywhere holds it.
    let db_dump = srv
        .sql_rows(
            "SELECT event_id, user_id, checked_in_at FROM event_checkin",
            vec![],
        )
        .await;
    assert!(db_dump.is_empty());
    // Its QR code is an SVG, without a session.
    let qr_path = c["ticket"]["qr_url"]
        .as_str()
        .unwrap()
        .split("/api")
        .nth(1)
        .unwrap()
        .to_string();
    let qr = srv.anon().get(&qr_path).await;
    assert_eq!(qr.status, 200);
    assert_eq!(qr.header("content-type").as_deref(), Some("image/svg+xml"));
    assert!(qr.text().contains("<svg"));

    // Before the window: 60 minutes before the start by default.
    let start = start_of(&c);
    to_start(&srv, start, -61);
    check_in(&admin, event, json!({ "ticket": token }))
        .await
        .expect_detail(400, NOT_OPEN);
    to_start(&srv, start, -60);
    let first = check_in(&admin, event, json!({ "ticket": token }))
        .await
        .expect(200);
    assert_eq!(first["user_id"], ann.user_id);
    assert_eq!(first["already_checked_in"], false);
    assert!(first["email"].as_str().unwrap().contains('@'));
    assert!(first["full_name"].as_str().unwrap().starts_with("User"));
    srv.clock.advance(Duration::minutes(5));
    // The scanned QR code (the whole URL) works as well; twice is fine.
    let url = c["ticket"]["url"].as_str().unwrap();
    let again = check_in(&admin, event, json!({ "ticket": url }))
        .await
        .expect(200);
    assert_eq!(again["already_checked_in"], true);
    assert_eq!(again["checked_in_at"], first["checked_in_at"]);

    // By user id, twice.
    let by_id = check_in(&admin, event, json!({ "user_id": bob.user_id }))
        .await
        .expect(200);
    assert_eq!(by_id["already_checked_in"], false);
    let by_id = check_in(&admin, event, json!({ "user_id": bob.user_id }))
        .await
        .expect(200);
    assert_eq!(by_id["already_checked_in"], true);

    // The participant sees it on their card, and on the desk.
    assert_eq!(
        card(&ann, event).await["checked_in_at"],
        first["checked_in_at"]
    );
    let desk = admin
        .get(&format!("/events/{event}/check-ins"))
        .await
        .expect(200);
    assert_eq!(desk["checked_in"], 2);
    assert_eq!(desk["open"], true);

    // Undo, twice (nothing to undo is fine), then check in again.
    for _ in 0..2 {
        let r = admin
            .delete(&format!("/events/{event}/check-ins/{}", ann.user_id))
            .await;
        assert_eq!(r.status, 204, "{}", r.text());
    }
    assert_eq!(card(&ann, event).await["checked_in_at"], Value::Null);
    let redo = check_in(&admin, event, json!({ "ticket": token }))
        .await
        .expect(200);
    assert_eq!(redo["already_checked_in"], false);

    // Exactly one of ticket and user_id.
    check_in(&admin, event, json!({}))
        .await
        .expect_422(&["body", "ticket"]);
    check_in(
        &admin,
        event,
        json!({"ticket": token, "user_id": ann.user_id}),
    )
    .await
    .expect_422(&["body", "ticket"]);

    // 24 hours after the end the window closes (for undo as well).
    to_start(&srv, start, 120 + 24 * 60);
    check_in(&admin, event, json!({ "user_id": bob.user_id }))
        .await
        .expect(200);
    srv.clock.advance(Duration::seconds(1));
    check_in(&admin, event, json!({ "ticket": token }))
        .await
        .expect_detail(400, CLOSED);
    admin
        .delete(&format!("/events/{event}/check-ins/{}", ann.user_id))
        .await
        .expect_detail(400, CLOSED);

    // "I attended" on my past events.
    let past: Value = ann.get("/events/cards?status=PAST").await.expect(200);
    let mine = past
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == event)
        .expect("the past event");
    assert!(mine["checked_in_at"].is_string());
}

#[tokio::test]
async fn only_participants_of_that_event_check_in() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let (ann, bob, cid, dan) = (
        srv.user().await,
        srv.user().await,
        srv.user().await,
        srv.user().await,
    );
    let event = create(&srv, &admin, 48, json!({ "max_participants_count": 1 })).await;
    let other = create(&srv, &admin, 48, json!({})).await;
    join(&ann, event, "PARTICIPATING").await;
    join(&bob, event, "WAITLISTED").await;
    join(&cid, event, "REJECTED").await;
    join(&dan, other, "PARTICIPATING").await;
    let dan_ticket = ticket(&dan, other).await;
    let ann_ticket = ticket(&ann, event).await;
    // No ticket while waiting or declined.
    assert_eq!(card(&bob, event).await["ticket"], Value::Null);
    assert_eq!(card(&cid, event).await["ticket"], Value::Null);
    let start = start_of(&card(&ann, event).await);
    to_start(&srv, start, 0);

    check_in(&admin, event, json!({ "ticket": dan_ticket }))
        .await
        .expect_detail(400, OTHER_EVENT);
    check_in(&admin, event, json!({ "user_id": dan.user_id }))
        .await
        .expect_detail(400, NOT_PARTICIPANT);
    check_in(&admin, event, json!({ "user_id": bob.user_id }))
        .await
        .expect_detail(400, WAITLISTED);
    check_in(&admin, event, json!({ "user_id": cid.user_id }))
        .await
        .expect_detail(400, DECLINED);
    check_in(&admin, event, json!({ "user_id": 999_999 }))
        .await
        .expect_detail(400, NOT_PARTICIPANT);
    // A waiting-list ticket: the waiting user's would-be token is forged
    // from a real one's shape and never passes.
    let forged_bob = ann_ticket.replacen(
        &format!(".{}.", ann.user_id),
        &format!(".{}.", bob.user_id),
        1,
    );
    check_in(&admin, event, json!({ "ticket": forged_bob }))
        .await
        .expect_detail(400, INVALID);
    // Bob gets a seat when Ann leaves: his ticket then works, Ann's no more.
    join(&ann, event, "NONE").await;
    let bob_ticket = ticket(&bob, event).await;
    check_in(&admin, event, json!({ "ticket": ann_ticket }))
        .await
        .expect_detail(400, NOT_PARTICIPANT);
    let ok = check_in(&admin, event, json!({ "ticket": bob_ticket }))
        .await
        .expect(200);
    assert_eq!(ok["user_id"], bob.user_id);
    // The event does not exist: 404 for an administrator.
    check_in(&admin, 999_999, json!({ "ticket": bob_ticket }))
        .await
        .expect_detail(404, "Event not found");
    // A forged ticket's QR code is not drawn.
    srv.anon()
        .get(&format!("/tickets/{forged_bob}/qr.svg"))
        .await
        .expect_detail(400, INVALID);
}

#[tokio::test]
async fn forged_and_random_tokens_never_check_anyone_in() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let ann = srv.user().await;
    let event = create(&srv, &admin, 48, json!({})).await;
    join(&ann, event, "PARTICIPATING").await;
    let real = ticket(&ann, event).await;
    to_start(&srv, start_of(&card(&ann, event).await), 0);
    let mac_len = real.rsplit('.').next().unwrap().len();
    for _ in 0..200 {
        let raw = random_128();
        // A bare random token, and one with the right ids and shape.
        let mut bytes = [0u8; 20];
        rand::rng().fill_bytes(&mut bytes);
        let shaped = format!(
            "{event}.{}.{}",
            ann.user_id,
            base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes)
        );
        assert_eq!(shaped.rsplit('.').next().unwrap().len(), mac_len);
        for token in [raw, shaped] {
            check_in(&admin, event, json!({ "ticket": token }))
                .await
                .expect_detail(400, INVALID);
        }
    }
    assert_eq!(
        srv.query_i64("SELECT count(*) FROM event_checkin", vec![])
            .await,
        0,
        "nobody was checked in"
    );
}

#[tokio::test]
async fn ics_links_the_ticket_while_participating() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let (ann, bob) = (srv.user().await, srv.user().await);
    let event = create(&srv, &admin, 48, json!({})).await;
    join(&ann, event, "PARTICIPATING").await;
    let token = ticket(&ann, event).await;
    let ics = ann.get(&format!("/events/{event}/ics")).await;
    assert_eq!(ics.status, 200);
    let unfolded = ics.text().replace("\r\n ", "");
    assert!(
        unfolded.contains(&format!("/api/tickets/{token}/qr.svg")),
        "{unfolded}"
    );
    let other = bob.get(&format!("/events/{event}/ics")).await.text();
    assert!(!other.contains("/api/tickets/"));
}

#[tokio::test]
async fn attendance_in_exports_and_statistics() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let (ann, bob) = (srv.user().await, srv.user().await);
    let event = create(&srv, &admin, 48, json!({})).await;
    let later = create(&srv, &admin, 96, json!({})).await;
    join(&ann, event, "PARTICIPATING").await;
    join(&bob, event, "PARTICIPATING").await;
    join(&ann, later, "PARTICIPATING").await;
    let start = start_of(&card(&ann, event).await);
    to_start(&srv, start, 10);
    let done = check_in(&admin, event, json!({ "user_id": ann.user_id }))
        .await
        .expect(200);

    // The contract's seven columns unless asked for attendance.
    let plain = admin
        .get(&format!("/events/{event}/participants/export"))
        .await
        .text();
    assert!(plain.starts_with("user_id,email,full_name,status,joined_at,event_id,event_name\n"));
    let csv = admin
        .get(&format!(
            "/events/{event}/participants/export?attendance=true"
        ))
        .await
        .text();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "user_id,email,full_name,status,joined_at,event_id,event_name,checked_in_at"
    );
    let ann_line = lines
        .iter()
        .find(|l| l.starts_with(&format!("{},", ann.user_id)))
        .unwrap();
    assert!(ann_line.ends_with(done["checked_in_at"].as_str().unwrap()));
    let bob_line = lines
        .iter()
        .find(|l| l.starts_with(&format!("{},", bob.user_id)))
        .unwrap();
    assert!(bob_line.ends_with(','), "{bob_line}");
    let xlsx = admin
        .get(&format!(
            "/events/{event}/participants/export?format=xlsx&attendance=1"
        ))
        .await;
    assert_eq!(xlsx.status, 200);

    let stats = admin.get("/statistics").await.expect(200);
    let att = &stats["attendance"];
    let row = att["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event_id"] == event)
        .expect("a started event");
    assert_eq!(
        (row["registered"].as_i64(), row["came"].as_i64()),
        (Some(2), Some(1))
    );
    assert_eq!(row["attendance_rate"], 0.5);
    // An event whose check-in has not opened yet is not counted.
    assert!(
        att["events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["event_id"] != later)
    );
    assert_eq!(att["registered"], 2);
    assert_eq!(att["came"], 1);
    assert_eq!(att["no_show_rate"], 0.5);
    // The contract's scalars are unchanged.
    let names: Vec<&str> = stats["scalars"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 9);
}

#[tokio::test]
async fn a_manager_does_exactly_the_listed_things_on_their_event() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let (manager, ann, bob, plain) = (
        srv.user().await,
        srv.user().await,
        srv.user().await,
        srv.user().await,
    );
    let event = create(
        &srv,
        &admin,
        48,
        json!({ "managers": [manager.user_id], "max_participants_count": 1 }),
    )
    .await;
    let other = create(&srv, &admin, 48, json!({})).await;
    join(&ann, event, "PARTICIPATING").await;
    join(&bob, event, "WAITLISTED").await;

    // Returned on the event, for administrators and managers.
    let seen = manager.get(&format!("/events/{event}")).await.expect(200);
    assert_eq!(seen["managers"], json!([manager.user_id]));
    assert_eq!(seen["waitlist"][0]["user_id"], bob.user_id);
    assert_eq!(card(&manager, event).await["can_manage"], true);
    assert_eq!(card(&manager, other).await["can_manage"], false);
    assert_eq!(card(&plain, event).await["can_manage"], false);
    let managed = manager.get("/users/me/managed-events").await.expect(200);
    assert_eq!(managed["event_ids"], json!([event]));

    // Edit it; manage its waiting list (move Bob in, Ann stays out).
    let edited = manager
        .put(
            &format!("/events/{event}"),
            json!({ "name": "Renamed by the manager" }),
        )
        .await
        .expect(200);
    assert_eq!(edited["name"], "Renamed by the manager");
    let moved = manager
        .put(
            &format!("/events/{event}"),
            json!({ "participants_ids": [bob.user_id] }),
        )
        .await
        .expect(200);
    assert_eq!(moved["participants"][0]["user_id"], bob.user_id);
    // Not the managers themselves.
    manager
        .put(&format!("/events/{event}"), json!({ "managers": [] }))
        .await
        .expect_detail(403, "Only administrators set event managers");
    // See and export its participants; check people in.
    let csv = manager
        .get(&format!("/events/{event}/participants/export"))
        .await;
    assert_eq!(csv.status, 200);
    assert!(csv.text().contains(&bob.user_id.to_string()));
    manager
        .get(&format!("/events/{event}/check-ins"))
        .await
        .expect(200);
    to_start(&srv, start_of(&seen), 0);
    check_in(&manager, event, json!({ "user_id": bob.user_id }))
        .await
        .expect(200);
    // The manager's actions are in the audit log under their name.
    let log = admin
        .get(&format!(
            "/admin/audit?target_type=event&target_id={event}&limit=50"
        ))
        .await
        .expect(200);
    let mine: Vec<&str> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["actor_id"] == json!(manager.user_id))
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        mine,
        ["checkin.recorded", "event.updated", "event.updated"],
        "newest first: {log}"
    );
    let entry = &log["items"][0];
    assert_eq!(
        entry["changes"]["checked_in"]["after"]["user_id"],
        bob.user_id
    );
    assert!(entry["changes"]["checked_in"]["before"]["checked_in_at"].is_null());

    // Nothing else: another event, and administrator routes.
    for (method, path) in [
        ("get", format!("/events/{other}")),
        ("put", format!("/events/{other}")),
        ("get", format!("/events/{other}/participants/export")),
        ("get", format!("/events/{other}/check-ins")),
        ("post", format!("/events/{other}/check-ins")),
        (
            "delete",
            format!("/events/{other}/check-ins/{}", bob.user_id),
        ),
        ("get", "/events/999999".to_string()),
    ] {
        let r = match method {
            "get" => manager.get(&path).await,
            "put" => manager.put(&path, json!({})).await,
            "post" => manager.post(&path, json!({ "user_id": bob.user_id })).await,
            _ => manager.delete(&path).await,
        };
        r.expect_detail(403, ADMIN_REQUIRED);
    }
    for (method, path) in [
        ("get", "/events"),
        ("post", "/events"),
        ("get", "/users"),
        ("get", "/statistics"),
        ("get", "/admin/outbox"),
        ("post", "/categories"),
    ] {
        let r = match method {
            "get" => manager.get(path).await,
            _ => manager.post(path, json!({})).await,
        };
        r.expect_detail(403, ADMIN_REQUIRED);
    }
    // A plain user manages nothing.
    plain
        .get(&format!("/events/{event}"))
        .await
        .expect_detail(403, ADMIN_REQUIRED);

    // The administrator takes the role away: 403 from then on.
    let after = admin
        .put(&format!("/events/{event}"), json!({ "managers": null }))
        .await
        .expect(200);
    assert_eq!(after["managers"], json!([]));
    manager
        .get(&format!("/events/{event}"))
        .await
        .expect_detail(403, ADMIN_REQUIRED);
    // Unknown users are refused as managers.
    admin
        .put(
            &format!("/events/{event}"),
            json!({ "managers": [999_999] }),
        )
        .await
        .expect_detail(404, "Some managers are missing or deleted");
}

#[tokio::test]
async fn a_participants_event_email_carries_the_ticket_which_no_job_row_holds() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let ann = srv
        .user_with("ticket-ann@example.com", "Ann Ticket", false)
        .await;
    let event = create(
        &srv,
        &admin,
        48,
        json!({ "name": "Ticketed evening", "participants_ids": [ann.user_id] }),
    )
    .await;
    let qr_url = card(&ann, event).await["ticket"]["qr_url"]
        .as_str()
        .unwrap()
        .to_string();
    let token = ticket(&ann, event).await;
    let mail = srv
        .wait_mail("ticket-ann@example.com", |m| {
            m.subject.contains("Ticketed evening")
        })
        .await;
    let text = mail.text();
    assert!(text.contains(&qr_url), "{text}");
    assert!(text.contains(&format!("<img src=\"{qr_url}\"")), "{text}");
    // The job row names the participation, never the ticket.
    let payloads = srv.sql_rows("SELECT payload FROM job", vec![]).await;
    assert!(!payloads.is_empty());
    for row in payloads {
        assert!(!row[0].to_string().contains(&token), "{row:?}");
    }
}
