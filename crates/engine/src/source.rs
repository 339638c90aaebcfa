//! Where plan text, scripts, plugin folders and data files come from: the file system, or
//! memory (the server's inline plans and data, `accrue test`'s inline tables, overlays).
//!
//! The engine reads through a [`Sources`] and never assumes a disk, like zen's
//! `DecisionLoader`. A path names a file in either; in memory, folders are implied by the
//! files' paths. The path as given is how diagnostics name the file (its source id).

use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

/// A supplier of files: plan text, scripts, plugin folders and data files.
pub trait Sources: Send + Sync + fmt::Debug {
    /// The whole text of a file; `Ok(None)` when there is no such file.
    fn read(&self, path: &Path) -> io::Result<Option<Arc<str>>>;

    /// A reader over a file, for data files too large to hold twice; `Ok(None)` when there
    /// is no such file.
    fn open(&self, path: &Path) -> io::Result<Option<Box<dyn Read + Send + '_>>>;

    /// The size of a file in bytes, when known cheaply (to size a reader's buffers).
    fn size(&self, path: &Path) -> Option<u64> {
        let _ = path;
        None
    }

    /// Where `path` really is, symbolic links resolved, when the sources can tell (files on
    /// disk); `None` otherwise. Script paths are confined by it.
    fn real_path(&self, path: &Path) -> Option<PathBuf> {
        let _ = path;
        None
    }

    /// The line of a file that starts at byte `offset` (to place an error's column).
    fn line_at(&self, path: &Path, offset: u64) -> Option<String>;

    /// The files directly inside a folder, sorted; empty when it is not a folder.
    fn files(&self, dir: &Path) -> Vec<PathBuf>;

    /// Whether `path` is a folder.
    fn is_dir(&self, path: &Path) -> bool;

    /// The folders from `dir` up to the project's root (the first holding `.git`; for memory
    /// sources, the top), nearest first: where plugin types are looked up.
    fn ancestors(&self, dir: &Path) -> Vec<PathBuf>;
}

/// What a file is read as, by its extension, and the most bytes it may hold (issue 15: a
/// `/dev/zero` or a runaway file must fail at once, not after gigabytes). The caps are far
/// above any real plan, script or data file; docs/data.md lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// `.csv`: data files (and `accrue test`'s tables).
    Data,
    /// `.rhai`: scripts and plugin component types.
    Script,
    /// Anything else: plan YAML, what-if overlays, plan tests.
    Text,
}

impl FileKind {
    pub fn of(path: &Path) -> FileKind {
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("csv") => FileKind::Data,
            Some(e) if e.eq_ignore_ascii_case("rhai") => FileKind::Script,
            _ => FileKind::Text,
        }
    }

    /// The most bytes a file of this kind may hold.
    pub const fn cap(self) -> u64 {
        match self {
            FileKind::Data => 4 << 30,
            FileKind::Script => 4 << 20,
            FileKind::Text => 64 << 20,
        }
    }

    /// The cap as people read it, with the kind: `4 GiB, the limit for a data file`.
    pub fn describe_cap(self) -> String {
        let cap = self.cap();
        let size = if cap >= 1 << 30 { format!("{} GiB", cap >> 30) } else { format!("{} MiB", cap >> 20) };
        let what = match self {
            FileKind::Data => "a data file",
            FileKind::Script => "a script",
            FileKind::Text => "a plan or YAML file",
        };
        format!("{size}, the limit for {what}")
    }
}

/// The longest line a CSV file may have (a field of a megabyte is not data).
pub const MAX_LINE: usize = 1 << 20;

/// Files on disk. Only regular files are read (a FIFO would hang the run, a device such as
/// `/dev/zero` never ends), and none past its kind's [`FileKind::cap`].
#[derive(Debug, Clone, Copy, Default)]
pub struct FileSystem;

/// Opens `path` for reading if it is a regular file within its cap; `Ok(None)` when it does
/// not exist.
fn open_regular(path: &Path) -> io::Result<Option<(std::fs::File, FileKind)>> {
    // Looked at before opening: opening a FIFO blocks until someone writes to it.
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(err),
    };
    check_regular(&meta)?;
    let file = std::fs::File::open(path)?;
    // And again on the file opened, in case it was swapped in between.
    check_regular(&file.metadata()?)?;
    let kind = FileKind::of(path);
    if meta.len() > kind.cap() {
        return Err(too_large(kind));
    }
    Ok(Some((file, kind)))
}

fn check_regular(meta: &std::fs::Metadata) -> io::Result<()> {
    use std::os::unix::fs::FileTypeExt;
    let kind = meta.file_type();
    let what = if kind.is_file() {
        return Ok(());
    } else if kind.is_dir() {
        "a directory"
    } else if kind.is_fifo() {
        "a FIFO (named pipe)"
    } else if kind.is_char_device() || kind.is_block_device() {
        "a device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "not a file"
    };
    // Callers name the file: "cannot read data/deals.csv: a FIFO (named pipe), not a regular file".
    Err(io::Error::new(io::ErrorKind::InvalidInput, format!("{what}, not a regular file")))
}

fn too_large(kind: FileKind) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("larger than {}", kind.describe_cap()))
}

