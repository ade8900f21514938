//! Which module of a crate uses which, read from its `crate::`, `super::` and `self::` paths, and
//! the cycles among them.
//!
//! A use counts between siblings: when code in module `a::x` names something in `a::y::z`, that is
//! an edge from `a::x` to `a::y` (their lowest common ancestor is `a`). A module naming its own
//! ancestors or descendants (a `mod.rs` re-exporting its children, `use super::*` in tests) is
//! how Rust nests modules, not an import between them, and does not count.

use std::collections::{BTreeMap, BTreeSet};

use crate::source::{SourceFile, split};

/// A module's path inside its crate, `[]` for the crate root.
pub type ModulePath = Vec<String>;

/// One use of a module by another, with where it was written.
#[derive(Clone, Debug)]
pub struct Edge {
    pub from: ModulePath,
    pub to: ModulePath,
    pub at: String,
}

/// The sibling edges of a crate's library.
pub fn edges(files: &[SourceFile]) -> Vec<Edge> {
    let mut known: BTreeSet<ModulePath> = files.iter().map(|f| f.module.clone()).collect();
    let mut uses = Vec::new();
    for file in files {
        let code = split(&file.text).code;
        let tokens = tokens(&code);
        walk(file, &tokens, &mut known, &mut uses);
    }
    let mut edges = Vec::new();
    for (from, path, at) in uses {
        let to = longest_known_prefix(&known, &path);
        let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
        if common == from.len() || common == to.len() {
            continue;
        }
        edges.push(Edge {
            from: from[..=common].to_vec(),
            to: to[..=common].to_vec(),
            at,
        });
    }
    edges
}

/// The groups of modules that use one another in a circle, each with the edges that close it.
pub fn cycles(edges: &[Edge]) -> Vec<Vec<Edge>> {
    let mut graph: BTreeMap<&ModulePath, BTreeSet<&ModulePath>> = BTreeMap::new();
    for edge in edges {
        graph.entry(&edge.from).or_default().insert(&edge.to);
        graph.entry(&edge.to).or_default();
    }
    strongly_connected(&graph)
        .into_iter()
        .filter(|group| group.len() > 1)
        .map(|group| {
            let mut inside: Vec<Edge> = edges
                .iter()
                .filter(|e| group.contains(&&e.from) && group.contains(&&e.to))
                .cloned()
                .collect();
            inside.sort_by(|a, b| (&a.from, &a.to).cmp(&(&b.from, &b.to)));
            inside.dedup_by(|a, b| a.from == b.from && a.to == b.to);
            inside
        })
        .collect()
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Ident(String),
    PathSep,
    Punct(char),
    Line,
}

fn tokens(code: &str) -> Vec<Token> {
    let chars: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            out.push(Token::Line);
            i += 1;
        } else if c.is_alphabetic() || c == '_' || c == '$' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '$')
            {
                i += 1;
            }
            out.push(Token::Ident(chars[start..i].iter().collect()));
        } else if c == ':' && chars.get(i + 1) == Some(&':') {
            out.push(Token::PathSep);
            i += 2;
        } else if c.is_whitespace() {
            i += 1;
        } else {
            out.push(Token::Punct(c));
            i += 1;
        }
    }
    out
}

