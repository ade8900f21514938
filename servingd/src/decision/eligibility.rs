//! Whether a campaign may bid on a slot, pure: status is the index's business; this checks
//! schedule and day parting (in the campaign's time zone), targeting, the publisher's blocks,
//! deals and currency, and picks the creative. Each refusal is a named reason (counted in
//! metrics), not a bare `false`.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Timelike, Utc};

use crate::decision::campaign::{Creative, LiveCampaign};
use crate::decision::price::{convert_down, convert_up};
use crate::decision::request::{AdRequest, Media, Size, Slot};

/// Why a campaign does not bid on a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decline {
    NotStarted,
    Ended,
    OutsideDayParting,
    Country,
    Region,
    Device,
    Os,
    Category,
    Placement,
    Segment,
    /// No creative of a media kind and size the slot takes.
    Size,
    /// Every fitting creative is of a blocked category or advertiser domain.
    Blocked,
    /// The campaign buys through deals, and the slot offers none of them.
    Deal,
    /// Only deals may buy the slot, and the campaign has none of them.
    PrivateAuction,
    /// A frequency cap, and no user to count it by.
    NoUser,
    /// A currency without a configured rate.
    Currency,
}

impl Decline {
    /// Every reason, in declaration order (`reason as usize` indexes it).
    pub const ALL: [Decline; 16] = [
        Decline::NotStarted,
        Decline::Ended,
        Decline::OutsideDayParting,
        Decline::Country,
        Decline::Region,
        Decline::Device,
        Decline::Os,
        Decline::Category,
        Decline::Placement,
        Decline::Segment,
        Decline::Size,
        Decline::Blocked,
        Decline::Deal,
        Decline::PrivateAuction,
        Decline::NoUser,
        Decline::Currency,
    ];

    /// The metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Decline::NotStarted => "not_started",
            Decline::Ended => "ended",
            Decline::OutsideDayParting => "day_parting",
            Decline::Country => "country",
            Decline::Region => "region",
            Decline::Device => "device",
            Decline::Os => "os",
            Decline::Category => "category",
            Decline::Placement => "placement",
            Decline::Segment => "segment",
            Decline::Size => "size",
            Decline::Blocked => "blocked",
            Decline::Deal => "deal",
            Decline::PrivateAuction => "private_auction",
            Decline::NoUser => "no_user",
            Decline::Currency => "currency",
        }
    }
}

/// Exchange rates into the platform's currency, in micros of it per unit (`EUR → 1_080_000`
/// when the platform counts in USD and a euro is 1.08 dollars).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rates {
    platform: String,
    to_platform_micros: HashMap<String, i64>,
}

impl Default for Rates {
    /// US dollars and nothing else.
    fn default() -> Self {
        Rates::new("USD", [])
    }
}

impl Rates {
    /// Rates into `platform`; the platform's own currency is always 1.
    pub fn new(platform: &str, rates: impl IntoIterator<Item = (String, i64)>) -> Rates {
        let mut to_platform_micros: HashMap<String, i64> =
            rates.into_iter().filter(|(_, r)| *r > 0).collect();
        to_platform_micros.insert(platform.to_owned(), 1_000_000);
        Rates {
            platform: platform.to_owned(),
            to_platform_micros,
        }
    }

    /// The platform's currency.
    pub fn platform(&self) -> &str {
        &self.platform
    }

    /// A floor in the platform currency (rounded up).
    pub fn floor(&self, micros: i64, currency: &str) -> Option<i64> {
        if currency == self.platform {
            return Some(micros);
        }
        let rate = *self.to_platform_micros.get(currency)?;
        Some(convert_up(micros, rate))
    }

    /// A bid in the platform currency (rounded down).
    pub fn bid(&self, micros: i64, currency: &str) -> Option<i64> {
        if currency == self.platform {
            return Some(micros);
        }
        let rate = *self.to_platform_micros.get(currency)?;
        Some(convert_down(micros, rate))
    }

