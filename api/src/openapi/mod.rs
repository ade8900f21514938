//! The OpenAPI 3.1 document, generated from the routes and their types and completed here (the
//! answers every operation can give, closed inputs, the headers every response carries, an
//! example of every body: [`examples`]), and the interactive docs page that renders it.

pub mod examples;

use axum::response::Html;
use serde_json::{Value, json};
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as Document, Ref};
use utoipa::{Modify, OpenApi};

/// The document's fixed parts; paths and schemas are added by the routers.
#[derive(OpenApi)]
#[openapi(
    info(title = "adplat admin API", description = "Advertisers, campaigns, funding, reports and the campaign feed. Every error is application/problem+json (RFC 9457); every response carries x-request-id."),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Sign-in"),
        (name = "advertisers", description = "Advertisers, their users and API keys"),
        (name = "campaigns", description = "Campaigns and their status"),
        (name = "funding", description = "Deposits, credits, balances, statements"),
        (name = "reports", description = "Delivery and spend"),
        (name = "feed", description = "The campaign feed for servingd"),
        (name = "partners", description = "Supply partners (exchanges): who may ask servingd for ads, their credentials, and the rules the events of their ads are held to"),
        (name = "fraud", description = "Known-bad traffic sources servingd neither bids for nor bills, and invalid-traffic refunds"),
        (name = "budget", description = "The budget controller's Redis state beside the ledger's, and its reconciliation"),
        (name = "system", description = "servingd's heartbeats and the platform's status for operators"),
        (name = "audit", description = "The hash-chained audit trail and its verification"),
        (name = "admin", description = "Staff users and keys"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut Document) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// Adds the answers any operation can give, where it does not document them itself: a malformed
/// path, query or body (400), too many requests (429) and a server fault (500); and for
/// operations that take a body, one too large (413) or not JSON (415). Handlers document the
/// answers that belong to them; these come from the extractors and the layers around them.
pub fn with_common_responses(mut document: Document) -> Document {
    for item in document.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ];
        for operation in operations.into_iter().flatten() {
            let mut common = vec![
                ("400", "Malformed path, query or body"),
                ("429", "Too many requests; see Retry-After"),
                ("500", "Server fault (the request id finds it in the logs)"),
            ];
            if operation.request_body.is_some() {
                common.push(("413", "Body too large"));
                common.push(("415", "Body is not JSON"));
            }
            for (status, description) in common {
                operation
                    .responses
                    .responses
                    .entry(status.to_owned())
                    .or_insert_with(|| problem_response(description).into());
            }
        }
    }
    closed_inputs(document)
}

/// The schemas of what advertisers write, whose unknown fields the API refuses
/// ([`crate::http::json::strictly`]): the document says so (`additionalProperties: false`). The
/// types themselves ignore unknown fields, for readers of the campaigns the API sends.
const CLOSED_INPUTS: &[&str] = &[
    "CampaignInput",
    "BudgetInput",
    "BidInput",
    "Schedule",
    "DayPart",
    "Targeting",
    "Size",
    "FrequencyCap",
    "Creative",
];

fn closed_inputs(mut document: Document) -> Document {
    use utoipa::openapi::RefOr;
    use utoipa::openapi::schema::{AdditionalProperties, Schema};
    let Some(components) = document.components.as_mut() else {
        return document;
    };
    for name in CLOSED_INPUTS {
        if let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(*name) {
            object.additional_properties = Some(Box::new(AdditionalProperties::FreeForm(false)));
        }
    }
    document
}

fn problem_response(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/problem+json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .build()
}

/// `GET /api/v1/docs`: the interactive reference (Redoc), reading `/api/v1/openapi.json`. Its
/// script is served by the API itself ([`docs_script`]), so the page works without internet.
pub async fn docs_page() -> Html<&'static str> {
    Html(DOCS_HTML)
}

