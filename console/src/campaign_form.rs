//! A campaign's form as the page shows it: each field's text under its name, and the problems to
//! show beside the fields. Field names are the API's paths (`budget.daily`, `creatives[1].w`), so
//! a problem the API names lands beside the field that holds it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One field's problem, as the API (or the console's own reading of the form) names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldProblem {
    pub field: String,
    pub message: String,
}

impl FieldProblem {
    /// A problem with `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldProblem {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// The form's state: what is in its fields, what is wrong with them, how many creative rows it
/// shows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignForm {
    pub values: BTreeMap<String, String>,
    pub problems: Vec<FieldProblem>,
    /// Rows of creatives shown (the campaign's, and a blank one to add another).
    pub creative_rows: usize,
    /// A problem of the whole form (the campaign changed meanwhile, the platform is down).
    pub notice: Option<String>,
    /// Sent with a new campaign, so a form posted twice creates one campaign.
    pub idempotency_key: String,
}

/// The campaign's fields outside the creatives, in the form's order.
pub const FIELDS: [&str; 20] = [
    "name",
    "schedule.start",
    "schedule.end",
    "schedule.time_zone",
    "schedule.day_parting",
    "budget.daily",
    "budget.lifetime",
    "bid.kind",
    "bid.amount",
    "pacing",
    "targeting.countries",
    "targeting.regions",
    "targeting.device_types",
    "targeting.os",
    "targeting.categories",
    "targeting.placements",
    "targeting.sizes",
    "targeting.segments",
    "targeting.deals",
    "frequency_cap",
];

/// The most rows of creatives a form has (the API takes at most 50 creatives): a posted row past
/// it is not read.
pub const MAX_CREATIVE_ROWS: usize = 50;

/// Each creative's fields (`creatives[i].<field>`).
pub const CREATIVE_FIELDS: [&str; 10] = [
    "id",
    "format",
    "w",
    "h",
    "click_url",
    "markup",
    "asset_url",
    "adomain",
    "weight",
    "categories",
];

/// The name of creative `row`'s `field`.
pub fn creative_field(row: usize, field: &str) -> String {
    format!("creatives[{row}].{field}")
}

/// The HTML id of the input named `name` (letters, digits and dashes).
pub fn input_id(name: &str) -> String {
    let mut id = String::from("f-");
    id.extend(
        name.chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }),
    );
    id
}

/// Whether a problem named `problem` belongs to the field named `field`: the same path, or a
/// path inside it (`targeting.countries[2]` is the countries field's, `frequency_cap.count` the
/// frequency cap's).
pub fn belongs_to(problem: &str, field: &str) -> bool {
    problem == field
        || problem
            .strip_prefix(field)
            .is_some_and(|rest| rest.starts_with('[') || rest.starts_with('.'))
}

impl CampaignForm {
    /// The text of the field named `name` (empty when it has none).
    pub fn value(&self, name: &str) -> String {
        self.values.get(name).cloned().unwrap_or_default()
    }

    /// The messages to show beside the field named `name`.
    pub fn problems_of(&self, name: &str) -> Vec<String> {
        self.problems
            .iter()
            .filter(|p| belongs_to(&p.field, name))
            .map(|p| p.message.clone())
            .collect()
    }

    /// The field a problem is shown beside: the named field that holds it, or `None` when no
    /// field on the form does (the summary alone says it).
    pub fn field_of(&self, problem: &FieldProblem) -> Option<String> {
        FIELDS
            .iter()
            .map(|f| (*f).to_owned())
            .chain((0..self.creative_rows).flat_map(|row| {
                CREATIVE_FIELDS
                    .iter()
                    .map(move |field| creative_field(row, field))
            }))
            .find(|f| belongs_to(&problem.field, f))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_land_beside_the_field_that_holds_them() {
        let form = CampaignForm {
            problems: vec![
                FieldProblem::new("targeting.countries[2]", "two capital letters"),
                FieldProblem::new("frequency_cap.count", "1 to 10000"),
                FieldProblem::new("creatives[1].w", "1 to 4096 pixels"),
                FieldProblem::new("creatives", "at most 50"),
            ],
            creative_rows: 2,
            ..CampaignForm::default()
        };
        assert_eq!(
            form.problems_of("targeting.countries"),
            ["two capital letters"]
        );
        assert!(form.problems_of("targeting.countries_x").is_empty());
        assert_eq!(form.problems_of("frequency_cap"), ["1 to 10000"]);
        assert_eq!(form.problems_of("creatives[1].w"), ["1 to 4096 pixels"]);
        assert!(form.problems_of("creatives[0].w").is_empty());
        assert_eq!(
            form.field_of(&form.problems[2]).as_deref(),
            Some("creatives[1].w")
        );
        assert_eq!(form.field_of(&form.problems[3]), None, "only the summary");
        assert_eq!(input_id("creatives[1].w"), "f-creatives-1--w");
    }
}
