//! The campaign forms as a browser without JavaScript posts them: a new campaign refused field by
//! field then created (once, however often posted), an edit, the status actions with the
//! shortfall of funds, and another advertiser's campaign out of reach.

use serde_json::json;
use sqlx::PgPool;

use crate::MIGRATOR;
use crate::helpers::{Console, csrf_input, hidden};

/// A new campaign's form as filled in, with `changes` over it.
fn filled<'a>(
    (csrf, key, advertiser): (&'a str, &'a str, &'a str),
    changes: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![
        ("csrf", csrf),
        ("idempotency_key", key),
        ("advertiser_id", advertiser),
        ("name", "Spring shoes"),
        ("schedule.time_zone", "Europe/Paris"),
        ("schedule.start", "2027-01-05T09:00"),
        ("schedule.end", ""),
        ("schedule.day_parting", "mon-fri 8-20"),
        ("budget.daily", "12.345678"),
        ("budget.lifetime", ""),
        ("bid.kind", "cpc"),
        ("bid.amount", "0.40"),
        ("pacing", "even"),
        ("targeting.countries", "FR, BE"),
        ("targeting.device_types", "mobile"),
        ("targeting.device_types", "tablet"),
        ("frequency_cap.count", "4"),
        ("frequency_cap.period_s", "86400"),
        ("creatives[0].id", "shoes-300x250"),
        ("creatives[0].format", "banner"),
        ("creatives[0].w", "300"),
        ("creatives[0].h", "250"),
        ("creatives[0].click_url", "https://shoes.example/spring"),
        ("creatives[0].markup", "<p>Spring shoes</p>"),
        ("creatives[0].asset_url", ""),
        ("creatives[0].adomain", "shoes.example"),
        ("creatives[0].weight", "1"),
        ("creatives[0].categories", ""),
    ];
    for (name, value) in changes {
        form.retain(|(n, _)| n != name);
        form.push((name, value));
    }
    form
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_new_campaign_is_refused_beside_its_fields_then_created_once(pool: PgPool) {
    let console = Console::start(pool).await;
    let ana = console.advertiser("ana", "Winter boots").await;
    let (cookies, csrf) = console.signed_in("ana").await;

    let page = console.get("/campaigns/new", &cookies).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("html");
    for name in [
        "name",
        "budget.daily",
        "schedule.time_zone",
        "creatives[0].markup",
    ] {
        assert!(
            html.contains(&format!("name=\"{name}\"")),
            "{name} in {html}"
        );
    }
    assert!(
        html.contains("<label for=\"f-budget-daily\">"),
        "labelled fields"
    );
    let key = hidden(&html, "idempotency_key");
    assert!(key.len() >= 20, "a random key: {key}");
    assert_eq!(
        hidden(&html, "advertiser_id"),
        ana,
        "the form says whose it is"
    );
    let sent = (csrf.as_str(), key.as_str(), ana.as_str());
    assert_eq!(csrf_input(&html).as_deref(), Some(csrf.as_str()));

    // a field the console cannot read: the form comes back, the problem beside it, nothing sent
    let form = filled(sent, &[("creatives[0].h", "tall")]);
    let refused = console.post_form("/campaigns/new", &cookies, &form).await;
    assert_eq!(refused.status(), 422);
    let html = refused.text().await.expect("html");
    assert!(
        html.contains("id=\"f-creatives-0--h-problem\"") && html.contains("a whole number"),
        "{html}"
    );
    assert!(
        html.contains("aria-invalid=\"true\""),
        "the field is marked invalid"
    );
    assert!(
        html.contains("value=\"Spring shoes\""),
        "what was typed stays"
    );

    // a field the API refuses: beside it too, and in the summary with a link to it
    let form = filled(sent, &[("budget.daily", "0")]);
    let refused = console.post_form("/campaigns/new", &cookies, &form).await;
    assert_eq!(refused.status(), 422);
    let html = refused.text().await.expect("html");
    assert!(
        html.contains("id=\"f-budget-daily-problem\"")
            && html.contains("must be greater than zero"),
        "{html}"
    );
    assert!(
        html.contains("href=\"#f-budget-daily\""),
        "the summary links to it"
    );
    assert!(
        html.contains("&lt;p&gt;Spring shoes&lt;/p&gt;"),
        "markup kept, escaped"
    );

    // fixed: created, and the campaign's page says so
    let form = filled(sent, &[]);
    let created = console.post_form("/campaigns/new", &cookies, &form).await;
    assert_eq!(created.status(), 303);
    let location = created.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    let id = location
        .strip_prefix("/campaigns/")
        .and_then(|rest| rest.strip_suffix("?done=saved"))
        .expect("to the campaign's page")
        .to_owned();
    let shown = console.get(&location, &cookies).await;
    assert_eq!(shown.status(), 200);
    let html = shown.text().await.expect("html");
    assert!(
        html.contains("The campaign is saved.") && html.contains("Spring shoes"),
        "{html}"
    );

    // posted again (a double click, a retry): the same campaign, not a second
    let again = console.post_form("/campaigns/new", &cookies, &form).await;
    assert_eq!(again.headers()["location"], location.as_str());
    let list = console
        .api_get(&format!("/api/v1/campaigns?advertiser_id={ana}"))
        .await;
    assert_eq!(list["items"].as_array().expect("items").len(), 2);

    // what the API keeps is exactly what was typed, the start in Paris time
    let campaign = console.api_get(&format!("/api/v1/campaigns/{id}")).await;
    assert_eq!(campaign["schedule"]["start"], "2027-01-05T08:00:00Z");
    assert_eq!(campaign["schedule"]["end"], serde_json::Value::Null);
    assert_eq!(
        campaign["schedule"]["day_parting"],
        json!([{"days": ["mon", "tue", "wed", "thu", "fri"], "start_hour": 8, "end_hour": 20}])
    );
    assert_eq!(campaign["budget"]["daily"], "12.345678");
    assert_eq!(
        campaign["bid"],
        json!({"kind": "cpc", "amount": "0.400000"})
    );
    assert_eq!(campaign["targeting"]["countries"], json!(["FR", "BE"]));
    assert_eq!(
        campaign["targeting"]["device_types"],
        json!(["mobile", "tablet"])
    );
    assert_eq!(
        campaign["frequency_cap"],
        json!({"count": 4, "period_s": 86400})
    );
    assert_eq!(campaign["creatives"][0]["markup"], "<p>Spring shoes</p>");

    // a form shown for another advertiser than the one worked as now creates nothing
    let elsewhere = uuid::Uuid::now_v7().to_string();
    let form = filled((&csrf, &key, &elsewhere), &[("name", "Elsewhere")]);
    let switched = console.post_form("/campaigns/new", &cookies, &form).await;
    assert_eq!(switched.status(), 409);
    let html = switched.text().await.expect("html");
    assert!(
        html.contains("You switched to another advertiser"),
        "{html}"
    );
    assert!(html.contains("value=\"Elsewhere\""), "what was typed stays");

    // a row far past the most a form has is not read (nor drawn)
    let form = filled(
        sent,
        &[("creatives[99999999999].id", "far"), ("add_creative", "1")],
    );
    let capped = console.post_form("/campaigns/new", &cookies, &form).await;
    assert_eq!(capped.status(), 200);
    let html = capped.text().await.expect("html");
    assert!(!html.contains("value=\"far\"") && !html.contains("creatives[50]"));

    // "add another creative" shows the form again with a second, blank row
    let form = filled(sent, &[("add_creative", "1")]);
    let more = console.post_form("/campaigns/new", &cookies, &form).await;
    assert_eq!(more.status(), 200);
    let html = more.text().await.expect("html");
    assert!(
        html.contains("name=\"creatives[1].id\"") && html.contains("value=\"shoes-300x250\""),
        "{html}"
    );
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn status_actions_say_the_shortfall_and_edits_keep_the_settings(pool: PgPool) {
    let console = Console::start(pool).await;
    let ana = console.advertiser("ana", "Winter boots").await;
    let bob = console.advertiser("bob", "Bobs campaign").await;
    let campaign = console.first_campaign(&ana).await;
    let bobs = console.first_campaign(&bob).await;
    let (cookies, csrf) = console.signed_in("ana").await;
    let post_status = |id: &str, form: &[(&'static str, &str)]| {
        let path = format!("/campaigns/{id}/status");
        let form: Vec<(&str, String)> = form.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
        let (console, cookies) = (&console, cookies.clone());
        async move {
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            console.post_form(&path, &cookies, &form).await
        }
    };
    let status = |action: &'static str| {
        let post = post_status(&campaign, &[("csrf", &csrf), ("action", action)]);
        async move {
            let answer = post.await;
            assert_eq!(answer.status(), 303, "{action}");
            answer.headers()["location"]
                .to_str()
                .expect("location")
                .to_owned()
        }
    };

    // the draft offers activation and archiving, each behind a confirmation
    let html = console
        .page(&format!("/campaigns/{campaign}"), &cookies)
        .await;
    assert!(html.contains("<details class=\"confirm\">"), "{html}");
    assert!(html.contains("value=\"activate\"") && html.contains("value=\"archive\""));
    assert!(
        !html.contains("value=\"pause\""),
        "a draft cannot be paused"
    );

    // no funds: activation (which holds the first day's budget) is refused, the page says by
    // how much
    let refused = status("activate").await;
    assert_eq!(
        refused,
        format!("/campaigns/{campaign}?shortfall=50.000000")
    );
    let html = console.page(&refused, &cookies).await;
    assert!(
        html.contains("your funds fall short by 50.000000 EUR"),
        "{html}"
    );
    // a crafted link cannot put words on the page
    let html = console
        .page(
            &format!("/campaigns/{campaign}?shortfall=call%20us&refused=be%20hacked"),
            &cookies,
        )
        .await;
    assert!(!html.contains("call us") && !html.contains("be hacked"));

    console
        .api_post(
            &format!("/api/v1/advertisers/{ana}/deposits"),
            json!({"amount": "2000.00"}),
        )
        .await;
    assert_eq!(
        status("activate").await,
        format!("/campaigns/{campaign}?done=activate")
    );
    let shown = console
        .api_get(&format!("/api/v1/campaigns/{campaign}"))
        .await;
    assert_eq!(shown["status"], "active");

    // the edit form shows the settings in the campaign's time zone; saved, it changes the name
    let edit = console
        .get(&format!("/campaigns/{campaign}/edit"), &cookies)
        .await;
    assert_eq!(edit.status(), 200);
    let html = edit.text().await.expect("html");
    assert!(
        html.contains("value=\"2026-12-01T00:00\"") && html.contains("value=\"America/New_York\""),
        "the start in New York time: {html}"
    );
    let form = [
        ("csrf", csrf.as_str()),
        ("name", "Winter boots, renamed"),
        ("schedule.time_zone", "America/New_York"),
        ("schedule.start", "2026-12-01T00:00"),
        ("schedule.end", "2026-12-31T23:59"),
        ("schedule.day_parting", "mon-fri 7-22"),
        ("budget.daily", "50"),
        ("budget.lifetime", "1500"),
        ("bid.kind", "cpm"),
        ("bid.amount", "2"),
        ("pacing", "even"),
        ("targeting.countries", "US, CA"),
        ("creatives[0].id", "boots-300x250"),
        ("creatives[0].format", "banner"),
        ("creatives[0].w", "300"),
        ("creatives[0].h", "250"),
        ("creatives[0].click_url", "https://acme.example/boots"),
        (
            "creatives[0].asset_url",
            "https://cdn.acme.example/boots-300x250.png",
        ),
        ("creatives[0].adomain", "acme.example"),
        ("creatives[1].id", ""),
    ];
    let saved = console
        .post_form(&format!("/campaigns/{campaign}/edit"), &cookies, &form)
        .await;
    assert_eq!(saved.status(), 303);
    let shown = console
        .api_get(&format!("/api/v1/campaigns/{campaign}"))
        .await;
    assert_eq!(shown["name"], "Winter boots, renamed");
    assert_eq!(shown["schedule"]["end"], "2027-01-01T04:59:00Z");
    assert_eq!(shown["frequency_cap"], serde_json::Value::Null, "cleared");
    assert_eq!(shown["targeting"]["device_types"], json!([]), "cleared");
    assert_eq!(shown["creatives"].as_array().expect("creatives").len(), 1);

    // pause, archive; then resuming is refused, said in the console's own words
    assert_eq!(
        status("pause").await,
        format!("/campaigns/{campaign}?done=pause")
    );
    assert_eq!(
        status("archive").await,
        format!("/campaigns/{campaign}?done=archive")
    );
    let refused = status("resume").await;
    assert_eq!(refused, format!("/campaigns/{campaign}?refused=resume"));
    let html = console.page(&refused, &cookies).await;
    assert!(html.contains("The campaign cannot resume in its present status."));
    assert!(
        !html.contains("Edit the settings"),
        "an archived campaign is not edited"
    );

    // another advertiser's campaign: the not-found page, and its forms reach nothing
    let theirs = console
        .get(&format!("/campaigns/{bobs}/edit"), &cookies)
        .await;
    assert_eq!(theirs.status(), 404);
    let posted = post_status(&bobs, &[("csrf", &csrf), ("action", "archive")]).await;
    assert_eq!(
        posted.headers()["location"],
        format!("/campaigns/{bobs}").as_str()
    );
    let bobs_now = console.api_get(&format!("/api/v1/campaigns/{bobs}")).await;
    assert_eq!(bobs_now["status"], "draft");

    // a form without its token, and an action that is not one, change nothing
    let forged = post_status(&campaign, &[("action", "archive")]).await;
    assert_eq!(forged.status(), 403);
    let unknown = post_status(&campaign, &[("csrf", &csrf), ("action", "delete")]).await;
    assert_eq!(unknown.status(), 400);
    let forged_edit = console
        .post_form(&format!("/campaigns/{campaign}/edit"), &cookies, &form[1..])
        .await;
    assert_eq!(forged_edit.status(), 403);
}
