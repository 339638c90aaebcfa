//! Diagnostics: errors and warnings about plans and data, each with file, line and column.
//!
//! Loading and validation collect every problem into a `Vec<Diagnostic>` instead of stopping
//! at the first; the CLI renders them with the source line and a caret.

use std::fmt;
use std::sync::Arc;

use crate::error::Code;

/// How bad a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

/// A position in a source file. Lines and columns count from 1; `len` is the width of the
/// underlined text in characters (0 when unknown).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Span {
    pub line: u32,
    pub col: u32,
    pub len: u32,
}

/// A file plus a span in it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Location {
    #[serde(serialize_with = "serialize_file")]
    pub file: Arc<str>,
    #[serde(flatten)]
    pub span: Span,
}

/// One problem found in a plan, a script or a data file.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// What kind of problem, for programs (`plan.unknown_key`); set where the diagnostic is
    /// made, or by the loader that returns it (`plan.invalid`, `data.invalid`).
    #[serde(serialize_with = "serialize_code")]
    pub code: Option<Code>,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(message: impl Into<String>) -> Self {
        Diagnostic { severity: Severity::Error, code: None, message: message.into(), location: None, help: None }
    }

    pub fn warning(message: impl Into<String>) -> Self {
        Diagnostic { severity: Severity::Warning, code: None, message: message.into(), location: None, help: None }
    }

    pub fn at(mut self, file: &Arc<str>, span: Span) -> Self {
        self.location = Some(Location { file: file.clone(), span });
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn with_code(mut self, code: Code) -> Self {
        self.code = Some(code);
        self
    }

    /// Sets `code` unless a more precise one was set where the problem was found.
    pub fn or_code(mut self, code: Code) -> Self {
        self.code.get_or_insert(code);
        self
    }

    /// The code, `fallback` when none was set.
    pub fn code_or(&self, fallback: Code) -> Code {
        self.code.unwrap_or(fallback)
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        match &self.location {
            Some(loc) => write!(f, "{}:{}:{}: {kind}: {}", loc.file, loc.span.line, loc.span.col, self.message)?,
            None => write!(f, "{kind}: {}", self.message)?,
        }
        if let Some(help) = &self.help {
            write!(f, " (help: {help})")?;
        }
        Ok(())
    }
}

/// A list of diagnostics that contains at least one error: what loading returns on failure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(Diagnostic::is_error)
    }

    /// Gives every diagnostic without a code `code`: a loader's default for its problems.
    pub fn or_code(mut self, code: Code) -> Self {
        fill_codes(&mut self.0, code);
        self
    }
}

/// Gives every diagnostic in `list` without a code `code`.
pub(crate) fn fill_codes(list: &mut [Diagnostic], code: Code) {
    for diagnostic in list {
        diagnostic.code.get_or_insert(code);
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let errors = self.0.iter().filter(|d| d.is_error()).count();
        let mut first = true;
        for diagnostic in &self.0 {
            if !first {
                writeln!(f)?;
            }
            first = false;
            write!(f, "{diagnostic}")?;
        }
        if errors > 1 {
            write!(f, "\n{errors} errors")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

/// The closest of `candidates` to a misspelt `word`, for "did you mean" help.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// The candidate a name is a near miss of (one or two letters off, by optimal string
/// alignment): stricter than [`did_you_mean`], for names that may rightly differ
/// (`gross_profit` and `net_profit` are both real).
pub fn near_miss<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let most = if word.chars().count() >= 8 { 2 } else { 1 };
    candidates
        .into_iter()
        .filter(|c| *c != word)
        .map(|c| (strsim::osa_distance(word, c), c))
        .filter(|(distance, _)| *distance <= most)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, c)| c)
}

fn serialize_code<S: serde::Serializer>(code: &Option<Code>, s: S) -> Result<S::Ok, S::Error> {
    match code {
        Some(code) => s.serialize_str(code.as_str()),
        None => s.serialize_none(),
    }
}

fn serialize_file<S: serde::Serializer>(file: &Arc<str>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(file)
}
