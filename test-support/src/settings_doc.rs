//! `docs/configuration.md` kept true: each binary's section there is a table made from what its
//! `--help` says (clap renders it from the flags' definitions: the flag, its variable, its
//! default, its meaning), and a test fails when the page and the binary disagree.
//! `UPDATE_SNAPSHOTS=1` writes the section anew instead.

use std::path::{Path, PathBuf};

/// One setting as `--help` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    pub flag: String,
    pub env: Option<String>,
    pub default: Option<String>,
    pub meaning: String,
}

/// The settings in `help` (clap's `--help`, in any of its layouts), without `--help` and
/// `--version`.
pub fn settings(help: &str) -> Vec<Setting> {
    let mut blocks: Vec<(String, Vec<String>)> = Vec::new();
    let mut in_options = false;
    for line in help.lines() {
        if line.starts_with("Options:") {
            in_options = true;
            continue;
        }
        if !in_options {
            continue;
        }
        if let Some((flag, rest)) = flag_line(line) {
            blocks.push((flag, rest.into_iter().collect()));
        } else if let Some((_, body)) = blocks.last_mut() {
            body.push(line.trim().to_owned());
        }
    }
    blocks
        .into_iter()
        .filter(|(flag, _)| flag != "--help" && flag != "--version")
        .map(|(flag, body)| setting(flag, &body))
        .collect()
}

/// `--flag <VALUE>  text` at the start of an option: the flag and the text on its line.
fn flag_line(line: &str) -> Option<(String, Option<String>)> {
    let trimmed = line.trim_start();
    if line.len() - trimmed.len() < 2 {
        return None;
    }
    let at = trimmed.find("--")?;
    let before = &trimmed[..at];
    if !(before.is_empty() || (before.starts_with('-') && before.ends_with(", "))) {
        return None;
    }
    let option = &trimmed[at..];
    let flag: String = option
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    let mut rest = option[flag.len()..].trim_start();
    if rest.starts_with('<') {
        rest = rest.find('>').map_or("", |end| &rest[end + 1..]);
    }
    let rest = rest.trim();
    Some((flag, (!rest.is_empty()).then(|| rest.to_owned())))
}

fn setting(flag: String, body: &[String]) -> Setting {
    let text = body.join(" ");
    let env = bracket(&text, "[env: ").map(|e| e.trim_end_matches('=').to_owned());
    let env = env.map(|e| e.split('=').next().unwrap_or_default().to_owned());
    let default = bracket(&text, "[default: ").map(str::to_owned);
    // the meaning: the first paragraph, without the bracketed notes
    let first: Vec<&str> = body
        .iter()
        .map(String::as_str)
        .take_while(|l| !l.is_empty())
        .collect();
    let mut meaning = first.join(" ");
    for marker in ["[env: ", "[default: ", "[possible values: "] {
        while let Some(start) = meaning.find(marker) {
            let end = meaning[start..]
                .find(']')
                .map_or(meaning.len(), |e| start + e + 1);
            meaning.replace_range(start..end, "");
        }
    }
    let values: Vec<&str> = body
        .iter()
        .filter_map(|l| l.strip_prefix("- "))
        .filter_map(|l| l.split(':').next())
        .collect();
    let mut meaning = meaning.split_whitespace().collect::<Vec<_>>().join(" ");
    if let Some(listed) = bracket(&text, "[possible values: ") {
        meaning = format!("{meaning} (one of: {listed})");
    } else if !values.is_empty() {
        meaning = format!("{meaning} (of: {})", values.join(", "));
    }
    Setting {
        flag,
        env,
        default,
        meaning,
    }
}

/// The text between `open` and the next `]`.
fn bracket<'a>(text: &'a str, open: &str) -> Option<&'a str> {
    let start = text.find(open)? + open.len();
    let end = text[start..].find(']')? + start;
    Some(&text[start..end])
}

/// The Markdown table of `settings`.
pub fn table(settings: &[Setting]) -> String {
    let cell = |s: &str| s.replace('|', "\\|");
    let mut out = String::from("| flag | variable | default | meaning |\n|---|---|---|---|\n");
    for s in settings {
        out.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            s.flag,
            s.env.as_deref().map_or("".to_owned(), |e| format!("`{e}`")),
            s.default
                .as_deref()
                .map_or("".to_owned(), |d| format!("`{}`", cell(d))),
            cell(&s.meaning),
        ));
    }
    out
}

/// `docs/configuration.md`, found from the running test's package upwards.
pub fn configuration_page() -> PathBuf {
    let mut dir = crate::package_dir();
    loop {
        let page = dir.join("docs/configuration.md");
        if page.exists() {
            return page;
        }
        if !dir.pop() {
            panic!(
                "no docs/configuration.md above {}",
                crate::package_dir().display()
            );
        }
    }
}

/// Fails unless the section `name` of `page` (between `<!-- settings: NAME -->` and
/// `<!-- end settings -->`) is the table of what `help` says; with `UPDATE_SNAPSHOTS=1` it
/// writes the table there instead.
pub fn assert_documented(page: &Path, name: &str, help: &str) {
    let expected = table(&settings(help));
    let text =
        std::fs::read_to_string(page).unwrap_or_else(|e| panic!("reading {}: {e}", page.display()));
    let open = format!("<!-- settings: {name} -->\n");
    let close = "<!-- end settings -->";
    let start = text
        .find(&open)
        .unwrap_or_else(|| panic!("{} has no section {open:?}", page.display()))
        + open.len();
    let end = text[start..]
        .find(close)
        .unwrap_or_else(|| panic!("{}: section {name} is not closed", page.display()))
        + start;
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        let updated = format!("{}{expected}{}", &text[..start], &text[end..]);
        std::fs::write(page, updated).unwrap_or_else(|e| panic!("writing {}: {e}", page.display()));
        return;
    }
    assert!(
        text[start..end] == expected,
        "{}'s settings of {name} differ from its --help (UPDATE_SNAPSHOTS=1 rewrites them):\n--- page\n{}\n--- --help\n{expected}",
        page.display(),
        &text[start..end]
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    const HELP: &str = "\
Does things

Usage: thing [OPTIONS] --database-url <DATABASE_URL>

Options:
      --database-url <DATABASE_URL>  PostgreSQL [env: DATABASE_URL]
      --every-s <EVERY_S>            Seconds between runs [env: THING_EVERY_S=] [default: 60]
      --mode <MODE>
          How it runs

          Possible values:
          - fast: Quickly
          - slow: Slowly
          
          [env: THING_MODE=]
          [default: fast]

      --url <URL>
          Where, with a | in it [default: http://x/]
  -h, --help                         Print help
  -V, --version                      Print version
";

    #[test]
    fn every_layout_of_the_help_gives_the_same_settings() {
        let found = settings(HELP);
        let flags: Vec<&str> = found.iter().map(|s| s.flag.as_str()).collect();
        assert_eq!(flags, ["--database-url", "--every-s", "--mode", "--url"]);
        assert_eq!(found[0].env.as_deref(), Some("DATABASE_URL"));
        assert_eq!(found[0].default, None);
        assert_eq!(found[1].env.as_deref(), Some("THING_EVERY_S"));
        assert_eq!(found[1].default.as_deref(), Some("60"));
        assert_eq!(found[1].meaning, "Seconds between runs");
        assert_eq!(found[2].meaning, "How it runs (of: fast, slow)");
        assert_eq!(found[2].default.as_deref(), Some("fast"));
        assert_eq!(found[3].env, None);
        let table = table(&found);
        assert!(
            table.contains("| `--url` |  | `http://x/` | Where, with a \\| in it |"),
            "{table}"
        );
    }
}
