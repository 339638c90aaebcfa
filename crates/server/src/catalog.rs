//! The served plans: every plan folder under `--plans` with its data set, loaded at start and
//! reloaded atomically (a plan whose new version fails keeps serving its old one).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use accrue_engine::{Baseline, DataSet, Diagnostic, PlanInput, ScriptLimits, Sources};

use crate::confined::Confined;

use crate::wire::{LoadProblem, ReloadReport, diagnostics};

/// A plan served from disk, with its data set and baseline computed once.
#[derive(Debug)]
pub struct ServedPlan {
    pub folder: PathBuf,
    pub input: Arc<PlanInput>,
    pub data: Arc<DataSet>,
    pub baseline: Arc<Baseline>,
}

impl ServedPlan {
    pub fn id(&self) -> &str {
        &self.baseline.plan.id
    }

    /// Reads `folder/plan.yaml` (and its scripts, through `sources`) and `folder/data/`,
    /// compiles the plan and indexes the data.
    pub fn load(folder: &Path, sources: Arc<dyn Sources>, limits: ScriptLimits) -> Result<ServedPlan, LoadProblem> {
        let problem = |message: String, list: &[Diagnostic]| LoadProblem {
            folder: folder.display().to_string(),
            message,
            diagnostics: diagnostics(list),
        };
        let input = PlanInput::read(sources, &folder.join("plan.yaml"), limits)
            .map_err(|d| problem("the plan does not parse".into(), &d.0))?;
        let data = DataSet::load(&folder.join("data")).map_err(|d| problem("the data does not load".into(), &d.0))?;
        let baseline = Baseline::new(&input, &data).map_err(|err| problem(err.to_string(), err.diagnostics()))?;
        Ok(ServedPlan {
            folder: folder.to_path_buf(),
            input: Arc::new(input),
            data: Arc::new(data),
            baseline: Arc::new(baseline),
        })
    }
}

/// One consistent set of served plans; replaced whole on reload.
#[derive(Debug, Default)]
pub struct Catalog {
    /// By plan id.
    pub plans: BTreeMap<String, Arc<ServedPlan>>,
    /// Folders that could not be loaded at all.
    pub problems: Vec<LoadProblem>,
}

/// The folder holding the plans folder (`plans/` → `.`), where shared scripts live.
fn project_root(plans: &Path) -> PathBuf {
    let plans = std::fs::canonicalize(plans).unwrap_or_else(|_| plans.to_path_buf());
    plans.parent().map_or_else(|| plans.clone(), Path::to_path_buf)
}

/// The plan folders under `root`: each folder holding a `plan.yaml`, sorted.
pub fn plan_folders(root: &Path) -> Vec<PathBuf> {
    let mut folders: Vec<PathBuf> = std::fs::read_dir(root)
        .map(|entries| {
            entries.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.join("plan.yaml").is_file()).collect()
        })
        .unwrap_or_default();
    folders.sort();
    folders
}

impl Catalog {
    /// Loads every plan folder under `root`; a broken one is reported and skipped.
    pub fn load(root: &Path, limits: ScriptLimits) -> Catalog {
        Catalog::reload(root, limits, &Catalog::default()).0
    }

    /// Loads every plan folder under `root` again. A folder whose new version fails keeps
    /// the version `old` served from it.
    pub fn reload(root: &Path, limits: ScriptLimits, old: &Catalog) -> (Catalog, ReloadReport) {
        let mut catalog = Catalog::default();
        let mut report = ReloadReport { loaded: Vec::new(), kept: Vec::new(), failed: Vec::new() };
        // Plans, their scripts and whatever a request's overlay or plan B names are read from
        // the project folder (the one holding the plans folder) and nowhere else.
        let sources: Arc<dyn Sources> = Confined::new(&project_root(root));
        for folder in plan_folders(root) {
            let served = match ServedPlan::load(&folder, sources.clone(), limits) {
                Ok(plan) => {
                    report.loaded.push(plan.id().to_string());
                    Arc::new(plan)
                }
                Err(problem) => match old.plans.values().find(|p| p.folder == folder) {
                    Some(previous) => {
                        tracing::warn!(folder = %folder.display(), reason = %problem.message,
                            "the new version of the plan failed; the old version keeps serving");
                        report.kept.push(problem);
                        previous.clone()
                    }
                    None => {
                        tracing::warn!(folder = %folder.display(), reason = %problem.message, "plan not loaded");
                        report.failed.push(problem.clone());
                        catalog.problems.push(problem);
                        continue;
                    }
                },
            };
            let id = served.id().to_string();
            if let Some(other) = catalog.plans.get(&id) {
                let problem = LoadProblem {
                    folder: folder.display().to_string(),
                    message: format!("plan id `{id}` is already served from {}", other.folder.display()),
                    diagnostics: Vec::new(),
                };
                report.failed.push(problem.clone());
                catalog.problems.push(problem);
                continue;
            }
            catalog.plans.insert(id, served);
        }
        (catalog, report)
    }
}
