//! Issue 18: the waiting list of a full event and its promotions, one
//! event's card, and who is going — over real HTTP, on the backend the run
//! selects (SQLite, or PostgreSQL under `scripts/test-postgres.sh`).

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use chrono::Duration;
use common::*;
use serde_json::{Value, json};

const MAX_EXCEEDED: &str = "Max participants count exceeded";
const FREE_SEATS: &str = "Event has free seats";
const FINISHED: &str = "Event already finished";
const NOT_FOUND: &str = "Event not found";
const HIDDEN: &str = "Attendees are hidden";
const PROMOTED: &str = "WAITLIST_PROMOTED";

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

async fn create(srv: &TestServer, admin: &Client, extra: Value) -> i64 {
    admin
        .post("/events", body(srv, 48, extra))
        .await
        .expect(201)["id"]
        .as_i64()
        .expect("id")
}

async fn set_status(c: &Client, event_id: i64, status: &str) -> Resp {
    c.put(
        &format!("/events/{event_id}/participants/me"),
        json!({ "status": status }),
    )
    .await
}

async fn update(admin: &Client, event_id: i64, body: Value) -> Value {
    admin
        .put(&format!("/events/{event_id}"), body)
        .await
        .expect(200)
}

/// Rows of an event with `status`, counted in the database.
async fn count(srv: &TestServer, event_id: i64, status: &str) -> i64 {
    srv.query_i64(
        "SELECT count(*) FROM event_participant WHERE event_id = ?1 AND status = ?2",
        vec![json!(event_id), json!(status)],
    )
    .await
}

/// The waiting list as stored, first in line first.
async fn stored_list(srv: &TestServer, event_id: i64) -> Vec<i64> {
    srv.sql_rows(
        "SELECT user_id FROM event_participant WHERE event_id = ?1 AND status = 'WAITLISTED'
         ORDER BY created_at, id",
        vec![json!(event_id)],
    )
    .await
    .iter()
    .map(|r| r[0].as_i64().unwrap())
    .collect()
}

/// The waiting list as administrators see it on the event.
fn admin_list(ev: &Value) -> Vec<i64> {
    let list = ev["waitlist"].as_array().expect("waitlist");
    for (i, entry) in list.iter().enumerate() {
        assert_eq!(entry["position"], json!(i + 1), "{ev}");
    }
    assert_eq!(ev["waitlist_count"], json!(list.len()));
    list.iter()
        .map(|e| e["user_id"].as_i64().unwrap())
        .collect()
}

async fn in_app(srv: &TestServer, user_id: i64, kind: &str) -> i64 {
    srv.query_i64(
        "SELECT count(*) FROM instant_notification WHERE recipient_id = ?1 AND type = ?2",
        vec![json!(user_id), json!(kind)],
    )
    .await
}

/// Email jobs of `kind` to the user's address.
async fn email_jobs(srv: &TestServer, user_id: i64, kind: &str) -> i64 {
    srv.query_i64(
        "SELECT count(*) FROM job WHERE json_extract(payload, '$.kind') = ?1
           AND json_extract(payload, '$.to_email') = (SELECT email FROM user WHERE id = ?2)",
        vec![json!(kind), json!(user_id)],
    )
    .await
}

async fn all_email_jobs(srv: &TestServer, kind: &str) -> i64 {
    srv.query_i64(
        "SELECT count(*) FROM job WHERE json_extract(payload, '$.kind') = ?1",
        vec![json!(kind)],
    )
    .await
}

async fn my_card(c: &Client, event_id: i64) -> Value {
    c.get(&format!("/events/{event_id}/card")).await.expect(200)
}

/// `n` users whose order of creation is known.
async fn users(srv: &TestServer, n: usize) -> Vec<Client> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(srv.user().await);
    }
    out
}

