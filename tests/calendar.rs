//! Issue 19 over real HTTP: personal and public calendar feeds (parsed by
//! a real iCalendar parser), categories and the event-list filters.

mod common;

use std::collections::HashMap;

use chrono::{Duration, NaiveDateTime, Utc};
use common::*;
use serde_json::{Value, json};

/// One parsed `VEVENT`: its properties and its alarms' properties.
#[derive(Debug)]
struct VEvent {
    props: HashMap<String, String>,
    alarms: Vec<HashMap<String, String>>,
}

impl VEvent {
    fn get(&self, name: &str) -> &str {
        self.props
            .get(name)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("no {name} in {:?}", self.props))
    }
    fn seq(&self) -> i64 {
        self.get("SEQUENCE").parse().expect("SEQUENCE")
    }
}

fn props(list: &[icalendar::parser::Property]) -> HashMap<String, String> {
    list.iter()
        .map(|p| (p.name.as_str().to_string(), p.val.as_str().to_string()))
        .collect()
}

/// The feed's calendar properties and events, by the `icalendar` crate's
/// parser (after RFC 5545 unfolding).
fn parse(text: &str) -> (HashMap<String, String>, Vec<VEvent>) {
    assert!(text.contains("\r\n"), "CRLF line ends");
    let unfolded = icalendar::parser::unfold(text);
    let cal = icalendar::parser::read_calendar(&unfolded).expect("a valid iCalendar object");
    let events = cal
        .components
        .iter()
        .filter(|c| c.name.as_str() == "VEVENT")
        .map(|c| VEvent {
            props: props(&c.properties),
            alarms: c
                .components
                .iter()
                .filter(|a| a.name.as_str() == "VALARM")
                .map(|a| props(&a.properties))
                .collect(),
        })
        .collect();
    (props(&cal.properties), events)
}

fn utc(stamp: &str) -> chrono::DateTime<Utc> {
    NaiveDateTime::parse_from_str(stamp, "%Y%m%dT%H%M%SZ")
        .expect("UTC date-time")
        .and_utc()
}

fn ts(v: &Value) -> chrono::DateTime<Utc> {
    chrono::DateTime::parse_from_rfc3339(v.as_str().expect("timestamp"))
        .expect("rfc3339")
        .with_timezone(&Utc)
}

/// An event starting `hours` from now, lasting `len` hours.
async fn event(srv: &TestServer, admin: &Client, hours: i64, len: i64, extra: Value) -> Value {
    let mut b = json!({
        "name": format!("Event {}", uuid::Uuid::new_v4().simple()),
        "description": "Description",
        "starts_at": at(srv, hours),
        "ends_at": at(srv, hours + len),
        "image_url": "https://example.com/e.png",
    });
    for (k, v) in extra.as_object().expect("object") {
        b[k] = v.clone();
    }
    admin.post("/events", b).await.expect(201)
}

fn id(v: &Value) -> i64 {
    v["id"].as_i64().expect("id")
}

async fn join(c: &Client, event_id: i64, status: &str) {
    c.put(
        &format!("/events/{event_id}/participants/me"),
        json!({ "status": status }),
    )
    .await
    .expect(204);
}

/// The caller's feed URL after a rotation.
async fn rotate(c: &Client) -> String {
    let v = c
        .post("/users/me/calendar-token", json!({}))
        .await
        .expect(200);
    v["url"].as_str().expect("url").to_string()
}

/// The feed's events, fetched without any session header.
async fn feed(srv: &TestServer, url: &str) -> Vec<VEvent> {
    let r = srv.anon().get(url).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        r.header("content-type")
            .unwrap()
            .starts_with("text/calendar")
    );
    parse(&r.text()).1
}

fn find<'a>(events: &'a [VEvent], uid: &str) -> Option<&'a VEvent> {
    events.iter().find(|e| e.get("UID") == uid)
}

