//! Every admin action through the API leaves one audit entry, in the change's own transaction:
//! who (principal and role), what (`noun.verb` and the object), before and after, and the
//! request id. Refused requests and retries that change nothing leave none.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use api::auth::{Principal, Role};
use ledger::AdvertiserId;

use crate::MIGRATOR;
use crate::helpers::{Reply, TestApp, campaign_body};

/// One audit entry as stored, without its hashes.
#[derive(Debug, sqlx::FromRow)]
struct Entry {
    request_id: Option<String>,
    actor: String,
    role: String,
    action: String,
    object: String,
    advertiser: Option<Uuid>,
    before: Option<Value>,
    after: Option<Value>,
}

/// The admin entries (not the ledger's or the budget controller's), in chain order.
async fn admin_entries(app: &TestApp, pool: &PgPool) -> Vec<Entry> {
    while app.state.audit.chain(100).await.expect("chain") > 0 {}
    sqlx::query_as(
        "select request_id, actor, role, action, object, advertiser_id as advertiser, before, after
           from audit_log
          where action not like 'ledger.%' and action not like 'budget.%'
          order by position",
    )
    .fetch_all(pool)
    .await
    .expect("entries")
}

struct Caller<'a> {
    app: &'a TestApp,
    token: String,
}

impl Caller<'_> {
    async fn call(&self, method: Method, path: &str, body: Option<Value>, request: &str) -> Reply {
        self.call_with(method, path, body, request, &[]).await
    }

    async fn call_with(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        request: &str,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut all = vec![("x-request-id", request)];
        all.extend_from_slice(headers);
        self.app
            .send(method, path, Some(&self.token), body, &all)
            .await
    }
}

fn caller<'a>(app: &'a TestApp, principal: &Principal) -> Caller<'a> {
    Caller {
        app,
        token: app.token_of(principal),
    }
}

