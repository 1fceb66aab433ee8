//! API.md "Users (administrators only)" over real HTTP, and the
//! authorization matrix of the users, events, participation and statistics
//! routes.

mod common;

use afisha::auth::{email_key, fold};
use afisha::domain::time::Ts;
use chrono::Duration;
use common::*;
use serde_json::{Value, json};

const ADMIN_REQUIRED: &str = "Administrator role required";
const INVALID_SESSION: &str = "Invalid login session";
const LAST_ADMIN: &str = "Cannot remove the last administrator";
const NEW_PASSWORD: &str = "another-long-password";

fn ids(list: &Value) -> Vec<i64> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|u| u["id"].as_i64().unwrap())
        .collect()
}

/// Inserts `n` users straight into the database (no sessions); returns ids.
async fn insert_users(srv: &TestServer, n: usize, name: &str) -> Vec<i64> {
    let now = srv.now();
    let name = name.to_string();
    srv.state
        .svc
        .store
        .write(move |tx| {
            (0..n)
                .map(|i| {
                    tx.insert_user(&afisha::store::accounts::NewUser {
                        email: &format!("bulk{i}-{}@example.com", uuid::Uuid::new_v4().simple()),
                        full_name: &format!("{name} {i}"),
                        password_hash: "x",
                        role: afisha::domain::user::Role::User,
                        now,
                    })
                })
                .collect()
        })
        .await
        .unwrap()
}

async fn sessions_of(srv: &TestServer, user_id: i64) -> i64 {
    srv.query_i64(
        "SELECT count(*) FROM login_session WHERE user_id = ?1",
        vec![json!(user_id)],
    )
    .await
}

/// Email jobs of a type queued for an address.
async fn mail_jobs(srv: &TestServer, kind: &str, to: &str) -> i64 {
    srv.query_i64(
        "SELECT count(*) FROM job WHERE kind = 'email'
           AND json_extract(payload, '$.kind') = ?1 AND json_extract(payload, '$.to_email') = ?2",
        vec![json!(kind), json!(to)],
    )
    .await
}

async fn stored_hash(srv: &TestServer, user_id: i64) -> String {
    srv.sql_rows(
        "SELECT password_hash FROM user WHERE id = ?1",
        vec![user_id.into()],
    )
    .await[0][0]
        .as_str()
        .unwrap()
        .to_string()
}

async fn email_of(client: &Client, admin: &Client) -> String {
    let list = admin
        .get("/users?include_deleted=true&limit=200")
        .await
        .expect(200);
    list.as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == client.user_id)
        .expect("listed")["email"]
        .as_str()
        .unwrap()
        .to_string()
}

// ------------------------------------------------------------ authorization

