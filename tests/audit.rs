//! The audit log over real HTTP, on both backends: every administrator's
//! change writes exactly one entry with the right before/after, security
//! events are recorded, entries cannot be changed through any route,
//! filters, paging and the CSV, and the retention clean-up.

mod common;

use chrono::Duration;
use common::*;
use serde_json::{Value, json};

async fn entries(admin: &Client, query: &str) -> Value {
    admin.get(&format!("/admin/audit{query}")).await.expect(200)
}

async fn total(admin: &Client) -> i64 {
    entries(admin, "").await["total"].as_i64().unwrap()
}

fn event_body(srv: &TestServer, name: &str) -> Value {
    json!({
        "name": name,
        "description": "Description",
        "starts_at": at(srv, 48),
        "ends_at": at(srv, 50),
        "image_url": "https://example.com/e.png",
    })
}

/// One administrator route call and what its single new entry must say.
struct Case {
    what: &'static str,
    action: &'static str,
    target_type: &'static str,
    target_id: Option<String>,
    /// Fields that must appear in `changes` with these before/after values.
    changes: Value,
}

#[tokio::test]
async fn every_admin_route_writes_exactly_one_entry_with_before_and_after() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let user = srv.user().await;
    let uid = user.user_id;
    let other = srv.user().await;

    let mut cases: Vec<(Case, Resp)> = Vec::new();

    // Users.
    let r = admin
        .put(&format!("/users/{uid}"), json!({"role": "ADMINISTRATOR"}))
        .await;
    cases.push((
        Case {
            what: "PUT /users role",
            action: "user.role_changed",
            target_type: "user",
            target_id: Some(uid.to_string()),
            changes: json!({"role": {"before": "USER", "after": "ADMINISTRATOR"}}),
        },
        r,
    ));
    let r = admin
        .put(
            &format!("/users/{uid}"),
            json!({"full_name": "Renamed Person"}),
        )
        .await;
    let old_name = admin.get("/users?q=Renamed").await.expect(200);
    assert_eq!(old_name.as_array().unwrap().len(), 1);
    cases.push((
        Case {
            what: "PUT /users name",
            action: "user.updated",
            target_type: "user",
            target_id: Some(uid.to_string()),
            changes: json!({"full_name": {"after": "Renamed Person"}}),
        },
        r,
    ));
    let r = admin
        .post(
            &format!("/users/{}/reset-password", other.user_id),
            json!({"password": "a-new-long-password"}),
        )
        .await;
    cases.push((
        Case {
            what: "POST reset-password",
            action: "user.password_reset",
            target_type: "user",
            target_id: Some(other.user_id.to_string()),
            changes: json!({"password": {"before": "[redacted]", "after": "[redacted]"}}),
        },
        r,
    ));
    let r = admin.delete(&format!("/users/{}", other.user_id)).await;
    cases.push((
        Case {
            what: "DELETE /users",
            action: "user.deleted",
            target_type: "user",
            target_id: Some(other.user_id.to_string()),
            changes: json!({"deleted_at": {"before": null}, "sessions_revoked": {"before": 0, "after": 0}}),
        },
        r,
    ));
    let r = admin
        .put(
            &format!("/users/{}", other.user_id),
            json!({"deleted_at": null}),
        )
        .await;
    cases.push((
        Case {
            what: "PUT /users restore",
            action: "user.restored",
            target_type: "user",
            target_id: Some(other.user_id.to_string()),
            changes: json!({"deleted_at": {"after": null}}),
        },
        r,
    ));

    // Categories.
    let r = admin
        .post("/categories", json!({"name": "Talks", "color": "#112233"}))
        .await;
    let cat = r.json()["id"].as_i64().unwrap_or(0);
    cases.push((
        Case {
            what: "POST /categories",
            action: "category.created",
            target_type: "category",
            target_id: Some(cat.to_string()),
            changes: json!({"name": {"before": null, "after": "Talks"}}),
        },
        r,
    ));
    let r = admin
        .put(&format!("/categories/{cat}"), json!({"name": "Lectures"}))
        .await;
    cases.push((
        Case {
            what: "PUT /categories",
            action: "category.updated",
            target_type: "category",
            target_id: Some(cat.to_string()),
            changes: json!({"name": {"before": "Talks", "after": "Lectures"}}),
        },
        r,
    ));

    // Events.
    let r = admin
        .post(
            "/events",
            json!({"participants_ids": [uid], "category_id": cat, "max_participants_count": 5})
                .as_object()
                .unwrap()
                .iter()
                .fold(event_body(&srv, "Audited"), |mut b, (k, v)| {
                    b[k] = v.clone();
                    b
                }),
        )
        .await;
    let event = r.json()["id"].as_i64().unwrap_or(0);
    cases.push((
        Case {
            what: "POST /events",
            action: "event.created",
            target_type: "event",
            target_id: Some(event.to_string()),
            changes: json!({"name": {"before": null, "after": "Audited"}, "participants": {"before": null, "after": [uid]}}),
        },
        r,
    ));
    let r = admin
        .put(
            &format!("/events/{event}"),
            json!({"name": "Audited 2", "max_participants_count": 7}),
        )
        .await;
    cases.push((
        Case {
            what: "PUT /events fields",
            action: "event.updated",
            target_type: "event",
            target_id: Some(event.to_string()),
            changes: json!({"name": {"before": "Audited", "after": "Audited 2"}, "max_participants_count": {"before": 5, "after": 7}}),
        },
        r,
    ));
    let r = admin
        .put(&format!("/events/{event}"), json!({"participants_ids": []}))
        .await;
    cases.push((
        Case {
            what: "PUT /events participant removal",
            action: "event.updated",
            target_type: "event",
            target_id: Some(event.to_string()),
            changes: json!({"participants": {"before": [uid], "after": []}}),
        },
        r,
    ));
    let cancel_at = srv.now().to_string();
    let r = admin
        .put(
            &format!("/events/{event}"),
            json!({"rejected_at": cancel_at}),
        )
        .await;
    cases.push((
        Case {
            what: "PUT /events cancel",
            action: "event.cancelled",
            target_type: "event",
            target_id: Some(event.to_string()),
            changes: json!({"rejected_at": {"before": null}}),
        },
        r,
    ));
    let r = admin
        .put(&format!("/events/{event}"), json!({"rejected_at": null}))
        .await;
    cases.push((
        Case {
            what: "PUT /events restore",
            action: "event.restored",
            target_type: "event",
            target_id: Some(event.to_string()),
            changes: json!({"rejected_at": {"after": null}}),
        },
        r,
    ));
    let r = admin.delete(&format!("/categories/{cat}")).await;
    cases.push((
        Case {
            what: "DELETE /categories",
            action: "category.deleted",
            target_type: "category",
            target_id: Some(cat.to_string()),
            changes: json!({"name": {"before": "Lectures", "after": null}}),
        },
        r,
    ));

    // Mail: a failed email to try again.
    let now = srv.now().micros();
    srv.sql_exec(
        "INSERT INTO job (kind, payload, run_at, attempts, max_attempts, last_error, created_at, failed_at)
         VALUES ('email', '{}', ?1, 5, 5, 'SMTP: refused', ?1, ?1)",
        vec![json!(now)],
    )
    .await;
    let job = srv
        .sql_rows(
            "SELECT MAX(id) FROM job WHERE failed_at IS NOT NULL",
            vec![],
        )
        .await[0][0]
        .as_i64()
        .unwrap();
    let r = admin
        .post(&format!("/admin/outbox/{job}/retry"), json!({}))
        .await;
    cases.push((
        Case {
            what: "POST /admin/outbox/{id}/retry",
            action: "email.retried",
            target_type: "email",
            target_id: Some(job.to_string()),
            changes: json!({}),
        },
        r,
    ));
    let r = admin.post("/admin/outbox/retry-failed", json!({})).await;
    cases.push((
        Case {
            what: "POST retry-failed",
            action: "email.retried_all",
            target_type: "system",
            target_id: None,
            changes: json!({"queued": {"before": 0}}),
        },
        r,
    ));
    let r = admin
        .post("/admin/email/test", json!({"to": "someone@example.com"}))
        .await;
    cases.push((
        Case {
            what: "POST /admin/email/test",
            action: "email.test_sent",
            target_type: "system",
            target_id: None,
            changes: json!({"to": {"before": null, "after": "someone@example.com"}}),
        },
        r,
    ));

    // Each call succeeded and added exactly one entry, in order: the newest
    // `cases.len()` entries are these, newest first.
    for (case, r) in &cases {
        assert!(r.status < 300, "{}: {} {}", case.what, r.status, r.text());
    }
    let page = entries(&admin, "?limit=500").await;
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), cases.len(), "one entry per call: {items:#?}");
    for ((case, _), entry) in cases.iter().zip(items.iter().rev()) {
        assert_eq!(entry["action"], case.action, "{}: {entry}", case.what);
        assert_eq!(entry["target_type"], case.target_type, "{}", case.what);
        assert_eq!(
            entry["target_id"].as_str().map(String::from),
            case.target_id,
            "{}",
            case.what
        );
        assert_eq!(entry["actor_id"], admin.user_id, "{}", case.what);
        assert!(entry["actor_email"].as_str().unwrap().starts_with("admin-"));
        assert_eq!(entry["ip"], "127.0.0.1", "{}", case.what);
        for (field, want) in case.changes.as_object().unwrap() {
            let got = &entry["changes"][field];
            assert!(
                got.is_object(),
                "{}: no change of {field}: {entry}",
                case.what
            );
            for side in ["before", "after"] {
                if let Some(v) = want.get(side) {
                    assert_eq!(&got[side], v, "{}: {field}.{side}", case.what);
                }
            }
        }
    }
    // A refused change writes nothing (its transaction rolled back).
    let before = total(&admin).await;
    admin
        .delete(&format!("/users/{}", admin.user_id))
        .await
        .expect(204);
    admin
        .put("/users/999999", json!({"role": "USER"}))
        .await
        .expect(401);
    let admin = srv.admin().await;
    let n = total(&admin).await;
    assert_eq!(n, before + 1, "only the delete that happened is recorded");
    admin
        .put("/users/999999", json!({"role": "USER"}))
        .await
        .expect(404);
    assert_eq!(total(&admin).await, n);
}