/// The UID of the per-event `.ics` download.
async fn ics_uid(c: &Client, event_id: i64) -> String {
    let r = c.get(&format!("/events/{event_id}/ics")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let (_, events) = parse(&r.text());
    events[0].get("UID").to_string()
}

#[tokio::test]
async fn personal_feed_follows_joins_moves_cancels_and_leaves() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let me = srv.user().await;
    let other = srv.user().await;

    // No URL until the first rotation.
    assert_eq!(
        me.get("/users/me/calendar-token").await.expect(200)["url"],
        Value::Null
    );
    let url = rotate(&me).await;
    assert!(
        url.starts_with(&format!("{}/api/calendar/", srv.base)),
        "{url}"
    );
    assert!(url.ends_with(".ics"));
    assert_eq!(
        me.get("/users/me/calendar-token").await.expect(200)["url"],
        json!(url),
        "the profile shows the current URL again"
    );
    let (cal, none) = parse(&srv.anon().get(&url).await.text());
    assert!(none.is_empty());
    assert_eq!(cal["VERSION"], "2.0");

    let a = event(&srv, &admin, 48, 2, json!({ "location": "Большой зал" })).await;
    let declined = event(&srv, &admin, 48, 2, json!({})).await;
    let left = event(&srv, &admin, 48, 2, json!({})).await;
    join(&me, id(&a), "PARTICIPATING").await;
    join(&me, id(&declined), "REJECTED").await;
    join(&me, id(&left), "PARTICIPATING").await;
    join(&me, id(&left), "NONE").await;
    join(&other, id(&declined), "PARTICIPATING").await;

    let uid = ics_uid(&me, id(&a)).await;
    let events = feed(&srv, &url).await;
    assert_eq!(events.len(), 1, "only the joined event: {events:?}");
    let e = find(&events, &uid).expect("same UID as the per-event .ics");
    assert_eq!(e.get("STATUS"), "CONFIRMED");
    assert_eq!(e.get("LOCATION"), "Большой зал");
    assert_eq!(
        utc(e.get("DTSTART")),
        ts(&a["starts_at"]).with_nanosecond0()
    );
    assert_eq!(utc(e.get("DTEND")), ts(&a["ends_at"]).with_nanosecond0());
    assert_eq!(e.alarms.len(), 1);
    assert_eq!(e.alarms[0]["TRIGGER"], "-P1D");
    assert_eq!(e.alarms[0]["ACTION"], "DISPLAY");
    let seq0 = e.seq();
    let modified0 = utc(e.get("LAST-MODIFIED"));

    // ETag: unchanged → 304; the stale tag after a change → 200.
    let first = srv.anon().get(&url).await;
    let etag = first.header("etag").expect("ETag");
    let again = srv
        .anon()
        .send(srv.anon().http.get(&url).header("if-none-match", &etag))
        .await;
    assert_eq!(again.status, 304);
    assert!(again.bytes.is_empty());

    // The event moves: same UID, higher SEQUENCE, new times.
    srv.clock.advance(Duration::minutes(5));
    let moved = admin
        .put(
            &format!("/events/{}", id(&a)),
            json!({ "starts_at": at(&srv, 72), "ends_at": at(&srv, 75) }),
        )
        .await
        .expect(200);
    let stale = srv
        .anon()
        .send(srv.anon().http.get(&url).header("if-none-match", &etag))
        .await;
    assert_eq!(stale.status, 200, "a change makes a new ETag");
    assert_ne!(stale.header("etag").unwrap(), etag);
    let events = feed(&srv, &url).await;
    let e = find(&events, &uid).expect("still listed under the same UID");
    assert!(e.seq() > seq0);
    assert!(utc(e.get("LAST-MODIFIED")) > modified0);
    assert_eq!(
        utc(e.get("DTSTART")),
        ts(&moved["starts_at"]).with_nanosecond0()
    );
    assert_eq!(
        utc(e.get("DTEND")),
        ts(&moved["ends_at"]).with_nanosecond0()
    );
    let seq1 = e.seq();

    // Cancelled: stays, CANCELLED, without an alarm.
    srv.clock.advance(Duration::minutes(5));
    admin
        .put(
            &format!("/events/{}", id(&a)),
            json!({ "rejected_at": srv.now() }),
        )
        .await
        .expect(200);
    let events = feed(&srv, &url).await;
    let e = find(&events, &uid).expect("a cancelled event stays");
    assert_eq!(e.get("STATUS"), "CANCELLED");
    assert!(e.seq() > seq1);
    assert!(e.alarms.is_empty());

    // Another user's feed never shows my events.
    let other_url = rotate(&other).await;
    let theirs = feed(&srv, &other_url).await;
    assert!(find(&theirs, &uid).is_none());
    assert_eq!(theirs.len(), 1, "only their own event");

    // Rotation: the old URL answers 404, the new one works.
    let new_url = rotate(&me).await;
    assert_ne!(new_url, url);
    srv.anon()
        .get(&url)
        .await
        .expect_detail(404, "Calendar not found");
    assert_eq!(feed(&srv, &new_url).await.len(), 1);
    // Tokens are stored hashed: the URL's token is nowhere in the table.
    let token = new_url
        .rsplit('/')
        .next()
        .unwrap()
        .trim_end_matches(".ics")
        .to_string();
    let rows = srv
        .sql_rows(
            "SELECT token_hash, token_sealed FROM calendar_token",
            vec![],
        )
        .await;
    assert_eq!(rows.len(), 2);
    for row in rows {
        for cell in row {
            assert!(!cell.as_str().unwrap().contains(&token));
        }
    }
    // Malformed tokens and files.
    for bad in ["abc.ics", "nothing", &format!("{token}.ics.ics")] {
        srv.anon()
            .get(&format!("/api/calendar/{bad}"))
            .await
            .expect_detail(404, "Calendar not found");
    }
}

