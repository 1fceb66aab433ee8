//! Issue 22 item 4: recurring events — series creation in the display time
//! zone (DST), monthly rules, until vs count, edits of this / following /
//! all occurrences, cancelling one, the generator's idempotence and horizon,
//! reminders per occurrence — over real HTTP on the backend the run selects
//! (SQLite, or PostgreSQL under `scripts/test-postgres.sh`), with the manual
//! clock.

mod common;

use chrono::{DateTime, Duration, Utc};
use common::*;
use serde_json::{Value, json};

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn iso(at: DateTime<Utc>) -> String {
    at.to_rfc3339()
}

/// A series body: the first occurrence from `start` for `hours`, repeating
/// by `repeat`.
fn body(start: DateTime<Utc>, hours: i64, repeat: Value) -> Value {
    json!({
        "name": "Lecture",
        "description": "A weekly lecture",
        "starts_at": iso(start),
        "ends_at": iso(start + Duration::hours(hours)),
        "image_url": "https://example.com/e.png",
        "location": "Hall A",
        "repeat": repeat,
    })
}

async fn create(admin: &Client, body: Value) -> Value {
    admin.post("/series", body).await.expect(201)
}

fn starts(series: &Value) -> Vec<String> {
    series["occurrences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["starts_at"].as_str().unwrap().to_string())
        .collect()
}

fn ids(series: &Value) -> Vec<i64> {
    series["occurrences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .collect()
}

async fn get_series(admin: &Client, id: i64) -> Value {
    admin.get(&format!("/series/{id}")).await.expect(200)
}

/// Events of a series as stored.
async fn stored(srv: &TestServer, series_id: i64) -> i64 {
    srv.query_i64(
        "SELECT count(*) FROM event WHERE series_id = ?1",
        vec![json!(series_id)],
    )
    .await
}

async fn generate(srv: &TestServer) -> usize {
    afisha::service::series::extend_all(&srv.state.svc)
        .await
        .unwrap()
}

#[tokio::test]
async fn weekly_series_keeps_local_time_across_the_berlin_dst_change() {
    let srv = TestServer::with(|c| c.ui.display_timezone = "Europe/Berlin".into()).await;
    srv.clock.set(t("2027-03-01T12:00:00Z"));
    let admin = srv.admin().await;
    // Thursdays 19:00 Berlin; summer time starts on Sunday 2027-03-28.
    let series = create(
        &admin,
        body(
            t("2027-03-18T18:00:00Z"),
            2,
            json!({"frequency": "WEEKLY", "weekdays": ["TH"], "count": 4}),
        ),
    )
    .await;
    assert_eq!(
        starts(&series),
        [
            "2027-03-18T18:00:00.000000Z",
            "2027-03-25T18:00:00.000000Z",
            "2027-04-01T17:00:00.000000Z",
            "2027-04-08T17:00:00.000000Z",
        ],
        "19:00 local before and after the change"
    );
    assert_eq!(series["timezone"], "Europe/Berlin");
    assert_eq!(series["local_time"], "19:00");
    assert_eq!(series["repeat"]["count"], 4);
    // Two hours long on both sides of the change.
    let last = &series["occurrences"][3];
    assert_eq!(last["ends_at"], "2027-04-08T19:00:00.000000Z");
    // Occurrences are real events carrying their series, for admins and
    // on the users' cards.
    let sid = series["id"].as_i64().unwrap();
    let event = admin
        .get(&format!("/events/{}", ids(&series)[2]))
        .await
        .expect(200);
    assert_eq!(event["series_id"], sid);
    assert_eq!(event["series_index"], 2);
    let user = srv.user().await;
    let cards = user.get("/events/cards").await.expect(200);
    let marked = cards
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["series_id"] == sid)
        .count();
    assert_eq!(marked, 4);
    let one = user
        .get(&format!("/events/{}/card", ids(&series)[0]))
        .await
        .expect(200);
    assert_eq!(one["series_id"], sid);
    // Each occurrence takes its own participants.
    user.put(
        &format!("/events/{}/participants/me", ids(&series)[1]),
        json!({"status": "PARTICIPATING"}),
    )
    .await
    .expect(204);
    let other = admin
        .get(&format!("/events/{}", ids(&series)[2]))
        .await
        .expect(200);
    assert_eq!(other["participants"].as_array().unwrap().len(), 0);

    // Moving all to 20:00 local keeps them on local time too.
    admin
        .put(
            &format!("/events/{}?scope=all", ids(&series)[0]),
            json!({"starts_at": "2027-03-18T19:00:00Z", "ends_at": "2027-03-18T21:00:00Z"}),
        )
        .await
        .expect(200);
    let moved = get_series(&admin, sid).await;
    assert_eq!(
        starts(&moved),
        [
            "2027-03-18T19:00:00.000000Z",
            "2027-03-25T19:00:00.000000Z",
            "2027-04-01T18:00:00.000000Z",
            "2027-04-08T18:00:00.000000Z",
        ]
    );
    assert_eq!(moved["local_time"], "20:00");
    // The participant of the second is told it moved.
    let told = user
        .get("/notifications/instant?include_acked=true&limit=200")
        .await
        .expect(200)
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["type"] == "EVENT_UPDATED")
        .count();
    assert_eq!(told, 1);
}

