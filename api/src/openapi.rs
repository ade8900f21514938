//! The OpenAPI 3.1 document, generated from the routes and their types, and the interactive
//! docs page that renders it.

use axum::response::Html;
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
        (name = "fraud", description = "Known-bad traffic sources servingd neither bids for nor bills"),
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

/// `GET /api/v1/docs`: the interactive reference (Scalar), reading `/api/v1/openapi.json`.
pub async fn docs_page() -> Html<&'static str> {
    Html(DOCS_HTML)
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
  <script id="api-reference" data-url="/api/v1/openapi.json"></script>
  <script src="https://cdn.jsdelivr.net/npm/@scalar/api-reference"></script>
</body>
</html>
"#;

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
