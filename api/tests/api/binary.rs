//! The `api` binary explains itself: `--help` (its own and each command's) and `--version` print
//! and exit at once, held to snapshots, and the settings of its commands to their tables in
//! docs/configuration.md.

use std::path::PathBuf;

use test_support::binary::{assert_snapshot, assert_version, run_bare};

const API: &str = env!("CARGO_BIN_EXE_api");

fn snapshot(name: &str) -> PathBuf {
    test_support::package_dir()
        .join("tests/snapshots")
        .join(format!("{name}-help.txt"))
}

#[test]
fn the_api_binary_prints_its_help_and_version_and_exits() {
    for (name, args) in [
        ("api", vec!["--help"]),
        ("api-serve", vec!["serve", "--help"]),
        ("api-create-admin", vec!["create-admin", "--help"]),
        ("api-migrate", vec!["migrate", "--help"]),
        ("api-gen-key", vec!["gen-key", "--help"]),
    ] {
        let help = run_bare(API, &args);
        assert!(help.status.success(), "{name}: {help:?}");
        let text = String::from_utf8_lossy(&help.stdout);
        assert_snapshot(&snapshot(name), &text);
        if let Some(command) = name.strip_prefix("api-").filter(|c| *c != "gen-key") {
            let page = test_support::settings_doc::configuration_page();
            test_support::settings_doc::assert_documented(&page, &format!("api {command}"), &text);
        }
    }
    assert_version(API, "api", env!("CARGO_PKG_VERSION"));
}

/// The services never migrate: on a database without the schema they refuse, naming `api
/// migrate`, which applies it.
#[tokio::test]
async fn only_api_migrate_applies_the_schema() {
    let scratch = test_support::ScratchDatabase::create("api_migrate")
        .await
        .expect("scratch database");
    let url = scratch.url().to_owned();
    let create_admin = || {
        std::process::Command::new(API)
            .args([
                "create-admin",
                "--username",
                "first.admin",
                "--database-url",
                &url,
            ])
            .env("ADPLAT_API_ADMIN_PASSWORD", "a long admin password")
            .output()
            .expect("runs")
    };
    let refused = create_admin();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success() && stderr.contains("run `api migrate`"),
        "{stderr}"
    );
    let migrated = std::process::Command::new(API)
        .args(["migrate", "--database-url", &url])
        .output()
        .expect("runs");
    assert!(migrated.status.success(), "{migrated:?}");
    assert!(String::from_utf8_lossy(&migrated.stdout).contains("every migration"));
    let again = std::process::Command::new(API)
        .args(["migrate", "--database-url", &url])
        .output()
        .expect("runs");
    assert!(
        again.status.success(),
        "migrating twice changes nothing: {again:?}"
    );
    let created = create_admin();
    assert!(created.status.success(), "{created:?}");
    scratch.drop().await.expect("drop");
}

#[test]
fn serving_without_a_database_names_the_setting_to_give() {
    let out = run_bare(API, &["serve", "--listen-addr", "127.0.0.1:0"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("DATABASE_URL is not set"),
        "stderr: {stderr}"
    );
    let bad = run_bare(API, &["serve", "--token-ttl-s", "soon"]);
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        !bad.status.success() && stderr.contains("ADPLAT_API_TOKEN_TTL_S"),
        "stderr: {stderr}"
    );
}