trait Whole {
    fn with_nanosecond0(self) -> Self;
}

impl Whole for chrono::DateTime<Utc> {
    fn with_nanosecond0(self) -> Self {
        use chrono::Timelike;
        self.with_nanosecond(0).unwrap()
    }
}

#[tokio::test]
async fn personal_feed_reaches_ninety_days_back() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let me = srv.user().await;
    let url = rotate(&me).await;
    let soon = event(&srv, &admin, 1, 2, json!({})).await; // ends in 3 h
    let later = event(&srv, &admin, 1, 72, json!({})).await; // ends in 3 days
    join(&me, id(&soon), "PARTICIPATING").await;
    join(&me, id(&later), "PARTICIPATING").await;
    let soon_uid = ics_uid(&me, id(&soon)).await;
    let later_uid = ics_uid(&me, id(&later)).await;
    // 90 days and a minute after `soon` ended; `later` ended 87 days ago.
    srv.clock
        .advance(Duration::hours(3) + Duration::days(90) + Duration::minutes(1));
    let events = feed(&srv, &url).await;
    assert!(find(&events, &soon_uid).is_none(), "ended over 90 days ago");
    assert!(find(&events, &later_uid).is_some(), "ended 87 days ago");
}

#[tokio::test]
async fn deleted_users_feed_is_gone() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let me = srv.user().await;
    let url = rotate(&me).await;
    assert_eq!(srv.anon().get(&url).await.status, 200);
    admin
        .delete(&format!("/users/{}", me.user_id))
        .await
        .expect(204);
    srv.anon()
        .get(&url)
        .await
        .expect_detail(404, "Calendar not found");
}

#[tokio::test]
async fn public_feed_is_off_by_default() {
    let srv = TestServer::start().await;
    srv.anon()
        .get("/api/calendar/all.ics")
        .await
        .expect_detail(404, "Calendar not found");
}

#[tokio::test]
async fn public_feed_lists_upcoming_events_when_on() {
    let srv = TestServer::with(|c| c.calendar.public_feed = true).await;
    let admin = srv.admin().await;
    let shown = event(&srv, &admin, 24, 2, json!({})).await;
    let cancelled = event(&srv, &admin, 24, 2, json!({})).await;
    let finished = event(&srv, &admin, 1, 1, json!({})).await;
    admin
        .put(
            &format!("/events/{}", id(&cancelled)),
            json!({ "rejected_at": srv.now() }),
        )
        .await
        .expect(200);
    srv.clock.advance(Duration::hours(3));
    let events = feed(&srv, "/api/calendar/all.ics").await;
    let uids: Vec<&str> = events.iter().map(|e| e.get("UID")).collect();
    assert_eq!(uids, [ics_uid(&admin, id(&shown)).await]);
    assert!(events[0].alarms.is_empty());
    let _ = finished;
}

// ---------------------------------------------------------------- categories