#[tokio::test]
async fn monthly_nth_weekday_day_of_month_and_until_versus_count() {
    let srv = TestServer::with(|c| c.events.series_horizon_days = 400).await;
    srv.clock.set(t("2027-01-01T08:00:00Z"));
    let admin = srv.admin().await;
    let second_tuesday = create(
        &admin,
        body(
            t("2027-01-05T18:00:00Z"),
            1,
            json!({"frequency": "MONTHLY", "month_week": 2, "month_weekday": "TU", "count": 3}),
        ),
    )
    .await;
    assert_eq!(
        starts(&second_tuesday),
        [
            "2027-01-12T18:00:00.000000Z",
            "2027-02-09T18:00:00.000000Z",
            "2027-03-09T18:00:00.000000Z",
        ]
    );
    // Day 31: the last day of shorter months, until a date (inclusive).
    let end_of_month = create(
        &admin,
        body(
            t("2027-01-31T09:00:00Z"),
            1,
            json!({"frequency": "MONTHLY", "month_day": 31, "until": "2027-04-30"}),
        ),
    )
    .await;
    assert_eq!(
        starts(&end_of_month),
        [
            "2027-01-31T09:00:00.000000Z",
            "2027-02-28T09:00:00.000000Z",
            "2027-03-31T09:00:00.000000Z",
            "2027-04-30T09:00:00.000000Z",
        ]
    );
    // Until versus count over the same weekly rule: every second week on
    // Mondays and Fridays.
    let repeat = |end: Value| {
        let mut r = json!({"frequency": "WEEKLY", "interval": 2, "weekdays": ["MO", "FR"]});
        for (k, v) in end.as_object().unwrap() {
            r[k] = v.clone();
        }
        r
    };
    let start = t("2027-01-04T10:00:00Z"); // a Monday
    let until = create(
        &admin,
        body(start, 1, repeat(json!({"until": "2027-02-01"}))),
    )
    .await;
    let count = create(&admin, body(start, 1, repeat(json!({"count": 5})))).await;
    let expected = [
        "2027-01-04T10:00:00.000000Z",
        "2027-01-08T10:00:00.000000Z",
        "2027-01-18T10:00:00.000000Z",
        "2027-01-22T10:00:00.000000Z",
        "2027-02-01T10:00:00.000000Z",
    ];
    assert_eq!(starts(&until), expected);
    assert_eq!(starts(&count), expected);
    // The generator adds nothing to ended series.
    srv.clock.set(t("2027-06-01T08:00:00Z"));
    generate(&srv).await;
    for s in [&second_tuesday, &end_of_month, &until, &count] {
        let n = stored(&srv, s["id"].as_i64().unwrap()).await;
        assert_eq!(n as usize, ids(s).len());
    }

    // Invalid rules: 400 with the reason; a bad weekday: 422. (A new
    // session: the clock jumped past the old one's lifetime.)
    let admin = srv.admin().await;
    let bad = [
        (
            json!({"frequency": "MONTHLY", "count": 3}),
            "A monthly repeat needs",
        ),
        (
            json!({"frequency": "WEEKLY", "count": 3, "until": "2027-09-01"}),
            "A repeat ends on a date or after a count, not both",
        ),
        (
            json!({"frequency": "WEEKLY", "interval": 0}),
            "repeat.interval",
        ),
        (
            json!({"frequency": "WEEKLY", "until": "2027-01-01"}),
            "repeat.until",
        ),
    ];
    for (repeat, why) in bad {
        let resp = admin
            .post(
                "/series",
                body(t("2027-06-10T10:00:00Z"), 1, repeat.clone()),
            )
            .await;
        assert_eq!(resp.status, 400, "{repeat}");
        let detail = resp.json()["detail"].as_str().unwrap().to_string();
        assert!(detail.starts_with(why), "{repeat}: {detail}");
    }
    let resp = admin
        .post(
            "/series",
            body(
                t("2027-06-10T10:00:00Z"),
                1,
                json!({"frequency": "WEEKLY", "weekdays": ["XX"]}),
            ),
        )
        .await;
    assert_eq!(resp.status, 422);
    assert_eq!(
        resp.json()["detail"][0]["loc"],
        json!(["body", "repeat", "weekdays", 0])
    );
    // Only administrators create series.
    let user = srv.user().await;
    let resp = user
        .post(
            "/series",
            body(t("2027-06-10T10:00:00Z"), 1, json!({"frequency": "WEEKLY"})),
        )
        .await;
    assert_eq!(resp.status, 403);
}

