//! People and programs through `adctl`: an advertiser's user and key, a service key, and a
//! key's session renewed by itself when it has expired.

use sqlx::PgPool;

use crate::MIGRATOR;
use crate::helpers::Platform;

#[sqlx::test(migrator = "MIGRATOR")]
async fn users_and_keys_sign_in_and_a_keys_session_renews_itself(pool: PgPool) {
    let platform = Platform::start(pool).await;
    platform.login().await;
    let advertiser = platform.advertiser("Acme Shoes", "USD").await;
    let other = platform.advertiser("Other", "USD").await;

    let user = platform
        .adctl(
            &[
                "users",
                "create",
                "--advertiser",
                &advertiser,
                "--username",
                "ana",
                "--password-stdin",
                "-o",
                "json",
            ],
            Some("ana's long passphrase"),
        )
        .await
        .json();
    assert_eq!(
        (&user["role"], &user["advertiser_id"]),
        (&"advertiser".into(), &advertiser.clone().into())
    );
    let listed = platform
        .json(&["users", "list", "--advertiser", &advertiser])
        .await;
    assert_eq!(listed[0]["username"], "ana");
    let ana = platform
        .adctl(
            &[
                "login",
                "--profile",
                "ana",
                "--url",
                &platform.url,
                "--username",
                "ana",
                "--password-stdin",
            ],
            Some("ana's long passphrase"),
        )
        .await;
    assert_eq!(ana.code, 0, "{ana:?}");
    let seen = platform
        .json(&["advertisers", "list", "--profile", "ana"])
        .await;
    assert_eq!(
        seen.as_array().map(Vec::len),
        Some(1),
        "an advertiser sees itself only: {seen}"
    );
    let refused = platform
        .adctl(&["advertisers", "get", &other, "--profile", "ana"], None)
        .await;
    assert_eq!(refused.code, 1, "{refused:?}");

    // the last login is the current profile: back to the admin's
    platform.login().await;
    let key = platform
        .json(&[
            "api-keys",
            "create",
            "--advertiser",
            &advertiser,
            "--name",
            "script",
        ])
        .await;
    let secret = key["api_key"]
        .as_str()
        .expect("the key, shown once")
        .to_owned();
    let service = platform
        .json(&[
            "api-keys", "create", "--name", "servingd", "--role", "service",
        ])
        .await;
    assert_eq!(service["role"], "service");
    let keys = platform
        .json(&["api-keys", "list", "--advertiser", &advertiser])
        .await;
    assert_eq!(keys[0]["name"], "script");
    assert!(
        keys[0].get("api_key").is_none(),
        "a listed key shows no secret"
    );

    let script = platform
        .adctl(
            &[
                "login",
                "--profile",
                "script",
                "--url",
                &platform.url,
                "--api-key-stdin",
            ],
            Some(&secret),
        )
        .await;
    assert_eq!(script.code, 0, "{script:?}");
    // the session expires; the kept key renews it
    let config = platform.config_home.join("adctl/config.toml");
    let text = std::fs::read_to_string(&config).expect("profile");
    let mut parsed: toml::Table = toml::from_str(&text).expect("toml");
    let profile = parsed["profiles"]["script"]
        .as_table()
        .expect("script")
        .clone();
    let old_token = profile["token"].as_str().expect("token").to_owned();
    let mut expired = profile;
    expired.insert(
        "expires_at".into(),
        toml::Value::String("2020-01-01T00:00:00Z".into()),
    );
    parsed["profiles"]
        .as_table_mut()
        .expect("profiles")
        .insert("script".into(), expired.into());
    std::fs::write(&config, toml::to_string(&parsed).expect("toml")).expect("written");
    platform.login().await;
    let renewed = platform
        .json(&["advertisers", "get", &advertiser, "--profile", "script"])
        .await;
    assert_eq!(renewed["id"], advertiser.as_str());
    let text = std::fs::read_to_string(&config).expect("profile");
    assert!(
        !text.contains(&old_token),
        "the session was renewed and kept"
    );

    // a password session that expired says to log in again
    let mut parsed: toml::Table = toml::from_str(&text).expect("toml");
    parsed["profiles"]["ana"]
        .as_table_mut()
        .expect("ana")
        .insert(
            "expires_at".into(),
            toml::Value::String("2020-01-01T00:00:00Z".into()),
        );
    std::fs::write(&config, toml::to_string(&parsed).expect("toml")).expect("written");
    let stale = platform
        .adctl(&["advertisers", "list", "--profile", "ana"], None)
        .await;
    assert_eq!(stale.code, 1, "{stale:?}");
    assert!(stale.stderr.contains("adctl login"), "{stale:?}");

    let revoke = platform
        .adctl(
            &[
                "api-keys",
                "revoke",
                "--advertiser",
                &advertiser,
                key["id"].as_str().expect("id"),
                "--yes",
            ],
            None,
        )
        .await;
    assert_eq!(revoke.code, 0, "{revoke:?}");
    let keys = platform
        .json(&["api-keys", "list", "--advertiser", &advertiser])
        .await;
    assert!(keys[0]["revoked_at"].is_string(), "{keys}");
}
