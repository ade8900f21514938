//! Reading the workspace's Rust sources as text: which crates there are, which module each file
//! is, and each file's code split from its string literals (comments dropped).

use std::fs;
use std::path::{Path, PathBuf};

/// The workspace's root folder (this crate sits one level below it), in the clone the test runs
/// in.
pub fn workspace_root() -> PathBuf {
    test_support::package_dir()
        .parent()
        .expect("test-support sits inside the workspace")
        .to_path_buf()
}

/// A library crate of the workspace: its package name and its `src/` folder.
pub struct Crate {
    pub name: String,
    pub src: PathBuf,
}

/// Every workspace member with a `src/lib.rs`, read from the root `Cargo.toml`'s members.
pub fn library_crates() -> Vec<Crate> {
    let root = workspace_root();
    let manifest = fs::read_to_string(root.join("Cargo.toml")).expect("the workspace manifest");
    let members = manifest
        .split_once("members")
        .and_then(|(_, rest)| rest.split_once('['))
        .and_then(|(_, rest)| rest.split_once(']'))
        .map(|(list, _)| list)
        .expect("the workspace lists its members");
    members
        .split(',')
        .map(|m| m.trim().trim_matches('"'))
        .filter(|m| !m.is_empty())
        .filter_map(|member| {
            let dir = root.join(member);
            let package = fs::read_to_string(dir.join("Cargo.toml")).ok()?;
            let name = package
                .lines()
                .find_map(|l| l.strip_prefix("name = "))?
                .trim_matches('"')
                .to_string();
            dir.join("src/lib.rs").exists().then(|| Crate {
                name,
                src: dir.join("src"),
            })
        })
        .collect()
}

/// A source file of a crate's library and the module path it is (`[]` for `lib.rs`).
pub struct SourceFile {
    pub path: PathBuf,
    pub module: Vec<String>,
    pub text: String,
}

/// The files of a crate's library: everything under `src/` except the binaries (`main.rs`,
/// `bin/`), which are crates of their own.
pub fn library_files(krate: &Crate) -> Vec<SourceFile> {
    let mut files = Vec::new();
    collect(&krate.src, &mut files);
    files
        .into_iter()
        .filter_map(|path| {
            let relative = path.strip_prefix(&krate.src).ok()?.to_path_buf();
            let parts: Vec<String> = relative
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect();
            if parts.first().is_some_and(|p| p == "bin" || p == "main.rs") {
                return None;
            }
            let mut module: Vec<String> = parts
                .iter()
                .map(|p| p.trim_end_matches(".rs").to_string())
                .collect();
            if module.last().is_some_and(|m| m == "mod" || m == "lib") {
                module.pop();
            }
            let text = fs::read_to_string(&path).ok()?;
            Some(SourceFile { path, module, text })
        })
        .collect()
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}

/// A file's text in two parts: its code with comments removed and every string literal replaced
/// by `""`, and the string literals themselves with the line each starts on.
pub struct Split {
    pub code: String,
    pub strings: Vec<(usize, String)>,
}

/// Splits Rust source into code and string literals. Handles nested block comments, raw strings
/// (`r#"…"#`), byte strings, escapes, and tells char literals from lifetimes.
pub fn split(text: &str) -> Split {
    let chars: Vec<char> = text.chars().collect();
    let mut code = String::with_capacity(text.len());
    let mut strings = Vec::new();
    let mut line = 1;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if chars[i] == '\n' {
                        line += 1;
                        code.push('\n');
                    }
                    i += 1;
                }
            }
        } else if c == 'r' && matches!(next, Some('"') | Some('#')) && !ident_char_before(&chars, i)
        {
            let mut hashes = 0;
            let mut j = i + 1;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                code.push(c);
                i += 1;
                continue;
            }
            let start = line;
            let mut literal = String::new();
            j += 1;
            while j < chars.len() {
                if chars[j] == '"' && (1..=hashes).all(|k| chars.get(j + k) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                if chars[j] == '\n' {
                    line += 1;
                }
                literal.push(chars[j]);
                j += 1;
            }
            strings.push((start, literal));
            code.push_str("\"\"");
            i = j;
        } else if c == '"' {
            let start = line;
            let mut literal = String::new();
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    i += 1;
                }
                if let Some(&ch) = chars.get(i) {
                    if ch == '\n' {
                        line += 1;
                    }
                    literal.push(ch);
                }
                i += 1;
            }
            i += 1;
            strings.push((start, literal));
            code.push_str("\"\"");
        } else if c == '\'' {
            if next == Some('\\') {
                i += 3;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if chars.get(i + 2) == Some(&'\'') {
                i += 3;
            } else {
                code.push(c);
                i += 1;
            }
        } else {
            if c == '\n' {
                line += 1;
            }
            code.push(c);
            i += 1;
        }
    }
    Split { code, strings }
}

fn ident_char_before(chars: &[char], i: usize) -> bool {
    i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_')
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn comments_strings_chars_and_lifetimes_are_told_apart() {
        let text = "fn a<'x>(s: &'x str) -> char { // crate::gone\n  let q = \"crate::quoted \\\" still\"; /* crate::block /* nested */ */ let r = r#\"raw \"here\"\"#; '\\'' }";
        let split = split(text);
        assert!(!split.code.contains("gone"));
        assert!(!split.code.contains("quoted"));
        assert!(!split.code.contains("block"));
        assert!(split.code.contains("<'x>"));
        assert_eq!(
            split.strings,
            vec![
                (2, "crate::quoted \" still".to_string()),
                (2, "raw \"here\"".to_string())
            ]
        );
    }
}
