//! The campaigns' data: the list, one campaign, the campaign form.

use domain::campaign::Campaign;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::campaign_form::CampaignForm;
use crate::campaign_list::{CampaignList, ListQuery};
#[cfg(feature = "ssr")]
use crate::data::{advertiser_scope, signed_in_get};

/// What the campaign form's page shows: the campaign being edited (none for a new one) and the
/// form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FormPage {
    pub editing: Option<Campaign>,
    pub form: CampaignForm,
    /// The advertiser the form is for (sent with it: a form shown for one advertiser never
    /// acts on another).
    pub advertiser_id: String,
}

/// A page of the acting advertiser's campaigns as `query` asks (every campaign of theirs is
/// read from the API, 500 a call, then filtered, sorted and cut here: the browser gets one
/// page).
#[server]
pub async fn load_campaign_list(query: ListQuery) -> Result<CampaignList, ServerFnError> {
    #[derive(serde::Deserialize)]
    struct Page {
        items: Vec<Campaign>,
        next_cursor: Option<String>,
    }
    // the page sends a query it read with `from_url`; a call of this function from elsewhere is
    // read the same way
    let query = ListQuery::from_url(
        Some(query.status),
        Some(query.search),
        Some(query.sort),
        Some(query.page.to_string()),
    );
    let advertiser = advertiser_scope().await?;
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/api/v1/campaigns?limit=500&advertiser_id={advertiser}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let Some(page) = signed_in_get::<Page>(&path).await? else {
            break;
        };
        all.extend(page.items);
        match page.next_cursor {
            Some(next) if uuid::Uuid::parse_str(&next).is_ok() => cursor = Some(next),
            _ => break,
        }
    }
    Ok(crate::server::campaign_list::page(all, query))
}

/// One of the signed-in advertiser's campaigns; `None` when there is no such campaign (or it is
/// another advertiser's: the API answers 404 either way).
#[server]
pub async fn my_campaign(id: String) -> Result<Option<Campaign>, ServerFnError> {
    let Ok(id) = uuid::Uuid::parse_str(&id) else {
        return Ok(None);
    };
    signed_in_get(&format!("/api/v1/campaigns/{id}")).await
}

/// The campaign form: as it was posted when the console shows it again, else the campaign
/// `id`'s settings, else a new campaign's. `None` when `id` is not one of the advertiser's.
#[server]
pub async fn campaign_form_page(id: Option<String>) -> Result<Option<FormPage>, ServerFnError> {
    use crate::server::campaign_input;
    let editing = match id {
        None => None,
        Some(id) => match my_campaign(id).await? {
            Some(campaign) => Some(campaign),
            None => return Ok(None),
        },
    };
    let posted = use_context::<crate::server::forms::PostedForm>();
    let form = match (posted, &editing) {
        (Some(posted), _) => posted.0,
        (None, Some(campaign)) => {
            let values = campaign_input::values_of(&campaign.spec);
            CampaignForm {
                creative_rows: (campaign_input::creative_rows_in(&values) + 1)
                    .min(crate::campaign_form::MAX_CREATIVE_ROWS),
                values,
                ..CampaignForm::default()
            }
        }
        (None, None) => CampaignForm {
            values: campaign_input::blank_values(chrono::Utc::now()),
            creative_rows: 1,
            idempotency_key: crate::server::session::new_token(),
            ..CampaignForm::default()
        },
    };
    let advertiser_id = match &editing {
        Some(campaign) => campaign.advertiser_id.0.to_string(),
        None => advertiser_scope().await?.to_string(),
    };
    Ok(Some(FormPage {
        editing,
        form,
        advertiser_id,
    }))
}

/// What a campaign's page shows: the campaign and its performance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignView {
    pub campaign: Campaign,
    pub performance: crate::performance::Performance,
}

/// One of the acting advertiser's campaigns with its performance: today's pacing, 30 days by
/// day, its latest refunds. `None` when there is no such campaign of theirs.
#[server]
pub async fn load_campaign_view(id: String) -> Result<Option<CampaignView>, ServerFnError> {
    let Some(campaign) = my_campaign(id).await? else {
        return Ok(None);
    };
    let id = campaign.id.0;
    // to now (the API's default: a `to` written to the second would miss this second's ads)
    let from = chrono::Utc::now() - chrono::Duration::days(30);
    let report_path = format!(
        "/api/v1/campaigns/{id}/report?granularity=day&from={}",
        from.format("%Y-%m-%dT%H:%M:%SZ"),
    );
    let pacing_path = format!("/api/v1/campaigns/{id}/pacing");
    let refunds_path = format!("/api/v1/fraud/refunds?campaign_id={id}&limit=20");
    let (pacing, report, refunds) = tokio::join!(
        signed_in_get::<serde_json::Value>(&pacing_path),
        signed_in_get::<serde_json::Value>(&report_path),
        signed_in_get::<serde_json::Value>(&refunds_path),
    );
    let (pacing, report, refunds) = (
        pacing?.unwrap_or_default(),
        report?.unwrap_or_default(),
        refunds?.unwrap_or_default(),
    );
    let performance =
        crate::server::performance::build(campaign.status, &pacing, &report, &refunds);
    Ok(Some(CampaignView {
        campaign,
        performance,
    }))
}
