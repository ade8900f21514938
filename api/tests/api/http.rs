//! What every response carries: problem+json errors with request ids, limits, CORS for the
//! console only, rate limits with Retry-After, metrics, and the OpenAPI document.

use api::auth::Role;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::json;
use sqlx::PgPool;
use tower::ServiceExt;

use crate::MIGRATOR;
use crate::helpers::{TestApp, settings};

/// A request that must fail: method, path, body, content type, expected status.
type BadRequest<'a> = (Method, &'a str, Option<String>, Option<&'a str>, StatusCode);

#[sqlx::test(migrator = "MIGRATOR")]
async fn every_error_is_problem_json_with_the_request_id(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let admin = app.token(Role::Admin, None);
    let too_big = "x".repeat(app.state.settings.body_limit_bytes + 1);
    let cases: Vec<BadRequest> = vec![
        (
            Method::GET,
            "/api/v1/nowhere",
            None,
            None,
            StatusCode::NOT_FOUND,
        ),
        (
            Method::DELETE,
            "/api/v1/campaigns",
            None,
            None,
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            Method::POST,
            "/api/v1/advertisers",
            Some(format!("{{\"name\": \"{too_big}\"}}")),
            Some("application/json"),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        (
            Method::POST,
            "/api/v1/advertisers",
            Some("name=x".into()),
            Some("text/plain"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            Method::POST,
            "/api/v1/advertisers",
            Some("{\"name\":".into()),
            Some("application/json"),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::POST,
            "/api/v1/advertisers",
            Some("{\"name\": 5}".into()),
            Some("application/json"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Method::POST,
            "/api/v1/advertisers",
            Some("{\"name\": \"\", \"currency\": \"euro\"}".into()),
            Some("application/json"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Method::POST,
            "/api/v1/advertisers",
            Some("{\"name\": \"Nul\\u0000Co\", \"currency\": \"EUR\"}".into()),
            Some("application/json"),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::POST,
            "/api/v1/auth/token",
            Some(
                "{\"grant_type\": \"password\", \"username\": \"a\\u0000\", \"password\": \"x\"}"
                    .into(),
            ),
            Some("application/json"),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::GET,
            "/api/v1/advertisers/00000000-0000-0000-0000-000000000000/statement?cursor=s1%00",
            None,
            None,
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::GET,
            "/api/v1/campaigns/not-a-uuid",
            None,
            None,
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::GET,
            "/api/v1/campaigns?limit=100000",
            None,
            None,
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::GET,
            "/api/v1/campaigns?colour=red",
            None,
            None,
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (method, path, body, content_type, expected) in cases {
        let mut request = Request::builder()
            .method(method.clone())
            .uri(path)
            .header("authorization", format!("Bearer {admin}"));
        if let Some(ct) = content_type {
            request = request.header("content-type", ct);
        }
        let request = request
            .body(body.map(Body::from).unwrap_or_else(Body::empty))
            .expect("request");
        let response = app.router.clone().oneshot(request).await.expect("response");
        assert_eq!(response.status(), expected, "{method} {path}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json",
            "{method} {path}"
        );
        let id = response.headers()["x-request-id"]
            .to_str()
            .expect("id")
            .to_owned();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .expect("body");
        let problem: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
        assert_eq!(problem["status"], expected.as_u16(), "{method} {path}");
        assert_eq!(problem["request_id"], id.as_str(), "{method} {path}");
        assert!(problem["title"].is_string() && problem["detail"].is_string());
    }
    // The invalid advertiser names both fields.
    let reply = app
        .post(
            "/api/v1/advertisers",
            &admin,
            json!({"name": "", "currency": "euro"}),
        )
        .await;
    let fields = reply.error_fields();
    assert_eq!(fields, ["name", "currency"]);
    // Nothing above was written.
    let advertisers: i64 = sqlx::query_scalar("select count(*) from advertisers")
        .fetch_one(&app.state.db)
        .await
        .expect("count");
    assert_eq!(advertisers, 0);
    // A request id the caller sent is kept.
    let reply = app
        .send(
            Method::GET,
            "/healthz",
            None,
            None,
            &[("x-request-id", "caller-chosen-1")],
        )
        .await;
    assert_eq!(reply.headers["x-request-id"], "caller-chosen-1");
    // ... when it is well formed: anything else is replaced by the server's own
    for bad in ["two words", "<b>markup</b>", &"x".repeat(129)] {
        let reply = app
            .send(
                Method::GET,
                "/healthz",
                None,
                None,
                &[("x-request-id", bad)],
            )
            .await;
        let shown = reply.headers["x-request-id"].to_str().expect("ascii");
        assert!(
            uuid::Uuid::try_parse(shown).is_ok(),
            "{bad:?} became {shown:?}"
        );
    }
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn campaign_fields_are_each_named_when_invalid(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let advertiser = app.advertiser("Fields").await;
    let me = app.token(Role::Advertiser, Some(advertiser));
    let mut body = crate::helpers::campaign_body();
    body["budget"] = json!({"daily": "-5"});
    body["bid"] = json!({"kind": "cpm", "amount": "0"});
    body["schedule"]["time_zone"] = json!("Nowhere/Land");
    body["creatives"][0]["click_url"] = json!("http://plain.example.com");
    let reply = app.post("/api/v1/campaigns", &me, body).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields = reply.error_fields();
    assert_eq!(
        fields,
        [
            "schedule.time_zone",
            "budget.daily",
            "bid.amount",
            "creatives[0].click_url"
        ]
    );
    let mut unknown = crate::helpers::campaign_body();
    unknown["status"] = json!("active");
    let reply = app.post("/api/v1/campaigns", &me, unknown).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        reply.str("detail").contains("invalid field")
            && reply.body["errors"][0]["message"]
                .as_str()
                .unwrap_or("")
                .contains("status")
    );
    let listed = app.get("/api/v1/campaigns", &me).await;
    assert_eq!(
        listed.body["items"].as_array().map(Vec::len),
        Some(0),
        "nothing was written"
    );
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn rate_limits_answer_429_with_retry_after_per_principal(pool: PgPool) {
    let mut s = settings();
    s.rate_limit_per_s = 1;
    s.rate_limit_burst = 5;
    let app = TestApp::with_settings(pool, s).await;
    let busy = app.token(Role::Admin, None);
    let mut statuses = Vec::new();
    for _ in 0..8 {
        let reply = app.get("/api/v1/advertisers", &busy).await;
        if reply.status == StatusCode::TOO_MANY_REQUESTS {
            let retry: u64 = reply.headers["retry-after"]
                .to_str()
                .expect("header")
                .parse()
                .expect("seconds");
            assert!((1..=2).contains(&retry), "retry after {retry}");
            assert_eq!(reply.headers["content-type"], "application/problem+json");
        }
        statuses.push(reply.status);
    }
    let limited = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert!((2..=3).contains(&limited), "{statuses:?}");
    let calm = app.token(Role::Admin, None);
    assert_eq!(
        app.get("/api/v1/advertisers", &calm).await.status,
        StatusCode::OK,
        "another principal is not limited"
    );
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn cors_admits_the_console_only_and_metrics_and_docs_are_served(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let preflight = |origin: &'static str| {
        let app = &app;
        async move {
            app.send(
                Method::OPTIONS,
                "/api/v1/campaigns",
                None,
                None,
                &[
                    ("origin", origin),
                    ("access-control-request-method", "POST"),
                ],
            )
            .await
        }
    };
    let console = preflight("https://console.example.test").await;
    assert_eq!(
        console
            .headers
            .get("access-control-allow-origin")
            .map(|v| v.to_str().unwrap_or("")),
        Some("https://console.example.test")
    );
    let stranger = preflight("https://evil.example.test").await;
    assert!(
        stranger
            .headers
            .get("access-control-allow-origin")
            .is_none()
    );

    let admin = app.token(Role::Admin, None);
    app.get("/api/v1/advertisers", &admin).await;
    let metrics = app.send(Method::GET, "/metrics", None, None, &[]).await;
    let text = metrics.body.as_str().unwrap_or_default();
    assert!(text.contains("http_requests_total"), "{text}");
    assert!(text.contains("route=\"/api/v1/advertisers\""), "{text}");

    let document = app
        .send(Method::GET, "/api/v1/openapi.json", None, None, &[])
        .await;
    assert!(
        document.body["openapi"]
            .as_str()
            .unwrap_or("")
            .starts_with("3.1")
    );
    let paths = document.body["paths"].as_object().expect("paths");
    for path in [
        "/api/v1/campaigns",
        "/api/v1/campaigns/{id}/activate",
        "/api/v1/feed/campaigns",
        "/api/v1/auth/token",
        "/api/v1/advertisers/{id}/deposits",
    ] {
        assert!(paths.contains_key(path), "{path} documented");
    }
    // the docs page loads nothing from elsewhere: its script comes from the API itself
    let docs = app.send(Method::GET, "/api/v1/docs", None, None, &[]).await;
    let page = docs.body.as_str().unwrap_or("");
    assert!(page.contains("/api/v1/openapi.json"), "{page}");
    let scripts: Vec<&str> = page
        .split("<script src=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .collect();
    assert_eq!(scripts, [api::openapi::DOCS_SCRIPT_PATH], "{page}");
    let script = app.send(Method::GET, scripts[0], None, None, &[]).await;
    assert_eq!(script.status, StatusCode::OK);
    assert_eq!(
        script.headers["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert!(
        script
            .body
            .as_str()
            .is_some_and(|js| js.len() > 500_000 && js.contains("Redoc")),
        "the whole bundle"
    );
}

/// `/metrics` read as Prometheus reads it: every family described, the request duration a
/// histogram with buckets (summaries cannot be added up across instances); `/readyz` says
/// whether PostgreSQL and Redis answer.
#[sqlx::test(migrator = "MIGRATOR")]
async fn metrics_are_described_and_readiness_names_the_dependency(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let admin = app.token(Role::Admin, None);
    app.get("/api/v1/advertisers", &admin).await;
    let metrics = app.send(Method::GET, "/metrics", None, None, &[]).await;
    let scraped = test_support::metrics::Scraped::parse(metrics.body.as_str().unwrap_or_default());
    scraped.assert_described("http_");
    let buckets = scraped.buckets("http_request_duration_seconds");
    assert!(
        buckets.contains(&0.005) && buckets.contains(&f64::INFINITY),
        "{buckets:?}"
    );

    let ready = app.send(Method::GET, "/readyz", None, None, &[]).await;
    assert_eq!(ready.status, StatusCode::OK);
    assert_eq!(
        ready.body,
        json!({"ready": true, "database": true, "redis": true})
    );
    app.state.db.close().await;
    let unready = app.send(Method::GET, "/readyz", None, None, &[]).await;
    assert_eq!(unready.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        (
            &unready.body["ready"],
            &unready.body["database"],
            &unready.body["redis"]
        ),
        (&json!(false), &json!(false), &json!(true))
    );
    assert_eq!(unready.body["detail"], "PostgreSQL does not answer");
    assert!(
        unready.body["request_id"].is_string(),
        "a problem like any other"
    );
}

/// With `ADPLAT_API_METRICS_ADDR`, `/metrics` is served there and nowhere beside the API.
#[sqlx::test(migrator = "MIGRATOR")]
async fn metrics_with_an_address_of_their_own_are_served_only_there(pool: PgPool) {
    let metrics_addr = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
        probe.local_addr().expect("addr")
    };
    let mut settings = crate::helpers::settings();
    settings.metrics_addr = Some(metrics_addr);
    let app = TestApp::with_settings(pool, settings).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let api_addr = listener.local_addr().expect("addr");
    tokio::spawn(api::server::serve(
        app.state.clone(),
        listener,
        std::future::pending(),
    ));
    let http = reqwest::Client::new();
    let get = |url: String| {
        let http = http.clone();
        async move {
            for _ in 0..50 {
                if let Ok(response) = http.get(&url).send().await {
                    return response;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            panic!("{url} never answered");
        }
    };
    let beside = get(format!("http://{api_addr}/metrics")).await;
    assert_eq!(beside.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        get(format!("http://{api_addr}/healthz")).await.status(),
        StatusCode::OK
    );
    let own = get(format!("http://{metrics_addr}/metrics")).await;
    assert_eq!(own.status(), StatusCode::OK);
    let text = own.text().await.expect("text");
    assert!(text.contains("# TYPE"), "{text}");
    assert_eq!(
        get(format!("http://{metrics_addr}/api/v1/advertisers"))
            .await
            .status(),
        StatusCode::NOT_FOUND,
        "nothing else there"
    );
}
