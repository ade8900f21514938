//! Signing in: a profile kept private, a wrong password refused, an unreachable API named.

use std::os::unix::fs::PermissionsExt;

use sqlx::PgPool;

use crate::MIGRATOR;
use crate::helpers::Platform;

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_login_is_kept_in_a_private_profile_and_used(pool: PgPool) {
    let platform = Platform::start(pool).await;
    let wrong = platform
        .adctl(
            &[
                "login",
                "--url",
                &platform.url,
                "--username",
                "admin",
                "--password-stdin",
            ],
            Some("not the password"),
        )
        .await;
    assert_eq!(wrong.code, 1, "{wrong:?}");
    assert!(wrong.stderr.contains("refused (401)"), "{wrong:?}");

    platform.login().await;
    let config = platform.config_home.join("adctl/config.toml");
    let mode = std::fs::metadata(&config)
        .expect("profile")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    let text = std::fs::read_to_string(&config).expect("profile");
    assert!(
        !text.contains(crate::helpers::PASSWORD),
        "the password is never kept"
    );
    let listed = platform.json(&["advertisers", "list"]).await;
    assert_eq!(listed, serde_json::json!([]));

    // the environment stands in for a profile only whole: a profile's token never goes elsewhere
    let half = platform
        .adctl_with(
            &["advertisers", "list"],
            None,
            &[("ADCTL_URL", "http://127.0.0.1:9")],
        )
        .await;
    assert_eq!(half.code, 2, "{half:?}");
    assert!(
        half.stderr
            .contains("ADCTL_URL and ADCTL_TOKEN go together"),
        "{half:?}"
    );

    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let exposed = platform.adctl(&["advertisers", "list"], None).await;
    assert_eq!(exposed.code, 2, "{exposed:?}");
    assert!(exposed.stderr.contains("chmod 600"), "{exposed:?}");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn an_api_that_does_not_answer_is_named_with_exit_code_3(pool: PgPool) {
    let platform = Platform::start(pool).await;
    let down = platform
        .adctl(
            &[
                "login",
                "--url",
                "http://127.0.0.1:9",
                "--username",
                "admin",
                "--password-stdin",
            ],
            Some("x"),
        )
        .await;
    assert_eq!(down.code, 3, "{down:?}");
    assert!(
        down.stderr
            .contains("cannot reach the API at http://127.0.0.1:9"),
        "{down:?}"
    );
    assert!(down.stderr.lines().count() == 1, "one line: {down:?}");
}
