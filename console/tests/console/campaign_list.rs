//! The campaign list as a browser without JavaScript asks for it: a status filter, a search by
//! name, a sort and pages, all in the URL.

use serde_json::json;
use sqlx::PgPool;

use crate::MIGRATOR;
use crate::helpers::Console;

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_list_filters_searches_sorts_and_pages(pool: PgPool) {
    let console = Console::start(pool).await;
    let ana = console.advertiser("ana", "Winter boots").await;
    let mut settings = api::openapi::examples::all()
        .into_iter()
        .find(|(name, _)| *name == "NewCampaign")
        .map(|(_, example)| example)
        .expect("the NewCampaign example");
    settings["advertiser_id"] = json!(ana);
    for i in 0..60 {
        settings["name"] = json!(format!("Spring {i:02}"));
        console
            .api_post("/api/v1/campaigns", settings.clone())
            .await;
    }
    let first = console.first_campaign(&ana).await;
    console
        .api_post(&format!("/api/v1/campaigns/{first}/archive"), json!({}))
        .await;
    let (cookies, _) = console.signed_in("ana").await;

    let html = console.page("/campaigns", &cookies).await;
    assert!(html.contains("61 campaigns; page 1 of 2"), "{html}");
    assert!(html.contains("rel=\"next\""), "a next page");
    assert!(html.contains("<form method=\"get\" action=\"/campaigns\""));

    let page_two = console
        .page("/campaigns?sort=created&page=2", &cookies)
        .await;
    assert!(page_two.contains("page 2 of 2") && page_two.contains(">Spring 59</a>"));
    assert!(page_two.contains("rel=\"prev\"") && !page_two.contains("rel=\"next\""));

    let searched = console
        .page("/campaigns?q=spring+0&sort=name&status=draft", &cookies)
        .await;
    // every word matches: "spring" and "0" (00 to 09, 10, 20, 30, 40, 50)
    assert!(searched.contains("15 campaigns; page 1 of 1"), "{searched}");
    let first_row = searched.find(">Spring 00</a>").expect("Spring 00");
    let later_row = searched.find(">Spring 50</a>").expect("Spring 50");
    assert!(first_row < later_row, "sorted by name");
    assert!(!searched.contains(">Spring 11</a>"));
    assert!(
        searched.contains("<option value=\"draft\" selected"),
        "the form keeps the query"
    );

    let archived = console.page("/campaigns?status=archived", &cookies).await;
    assert!(archived.contains("1 campaigns") && archived.contains(">Winter boots</a>"));
    let none = console.page("/campaigns?q=autumn", &cookies).await;
    assert!(none.contains("No campaign matches."));
}
