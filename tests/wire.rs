//! Wire details real clients hit: compression, statistics units, query
//! booleans as FastAPI/pydantic accepted them.

mod common;

use std::io::Read;

use common::TestServer;
use serde_json::Value;

/// `GET` with an explicit `Accept-Encoding` (the test client decodes
/// nothing by itself, so the raw encoding is visible).
async fn get_encoded(
    srv: &TestServer,
    client: &common::Client,
    path: &str,
    accept: &str,
) -> common::Resp {
    let req = reqwest::Client::new()
        .get(format!("{}{path}", srv.base))
        .header("Accept-Encoding", accept);
    client.send(req).await
}

#[tokio::test]
async fn json_and_text_are_compressed_when_the_client_accepts_it() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    for i in 0..20 {
        admin
            .post(
                "/events",
                serde_json::json!({
                    "name": format!("Лекция {i}"), "description": "x".repeat(200),
                    "starts_at": common::at(&srv, 24 + i), "ends_at": common::at(&srv, 26 + i),
                    "image_url": "https://example.org/a.png",
                }),
            )
            .await
            .expect(201);
    }
    let plain = get_encoded(&srv, &admin, "/api/events", "identity").await;
    assert_eq!(plain.status, 200);
    assert_eq!(plain.header("content-encoding"), None);

    let gz = get_encoded(&srv, &admin, "/api/events", "gzip").await;
    assert_eq!(gz.status, 200);
    assert_eq!(gz.header("content-encoding").as_deref(), Some("gzip"));
    assert!(
        gz.bytes.len() * 3 < plain.bytes.len(),
        "{} vs {}",
        gz.bytes.len(),
        plain.bytes.len()
    );
    let mut unpacked = Vec::new();
    flate2::read::GzDecoder::new(&gz.bytes[..])
        .read_to_end(&mut unpacked)
        .unwrap();
    assert_eq!(unpacked, plain.bytes, "the same document");

    // API answers are gzip only (Brotli is kept for the UI's precompressed
    // assets): a client that prefers br still gets gzip, one that takes
    // only br gets the plain body.
    let both = get_encoded(&srv, &admin, "/api/events", "br, gzip").await;
    assert_eq!(both.header("content-encoding").as_deref(), Some("gzip"));
    let br_only = get_encoded(&srv, &admin, "/api/events", "br").await;
    assert_eq!(br_only.status, 200);
    assert_eq!(br_only.header("content-encoding"), None);
    assert_eq!(br_only.bytes, plain.bytes);

    // Tiny bodies (under 32 bytes) are left alone.
    let tiny = get_encoded(&srv, &admin, "/api/no-such-route", "gzip").await;
    assert_eq!(tiny.status, 404);
    assert_eq!(tiny.header("content-encoding"), None);
    assert_eq!(tiny.json()["detail"], "Not Found");
}

#[tokio::test]
async fn statistics_units_are_null_as_the_original_sent() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let stats = admin.get("/statistics").await.expect(200);
    let scalars = stats["scalars"].as_array().unwrap();
    assert_eq!(scalars.len(), 9);
    for s in scalars {
        assert_eq!(s["unit"], Value::Null, "{s}");
    }
}

#[tokio::test]
async fn query_booleans_accept_what_pydantic_accepted() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let gone = srv.user().await;
    admin
        .delete(&format!("/users/{}", gone.user_id))
        .await
        .expect(204);
    let listed = |body: Value| {
        body.as_array()
            .unwrap()
            .iter()
            .any(|u| u["id"] == gone.user_id)
    };
    for yes in ["true", "True", "1", "yes", "ON", "t", "Y"] {
        let body = admin
            .get(&format!("/users?include_deleted={yes}&limit=200"))
            .await
            .expect(200);
        assert!(listed(body), "include_deleted={yes} lists the deleted user");
    }
    for no in ["false", "False", "0", "no", "off", "F", "n"] {
        let body = admin
            .get(&format!("/users?include_deleted={no}&limit=200"))
            .await
            .expect(200);
        assert!(!listed(body), "include_deleted={no} hides the deleted user");
    }
    admin
        .get("/users?include_deleted=maybe")
        .await
        .expect_422(&["query", "include_deleted"]);
}