#[tokio::test]
async fn this_and_following_splits_the_series() {
    let srv = TestServer::start().await;
    srv.clock.set(t("2027-01-01T08:00:00Z"));
    let admin = srv.admin().await;
    let series = create(
        &admin,
        body(
            t("2027-01-07T19:00:00Z"),
            2,
            json!({"frequency": "WEEKLY", "count": 6}),
        ),
    )
    .await;
    let sid = series["id"].as_i64().unwrap();
    let occ = ids(&series);
    assert_eq!(occ.len(), 6);
    // From the third on: an hour later, an hour longer, in another hall.
    let edited = admin
        .put(
            &format!("/events/{}?scope=following", occ[2]),
            json!({
                "location": "Hall B",
                "starts_at": "2027-01-21T20:00:00Z",
                "ends_at": "2027-01-21T23:00:00Z",
            }),
        )
        .await
        .expect(200);
    let new_sid = edited["series_id"].as_i64().unwrap();
    assert_ne!(new_sid, sid);
    assert_eq!(edited["series_index"], 0);
    assert_eq!(edited["location"], "Hall B");

    let old = get_series(&admin, sid).await;
    assert_eq!(ids(&old), occ[..2]);
    assert_eq!(old["repeat"]["count"], 2, "the old series ends before it");
    for e in old["occurrences"].as_array().unwrap() {
        assert_eq!(e["location"], "Hall A");
    }
    let new = get_series(&admin, new_sid).await;
    assert_eq!(ids(&new), occ[2..]);
    assert_eq!(new["repeat"]["count"], 4);
    assert_eq!(new["local_time"], "20:00");
    assert_eq!(
        starts(&new),
        [
            "2027-01-21T20:00:00.000000Z",
            "2027-01-28T20:00:00.000000Z",
            "2027-02-04T20:00:00.000000Z",
            "2027-02-11T20:00:00.000000Z",
        ]
    );
    for e in new["occurrences"].as_array().unwrap() {
        assert_eq!(e["location"], "Hall B");
        let (s, e2) = (
            t(e["starts_at"].as_str().unwrap()),
            t(e["ends_at"].as_str().unwrap()),
        );
        assert_eq!(e2 - s, Duration::hours(3));
    }
    // Neither series grows back.
    generate(&srv).await;
    assert_eq!(stored(&srv, sid).await, 2);
    assert_eq!(stored(&srv, new_sid).await, 4);

    // Scope rules: the day cannot move with following/all, participants
    // are per occurrence, a single event has no series, a bad scope is 422.
    admin
        .put(
            &format!("/events/{}?scope=all", occ[3]),
            json!({"starts_at": "2027-01-29T20:00:00Z", "ends_at": "2027-01-29T23:00:00Z"}),
        )
        .await
        .expect_detail(
            400,
            "An edit of following or all occurrences may change the time of day, not the day",
        );
    admin
        .put(
            &format!("/events/{}?scope=all", occ[3]),
            json!({"participants_ids": []}),
        )
        .await
        .expect_detail(
            400,
            "participants_ids can be changed on one occurrence only (scope=this)",
        );
    let single = admin
        .post(
            "/events",
            json!({"name": "Once", "description": "", "starts_at": "2027-02-01T10:00:00Z",
                   "ends_at": "2027-02-01T11:00:00Z", "image_url": "https://example.com/e.png"}),
        )
        .await
        .expect(201);
    assert_eq!(single["series_id"], Value::Null);
    admin
        .put(
            &format!("/events/{}?scope=following", single["id"]),
            json!({"name": "Twice"}),
        )
        .await
        .expect_detail(400, "This event is not part of a series");
    admin
        .put(
            &format!("/events/{}?scope=everything", occ[3]),
            json!({"name": "x"}),
        )
        .await
        .expect_422(&["query", "scope"]);
    // `this` (and no scope) edits one occurrence.
    admin
        .put(
            &format!("/events/{}?scope=this", occ[4]),
            json!({"name": "Special"}),
        )
        .await
        .expect(200);
    let after = get_series(&admin, new_sid).await;
    let names: Vec<&str> = after["occurrences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Lecture", "Lecture", "Special", "Lecture"]);
}

