//! Reading one CSV data file: header lookup, typed fields, errors with file, line and column,
//! and a SHA-256 of the bytes read so that a run names exactly the data it used.

use std::collections::HashMap;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use sha2::{Digest, Sha256};

use crate::calendar::parse_date;
use crate::diagnostic::{Diagnostic, Span};
use crate::error::Code;
use crate::number::{NumberStyle, parse_input};
use crate::source::{MAX_LINE, Sources};

/// Reports more than this many errors per file as a count only.
const MAX_ERRORS_PER_FILE: usize = 50;

/// Hashes every byte that passes through, and fails on a line longer than [`MAX_LINE`]
/// (the CSV reader would hold all of it: `/dev/zero` has no newline).
pub struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    /// Bytes since the last newline.
    line: usize,
}

impl<R> HashingReader<R> {
    pub fn new(inner: R) -> HashingReader<R> {
        HashingReader { inner, hasher: Sha256::new(), line: 0 }
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let bytes = &buf[..n];
        self.hasher.update(bytes);
        // Lines are short: the first newline is near the start of the chunk, the last near
        // its end. The line that ends in this chunk, and the one still open, are checked.
        let (ended, open) = match bytes.iter().position(|&b| b == b'\n') {
            Some(first) => {
                let last = bytes.iter().rposition(|&b| b == b'\n').unwrap_or(first);
                (self.line + first, n - last - 1)
            }
            None => (0, self.line + n),
        };
        self.line = open;
        if ended.max(open) > MAX_LINE {
            let message = format!("a line is longer than {} MiB, the limit for a line of a data file", MAX_LINE >> 20);
            return Err(io::Error::new(io::ErrorKind::InvalidData, message));
        }
        Ok(n)
    }
}

/// One open CSV file with its header row.
pub struct CsvFile<'s> {
    sources: &'s dyn Sources,
    pub path: PathBuf,
    pub name: Arc<str>,
    reader: csv::Reader<HashingReader<BufReader<Box<dyn Read + Send + 's>>>>,
    columns: HashMap<String, usize>,
    pub headers: Vec<String>,
    record: csv::StringRecord,
    line: u64,
    byte: u64,
    errors: usize,
    pub diagnostics: Vec<Diagnostic>,
}

impl<'s> CsvFile<'s> {
    /// Opens `dir/name`; `Ok(None)` when the file does not exist.
    pub fn open(sources: &'s dyn Sources, dir: &Path, name: &str) -> Result<Option<CsvFile<'s>>, Diagnostic> {
        let path = dir.join(name);
        let display: Arc<str> = Arc::from(path.display().to_string());
        let file = match sources.open(&path) {
            Ok(Some(file)) => file,
            Ok(None) => return Ok(None),
            Err(err) => {
                return Err(
                    Diagnostic::error(format!("cannot read {}: {err}", path.display())).with_code(Code::DataRead)
                );
            }
        };
        let hashing = HashingReader::new(BufReader::with_capacity(1 << 16, file));
        let mut reader = csv::ReaderBuilder::new().has_headers(true).flexible(false).from_reader(hashing);
        let headers = match reader.headers() {
            Ok(h) => h.iter().map(|s| s.trim().trim_start_matches('\u{feff}').to_string()).collect::<Vec<_>>(),
            Err(err) => {
                return Err(Diagnostic::error(format!("cannot read the header row: {err}"))
                    .with_code(Code::DataBadFile)
                    .at(&display, Span { line: 1, col: 1, len: 0 }));
            }
        };
        let mut columns = HashMap::new();
        for (i, h) in headers.iter().enumerate() {
            if columns.insert(h.clone(), i).is_some() {
                return Err(Diagnostic::error(format!("column `{h}` appears twice in the header"))
                    .with_code(Code::DataBadFile)
                    .at(&display, Span { line: 1, col: 1, len: 0 }));
            }
        }
        Ok(Some(CsvFile {
            sources,
            path,
            name: display,
            reader,
            columns,
            headers,
            record: csv::StringRecord::new(),
            line: 1,
            byte: 0,
            errors: 0,
            diagnostics: Vec::new(),
        }))
    }

    /// Checks that the required columns exist; reports each missing one.
    pub fn require(&mut self, required: &[&str]) -> bool {
        let mut ok = true;
        for column in required {
            if !self.columns.contains_key(*column) {
                let found = self.headers.join(",");
                let diag = Diagnostic::error(format!("missing column `{column}` (the header has: {found})"))
                    .with_code(Code::DataBadFile)
                    .at(&self.name, Span { line: 1, col: 1, len: 0 });
                self.diagnostics.push(diag);
                ok = false;
            }
        }
        ok
    }

    /// Reports each header column that is not one of `known`. In a file whose columns are
    /// fixed, a misspelt optional column (`canceled_date`, `gross_margn`) would otherwise read
    /// as an absent one and change pay without a word, so it is an error with a suggestion.
    pub fn reject_unknown(&mut self, known: &[&str]) -> bool {
        let mut ok = true;
        for (i, header) in self.headers.iter().enumerate() {
            if known.contains(&header.as_str()) {
                continue;
            }
            let col = self.headers[..i].iter().map(|h| h.chars().count() as u32 + 1).sum::<u32>() + 1;
            let mut diag = Diagnostic::error(format!("unknown column `{header}`"))
                .with_code(Code::DataUnknownColumn)
                .at(&self.name, Span { line: 1, col, len: header.chars().count().max(1) as u32 });
            diag = match crate::diagnostic::did_you_mean(header, known.iter().copied()) {
                Some(best) => diag.with_help(format!("did you mean `{best}`?")),
                None => diag.with_help(format!("the columns of this file are: {}", known.join(", "))),
            };
            self.diagnostics.push(diag);
            ok = false;
        }
        ok
    }

    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.get(name).copied()
    }

