//! The console binary explains itself: `--help` and `--version` print and exit at once, the help
//! held to a snapshot and to its table in docs/configuration.md.

use test_support::binary::{assert_snapshot, assert_version, run_bare};
use test_support::settings_doc;

const CONSOLE: &str = env!("CARGO_BIN_EXE_console");

#[test]
fn the_binary_prints_its_help_and_version_and_exits() {
    let help = run_bare(CONSOLE, &["--help"]);
    assert!(help.status.success(), "{help:?}");
    let text = String::from_utf8_lossy(&help.stdout);
    let snapshot = test_support::package_dir().join("tests/snapshots/console-help.txt");
    assert_snapshot(&snapshot, &text);
    settings_doc::assert_documented(&settings_doc::configuration_page(), "console", &text);
    assert_version(CONSOLE, "console", env!("CARGO_PKG_VERSION"));
}