#[tokio::test]
async fn categories_are_managed_by_administrators() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let user = srv.user().await;
    srv.anon().get("/categories").await.expect(401);
    assert_eq!(user.get("/categories").await.expect(200), json!([]));
    user.post(
        "/categories",
        json!({ "name": "Лекции", "color": "#112233" }),
    )
    .await
    .expect(403);
    let talks = admin
        .post(
            "/categories",
            json!({ "name": " Лекции ", "color": "#A0B1C2" }),
        )
        .await
        .expect(201);
    assert_eq!(talks["name"], "Лекции");
    assert_eq!(talks["color"], "#a0b1c2");
    // Unique in any case, Cyrillic included.
    admin
        .post(
            "/categories",
            json!({ "name": "ЛЕКЦИИ", "color": "#000000" }),
        )
        .await
        .expect_detail(400, "Category already exists");
    admin
        .post("/categories", json!({ "name": "x", "color": "red" }))
        .await
        .expect_422(&["body", "color"]);
    admin
        .post("/categories", json!({ "name": "  ", "color": "#000000" }))
        .await
        .expect_422(&["body", "name"]);
    let games = admin
        .post("/categories", json!({ "name": "Игры", "color": "#00ff00" }))
        .await
        .expect(201);
    admin
        .put(
            &format!("/categories/{}", id(&games)),
            json!({ "name": "лекции" }),
        )
        .await
        .expect_detail(400, "Category already exists");
    let renamed = admin
        .put(
            &format!("/categories/{}", id(&games)),
            json!({ "name": "Настольные игры" }),
        )
        .await
        .expect(200);
    assert_eq!(renamed["color"], "#00ff00");
    let names: Vec<Value> = user
        .get("/categories")
        .await
        .expect(200)
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].clone())
        .collect();
    assert_eq!(names, [json!("Лекции"), json!("Настольные игры")]);

    // Events carry the category; deleting it un-sets it.
    admin
        .post(
            "/events",
            json!({
                "name": "n", "description": "", "image_url": "https://example.com/e.png",
                "starts_at": at(&srv, 5), "ends_at": at(&srv, 6), "category_id": 999_999
            }),
        )
        .await
        .expect_detail(404, "Category not found");
    let ev = event(&srv, &admin, 5, 1, json!({ "category_id": id(&talks) })).await;
    assert_eq!(ev["category_id"], json!(id(&talks)));
    let cards = user.get("/events/cards").await.expect(200);
    assert_eq!(cards[0]["category_id"], json!(id(&talks)));
    let moved = admin
        .put(
            &format!("/events/{}", id(&ev)),
            json!({ "category_id": id(&games) }),
        )
        .await
        .expect(200);
    assert_eq!(moved["category_id"], json!(id(&games)));
    admin
        .delete(&format!("/categories/{}", id(&games)))
        .await
        .expect(204);
    admin
        .delete(&format!("/categories/{}", id(&games)))
        .await
        .expect_detail(404, "Category not found");
    let after = admin.get(&format!("/events/{}", id(&ev))).await.expect(200);
    assert_eq!(after["category_id"], Value::Null);
    let cards = user.get("/events/cards").await.expect(200);
    assert_eq!(cards[0]["category_id"], Value::Null);
}

// ------------------------------------------------------------------- filters

fn ids(list: &Value) -> Vec<i64> {
    list.as_array().expect("list").iter().map(id).collect()
}

/// `GET path?query` as cards and as the administrators' list.
async fn both(admin: &Client, query: &str) -> (Vec<i64>, Vec<i64>) {
    let cards = ids(&admin
        .get(&format!("/events/cards?{query}"))
        .await
        .expect(200));
    let mut list = ids(&admin.get(&format!("/events?{query}")).await.expect(200));
    list.sort_unstable();
    (cards, list)
}

fn sorted(mut v: Vec<i64>) -> Vec<i64> {
    v.sort_unstable();
    v
}