#[tokio::test]
async fn entries_cannot_be_changed_or_deleted_through_any_route() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let user = srv.user().await;
    admin
        .put(
            &format!("/users/{}", user.user_id),
            json!({"role": "ADMINISTRATOR"}),
        )
        .await
        .expect(200);
    let first = entries(&admin, "").await;
    let n = first["total"].as_i64().unwrap();
    let id = first["items"][0]["id"].as_i64().unwrap();
    for path in [
        "/admin/audit".to_string(),
        "/admin/audit.csv".to_string(),
        format!("/admin/audit/{id}"),
    ] {
        for r in [
            admin.put(&path, json!({"action": "user.updated"})).await,
            admin.delete(&path).await,
            admin.post(&path, json!({})).await,
            admin.send(admin_patch(&srv, &path)).await,
        ] {
            assert!(
                r.status == 405 || r.status == 404,
                "{path}: {} {}",
                r.status,
                r.text()
            );
        }
    }
    let after = entries(&admin, "").await;
    assert_eq!(after["total"].as_i64().unwrap(), n);
    assert_eq!(after["items"][0], first["items"][0]);
    // Not even the database lets an entry change.
    let store = srv.state.svc.store.clone();
    let outcome = tokio::spawn(async move {
        sql_exec_all(
            &store,
            vec![(
                "UPDATE audit SET action = 'user.updated' WHERE id = ?1".to_string(),
                vec![json!(id)],
            )],
        )
        .await
    })
    .await;
    assert!(outcome.is_err(), "the append-only trigger refuses UPDATE");
    assert_eq!(entries(&admin, "").await["items"][0], first["items"][0]);
    // Users other than administrators see nothing.
    user.get("/admin/audit").await.expect(200); // now an administrator
    let plain = srv.user().await;
    plain.get("/admin/audit").await.expect(403);
    plain.get("/admin/audit.csv").await.expect(403);
    srv.anon().get("/admin/audit").await.expect(401);
}