fn created(reply: &Reply) -> Uuid {
    assert!(reply.status.is_success(), "{} {}", reply.status, reply.body);
    Uuid::parse_str(&reply.str("id")).expect("id")
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn every_admin_action_records_who_what_and_which_request(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let (admin, operator, billing) = (
        Principal::staff(Role::Admin),
        Principal::staff(Role::Operator),
        Principal::staff(Role::Billing),
    );
    let (as_admin, as_operator, as_billing) = (
        caller(&app, &admin),
        caller(&app, &operator),
        caller(&app, &billing),
    );

    let advertiser = created(
        &as_operator
            .call(
                Method::POST,
                "/api/v1/advertisers",
                Some(json!({"name": "Audited Co", "currency": "EUR"})),
                "r-advertiser",
            )
            .await,
    );
    let owner = Principal {
        id: Uuid::now_v7(),
        role: Role::Advertiser,
        advertiser: Some(AdvertiserId(advertiser)),
    };
    let as_owner = caller(&app, &owner);
    let base = format!("/api/v1/advertisers/{advertiser}");
    created(
        &as_operator
            .call(
                Method::POST,
                &format!("{base}/users"),
                Some(json!({"username": "buyer.one", "password": "a long enough password"})),
                "r-user",
            )
            .await,
    );
    let key = created(
        &as_owner
            .call(
                Method::POST,
                &format!("{base}/api-keys"),
                Some(json!({"name": "ci"})),
                "r-key",
            )
            .await,
    );
    let revoke = format!("{base}/api-keys/{key}");
    assert_eq!(
        as_owner
            .call(Method::DELETE, &revoke, None, "r-revoke")
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        as_owner
            .call(Method::DELETE, &revoke, None, "r-revoke-again")
            .await
            .status,
        StatusCode::NO_CONTENT,
        "revoking twice is fine, and changes nothing"
    );
    created(
        &as_admin
            .call(
                Method::POST,
                "/api/v1/users",
                Some(json!({"username": "books", "password": "another long password", "role": "billing"})),
                "r-staff-user",
            )
            .await,
    );
    created(
        &as_admin
            .call(
                Method::POST,
                "/api/v1/api-keys",
                Some(json!({"name": "servingd", "role": "service"})),
                "r-staff-key",
            )
            .await,
    );
    let deposit = json!({"amount": "250.00", "note": "wire 42"});
    for request in ["r-deposit", "r-deposit-retry"] {
        let reply = as_billing
            .call_with(
                Method::POST,
                &format!("{base}/deposits"),
                Some(deposit.clone()),
                request,
                &[("idempotency-key", "wire-42")],
            )
            .await;
        assert!(reply.status.is_success(), "{}", reply.body);
    }
    let reply = as_billing
        .call_with(
            Method::POST,
            &format!("{base}/credits"),
            Some(json!({"amount": "5"})),
            "r-credit",
            &[("idempotency-key", "goodwill-1")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);

    let campaign = created(
        &as_owner
            .call(
                Method::POST,
                "/api/v1/campaigns",
                Some(campaign_body()),
                "r-campaign",
            )
            .await,
    );
    let one = format!("/api/v1/campaigns/{campaign}");
    let patched = as_owner
        .call(
            Method::PATCH,
            &one,
            Some(json!({"name": "Summer sale"})),
            "r-update",
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    let unchanged = as_owner
        .call(
            Method::PATCH,
            &one,
            Some(json!({"name": "Summer sale"})),
            "r-update-same",
        )
        .await;
    assert_eq!(
        unchanged.status,
        StatusCode::OK,
        "a patch that changes nothing"
    );
    for (step, request) in [
        ("activate", "r-activate"),
        ("pause", "r-pause"),
        ("resume", "r-resume"),
        ("pause", "r-pause-2"),
        ("archive", "r-archive"),
    ] {
        let reply = as_operator
            .call(Method::POST, &format!("{one}/{step}"), None, request)
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{step}: {}", reply.body);
    }
    let refused = as_operator
        .call(Method::POST, &format!("{one}/activate"), None, "r-refused")
        .await;
    assert_eq!(
        refused.status,
        StatusCode::CONFLICT,
        "an archived campaign stays archived"
    );

    let block = |values: &[&str]| {
        json!({"entries": values.iter()
            .map(|v| json!({"kind": "ip", "value": v, "reason": "scraper"}))
            .collect::<Vec<_>>()})
    };
    let reply = as_operator
        .call(
            Method::POST,
            "/api/v1/fraud/blocklist",
            Some(block(&["203.0.113.9", "198.51.100.7"])),
            "r-block",
        )
        .await;
    assert_eq!(reply.body["added"], json!(2), "{}", reply.body);
    let reply = as_operator
        .call(
            Method::POST,
            "/api/v1/fraud/blocklist",
            Some(block(&["203.0.113.9", "192.0.2.1"])),
            "r-block-again",
        )
        .await;
    assert_eq!(reply.body["added"], json!(1), "{}", reply.body);
    assert_eq!(
        as_operator
            .call(
                Method::DELETE,
                "/api/v1/fraud/blocklist/ip/198.51.100.7",
                None,
                "r-unblock"
            )
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert!(
        api::server::bootstrap_admin(&pool, "root.admin", "a long admin password")
            .await
            .expect("bootstrap")
    );

    let entries = admin_entries(&app, &pool).await;
    // each entry names the server's request id, and the caller's beside it
    fn caller_of(e: &Entry) -> Option<&str> {
        let recorded = e.request_id.as_deref()?;
        let (server, caller) = recorded.split_once(" (caller: ")?;
        assert!(uuid::Uuid::try_parse(server).is_ok(), "{recorded}");
        caller.strip_suffix(')')
    }
    let seen: Vec<(Option<&str>, &str)> = entries
        .iter()
        .map(|e| (caller_of(e), e.action.as_str()))
        .collect();
    assert_eq!(
        seen,
        vec![
            (Some("r-advertiser"), "advertiser.create"),
            (Some("r-user"), "user.create"),
            (Some("r-key"), "api_key.create"),
            (Some("r-revoke"), "api_key.revoke"),
            (Some("r-staff-user"), "user.create"),
            (Some("r-staff-key"), "api_key.create"),
            (Some("r-deposit"), "funding.deposit"),
            (Some("r-credit"), "funding.credit"),
            (Some("r-campaign"), "campaign.create"),
            (Some("r-update"), "campaign.update"),
            (Some("r-activate"), "campaign.activate"),
            (Some("r-pause"), "campaign.pause"),
            (Some("r-resume"), "campaign.resume"),
            (Some("r-pause-2"), "campaign.pause"),
            (Some("r-archive"), "campaign.archive"),
            (Some("r-block"), "fraud.block"),
            (Some("r-block"), "fraud.block"),
            (Some("r-block-again"), "fraud.block"),
            (Some("r-unblock"), "fraud.unblock"),
            (None, "user.create"),
        ],
        "one entry per change, none for refusals, retries or no-ops"
    );

    let by = |request: &str| {
        entries
            .iter()
            .find(|e| caller_of(e) == Some(request))
            .unwrap_or_else(|| panic!("no entry for {request}"))
    };
    let who = |e: &Entry| (e.actor.clone(), e.role.clone());
    let named = |p: &Principal| (p.id.to_string(), p.role.as_str().to_owned());
    assert_eq!(who(by("r-advertiser")), named(&operator));
    assert_eq!(who(by("r-key")), named(&owner));
    assert_eq!(who(by("r-staff-user")), named(&admin));
    assert_eq!(who(by("r-deposit")), named(&billing));
    assert_eq!(who(by("r-campaign")), named(&owner));
    assert_eq!(who(by("r-archive")), named(&operator));
    let bootstrap = entries.last().expect("bootstrap entry");
    assert_eq!(who(bootstrap), ("bootstrap-admin".into(), "service".into()));
    assert_eq!(
        bootstrap.after.as_ref().expect("after")["role"],
        json!("admin")
    );

    // objects and advertisers
    assert_eq!(
        by("r-advertiser").object,
        format!("advertiser:{advertiser}")
    );
    assert_eq!(by("r-key").object, format!("api_key:{key}"));
    assert_eq!(by("r-campaign").object, format!("campaign:{campaign}"));
    for request in ["r-advertiser", "r-user", "r-key", "r-deposit", "r-update"] {
        assert_eq!(by(request).advertiser, Some(advertiser), "{request}");
    }
    assert_eq!(by("r-staff-key").advertiser, None);
    assert_eq!(by("r-unblock").object, "source:ip/198.51.100.7");

    // before and after
    let update = by("r-update");
    assert_eq!(
        update.before.as_ref().expect("before")["name"],
        json!("Winter sale")
    );
    assert_eq!(
        update.after.as_ref().expect("after")["name"],
        json!("Summer sale")
    );
    let activate = by("r-activate");
    assert_eq!(
        activate.before.as_ref().expect("before")["status"],
        json!("draft")
    );
    assert_eq!(
        activate.after.as_ref().expect("after")["status"],
        json!("active")
    );
    let revoke = by("r-revoke");
    assert_eq!(
        revoke.before.as_ref().expect("before")["revoked_at"],
        Value::Null
    );
    assert!(revoke.after.as_ref().expect("after")["revoked_at"].is_string());
    let deposit = by("r-deposit").after.as_ref().expect("after");
    assert_eq!(
        deposit["amount"]
            .as_str()
            .and_then(|a| a.parse::<rust_decimal::Decimal>().ok()),
        Some(rust_decimal::Decimal::from(250))
    );
    assert_eq!(deposit["note"], json!("wire 42"));
    assert!(by("r-unblock").after.is_none());
    assert_eq!(
        by("r-unblock").before.as_ref().expect("before")["reason"],
        json!("scraper")
    );
    assert!(by("r-campaign").before.is_none());

    // never a secret
    for e in &entries {
        let text = format!("{:?} {:?}", e.before, e.after);
        for secret in ["password", "secret", "\"api_key\""] {
            assert!(
                !text.contains(secret),
                "{} records {secret}: {text}",
                e.action
            );
        }
    }

    // the owner reads its campaign's history through the API; the chain verifies
    let history = app
        .get(
            &format!("/api/v1/audit?object=campaign:{campaign}"),
            &as_owner.token,
        )
        .await;
    assert_eq!(history.status, StatusCode::OK, "{}", history.body);
    let actions: Vec<&str> = history.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| e["action"].as_str().expect("action"))
        .collect();
    assert_eq!(
        actions,
        vec![
            "campaign.archive",
            "campaign.pause",
            "campaign.resume",
            "campaign.pause",
            "campaign.activate",
            "campaign.update",
            "campaign.create"
        ]
    );
    let summary = app
        .state
        .audit
        .verify(Vec::new())
        .await
        .expect("read")
        .expect("intact");
    assert!(summary.rows as usize > entries.len());
}