    /// Advances to the next row; `false` at the end. Malformed rows are reported and skipped
    /// over (never silently: each is an error).
    pub fn next_row(&mut self) -> bool {
        loop {
            match self.reader.read_record(&mut self.record) {
                Ok(true) => {
                    if let Some(pos) = self.record.position() {
                        self.line = pos.line();
                        self.byte = pos.byte();
                    }
                    if self.record.iter().all(|f| f.trim().is_empty()) {
                        continue;
                    }
                    return true;
                }
                Ok(false) => return false,
                Err(err) => {
                    let line = err.position().map_or(self.line + 1, |p| p.line());
                    let message = match err.kind() {
                        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
                            format!("row has {len} fields, the header has {expected_len}")
                        }
                        csv::ErrorKind::Utf8 { .. } => "row is not valid UTF-8".to_string(),
                        _ => format!("malformed row: {err}"),
                    };
                    self.line = line;
                    self.push_error(Diagnostic::error(message).with_code(Code::DataBadFile), 1);
                    if matches!(err.kind(), csv::ErrorKind::Io(_)) {
                        return false;
                    }
                }
            }
        }
    }

    pub fn line(&self) -> u64 {
        self.line
    }

    /// The trimmed text of `column` in the current row ("" when the column is absent).
    pub fn text(&self, column: Option<usize>) -> &str {
        column.and_then(|c| self.record.get(c)).map_or("", str::trim)
    }

    /// Records an error at the current row and `column` (a field index); the data set gives
    /// it `data.invalid`.
    pub fn error_at(&mut self, column: Option<usize>, message: impl Into<String>) {
        let col = column.map_or(1, |c| self.char_column(c));
        let message = with_column_name(message.into(), column.and_then(|c| self.headers.get(c)));
        self.push_error(Diagnostic::error(message), col);
    }

    /// [`CsvFile::error_at`] with a precise code.
    pub fn error_code_at(&mut self, column: Option<usize>, code: Code, message: impl Into<String>) {
        let col = column.map_or(1, |c| self.char_column(c));
        let message = with_column_name(message.into(), column.and_then(|c| self.headers.get(c)));
        self.push_error(Diagnostic::error(message).with_code(code), col);
    }

    /// [`CsvFile::error_code_at`] at a cell of an earlier row (its column found by reading
    /// that row's line again), for checks that need the whole file first; counted against the
    /// file's limit on errors like any other.
    pub fn error_code_at_cell(&mut self, cell: Cell, code: Code, message: impl Into<String>) {
        let column = cell.column.map(|c| c as usize);
        let col =
            column.map_or(1, |c| field_column(&self.sources.line_at(&self.path, cell.byte).unwrap_or_default(), c));
        let message = with_column_name(message.into(), column.and_then(|c| self.headers.get(c)));
        self.errors += 1;
        if self.errors <= MAX_ERRORS_PER_FILE {
            let diag = Diagnostic::error(message).with_code(code);
            self.diagnostics.push(diag.at(&self.name, Span { line: cell.line, col, len: 1 }));
        }
    }

    /// Where a cell of this file is, to report an error about it later (after the file is
    /// read, e.g. when a data set is indexed for a plan).
    pub fn cell(&self, column: Option<usize>) -> Cell {
        Cell { line: self.line as u32, byte: self.byte, column: column.map(|c| c as u32) }
    }

    fn push_error(&mut self, diag: Diagnostic, col: u32) {
        self.errors += 1;
        if self.errors <= MAX_ERRORS_PER_FILE {
            let len = 1;
            self.diagnostics.push(diag.at(&self.name, Span { line: self.line as u32, col, len }));
        }
    }

    /// The character column where field `index` starts in the current row, found by reading
    /// the raw line again (only on errors).
    fn char_column(&self, index: usize) -> u32 {
        field_column(&self.sources.line_at(&self.path, self.byte).unwrap_or_default(), index)
    }

    pub fn decimal(&mut self, column: Option<usize>, what: &str) -> Option<Decimal> {
        let text = self.text(column);
        match parse_input(text, NumberStyle::Text) {
            Ok(value) => Some(value),
            Err(err) => {
                self.error_code_at(column, Code::DataBadNumber, format!("{what}: {err}"));
                None
            }
        }
    }

    /// An optional number: empty is `None`, anything else must parse.
    pub fn optional_decimal(&mut self, column: Option<usize>, what: &str) -> Result<Option<Decimal>, ()> {
        if self.text(column).is_empty() {
            return Ok(None);
        }
        self.decimal(column, what).map(Some).ok_or(())
    }

    pub fn date(&mut self, column: Option<usize>, what: &str) -> Option<NaiveDate> {
        let text = self.text(column).to_string();
        match parse_date(&text) {
            Some(date) => Some(date),
            None => {
                self.error_code_at(
                    column,
                    Code::DataBadDate,
                    format!("{what} `{text}` is not a date (write YYYY-MM-DD)"),
                );
                None
            }
        }
    }

    pub fn optional_date(&mut self, column: Option<usize>, what: &str) -> Result<Option<NaiveDate>, ()> {
        if self.text(column).is_empty() {
            return Ok(None);
        }
        self.date(column, what).map(Some).ok_or(())
    }

    /// Finishes the file: the SHA-256 of its bytes and every diagnostic.
    pub fn finish(mut self) -> (String, Vec<Diagnostic>) {
        // Drain what the CSV reader has not consumed so the hash covers the whole file.
        let mut rest = Vec::new();
        let inner = self.reader.get_mut();
        let _ = inner.read_to_end(&mut rest);
        if self.errors > MAX_ERRORS_PER_FILE {
            let hidden = self.errors - MAX_ERRORS_PER_FILE;
            self.diagnostics.push(Diagnostic::error(format!("… and {hidden} more errors in {}", self.name)));
        }
        let hash = hex(&self.reader.into_inner().hasher.finalize());
        (hash, self.diagnostics)
    }
}