fn admin_patch(srv: &TestServer, path: &str) -> reqwest::RequestBuilder {
    reqwest::Client::new()
        .patch(format!("{}/api{path}", base_of(srv)))
        .json(&json!({}))
}

fn base_of(srv: &TestServer) -> String {
    srv.state
        .config
        .server
        .public_url
        .clone()
        .expect("public url")
}

#[tokio::test]
async fn filters_paging_and_csv() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let second = srv.admin().await;
    let user = srv.user().await;
    let t0 = srv.now();
    for i in 0..3 {
        admin
            .post("/events", event_body(&srv, &format!("E{i}")))
            .await
            .expect(201);
    }
    srv.clock.advance(Duration::hours(1));
    let t1 = srv.now();
    second
        .put(
            &format!("/users/{}", user.user_id),
            json!({"full_name": "=cmd|x"}),
        )
        .await
        .expect(200);

    let all = entries(&admin, "").await;
    assert_eq!(all["total"], 4);
    let by_action = entries(&admin, "?action=event.created").await;
    assert_eq!(by_action["total"], 3);
    assert!(
        by_action["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["action"] == "event.created")
    );
    let by_actor = entries(&admin, &format!("?actor_id={}", second.user_id)).await;
    assert_eq!(by_actor["total"], 1);
    assert_eq!(by_actor["items"][0]["action"], "user.updated");
    let email_part = by_actor["items"][0]["actor_email"].as_str().unwrap()[..12].to_uppercase();
    let by_email = entries(&admin, &format!("?actor={email_part}")).await;
    assert_eq!(by_email["total"], 1, "the actor filter ignores case");
    let by_target = entries(
        &admin,
        &format!("?target_type=user&target_id={}", user.user_id),
    )
    .await;
    assert_eq!(by_target["total"], 1);
    let from = urlencode(&t1.to_string());
    assert_eq!(entries(&admin, &format!("?from={from}")).await["total"], 1);
    let to = urlencode(&t0.to_string());
    assert_eq!(entries(&admin, &format!("?to={to}")).await["total"], 3);
    admin.get("/admin/audit?action=nope").await.expect(422);
    admin.get("/admin/audit?offset=-1").await.expect(422);
    admin.get("/admin/audit?format=xml").await.expect(400);

    // Paging: newest first, pages do not overlap.
    let p1 = entries(&admin, "?limit=3").await;
    let p2 = entries(&admin, "?limit=3&offset=3").await;
    assert_eq!(p1["items"].as_array().unwrap().len(), 3);
    assert_eq!(p2["items"].as_array().unwrap().len(), 1);
    assert_eq!(p1["total"], 4);
    assert_eq!(p1["items"][0]["action"], "user.updated");
    let ids: Vec<i64> = p1["items"]
        .as_array()
        .unwrap()
        .iter()
        .chain(p2["items"].as_array().unwrap())
        .map(|e| e["id"].as_i64().unwrap())
        .collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    sorted.dedup();
    assert_eq!(ids, sorted);

    // CSV: both spellings, the same filters, formulas neutralised.
    for path in [
        "/admin/audit.csv?action=user.updated",
        "/admin/audit?format=csv&action=user.updated",
    ] {
        let r = admin.get(path).await;
        assert_eq!(r.status, 200, "{path}");
        assert!(r.header("content-type").unwrap().starts_with("text/csv"));
        assert!(
            r.header("content-disposition")
                .unwrap()
                .contains("audit.csv")
        );
        let text = r.text();
        let mut lines = text.lines();
        assert_eq!(
            lines.next().unwrap(),
            "id,at,actor_id,actor_email,ip,action,target_type,target_id,changes"
        );
        let rows: Vec<&str> = lines.collect();
        assert_eq!(rows.len(), 1, "{text}");
        assert!(rows[0].contains("user.updated"));
        assert!(rows[0].contains(&second.user_id.to_string()));
    }
    let csv = admin.get("/admin/audit.csv").await.text();
    assert_eq!(csv.lines().count(), 5);
}