/// Walks a file's tokens, tracking inline `mod name { … }` blocks, and records every path that
/// starts at `crate`, `super` or `self` as (the module it is written in, the absolute path).
fn walk(
    file: &SourceFile,
    tokens: &[Token],
    known: &mut BTreeSet<ModulePath>,
    uses: &mut Vec<(ModulePath, ModulePath, String)>,
) {
    let mut line = 1;
    let mut blocks: Vec<Option<String>> = Vec::new();
    let significant: Vec<(usize, &Token)> = tokens
        .iter()
        .scan(1, |line, t| {
            let at = *line;
            if *t == Token::Line {
                *line += 1;
            }
            Some((at, t))
        })
        .filter(|(_, t)| **t != Token::Line)
        .collect();
    let mut i = 0;
    while i < significant.len() {
        let (at, token) = significant[i];
        line = line.max(at);
        match token {
            Token::Punct('{') => {
                let inline_mod = match (
                    i.checked_sub(2).map(|j| significant[j].1),
                    i.checked_sub(1).map(|j| significant[j].1),
                ) {
                    (Some(Token::Ident(m)), Some(Token::Ident(name))) if m == "mod" => {
                        Some(name.clone())
                    }
                    _ => None,
                };
                blocks.push(inline_mod);
                if blocks.last().is_some_and(Option::is_some) {
                    known.insert(current(&file.module, &blocks));
                }
                i += 1;
            }
            Token::Punct('}') => {
                blocks.pop();
                i += 1;
            }
            Token::Ident(word)
                if matches!(word.as_str(), "crate" | "super" | "self")
                    && significant.get(i + 1).map(|t| t.1) == Some(&Token::PathSep)
                    && i.checked_sub(1).map(|j| significant[j].1) != Some(&Token::PathSep) =>
            {
                let toks: Vec<&Token> = significant.iter().map(|t| t.1).collect();
                let (paths, next) = path_tree(&toks, i);
                let module = current(&file.module, &blocks);
                for path in paths {
                    if let Some(absolute) = resolve(&module, &path) {
                        uses.push((
                            module.clone(),
                            absolute,
                            format!("{}:{line}", file.path.display()),
                        ));
                    }
                }
                i = next.max(i + 1);
            }
            _ => i += 1,
        }
    }
}

/// The module a token is in: the file's module and the inline modules open around it.
fn current(file_module: &[String], blocks: &[Option<String>]) -> ModulePath {
    let mut module = file_module.to_vec();
    module.extend(blocks.iter().flatten().cloned());
    module
}

/// Reads a path tree (`a::b`, `a::{b, c::{d, e}}`, `a::*`, `a as b`) from `start`, returning the
/// paths it names and the index after it.
fn path_tree(tokens: &[&Token], start: usize) -> (Vec<Vec<String>>, usize) {
    let mut segments = Vec::new();
    let mut i = start;
    loop {
        match tokens.get(i) {
            Some(Token::Ident(name)) => {
                segments.push(name.clone());
                i += 1;
                if tokens.get(i) == Some(&&Token::PathSep) {
                    i += 1;
                    continue;
                }
                if tokens.get(i) == Some(&&Token::Ident("as".to_string())) {
                    i += 2;
                }
                return (vec![segments], i);
            }
            Some(Token::Punct('{')) => {
                i += 1;
                let mut paths = Vec::new();
                while let Some(token) = tokens.get(i) {
                    match token {
                        Token::Punct('}') => {
                            i += 1;
                            break;
                        }
                        Token::Punct(',') => i += 1,
                        _ => {
                            let (inner, next) = path_tree(tokens, i);
                            for tail in inner {
                                let mut path = segments.clone();
                                path.extend(tail);
                                paths.push(path);
                            }
                            i = next.max(i + 1);
                        }
                    }
                }
                return (paths, i);
            }
            _ => return (vec![segments], i),
        }
    }
}

/// Makes a path absolute from the module it is written in; `None` for `$crate` and the like.
fn resolve(module: &[String], path: &[String]) -> Option<ModulePath> {
    let mut absolute: Vec<String> = module.to_vec();
    let mut rest = path.iter().peekable();
    match rest.peek().map(|s| s.as_str()) {
        Some("crate") => {
            absolute.clear();
            rest.next();
        }
        Some("self") => {
            rest.next();
        }
        Some("super") => {
            while rest.peek().map(|s| s.as_str()) == Some("super") {
                absolute.pop()?;
                rest.next();
            }
        }
        _ => return None,
    }
    absolute.extend(rest.filter(|s| *s != "self").cloned());
    Some(absolute)
}