/// Joins the waiting list one after another, a second apart: the list's
/// order is the order of `who`.
async fn queue(srv: &TestServer, who: &[Client], event_id: i64) {
    for c in who {
        srv.clock.advance(Duration::seconds(1));
        set_status(c, event_id, "WAITLISTED").await.expect(204);
    }
}

fn ids(clients: &[Client]) -> Vec<i64> {
    clients.iter().map(|c| c.user_id).collect()
}

// ------------------------------------------------------------ the race

#[tokio::test]
async fn fifty_users_ten_seats_forty_waiting_then_five_leave() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let people = users(&srv, 50).await;
    let eid = create(&srv, &admin, json!({"max_participants_count": 10})).await;

    // 1. Fifty race for ten seats.
    let barrier = Arc::new(tokio::sync::Barrier::new(people.len()));
    let mut tasks = Vec::new();
    for u in people.clone() {
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            set_status(&u, eid, "PARTICIPATING").await
        }));
    }
    let (mut going, mut refused) = (Vec::new(), Vec::new());
    for (u, t) in people.iter().zip(tasks) {
        let r = t.await.unwrap();
        if r.status == 204 {
            going.push(u.clone());
        } else {
            r.expect_detail(400, MAX_EXCEEDED);
            refused.push(u.clone());
        }
    }
    assert_eq!((going.len(), refused.len()), (10, 40));
    assert_eq!(count(&srv, eid, "PARTICIPATING").await, 10);
    assert_eq!(count(&srv, eid, "WAITLISTED").await, 0);

    // 2. The other forty join the waiting list at once.
    let barrier = Arc::new(tokio::sync::Barrier::new(refused.len()));
    let mut tasks = Vec::new();
    for u in refused.clone() {
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            set_status(&u, eid, "WAITLISTED").await
        }));
    }
    for t in tasks {
        t.await.unwrap().expect(204);
    }
    assert_eq!(count(&srv, eid, "PARTICIPATING").await, 10);
    assert_eq!(count(&srv, eid, "WAITLISTED").await, 40);
    let list = stored_list(&srv, eid).await;
    let ev = admin.get(&format!("/events/{eid}")).await.expect(200);
    assert_eq!(
        admin_list(&ev),
        list,
        "administrators see the list in join order"
    );
    assert_eq!(
        list.iter().copied().collect::<HashSet<_>>(),
        ids(&refused).into_iter().collect::<HashSet<_>>()
    );
    assert!(
        ev["participants"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["status"] == "PARTICIPATING"),
        "waiting users are in `waitlist`, not in `participants`"
    );
    // Each waiting user reads their own place on the card and in the list.
    for u in &refused {
        let place = list.iter().position(|id| *id == u.user_id).unwrap() as i64 + 1;
        let card = my_card(u, eid).await;
        assert_eq!(card["participation_status"], "WAITLISTED");
        assert_eq!(card["waitlist_position"], json!(place));
        assert_eq!(card["waitlist_count"], 40);
        assert_eq!(card["participants_count"], 10);
        let cards = u.get("/events/cards").await.expect(200);
        let listed = cards
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == eid)
            .cloned()
            .unwrap();
        assert_eq!(listed["waitlist_position"], json!(place));
        assert_eq!(listed["participation_status"], "WAITLISTED");
    }
    let going_card = my_card(&going[0], eid).await;
    assert_eq!(going_card["participation_status"], "PARTICIPATING");
    assert_eq!(going_card["waitlist_position"], Value::Null);
    // Asking again keeps one's place.
    let third = refused.iter().find(|u| u.user_id == list[2]).unwrap();
    set_status(third, eid, "WAITLISTED").await.expect(204);
    assert_eq!(stored_list(&srv, eid).await, list);

    // 3. Five participants leave at once (two decline, three forget),
    // while the database is watched: never more than ten participate.
    let watching = Arc::new(AtomicBool::new(true));
    let looks = Arc::new(AtomicU64::new(0));
    let watcher = {
        let (watching, looks) = (watching.clone(), looks.clone());
        let store = srv.state.svc.store.clone();
        tokio::spawn(async move {
            while watching.load(Ordering::SeqCst) {
                let rows = sql_rows(
                    &store,
                    "SELECT count(*) FROM event_participant
                     WHERE event_id = ?1 AND status = 'PARTICIPATING'",
                    vec![json!(eid)],
                )
                .await;
                let n = rows[0][0].as_i64().unwrap();
                assert!(n <= 10, "{n} participants on a 10-seat event");
                looks.fetch_add(1, Ordering::SeqCst);
                tokio::task::yield_now().await;
            }
        })
    };
    let barrier = Arc::new(tokio::sync::Barrier::new(5));
    let mut tasks = Vec::new();
    for (i, u) in going.iter().take(5).cloned().enumerate() {
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let status = if i < 2 { "REJECTED" } else { "NONE" };
            set_status(&u, eid, status).await
        }));
    }
    for t in tasks {
        t.await.unwrap().expect(204);
    }
    watching.store(false, Ordering::SeqCst);
    watcher.await.expect("never above the maximum");
    assert!(looks.load(Ordering::SeqCst) > 0);

    assert_eq!(count(&srv, eid, "PARTICIPATING").await, 10);
    assert_eq!(count(&srv, eid, "WAITLISTED").await, 35);
    let first_five: Vec<i64> = list[..5].to_vec();
    let mut now_going: Vec<i64> = srv
        .sql_rows(
            "SELECT user_id FROM event_participant WHERE event_id = ?1 AND status = 'PARTICIPATING'",
            vec![json!(eid)],
        )
        .await
        .iter()
        .map(|r| r[0].as_i64().unwrap())
        .collect();
    now_going.sort();
    let mut want: Vec<i64> = ids(&going[5..])
        .into_iter()
        .chain(first_five.clone())
        .collect();
    want.sort();
    assert_eq!(
        now_going, want,
        "exactly the first five of the list moved up"
    );
    assert_eq!(stored_list(&srv, eid).await, list[5..].to_vec());
    // Each promoted user is told once, in the app and by email; nobody else.
    for id in &list {
        let expected = i64::from(first_five.contains(id));
        assert_eq!(in_app(&srv, *id, PROMOTED).await, expected, "user {id}");
        assert_eq!(email_jobs(&srv, *id, PROMOTED).await, expected, "user {id}");
    }
    assert_eq!(all_email_jobs(&srv, PROMOTED).await, 5);
    let promoted = refused.iter().find(|u| u.user_id == list[0]).unwrap();
    let card = my_card(promoted, eid).await;
    assert_eq!(card["participation_status"], "PARTICIPATING");
    assert_eq!(card["waitlist_position"], Value::Null);
    let next = refused.iter().find(|u| u.user_id == list[5]).unwrap();
    assert_eq!(my_card(next, eid).await["waitlist_position"], 1);
    let notes = promoted.get("/notifications/instant").await.expect(200);
    assert!(
        notes.to_string().contains(PROMOTED),
        "the in-app notification is listed: {notes}"
    );
}