fn urlencode(s: &str) -> String {
    s.replace(':', "%3A").replace('+', "%2B")
}

#[tokio::test]
async fn security_events_are_recorded() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let user = srv.user().await;
    let email = admin_email(&srv, user.user_id).await;

    // A password change.
    user.post(
        "/users/me/password",
        json!({"current_password": PASSWORD, "new_password": "brand-new-password"}),
    )
    .await
    .expect(204);
    // A session revoked: log in twice, revoke the other one.
    let login = srv
        .anon()
        .post(
            "/login",
            json!({"email": email, "password": "brand-new-password"}),
        )
        .await
        .expect(201);
    let other = login["login_session_uid"].as_str().unwrap().to_string();
    user.delete(&format!("/login/sessions/{other}"))
        .await
        .expect(204);
    // Sign-in failures past the limit.
    let mut throttled = false;
    for _ in 0..30 {
        let r = srv
            .anon()
            .post(
                "/login",
                json!({"email": email, "password": "wrong-password"}),
            )
            .await;
        if r.status == 429 {
            throttled = true;
            break;
        }
        assert_eq!(r.status, 401);
    }
    assert!(throttled, "the guess limit was reached");

    let list = entries(&admin, "?limit=100").await;
    let items = list["items"].as_array().unwrap();
    let find = |action: &str| {
        items
            .iter()
            .filter(|e| e["action"] == action)
            .cloned()
            .collect::<Vec<_>>()
    };
    let changed = find("password.changed");
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0]["actor_id"], user.user_id);
    assert_eq!(changed[0]["changes"]["password"]["after"], "[redacted]");
    let revoked = find("session.revoked");
    assert_eq!(revoked.len(), 1);
    assert_eq!(revoked[0]["target_type"], "session");
    assert_eq!(revoked[0]["target_id"], other.as_str());
    let limited = find("login.throttled");
    assert!(!limited.is_empty());
    assert_eq!(limited[0]["actor_email"], email.as_str());
    assert_eq!(limited[0]["ip"], "127.0.0.1");
    // Nothing secret anywhere in the log.
    let text = list.to_string();
    assert!(!text.contains("brand-new-password"));
    assert!(!text.contains("wrong-password"));
    assert!(!text.contains(PASSWORD));
}

