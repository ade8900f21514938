//! The role × endpoint matrix: every endpoint called as every role and anonymously, and every
//! advertiser-scoped object asked for by another advertiser (404: ids leak nothing).

use api::auth::Role;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use crate::MIGRATOR;
use crate::helpers::{TestApp, campaign_body};

/// What an endpoint acts on, made fresh for each call so that calls do not disturb each other.
#[derive(Clone, Copy)]
enum Target {
    Nothing,
    Draft,
    Active,
    Paused,
    Key,
    /// A device on the blocklist (its id in the `{key}` slot).
    Blocked,
    /// One of the advertiser's users, created by an operator (its id in the `{key}` slot).
    User,
    /// No verification of the audit chain running (one at a time).
    NoVerificationRunning,
    /// A finished verification of the audit chain (its id in the `{key}` slot).
    Verification,
}

struct Case {
    method: Method,
    /// `{adv}`, `{campaign}` and `{key}` are filled in.
    path: &'static str,
    roles: &'static [Role],
    body: fn() -> Option<Value>,
    target: Target,
    ok: StatusCode,
}

const ALL: &[Role] = &Role::ALL;
const STAFF_READ: &[Role] = &[Role::Advertiser, Role::Operator, Role::Billing, Role::Admin];
const WRITE: &[Role] = &[Role::Advertiser, Role::Operator, Role::Admin];

fn none() -> Option<Value> {
    None
}

