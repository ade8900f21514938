//! Every command's help, held to a snapshot so a change to it is reviewed; the options, to their
//! tables in docs/configuration.md.

use test_support::binary::{assert_snapshot, assert_version, run_bare};

const ADCTL: &str = env!("CARGO_BIN_EXE_adctl");

/// Every command's path below `adctl` (`[]`, `["campaigns"]`, `["campaigns", "import"]`...), as
/// the command line defines them.
fn command_paths() -> Vec<Vec<String>> {
    fn walk(command: &clap::Command, path: Vec<String>, paths: &mut Vec<Vec<String>>) {
        paths.push(path.clone());
        for sub in command.get_subcommands() {
            let mut next = path.clone();
            next.push(sub.get_name().to_owned());
            walk(sub, next, paths);
        }
    }
    let mut paths = Vec::new();
    walk(
        &<adctl::Cli as clap::CommandFactory>::command(),
        Vec::new(),
        &mut paths,
    );
    paths
}

#[test]
fn every_command_explains_itself() {
    let commands = command_paths();
    assert!(commands.len() > 40, "{commands:?}");
    for command in &commands {
        let mut args: Vec<&str> = command.iter().map(String::as_str).collect();
        args.push("--help");
        let help = run_bare(ADCTL, &args);
        assert!(help.status.success(), "{args:?}: {help:?}");
        let name = if command.is_empty() {
            "adctl".to_owned()
        } else {
            format!("adctl-{}", command.join("-"))
        };
        let path = test_support::package_dir()
            .join("tests/snapshots")
            .join(format!("{name}-help.txt"));
        let text = String::from_utf8_lossy(&help.stdout);
        assert_snapshot(&path, &text);
        if command.len() < 2 && (command.is_empty() || command[0] == "login") {
            let section = if command.is_empty() {
                "adctl"
            } else {
                "adctl login"
            };
            let page = test_support::settings_doc::configuration_page();
            test_support::settings_doc::assert_documented(&page, section, &text);
        }
    }
    assert_version(ADCTL, "adctl", env!("CARGO_PKG_VERSION"));
}

#[test]
fn completions_and_man_pages_come_from_the_same_definitions() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let script = run_bare(ADCTL, &["completions", shell]);
        assert!(script.status.success(), "{shell}: {script:?}");
        let text = String::from_utf8_lossy(&script.stdout);
        assert!(
            text.contains("campaigns") && text.contains("archive"),
            "{shell}: {text}"
        );
    }
    let folder = std::env::temp_dir().join(format!("adctl-man-{}", uuid::Uuid::now_v7().simple()));
    let folder_text = folder.display().to_string();
    let man = run_bare(ADCTL, &["man", "--out", &folder_text]);
    assert!(man.status.success(), "{man:?}");
    let page = std::fs::read_to_string(folder.join("adctl-campaigns-pause.1"))
        .expect("a page per command");
    assert!(page.contains("adctl campaigns pause"), "{page}");
    assert!(folder.join("adctl.1").exists() && folder.join("adctl-funds-statement.1").exists());
    let _ = std::fs::remove_dir_all(&folder);
}
