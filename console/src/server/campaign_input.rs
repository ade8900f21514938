//! A campaign's form read into the API's JSON, and a campaign written into the form: pure, no
//! I/O. Times are shown and read in the campaign's own time zone; money stays the decimal text
//! the advertiser typed (the API reads it exactly); lists are comma-separated.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use domain::campaign::{CampaignSpec, DayPart, Weekday};
use serde_json::{Map, Value, json};

use crate::campaign_form::{CREATIVE_FIELDS, FieldProblem, MAX_CREATIVE_ROWS, creative_field};

/// The form's fields by name.
pub type Values = BTreeMap<String, String>;

/// What a posted form becomes: the API's body, and for each creative in it the form row it came
/// from (blank and removed rows are not sent, so the API's `creatives[k]` is row `rows[k]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Built {
    pub body: Value,
    pub creative_rows: Vec<usize>,
}

const DAYS: [(&str, Weekday); 7] = [
    ("mon", Weekday::Mon),
    ("tue", Weekday::Tue),
    ("wed", Weekday::Wed),
    ("thu", Weekday::Thu),
    ("fri", Weekday::Fri),
    ("sat", Weekday::Sat),
    ("sun", Weekday::Sun),
];

/// How a time is written in the form (`<input type="datetime-local">`).
const LOCAL_TIME: &str = "%Y-%m-%dT%H:%M";

/// The posted fields: a name sent more than once (the device checkboxes) joins its values with
/// commas; the CSRF token and the form's buttons are not fields.
pub fn values_from_pairs(pairs: Vec<(String, String)>) -> Values {
    let mut values = Values::new();
    for (name, value) in pairs {
        if matches!(
            name.as_str(),
            "csrf" | "idempotency_key" | "add_creative" | "advertiser_id"
        ) {
            continue;
        }
        values
            .entry(name)
            .and_modify(|v: &mut String| {
                v.push(',');
                v.push_str(&value);
            })
            .or_insert(value);
    }
    values
}

/// The rows of creatives the posted fields hold (at most [`MAX_CREATIVE_ROWS`]: a field of a row
/// past it is not read).
pub fn creative_rows_in(values: &Values) -> usize {
    values
        .keys()
        .filter_map(|k| k.strip_prefix("creatives[")?.split_once(']'))
        .filter_map(|(row, _)| row.parse::<usize>().ok())
        .filter(|row| *row < MAX_CREATIVE_ROWS)
        .map(|row| row + 1)
        .max()
        .unwrap_or(0)
}