/// Where the docs page's script is served.
pub const DOCS_SCRIPT_PATH: &str = "/api/v1/docs/redoc-2.5.4.standalone.js";

/// Redoc's standalone bundle (MIT, `assets/redoc-LICENSE`), built into the binary.
const DOCS_SCRIPT: &[u8] = include_bytes!("../../assets/redoc-2.5.4.standalone.js");

/// `GET` [`DOCS_SCRIPT_PATH`]: the docs page's script; its name carries its version, so it is
/// cached for a day.
pub async fn docs_script() -> impl axum::response::IntoResponse {
    use axum::http::header;
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=86400, immutable"),
        ],
        DOCS_SCRIPT,
    )
}

const DOCS_HTML: &str = r#"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>adplat admin API</title>
  <meta name="viewport" content="width=device-width, initial-scale=1">
</head>
<body>
  <noscript>The interactive reference needs JavaScript; the document itself is at
    <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>.</noscript>
  <redoc spec-url="/api/v1/openapi.json"></redoc>
  <script src="/api/v1/docs/redoc-2.5.4.standalone.js"></script>
</body>
</html>
"#;

/// The document as published: [`with_common_responses`]' document, then the parts utoipa's
/// types do not hold well: the server, the headers every response carries, the statement and
/// merge-patch bodies' schemas, and an example beside every body.
pub fn published(document: Document) -> Value {
    let mut document = serde_json::to_value(with_common_responses(document)).unwrap_or_default();
    document["servers"] = json!([{
        "url": "/",
        "description": "The origin this document was read from (scripts/demo: http://127.0.0.1:8080)",
    }]);
    let components = &mut document["components"];
    components["headers"] = json!({
        "RequestId": {
            "description": "This request's id: the caller's x-request-id if it sent a well-formed one (1 to 128 letters, digits and -_.:), else the server's own UUID. Problems repeat it as request_id; the logs are searched by it; the audit trail records the server's id with the caller's beside it.",
            "schema": {"type": "string"},
        },
        "RetryAfter": {
            "description": "Seconds to wait before the next request is admitted.",
            "schema": {"type": "integer", "minimum": 1},
        },
    });
    components["schemas"]["StatementPage"] = statement_schema();
    components["schemas"]["CampaignPatch"] = patch_schema(&components["schemas"]["CampaignInput"]);
    let examples: serde_json::Map<String, Value> = examples::all()
        .into_iter()
        .map(|(name, example)| (name.to_owned(), example))
        .collect();
    let Some(paths) = document["paths"].as_object_mut() else {
        return document;
    };
    for operation in paths.values_mut().filter_map(Value::as_object_mut) {
        for (method, operation) in operation.iter_mut() {
            if !["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                continue;
            }
            let request = operation
                .get_mut("requestBody")
                .and_then(|body| body.get_mut("content"));
            for (media_type, content) in
                request.and_then(Value::as_object_mut).into_iter().flatten()
            {
                complete_body(media_type, content, &examples);
            }
            let Some(responses) = operation
                .get_mut("responses")
                .and_then(Value::as_object_mut)
            else {
                continue;
            };
            for (status, response) in responses.iter_mut() {
                let headers = &mut response["headers"];
                headers["x-request-id"] = json!({"$ref": "#/components/headers/RequestId"});
                if status == "429" {
                    headers["Retry-After"] = json!({"$ref": "#/components/headers/RetryAfter"});
                }
                let contents = response.get_mut("content").and_then(Value::as_object_mut);
                for (media_type, content) in contents.into_iter().flatten() {
                    complete_body(media_type, content, &examples);
                }
            }
        }
    }
    document
}

