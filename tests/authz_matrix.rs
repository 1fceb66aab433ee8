//! The authorization matrix, generated from `/api/openapi.json`: every
//! operation that requires a session × {anonymous, user, administrator,
//! soft-deleted user, expired session, manager of an event}. Operations
//! that document a 403 without a reason are administrator-only; some are for
//! administrators and the event's managers (issue 22): their 403 is
//! documented as "Administrator role required, unless a manager of this
//! event", and users who do not manage the event get exactly the
//! administrators' refusal. New routes are covered as soon as they are
//! documented (and the route-coverage test makes sure they are).

mod common;

use common::*;
use serde_json::{Value, json};

fn concrete(path: &str) -> String {
    path.replace("{uid}", "00000000-0000-4000-8000-000000000000")
        .replace("{user_id}", "999999")
        .replace("{event_id}", "999999")
        .replace("{series_id}", "999999")
}

/// A fresh session for an existing user (operations like logout end one).
async fn fresh(srv: &TestServer, who: &Client) -> Client {
    let s = afisha::service::accounts::start_session(
        &srv.state.svc,
        who.user_id,
        Some("matrix".into()),
    )
    .await
    .unwrap();
    let mut c = who.clone();
    c.auth(&s.uid.to_string(), &s.token);
    c
}

async fn call(c: &Client, method: &str, url: &str) -> Resp {
    let req = match method {
        "get" => c.http.get(url),
        "post" => c.http.post(url).json(&json!({})),
        "put" => c.http.put(url).json(&json!({})),
        "delete" => c.http.delete(url),
        other => panic!("unexpected method {other}"),
    };
    c.send(req).await
}

#[tokio::test]
async fn every_secured_operation_by_every_kind_of_caller() {
    let srv = TestServer::start().await;
    // Not @example.com: the public debug route delete-examples is called too.
    let admin = srv.user_with("admin@matrix.test", "Admin", true).await;
    let user = srv.user_with("user@matrix.test", "User", false).await;
    let deleted = srv.user_with("deleted@matrix.test", "Deleted", false).await;
    let expired = srv.user_with("expired@matrix.test", "Expired", false).await;
    let manager = srv.user_with("manager@matrix.test", "Manager", false).await;
    let (deleted_id, expired_uid) = (deleted.user_id, expired.uid());
    // An event the manager manages (in the future: its check-in is not
    // open, which is a 400, not a refusal).
    let managed = admin
        .post(
            "/events",
            json!({
                "name": "Managed",
                "description": "",
                "starts_at": at(&srv, 72),
                "ends_at": at(&srv, 74),
                "image_url": "https://matrix.test/e.png",
                "managers": [manager.user_id],
            }),
        )
        .await
        .expect(201)["id"]
        .as_i64()
        .unwrap();
    let long_ago = (srv.now().0 - chrono::Duration::days(31)).timestamp_micros();
    srv.sql_exec(
        "UPDATE user SET deleted_at = 1 WHERE id = ?1",
        vec![deleted_id.into()],
    )
    .await;
    srv.sql_exec(
        "UPDATE login_session SET last_seen_at = ?2 WHERE uid = ?1",
        vec![expired_uid.to_string().into(), long_ago.into()],
    )
    .await;

    let doc: Value = admin.get("/openapi.json").await.expect(200);
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let secured = op
                .get("security")
                .and_then(Value::as_array)
                .is_some_and(|s| !s.is_empty());
            let responses = op["responses"].as_object().unwrap();
            if !secured {
                // Public: nobody is asked for a session.
                let r = call(
                    &srv.anon(),
                    method,
                    &format!("{}{}", srv.base, concrete(path)),
                )
                .await;
                assert!(
                    !r.text().contains("Invalid login session") && r.status < 500,
                    "public {method} {path} answered {} {}",
                    r.status,
                    r.text()
                );
                continue;
            }
            assert!(
                responses.contains_key("401"),
                "{method} {path} must document 401"
            );
            // A 403 documented without a reason is the administrator-only
            // refusal; one with a reason is a rule of the route itself
            // ("Attendees are hidden"), which a user may or may not meet.
            let admin_only = responses.get("403").is_some_and(|r| {
                r["description"]
                    .as_str()
                    .is_none_or(|d| d.is_empty() || d.contains("Administrator role required"))
            });
            let event_manager_route = responses.get("403").is_some_and(|r| {
                r["description"]
                    .as_str()
                    .is_some_and(|d| d.contains("unless a manager of this event"))
            });
            let url = format!("{}{}", srv.base, concrete(path));
            for (who, client) in [
                ("anonymous", srv.anon()),
                ("deleted user", deleted.clone()),
                ("expired session", expired.clone()),
            ] {
                let r = call(&client, method, &url).await;
                assert_eq!(
                    (r.status, r.text()),
                    (
                        401,
                        r#"{"detail":"Invalid login session","code":"invalid_session"}"#
                            .to_string()
                    ),
                    "{who} → {method} {path}"
                );
            }
            let r = call(&fresh(&srv, &user).await, method, &url).await;
            if admin_only || event_manager_route {
                assert_eq!(
                    (r.status, r.text()),
                    (
                        403,
                        r#"{"detail":"Administrator role required","code":"admin_required"}"#
                            .to_string()
                    ),
                    "user → {method} {path}"
                );
            } else {
                assert!(
                    ![401, 403].contains(&r.status) && r.status < 500,
                    "user → {method} {path}: {} {}",
                    r.status,
                    r.text()
                );
            }
            // The manager: on their event like an administrator; on other
            // events' manager routes and on administrator routes, 403.
            let mine = format!(
                "{}{}",
                srv.base,
                concrete(&path.replace("{event_id}", &managed.to_string()))
            );
            let r = call(&fresh(&srv, &manager).await, method, &mine).await;
            if admin_only && !event_manager_route {
                assert_eq!(
                    (r.status, r.text()),
                    (
                        403,
                        r#"{"detail":"Administrator role required","code":"admin_required"}"#
                            .to_string()
                    ),
                    "manager → {method} {path}"
                );
            } else {
                assert!(
                    ![401, 403].contains(&r.status) && r.status < 500,
                    "manager → {method} {path} (their event): {} {}",
                    r.status,
                    r.text()
                );
            }
            if event_manager_route {
                let r = call(&fresh(&srv, &manager).await, method, &url).await;
                assert_eq!(
                    r.status,
                    403,
                    "manager → {method} {path} (another event): {}",
                    r.text()
                );
            }
            let r = call(&fresh(&srv, &admin).await, method, &url).await;
            assert!(
                ![401, 403].contains(&r.status) && r.status < 500,
                "admin → {method} {path}: {} {}",
                r.status,
                r.text()
            );
            checked += 1;
        }
    }
    assert!(checked >= 8, "only {checked} secured operations documented");
}
