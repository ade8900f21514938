//! The overview from the API's balance and today's report (pure): exact sums, badges, alerts.

use domain::Status;
use rust_decimal::Decimal;
use serde_json::Value;

use super::performance::{badge, decimal};
use crate::json_text::text;
use crate::overview::{Alert, CampaignDay, Overview};

/// A campaign is nearly out of its day's budget from this share on.
const NEARLY_SPENT: Decimal = Decimal::from_parts(9, 0, 0, false, 1);

/// The overview from `balance` (the advertiser's) and `today` (its live campaigns' days).
pub fn build(balance: &Value, today: &Value) -> Overview {
    let empty = Vec::new();
    let rows = today["items"].as_array().unwrap_or(&empty);
    let mut spent = Decimal::ZERO;
    let mut a_day = Decimal::ZERO;
    let mut refunds = Decimal::ZERO;
    let mut alerts = Vec::new();
    let campaigns = rows
        .iter()
        .map(|r| {
            let day_spent = decimal(&r["spent"]).unwrap_or_default();
            let day_budget = decimal(&r["day_budget"]);
            let used = decimal(&r["used"]);
            spent += day_spent;
            a_day += day_budget.unwrap_or_default();
            refunds += decimal(&r["refunds"]).unwrap_or_default();
            let status =
                serde_json::from_value::<Status>(r["status"].clone()).unwrap_or(Status::Active);
            let used_text = used.map(|u| format!("{} %", (u * Decimal::ONE_HUNDRED).round()));
            if used.is_some_and(|u| u >= NEARLY_SPENT) {
                alerts.push(Alert::BudgetNearlySpent {
                    id: text(&r["campaign_id"]),
                    name: text(&r["name"]),
                    used: used_text.clone().unwrap_or_default(),
                });
            }
            CampaignDay {
                id: text(&r["campaign_id"]),
                name: text(&r["name"]),
                spent: text(&r["spent"]),
                day_budget: day_budget.map(|b| b.to_string()),
                used: used_text,
                badge: badge(status, day_spent, day_budget, decimal(&r["pace"])),
            }
        })
        .collect();
    let available = decimal(&balance["available"]).unwrap_or_default();
    if a_day > Decimal::ZERO && available < a_day {
        alerts.insert(
            0,
            Alert::FundsLow {
                available: text(&balance["available"]),
                a_day: a_day.to_string(),
            },
        );
    }
    if refunds > Decimal::ZERO {
        alerts.push(Alert::Refunds {
            total: refunds.to_string(),
        });
    }
    Overview {
        currency: text(&balance["currency"]),
        cash: text(&balance["cash"]),
        available: text(&balance["available"]),
        held: text(&balance["held"]),
        spent_today: spent.to_string(),
        campaigns,
        alerts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::performance::PaceBadge;
    use serde_json::json;

    #[test]
    fn the_day_is_summed_exactly_and_what_needs_a_look_is_said() {
        let balance = json!({"currency": "EUR", "cash": "60.000000", "available": "40.000000",
                             "held": "20.000000"});
        let today = json!({"items": [
            {"campaign_id": "c1", "name": "Boots", "status": "active", "spent": "46.000001",
             "day_budget": "50.000000", "used": "0.92", "pace": "1.05", "refunds": "0.000001"},
            {"campaign_id": "c2", "name": "Hats", "status": "active", "spent": "0.000000",
             "day_budget": "10.000000", "used": "0", "pace": "0", "refunds": "0.000000"},
        ]});
        let o = build(&balance, &today);
        assert_eq!(o.spent_today, "46.000001");
        assert_eq!(o.campaigns[0].badge, PaceBadge::OnPace);
        assert_eq!(o.campaigns[0].used.as_deref(), Some("92 %"));
        assert_eq!(o.campaigns[1].badge, PaceBadge::Behind);
        assert_eq!(
            o.alerts,
            [
                Alert::FundsLow {
                    available: "40.000000".into(),
                    a_day: "60.000000".into()
                },
                Alert::BudgetNearlySpent {
                    id: "c1".into(),
                    name: "Boots".into(),
                    used: "92 %".into()
                },
                Alert::Refunds {
                    total: "0.000001".into()
                },
            ]
        );
        let calm = build(
            &json!({"currency": "EUR", "available": "100"}),
            &json!({"items": []}),
        );
        assert!(calm.alerts.is_empty());
    }
}
