//! API.md "Events — administration", "Events — participants" and
//! "Statistics" over real HTTP.

mod common;

use std::collections::HashMap;
use std::io::Cursor;

use afisha::domain::time::Ts;
use chrono::Duration;
use common::*;
use serde_json::{Value, json};

const MISSING: &str = "Some participants are missing or deleted";
const MAX_EXCEEDED: &str = "Max participants count exceeded";
const START_RULE: &str = "starts_at must be later than created_at";
const END_RULE: &str = "ends_at must be later than starts_at";
const NOT_FOUND: &str = "Event not found";
const COLUMNS: [&str; 7] = [
    "user_id",
    "email",
    "full_name",
    "status",
    "joined_at",
    "event_id",
    "event_name",
];

/// A valid create body starting `hours` from the server's now, lasting 2 h.
fn body(srv: &TestServer, hours: i64, extra: Value) -> Value {
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
    b
}

async fn create(srv: &TestServer, admin: &Client, extra: Value) -> Value {
    admin
        .post("/events", body(srv, 48, extra))
        .await
        .expect(201)
}

fn id(v: &Value) -> i64 {
    v["id"].as_i64().expect("id")
}

fn ids(list: &Value) -> Vec<i64> {
    list.as_array().expect("list").iter().map(id).collect()
}

