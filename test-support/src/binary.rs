//! Running the workspace's own binaries as an operator would, and holding what they print to a
//! snapshot kept beside the tests.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

/// Runs `binary` with `args` and an empty environment (so nothing of the machine's shows in
/// what it prints, and a daemon asked for help has nothing to connect to); panics when it runs
/// past 10 s.
pub fn run_bare(binary: &str, args: &[&str]) -> Output {
    use std::io::Read;
    let mut child = Command::new(binary)
        .args(args)
        .env_clear()
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{binary} starts: {e}"));
    // read while it runs: a full pipe would otherwise stop a binary that prints much
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().ok().flatten() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            panic!("{binary} {args:?} still runs after 10 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    }
}

/// Fails unless `binary --version` prints `name version` and succeeds.
pub fn assert_version(binary: &str, name: &str, version: &str) {
    let out = run_bare(binary, &["--version"]);
    assert!(out.status.success(), "{name} --version: {out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("{name} {version}")
    );
}

/// Fails unless `actual` is the text of the snapshot at `path`; with `UPDATE_SNAPSHOTS=1` it
/// writes `actual` there instead (then review the change and commit it).
pub fn assert_snapshot(path: &Path, actual: &str) {
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(path, actual).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        return;
    }
    let expected = std::fs::read_to_string(path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with UPDATE_SNAPSHOTS=1 to write it)",
            path.display()
        )
    });
    assert!(
        expected == actual,
        "{} differs (UPDATE_SNAPSHOTS=1 rewrites it):\n--- expected\n{expected}\n--- actual\n{actual}",
        path.display()
    );
}
