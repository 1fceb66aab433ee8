//! Per-user notification preferences (issue #17): language and time zone
//! of emails and in-app texts, email switches, reminder offsets — on both
//! database backends.

mod common;

use afisha::domain::notice::{EventFacts, Notice, To};
use afisha::domain::time::Ts;
use afisha::service::outbox;
use chrono::Duration;
use common::*;
use serde_json::json;

async fn notify(srv: &TestServer, notice: Notice, to: Vec<To>) {
    let svc = srv.state.svc.clone();
    svc.store
        .clone()
        .write(move |tx| outbox::notify(&svc, tx, &notice, &to))
        .await
        .unwrap();
}

fn facts(starts_at: Ts) -> EventFacts {
    EventFacts {
        id: 7,
        name: "Summer party".into(),
        short_description: None,
        starts_at,
        ends_at: Ts(starts_at.0 + Duration::hours(2)),
        location: Some("Roof".into()),
        payment_info: None,
        max_participants_count: None,
        participants_count: 3,
    }
}

#[tokio::test]
async fn preferences_have_defaults_and_refuse_what_cannot_be() {
    let srv = TestServer::start().await;
    let user = srv.user().await;
    let prefs = user.get("/users/me/preferences").await.expect(200);
    assert_eq!(prefs["locale"], "ru");
    assert_eq!(prefs["time_zone"], "UTC");
    assert_eq!(prefs["reminder_offsets_minutes"], json!([1440]));
    assert_eq!(prefs["email"]["EVENT_UPDATED"], true);
    assert_eq!(prefs["email"]["PASSWORD_CHANGED"], true);
    let required = prefs["email_required"].as_array().unwrap();
    for kind in [
        "REG_CONFIRM_CODE",
        "PASSWORD_RESET_LINK",
        "PASSWORD_CHANGED",
    ] {
        assert!(required.contains(&json!(kind)), "{kind}");
    }
    srv.anon().get("/users/me/preferences").await.expect(401);

    let changed = user
        .put(
            "/users/me/preferences",
            json!({"locale": "en", "time_zone": "America/New_York",
                   "email": {"EVENT_UPDATED": false}, "reminder_offsets_minutes": [60, 1440]}),
        )
        .await
        .expect(200);
    assert_eq!(changed["locale"], "en");
    assert_eq!(changed["time_zone"], "America/New_York");
    assert_eq!(changed["email"]["EVENT_UPDATED"], false);
    assert_eq!(changed["reminder_offsets_minutes"], json!([1440, 60]));
    assert_eq!(user.get("/users/me/preferences").await.expect(200), changed);

    // Security emails cannot be turned off; nothing else changes then.
    let errors = user
        .put(
            "/users/me/preferences",
            json!({"locale": "ru", "email": {"PASSWORD_CHANGED": false}}),
        )
        .await
        .expect_422(&["body", "email", "PASSWORD_CHANGED"]);
    assert!(
        errors[0]["msg"]
            .as_str()
            .unwrap()
            .contains("cannot be turned off"),
        "{errors:?}"
    );
    assert_eq!(user.get("/users/me/preferences").await.expect(200), changed);
    user.put("/users/me/preferences", json!({"email": {"NOPE": true}}))
        .await
        .expect_422(&["body", "email", "NOPE"]);
    user.put(
        "/users/me/preferences",
        json!({"time_zone": "Mars/Olympus"}),
    )
    .await
    .expect_422(&["body", "time_zone"]);
    user.put("/users/me/preferences", json!({"locale": "de"}))
        .await
        .expect_422(&["body", "locale"]);
    for bad in [
        json!([]),
        json!([60, 60]),
        json!([1]),
        json!([1, 2, 3, 4, 5, 6]),
    ] {
        user.put(
            "/users/me/preferences",
            json!({"reminder_offsets_minutes": bad}),
        )
        .await
        .expect_422(&["body", "reminder_offsets_minutes"]);
    }
}

