//! Issue 20: every error body carries a stable machine-readable `code`
//! next to the contract's `detail`, 422 entries carry theirs with the bound
//! in `ctx`, the OpenAPI document lists the codes, and the web UI has a
//! Russian text for each (so no English `detail` reaches the Russian UI).

mod common;

use std::collections::BTreeSet;

use common::*;
use serde_json::{Value, json};

async fn event(srv: &TestServer, admin: &Client, extra: Value) -> i64 {
    let mut body = json!({
        "name": format!("Event {}", uuid::Uuid::new_v4().simple()),
        "description": "Description",
        "starts_at": at(srv, 48),
        "ends_at": at(srv, 50),
        "image_url": "https://example.com/e.png",
    });
    for (k, v) in extra.as_object().expect("object") {
        body[k] = v.clone();
    }
    admin.post("/events", body).await.expect(201)["id"]
        .as_i64()
        .expect("id")
}

#[tokio::test]
async fn error_bodies_carry_their_code() {
    let srv = TestServer::with(|c| c.auth.min_password_length = 10).await;
    let admin = srv.admin().await;
    let (ann, bob) = (srv.user().await, srv.user().await);
    let anon = srv.anon();

    // Codes of the contract's fixed texts; `detail` is unchanged.
    let code = anon
        .get("/users/me")
        .await
        .expect_detail(401, "Invalid login session");
    assert_eq!(code, "invalid_session");
    let code = ann
        .post("/events", json!({}))
        .await
        .expect_detail(403, "Administrator role required");
    assert_eq!(code, "admin_required");
    let code = ann
        .get("/events/987654/card")
        .await
        .expect_detail(404, "Event not found");
    assert_eq!(code, "event_not_found");
    let id = event(&srv, &admin, json!({"max_participants_count": 1})).await;
    let join = json!({"status": "PARTICIPATING"});
    let path = format!("/events/{id}/participants/me");
    ann.put(&path, join.clone()).await.expect(204);
    let code = bob
        .put(&path, join)
        .await
        .expect_detail(400, "Max participants count exceeded");
    assert_eq!(code, "event_full");

    // Refusals of the HTTP layer itself.
    // (the two bodies API.md spells out whole keep their exact shape)
    let r = anon.get("/no-such-route").await;
    assert_eq!(r.expect(404), json!({"detail": "Not Found"}));
    let r = anon.delete("/register").await;
    assert_eq!(r.expect(405), json!({"detail": "Method Not Allowed"}));

    // 422: the body's code, then each entry's, with the bound in `ctx`.
    let r = anon
        .post(
            "/register",
            json!({"email": "nope", "password": "short", "full_name": "A"}),
        )
        .await;
    r.expect_code(422, "validation_failed");
    let entries = r.expect_422(&["body", "password"]);
    let entry = |field: &str| {
        entries
            .iter()
            .find(|e| e["loc"] == json!(["body", field]))
            .cloned()
            .expect(field)
    };
    assert_eq!(
        entry("email")["type"],
        "value_error",
        "the contract's type stays"
    );
    assert_eq!(entry("email")["code"], "invalid_email");
    assert_eq!(entry("password")["code"], "string_too_short");
    assert_eq!(entry("password")["ctx"], json!({"min": 10}));
    let r = admin
        .post(
            "/events",
            json!({"name": "", "description": "d", "starts_at": at(&srv, 5),
                   "ends_at": at(&srv, 6), "image_url": "https://example.com/e.png",
                   "max_participants_count": 0}),
        )
        .await;
    let entries = r.expect_422(&["body", "max_participants_count"]);
    let max = entries
        .iter()
        .find(|e| e["loc"] == json!(["body", "max_participants_count"]))
        .expect("entry");
    assert_eq!(max["code"], "greater_than");
    assert_eq!(max["ctx"], json!({"gt": 0}));
}

/// The OpenAPI document's `ErrorCode` enum is exactly the server's codes,
/// and the web UI has a Russian text for each of them.
#[tokio::test]
async fn every_code_is_documented_and_translated() {
    let srv = TestServer::start().await;
    let doc = srv.anon().get("/api/openapi.json").await.expect(200);
    let listed: BTreeSet<String> = doc["components"]["schemas"]["ErrorCode"]["enum"]
        .as_array()
        .expect("ErrorCode enum")
        .iter()
        .map(|v| v.as_str().expect("string").to_string())
        .collect();
    let codes: BTreeSet<String> = afisha::domain::error_code::ErrorCode::ALL
        .iter()
        .map(|c| c.as_str().to_string())
        .collect();
    assert_eq!(listed, codes);
    for schema in ["ErrorBody", "ValidationErrorBody"] {
        let props = &doc["components"]["schemas"][schema]["properties"];
        assert!(props.get("code").is_some(), "{schema} documents code");
    }

    let i18n =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/frontend/src/i18n.ts"))
            .expect("frontend/src/i18n.ts");
    let table = i18n
        .split("const errorsRu: Record<string, string> = {")
        .nth(1)
        .and_then(|rest| rest.split("\n};").next())
        .expect("the errorsRu table");
    let translated: BTreeSet<String> = table
        .lines()
        .filter_map(|l| l.trim().split_once(": '"))
        .map(|(code, _)| code.to_string())
        .collect();
    let missing: Vec<_> = codes.difference(&translated).collect();
    assert!(
        missing.is_empty(),
        "codes without a Russian text: {missing:?}"
    );
    let stale: Vec<_> = translated.difference(&codes).collect();
    assert!(stale.is_empty(), "Russian texts of no code: {stale:?}");
}
