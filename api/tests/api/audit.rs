//! The running API server chains the audit outbox as it fills and has the chain's head signed by
//! Vault (the OpenBao of `scripts/services`): money the API moves reaches the hash chain without
//! anyone asking, and the chain and its signed checkpoints verify.

use std::time::{Duration, Instant};

use sqlx::PgPool;
use tokio::net::TcpListener;

use api::settings::VaultSettings;
use ledger::transit::TransitSigner;

use crate::MIGRATOR;
use crate::helpers::{TestApp, settings};

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_server_chains_the_money_it_moves(pool: PgPool) {
    let address =
        std::env::var("VAULT_ADDR").expect("VAULT_ADDR (eval \"$(scripts/services env)\")");
    let token = std::env::var("VAULT_TOKEN").expect("VAULT_TOKEN");
    let key = format!("api-audit-{}", uuid::Uuid::now_v7().simple());
    let mut settings = settings();
    let mut vault = VaultSettings::new(&address, &token);
    vault.audit_key = key.clone();
    settings.vault = Some(vault);
    settings.audit_checkpoint_rows = 1;
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
                    (select count(*) from audit_log where action = 'ledger.deposit'),
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
        .ledger
        .verify_audit_signed(&signer)
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
}