#[tokio::test]
async fn authorization_matrix() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let user = srv.user().await;
    let target = srv.user().await;
    let gone = srv.user().await;
    let start = at(&srv, 48);
    let end = at(&srv, 50);
    let ev = admin
        .post(
            "/events",
            json!({"name": "Matrix", "description": "", "starts_at": start, "ends_at": end,
                   "image_url": "https://example.com/a.png"}),
        )
        .await
        .expect(201);
    let eid = ev["id"].as_i64().unwrap();
    let t = target.user_id;
    // (method, path, body, admin only, status an administrator gets)
    let routes: Vec<(&str, String, Value, bool, u16)> = vec![
        ("GET", "/users".into(), Value::Null, true, 200),
        (
            "PUT",
            format!("/users/{t}"),
            json!({"full_name": "Renamed"}),
            true,
            200,
        ),
        (
            "POST",
            format!("/users/{t}/reset-password"),
            json!({"password": NEW_PASSWORD}),
            true,
            204,
        ),
        ("DELETE", format!("/users/{t}"), Value::Null, true, 204),
        (
            "POST",
            "/events".into(),
            json!({"name": "M2", "description": "", "starts_at": start, "ends_at": end,
                   "image_url": "https://example.com/b.png"}),
            true,
            201,
        ),
        ("GET", "/events".into(), Value::Null, true, 200),
        ("GET", format!("/events/{eid}"), Value::Null, true, 200),
        (
            "PUT",
            format!("/events/{eid}"),
            json!({"location": "Hall"}),
            true,
            200,
        ),
        (
            "GET",
            format!("/events/{eid}/participants/export"),
            Value::Null,
            true,
            200,
        ),
        ("GET", "/statistics".into(), Value::Null, true, 200),
        ("GET", "/events/cards".into(), Value::Null, false, 200),
        (
            "PUT",
            format!("/events/{eid}/participants/me"),
            json!({"status": "REJECTED"}),
            false,
            204,
        ),
        ("GET", format!("/events/{eid}/ics"), Value::Null, false, 200),
        (
            "GET",
            "/users/me/statistics".into(),
            Value::Null,
            false,
            200,
        ),
    ];
    // A deleted user's old session is refused like no session at all.
    admin
        .delete(&format!("/users/{}", gone.user_id))
        .await
        .expect(204);
    let anon = srv.anon();
    let mut bogus = srv.anon();
    bogus.auth("not-a-uuid", "whatever");
    let call = |c: &Client, method: &str, path: &str, body: &Value| {
        let (c, method, path, body) = (
            c.clone(),
            method.to_string(),
            path.to_string(),
            body.clone(),
        );
        async move {
            match method.as_str() {
                "GET" => c.get(&path).await,
                "DELETE" => c.delete(&path).await,
                "POST" => c.post(&path, body).await,
                _ => c.put(&path, body).await,
            }
        }
    };
    for (method, path, body, admin_only, ok) in &routes {
        for who in [&anon, &bogus, &gone] {
            call(who, method, path, body)
                .await
                .expect_detail(401, INVALID_SESSION);
        }
        if *admin_only {
            call(&user, method, path, body)
                .await
                .expect_detail(403, ADMIN_REQUIRED);
        } else {
            let r = call(&user, method, path, body).await;
            assert_eq!(r.status, *ok, "{method} {path}: {}", r.text());
        }
        let r = call(&admin, method, path, body).await;
        assert_eq!(r.status, *ok, "{method} {path}: {}", r.text());
    }
}

#[tokio::test]
async fn a_plain_user_changes_nothing() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let user = srv.user().await;
    let victim = srv.user().await;
    let v = victim.user_id;
    user.put(
        &format!("/users/{}", user.user_id),
        json!({"role": "ADMINISTRATOR"}),
    )
    .await
    .expect_detail(403, ADMIN_REQUIRED);
    user.delete(&format!("/users/{v}"))
        .await
        .expect_detail(403, ADMIN_REQUIRED);
    // authorization (403) comes before validation (422)
    user.put(&format!("/users/{v}"), json!({"role": "KING"}))
        .await
        .expect_detail(403, ADMIN_REQUIRED);
    let list = admin.get("/users").await.expect(200);
    let me = list
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == user.user_id)
        .unwrap();
    assert_eq!(me["role"], "USER");
    victim.get("/users/me/statistics").await.expect(200);
}

// ------------------------------------------------------------ GET /users

