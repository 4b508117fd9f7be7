//! The contract between the Rust core, the JS facade and their public description: every error
//! code the sources can give an error is listed in js/index.d.ts (`ErrorCode`) and in
//! docs/api.md, and nothing is listed that no source gives; the change kinds and the options of
//! `Replica.open` are the ones the types and the reference show.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use yreplica::config::SyncConfig;
use yreplica::replica::ChangeKind;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &str) -> String {
    fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Files under `dir` (recursively) whose name ends with `ext`.
fn files(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files(&path, ext, out);
        } else if path.to_string_lossy().ends_with(ext) {
            out.push(path);
        }
    }
}

/// Quoted literals that look like codes (`'CLOSED'`, `"FRAME_TOO_LARGE"`): capitals, digits
/// and underscores, at least four characters, starting with a capital.
fn code_literals(text: &str, quotes: &[char]) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if quotes.contains(&chars[i]) {
            let quote = chars[i];
            let start = i + 1;
            let mut end = start;
            while end < chars.len()
                && (chars[end].is_ascii_uppercase()
                    || chars[end].is_ascii_digit()
                    || chars[end] == '_')
            {
                end += 1;
            }
            if end < chars.len()
                && chars[end] == quote
                && end - start >= 4
                && chars[start].is_ascii_uppercase()
            {
                found.insert(chars[start..end].iter().collect());
                i = end + 1;
                continue;
            }
        }
        i += 1;
    }
    found
}

/// Literals in the sources that look like codes but are codes read, not given: Node's system
/// errors (the file store checks them) and the `ws` package's refusal of a large message.
const READ_NOT_GIVEN: &[&str] = &[
    "EEXIST",
    "ENOENT",
    "EPERM",
    "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH",
];

/// Every code the library's sources can give an error: the Rust crate's string literals and
/// the facade's (js/*.js; the CLI in js/cli/ reports to a terminal and gives no codes).
fn codes_in_sources() -> BTreeSet<String> {
    let mut codes = BTreeSet::new();
    let mut rust = Vec::new();
    files(&root().join("src"), ".rs", &mut rust);
    for file in rust {
        codes.extend(code_literals(&fs::read_to_string(&file).unwrap(), &['"']));
    }
    for entry in fs::read_dir(root().join("js")).unwrap().flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|ext| ext == "js") {
            codes.extend(code_literals(
                &fs::read_to_string(&path).unwrap(),
                &['\'', '"'],
            ));
        }
    }
    for read_only in READ_NOT_GIVEN {
        codes.remove(*read_only);
    }
    codes
}

/// The members of a union of string literals, `export type NAME =` followed by `| 'A'` lines.
fn union_members(types: &str, name: &str) -> BTreeSet<String> {
    let start = types
        .find(&format!("export type {name} ="))
        .unwrap_or_else(|| panic!("index.d.ts declares {name}"));
    types[start..]
        .lines()
        .skip(1)
        .map(str::trim)
        .take_while(|line| line.starts_with('|'))
        .map(|line| {
            line.trim_start_matches('|')
                .trim()
                .trim_matches('\'')
                .to_string()
        })
        .collect()
}

/// The body of `export interface NAME { ... }` (up to its closing brace at the line start).
fn interface_body<'a>(types: &'a str, name: &str) -> &'a str {
    let start = [
        format!("export interface {name} {{"),
        format!("export interface {name}<"),
    ]
    .iter()
    .find_map(|head| types.find(head.as_str()))
    .unwrap_or_else(|| panic!("index.d.ts declares {name}"));
    let end = types[start..].find("\n}").unwrap();
    &types[start..start + end]
}

#[test]
fn index_d_ts_and_the_api_reference_list_every_error_code_the_sources_give() {
    let types = read("js/index.d.ts");
    let api = read("docs/api.md");
    let listed = union_members(&types, "ErrorCode");
    let given = codes_in_sources();
    let missing: Vec<_> = given.difference(&listed).collect();
    assert!(
        missing.is_empty(),
        "codes the sources give that index.d.ts's ErrorCode lacks: {missing:?}"
    );
    let stale: Vec<_> = listed.difference(&given).collect();
    assert!(
        stale.is_empty(),
        "codes ErrorCode lists that no source gives: {stale:?}"
    );
    let undocumented: Vec<_> = listed
        .iter()
        .filter(|code| !api.contains(&format!("`{code}`")))
        .collect();
    assert!(
        undocumented.is_empty(),
        "codes docs/api.md does not describe: {undocumented:?}"
    );
    // the codes a test is sure of, so that a scan that finds nothing cannot pass
    for code in [
        "CLOSED",
        "INTERNAL",
        "INVALID_VALUE",
        "NOT_FOUND",
        "CONNECT_FAILED",
        "FRAME_TOO_LARGE",
    ] {
        assert!(given.contains(code), "{code} not found in the sources");
    }
}

#[test]
fn change_kinds_are_the_types_of_changes() {
    let types = read("js/index.d.ts");
    let change = interface_body(&types, "Change");
    let names: Vec<String> = ChangeKind::ALL
        .iter()
        .map(|kind| format!("'{}'", kind.as_str()))
        .collect();
    assert!(
        change.contains(&format!("type: {}", names.join(" | "))),
        "{change}"
    );
}

#[test]
fn the_options_of_open_are_the_facades_and_the_sync_engines() {
    // js/options.js: `const FACADE_OPTIONS = ['name', ...]`, the options only the facade reads
    let options = read("js/options.js");
    let line = options
        .lines()
        .find(|line| line.starts_with("const FACADE_OPTIONS = ["))
        .expect("js/options.js lists FACADE_OPTIONS on one line");
    let facade: BTreeSet<String> = line
        .split('\'')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect();
    let sync: BTreeSet<String> = SyncConfig::option_names().into_iter().collect();
    assert!(sync.contains("heartbeatIntervalMs") && facade.contains("name"));
    assert!(facade.is_disjoint(&sync), "{facade:?} {sync:?}");

    let types = read("js/index.d.ts");
    let open_options = interface_body(&types, "OpenOptions");
    let typed: BTreeSet<String> = open_options
        .lines()
        .filter_map(|line| {
            let line = line.trim();
            let name = line.split(['?', ':']).next()?;
            (line.len() > name.len()
                && name.chars().all(|c| c.is_ascii_alphanumeric())
                && !name.is_empty())
            .then(|| name.to_string())
        })
        .collect();
    let all: BTreeSet<String> = facade.union(&sync).cloned().collect();
    assert_eq!(typed, all, "OpenOptions in index.d.ts");

    let api = read("docs/api.md");
    for option in &all {
        assert!(
            api.contains(&format!("| `{option}` |")),
            "docs/api.md's table of options lacks {option}"
        );
    }
}
