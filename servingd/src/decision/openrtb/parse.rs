//! From the bytes of a `BidRequest` to an [`AdRequest`], or the precise list of what is wrong
//! with it (each problem named by its JSON path). Never panics on any input.

use std::borrow::Cow;

use serde::Serialize;

use crate::decision::country;
use crate::decision::openrtb::wire;
use crate::decision::price::micros_rounded_up;
use crate::decision::request::{AdRequest, DealOffer, DeviceType, Media, Size, Slot};

/// Most impressions one request may offer.
pub const MAX_IMPS: usize = 20;
/// Most entries of any list (categories, blocked domains, deals, sizes, segments...).
pub const MAX_LIST: usize = 500;
/// Highest floor taken seriously, in currency units per thousand impressions.
pub const MAX_FLOOR: f64 = 10_000.0;
/// Longest id or short text field.
const MAX_ID: usize = 256;
/// Longest impression id, in bytes: it goes into every tracking URL (see
/// [`crate::decision::tracking_token::MAX_SLOT_ID`]).
pub const MAX_IMP_ID: usize = crate::decision::tracking_token::MAX_SLOT_ID;
/// Longest free text (a user agent).
const MAX_TEXT: usize = 4096;
/// Largest slot side in pixels.
const MAX_SIDE: i64 = 10_000;
/// The currency OpenRTB assumes when none is named.
const DEFAULT_CURRENCY: &str = "USD";

/// One problem of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// JSON path of the field (`imp[0].bidfloor`), or `body`.
    pub field: String,
    pub message: String,
}

/// Why a request was refused: every problem found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the bid request is invalid: {}", .errors.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; "))]
pub struct Invalid {
    pub errors: Vec<FieldError>,
}

/// Parses and checks a bid request.
pub fn parse(body: &[u8]) -> Result<AdRequest<'_>, Invalid> {
    let wire = decode(body)?;
    let mut check = Check::default();
    let request = check.request(wire);
    if check.errors.is_empty() {
        Ok(request)
    } else {
        Err(Invalid {
            errors: check.errors,
        })
    }
}

fn decode(body: &[u8]) -> Result<wire::BidRequest<'_>, Invalid> {
    // Most requests are well formed: decode plainly, and only on failure decode again
    // tracking the path, to name the field.
    if let Ok(request) = serde_json::from_slice(body) {
        return Ok(request);
    }
    let one = |field: String, message: String| Invalid {
        errors: vec![FieldError { field, message }],
    };
    let mut de = serde_json::Deserializer::from_slice(body);
    let request: wire::BidRequest<'_> = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        // the root, or no path at all (the text ended inside the first value)
        let field = if path == "." || path == "?" {
            "body".into()
        } else {
            path
        };
        one(field, e.into_inner().to_string())
    })?;
    de.end().map_err(|e| {
        one(
            "body".into(),
            format!("trailing data after the request: {e}"),
        )
    })?;
    Ok(request)
}

/// Where a field is, its path formatted only when a problem is reported (most requests have
/// none, and formatting every path would cost more than the checks).
#[derive(Debug, Clone, Copy)]
enum Field<'a> {
    Name(&'a str),
    /// `imp[i]` and what follows (`.bidfloor`).
    Imp(usize, &'a str),
    /// `imp[i].pmp.deals[k]` and what follows.
    Deal(usize, usize, &'a str),
}

impl Field<'_> {
    fn path(self) -> String {
        match self {
            Field::Name(name) => name.to_owned(),
            Field::Imp(i, rest) => format!("imp[{i}]{rest}"),
            Field::Deal(i, k, rest) => format!("imp[{i}].pmp.deals[{k}]{rest}"),
        }
    }
}

impl<'a> From<&'a str> for Field<'a> {
    fn from(name: &'a str) -> Self {
        Field::Name(name)
    }
}

/// `text` in lowercase, borrowed when it already is.
fn lowercase(text: Cow<'_, str>) -> Cow<'_, str> {
    if text.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(text.to_ascii_lowercase())
    } else {
        text
    }
}

