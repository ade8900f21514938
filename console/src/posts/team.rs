//! The team page's forms (feature `ssr`): add a person who signs in, create an API key (its
//! secret shown on the page this once, never in a URL, a cookie or a log), revoke a key.

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use reqwest::Method;
use serde_json::{Value, json};

use crate::server::api::{self, ApiFailure};
use crate::server::forms::{self, FormOwner, Forms, NewApiKey, Posted};

/// The form's advertiser's path at the API (`/api/v1/advertisers/{id}/{rest}`), or whose the
/// form is not.
fn at_api(posted: &Posted, rest: &str) -> Result<String, FormOwner> {
    match posted.owner() {
        FormOwner::Acting(id) => Ok(format!("/api/v1/advertisers/{id}/{rest}")),
        other => Err(other),
    }
}

/// Where a form that is no longer the acting advertiser's leads.
fn elsewhere(owner: FormOwner) -> Response {
    match owner {
        FormOwner::NoneChosen => forms::see_other("/advertisers", Vec::new()),
        _ => forms::see_other("/team?refused=switched", Vec::new()),
    }
}

/// What a refusal says on the team page.
fn refused(failure: ApiFailure, forms: &Forms, default: &str) -> Response {
    let said = match failure {
        ApiFailure::SignedOut => return forms::signed_out(forms),
        ApiFailure::Invalid(problems) => problems
            .first()
            .map_or(default.to_owned(), |p| p.field.clone()),
        ApiFailure::Refused(403, _) => "role".to_owned(),
        ApiFailure::Refused(409, _) => "taken".to_owned(),
        _ => "unavailable".to_owned(),
    };
    let said: String = said
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    forms::see_other(&format!("/team?refused={said}"), Vec::new())
}

/// `POST /team/users` with `username` and `password`: another person who signs in.
pub async fn add_user(State(forms): State<Forms>, request: Request) -> Response {
    let posted = match forms::signed_in_post(&forms, request, 16 * 1024).await {
        Ok(posted) => posted,
        Err(refused) => return refused,
    };
    let path = match at_api(&posted, "users") {
        Ok(path) => path,
        Err(owner) => return elsewhere(owner),
    };
    let body = json!({"username": posted.field("username"), "password": posted.raw("password")});
    let request = api::Request::new(Method::POST, &path).json(&body);
    match api::send::<Value>(&forms.api.0, Some(&posted.token), request).await {
        Ok(_) => forms::see_other("/team?done=user", Vec::new()),
        Err(failure) => refused(failure, &forms, "username"),
    }
}

/// `POST /team/keys` with `name`: a new API key, its secret shown on the page this once.
pub async fn create_key(State(forms): State<Forms>, request: Request) -> Response {
    let posted = match forms::signed_in_post(&forms, request, 16 * 1024).await {
        Ok(posted) => posted,
        Err(refused) => return refused,
    };
    let path = match at_api(&posted, "api-keys") {
        Ok(path) => path,
        Err(owner) => return elsewhere(owner),
    };
    let body = json!({"name": posted.field("name")});
    let request = api::Request::new(Method::POST, &path).json(&body);
    match api::send::<Value>(&forms.api.0, Some(&posted.token), request).await {
        Ok(created) => {
            let key = NewApiKey {
                name: created["name"].as_str().unwrap_or_default().to_owned(),
                secret: created["api_key"].as_str().unwrap_or_default().to_owned(),
            };
            super::render_again(&forms, posted.parts, StatusCode::OK, move || {
                leptos::prelude::provide_context(key.clone())
            })
            .await
        }
        Err(failure) => refused(failure, &forms, "name"),
    }
}

/// `POST /team/keys/{key_id}/revoke`: the key stops working.
pub async fn revoke_key(
    State(forms): State<Forms>,
    Path(key_id): Path<String>,
    request: Request,
) -> Response {
    let posted = match forms::signed_in_post(&forms, request, 16 * 1024).await {
        Ok(posted) => posted,
        Err(refused) => return refused,
    };
    let Ok(key_id) = uuid::Uuid::parse_str(&key_id) else {
        return forms::see_other("/team?refused=key", Vec::new());
    };
    let path = match at_api(&posted, &format!("api-keys/{key_id}")) {
        Ok(path) => path,
        Err(owner) => return elsewhere(owner),
    };
    let request = api::Request::new(Method::DELETE, &path);
    match api::send::<Value>(&forms.api.0, Some(&posted.token), request).await {
        Ok(_) => forms::see_other("/team?done=revoked", Vec::new()),
        Err(ApiFailure::Refused(404, _)) => forms::see_other("/team?refused=key", Vec::new()),
        Err(failure) => refused(failure, &forms, "key"),
    }
}