#[tokio::test]
async fn the_same_event_reads_in_each_persons_language_and_time_zone() {
    let srv = TestServer::start().await;
    let en = srv.user_with("ny@example.com", "New Yorker", false).await;
    let ru = srv.user_with("msk@example.com", "Москвич", false).await;
    en.put(
        "/users/me/preferences",
        json!({"locale": "en", "time_zone": "America/New_York"}),
    )
    .await
    .expect(200);
    ru.put(
        "/users/me/preferences",
        json!({"locale": "ru", "time_zone": "Europe/Moscow"}),
    )
    .await
    .expect(200);

    // 16:00 UTC in July: 12:00 in New York (EDT), 19:00 in Moscow.
    let start = Ts::parse("2030-07-15T16:00:00Z").unwrap();
    notify(
        &srv,
        Notice::EventUpdated(facts(start)),
        vec![To::User(en.user_id), To::User(ru.user_id)],
    )
    .await;

    let mail = srv.wait_mail("ny@example.com", |_| true).await;
    assert_eq!(mail.subject, "Event updated: Summer party");
    let text = mail.text();
    assert!(
        text.contains("15 July 2030, 12:00 – 14:00 (America/New_York)"),
        "{text}"
    );
    let mail = srv.wait_mail("msk@example.com", |_| true).await;
    assert_eq!(mail.subject, "Событие изменено: Summer party");
    let text = mail.text();
    assert!(
        text.contains("15 июля 2030, 19:00 – 21:00 (Europe/Moscow)"),
        "{text}"
    );

    let note = |list: serde_json::Value| list.as_array().unwrap()[0].clone();
    let en_note = note(en.get("/notifications/instant").await.expect(200));
    assert_eq!(en_note["title"], "Event updated: Summer party");
    assert!(
        en_note["content"]
            .as_str()
            .unwrap()
            .contains("12:00 – 14:00 (America/New_York)"),
        "{en_note}"
    );
    let ru_note = note(ru.get("/notifications/instant").await.expect(200));
    assert_eq!(ru_note["title"], "Событие изменено: Summer party");
    assert!(
        ru_note["content"]
            .as_str()
            .unwrap()
            .contains("19:00 – 21:00 (Europe/Moscow)"),
        "{ru_note}"
    );
    // Short, typed words: no greeting, no raw link, no footer; two lines.
    for n in [&en_note, &ru_note] {
        let content = n["content"].as_str().unwrap();
        assert_eq!(content.lines().count(), 2, "{content}");
        for boilerplate in [
            "Hello",
            "Здравствуйте",
            "http",
            "automatically",
            "автоматически",
        ] {
            assert!(!content.contains(boilerplate), "{boilerplate} in {content}");
        }
        assert_eq!(
            n["cta_url"].as_str().unwrap(),
            format!("{}/events/7", srv.base)
        );
    }
    assert_eq!(
        en_note["content"],
        "The details of \"Summer party\", which you are attending, have changed.\n\
         When: 15 July 2030, 12:00 – 14:00 (America/New_York) · Where: Roof"
    );
    // Read again after switching language: rendered anew, not cached.
    en.put("/users/me/preferences", json!({"locale": "ru"}))
        .await
        .expect(200);
    let again = note(en.get("/notifications/instant").await.expect(200));
    assert_eq!(again["title"], "Событие изменено: Summer party");
}

async fn jobs_to(srv: &TestServer, email: &str) -> i64 {
    srv.query_i64(
        "SELECT count(*) FROM job WHERE payload LIKE ?1",
        vec![format!("%\"to_email\":\"{email}\"%").into()],
    )
    .await
}

