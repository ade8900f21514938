//! The OpenAPI document holds what it promises: a one-line summary and a description with the
//! roles for every operation, the headers every response carries, an example beside every
//! body that its schema accepts, and request examples the running API takes, its answers
//! matching the schemas the document gives them.

use api::auth::Role;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::MIGRATOR;
use crate::helpers::TestApp;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// Panics unless `value` is valid against the document's schema `name`.
fn assert_valid(document: &Value, name: &str, value: &Value, what: &str) {
    let schema = json!({
        "$ref": format!("#/components/schemas/{name}"),
        "components": document["components"],
    });
    let validator = jsonschema::validator_for(&schema)
        .unwrap_or_else(|e| panic!("{name} is not a valid schema: {e}"));
    let errors: Vec<String> = validator
        .iter_errors(value)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what} is not a valid {name}: {errors:#?}\n{value:#}"
    );
}

/// Each operation: (method, path, operation).
fn operations(document: &Value) -> Vec<(String, String, Value)> {
    let mut found = Vec::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            if METHODS.contains(&method.as_str()) {
                found.push((method.clone(), path.clone(), operation.clone()));
            }
        }
    }
    found
}

#[test]
fn every_operation_is_summarised_and_says_who_may_call_it() {
    let document = api::openapi_document();
    assert_eq!(document["servers"][0]["url"], "/");
    for (method, path, operation) in operations(&document) {
        let summary = operation["summary"].as_str().unwrap_or_default();
        let description = operation["description"].as_str().unwrap_or_default();
        assert!(
            !summary.is_empty() && !summary.contains('\n') && summary.len() <= 80,
            "{method} {path}: summary {summary:?}"
        );
        assert!(
            !summary.contains("Roles"),
            "{method} {path}: roles in the summary"
        );
        assert!(
            description.contains("Roles: ") || description.starts_with("Open to anyone"),
            "{method} {path}: description {description:?}"
        );
    }
}

#[test]
fn every_response_declares_its_headers_and_every_body_has_an_example_its_schema_accepts() {
    let document = api::openapi_document();
    let mut examples = 0;
    for (method, path, operation) in operations(&document) {
        let mut contents = Vec::new();
        if let Some(content) = operation["requestBody"]["content"].as_object() {
            contents.extend(content.values().cloned());
        }
        for (status, response) in operation["responses"].as_object().expect("responses") {
            assert_eq!(
                response["headers"]["x-request-id"]["$ref"], "#/components/headers/RequestId",
                "{method} {path} {status}"
            );
            if status == "429" {
                assert_eq!(
                    response["headers"]["Retry-After"]["$ref"], "#/components/headers/RetryAfter",
                    "{method} {path} 429"
                );
            }
            if let Some(content) = response["content"].as_object() {
                contents.extend(content.values().cloned());
            }
        }
        for content in contents {
            let schema = &content["schema"];
            let example = &content["example"];
            assert!(
                !example.is_null(),
                "{method} {path}: a body without an example"
            );
            let (name, value) = match (schema["$ref"].as_str(), schema["items"]["$ref"].as_str()) {
                (Some(name), _) => (name, example.clone()),
                (None, Some(name)) => (name, example[0].clone()),
                _ => panic!("{method} {path}: a body without a named schema: {schema}"),
            };
            let name = name.trim_start_matches("#/components/schemas/");
            assert_valid(
                &document,
                name,
                &value,
                &format!("{method} {path}'s example"),
            );
            examples += 1;
        }
    }
    assert!(examples > 100, "{examples} examples checked");
}

/// The request examples work against the real API, and what it answers is what the document's
/// schemas describe.
#[sqlx::test(migrator = "MIGRATOR")]
async fn the_examples_are_taken_and_the_answers_match_their_schemas(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let document = api::openapi_document();
    let examples: std::collections::HashMap<&str, Value> =
        api::openapi::examples::all().into_iter().collect();
    let admin = app.token(Role::Admin, None);
    let created = app
        .post(
            "/api/v1/advertisers",
            &admin,
            examples["NewAdvertiser"].clone(),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:#}", created.body);
    assert_valid(
        &document,
        "Advertiser",
        &created.body,
        "POST /advertisers' answer",
    );
    let advertiser = created.str("id");

    let billing = app.token(Role::Billing, None);
    let deposit = app
        .send(
            Method::POST,
            &format!("/api/v1/advertisers/{advertiser}/deposits"),
            Some(&billing),
            Some(examples["Funding"].clone()),
            &[("idempotency-key", "example-deposit-1")],
        )
        .await;
    assert_eq!(deposit.status, StatusCode::CREATED, "{:#}", deposit.body);
    assert_valid(&document, "Posting", &deposit.body, "a deposit's answer");

    let mut campaign = examples["NewCampaign"].clone();
    campaign["advertiser_id"] = json!(advertiser);
    let created = app.post("/api/v1/campaigns", &admin, campaign).await;
    assert_eq!(created.status, StatusCode::CREATED, "{:#}", created.body);
    assert_valid(
        &document,
        "Campaign",
        &created.body,
        "POST /campaigns' answer",
    );
    let patched = app
        .send(
            Method::PATCH,
            &format!("/api/v1/campaigns/{}", created.str("id")),
            Some(&admin),
            Some(examples["CampaignPatch"].clone()),
            &[("content-type", "application/merge-patch+json")],
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{:#}", patched.body);
    assert_eq!(patched.body["budget"]["daily"], "75.000000");
    assert_eq!(patched.body["pacing"], "accelerated");

    for (path, schema) in [
        (
            format!("/api/v1/advertisers/{advertiser}/balance"),
            "Balance",
        ),
        (
            format!("/api/v1/advertisers/{advertiser}/statement"),
            "StatementPage",
        ),
        ("/api/v1/campaigns".to_owned(), "CampaignPage"),
    ] {
        let reply = app.get(&path, &admin).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {:#}", reply.body);
        assert_valid(&document, schema, &reply.body, &path);
    }
    let problem = app
        .post(
            "/api/v1/advertisers",
            &admin,
            json!({"name": "", "currency": "usd"}),
        )
        .await;
    assert_valid(&document, "Problem", &problem.body, "a problem");
}