/// A cell of a CSV file remembered for a later error: its row's line and byte offset, and its
/// field.
#[derive(Debug, Clone, Copy)]
pub struct Cell {
    pub line: u32,
    pub byte: u64,
    pub column: Option<u32>,
}

/// What a file's cells need to be reported later: the file's path and shown name, and its
/// header.
#[derive(Debug, Clone)]
pub struct FileInfo {
    pub path: PathBuf,
    pub name: Arc<str>,
    pub headers: Vec<String>,
}

impl FileInfo {
    pub fn of(file: &CsvFile<'_>) -> FileInfo {
        FileInfo { path: file.path.clone(), name: file.name.clone(), headers: file.headers.clone() }
    }

    /// An error at `cell`, with its column found by reading the row's line again.
    pub fn error(&self, sources: &dyn Sources, cell: Cell, message: impl Into<String>) -> Diagnostic {
        let column = cell.column.map(|c| c as usize);
        let col = column.map_or(1, |c| field_column(&sources.line_at(&self.path, cell.byte).unwrap_or_default(), c));
        let message = with_column_name(message.into(), column.and_then(|c| self.headers.get(c)));
        Diagnostic::error(message).at(&self.name, Span { line: cell.line, col, len: 1 })
    }
}

fn with_column_name(message: String, name: Option<&String>) -> String {
    match name {
        Some(name) => format!("{message} (column `{name}`)"),
        None => message,
    }
}

/// The character column where field `index` starts in a raw CSV line.
fn field_column(raw: &str, index: usize) -> u32 {
    let mut field = 0;
    let mut quoted = false;
    for (col, ch) in raw.chars().enumerate() {
        if field == index {
            return col as u32 + 1;
        }
        match ch {
            '"' => quoted = !quoted,
            ',' if !quoted => field += 1,
            _ => {}
        }
    }
    1
}

pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}
