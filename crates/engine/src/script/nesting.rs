//! Deeply nested values (issue 15, item 1). A script can nest arrays and maps as deep as
//! its size limits allow (`a = [a]` in a loop: up to `max_array_size` + `max_map_size`
//! levels), and Rhai walks such a value recursively — its size checks, clones, drops and
//! `Display`, and, through its native-call machinery (several kilobytes of stack a level),
//! the `==` of arrays and maps and their `to_string`/`to_debug`. Three defences:
//!
//! - every script call runs on its own stack of [`SCRIPT_STACK`] bytes (reserved, touched
//!   only as deep as it goes), enough for the plain recursions at the deepest value the size
//!   limits allow;
//! - `==`, `!=`, `print`, `debug`, `to_string` and `to_debug` of arrays and maps (the
//!   recursions that go through native calls, and all that recurse through them: `in`,
//!   `contains`, `index_of`, `dedup`, string interpolation) count their nesting and fail past
//!   [`MAX_NESTING`] levels;
//! - a value that leaves a call, returned or thrown, is at most [`MAX_NESTING`] deep
//!   (checked at most that deep), so nothing deep is dropped or walked outside that stack.

use std::cell::Cell;
use std::fmt::Write;

use rhai::{Array, Dynamic, EvalAltResult, ImmutableString, Map, NativeCallContext, Position};

/// How deep arrays and maps may nest where the engine walks them (comparisons, printing,
/// values a script returns or throws).
pub const MAX_NESTING: usize = 64;

/// The stack a script call runs on. The deepest value the default size limits allow
/// (110,000 levels) takes about 1.1 KB of stack a level in a debug build for its size check,
/// clone and drop, and less in a release build.
pub const SCRIPT_STACK: usize = if cfg!(debug_assertions) { 256 << 20 } else { 128 << 20 };

/// The stack of threads that run script calls directly: the script stack and room for
/// their caller. Rayon pools that evaluate plans are built with it (see [`init_script_threads`]).
pub const SCRIPT_THREAD_STACK: usize = SCRIPT_STACK + (16 << 20);

/// Runs `f` where [`SCRIPT_STACK`] bytes of stack are free: directly on a thread built with
/// [`SCRIPT_THREAD_STACK`], else on a fresh stack (a `mmap` and `munmap`, about 50 µs a call).
pub fn on_script_stack<T>(f: impl FnOnce() -> T) -> T {
    stacker::maybe_grow(SCRIPT_STACK, SCRIPT_STACK, f)
}

/// Builds rayon's global pool on threads of [`SCRIPT_THREAD_STACK`] bytes (reserved, touched
/// only as deep as a script goes), so that script calls need not switch stacks. The binaries
/// call it first thing; it does nothing once the global pool exists.
pub fn init_script_threads() {
    let _ = rayon::ThreadPoolBuilder::new().stack_size(SCRIPT_THREAD_STACK).build_global();
}

thread_local! {
    /// How many guarded array/map walks are running on this thread, one inside the other.
    static DEPTH: Cell<usize> = const { Cell::new(0) };
}

/// One level of a guarded walk; the level is left when the guard drops.
struct Level;

impl Level {
    fn enter() -> Result<Level, Box<EvalAltResult>> {
        let depth = DEPTH.with(|d| {
            d.set(d.get() + 1);
            d.get()
        });
        let level = Level;
        if depth > MAX_NESTING {
            return Err(too_deep());
        }
        Ok(level)
    }
}

impl Drop for Level {
    fn drop(&mut self) {
        DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
    }
}

fn too_deep() -> Box<EvalAltResult> {
    let message = format!("arrays and maps nest more than {MAX_NESTING} levels deep");
    Box::new(EvalAltResult::ErrorRuntime(Dynamic::from(message), Position::NONE))
}

/// Whether `value` nests arrays and maps more than `limit` levels deep (a number is level 0,
/// `[1]` and `[]` level 1). Recurses at most `limit + 1` levels, whatever the value's depth.
pub fn nests_deeper_than(value: &Dynamic, limit: usize) -> bool {
    if let Ok(array) = value.as_array_ref() {
        return limit == 0 || array.iter().any(|item| nests_deeper_than(item, limit - 1));
    }
    if let Ok(map) = value.as_map_ref() {
        return limit == 0 || map.values().any(|item| nests_deeper_than(item, limit - 1));
    }
    false
}

