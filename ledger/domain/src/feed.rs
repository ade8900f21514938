//! The campaign feed: what `GET /api/v1/feed/campaigns` answers and servingd reads. A page is a
//! page of a snapshot (`since=0`: every campaign not archived, in pages) or the changes after
//! the caller's revision, each carrying the campaign as it was after it.
//!
//! The campaign type is a parameter so a reader can take each campaign on its own: servingd
//! reads a page with raw JSON campaigns and leaves out (and logs) any single campaign it cannot
//! read, instead of refusing the whole page.

use serde::{Deserialize, Serialize};

use crate::campaign::Campaign;

/// One change: the campaign as it was after it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FeedChange<C = Campaign> {
    pub revision: i64,
    pub campaign: C,
}

/// A snapshot or the changes after the caller's revision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FeedPage<C = Campaign> {
    /// The revision the caller has after applying this page; ask `since` it next.
    pub revision: i64,
    /// Whether `campaigns` is a full snapshot that replaces everything the caller had.
    pub snapshot: bool,
    /// The snapshot (empty unless `snapshot`).
    pub campaigns: Vec<C>,
    /// The changes after `since`, in order (empty for a snapshot).
    pub changes: Vec<FeedChange<C>>,
    /// Whether more changes, or more of the snapshot, follow right away.
    pub more: bool,
    /// A snapshot in pages: where its next page starts (ask `since=0&cursor=` it); the pages
    /// all hold the campaigns as of `revision` or later, so the changes after `revision` make
    /// them whole. Absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}