/// Gives a body without a schema of its own (a merge patch, the ledger's statement) its schema,
/// and every body its example.
fn complete_body(media_type: &str, content: &mut Value, examples: &serde_json::Map<String, Value>) {
    if content["schema"] == json!({}) {
        let name = match media_type {
            "application/merge-patch+json" => "CampaignPatch",
            _ => "StatementPage",
        };
        content["schema"] = json!({"$ref": format!("#/components/schemas/{name}")});
    }
    let schema = &content["schema"];
    let (name, array) = match (schema["$ref"].as_str(), schema["items"]["$ref"].as_str()) {
        (Some(name), _) => (name, false),
        (None, Some(name)) => (name, true),
        _ => return,
    };
    let name = name.trim_start_matches("#/components/schemas/");
    if let Some(example) = examples.get(name) {
        content["example"] = if array {
            json!([example])
        } else {
            example.clone()
        };
    }
}

/// A campaign merge patch (RFC 7386): any of the settings, each replacing the one there; `null`
/// removes an optional one.
fn patch_schema(input: &Value) -> Value {
    let mut patch = input.clone();
    if let Some(object) = patch.as_object_mut() {
        object.remove("required");
        object.insert(
            "description".into(),
            json!("A JSON merge patch (RFC 7386) over the campaign's settings: the fields given replace the campaign's, null removes an optional one, objects merge."),
        );
    }
    patch
}

/// A page of an advertiser's cash statement, as the ledger writes it.
fn statement_schema() -> Value {
    let money = json!({"type": "string", "description": "A decimal amount, six places"});
    let id = json!({"type": "string", "format": "uuid"});
    let account = json!({"type": "integer", "description": "A ledger account's number"});
    let optional_id = json!({"type": ["string", "null"], "format": "uuid"});
    json!({
        "type": "object",
        "description": "One page of the advertiser's cash account statement, oldest first.",
        "required": ["account", "lines"],
        "properties": {
            "account": {
                "type": "object",
                "description": "The cash account as it is now.",
                "required": ["id", "owner", "currency", "credit_limit", "posted", "reserved", "incoming"],
                "properties": {
                    "id": account,
                    "owner": {
                        "type": "object",
                        "required": ["kind", "advertiser"],
                        "properties": {
                            "kind": {"const": "advertiser_cash"},
                            "advertiser": id,
                        },
                    },
                    "currency": {"type": "string"},
                    "credit_limit": money, "posted": money, "reserved": money, "incoming": money,
                },
            },
            "lines": {"type": "array", "items": {
                "type": "object",
                "required": ["transfer", "change", "balance"],
                "properties": {
                    "transfer": {
                        "type": "object",
                        "required": ["id", "seq", "debit", "credit", "amount", "currency", "kind", "references", "posted_at"],
                        "properties": {
                            "id": id, "seq": {"type": "integer"}, "debit": account, "credit": account,
                            "amount": money, "currency": {"type": "string"},
                            "kind": {"type": "string"},
                            "references": {"type": "object", "properties": {
                                "advertiser": optional_id, "campaign": optional_id,
                                "event": {"type": ["string", "null"]}, "lease": optional_id,
                            }},
                            "metadata": {},
                            "pending": optional_id,
                            "posted_at": {"type": "string", "format": "date-time"},
                        },
                    },
                    "change": {"type": "string", "description": "What the transfer did to the account: positive in, negative out"},
                    "balance": {"type": "string", "description": "The posted balance right after it"},
                },
            }},
            "next": {"type": ["string", "null"], "description": "The cursor of the next page; null on the last"},
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What advertisers write is documented as closed, as the API holds it; the campaign the API
    /// sends is open, as its readers take it.
    #[test]
    fn inputs_are_closed_and_the_campaign_sent_is_open() {
        let document = serde_json::to_value(crate::openapi_document()).expect("json");
        let schemas = &document["components"]["schemas"];
        for name in CLOSED_INPUTS {
            assert_eq!(
                schemas[*name]["additionalProperties"],
                serde_json::json!(false),
                "{name}"
            );
        }
        assert!(schemas["CampaignSpec"]["additionalProperties"].is_null());
    }
}
