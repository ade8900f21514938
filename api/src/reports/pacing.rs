//! Today's pacing: the hours of a campaign's local day, each with its net spend and its pace
//! target, and both summed from midnight. Pure.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::http::json::money_text;

/// One hour of the day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PacingHour {
    /// Start of the hour, local time in the campaign's time zone (`2026-11-30T14:00:00`).
    pub hour: String,
    /// Spend less refunds posted in the hour.
    #[schema(example = "4.200000")]
    pub spend: String,
    /// What even pacing aims to spend in the hour (absent before the campaign started that day,
    /// or without a day's budget).
    pub target: Option<String>,
    /// Net spend from midnight to the end of the hour.
    pub spent_so_far: String,
    /// The pace targets from midnight to the end of the hour.
    pub target_so_far: Option<String>,
}

/// The hours `hours` (local labels, in order), their net spend from `spend` (a missing hour
/// spent nothing) and their targets from `target`.
pub fn pacing_hours(
    hours: &[String],
    spend: &BTreeMap<String, Decimal>,
    target: impl Fn(&str) -> Option<Decimal>,
) -> Vec<PacingHour> {
    let mut spent_so_far = Decimal::ZERO;
    let mut target_so_far: Option<Decimal> = None;
    hours
        .iter()
        .map(|hour| {
            let spent = spend.get(hour).copied().unwrap_or_default();
            let aim = target(hour);
            spent_so_far += spent;
            if let Some(aim) = aim {
                *target_so_far.get_or_insert(Decimal::ZERO) += aim;
            }
            PacingHour {
                hour: hour.clone(),
                spend: money_text(spent),
                target: aim.map(money_text),
                spent_so_far: money_text(spent_so_far),
                target_so_far: target_so_far.map(money_text),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().expect("decimal")
    }

    #[test]
    fn hours_sum_from_midnight_and_hours_without_spend_count_zero() {
        let hours: Vec<String> = (0..4).map(|h| format!("2026-11-30T{h:02}:00:00")).collect();
        let spend = BTreeMap::from([
            ("2026-11-30T01:00:00".to_owned(), d("2.5")),
            ("2026-11-30T03:00:00".to_owned(), d("1")),
        ]);
        // started at 01:00: no target before
        let rows = pacing_hours(&hours, &spend, |h| {
            (h >= "2026-11-30T01:00:00").then(|| d("1.25"))
        });
        assert_eq!(rows.len(), 4);
        assert_eq!(rows[0].spend, "0.000000");
        assert_eq!(rows[0].target, None);
        assert_eq!(rows[0].target_so_far, None);
        assert_eq!(rows[1].spent_so_far, "2.500000");
        assert_eq!(rows[1].target_so_far.as_deref(), Some("1.250000"));
        assert_eq!(rows[3].spent_so_far, "3.500000");
        assert_eq!(rows[3].target_so_far.as_deref(), Some("3.750000"));
    }
}