fn cases() -> Vec<Case> {
    use Target::*;
    let c = |method: Method, path, roles, body: fn() -> Option<Value>, target, ok| Case {
        method,
        path,
        roles,
        body,
        target,
        ok,
    };
    vec![
        c(
            Method::POST,
            "/api/v1/advertisers",
            &[Role::Operator, Role::Admin],
            || Some(json!({"name": format!("adv {}", Uuid::now_v7()), "currency": "EUR"})),
            Nothing,
            StatusCode::CREATED,
        ),
        c(
            Method::GET,
            "/api/v1/advertisers",
            STAFF_READ,
            none,
            Nothing,
            StatusCode::OK,
        ),
        c(
            Method::GET,
            "/api/v1/advertisers/{adv}",
            STAFF_READ,
            none,
            Nothing,
            StatusCode::OK,
        ),
        c(
            Method::POST,
            "/api/v1/advertisers/{adv}/users",
            WRITE,
            || {
                Some(
                    json!({"username": format!("u{}", Uuid::now_v7().simple()), "password": "twelve chars!"}),
                )
            },
            Nothing,
            StatusCode::CREATED,
        ),
        c(
            Method::GET,
            "/api/v1/advertisers/{adv}/users",
            WRITE,
            none,
            Nothing,
            StatusCode::OK,
        ),
        c(
            Method::POST,
            "/api/v1/advertisers/{adv}/api-keys",
            WRITE,
            || Some(json!({"name": "ci"})),
            Nothing,
            StatusCode::CREATED,
        ),
        c(
            Method::GET,
            "/api/v1/advertisers/{adv}/api-keys",
            WRITE,
            none,
            Nothing,
            StatusCode::OK,
        ),
        c(
            Method::DELETE,
            "/api/v1/advertisers/{adv}/api-keys/{key}",
            WRITE,
            none,
            Key,
            StatusCode::NO_CONTENT,
        ),
        c(
            Method::POST,
            "/api/v1/advertisers/{adv}/deposits",
            &[Role::Billing, Role::Admin],
            || Some(json!({"amount": "10"})),
            Nothing,
            StatusCode::CREATED,
        ),
        c(
            Method::POST,
            "/api/v1/advertisers/{adv}/credits",
            &[Role::Billing, Role::Admin],
            || Some(json!({"amount": "1"})),
            Nothing,
            StatusCode::CREATED,
        ),
        c(
            Method::GET,
            "/api/v1/advertisers/{adv}/balance",
            STAFF_READ,
            none,
            Nothing,
            StatusCode::OK,
        ),
        c(
            Method::GET,
            "/api/v1/advertisers/{adv}/statement",
            STAFF_READ,
            none,
            Nothing,
            StatusCode::OK,
        ),
        c(
            Method::POST,
            "/api/v1/campaigns",
            WRITE,
            || Some(campaign_body()),
            Nothing,
            StatusCode::CREATED,
        ),
        c(
            Method::GET,
            "/api/v1/campaigns",
            STAFF_READ,
            none,
            Nothing,
            StatusCode::OK,
        ),
        c(
            Method::GET,
            "/api/v1/campaigns/{campaign}",
            STAFF_READ,
            none,
            Draft,
            StatusCode::OK,
        ),
        c(
            Method::PATCH,
            "/api/v1/campaigns/{campaign}",
            WRITE,
            || Some(json!({"name": "Renamed"})),
            Draft,
            StatusCode::OK,
        ),
        c(
            Method::POST,
            "/api/v1/campaigns/{campaign}/activate",
            WRITE,
            none,
            Draft,
            StatusCode::OK,
        ),
        c(
            Method::POST,
            "/api/v1/campaigns/{campaign}/pause",
            WRITE,
            none,
            Active,
            StatusCode::OK,
        ),
        c(
            Method::POST,
            "/api/v1/campaigns/{campaign}/resume",
            WRITE,
            none,
            Paused,
            StatusCode::OK,
        ),
        c(
            Method::POST,
            "/api/v1/campaigns/{campaign}/archive",
            WRITE,
            none,
            Paused,
            StatusCode::OK,
        ),
        c(
            Method::GET,
            "/api/v1/campaigns/{campaign}/report",
            STAFF_READ,
            none,
            Active,
            StatusCode::OK,
        ),
        c(
            Method::GET,
            "/api/v1/feed/campaigns?since=0",
            &[Role::Service, Role::Admin],
            none,
            Nothing,
            StatusCode::OK,
        ),
        c(
            Method::POST,
            "/api/v1/users",
            &[Role::Admin],
            || {
                Some(
                    json!({"username": format!("s{}", Uuid::now_v7().simple()), "password": "twelve chars!", "role": "billing"}),
                )
            },
            Nothing,
            StatusCode::CREATED,
        ),
        c(
            Method::POST,
            "/api/v1/api-keys",
            &[Role::Admin],
            || Some(json!({"name": "svc", "role": "service"})),
            Nothing,
            StatusCode::CREATED,
        ),
        c(
            Method::POST,
            "/api/v1/auth/token",
            ALL,
            || {
                Some(
                    json!({"grant_type": "password", "username": "nobody.at.all", "password": "wrong password"}),
                )
            },
            Nothing,
            StatusCode::UNAUTHORIZED,
        ),
        c(
            Method::GET,
            "/api/v1/openapi.json",
            ALL,
            none,
            Nothing,
            StatusCode::OK,
        ),
        c(
            Method::GET,
            "/api/v1/fraud/blocklist",
            &[Role::Operator, Role::Billing, Role::Admin],
            none,
            Nothing,
            StatusCode::OK,
        ),
        c(
            Method::GET,
            "/api/v1/partners",
            &[Role::Operator, Role::Billing, Role::Admin],
            none,
            Nothing,
            StatusCode::OK,
        ),
        c(
            Method::POST,
            "/api/v1/partners",
            &[Role::Admin],
            || Some(json!({"name": format!("x{}", Uuid::now_v7().simple()), "currency": "USD"})),
            Nothing,
            StatusCode::CREATED,
        ),
        c(
            Method::POST,
            "/api/v1/fraud/blocklist",
            &[Role::Operator, Role::Admin],
            || {
                Some(
                    json!({"entries": [{"kind": "device", "value": Uuid::now_v7().to_string(), "reason": "test"}]}),
                )
            },
            Nothing,
            StatusCode::OK,
        ),
        c(
            Method::DELETE,
            "/api/v1/fraud/blocklist/device/{key}",
            &[Role::Operator, Role::Admin],
            none,
            Blocked,
            StatusCode::NO_CONTENT,
        ),
        c(
            Method::GET,
            "/api/v1/audit",
            STAFF_READ,
            none,
            Nothing,
            StatusCode::OK,
        ),
        c(
            Method::POST,
            "/api/v1/audit/verifications",
            &[Role::Operator, Role::Billing, Role::Admin],
            || Some(json!({"full": true})),
            NoVerificationRunning,
            StatusCode::ACCEPTED,
        ),
        c(
            Method::GET,
            "/api/v1/audit/verifications/{key}",
            &[Role::Operator, Role::Billing, Role::Admin],
            none,
            Verification,
            StatusCode::OK,
        ),
        c(
            Method::GET,
            "/api/v1/campaigns/{campaign}/pacing",
            STAFF_READ,
            none,
            Active,
            StatusCode::OK,
        ),
        c(
            Method::GET,
            "/api/v1/budget/status?campaign_id={campaign}",
            &[Role::Operator, Role::Billing, Role::Admin],
            none,
            Active,
            StatusCode::OK,
        ),
        c(
            Method::POST,
            "/api/v1/budget/reconcile",
            &[Role::Operator, Role::Billing, Role::Admin],
            || Some(json!({"repair": false})),
            Nothing,
            StatusCode::OK,
        ),
        c(
            Method::GET,
            "/api/v1/reports/today",
            STAFF_READ,
            none,
            Nothing,
            StatusCode::OK,
        ),
        c(
            Method::GET,
            "/api/v1/fraud/refunds",
            STAFF_READ,
            none,
            Nothing,
            StatusCode::OK,
        ),
        c(
            Method::POST,
            "/api/v1/servingd/heartbeat",
            &[Role::Service, Role::Admin],
            || {
                Some(
                    json!({"instance": "serving-1:8080", "revision": 0, "campaigns": 0,
                            "feed_staleness_ms": 0, "started_at": "2026-11-30T00:00:00Z"}),
                )
            },
            Nothing,
            StatusCode::NO_CONTENT,
        ),
        c(
            Method::GET,
            "/api/v1/system/status",
            &[Role::Operator, Role::Billing, Role::Admin],
            none,
            Nothing,
            StatusCode::OK,
        ),
        c(
            Method::PATCH,
            "/api/v1/users/{key}",
            &[Role::Admin],
            || Some(json!({"disabled": true})),
            User,
            StatusCode::OK,
        ),
        c(
            Method::PUT,
            "/api/v1/users/{key}/password",
            &[Role::Admin],
            || Some(json!({"password": "another long passphrase"})),
            User,
            StatusCode::NO_CONTENT,
        ),
        c(
            Method::DELETE,
            "/api/v1/users/{key}",
            &[Role::Admin],
            none,
            User,
            StatusCode::NO_CONTENT,
        ),
        // an advertiser's own people manage only the users they created (see users.rs)
        c(
            Method::PATCH,
            "/api/v1/advertisers/{adv}/users/{key}",
            &[Role::Operator, Role::Admin],
            || Some(json!({"disabled": true})),
            User,
            StatusCode::OK,
        ),
        c(
            Method::DELETE,
            "/api/v1/advertisers/{adv}/users/{key}",
            &[Role::Operator, Role::Admin],
            none,
            User,
            StatusCode::NO_CONTENT,
        ),
        c(Method::GET, "/healthz", ALL, none, Nothing, StatusCode::OK),
        c(Method::GET, "/metrics", ALL, none, Nothing, StatusCode::OK),
    ]
}