fn participants(ev: &Value) -> HashMap<i64, Value> {
    ev["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["user_id"].as_i64().unwrap(), p.clone()))
        .collect()
}

/// The server's now at the stored (microsecond) precision.
fn now(srv: &TestServer) -> Ts {
    Ts::from_micros(srv.now().micros())
}

fn ts(v: &Value) -> Ts {
    Ts::parse(v.as_str().expect("timestamp")).expect("parses")
}

/// In-app notifications of a type for a user.
async fn notes(srv: &TestServer, user_id: i64, kind: &str) -> i64 {
    srv.query_i64(
        "SELECT count(*) FROM instant_notification WHERE recipient_id = ?1 AND type = ?2",
        vec![json!(user_id), json!(kind)],
    )
    .await
}

/// Email jobs of a type (any recipient).
async fn mails(srv: &TestServer, kind: &str) -> i64 {
    srv.query_i64(
        "SELECT count(*) FROM job WHERE json_extract(payload, '$.kind') = ?1",
        vec![json!(kind)],
    )
    .await
}

async fn set_status(c: &Client, event_id: i64, status: &str) -> Resp {
    c.put(
        &format!("/events/{event_id}/participants/me"),
        json!({ "status": status }),
    )
    .await
}

async fn cards(c: &Client, query: &str) -> Value {
    c.get(&format!("/events/cards{query}")).await.expect(200)
}

fn card(list: &Value, event_id: i64) -> Option<Value> {
    list.as_array()
        .unwrap()
        .iter()
        .find(|c| id(c) == event_id)
        .cloned()
}

/// A user (or administrator) soft-deleted through the API.
async fn deleted(srv: &TestServer, admin: &Client, is_admin: bool) -> Client {
    let c = if is_admin {
        srv.admin().await
    } else {
        srv.user().await
    };
    admin
        .delete(&format!("/users/{}", c.user_id))
        .await
        .expect(204);
    c
}

fn enc(s: &str) -> String {
    serde_urlencoded::to_string([("v", s)]).unwrap()[2..].to_string()
}

// ------------------------------------------------------------ create

#[tokio::test]
async fn create_returns_the_dto_and_notifies_participants() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let a = srv.user().await;
    let b = srv.user().await;
    let bystander = srv.user().await;
    let sent = body(
        &srv,
        72,
        json!({"name": "  Полный набор  ", "short_description": "Коротко",
               "payment_info": "Free", "max_participants_count": 10, "location": "Hall A",
               "participants_ids": [a.user_id, b.user_id, a.user_id]}),
    );
    let ev = admin.post("/events", sent.clone()).await.expect(201);
    assert_eq!(ev["name"], "Полный набор", "name is trimmed");
    for k in [
        "short_description",
        "description",
        "image_url",
        "payment_info",
        "max_participants_count",
        "location",
    ] {
        assert_eq!(ev[k], sent[k], "{k}");
    }
    // Stored at microsecond precision.
    assert_eq!(
        ts(&ev["starts_at"]).micros(),
        ts(&sent["starts_at"]).micros()
    );
    assert_eq!(ts(&ev["ends_at"]).micros(), ts(&sent["ends_at"]).micros());
    assert_eq!(ts(&ev["created_at"]), now(&srv));
    assert!(ev["created_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(ev["rejected_at"], Value::Null);
    assert_eq!(ev["status"], "ACTIVE");
    let parts = participants(&ev);
    assert_eq!(parts.len(), 2, "duplicates ignored");
    for p in parts.values() {
        assert_eq!(p["status"], "PARTICIPATING");
        assert_eq!(ts(&p["created_at"]), now(&srv));
    }
    for u in [&a, &b] {
        assert_eq!(notes(&srv, u.user_id, "EVENT_CREATED").await, 1);
    }
    assert_eq!(notes(&srv, bystander.user_id, "EVENT_CREATED").await, 0);
    assert_eq!(mails(&srv, "EVENT_CREATED").await, 2);
    assert_eq!(
        admin.get(&format!("/events/{}", id(&ev))).await.expect(200),
        ev
    );

    // Only the required fields; participants_ids defaults to [].
    let minimal = json!({"name": "Minimal", "description": "", "starts_at": at(&srv, 1),
                         "ends_at": at(&srv, 2), "image_url": "https://example.com/m.png"});
    let ev = admin.post("/events", minimal).await.expect(201);
    for k in [
        "short_description",
        "payment_info",
        "max_participants_count",
        "location",
    ] {
        assert_eq!(ev[k], Value::Null, "{k}");
    }
    assert_eq!(ev["description"], "");
    assert_eq!(ev["participants"], json!([]));
    let ev = admin
        .post("/events", body(&srv, 5, json!({"participants_ids": null})))
        .await
        .expect(201);
    assert_eq!(ev["participants"], json!([]));
    assert_eq!(mails(&srv, "EVENT_CREATED").await, 2);
}

#[tokio::test]
async fn create_validation_and_rules() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let a = srv.user().await;
    let b = srv.user().await;
    let gone = deleted(&srv, &admin, false).await;

    for field in ["name", "description", "starts_at", "ends_at", "image_url"] {
        let mut b = body(&srv, 5, json!({}));
        b.as_object_mut().unwrap().remove(field);
        admin.post("/events", b).await.expect_422(&["body", field]);
    }
    for name in ["", "   "] {
        admin
            .post("/events", body(&srv, 5, json!({"name": name})))
            .await
            .expect_422(&["body", "name"]);
    }
    for max in [0, -3] {
        admin
            .post(
                "/events",
                body(&srv, 5, json!({"max_participants_count": max})),
            )
            .await
            .expect_422(&["body", "max_participants_count"]);
    }
    admin
        .post("/events", body(&srv, 5, json!({"starts_at": "soon"})))
        .await
        .expect_422(&["body", "starts_at"]);
    let r = admin
        .post("/events", body(&srv, 5, json!({"participants_ids": ["x"]})))
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(
        r.json()["detail"][0]["loc"],
        json!(["body", "participants_ids", 0])
    );
    admin
        .post("/events", body(&srv, 5, json!({"name": "n".repeat(201)})))
        .await
        .expect_422(&["body", "name"]);
    let r = admin
        .post_raw("/events", "application/json", b"{\"name\": ".to_vec())
        .await;
    assert_eq!(r.expect_422(&["body"])[0]["type"], "json_invalid");

    // starts_at <= now, ends_at <= starts_at.
    let now = srv.now().to_string();
    admin
        .post(
            "/events",
            body(&srv, 0, json!({"starts_at": now, "ends_at": at(&srv, 1)})),
        )
        .await
        .expect_detail(400, START_RULE);
    admin
        .post("/events", body(&srv, -1, json!({"ends_at": at(&srv, 3)})))
        .await
        .expect_detail(400, START_RULE);
    for end in [5, 4] {
        admin
            .post("/events", body(&srv, 5, json!({"ends_at": at(&srv, end)})))
            .await
            .expect_detail(400, END_RULE);
    }
    // Capacity, duplicates not counted.
    admin
        .post(
            "/events",
            body(
                &srv,
                5,
                json!({"max_participants_count": 1, "participants_ids": [a.user_id, b.user_id]}),
            ),
        )
        .await
        .expect_detail(400, MAX_EXCEEDED);
    let ev = admin
        .post(
            "/events",
            body(
                &srv,
                5,
                json!({"max_participants_count": 1, "participants_ids": [a.user_id, a.user_id]}),
            ),
        )
        .await
        .expect(201);
    assert_eq!(participants(&ev).len(), 1);
    // Unknown or deleted participants → 404, before the 400 rules.
    for bad in [999_999, gone.user_id] {
        admin
            .post(
                "/events",
                body(&srv, -5, json!({"participants_ids": [a.user_id, bad]})),
            )
            .await
            .expect_detail(404, MISSING);
    }
    assert_eq!(
        srv.query_i64("SELECT count(*) FROM event", vec![]).await,
        1,
        "refusals write nothing"
    );
    assert_eq!(mails(&srv, "EVENT_CREATED").await, 1);
}

// ------------------------------------------------------------ list / get

#[tokio::test]
async fn list_get_status_q_and_paging() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let soon = admin
        .post("/events", body(&srv, 1, json!({"name": "Концерт Ёлка"})))
        .await
        .expect(201);
    let later = create(&srv, &admin, json!({"name": "концерт вечерний"})).await;
    let rejected = create(&srv, &admin, json!({"name": "Lecture"})).await;
    admin
        .put(
            &format!("/events/{}", id(&rejected)),
            json!({"rejected_at": srv.now().to_string()}),
        )
        .await
        .expect(200);
    // Move time past the first event's end: it becomes PAST.
    srv.clock.advance(Duration::hours(3));

    let all = admin.get("/events").await.expect(200);
    assert_eq!(ids(&all), [id(&soon), id(&later), id(&rejected)]);
    let statuses: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["PAST", "ACTIVE", "REJECTED"]);
    for (status, want) in [
        ("ACTIVE", id(&later)),
        ("PAST", id(&soon)),
        ("REJECTED", id(&rejected)),
    ] {
        let got = admin
            .get(&format!("/events?status={status}"))
            .await
            .expect(200);
        assert_eq!(ids(&got), [want], "{status}");
    }
    admin
        .get("/events?status=SOMETIMES")
        .await
        .expect_422(&["query", "status"]);
    admin
        .get("/events?offset=-1")
        .await
        .expect_422(&["query", "offset"]);

    let q = |s: &str| format!("/events?q={}", enc(s));
    assert_eq!(
        ids(&admin.get(&q("КОНЦЕРТ")).await.expect(200)),
        [id(&soon), id(&later)]
    );
    assert_eq!(ids(&admin.get(&q("ёлка")).await.expect(200)), [id(&soon)]);
    assert_eq!(
        ids(&admin
            .get(&format!("{}&limit=1&offset=1", q("концерт")))
            .await
            .expect(200)),
        [id(&later)]
    );
    assert_eq!(
        ids(&admin.get("/events?limit=0").await.expect(200)),
        [id(&soon)]
    );
    assert_eq!(
        ids(&admin.get("/events?limit=5000").await.expect(200)).len(),
        3
    );
    assert_eq!(
        ids(&admin.get("/events?limit=2&offset=1").await.expect(200)),
        [id(&later), id(&rejected)]
    );
    assert_eq!(
        ids(&admin
            .get("/events?status=ACTIVE&q=%D0%BA%D0%BE%D0%BD")
            .await
            .expect(200)),
        [id(&later)]
    );

    admin
        .get("/events/999999")
        .await
        .expect_detail(404, NOT_FOUND);
    admin
        .get("/events/not-a-number")
        .await
        .expect_422(&["path", "event_id"]);
    let one = admin
        .get(&format!("/events/{}", id(&soon)))
        .await
        .expect(200);
    assert_eq!(one["status"], "PAST");
}

// ------------------------------------------------------------ update