#[derive(Default)]
struct Check {
    errors: Vec<FieldError>,
}

impl Check {
    fn fail(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.errors.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
    }

    fn text<'f, 'a>(
        &mut self,
        field: impl Into<Field<'f>>,
        value: Option<wire::Text<'a>>,
        max: usize,
    ) -> Option<Cow<'a, str>> {
        let value = value?.0;
        if value.len() > max && value.chars().count() > max {
            self.fail(field.into().path(), format!("at most {max} characters"));
            return None;
        }
        Some(value)
    }

    fn list<'f, 'a>(
        &mut self,
        field: impl Into<Field<'f>>,
        values: Vec<wire::Text<'a>>,
    ) -> Vec<Cow<'a, str>> {
        if values.len() > MAX_LIST {
            self.fail(field.into().path(), format!("at most {MAX_LIST} entries"));
            return Vec::new();
        }
        if values
            .iter()
            .any(|v| v.0.len() > MAX_ID && v.0.chars().count() > MAX_ID)
        {
            self.fail(
                field.into().path(),
                format!("entries of at most {MAX_ID} characters"),
            );
            return Vec::new();
        }
        values.into_iter().map(|v| v.0).collect()
    }

    fn currency<'f, 'a>(
        &mut self,
        field: impl Into<Field<'f>>,
        value: Option<wire::Text<'a>>,
    ) -> Cow<'a, str> {
        match value.map(|v| v.0) {
            None => Cow::Borrowed(DEFAULT_CURRENCY),
            Some(c) if c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase()) => c,
            Some(c) => {
                self.fail(
                    field.into().path(),
                    format!("{c:?} is not an ISO 4217 code (three capitals)"),
                );
                Cow::Borrowed(DEFAULT_CURRENCY)
            }
        }
    }

    fn floor<'f>(&mut self, field: impl Into<Field<'f>>, value: Option<f64>) -> Option<i64> {
        let value = value?;
        if !(0.0..=MAX_FLOOR).contains(&value) {
            self.fail(
                field.into().path(),
                format!("a price from 0 to {MAX_FLOOR} per thousand"),
            );
            return None;
        }
        let micros = micros_rounded_up(value);
        if micros.is_none() {
            self.fail(field.into().path(), "not a usable price");
        }
        micros
    }

    fn size<'f>(
        &mut self,
        field: impl Into<Field<'f>>,
        w: Option<i64>,
        h: Option<i64>,
    ) -> Option<Size> {
        match (w, h) {
            (None, None) => None,
            (Some(w), Some(h)) if (1..=MAX_SIDE).contains(&w) && (1..=MAX_SIDE).contains(&h) => {
                Some(Size {
                    w: u32::try_from(w).unwrap_or(0),
                    h: u32::try_from(h).unwrap_or(0),
                })
            }
            (Some(_), Some(_)) => {
                self.fail(
                    field.into().path(),
                    format!("w and h from 1 to {MAX_SIDE} pixels"),
                );
                None
            }
            _ => {
                self.fail(field.into().path(), "w and h come together");
                None
            }
        }
    }

    fn request<'a>(&mut self, r: wire::BidRequest<'a>) -> AdRequest<'a> {
        let id = match r.id.map(|id| id.0) {
            None => {
                self.fail("id", "required");
                Cow::Borrowed("")
            }
            Some(id) if id.is_empty() || id.chars().count() > MAX_ID => {
                self.fail("id", format!("1 to {MAX_ID} characters"));
                Cow::Borrowed("")
            }
            Some(id) => id,
        };
        let slots = match r.imp {
            None => {
                self.fail("imp", "required: at least one impression");
                Vec::new()
            }
            Some(imps) if imps.is_empty() => {
                self.fail("imp", "at least one impression");
                Vec::new()
            }
            Some(imps) if imps.len() > MAX_IMPS => {
                self.fail("imp", format!("at most {MAX_IMPS} impressions"));
                Vec::new()
            }
            Some(imps) => self.slots(imps),
        };
        let tmax_ms = match r.tmax {
            None => None,
            Some(t) if (1..=60_000).contains(&t) => u32::try_from(t).ok(),
            Some(_) => {
                self.fail("tmax", "1 to 60000 milliseconds");
                None
            }
        };
        let gdpr = match r
            .regs
            .as_ref()
            .and_then(|g| g.gdpr.or_else(|| g.ext.as_ref().and_then(|e| e.gdpr)))
        {
            None | Some(0) => false,
            Some(1) => true,
            Some(_) => {
                self.fail("regs.gdpr", "0 or 1");
                false
            }
        };
        let mut request = AdRequest {
            id,
            slots,
            gdpr,
            tmax_ms,
            test: r.test == Some(1),
            currencies: self.list("cur", r.cur),
            blocked_categories: self.list("bcat", r.bcat),
            blocked_domains: self
                .list("badv", r.badv)
                .into_iter()
                .map(lowercase)
                .collect(),
            ..AdRequest::default()
        };
        for (i, c) in request.currencies.clone().into_iter().enumerate() {
            self.currency(Field::Name(&format!("cur[{i}]")), Some(wire::Text(c)));
        }
        self.context(r.site, r.app, &mut request);
        if let Some(device) = r.device {
            self.device(device, &mut request);
        }
        let consent = match r.user {
            Some(user) => self.user(user, &mut request),
            None => None,
        };
        // GDPR applies and no consent: the user's data (ids, segments) is not used at all.
        if request.gdpr && consent.is_none_or(|c| c.is_empty()) {
            request.user = None;
            request.segments.clear();
        }
        request
    }

    fn slots<'a>(&mut self, imps: Vec<wire::Imp<'a>>) -> Vec<Slot<'a>> {
        let mut slots: Vec<Slot> = Vec::with_capacity(imps.len());
        for (i, imp) in imps.into_iter().enumerate() {
            let at = |rest| Field::Imp(i, rest);
            let id = match imp.id.map(|id| id.0) {
                Some(id) if !id.is_empty() && id.len() <= MAX_IMP_ID => id,
                Some(_) => {
                    self.fail(at(".id").path(), format!("1 to {MAX_IMP_ID} bytes"));
                    continue;
                }
                None => {
                    self.fail(at(".id").path(), "required");
                    continue;
                }
            };
            // at most MAX_IMPS of them: a look over the ones before is cheaper than a set
            if slots.iter().any(|s| s.id == id) {
                self.fail(
                    at(".id").path(),
                    format!("{id:?} is used by another impression"),
                );
            }
            let mut media = Vec::new();
            if let Some(banner) = imp.banner {
                let mut sizes: Vec<Size> = self
                    .size(at(".banner"), banner.w, banner.h)
                    .into_iter()
                    .collect();
                if banner.format.len() > MAX_LIST {
                    self.fail(
                        at(".banner.format").path(),
                        format!("at most {MAX_LIST} sizes"),
                    );
                } else {
                    for (j, f) in banner.format.iter().enumerate() {
                        let field = format!("imp[{i}].banner.format[{j}]");
                        if f.w.is_none() && f.h.is_none() {
                            self.fail(field, "w and h are required");
                        } else if let Some(s) = self.size(Field::Name(&field), f.w, f.h) {
                            sizes.push(s);
                        }
                    }
                }
                media.push((Media::Banner, sizes));
            }
            if let Some(video) = imp.video {
                let sizes = self.size(at(".video"), video.w, video.h);
                media.push((Media::Video, sizes.into_iter().collect()));
            }
            if imp.native.is_some() {
                media.push((Media::Native, Vec::new()));
            }
            if media.is_empty() {
                self.fail(at("").path(), "needs a banner, video or native object");
            }
            let floor_micros = self.floor(at(".bidfloor"), imp.bidfloor).unwrap_or(0);
            let floor_currency = self.currency(at(".bidfloorcur"), imp.bidfloorcur);
            let (deals, private_auction) = match imp.pmp {
                Some(pmp) => (self.deals(i, pmp.deals), pmp.private_auction == Some(1)),
                None => (Vec::new(), false),
            };
            if private_auction && deals.is_empty() {
                self.fail(at(".pmp.deals").path(), "a private auction needs deals");
            }
            let tag = self.text(at(".tagid"), imp.tagid, MAX_ID);
            slots.push(Slot {
                id,
                media,
                floor_micros,
                floor_currency,
                deals,
                private_auction,
                tag,
            });
        }
        slots
    }

    fn deals<'a>(&mut self, imp: usize, deals: Vec<wire::Deal<'a>>) -> Vec<DealOffer<'a>> {
        if deals.len() > MAX_LIST {
            self.fail(
                Field::Imp(imp, ".pmp.deals").path(),
                format!("at most {MAX_LIST} deals"),
            );
            return Vec::new();
        }
        let mut offers = Vec::new();
        for (k, deal) in deals.into_iter().enumerate() {
            let field = |rest| Field::Deal(imp, k, rest);
            let Some(id) = deal
                .id
                .map(|id| id.0)
                .filter(|id| !id.is_empty() && id.len() <= MAX_ID)
            else {
                self.fail(field(".id").path(), format!("1 to {MAX_ID} characters"));
                continue;
            };
            offers.push(DealOffer {
                id,
                floor_micros: self.floor(field(".bidfloor"), deal.bidfloor),
                floor_currency: self.currency(field(".bidfloorcur"), deal.bidfloorcur),
                seats: self.list(field(".wseat"), deal.wseat),
            });
        }
        offers
    }

    fn context<'a>(
        &mut self,
        site: Option<wire::Site<'a>>,
        app: Option<wire::App<'a>>,
        r: &mut AdRequest<'a>,
    ) {
        let mut categories = Vec::new();
        let mut placements = Vec::new();
        if let Some(site) = site {
            categories.extend(self.list("site.cat", site.cat));
            categories.extend(self.list("site.pagecat", site.pagecat));
            placements.extend(self.text("site.id", site.id, MAX_ID));
            placements.extend(self.text("site.domain", site.domain, MAX_ID).map(lowercase));
            if let Some(p) = site.publisher {
                categories.extend(self.list("site.publisher.cat", p.cat));
                placements.extend(self.text("site.publisher.id", p.id, MAX_ID));
            }
        }
        if let Some(app) = app {
            categories.extend(self.list("app.cat", app.cat));
            placements.extend(self.text("app.id", app.id, MAX_ID));
            placements.extend(self.text("app.bundle", app.bundle, MAX_ID));
            if let Some(p) = app.publisher {
                categories.extend(self.list("app.publisher.cat", p.cat));
                placements.extend(self.text("app.publisher.id", p.id, MAX_ID));
            }
        }
        categories.sort();
        categories.dedup();
        r.categories = categories;
        r.placements = placements;
    }

    fn device<'a>(&mut self, d: wire::Device<'a>, r: &mut AdRequest<'a>) {
        r.device = match d.devicetype {
            None | Some(6) => None,
            Some(1) | Some(4) => Some(DeviceType::Mobile),
            Some(2) => Some(DeviceType::Desktop),
            Some(3) | Some(7) => Some(DeviceType::Ctv),
            Some(5) => Some(DeviceType::Tablet),
            Some(_) => {
                self.fail("device.devicetype", "an OpenRTB device type, 1 to 7");
                None
            }
        };
        r.os = self.text("device.os", d.os, MAX_ID).map(|os| {
            os.chars()
                .filter(char::is_ascii_alphanumeric)
                .map(|c| c.to_ascii_lowercase())
                .collect::<String>()
        });
        r.user_agent = self.text("device.ua", d.ua, MAX_TEXT);
        r.ip = self
            .text("device.ip", d.ip, 64)
            .or(self.text("device.ipv6", d.ipv6, 64));
        let ifa = self.text("device.ifa", d.ifa, MAX_ID);
        r.device_id = ifa.clone();
        if r.user.is_none() {
            r.user = ifa;
        }
        if let Some(geo) = d.geo {
            if geo.lat.is_some_and(|lat| !(-90.0..=90.0).contains(&lat)) {
                self.fail("device.geo.lat", "-90 to 90");
            }
            if geo.lon.is_some_and(|lon| !(-180.0..=180.0).contains(&lon)) {
                self.fail("device.geo.lon", "-180 to 180");
            }
            if let Some(code) = geo.country {
                match country::alpha2(&code.0) {
                    Some(a2) => r.country = Some(a2),
                    None => self.fail(
                        "device.geo.country",
                        format!("{code:?} is not an ISO 3166-1 country code"),
                    ),
                }
            }
            if let (Some(country), Some(region)) = (r.country, geo.region) {
                let region = region.0.trim().to_ascii_uppercase();
                if region.is_empty() || region.len() > 10 {
                    self.fail("device.geo.region", "an ISO 3166-2 subdivision code");
                } else if region.contains('-') {
                    r.region = Some(region);
                } else {
                    r.region = Some(format!("{country}-{region}"));
                }
            }
        }
    }

    /// Reads the user; returns the consent string.
    fn user<'a>(&mut self, u: wire::User<'a>, r: &mut AdRequest<'a>) -> Option<Cow<'a, str>> {
        let consent = u.consent.or(u.ext.and_then(|e| e.consent));
        let consent = self.text("user.consent", consent, MAX_TEXT);
        let id =
            self.text("user.id", u.id, MAX_ID)
                .or(self.text("user.buyeruid", u.buyeruid, MAX_ID));
        if id.is_some() {
            r.user = id;
        }
        let mut segments = Vec::new();
        for (i, data) in u.data.into_iter().enumerate() {
            let ids = data.segment.into_iter().filter_map(|s| s.id).collect();
            segments.extend(self.list(Field::Name(&format!("user.data[{i}].segment")), ids));
        }
        r.segments = segments;
        consent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURES: [(&str, &[u8]); 4] = [
        (
            "simple-banner",
            include_bytes!("../../../tests/fixtures/openrtb/simple-banner.json"),
        ),
        (
            "mobile-app",
            include_bytes!("../../../tests/fixtures/openrtb/mobile-app.json"),
        ),
        (
            "video",
            include_bytes!("../../../tests/fixtures/openrtb/video.json"),
        ),
        (
            "pmp-direct-deal",
            include_bytes!("../../../tests/fixtures/openrtb/pmp-direct-deal.json"),
        ),
    ];

    fn fields(body: &str) -> Vec<String> {
        match parse(body.as_bytes()) {
            Ok(r) => panic!("accepted: {r:?}"),
            Err(e) => e.errors.into_iter().map(|e| e.field).collect(),
        }
    }

    #[test]
    fn texts_with_escapes_are_decoded_and_plain_ones_borrowed() {
        let body = br#"{"id": "r\u0031", "imp": [{"id": "1", "banner": {"w": 300, "h": 250}}],
            "site": {"id": "s\/1", "domain": "News.Example"}, "user": {"id": "plain"}}"#;
        let r = parse(body).expect("parses");
        assert_eq!(r.id, "r1");
        assert_eq!(r.placements, ["s/1", "news.example"]);
        assert!(
            matches!(r.user, Some(Cow::Borrowed("plain"))),
            "{:?}",
            r.user
        );
        assert!(matches!(r.slots[0].id, Cow::Borrowed("1")));
    }

    #[test]
    fn every_published_example_parses() {
        for (name, body) in FIXTURES {
            let request = parse(body).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(!request.slots.is_empty(), "{name}");
        }
    }

    #[test]
    fn the_examples_read_as_expected() {
        let app = parse(FIXTURES[1].1).expect("mobile app");
        assert_eq!(app.device, Some(DeviceType::Mobile));
        assert_eq!(app.os.as_deref(), Some("ios"));
        assert_eq!(app.slots[0].floor_micros, 500_000);
        assert_eq!(app.slots[0].floor_currency, "USD");
        assert_eq!(
            app.slots[0].media,
            vec![(Media::Banner, vec![Size { w: 728, h: 90 }])]
        );
        assert_eq!(
            app.blocked_domains,
            ["apple.com", "go-text.me", "heywire.com"]
        );
        assert!(app.categories.iter().any(|c| c == "IAB15-10"));
        assert_eq!(
            app.user.as_deref(),
            Some("ffffffd5135596709273b3a1a07e466ea2bf4fff")
        );

        let deal = parse(FIXTURES[3].1).expect("pmp");
        let slot = &deal.slots[0];
        assert!(slot.private_auction);
        assert_eq!(slot.deals.len(), 2);
        assert_eq!(slot.deals[0].floor_micros, Some(2_500_000));
        assert_eq!(slot.deals[0].seats, ["Agency1"]);

        let video = parse(FIXTURES[2].1).expect("video");
        assert_eq!(
            video.slots[0].media[0],
            (Media::Video, vec![Size { w: 640, h: 480 }])
        );
        assert_eq!(video.tmax_ms, Some(120));
        assert_eq!(video.segments.len(), 2);
        assert_eq!(video.os.as_deref(), Some("osx"));
    }

    #[test]
    fn malformed_requests_name_what_is_wrong() {
        assert_eq!(fields("{"), ["body"]);
        assert_eq!(fields("[]"), ["body"]);
        assert_eq!(fields("{} {}"), ["body"]);
        assert_eq!(fields("{}"), ["id", "imp"]);
        assert_eq!(fields(r#"{"id": "r", "imp": []}"#), ["imp"]);
        assert_eq!(fields(r#"{"id": 5, "imp": []}"#), ["id"]);
        assert_eq!(
            fields(
                r#"{"id": "r", "imp": [{"id": "1", "banner": {"w": 300, "h": 250}, "bidfloor": "x"}]}"#
            ),
            ["imp[0].bidfloor"]
        );
        assert_eq!(fields(r#"{"id": "r", "imp": [{"id": "1"}]}"#), ["imp[0]"]);
        assert_eq!(
            fields(r#"{"id": "r", "imp": [{"banner": {"w": 1, "h": 1}}]}"#),
            ["imp[0].id"]
        );
        assert_eq!(
            fields(
                r#"{"id": "r", "imp": [{"id": "1", "banner": {"w": 1, "h": 1}}, {"id": "1", "native": {}}]}"#
            ),
            ["imp[1].id"]
        );
        let many: Vec<String> = (0..=MAX_IMPS)
            .map(|i| format!(r#"{{"id": "{i}", "banner": {{"w": 1, "h": 1}}}}"#))
            .collect();
        assert_eq!(
            fields(&format!(r#"{{"id": "r", "imp": [{}]}}"#, many.join(","))),
            ["imp"]
        );
    }

    #[test]
    fn absurd_values_are_refused() {
        let with_imp = |imp: &str, rest: &str| format!(r#"{{"id": "r", "imp": [{imp}]{rest}}}"#);
        let banner = r#"{"id": "1", "banner": {"w": 300, "h": 250}}"#;
        assert_eq!(
            fields(&with_imp(
                r#"{"id": "1", "banner": {"w": 300, "h": 250}, "bidfloor": -1}"#,
                ""
            )),
            ["imp[0].bidfloor"]
        );
        assert_eq!(
            fields(&with_imp(
                r#"{"id": "1", "banner": {"w": 300, "h": 250}, "bidfloor": 1e12}"#,
                ""
            )),
            ["imp[0].bidfloor"]
        );
        assert_eq!(
            fields(&with_imp(
                r#"{"id": "1", "banner": {"w": 0, "h": 250}}"#,
                ""
            )),
            ["imp[0].banner"]
        );
        assert_eq!(
            fields(&with_imp(r#"{"id": "1", "banner": {"w": 300}}"#, "")),
            ["imp[0].banner"]
        );
        assert_eq!(
            fields(&with_imp(
                r#"{"id": "1", "banner": {"w": 3, "h": 2}, "bidfloorcur": "dollars"}"#,
                ""
            )),
            ["imp[0].bidfloorcur"]
        );
        assert_eq!(fields(&with_imp(banner, r#", "tmax": -5"#)), ["tmax"]);
        assert_eq!(
            fields(&with_imp(banner, r#", "device": {"devicetype": 99}"#)),
            ["device.devicetype"]
        );
        assert_eq!(
            fields(&with_imp(
                banner,
                r#", "device": {"geo": {"lat": 91, "country": "ZZZ"}}"#
            )),
            ["device.geo.lat", "device.geo.country"]
        );
        assert_eq!(
            fields(&with_imp(banner, r#", "regs": {"gdpr": 3}"#)),
            ["regs.gdpr"]
        );
        assert_eq!(
            fields(&with_imp(
                r#"{"id": "1", "banner": {"w": 3, "h": 2}, "pmp": {"private_auction": 1}}"#,
                ""
            )),
            ["imp[0].pmp.deals"]
        );
    }

    #[test]
    fn gdpr_without_consent_drops_the_user() {
        let base = r#"{"id": "r", "imp": [{"id": "1", "native": {}}], "device": {"ifa": "dev-1"},
            "user": {"id": "u-1", "data": [{"segment": [{"id": "s1"}]}]}"#;
        let no_gdpr = format!("{base}}}");
        let no_gdpr = parse(no_gdpr.as_bytes()).expect("parse");
        assert_eq!(no_gdpr.user.as_deref(), Some("u-1"));
        assert_eq!(no_gdpr.segments, ["s1"]);
        let gdpr_no_consent =
            parse(format!(r#"{base}, "regs": {{"ext": {{"gdpr": 1}}}}}}"#).as_bytes())
                .expect("parse")
                .into_owned();
        assert_eq!(gdpr_no_consent.user, None);
        assert!(gdpr_no_consent.segments.is_empty());
        let with_consent = r#"{"id": "r", "imp": [{"id": "1", "native": {}}], "regs": {"gdpr": 1},
            "user": {"id": "u-1", "ext": {"consent": "CO-abc"}}}"#;
        assert_eq!(
            parse(with_consent.as_bytes())
                .expect("parse")
                .user
                .as_deref(),
            Some("u-1")
        );
        // the device id stands in for a missing user id, under the same rule
        let device_only = r#"{"id": "r", "imp": [{"id": "1", "native": {}}], "regs": {"gdpr": 1},
            "device": {"ifa": "dev-1"}}"#;
        assert_eq!(parse(device_only.as_bytes()).expect("parse").user, None);
    }

    #[test]
    fn geography_reads_alpha3_and_regions() {
        let r = parse(
            br#"{"id": "r", "imp": [{"id": "1", "native": {}}],
                 "device": {"geo": {"country": "FRA", "region": "idf"}}}"#,
        )
        .expect("parse");
        assert_eq!(r.country, Some("FR"));
        assert_eq!(r.region.as_deref(), Some("FR-IDF"));
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_give_an_answer_not_a_panic(body in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let _ = parse(&body);
        }

        #[test]
        fn any_json_gives_an_answer_not_a_panic(text in r#"\{("[a-z]{1,6}": ?(-?[0-9]{1,4}(\.[0-9]+)?|"[a-z]*"|\[\]|\{\}|null|true), ?){0,6}"id": ?"x"\}"#) {
            let _ = parse(text.as_bytes());
        }
    }
}
