//! "Your data" over real HTTP, on both backends: the export holds exactly
//! my data and no secret; deleting my account anonymises it, keeps the
//! statistics' totals, ends my sessions, and is refused for the last
//! administrator, a wrong password or a stale SSO sign-in.

mod common;

use chrono::Duration;
use common::*;
use serde_json::{Value, json};

fn event_body(srv: &TestServer, name: &str, participants: &[i64]) -> Value {
    json!({
        "name": name,
        "description": "Description",
        "starts_at": at(srv, 48),
        "ends_at": at(srv, 50),
        "image_url": "https://example.com/e.png",
        "participants_ids": participants,
    })
}

async fn delete_me(c: &Client, body: Value) -> Resp {
    c.send(
        c.http
            .delete(format!("{}/api/users/me", c.base))
            .json(&body),
    )
    .await
}

fn token(c: &Client) -> String {
    c.headers["X-Login-Session-Token"]
        .to_str()
        .unwrap()
        .to_string()
}

fn scalar(stats: &Value, name: &str) -> Value {
    stats["scalars"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap()["value"]
        .clone()
}

/// Every value of every column that holds a secret, for every user.
async fn secret_values(srv: &TestServer) -> Vec<String> {
    let mut out = Vec::new();
    for sql in [
        "SELECT password_hash FROM user",
        "SELECT token_hash FROM login_session",
        "SELECT token_hash FROM calendar_token",
        "SELECT token_sealed FROM calendar_token",
        "SELECT token_hash FROM issued_login_recovery",
        "SELECT identity_subject FROM user WHERE identity_subject IS NOT NULL",
    ] {
        for row in srv.sql_rows(sql, vec![]).await {
            if let Some(s) = row[0].as_str().filter(|s| s.len() >= 8) {
                out.push(s.to_string());
            }
        }
    }
    out
}

#[tokio::test]
async fn export_holds_exactly_my_data_and_no_secret() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let me = srv.user().await;
    let other = srv.user().await;
    let mine = admin
        .post("/events", event_body(&srv, "Mine", &[me.user_id]))
        .await
        .expect(201);
    let theirs = admin
        .post("/events", event_body(&srv, "Theirs", &[other.user_id]))
        .await
        .expect(201);
    me.put(
        "/users/me/preferences",
        json!({"locale": "en", "reminder_offsets_minutes": [60, 1440]}),
    )
    .await
    .expect(200);
    let feed = me
        .post("/users/me/calendar-token", json!({}))
        .await
        .expect(200)["url"]
        .as_str()
        .unwrap()
        .to_string();
    // A recovery link exists too (its token is a secret).
    let my_email = me.get("/users/me").await.expect(200)["email"]
        .as_str()
        .unwrap()
        .to_string();
    srv.anon()
        .post("/login/recovery", json!({"email": my_email}))
        .await
        .expect(201);

    let r = me.get("/users/me/export").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        r.header("content-disposition")
            .unwrap()
            .starts_with("attachment;")
    );
    assert!(
        r.header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
    let text = r.text();
    let doc: Value = serde_json::from_str(&text).unwrap();

    assert_eq!(doc["profile"]["id"], me.user_id);
    assert_eq!(doc["profile"]["email"], my_email.as_str());
    assert_eq!(doc["identity_provider"], Value::Null);
    let sessions = doc["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0]["current"], true);
    assert_eq!(sessions[0]["uid"], me.uid().as_str());
    let parts = doc["participations"].as_array().unwrap();
    assert_eq!(parts.len(), 1);
    assert_eq!(parts[0]["event_id"], mine["id"]);
    assert_eq!(parts[0]["event_name"], "Mine");
    assert_eq!(parts[0]["status"], "PARTICIPATING");
    let notes = doc["notifications"].as_array().unwrap();
    assert_eq!(notes.len(), 1, "the EVENT_CREATED notice: {notes:?}");
    assert_eq!(notes[0]["type"], "EVENT_CREATED");
    assert_eq!(doc["preferences"]["locale"], "en");
    assert_eq!(
        doc["preferences"]["reminder_offsets_minutes"],
        json!([1440, 60])
    );
    assert_eq!(doc["calendar_feed"]["exists"], true);

    // Nothing of the other user.
    let other_email = other.get("/users/me").await.expect(200)["email"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(!text.contains(&other_email));
    assert!(!text.contains("Theirs"));
    assert!(!text.contains(&format!("\"event_id\": {}", theirs["id"])));
    // No secret of any kind.
    let secrets = secret_values(&srv).await;
    assert!(secrets.len() >= 6, "{secrets:?}");
    for secret in secrets
        .iter()
        .chain([token(&me), PASSWORD.to_string()].iter())
    {
        assert!(!text.contains(secret.as_str()), "a secret leaked: {secret}");
    }
    let feed_token = feed.rsplit('/').next().unwrap().trim_end_matches(".ics");
    assert!(!text.contains(feed_token));
    assert!(!text.contains("password_hash") && !text.contains("token_hash"));

    srv.anon().get("/users/me/export").await.expect(401);
}

#[tokio::test]
async fn deleting_my_account_anonymises_and_keeps_totals() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let me = srv.user().await;
    let other = srv.user().await;
    let event = admin
        .post(
            "/events",
            event_body(&srv, "Party", &[me.user_id, other.user_id]),
        )
        .await
        .expect(201);
    let event_id = event["id"].as_i64().unwrap();
    let feed = me
        .post("/users/me/calendar-token", json!({}))
        .await
        .expect(200)["url"]
        .as_str()
        .unwrap()
        .to_string();
    let my_email = me.get("/users/me").await.expect(200)["email"]
        .as_str()
        .unwrap()
        .to_string();
    let stats_before = admin.get("/statistics").await.expect(200);
    let audit_before = admin.get("/admin/audit").await.expect(200)["total"]
        .as_i64()
        .unwrap();

    // Refusals change nothing.
    delete_me(&me, json!({"password": "not-my-password"}))
        .await
        .expect_detail(400, "Invalid password");
    delete_me(&me, json!({}))
        .await
        .expect_detail(400, "Password required");
    me.get("/users/me").await.expect(200);
    assert_eq!(
        admin.get("/admin/audit").await.expect(200)["total"],
        audit_before
    );

    let r = delete_me(&me, json!({"password": PASSWORD})).await;
    assert_eq!(r.status, 204, "{}", r.text());

    // The old session is gone, and so is signing in.
    me.get("/users/me").await.expect(401);
    srv.anon()
        .post("/login", json!({"email": my_email, "password": PASSWORD}))
        .await
        .expect(401);
    srv.anon().get(&feed).await.expect(404);
    // Anonymised.
    let listed = admin
        .get("/users?include_deleted=true&limit=200")
        .await
        .expect(200);
    let row = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == me.user_id)
        .unwrap()
        .clone();
    assert_eq!(
        row["email"],
        format!("deleted-user-{}@deleted.invalid", me.user_id)
    );
    assert_eq!(row["full_name"], "Deleted user");
    assert_eq!(row["status"], "DELETED");
    assert_eq!(row["sign_in"], json!([]));
    let stored = srv
        .sql_rows(
            "SELECT password_hash, email_key FROM user WHERE id = ?1",
            vec![json!(me.user_id)],
        )
        .await;
    assert_eq!(stored[0][0], "");
    assert!(!listed.to_string().contains(&my_email));
    for table in [
        "login_session WHERE user_id",
        "calendar_token WHERE user_id",
        "user_preferences WHERE user_id",
        "user_reminder_offset WHERE user_id",
        "instant_notification WHERE recipient_id",
        "issued_login_recovery WHERE user_id",
    ] {
        let n = srv
            .sql_rows(
                &format!("SELECT COUNT(*) FROM {table} = ?1"),
                vec![json!(me.user_id)],
            )
            .await[0][0]
            .as_i64()
            .unwrap();
        assert_eq!(n, 0, "{table}");
    }
    // Statistics' totals and the event's count are as before.
    let stats_after = admin.get("/statistics").await.expect(200);
    for name in [
        "total_participations",
        "unique_participants",
        "events_total",
    ] {
        assert_eq!(
            scalar(&stats_after, name),
            scalar(&stats_before, name),
            "{name}"
        );
    }
    let event = admin.get(&format!("/events/{event_id}")).await.expect(200);
    assert_eq!(event["participants"].as_array().unwrap().len(), 2);
    // The audit log has the deletion, under the placeholder only.
    let log = admin
        .get("/admin/audit?action=account.deleted")
        .await
        .expect(200);
    assert_eq!(log["total"], 1);
    let entry = &log["items"][0];
    assert_eq!(entry["actor_id"], me.user_id);
    assert_eq!(entry["target_id"], me.user_id.to_string());
    assert!(!log.to_string().contains(&my_email));
    // The address is free again.
    srv.user_with(&my_email, "Someone New", false).await;
}