/// Registers the guarded `==`, `!=` and printing of arrays and maps (they take precedence
/// over the standard package's, which recurse without a bound).
pub fn register(engine: &mut rhai::Engine) {
    engine.register_fn("==", array_equals);
    engine.register_fn("!=", |ctx: NativeCallContext, a: &mut Array, b: Array| array_equals(ctx, a, b).map(|e| !e));
    engine.register_fn("==", map_equals);
    engine.register_fn("!=", |ctx: NativeCallContext, a: &mut Map, b: Map| map_equals(ctx, a, b).map(|e| !e));
    for name in ["print", "debug", "to_string", "to_debug"] {
        engine.register_fn(name, format_array);
        engine.register_fn(name, format_map);
    }
}

/// `==` of two arrays, as the standard package's: same length, each pair `==`.
fn array_equals(ctx: NativeCallContext, a: &mut Array, mut b: Array) -> Result<bool, Box<EvalAltResult>> {
    let _level = Level::enter()?;
    if a.len() != b.len() {
        return Ok(false);
    }
    for (x, y) in a.iter_mut().zip(b.iter_mut()) {
        if !element_equals(&ctx, x, y)? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// `==` of two maps, as the standard package's: the same keys, each value `==`.
fn map_equals(ctx: NativeCallContext, a: &mut Map, mut b: Map) -> Result<bool, Box<EvalAltResult>> {
    let _level = Level::enter()?;
    if a.len() != b.len() {
        return Ok(false);
    }
    for (key, x) in a.iter_mut() {
        let Some(y) = b.get_mut(key) else { return Ok(false) };
        if !element_equals(&ctx, x, y)? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// `==` of two elements through the engine (so nested arrays and maps come back here);
/// values of different types without an `==` are unequal, as in the standard package.
fn element_equals(ctx: &NativeCallContext, x: &mut Dynamic, y: &mut Dynamic) -> Result<bool, Box<EvalAltResult>> {
    let same_type = x.type_id() == y.type_id();
    match ctx.call_native_fn_raw("==", true, &mut [x, y]) {
        Ok(result) => Ok(result.as_bool().unwrap_or(false)),
        Err(err) => match *err {
            EvalAltResult::ErrorFunctionNotFound(ref signature, ..) if signature.starts_with("==") && !same_type => {
                Ok(false)
            }
            _ => Err(err),
        },
    }
}

/// The text of an array, as the standard package writes it: `[1, "a", [2]]`.
fn format_array(ctx: NativeCallContext, array: &mut Array) -> Result<ImmutableString, Box<EvalAltResult>> {
    let _level = Level::enter()?;
    let mut out = String::from("[");
    for (i, item) in array.iter_mut().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(&element_debug(&ctx, item)?);
    }
    out.push(']');
    Ok(out.into())
}

/// The text of a map, as the standard package writes it: `#{"a": 1}`.
fn format_map(ctx: NativeCallContext, map: &mut Map) -> Result<ImmutableString, Box<EvalAltResult>> {
    let _level = Level::enter()?;
    let mut out = String::from("#{");
    for (i, (key, value)) in map.iter_mut().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let _ = write!(out, "{key:?}: {}", element_debug(&ctx, value)?);
    }
    out.push('}');
    Ok(out.into())
}

/// An element's `to_debug` through the engine (nested arrays and maps come back here).
fn element_debug(ctx: &NativeCallContext, value: &mut Dynamic) -> Result<String, Box<EvalAltResult>> {
    if value.is_array() || value.is_map() {
        // A nesting error must stop the whole walk, not fall back to Rust's formatting.
        let text = ctx.call_native_fn_raw("to_debug", true, &mut [value])?;
        return Ok(text.into_string().unwrap_or_default());
    }
    match ctx.call_native_fn_raw("to_debug", true, &mut [value]) {
        Ok(text) if text.is_string() => Ok(text.into_string().unwrap_or_default()),
        Ok(other) => Ok(other.type_name().to_string()),
        Err(_) => Ok(format!("{value:?}")),
    }
}