#[tokio::test]
async fn opting_out_of_event_updated_stops_the_email_not_the_notice() {
    let srv = TestServer::start().await;
    let user = srv.user_with("quiet@example.com", "Quiet", false).await;
    user.put(
        "/users/me/preferences",
        json!({"email": {"EVENT_UPDATED": false}}),
    )
    .await
    .expect(200);
    let start = Ts(srv.now().0 + Duration::days(3));
    notify(
        &srv,
        Notice::EventUpdated(facts(start)),
        vec![To::User(user.user_id)],
    )
    .await;
    assert_eq!(jobs_to(&srv, "quiet@example.com").await, 0, "no email");
    let list = user.get("/notifications/instant").await.expect(200);
    assert_eq!(list[0]["type"], "EVENT_UPDATED", "the in-app notice stays");

    // Other event emails and security emails still go out.
    notify(
        &srv,
        Notice::EventCancelled(facts(start)),
        vec![To::User(user.user_id)],
    )
    .await;
    notify(&srv, Notice::PasswordChanged, vec![To::User(user.user_id)]).await;
    assert_eq!(jobs_to(&srv, "quiet@example.com").await, 2);
    srv.wait_mail("quiet@example.com", |m| m.subject.starts_with("Пароль"))
        .await;

    // Turned back on, the email comes again.
    user.put(
        "/users/me/preferences",
        json!({"email": {"EVENT_UPDATED": true}}),
    )
    .await
    .expect(200);
    notify(
        &srv,
        Notice::EventUpdated(facts(start)),
        vec![To::User(user.user_id)],
    )
    .await;
    assert_eq!(jobs_to(&srv, "quiet@example.com").await, 3);
}

async fn insert_event(srv: &TestServer, starts_at: Ts) -> i64 {
    let now = srv.now();
    srv.sql_rows(
        "INSERT INTO event (name, name_fold, description, starts_at, ends_at, image_url, location,
                            max_participants_count, created_at)
         VALUES ('Offsets', 'offsets', 'Описание', ?1, ?2, 'https://example.com/i.png', 'Зал', 30, ?3)
         RETURNING id",
        vec![
            starts_at.micros().into(),
            (starts_at.0 + Duration::hours(3)).timestamp_micros().into(),
            now.micros().into(),
        ],
    )
    .await[0][0]
        .as_i64()
        .unwrap()
}

#[tokio::test]
async fn two_offsets_give_two_reminders_each_once_and_a_move_re_arms_them() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let user = srv.user().await;
    let plain = srv.user().await;
    user.put(
        "/users/me/preferences",
        json!({"reminder_offsets_minutes": [1440, 60]}),
    )
    .await
    .expect(200);
    let offsets = afisha::service::reminders::reminder_offsets_for(&srv.state.svc, user.user_id)
        .await
        .unwrap();
    assert_eq!(offsets, [Duration::days(1), Duration::hours(1)]);

    let start = Ts(srv.now().0 + Duration::hours(30));
    let event = insert_event(&srv, start).await;
    for u in [&user, &plain] {
        srv.sql_exec(
            "INSERT INTO event_participant (event_id, user_id, status, created_at)
             VALUES (?1, ?2, 'PARTICIPATING', ?3)",
            vec![event.into(), u.user_id.into(), srv.now().micros().into()],
        )
        .await;
    }
    expect_reminders(&srv, &user, 0, "30 hours ahead").await;

    srv.clock.set(start.0 - Duration::hours(23));
    expect_reminders(&srv, &user, 1, "a day ahead").await;
    expect_reminders(&srv, &plain, 1, "the default offset").await;

    srv.clock.set(start.0 - Duration::minutes(59));
    expect_reminders(&srv, &user, 2, "an hour ahead").await;
    expect_reminders(&srv, &plain, 1, "one offset only").await;

    // The event moves two days on: both reminders are armed again.
    let moved = Ts(start.0 + Duration::days(2));
    admin
        .put(
            &format!("/events/{event}"),
            json!({"starts_at": moved.0.to_rfc3339(),
                   "ends_at": (moved.0 + Duration::hours(3)).to_rfc3339()}),
        )
        .await
        .expect(200);
    expect_reminders(&srv, &user, 2, "not due yet").await;
    srv.clock.set(moved.0 - Duration::hours(23));
    expect_reminders(&srv, &user, 3, "a day before the new start").await;
    expect_reminders(&srv, &plain, 2, "a day before the new start").await;
    srv.clock.set(moved.0 - Duration::minutes(30));
    expect_reminders(&srv, &user, 4, "an hour before the new start").await;
    expect_reminders(&srv, &plain, 2, "one offset only").await;
}
