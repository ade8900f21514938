//! Checks on the workspace's structure, read from its sources: no import cycles between modules,
//! every SQL statement on a table in the crate that owns the table, and documentation that
//! stands on its own.

mod docs;
mod import_cycles;
mod module_graph;
mod source;
mod table_owners;
