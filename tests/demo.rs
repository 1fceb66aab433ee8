//! The demo seed goes through the services: its events obey the date and
//! capacity rules at the moment they were created, and the notifications it
//! leaves say what the events are.

mod common;

use std::collections::HashMap;

use common::*;
use serde_json::json;

/// (id, payment_info, max, created_at, starts_at, participating)
type EventRow = (i64, Option<String>, Option<i64>, i64, i64, i64);

#[tokio::test]
async fn demo_notifications_agree_with_its_events() {
    let srv = TestServer::start().await;
    assert!(afisha::demo::seed(&srv.state).await.unwrap());
    let events: Vec<EventRow> = srv
        .sql_rows(
            "SELECT e.id, e.payment_info, e.max_participants_count, e.created_at, e.starts_at,
                    (SELECT count(*) FROM event_participant p
                      WHERE p.event_id = e.id AND p.status = 'PARTICIPATING')
             FROM event e ORDER BY e.id",
            vec![],
        )
        .await
        .into_iter()
        .map(|r| {
            (
                r[0].as_i64().unwrap(),
                r[1].as_str().map(str::to_string),
                r[2].as_i64(),
                r[3].as_i64().unwrap(),
                r[4].as_i64().unwrap(),
                r[5].as_i64().unwrap(),
            )
        })
        .collect();
    // Every person's in-app notifications, as they read them:
    // (type, content, cta_url, role).
    let mut notes: Vec<(String, String, Option<String>, &str)> = Vec::new();
    let mut people = vec![(
        afisha::demo::ADMIN_EMAIL.to_string(),
        afisha::demo::ADMIN_PASSWORD,
        "ADMINISTRATOR",
    )];
    for login in [
        "anna", "boris", "vera", "grigory", "daria", "egor", "zhanna", "ivan",
    ] {
        people.push((
            format!("{login}@demo.afisha.local"),
            afisha::demo::USER_PASSWORD,
            "USER",
        ));
    }
    for (email, password, role) in people {
        let session = srv
            .anon()
            .post("/login", json!({"email": email, "password": password}))
            .await
            .expect(201);
        let mut me = srv.anon();
        me.auth(
            session["login_session_uid"].as_str().unwrap(),
            session["login_session_token"].as_str().unwrap(),
        );
        let list = me
            .get("/notifications/instant?include_acked=true&limit=200")
            .await
            .expect(200);
        for n in list.as_array().unwrap() {
            notes.push((
                n["type"].as_str().unwrap().to_string(),
                n["content"].as_str().unwrap().to_string(),
                n["cta_url"].as_str().map(str::to_string),
                role,
            ));
        }
    }
    assert_eq!(events.len(), 20);
    for (id, _, max, created, starts, participating) in &events {
        assert!(created < starts, "event {id} starts after its creation");
        if let Some(max) = max {
            assert!(participating <= max, "event {id}: {participating} > {max}");
        }
    }
    let event_of = |url: &Option<String>| -> i64 {
        let url = url
            .as_deref()
            .expect("an event notification links the event");
        url.rsplit('/').next().unwrap().parse().unwrap()
    };
    let mut invited: HashMap<i64, i64> = HashMap::new();
    for (kind, _, url, _) in &notes {
        if kind == "EVENT_CREATED" {
            *invited.entry(event_of(url)).or_default() += 1;
        }
    }
    assert!(!invited.is_empty());
    let mut with_payment = 0;
    for (kind, content, url, role) in &notes {
        let id = event_of(url);
        let (_, payment, max, ..) = events.iter().find(|e| e.0 == id).unwrap();
        if kind == "EVENT_CREATED" {
            assert_eq!(*role, "USER");
            // The facts are the event's: its payment terms and the seats
            // taken by the people invited with it.
            if let Some(payment) = payment {
                assert!(content.contains(payment.as_str()), "{content}");
                with_payment += 1;
            }
            let n = invited[&id];
            let seats = match max {
                Some(max) => [format!("{n} из {max}"), format!("{n} of {max}")],
                None => [format!(": {n}, "), format!(": {n}, ")],
            };
            assert!(
                seats.iter().any(|s| content.contains(s.as_str())),
                "{seats:?} in {content}"
            );
        } else if kind.starts_with("EVENT_PARTICIPATION_") {
            assert_eq!(*role, "ADMINISTRATOR", "{kind}");
        } else {
            assert_eq!(kind, "EVENT_CANCELLED");
            assert_eq!(*role, "USER");
        }
    }
    assert!(with_payment > 0);
    // Joins after creation notify the administrators.
    assert!(notes.iter().any(|n| n.0 == "EVENT_PARTICIPATION_CONFIRMED"));
}

/// The demo's start hours are wall-clock hours where the board is read
/// (`ui.display_timezone`), and its covers are all different pictures.
#[tokio::test]
async fn demo_events_start_at_local_hours_with_distinct_covers() {
    let srv = TestServer::with(|c| c.ui.display_timezone = "Asia/Yekaterinburg".into()).await;
    assert!(afisha::demo::seed(&srv.state).await.unwrap());
    let session = srv
        .anon()
        .post(
            "/login",
            json!({"email": afisha::demo::ADMIN_EMAIL, "password": afisha::demo::ADMIN_PASSWORD}),
        )
        .await
        .expect(201);
    let mut admin = srv.anon();
    admin.auth(
        session["login_session_uid"].as_str().unwrap(),
        session["login_session_token"].as_str().unwrap(),
    );
    let events = admin.get("/events?limit=100").await.expect(200);
    let events = events.as_array().unwrap();
    assert!(events.len() >= 20, "{} events", events.len());
    let zone: chrono_tz::Tz = "Asia/Yekaterinburg".parse().unwrap();
    let local = |e: &serde_json::Value| {
        chrono::DateTime::parse_from_rfc3339(e["starts_at"].as_str().unwrap())
            .unwrap()
            .with_timezone(&zone)
    };
    let town_hall = events
        .iter()
        .find(|e| e["name"] == "Квартальный town hall")
        .expect("the town hall");
    assert_eq!(local(town_hall).format("%H:%M").to_string(), "10:00");
    for e in events {
        let hour = chrono::Timelike::hour(&local(e));
        assert!(
            (8..=20).contains(&hour),
            "{} starts at {hour}:00",
            e["name"]
        );
    }
    let mut covers = HashMap::new();
    for e in events {
        let bytes = admin.get(e["image_url"].as_str().unwrap()).await;
        assert_eq!(bytes.status, 200);
        let previous = covers.insert(bytes.bytes.clone(), e["name"].clone());
        assert!(
            previous.is_none(),
            "{} and {:?} share a cover",
            e["name"],
            previous
        );
    }
}
