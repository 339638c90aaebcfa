//! The plan schema (`accrue schema`, committed as `plan.schema.json` for editors): it is up
//! to date with the code, every sample plan validates against it, and it rejects what the
//! loader rejects.

use std::path::{Path, PathBuf};

use accrue_engine::{PlanSource, Registry, ScriptLimits};
use serde_json::Value;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn schema() -> Value {
    let registry = Registry::for_plan(&workspace().join("plan.yaml"), ScriptLimits::default());
    accrue_engine::plan_schema(&registry)
}

fn validate(plan: &Path) -> Vec<String> {
    let source = PlanSource::read(plan).unwrap();
    // The plan as an editor's YAML language server sees it.
    let instance = source.to_json();
    let validator = jsonschema::validator_for(&schema()).expect("a valid schema");
    validator.iter_errors(&instance).map(|e| format!("{} at {}", e, e.instance_path())).collect()
}

#[test]
fn the_committed_schema_is_up_to_date() {
    let committed: Value =
        serde_json::from_str(&std::fs::read_to_string(workspace().join("plan.schema.json")).unwrap()).unwrap();
    assert!(committed == schema(), "plan.schema.json is stale: run `cargo run -q -- schema > plan.schema.json`");
}

#[test]
fn every_sample_plan_validates_and_points_at_the_schema() {
    for entry in std::fs::read_dir(workspace().join("plans")).unwrap() {
        let plan = entry.unwrap().path().join("plan.yaml");
        if !plan.exists() {
            continue;
        }
        let errors = validate(&plan);
        assert!(errors.is_empty(), "{}: {errors:#?}", plan.display());
        let text = std::fs::read_to_string(&plan).unwrap();
        assert!(text.starts_with("# yaml-language-server: $schema=../../plan.schema.json"), "{}", plan.display());
    }
}

#[test]
fn the_schema_rejects_what_the_loader_rejects() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let cases = [
        ("unknown key", "        thresold: 0.5\n"),
        ("key of another type", "        expansion_rate: 0.1\n"),
        ("bad window", "        window: monthly\n"),
    ];
    for (what, extra) in cases {
        let plan = dir.join("plan.yaml");
        let text = format!(
            "plan: t\nyear: 2027\nperiods: quarter\nroles:\n  ae:\n    motion: hunter\n    components:\n      - id: c\n        type: tiered\n        measure: bookings\n        tiers: [{{from: 0, rate: 0.1}}]\n{extra}"
        );
        std::fs::write(&plan, text).unwrap();
        assert!(!validate(&plan).is_empty(), "the schema accepts a plan with a {what}");
        let registry = Registry::for_plan(&plan, ScriptLimits::default());
        assert!(PlanSource::read(&plan).unwrap().compile(&registry, &Default::default()).is_err(), "{what}");
    }
}

#[test]
fn every_top_level_key_is_described_for_a_finance_reader() {
    let schema = schema();
    let description = schema["description"].as_str().unwrap();
    assert!(description.contains("docs/"), "the schema cites the user guide: {description}");
    for (key, property) in schema["properties"].as_object().unwrap() {
        let words = property["description"].as_str().unwrap_or_else(|| panic!("`{key}` has no description"));
        assert!(words.len() > 20, "`{key}`: {words}");
        assert!(!words.contains("SPEC") && !words.contains("here so that"), "`{key}`: {words}");
    }
    let text = serde_json::to_string(&schema).unwrap();
    assert!(!text.contains("SPEC §"), "the schema cites the docs, not the SPEC");
}
