//! What operators mend and watch through `adctl`: campaigns imported from CSV (safe to run
//! again), budgets reconciled (Redis beside the ledger), today's pacing, invalid-traffic
//! refunds, and a creation retried with its idempotency key.

use budget::campaign::Want;
use ledger::{AdvertiserId, CampaignId, Currency, Ledger};
use redis::AsyncCommands;
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::MIGRATOR;
use crate::campaigns::settings;
use crate::helpers::Platform;

/// A CSV line of the example campaign named `name` with this daily budget.
fn csv_line(name: &str, daily: &str) -> String {
    let s = settings();
    let creatives = s["creatives"].to_string().replace('"', "\"\"");
    format!(
        "{name},{daily},cpm,2.00,{},{},{},US|CA,\"{creatives}\"\n",
        s["schedule"]["start"].as_str().expect("start"),
        s["schedule"]["end"].as_str().expect("end"),
        s["schedule"]["time_zone"].as_str().expect("zone"),
    )
}

const HEADER: &str = "name,budget.daily,bid.kind,bid.amount,schedule.start,schedule.end,schedule.time_zone,targeting.countries,creatives\n";

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_csv_import_makes_each_campaign_once_and_names_each_bad_row(pool: PgPool) {
    let platform = Platform::start(pool.clone()).await;
    platform.login().await;
    let advertiser = platform.advertiser("Importer", "USD").await;
    let text = format!(
        "{HEADER}{}{}{}",
        csv_line("Boots", "50.00"),
        csv_line("Sandals", "-5"),
        csv_line("Scarves", "20.00")
    );
    let path = platform.config_home.join("campaigns.csv");
    std::fs::write(&path, &text).expect("file");
    let path = path.display().to_string();
    let import = ["campaigns", "import", &path, "--advertiser", &advertiser];

    let first = platform.adctl(&import, None).await;
    assert_eq!(first.code, 1, "a row was refused: {first:?}");
    let lines: Vec<&str> = first.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{first:?}");
    assert!(
        lines[0].starts_with("line 2     created") && lines[0].ends_with("Boots"),
        "{first:?}"
    );
    assert!(
        lines[1].starts_with("line 3     refused") && lines[1].contains("Sandals: budget.daily:"),
        "{first:?}"
    );
    assert!(lines[2].starts_with("line 4     created"), "{first:?}");
    assert!(
        first
            .stderr
            .contains("2 created, 0 already there, 1 refused or failed"),
        "{first:?}"
    );

    // the same file again: nothing is made twice
    let mut again = import.to_vec();
    again.extend(["-o", "json"]);
    let second = platform.adctl(&again, None).await;
    assert_eq!(second.code, 1, "{second:?}");
    let rows: Value = serde_json::from_str(&second.stdout).expect("json");
    assert_eq!(rows[0]["result"], "exists");
    assert_eq!(rows[2]["result"], "exists");
    let boots_id = rows[0]["campaign_id"].as_str().expect("id");
    assert!(lines[0].contains(boots_id), "the same campaign: {first:?}");
    assert_eq!(rows[1]["result"], "refused");

    // the bad row mended: only it is made now
    std::fs::write(&path, text.replace("Sandals,-5", "Sandals,12.50")).expect("file");
    let third = platform.json(&import).await;
    let results: Vec<&str> = third
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["result"].as_str().expect("result"))
        .collect();
    assert_eq!(results, ["exists", "created", "exists"]);
    let count: i64 = sqlx::query_scalar("select count(*) from campaigns where advertiser_id = $1")
        .bind(uuid::Uuid::parse_str(&advertiser).expect("uuid"))
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(count, 3);

    // a column adctl does not know stops the import before anything is sent
    std::fs::write(&path, "name,budget.dialy\nX,5\n").expect("file");
    let unknown = platform.adctl(&import, None).await;
    assert_eq!(unknown.code, 2, "{unknown:?}");
    assert!(
        unknown.stderr.contains("unknown column \"budget.dialy\""),
        "{unknown:?}"
    );
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_creation_retried_with_its_key_makes_one_campaign(pool: PgPool) {
    let platform = Platform::start(pool).await;
    platform.login().await;
    let advertiser = platform.advertiser("Retrier", "USD").await;
    let file = platform.file("campaign.json", &settings());
    let create = [
        "campaigns",
        "create",
        "-f",
        &file,
        "--advertiser",
        &advertiser,
        "--idempotency-key",
        "order-4471",
    ];
    let first = platform.json(&create).await;
    let retry = platform.json(&create).await;
    assert_eq!(first["id"], retry["id"]);
    let verbose = platform
        .adctl(
            &[
                "campaigns",
                "create",
                "-f",
                &file,
                "--advertiser",
                &advertiser,
                "-v",
            ],
            None,
        )
        .await;
    assert_eq!(verbose.code, 0, "{verbose:?}");
    assert!(
        verbose.stderr.contains("POST /api/v1/campaigns -> 201")
            && verbose.stderr.contains("idempotency-key="),
        "the generated key is shown: {verbose:?}"
    );
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn budgets_are_reconciled_and_pacing_and_refunds_are_shown(pool: PgPool) {
    let platform = Platform::start(pool.clone()).await;
    platform.login().await;
    let (advertiser, id) = platform.active_campaign("Watched").await;
    let campaign = CampaignId(uuid::Uuid::parse_str(&id).expect("uuid"));
    platform
        .state
        .budgets
        .allocate(
            campaign,
            "serving-1",
            Want {
                amount: 1_000_000,
                unit: 1_000,
                per_click: false,
            },
        )
        .await
        .expect("allocate")
        .expect("granted");

    let status = platform.json(&["budget", "status", &id]).await;
    let row = &status["campaigns"][0];
    assert_eq!(row["ledger_budget"], "50.000000", "{status}");
    assert_eq!(row["redis_open_leases"], 1);
    assert_eq!(row["in_sync"], true);
    let clean = platform.adctl(&["budget", "reconcile"], None).await;
    assert_eq!(clean.code, 0, "{clean:?}");

    // Redis drifts by 1.50
    let mut redis = redis::Client::open(test_support::redis_url())
        .expect("redis")
        .get_multiplexed_async_connection()
        .await
        .expect("connect");
    let key = format!("{{c:{id}}}");
    let remaining: i64 = redis.hget(&key, "remaining").await.expect("remaining");
    let _: () = redis
        .hset(&key, "remaining", remaining + 1_500_000)
        .await
        .expect("tamper");
    let table = platform.adctl(&["budget", "status", &id], None).await;
    assert_eq!(table.code, 0);
    assert!(table.stdout.contains("1.500000"), "the drift: {table:?}");
    let found = platform.adctl(&["budget", "reconcile"], None).await;
    assert_eq!(found.code, 1, "{found:?}");
    assert!(
        found.stderr.contains("1 campaign(s) out of line")
            && found.stderr.contains("budget reconcile --repair"),
        "{found:?}"
    );
    let unconfirmed = platform
        .adctl(&["budget", "reconcile", "--repair"], None)
        .await;
    assert_eq!(
        unconfirmed.code, 2,
        "off a terminal without --yes: {unconfirmed:?}"
    );
    let repaired = platform
        .json(&["budget", "reconcile", "--repair", "--yes"])
        .await;
    let mine = repaired["campaigns"]
        .as_array()
        .expect("campaigns")
        .iter()
        .find(|c| c["campaign_id"] == json!(id))
        .cloned()
        .expect("compared");
    assert_eq!(mine["repaired"], true);
    let back: i64 = redis.hget(&key, "remaining").await.expect("remaining");
    assert_eq!(back, remaining);

    // an ad billed, another refunded as invalid traffic
    let ledger = Ledger::new(pool.clone());
    let usd = Currency::parse("USD").expect("usd");
    let ids = (
        AdvertiserId(uuid::Uuid::parse_str(&advertiser).expect("uuid")),
        campaign,
    );
    ledger::fixtures::bill_ad(&ledger, ids, usd, "0.40", "ad:1", None).await;
    ledger::fixtures::bill_ad(
        &ledger,
        ids,
        usd,
        "0.10",
        "ad:2",
        Some("invalid_traffic:burst"),
    )
    .await;
    let pacing = platform.json(&["pacing", "show", &id]).await;
    assert_eq!(pacing["spent"], "0.400000", "{pacing}");
    assert_eq!(pacing["day_budget"], "50.000000");
    let hours = pacing["hours"].as_array().expect("hours");
    assert!((23..=25).contains(&hours.len()));
    let shown = platform.adctl(&["pacing", "show", &id], None).await;
    assert_eq!(shown.code, 0, "{shown:?}");
    assert!(
        shown
            .stdout
            .contains("spent 0.400000 of a day's 50.000000 USD")
            && shown.stdout.contains("\nspend   ")
            && shown.stdout.contains("\ntarget  "),
        "{shown:?}"
    );
    let refunds = platform
        .json(&["fraud", "refunds", "--campaign", &id])
        .await;
    assert_eq!(refunds.as_array().map(Vec::len), Some(1), "{refunds}");
    assert_eq!(refunds[0]["reason"], "invalid_traffic:burst");
    assert_eq!(refunds[0]["amount"], "0.100000");
    assert_eq!(refunds[0]["event_id"], "ad:2");
    let csv = platform
        .adctl(&["fraud", "refunds", "-o", "csv"], None)
        .await;
    assert!(
        csv.stdout
            .starts_with("POSTED,AMOUNT,CURRENCY,CAMPAIGN,EVENT,REASON\n")
            && csv.stdout.contains(",0.100000,USD,"),
        "{csv:?}"
    );
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn supply_partners_are_added_changed_disabled_and_rekeyed_from_adctl(pool: PgPool) {
    let platform = Platform::start(pool.clone()).await;
    platform.login().await;
    let created = platform
        .json(&[
            "partners",
            "create",
            "North Exchange",
            "--max-cpm",
            "4.50",
            "--burl-network",
            "198.51.100.0/24",
        ])
        .await;
    let id = created["partner"]["id"].as_str().expect("id").to_owned();
    let credential = created["credential"]
        .as_str()
        .expect("credential")
        .to_owned();
    assert!(credential.starts_with("sp_"), "{created}");
    assert_eq!(created["partner"]["max_cpm"], "4.500000");
    assert_eq!(created["partner"]["currency"], "USD");
    // the credential is kept only as a hash
    let stored: Vec<u8> = sqlx::query_scalar("select key_hash from supply_partners where id = $1")
        .bind(uuid::Uuid::parse_str(&id).expect("uuid"))
        .fetch_one(&pool)
        .await
        .expect("hash");
    assert_eq!(stored, partners::credential::hash(&credential));

    // an update keeps what it does not name
    let updated = platform
        .json(&["partners", "update", &id, "--no-max-cpm"])
        .await;
    assert_eq!(updated["max_cpm"], Value::Null);
    assert_eq!(updated["burl_networks"], json!(["198.51.100.0/24"]));

    let disabled = platform
        .adctl(&["partners", "disable", &id, "--yes"], None)
        .await;
    assert_eq!(disabled.code, 0, "{disabled:?}");
    let listed = platform.json(&["partners", "list"]).await;
    assert_eq!(listed[0]["status"], "disabled");

    let rotated = platform
        .json(&["partners", "rotate-credential", &id, "--yes"])
        .await;
    let new_credential = rotated["credential"].as_str().expect("credential");
    assert_ne!(new_credential, credential);

    // bad input is named, and nothing is written
    let bad = platform
        .adctl(
            &[
                "partners",
                "create",
                "Bad",
                "--currency",
                "dollars",
                "--burl-network",
                "lb",
            ],
            None,
        )
        .await;
    assert_eq!(bad.code, 1, "{bad:?}");
    assert!(
        bad.stderr.contains("currency") && bad.stderr.contains("burl_networks[0]"),
        "{bad:?}"
    );
    let taken = platform
        .adctl(&["partners", "create", "North Exchange"], None)
        .await;
    assert_eq!(taken.code, 1, "{taken:?}");
    let count: i64 = sqlx::query_scalar("select count(*) from supply_partners")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(count, 1);
}
