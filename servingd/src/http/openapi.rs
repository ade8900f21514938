//! servingd's own OpenAPI 3.1 document, served at `/openapi.json`: the auction endpoint (its
//! OpenRTB 2.6 bodies referenced, not copied: the document names the fields servingd requires
//! and answers with and points at the specification for the rest), the tracking endpoints that
//! bill, and the operators' endpoints.

use serde_json::{Value, json};

/// The OpenRTB 2.6 specification, which defines the auction's bodies.
const OPENRTB: &str = "https://github.com/InteractiveAdvertisingBureau/openrtb2.x/blob/main/2.6.md";

/// A bid request servingd answers (the specification's simple banner example).
const REQUEST_EXAMPLE: &str = include_str!("../../tests/fixtures/openrtb/simple-banner.json");

/// The document, made once.
pub static DOCUMENT: std::sync::LazyLock<Value> = std::sync::LazyLock::new(document);

/// The document.
fn document() -> Value {
    let request_example: Value = serde_json::from_str(REQUEST_EXAMPLE).unwrap_or_default();
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "servingd",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The serving daemon: OpenRTB 2.6 bid requests answered within pacing, frequency caps and leased budget, and the tracking URLs its bids carry, which bill impressions and clicks. Errors are application/problem+json (RFC 9457).",
        },
        "servers": [{
            "url": "/",
            "description": "The origin this document was read from (scripts/demo: http://127.0.0.1:8090)",
        }],
        "externalDocs": {"description": "OpenRTB 2.6", "url": OPENRTB},
        "tags": [
            {"name": "auction", "description": "Bid requests from exchanges"},
            {"name": "tracking", "description": "The signed URLs in served ads: what bills"},
            {"name": "operations", "description": "Health, readiness, metrics, this document"},
        ],
        "paths": {
            "/openrtb2/auction": {"post": auction(request_example)},
            "/t/imp": {"get": tracking(
                "Record a billable impression",
                "Called by the exchange (the bid's burl) when the impression is billable. The token is verified, the source checked against the blocklist and its activity windows, and the event appended to the stream the ledger writer bills from, once: a repeat of the same token is answered the same and billed nothing. Open to anyone who holds a token servingd signed.",
                false,
                json!({"204": {
                    "description": "Recorded (or a repeat, or from a blocklisted source: answered the same, not billed)",
                    "headers": {},
                }}),
            )},
            "/t/click": {"get": tracking(
                "Record a click and go to the landing page",
                "The click URL in the ad's markup. The token is bound to the landing page u; the click is recorded as an impression is, then the browser is sent on. Open to anyone who holds a token servingd signed.",
                true,
                json!({"302": {
                    "description": "Recorded; on to the landing page",
                    "headers": {"Location": {
                        "description": "The landing page (u)",
                        "schema": {"type": "string", "format": "uri"},
                    }},
                }}),
            )},
            "/healthz": {"get": {
                "tags": ["operations"],
                "summary": "Whether the process answers",
                "description": "Answers as long as the process runs; asks nothing of Redis or PostgreSQL. For liveness probes.",
                "responses": {"200": {
                    "description": "The process answers",
                    "content": {"text/plain": {"schema": {"type": "string"}, "example": "ok"}},
                }},
            }},
            "/readyz": {"get": {
                "tags": ["operations"],
                "summary": "Whether it can serve",
                "description": "Ready once the campaign index is loaded and the budget controller's Redis and PostgreSQL answer. For load balancers.",
                "responses": {
                    "200": readiness("Ready", true),
                    "503": readiness("Not ready: the body says what is missing", false),
                },
            }},
            "/metrics": {"get": {
                "tags": ["operations"],
                "summary": "Prometheus metrics",
                "description": "Every family with HELP text and its unit; see docs/servingd.md for what to alert on.",
                "responses": {"200": {
                    "description": "The Prometheus text format",
                    "content": {"text/plain; version=0.0.4": {
                        "schema": {"type": "string"},
                        "example": "# HELP servingd_requests_total Bid requests answered, by outcome (bid, no_bid, shed, invalid).\n# TYPE servingd_requests_total counter\nservingd_requests_total{outcome=\"bid\"} 1200\n",
                    }},
                }},
            }},
            "/openapi.json": {"get": {
                "tags": ["operations"],
                "summary": "This document",
                "description": "servingd's OpenAPI 3.1 document.",
                "responses": {"200": {
                    "description": "The document",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                }},
            }},
        },
        "components": {
            "securitySchemes": {
                "partner": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A supply partner's credential (sp_...), made with POST /api/v1/partners of the admin API",
                },
            },
            "schemas": {
                "BidRequest": bid_request(),
                "BidResponse": bid_response(),
                "Problem": problem(),
            },
            "headers": {
                "OpenRtbVersion": {
                    "description": "The OpenRTB version servingd speaks",
                    "schema": {"type": "string", "const": "2.6"},
                },
            },
        },
    })
}