async fn admin_email(srv: &TestServer, id: i64) -> String {
    let rows = srv
        .sql_rows("SELECT email FROM user WHERE id = ?1", vec![json!(id)])
        .await;
    rows[0][0].as_str().unwrap().to_string()
}

#[tokio::test]
async fn setup_is_recorded() {
    let srv = TestServer::start().await;
    let token = afisha::service::setup::prepare(&srv.state.svc)
        .await
        .unwrap();
    let link = token.expect("no administrator yet: a setup link");
    let token = link.split("token=").nth(1).unwrap().to_string();
    let made = srv
        .anon()
        .post(
            "/setup",
            json!({"token": token, "email": "first@corp.example", "full_name": "First", "password": PASSWORD}),
        )
        .await
        .expect(201);
    let id = made["id"].as_i64().unwrap();
    let rows = srv
        .sql_rows(
            "SELECT actor_id, action, target_id, ip FROM audit WHERE action = 'setup.completed'",
            vec![],
        )
        .await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0][0], json!(id));
    assert_eq!(rows[0][2], json!(id.to_string()));
    assert_eq!(rows[0][3], json!("127.0.0.1"));
}

#[tokio::test]
async fn retention_deletes_old_entries_only() {
    let srv = TestServer::with(|c| c.audit.retention_days = 30).await;
    let admin = srv.admin().await;
    admin
        .post("/events", event_body(&srv, "Old"))
        .await
        .expect(201);
    srv.clock.advance(Duration::days(20));
    // A fresh session: the first one has lapsed by now.
    let admin = srv.admin().await;
    admin
        .post("/events", event_body(&srv, "Newer"))
        .await
        .expect(201);
    afisha::service::cleanup::run(&srv.state.svc).await.unwrap();
    assert_eq!(entries(&admin, "").await["total"], 2, "both within 30 days");
    srv.clock.advance(Duration::days(11));
    let admin = srv.admin().await;
    // The scheduler's hourly clean-up may run first as the clock moves; either
    // way the old entry is gone after this.
    afisha::service::cleanup::run(&srv.state.svc).await.unwrap();
    let left = entries(&admin, "").await;
    assert_eq!(left["total"], 1);
    assert_eq!(left["items"][0]["changes"]["name"]["after"], "Newer");
    let again = afisha::service::cleanup::run(&srv.state.svc).await.unwrap();
    assert_eq!(again.audit, 0);
}

