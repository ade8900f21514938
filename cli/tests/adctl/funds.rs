//! Money through `adctl`: a deposit retried with its key moves money once; the balance shows it.

use serde_json::json;
use sqlx::PgPool;

use crate::MIGRATOR;
use crate::helpers::Platform;

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_retried_deposit_moves_money_once(pool: PgPool) {
    let platform = Platform::start(pool).await;
    platform.login().await;
    let advertiser = platform.advertiser("Acme Shoes", "EUR").await;
    let deposit = [
        "funds",
        "deposit",
        &advertiser,
        "500.00",
        "--note",
        "wire 1",
        "--idempotency-key",
        "wire-1",
    ];
    let first = platform.json(&deposit).await;
    assert_eq!(
        (&first["amount"], &first["currency"], &first["created"]),
        (&json!("500.000000"), &json!("EUR"), &json!(true))
    );
    let again = platform
        .adctl(&[&deposit[..], &["-o", "json"]].concat(), None)
        .await;
    assert_eq!(again.json()["transfer_id"], first["transfer_id"]);
    assert!(again.stderr.contains("nothing moved again"), "{again:?}");
    let credit = platform
        .json(&["funds", "credit", &advertiser, "25.5"])
        .await;
    assert_eq!(credit["kind"], "credit");

    let balance = platform.json(&["funds", "balance", &advertiser]).await;
    assert_eq!(
        balance["cash"], "525.500000",
        "the retry moved nothing: {balance}"
    );
    let table = platform
        .adctl(&["funds", "balance", &advertiser], None)
        .await;
    assert_eq!(table.code, 0, "{table:?}");
    assert!(
        table.stdout.contains("CASH") && table.stdout.contains("525.500000"),
        "{table:?}"
    );

    let bad = platform
        .adctl(&["funds", "deposit", &advertiser, "-3"], None)
        .await;
    assert_eq!(bad.code, 1, "{bad:?}");
    assert!(bad.stderr.contains("amount"), "the field is named: {bad:?}");
    let invalid = platform
        .adctl(
            &["advertisers", "create", "--name", "", "--currency", "usd"],
            None,
        )
        .await;
    assert_eq!(invalid.code, 1, "{invalid:?}");
    assert!(
        invalid.stderr.contains("  name: ") && invalid.stderr.contains("  currency: "),
        "each field named: {invalid:?}"
    );
}
