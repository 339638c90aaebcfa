//! The engine's layers (ARCHITECTURE.md): a module imports only modules of its own layer or
//! of a layer below, and no two modules import each other, directly or round a cycle. The
//! check reads every `crate::` path in `src/**/*.rs` (comments left out); a new module must
//! be placed in [`LAYERS`] before it compiles into a passing test.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, lowest first; each module of the crate root belongs to exactly one.
const LAYERS: &[(&str, &[&str])] = &[
    (
        "types and numbers",
        &[
            "number",
            "arith",
            "calendar",
            "diagnostic",
            "error",
            "spanned",
            "yaml",
            "measure",
            "source",
            "csvfile",
            "statement",
            "script",
            "deadline",
        ],
    ),
    ("plan model", &["spec", "plan", "testcase"]),
    ("data", &["data"]),
    ("components", &["component"]),
    ("registry", &["registry"]),
    ("evaluation", &["eval", "curve", "lint"]),
    // Being added: what-if scenarios, Monte Carlo, the alignment grid. Nothing imports it.
    ("analysis", &["analysis"]),
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|(_, modules)| modules.contains(&module))
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The crate-root module a file belongs to (`component/tiered.rs` → `component`); `None` for
/// `lib.rs`.
fn module_of(file: &Path) -> Option<String> {
    let relative = file.strip_prefix(src()).unwrap();
    let first = relative.components().next()?.as_os_str().to_string_lossy().into_owned();
    match first.strip_suffix(".rs") {
        Some("lib") => None,
        Some(stem) => Some(stem.to_string()),
        None => Some(first),
    }
}

/// The code of a file without its comments (line comments and doc comments).
fn code(text: &str) -> String {
    text.lines().map(|line| line.find("//").map_or(line, |at| &line[..at])).collect::<Vec<_>>().join("\n")
}

/// The first segment of every `crate::` path in `code`: `crate::a::B` gives `a`,
/// `crate::{a::B, c}` gives `a` and `c`.
fn crate_paths(code: &str) -> Vec<String> {
    let ident = |s: &str| -> String { s.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect() };
    let mut found = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue; // `accrue_engine_crate::` or similar, not our crate
        }
        if let Some(group) = rest.strip_prefix('{') {
            // Top-level names of a use group.
            let mut depth = 0;
            let mut start = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => start = true,
                    c if start && (c.is_alphanumeric() || c == '_') => {
                        found.push(ident(&group[i..]));
                        start = false;
                    }
                    _ => {}
                }
            }
        } else {
            found.push(ident(rest));
        }
    }
    found
}

/// Module → the modules it imports (itself left out).
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let Some(module) = module_of(&file) else { continue };
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.starts_with("//!"), "{} does not open with a `//!` line saying what it is for", file.display());
        let code = code(&text);
        assert!(
            !code.contains("super::super"),
            "{}: reach other modules through `crate::` paths, not `super::super`",
            file.display()
        );
        // In a crate-root module (`x.rs`, `x/mod.rs`) `super::` is the crate root and its
        // re-exports: a way round the layers. (Unit tests, last in a file, may use it.)
        let depth = file.strip_prefix(src()).unwrap().components().count();
        let root_module = depth == 1 || file.ends_with("mod.rs") && depth == 2;
        let before_tests = code.split("#[cfg(test)]").next().unwrap_or_default();
        assert!(
            !(root_module && before_tests.contains("super::")),
            "{}: `super::` here is the crate root; import through `crate::` paths",
            file.display()
        );
        let used = graph.entry(module.clone()).or_default();
        for target in crate_paths(&code) {
            assert!(
                target.starts_with(|c: char| c.is_lowercase()),
                "{}: `crate::{target}` goes through the crate root's re-exports; import from its module",
                file.display()
            );
            if target != module {
                used.insert(target);
            }
        }
    }
    graph
}

#[test]
fn every_module_has_a_layer() {
    let graph = imports();
    for module in graph.keys().chain(graph.values().flatten()) {
        assert!(layer_of(module).is_some(), "module `{module}` is in no layer: add it to LAYERS and ARCHITECTURE.md");
    }
    // The scan finds what is there (so that the other tests cannot pass on an empty graph).
    assert!(graph["eval"].contains("registry") && graph["component"].contains("plan"), "{graph:#?}");
}

#[test]
fn no_module_imports_a_layer_above_its_own() {
    let mut violations = Vec::new();
    for (module, used) in imports() {
        let (Some(own), targets) = (layer_of(&module), used) else { continue };
        for target in targets {
            if let Some(theirs) = layer_of(&target).filter(|&theirs| theirs > own) {
                violations.push(format!("`{module}` ({}) imports `{target}` ({})", LAYERS[own].0, LAYERS[theirs].0));
            }
        }
    }
    assert!(violations.is_empty(), "a lower layer imports a higher one:\n{}", violations.join("\n"));
}

#[test]
fn modules_import_each_other_in_no_cycle() {
    let graph = imports();
    // Depth-first search; a module met again while on the path closes a cycle.
    fn visit<'a>(
        module: &'a str,
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|m| *m == module) {
            let mut cycle: Vec<String> = path[at..].iter().map(|m| m.to_string()).collect();
            cycle.push(module.to_string());
            return Some(cycle);
        }
        if !done.insert(module) {
            return None;
        }
        path.push(module);
        for next in graph.get(module).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    for module in graph.keys() {
        if let Some(cycle) = visit(module, &graph, &mut Vec::new(), &mut done) {
            panic!("modules import each other in a cycle: {}", cycle.join(" → "));
        }
    }
}

#[test]
fn the_scanner_reads_paths_and_groups() {
    #[track_caller]
    fn check(code: &str, expected: &[&str]) {
        assert_eq!(crate_paths(code), expected, "{code}");
    }
    check("use crate::plan::Plan;", &["plan"]);
    check("use crate::{arith::Frac, calendar::{Window, parse_date}, number};", &["arith", "calendar", "number"]);
    check("let x = crate::number::round_money(v, 2);", &["number"]);
    check("#[schemars(schema_with = \"crate::component::target_schema\")]", &["component"]);
    check("use my_crate::plan;", &[]);
    assert_eq!(code("use crate::a; // crate::b\n/// crate::c"), "use crate::a; \n");
}