/// A new campaign's form: it starts at the next hour, in UTC, paced evenly, bid per thousand.
pub fn blank_values(now: DateTime<Utc>) -> Values {
    let next_hour = now.timestamp() - now.timestamp().rem_euclid(3600) + 3600;
    let start = DateTime::<Utc>::from_timestamp(next_hour, 0).unwrap_or(now);
    [
        ("schedule.start", start.format(LOCAL_TIME).to_string()),
        ("schedule.time_zone", "UTC".to_owned()),
        ("bid.kind", "cpm".to_owned()),
        ("pacing", "even".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// The form of an existing campaign.
pub fn values_of(spec: &CampaignSpec) -> Values {
    let mut values = Values::new();
    let mut put = |name: &str, value: String| {
        values.insert(name.to_owned(), value);
    };
    let zone: Option<chrono_tz::Tz> = spec.schedule.time_zone.parse().ok();
    let local = |at: DateTime<Utc>| match zone {
        Some(zone) => at.with_timezone(&zone).format(LOCAL_TIME).to_string(),
        None => at.format(LOCAL_TIME).to_string(),
    };
    put("name", spec.name.clone());
    put("schedule.start", local(spec.schedule.start));
    put(
        "schedule.end",
        spec.schedule.end.map(local).unwrap_or_default(),
    );
    put("schedule.time_zone", spec.schedule.time_zone.clone());
    put(
        "schedule.day_parting",
        spec.schedule
            .day_parting
            .iter()
            .map(day_part_line)
            .collect::<Vec<_>>()
            .join("\n"),
    );
    let decimal = |a: domain::Amount| a.as_decimal().normalize().to_string();
    put(
        "budget.daily",
        spec.budget.daily.map(decimal).unwrap_or_default(),
    );
    put(
        "budget.lifetime",
        spec.budget.lifetime.map(decimal).unwrap_or_default(),
    );
    put("bid.kind", word(&spec.bid.kind));
    put("bid.amount", decimal(spec.bid.amount));
    put("pacing", word(&spec.pacing));
    let t = &spec.targeting;
    put("targeting.countries", t.countries.join(", "));
    put("targeting.regions", t.regions.join(", "));
    put(
        "targeting.device_types",
        t.device_types
            .iter()
            .map(word)
            .collect::<Vec<_>>()
            .join(","),
    );
    put("targeting.os", t.os.join(", "));
    put("targeting.categories", t.categories.join(", "));
    put("targeting.placements", t.placements.join(", "));
    put(
        "targeting.sizes",
        t.sizes
            .iter()
            .map(|s| format!("{}x{}", s.w, s.h))
            .collect::<Vec<_>>()
            .join(", "),
    );
    put("targeting.segments", t.segments.join(", "));
    put("targeting.deals", t.deals.join(", "));
    if let Some(cap) = spec.frequency_cap {
        put("frequency_cap.count", cap.count.to_string());
        put("frequency_cap.period_s", cap.period_s.to_string());
    }
    for (row, c) in spec.creatives.iter().enumerate() {
        let mut put = |field: &str, value: String| {
            values.insert(creative_field(row, field), value);
        };
        put("id", c.id.clone());
        put("format", word(&c.format));
        put("w", c.w.to_string());
        put("h", c.h.to_string());
        put("click_url", c.click_url.clone());
        put("markup", c.markup.clone().unwrap_or_default());
        put("asset_url", c.asset_url.clone().unwrap_or_default());
        put("adomain", c.adomain.clone());
        put("weight", c.weight.to_string());
        put("categories", c.categories.join(", "));
    }
    values
}

/// A snake_case enum as the API writes it (`cpm`, `accelerated`).
fn word<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn day_part_line(part: &DayPart) -> String {
    let days: Vec<String> = part.days.iter().map(word).collect();
    format!("{} {}-{}", days.join(","), part.start_hour, part.end_hour)
}

/// The API's JSON for the posted form (every field present, `null` where empty, so the same
/// body creates a campaign or replaces one's settings as a merge patch), or the fields the
/// console itself cannot read.
pub fn build(values: &Values) -> Result<Built, Vec<FieldProblem>> {
    let mut problems = Vec::new();
    let text = |name: &str| values.get(name).map_or("", |v| v.trim());
    let zone_name = text("schedule.time_zone");
    let zone: Option<chrono_tz::Tz> = zone_name.parse().ok();
    if zone.is_none() {
        problems.push(FieldProblem::new(
            "schedule.time_zone",
            "an IANA time zone, such as Europe/Paris or UTC",
        ));
    }
    let mut time = |name: &str, required: bool| -> Value {
        let written = text(name);
        if written.is_empty() {
            if required {
                problems.push(FieldProblem::new(name, "required"));
            }
            return Value::Null;
        }
        let Some(zone) = zone else {
            return Value::Null;
        };
        match read_local_time(written, zone) {
            Ok(at) => json!(at.to_rfc3339()),
            Err(message) => {
                problems.push(FieldProblem::new(name, message));
                Value::Null
            }
        }
    };
    let start = time("schedule.start", true);
    let end = time("schedule.end", false);
    let day_parting = match read_day_parting(text("schedule.day_parting")) {
        Ok(parts) => json!(parts),
        Err(message) => {
            problems.push(FieldProblem::new("schedule.day_parting", message));
            json!([])
        }
    };
    let optional = |name: &str| -> Value {
        match text(name) {
            "" => Value::Null,
            written => json!(written),
        }
    };
    let sizes = read_sizes(text("targeting.sizes")).unwrap_or_else(|message| {
        problems.push(FieldProblem::new("targeting.sizes", message));
        Vec::new()
    });
    let frequency_cap = match (text("frequency_cap.count"), text("frequency_cap.period_s")) {
        ("", _) => Value::Null,
        (count, period) => match (count.parse::<u32>(), period.parse::<u32>()) {
            (Ok(count), Ok(period_s)) => json!({"count": count, "period_s": period_s}),
            (Err(_), _) => {
                problems.push(FieldProblem::new("frequency_cap.count", "a whole number"));
                Value::Null
            }
            (_, Err(_)) => {
                problems.push(FieldProblem::new(
                    "frequency_cap.period_s",
                    "choose a period",
                ));
                Value::Null
            }
        },
    };
    let (creatives, creative_rows) = read_creatives(values, &mut problems);
    if !problems.is_empty() {
        return Err(problems);
    }
    let body = json!({
        "name": text("name"),
        "schedule": {
            "start": start,
            "end": end,
            "time_zone": zone_name,
            "day_parting": day_parting,
        },
        "budget": {"daily": optional("budget.daily"), "lifetime": optional("budget.lifetime")},
        "bid": {"kind": text("bid.kind"), "amount": text("bid.amount")},
        "pacing": text("pacing"),
        "targeting": {
            "countries": list(text("targeting.countries")),
            "regions": list(text("targeting.regions")),
            "device_types": list(text("targeting.device_types")),
            "os": list(text("targeting.os")),
            "categories": list(text("targeting.categories")),
            "placements": list(text("targeting.placements")),
            "sizes": sizes,
            "segments": list(text("targeting.segments")),
            "deals": list(text("targeting.deals")),
        },
        "frequency_cap": frequency_cap,
        "creatives": creatives,
    });
    Ok(Built {
        body,
        creative_rows,
    })
}

/// The API's name for a creative's field (`creatives[k].w`) as the form's row
/// (`creatives[rows[k]].w`); other names as they are.
pub fn field_in_form(field: &str, creative_rows: &[usize]) -> String {
    let Some(rest) = field.strip_prefix("creatives[") else {
        return field.to_owned();
    };
    let Some((index, tail)) = rest.split_once(']') else {
        return field.to_owned();
    };
    match index
        .parse::<usize>()
        .ok()
        .and_then(|k| creative_rows.get(k))
    {
        Some(row) => format!("creatives[{row}]{tail}"),
        None => field.to_owned(),
    }
}

/// Comma- or line-separated entries, trimmed, the empty ones dropped.
fn list(text: &str) -> Vec<String> {
    text.split([',', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn read_local_time(written: &str, zone: chrono_tz::Tz) -> Result<DateTime<Utc>, String> {
    let naive = NaiveDateTime::parse_from_str(written, LOCAL_TIME)
        .or_else(|_| NaiveDateTime::parse_from_str(written, "%Y-%m-%dT%H:%M:%S"))
        .map_err(|_| "a date and time, such as 2026-12-01T09:00".to_owned())?;
    // a time a clock change skips does not exist; one it repeats is taken the first time
    zone.from_local_datetime(&naive)
        .earliest()
        .map(|at| at.with_timezone(&Utc))
        .ok_or_else(|| format!("{written} does not exist in {zone} (the clocks change)"))
}

/// Day parts, one a line: days (`mon,tue` or a range `mon-fri`), a space, hours (`9-17`).
fn read_day_parting(text: &str) -> Result<Vec<DayPart>, String> {
    let shape = || "one part a line, days then hours, such as \"mon-fri 9-17\"".to_owned();
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(|line| {
            let (days, hours) = line.rsplit_once(' ').ok_or_else(shape)?;
            let (start, end) = hours.trim().split_once('-').ok_or_else(shape)?;
            let hour = |h: &str| h.trim().parse::<u8>().map_err(|_| shape());
            Ok(DayPart {
                days: read_days(days).ok_or_else(shape)?,
                start_hour: hour(start)?,
                end_hour: hour(end)?,
            })
        })
        .collect()
}

fn read_days(text: &str) -> Option<Vec<Weekday>> {
    let index = |name: &str| {
        DAYS.iter()
            .position(|(n, _)| name.trim().eq_ignore_ascii_case(n))
    };
    let mut days = Vec::new();
    for piece in list(text) {
        match piece.split_once('-') {
            Some((from, to)) => {
                let (from, to) = (index(from)?, index(to)?);
                if from > to {
                    return None;
                }
                days.extend(DAYS[from..=to].iter().map(|(_, d)| *d));
            }
            None => days.push(DAYS[index(&piece)?].1),
        }
    }
    Some(days)
}

fn read_sizes(text: &str) -> Result<Vec<Value>, String> {
    list(text)
        .iter()
        .map(|size| {
            let (w, h) = size
                .split_once(['x', 'X', '×'])
                .ok_or_else(|| "sizes such as 300x250, 728x90".to_owned())?;
            match (w.trim().parse::<u32>(), h.trim().parse::<u32>()) {
                (Ok(w), Ok(h)) => Ok(json!({"w": w, "h": h})),
                _ => Err("sizes such as 300x250, 728x90".to_owned()),
            }
        })
        .collect()
}

/// The creatives of the rows that hold one (a blank row, or one marked for removal, is not
/// sent), with the row each came from.
fn read_creatives(values: &Values, problems: &mut Vec<FieldProblem>) -> (Vec<Value>, Vec<usize>) {
    let mut creatives = Vec::new();
    let mut rows = Vec::new();
    for row in 0..creative_rows_in(values) {
        let text = |field: &str| {
            values
                .get(&creative_field(row, field))
                .map_or("", |v| v.trim())
        };
        let blank = [
            "id",
            "w",
            "h",
            "click_url",
            "markup",
            "asset_url",
            "adomain",
        ]
        .iter()
        .all(|f| text(f).is_empty());
        if blank || !text("remove").is_empty() {
            continue;
        }
        let mut creative = Map::new();
        for field in CREATIVE_FIELDS {
            let written = text(field);
            let value = match (field, written) {
                ("weight", "") => json!(1),
                ("w" | "h" | "weight", number) => match number.parse::<u32>() {
                    Ok(n) => json!(n),
                    Err(_) => {
                        problems.push(FieldProblem::new(
                            creative_field(row, field),
                            "a whole number",
                        ));
                        continue;
                    }
                },
                ("markup" | "asset_url", "") => Value::Null,
                ("categories", written) => json!(list(written)),
                // markup keeps its own spacing
                ("markup", _) => json!(values.get(&creative_field(row, field))),
                (_, written) => json!(written),
            };
            creative.insert(field.to_owned(), value);
        }
        creatives.push(Value::Object(creative));
        rows.push(row);
    }
    (creatives, rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> Values {
        values_from_pairs(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    fn sound() -> Vec<(&'static str, &'static str)> {
        vec![
            ("csrf", "t"),
            ("name", " Winter sale "),
            ("schedule.start", "2026-03-29T01:30"),
            ("schedule.end", ""),
            ("schedule.time_zone", "Europe/Paris"),
            ("schedule.day_parting", "mon-wed 9-17\nsat,sun 10-22\n"),
            ("budget.daily", "0.000001"),
            ("budget.lifetime", ""),
            ("bid.kind", "cpc"),
            ("bid.amount", "2.50"),
            ("pacing", "even"),
            ("targeting.countries", "FR, DE,"),
            ("targeting.device_types", "mobile"),
            ("targeting.device_types", "ctv"),
            ("targeting.sizes", "300x250, 728×90"),
            ("frequency_cap.count", "3"),
            ("frequency_cap.period_s", "86400"),
            ("creatives[0].id", ""),
            ("creatives[0].format", "banner"),
            ("creatives[0].weight", "1"),
            ("creatives[1].id", "b1"),
            ("creatives[1].format", "banner"),
            ("creatives[1].w", "300"),
            ("creatives[1].h", "250"),
            ("creatives[1].click_url", "https://shop.example/"),
            ("creatives[1].markup", "  <b>Sale</b>\n"),
            ("creatives[1].adomain", "shop.example"),
            ("creatives[1].weight", ""),
        ]
    }

    #[test]
    fn a_sound_form_becomes_the_apis_body_exactly() {
        let built = build(&form(&sound())).expect("sound");
        let body = &built.body;
        assert_eq!(body["name"], "Winter sale");
        // 01:30 in Paris on the day clocks go forward is still winter time (UTC+1)
        assert_eq!(body["schedule"]["start"], "2026-03-29T00:30:00+00:00");
        assert_eq!(body["schedule"]["end"], Value::Null, "null clears an end");
        assert_eq!(
            body["schedule"]["day_parting"],
            json!([
                {"days": ["mon", "tue", "wed"], "start_hour": 9, "end_hour": 17},
                {"days": ["sat", "sun"], "start_hour": 10, "end_hour": 22},
            ])
        );
        assert_eq!(body["budget"]["daily"], "0.000001", "money as typed");
        assert_eq!(body["budget"]["lifetime"], Value::Null);
        assert_eq!(body["bid"], json!({"kind": "cpc", "amount": "2.50"}));
        assert_eq!(body["targeting"]["countries"], json!(["FR", "DE"]));
        assert_eq!(body["targeting"]["device_types"], json!(["mobile", "ctv"]));
        assert_eq!(
            body["targeting"]["sizes"],
            json!([{"w": 300, "h": 250}, {"w": 728, "h": 90}])
        );
        assert_eq!(
            body["frequency_cap"],
            json!({"count": 3, "period_s": 86400})
        );
        assert_eq!(built.creative_rows, [1], "the blank row is not sent");
        let creative = &body["creatives"][0];
        assert_eq!(
            creative["markup"], "  <b>Sale</b>\n",
            "markup keeps its spacing"
        );
        assert_eq!(creative["asset_url"], Value::Null);
        assert_eq!(creative["weight"], 1, "an empty weight is the default");
        assert_eq!(
            field_in_form("creatives[0].w", &built.creative_rows),
            "creatives[1].w"
        );
        assert_eq!(
            field_in_form("creatives", &built.creative_rows),
            "creatives"
        );
    }

    #[test]
    fn what_the_console_cannot_read_is_named_by_field() {
        let mut pairs = sound();
        let changed = [
            "schedule.start",
            "schedule.end",
            "schedule.day_parting",
            "targeting.sizes",
            "frequency_cap.count",
            "creatives[1].w",
        ];
        pairs.retain(|(k, _)| !changed.contains(k));
        pairs.extend([
            ("schedule.start", "tomorrow"),
            ("schedule.end", "2026-03-29T02:30"),
            ("schedule.day_parting", "weekdays"),
            ("targeting.sizes", "big"),
            ("frequency_cap.count", "three"),
            ("creatives[1].w", "wide"),
        ]);
        let problems = build(&form(&pairs)).expect_err("unreadable");
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "schedule.start",
                "schedule.end",
                "schedule.day_parting",
                "targeting.sizes",
                "frequency_cap.count",
                "creatives[1].w"
            ]
        );
        assert!(
            problems[1].message.contains("does not exist"),
            "{problems:?}"
        );
        let mut pairs = sound();
        pairs.retain(|(k, _)| *k != "schedule.time_zone");
        pairs.push(("schedule.time_zone", "Mars/Olympus"));
        let problems = build(&form(&pairs)).expect_err("no such zone");
        assert_eq!(problems[0].field, "schedule.time_zone");
    }

    #[test]
    fn a_campaign_written_into_the_form_reads_back_the_same() {
        let body = build(&form(&sound())).expect("sound").body;
        let mut input: domain::campaign::CampaignInput =
            serde_json::from_value(body.clone()).expect("the API's input");
        input.budget.daily = Some("12.5".to_owned());
        let spec = CampaignSpec {
            name: input.name.clone(),
            schedule: input.schedule.clone(),
            budget: domain::campaign::Budget {
                daily: Some("12.5".parse().expect("amount")),
                lifetime: None,
            },
            bid: domain::campaign::Bid {
                kind: input.bid.kind,
                amount: "2.5".parse().expect("amount"),
            },
            pacing: input.pacing,
            targeting: input.targeting.clone(),
            frequency_cap: input.frequency_cap,
            creatives: input.creatives.clone(),
        };
        let values = values_of(&spec);
        assert_eq!(values["schedule.start"], "2026-03-29T01:30", "in its zone");
        assert_eq!(
            values["schedule.day_parting"],
            "mon,tue,wed 9-17\nsat,sun 10-22"
        );
        assert_eq!(values["budget.daily"], "12.5");
        let again = build(&values).expect("reads back").body;
        assert_eq!(again["schedule"], body["schedule"]);
        assert_eq!(again["targeting"], body["targeting"]);
        assert_eq!(again["creatives"], body["creatives"]);
        assert_eq!(again["frequency_cap"], body["frequency_cap"]);
    }

    #[test]
    fn a_blank_form_starts_at_the_next_hour() {
        let now = DateTime::parse_from_rfc3339("2026-11-30T19:21:13Z")
            .expect("time")
            .with_timezone(&Utc);
        let values = blank_values(now);
        assert_eq!(values["schedule.start"], "2026-11-30T20:00");
        assert_eq!(creative_rows_in(&values), 0);
        assert_eq!(
            creative_rows_in(&form(&[("creatives[3].id", "x")])),
            4,
            "rows up to the highest"
        );
        assert_eq!(
            creative_rows_in(&form(&[
                ("creatives[99999999999].id", "x"),
                ("creatives[1].id", "y")
            ])),
            2,
            "a row past the most a form has is not read"
        );
    }
}
