//! The campaign list's page from all the advertiser's campaigns (pure): filtered by status and
//! name, sorted, cut to a page.

use std::cmp::Reverse;

use domain::campaign::{BidKind, Campaign};

use crate::campaign_list::{CampaignList, CampaignRow, ListQuery, PER_PAGE};

/// The page `query` asks for of `campaigns` (oldest first, as the API lists them).
pub fn page(campaigns: Vec<Campaign>, query: ListQuery) -> CampaignList {
    let words: Vec<String> = query
        .search
        .to_lowercase()
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    let mut matching: Vec<Campaign> = campaigns
        .into_iter()
        .filter(|c| query.status.is_empty() || c.status.as_str() == query.status)
        .filter(|c| {
            let name = c.spec.name.to_lowercase();
            words.iter().all(|w| name.contains(w.as_str()))
        })
        .collect();
    match query.sort.as_str() {
        "name" => matching.sort_by_cached_key(|c| c.spec.name.to_lowercase()),
        "status" => matching.sort_by_key(|c| c.status.as_str()),
        // the highest first; a campaign without a daily budget last
        "budget" => matching.sort_by_key(|c| Reverse(c.spec.budget.daily)),
        _ => {}
    }
    let count = matching.len();
    let pages = count.div_ceil(PER_PAGE).max(1);
    let page = query.page.clamp(1, pages);
    let rows = matching
        .into_iter()
        .skip((page - 1) * PER_PAGE)
        .take(PER_PAGE)
        .map(|c| CampaignRow {
            id: c.id.0.to_string(),
            name: c.spec.name.clone(),
            status: c.status.as_str().to_owned(),
            daily: c.spec.budget.daily.map(|a| a.as_decimal().to_string()),
            lifetime: c.spec.budget.lifetime.map(|a| a.as_decimal().to_string()),
            bid: format!(
                "{} {}",
                c.spec.bid.amount.as_decimal(),
                match c.spec.bid.kind {
                    BidKind::Cpm => "CPM",
                    BidKind::Cpc => "CPC",
                }
            ),
            currency: c.currency.to_string(),
        })
        .collect();
    CampaignList {
        query: ListQuery { page, ..query },
        rows,
        matching: count,
        pages,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn campaign(name: &str, status: &str, daily: Option<&str>) -> Campaign {
        serde_json::from_value(serde_json::json!({
            "id": uuid::Uuid::now_v7(), "advertiser_id": uuid::Uuid::nil(), "status": status,
            "currency": "EUR", "revision": 1, "created_at": "2026-11-30T00:00:00Z",
            "updated_at": "2026-11-30T00:00:00Z", "name": name,
            "schedule": {"start": "2026-12-01T00:00:00Z", "time_zone": "UTC"},
            "budget": {"daily": daily, "lifetime": "1000"},
            "bid": {"kind": "cpm", "amount": "2"}, "pacing": "even",
            "targeting": {}, "frequency_cap": null, "creatives": [],
        }))
        .expect("a campaign")
    }

    #[test]
    fn the_list_is_filtered_searched_sorted_and_paged() {
        let mut all = vec![
            campaign("Winter boots", "active", Some("50")),
            campaign("Summer hats", "paused", Some("75.5")),
            campaign("winter coats", "active", None),
        ];
        all.extend((0..120).map(|i| campaign(&format!("Filler {i}"), "draft", Some("1"))));
        let query = |status: &str, q: &str, sort: &str, page: usize| ListQuery {
            status: status.into(),
            search: q.into(),
            sort: sort.into(),
            page,
        };
        let winter = page(all.clone(), query("", "WINTER", "name", 1));
        let names: Vec<&str> = winter.rows.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["Winter boots", "winter coats"], "any case, by name");
        let active = page(all.clone(), query("active", "", "budget", 1));
        assert_eq!(active.rows[0].name, "Winter boots", "a budget before none");
        assert_eq!(active.rows[0].daily.as_deref(), Some("50.000000"));
        assert_eq!(active.rows[0].bid, "2.000000 CPM");
        let budget = page(all.clone(), query("", "", "budget", 1));
        assert_eq!(budget.rows[0].name, "Summer hats", "the highest first");
        let last = page(all.clone(), query("draft", "", "created", 99));
        assert_eq!((last.matching, last.pages), (120, 3));
        assert_eq!(last.query.page, 3, "past the end is the last page");
        assert_eq!(last.rows.len(), 20);
        assert_eq!(last.rows[0].name, "Filler 100", "oldest first");
        let none = page(all, query("", "nothing like it", "created", 1));
        assert_eq!((none.matching, none.pages, none.rows.len()), (0, 1, 0));
    }

    #[test]
    fn a_query_from_the_url_keeps_only_choices() {
        let q = ListQuery::from_url(
            Some("bogus".into()),
            Some("  a&b c ".into()),
            Some("drop table".into()),
            Some("0".into()),
        );
        assert_eq!(q.status, "");
        assert_eq!(q.sort, "created");
        assert_eq!(q.page, 1);
        assert_eq!(q.url(2), "/campaigns?sort=created&page=2&q=a%26b%20c");
        let q = ListQuery::from_url(
            Some("paused".into()),
            None,
            Some("name".into()),
            Some("3".into()),
        );
        assert_eq!(q.url(3), "/campaigns?sort=name&page=3&status=paused");
    }
}