#[tokio::test]
async fn list_shape_order_paging_and_clamping() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let user = srv.user().await;
    insert_users(&srv, 240, "Bulk").await;
    let list = admin.get("/users").await.expect(200);
    assert_eq!(list.as_array().unwrap().len(), 50, "default limit 50");
    let all = ids(&admin.get("/users?limit=200").await.expect(200));
    assert_eq!(all.len(), 200, "clamped to 200");
    assert_eq!(
        ids(&admin.get("/users?limit=100000").await.expect(200)).len(),
        200
    );
    let mut sorted = all.clone();
    sorted.sort();
    assert_eq!(all, sorted, "ordered by id");
    assert_eq!(
        ids(&admin.get("/users?limit=0").await.expect(200)),
        all[..1]
    );
    assert_eq!(
        ids(&admin.get("/users?limit=-5").await.expect(200)),
        all[..1]
    );
    assert_eq!(
        ids(&admin.get("/users?limit=3&offset=2").await.expect(200)),
        all[2..5]
    );
    admin
        .get("/users?offset=-1")
        .await
        .expect_422(&["query", "offset"]);
    admin
        .get("/users?limit=abc")
        .await
        .expect_422(&["query", "limit"]);

    let dto = list
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == user.user_id)
        .unwrap()
        .clone();
    let keys: Vec<&str> = dto
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    for k in [
        "id",
        "role",
        "email",
        "username",
        "full_name",
        "created_at",
        "deleted_at",
        "status",
        "is_system",
    ] {
        assert!(keys.contains(&k), "{k} in {dto}");
    }
    assert_eq!(dto["username"], dto["email"]);
    assert_eq!(dto["status"], "ACTIVE");
    assert_eq!(dto["deleted_at"], Value::Null);
    assert_eq!(dto["is_system"], false);
    assert!(Ts::parse(dto["created_at"].as_str().unwrap()).is_some());
    assert!(dto["created_at"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn name_and_q_search_fold_cyrillic_case() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let ivanov = srv
        .user_with("Ivan.Petrovich@Example.com", "Иванов Иван", false)
        .await;
    let petrov = srv.user_with("p@example.com", "Петров Пётр", false).await;
    let q = |s: &str| {
        let admin = admin.clone();
        let s = s.to_string();
        async move {
            let url = format!(
                "/users?{}",
                serde_urlencoded::to_string([("limit", "200"), ("q", s.as_str())]).unwrap()
            );
            ids(&admin.get(&url).await.expect(200))
        }
    };
    let by_name = |s: &str| {
        let admin = admin.clone();
        let s = s.to_string();
        async move {
            let url = format!(
                "/users?{}",
                serde_urlencoded::to_string([("full_name", s.as_str())]).unwrap()
            );
            ids(&admin.get(&url).await.expect(200))
        }
    };
    assert_eq!(by_name("иван").await, [ivanov.user_id]);
    assert_eq!(by_name("ИВАНОВ ИВАН").await, [ivanov.user_id]);
    assert_eq!(by_name("пЁтр").await, [petrov.user_id]);
    assert!(
        by_name("petrovich").await.is_empty(),
        "full_name ignores email"
    );
    assert_eq!(q("PETROVICH@").await, [ivanov.user_id]);
    assert_eq!(q("иВАН").await, [ivanov.user_id]);
    assert_eq!(q("пётр").await, [petrov.user_id]);
    assert!(q("nobody-here").await.is_empty());
    // The folded columns stay in sync with the originals.
    let row = srv
        .sql_rows(
            "SELECT email_key, full_name_fold FROM user WHERE id = ?1",
            vec![ivanov.user_id.into()],
        )
        .await
        .remove(0);
    let (key, name_fold) = (
        row[0].as_str().unwrap().to_string(),
        row[1].as_str().unwrap().to_string(),
    );
    assert_eq!(key, email_key("Ivan.Petrovich@Example.com"));
    assert_eq!(name_fold, fold("Иванов Иван"));
}

#[tokio::test]
async fn role_status_deleted_and_date_filters() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let early = srv.user().await;
    srv.clock.advance(Duration::hours(1));
    let middle = srv.user().await;
    let middle_created = srv.now();
    srv.clock.advance(Duration::hours(1));
    let gone = srv.user().await;
    admin
        .delete(&format!("/users/{}", gone.user_id))
        .await
        .expect(204);

    let get = |query: String| {
        let admin = admin.clone();
        async move { ids(&admin.get(&format!("/users?{query}")).await.expect(200)) }
    };
    assert_eq!(get("role=ADMINISTRATOR".into()).await, [admin.user_id]);
    assert_eq!(
        get("role=USER".into()).await,
        [early.user_id, middle.user_id]
    );
    assert_eq!(
        get(String::new()).await,
        [admin.user_id, early.user_id, middle.user_id],
        "deleted users are hidden by default"
    );
    assert_eq!(
        get("include_deleted=true".into()).await,
        [admin.user_id, early.user_id, middle.user_id, gone.user_id]
    );
    assert_eq!(get("status=DELETED".into()).await, [gone.user_id]);
    assert_eq!(
        get("status=ACTIVE&include_deleted=true".into()).await,
        [admin.user_id, early.user_id, middle.user_id],
        "include_deleted is ignored when status is given"
    );
    assert_eq!(
        get("status=DELETED&include_deleted=false".into()).await,
        [gone.user_id]
    );
    let enc =
        |ts: Ts| serde_urlencoded::to_string([("x", ts.to_string())]).unwrap()[2..].to_string();
    // Inclusive bounds, any offset or naive UTC.
    let exact = enc(middle_created);
    assert_eq!(
        get(format!("created_from={exact}&created_to={exact}")).await,
        [middle.user_id]
    );
    let msk = middle_created
        .0
        .with_timezone(&chrono::FixedOffset::east_opt(3 * 3600).unwrap())
        .to_rfc3339();
    let msk = serde_urlencoded::to_string([("created_from", msk)]).unwrap();
    assert_eq!(get(msk).await, [middle.user_id]);
    let naive = middle_created.0.naive_utc().format("%Y-%m-%dT%H:%M:%S%.6f");
    assert_eq!(
        get(format!("created_to={naive}")).await,
        [admin.user_id, early.user_id, middle.user_id]
    );
    assert_eq!(
        get(format!(
            "created_from={}&include_deleted=true",
            enc(Ts(middle_created.0 + Duration::microseconds(1)))
        ))
        .await,
        [gone.user_id]
    );

    admin
        .get("/users?role=KING")
        .await
        .expect_422(&["query", "role"]);
    admin
        .get("/users?status=ASLEEP")
        .await
        .expect_422(&["query", "status"]);
    admin
        .get("/users?created_from=yesterday")
        .await
        .expect_422(&["query", "created_from"]);
    admin
        .get("/users?created_to=2024-13-45T99:00:00Z")
        .await
        .expect_422(&["query", "created_to"]);
    admin
        .get("/users?include_deleted=maybe")
        .await
        .expect_422(&["query", "include_deleted"]);
}

