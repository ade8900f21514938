//! The running API server chains the audit outbox as it fills: money the API moves reaches the
//! hash chain without anyone asking, and the chain verifies.

use std::time::{Duration, Instant};

use sqlx::PgPool;
use tokio::net::TcpListener;

use crate::MIGRATOR;
use crate::helpers::TestApp;

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_server_chains_the_money_it_moves(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
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
    let (left, deposits) = loop {
        let counts: (i64, i64) = sqlx::query_as(
            "select (select count(*) from audit_outbox),
                    (select count(*) from audit_log where action = 'ledger.deposit')",
        )
        .fetch_one(&pool)
        .await
        .expect("counts");
        if counts.0 == 0 || started.elapsed() > Duration::from_secs(10) {
            break counts;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let _ = stop.send(());
    server.await.expect("server").expect("served");
    assert_eq!((left, deposits), (0, 1), "chained by the server, once");
    let summary = app
        .state
        .ledger
        .verify_audit(vec![])
        .await
        .expect("walk")
        .expect("intact");
    assert!(summary.rows >= 1);
}