// ------------------------------------------------------------ seats freed by administrators

#[tokio::test]
async fn raising_and_removing_the_maximum_promotes_in_order() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let inside = users(&srv, 2).await;
    let waiting = users(&srv, 6).await;
    let eid = create(
        &srv,
        &admin,
        json!({"max_participants_count": 2, "participants_ids": ids(&inside)}),
    )
    .await;
    queue(&srv, &waiting, eid).await;
    assert_eq!(stored_list(&srv, eid).await, ids(&waiting));

    // Lowering below the participants is refused, as before; nobody moves.
    admin
        .put(
            &format!("/events/{eid}"),
            json!({"max_participants_count": 1}),
        )
        .await
        .expect_detail(400, MAX_EXCEEDED);
    assert_eq!(count(&srv, eid, "WAITLISTED").await, 6);

    // +3 seats: the first three move up.
    let ev = update(&admin, eid, json!({"max_participants_count": 5})).await;
    assert_eq!(count(&srv, eid, "PARTICIPATING").await, 5);
    assert_eq!(admin_list(&ev), ids(&waiting[3..]));
    assert_eq!(stored_list(&srv, eid).await, ids(&waiting[3..]));
    for (i, u) in waiting.iter().enumerate() {
        let expected = i64::from(i < 3);
        assert_eq!(in_app(&srv, u.user_id, PROMOTED).await, expected);
        assert_eq!(email_jobs(&srv, u.user_id, PROMOTED).await, expected);
        assert_eq!(in_app(&srv, u.user_id, "EVENT_UPDATED").await, 0);
    }
    for u in &inside {
        assert_eq!(in_app(&srv, u.user_id, "EVENT_UPDATED").await, 1);
    }

    // No limit: everyone left moves up.
    let ev = update(&admin, eid, json!({"max_participants_count": null})).await;
    assert_eq!(ev["waitlist_count"], 0);
    assert_eq!(count(&srv, eid, "PARTICIPATING").await, 8);
    assert_eq!(count(&srv, eid, "WAITLISTED").await, 0);
    for u in &waiting {
        assert_eq!(in_app(&srv, u.user_id, PROMOTED).await, 1);
    }
    assert_eq!(all_email_jobs(&srv, PROMOTED).await, 6);
}

