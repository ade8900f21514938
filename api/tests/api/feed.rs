//! The campaign feed: a snapshot plus the changes after its revision reproduce the database,
//! whatever concurrent edits did; long-polls wake up on a change.

use std::collections::BTreeMap;
use std::time::Duration;

use api::auth::Role;
use axum::http::{Method, StatusCode};
use rand::Rng;
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use crate::MIGRATOR;
use crate::helpers::TestApp;

/// Applies a feed page to a replica (id → campaign); returns the revision to ask next.
fn apply(replica: &mut BTreeMap<String, Value>, page: &Value) -> i64 {
    if page["snapshot"] == json!(true) {
        replica.clear();
        for c in page["campaigns"].as_array().expect("campaigns") {
            replica.insert(c["id"].as_str().expect("id").to_owned(), c.clone());
        }
    } else {
        let mut last = None;
        for change in page["changes"].as_array().expect("changes") {
            let revision = change["revision"].as_i64().expect("revision");
            assert!(last.is_none_or(|l| revision > l), "changes come in order");
            last = Some(revision);
            let c = &change["campaign"];
            assert_eq!(c["revision"].as_i64(), Some(revision));
            replica.insert(c["id"].as_str().expect("id").to_owned(), c.clone());
        }
    }
    page["revision"].as_i64().expect("revision")
}

async fn edit_randomly(app: &TestApp, campaigns: &[Uuid], edits: usize, seed: u64) {
    let operator = app.token(Role::Operator, None);
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(seed);
    for _ in 0..edits {
        let id = campaigns[rng.random_range(0..campaigns.len())];
        let path = format!("/api/v1/campaigns/{id}");
        let reply = match rng.random_range(0..4) {
            0 => app.send(Method::PATCH, &path, Some(&operator),
                Some(json!({"name": format!("n{}", rng.random::<u32>())})), &[]).await,
            1 => app.send(Method::PATCH, &path, Some(&operator),
                Some(json!({"bid": {"amount": format!("{}.{}", rng.random_range(1..9), rng.random_range(0..99))}})), &[]).await,
            2 => app.post(&format!("{path}/activate"), &operator, json!({})).await,
            _ => app.post(&format!("{path}/pause"), &operator, json!({})).await,
        };
        assert!(
            reply.status == StatusCode::OK || reply.status == StatusCode::CONFLICT,
            "{}",
            reply.body
        );
    }
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn snapshot_and_changes_reproduce_the_database_after_concurrent_edits(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let service = app.token(Role::Service, None);
    let mut campaigns = Vec::new();
    for i in 0..4 {
        let advertiser = app.advertiser(&format!("Feed {i}")).await;
        app.deposit(advertiser, "100000").await;
        for _ in 0..3 {
            campaigns.push(app.campaign(advertiser, json!({"lifetime": "10"})).await);
        }
    }
    let mut replica = BTreeMap::new();
    let snapshot = app.get("/api/v1/feed/campaigns?since=0", &service).await;
    assert_eq!(snapshot.status, StatusCode::OK);
    let mut revision = apply(&mut replica, &snapshot.body);
    assert_eq!(replica.len(), 12);

    // Four writers edit at random while a reader follows the feed.
    let writers = (0..4u64).map(|seed| edit_randomly(&app, &campaigns, 40, seed));
    let follow = async {
        let mut pages = 0;
        loop {
            let page = app
                .get(
                    &format!("/api/v1/feed/campaigns?since={revision}&wait_s=1"),
                    &service,
                )
                .await;
            assert_eq!(page.status, StatusCode::OK, "{}", page.body);
            let next = apply(&mut replica, &page.body);
            pages += 1;
            if next == revision && pages > 20 {
                return;
            }
            revision = next;
        }
    };
    tokio::join!(futures_util::future::join_all(writers), follow);
    let tail = app
        .get(
            &format!("/api/v1/feed/campaigns?since={revision}"),
            &service,
        )
        .await;
    apply(&mut replica, &tail.body);

    let fresh = app.get("/api/v1/feed/campaigns?since=0", &service).await;
    let mut from_snapshot = BTreeMap::new();
    apply(&mut from_snapshot, &fresh.body);
    let admin = app.token(Role::Admin, None);
    let listed = app.get("/api/v1/campaigns?limit=500", &admin).await;
    let database: BTreeMap<String, Value> = listed.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|c| (c["id"].as_str().expect("id").to_owned(), c.clone()))
        .collect();
    assert_eq!(
        replica, database,
        "the followed replica equals the database"
    );
    assert_eq!(
        from_snapshot, database,
        "a new snapshot equals the database"
    );
    let changes: i64 = sqlx::query_scalar("select count(*) from campaign_changes")
        .fetch_one(&pool)
        .await
        .expect("count");
    let top: i64 = sqlx::query_scalar("select revision from feed_revision")
        .fetch_one(&pool)
        .await
        .expect("top");
    assert_eq!(changes, top, "one revision per change, no gaps");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_long_poll_returns_as_soon_as_a_change_commits(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let service = app.token(Role::Service, None);
    let advertiser = app.advertiser("Poller").await;
    let first = app.campaign(advertiser, json!({"lifetime": "10"})).await;
    let snapshot = app.get("/api/v1/feed/campaigns?since=0", &service).await;
    let revision = snapshot.body["revision"].as_i64().expect("revision");
    let started = std::time::Instant::now();
    let poll = format!("/api/v1/feed/campaigns?since={revision}&wait_s=20");
    let (page, _) = tokio::join!(app.get(&poll, &service), async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let operator = app.token(Role::Operator, None);
        app.send(
            Method::PATCH,
            &format!("/api/v1/campaigns/{first}"),
            Some(&operator),
            Some(json!({"name": "Woken"})),
            &[],
        )
        .await
    });
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "woke early: {:?}",
        started.elapsed()
    );
    assert_eq!(page.body["changes"][0]["campaign"]["name"], "Woken");
    assert_eq!(page.body["revision"].as_i64(), Some(revision + 1));
    let idle = app
        .get(
            &format!("/api/v1/feed/campaigns?since={}&wait_s=1", revision + 1),
            &service,
        )
        .await;
    assert_eq!(
        (idle.status, idle.body["changes"].as_array().map(Vec::len)),
        (StatusCode::OK, Some(0))
    );
    let ahead = app
        .get("/api/v1/feed/campaigns?since=999999", &service)
        .await;
    assert_eq!(ahead.status, StatusCode::GONE);
}