    /// A platform-currency price back in `currency` (rounded down: never more than agreed).
    pub fn back(&self, platform_micros: i64, currency: &str) -> Option<i64> {
        let rate = *self.to_platform_micros.get(currency)?;
        let m = i128::from(platform_micros) * 1_000_000 / i128::from(rate);
        i64::try_from(m).ok()
    }
}

/// A campaign that may bid on a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Eligible<'a> {
    /// Index of the creative to show in the campaign's.
    pub creative: usize,
    /// The floor that applies, in the platform currency.
    pub floor_micros: i64,
    /// The deal it buys through.
    pub deal: Option<&'a str>,
}

/// What a check reads of a campaign first, small enough to keep beside it in the index's lists:
/// its schedule, which of its rules are set, and its only creative's kind and size. A check
/// reads the campaign itself only for the rules set, so a campaign with few rules is checked
/// without fetching it from memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gate {
    start: DateTime<Utc>,
    end: Option<DateTime<Utc>>,
    rules: u16,
    /// The media and size of the campaign's creative, when it has exactly one.
    only_creative: Option<(Media, Size)>,
}

impl Gate {
    const DAY_PARTS: u16 = 1;
    const COUNTRIES: u16 = 1 << 1;
    const REGIONS: u16 = 1 << 2;
    const DEVICES: u16 = 1 << 3;
    const OS: u16 = 1 << 4;
    const CATEGORIES: u16 = 1 << 5;
    const PLACEMENTS: u16 = 1 << 6;
    const SEGMENTS: u16 = 1 << 7;
    const CAP: u16 = 1 << 8;
    const DEALS: u16 = 1 << 9;
    const SIZES: u16 = 1 << 10;

    /// The gate of `campaign`.
    pub fn of(campaign: &LiveCampaign) -> Gate {
        let c = campaign;
        let rules = [
            (Gate::DAY_PARTS, !c.day_parts.is_empty()),
            (Gate::COUNTRIES, !c.targeting.countries.is_empty()),
            (Gate::REGIONS, !c.targeting.regions.is_empty()),
            (Gate::DEVICES, !c.targeting.device_types.is_empty()),
            (Gate::OS, !c.targeting.os.is_empty()),
            (Gate::CATEGORIES, !c.targeting.categories.is_empty()),
            (Gate::PLACEMENTS, !c.targeting.placements.is_empty()),
            (Gate::SEGMENTS, !c.targeting.segments.is_empty()),
            (Gate::CAP, c.frequency_cap.is_some()),
            (Gate::DEALS, !c.targeting.deals.is_empty()),
            (Gate::SIZES, !c.targeting.sizes.is_empty()),
        ]
        .iter()
        .filter(|(_, set)| *set)
        .fold(0, |rules, (bit, _)| rules | bit);
        Gate {
            start: c.start,
            end: c.end,
            rules,
            only_creative: match c.creatives.as_slice() {
                [only] => Some((only.media, only.size)),
                _ => None,
            },
        }
    }

    fn has(&self, rule: u16) -> bool {
        self.rules & rule != 0
    }
}

/// Checks `campaign` against `slot` of `request` at `now`; `pick` (any random number) chooses
/// among the fitting creatives by weight. `seat` is this platform's buyer seat for deals.
pub fn check<'a>(
    campaign: &'a LiveCampaign,
    slot: &'a Slot<'a>,
    request: &AdRequest<'_>,
    now: DateTime<Utc>,
    rates: &Rates,
    seat: &str,
    pick: u64,
) -> Result<Eligible<'a>, Decline> {
    check_gated(
        &Gate::of(campaign),
        campaign,
        slot,
        request,
        now,
        rates,
        seat,
        pick,
    )
}