#[tokio::test]
async fn removing_participants_promotes_and_keeps_the_list() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let inside = users(&srv, 2).await;
    let waiting = users(&srv, 3).await;
    let eid = create(
        &srv,
        &admin,
        json!({"max_participants_count": 2, "participants_ids": ids(&inside)}),
    )
    .await;
    queue(&srv, &waiting, eid).await;

    // The administrator removes one participant: the first in line moves
    // up, the others keep their places.
    let ev = update(
        &admin,
        eid,
        json!({"participants_ids": [inside[0].user_id]}),
    )
    .await;
    assert_eq!(count(&srv, eid, "PARTICIPATING").await, 2);
    assert_eq!(admin_list(&ev), ids(&waiting[1..]));
    assert_eq!(in_app(&srv, waiting[0].user_id, PROMOTED).await, 1);

    // Listing a waiting user makes them a participant (taken off the list).
    let ev = update(
        &admin,
        eid,
        json!({"participants_ids": [inside[0].user_id, waiting[2].user_id]}),
    )
    .await;
    // waiting[0] (promoted above) is not in the set and goes; the two
    // seats are the listed users', so waiting[1] keeps waiting.
    assert_eq!(admin_list(&ev), vec![waiting[1].user_id]);
    let mut going: Vec<i64> = srv
        .sql_rows(
            "SELECT user_id FROM event_participant WHERE event_id = ?1 AND status = 'PARTICIPATING'",
            vec![json!(eid)],
        )
        .await
        .iter()
        .map(|r| r[0].as_i64().unwrap())
        .collect();
    going.sort();
    let mut want = vec![inside[0].user_id, waiting[2].user_id];
    want.sort();
    assert_eq!(going, want);
    assert_eq!(count(&srv, eid, "WAITLISTED").await, 1);
    assert_eq!(stored_list(&srv, eid).await, vec![waiting[1].user_id]);
    assert_eq!(in_app(&srv, waiting[1].user_id, PROMOTED).await, 0);
}

