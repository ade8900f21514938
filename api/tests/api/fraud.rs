//! The blocklist through HTTP: entries checked and named, stored canonical, listed in pages,
//! removed; every change moves the revision servingd watches.

use api::auth::Role;
use axum::http::{Method, StatusCode};
use serde_json::json;
use sqlx::PgPool;

use crate::MIGRATOR;
use crate::helpers::TestApp;

async fn revision(pool: &PgPool) -> i64 {
    sqlx::query_scalar("select revision from blocked_sources_revision")
        .fetch_one(pool)
        .await
        .expect("revision")
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn sources_are_added_canonical_listed_in_pages_and_removed(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let operator = app.token(Role::Operator, None);
    let before = revision(&pool).await;
    let added = app
        .post(
            "/api/v1/fraud/blocklist",
            &operator,
            json!({"entries": [
                {"kind": "ip", "value": "::ffff:203.0.113.9", "reason": "botnet"},
                {"kind": "ip", "value": "203.0.113.9"},
                {"kind": "ip", "value": "2001:DB8::7"},
                {"kind": "device", "value": " ifa-bad-1 "},
            ]}),
        )
        .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.body);
    assert_eq!(added.body, json!({"added": 3, "already_listed": 0}));
    assert!(
        revision(&pool).await > before,
        "servingd sees a new revision"
    );
    let again = app
        .post(
            "/api/v1/fraud/blocklist",
            &operator,
            json!({"entries": [{"kind": "device", "value": "ifa-bad-1"}]}),
        )
        .await;
    assert_eq!(again.body, json!({"added": 0, "already_listed": 1}));

    let first = app
        .send(
            Method::GET,
            "/api/v1/fraud/blocklist?limit=2",
            Some(&operator),
            None,
            &[],
        )
        .await;
    assert_eq!(first.status, StatusCode::OK);
    let values: Vec<&str> = first.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["value"].as_str().expect("value"))
        .collect();
    assert_eq!(values, vec!["ifa-bad-1", "2001:db8::7"]);
    let cursor = first.body["next_cursor"].as_str().expect("a next page");
    let second = app
        .send(
            Method::GET,
            &format!(
                "/api/v1/fraud/blocklist?limit=2&cursor={}",
                urlencode(cursor)
            ),
            Some(&operator),
            None,
            &[],
        )
        .await;
    assert_eq!(second.body["items"][0]["value"], "203.0.113.9");
    assert_eq!(second.body["items"][0]["reason"], "botnet");
    assert!(second.body["next_cursor"].is_null());
    let ips = app
        .send(
            Method::GET,
            "/api/v1/fraud/blocklist?kind=ip",
            Some(&operator),
            None,
            &[],
        )
        .await;
    assert_eq!(ips.body["items"].as_array().map(Vec::len), Some(2));

    // removed once; the second time it is not listed
    for expected in [StatusCode::NO_CONTENT, StatusCode::NOT_FOUND] {
        let removed = app
            .send(
                Method::DELETE,
                "/api/v1/fraud/blocklist/ip/2001:db8::7",
                Some(&operator),
                None,
                &[],
            )
            .await;
        assert_eq!(removed.status, expected);
    }
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn bad_entries_are_each_named_and_nothing_is_added(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let operator = app.token(Role::Operator, None);
    let r = app
        .post(
            "/api/v1/fraud/blocklist",
            &operator,
            json!({"entries": [
                {"kind": "ip", "value": "198.51.100.1"},
                {"kind": "ip", "value": "999.1.1.1"},
                {"kind": "device", "value": ""},
            ]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let fields: Vec<&str> = r.body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["field"].as_str().expect("field"))
        .collect();
    assert_eq!(fields, vec!["entries[1].value", "entries[2].value"]);
    let listed: i64 = sqlx::query_scalar("select count(*) from blocked_sources")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(listed, 0, "no partial write");
    let empty = app
        .post("/api/v1/fraud/blocklist", &operator, json!({"entries": []}))
        .await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
