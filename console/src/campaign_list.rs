//! The campaign list's query (status filter, search, sort, page) as the page's URL carries it,
//! and one page of rows as the server sends them (both halves).

use serde::{Deserialize, Serialize};

/// Rows a page shows.
pub const PER_PAGE: usize = 50;

/// How the list is sorted.
pub const SORTS: [(&str, &str); 4] = [
    ("created", "Oldest first"),
    ("name", "Name"),
    ("status", "Status"),
    ("budget", "Daily budget, highest first"),
];

/// Status filter choices (`""`: all).
pub const STATUSES: [(&str, &str); 7] = [
    ("", "All"),
    ("draft", "Draft"),
    ("active", "Active"),
    ("paused", "Paused"),
    ("exhausted", "Exhausted"),
    ("ended", "Ended"),
    ("archived", "Archived"),
];

/// What the list is asked for: each field as the URL's query has it, checked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListQuery {
    /// One of [`STATUSES`] (empty: all).
    pub status: String,
    /// Words the name must contain (any case).
    pub search: String,
    /// One of [`SORTS`].
    pub sort: String,
    /// From 1.
    pub page: usize,
}

impl ListQuery {
    /// The query from the URL's `status`, `q`, `sort` and `page`: what is not a choice is
    /// dropped (an unknown status is all, an unknown sort the first).
    pub fn from_url(
        status: Option<String>,
        q: Option<String>,
        sort: Option<String>,
        page: Option<String>,
    ) -> Self {
        let status = status
            .filter(|s| STATUSES.iter().any(|(v, _)| v == s))
            .unwrap_or_default();
        let sort = sort
            .filter(|s| SORTS.iter().any(|(v, _)| v == s))
            .unwrap_or_else(|| SORTS[0].0.to_owned());
        ListQuery {
            status,
            search: q.unwrap_or_default().trim().chars().take(200).collect(),
            sort,
            page: page.and_then(|p| p.parse().ok()).unwrap_or(1).max(1),
        }
    }

    /// The URL of page `page` of this query.
    pub fn url(&self, page: usize) -> String {
        let mut url = format!("/campaigns?sort={}&page={page}", self.sort);
        if !self.status.is_empty() {
            url.push_str(&format!("&status={}", self.status));
        }
        if !self.search.is_empty() {
            url.push_str("&q=");
            for byte in self.search.bytes() {
                if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
                    url.push(char::from(byte));
                } else {
                    url.push_str(&format!("%{byte:02X}"));
                }
            }
        }
        url
    }
}

/// A campaign as the list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignRow {
    pub id: String,
    pub name: String,
    pub status: String,
    pub daily: Option<String>,
    pub lifetime: Option<String>,
    pub bid: String,
    pub currency: String,
}

/// One page of the list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignList {
    pub query: ListQuery,
    pub rows: Vec<CampaignRow>,
    /// Campaigns that match, on every page.
    pub matching: usize,
    /// Pages of them (at least 1).
    pub pages: usize,
}
