//! People and programs through `adctl`: an advertiser's user and key, a service key, a key's
//! session renewed by itself when it has expired, and a user disabled, changed and deleted.

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

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_user_is_disabled_enabled_changed_and_deleted_and_their_session_ends(pool: PgPool) {
    let platform = Platform::start(pool).await;
    platform.login().await;
    let create = [
        "users",
        "create",
        "--role",
        "operator",
        "--username",
        "olu",
        "--password-stdin",
        "-o",
        "json",
    ];
    let olu = platform
        .adctl(&create, Some("olu's long passphrase"))
        .await
        .json()["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let login = |password: &'static str| {
        let url = platform.url.clone();
        let platform = &platform;
        async move {
            platform
                .adctl(
                    &[
                        "login",
                        "--profile",
                        "olu",
                        "--url",
                        &url,
                        "--username",
                        "olu",
                        "--password-stdin",
                    ],
                    Some(password),
                )
                .await
                .code
        }
    };
    assert_eq!(login("olu's long passphrase").await, 0);
    let as_olu = || platform.adctl(&["advertisers", "list", "--profile", "olu"], None);
    assert_eq!(as_olu().await.code, 0);

    // the admin's commands name its profile: olu's logins made olu's the current one
    let admin = |args: &[&str]| {
        let mut args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        args.extend(["--profile".to_owned(), "default".to_owned()]);
        let platform = &platform;
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            platform.json(&args).await
        }
    };
    let disabled = admin(&["users", "disable", &olu]).await;
    assert_eq!(disabled["disabled"], true, "{disabled}");
    let refused = as_olu().await;
    assert_ne!(
        refused.code, 0,
        "a disabled user's session ends: {refused:?}"
    );
    assert_ne!(login("olu's long passphrase").await, 0);
    platform.login().await;
    assert_eq!(
        platform.json(&["users", "enable", &olu]).await["disabled"],
        false
    );
    let changed = platform
        .json(&["users", "set-role", &olu, "--role", "billing"])
        .await;
    assert_eq!(changed["role"], "billing");
    let set = platform
        .adctl(
            &[
                "users",
                "set-password",
                &olu,
                "--password-stdin",
                "--profile",
                "default",
            ],
            Some("olu's newer passphrase"),
        )
        .await;
    assert_eq!(set.code, 0, "{set:?}");
    assert_ne!(login("olu's long passphrase").await, 0);
    assert_eq!(login("olu's newer passphrase").await, 0);
    platform.login().await;
    let deleted = platform
        .adctl(&["users", "delete", &olu, "--yes"], None)
        .await;
    assert_eq!(deleted.code, 0, "{deleted:?}");
    assert_ne!(login("olu's newer passphrase").await, 0);
}
