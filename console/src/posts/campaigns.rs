//! The campaign forms' posts (feature `ssr`; plain forms: they work without JavaScript): create,
//! edit, and the status actions. A form the API refuses is shown again as it was posted, each
//! problem beside its field (422); one it takes leads to the campaign's page.

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use domain::campaign::Campaign;
use reqwest::Method;
use uuid::Uuid;

use crate::campaign_form::{CampaignForm, FieldProblem, MAX_CREATIVE_ROWS};
use crate::server::api::{self, ApiFailure};
use crate::server::campaign_input;
use crate::server::forms::{self, FormOwner, Forms, PostedForm};

/// The largest form read (a campaign's creatives' markup included).
const FORM_LIMIT: usize = 2 * 1024 * 1024;

/// `POST /campaigns/new`: creates the campaign (once, however often the form is posted).
pub async fn create(State(forms): State<Forms>, request: Request) -> Response {
    submit(forms, request, None).await
}

/// `POST /campaigns/{id}/edit`: replaces the campaign's settings with the form's.
pub async fn edit(
    State(forms): State<Forms>,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    match Uuid::parse_str(&id) {
        Ok(id) => submit(forms, request, Some(id)).await,
        Err(_) => forms::see_other("/campaigns/not-a-campaign", Vec::new()),
    }
}

async fn submit(forms: Forms, request: Request, campaign: Option<Uuid>) -> Response {
    let posted = match forms::signed_in_post(&forms, request, FORM_LIMIT).await {
        Ok(posted) => posted,
        Err(refused) => return refused,
    };
    let idempotency_key = posted.field("idempotency_key").to_owned();
    let owner = posted.owner();
    let adds_a_creative = posted.pairs.iter().any(|(k, _)| k == "add_creative");
    let forms::Posted {
        parts,
        pairs,
        token,
    } = posted;
    let values = campaign_input::values_from_pairs(pairs);
    let shown =
        |problems: Vec<FieldProblem>, notice: Option<String>, extra_row: bool| CampaignForm {
            creative_rows: (campaign_input::creative_rows_in(&values).max(1)
                + usize::from(extra_row))
            .min(MAX_CREATIVE_ROWS),
            values: values.clone(),
            problems,
            notice,
            idempotency_key: idempotency_key.clone(),
        };
    if adds_a_creative {
        let form = shown(Vec::new(), None, true);
        return show_again(&forms, parts, form, StatusCode::OK).await;
    }
    let built = match campaign_input::build(&values) {
        Ok(built) => built,
        Err(problems) => {
            let form = shown(problems, None, false);
            return show_again(&forms, parts, form, StatusCode::UNPROCESSABLE_ENTITY).await;
        }
    };
    let mut body = built.body;
    if campaign.is_none() {
        // for the advertiser the form was shown for, still the acting one (an advertiser's own
        // person may only create its own: the API checks)
        match owner {
            FormOwner::Acting(advertiser) => body["advertiser_id"] = serde_json::json!(advertiser),
            FormOwner::NoneChosen => return forms::see_other("/advertisers", Vec::new()),
            FormOwner::Switched => {
                let notice = "You switched to another advertiser since this form was shown: \
                              check it, then send it again to create the campaign for the one \
                              you work as now.";
                let form = shown(Vec::new(), Some(notice.to_owned()), false);
                return show_again(&forms, parts, form, StatusCode::CONFLICT).await;
            }
        }
    }
    let saved = save(&forms, &token, campaign, &body, &idempotency_key).await;
    let (problems, notice) = match saved {
        Ok(c) => return forms::see_other(&format!("/campaigns/{}?done=saved", c.id.0), Vec::new()),
        Err(ApiFailure::SignedOut) => return forms::signed_out(&forms),
        Err(ApiFailure::Refused(404, _)) => {
            return forms::see_other("/campaigns/not-a-campaign", Vec::new());
        }
        Err(ApiFailure::Invalid(problems)) => (
            problems
                .into_iter()
                .map(|p| {
                    FieldProblem::new(
                        campaign_input::field_in_form(&p.field, &built.creative_rows),
                        p.message,
                    )
                })
                .collect(),
            None,
        ),
        Err(other) => (Vec::new(), Some(other.to_string())),
    };
    let form = shown(problems, notice, false);
    show_again(&forms, parts, form, StatusCode::UNPROCESSABLE_ENTITY).await
}

async fn save(
    forms: &Forms,
    token: &str,
    campaign: Option<Uuid>,
    body: &serde_json::Value,
    idempotency_key: &str,
) -> Result<Campaign, ApiFailure> {
    match campaign {
        None => {
            let mut request = api::Request::new(Method::POST, "/api/v1/campaigns").json(body);
            if !idempotency_key.is_empty() {
                request = request.header("Idempotency-Key", idempotency_key.to_owned());
            }
            api::send(&forms.api.0, Some(token), request).await
        }
        Some(id) => {
            let path = format!("/api/v1/campaigns/{id}");
            let request = api::Request::new(Method::PATCH, &path).merge_patch(body);
            api::send(&forms.api.0, Some(token), request).await
        }
    }
}

/// The status actions a form may ask for.
const ACTIONS: [&str; 4] = ["activate", "pause", "resume", "archive"];

/// `POST /campaigns/{id}/status` with `action`: runs it at the API, then back to the campaign's
/// page saying what happened (or what fell short).
pub async fn change_status(
    State(forms): State<Forms>,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    let posted = match forms::signed_in_post(&forms, request, 16 * 1024).await {
        Ok(posted) => posted,
        Err(refused) => return refused,
    };
    let action = ACTIONS
        .iter()
        .find(|known| **known == posted.field("action"));
    let (Ok(id), Some(action)) = (Uuid::parse_str(&id), action) else {
        return (StatusCode::BAD_REQUEST, "No such action.").into_response();
    };
    let path = format!("/api/v1/campaigns/{id}/{action}");
    let done = api::send::<Campaign>(
        &forms.api.0,
        Some(&posted.token),
        api::Request::new(Method::POST, &path),
    )
    .await;
    let page = format!("/campaigns/{id}");
    match done {
        Ok(_) => forms::see_other(&format!("{page}?done={action}"), Vec::new()),
        Err(ApiFailure::SignedOut) => forms::signed_out(&forms),
        Err(ApiFailure::ShortOfFunds(shortfall)) => {
            forms::see_other(&format!("{page}?shortfall={shortfall}"), Vec::new())
        }
        Err(ApiFailure::Refused(404, _)) => forms::see_other(&page, Vec::new()),
        Err(ApiFailure::Refused(403, _)) => {
            forms::see_other(&format!("{page}?refused=role"), Vec::new())
        }
        Err(ApiFailure::Unavailable(_)) => {
            forms::see_other(&format!("{page}?unavailable={action}"), Vec::new())
        }
        Err(_) => forms::see_other(&format!("{page}?refused={action}"), Vec::new()),
    }
}

/// The form's page, rendered again with what was posted.
async fn show_again(
    forms: &Forms,
    parts: http::request::Parts,
    form: CampaignForm,
    status: StatusCode,
) -> Response {
    super::render_again(forms, parts, status, move || {
        leptos::prelude::provide_context(PostedForm(form.clone()))
    })
    .await
}
