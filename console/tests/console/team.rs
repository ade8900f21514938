//! The team page: a person added (who can then sign in), an API key created with its secret
//! shown once (and working), then revoked (and refused); and the activity page lists what was
//! done, from the audit trail.

use serde_json::json;
use sqlx::PgPool;

use crate::MIGRATOR;
use crate::helpers::{Console, hidden};

#[sqlx::test(migrator = "MIGRATOR")]
async fn people_and_keys_are_managed_and_the_activity_shows_it(pool: PgPool) {
    let console = Console::start(pool).await;
    console.advertiser("ana", "Winter boots").await;
    let (cookies, csrf) = console.signed_in("ana").await;
    let team = console.page("/team", &cookies).await;
    assert!(team.contains("<td>ana</td>"), "{team}");
    let ana = hidden(&team, "advertiser_id");

    // a person: a bad username is refused in the console's words, a good one can sign in
    let bad = console
        .post_form(
            "/team/users",
            &cookies,
            &[
                ("csrf", &csrf),
                ("advertiser_id", &ana),
                ("username", "A!"),
                ("password", "a long enough passphrase"),
            ],
        )
        .await;
    assert_eq!(bad.headers()["location"], "/team?refused=username");
    let added = console
        .post_form(
            "/team/users",
            &cookies,
            &[
                ("csrf", &csrf),
                ("advertiser_id", &ana),
                ("username", "ana.two"),
                ("password", crate::helpers::PASSWORD),
            ],
        )
        .await;
    assert_eq!(added.headers()["location"], "/team?done=user");
    console.signed_in("ana.two").await;

    // a key: its secret on the page this once, and it works
    let created = console
        .post_form(
            "/team/keys",
            &cookies,
            &[
                ("csrf", &csrf),
                ("advertiser_id", &ana),
                ("name", "reporting"),
            ],
        )
        .await;
    assert_eq!(created.status(), 200);
    let html = created.text().await.expect("html");
    assert!(html.contains("it is shown this once"), "{html}");
    let secret = html
        .split("<code class=\"secret\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .expect("the secret")
        .to_owned();
    assert!(secret.len() > 20, "{secret}");
    let exchange = |secret: String| {
        let console = &console;
        async move {
            console
                .http
                .post(format!("{}/api/v1/auth/token", console.api))
                .json(&json!({"grant_type": "api_key", "api_key": secret}))
                .send()
                .await
                .expect("api")
                .status()
        }
    };
    assert_eq!(exchange(secret.clone()).await, 200);
    let again = console.page("/team", &cookies).await;
    assert!(!again.contains(&secret), "never shown again");
    assert!(again.contains("<td>reporting</td>"));

    // revoked (behind a confirmation): the key is refused
    let revoke = again
        .split("action=\"/team/keys/")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a revoke form")
        .to_owned();
    let revoked = console
        .post_form(
            &format!("/team/keys/{revoke}"),
            &cookies,
            &[("csrf", &csrf), ("advertiser_id", &ana)],
        )
        .await;
    assert_eq!(revoked.headers()["location"], "/team?done=revoked");
    assert_eq!(exchange(secret).await, 401);
    let after = console.page("/team", &cookies).await;
    assert!(after.contains("revoked 20"), "{after}");

    // the activity: what was done, newest first (once the API's chainer has taken it in)
    let mut activity = String::new();
    for _ in 0..50 {
        activity = console.page("/activity", &cookies).await;
        if activity.contains(">api_key.revoke<") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(activity.contains("id=\"activity\""), "{activity}");
    assert!(activity.contains(">api_key.revoke<"), "{activity}");
    assert!(activity.contains(">campaign.create<"), "{activity}");
    let revoke_at = activity.find(">api_key.revoke<").expect("revoke");
    let create_at = activity.find(">campaign.create<").expect("create");
    assert!(revoke_at < create_at, "newest first");
}
