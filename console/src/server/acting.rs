//! Staff choose the advertiser they work as (a plain form on the advertisers' page): the choice
//! is a cookie, checked at the API first (the advertiser must exist and be visible to them).

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::api::{self, ApiFailure};
use super::forms::{self, Forms};
use super::session::{self, ACTING_COOKIE};

/// `POST /advertisers/switch` with `advertiser_id`: work as that advertiser, then its overview.
pub async fn switch(State(forms): State<Forms>, request: Request) -> Response {
    let posted = match forms::signed_in_post(&forms, request, 16 * 1024).await {
        Ok(posted) => posted,
        Err(refused) => return refused,
    };
    let Ok(id) = uuid::Uuid::parse_str(posted.field("advertiser_id")) else {
        return (StatusCode::BAD_REQUEST, "Choose an advertiser.").into_response();
    };
    let path = format!("/api/v1/advertisers/{id}");
    match api::get::<serde_json::Value>(&forms.api.0, &posted.token, &path).await {
        Ok(_) => {
            let cookie =
                session::set_cookie(ACTING_COOKIE, &id.to_string(), 86_400, forms.secure_cookies);
            forms::see_other("/", vec![cookie])
        }
        Err(ApiFailure::SignedOut) => forms::signed_out(&forms),
        Err(_) => forms::see_other("/advertisers?refused=1", Vec::new()),
    }
}