#[tokio::test]
async fn cancelled_and_finished_events_promote_nobody() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let inside = users(&srv, 2).await;
    let waiting = users(&srv, 2).await;

    // Cancelled: the cancellation and everything after it promote nobody.
    let eid = create(
        &srv,
        &admin,
        json!({"max_participants_count": 1, "participants_ids": [inside[0].user_id]}),
    )
    .await;
    queue(&srv, &waiting, eid).await;
    let cancel = update(
        &admin,
        eid,
        json!({"rejected_at": srv.now().0.to_rfc3339(), "max_participants_count": 3}),
    )
    .await;
    assert_eq!(cancel["status"], "REJECTED");
    assert_eq!(count(&srv, eid, "WAITLISTED").await, 2);
    update(&admin, eid, json!({"participants_ids": []})).await;
    assert_eq!(count(&srv, eid, "PARTICIPATING").await, 0);
    assert_eq!(count(&srv, eid, "WAITLISTED").await, 2);
    set_status(&waiting[0], eid, "PARTICIPATING")
        .await
        .expect_detail(404, NOT_FOUND);
    assert_eq!(all_email_jobs(&srv, PROMOTED).await, 0);
    // Restored, the event has free seats again: its list moves up.
    let restored = update(&admin, eid, json!({"rejected_at": null})).await;
    assert_eq!(restored["waitlist_count"], 0);
    assert_eq!(count(&srv, eid, "PARTICIPATING").await, 2);
    assert_eq!(all_email_jobs(&srv, PROMOTED).await, 2);

    // Finished: the waiting list is inert.
    let past = create(
        &srv,
        &admin,
        json!({"max_participants_count": 1, "participants_ids": [inside[1].user_id]}),
    )
    .await;
    queue(&srv, &waiting, past).await;
    srv.clock.advance(Duration::hours(51));
    assert_eq!(my_card(&inside[1], past).await["status"], "PAST");
    set_status(&inside[1], past, "REJECTED").await.expect(204);
    update(&admin, past, json!({"max_participants_count": 10})).await;
    assert_eq!(count(&srv, past, "PARTICIPATING").await, 0);
    assert_eq!(stored_list(&srv, past).await, ids(&waiting));
    set_status(&inside[0], past, "WAITLISTED")
        .await
        .expect_detail(400, FINISHED);
    assert_eq!(all_email_jobs(&srv, PROMOTED).await, 2);
    let card = my_card(&waiting[1], past).await;
    assert_eq!(card["participation_status"], "WAITLISTED");
    assert_eq!(card["waitlist_position"], 2);
}

// ------------------------------------------------------------ rules

