//! Files on disk, confined to one folder: the sources of served plans. A request may name
//! script paths (in an overlay, or a plan B over a served plan); they resolve against the
//! plan's folder like any path, but nothing outside the project folder is ever read.

use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use accrue_engine::{FileSystem, Sources};

/// [`FileSystem`] that answers "no such file" for anything outside `root`.
#[derive(Debug, Clone)]
pub struct Confined {
    root: PathBuf,
}

impl Confined {
    /// Confines reads to `root` (canonicalised: links and `..` cannot leave it).
    pub fn new(root: &Path) -> Arc<Confined> {
        let root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
        Arc::new(Confined { root })
    }

    /// Whether `path` (which may not exist yet) lies inside the root.
    fn allows(&self, path: &Path) -> bool {
        match std::fs::canonicalize(path) {
            Ok(real) => real.starts_with(&self.root),
            // A missing file is read as missing either way; its folder must still be inside.
            Err(_) => path
                .parent()
                .and_then(|parent| {
                    std::fs::canonicalize(if parent.as_os_str().is_empty() { Path::new(".") } else { parent }).ok()
                })
                .is_some_and(|real| real.starts_with(&self.root)),
        }
    }
}

impl Sources for Confined {
    fn read(&self, path: &Path) -> io::Result<Option<Arc<str>>> {
        if self.allows(path) { FileSystem.read(path) } else { Ok(None) }
    }

    fn open(&self, path: &Path) -> io::Result<Option<Box<dyn Read + Send + '_>>> {
        if self.allows(path) { FileSystem.open(path) } else { Ok(None) }
    }

    fn line_at(&self, path: &Path, offset: u64) -> Option<String> {
        if self.allows(path) { FileSystem.line_at(path, offset) } else { None }
    }

    fn files(&self, dir: &Path) -> Vec<PathBuf> {
        if self.allows(dir) { FileSystem.files(dir) } else { Vec::new() }
    }

    fn is_dir(&self, path: &Path) -> bool {
        self.allows(path) && FileSystem.is_dir(path)
    }

    fn ancestors(&self, dir: &Path) -> Vec<PathBuf> {
        FileSystem.ancestors(dir).into_iter().filter(|folder| folder.starts_with(&self.root)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_outside_the_root_is_read() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let sources = Confined::new(&root);
        let inside = root.join("plans/msp-fy2027/plan.yaml");
        assert!(sources.read(&inside).unwrap().is_some());
        assert!(sources.read(&root.join("plans/msp-fy2027/../../scripts/margin_bonus.rhai")).unwrap().is_some());
        assert!(sources.read(&root.join("../../../../../../etc/hostname")).unwrap().is_none());
        assert!(sources.read(Path::new("/etc/hostname")).unwrap().is_none());
        assert!(sources.ancestors(&root.join("plans/msp-fy2027")).iter().all(|p| p.starts_with(&sources.root)));
    }
}
