//! A campaign's status actions, each behind a confirmation (a disclosure that opens the form:
//! it works without JavaScript), and the notice the page shows after one.

use domain::campaign::Campaign;
use domain::campaign_status::{Action, Status, transition};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::pages::csrf_field::CsrfField;

/// Each action: its name in the form, the button's words, what it does.
const ACTIONS: [(Action, &str, &str, &str); 4] = [
    (
        Action::Activate,
        "activate",
        "Activate",
        "The campaign starts serving on its schedule; its budget is held from your funds.",
    ),
    (
        Action::Pause,
        "pause",
        "Pause",
        "The campaign stops serving until it is resumed.",
    ),
    (
        Action::Resume,
        "resume",
        "Resume",
        "The campaign serves again on its schedule.",
    ),
    (
        Action::Archive,
        "archive",
        "Archive",
        "The campaign stops for good and can no longer be changed.",
    ),
];

/// The actions `status` allows (those that change it).
pub fn actions_for(status: Status) -> Vec<(&'static str, &'static str, &'static str)> {
    ACTIONS
        .iter()
        .filter(|(action, ..)| transition(status, *action).is_ok_and(|to| to != status))
        .map(|(_, name, button, what)| (*name, *button, *what))
        .collect()
}

/// The status actions of `campaign`.
pub fn status_actions(campaign: &Campaign) -> impl IntoView + use<> {
    let target = format!("/campaigns/{}/status", campaign.id.0);
    let name = campaign.spec.name.clone();
    view! {
        <section aria-labelledby="actions-heading">
            <h2 id="actions-heading">"Actions"</h2>
            {actions_for(campaign.status)
                .into_iter()
                .map(|(action, button, what)| {
                    let name = name.clone();
                    view! {
                        <details class="confirm">
                            <summary>{format!("{button}...")}</summary>
                            <form method="post" action=target.clone()>
                                <CsrfField/>
                                <p>{what}</p>
                                <input type="hidden" name="action" value=action/>
                                <button type="submit">{format!("{button} \u{201c}{name}\u{201d}")}</button>
                            </form>
                        </details>
                    }
                })
                .collect_view()}
        </section>
    }
}

/// What the last action did, from the page's query (`done`, `shortfall`, `refused`): words of
/// the console's own, so a crafted link cannot put text on the page.
#[component]
pub fn ActionNotice(currency: String) -> impl IntoView {
    let query = use_query_map();
    move || {
        let q = query.read();
        let said = |key: &str| {
            q.get(key)
                .filter(|v| ACTIONS.iter().any(|(_, name, ..)| name == v) || v == "saved")
        };
        let (class, text) = if let Some(done) = said("done") {
            let past = match done.as_str() {
                "activate" => "activated",
                "pause" => "paused",
                "resume" => "resumed",
                "archive" => "archived",
                _ => "saved",
            };
            ("notice", format!("The campaign is {past}."))
        } else if let Some(shortfall) = q
            .get("shortfall")
            .and_then(|s| s.parse::<domain::Amount>().ok())
        {
            (
                "problem-summary",
                format!(
                    "Not activated: your funds fall short by {shortfall} {currency}. Add funds, then activate again."
                ),
            )
        } else if q.get("refused").as_deref() == Some("role") {
            (
                "problem-summary",
                "Your role does not change campaigns; nothing changed.".to_owned(),
            )
        } else if let Some(action) = said("refused") {
            (
                "problem-summary",
                format!("The campaign cannot {action} in its present status."),
            )
        } else if said("unavailable").is_some() {
            (
                "problem-summary",
                "The platform is unavailable; nothing changed. Try again in a moment.".to_owned(),
            )
        } else {
            return None;
        };
        Some(view! { <p class=class role="status">{text}</p> })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_status_offers_the_actions_that_change_it() {
        let names = |s| {
            actions_for(s)
                .into_iter()
                .map(|(n, ..)| n)
                .collect::<Vec<_>>()
        };
        assert_eq!(names(Status::Draft), ["activate", "archive"]);
        assert_eq!(names(Status::Active), ["pause"]);
        assert_eq!(names(Status::Paused), ["resume", "archive"]);
        assert_eq!(names(Status::Exhausted), ["resume", "archive"]);
        assert_eq!(names(Status::Ended), ["archive"]);
        assert!(names(Status::Archived).is_empty());
    }
}
