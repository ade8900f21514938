//! Staff in the console: they choose the advertiser they work as; billing records deposits and
//! credits (once per form, however often posted) and reads the statement, paged and as CSV; an
//! operator creates a campaign for the chosen advertiser; an advertiser's own person has none of
//! this.

use sqlx::PgPool;

use crate::MIGRATOR;
use crate::helpers::{Console, cookie_value, hidden, set_cookie};

#[sqlx::test(migrator = "MIGRATOR")]
async fn billing_works_as_an_advertiser_and_records_its_money(pool: PgPool) {
    let console = Console::start(pool).await;
    let ana = console.advertiser("ana", "Winter boots").await;
    console.staff("bea", "billing").await;

    // staff land on the advertisers, and work as the one they choose
    let (cookies, csrf, lands) = console.signed_in_landing("bea").await;
    assert_eq!(lands, "/advertisers");
    let before = console.get("/funds", &cookies).await;
    assert_eq!(before.headers()["location"], "/advertisers", "choose first");
    let list = console.page("/advertisers", &cookies).await;
    assert!(list.contains("Work as ana Ltd (EUR)"), "{list}");
    let chosen = console.work_as(&cookies, &csrf, &ana).await;
    assert_eq!(chosen.headers()["location"], "/");
    let acting = set_cookie(chosen.headers(), "adplat_advertiser").expect("the choice");
    assert!(acting.contains("HttpOnly") && acting.contains("SameSite=Strict"));
    let cookies = format!("{cookies}; adplat_advertiser={}", cookie_value(&acting));
    let campaigns = console.page("/campaigns", &cookies).await;
    assert!(
        campaigns.contains("Winter boots") && campaigns.contains("billing working as ana Ltd"),
        "{campaigns}"
    );

    // a deposit, recorded once however often the form is posted
    let funds = console.page("/funds", &cookies).await;
    assert!(funds.contains("Record a deposit"), "billing moves money");
    let key = hidden(&funds, "idempotency_key");
    assert_eq!(hidden(&funds, "advertiser_id"), ana);
    let deposit = [
        ("csrf", csrf.as_str()),
        ("advertiser_id", ana.as_str()),
        ("idempotency_key", key.as_str()),
        ("amount", "1500.25"),
        ("note", "=wire 42"),
    ];
    for _ in 0..2 {
        let posted = console
            .post_form("/funds/deposit", &cookies, &deposit)
            .await;
        assert_eq!(posted.headers()["location"], "/funds?done=deposit");
    }
    let bad = [
        ("csrf", csrf.as_str()),
        ("advertiser_id", ana.as_str()),
        ("idempotency_key", "other"),
        ("amount", "-3"),
        ("note", ""),
    ];
    let refused = console.post_form("/funds/credit", &cookies, &bad).await;
    assert_eq!(refused.headers()["location"], "/funds?refused=amount");
    // a form shown while working as another advertiser moves nothing here
    let mut elsewhere = deposit;
    let other = uuid::Uuid::now_v7().to_string();
    elsewhere[1] = ("advertiser_id", other.as_str());
    elsewhere[2] = ("idempotency_key", "another-key-0123456789");
    let switched = console
        .post_form("/funds/deposit", &cookies, &elsewhere)
        .await;
    assert_eq!(switched.headers()["location"], "/funds?refused=switched");
    let balance = console
        .api_get(&format!("/api/v1/advertisers/{ana}/balance"))
        .await;
    assert_eq!(balance["cash"], "1500.250000", "one deposit");

    let funds = console.page("/funds?done=deposit", &cookies).await;
    assert!(funds.contains("The deposit is recorded."), "{funds}");
    assert!(funds.contains("1,500.25 EUR"), "the cash, grouped: {funds}");
    assert!(funds.contains("=wire 42"), "the note on the statement");

    // the whole statement as CSV, the note defused for spreadsheets, amounts exact
    let csv = console.get("/funds/statement.csv", &cookies).await;
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = csv.text().await.expect("csv");
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("posted_at,kind,note,change,balance,currency,transfer_id")
    );
    let deposit_line = lines.next().expect("the deposit");
    assert!(
        deposit_line.contains(",deposit,'=wire 42,1500.250000,1500.250000,EUR,"),
        "{deposit_line}"
    );
    assert_eq!(lines.next(), None);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn an_operator_creates_for_the_chosen_advertiser_and_advertisers_have_no_staff_pages(
    pool: PgPool,
) {
    let console = Console::start(pool).await;
    let ana = console.advertiser("ana", "Winter boots").await;
    console.staff("olu", "operator").await;
    let (cookies, csrf) = console.signed_in("olu").await;
    let chosen = console.work_as(&cookies, &csrf, &ana).await;
    let acting = cookie_value(&set_cookie(chosen.headers(), "adplat_advertiser").expect("chosen"));
    let cookies = format!("{cookies}; adplat_advertiser={acting}");
    let form = console.page("/campaigns/new", &cookies).await;
    let key = hidden(&form, "idempotency_key");
    let created = console
        .post_form(
            "/campaigns/new",
            &cookies,
            &[
                ("csrf", &csrf),
                ("idempotency_key", &key),
                ("advertiser_id", &hidden(&form, "advertiser_id")),
                ("name", "Made by an operator"),
                ("schedule.time_zone", "UTC"),
                ("schedule.start", "2027-01-01T00:00"),
                ("budget.daily", "10"),
                ("bid.kind", "cpm"),
                ("bid.amount", "1"),
                ("pacing", "even"),
            ],
        )
        .await;
    assert_eq!(created.status(), 303, "{:?}", created.text().await);
    let list = console
        .api_get(&format!("/api/v1/campaigns?advertiser_id={ana}"))
        .await;
    assert!(
        list["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|c| c["name"] == "Made by an operator"),
        "{list}"
    );
    let funds = console.page("/funds", &cookies).await;
    assert!(
        !funds.contains("Record a deposit"),
        "operators do not move money"
    );

    // an advertiser's own person: no advertisers' page, no deposits, no other advertiser
    let (cookies, csrf) = console.signed_in("ana").await;
    assert_eq!(console.get("/advertisers", &cookies).await.status(), 404);
    let refused = console
        .post_form(
            "/funds/deposit",
            &cookies,
            &[
                ("csrf", &csrf),
                ("advertiser_id", &ana),
                ("idempotency_key", "k"),
                ("amount", "100"),
            ],
        )
        .await;
    assert_eq!(refused.headers()["location"], "/funds?refused=role");
    let bob = console.advertiser("bob", "Bobs campaign").await;
    let switched = console.work_as(&cookies, &csrf, &bob).await;
    assert_eq!(switched.headers()["location"], "/advertisers?refused=1");
    let with_cookie = format!("{cookies}; adplat_advertiser={bob}");
    let campaigns = console.page("/campaigns", &with_cookie).await;
    assert!(
        campaigns.contains("Winter boots") && !campaigns.contains("Bobs campaign"),
        "an advertiser's pages are its own, whatever its cookies say"
    );
}