/// [`check`] with the campaign's [`Gate`] at hand: the campaign is read only for what the gate
/// says is set.
#[allow(clippy::too_many_arguments)]
pub fn check_gated<'a>(
    gate: &Gate,
    campaign: &'a LiveCampaign,
    slot: &'a Slot<'a>,
    request: &AdRequest<'_>,
    now: DateTime<Utc>,
    rates: &Rates,
    seat: &str,
    pick: u64,
) -> Result<Eligible<'a>, Decline> {
    if now < gate.start {
        return Err(Decline::NotStarted);
    }
    if gate.end.is_some_and(|end| now >= end) {
        return Err(Decline::Ended);
    }
    if gate.has(Gate::DAY_PARTS) {
        let local = now.with_timezone(&campaign.time_zone);
        let day = local.weekday().num_days_from_monday();
        let hour = local.hour();
        let open = campaign.day_parts.iter().any(|&(days, from, to)| {
            days & (1 << day) != 0 && u32::from(from) <= hour && hour < u32::from(to)
        });
        if !open {
            return Err(Decline::OutsideDayParting);
        }
    }
    let admits = |list: &[String], value: Option<&str>| {
        list.is_empty() || value.is_some_and(|v| list.iter().any(|x| x == v))
    };
    if gate.has(Gate::COUNTRIES) && !admits(&campaign.targeting.countries, request.country) {
        return Err(Decline::Country);
    }
    if gate.has(Gate::REGIONS) && !admits(&campaign.targeting.regions, request.region.as_deref()) {
        return Err(Decline::Region);
    }
    if gate.has(Gate::DEVICES)
        && !request
            .device
            .is_some_and(|d| campaign.targeting.device_types.contains(&d))
    {
        return Err(Decline::Device);
    }
    if gate.has(Gate::OS) && !admits(&campaign.targeting.os, request.os.as_deref()) {
        return Err(Decline::Os);
    }
    if gate.has(Gate::CATEGORIES)
        && !request.categories.iter().any(|c| {
            campaign
                .targeting
                .categories
                .iter()
                .any(|t| within_category(c, t))
        })
    {
        return Err(Decline::Category);
    }
    if gate.has(Gate::PLACEMENTS)
        && !request
            .placements
            .iter()
            .chain(slot.tag.as_ref())
            .any(|p| campaign.targeting.placements.iter().any(|x| x == p))
    {
        return Err(Decline::Placement);
    }
    if gate.has(Gate::SEGMENTS)
        && !request
            .segments
            .iter()
            .any(|s| campaign.targeting.segments.iter().any(|x| x == s))
    {
        return Err(Decline::Segment);
    }
    if gate.has(Gate::CAP) && request.user.is_none() {
        return Err(Decline::NoUser);
    }
    if !request.currencies.is_empty() && !request.currencies.iter().any(|c| c == rates.platform()) {
        return Err(Decline::Currency);
    }
    let (floor, floor_currency, deal) = if gate.has(Gate::DEALS) {
        deal_terms(campaign, slot, seat)?
    } else if slot.private_auction {
        return Err(Decline::PrivateAuction);
    } else {
        (slot.floor_micros, &*slot.floor_currency, None)
    };
    let floor_micros = rates
        .floor(floor, floor_currency)
        .ok_or(Decline::Currency)?;
    let has_blocks = !request.blocked_domains.is_empty() || !request.blocked_categories.is_empty();
    let creative = match gate.only_creative {
        // one creative, nothing that could block it, no size rule: it fits or nothing does
        Some((media, size)) if !has_blocks && !gate.has(Gate::SIZES) => {
            let fits = slot
                .media
                .iter()
                .any(|(m, sizes)| *m == media && (sizes.is_empty() || sizes.contains(&size)));
            if !fits {
                return Err(Decline::Size);
            }
            0
        }
        _ => pick_creative(campaign, slot, request, pick)?,
    };
    Ok(Eligible {
        creative,
        floor_micros,
        deal,
    })
}

/// The floor and deal under which a campaign that buys through deals buys the slot.
fn deal_terms<'a>(
    campaign: &LiveCampaign,
    slot: &'a Slot<'a>,
    seat: &str,
) -> Result<(i64, &'a str, Option<&'a str>), Decline> {
    let deal = slot
        .deals
        .iter()
        .find(|d| {
            campaign.targeting.deals.iter().any(|x| *x == d.id)
                && (d.seats.is_empty() || d.seats.iter().any(|s| s == seat))
        })
        .ok_or(Decline::Deal)?;
    Ok(match deal.floor_micros {
        Some(floor) => (floor, &*deal.floor_currency, Some(&*deal.id)),
        None => (slot.floor_micros, &*slot.floor_currency, Some(&*deal.id)),
    })
}

