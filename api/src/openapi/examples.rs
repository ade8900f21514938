//! An example of every body the API takes or gives, by schema name, shown in the document beside
//! the schema. They describe one small world (an advertiser, its campaign, a deposit), so the
//! ids agree from one example to the next; the tests hold each example to its schema, and send
//! the request examples to a running API.

use serde_json::{Value, json};

const ADVERTISER: &str = "0193a5f0-0000-7000-8000-00000000a001";
const CAMPAIGN: &str = "0193a5f0-0000-7000-8000-00000000c001";
const USER: &str = "0193a5f0-0000-7000-8000-00000000e001";
const KEY: &str = "0193a5f0-0000-7000-8000-00000000f001";
const VERIFICATION: &str = "0193a5f0-0000-7000-8000-00000000a0f1";
const PARTNER: &str = "0193a5f0-0000-7000-8000-00000000b001";
const TRANSFER: &str = "0193a5f0-0000-7000-8000-00000000d001";
const AT: &str = "2026-11-30T12:00:00Z";
const HASH: &str = "9f2c1e5a7b3d4c6e8f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60";

/// Every example, by schema name.
pub fn all() -> Vec<(&'static str, Value)> {
    vec![
        (
            "TokenRequest",
            json!({"grant_type": "password", "username": "ana", "password": "a long passphrase"}),
        ),
        (
            "TokenResponse",
            json!({
                "access_token": "eyJhbGciOiJFZERTQSIsImtpZCI6ImsxIn0.eyJzdWIiOiJhbmEifQ.c2lnbmF0dXJl",
                "token_type": "Bearer", "expires_in": 3600, "role": "advertiser",
                "advertiser_id": ADVERTISER,
            }),
        ),
        (
            "NewAdvertiser",
            json!({"name": "Acme Shoes", "currency": "USD"}),
        ),
        ("Advertiser", advertiser()),
        (
            "AdvertiserPage",
            json!({"items": [advertiser()], "next_cursor": null}),
        ),
        (
            "NewUser",
            json!({"username": "ana", "password": "a long passphrase"}),
        ),
        (
            "NewStaffUser",
            json!({
                "username": "olu", "password": "a long passphrase", "role": "operator",
                "advertiser_id": null,
            }),
        ),
        ("User", user()),
        (
            "UserUpdate",
            json!({"role": "advertiser", "advertiser_id": ADVERTISER, "disabled": false}),
        ),
        ("AdvertiserUserUpdate", json!({"disabled": true})),
        ("NewPassword", json!({"password": "a newer passphrase"})),
        (
            "PasswordChange",
            json!({"current_password": "a long passphrase", "new_password": "a newer passphrase"}),
        ),
        ("NewApiKey", json!({"name": "reporting script"})),
        (
            "NewStaffApiKey",
            json!({"name": "servingd eu-1", "role": "service", "advertiser_id": null}),
        ),
        ("ApiKey", api_key()),
        ("CreatedApiKey", {
            let mut key = api_key();
            key["api_key"] = json!("adk_0193a5f0f001_Zm9yIGV4YW1wbGUgb25seSwgbm90IGEga2V5");
            key
        }),
        (
            "Funding",
            json!({"amount": "500.00", "note": "wire 2026-11-30"}),
        ),
        (
            "Posting",
            json!({
                "transfer_id": TRANSFER, "kind": "deposit", "amount": "500.000000",
                "currency": "USD", "posted_at": AT, "created": true,
            }),
        ),
        (
            "Balance",
            json!({
                "advertiser_id": ADVERTISER, "currency": "USD", "cash": "450.000000",
                "available": "450.000000", "held": "50.000000",
            }),
        ),
        ("StatementPage", statement()),
        ("NewCampaign", campaign_input()),
        (
            "CampaignPatch",
            json!({"budget": {"daily": "75.00"}, "pacing": "accelerated"}),
        ),
        ("Campaign", campaign()),
        (
            "CampaignPage",
            json!({"items": [campaign()], "next_cursor": null}),
        ),
        (
            "FeedPage",
            json!({
                "snapshot": false, "revision": 42, "more": false, "campaigns": [],
                "changes": [{"revision": 42, "campaign": campaign()}],
            }),
        ),
        (
            "Report",
            json!({
                "campaign_id": CAMPAIGN, "currency": "USD", "time_zone": "America/New_York",
                "granularity": "day",
                "rows": [{
                    "bucket": "2026-11-30", "impressions": 24000, "clicks": 31,
                    "spend": "48.000000", "refunds": "0.120000", "unbilled_over_delivery": "0.000000",
                    "ctr": "0.001292", "ecpm": "2.000000", "pace": "0.96",
                }],
            }),
        ),
        (
            "NewBlockedSources",
            json!({"entries": [
                {"kind": "ip", "value": "203.0.113.7", "reason": "data-centre range"},
                {"kind": "device", "value": "6f1c2d3e4a5b6c7d"},
            ]}),
        ),
        ("Added", json!({"added": 1, "already_listed": 1})),
        (
            "NewPartner",
            json!({"name": "North Exchange", "currency": "USD", "max_cpm": "20.00",
                   "burl_networks": ["198.51.100.0/24"]}),
        ),
        (
            "PartnerChange",
            json!({"status": "disabled", "max_cpm": null}),
        ),
        ("PartnerRecord", partner()),
        ("PartnerList", json!({"items": [partner()]})),
        (
            "PartnerWithCredential",
            json!({"partner": partner(),
                   "credential": "sp_Jd0uQ9v3mZp1xW8yR2tK5nL7cB4hF6gA0eS3iU9oP1q"}),
        ),
        (
            "BlocklistPage",
            json!({
                "items": [{
                    "kind": "ip", "value": "203.0.113.7", "reason": "data-centre range",
                    "added_by": "olu", "added_at": AT,
                }],
                "next_cursor": null,
            }),
        ),
        (
            "AuditPage",
            json!({
                "items": [{
                    "position": 7, "at": AT, "actor": "ana", "role": "advertiser",
                    "action": "campaign.activate", "object": format!("campaign/{CAMPAIGN}"),
                    "advertiser_id": ADVERTISER, "request_id": "5b0e6a52-8f7d-4a8e-9d55-2c3b1a0f9e11",
                    "before": {"status": "draft"}, "after": {"status": "active"},
                    "prev_hash": HASH, "hash": HASH,
                }],
                "next_cursor": null,
            }),
        ),
        (
            "Verification",
            json!({
                "id": VERIFICATION, "full_walk": false, "requested_by": USER,
                "started_at": AT, "finished_at": AT, "status": "intact", "from_rows": 120000,
                "rows_checked": 120007, "head_hash": HASH, "checkpoints": 1,
                "signatures_checked": true, "fault_position": null, "fault": null,
            }),
        ),
        ("VerificationRequest", json!({"full": false})),
        ("ReconcileRequest", json!({"repair": false})),
        (
            "BudgetStatus",
            json!({
                "campaigns": [{
                    "campaign_id": CAMPAIGN, "currency": "USD", "ledger_budget": "50.000000",
                    "ledger_spent": "12.400000", "ledger_remaining": "36.100000",
                    "ledger_open_leases": 2, "redis_budget": "50.000000",
                    "redis_spent": "12.400000", "redis_remaining": "36.100000",
                    "redis_open_leases": 2, "drift": "0.000000", "overcommitted": "0.000000",
                    "in_sync": true, "repaired": false,
                }],
                "out_of_sync": 0,
            }),
        ),
        (
            "PacingToday",
            json!({
                "campaign_id": CAMPAIGN, "currency": "USD", "time_zone": "America/New_York",
                "day": "2026-11-30", "day_budget": "50.000000", "spent": "1.900000",
                "target_so_far": "2.000000", "pace": "0.95",
                "current_hour": "2026-11-30T01:00:00",
                "hours": [
                    {"hour": "2026-11-30T00:00:00", "spend": "0.800000", "target": "0.850000",
                     "spent_so_far": "0.800000", "target_so_far": "0.850000"},
                    {"hour": "2026-11-30T01:00:00", "spend": "1.100000", "target": "1.150000",
                     "spent_so_far": "1.900000", "target_so_far": "2.000000"},
                ],
            }),
        ),
        (
            "TodayPage",
            json!({
                "items": [{
                    "campaign_id": CAMPAIGN, "name": "Winter boots", "status": "active",
                    "currency": "USD", "day_budget": "50.000000", "spent": "21.300000",
                    "used": "0.426", "target_so_far": "22.000000", "pace": "0.9682",
                    "impressions": 10650, "clicks": 14, "ctr": "0.001315",
                    "refunds": "0.040000",
                }],
                "next_cursor": null,
            }),
        ),
        (
            "RefundPage",
            json!({
                "items": [{
                    "transfer_id": TRANSFER, "amount": "0.002500", "currency": "USD",
                    "advertiser_id": ADVERTISER, "campaign_id": CAMPAIGN,
                    "event_id": "01JDZ3Q4R5S6T7V8W9X0Y1Z2A3",
                    "reason": "invalid_traffic:burst_from_one_ip", "posted_at": AT,
                }],
                "next_cursor": "1841",
            }),
        ),
        (
            "Heartbeat",
            json!({
                "instance": "serving-1:8080", "revision": 42, "campaigns": 120,
                "feed_staleness_ms": 800, "version": "0.1.0", "started_at": AT,
            }),
        ),
        (
            "SystemStatus",
            json!({
                "now": AT, "feed_revision": 42,
                "servingd": [{
                    "instance": "serving-1:8080", "version": "0.1.0", "started_at": AT,
                    "seen_at": AT, "live": true, "revision": 42, "revisions_behind": 0,
                    "campaigns": 120, "feed_staleness_s": 0.8,
                }],
                "blocklist_size": 17, "invalid_events_last_hour": 230,
                "refunds_last_hour": [{"currency": "USD", "count": 12, "amount": "0.030000"}],
                "audit": {"length": 90210, "signed_checkpoint_size": 90000,
                          "signed_checkpoint_at": AT},
            }),
        ),
        (
            "Problem",
            json!({
                "type": "about:blank", "title": "Unprocessable Entity", "status": 422,
                "detail": "the request has 1 invalid field(s)",
                "errors": [{"field": "budget.daily", "message": "a positive amount"}],
                "request_id": "5b0e6a52-8f7d-4a8e-9d55-2c3b1a0f9e11",
            }),
        ),
    ]
}