#[tokio::test]
async fn filters_compose_at_the_edges() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let talks = id(&admin
        .post(
            "/categories",
            json!({ "name": "Talks", "color": "#111111" }),
        )
        .await
        .expect(201));
    let games = id(&admin
        .post(
            "/categories",
            json!({ "name": "Games", "color": "#222222" }),
        )
        .await
        .expect(201));
    // A day D two days ahead, at the server's midnight.
    let midnight = (srv.now().0 + Duration::days(2))
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc();
    let iso = |t: chrono::DateTime<Utc>| t.to_rfc3339();
    let create = |name: &str, start: chrono::DateTime<Utc>, end, extra: Value| {
        let mut b = json!({
            "name": name, "description": "", "image_url": "https://example.com/e.png",
            "starts_at": iso(start), "ends_at": iso(end),
        });
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        let admin = admin.clone();
        async move { id(&admin.post("/events", b).await.expect(201)) }
    };
    let h = Duration::hours;
    // Spans midnight into D.
    let night = create(
        "Ночной квиз",
        midnight - h(2),
        midnight + h(1),
        json!({ "category_id": games }),
    )
    .await;
    // Started the day before and ends inside D.
    let long = create(
        "Хакатон",
        midnight - h(20),
        midnight + h(10),
        json!({ "category_id": talks }),
    )
    .await;
    // Inside D, in the big hall.
    let inside = create(
        "Лекция",
        midnight + h(12),
        midnight + h(13),
        json!({ "category_id": talks, "location": "Большой зал", "short_description": "О главном" }),
    )
    .await;
    // Ends exactly at D's start: touches the inclusive bound.
    let touching = create("Утро", midnight - h(3), midnight, json!({})).await;
    // The day after D.
    let after = create(
        "Завтра",
        midnight + h(25),
        midnight + h(26),
        json!({ "category_id": games }),
    )
    .await;

    let from = iso(midnight).replace('+', "%2B");
    let to = iso(midnight + h(24) - Duration::seconds(1)).replace('+', "%2B");
    let day = format!("from={from}&to={to}");

    let (cards, list) = both(&admin, &day).await;
    assert_eq!(
        sorted(cards.clone()),
        sorted(vec![night, long, inside, touching])
    );
    assert_eq!(list, sorted(vec![night, long, inside, touching]));
    // Upcoming: soonest first.
    assert_eq!(cards, vec![long, touching, night, inside]);

    let (cards, list) = both(&admin, &format!("{day}&category={talks}")).await;
    assert_eq!(cards, vec![long, inside]);
    assert_eq!(list, sorted(vec![long, inside]));
    let (cards, _) = both(&admin, &format!("category={talks}&category={games}")).await;
    assert_eq!(sorted(cards), sorted(vec![night, long, inside, after]));

    // q: name, short description or location, any case, Cyrillic.
    let q = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    for needle in ["БОЛЬШОЙ", "о главном", "лекция"] {
        let (cards, list) = both(&admin, &format!("q={}", q(needle))).await;
        assert_eq!(cards, vec![inside], "{needle}");
        assert_eq!(list, vec![inside], "{needle}");
    }
    // Everything at once.
    let (cards, list) = both(&admin, &format!("{day}&category={talks}&q={}", q("зал"))).await;
    assert_eq!((cards, list), (vec![inside], vec![inside]));
    assert!(
        both(&admin, &format!("{day}&category={games}&q={}", q("зал")))
            .await
            .0
            .is_empty()
    );

    // mine=true: what I take part in (not what I declined).
    let me = srv.user().await;
    join(&me, night, "PARTICIPATING").await;
    join(&me, after, "PARTICIPATING").await;
    join(&me, inside, "REJECTED").await;
    let mine = ids(&me.get("/events/cards?mine=true").await.expect(200));
    assert_eq!(mine, vec![night, after]);
    let mine = ids(&me
        .get(&format!("/events/cards?mine=true&{day}"))
        .await
        .expect(200));
    assert_eq!(mine, vec![night]);
    assert_eq!(
        ids(&admin.get("/events?mine=true").await.expect(200)),
        Vec::<i64>::new()
    );
    admin
        .get("/events/cards?category=x")
        .await
        .expect_422(&["query", "category"]);

    // Past lists: newest first, filters still apply.
    srv.clock.set(midnight + h(30));
    let past = ids(&admin.get("/events/cards?status=PAST").await.expect(200));
    assert_eq!(past, vec![after, inside, night, touching, long]);
    let past = ids(&admin
        .get(&format!("/events/cards?status=PAST&category={talks}"))
        .await
        .expect(200));
    assert_eq!(past, vec![inside, long]);
    let page = ids(&admin
        .get("/events/cards?status=PAST&limit=2&offset=1")
        .await
        .expect(200));
    assert_eq!(page, vec![inside, night]);
}

/// The merged issues meet in the feed: a waiting-list place is TENTATIVE
/// (#18), and the alarms follow my reminder offsets (#17).
#[tokio::test]
async fn waiting_is_tentative_and_alarms_follow_my_reminders() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let me = srv.user().await;
    let seated = srv.user().await;
    let full = event(&srv, &admin, 48, 2, json!({ "max_participants_count": 1 })).await;
    join(&seated, id(&full), "PARTICIPATING").await;
    join(&me, id(&full), "WAITLISTED").await;
    me.put(
        "/users/me/preferences",
        json!({ "reminder_offsets_minutes": [1440, 60] }),
    )
    .await
    .expect(200);

    let url = rotate(&me).await;
    let uid = ics_uid(&me, id(&full)).await;
    let events = feed(&srv, &url).await;
    let e = find(&events, &uid).expect("the event I wait for");
    assert_eq!(e.get("STATUS"), "TENTATIVE");
    let mut triggers: Vec<&str> = e.alarms.iter().map(|a| a["TRIGGER"].as_str()).collect();
    triggers.sort_unstable();
    assert_eq!(triggers, ["-P1D", "-PT1H"]);

    // The seat frees: promoted, CONFIRMED, and counted as mine.
    join(&seated, id(&full), "NONE").await;
    let events = feed(&srv, &url).await;
    assert_eq!(find(&events, &uid).unwrap().get("STATUS"), "CONFIRMED");
    let mine = me.get("/events/cards?mine=true").await.expect(200);
    assert_eq!(ids(&mine), [id(&full)]);
}
