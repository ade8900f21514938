//! Money through the API: idempotent deposits, holds that follow the campaign's status, and
//! activation races against cash for only one campaign.

use api::auth::Role;
use axum::http::{Method, StatusCode};
use serde_json::json;
use sqlx::PgPool;

use crate::MIGRATOR;
use crate::helpers::TestApp;

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_retried_deposit_moves_money_once(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let advertiser = app.advertiser("Retrier").await;
    let billing = app.token(Role::Billing, None);
    let path = format!("/api/v1/advertisers/{advertiser}/deposits");
    let deposit = |amount: &'static str, key: &'static str| {
        let (app, path, billing) = (&app, &path, &billing);
        async move {
            app.send(
                Method::POST,
                path,
                Some(billing),
                Some(json!({"amount": amount})),
                &[("idempotency-key", key)],
            )
            .await
        }
    };
    let first = deposit("250.50", "wire-2026-11-29-001").await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    assert_eq!(first.body["created"], json!(true));
    for _ in 0..3 {
        let again = deposit("250.50", "wire-2026-11-29-001").await;
        assert_eq!(again.status, StatusCode::OK);
        assert_eq!(again.body["created"], json!(false));
        assert_eq!(again.body["transfer_id"], first.body["transfer_id"]);
    }
    let conflicting = deposit("999", "wire-2026-11-29-001").await;
    assert_eq!(conflicting.status, StatusCode::CONFLICT);
    assert_eq!(app.balance(advertiser).await.0, "250.500000");
    let rows: i64 =
        sqlx::query_scalar("select count(*) from ledger_transfers where kind = 'deposit'")
            .fetch_one(&pool)
            .await
            .expect("count");
    assert_eq!(rows, 1);

    let missing = app.post(&path, &billing, json!({"amount": "1"})).await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(missing.body["errors"][0]["field"], "Idempotency-Key");
    let bad = deposit("12.3456789", "k2").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.body["errors"][0]["field"], "amount");
    assert_eq!(
        app.balance(advertiser).await.0,
        "250.500000",
        "refusals wrote nothing"
    );

    // The statement shows the deposit with its running balance.
    let statement = app
        .get(
            &format!("/api/v1/advertisers/{advertiser}/statement"),
            &billing,
        )
        .await;
    assert_eq!(statement.status, StatusCode::OK, "{}", statement.body);
    assert_eq!(statement.body["lines"].as_array().map(Vec::len), Some(1));
    assert_eq!(statement.body["lines"][0]["balance"], "250.500000");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn two_activations_against_cash_for_one_leave_exactly_one_running(pool: PgPool) {
    let app = TestApp::new(pool).await;
    for round in 0..10 {
        let advertiser = app.advertiser(&format!("Racer {round}")).await;
        app.deposit(advertiser, "150").await;
        let a = app.campaign(advertiser, json!({"lifetime": "100"})).await;
        let b = app.campaign(advertiser, json!({"lifetime": "100"})).await;
        let operator = app.token(Role::Operator, None);
        let (pa, pb) = (
            format!("/api/v1/campaigns/{a}/activate"),
            format!("/api/v1/campaigns/{b}/activate"),
        );
        let (ra, rb) = tokio::join!(
            app.post(&pa, &operator, json!({})),
            app.post(&pb, &operator, json!({})),
        );
        let mut statuses = [ra.status, rb.status];
        statuses.sort();
        assert_eq!(
            statuses,
            [StatusCode::OK, StatusCode::CONFLICT],
            "round {round}"
        );
        let refused = if ra.status == StatusCode::CONFLICT {
            &ra
        } else {
            &rb
        };
        assert_eq!(refused.str("shortfall"), "50.000000", "{}", refused.body);
        assert!(
            refused.str("detail").contains("50.000000 EUR available"),
            "{}",
            refused.body
        );
        assert_eq!(
            app.balance(advertiser).await,
            ("50.000000".into(), "100.000000".into())
        );
        let refused_id = if ra.status == StatusCode::CONFLICT {
            a
        } else {
            b
        };
        let still = app
            .get(&format!("/api/v1/campaigns/{refused_id}"), &operator)
            .await;
        assert_eq!(
            still.str("status"),
            "draft",
            "the refused campaign did not change"
        );
    }
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn holds_follow_status_budget_edits_and_local_days(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let advertiser = app.advertiser("Holder").await;
    app.deposit(advertiser, "1000").await;
    let operator = app.token(Role::Operator, None);
    let lifetime = app.campaign(advertiser, json!({"lifetime": "300"})).await;
    let act = |id: uuid::Uuid, action: &'static str| {
        let (app, operator) = (&app, &operator);
        async move {
            app.post(
                &format!("/api/v1/campaigns/{id}/{action}"),
                operator,
                json!({}),
            )
            .await
        }
    };
    assert_eq!(act(lifetime, "activate").await.status, StatusCode::OK);
    assert_eq!(
        app.balance(advertiser).await,
        ("700.000000".into(), "300.000000".into())
    );
    let again = act(lifetime, "activate").await;
    assert_eq!(again.status, StatusCode::OK, "activating twice is harmless");
    assert_eq!(
        app.balance(advertiser).await.1,
        "300.000000",
        "and holds nothing more"
    );

    // A budget raise holds the difference; a cut releases it.
    let raise = app
        .send(
            Method::PATCH,
            &format!("/api/v1/campaigns/{lifetime}"),
            Some(&operator),
            Some(json!({"budget": {"lifetime": "400"}})),
            &[],
        )
        .await;
    assert_eq!(raise.status, StatusCode::OK, "{}", raise.body);
    assert_eq!(
        app.balance(advertiser).await,
        ("600.000000".into(), "400.000000".into())
    );
    let cut = app
        .send(
            Method::PATCH,
            &format!("/api/v1/campaigns/{lifetime}"),
            Some(&operator),
            Some(json!({"budget": {"lifetime": "250"}})),
            &[],
        )
        .await;
    assert_eq!(cut.status, StatusCode::OK, "{}", cut.body);
    assert_eq!(
        app.balance(advertiser).await,
        ("750.000000".into(), "250.000000".into())
    );
    let too_much = app
        .send(
            Method::PATCH,
            &format!("/api/v1/campaigns/{lifetime}"),
            Some(&operator),
            Some(json!({"budget": {"lifetime": "5000"}})),
            &[],
        )
        .await;
    assert_eq!(too_much.status, StatusCode::CONFLICT);
    assert_eq!(too_much.str("shortfall"), "4000.000000");

    // Pausing releases everything no server has leased; resuming holds it again.
    assert_eq!(act(lifetime, "pause").await.str("status"), "paused");
    assert_eq!(
        app.balance(advertiser).await,
        ("1000.000000".into(), "0.000000".into())
    );
    assert_eq!(act(lifetime, "resume").await.str("status"), "active");
    assert_eq!(app.balance(advertiser).await.1, "250.000000");
    assert_eq!(act(lifetime, "pause").await.status, StatusCode::OK);
    assert_eq!(act(lifetime, "archive").await.str("status"), "archived");
    let reply = act(lifetime, "resume").await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    assert_eq!(
        reply.str("detail"),
        "a campaign that is archived cannot be resumed"
    );

    // A daily budget is held per local day: the sweep tops it up after local midnight.
    let daily = app.campaign(advertiser, json!({"daily": "40"})).await;
    assert_eq!(act(daily, "activate").await.status, StatusCode::OK);
    assert_eq!(
        app.balance(advertiser).await,
        ("960.000000".into(), "40.000000".into())
    );
    let hold: i64 = sqlx::query_scalar(
        "select id from ledger_accounts where campaign_id = $1 and kind = 'campaign_hold'",
    )
    .bind(daily)
    .fetch_one(&pool)
    .await
    .expect("hold");
    let spend: i64 = sqlx::query_scalar(
        "select id from ledger_accounts where campaign_id = $1 and kind = 'campaign_spend'",
    )
    .bind(daily)
    .fetch_one(&pool)
    .await
    .expect("spend");
    let ledger = &app.state.ledger;
    let mut spent = ledger::NewTransfer::new(
        ledger::TransferId::from_key("test", "spend-1"),
        ledger::AccountId(hold),
        ledger::AccountId(spend),
        ledger::Amount::parse("15").expect("amount"),
        ledger::Currency::parse("EUR").expect("eur"),
        ledger::TransferKind::Spend,
    );
    spent.references.campaign = Some(ledger::CampaignId(daily));
    ledger.transfer(spent).await.expect("spend");
    assert_eq!(
        api::campaigns::service::sweep_holds(&app.state)
            .await
            .expect("sweep"),
        0,
        "same day: nothing to do"
    );
    app.clock.advance(chrono::Duration::days(1));
    assert_eq!(
        api::campaigns::service::sweep_holds(&app.state)
            .await
            .expect("sweep"),
        1
    );
    assert_eq!(
        app.balance(advertiser).await,
        ("945.000000".into(), "40.000000".into()),
        "the new day holds a whole day's budget again: 15 more"
    );
    assert_eq!(
        api::campaigns::service::sweep_holds(&app.state)
            .await
            .expect("sweep"),
        0
    );
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_campaign_past_its_end_is_ended_and_its_hold_released(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let advertiser = app.advertiser("Ender").await;
    app.deposit(advertiser, "100").await;
    let operator = app.token(Role::Operator, None);
    let ending = app.campaign(advertiser, json!({"lifetime": "30"})).await;
    let end = (ledger::Clock::now(app.clock.as_ref()) + chrono::Duration::hours(2)).to_rfc3339();
    let patched = app
        .send(
            Method::PATCH,
            &format!("/api/v1/campaigns/{ending}"),
            Some(&operator),
            Some(json!({"schedule": {"end": end}})),
            &[],
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    assert_eq!(
        app.post(
            &format!("/api/v1/campaigns/{ending}/activate"),
            &operator,
            json!({})
        )
        .await
        .status,
        StatusCode::OK
    );
    app.clock.advance(chrono::Duration::hours(3));
    api::campaigns::service::sweep_holds(&app.state)
        .await
        .expect("sweep");
    let ended = app
        .get(&format!("/api/v1/campaigns/{ending}"), &operator)
        .await;
    assert_eq!(ended.str("status"), "ended");
    assert_eq!(
        app.balance(advertiser).await,
        ("100.000000".into(), "0.000000".into()),
        "released"
    );
    while app.state.audit.chain(100).await.expect("chain") > 0 {}
    let (actor, before, after): (String, serde_json::Value, serde_json::Value) = sqlx::query_as(
        "select actor, before->'status', after->'status' from audit_log
          where action = 'campaign.end' and object = $1",
    )
    .bind(format!("campaign:{ending}"))
    .fetch_one(&pool)
    .await
    .expect("the sweep's audit entry");
    assert_eq!(
        (actor.as_str(), before, after),
        ("hold-sweep", json!("active"), json!("ended"))
    );
    let reply = app
        .post(
            &format!("/api/v1/campaigns/{ending}/activate"),
            &operator,
            json!({}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
}