#[tokio::test]
async fn update_absent_null_and_required_fields() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let p = srv.user().await;
    let ev = create(
        &srv,
        &admin,
        json!({"short_description": "S", "payment_info": "P", "location": "L",
               "max_participants_count": 10, "participants_ids": [p.user_id]}),
    )
    .await;
    let path = format!("/events/{}", id(&ev));

    let renamed = admin
        .put(&path, json!({"name": "Новое Имя"}))
        .await
        .expect(200);
    for (k, v) in ev.as_object().unwrap() {
        if k != "name" {
            assert_eq!(&renamed[k], v, "{k} left alone");
        }
    }
    // name_fold follows the name.
    assert_eq!(
        ids(&admin
            .get(&format!("/events?q={}", enc("новое")))
            .await
            .expect(200)),
        [id(&ev)]
    );
    let cleared = admin
        .put(
            &path,
            json!({"short_description": null, "payment_info": null, "location": null,
                   "max_participants_count": null}),
        )
        .await
        .expect(200);
    for k in [
        "short_description",
        "payment_info",
        "location",
        "max_participants_count",
    ] {
        assert_eq!(cleared[k], Value::Null, "{k}");
    }
    assert_eq!(cleared["name"], "Новое Имя");
    for field in ["name", "description", "image_url", "starts_at", "ends_at"] {
        admin
            .put(&path, json!({ field: null }))
            .await
            .expect_detail(400, &format!("{field} cannot be null"));
    }
    admin
        .put(&path, json!({"name": "  "}))
        .await
        .expect_422(&["body", "name"]);
    admin
        .put(&path, json!({"max_participants_count": 0}))
        .await
        .expect_422(&["body", "max_participants_count"]);
    admin
        .put(&path, json!({"max_participants_count": "many"}))
        .await
        .expect_422(&["body", "max_participants_count"]);
    // 422 before 404, 404 before the 400 rules.
    admin
        .put("/events/999999", json!({"max_participants_count": -1}))
        .await
        .expect_422(&["body", "max_participants_count"]);
    admin
        .put("/events/999999", json!({"name": null}))
        .await
        .expect_detail(404, NOT_FOUND);
    admin
        .put("/events/999999", json!({"ends_at": "2000-01-01T00:00:00Z"}))
        .await
        .expect_detail(404, NOT_FOUND);
    admin
        .put(&path, json!({"participants_ids": [999_999], "name": null}))
        .await
        .expect_detail(404, MISSING);
    // An empty update changes nothing and tells nobody.
    let before = notes(&srv, p.user_id, "EVENT_UPDATED").await;
    admin.put(&path, json!({})).await.expect(200);
    assert_eq!(notes(&srv, p.user_id, "EVENT_UPDATED").await, before);
    assert_eq!(
        admin.get(&path).await.expect(200),
        admin.put(&path, json!({})).await.expect(200)
    );
}

#[tokio::test]
async fn update_dates_against_created_at_and_reminder_reset() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let p = srv.user().await;
    let ev = create(&srv, &admin, json!({"participants_ids": [p.user_id]})).await;
    let path = format!("/events/{}", id(&ev));
    let created = ts(&ev["created_at"]);
    let (start, end) = (ts(&ev["starts_at"]), ts(&ev["ends_at"]));
    let iso = |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339();

    admin
        .put(
            &path,
            json!({"starts_at": iso(created.0 - Duration::hours(1))}),
        )
        .await
        .expect_detail(400, START_RULE);
    admin
        .put(&path, json!({"starts_at": created.to_string()}))
        .await
        .expect_detail(400, START_RULE);
    admin
        .put(&path, json!({"ends_at": start.to_string()}))
        .await
        .expect_detail(400, END_RULE);
    admin
        .put(&path, json!({"starts_at": iso(end.0 + Duration::hours(1))}))
        .await
        .expect_detail(400, END_RULE);
    let now = admin.get(&path).await.expect(200);
    assert_eq!(ts(&now["starts_at"]), start);

    // Mark the reminder as sent, then move the event: the mark is cleared.
    srv.sql_exec("UPDATE event_participant SET reminder_sent_at = 1", vec![])
        .await;
    let reminded = "SELECT count(*) FROM event_participant WHERE reminder_sent_at IS NOT NULL";
    admin
        .put(&path, json!({"name": "Same time"}))
        .await
        .expect(200);
    assert_eq!(srv.query_i64(reminded, vec![]).await, 1, "kept");
    // The clock moves on; the event may still be moved to just after its
    // creation (the past), because dates are checked against created_at.
    srv.clock.advance(Duration::hours(1));
    let moved = admin
        .put(
            &path,
            json!({"starts_at": iso(created.0 + Duration::milliseconds(1)),
                   "ends_at": iso(created.0 + Duration::minutes(30))}),
        )
        .await
        .expect(200);
    assert_eq!(moved["status"], "PAST");
    assert_eq!(srv.query_i64(reminded, vec![]).await, 0, "reset");
    assert_eq!(notes(&srv, p.user_id, "EVENT_UPDATED").await, 2);
}