/// The creatives that fit the slot and are not blocked, one chosen by weight (its index).
fn pick_creative(
    campaign: &LiveCampaign,
    slot: &Slot<'_>,
    request: &AdRequest<'_>,
    pick: u64,
) -> Result<usize, Decline> {
    let fits = |c: &Creative| {
        (campaign.targeting.sizes.is_empty() || campaign.targeting.sizes.contains(&c.size))
            && slot
                .media
                .iter()
                .any(|(m, sizes)| *m == c.media && (sizes.is_empty() || sizes.contains(&c.size)))
    };
    let blocked = |c: &Creative| {
        request
            .blocked_domains
            .iter()
            .any(|d| c.adomain == *d || c.adomain.ends_with(&format!(".{d}")))
            || c.categories.iter().any(|cat| {
                request
                    .blocked_categories
                    .iter()
                    .any(|b| within_category(cat, b))
            })
    };
    let has_blocks = !request.blocked_domains.is_empty() || !request.blocked_categories.is_empty();
    let open = |c: &&Creative| fits(c) && !(has_blocks && blocked(c));
    let total: u64 = campaign
        .creatives
        .iter()
        .filter(open)
        .map(|c| u64::from(c.weight))
        .sum();
    if total == 0 {
        return Err(if campaign.creatives.iter().any(fits) {
            Decline::Blocked
        } else {
            Decline::Size
        });
    }
    let mut at = pick % total;
    for (i, creative) in campaign.creatives.iter().enumerate() {
        if !open(&creative) {
            continue;
        }
        let w = u64::from(creative.weight);
        if at < w {
            return Ok(i);
        }
        at -= w;
    }
    Err(Decline::Blocked)
}

