//! `/campaigns/new` and `/campaigns/{id}/edit`: every setting the API takes, in one plain form
//! (it works without JavaScript). What the API refuses comes back beside its field, listed in a
//! summary at the top as well; with JavaScript, a creative's preview follows its markup as it is
//! typed.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::campaign_form::{CampaignForm, creative_field, input_id};
use crate::data::campaigns::{FormPage, campaign_form_page};
use crate::pages::csrf_field::CsrfField;
use crate::pages::form_fields::{Kind, field};
use crate::pages::layout::SignedInHeader;
use crate::pages::not_found::NotFound;

const BID_KINDS: &[(&str, &str)] = &[
    ("cpm", "Per thousand impressions (CPM)"),
    ("cpc", "Per click (CPC)"),
];
const PACING: &[(&str, &str)] = &[
    ("even", "Evenly, along the day's traffic"),
    ("accelerated", "As fast as traffic allows"),
];
const DEVICES: &[(&str, &str)] = &[
    ("mobile", "Mobile"),
    ("desktop", "Desktop"),
    ("tablet", "Tablet"),
    ("ctv", "Connected TV"),
];
const FORMATS: &[(&str, &str)] = &[
    ("banner", "Banner"),
    ("video", "Video"),
    ("native", "Native"),
];

/// The form's page: a new campaign without an `id`, else that campaign's settings.
#[component]
pub fn CampaignFormPage() -> impl IntoView {
    let params = use_params_map();
    let page = Resource::new(move || params.read().get("id"), campaign_form_page);
    view! {
        <Suspense fallback=|| view! { <p>"Loading the form..."</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(Some(page)) => view! { <SignedInHeader/> {form_view(page)} }.into_any(),
                    Ok(None) => view! { <NotFound/> }.into_any(),
                    Err(e) => view! { <main><p role="alert">{e.to_string()}</p></main> }.into_any(),
                }
            })}
        </Suspense>
    }
}

fn form_view(page: FormPage) -> impl IntoView {
    let form = page.form;
    let (title, action, save, back) = match &page.editing {
        Some(c) => (
            format!("Edit {}", c.spec.name),
            format!("/campaigns/{}/edit", c.id.0),
            "Save the changes",
            format!("/campaigns/{}", c.id.0),
        ),
        None => (
            "New campaign".to_owned(),
            "/campaigns/new".to_owned(),
            "Create the campaign",
            "/campaigns".to_owned(),
        ),
    };
    let currency = page.editing.as_ref().map_or_else(
        || "your account's currency".to_owned(),
        |c| c.currency.to_string(),
    );
    let f = |name: &str, label: &'static str, hint: Option<&'static str>, kind: Kind| {
        field(&form, name, label, hint, kind)
    };
    view! {
        <main id="campaign-form">
            <p><a href=back>"Back"</a></p>
            <h1>{title}</h1>
            {summary(&form)}
            <form method="post" action=action class="campaign-form">
                <CsrfField/>
                <input type="hidden" name="idempotency_key" value=form.idempotency_key.clone()/>
                <input type="hidden" name="advertiser_id" value=page.advertiser_id.clone()/>
                {f("name", "Name", None, Kind::Text("text"))}
                <fieldset>
                    <legend>"When it runs"</legend>
                    {f("schedule.time_zone", "Time zone", Some("An IANA name such as Europe/Paris; days, hours and daily budgets follow it."), Kind::Text("text"))}
                    {f("schedule.start", "Starts", Some("In the campaign's time zone."), Kind::DateTime)}
                    {f("schedule.end", "Ends", Some("Leave empty to run until stopped."), Kind::DateTime)}
                    {f("schedule.day_parting", "Hours it serves", Some("One line a part: days then hours, such as \"mon-fri 9-17\". Empty: every hour."), Kind::Lines)}
                </fieldset>
                <fieldset>
                    <legend>{format!("Budget and bid, in {currency}")}</legend>
                    {f("budget.daily", "Daily budget", Some("At least one of the two budgets."), Kind::Text("decimal"))}
                    {f("budget.lifetime", "Lifetime budget", None, Kind::Text("decimal"))}
                    {f("bid.kind", "Pays", None, Kind::Choice(BID_KINDS))}
                    {f("bid.amount", "Bid", Some("Per thousand impressions (CPM) or per click (CPC)."), Kind::Text("decimal"))}
                    {f("pacing", "Spends its daily budget", None, Kind::Choice(PACING))}
                </fieldset>
                <fieldset>
                    <legend>"Who sees it"</legend>
                    <p class="hint">"Lists are comma-separated; an empty one does not restrict."</p>
                    {f("targeting.countries", "Countries", Some("Two-letter codes such as FR, DE."), Kind::Text("text"))}
                    {f("targeting.regions", "Regions", Some("Codes such as FR-IDF."), Kind::Text("text"))}
                    {f("targeting.device_types", "Devices", None, Kind::Checks(DEVICES))}
                    {f("targeting.os", "Operating systems", Some("Such as ios, android."), Kind::Text("text"))}
                    {f("targeting.categories", "Content categories", Some("IAB codes such as IAB1, IAB1-2."), Kind::Text("text"))}
                    {f("targeting.placements", "Placements", Some("Site, app or placement ids."), Kind::Text("text"))}
                    {f("targeting.sizes", "Sizes", Some("Such as 300x250, 728x90."), Kind::Text("text"))}
                    {f("targeting.segments", "Audience segments", None, Kind::Text("text"))}
                    {f("targeting.deals", "Deals", Some("With deals, the campaign buys only through them."), Kind::Text("text"))}
                </fieldset>
                <fieldset>
                    <legend>"Frequency cap"</legend>
                    <p class="hint">"At most this many impressions per person in each period; leave empty for no cap."</p>
                    {f("frequency_cap.count", "Impressions", None, Kind::Text("numeric"))}
                    {f("frequency_cap.period_s", "Period, in seconds", Some("3600 an hour, 86400 a day, 604800 a week."), Kind::Text("numeric"))}
                </fieldset>
                {(0..form.creative_rows).map(|row| creative(&form, row)).collect_view()}
                <div class="actions">
                    <button type="submit" name="add_creative" value="1" class="secondary">
                        "Add another creative"
                    </button>
                    <button type="submit">{save}</button>
                </div>
            </form>
        </main>
    }
}