#[tokio::test]
async fn the_last_administrator_cannot_delete_themselves() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    delete_me(&admin, json!({"password": PASSWORD}))
        .await
        .expect_detail(400, "Cannot remove the last administrator");
    admin.get("/users/me").await.expect(200);
    // With a second administrator it works.
    let second = srv.admin().await;
    delete_me(&admin, json!({"password": PASSWORD}))
        .await
        .expect(204);
    delete_me(&second, json!({"password": PASSWORD}))
        .await
        .expect_detail(400, "Cannot remove the last administrator");
}

/// An account without a password (made by the directory or the identity
/// provider): a sign-in within the last 10 minutes stands in for it.
#[tokio::test]
async fn accounts_without_a_password_need_a_fresh_sign_in() {
    let srv = TestServer::start().await;
    let _admin = srv.admin().await;
    let sso = sso_user(&srv, "sso-one@corp.example").await;
    srv.clock.advance(Duration::minutes(11));
    delete_me(&sso, json!({})).await.expect_detail(
        403,
        "Sign in again (within the last 10 minutes) to delete your account",
    );
    sso.get("/users/me").await.expect(200);
    // A fresh session (a new sign-in) may.
    let fresh = sso_user(&srv, "sso-two@corp.example").await;
    srv.clock.advance(Duration::minutes(9));
    delete_me(&fresh, json!({})).await.expect(204);
    fresh.get("/users/me").await.expect(401);
}

async fn sso_user(srv: &TestServer, email: &str) -> Client {
    let svc = &srv.state.svc;
    let email = email.to_string();
    let now = srv.now();
    let id = svc
        .store
        .write(move |tx| {
            let id = tx.insert_user(&afisha::store::accounts::NewUser {
                email: &email,
                full_name: "Directory Person",
                password_hash: "",
                role: afisha::domain::user::Role::User,
                now,
            })?;
            tx.link_identity(id, afisha::domain::user::IdentityProvider::Oidc, &email)?;
            Ok(id)
        })
        .await
        .unwrap();
    let session = afisha::service::accounts::start_session(svc, id, None)
        .await
        .unwrap();
    let mut c = srv.anon();
    c.user_id = id;
    c.auth(&session.uid.to_string(), &session.token);
    c
}