/// A snapshot comes in pages of `limit`, all at the first page's revision, without archived
/// campaigns; a campaign changed while the pages are read is put right by the changes after the
/// revision.
#[sqlx::test(migrator = "MIGRATOR")]
async fn a_snapshot_comes_in_pages_without_archived_campaigns(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let service = app.token(Role::Service, None);
    let operator = app.token(Role::Operator, None);
    let advertiser = app.advertiser("Paged Feed").await;
    let mut campaigns = Vec::new();
    for _ in 0..7 {
        campaigns.push(app.campaign(advertiser, json!({"lifetime": "10"})).await);
    }
    for archived in &campaigns[..2] {
        let r = app
            .post(
                &format!("/api/v1/campaigns/{archived}/archive"),
                &operator,
                json!({}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    let first = app
        .get("/api/v1/feed/campaigns?since=0&limit=2", &service)
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let revision = first.body["revision"].as_i64().expect("revision");
    let mut replica = BTreeMap::new();
    apply(&mut replica, &first.body);
    let mut cursor = first.body["next_cursor"].as_str().map(str::to_owned);
    assert_eq!(first.body["more"], true);
    // a campaign not yet read is renamed between pages
    let last = campaigns[6];
    let renamed = app
        .send(
            Method::PATCH,
            &format!("/api/v1/campaigns/{last}"),
            Some(&operator),
            Some(json!({"name": "Renamed between pages"})),
            &[],
        )
        .await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.body);
    let mut pages = 1;
    while let Some(next) = cursor {
        let page = app
            .get(
                &format!("/api/v1/feed/campaigns?since=0&limit=2&cursor={next}"),
                &service,
            )
            .await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert_eq!(
            page.body["revision"].as_i64(),
            Some(revision),
            "the first page's revision"
        );
        for c in page.body["campaigns"].as_array().expect("campaigns") {
            replica.insert(c["id"].as_str().expect("id").to_owned(), c.clone());
        }
        cursor = page.body["next_cursor"].as_str().map(str::to_owned);
        pages += 1;
    }
    assert_eq!(pages, 3, "five live campaigns in pages of two");
    let mut live: Vec<String> = campaigns[2..].iter().map(Uuid::to_string).collect();
    live.sort();
    assert_eq!(
        replica.keys().cloned().collect::<Vec<_>>(),
        live,
        "no archived campaign"
    );
    let changes = app
        .get(
            &format!("/api/v1/feed/campaigns?since={revision}"),
            &service,
        )
        .await;
    apply(&mut replica, &changes.body);
    assert_eq!(replica[&last.to_string()]["name"], "Renamed between pages");

    for bad in [
        "/api/v1/feed/campaigns?since=0&cursor=nonsense",
        "/api/v1/feed/campaigns?since=0&limit=0",
        "/api/v1/feed/campaigns?since=0&limit=1001",
        "/api/v1/feed/campaigns?since=3&limit=2",
    ] {
        let reply = app.get(bad, &service).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{bad}: {}",
            reply.body
        );
    }
}
