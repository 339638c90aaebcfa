//! Helpers shared by the engine's integration tests: a plan and data set written to a
//! temporary directory, loaded and run as a user would.

#![allow(dead_code)]

use std::path::Path;

use std::sync::Arc;

use accrue_engine::{DataSet, Diagnostic, Facts, Memory, Plan, PlanInput, PlanSource, Registry, RunResult};

/// A plan file and data directory in a temporary folder.
pub struct Scenario {
    pub dir: tempfile::TempDir,
}

impl Scenario {
    pub fn new(plan: &str, files: &[(&str, &str)]) -> Scenario {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("plan.yaml"), plan).unwrap();
        std::fs::create_dir(dir.path().join("data")).unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join("data").join(name), text).unwrap();
        }
        Scenario { dir }
    }

    pub fn plan_path(&self) -> std::path::PathBuf {
        self.dir.path().join("plan.yaml")
    }

    pub fn plan(&self) -> Result<Plan, Vec<Diagnostic>> {
        let registry = Registry::for_plan(&self.plan_path(), Default::default());
        PlanSource::read(&self.plan_path()).and_then(|s| s.compile(&registry, &Default::default())).map_err(|d| d.0)
    }

    pub fn facts(&self) -> Result<(Plan, Facts), Vec<Diagnostic>> {
        let plan = self.plan()?;
        let facts = Facts::load(&self.dir.path().join("data"), &plan).map_err(|d| d.0)?;
        Ok((plan, facts))
    }

    pub fn run(&self) -> RunResult {
        let (plan, facts) = self.facts().unwrap_or_else(|d| panic!("scenario does not load: {d:#?}"));
        accrue_engine::run(&plan, &facts)
    }
}

/// A plan and its data files held in memory (as the server and `accrue test` give them),
/// read as the analyses read them.
pub fn in_memory(plan: &str, files: &[(&str, &str)]) -> (PlanInput, DataSet) {
    let mut memory = Memory::new().with("case/plan.yaml", plan);
    for (name, text) in files {
        memory.insert(Path::new("case/data").join(name), *text);
    }
    let memory = Arc::new(memory);
    let input = PlanInput::read(memory.clone(), Path::new("case/plan.yaml"), Default::default())
        .unwrap_or_else(|d| panic!("{d}"));
    let data = DataSet::read(memory, Path::new("case/data")).unwrap_or_else(|d| panic!("{d}"));
    (input, data)
}

/// Loads `files` for `plan` and checks that the data fails with exactly one error, in `file`
/// at `line`:`col`, whose message contains `message`.
#[track_caller]
pub fn single_data_error(plan: &str, files: &[(&str, &str)], file: &str, message: &str, line: u32, col: u32) {
    let diagnostics = match Scenario::new(plan, files).facts() {
        Ok(_) => panic!("the data should not load"),
        Err(d) => d,
    };
    assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    let error = &diagnostics[0];
    assert!(error.message.contains(message), "{error}");
    let location = error.location.as_ref().expect("located");
    assert!(location.file.ends_with(file), "{error}");
    assert_eq!((location.span.line, location.span.col), (line, col), "{error}");
}

/// Compiles plan text (no data).
pub fn compile(text: &str) -> Result<Plan, Vec<Diagnostic>> {
    PlanSource::from_text(Path::new("plan.yaml"), text.to_string())
        .and_then(|s| s.compile(&Registry::builtin(), &Default::default()))
        .map_err(|d| d.0)
}

/// The amount of `component` for `payee` in `period`, as the JSON shows it.
pub fn amount(result: &RunResult, payee: &str, period: &str, component: &str) -> String {
    let statement = result
        .statements
        .iter()
        .find(|s| s.payee == payee && s.period == period)
        .unwrap_or_else(|| panic!("no statement for {payee} {period}; errors: {:?}", result.errors));
    let line = statement
        .lines
        .iter()
        .find(|l| l.component == component)
        .unwrap_or_else(|| panic!("no line {component} in {payee} {period}"));
    line.amount.to_string()
}

/// A one-role annual plan around `components` (YAML list items indented by 6 spaces).
pub fn annual_plan(components: &str) -> String {
    format!(
        "plan: t\nyear: 2027\nperiods: year\nmeasures:\n  csat: {{aggregate: mean}}\nroles:\n  ae:\n    motion: hunter\n    target_incentive: 60000\n    components:\n{components}"
    )
}

pub const ROSTER_ONE: &str = "id,name,role,quota\np01,Alice,ae,1000000\n";
