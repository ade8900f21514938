//! The advertiser's journey in a real chromium, once with JavaScript (the hydrated console) and
//! once without (plain forms, signed in from the keyboard): sign in, a campaign refused for a bad
//! field then created, activation short of funds, a billing staff member's deposit, activation,
//! the list, a pause, another advertiser's campaign not found, sign out; the pages at a phone's
//! width. Every page is photographed and, with JavaScript, checked with axe-core.

use sqlx::PgPool;

use crate::MIGRATOR;
use crate::browser::{Browser, SCREENSHOTS};
use crate::helpers::{Console, PASSWORD, SITE_ROOT};

fn the_bundle_is_built() {
    let wasm = std::path::Path::new(SITE_ROOT).join("pkg/console_bg.wasm");
    assert!(
        wasm.exists(),
        "{} is missing: run scripts/build-console first (scripts/test does)",
        wasm.display()
    );
}

/// Signs the advertiser `username` in through the form.
async fn sign_in(browser: &mut Browser, username: &str) {
    sign_in_as(browser, username, "main#overview").await;
}

/// Signs `username` in through the form; `lands` is the page that follows.
async fn sign_in_as(browser: &mut Browser, username: &str, lands: &str) {
    browser.open("/sign-in").await;
    browser.shot("sign-in").await;
    browser.fill("username", username).await;
    browser.fill("password", PASSWORD).await;
    browser
        .submit("main#sign-in button[type=submit]", lands)
        .await;
}

/// Signs out with the header's button.
async fn sign_out(browser: &mut Browser) {
    browser
        .submit("header form button[type=submit]", "main#sign-in")
        .await;
}

/// Fills a new campaign's form: sound, but for a daily budget of `daily`.
async fn fill_new_campaign(browser: &Browser, daily: &str) {
    browser.fill("name", "Spring shoes").await;
    browser.fill("schedule.time_zone", "Europe/Paris").await;
    browser.fill("budget.daily", daily).await;
    browser.fill("bid.amount", "1.25").await;
    browser.fill("targeting.countries", "FR, BE").await;
    browser.fill("creatives[0].id", "shoes-300x250").await;
    browser.fill("creatives[0].w", "300").await;
    browser.fill("creatives[0].h", "250").await;
    browser
        .fill("creatives[0].click_url", "https://shoes.example/spring")
        .await;
    browser.fill("creatives[0].adomain", "shoes.example").await;
    browser
        .fill("creatives[0].markup", "<p>Spring shoes, half price</p>")
        .await;
}