/// The summary of what is wrong, each entry a link to its field.
fn summary(form: &CampaignForm) -> Option<impl IntoView + use<>> {
    if form.problems.is_empty() && form.notice.is_none() {
        return None;
    }
    let entries: Vec<(Option<String>, String)> = form
        .problems
        .iter()
        .map(|p| {
            (
                form.field_of(p).map(|f| format!("#{}", input_id(&f))),
                format!("{}: {}", p.field, p.message),
            )
        })
        .collect();
    Some(view! {
        <div class="problem-summary" role="alert">
            <h2>"The campaign was not saved"</h2>
            {form.notice.clone().map(|n| view! { <p>{n}</p> })}
            <ul>
                {entries
                    .into_iter()
                    .map(|(href, text)| match href {
                        Some(href) => view! { <li><a href=href>{text}</a></li> }.into_any(),
                        None => view! { <li>{text}</li> }.into_any(),
                    })
                    .collect_view()}
            </ul>
        </div>
    })
}

/// Creative `row`'s fields and a preview of its markup (a sandboxed frame: no scripts, no
/// access to the console).
fn creative(form: &CampaignForm, row: usize) -> impl IntoView + use<> {
    let name = |f: &str| creative_field(row, f);
    let markup_name = name("markup");
    let markup = RwSignal::new(form.value(&markup_name));
    let markup_id = input_id(&markup_name);
    let markup_problems = form.problems_of(&markup_name).join("; ");
    let id = form.value(&name("id"));
    let legend = if id.is_empty() {
        format!("Creative {}", row + 1)
    } else {
        format!("Creative {} ({id})", row + 1)
    };
    let size = |f: &str| {
        form.value(&name(f))
            .parse::<u32>()
            .map_or(250, |n| n.clamp(1, 970))
    };
    let (w, h) = (size("w"), size("h"));
    let existing = !id.is_empty();
    let remove_id = input_id(&name("remove"));
    let f = |field_name: &str, label: &'static str, hint: Option<&'static str>, kind: Kind| {
        field(form, &name(field_name), label, hint, kind)
    };
    view! {
        <fieldset class="creative">
            <legend>{legend}</legend>
            {f("id", "Id", Some("Unique within the campaign."), Kind::Text("text"))}
            {f("format", "Format", None, Kind::Choice(FORMATS))}
            {f("w", "Width, pixels", None, Kind::Text("numeric"))}
            {f("h", "Height, pixels", None, Kind::Text("numeric"))}
            {f("click_url", "Click URL", Some("Where a click goes: an https URL."), Kind::Text("url"))}
            {f("adomain", "Advertiser's domain", Some("Such as example.com."), Kind::Text("text"))}
            <div class=if markup_problems.is_empty() { "field" } else { "field has-problem" }>
                <label for=markup_id.clone()>"Markup"</label>
                <p class="hint" id=format!("{markup_id}-hint")>"HTML, VAST or native JSON; or else an asset URL."</p>
                {(!markup_problems.is_empty()).then(|| view! {
                    <p class="problem">{markup_problems.clone()}</p>
                })}
                <textarea
                    id=markup_id.clone()
                    name=markup_name
                    rows="4"
                    aria-describedby=format!("{markup_id}-hint")
                    on:input:target=move |ev| markup.set(ev.target().value())
                >
                    {markup.get_untracked()}
                </textarea>
            </div>
            {f("asset_url", "Asset URL", Some("An https URL, or else markup."), Kind::Text("url"))}
            {f("weight", "Weight", Some("Its share among the creatives, 1 to 1000."), Kind::Text("numeric"))}
            {f("categories", "Its categories", Some("IAB codes of the ad itself."), Kind::Text("text"))}
            <div class="preview">
                <p>"Preview"</p>
                <iframe
                    sandbox=""
                    title=format!("Preview of creative {}", row + 1)
                    width=w.to_string()
                    height=h.to_string()
                    srcdoc=move || markup.get()
                ></iframe>
            </div>
            {existing.then(|| view! {
                <p class="check">
                    <input type="checkbox" id=remove_id.clone() name=name("remove") value="1"/>
                    <label for=remove_id>"Remove this creative"</label>
                </p>
            })}
        </fieldset>
    }
}