/// Whether category `c` is `target` or one of its subcategories (`IAB1-2` is within `IAB1`).
fn within_category(c: &str, target: &str) -> bool {
    c == target
        || c.strip_prefix(target)
            .is_some_and(|rest| rest.starts_with('-'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::openrtb::parse;
    use domain::campaign::Campaign;
    use serde_json::{Value, json};

    fn campaign(patch: Value) -> LiveCampaign {
        let mut base = json!({
            "id": "0190f5d0-0000-7000-8000-000000000001",
            "advertiser_id": "0190f5d0-0000-7000-8000-0000000000aa",
            "status": "active", "currency": "USD", "revision": 1,
            "name": "c", "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
            "schedule": {"start": "2026-01-01T00:00:00Z", "time_zone": "Europe/Paris"},
            "budget": {"lifetime": "100"},
            "bid": {"kind": "cpm", "amount": "2.5"},
            "pacing": "even",
            "targeting": {},
            "frequency_cap": null,
            "creatives": [{"id": "c1", "format": "banner", "w": 300, "h": 250,
                           "click_url": "https://shop.example.com", "markup": "<b>Sale</b>",
                           "adomain": "shop.example.com", "categories": ["IAB8-5"]}]
        });
        merge(&mut base, patch);
        let feed: Campaign = serde_json::from_value(base).expect("feed campaign");
        LiveCampaign::compile(&feed).expect("compiles")
    }

    fn merge(base: &mut Value, patch: Value) {
        match (base, patch) {
            (Value::Object(b), Value::Object(p)) => {
                for (k, v) in p {
                    merge(b.entry(k).or_insert(Value::Null), v);
                }
            }
            (b, p) => *b = p,
        }
    }

    fn request(extra: &str) -> AdRequest<'static> {
        parse(
            format!(
                r#"{{"id": "r", "imp": [{{"id": "1", "bidfloor": 0.5, "banner": {{"w": 300, "h": 250}}}}]{extra}}}"#
            )
            .as_bytes(),
        )
        .expect("request")
        .into_owned()
    }

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().expect("time")
    }

    fn usd() -> Rates {
        Rates::new("USD", [("EUR".to_owned(), 1_080_000)])
    }

    fn decide(c: &LiveCampaign, r: &AdRequest<'_>) -> Result<i64, Decline> {
        check(
            c,
            &r.slots[0],
            r,
            at("2026-06-03T10:00:00Z"),
            &usd(),
            "adplat",
            0,
        )
        .map(|e| e.floor_micros)
    }

    #[test]
    fn reasons_index_their_list() {
        for (i, d) in Decline::ALL.iter().enumerate() {
            assert_eq!(*d as usize, i);
        }
    }

    #[test]
    fn an_untargeted_campaign_takes_a_fitting_slot_at_its_floor() {
        assert_eq!(decide(&campaign(json!({})), &request("")), Ok(500_000));
    }

    #[test]
    fn schedule_and_day_parting_follow_the_campaign_time_zone() {
        let c = campaign(json!({"schedule": {"end": "2026-06-03T10:00:00Z"}}));
        assert_eq!(decide(&c, &request("")), Err(Decline::Ended));
        let c = campaign(json!({"schedule": {"start": "2026-07-01T00:00:00Z"}}));
        assert_eq!(decide(&c, &request("")), Err(Decline::NotStarted));
        // 10:00 UTC on a Wednesday is 12:00 in Paris (summer time)
        let c = campaign(
            json!({"schedule": {"day_parting": [{"days": ["wed"], "start_hour": 12, "end_hour": 13}]}}),
        );
        assert_eq!(decide(&c, &request("")), Ok(500_000));
        let c = campaign(
            json!({"schedule": {"day_parting": [{"days": ["wed"], "start_hour": 10, "end_hour": 12}]}}),
        );
        assert_eq!(decide(&c, &request("")), Err(Decline::OutsideDayParting));
        let c = campaign(
            json!({"schedule": {"day_parting": [{"days": ["tue", "thu"], "start_hour": 0, "end_hour": 24}]}}),
        );
        assert_eq!(decide(&c, &request("")), Err(Decline::OutsideDayParting));
    }

    #[test]
    fn targeting_is_matched_field_by_field() {
        let geo = r#", "device": {"devicetype": 4, "os": "Android", "geo": {"country": "FRA", "region": "IDF"}},
                     "site": {"id": "s-9", "cat": ["IAB3-1"]}, "user": {"id": "u", "data": [{"segment": [{"id": "sports"}]}]}"#;
        let r = request(geo);
        let ok = |t: Value| decide(&campaign(json!({"targeting": t})), &r);
        assert_eq!(ok(json!({"countries": ["FR", "DE"]})), Ok(500_000));
        assert_eq!(ok(json!({"countries": ["DE"]})), Err(Decline::Country));
        assert_eq!(ok(json!({"regions": ["FR-IDF"]})), Ok(500_000));
        assert_eq!(ok(json!({"regions": ["FR-ARA"]})), Err(Decline::Region));
        assert_eq!(ok(json!({"device_types": ["mobile"]})), Ok(500_000));
        assert_eq!(ok(json!({"device_types": ["ctv"]})), Err(Decline::Device));
        assert_eq!(ok(json!({"os": ["android"]})), Ok(500_000));
        assert_eq!(ok(json!({"os": ["ios"]})), Err(Decline::Os));
        assert_eq!(ok(json!({"categories": ["IAB3"]})), Ok(500_000));
        assert_eq!(ok(json!({"categories": ["IAB31"]})), Err(Decline::Category));
        assert_eq!(ok(json!({"placements": ["s-9"]})), Ok(500_000));
        assert_eq!(ok(json!({"placements": ["s-1"]})), Err(Decline::Placement));
        assert_eq!(ok(json!({"segments": ["sports"]})), Ok(500_000));
        assert_eq!(ok(json!({"segments": ["travel"]})), Err(Decline::Segment));
        assert_eq!(
            ok(json!({"sizes": [{"w": 728, "h": 90}]})),
            Err(Decline::Size)
        );
        // nothing known of the request: targeted campaigns stay out
        assert_eq!(
            decide(
                &campaign(json!({"targeting": {"countries": ["FR"]}})),
                &request("")
            ),
            Err(Decline::Country)
        );
    }

    #[test]
    fn publisher_blocks_remove_creatives() {
        let c = campaign(json!({}));
        assert_eq!(
            decide(&c, &request(r#", "badv": ["example.com"]"#)),
            Err(Decline::Blocked)
        );
        assert_eq!(
            decide(&c, &request(r#", "badv": ["other.com"]"#)),
            Ok(500_000)
        );
        assert_eq!(
            decide(&c, &request(r#", "bcat": ["IAB8"]"#)),
            Err(Decline::Blocked)
        );
        assert_eq!(
            decide(&c, &request(r#", "bcat": ["IAB8-18"]"#)),
            Ok(500_000)
        );
    }

    #[test]
    fn deals_and_private_auctions() {
        let private = r#"{"id": "r", "imp": [{"id": "1", "bidfloor": 0.5, "banner": {"w": 300, "h": 250},
            "pmp": {"private_auction": 1, "deals": [{"id": "D1", "bidfloor": 3, "wseat": ["adplat"]},
                                                   {"id": "D2", "bidfloor": 4, "wseat": ["other"]}]}}]}"#;
        let r = parse(private.as_bytes()).expect("request");
        assert_eq!(
            decide(&campaign(json!({})), &r),
            Err(Decline::PrivateAuction)
        );
        assert_eq!(
            decide(&campaign(json!({"targeting": {"deals": ["D1"]}})), &r),
            Ok(3_000_000)
        );
        // our seat may not buy D2
        assert_eq!(
            decide(&campaign(json!({"targeting": {"deals": ["D2"]}})), &r),
            Err(Decline::Deal)
        );
        // a deal campaign does not buy in the open auction
        assert_eq!(
            decide(
                &campaign(json!({"targeting": {"deals": ["D1"]}})),
                &request("")
            ),
            Err(Decline::Deal)
        );
    }

    #[test]
    fn currencies_convert_or_decline() {
        let c = campaign(json!({}));
        let eur = request("").slots[0].clone();
        let mut r = request("");
        r.slots[0] = Slot {
            floor_currency: "EUR".into(),
            ..eur
        };
        assert_eq!(decide(&c, &r), Ok(540_000)); // 0.50 EUR at 1.08
        r.slots[0].floor_currency = "JPY".into();
        assert_eq!(decide(&c, &r), Err(Decline::Currency));
        assert_eq!(
            decide(&c, &request(r#", "cur": ["EUR"]"#)),
            Err(Decline::Currency)
        );
    }

    #[test]
    fn a_frequency_capped_campaign_needs_a_user() {
        let c = campaign(json!({"frequency_cap": {"count": 3, "period_s": 3600}}));
        assert_eq!(decide(&c, &request("")), Err(Decline::NoUser));
        assert_eq!(
            decide(&c, &request(r#", "user": {"id": "u"}"#)),
            Ok(500_000)
        );
    }

    #[test]
    fn creatives_are_picked_by_weight() {
        let c = campaign(json!({"creatives": [
            {"id": "a", "format": "banner", "w": 300, "h": 250, "click_url": "https://x.example", "markup": "a", "adomain": "x.example", "weight": 1},
            {"id": "b", "format": "banner", "w": 300, "h": 250, "click_url": "https://x.example", "markup": "b", "adomain": "x.example", "weight": 3},
            {"id": "v", "format": "video", "w": 640, "h": 480, "click_url": "https://x.example", "markup": "<VAST/>", "adomain": "x.example"}]}));
        let r = request("");
        let picks: Vec<String> = (0..4)
            .map(|pick| {
                check(
                    &c,
                    &r.slots[0],
                    &r,
                    at("2026-06-03T10:00:00Z"),
                    &usd(),
                    "adplat",
                    pick,
                )
                .map(|e| c.creatives[e.creative].id.clone())
                .expect("eligible")
            })
            .collect();
        assert_eq!(picks, ["a", "b", "b", "b"]);
    }
}