fn auction(request_example: Value) -> Value {
    let version = json!({"x-openrtb-version": {"$ref": "#/components/headers/OpenRtbVersion"}});
    json!({
        "tags": ["auction"],
        "operationId": "auction",
        "summary": "Answer a bid request",
        "description": "One seat, at most one bid per impression, priced by a second-price auction among the eligible campaigns (targeting, schedule, pacing, frequency caps, budget on hand). No bid is a 204. Under load servingd sheds the requests worth least first, answering them with no bid. Only configured supply partners are answered: each sends its credential as a bearer token; the partner's price ceiling bounds the clearing price, and a request with `test: 1` is answered but its events are never billed.",
        "security": [{"partner": []}],
        "requestBody": {
            "required": true,
            "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/BidRequest"},
                "example": request_example,
            }},
        },
        "responses": {
            "200": {
                "description": "A bid on one or more impressions",
                "headers": version,
                "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/BidResponse"},
                    "example": bid_response_example(),
                }},
            },
            "204": {"description": "No bid", "headers": version},
            "401": problem_response("No credential of an active supply partner trading in the auction currency", json!([])),
            "400": problem_response("The body is not a valid bid request; errors name each field", json!([
                {"field": "imp[0].banner.w", "message": "an integer from 1 to 10000"},
            ])),
            "413": problem_response("The body is larger than the limit", json!([])),
            "500": problem_response("Server fault", json!([])),
        },
    })
}

/// A tracking endpoint: its token (and for a click, the landing page) and what it answers.
fn tracking(summary: &str, description: &str, landing: bool, answered: Value) -> Value {
    let mut parameters = vec![json!({
        "name": "t", "in": "query", "required": true,
        "description": "The tracking token servingd signed into the ad (campaign, lease, price, expiry)",
        "schema": {"type": "string"},
    })];
    if landing {
        parameters.push(json!({
            "name": "u", "in": "query", "required": true,
            "description": "The landing page the token is bound to",
            "schema": {"type": "string", "format": "uri"},
        }));
    }
    let mut responses = answered;
    for (status, description) in [
        ("400", "t (or u) missing or malformed"),
        (
            "403",
            "A token servingd did not sign, or for another endpoint or landing page; or the partner that sold the ad refuses it (disabled, another currency, a billing URL from outside its networks, a price above its ceiling)",
        ),
        ("410", "The token has expired"),
        (
            "503",
            "The event could not be recorded now; the caller should retry",
        ),
    ] {
        responses[status] = problem_response(description, json!([]));
    }
    json!({
        "tags": ["tracking"],
        "summary": summary,
        "description": description,
        "parameters": parameters,
        "responses": responses,
    })
}

fn readiness(description: &str, ready: bool) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {
            "schema": {
                "type": "object",
                "required": ["index_loaded", "index_revision", "budget_reachable", "feed_staleness_s"],
                "properties": {
                    "index_loaded": {"type": "boolean"},
                    "index_revision": {"type": "integer"},
                    "budget_reachable": {"type": "boolean"},
                    "feed_staleness_s": {"type": "number", "description": "Seconds since the feed last answered"},
                },
            },
            "example": {
                "index_loaded": true, "index_revision": 42, "budget_reachable": ready,
                "feed_staleness_s": 0.4,
            },
        }},
    })
}

