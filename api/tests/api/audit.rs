//! The running API server chains the audit outbox as it fills and has the chain's head signed by
//! Vault (the OpenBao of `scripts/services`): money the API moves reaches the hash chain without
//! anyone asking, and the chain and its signed checkpoints verify.

use std::time::{Duration, Instant};

use rust_decimal::Decimal;
use sqlx::PgPool;
use tokio::net::TcpListener;

use api::auth::Role;
use api::settings::VaultSettings;
use axum::http::StatusCode;
use serde_json::json;
use vault::transit::TransitSigner;

use crate::MIGRATOR;
use crate::helpers::{TestApp, settings};

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_server_chains_the_money_it_moves(pool: PgPool) {
    let test_support::Vault { address, token } = test_support::vault();
    let key = format!("api-audit-{}", uuid::Uuid::now_v7().simple());
    let mut settings = settings();
    let mut vault = VaultSettings::new(&address, &token);
    vault.audit_key = key.clone();
    settings.vault = Some(vault);
    settings.audit_checkpoint_rows = 1;
    let witness =
        std::env::temp_dir().join(format!("checkpoints-{}", uuid::Uuid::now_v7().simple()));
    settings.checkpoint_log = Some(witness.clone());
    let app = TestApp::with_settings(pool.clone(), settings).await;
    let advertiser = app.advertiser("Chained").await;
    app.deposit(advertiser, "250.00").await;
    let waiting: i64 = sqlx::query_scalar("select count(*) from audit_outbox")
        .fetch_one(&pool)
        .await
        .expect("outbox");
    assert!(waiting > 0, "the deposit waits in the outbox");

    let listener = TcpListener::bind("127.0.0.1:0").await.expect("port");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(api::server::serve(app.state.clone(), listener, async {
        let _ = stopped.await;
    }));
    let started = Instant::now();
    let (left, deposits, signed) = loop {
        let counts: (i64, i64, i64) = sqlx::query_as(
            "select (select count(*) from audit_outbox),
                    (select count(*) from audit_log where action = 'ledger.post'),
                    (select count(*) from audit_checkpoints where signature is not null)",
        )
        .fetch_one(&pool)
        .await
        .expect("counts");
        if (counts.0 == 0 && counts.2 > 0) || started.elapsed() > Duration::from_secs(15) {
            break counts;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let _ = stop.send(());
    server.await.expect("server").expect("served");
    assert_eq!((left, deposits), (0, 1), "chained by the server, once");
    assert!(signed >= 1, "the head was checkpointed and signed");
    let signer = TransitSigner::new(&address, &token, "transit", &key, Duration::from_secs(5))
        .expect("signer");
    let summary = app
        .state
        .audit
        .verify_signed(&signer)
        .await
        .expect("vault")
        .expect("intact");
    assert!(summary.rows >= 1);
    let signed_now: i64 =
        sqlx::query_scalar("select count(*) from audit_checkpoints where signature is not null")
            .fetch_one(&pool)
            .await
            .expect("signed");
    assert_eq!(
        summary.checkpoints as i64, signed_now,
        "every signature verified"
    );
    let witnessed = audit::witness::CheckpointLog::new(&witness)
        .read()
        .expect("witness file");
    assert_eq!(
        witnessed.len() as i64,
        signed_now,
        "each signed checkpoint is in the file"
    );

    // through the API: the first walk from the first row, the next from a signed checkpoint
    let admin = app.token(Role::Admin, None);
    let first = verified(&app, &admin, false).await;
    assert_eq!(
        (
            &first["status"],
            &first["from_rows"],
            &first["signatures_checked"]
        ),
        (&json!("intact"), &json!(0), &json!(true)),
        "{first}"
    );
    app.deposit(advertiser, "1.00").await;
    while app.state.audit.chain(100).await.expect("chain") > 0 {}
    let rules = audit::CheckpointRules {
        rows: 1,
        every: Duration::from_secs(3600),
    };
    app.state
        .audit
        .request_checkpoint(rules)
        .await
        .expect("checkpoint");
    app.state
        .audit
        .sign_checkpoints(&signer)
        .await
        .expect("sign");
    let next = verified(&app, &admin, false).await;
    assert_eq!(next["status"], "intact", "{next}");
    let resumed_at = next["from_rows"].as_u64().expect("from");
    assert!(
        resumed_at > 0 && resumed_at <= first["rows_checked"].as_u64().expect("rows"),
        "resumed from a signed checkpoint within the last walk: {next}"
    );
    assert!(next["rows_checked"].as_u64() > first["rows_checked"].as_u64());
    let _ = std::fs::remove_file(&witness);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn entries_come_newest_first_and_advertisers_see_only_their_own(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let (a, b) = (
        app.advertiser("Audited A").await,
        app.advertiser("Audited B").await,
    );
    app.deposit(a, "10.00").await;
    app.deposit(b, "20.00").await;
    app.deposit(a, "30.00").await;
    while app.state.audit.chain(100).await.expect("chain") > 0 {}

    let operator = app.token(Role::Operator, None);
    let all = app.get("/api/v1/audit?limit=1000", &operator).await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.body);
    let positions: Vec<i64> = all.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| e["position"].as_i64().expect("position"))
        .collect();
    assert!(positions.len() >= 3);
    assert!(positions.windows(2).all(|w| w[0] > w[1]), "newest first");

    // a page at a time, by cursor, the same entries
    let mut paged = Vec::new();
    let mut path = "/api/v1/audit?limit=2".to_owned();
    loop {
        let page = app.get(&path, &operator).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        for e in page.body["items"].as_array().expect("items") {
            paged.push(e["position"].as_i64().expect("position"));
        }
        match page.body["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/audit?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(paged, positions);

    // an advertiser sees its own deposits, not the other's, and cannot ask for them
    let as_a = app.token(Role::Advertiser, Some(a));
    let own = app.get("/api/v1/audit?action=funding.deposit", &as_a).await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.body);
    let amounts: Vec<Decimal> = own.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| {
            assert_eq!(e["advertiser_id"], serde_json::json!(a));
            e["after"]["amount"]
                .as_str()
                .and_then(|x| x.parse().ok())
                .expect("amount")
        })
        .collect();
    assert_eq!(amounts, vec![Decimal::from(30), Decimal::from(10)]);
    let postings = app.get("/api/v1/audit?action=ledger.post", &as_a).await;
    assert_eq!(
        postings.body["items"].as_array().map(Vec::len),
        Some(2),
        "the ledger's own entries of its two deposits: {}",
        postings.body
    );

    // one ledger statement moving money for both: each sees it, and only itself in it
    let eur = ledger::Currency::parse("EUR").expect("eur");
    let external = app
        .state
        .ledger
        .open_account(ledger::AccountOwner::External, eur)
        .await
        .expect("external");
    let mut both = Vec::new();
    for advertiser in [a, b] {
        let cash = app
            .state
            .ledger
            .open_account(
                ledger::AccountOwner::AdvertiserCash {
                    advertiser: ledger::AdvertiserId(advertiser),
                },
                eur,
            )
            .await
            .expect("cash");
        let mut t = ledger::NewTransfer::new(
            ledger::TransferId::from_key("test", &advertiser.to_string()),
            external.id,
            cash.id,
            ledger::Amount::parse("1").expect("amount"),
            eur,
            ledger::TransferKind::Deposit,
        );
        t.references.advertiser = Some(ledger::AdvertiserId(advertiser));
        both.push(t);
    }
    app.state
        .ledger
        .transfer_batch(&both, ledger::BatchMode::Linked)
        .await
        .expect("batch");
    while app.state.audit.chain(100).await.expect("chain") > 0 {}
    let seen = app.get("/api/v1/audit?limit=1", &as_a).await;
    let entry = &seen.body["items"][0];
    assert_eq!(
        entry["action"],
        serde_json::json!("ledger.post"),
        "{}",
        seen.body
    );
    assert_eq!(entry["after"]["count"], serde_json::json!(2));
    assert_eq!(entry["after"]["advertisers"], serde_json::json!([a]));
    let staff = app.get("/api/v1/audit?limit=1", &operator).await;
    assert_eq!(
        staff.body["items"][0]["after"]["advertisers"]
            .as_array()
            .map(Vec::len),
        Some(2),
        "staff see every advertiser in it"
    );

    let other = app
        .get(&format!("/api/v1/audit?advertiser_id={b}"), &as_a)
        .await;
    assert_eq!(other.status, StatusCode::OK);
    assert_eq!(other.body["items"], serde_json::json!([]));
    // a cursor that is not one is a clear error
    let bad = app.get("/api/v1/audit?cursor=abc", &operator).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

/// Starts a verification and follows it to its end: the finished verification.
pub async fn verified(app: &TestApp, token: &str, full: bool) -> serde_json::Value {
    let started = app
        .post(
            "/api/v1/audit/verifications",
            token,
            serde_json::json!({"full": full}),
        )
        .await;
    assert_eq!(started.status, StatusCode::ACCEPTED, "{}", started.body);
    let path = format!("/api/v1/audit/verifications/{}", started.str("id"));
    for _ in 0..200 {
        let seen = app.get(&path, token).await;
        assert_eq!(seen.status, StatusCode::OK, "{}", seen.body);
        if seen.body["status"] != "running" {
            return seen.body;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("the verification never finished");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn verify_names_the_first_altered_entry(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let advertiser = app.advertiser("Verified").await;
    for amount in ["1.00", "2.00", "3.00"] {
        app.deposit(advertiser, amount).await;
    }
    while app.state.audit.chain(100).await.expect("chain") > 0 {}
    let billing = app.token(Role::Billing, None);
    let intact = verified(&app, &billing, false).await;
    assert_eq!(intact["status"], "intact", "{intact}");
    assert_eq!(
        intact["from_rows"], 0,
        "the first walk starts at the first row"
    );
    let rows = intact["rows_checked"].as_u64().expect("rows");
    assert!(rows >= 3);

    let mut tx = pool.begin().await.expect("begin");
    sqlx::query("set local session_replication_role = replica")
        .execute(&mut *tx)
        .await
        .expect("bypass the guard");
    sqlx::query("update audit_log set actor = 'someone else' where position = 2")
        .execute(&mut *tx)
        .await
        .expect("tamper");
    tx.commit().await.expect("commit");
    // without Vault every walk is full (a head the database stored is not trusted)
    let broken = verified(&app, &billing, false).await;
    assert_eq!(broken["status"], "broken", "{broken}");
    assert_eq!(broken["fault_position"], 2);
    // one at a time: while one runs (its heartbeat fresh) another is refused, naming it
    let running = uuid::Uuid::now_v7();
    sqlx::query(
        "insert into audit_verifications (id, full_walk, requested_by, started_at, heartbeat_at,
                                          status, from_rows, signatures_checked)
         values ($1, true, 'elsewhere', now(), now(), 'running', 0, false)",
    )
    .bind(running)
    .execute(&pool)
    .await
    .expect("a running one");
    let refused = app
        .post(
            "/api/v1/audit/verifications",
            &billing,
            serde_json::json!({}),
        )
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    assert!(
        refused.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains(&running.to_string())),
        "{}",
        refused.body
    );
    // one whose process died (no heartbeat for a minute) is set abandoned by the next start
    sqlx::query(
        "update audit_verifications set heartbeat_at = now() - interval '2 minutes' where id = $1",
    )
    .bind(running)
    .execute(&pool)
    .await
    .expect("stale");
    let next = verified(&app, &billing, false).await;
    assert_eq!(
        next["status"], "broken",
        "without Vault every walk is full: {next}"
    );
    let abandoned: String =
        sqlx::query_scalar("select status from audit_verifications where id = $1")
            .bind(running)
            .fetch_one(&pool)
            .await
            .expect("status");
    assert_eq!(abandoned, "abandoned");
}

/// Stopped, the server drains its requests and lets its background tasks finish rather than
/// abort them: what waits in the audit outbox is chained before `serve` returns.
#[sqlx::test(migrator = "MIGRATOR")]
async fn a_stopping_server_chains_the_outbox_before_it_returns(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let advertiser = app.advertiser("Stopping").await;
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("port");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(api::server::serve(app.state.clone(), listener, async {
        let _ = stopped.await;
    }));
    let outbox = || async {
        sqlx::query_scalar::<_, i64>("select count(*) from audit_outbox")
            .fetch_one(&pool)
            .await
            .expect("outbox")
    };
    // the chainer has taken the advertiser's creation and waits for more
    let started = Instant::now();
    while outbox().await > 0 {
        assert!(started.elapsed() < Duration::from_secs(15), "never chained");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // the chainer polls every 500 ms: the stop comes right after the deposit, most likely
    // before the chainer has seen it
    app.deposit(advertiser, "5.00").await;
    let _ = stop.send(());
    server.await.expect("server").expect("served");
    assert_eq!(outbox().await, 0, "chained on the way out");
    let deposits: i64 =
        sqlx::query_scalar("select count(*) from audit_log where action = 'ledger.post'")
            .fetch_one(&pool)
            .await
            .expect("chain");
    assert_eq!(deposits, 1);
}