#[tokio::test]
async fn update_participants_capacity_and_notifications() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let (a, b, c, d) = (
        srv.user().await,
        srv.user().await,
        srv.user().await,
        srv.user().await,
    );
    let gone = deleted(&srv, &admin, false).await;
    let ev = create(
        &srv,
        &admin,
        json!({"max_participants_count": 3, "participants_ids": [a.user_id, b.user_id]}),
    )
    .await;
    let eid = id(&ev);
    let path = format!("/events/{eid}");
    let b_joined = participants(&ev)[&b.user_id]["created_at"].clone();
    set_status(&d, eid, "REJECTED").await.expect(204);

    // Capacity on the result; nothing changes when refused.
    admin
        .put(&path, json!({"max_participants_count": 1}))
        .await
        .expect_detail(400, MAX_EXCEEDED);
    admin
        .put(
            &path,
            json!({"participants_ids": [a.user_id, b.user_id, c.user_id, d.user_id]}),
        )
        .await
        .expect_detail(400, MAX_EXCEEDED);
    admin
        .put(
            &path,
            json!({"participants_ids": [a.user_id, b.user_id, c.user_id],
                   "max_participants_count": 2}),
        )
        .await
        .expect_detail(400, MAX_EXCEEDED);
    admin
        .put(
            &path,
            json!({"participants_ids": [a.user_id, gone.user_id]}),
        )
        .await
        .expect_detail(404, MISSING);
    let same = admin.get(&path).await.expect(200);
    assert_eq!(same["max_participants_count"], 3);
    assert_eq!(participants(&same).len(), 3, "a, b and d's decline");
    assert_eq!(notes(&srv, a.user_id, "EVENT_UPDATED").await, 0);

    // Replace the set: b stays with its row, d's decline becomes
    // participation, a leaves, c joins.
    srv.clock.advance(Duration::minutes(10));
    let updated = admin
        .put(
            &path,
            json!({"participants_ids": [b.user_id, c.user_id, d.user_id, c.user_id]}),
        )
        .await
        .expect(200);
    let parts = participants(&updated);
    let mut keys: Vec<i64> = parts.keys().copied().collect();
    keys.sort();
    let mut want = vec![b.user_id, c.user_id, d.user_id];
    want.sort();
    assert_eq!(keys, want);
    assert!(parts.values().all(|p| p["status"] == "PARTICIPATING"));
    assert_eq!(
        parts[&b.user_id]["created_at"], b_joined,
        "stayer keeps its row"
    );
    assert_eq!(ts(&parts[&c.user_id]["created_at"]), now(&srv));
    for u in [&b, &c, &d] {
        assert_eq!(notes(&srv, u.user_id, "EVENT_UPDATED").await, 1);
    }
    assert_eq!(notes(&srv, a.user_id, "EVENT_UPDATED").await, 0, "a left");

    // Rejecting cancels: EVENT_CANCELLED instead of EVENT_UPDATED.
    let rejected_at = srv.now().to_string();
    let r = admin
        .put(&path, json!({"rejected_at": rejected_at}))
        .await
        .expect(200);
    assert_eq!(r["status"], "REJECTED");
    assert_eq!(ts(&r["rejected_at"]), now(&srv));
    for u in [&b, &c, &d] {
        assert_eq!(notes(&srv, u.user_id, "EVENT_CANCELLED").await, 1);
        assert_eq!(notes(&srv, u.user_id, "EVENT_UPDATED").await, 1);
    }
    assert_eq!(mails(&srv, "EVENT_CANCELLED").await, 3);
    let restored = admin
        .put(&path, json!({"rejected_at": null}))
        .await
        .expect(200);
    assert_eq!(restored["status"], "ACTIVE");
    assert_eq!(restored["rejected_at"], Value::Null);
    assert_eq!(notes(&srv, b.user_id, "EVENT_UPDATED").await, 2);

    let emptied = admin
        .put(&path, json!({"participants_ids": []}))
        .await
        .expect(200);
    assert_eq!(emptied["participants"], json!([]));
    let emptied = admin
        .put(
            &path,
            json!({"participants_ids": null, "max_participants_count": 1}),
        )
        .await
        .expect(200);
    assert_eq!(emptied["max_participants_count"], 1);
}

// ------------------------------------------------------------ cards

#[tokio::test]
async fn cards_shape_status_order_and_search() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let u = srv.user().await;
    let other = srv.user().await;
    let late = admin
        .post(
            "/events",
            body(
                &srv,
                50,
                json!({"name": "Лекция Жуков", "short_description": "Short",
                       "payment_info": "500 RUB", "location": "Room 7",
                       "max_participants_count": 3, "participants_ids": [other.user_id]}),
            ),
        )
        .await
        .expect(201);
    let early_a = admin
        .post("/events", body(&srv, 30, json!({"name": "лекция вторая"})))
        .await
        .expect(201);
    let early_b = admin
        .post("/events", body(&srv, 30, json!({"name": "Concert"})))
        .await
        .expect(201);
    let soon = admin
        .post("/events", body(&srv, 1, json!({})))
        .await
        .expect(201);
    let rejected = create(&srv, &admin, json!({})).await;
    admin
        .put(
            &format!("/events/{}", id(&rejected)),
            json!({"rejected_at": srv.now().to_string()}),
        )
        .await
        .expect(200);
    set_status(&u, id(&late), "REJECTED").await.expect(204);

    let list = cards(&u, "").await;
    assert_eq!(
        ids(&list),
        [id(&soon), id(&early_a), id(&early_b), id(&late)],
        "by starts_at, then id; rejected hidden"
    );
    assert_eq!(cards(&u, "?status=ACTIVE").await, list);
    let c = card(&list, id(&late)).unwrap();
    let mut keys: Vec<&str> = c.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "attendees_visible",
            "category_id",   // issue 19
            "checked_in_at", // issue 22
            "description",
            "ends_at",
            "id",
            "image_url",
            "location",
            "max_participants_count",
            "name",
            "participants_count",
            "participation_status",
            "payment_info",
            "series_id", // issue 22 (recurring events)
            "short_description",
            "starts_at",
            "status",
            "waitlist_count",
            "waitlist_position"
        ]
    );
    for k in [
        "name",
        "short_description",
        "description",
        "image_url",
        "location",
        "payment_info",
        "max_participants_count",
        "starts_at",
        "ends_at",
    ] {
        assert_eq!(c[k], late[k], "{k}");
    }
    assert_eq!(c["status"], "ACTIVE");
    assert_eq!(c["participants_count"], 1);
    assert_eq!(c["participation_status"], "REJECTED", "mine");
    let theirs = card(&cards(&other, "").await, id(&late)).unwrap();
    assert_eq!(theirs["participation_status"], "PARTICIPATING");
    assert_eq!(
        card(&list, id(&soon)).unwrap()["participation_status"],
        "NONE"
    );

    assert_eq!(
        ids(&cards(&u, &format!("?q={}", enc("ЛЕКЦИЯ"))).await),
        [id(&early_a), id(&late)]
    );
    assert_eq!(
        ids(&cards(&u, &format!("?q={}&limit=1&offset=1", enc("лекция"))).await),
        [id(&late)]
    );
    assert_eq!(ids(&cards(&u, "?limit=0").await), [id(&soon)]);
    assert_eq!(ids(&cards(&u, "?limit=5000").await).len(), 4);
    assert_eq!(ids(&cards(&u, "?offset=3").await), [id(&late)]);
    assert_eq!(cards(&u, "?status=REJECTED").await, json!([]));
    u.get("/events/cards?status=SOON")
        .await
        .expect_422(&["query", "status"]);
    u.get("/events/cards?offset=-1")
        .await
        .expect_422(&["query", "offset"]);

    // PAST after the clock moves past the first event's end.
    srv.clock.advance(Duration::hours(3));
    let past = cards(&u, "?status=PAST").await;
    assert_eq!(ids(&past), [id(&soon)]);
    assert_eq!(past[0]["status"], "PAST");
    assert!(!ids(&cards(&u, "").await).contains(&id(&soon)));
    // Administrators use the same route; it is not taken for an event id.
    assert_eq!(ids(&cards(&admin, "").await).len(), 3);
    admin
        .put("/events/cards", json!({}))
        .await
        .expect_detail(405, "Method Not Allowed");
}

// ------------------------------------------------------------ participation