fn problem_response(description: &str, errors: Value) -> Value {
    json!({
        "description": description,
        "content": {"application/problem+json": {
            "schema": {"$ref": "#/components/schemas/Problem"},
            "example": {
                "type": "about:blank", "title": "Bad Request", "status": 400,
                "detail": "the bid request is invalid", "errors": errors,
            },
        }},
    })
}

/// The fields servingd requires of a bid request; the rest is OpenRTB 2.6's.
fn bid_request() -> Value {
    json!({
        "type": "object",
        "description": "An OpenRTB 2.6 BidRequest. servingd requires an id and at least one impression with a banner, video or native object; it reads site or app, device, user, regs and pmp as the specification defines them, and ignores what it does not use.",
        "externalDocs": {"url": format!("{OPENRTB}#31---object-bidrequest-")},
        "required": ["id", "imp"],
        "properties": {
            "id": {"type": "string", "minLength": 1},
            "imp": {
                "type": "array", "minItems": 1,
                "items": {
                    "type": "object",
                    "description": "An OpenRTB 2.6 Imp",
                    "externalDocs": {"url": format!("{OPENRTB}#32---object-imp-")},
                    "required": ["id"],
                    "properties": {"id": {"type": "string"}},
                },
            },
            "cur": {"type": "array", "items": {"type": "string"}},
        },
    })
}

/// What servingd answers with: one seat, a bid per impression it bids on.
fn bid_response() -> Value {
    let text = json!({"type": "string"});
    json!({
        "type": "object",
        "description": "An OpenRTB 2.6 BidResponse with one seat.",
        "externalDocs": {"url": format!("{OPENRTB}#41---object-bidresponse-")},
        "required": ["id", "bidid", "cur", "seatbid"],
        "properties": {
            "id": {"type": "string", "description": "The request's id"},
            "bidid": text,
            "cur": {"type": "string", "description": "The currency of every price"},
            "seatbid": {"type": "array", "minItems": 1, "maxItems": 1, "items": {
                "type": "object",
                "required": ["seat", "bid"],
                "properties": {
                    "seat": text,
                    "bid": {"type": "array", "minItems": 1, "items": {
                        "type": "object",
                        "required": ["id", "impid", "price", "adm", "burl", "adomain", "cid", "crid"],
                        "properties": {
                            "id": text, "impid": text,
                            "price": {"type": "number", "description": "CPM in the response's currency"},
                            "adm": {"type": "string", "description": "The creative's markup, its click URL pointing at /t/click"},
                            "burl": {"type": "string", "description": "The billing URL: /t/imp with the signed token"},
                            "adomain": {"type": "array", "items": text},
                            "cid": text, "crid": text, "dealid": text,
                            "w": {"type": "integer"}, "h": {"type": "integer"},
                        },
                    }},
                },
            }},
        },
    })
}

fn bid_response_example() -> Value {
    json!({
        "id": "80ce30c53c16e6ede735f123ef6e32361bfc7b22",
        "bidid": "0193a5f0-0000-7000-8000-0000000000b1",
        "cur": "USD",
        "seatbid": [{"seat": "adplat", "bid": [{
            "id": "0193a5f0-0000-7000-8000-0000000000b2",
            "impid": "1",
            "price": 2.0,
            "adm": "<a href=\"https://ads.example/t/click?t=TOKEN&u=https%3A%2F%2Facme.example%2Fboots\"><img src=\"https://cdn.acme.example/boots-300x250.png\" width=\"300\" height=\"250\"></a>",
            "burl": "https://ads.example/t/imp?t=TOKEN",
            "adomain": ["acme.example"],
            "cid": "0193a5f0-0000-7000-8000-00000000c001",
            "crid": "boots-300x250",
            "w": 300, "h": 250,
        }]}],
    })
}

fn problem() -> Value {
    json!({
        "type": "object",
        "description": "An RFC 9457 problem",
        "required": ["type", "title", "status", "detail"],
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "errors": {"type": "array", "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            }},
        },
    })
}