#[tokio::test]
async fn waiting_list_rules_statistics_and_export() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let a = srv.user_with("wl-a@example.com", "Анна", false).await;
    let b = srv.user_with("wl-b@example.com", "Борис", false).await;
    let c = srv.user_with("wl-c@example.com", "Вера", false).await;
    let unlimited = create(&srv, &admin, json!({})).await;
    let eid = create(&srv, &admin, json!({"max_participants_count": 1})).await;

    // Only a full event has a waiting list.
    set_status(&a, eid, "WAITLISTED")
        .await
        .expect_detail(400, FREE_SEATS);
    set_status(&a, unlimited, "WAITLISTED")
        .await
        .expect_detail(400, FREE_SEATS);
    set_status(&a, eid, "PARTICIPATING").await.expect(204);
    // Holding the only seat, one is not waiting for one.
    set_status(&a, eid, "WAITLISTED")
        .await
        .expect_detail(400, FREE_SEATS);
    // PARTICIPATING on a full event keeps today's answer.
    set_status(&b, eid, "PARTICIPATING")
        .await
        .expect_detail(400, MAX_EXCEEDED);
    set_status(&a, 999_999, "WAITLISTED")
        .await
        .expect_detail(404, NOT_FOUND);
    let admin_notes = in_app(&srv, admin.user_id, "EVENT_PARTICIPATION_CONFIRMED").await;

    srv.clock.advance(Duration::seconds(1));
    set_status(&b, eid, "WAITLISTED").await.expect(204);
    srv.clock.advance(Duration::seconds(1));
    set_status(&c, eid, "WAITLISTED").await.expect(204);
    assert_eq!(stored_list(&srv, eid).await, vec![b.user_id, c.user_id]);
    // Still full: a waiting user cannot jump in.
    set_status(&b, eid, "PARTICIPATING")
        .await
        .expect_detail(400, MAX_EXCEEDED);
    assert_eq!(my_card(&b, eid).await["participation_status"], "WAITLISTED");
    // Leaving the list: NONE forgets, REJECTED declines; rejoining goes to
    // the end. Administrators are told about seats, not the list.
    set_status(&b, eid, "NONE").await.expect(204);
    assert_eq!(stored_list(&srv, eid).await, vec![c.user_id]);
    set_status(&b, eid, "WAITLISTED").await.expect(204);
    assert_eq!(stored_list(&srv, eid).await, vec![c.user_id, b.user_id]);
    assert_eq!(my_card(&b, eid).await["waitlist_position"], 2);
    assert_eq!(
        in_app(&srv, admin.user_id, "EVENT_PARTICIPATION_CONFIRMED").await,
        admin_notes
    );

    // Statistics count the list apart from participations.
    let mine = b.get("/users/me/statistics").await.expect(200);
    assert_eq!(mine["waitlisted_events"], 1);
    assert_eq!(mine["participating_events"], 0);
    let stats = admin.get("/statistics").await.expect(200);
    assert_eq!(stats["waiting_list"], json!({"waitlisted": 2, "events": 1}));
    let total = stats["scalars"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "total_participations")
        .unwrap()["value"]
        .clone();
    assert_eq!(total, 1, "waiting rows are not participations");

    // The export lists participants, then the list in order.
    let csv = admin
        .get(&format!("/events/{eid}/participants/export"))
        .await;
    assert_eq!(csv.status, 200);
    let rows: Vec<Vec<String>> = csv::Reader::from_reader(csv.bytes.as_slice())
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    let got: Vec<(String, String)> = rows.iter().map(|r| (r[0].clone(), r[3].clone())).collect();
    assert_eq!(
        got,
        vec![
            (a.user_id.to_string(), "PARTICIPATING".into()),
            (c.user_id.to_string(), "WAITLISTED".into()),
            (b.user_id.to_string(), "WAITLISTED".into()),
        ]
    );

    // Declining a seat frees it for the first in line, in one step.
    set_status(&a, eid, "REJECTED").await.expect(204);
    assert_eq!(
        my_card(&c, eid).await["participation_status"],
        "PARTICIPATING"
    );
    assert_eq!(my_card(&b, eid).await["waitlist_position"], 1);
    srv.wait_mail("wl-c@example.com", |m| m.subject.contains("Event "))
        .await;
}

// ------------------------------------------------------------ one event's card

#[tokio::test]
async fn one_card_for_active_past_cancelled_and_unknown_events() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let u = srv.user().await;
    let active = create(&srv, &admin, json!({"max_participants_count": 3})).await;
    set_status(&u, active, "PARTICIPATING").await.expect(204);

    // The same object as in the list, plus rejected_at (and, issue 22, my
    // ticket and whether I manage the event).
    let mut card = my_card(&u, active).await;
    let ticket = card.as_object_mut().unwrap().remove("ticket").unwrap();
    assert!(ticket["token"].is_string(), "a participant has a ticket");
    assert_eq!(
        card.as_object_mut().unwrap().remove("can_manage"),
        Some(Value::Bool(false))
    );
    let listed = u.get("/events/cards").await.expect(200);
    let mut from_list = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == active)
        .cloned()
        .unwrap();
    from_list["rejected_at"] = Value::Null;
    assert_eq!(card, from_list);
    assert_eq!(card["status"], "ACTIVE");
    assert_eq!(card["participation_status"], "PARTICIPATING");
    assert_eq!(card["participants_count"], 1);
    assert_eq!(card["waitlist_count"], 0);
    assert_eq!(card["attendees_visible"], true);

    // Cancelled: REJECTED with when, for everyone (not "not found").
    let cancelled = create(&srv, &admin, json!({"participants_ids": [u.user_id]})).await;
    let when = srv.now().0.to_rfc3339();
    update(&admin, cancelled, json!({"rejected_at": when})).await;
    let card = my_card(&u, cancelled).await;
    assert_eq!(card["status"], "REJECTED");
    assert_eq!(card["participation_status"], "PARTICIPATING");
    assert!(card["rejected_at"].is_string(), "{card}");
    let stranger = srv.user().await;
    let card = my_card(&stranger, cancelled).await;
    assert_eq!(card["status"], "REJECTED");
    assert_eq!(card["participation_status"], "NONE");

    // Past: PAST, and whether I went.
    srv.clock.advance(Duration::hours(51));
    let card = my_card(&u, active).await;
    assert_eq!(card["status"], "PAST");
    assert_eq!(card["participation_status"], "PARTICIPATING");
    assert_eq!(card["rejected_at"], Value::Null);

    // Unknown: the only 404. Signed-in users only.
    u.get("/events/999999/card")
        .await
        .expect_detail(404, NOT_FOUND);
    assert_eq!(
        srv.anon()
            .get(&format!("/events/{active}/card"))
            .await
            .status,
        401
    );
}