#[tokio::test]
async fn participation_transitions_and_admin_notifications() {
    // Every transition is emailed here (coalescing has its own test).
    let srv = TestServer::with(|c| c.email.admin_notice_coalesce_minutes = 0).await;
    let admin = srv.admin().await;
    let admin2 = srv.admin().await;
    let retired = deleted(&srv, &admin, true).await;
    let u = srv.user().await;
    let v = srv.user().await;
    let ev = create(&srv, &admin, json!({"max_participants_count": 5})).await;
    let eid = id(&ev);
    let confirmed = |who: i64| notes(&srv, who, "EVENT_PARTICIPATION_CONFIRMED");
    let cancelled = |who: i64| notes(&srv, who, "EVENT_PARTICIPATION_CANCELLED");

    set_status(&u, eid, "PARTICIPATING").await.expect(204);
    let c = card(&cards(&u, "").await, eid).unwrap();
    assert_eq!(c["participation_status"], "PARTICIPATING");
    assert_eq!(c["participants_count"], 1);
    assert_eq!(
        card(&cards(&v, "").await, eid).unwrap()["participation_status"],
        "NONE"
    );
    for a in [&admin, &admin2] {
        assert_eq!(confirmed(a.user_id).await, 1);
    }
    assert_eq!(
        confirmed(retired.user_id).await,
        0,
        "deleted admins hear nothing"
    );
    assert_eq!(confirmed(u.user_id).await, 0);
    let list = admin.get("/notifications/instant").await.expect(200);
    let title = list
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["type"] == "EVENT_PARTICIPATION_CONFIRMED")
        .and_then(|n| n["title"].as_str())
        .unwrap()
        .to_string();
    assert!(title.contains("подтвердил участие"), "{title}");

    // The same status again sends nothing.
    set_status(&u, eid, "PARTICIPATING").await.expect(204);
    assert_eq!(confirmed(admin.user_id).await, 1);

    // PARTICIPATING → REJECTED: cancelled.
    set_status(&u, eid, "REJECTED").await.expect(204);
    let c = card(&cards(&u, "").await, eid).unwrap();
    assert_eq!(c["participation_status"], "REJECTED");
    assert_eq!(c["participants_count"], 0);
    assert_eq!(cancelled(admin.user_id).await, 1);
    let ev_now = admin.get(&format!("/events/{eid}")).await.expect(200);
    assert_eq!(participants(&ev_now)[&u.user_id]["status"], "REJECTED");
    // REJECTED → NONE: not a participation change, nothing sent.
    set_status(&u, eid, "NONE").await.expect(204);
    assert_eq!(cancelled(admin.user_id).await, 1);
    assert!(participants(&admin.get(&format!("/events/{eid}")).await.expect(200)).is_empty());
    // NONE → REJECTED → PARTICIPATING → NONE (the default).
    set_status(&u, eid, "REJECTED").await.expect(204);
    assert_eq!(confirmed(admin.user_id).await, 1);
    set_status(&u, eid, "PARTICIPATING").await.expect(204);
    assert_eq!(confirmed(admin.user_id).await, 2);
    u.put(&format!("/events/{eid}/participants/me"), json!({}))
        .await
        .expect(204);
    assert_eq!(cancelled(admin.user_id).await, 2);
    assert_eq!(
        card(&cards(&u, "").await, eid).unwrap()["participation_status"],
        "NONE"
    );
    assert_eq!(mails(&srv, "EVENT_PARTICIPATION_CANCELLED").await, 4);

    set_status(&u, eid, "MAYBE")
        .await
        .expect_422(&["body", "status"]);
    set_status(&u, 999_999, "MAYBE")
        .await
        .expect_422(&["body", "status"]);
    u.put("/events/x/participants/me", json!({}))
        .await
        .expect_422(&["path", "event_id"]);
}

#[tokio::test]
async fn participation_rules() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let first = srv.user().await;
    let second = srv.user().await;
    // Unknown or rejected → 404 for every status.
    let rejected = create(&srv, &admin, json!({"participants_ids": [first.user_id]})).await;
    admin
        .put(
            &format!("/events/{}", id(&rejected)),
            json!({"rejected_at": srv.now().to_string()}),
        )
        .await
        .expect(200);
    for status in ["PARTICIPATING", "REJECTED", "NONE"] {
        set_status(&first, id(&rejected), status)
            .await
            .expect_detail(404, NOT_FOUND);
        set_status(&first, 999_999, status)
            .await
            .expect_detail(404, NOT_FOUND);
    }
    // Capacity counts the others; re-asserting my own seat is fine.
    let ev = create(&srv, &admin, json!({"max_participants_count": 1})).await;
    let eid = id(&ev);
    set_status(&first, eid, "PARTICIPATING").await.expect(204);
    set_status(&second, eid, "PARTICIPATING")
        .await
        .expect_detail(400, MAX_EXCEEDED);
    set_status(&first, eid, "PARTICIPATING").await.expect(204);
    set_status(&second, eid, "REJECTED").await.expect(204);
    set_status(&first, eid, "NONE").await.expect(204);
    set_status(&second, eid, "PARTICIPATING").await.expect(204);

    // Finished events cannot be joined (time moves, no waiting).
    let short = admin
        .post("/events", body(&srv, 1, json!({})))
        .await
        .expect(201);
    srv.clock.advance(Duration::hours(3));
    set_status(&first, id(&short), "PARTICIPATING")
        .await
        .expect_detail(400, "Event already finished");
    set_status(&first, id(&short), "REJECTED").await.expect(204);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_users_race_for_ten_seats() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let mut users = Vec::new();
    for _ in 0..50 {
        users.push(srv.user().await);
    }
    let ev = create(&srv, &admin, json!({"max_participants_count": 10})).await;
    let eid = id(&ev);
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(users.len()));
    let mut tasks = Vec::new();
    for u in users.clone() {
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            set_status(&u, eid, "PARTICIPATING").await
        }));
    }
    let mut ok = Vec::new();
    let mut refused = 0;
    for (u, t) in users.iter().zip(tasks) {
        let r = t.await.unwrap();
        match r.status {
            204 => ok.push(u.user_id),
            _ => {
                r.expect_detail(400, MAX_EXCEEDED);
                refused += 1;
            }
        }
    }
    assert_eq!(ok.len(), 10);
    assert_eq!(refused, 40);
    let count = srv
        .query_i64(
            "SELECT count(*) FROM event_participant WHERE event_id = ?1 AND status = 'PARTICIPATING'",
            vec![json!(eid)],
        )
        .await;
    assert_eq!(count, 10);
    let mut stored: Vec<i64> =
        participants(&admin.get(&format!("/events/{eid}")).await.expect(200))
            .into_keys()
            .collect();
    stored.sort();
    ok.sort();
    assert_eq!(stored, ok);
    assert_eq!(
        notes(&srv, admin.user_id, "EVENT_PARTICIPATION_CONFIRMED").await,
        10
    );
}

