//! Deposits and credits from the funds page (staff who move money: billing, admin): plain forms,
//! each sent once however often posted (its Idempotency-Key comes with the form).

use axum::extract::{Request, State};
use axum::response::Response;
use reqwest::Method;

use super::api::{self, ApiFailure};
use super::forms::{self, FormOwner, Forms};
use super::session;

/// `POST /funds/deposit`: money received from the advertiser.
pub async fn deposit(State(forms): State<Forms>, request: Request) -> Response {
    fund(forms, request, "deposit").await
}

/// `POST /funds/credit`: money the platform grants the advertiser.
pub async fn credit(State(forms): State<Forms>, request: Request) -> Response {
    fund(forms, request, "credit").await
}

async fn fund(forms: Forms, request: Request, kind: &str) -> Response {
    let posted = match forms::signed_in_post(&forms, request, 16 * 1024).await {
        Ok(posted) => posted,
        Err(refused) => return refused,
    };
    let advertiser = match posted.owner() {
        FormOwner::Acting(advertiser) => advertiser,
        FormOwner::Switched => return forms::see_other("/funds?refused=switched", Vec::new()),
        FormOwner::NoneChosen => return forms::see_other("/advertisers", Vec::new()),
    };
    let field = |name: &str| posted.field(name);
    let note = field("note");
    let body = serde_json::json!({
        "amount": field("amount"),
        "note": (!note.is_empty()).then_some(note),
    });
    let path = format!("/api/v1/advertisers/{advertiser}/{kind}s");
    // the form's key makes a second post of it a retry; a post without one (or with one that
    // is not a token of the console's shape) is its own
    let key = match field("idempotency_key") {
        key if (16..=64).contains(&key.len())
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
        {
            key.to_owned()
        }
        _ => session::new_token(),
    };
    let request = api::Request::new(Method::POST, &path)
        .json(&body)
        .header("Idempotency-Key", format!("console-{kind}-{key}"));
    let posted = api::send::<serde_json::Value>(&forms.api.0, Some(&posted.token), request).await;
    let outcome = match posted {
        Ok(_) => format!("done={kind}"),
        Err(ApiFailure::SignedOut) => return forms::signed_out(&forms),
        Err(ApiFailure::Invalid(problems)) if problems.iter().any(|p| p.field == "note") => {
            "refused=note".to_owned()
        }
        Err(ApiFailure::Invalid(_)) => "refused=amount".to_owned(),
        Err(ApiFailure::Refused(403, _)) => "refused=role".to_owned(),
        Err(ApiFailure::Refused(409, _)) => "refused=twice".to_owned(),
        Err(_) => "refused=unavailable".to_owned(),
    };
    forms::see_other(&format!("/funds?{outcome}"), Vec::new())
}
