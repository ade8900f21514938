//! The README and `docs/` stand on their own: the README's first screen holds the quick start,
//! and every relative link in them leads to a file inside the repository.

use std::path::{Path, PathBuf};

use crate::source::workspace_root;

/// The Markdown pages: the README and everything in `docs/`.
fn pages() -> Vec<PathBuf> {
    let root = workspace_root();
    let mut pages = vec![root.join("README.md")];
    let docs = std::fs::read_dir(root.join("docs")).expect("docs/ exists");
    for entry in docs {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "md") {
            pages.push(path);
        }
    }
    pages
}

/// The targets of `[text](target)` links in `text` that are not web addresses or anchors.
fn relative_links(text: &str) -> Vec<String> {
    let mut links = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("](") {
        rest = &rest[at + 2..];
        let Some(end) = rest.find(')') else { break };
        let target = rest[..end].split('#').next().unwrap_or_default();
        if !target.is_empty() && !target.contains("://") && !target.starts_with("mailto:") {
            links.push(target.to_owned());
        }
    }
    links
}

#[test]
fn every_link_leads_to_a_file_in_the_repository() {
    let root = workspace_root().canonicalize().expect("root");
    for page in pages() {
        let text = std::fs::read_to_string(&page).expect("page");
        assert!(
            !text.contains("../shared"),
            "{} points outside the repository",
            page.display()
        );
        let dir = page.parent().unwrap_or(Path::new("."));
        for link in relative_links(&text) {
            let target = dir
                .join(&link)
                .canonicalize()
                .unwrap_or_else(|_| panic!("{}: the link {link} leads nowhere", page.display()));
            assert!(
                target.starts_with(&root),
                "{}: the link {link} leads outside the repository",
                page.display()
            );
        }
    }
}

#[test]
fn the_readme_opens_with_how_to_run_it() {
    let readme = std::fs::read_to_string(workspace_root().join("README.md")).expect("README");
    let first_screen: Vec<&str> = readme.lines().take(40).collect();
    for command in ["scripts/test", "scripts/demo"] {
        assert!(
            first_screen.iter().any(|l| l.starts_with(command)),
            "README's first 40 lines do not show {command}"
        );
    }
}
