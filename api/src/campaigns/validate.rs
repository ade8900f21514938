//! Checks a [`CampaignInput`] field by field: every invalid field gets its own message, named by
//! its JSON path, and a valid input becomes a [`CampaignSpec`].

use ledger::{Amount, MoneyError};
use rust_decimal::Decimal;

use crate::error::FieldError;
use domain::campaign::{
    Bid, BidKind, Budget, CampaignInput, CampaignSpec, Creative, Schedule, Targeting,
};

/// Longest list in targeting.
const MAX_LIST: usize = 1000;
/// Most creatives per campaign.
const MAX_CREATIVES: usize = 50;
/// Largest markup accepted.
const MAX_MARKUP_BYTES: usize = 64 * 1024;
/// Highest bid accepted, in the campaign's currency (CPM or CPC): anything above is a typo.
const MAX_BID: Decimal = Decimal::from_parts(1000, 0, 0, false, 0);
/// Lowest CPM bid: below 0.001 an impression costs less than a micro, rounds to nothing at
/// billing, and could never be served.
const MIN_CPM: Decimal = Decimal::from_parts(1, 0, 0, false, 3);

/// Checks `input`; every problem found is reported, not just the first.
pub fn validate(input: &CampaignInput) -> Result<CampaignSpec, Vec<FieldError>> {
    let mut errors = Vec::new();
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        errors.push(FieldError::new("name", "1 to 200 characters"));
    }
    check_schedule(&input.schedule, &mut errors);
    let daily = money("budget.daily", input.budget.daily.as_deref(), &mut errors);
    let lifetime = money(
        "budget.lifetime",
        input.budget.lifetime.as_deref(),
        &mut errors,
    );
    if input.budget.daily.is_none() && input.budget.lifetime.is_none() {
        errors.push(FieldError::new(
            "budget",
            "a daily or a lifetime budget (or both) is required",
        ));
    }
    if let (Some(d), Some(l)) = (daily, lifetime)
        && d > l
    {
        errors.push(FieldError::new(
            "budget.daily",
            "must not exceed the lifetime budget",
        ));
    }
    let bid = money("bid.amount", Some(&input.bid.amount), &mut errors);
    if let Some(b) = bid
        && b.as_decimal() > MAX_BID
    {
        errors.push(FieldError::new("bid.amount", format!("at most {MAX_BID}")));
    }
    if let Some(b) = bid
        && input.bid.kind == BidKind::Cpm
        && b.as_decimal() < MIN_CPM
    {
        errors.push(FieldError::new(
            "bid.amount",
            format!("a CPM bid is at least {MIN_CPM} (an impression must cost a micro)"),
        ));
    }
    check_targeting(&input.targeting, &mut errors);
    if let Some(cap) = input.frequency_cap {
        if cap.count == 0 || cap.count > 10_000 {
            errors.push(FieldError::new("frequency_cap.count", "1 to 10000"));
        }
        if !(60..=30 * 86_400).contains(&cap.period_s) {
            errors.push(FieldError::new("frequency_cap.period_s", "60 s to 30 days"));
        }
    }
    check_creatives(&input.creatives, &mut errors);
    match (errors.is_empty(), bid) {
        (true, Some(amount)) => Ok(CampaignSpec {
            name: name.to_owned(),
            schedule: input.schedule.clone(),
            budget: Budget { daily, lifetime },
            bid: Bid {
                kind: input.bid.kind,
                amount,
            },
            pacing: input.pacing,
            targeting: input.targeting.clone(),
            frequency_cap: input.frequency_cap,
            creatives: input.creatives.clone(),
        }),
        _ => Err(errors),
    }
}

fn money(field: &str, text: Option<&str>, errors: &mut Vec<FieldError>) -> Option<Amount> {
    let text = text?;
    match Amount::parse(text) {
        Ok(amount) => Some(amount),
        Err(MoneyError::Zero | MoneyError::Negative(_)) => {
            errors.push(FieldError::new(field, "must be greater than zero"));
            None
        }
        Err(e) => {
            errors.push(FieldError::new(field, e.to_string()));
            None
        }
    }
}

fn check_schedule(schedule: &Schedule, errors: &mut Vec<FieldError>) {
    if schedule.time_zone.parse::<chrono_tz::Tz>().is_err() {
        errors.push(FieldError::new(
            "schedule.time_zone",
            "an IANA time zone such as Europe/Paris",
        ));
    }
    if let Some(end) = schedule.end
        && end <= schedule.start
    {
        errors.push(FieldError::new("schedule.end", "must be after the start"));
    }
    for (i, part) in schedule.day_parting.iter().enumerate() {
        let at = format!("schedule.day_parting[{i}]");
        if part.days.is_empty() {
            errors.push(FieldError::new(format!("{at}.days"), "at least one day"));
        }
        if part.start_hour > 23 {
            errors.push(FieldError::new(format!("{at}.start_hour"), "0 to 23"));
        }
        if part.end_hour == 0 || part.end_hour > 24 || part.end_hour <= part.start_hour {
            errors.push(FieldError::new(
                format!("{at}.end_hour"),
                "1 to 24, after start_hour",
            ));
        }
    }
}