// ------------------------------------------------------------ export

struct ExportSetup {
    event: Value,
    /// Participating, in join order.
    rows: Vec<(i64, String, String)>,
}

async fn export_setup(srv: &TestServer, admin: &Client) -> ExportSetup {
    let a = srv.user_with("a@example.com", "Анна, \"А\"", false).await;
    let b = srv.user_with("b@example.com", "Борис\nБ", false).await;
    let declined = srv.user().await;
    let evil = srv.user_with("evil@example.com", "=1+2 Evil", false).await;
    let event = create(
        srv,
        admin,
        json!({"name": "@Экспорт; x", "participants_ids": [a.user_id]}),
    )
    .await;
    let eid = id(&event);
    srv.clock.advance(Duration::seconds(1));
    set_status(&b, eid, "PARTICIPATING").await.expect(204);
    set_status(&declined, eid, "REJECTED").await.expect(204);
    srv.clock.advance(Duration::seconds(1));
    set_status(&evil, eid, "PARTICIPATING").await.expect(204);
    let rows = vec![
        (a.user_id, "a@example.com".into(), "Анна, \"А\"".into()),
        (b.user_id, "b@example.com".into(), "Борис\nБ".into()),
        (evil.user_id, "evil@example.com".into(), "'=1+2 Evil".into()),
    ];
    ExportSetup { event, rows }
}

fn joined_at(ev: &Value, user_id: i64) -> String {
    participants(ev)[&user_id]["created_at"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn export_csv_and_xlsx() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let setup = export_setup(&srv, &admin).await;
    let eid = id(&setup.event);
    let ev = admin.get(&format!("/events/{eid}")).await.expect(200);
    let name = "'@Экспорт; x";
    let expected: Vec<Vec<String>> = setup
        .rows
        .iter()
        .map(|(uid, email, full_name)| {
            vec![
                uid.to_string(),
                email.clone(),
                full_name.clone(),
                "PARTICIPATING".into(),
                joined_at(&ev, *uid),
                eid.to_string(),
                name.into(),
            ]
        })
        .collect();

    for query in ["", "?format=csv", "?format=CSV"] {
        let r = admin
            .get(&format!("/events/{eid}/participants/export{query}"))
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(
            r.header("content-type").as_deref(),
            Some("text/csv; charset=utf-8")
        );
        assert_eq!(
            r.header("content-disposition").unwrap(),
            format!("attachment; filename=\"event_{eid}_participants.csv\"")
        );
        assert!(!r.bytes.starts_with(&[0xEF, 0xBB, 0xBF]), "no BOM");
        let mut reader = csv::Reader::from_reader(r.bytes.as_slice());
        let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
        assert_eq!(header, COLUMNS);
        let rows: Vec<Vec<String>> = reader
            .records()
            .map(|rec| rec.unwrap().iter().map(String::from).collect())
            .collect();
        assert_eq!(rows, expected);
        assert!(Ts::parse(&rows[0][4]).is_some());
    }

    for query in ["?format=xlsx", "?format=XlSx"] {
        let r = admin
            .get(&format!("/events/{eid}/participants/export{query}"))
            .await;
        assert_eq!(r.status, 200);
        assert_eq!(
            r.header("content-type").as_deref(),
            Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        );
        assert_eq!(
            r.header("content-disposition").unwrap(),
            format!("attachment; filename=\"event_{eid}_participants.xlsx\"")
        );
        use calamine::Reader;
        let mut book: calamine::Xlsx<_> =
            calamine::open_workbook_from_rs(Cursor::new(r.bytes.clone())).unwrap();
        assert_eq!(book.sheet_names().len(), 1, "one sheet");
        let range = book.worksheet_range_at(0).unwrap().unwrap();
        let cells: Vec<Vec<String>> = range
            .rows()
            .map(|row| {
                row.iter()
                    .map(|c| match c {
                        calamine::Data::Float(f) => format!("{f}"),
                        calamine::Data::Int(i) => i.to_string(),
                        other => other.to_string(),
                    })
                    .collect()
            })
            .collect();
        assert_eq!(cells[0], COLUMNS);
        assert_eq!(cells[1..].to_vec(), expected);
        // No formulas anywhere.
        let formulas = book.worksheet_formula("Participants").unwrap();
        assert!(formulas.cells().all(|(_, _, f)| f.is_empty()));
    }

    admin
        .get(&format!("/events/{eid}/participants/export?format=pdf"))
        .await
        .expect_detail(400, "Unsupported format");
    admin
        .get("/events/999999/participants/export?format=pdf")
        .await
        .expect_detail(404, NOT_FOUND);
    admin
        .get("/events/x/participants/export")
        .await
        .expect_422(&["path", "event_id"]);
    let empty = create(&srv, &admin, json!({})).await;
    let r = admin
        .get(&format!("/events/{}/participants/export", id(&empty)))
        .await;
    assert_eq!(r.text(), COLUMNS.join(",") + "\n");
}

// ------------------------------------------------------------ ics

#[tokio::test]
async fn ics_calendar_line_by_line() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let u = srv.user().await;
    let long =
        "Очень длинное описание события; с запятыми, обратной \\ чертой\nи переводом строки. "
            .repeat(3);
    let ev = create(
        &srv,
        &admin,
        json!({"name": "Встреча, итоги; план", "location": "Зал 1", "description": long}),
    )
    .await;
    let eid = id(&ev);
    let r = u.get(&format!("/events/{eid}/ics")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("text/calendar; charset=utf-8")
    );
    let text = r.text();
    assert!(text.ends_with("\r\n"));
    let physical: Vec<&str> = text.trim_end_matches("\r\n").split("\r\n").collect();
    for line in &physical {
        assert!(
            !line.contains('\n') && !line.contains('\r'),
            "bare LF: {line:?}"
        );
        assert!(line.len() <= 75, "{} octets: {line}", line.len());
    }
    assert!(
        physical.iter().filter(|l| l.starts_with(' ')).count() >= 3,
        "folded"
    );
    // Unfold and read the properties.
    let unfolded = text.replace("\r\n ", "");
    let lines: Vec<&str> = unfolded.trim_end_matches("\r\n").split("\r\n").collect();
    let prop = |name: &str| -> Vec<String> {
        lines
            .iter()
            .filter_map(|l| l.strip_prefix(&format!("{name}:")).map(String::from))
            .collect()
    };
    assert_eq!(lines.first(), Some(&"BEGIN:VCALENDAR"));
    assert_eq!(lines.last(), Some(&"END:VCALENDAR"));
    assert_eq!(prop("VERSION"), ["2.0"]);
    assert!(!prop("PRODID").is_empty());
    assert_eq!(prop("BEGIN"), ["VCALENDAR", "VEVENT"]);
    assert_eq!(prop("END"), ["VEVENT", "VCALENDAR"]);
    let stamp = |v: &Value| ts(v).0.format("%Y%m%dT%H%M%SZ").to_string();
    assert_eq!(prop("DTSTART"), [stamp(&ev["starts_at"])]);
    assert_eq!(prop("DTEND"), [stamp(&ev["ends_at"])]);
    assert_eq!(
        prop("DTSTAMP"),
        [srv.now().0.format("%Y%m%dT%H%M%SZ").to_string()]
    );
    assert_eq!(prop("SUMMARY"), ["Встреча\\, итоги\\; план"]);
    assert_eq!(prop("LOCATION"), ["Зал 1"]);
    let escaped = long
        .replace('\\', "\\\\")
        .replace(';', "\\;")
        .replace(',', "\\,")
        .replace('\n', "\\n");
    assert_eq!(prop("DESCRIPTION"), [escaped]);
    assert_eq!(prop("URL"), [format!("{}/events/{eid}", srv.base)]);
    let uid = prop("UID");
    assert_eq!(uid.len(), 1);
    assert!(uid[0].contains(&eid.to_string()));
    // UID stable per event and time; a different event gets another.
    srv.clock.advance(Duration::hours(1));
    let again = admin.get(&format!("/events/{eid}/ics")).await.text();
    assert!(again.contains(&format!("UID:{}\r\n", uid[0])));
    let other = create(&srv, &admin, json!({})).await;
    let other_text = u.get(&format!("/events/{}/ics", id(&other))).await.text();
    assert!(!other_text.contains(&format!("UID:{}\r\n", uid[0])));
    assert!(!other_text.contains("LOCATION"), "no location, no property");

    u.get("/events/999999/ics")
        .await
        .expect_detail(404, NOT_FOUND);
    u.get("/events/x/ics")
        .await
        .expect_422(&["path", "event_id"]);
    admin
        .put(
            &format!("/events/{eid}"),
            json!({"rejected_at": srv.now().to_string()}),
        )
        .await
        .expect(200);
    u.get(&format!("/events/{eid}/ics"))
        .await
        .expect_detail(404, NOT_FOUND);
}

