//! [`ScriptError`]: a script that failed, typed to the edge — the script, the function, the
//! line and column and what kind of failure — so that a caller can match on it and a person
//! can read it.

use std::fmt;

use rhai::EvalAltResult;

use super::position_span;
use crate::error::Code;

/// What kind of failure a [`ScriptError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ScriptErrorKind {
    /// The script does not compile.
    Syntax,
    /// The script lacks the function the engine calls.
    MissingFunction,
    /// It ran past its operation limit.
    OperationLimit,
    /// It nested calls past the call-depth limit.
    CallDepthLimit,
    /// It ran past its wall-clock budget.
    TimeLimit,
    /// A string, array or map grew past its size limit.
    SizeLimit,
    /// It failed while it ran: a `throw`, a type mismatch, a helper's error.
    Runtime,
    /// It returned something the engine cannot use.
    BadReturn,
}

impl ScriptErrorKind {
    /// The stable code of this kind of failure.
    pub fn code(self) -> Code {
        match self {
            ScriptErrorKind::Syntax => Code::ScriptSyntax,
            ScriptErrorKind::MissingFunction => Code::ScriptMissingFunction,
            ScriptErrorKind::OperationLimit => Code::ScriptLimitOperations,
            ScriptErrorKind::CallDepthLimit => Code::ScriptLimitCallDepth,
            ScriptErrorKind::TimeLimit => Code::ScriptLimitTime,
            ScriptErrorKind::SizeLimit => Code::ScriptLimitSize,
            ScriptErrorKind::Runtime => Code::ScriptRuntime,
            ScriptErrorKind::BadReturn => Code::ScriptBadReturn,
        }
    }
}

/// A script that failed: the script, the function, the place (line and column from 1; 0
/// when the failure has no place in the script, such as a bad return value), what kind of
/// failure and what happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptError {
    pub script: String,
    pub function: String,
    pub line: u32,
    pub col: u32,
    pub kind: ScriptErrorKind,
    pub message: String,
}

impl ScriptError {
    pub(super) fn new(script: &str, function: &str, err: &EvalAltResult) -> ScriptError {
        // Errors inside nested calls wrap the inner error; report the innermost function
        // and position, where the problem is.
        let mut function = function.to_string();
        let mut inner = err;
        while let EvalAltResult::ErrorInFunctionCall(name, _, next, _) = inner {
            function = name.clone();
            inner = next;
        }
        let span = position_span(inner.position());
        let (kind, message) = match inner {
            EvalAltResult::ErrorTooManyOperations(_) => (
                ScriptErrorKind::OperationLimit,
                "the script ran past its operation limit (an endless loop?)".to_string(),
            ),
            EvalAltResult::ErrorTerminated(..) => {
                (ScriptErrorKind::TimeLimit, "the script ran past its time budget (an endless loop?)".to_string())
            }
            EvalAltResult::ErrorStackOverflow(_) => {
                (ScriptErrorKind::CallDepthLimit, "the script nested calls too deeply (endless recursion?)".to_string())
            }
            EvalAltResult::ErrorDataTooLarge(what, _) => {
                (ScriptErrorKind::SizeLimit, format!("{what} grew past the sandbox limit"))
            }
            EvalAltResult::ErrorFunctionNotFound(name, _) if name.starts_with(&function) => {
                (ScriptErrorKind::MissingFunction, format!("the script does not define `fn {function}(ctx)`"))
            }
            EvalAltResult::ErrorRuntime(value, _) if super::nesting::nests_deeper_than(value, super::MAX_NESTING) => {
                let limit = super::MAX_NESTING;
                (
                    ScriptErrorKind::Runtime,
                    format!("the script threw arrays or maps nested more than {limit} levels deep"),
                )
            }
            other => {
                let mut text = other.to_string();
                if let Some(cut) = text.find(" (line ") {
                    text.truncate(cut);
                }
                (ScriptErrorKind::Runtime, cut_text(text, MAX_MESSAGE))
            }
        };
        ScriptError { script: script.to_string(), function, line: span.line, col: span.col, kind, message }
    }

    /// `function` of `script` returned something the engine cannot use.
    pub fn bad_return(script: &str, function: &str, message: impl Into<String>) -> ScriptError {
        ScriptError {
            script: script.to_string(),
            function: function.to_string(),
            line: 0,
            col: 0,
            kind: ScriptErrorKind::BadReturn,
            message: message.into(),
        }
    }

    /// The stable code of the failure (`script.limit.operations`, `script.runtime`, …).
    pub fn code(&self) -> Code {
        self.kind.code()
    }
}

/// The longest message a script's failure shows (a thrown value can be a megabyte of text).
const MAX_MESSAGE: usize = 500;

/// `text` cut to `max` characters, with `…` where it was cut.
pub(super) fn cut_text(mut text: String, max: usize) -> String {
    if let Some((at, _)) = text.char_indices().nth(max) {
        text.truncate(at);
        text.push('…');
    }
    text
}

impl std::error::Error for ScriptError {}

impl fmt::Display for ScriptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            // No place in the script (a bad return value): name the function only.
            return write!(f, "script {} fn {}: {}", self.script, self.function, self.message);
        }
        write!(f, "script {}:{}:{} in fn {}: {}", self.script, self.line, self.col, self.function, self.message)
    }
}
