//! What operators and billing look at: the statement, a campaign's report, the blocklist and the
//! audit trail, through `adctl`.

use serde_json::json;
use sqlx::PgPool;

use crate::MIGRATOR;
use crate::helpers::Platform;

#[sqlx::test(migrator = "MIGRATOR")]
async fn statements_reports_the_blocklist_and_the_audit_trail(pool: PgPool) {
    let platform = Platform::start(pool).await;
    platform.login().await;
    let advertiser = platform.advertiser("Acme Shoes", "USD").await;
    platform
        .json(&[
            "funds",
            "deposit",
            &advertiser,
            "500",
            "--note",
            "wire, 4471",
        ])
        .await;
    platform.json(&["funds", "credit", &advertiser, "20"]).await;

    let csv = platform
        .adctl(&["funds", "statement", &advertiser, "-o", "csv"], None)
        .await;
    assert_eq!(csv.code, 0, "{csv:?}");
    let lines: Vec<&str> = csv.stdout.lines().collect();
    assert_eq!(
        lines[0],
        "POSTED,KIND,CHANGE,BALANCE,CURRENCY,CAMPAIGN,TRANSFER,NOTE"
    );
    assert_eq!(lines.len(), 3, "{csv:?}");
    assert!(
        lines[1].contains(",deposit,500.000000,500.000000,USD,,")
            && lines[1].ends_with(",\"wire, 4471\""),
        "{csv:?}"
    );
    assert!(
        lines[2].contains(",credit,20.000000,520.000000,USD,"),
        "{csv:?}"
    );
    let between = platform
        .json(&[
            "funds",
            "statement",
            &advertiser,
            "--from",
            "2000-01-01",
            "--to",
            "2999-01-01",
        ])
        .await;
    assert_eq!(between.as_array().map(Vec::len), Some(2), "{between}");
    let before = platform
        .json(&["funds", "statement", &advertiser, "--to", "2000-01-01"])
        .await;
    assert_eq!(before, json!([]));
    let later = platform
        .json(&["funds", "statement", &advertiser, "--from", "2999-01-01"])
        .await;
    assert_eq!(later, json!([]));

    let campaign = platform
        .adctl(
            &[
                "campaigns",
                "create",
                "-f",
                "-",
                "--advertiser",
                &advertiser,
                "-o",
                "json",
            ],
            Some(&crate::campaigns::settings().to_string()),
        )
        .await
        .json();
    let id = campaign["id"].as_str().expect("id");
    let report = platform
        .json(&["reports", "campaign", id, "--from", "2026-01-01"])
        .await;
    assert_eq!(
        (&report["campaign_id"], &report["currency"]),
        (&json!(id), &json!("USD"))
    );
    let bad = platform
        .adctl(&["reports", "campaign", id, "--from", "last week"], None)
        .await;
    assert_eq!(bad.code, 2, "{bad:?}");
    assert!(bad.stderr.contains("--from"), "the flag is named: {bad:?}");

    let added = platform
        .json(&[
            "fraud",
            "blocklist",
            "add",
            "ip",
            "203.0.113.7",
            "198.51.100.9",
            "--reason",
            "farm",
        ])
        .await;
    assert_eq!(added["added"], 2);
    let listed = platform
        .json(&["fraud", "blocklist", "list", "--kind", "ip"])
        .await;
    assert_eq!(listed.as_array().map(Vec::len), Some(2));
    let unconfirmed = platform
        .adctl(&["fraud", "blocklist", "remove", "ip", "203.0.113.7"], None)
        .await;
    assert_eq!(unconfirmed.code, 2, "{unconfirmed:?}");
    let removed = platform
        .adctl(
            &["fraud", "blocklist", "remove", "ip", "203.0.113.7", "--yes"],
            None,
        )
        .await;
    assert_eq!(removed.code, 0, "{removed:?}");
    let listed = platform.json(&["fraud", "blocklist", "list"]).await;
    assert_eq!(listed[0]["value"], "198.51.100.9");
    assert_eq!(listed.as_array().map(Vec::len), Some(1));

    platform.chain_audit().await;
    let entries = platform
        .json(&["audit", "list", "--action", "fraud.block", "--limit", "5"])
        .await;
    assert!(
        !entries.as_array().expect("entries").is_empty(),
        "{entries}"
    );
    assert_eq!(entries.as_array().map(Vec::len), Some(2), "{entries}");
    assert_eq!(entries[0]["role"], "admin");
    let verified = platform
        .adctl(&["audit", "verify", "-o", "json"], None)
        .await;
    assert_eq!(verified.json()["status"], "intact", "{verified:?}");
    let full = platform
        .adctl(&["audit", "verify", "--full", "-o", "json"], None)
        .await;
    assert_eq!(full.code, 0, "{full:?}");
    assert_eq!(full.json()["full_walk"], true, "{full:?}");
}