// ------------------------------------------------------------ statistics

fn scalars(stats: &Value) -> HashMap<String, Value> {
    stats["scalars"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].as_str().unwrap().to_string(), s["value"].clone()))
        .collect()
}

/// The `points` of a graph or the `bins` of a histogram, by name.
fn series(stats: &Value, group: &str, name: &str, items: &str) -> Value {
    stats[group]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == name)
        .unwrap_or_else(|| panic!("{group} {name}"))[items]
        .clone()
}

#[tokio::test]
async fn statistics_for_a_crafted_data_set() {
    let srv = TestServer::start().await;
    // A fixed, known "now": 2031-03-10 12:00 UTC.
    // One user joined long ago; "now" is then fixed at 2031-03-10 12:00 UTC.
    srv.clock.set(Ts::parse("2031-01-01T12:00:00Z").unwrap().0);
    let _old = srv.user().await;
    srv.clock.set(Ts::parse("2031-03-10T12:00:00Z").unwrap().0);
    let admin = srv.admin().await;
    let mut people = Vec::new();
    for _ in 0..6 {
        people.push(srv.user().await);
    }
    let p: Vec<i64> = people.iter().map(|c| c.user_id).collect();
    let me = &people[0];

    let empty = me.get("/users/me/statistics").await.expect(200);
    assert_eq!(
        empty,
        json!({"total_events": 0, "active_events": 0, "past_events": 0,
               "participating_events": 0, "rejected_events": 0,
               "upcoming_participations": 0, "participation_rate": 0.0,
               "waitlisted_events": 0})
    );

    let make = |start: &str, end: &str, extra: Value| {
        let mut b = json!({"name": "S", "description": "", "image_url": "https://example.com/s.png",
                           "starts_at": start, "ends_at": end});
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        let admin = admin.clone();
        async move { admin.post("/events", b).await.expect(201) }
    };
    // Day A = 2031-03-11 (UTC). One event given at +03:00 lands on day A too.
    let soon = make(
        "2031-03-10T13:00:00Z",
        "2031-03-10T14:00:00Z",
        json!({"max_participants_count": 1, "participants_ids": [p[0]]}),
    )
    .await; // becomes past: 1 of 1 → 100%+
    make(
        "2031-03-12T01:30:00+03:00",
        "2031-03-12T03:00:00+03:00",
        json!({"max_participants_count": 4, "participants_ids": [p[0], p[1], p[2]]}),
    )
    .await; // day A, 3 of 4 → 75-100%
    make(
        "2031-03-11T23:00:00Z",
        "2031-03-11T23:30:00Z",
        json!({"max_participants_count": 4, "participants_ids": [p[1]]}),
    )
    .await; // day A, 1 of 4 → 25-50%
    make(
        "2031-03-12T10:00:00Z",
        "2031-03-12T11:00:00Z",
        json!({"max_participants_count": 4}),
    )
    .await; // day B, 0 → 0-25%
    make(
        "2031-03-12T12:00:00Z",
        "2031-03-12T13:00:00Z",
        json!({"max_participants_count": 4, "participants_ids": [p[2], p[3]]}),
    )
    .await; // day B, 2 of 4 → 50-75%
    make(
        "2031-03-13T10:00:00Z",
        "2031-03-13T11:00:00Z",
        json!({"participants_ids": p.clone()}),
    )
    .await; // day C, 6, no maximum
    make(
        "2031-03-13T12:00:00Z",
        "2031-03-13T13:00:00Z",
        json!({"participants_ids": [p[0], p[1], p[2], p[3]]}),
    )
    .await; // day C, 4, no maximum
    let rejected = make(
        "2031-03-11T10:00:00Z",
        "2031-03-11T11:00:00Z",
        json!({"max_participants_count": 2, "participants_ids": [p[0], p[5]]}),
    )
    .await;
    admin
        .put(
            &format!("/events/{}", id(&rejected)),
            json!({"rejected_at": "2031-03-10T12:00:00Z"}),
        )
        .await
        .expect(200);
    let declined = make("2031-03-14T10:00:00Z", "2031-03-14T11:00:00Z", json!({})).await;
    set_status(&people[4], id(&declined), "REJECTED")
        .await
        .expect(204); // day D, 0, no maximum
    // A deleted user counts nowhere; the old one is not new.
    let _gone = deleted(&srv, &admin, false).await;
    srv.clock.advance(Duration::hours(3)); // `soon` is now past
    assert_eq!(
        admin
            .get(&format!("/events/{}", id(&soon)))
            .await
            .expect(200)["status"],
        "PAST"
    );
    let _fresh = srv.user().await;

    let stats = admin.get("/statistics").await.expect(200);
    let s = scalars(&stats);
    let want = json!({
        "events_total": 8, "active_events": 7, "past_events": 1, "rejected_events": 1,
        "total_participations": 17, // 1 + 3 + 1 + 0 + 2 + 6 + 4
        "unique_participants": 6,
        "avg_participants_per_event": 17.0 / 8.0,
        "users_total": 1 + 1 + 6 + 1,
        "new_users_last_30_days": 8,
    });
    for (k, v) in want.as_object().unwrap() {
        assert_eq!(&s[k], v, "{k}");
    }
    assert_eq!(s.len(), 9);
    let points = |pairs: &[(&str, i64)]| {
        Value::from(
            pairs
                .iter()
                .map(|(x, y)| json!({"x": x, "y": y}))
                .collect::<Vec<_>>(),
        )
    };
    assert_eq!(
        series(&stats, "graphs", "events_by_start_date", "points"),
        points(&[
            ("2031-03-10", 1),
            ("2031-03-11", 2),
            ("2031-03-12", 2),
            ("2031-03-13", 2),
            ("2031-03-14", 1),
        ])
    );
    assert_eq!(
        series(&stats, "graphs", "participants_by_start_date", "points"),
        points(&[
            ("2031-03-10", 1),
            ("2031-03-11", 4),
            ("2031-03-12", 2),
            ("2031-03-13", 10),
            ("2031-03-14", 0),
        ])
    );
    assert_eq!(
        series(&stats, "histograms", "participants_per_event", "bins"),
        json!([
            {"label": "0", "from_value": 0.0, "to_value": 0.0, "count": 2},
            {"label": "1", "from_value": 1.0, "to_value": 1.0, "count": 2},
            {"label": "2-3", "from_value": 2.0, "to_value": 3.0, "count": 2},
            {"label": "4-5", "from_value": 4.0, "to_value": 5.0, "count": 1},
            {"label": "6+", "from_value": 6.0, "to_value": null, "count": 1},
        ])
    );
    assert_eq!(
        series(&stats, "histograms", "capacity_fill_rate", "bins"),
        json!([
            {"label": "0-25%", "from_value": 0.0, "to_value": 0.25, "count": 1},
            {"label": "25-50%", "from_value": 0.25, "to_value": 0.5, "count": 1},
            {"label": "50-75%", "from_value": 0.5, "to_value": 0.75, "count": 1},
            {"label": "75-100%", "from_value": 0.75, "to_value": 1.0, "count": 1},
            {"label": "100%+", "from_value": 1.0, "to_value": null, "count": 1},
        ])
    );
    assert_eq!(stats["graphs"].as_array().unwrap().len(), 2);
    assert_eq!(stats["histograms"].as_array().unwrap().len(), 2);

    // Mine: participating in soon (past), day-A×1, day-C×2; the rejected one.
    let mine = me.get("/users/me/statistics").await.expect(200);
    assert_eq!(
        mine,
        json!({"total_events": 8, "active_events": 7, "past_events": 1,
               "participating_events": 4, "rejected_events": 1,
               "upcoming_participations": 3, "participation_rate": 0.5,
               "waitlisted_events": 0})
    );
    let decliner = people[4].get("/users/me/statistics").await.expect(200);
    assert_eq!(decliner["participating_events"], 1);
    assert_eq!(
        decliner["rejected_events"], 0,
        "declining is not a rejected event"
    );
    admin.get("/statistics").await.expect(200);
    people[1]
        .get("/statistics")
        .await
        .expect_detail(403, "Administrator role required");
}