// ------------------------------------------------------------ PUT /users/{id}

#[tokio::test]
async fn update_fields_and_absent_vs_null() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let u = srv.user().await;
    let other = srv.user().await;
    let path = format!("/users/{}", u.user_id);
    let before_email = email_of(&u, &admin).await;

    let dto = admin
        .put(&path, json!({"full_name": "  Новое Имя  "}))
        .await
        .expect(200);
    assert_eq!(dto["full_name"], "Новое Имя");
    assert_eq!(
        dto["email"],
        before_email.as_str(),
        "absent fields untouched"
    );
    assert_eq!(dto["role"], "USER");
    let found = admin.get("/users?full_name=новое").await.expect(200);
    assert_eq!(ids(&found), [u.user_id], "full_name_fold follows the name");

    let dto = admin
        .put(&path, json!({"email": " Renamed.Person@Example.COM "}))
        .await
        .expect(200);
    assert_eq!(dto["email"], "Renamed.Person@Example.COM");
    assert_eq!(dto["username"], dto["email"]);
    // email_key follows, so lookups by any case find the user.
    let by_key = srv
        .state
        .svc
        .store
        .read(|tx| tx.user_by_email("renamed.person@example.com"))
        .await
        .unwrap()
        .expect("found by the new email");
    assert_eq!(by_key.id, u.user_id);
    // Email taken by another user, in any case → 400, nothing changes.
    let taken = email_of(&other, &admin).await.to_uppercase();
    admin
        .put(&path, json!({"email": taken, "full_name": "Not Applied"}))
        .await
        .expect_detail(400, "Email already exists");
    // Keeping my own email is fine.
    admin
        .put(&path, json!({"email": "renamed.person@example.com"}))
        .await
        .expect(200);

    let dto = admin
        .put(&path, json!({"role": "ADMINISTRATOR"}))
        .await
        .expect(200);
    assert_eq!(dto["role"], "ADMINISTRATOR");
    u.get("/users").await.expect(200);
    admin.put(&path, json!({"role": "USER"})).await.expect(200);
    u.get("/users").await.expect_detail(403, ADMIN_REQUIRED);

    // deleted_at: non-null → 400; absent → no change; null → restore.
    admin
        .put(&path, json!({"deleted_at": "2030-01-01T00:00:00Z"}))
        .await
        .expect_detail(400, "Use DELETE to delete a user");
    u.get("/users/me/statistics").await.expect(200);
    admin.delete(&path).await.expect(204);
    let dto = admin
        .put(&path, json!({"full_name": "Still Deleted"}))
        .await
        .expect(200);
    assert_eq!(dto["status"], "DELETED");
    assert!(dto["deleted_at"].is_string());
    let dto = admin
        .put(&path, json!({"deleted_at": null}))
        .await
        .expect(200);
    assert_eq!(dto["status"], "ACTIVE");
    assert_eq!(dto["deleted_at"], Value::Null);
    u.get("/users/me/statistics")
        .await
        .expect_detail(401, INVALID_SESSION);

    // Validation (422) and existence (404), in that order.
    admin
        .put(&path, json!({"email": "not-an-email"}))
        .await
        .expect_422(&["body", "email"]);
    admin
        .put(&path, json!({"full_name": "   "}))
        .await
        .expect_422(&["body", "full_name"]);
    admin
        .put(&path, json!({"role": "KING"}))
        .await
        .expect_422(&["body", "role"]);
    admin
        .put("/users/abc", json!({}))
        .await
        .expect_422(&["path", "user_id"]);
    admin
        .put("/users/999999", json!({"role": "KING"}))
        .await
        .expect_422(&["body", "role"]);
    admin
        .put(
            "/users/999999",
            json!({"deleted_at": "2030-01-01T00:00:00Z"}),
        )
        .await
        .expect_detail(404, "User not found");
    admin
        .put("/users/999999", json!({"email": before_email}))
        .await
        .expect_detail(404, "User not found");
}

