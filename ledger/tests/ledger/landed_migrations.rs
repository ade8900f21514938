//! A migration that has landed is never edited: a database migrated before refuses it by its
//! checksum. `migrations/landed.sha384` lists every migration's checksum; this fails when a
//! file no longer matches its line, when a listed migration is gone, or when a migration has
//! no line yet.

use ledger::MIGRATOR;

const LANDED: &str = include_str!("../../../migrations/landed.sha384");

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// (file name, checksum) for each line of the list.
fn landed() -> Vec<(&'static str, &'static str)> {
    LANDED
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| l.split_once(' ').expect("a line is: <file> <sha384>"))
        .collect()
}

#[test]
fn landed_migrations_are_never_edited() {
    let mut problems = Vec::new();
    let landed = landed();
    for (file, checksum) in &landed {
        let version: i64 = file
            .split_once('_')
            .and_then(|(v, _)| v.parse().ok())
            .expect("a migration's file name starts with its version");
        match MIGRATOR.iter().find(|m| m.version == version) {
            None => problems.push(format!("{file} has landed and is gone")),
            Some(m) if hex(&m.checksum) != *checksum => problems.push(format!(
                "{file} changed after it landed: restore it and put the change in a new migration"
            )),
            Some(_) => {}
        }
    }
    for m in MIGRATOR.iter() {
        let listed = landed.iter().any(|(file, _)| {
            file.split_once('_')
                .is_some_and(|(v, _)| v.parse() == Ok(m.version))
        });
        if !listed {
            problems.push(format!(
                "migration {} ({}) has no line in migrations/landed.sha384: add `<file> {}`",
                m.version,
                m.description,
                hex(&m.checksum)
            ));
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn the_list_names_each_migration_once() {
    let landed = landed();
    let mut files: Vec<_> = landed.iter().map(|(f, _)| *f).collect();
    files.sort_unstable();
    files.dedup();
    assert_eq!(files.len(), landed.len());
}
