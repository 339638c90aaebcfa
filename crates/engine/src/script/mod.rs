//! The Rhai sandbox (SPEC §7): an engine with limits, the helpers scripts call (the same
//! Rust functions the built-ins use) and typed [`ScriptError`]s. It knows nothing of plans or
//! components: `type: script` components and plugin types are in `component::script`, plugin
//! discovery in `registry::plugins`.
//!
//! Scripts compile once per plan load into an `Arc<AST>` shared across threads; the engine
//! is built once per host and reused for every call. Money crosses the boundary as `Decimal`
//! both ways (`no_float`: a literal `0.05` in a script is a Decimal).

mod error;
mod helpers;
mod nesting;

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use rhai::{Dynamic, Position, Scope};
use sha2::{Digest, Sha256};

use crate::csvfile::hex;
use crate::diagnostic::{Diagnostic, Span};
use crate::error::Code;
use crate::source::Sources;

pub use error::{ScriptError, ScriptErrorKind};
pub use nesting::{MAX_NESTING, SCRIPT_THREAD_STACK, init_script_threads};

/// Sandbox limits for scripts, per plan load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScriptLimits {
    /// Operations per call (bounds time: an endless loop stops here).
    pub max_operations: u64,
    /// Nested function calls (bounds recursion).
    pub max_call_levels: usize,
    /// Nesting of expressions.
    pub max_expr_depth: usize,
    /// Bytes in one string.
    pub max_string_size: usize,
    /// Items in one array or blob.
    pub max_array_size: usize,
    /// Entries in one object map.
    pub max_map_size: usize,
    /// Wall-clock time per call: operations bound work in the interpreter, this bounds the
    /// time spent in native functions between them (a sort of a large array, say).
    pub max_call_time: std::time::Duration,
}

impl Default for ScriptLimits {
    fn default() -> Self {
        ScriptLimits {
            max_operations: 1_000_000,
            max_call_levels: 32,
            max_expr_depth: 64,
            max_string_size: 1 << 20,
            max_array_size: 100_000,
            max_map_size: 10_000,
            max_call_time: std::time::Duration::from_secs(2),
        }
    }
}

/// The sandboxed Rhai engine shared by every script of a plan load.
pub struct ScriptHost {
    engine: rhai::Engine,
    limits: ScriptLimits,
}

impl fmt::Debug for ScriptHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScriptHost").field("limits", &self.limits).finish()
    }
}

impl Default for ScriptHost {
    fn default() -> Self {
        ScriptHost::new(ScriptLimits::default())
    }
}

/// A compiled script and where it came from.
#[derive(Debug)]
pub struct Script {
    pub path: String,
    pub hash: String,
    ast: rhai::AST,
    /// Every word of the script (identifiers, property names, words in strings): `ctx`
    /// carries only the parts and measures a script names, so a call costs what it reads.
    words: std::collections::HashSet<String>,
}

impl Script {
    /// Whether the script names `word` anywhere.
    pub fn names(&self, word: &str) -> bool {
        self.words.contains(word)
    }

    /// Whether the script defines `fn name` with `arity` parameters.
    pub fn has_function(&self, name: &str, arity: usize) -> bool {
        self.ast.iter_functions().any(|f| f.name == name && f.params.len() == arity)
    }
}

fn words(text: &str) -> std::collections::HashSet<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

impl ScriptHost {
    /// A raw engine (no file module resolver, no `print` to stdout, no time functions),
    /// with the standard library, our helpers, `eval` disabled and the limits set.
    pub fn new(limits: ScriptLimits) -> ScriptHost {
        let mut engine = rhai::Engine::new_raw();
        engine
            .register_global_module(rhai::packages::Package::as_shared_module(&rhai::packages::StandardPackage::new()));
        engine.disable_symbol("eval");
        engine.on_print(|_| {});
        engine.on_debug(|_, _, _| {});
        engine.set_max_operations(limits.max_operations);
        engine.set_max_call_levels(limits.max_call_levels);
        engine.set_max_expr_depths(limits.max_expr_depth, limits.max_expr_depth);
        engine.set_max_string_size(limits.max_string_size);
        engine.set_max_array_size(limits.max_array_size);
        engine.set_max_map_size(limits.max_map_size);
        engine.set_max_variables(1_000);
        engine.set_max_functions(256);
        // The deadline of the call running on this thread, and that of the run it is part of
        // (`Deadline::enter`), checked every 256 operations.
        engine.on_progress(|operations| {
            if operations % 256 != 0 {
                return None;
            }
            let late = DEADLINE.with(|d| d.get().is_some_and(|deadline| std::time::Instant::now() > deadline));
            if late {
                return Some(Dynamic::from("time budget"));
            }
            crate::deadline::current().err().map(|stop| Dynamic::from(stop.to_string()))
        });
        helpers::register(&mut engine);
        nesting::register(&mut engine);
        ScriptHost { engine, limits }
    }

