//! Every table has one owning crate, and only that crate's code names the table in SQL; others
//! call the owner's functions. (Tests and benchmarks may read any table to check what happened.)

use std::collections::BTreeSet;
use std::fs;

use crate::source::{Crate, library_crates, split, workspace_root};

/// Each table of `migrations/` and the crate that owns it.
const OWNERS: &[(&str, &str)] = &[
    ("ledger_accounts", "ledger"),
    ("ledger_transfers", "ledger"),
    ("ledger_pending_transfers", "ledger"),
    ("ledger_transfer_shapes", "ledger"),
    ("budget_leases", "budget"),
    ("budget_log", "budget"),
    ("ad_events", "events"),
    ("unbilled_events", "events"),
    ("event_dead_letters", "events"),
    ("audit_log", "audit"),
    ("audit_outbox", "audit"),
    ("audit_head", "audit"),
    ("audit_checkpoints", "audit"),
    ("audit_verifications", "audit"),
    ("advertisers", "api"),
    ("users", "api"),
    ("api_keys", "api"),
    ("campaigns", "api"),
    ("campaign_changes", "api"),
    ("feed_revision", "api"),
    ("servingd_heartbeats", "api"),
    ("campaign_idempotency_keys", "api"),
    ("blocked_sources", "fraud"),
    ("blocked_sources_revision", "fraud"),
    ("supply_partners", "partners"),
    ("supply_partners_revision", "partners"),
];

/// The words after which SQL names a table.
const BEFORE_TABLE: &[&str] = &[
    "from",
    "join",
    "into",
    "update",
    "table",
    "references",
    "copy",
    "truncate",
];

/// The tables `migrations/` creates.
fn migrated_tables() -> BTreeSet<String> {
    let mut tables = BTreeSet::new();
    let dir = workspace_root().join("migrations");
    for entry in fs::read_dir(&dir).expect("migrations/").flatten() {
        let text = fs::read_to_string(entry.path()).unwrap_or_default();
        let words = words(&text.to_lowercase());
        for pair in words.windows(3) {
            if pair[0] == "create" && pair[1] == "table" {
                tables.insert(pair[2].clone());
            }
        }
    }
    tables
}

fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The tables a string names as SQL does (after `from`, `join`, `into`, `update`…).
pub fn tables_named(sql: &str, tables: &BTreeSet<String>) -> BTreeSet<String> {
    let words = words(&sql.to_lowercase());
    words
        .windows(2)
        .filter(|w| BEFORE_TABLE.contains(&w[0].as_str()) && tables.contains(&w[1]))
        .map(|w| w[1].clone())
        .collect()
}

/// Every file under a crate's `src/` (binaries too: they are the crate's code).
fn crate_files(krate: &Crate) -> Vec<std::path::PathBuf> {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(&krate.src, &mut files);
    files
}

#[test]
fn every_table_has_an_owner() {
    let owned: BTreeSet<String> = OWNERS.iter().map(|(t, _)| t.to_string()).collect();
    let migrated = migrated_tables();
    assert!(
        migrated.contains("ledger_transfers"),
        "the migrations are read"
    );
    let unowned: Vec<_> = migrated.difference(&owned).collect();
    let gone: Vec<_> = owned.difference(&migrated).collect();
    assert!(
        unowned.is_empty() && gone.is_empty(),
        "tables without an owner in OWNERS: {unowned:?}; owners of tables no migration creates: {gone:?}"
    );
}

#[test]
fn only_a_tables_owner_names_it_in_sql() {
    let tables = migrated_tables();
    let mut report = Vec::new();
    for krate in library_crates() {
        for path in crate_files(&krate) {
            let text = fs::read_to_string(&path).unwrap_or_default();
            for (line, literal) in split(&text).strings {
                for table in tables_named(&literal, &tables) {
                    let owner = OWNERS
                        .iter()
                        .find(|(t, _)| *t == table)
                        .map_or("nobody", |(_, o)| o);
                    if owner != krate.name {
                        report.push(format!(
                            "{}:{line}: {} names {table} (owned by {owner})",
                            path.display(),
                            krate.name
                        ));
                    }
                }
            }
        }
    }
    assert!(
        report.is_empty(),
        "SQL outside the owner:\n{}",
        report.join("\n")
    );
}

#[test]
fn tables_are_found_where_sql_names_them() {
    let tables: BTreeSet<String> = ["ad_events", "campaigns", "ledger_transfers"]
        .map(String::from)
        .into();
    let sql = "select c.id from campaigns c\n join ad_events e on e.campaign_id = c.id\n where exists (select 1 from LEDGER_TRANSFERS)";
    assert_eq!(tables_named(sql, &tables), tables);
    assert!(tables_named("active campaigns and their ad_events", &tables).is_empty());
}

/// The folders of handlers: they call the parts below them, never the database.
const HANDLERS: &[&str] = &["api/src/routes", "servingd/src/http"];

#[test]
fn no_handler_writes_sql() {
    let mut report = Vec::new();
    for folder in HANDLERS {
        let krate = Crate {
            name: (*folder).to_string(),
            src: workspace_root().join(folder),
        };
        let files = crate_files(&krate);
        assert!(!files.is_empty(), "{folder} holds the handlers");
        for path in files {
            let code = split(&fs::read_to_string(&path).unwrap_or_default()).code;
            for (n, line) in code.lines().enumerate() {
                if line.contains("sqlx::") {
                    report.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        report.is_empty(),
        "handlers running SQL:\n{}",
        report.join("\n")
    );
}