#[tokio::test]
async fn the_last_administrator_stays() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let me = format!("/users/{}", admin.user_id);
    admin
        .put(&me, json!({"role": "USER"}))
        .await
        .expect_detail(400, LAST_ADMIN);
    admin.delete(&me).await.expect_detail(400, LAST_ADMIN);
    // Other fields and a no-op role change are fine.
    admin
        .put(&me, json!({"role": "ADMINISTRATOR", "full_name": "Chief"}))
        .await
        .expect(200);

    let second = srv.admin().await;
    let second_path = format!("/users/{}", second.user_id);
    admin.put(&me, json!({"role": "USER"})).await.expect(200);
    // Now `second` is the last one: neither demotion nor deletion.
    second
        .put(&second_path, json!({"role": "USER"}))
        .await
        .expect_detail(400, LAST_ADMIN);
    second
        .delete(&second_path)
        .await
        .expect_detail(400, LAST_ADMIN);
    // A deleted administrator does not count as active.
    let third = srv.admin().await;
    second
        .delete(&format!("/users/{}", third.user_id))
        .await
        .expect(204);
    second
        .delete(&second_path)
        .await
        .expect_detail(400, LAST_ADMIN);
    // With another active administrator, deletion works.
    second
        .put(&me, json!({"role": "ADMINISTRATOR"}))
        .await
        .expect(200);
    admin.delete(&second_path).await.expect(204);
    second
        .get("/users")
        .await
        .expect_detail(401, INVALID_SESSION);
}