fn longest_known_prefix(known: &BTreeSet<ModulePath>, path: &[String]) -> ModulePath {
    (0..=path.len())
        .rev()
        .map(|n| path[..n].to_vec())
        .find(|prefix| known.contains(prefix))
        .unwrap_or_default()
}

/// Tarjan's algorithm: the strongly connected groups of a graph.
fn strongly_connected<'a>(
    graph: &BTreeMap<&'a ModulePath, BTreeSet<&'a ModulePath>>,
) -> Vec<Vec<&'a ModulePath>> {
    struct State<'a> {
        index: BTreeMap<&'a ModulePath, usize>,
        low: BTreeMap<&'a ModulePath, usize>,
        stack: Vec<&'a ModulePath>,
        on_stack: BTreeSet<&'a ModulePath>,
        groups: Vec<Vec<&'a ModulePath>>,
    }
    fn visit<'a>(
        v: &'a ModulePath,
        graph: &BTreeMap<&'a ModulePath, BTreeSet<&'a ModulePath>>,
        s: &mut State<'a>,
    ) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        s.on_stack.insert(v);
        for &w in graph.get(v).into_iter().flatten() {
            if !s.index.contains_key(w) {
                visit(w, graph, s);
                let low = s.low[v].min(s.low[w]);
                s.low.insert(v, low);
            } else if s.on_stack.contains(w) {
                let low = s.low[v].min(s.index[w]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut group = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                group.push(w);
                if w == v {
                    break;
                }
            }
            s.groups.push(group);
        }
    }
    let mut state = State {
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        groups: Vec::new(),
    };
    for &v in graph.keys() {
        if !state.index.contains_key(v) {
            visit(v, graph, &mut state);
        }
    }
    state.groups
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::{cycles, edges};
    use crate::source::SourceFile;

    fn file(module: &str, text: &str) -> SourceFile {
        SourceFile {
            path: PathBuf::from(format!("{module}.rs")),
            module: module
                .split("::")
                .filter(|m| !m.is_empty())
                .map(String::from)
                .collect(),
            text: text.to_string(),
        }
    }

    #[test]
    fn a_cycle_through_grouped_and_inline_paths_is_found() {
        let files = [
            file("", "mod a; mod b; mod c;"),
            file("a", "use crate::{b::{Thing, other}, c};"),
            file("b", "fn f() { super::c::run(); }"),
            file("c", "mod inner { fn g() { crate::a::x(); } }"),
        ];
        let found = cycles(&edges(&files));
        assert_eq!(found.len(), 1, "{found:?}");
        let pairs: Vec<(String, String)> = found[0]
            .iter()
            .map(|e| (e.from.join("::"), e.to.join("::")))
            .collect();
        assert_eq!(
            pairs,
            [("a", "b"), ("a", "c"), ("b", "c"), ("c", "a")]
                .map(|(f, t)| (f.to_string(), t.to_string()))
        );
    }

    #[test]
    fn parents_children_comments_and_strings_do_not_count() {
        let files = [
            file("", "mod a; mod b; pub use a::Thing;"),
            file("a", "mod t; use crate::b::X; pub use self::t::Y;"),
            file("a::t", "use super::*; use crate::a::Z;"),
            file(
                "b",
                "// use crate::a::X;\nconst S: &str = \"crate::a::X\"; use super::Other;",
            ),
        ];
        assert!(cycles(&edges(&files)).is_empty());
    }

    #[test]
    fn a_cycle_between_nested_siblings_is_found() {
        let files = [
            file("", "mod a;"),
            file("a", "mod x; mod y;"),
            file("a::x", "use super::y::Y;"),
            file("a::y", "#[cfg(test)] mod tests { use crate::a::x::X; }"),
        ];
        let found = cycles(&edges(&files));
        assert_eq!(found.len(), 1);
        assert!(found[0][1].at.contains("a::y.rs:1"), "{found:?}");
    }
}
