//! servingd's binaries explain themselves: `--help` and `--version` print and exit at once
//! (never starting the daemon, whatever the environment holds), and the help of each is held to
//! a snapshot and to its table in docs/configuration.md; a required setting left out is named
//! on one line.

use std::path::PathBuf;

use test_support::binary::{assert_snapshot, assert_version, run_bare};
use test_support::settings_doc;

const BINARIES: [(&str, &str); 3] = [
    ("servingd", env!("CARGO_BIN_EXE_servingd")),
    ("ledger-writer", env!("CARGO_BIN_EXE_ledger-writer")),
    ("fraud-scorer", env!("CARGO_BIN_EXE_fraud-scorer")),
];

fn snapshot(name: &str) -> PathBuf {
    test_support::package_dir()
        .join("tests/snapshots")
        .join(format!("{name}-help.txt"))
}

#[test]
fn every_binary_prints_its_help_and_version_and_exits() {
    for (name, path) in BINARIES {
        let help = run_bare(path, &["--help"]);
        assert!(help.status.success(), "{name} --help: {help:?}");
        let text = String::from_utf8_lossy(&help.stdout);
        assert!(text.contains("Usage:"), "{name}: {text}");
        assert_snapshot(&snapshot(name), &text);
        settings_doc::assert_documented(&settings_doc::configuration_page(), name, &text);
        assert_version(path, name, env!("CARGO_PKG_VERSION"));
    }
}

#[test]
fn a_required_setting_left_out_is_named() {
    for (name, path) in [BINARIES[1], BINARIES[2]] {
        let out = run_bare(path, &[]);
        assert_eq!(out.status.code(), Some(2), "{name}: {out:?}");
        let text = String::from_utf8_lossy(&out.stderr);
        assert!(
            text.contains("--database-url <DATABASE_URL>"),
            "{name}: {text}"
        );
    }
    let out = run_bare(BINARIES[0].1, &[]);
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("SERVINGD_API_KEY"), "servingd: {text}");
}

#[test]
fn servingd_refuses_to_start_without_tracking_keys() {
    let servingd = BINARIES[0].1;
    let given = [
        "--api-key",
        "not-checked-before-the-keys",
        "--database-url",
        "postgres://nobody@127.0.0.1:9/none",
        "--listen-addr",
        "127.0.0.1:0",
    ];
    let out = run_bare(servingd, &given);
    assert!(!out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains("no tracking keys") && text.contains("SERVINGD_TRACKING_KEYS"),
        "servingd: {text}"
    );
    let with_tracking_keys = [
        &given[..],
        &[
            "--tracking-keys",
            "1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
        ],
    ]
    .concat();
    let out = run_bare(servingd, &with_tracking_keys);
    assert!(!out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains("no entry keys") && text.contains("EVENT_ENTRY_KEYS"),
        "servingd: {text}"
    );
}

#[test]
fn the_ledger_writer_refuses_to_start_without_entry_keys() {
    let given = [
        "--database-url",
        "postgres://nobody@127.0.0.1:9/none",
        "--listen-addr",
        "127.0.0.1:0",
    ];
    let out = run_bare(BINARIES[1].1, &given);
    assert!(!out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("EVENT_ENTRY_KEYS is not set"), "{text}");
}
