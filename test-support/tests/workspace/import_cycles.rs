//! No module of any library crate in the workspace uses, directly or through others, a module
//! that uses it back: a reader can learn each part from the parts below it.

use crate::module_graph::{cycles, edges};
use crate::source::{library_crates, library_files};

#[test]
fn no_library_has_an_import_cycle() {
    let mut report = Vec::new();
    let crates = library_crates();
    assert!(
        crates.iter().any(|c| c.name == "servingd"),
        "the workspace's crates are found"
    );
    for krate in crates {
        for cycle in cycles(&edges(&library_files(&krate))) {
            report.push(format!("{}: modules that use one another:", krate.name));
            for edge in cycle {
                report.push(format!(
                    "  {} -> {}  ({})",
                    edge.from.join("::"),
                    edge.to.join("::"),
                    edge.at
                ));
            }
        }
    }
    assert!(report.is_empty(), "import cycles:\n{}", report.join("\n"));
}