fn partner() -> Value {
    json!({
        "id": PARTNER, "name": "North Exchange", "status": "active", "currency": "USD",
        "max_cpm": "20.000000", "burl_networks": ["198.51.100.0/24"], "key_prefix": "sp_Jd0uQ9v",
        "created_by": USER, "created_at": AT, "updated_at": AT,
    })
}

fn advertiser() -> Value {
    json!({"id": ADVERTISER, "name": "Acme Shoes", "currency": "USD", "created_at": AT})
}

fn user() -> Value {
    json!({
        "id": USER, "username": "ana", "role": "advertiser", "advertiser_id": ADVERTISER,
        "created_at": AT, "disabled": false,
    })
}

fn api_key() -> Value {
    json!({
        "id": KEY, "name": "reporting script", "role": "advertiser",
        "advertiser_id": ADVERTISER, "created_at": AT, "revoked_at": null,
    })
}

/// The settings an advertiser writes.
fn campaign_input() -> Value {
    json!({
        "name": "Winter boots",
        "schedule": {
            "start": "2026-12-01T00:00:00-05:00", "end": "2026-12-31T23:59:59-05:00",
            "time_zone": "America/New_York",
            "day_parting": [{"days": ["mon", "tue", "wed", "thu", "fri"], "start_hour": 7, "end_hour": 22}],
        },
        "budget": {"daily": "50.00", "lifetime": "1500.00"},
        "bid": {"kind": "cpm", "amount": "2.00"},
        "pacing": "even",
        "targeting": {"countries": ["US", "CA"], "device_types": ["mobile", "desktop"]},
        "frequency_cap": {"count": 3, "period_s": 86400},
        "creatives": [{
            "id": "boots-300x250", "format": "banner", "w": 300, "h": 250,
            "asset_url": "https://cdn.acme.example/boots-300x250.png",
            "click_url": "https://acme.example/boots", "adomain": "acme.example",
        }],
    })
}

