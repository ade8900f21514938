//! Checks on the workspace's structure, read from its sources: no import cycles between modules,
//! and every SQL statement on a table in the crate that owns the table.

mod import_cycles;
mod module_graph;
mod source;
mod table_owners;
