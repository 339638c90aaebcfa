//! [`ScriptError`]: a script that failed, typed to the edge — the script, the function, the
//! line and column and what kind of failure — so that a caller can match on it and a person
//! can read it.

use std::fmt;

use rhai::EvalAltResult;

use super::position_span;

/// A script that failed: the script, the function, the place and what happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptError {
    pub script: String,
    pub function: String,
    pub line: u32,
    pub col: u32,
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
        let message = match inner {
            EvalAltResult::ErrorTooManyOperations(_) => {
                "the script ran past its operation limit (an endless loop?)".to_string()
            }
            EvalAltResult::ErrorStackOverflow(_) => {
                "the script nested calls too deeply (endless recursion?)".to_string()
            }
            EvalAltResult::ErrorDataTooLarge(what, _) => format!("{what} grew past the sandbox limit"),
            EvalAltResult::ErrorFunctionNotFound(name, _) if name.starts_with(&function) => {
                format!("the script does not define `fn {function}(ctx)`")
            }
            other => {
                let mut text = other.to_string();
                if let Some(cut) = text.find(" (line ") {
                    text.truncate(cut);
                }
                text
            }
        };
        ScriptError { script: script.to_string(), function, line: span.line, col: span.col, message }
    }
}

impl fmt::Display for ScriptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "script {}:{}:{} in fn {}: {}", self.script, self.line, self.col, self.function, self.message)
    }
}
