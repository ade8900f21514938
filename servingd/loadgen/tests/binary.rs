//! The `loadgen` binary explains itself: `--help` and `--version` print and exit at once, the
//! help held to a snapshot and to its table in docs/configuration.md.

use test_support::binary::{assert_snapshot, assert_version, run_bare};

const LOADGEN: &str = env!("CARGO_BIN_EXE_loadgen");

#[test]
fn loadgen_prints_its_help_and_version_and_exits() {
    let help = run_bare(LOADGEN, &["--help"]);
    assert!(help.status.success(), "{help:?}");
    let text = String::from_utf8_lossy(&help.stdout);
    assert_snapshot(
        &test_support::package_dir().join("tests/snapshots/loadgen-help.txt"),
        &text,
    );
    let page = test_support::settings_doc::configuration_page();
    test_support::settings_doc::assert_documented(&page, "loadgen", &text);
    assert_version(LOADGEN, "loadgen", env!("CARGO_PKG_VERSION"));
}