// ------------------------------------------------------------ who is going

#[tokio::test]
async fn attendees_visible_or_hidden() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let a = srv
        .user_with("att-a@example.com", "Анна Петрова", false)
        .await;
    let b = srv
        .user_with("att-b@example.com", "Борис Иванов", false)
        .await;
    let gone = srv.user().await;
    let looker = srv.user().await;
    let eid = create(
        &srv,
        &admin,
        json!({"participants_ids": [a.user_id, b.user_id, gone.user_id]}),
    )
    .await;
    set_status(&looker, eid, "REJECTED").await.expect(204);
    admin
        .delete(&format!("/users/{}", gone.user_id))
        .await
        .expect(204);

    let list = looker
        .get(&format!("/events/{eid}/attendees"))
        .await
        .expect(200);
    assert_eq!(
        list,
        json!({
            "count": 2,
            "attendees": [
                {"user_id": a.user_id, "full_name": "Анна Петрова"},
                {"user_id": b.user_id, "full_name": "Борис Иванов"},
            ]
        }),
        "participants by join time, names only, deleted users left out"
    );
    assert!(!list.to_string().contains("@example.com"));

    // Hidden by the administrator: users get 403, administrators the list.
    let ev = update(&admin, eid, json!({"attendees_visible": false})).await;
    assert_eq!(ev["attendees_visible"], false);
    assert_eq!(
        in_app(&srv, a.user_id, "EVENT_UPDATED").await,
        0,
        "the setting is not news for participants"
    );
    looker
        .get(&format!("/events/{eid}/attendees"))
        .await
        .expect_detail(403, HIDDEN);
    a.get(&format!("/events/{eid}/attendees"))
        .await
        .expect_detail(403, HIDDEN);
    assert_eq!(my_card(&looker, eid).await["attendees_visible"], false);
    let seen = admin
        .get(&format!("/events/{eid}/attendees"))
        .await
        .expect(200);
    assert_eq!(seen["count"], 2);
    // Other changes keep the setting; it can be set at creation.
    let ev = update(&admin, eid, json!({"name": "Renamed"})).await;
    assert_eq!(ev["attendees_visible"], false);
    assert_eq!(in_app(&srv, a.user_id, "EVENT_UPDATED").await, 1);
    let hidden = create(&srv, &admin, json!({"attendees_visible": false})).await;
    looker
        .get(&format!("/events/{hidden}/attendees"))
        .await
        .expect_detail(403, HIDDEN);
    let shown = admin.get(&format!("/events/{hidden}")).await.expect(200);
    assert_eq!(shown["attendees_visible"], false);

    looker
        .get("/events/999999/attendees")
        .await
        .expect_detail(404, NOT_FOUND);
    assert_eq!(
        srv.anon()
            .get(&format!("/events/{eid}/attendees"))
            .await
            .status,
        401
    );
}
