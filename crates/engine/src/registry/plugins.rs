//! Plugin discovery: the `scripts/components/` folders a plan sees (its own folder and those
//! above it, up to the repository root) and the `.rhai` files in them.

use std::path::{Path, PathBuf};

use crate::source::Sources;

/// Finds plugin folders: `scripts/components/` in the plan's folder and each folder above it
/// up to the repository root,
/// farthest first (so the nearest wins on a name clash). Each comes with its path relative to
/// the plan's folder, which is how messages and traces name its scripts.
pub fn plugin_dirs(sources: &dyn Sources, plan_path: &Path) -> Vec<(PathBuf, String)> {
    let start = plan_path.parent().unwrap_or(Path::new(""));
    // Look up to the repository's root (the first folder holding `.git`), not beyond: a plan
    // should not pick up plugins from an unrelated folder above its project.
    let mut dirs: Vec<(PathBuf, String)> = sources
        .ancestors(start)
        .into_iter()
        .enumerate()
        .map(|(up, a)| (a.join("scripts").join("components"), format!("{}scripts/components", "../".repeat(up))))
        .filter(|(d, _)| sources.is_dir(d))
        .collect();
    dirs.reverse();
    dirs
}

/// The `.rhai` files of a folder, sorted.
pub fn plugin_files(sources: &dyn Sources, dir: &Path) -> Vec<PathBuf> {
    sources.files(dir).into_iter().filter(|p| p.extension().is_some_and(|e| e == "rhai")).collect()
}