#[tokio::test]
async fn all_changes_future_occurrences_and_the_template_only() {
    let srv = TestServer::with(|c| c.events.series_horizon_days = 21).await;
    srv.clock.set(t("2027-01-01T08:00:00Z"));
    let admin = srv.admin().await;
    let series = create(
        &admin,
        body(t("2027-01-04T19:00:00Z"), 2, json!({"frequency": "WEEKLY"})),
    )
    .await;
    let sid = series["id"].as_i64().unwrap();
    let occ = ids(&series);
    assert_eq!(occ.len(), 3, "open-ended: three weeks ahead");
    // The first has happened.
    srv.clock.set(t("2027-01-05T08:00:00Z"));
    admin
        .put(
            &format!("/events/{}?scope=all", occ[2]),
            json!({"name": "Renamed", "max_participants_count": 10}),
        )
        .await
        .expect(200);
    let now = get_series(&admin, sid).await;
    let names: Vec<&str> = now["occurrences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names[..3], ["Lecture", "Renamed", "Renamed"]);
    // Later occurrences come from the changed template.
    srv.clock.set(t("2027-01-20T08:00:00Z"));
    generate(&srv).await;
    let later = get_series(&admin, sid).await;
    let occurrences = later["occurrences"].as_array().unwrap();
    assert!(occurrences.len() > 3);
    for e in &occurrences[3..] {
        assert_eq!(e["name"], "Renamed");
        assert_eq!(e["max_participants_count"], 10);
        assert_eq!(e["location"], "Hall A");
    }
    assert_eq!(occurrences[0]["name"], "Lecture", "the past stays");
}

#[tokio::test]
async fn cancelling_one_occurrence_leaves_the_others() {
    let srv = TestServer::start().await;
    srv.clock.set(t("2027-01-01T08:00:00Z"));
    let admin = srv.admin().await;
    let user = srv.user().await;
    let series = create(
        &admin,
        body(
            t("2027-01-07T19:00:00Z"),
            2,
            json!({"frequency": "WEEKLY", "count": 4}),
        ),
    )
    .await;
    let sid = series["id"].as_i64().unwrap();
    let occ = ids(&series);
    for id in &occ {
        user.put(
            &format!("/events/{id}/participants/me"),
            json!({"status": "PARTICIPATING"}),
        )
        .await
        .expect(204);
    }
    admin
        .put(
            &format!("/events/{}", occ[1]),
            json!({"rejected_at": iso(srv.now().0)}),
        )
        .await
        .expect(200);
    let after = get_series(&admin, sid).await;
    let statuses: Vec<&str> = after["occurrences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["ACTIVE", "REJECTED", "ACTIVE", "ACTIVE"]);
    // The cancelled one is not generated again, and the user still takes
    // part in the others.
    generate(&srv).await;
    assert_eq!(stored(&srv, sid).await, 4);
    let mine = user.get("/events/cards?mine=true").await.expect(200);
    assert_eq!(mine.as_array().unwrap().len(), 3);
    // An edit of all leaves the cancelled one as it was.
    admin
        .put(
            &format!("/events/{}?scope=all", occ[2]),
            json!({"name": "Renamed"}),
        )
        .await
        .expect(200);
    let after = get_series(&admin, sid).await;
    let rows: Vec<(&str, &str)> = after["occurrences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["name"].as_str().unwrap(), e["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        rows,
        [
            ("Renamed", "ACTIVE"),
            ("Lecture", "REJECTED"),
            ("Renamed", "ACTIVE"),
            ("Renamed", "ACTIVE"),
        ]
    );
    // Participants of the reached occurrences are told once each.
    let updates = user
        .get("/notifications/instant?include_acked=true&limit=200")
        .await
        .expect(200)
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["type"] == "EVENT_UPDATED")
        .count();
    assert_eq!(updates, 3);
}

#[tokio::test]
async fn the_generator_is_idempotent_and_follows_the_clock() {
    let srv = TestServer::with(|c| c.events.series_horizon_days = 30).await;
    srv.clock.set(t("2027-01-01T08:00:00Z"));
    let admin = srv.admin().await;
    let series = create(
        &admin,
        body(
            t("2027-01-04T19:00:00Z"),
            2,
            json!({"frequency": "WEEKLY", "weekdays": ["MO", "TH"]}),
        ),
    )
    .await;
    let sid = series["id"].as_i64().unwrap();
    // Mondays and Thursdays up to 2027-01-31 08:00.
    assert_eq!(ids(&series).len(), 8);
    generate(&srv).await;
    assert_eq!(generate(&srv).await, 0, "a second run creates nothing");
    assert_eq!(stored(&srv, sid).await, 8);
    let unique = srv
        .query_i64(
            "SELECT count(DISTINCT series_index) FROM event WHERE series_id = ?1",
            vec![json!(sid)],
        )
        .await;
    assert_eq!(unique, 8);
    // Two weeks on: four more occurrences come within the horizon.
    srv.clock.advance(Duration::days(14));
    generate(&srv).await;
    assert_eq!(generate(&srv).await, 0);
    assert_eq!(stored(&srv, sid).await, 12);
    let last = srv
        .query_i64(
            "SELECT max(starts_at) FROM event WHERE series_id = ?1",
            vec![json!(sid)],
        )
        .await;
    let horizon = srv.now().0 + Duration::days(30);
    assert!(last <= horizon.timestamp_micros());
    assert!(last > (horizon - Duration::days(4)).timestamp_micros());
}

#[tokio::test]
async fn each_occurrence_is_reminded_exactly_once() {
    let srv = TestServer::start().await;
    srv.clock.set(t("2027-01-01T08:00:00Z"));
    let admin = srv.admin().await;
    let user = srv.user().await;
    let series = create(
        &admin,
        body(
            t("2027-01-04T19:00:00Z"),
            2,
            json!({"frequency": "WEEKLY", "count": 3}),
        ),
    )
    .await;
    let occ = ids(&series);
    for id in &occ[..2] {
        user.put(
            &format!("/events/{id}/participants/me"),
            json!({"status": "PARTICIPATING"}),
        )
        .await
        .expect(204);
    }
    expect_reminders(&srv, &user, 0, "three days ahead").await;
    srv.clock.set(t("2027-01-03T20:00:00Z"));
    expect_reminders(&srv, &user, 1, "a day before the first").await;
    srv.clock.set(t("2027-01-04T21:00:00Z"));
    expect_reminders(&srv, &user, 1, "between the two").await;
    srv.clock.set(t("2027-01-10T20:00:00Z"));
    expect_reminders(&srv, &user, 2, "a day before the second").await;
    srv.clock.set(t("2027-01-17T20:00:00Z"));
    expect_reminders(&srv, &user, 2, "not a participant of the third").await;
}

/// The scheduler's hourly `series` tick runs the generator by itself: when
/// the manual clock moves a week on, the next week's occurrence appears
/// without anyone calling the service.
#[tokio::test]
async fn the_scheduler_extends_series_as_the_clock_moves() {
    let srv = TestServer::with(|c| c.events.series_horizon_days = 14).await;
    srv.clock.set(t("2027-01-01T08:00:00Z"));
    let admin = srv.admin().await;
    let series = create(
        &admin,
        body(t("2027-01-04T19:00:00Z"), 2, json!({"frequency": "WEEKLY"})),
    )
    .await;
    let sid = series["id"].as_i64().unwrap();
    assert_eq!(ids(&series).len(), 2, "Jan 4 and 11 within 14 days");
    srv.clock.advance(Duration::days(7));
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    while stored(&srv, sid).await < 3 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the scheduler did not extend the series"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(stored(&srv, sid).await, 3);
    let ticks = srv
        .query_i64(
            "SELECT count(*) FROM scan_tick WHERE name = 'series'",
            vec![],
        )
        .await;
    assert_eq!(ticks, 1);
}
