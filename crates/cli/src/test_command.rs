//! `accrue test`: runs plan test cases and prints what differs, ending with
//! `N passed, M failed`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use accrue_engine::{Facts, FileSystem, Memory, PlanSource, Registry, ScriptLimits, Sources, TestCase, TestFile};
use anyhow::{Context, Result};

use crate::{Failure, Outcome, render};

/// Test files under `paths`, each path one of: a test file; a plan file (`plan.yaml`: the
/// tests of its folder); a tests folder (its `*.yaml`); a plan folder (its `tests/*.yaml`); a
/// folder of plan folders (`plans`: every plan folder's tests). With no paths, every
/// `plans/*/tests/*.yaml`. A path that does not exist is a usage error (exit 2).
fn collect(paths: &[PathBuf]) -> Result<Result<Vec<PathBuf>, String>> {
    if paths.is_empty() {
        if !Path::new("plans").is_dir() {
            return Ok(
                Err("no paths given and no plans/ folder here: name a plan, a plan folder or test files".into()),
            );
        }
        return plan_folders(Path::new("plans")).map(Ok);
    }
    let mut files = Vec::new();
    for root in paths {
        if !root.exists() {
            return Ok(Err(format!("{} does not exist", root.display())));
        }
        if root.is_file() {
            let is_plan = root.file_name().is_some_and(|n| n == "plan.yaml" || n == "plan.yml");
            match root.parent().map(|dir| dir.join("tests")).filter(|tests| is_plan && tests.is_dir()) {
                Some(tests) => files.extend(yaml_files(&tests)?),
                None if is_plan => return Ok(Err(format!("{} has no tests/ folder next to it", root.display()))),
                None => files.push(root.clone()),
            }
            continue;
        }
        let own = yaml_files(root)?;
        if root.join("tests").is_dir() {
            files.extend(yaml_files(&root.join("tests"))?);
        } else if !own.is_empty() {
            files.extend(own);
        } else {
            let found = plan_folders(root)?;
            if found.is_empty() {
                return Ok(Err(format!(
                    "{} holds no test files, no tests/ folder and no plan folders with tests",
                    root.display()
                )));
            }
            files.extend(found);
        }
    }
    Ok(Ok(files))
}

/// The `tests/*.yaml` of every plan folder directly under `dir`, in name order.
fn plan_folders(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut folders: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("tests").is_dir())
        .collect();
    folders.sort();
    let mut files = Vec::new();
    for folder in folders {
        files.extend(yaml_files(&folder.join("tests"))?);
    }
    Ok(files)
}

/// The `*.yaml` and `*.yml` files of a folder, in name order.
fn yaml_files(folder: &Path) -> Result<Vec<PathBuf>> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(folder)
        .with_context(|| format!("cannot read {}", folder.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    found.sort();
    Ok(found)
}

pub fn run(paths: &[PathBuf]) -> Outcome {
    let files = match collect(paths)? {
        Ok(files) => files,
        Err(message) => return Ok(Err(Failure::Usage(message))),
    };
    if files.is_empty() {
        return Ok(Err(Failure::Usage("no test files found".into())));
    }
    let (mut passed, mut failed) = (0usize, 0usize);
    for path in files {
        let file = match TestFile::read(&path) {
            Ok(file) => file,
            Err(errors) => {
                eprint!("{}", render::diagnostics(&errors.0));
                failed += 1;
                continue;
            }
        };
        say!("{}", path.display());
        // The plan is read and its plugins found once per file; each case compiles it with
        // its own parameter overrides.
        let registry = Registry::for_plan(&file.plan, ScriptLimits::default());
        let source = PlanSource::read(&file.plan).map_err(|d| anyhow::anyhow!("{d}"));
        for case in &file.cases {
            match source
                .as_ref()
                .map_err(|e| anyhow::anyhow!("{e}"))
                .and_then(|source| run_case(source, &registry, &path, case))
            {
                Ok(problems) if problems.is_empty() => {
                    passed += 1;
                    say!("  ok      {}", case.name);
                }
                Ok(problems) => {
                    failed += 1;
                    say!("  FAILED  {} ({}:{})", case.name, path.display(), case.line);
                    for problem in problems {
                        say!("          {problem}");
                    }
                }
                Err(err) => {
                    failed += 1;
                    say!("  FAILED  {} ({}:{})", case.name, path.display(), case.line);
                    for line in format!("{err:#}").lines() {
                        say!("          {line}");
                    }
                }
            }
        }
    }
    say!("\n{passed} passed, {failed} failed");
    Ok(if failed == 0 { Ok(()) } else { Err(Failure::Input) })
}

/// Runs one case; returns what differs from the expectations. The case's data folder and
/// inline tables are held in memory: nothing is written to disk.
fn run_case(source: &PlanSource, registry: &Registry, file: &Path, case: &TestCase) -> Result<Vec<String>> {
    let plan = source.compile(registry, &case.set).map_err(|d| anyhow::anyhow!("the plan does not compile:\n{d}"))?;
    let dir = Path::new("data");
    let mut memory = Memory::new();
    if let Some(data) = &case.data {
        copy_data(data, dir, &mut memory)?;
    }
    for (name, csv) in &case.tables {
        memory.insert(dir.join(name), csv.as_str());
    }
    if memory.read(&dir.join("deals.csv"))?.is_none() {
        memory.insert(dir.join("deals.csv"), "id,owner,close_date,kind,amount,gross_margin\n");
    }
    let facts =
        Facts::read(Arc::new(memory), dir, &plan).map_err(|d| anyhow::anyhow!("the data does not load:\n{d}"))?;
    // A component the payee's role does not have is named with its place and a suggestion,
    // instead of the comparison's "no such line".
    let unknown = case.unknown_components(file, |payee| {
        let role = &facts.payees()[facts.payee_index(payee)?].role;
        let ids = plan.roles.get(&**role)?.component_ids.iter().map(|id| id.to_string()).collect();
        Some((role.to_string(), ids))
    });
    let result = accrue_engine::run(&plan, &facts);
    let differences = case
        .check(&result)
        .into_iter()
        .filter(|m| !unknown.iter().any(|(name, _)| m.0.contains(&format!(" {name}: no such line"))))
        .collect::<Vec<_>>();
    Ok(unknown.into_iter().map(|(_, m)| m.0).chain(differences.into_iter().map(|m| m.0)).collect())
}

/// Reads the CSV files of a case's `data:` folder into memory, under `to`.
fn copy_data(from: &Path, to: &Path, memory: &mut Memory) -> Result<()> {
    for path in FileSystem.files(from) {
        if path.extension().is_some_and(|e| e == "csv") {
            if let Some(name) = path.file_name() {
                let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
                memory.insert(to.join(name), text);
            }
        }
    }
    if !FileSystem.is_dir(from) {
        anyhow::bail!("cannot read data folder {}", from.display());
    }
    Ok(())
}