/// A reader that fails (rather than stopping short) past `left` bytes: a file whose size
/// said nothing (`/proc`) or that grows while read.
struct Capped<R> {
    inner: R,
    left: u64,
    kind: FileKind,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // One byte more than allowed tells a file at the cap from one past it.
        let want = buf.len().min(usize::try_from(self.left.saturating_add(1)).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        if n as u64 > self.left {
            return Err(too_large(self.kind));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

impl Sources for FileSystem {
    fn read(&self, path: &Path) -> io::Result<Option<Arc<str>>> {
        let Some((file, kind)) = open_regular(path)? else { return Ok(None) };
        let mut text = String::new();
        Capped { inner: file, left: kind.cap(), kind }.read_to_string(&mut text)?;
        Ok(Some(Arc::from(text)))
    }

    fn open(&self, path: &Path) -> io::Result<Option<Box<dyn Read + Send + '_>>> {
        let Some((file, kind)) = open_regular(path)? else { return Ok(None) };
        Ok(Some(Box::new(Capped { inner: file, left: kind.cap(), kind })))
    }

    fn size(&self, path: &Path) -> Option<u64> {
        std::fs::metadata(path).ok().map(|m| m.len())
    }

    fn real_path(&self, path: &Path) -> Option<PathBuf> {
        let path = if path.as_os_str().is_empty() { Path::new(".") } else { path };
        std::fs::canonicalize(path).ok()
    }

    fn line_at(&self, path: &Path, offset: u64) -> Option<String> {
        let mut file = std::fs::File::open(path).ok()?;
        file.seek(SeekFrom::Start(offset)).ok()?;
        let mut line = String::new();
        BufReader::new(file).read_line(&mut line).ok()?;
        Some(line)
    }

    fn files(&self, dir: &Path) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map(|entries| entries.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.is_file()).collect())
            .unwrap_or_default();
        files.sort();
        files
    }

    fn is_dir(&self, path: &Path) -> bool {
        path.is_dir()
    }

    fn ancestors(&self, dir: &Path) -> Vec<PathBuf> {
        let start = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
        let start = std::fs::canonicalize(start).unwrap_or_else(|_| start.to_path_buf());
        let mut out = Vec::new();
        for folder in start.ancestors() {
            out.push(folder.to_path_buf());
            if folder.join(".git").exists() {
                break;
            }
        }
        out
    }
}

/// Files held in memory, by path. Paths are compared after lexical normalisation
/// (`./a/../b.csv` is `b.csv`).
#[derive(Debug, Clone, Default)]
pub struct Memory {
    files: BTreeMap<PathBuf, Arc<str>>,
}

impl Memory {
    pub fn new() -> Memory {
        Memory::default()
    }

    /// Adds (or replaces) a file.
    pub fn insert(&mut self, path: impl AsRef<Path>, text: impl Into<Arc<str>>) -> &mut Memory {
        self.files.insert(normalize(path.as_ref()), text.into());
        self
    }

    /// Builder form of [`Memory::insert`].
    pub fn with(mut self, path: impl AsRef<Path>, text: impl Into<Arc<str>>) -> Memory {
        self.insert(path, text);
        self
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

impl Sources for Memory {
    fn read(&self, path: &Path) -> io::Result<Option<Arc<str>>> {
        Ok(self.files.get(&normalize(path)).cloned())
    }

    fn open(&self, path: &Path) -> io::Result<Option<Box<dyn Read + Send + '_>>> {
        Ok(self.files.get(&normalize(path)).map(|text| Box::new(text.as_bytes()) as Box<dyn Read + Send>))
    }

    fn size(&self, path: &Path) -> Option<u64> {
        self.files.get(&normalize(path)).map(|text| text.len() as u64)
    }

    fn line_at(&self, path: &Path, offset: u64) -> Option<String> {
        let text = self.files.get(&normalize(path))?;
        let rest = text.get(usize::try_from(offset).ok()?..)?;
        Some(rest.split_inclusive('\n').next().unwrap_or("").to_string())
    }

    fn files(&self, dir: &Path) -> Vec<PathBuf> {
        let dir = normalize(dir);
        self.files.keys().filter(|p| p.parent().is_some_and(|parent| parent == dir)).cloned().collect()
    }

    fn is_dir(&self, path: &Path) -> bool {
        let dir = normalize(path);
        self.files.keys().any(|p| p.starts_with(&dir) && *p != dir)
    }

    fn ancestors(&self, dir: &Path) -> Vec<PathBuf> {
        let dir = normalize(dir);
        let mut out: Vec<PathBuf> = dir.ancestors().map(Path::to_path_buf).collect();
        if out.last().is_some_and(|p| !p.as_os_str().is_empty()) {
            out.push(PathBuf::new());
        }
        out
    }
}

/// Resolves `.` and `..` without touching a disk.
pub(crate) fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_paths_are_normalised_and_folders_implied() {
        let memory = Memory::new().with("plans/a/plan.yaml", "x").with("plans/a/data/roster.csv", "id\n");
        assert_eq!(memory.read(Path::new("./plans/a/../a/plan.yaml")).unwrap().as_deref(), Some("x"));
        assert!(memory.is_dir(Path::new("plans/a/data")));
        assert!(!memory.is_dir(Path::new("plans/b")));
        assert_eq!(memory.files(Path::new("plans/a")), vec![PathBuf::from("plans/a/plan.yaml")]);
        assert_eq!(memory.line_at(Path::new("plans/a/data/roster.csv"), 0).as_deref(), Some("id\n"));
        assert_eq!(memory.ancestors(Path::new("plans/a")).len(), 3);
    }
}
