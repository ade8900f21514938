//! The OpenAPI 3.1 document, generated from the routes and their types, and the interactive
//! docs page that renders it.

use axum::response::Html;
use utoipa::openapi::OpenApi as Document;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
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