#[tokio::test]
async fn routes_are_in_the_openapi_document() {
    let srv = TestServer::start().await;
    let doc = srv.anon().get("/openapi.json").await.expect(200);
    for path in [
        "/api/admin/audit",
        "/api/admin/audit.csv",
        "/api/users/me/export",
    ] {
        assert!(doc["paths"][path]["get"].is_object(), "{path}");
    }
    assert!(doc["paths"]["/api/users/me"]["delete"].is_object());
    // The documented actions are exactly the ones the log writes.
    let documented: Vec<String> = doc["components"]["schemas"]["Action"]["enum"]
        .as_array()
        .expect("Action is documented")
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let actual: Vec<String> = afisha::domain::audit::Action::ALL
        .iter()
        .map(|a| {
            serde_json::to_value(a)
                .unwrap()
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(documented, actual);
}

#[tokio::test]
async fn a_password_set_with_a_recovery_link_is_recorded() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let user = srv.user().await;
    let email = admin_email(&srv, user.user_id).await;
    let c = srv.anon();
    c.post("/login/recovery", json!({"email": email}))
        .await
        .expect(201);
    let token = c.get("/debug/intercept-recovery-token").await.expect(200)["token"]
        .as_str()
        .unwrap()
        .to_string();
    c.post(
        "/login/recovery/submit",
        json!({"token": token, "password": "recovered-password-1"}),
    )
    .await
    .expect(204);
    let log = entries(&admin, "?action=password.recovered").await;
    assert_eq!(log["total"], 1);
    let e = &log["items"][0];
    assert_eq!(e["actor_id"], user.user_id);
    assert_eq!(e["actor_email"], email.as_str());
    assert_eq!(e["target_id"], user.user_id.to_string());
    assert_eq!(e["ip"], "127.0.0.1");
    assert_eq!(e["changes"]["sessions_revoked"]["after"], 1);
    assert!(!log.to_string().contains("recovered-password-1"));
    assert!(!log.to_string().contains(&token));
}

/// What the directory (LDAP) or the identity provider vouches for goes
/// through `service::external::sign_in`, the one function both call.
#[tokio::test]
async fn sso_links_provisioning_and_role_sync_are_recorded() {
    use afisha::directory::DirectoryUser;
    use afisha::domain::user::IdentityProvider;
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let existing = srv.user().await;
    let existing_email = admin_email(&srv, existing.user_id).await;
    let svc = &srv.state.svc;
    let ip: Option<std::net::IpAddr> = Some("10.1.2.3".parse().unwrap());
    // An existing account is linked at its first sign-in.
    let who = DirectoryUser {
        subject: "subject-existing".into(),
        email: existing_email.clone(),
        full_name: "Existing".into(),
        admin: None,
    };
    afisha::service::external::sign_in(svc, IdentityProvider::Oidc, who.clone(), None, ip)
        .await
        .unwrap();
    // The second sign-in changes nothing and records nothing.
    afisha::service::external::sign_in(svc, IdentityProvider::Oidc, who, None, ip)
        .await
        .unwrap();
    // A new person is provisioned (and linked), then promoted by the
    // administrators' group.
    let newcomer = DirectoryUser {
        subject: "subject-new".into(),
        email: "newcomer@corp.example".into(),
        full_name: "Newcomer".into(),
        admin: Some(true),
    };
    afisha::service::external::sign_in(svc, IdentityProvider::Ldap, newcomer, None, ip)
        .await
        .unwrap();

    let linked = entries(&admin, "?action=identity.linked").await;
    assert_eq!(linked["total"], 2, "{linked:#}");
    let items = linked["items"].as_array().unwrap();
    let first = items
        .iter()
        .find(|e| e["actor_email"] == existing_email.as_str())
        .unwrap();
    assert_eq!(first["actor_id"], existing.user_id);
    assert_eq!(first["ip"], "10.1.2.3");
    assert_eq!(first["changes"]["identity_provider"]["after"], "oidc");
    assert_eq!(
        first["changes"]["identity_subject"]["after"],
        "subject-existing"
    );
    let second = items
        .iter()
        .find(|e| e["actor_email"] == "newcomer@corp.example")
        .unwrap();
    assert_eq!(second["changes"]["identity_provider"]["after"], "ldap");
    let promoted = entries(&admin, "?action=user.role_changed").await;
    assert_eq!(promoted["total"], 1);
    assert_eq!(promoted["items"][0]["actor_email"], "ldap");
    assert_eq!(promoted["items"][0]["actor_id"], Value::Null);
    assert_eq!(
        promoted["items"][0]["changes"]["role"],
        json!({"before": "USER", "after": "ADMINISTRATOR"})
    );
}

/// The debug routes (debug mode only, no session) are recorded as the tool
/// `debug` from the caller's address.
#[tokio::test]
async fn debug_routes_are_recorded_as_the_debug_tool() {
    let srv = TestServer::start().await;
    let keeper = srv.user_with("keeper@corp.example", "Keeper", true).await;
    let user = srv.user().await;
    let email = admin_email(&srv, user.user_id).await;
    let anon = srv.anon();
    anon.post(
        "/debug/change-role",
        json!({"email": email, "role": "ADMINISTRATOR"}),
    )
    .await
    .expect(204);
    let deleted = anon
        .post("/debug/delete-examples", json!({}))
        .await
        .expect(200);
    assert_eq!(deleted["users"], 1);
    let log = entries(&keeper, "").await;
    assert_eq!(log["total"], 2, "{log:#}");
    let (examples, role) = (&log["items"][0], &log["items"][1]);
    assert_eq!(role["action"], "user.role_changed");
    assert_eq!(role["actor_email"], "debug");
    assert_eq!(role["actor_id"], Value::Null);
    assert_eq!(role["ip"], "127.0.0.1");
    assert_eq!(
        role["changes"]["role"],
        json!({"before": "USER", "after": "ADMINISTRATOR"})
    );
    assert_eq!(examples["action"], "debug.examples_deleted");
    assert_eq!(examples["changes"]["users"]["after"], 1);
}
