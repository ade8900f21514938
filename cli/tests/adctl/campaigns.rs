//! A campaign's life through `adctl`: created from a file, refused activation while the cash is
//! short (the shortfall shown), activated, paused, resumed, archived only when confirmed.

use serde_json::{Value, json};
use sqlx::PgPool;

use crate::MIGRATOR;
use crate::helpers::Platform;

/// The documented example campaign, its flight around now.
pub fn settings() -> Value {
    let mut campaign = api::openapi::examples::all()
        .into_iter()
        .find(|(name, _)| *name == "NewCampaign")
        .map(|(_, example)| example)
        .expect("the NewCampaign example");
    let now = chrono::Utc::now();
    campaign["schedule"]["start"] = json!((now - chrono::Duration::hours(1)).to_rfc3339());
    campaign["schedule"]["end"] = json!((now + chrono::Duration::days(30)).to_rfc3339());
    campaign["schedule"]["day_parting"] = json!([]);
    campaign
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_campaign_is_run_from_the_command_line(pool: PgPool) {
    let platform = Platform::start(pool).await;
    platform.login().await;
    let advertiser = platform.advertiser("Acme Shoes", "USD").await;
    platform
        .json(&["funds", "deposit", &advertiser, "10"])
        .await;
    let file = platform.file("campaign.json", &settings());
    let created = platform
        .json(&[
            "campaigns",
            "create",
            "-f",
            &file,
            "--advertiser",
            &advertiser,
        ])
        .await;
    assert_eq!(created["status"], "draft");
    let id = created["id"].as_str().expect("id").to_owned();

    let short = platform.adctl(&["campaigns", "activate", &id], None).await;
    assert_eq!(short.code, 1, "{short:?}");
    assert!(
        short.stderr.contains("refused (409)") && short.stderr.contains("shortfall: 40.000000"),
        "{short:?}"
    );

    platform
        .json(&["funds", "deposit", &advertiser, "1000"])
        .await;
    assert_eq!(
        platform.json(&["campaigns", "activate", &id]).await["status"],
        "active"
    );
    let patch = platform.file("patch.json", &json!({"budget": {"daily": "75.00"}}));
    let updated = platform
        .json(&["campaigns", "update", &id, "-f", &patch])
        .await;
    assert_eq!(updated["budget"]["daily"], "75.000000");
    let invalid = platform.file("invalid.json", &json!({"budget": {"daily": "-5"}}));
    let refused = platform
        .adctl(&["campaigns", "update", &id, "-f", &invalid], None)
        .await;
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(
        refused.stderr.contains("  budget.daily: "),
        "the field is named: {refused:?}"
    );
    assert_eq!(
        platform.json(&["campaigns", "pause", &id]).await["status"],
        "paused"
    );
    assert_eq!(
        platform.json(&["campaigns", "resume", &id]).await["status"],
        "active"
    );
    assert_eq!(
        platform.json(&["campaigns", "pause", &id]).await["status"],
        "paused"
    );

    let unconfirmed = platform.adctl(&["campaigns", "archive", &id], None).await;
    assert_eq!(unconfirmed.code, 2, "{unconfirmed:?}");
    assert!(unconfirmed.stderr.contains("--yes"), "{unconfirmed:?}");
    assert_eq!(
        platform.json(&["campaigns", "get", &id]).await["status"],
        "paused",
        "nothing changed"
    );
    let archived = platform.json(&["campaigns", "archive", &id, "--yes"]).await;
    assert_eq!(archived["status"], "archived");

    let listed = platform
        .json(&[
            "campaigns",
            "list",
            "--advertiser",
            &advertiser,
            "--status",
            "archived",
        ])
        .await;
    assert_eq!(listed.as_array().map(Vec::len), Some(1));
    let csv = platform
        .adctl(&["campaigns", "list", "-o", "csv"], None)
        .await;
    assert_eq!(csv.code, 0, "{csv:?}");
    assert!(
        csv.stdout
            .starts_with("ID,NAME,STATUS,CURRENCY,DAILY,LIFETIME,BID,AMOUNT\n"),
        "{csv:?}"
    );
    assert!(
        csv.stdout
            .contains(&format!("{id},Winter boots,archived,USD,75.000000")),
        "{csv:?}"
    );

    let missing = platform
        .adctl(
            &["campaigns", "get", "0193a5f0-0000-7000-8000-000000000000"],
            None,
        )
        .await;
    assert_eq!(missing.code, 1, "{missing:?}");
    assert!(missing.stderr.contains("refused (404)"), "{missing:?}");
}