fn check_list<T>(
    field: &str,
    items: &[T],
    ok: impl Fn(&T) -> bool,
    shape: &str,
    errors: &mut Vec<FieldError>,
) {
    if items.len() > MAX_LIST {
        errors.push(FieldError::new(
            field,
            format!("at most {MAX_LIST} entries"),
        ));
    }
    if let Some(i) = items.iter().position(|item| !ok(item)) {
        errors.push(FieldError::new(format!("{field}[{i}]"), shape.to_owned()));
    }
}

fn upper(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_uppercase())
}

fn token(s: &str) -> bool {
    !s.is_empty() && s.len() <= 100 && s.bytes().all(|b| b.is_ascii_graphic())
}

fn check_targeting(t: &Targeting, errors: &mut Vec<FieldError>) {
    check_list(
        "targeting.countries",
        &t.countries,
        |c| upper(c, 2),
        "an ISO 3166-1 alpha-2 code such as FR",
        errors,
    );
    check_list(
        "targeting.regions",
        &t.regions,
        |r| {
            r.split_once('-').is_some_and(|(c, sub)| {
                upper(c, 2)
                    && (1..=3).contains(&sub.len())
                    && sub
                        .bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
            })
        },
        "an ISO 3166-2 code such as FR-IDF",
        errors,
    );
    check_list(
        "targeting.device_types",
        &t.device_types,
        |_| true,
        "",
        errors,
    );
    check_list(
        "targeting.os",
        &t.os,
        |o| token(o) && o.bytes().all(|b| !b.is_ascii_uppercase()) && o.len() <= 32,
        "a lowercase operating system name such as ios",
        errors,
    );
    check_list(
        "targeting.categories",
        &t.categories,
        |c| is_iab_category(c),
        "an IAB category such as IAB1 or IAB1-2",
        errors,
    );
    check_list(
        "targeting.placements",
        &t.placements,
        |p| token(p),
        "1 to 100 visible characters",
        errors,
    );
    check_list(
        "targeting.sizes",
        &t.sizes,
        |s| (1..=4096).contains(&s.w) && (1..=4096).contains(&s.h),
        "width and height of 1 to 4096 pixels",
        errors,
    );
    check_list(
        "targeting.segments",
        &t.segments,
        |s| token(s),
        "1 to 100 visible characters",
        errors,
    );
    check_list(
        "targeting.deals",
        &t.deals,
        |d| token(d),
        "1 to 100 visible characters",
        errors,
    );
}

/// Whether `c` is an IAB content category (`IAB1`, `IAB1-2`).
fn is_iab_category(c: &str) -> bool {
    c.strip_prefix("IAB").is_some_and(|rest| {
        rest.split('-').count() <= 2
            && rest
                .split('-')
                .all(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()))
    })
}

/// Whether `url` is an absolute https URL with a host and nothing that breaks out of a tag.
pub fn is_https_url(url: &str) -> bool {
    url.strip_prefix("https://").is_some_and(|rest| {
        let host = rest.split(['/', '?', '#']).next().unwrap_or("");
        !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-.:".contains(&b))
            && url.len() <= 2048
            && url
                .bytes()
                .all(|b| b.is_ascii_graphic() && !b"\"'<>\\`".contains(&b))
    })
}

/// Whether `domain` looks like a domain name (`example.com`).
fn is_domain(domain: &str) -> bool {
    domain.len() <= 253
        && domain.contains('.')
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}

