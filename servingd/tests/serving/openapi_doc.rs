//! servingd's OpenAPI document holds what servingd does: every endpoint it serves is there, with
//! a summary and a description; the example request wins a bid whose body matches the
//! documented BidResponse; the tracking and operations endpoints answer with statuses the
//! document lists, their bodies matching the documented schemas.

use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::helpers::{Platform, fixture};

/// Panics unless `value` matches `schema` (resolved in `document`).
fn assert_valid(document: &Value, schema: &Value, value: &Value, what: &str) {
    let mut rooted = schema.clone();
    rooted["components"] = document["components"].clone();
    let validator = jsonschema::validator_for(&rooted)
        .unwrap_or_else(|e| panic!("{what}: not a valid schema: {e}"));
    let errors: Vec<String> = validator
        .iter_errors(value)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{what}: {errors:#?}\n{value:#}");
}

/// Checks an answer against the document: its status is listed for the operation, and a JSON
/// body matches the schema given for that status.
fn assert_documented(document: &Value, path: &str, method: &str, status: StatusCode, body: &Value) {
    let response = &document["paths"][path][method]["responses"][status.as_str()];
    assert!(
        response.is_object(),
        "{method} {path} answered {status}, which the document does not list"
    );
    if let Some((_, content)) = response["content"]
        .as_object()
        .and_then(|c| c.iter().find(|(media, _)| media.contains("json")))
    {
        let what = format!("{method} {path} {status}");
        assert_valid(document, &content["schema"], body, &what);
        assert_valid(
            document,
            &content["schema"],
            &content["example"],
            &format!("{what}'s example"),
        );
    }
}

#[sqlx::test(migrator = "ledger::MIGRATOR")]
async fn the_document_describes_what_servingd_answers(pool: PgPool) {
    let mut platform = Platform::start(pool).await;
    let campaign = platform.active_campaign(json!({})).await;
    platform.wait_indexed(campaign).await;
    let http = reqwest::Client::new();
    let get = |path: String| {
        let http = http.clone();
        async move {
            let reply = http.get(&path).send().await.expect("answer");
            let status = reply.status();
            let location = reply.headers().get("location").cloned();
            let text = reply.text().await.unwrap_or_default();
            let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
            (status, body, location)
        }
    };
    let (status, document, _) = get(format!("{}/openapi.json", platform.serving)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        document["openapi"]
            .as_str()
            .unwrap_or("")
            .starts_with("3.1")
    );
    let mut paths: Vec<&str> = document["paths"]
        .as_object()
        .expect("paths")
        .keys()
        .map(String::as_str)
        .collect();
    paths.sort();
    assert_eq!(
        paths,
        [
            "/healthz",
            "/metrics",
            "/openapi.json",
            "/openrtb2/auction",
            "/readyz",
            "/t/click",
            "/t/imp"
        ]
    );
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("item") {
            let summary = operation["summary"].as_str().unwrap_or_default();
            assert!(
                !summary.is_empty() && summary.len() <= 80,
                "{method} {path}"
            );
            assert!(operation["description"].is_string(), "{method} {path}");
        }
    }

    // the documented example request, answered with a documented bid
    let example = &document["paths"]["/openrtb2/auction"]["post"]["requestBody"]["content"]["application/json"]
        ["example"];
    assert_eq!(
        example,
        &serde_json::from_str::<Value>(&fixture("simple-banner.json")).expect("json")
    );
    let bid = platform.bid_until_won(&example.to_string()).await;
    assert_documented(&document, "/openrtb2/auction", "post", StatusCode::OK, &bid);
    let (status, _, body) = platform.bid(r#"{"id": "r", "imp": []}"#).await;
    assert_documented(&document, "/openrtb2/auction", "post", status, &body);
    let (status, _, body) = platform.bid_as(None, &example.to_string()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_documented(&document, "/openrtb2/auction", "post", status, &body);

    // the bid's billing URL, then tokens that are missing or not ours
    let burl = bid["seatbid"][0]["bid"][0]["burl"]
        .as_str()
        .expect("burl")
        .to_owned();
    let (status, body, _) = get(burl).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_documented(&document, "/t/imp", "get", status, &body);
    let (status, body, _) = get(format!("{}/t/imp", platform.serving)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_documented(&document, "/t/imp", "get", status, &body);
    let (status, body, _) = get(format!(
        "{}/t/click?t=AAAA.BBBB&u=https%3A%2F%2Fexample.com%2F",
        platform.serving
    ))
    .await;
    assert!(status.is_client_error(), "{status}");
    assert_documented(&document, "/t/click", "get", status, &body);

    for path in ["/healthz", "/readyz", "/metrics"] {
        let (status, body, _) = get(format!("{}{path}", platform.serving)).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_documented(&document, path, "get", status, &body);
    }
    platform.stop().await;
}