/// Two administrators demoting each other at once: the rule and the write
/// are one transaction, so exactly one of them remains.
#[tokio::test]
async fn concurrent_demotions_leave_one_administrator() {
    let srv = TestServer::start().await;
    let a = srv.admin().await;
    let b = srv.admin().await;
    let (to_a, to_b) = (
        format!("/users/{}", a.user_id),
        format!("/users/{}", b.user_id),
    );
    let (ra, rb) = tokio::join!(
        a.put(&to_b, json!({"role": "USER"})),
        b.put(&to_a, json!({"role": "USER"})),
    );
    let mut statuses = [ra.status, rb.status];
    statuses.sort_unstable();
    // The loser is refused by the rule, or (demoted first) by the
    // authorization check.
    assert!(
        statuses == [200, 400] || statuses == [200, 403],
        "{statuses:?}"
    );
    let winner = if ra.status == 200 { &a } else { &b };
    let admins = winner
        .get("/users?role=ADMINISTRATOR&limit=200")
        .await
        .expect(200);
    assert_eq!(ids(&admins), [winner.user_id]);
}

/// The debug route obeys the same rule as HTTP and the CLI.
#[tokio::test]
async fn debug_change_role_keeps_the_last_administrator() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let email = email_of(&admin, &admin).await;
    let debug = srv.anon();
    debug
        .post(
            "/debug/change-role",
            json!({"email": email, "role": "USER"}),
        )
        .await
        .expect_detail(400, LAST_ADMIN);
    admin.get("/users").await.expect(200);
    // Promoting (or re-stating) is always allowed.
    debug
        .post(
            "/debug/change-role",
            json!({"email": email, "role": "ADMINISTRATOR"}),
        )
        .await
        .expect(204);
    // With a second administrator the demotion goes through.
    let second = srv.admin().await;
    debug
        .post(
            "/debug/change-role",
            json!({"email": email.to_uppercase(), "role": "USER"}),
        )
        .await
        .expect(204);
    admin.get("/users").await.expect_detail(403, ADMIN_REQUIRED);
    let second_email = email_of(&second, &second).await;
    debug
        .post(
            "/debug/change-role",
            json!({"email": second_email, "role": "USER"}),
        )
        .await
        .expect_detail(400, LAST_ADMIN);
    second.get("/users").await.expect(200);
}

// ------------------------------------------------------------ DELETE

#[tokio::test]
async fn delete_is_soft_revokes_sessions_and_repeats_as_a_no_op() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let u = srv.user().await;
    let path = format!("/users/{}", u.user_id);
    assert_eq!(sessions_of(&srv, u.user_id).await, 1);
    admin.delete(&path).await.expect(204);
    assert_eq!(sessions_of(&srv, u.user_id).await, 0);
    u.get("/users/me/statistics")
        .await
        .expect_detail(401, INVALID_SESSION);
    let deleted_at = srv
        .query_i64(
            "SELECT deleted_at FROM user WHERE id = ?1",
            vec![json!(u.user_id)],
        )
        .await;
    assert_eq!(deleted_at, srv.now().micros());
    srv.clock.advance(Duration::minutes(5));
    admin.delete(&path).await.expect(204);
    let again = srv
        .query_i64(
            "SELECT deleted_at FROM user WHERE id = ?1",
            vec![json!(u.user_id)],
        )
        .await;
    assert_eq!(again, deleted_at, "deleting again changes nothing");
    admin
        .delete("/users/999999")
        .await
        .expect_detail(404, "User not found");
    admin
        .delete("/users/x")
        .await
        .expect_422(&["path", "user_id"]);
}

// ------------------------------------------------------------ reset-password