fn check_creatives(creatives: &[Creative], errors: &mut Vec<FieldError>) {
    if creatives.len() > MAX_CREATIVES {
        errors.push(FieldError::new(
            "creatives",
            format!("at most {MAX_CREATIVES}"),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for (i, c) in creatives.iter().enumerate() {
        let at = |field: &str| format!("creatives[{i}].{field}");
        if !token(&c.id) {
            errors.push(FieldError::new(at("id"), "1 to 100 visible characters"));
        } else if !seen.insert(c.id.as_str()) {
            errors.push(FieldError::new(at("id"), "another creative has this id"));
        }
        if !(1..=4096).contains(&c.w) {
            errors.push(FieldError::new(at("w"), "1 to 4096 pixels"));
        }
        if !(1..=4096).contains(&c.h) {
            errors.push(FieldError::new(at("h"), "1 to 4096 pixels"));
        }
        if !is_https_url(&c.click_url) {
            errors.push(FieldError::new(at("click_url"), "an https URL"));
        }
        match (&c.markup, &c.asset_url) {
            (Some(m), None) if m.is_empty() || m.len() > MAX_MARKUP_BYTES => errors.push(
                FieldError::new(at("markup"), format!("1 to {MAX_MARKUP_BYTES} bytes")),
            ),
            (None, Some(url)) if !is_https_url(url) => {
                errors.push(FieldError::new(at("asset_url"), "an https URL"));
            }
            (Some(_), None) | (None, Some(_)) => {}
            _ => errors.push(FieldError::new(
                at("markup"),
                "exactly one of markup and asset_url",
            )),
        }
        if !is_domain(&c.adomain) {
            errors.push(FieldError::new(
                at("adomain"),
                "a lowercase domain such as example.com",
            ));
        }
        if !(1..=1000).contains(&c.weight) {
            errors.push(FieldError::new(at("weight"), "1 to 1000"));
        }
        check_list(
            &at("categories"),
            &c.categories,
            |c| is_iab_category(c),
            "an IAB category such as IAB1 or IAB1-2",
            errors,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::campaign::*;

    pub(crate) fn sample() -> CampaignInput {
        serde_json::from_value(serde_json::json!({
            "name": "Spring sale",
            "schedule": {"start": "2026-03-01T00:00:00Z", "end": "2026-04-01T00:00:00Z",
                         "time_zone": "Europe/Paris",
                         "day_parting": [{"days": ["mon", "tue"], "start_hour": 8, "end_hour": 20}]},
            "budget": {"daily": "100", "lifetime": "1000.50"},
            "bid": {"kind": "cpm", "amount": "2.5"},
            "targeting": {"countries": ["FR"], "regions": ["FR-IDF"], "device_types": ["mobile"],
                          "os": ["ios"], "categories": ["IAB1-2"], "sizes": [{"w": 300, "h": 250}]},
            "frequency_cap": {"count": 3, "period_s": 86400},
            "creatives": [{"id": "c1", "format": "banner", "w": 300, "h": 250,
                           "click_url": "https://example.com/buy", "markup": "<b>Buy</b>",
                           "adomain": "example.com"}]
        }))
        .expect("sample input")
    }

    fn fields(input: &CampaignInput) -> Vec<String> {
        validate(input)
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.field)
            .collect()
    }

    #[test]
    fn a_sound_campaign_validates_and_round_trips() {
        let spec = validate(&sample()).expect("valid");
        assert_eq!(
            spec.budget.lifetime.map(|a| a.to_string()),
            Some("1000.500000".into())
        );
        assert_eq!(spec.creatives[0].weight, 1);
        assert_eq!(validate(&spec.to_input()), Ok(spec));
    }

    #[test]
    fn a_cpm_bid_below_a_thousandth_is_refused_a_cpc_one_is_not() {
        let mut input = sample();
        input.bid.amount = "0.000999".into();
        assert_eq!(fields(&input), ["bid.amount"]);
        input.bid.amount = "0.001".into();
        assert!(fields(&input).is_empty());
        input.bid.kind = BidKind::Cpc;
        input.bid.amount = "0.000999".into();
        assert!(fields(&input).is_empty());
    }

    #[test]
    fn every_invalid_field_gets_its_own_message() {
        let mut input = sample();
        input.name = " ".into();
        input.schedule.time_zone = "Mars/Olympus".into();
        input.schedule.end = Some(input.schedule.start);
        input.budget = BudgetInput {
            daily: Some("2000".into()),
            lifetime: Some("1000".into()),
        };
        input.bid.amount = "1.0000001".into();
        input.targeting.countries = vec!["France".into()];
        input.frequency_cap = Some(FrequencyCap {
            count: 0,
            period_s: 1,
        });
        input.creatives[0].click_url = "http://example.com".into();
        input.creatives[0].asset_url = Some("https://cdn.example.com/a.png".into());
        input.creatives[0].adomain = "Example".into();
        assert_eq!(
            fields(&input),
            [
                "name",
                "schedule.time_zone",
                "schedule.end",
                "budget.daily",
                "bid.amount",
                "targeting.countries[0]",
                "frequency_cap.count",
                "frequency_cap.period_s",
                "creatives[0].click_url",
                "creatives[0].markup",
                "creatives[0].adomain",
            ]
        );
    }

    #[test]
    fn budgets_need_one_amount_above_zero() {
        let mut input = sample();
        input.budget = BudgetInput::default();
        assert_eq!(fields(&input), ["budget"]);
        input.budget.daily = Some("0".into());
        assert_eq!(fields(&input), ["budget.daily"]);
        input.budget.daily = Some("abc".into());
        assert_eq!(fields(&input), ["budget.daily"]);
    }

    #[test]
    fn urls_must_be_plain_https() {
        assert!(is_https_url("https://example.com/x?y=1"));
        assert!(!is_https_url("https://"));
        assert!(!is_https_url("javascript:alert(1)"));
        assert!(!is_https_url("https://example.com/\"><script>"));
    }
}