/// The campaign as the API sends it: the settings, completed, and what the API keeps.
fn campaign() -> Value {
    let mut campaign = campaign_input();
    campaign["targeting"] = json!({
        "countries": ["US", "CA"], "regions": [], "device_types": ["mobile", "desktop"],
        "os": [], "sizes": [], "categories": [], "placements": [], "segments": [], "deals": [],
    });
    // amounts come back at the ledger's scale, six places
    campaign["budget"] = json!({"daily": "50.000000", "lifetime": "1500.000000"});
    campaign["bid"] = json!({"kind": "cpm", "amount": "2.000000"});
    campaign["creatives"][0]["markup"] = Value::Null;
    campaign["creatives"][0]["categories"] = json!([]);
    campaign["creatives"][0]["weight"] = json!(1);
    for (field, value) in [
        ("id", json!(CAMPAIGN)),
        ("advertiser_id", json!(ADVERTISER)),
        ("currency", json!("USD")),
        ("status", json!("active")),
        ("revision", json!(42)),
        ("created_at", json!(AT)),
        ("updated_at", json!(AT)),
    ] {
        campaign[field] = value;
    }
    campaign
}

fn statement() -> Value {
    json!({
        "account": {
            "id": 7,
            "owner": {"kind": "advertiser_cash", "advertiser": ADVERTISER},
            "currency": "USD", "credit_limit": "0.000000", "posted": "500.000000",
            "reserved": "0.000000", "incoming": "0.000000",
        },
        "lines": [{
            "transfer": {
                "id": TRANSFER, "seq": 1,
                "debit": 3,
                "credit": 7,
                "amount": "500.000000", "currency": "USD", "kind": "deposit",
                "references": {"advertiser": ADVERTISER, "campaign": null, "event": null, "lease": null},
                "metadata": {"note": "wire 2026-11-30", "by": USER},
                "pending": null, "posted_at": AT,
            },
            "change": "500.000000",
            "balance": "500.000000",
        }],
        "next": null,
    })
}