    pub fn limits(&self) -> ScriptLimits {
        self.limits
    }

    /// Reads and compiles a script file, naming it `name` in messages (the path as the plan
    /// wrote it). A syntax error is a diagnostic at the script's line and column.
    pub fn compile_file(&self, sources: &dyn Sources, path: &Path, name: &str) -> Result<Arc<Script>, Diagnostic> {
        let text = match sources.read(path) {
            Ok(Some(text)) => text,
            Ok(None) => {
                let message = format!("script {name} ({}) does not exist", path.display());
                return Err(Diagnostic::error(message).with_code(Code::ScriptRead));
            }
            Err(err) => {
                let message = format!("cannot read script {name} ({}): {err}", path.display());
                return Err(Diagnostic::error(message).with_code(Code::ScriptRead));
            }
        };
        self.compile(name, &text)
    }

    pub fn compile(&self, name: &str, text: &str) -> Result<Arc<Script>, Diagnostic> {
        let file: Arc<str> = Arc::from(name);
        let mut ast = self.engine.compile(text).map_err(|err| {
            let span = position_span(err.position());
            // Rhai's message can quote the input (a token, a string): at most 200 characters of
            // it, whatever file the script turns out to be.
            Diagnostic::error(format!("script syntax error: {}", error::cut_text(err.err_type().to_string(), 200)))
                .at(&file, span)
                .with_code(Code::ScriptSyntax)
        })?;
        ast.set_source(name);
        // The top level (outside functions) runs once, here, in the sandbox: an `import` or
        // a runaway statement fails the load, and calls need not run it again.
        // On the script stack: a deeply nested value is built, checked and dropped there.
        let ran = nesting::on_script_stack(|| {
            with_deadline(self.limits.max_call_time, || self.engine.run_ast(&ast.clone_statements_only()))
                .map_err(|err| ScriptError::new(name, "(top level)", &err))
        });
        if let Err(error) = ran {
            let span = Span { line: error.line, col: error.col, len: 1 };
            let message = format!("script top level: {}", error.message);
            return Err(Diagnostic::error(message).at(&file, span).with_code(error.code()));
        }
        Ok(Arc::new(Script {
            path: name.to_string(),
            hash: hex(&Sha256::digest(text.as_bytes())),
            ast,
            words: words(text),
        }))
    }

    /// Calls `function` of `script` with one argument (for components, and for tools that
    /// exercise a script directly).
    pub fn call(&self, script: &Script, function: &str, argument: Dynamic) -> Result<Dynamic, ScriptError> {
        thread_local! {
            // One scope per thread, cleared and reused from call to call.
            static SCOPE: std::cell::RefCell<Scope<'static>> = std::cell::RefCell::new(Scope::new());
        }
        // The scripts' top level ran once at load: calls go straight to the function.
        let options = rhai::CallFnOptions::new().eval_ast(false).rewind_scope(true);
        // On the script stack: whatever the script nests is built, walked and dropped there,
        // and what leaves is at most MAX_NESTING deep (a thrown value leaves as text).
        nesting::on_script_stack(|| {
            with_deadline(self.limits.max_call_time, || {
                SCOPE.with(|scope| {
                    let mut fresh = Scope::new();
                    // A script's `validate` may run while another call holds this thread's scope.
                    let mut held = scope.try_borrow_mut();
                    let scope = match held.as_mut() {
                        Ok(scope) => {
                            scope.clear();
                            &mut **scope
                        }
                        Err(_) => &mut fresh,
                    };
                    self.engine
                        .call_fn_with_options::<Dynamic>(options, scope, &script.ast, function, (argument,))
                        .map_err(|err| ScriptError::new(&script.path, function, &err))
                })
            })
        })
        .and_then(|value| {
            if nesting::nests_deeper_than(&value, MAX_NESTING) {
                let message = format!("returned arrays or maps nested more than {MAX_NESTING} levels deep");
                // Dropped here, on the script stack.
                return nesting::on_script_stack(move || {
                    drop(value);
                    Err(ScriptError::bad_return(&script.path, function, message))
                });
            }
            Ok(value)
        })
    }
}

thread_local! {
    /// When the script call running on this thread must stop.
    static DEADLINE: std::cell::Cell<Option<std::time::Instant>> = const { std::cell::Cell::new(None) };
}

/// Runs `f` with a deadline `budget` from now; a nested call (a plugin's `validate` during a
/// call) keeps the outer, earlier deadline.
fn with_deadline<T>(budget: std::time::Duration, f: impl FnOnce() -> T) -> T {
    let outer = DEADLINE.with(std::cell::Cell::get);
    let deadline = std::time::Instant::now().checked_add(budget);
    DEADLINE.with(|d| d.set(outer.or(deadline)));
    let result = f();
    DEADLINE.with(|d| d.set(outer));
    result
}

fn position_span(position: Position) -> Span {
    Span { line: position.line().unwrap_or(1) as u32, col: position.position().unwrap_or(1) as u32, len: 1 }
}