/// The new campaign's journey up to its creation: a bad daily budget refused beside its field,
/// then fixed. Returns the campaign's id.
async fn create_a_campaign(browser: &mut Browser) -> String {
    browser.open("/campaigns/new").await;
    fill_new_campaign(browser, "0").await;
    browser.shot("new-campaign").await;
    browser
        .submit(
            "main#campaign-form button[type=submit]:not([name])",
            ".problem-summary",
        )
        .await;
    let beside = browser.text("#f-budget-daily-problem").await;
    assert!(beside.contains("must be greater than zero"), "{beside}");
    assert_eq!(
        browser
            .attribute("#f-budget-daily", "aria-invalid")
            .await
            .as_deref(),
        Some("true")
    );
    assert_eq!(
        browser
            .attribute("[name=\"name\"]", "value")
            .await
            .as_deref(),
        Some("Spring shoes"),
        "what was typed stays"
    );
    browser.shot("refused-beside-its-field").await;
    browser.fill("budget.daily", "20").await;
    browser
        .submit(
            "main#campaign-form button[type=submit]:not([name])",
            "main#campaign",
        )
        .await;
    assert!(
        browser
            .text("p.notice")
            .await
            .contains("The campaign is saved.")
    );
    browser.shot("created").await;
    let path = browser.path().await;
    path.strip_prefix("/campaigns/")
        .and_then(|rest| rest.split('?').next())
        .expect("the campaign's page")
        .to_owned()
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn an_advertisers_journey_in_chromium_with_javascript(pool: PgPool) {
    the_bundle_is_built();
    let console = Console::start(pool).await;
    console.advertiser("ana", "Winter boots").await;
    console.staff("bea", "billing").await;
    let bob = console.advertiser("bob", "Bobs campaign").await;
    let bobs = console.first_campaign(&bob).await;
    let mut browser = Browser::start(&console.url, "with-javascript", true).await;

    sign_in(&mut browser, "ana").await;
    browser.check_accessibility("the overview").await;
    browser.shot("overview").await;
    browser.open("/campaigns").await;
    browser.check_accessibility("the campaigns").await;
    browser.shot("campaigns").await;

    // hydrated: a creative's preview follows its markup as it is typed
    browser.open("/campaigns/new").await;
    browser.check_accessibility("a new campaign").await;
    browser
        .fill("creatives[0].markup", "<b>Live preview</b>")
        .await;
    assert_eq!(
        browser
            .attribute(".preview iframe", "srcdoc")
            .await
            .as_deref(),
        Some("<b>Live preview</b>"),
        "the preview follows the markup"
    );
    assert_eq!(
        browser
            .attribute(".preview iframe", "sandbox")
            .await
            .as_deref(),
        Some(""),
        "the preview runs no script"
    );

    let campaign = create_a_campaign(&mut browser).await;
    browser.check_accessibility("a campaign").await;

    // no funds: activation is refused, saying by how much
    browser.click("details.confirm:first-of-type summary").await;
    browser
        .submit(
            "details.confirm:first-of-type button[type=submit]",
            "p.problem-summary",
        )
        .await;
    let said = browser.text("p.problem-summary").await;
    assert!(
        said.contains("your funds fall short by 20.000000 EUR"),
        "{said}"
    );
    browser.shot("short-of-funds").await;

    // a billing staff member works as ana and records a deposit
    sign_out(&mut browser).await;
    sign_in_as(&mut browser, "bea", "main#advertisers").await;
    browser.check_accessibility("the advertisers").await;
    browser.shot("staff-chooses-an-advertiser").await;
    browser
        .submit("main#advertisers form button[type=submit]", "main#overview")
        .await;
    browser.open("/funds").await;
    browser.fill_at("#deposit-amount", "500").await;
    browser.fill_at("#deposit-note", "first payment").await;
    browser
        .submit(
            "form[action=\"/funds/deposit\"] button[type=submit]",
            "p.notice",
        )
        .await;
    assert!(
        browser
            .text("p.notice")
            .await
            .contains("The deposit is recorded.")
    );
    assert!(browser.text("table").await.contains("first payment"));
    browser.check_accessibility("the funds").await;
    browser.shot("staff-deposits").await;
    sign_out(&mut browser).await;

    // ana activates: the deposit covers the hold
    sign_in(&mut browser, "ana").await;
    browser.open(&format!("/campaigns/{campaign}")).await;
    browser.click("details.confirm:first-of-type summary").await;
    browser
        .submit(
            "details.confirm:first-of-type button[type=submit]",
            "p.notice",
        )
        .await;
    assert!(browser.text("p.notice").await.contains("activated"));
    browser.shot("activated").await;

    // in the list, active
    browser.open("/campaigns").await;
    let list = browser.text("table").await;
    assert!(
        list.lines()
            .any(|row| row.contains("Spring shoes") && row.contains("active")),
        "{list}"
    );
    browser.shot("in-the-list").await;

    // paused from its page
    browser.open(&format!("/campaigns/{campaign}")).await;
    browser.click("details.confirm summary").await;
    browser
        .submit("details.confirm button[type=submit]", "p.notice")
        .await;
    assert!(browser.text("p.notice").await.contains("paused"));
    browser.shot("paused").await;
    let shown = console
        .api_get(&format!("/api/v1/campaigns/{campaign}"))
        .await;
    assert_eq!(shown["status"], "paused");

    // another advertiser's campaign is the not-found page
    browser.open(&format!("/campaigns/{bobs}")).await;
    assert_eq!(browser.text("main#not-found h1").await, "Not found");
    browser.check_accessibility("not found").await;
    browser.shot("not-found").await;

    // the team and the activity pages
    for (path, name) in [
        ("/team", "team"),
        ("/activity", "activity"),
        ("/funds", "funds"),
    ] {
        browser.open(path).await;
        browser.check_accessibility(name).await;
        browser.shot(name).await;
    }

    // a phone's width: every page fits it (wide tables scroll in their own box)
    browser.resize(375, 800).await;
    for (path, name) in [
        ("/".to_owned(), "narrow-overview"),
        ("/campaigns".to_owned(), "narrow-campaigns"),
        (format!("/campaigns/{campaign}"), "narrow-campaign"),
        ("/campaigns/new".to_owned(), "narrow-new-campaign"),
        ("/funds".to_owned(), "narrow-funds"),
    ] {
        browser.open(&path).await;
        assert!(
            browser.fits_the_width().await,
            "{path} is wider than 375 px"
        );
        browser.shot(name).await;
    }
    browser.resize(1280, 1000).await;

    // signed out, and the pages are closed again
    browser.open("/campaigns").await;
    sign_out(&mut browser).await;
    assert!(browser.page_text().await.contains("You are signed out."));
    browser.check_accessibility("sign-in").await;
    browser.shot("signed-out").await;
    browser.open("/campaigns").await;
    assert_eq!(browser.path().await, "/sign-in");
    browser.close().await;
    eprintln!("screenshots: {SCREENSHOTS}/with-javascript");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_same_campaign_is_created_without_javascript(pool: PgPool) {
    the_bundle_is_built();
    let console = Console::start(pool).await;
    let ana = console.advertiser("ana", "Winter boots").await;
    let mut browser = Browser::start(&console.url, "without-javascript", false).await;

    // signed in from the keyboard alone: the username field first, Tab to the password, Enter
    browser.open("/sign-in").await;
    browser.click("#username").await;
    let (tab, enter) = (
        char::from(fantoccini::key::Key::Tab).to_string(),
        char::from(fantoccini::key::Key::Enter).to_string(),
    );
    browser.keys(&format!("ana{tab}{PASSWORD}"), None).await;
    browser.keys(&enter, Some("main#overview")).await;
    let campaign = create_a_campaign(&mut browser).await;
    let shown = console
        .api_get(&format!("/api/v1/campaigns/{campaign}"))
        .await;
    assert_eq!(shown["name"], "Spring shoes");
    assert_eq!(shown["budget"]["daily"], "20.000000");
    assert_eq!(shown["advertiser_id"], ana.as_str());
    assert_eq!(
        shown["creatives"][0]["markup"],
        "<p>Spring shoes, half price</p>"
    );
    browser.close().await;
    eprintln!("screenshots: {SCREENSHOTS}/without-javascript");
}
