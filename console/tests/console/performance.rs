//! A campaign's page shows its day against its pace (an SVG chart readable without JavaScript,
//! and the same figures as a table), the last 30 days' delivery and money, and refunds with their
//! reasons: from ads billed in the real ledger; and the overview sums the day and says what
//! needs a look.

use domain::{AdvertiserId, CampaignId, Currency};
use ledger::Ledger;
use serde_json::json;
use sqlx::PgPool;

use crate::MIGRATOR;
use crate::helpers::Console;

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_campaign_page_charts_today_and_lists_30_days_and_refunds(pool: PgPool) {
    let console = Console::start(pool.clone()).await;
    let ana = console.advertiser("ana", "Winter boots").await;
    let campaign = console.first_campaign(&ana).await;
    console
        .api_post(
            &format!("/api/v1/advertisers/{ana}/deposits"),
            json!({"amount": "1000"}),
        )
        .await;
    console
        .api_post(&format!("/api/v1/campaigns/{campaign}/activate"), json!({}))
        .await;
    let ledger = Ledger::new(pool);
    let ids = (
        AdvertiserId(uuid::Uuid::parse_str(&ana).expect("uuid")),
        CampaignId(uuid::Uuid::parse_str(&campaign).expect("uuid")),
    );
    let eur = Currency::parse("EUR").expect("eur");
    ledger::fixtures::bill_ad(&ledger, ids, eur, "1.25", "ad:1", None).await;
    ledger::fixtures::bill_ad(&ledger, ids, eur, "0.000001", "ad:2", None).await;
    ledger::fixtures::bill_ad(
        &ledger,
        ids,
        eur,
        "0.50",
        "ad:3",
        Some("invalid_traffic:datacenter_ip"),
    )
    .await;

    let (cookies, _) = console.signed_in("ana").await;
    let html = console
        .page(&format!("/campaigns/{campaign}"), &cookies)
        .await;
    // today, with its badge and the chart drawn on the server
    assert!(html.contains("id=\"today-heading\""), "{html}");
    assert!(html.contains("class=\"badge "), "a pace badge: {html}");
    assert!(
        html.contains("Spent 1.250001 EUR of 50.00 EUR"),
        "today's net spend, exact: {html}"
    );
    assert!(html.contains("<svg") && html.contains("role=\"img\""));
    assert!(html.contains("<polyline points=\"") && html.contains("class=\"target\""));
    assert!(
        html.contains("<title id=\"pacing-title\">"),
        "the chart is named"
    );
    // the 30 days: today's row and the totals
    assert!(html.contains("<th scope=\"row\">30 days</th>"), "{html}");
    assert!(html.contains(">1.750001<"), "the day's gross spend: {html}");
    assert!(html.contains(">0.50<"), "the day's refunds: {html}");
    // the refund, with its reason
    assert!(html.contains("invalid_traffic:datacenter_ip"), "{html}");

    // the overview: the day's spend, the campaign with its badge, the refund as an alert
    let overview = console.page("/", &cookies).await;
    assert!(overview.contains("id=\"overview\""), "{overview}");
    assert!(
        overview.contains("Needs a look") && overview.contains("0.50 EUR refunded today"),
        "{overview}"
    );
    assert!(overview.contains(">Winter boots</a>") && overview.contains("class=\"badge "));
    assert!(
        overview.contains("1.250001 EUR"),
        "today's net spend: {overview}"
    );
    assert!(
        !overview.contains("Funds low"),
        "a deposit far above a day's budget"
    );
}