/// Makes the target of a call, owned by `advertiser`; returns (campaign, key) ids.
async fn make(app: &TestApp, target: Target, advertiser: Uuid) -> (Uuid, Uuid) {
    let operator = app.token(Role::Operator, None);
    let campaign = match target {
        Target::Draft | Target::Active | Target::Paused => {
            app.campaign(advertiser, json!({"lifetime": "1"})).await
        }
        _ => Uuid::nil(),
    };
    if matches!(target, Target::Active | Target::Paused) {
        let r = app
            .post(
                &format!("/api/v1/campaigns/{campaign}/activate"),
                &operator,
                json!({}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    if matches!(target, Target::Paused) {
        let r = app
            .post(
                &format!("/api/v1/campaigns/{campaign}/pause"),
                &operator,
                json!({}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    let key = match target {
        Target::Key => {
            let r = app
                .post(
                    &format!("/api/v1/advertisers/{advertiser}/api-keys"),
                    &operator,
                    json!({"name": "k"}),
                )
                .await;
            Uuid::parse_str(&r.str("id")).expect("key id")
        }
        Target::Blocked => {
            let device = Uuid::now_v7();
            let r = app
                .post(
                    "/api/v1/fraud/blocklist",
                    &operator,
                    json!({"entries": [{"kind": "device", "value": device.to_string()}]}),
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
            device
        }
        Target::NoVerificationRunning => {
            idle_verifications(app).await;
            Uuid::nil()
        }
        Target::Verification => {
            idle_verifications(app).await;
            let r = app
                .post("/api/v1/audit/verifications", &operator, json!({}))
                .await;
            assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
            idle_verifications(app).await;
            Uuid::parse_str(&r.str("id")).expect("verification id")
        }
        Target::User => {
            let r = app
                .post(
                    &format!("/api/v1/advertisers/{advertiser}/users"),
                    &operator,
                    json!({"username": format!("u{}", Uuid::now_v7().simple()),
                           "password": "a long passphrase"}),
                )
                .await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
            Uuid::parse_str(&r.str("id")).expect("user id")
        }
        _ => Uuid::nil(),
    };
    (campaign, key)
}

/// Waits until no verification of the audit chain runs.
async fn idle_verifications(app: &TestApp) {
    for _ in 0..400 {
        let running: i64 =
            sqlx::query_scalar("select count(*) from audit_verifications where status = 'running'")
                .fetch_one(&app.state.db)
                .await
                .expect("count");
        if running == 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("a verification kept running");
}

async fn call(app: &TestApp, case: &Case, token: Option<&str>, advertiser: Uuid) -> StatusCode {
    let (campaign, key) = make(app, case.target, advertiser).await;
    let path = case
        .path
        .replace("{adv}", &advertiser.to_string())
        .replace("{campaign}", &campaign.to_string())
        .replace("{key}", &key.to_string());
    let mut body = (case.body)();
    if let (Some(b), "/api/v1/campaigns") = (body.as_mut(), case.path)
        && case.method == Method::POST
    {
        b["advertiser_id"] = json!(advertiser);
    }
    let idempotency = Uuid::now_v7().to_string();
    app.send(
        case.method.clone(),
        &path,
        token,
        body,
        &[("idempotency-key", &idempotency)],
    )
    .await
    .status
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn every_endpoint_admits_exactly_its_roles(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let mine = app.advertiser("Mine").await;
    app.deposit(mine, "1000").await;
    let public = [
        "/api/v1/auth/token",
        "/api/v1/openapi.json",
        "/healthz",
        "/metrics",
    ];
    let mut checked = 0;
    for case in cases() {
        let anonymous = call(&app, &case, None, mine).await;
        let expected = if public.contains(&case.path) {
            case.ok
        } else {
            StatusCode::UNAUTHORIZED
        };
        assert_eq!(
            anonymous, expected,
            "anonymous {} {}",
            case.method, case.path
        );
        for role in Role::ALL {
            let token = app.token(role, (role == Role::Advertiser).then_some(mine));
            let status = call(&app, &case, Some(&token), mine).await;
            let expected = if case.roles.contains(&role) {
                case.ok
            } else {
                StatusCode::FORBIDDEN
            };
            assert_eq!(status, expected, "{role} {} {}", case.method, case.path);
            checked += 1;
        }
    }
    assert_eq!(checked, cases().len() * Role::ALL.len());
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn an_advertiser_never_reaches_another_advertisers_objects(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let mine = app.advertiser("Mine").await;
    let theirs = app.advertiser("Theirs").await;
    app.deposit(theirs, "1000").await;
    let me = app.token(Role::Advertiser, Some(mine));
    let mut checked = 0;
    for case in cases() {
        if !case.roles.contains(&Role::Advertiser) || !case.path.contains('{') {
            continue;
        }
        let status = call(&app, &case, Some(&me), theirs).await;
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "{} {} on another's object",
            case.method,
            case.path
        );
        checked += 1;
    }
    assert_eq!(checked, 16, "every advertiser-scoped endpoint was tried");

    // Listings are confined to the caller's own objects, whatever the filter says.
    let theirs_campaign = app.campaign(theirs, json!({"lifetime": "5"})).await;
    let own = app.post("/api/v1/campaigns", &me, campaign_body()).await;
    assert_eq!(own.status, StatusCode::CREATED, "{}", own.body);
    let listed = app
        .get(&format!("/api/v1/campaigns?advertiser_id={theirs}"), &me)
        .await;
    let ids: Vec<&str> = listed.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert_eq!(ids, [own.str("id").as_str()]);
    assert!(!ids.contains(&theirs_campaign.to_string().as_str()));
    let advertisers = app.get("/api/v1/advertisers", &me).await;
    assert_eq!(advertisers.body["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(advertisers.body["items"][0]["id"], json!(mine));

    // Creating for someone else is refused as if they did not exist.
    let mut body = campaign_body();
    body["advertiser_id"] = json!(theirs);
    let reply = app.post("/api/v1/campaigns", &me, body).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.body["errors"][0]["field"], "advertiser_id");
}
