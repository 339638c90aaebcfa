//! The user guide in `docs/` against the code: the component catalogue is the registry's own
//! words, every component type and every data column the loader reads is documented, and no
//! link of the guide or the README leads outside the repository.

use std::path::{Path, PathBuf};

use accrue_engine::{DATA_COLUMNS, Registry, ScriptLimits};
use assert_cmd::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn the_component_catalogue_is_generated_from_the_registry() {
    let out = Command::cargo_bin("accrue")
        .unwrap()
        .current_dir(root())
        .args(["components", "--format", "markdown"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let generated = String::from_utf8(out.stdout).unwrap();
    assert!(
        generated == read("docs/components.md"),
        "docs/components.md is stale: run `cargo run -q -- components --format markdown > docs/components.md`"
    );
}

#[test]
fn every_component_type_is_documented() {
    let registry = Registry::for_plan(&root().join("plan.yaml"), ScriptLimits::default());
    let catalogue = read("docs/components.md");
    let format = read("docs/plan-format.md");
    for info in registry.infos() {
        assert!(
            catalogue.contains(&format!("## {}\n", info.name)),
            "docs/components.md has no section `{}`",
            info.name
        );
        if info.source == "built-in" {
            assert!(format.contains(&format!("`{}`", info.name)), "docs/plan-format.md does not name `{}`", info.name);
        }
    }
}

#[test]
fn every_data_column_the_loader_reads_is_documented() {
    let data = read("docs/data.md");
    for (file, required, optional) in DATA_COLUMNS {
        let heading = format!("## `{file}`");
        let start = data.find(&heading).unwrap_or_else(|| panic!("docs/data.md has no section {heading}"));
        let section = &data[start + heading.len()..];
        let section = &section[..section.find("\n## ").unwrap_or(section.len())];
        for column in required {
            assert!(
                section.contains(&format!("| `{column}` | yes |")),
                "{file}: `{column}` not documented as required"
            );
        }
        for column in optional {
            assert!(section.contains(&format!("| `{column}` |")), "{file}: `{column}` not documented");
        }
    }
    // The deal kinds and the measures they feed.
    for (kind, measure) in [
        ("new", "bookings"),
        ("expansion", "expansion"),
        ("renewal", "renewals"),
        ("contraction", "contraction"),
        ("churn", "churn"),
    ] {
        assert!(data.contains(&format!("| `{kind}` | `{measure}`")), "deal kind `{kind}` → `{measure}`");
    }
}

#[test]
fn the_guide_and_readme_link_only_inside_the_repository() {
    let mut files = vec![root().join("README.md")];
    for entry in std::fs::read_dir(root().join("docs")).unwrap() {
        // Pages only: the guide also holds pictures (hr-page.png).
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            files.push(path);
        }
    }
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.starts_with("# "), "{} opens with a title", file.display());
        assert!(!text.contains("SPEC"), "{} points at the SPEC, which is not in the repository", file.display());
        for (i, _) in text.match_indices("](") {
            let target = &text[i + 2..];
            let target = &target[..target.find(')').unwrap()];
            assert!(!target.contains("://"), "{}: link {target} leads outside the repository", file.display());
            let path = target.split('#').next().unwrap();
            if !path.is_empty() {
                let resolved = file.parent().unwrap().join(path);
                assert!(resolved.exists(), "{}: link {target} leads nowhere", file.display());
            }
        }
    }
}