/// Cards and statistics are served from snapshots; they must still change
/// when only time passes (an event ends) and right after any write.
#[tokio::test]
async fn cached_answers_follow_time_and_writes() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let user = srv.user().await;
    let scalar = |stats: &Value, name: &str| scalars(stats)[name].as_f64().unwrap();
    let ev = admin
        .post(
            "/events",
            serde_json::json!({"name": "Soon over", "description": "", "starts_at": at(&srv, 1),
                               "ends_at": at(&srv, 2), "image_url": "https://img.test/a.png"}),
        )
        .await
        .expect(201);
    let stats = admin.get("/statistics").await.expect(200);
    assert_eq!(scalar(&stats, "active_events"), 1.0);
    let cards = user.get("/events/cards").await.expect(200);
    assert_eq!(cards.as_array().unwrap().len(), 1);
    assert_eq!(cards[0]["participation_status"], "NONE");
    // A write shows at once.
    user.put(
        &format!("/events/{}/participants/me", ev["id"]),
        serde_json::json!({"status": "PARTICIPATING"}),
    )
    .await
    .expect(204);
    let cards = user.get("/events/cards").await.expect(200);
    assert_eq!(cards[0]["participation_status"], "PARTICIPATING");
    assert_eq!(cards[0]["participants_count"], 1);
    assert_eq!(
        scalar(
            &admin.get("/statistics").await.expect(200),
            "total_participations"
        ),
        1.0
    );
    // Only time passes: the event ends.
    srv.clock.advance(chrono::Duration::hours(3));
    let stats = admin.get("/statistics").await.expect(200);
    assert_eq!(scalar(&stats, "active_events"), 0.0);
    assert_eq!(scalar(&stats, "past_events"), 1.0);
    assert!(
        user.get("/events/cards")
            .await
            .expect(200)
            .as_array()
            .unwrap()
            .is_empty()
    );
    let past = user.get("/events/cards?status=PAST").await.expect(200);
    assert_eq!(past[0]["status"], "PAST");
}