#[tokio::test]
async fn reset_password_sets_it_revokes_sessions_and_optionally_mails() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let u = srv.user().await;
    let email = email_of(&u, &admin).await;
    let path = format!("/users/{}/reset-password", u.user_id);

    admin
        .post(&path, json!({"password": NEW_PASSWORD}))
        .await
        .expect(204);
    let hash = stored_hash(&srv, u.user_id).await;
    let ok = srv
        .state
        .svc
        .passwords
        .verify(NEW_PASSWORD.into(), Some(hash.clone()))
        .await
        .unwrap();
    assert!(ok.ok, "the new password works");
    let old = srv
        .state
        .svc
        .passwords
        .verify(PASSWORD.into(), Some(hash))
        .await
        .unwrap();
    assert!(!old.ok, "the old one does not");
    assert_eq!(sessions_of(&srv, u.user_id).await, 0);
    u.get("/users/me/statistics")
        .await
        .expect_detail(401, INVALID_SESSION);
    assert_eq!(mail_jobs(&srv, "ADMIN_SET_PASSWORD", &email).await, 0);

    admin
        .post(
            &path,
            json!({"password": "third-password-x", "send_email": true}),
        )
        .await
        .expect(204);
    assert_eq!(mail_jobs(&srv, "ADMIN_SET_PASSWORD", &email).await, 1);
    // The password is sealed apart from the job's payload; the email has it.
    assert_eq!(
        srv.query_i64(
            "SELECT count(*) FROM job WHERE payload LIKE '%third-password-x%'",
            vec![]
        )
        .await,
        0
    );
    let mail = srv
        .wait_mail(&email, |m| m.text().contains("third-password-x"))
        .await;
    assert!(mail.text().contains("third-password-x"));
    // No in-app notification for this type.
    assert_eq!(
        srv.query_i64("SELECT count(*) FROM instant_notification", vec![])
            .await,
        0
    );
}

#[tokio::test]
async fn reset_password_errors() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let u = srv.user().await;
    let path = format!("/users/{}/reset-password", u.user_id);
    for bad in ["x".repeat(7), "z".repeat(1025)] {
        admin
            .post(&path, json!({"password": bad}))
            .await
            .expect_422(&["body", "password"]);
    }
    admin
        .post(&path, json!({"send_email": true}))
        .await
        .expect_422(&["body", "password"]);
    admin
        .post(
            &path,
            json!({"password": NEW_PASSWORD, "send_email": "yes"}),
        )
        .await
        .expect_422(&["body", "send_email"]);
    assert_eq!(
        sessions_of(&srv, u.user_id).await,
        1,
        "refusals change nothing"
    );
    admin
        .post("/users/999999/reset-password", json!({"password": "x"}))
        .await
        .expect_422(&["body", "password"]);
    admin
        .post(
            "/users/999999/reset-password",
            json!({"password": NEW_PASSWORD}),
        )
        .await
        .expect_detail(404, "User not found");
    admin
        .delete(&format!("/users/{}", u.user_id))
        .await
        .expect(204);
    admin
        .post(&path, json!({"password": NEW_PASSWORD, "send_email": true}))
        .await
        .expect_detail(400, "Cannot reset password for deleted user");
    assert_eq!(
        srv.query_i64("SELECT count(*) FROM job", vec![]).await,
        0,
        "nothing queued"
    );
}

/// Two administrators stepping down at the same moment: one of them stays
/// (on PostgreSQL the rule locks the administrators' rows; on SQLite the
/// single writer serialises). Repeated to give a race room to show.
#[tokio::test]
async fn two_administrators_stepping_down_at_once_leave_one() {
    let srv = TestServer::start().await;
    for _ in 0..10 {
        let a = srv.admin().await;
        let b = srv.admin().await;
        // Only these two are active administrators in this round.
        for other in srv
            .sql_rows(
                "SELECT id FROM user WHERE role = 'ADMINISTRATOR' AND deleted_at IS NULL
                   AND id <> ?1 AND id <> ?2",
                vec![json!(a.user_id), json!(b.user_id)],
            )
            .await
        {
            a.put(
                &format!("/users/{}", other[0].as_i64().unwrap()),
                json!({"role": "USER"}),
            )
            .await
            .expect(200);
        }
        let step_down = |c: &Client| {
            let c = c.clone();
            async move {
                c.put(&format!("/users/{}", c.user_id), json!({"role": "USER"}))
                    .await
            }
        };
        let (ra, rb) = tokio::join!(step_down(&a), step_down(&b));
        let mut statuses = [ra.status, rb.status];
        statuses.sort();
        assert_eq!(statuses, [200, 400], "{} / {}", ra.text(), rb.text());
        assert_eq!(
            srv.query_i64(
                "SELECT count(*) FROM user WHERE role = 'ADMINISTRATOR' AND deleted_at IS NULL",
                vec![],
            )
            .await,
            1
        );
    }
}
