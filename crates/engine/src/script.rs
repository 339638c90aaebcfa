//! The Rhai plugin host (SPEC §7): a sandboxed engine with limits, the helpers scripts call
//! (the same Rust functions the built-ins use), `type: script` components and plugin
//! component types from `scripts/components/NAME.rhai`.
//!
//! Scripts compile once per plan load into an `Arc<AST>` shared across threads; the engine
//! is built once per host and reused for every call. Money crosses the boundary as `Decimal`
//! both ways (`no_float`: a literal `0.05` in a script is a Decimal).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use indexmap::IndexMap;
use rhai::{Array, Dynamic, EvalAltResult, ImmutableString, Map, Position, Scope};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde::de::{self, Visitor};
use sha2::{Digest, Sha256};

use crate::arith::{self, Frac, Tier};
use crate::component::{BuildContext, Component, ComponentType, Core, Outcome, Profile, Shaping, TypeInfo};
use crate::csvfile::hex;
use crate::diagnostic::{Diagnostic, Span};
use crate::eval::{EvalContext, EvalError};
use crate::measure::{DERIVED_MEASURES, MeasureRef};
use crate::number::{NumberStyle, format_money_grouped, parse_decimal, round_money};
use crate::source::Sources;
use crate::spanned::Spanned;
use crate::spec::WindowKind;
use crate::yaml::Node;

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
        register_helpers(&mut engine);
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
            Ok(None) => return Err(Diagnostic::error(format!("script {name} ({}) does not exist", path.display()))),
            Err(err) => {
                return Err(Diagnostic::error(format!("cannot read script {name} ({}): {err}", path.display())));
            }
        };
        self.compile(name, &text)
    }

    pub fn compile(&self, name: &str, text: &str) -> Result<Arc<Script>, Diagnostic> {
        let file: Arc<str> = Arc::from(name);
        let mut ast = self.engine.compile(text).map_err(|err| {
            let span = position_span(err.position());
            Diagnostic::error(format!("script syntax error: {}", err.err_type())).at(&file, span)
        })?;
        ast.set_source(name);
        // The top level (outside functions) runs once, here, in the sandbox: an `import` or
        // a runaway statement fails the load, and calls need not run it again.
        if let Err(err) = self.engine.run_ast(&ast.clone_statements_only()) {
            let error = ScriptError::new(name, "(top level)", &err);
            let span = Span { line: error.line, col: error.col, len: 1 };
            return Err(Diagnostic::error(format!("script top level: {}", error.message)).at(&file, span));
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
    }
}

fn position_span(position: Position) -> Span {
    Span { line: position.line().unwrap_or(1) as u32, col: position.position().unwrap_or(1) as u32, len: 1 }
}

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
    fn new(script: &str, function: &str, err: &EvalAltResult) -> ScriptError {
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

// ---------------------------------------------------------------------------------------
// Helpers registered for scripts: the same functions the built-in components use.

type HelperResult = Result<Decimal, Box<EvalAltResult>>;

fn helper_error(message: impl Into<String>) -> Box<EvalAltResult> {
    Box::new(EvalAltResult::ErrorRuntime(Dynamic::from(message.into()), Position::NONE))
}

fn to_decimal(value: &Dynamic, what: &str) -> HelperResult {
    if let Ok(d) = value.as_decimal() {
        return Ok(d);
    }
    if let Ok(i) = value.as_int() {
        return Ok(Decimal::from(i));
    }
    Err(helper_error(format!("{what} must be a number, found {}", value.type_name())))
}

/// Tiers as `[[from, rate], …]` or `[#{from, rate}, …]`.
fn to_tiers(tiers: &Array) -> Result<Vec<Tier>, Box<EvalAltResult>> {
    let mut out = Vec::with_capacity(tiers.len());
    for tier in tiers {
        let (from, rate) = pair(tier, ("from", "rate"))?;
        out.push(Tier { from, rate });
    }
    Ok(out)
}

fn pair(value: &Dynamic, (a, b): (&str, &str)) -> Result<(Decimal, Decimal), Box<EvalAltResult>> {
    if let Some(array) = value.read_lock::<Array>() {
        if array.len() == 2 {
            return Ok((to_decimal(&array[0], a)?, to_decimal(&array[1], b)?));
        }
    }
    if let Some(map) = value.read_lock::<Map>() {
        let get = |key: &str| map.get(key).ok_or_else(|| helper_error(format!("missing `{key}`")));
        return Ok((to_decimal(get(a)?, a)?, to_decimal(get(b)?, b)?));
    }
    Err(helper_error(format!("expected [{a}, {b}] or #{{{a}, {b}}}")))
}

fn arith_error(err: arith::ArithError) -> Box<EvalAltResult> {
    helper_error(err.to_string())
}

fn register_helpers(engine: &mut rhai::Engine) {
    // Arguments are `Dynamic` so that whole numbers (`1000000`) and decimals both work.
    engine.register_fn("tiered_marginal", |amount: Dynamic, quota: Dynamic, tiers: Array| -> HelperResult {
        let (amount, quota) = (to_decimal(&amount, "amount")?, to_decimal(&quota, "quota")?);
        let tiers = to_tiers(&tiers)?;
        let value = arith::marginal_value(amount, Frac::whole(quota), &tiers).map_err(arith_error)?;
        value.value().map_err(arith_error)
    });
    engine.register_fn("tiered_retroactive", |amount: Dynamic, quota: Dynamic, tiers: Array| -> HelperResult {
        let (amount, quota) = (to_decimal(&amount, "amount")?, to_decimal(&quota, "quota")?);
        let tiers = to_tiers(&tiers)?;
        Ok(arith::tiered_retroactive(amount, Frac::whole(quota), &tiers).map_err(arith_error)?.0)
    });
    let curve = |x: Dynamic, points: Array, extrapolate: bool| -> HelperResult {
        let x = to_decimal(&x, "attainment")?;
        let points = points.iter().map(|p| pair(p, ("attainment", "payout"))).collect::<Result<Vec<_>, _>>()?;
        arith::curve(&points, Frac::whole(x), extrapolate).map_err(arith_error)?.value().map_err(arith_error)
    };
    engine.register_fn("curve", move |x: Dynamic, points: Array| curve(x, points, false));
    engine.register_fn("curve", curve);
    engine.register_fn("clamp", |x: Dynamic, low: Dynamic, high: Dynamic| -> HelperResult {
        let (x, low, high) = (to_decimal(&x, "x")?, to_decimal(&low, "low")?, to_decimal(&high, "high")?);
        if low > high {
            return Err(helper_error("clamp: low is above high"));
        }
        Ok(x.max(low).min(high))
    });
    engine.register_fn("round_money", |x: Dynamic| -> HelperResult { Ok(round_money(to_decimal(&x, "x")?, 2)) });
    engine.register_fn("round_money", |x: Dynamic, places: rhai::INT| -> HelperResult {
        let places = u32::try_from(places).ok().filter(|p| *p <= 10).ok_or_else(|| helper_error("places: 0 to 10"))?;
        Ok(round_money(to_decimal(&x, "x")?, places))
    });
    engine.register_fn("format_money", |x: Dynamic| -> Result<String, Box<EvalAltResult>> {
        Ok(crate::number::format_money_grouped(to_decimal(&x, "x")?, 2))
    });
    engine.register_fn("format_percent", |x: Dynamic| -> Result<String, Box<EvalAltResult>> {
        Ok(crate::number::format_percent(to_decimal(&x, "x")?))
    });
    engine.register_fn("prorate", |amount: Dynamic, days: rhai::INT, of_days: rhai::INT| -> HelperResult {
        let amount = to_decimal(&amount, "amount")?;
        if of_days <= 0 || days < 0 || days > of_days {
            return Err(helper_error("prorate(amount, days, of_days) needs 0 ≤ days ≤ of_days, of_days > 0"));
        }
        arith::div(arith::mul(amount, Decimal::from(days)).map_err(arith_error)?, Decimal::from(of_days))
            .map_err(arith_error)
    });
}

// ---------------------------------------------------------------------------------------
// Script parameters from YAML.

/// A script parameter: numbers stay exact decimals.
#[derive(Debug, Clone)]
pub enum ScriptValue {
    Number(Decimal),
    Text(String),
    Bool(bool),
    List(Vec<ScriptValue>),
    Map(IndexMap<String, ScriptValue>),
    Null,
}

impl<'de> Deserialize<'de> for ScriptValue {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ValueVisitor;
        impl<'de> Visitor<'de> for ValueVisitor {
            type Value = ScriptValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number, text, list or mapping")
            }
            fn visit_bool<E>(self, v: bool) -> Result<ScriptValue, E> {
                Ok(ScriptValue::Bool(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<ScriptValue, E> {
                Ok(match parse_decimal(v, NumberStyle::Text) {
                    Ok(d) => ScriptValue::Number(d),
                    Err(_) => ScriptValue::Text(v.to_string()),
                })
            }
            fn visit_unit<E>(self) -> Result<ScriptValue, E> {
                Ok(ScriptValue::Null)
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<ScriptValue, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(ScriptValue::List(items))
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<ScriptValue, A::Error> {
                let mut out = IndexMap::new();
                while let Some((k, v)) = map.next_entry::<String, ScriptValue>()? {
                    out.insert(k, v);
                }
                Ok(ScriptValue::Map(out))
            }
        }
        deserializer.deserialize_any(ValueVisitor)
    }
}

impl ScriptValue {
    /// Resolves `$param` texts against the plan's parameters.
    fn resolve(self, params: &IndexMap<String, Decimal>) -> Result<ScriptValue, String> {
        Ok(match self {
            ScriptValue::Text(t) if t.starts_with('$') => match params.get(&t[1..]) {
                Some(v) => ScriptValue::Number(*v),
                None => return Err(format!("unknown parameter `{t}`")),
            },
            ScriptValue::List(items) => {
                ScriptValue::List(items.into_iter().map(|i| i.resolve(params)).collect::<Result<_, _>>()?)
            }
            ScriptValue::Map(map) => ScriptValue::Map(
                map.into_iter().map(|(k, v)| Ok((k, v.resolve(params)?))).collect::<Result<_, String>>()?,
            ),
            other => other,
        })
    }

    fn to_dynamic(&self) -> Dynamic {
        match self {
            ScriptValue::Number(d) => Dynamic::from_decimal(*d),
            ScriptValue::Text(t) => Dynamic::from(t.clone()),
            ScriptValue::Bool(b) => Dynamic::from_bool(*b),
            ScriptValue::List(items) => Dynamic::from_array(items.iter().map(ScriptValue::to_dynamic).collect()),
            ScriptValue::Map(map) => {
                Dynamic::from_map(map.iter().map(|(k, v)| (k.as_str().into(), v.to_dynamic())).collect())
            }
            ScriptValue::Null => Dynamic::UNIT,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Components.

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
struct ScriptSpec {
    /// The .rhai file, relative to the plan.
    file: Spanned<String>,
    /// Values passed to the script as ctx.params and to its fn validate(params).
    #[serde(default)]
    params: Option<Spanned<IndexMap<String, ScriptValue>>>,
    /// The measure behind ctx.attainment.
    #[schemars(extend("default" = "bookings"))]
    #[serde(default)]
    measure: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
struct PluginSpec {
    /// Values passed to the script as ctx.params and to its fn validate(params).
    #[serde(default)]
    params: Option<Spanned<IndexMap<String, ScriptValue>>>,
    /// The measure behind ctx.attainment.
    #[schemars(extend("default" = "bookings"))]
    #[serde(default)]
    measure: Option<Spanned<String>>,
}

/// `type: script`: a component whose payout is `fn payout(ctx)` of a Rhai file.
pub struct ScriptType {
    pub host: Arc<ScriptHost>,
}

impl ComponentType for ScriptType {
    fn name(&self) -> &str {
        "script"
    }

    fn info(&self) -> TypeInfo {
        TypeInfo {
            name: "script".into(),
            summary: "A Rhai script's `fn payout(ctx)`, with the window and paid_before rule applied to its result"
                .into(),
            source: "built-in".into(),
            keys: Vec::new(),
        }
    }

    fn schema(&self, generator: &mut schemars::SchemaGenerator) -> serde_json::Value {
        crate::component::builtin_schema::<ScriptSpec>(generator, &self.info(), true)
    }

    fn build(&self, node: &Node, cx: &mut BuildContext<'_>) -> Option<Arc<dyn Component>> {
        let parsed = cx.parse::<ScriptSpec>(node, true)?;
        let path = cx.plan_dir.join(&parsed.spec.file.value);
        let script = match self.host.compile_file(cx.sources, &path, &parsed.spec.file.value) {
            Ok(script) => script,
            Err(mut diag) => {
                if diag.location.is_none() {
                    diag = diag.at(&cx.file, parsed.spec.file.span);
                }
                cx.report(diag);
                return None;
            }
        };
        build_script_component(
            &self.host,
            script,
            parsed.core.id,
            parsed.spec.params,
            parsed.spec.measure,
            &parsed.shaping,
            cx,
        )
    }
}

/// A plugin type: `scripts/components/NAME.rhai` makes `type: NAME` usable.
pub struct PluginType {
    name: String,
    summary: String,
    host: Arc<ScriptHost>,
    script: Result<Arc<Script>, Diagnostic>,
}

impl PluginType {
    /// Loads `path`, naming it `shown` in messages and traces.
    pub fn load(sources: &dyn Sources, host: &Arc<ScriptHost>, path: &Path, shown: &str) -> Option<PluginType> {
        let name = path.file_stem()?.to_str()?.to_string();
        let text = match sources.read(path) {
            Ok(Some(text)) => text,
            Ok(None) => return None,
            Err(err) => {
                let diag = Diagnostic::error(format!("cannot read plugin {shown}: {err}"));
                return Some(PluginType { name, summary: String::new(), host: host.clone(), script: Err(diag) });
            }
        };
        let summary = text
            .lines()
            .map(str::trim)
            .find_map(|l| l.strip_prefix("//!").or_else(|| l.strip_prefix("///")))
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|| format!("plugin component type from {}", path.display()));
        Some(PluginType { name, summary, host: host.clone(), script: host.compile(shown, &text) })
    }
}

impl ComponentType for PluginType {
    fn name(&self) -> &str {
        &self.name
    }

    fn is_plugin(&self) -> bool {
        true
    }

    fn info(&self) -> TypeInfo {
        TypeInfo {
            name: self.name.clone(),
            summary: self.summary.clone(),
            source: match &self.script {
                Ok(script) => script.path.clone(),
                Err(diag) => format!("(does not compile: {})", diag.message),
            },
            keys: Vec::new(),
        }
    }

    fn schema(&self, generator: &mut schemars::SchemaGenerator) -> serde_json::Value {
        crate::component::builtin_schema::<PluginSpec>(generator, &self.info(), true)
    }

    fn build(&self, node: &Node, cx: &mut BuildContext<'_>) -> Option<Arc<dyn Component>> {
        let parsed = cx.parse::<PluginSpec>(node, true)?;
        let script = match &self.script {
            Ok(script) => script.clone(),
            Err(diag) => {
                cx.report(diag.clone());
                cx.error(parsed.core.kind.span, format!("plugin type `{}` does not compile", self.name));
                return None;
            }
        };
        build_script_component(
            &self.host,
            script,
            parsed.core.id,
            parsed.spec.params,
            parsed.spec.measure,
            &parsed.shaping,
            cx,
        )
    }
}

fn build_script_component(
    host: &Arc<ScriptHost>,
    script: Arc<Script>,
    id: Spanned<String>,
    params: Option<Spanned<IndexMap<String, ScriptValue>>>,
    measure: Option<Spanned<String>>,
    shaping: &crate::spec::ShapingSpec,
    cx: &mut BuildContext<'_>,
) -> Option<Arc<dyn Component>> {
    let errors_before = cx.diagnostics.len();
    let window = shaping.window.as_ref().map_or(WindowKind::Ytd, |w| w.value);
    let allow_negative = shaping.allow_negative;
    let shaping = Shaping::build(shaping, cx);
    let measure_given = measure.is_some();
    let measure = match &measure {
        Some(name) => cx.measure(name),
        None => Some(MeasureRef::Deals(crate::measure::DealKind::New)),
    };
    let params_span = params.as_ref().map_or(id.span, |p| p.span);
    let mut resolved = Map::new();
    for (key, value) in params.map(|p| p.value).unwrap_or_default() {
        match value.resolve(cx.params) {
            Ok(v) => {
                resolved.insert(key.as_str().into(), v.to_dynamic());
            }
            Err(message) => cx.error(params_span, message),
        }
    }
    let has = |name: &str| script.ast.iter_functions().any(|f| f.name == name && f.params.len() == 1);
    if !has("payout") {
        cx.error(id.span, format!("script {} does not define `fn payout(ctx)`", script.path));
    }
    if has("validate") {
        match host.call(&script, "validate", Dynamic::from_map(resolved.clone())) {
            Ok(result) => {
                let problems: Vec<String> = match result.into_array() {
                    Ok(items) => items.into_iter().map(|i| i.to_string()).collect(),
                    Err(found) => vec![format!("fn validate must return a list of error strings, found {found}")],
                };
                for problem in problems {
                    cx.error(params_span, format!("{} (from {} fn validate)", problem, script.path));
                }
            }
            Err(err) => cx.error(params_span, err.to_string()),
        }
    }
    cx.files.push((script.path.clone(), script.hash.clone()));
    if cx.diagnostics[errors_before..].iter().any(|d| d.is_error()) {
        return None;
    }
    let declared: Vec<MeasureRef> = cx
        .declared
        .iter()
        .map(|(name, aggregate)| MeasureRef::Declared {
            index: cx.declared.get_index_of(name).unwrap_or_default(),
            name: name.clone(),
            aggregate: *aggregate,
        })
        .collect();
    let parts = CtxParts::of(&script, &declared, measure_given);
    Some(Arc::new(ScriptComponent {
        core: Core::new(id.value, cx.component_type.clone(), window, allow_negative),
        host: host.clone(),
        script,
        params: resolved,
        measure: measure?,
        measure_given,
        parts,
        shaping,
    }))
}

struct ScriptComponent {
    core: Core,
    host: Arc<ScriptHost>,
    script: Arc<Script>,
    params: Map,
    measure: MeasureRef,
    /// Whether the plan named the measure (then the line shows the attainment).
    measure_given: bool,
    parts: CtxParts,
    shaping: Shaping,
}

impl fmt::Debug for ScriptComponent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScriptComponent").field("id", &self.core.id).field("script", &self.script.path).finish()
    }
}

/// A decimal for a script, without trailing zeros (`1`, not `1.0`, in its text).
fn dec(value: Decimal) -> Dynamic {
    Dynamic::from_decimal(value.normalize())
}

impl ScriptComponent {
    /// The read-only view a script gets: payee, period, window measures, quota, TI,
    /// attainment, company measures and params — all scalars, and only the parts the
    /// script names (decided once, at build: see [`CtxParts`]).
    fn context(&self, cx: &EvalContext<'_>, w: crate::calendar::Window) -> Result<Map, EvalError> {
        let parts = &self.parts;
        let clawback = self.shaping.clawback_days;
        let mut ctx = Map::new();
        if parts.payee {
            let payee = cx.payee();
            let mut payee_map = Map::new();
            payee_map.insert("id".into(), Dynamic::from(payee.id.to_string()));
            payee_map.insert("name".into(), Dynamic::from(payee.name.to_string()));
            payee_map.insert("role".into(), Dynamic::from(payee.role.to_string()));
            payee_map.insert("team".into(), payee.team.clone().map_or(Dynamic::UNIT, Dynamic::from));
            let attributes: Map =
                payee.attributes.iter().map(|(k, v)| (k.as_str().into(), Dynamic::from(v.clone()))).collect();
            payee_map.insert("attributes".into(), Dynamic::from_map(attributes));
            ctx.insert("payee".into(), Dynamic::from_map(payee_map));
        }
        if let Some(wanted) = &parts.measures {
            let mut measures = Map::new();
            for (name, m) in wanted {
                measures.insert(name.as_str().into(), dec(cx.measure(m, w, clawback)?));
            }
            ctx.insert("measures".into(), Dynamic::from_map(measures));
        }
        if let Some(kinds) = &parts.units {
            let mut units = Map::new();
            for &kind in kinds {
                units.insert(kind.measure_name().into(), dec(cx.deal_units(kind, w, clawback)?));
            }
            ctx.insert("units".into(), Dynamic::from_map(units));
        }
        if parts.company {
            let mut company = Map::new();
            for name in cx.company_names() {
                if self.script.names(&name) {
                    if let Ok(value) = cx.company(&name, w) {
                        company.insert(name.as_str().into(), dec(value));
                    }
                }
            }
            ctx.insert("company".into(), Dynamic::from_map(company));
        }
        if parts.window {
            let mut window = Map::new();
            let kind = match self.core.window {
                WindowKind::Ytd => "ytd",
                WindowKind::Period => "period",
            };
            window.insert("kind".into(), Dynamic::from(kind));
            window.insert("periods".into(), Dynamic::from_int(w.len() as rhai::INT));
            window.insert("label".into(), Dynamic::from(cx.window_label(w)));
            ctx.insert("window".into(), Dynamic::from_map(window));
        }
        if parts.period {
            ctx.insert("period".into(), Dynamic::from(cx.period_label().to_string()));
        }
        if parts.period_number {
            ctx.insert("period_number".into(), Dynamic::from_int(cx.period() as rhai::INT + 1));
        }
        if parts.periods {
            ctx.insert("periods".into(), Dynamic::from_int(cx.n_periods() as rhai::INT));
        }
        let quota = cx.quota(w);
        if parts.quota {
            ctx.insert("quota".into(), dec(quota.value()?));
        }
        if parts.annual_quota {
            ctx.insert("annual_quota".into(), dec(cx.effective_quota()));
        }
        if parts.ti {
            ctx.insert("ti".into(), dec(cx.incentive(cx.role_ti(), w)?.value()?));
        }
        if parts.annual_ti {
            ctx.insert("annual_ti".into(), dec(cx.role_ti()));
        }
        if parts.attainment {
            let measured = cx.measure(&self.measure, w, clawback)?;
            let attainment = if quota.is_zero() {
                Decimal::ZERO
            } else {
                Frac::new(arith::mul(measured, quota.den)?, quota.num)?.value()?
            };
            ctx.insert("measure".into(), dec(measured));
            ctx.insert("attainment".into(), dec(attainment));
        }
        if parts.paid_before {
            ctx.insert("paid_before".into(), dec(cx.paid_before()));
        }
        if parts.params {
            ctx.insert("params".into(), Dynamic::from_map(self.params.clone()));
        }
        Ok(ctx)
    }
}

/// Which parts of `ctx` a script reads: those it names (a word scan of the script, done once
/// when the plan is built), so that a call costs what the script reads.
#[derive(Debug, Default)]
struct CtxParts {
    payee: bool,
    /// The measures named, with their `ctx.measures` keys (`None`: no `measures`).
    measures: Option<Vec<(String, MeasureRef)>>,
    units: Option<Vec<crate::measure::DealKind>>,
    company: bool,
    window: bool,
    period: bool,
    period_number: bool,
    periods: bool,
    quota: bool,
    annual_quota: bool,
    ti: bool,
    annual_ti: bool,
    /// `measure` and `attainment` (also when the plan names the measure: the line shows it).
    attainment: bool,
    paid_before: bool,
    params: bool,
}

impl CtxParts {
    fn of(script: &Script, declared: &[MeasureRef], measure_given: bool) -> CtxParts {
        let names = |word: &str| script.names(word);
        let measures = names("measures").then(|| {
            let derived = DERIVED_MEASURES
                .iter()
                .filter(|name| names(name))
                .filter_map(|name| Some((name.to_string(), MeasureRef::resolve(name, &IndexMap::new())?)));
            let declared = declared.iter().map(|m| (m.to_string(), m)).filter(|(name, _)| names(name));
            derived.chain(declared.map(|(name, m)| (name, m.clone()))).collect()
        });
        let units = names("units")
            .then(|| crate::measure::DealKind::ALL.into_iter().filter(|kind| names(kind.measure_name())).collect());
        CtxParts {
            payee: names("payee"),
            measures,
            units,
            company: names("company"),
            window: names("window"),
            period: names("period"),
            period_number: names("period_number"),
            periods: names("periods"),
            quota: names("quota"),
            annual_quota: names("annual_quota"),
            ti: names("ti"),
            annual_ti: names("annual_ti"),
            attainment: measure_given || names("attainment") || names("measure"),
            paid_before: names("paid_before"),
            params: names("params"),
        }
    }
}

impl Component for ScriptComponent {
    fn core(&self) -> &Core {
        &self.core
    }

    fn profile(&self) -> Profile {
        Profile { measures: vec![self.measure.clone()], ..Profile::default() }
    }

    fn design(&self, role_ti: Decimal) -> Option<crate::component::Design> {
        // A script may read anything; it is swept on bookings like the built-ins.
        let cap = match self.shaping.cap {
            Some(crate::component::Cap::Amount(amount)) => Some(amount),
            Some(crate::component::Cap::MultipleOfTarget(multiple)) => multiple.checked_mul(role_ti),
            None => None,
        };
        Some(crate::component::Design { breakpoints: Vec::new(), cap })
    }

    fn evaluate(&self, cx: &EvalContext<'_>) -> Result<Outcome, EvalError> {
        let w = cx.window(self.core.window);
        let ctx = self.context(cx, w)?;
        let attainment = ctx.get("attainment").and_then(|a| a.as_decimal().ok()).filter(|_| self.measure_given);
        let result = self
            .host
            .call(&self.script, "payout", Dynamic::from_map(ctx))
            .map_err(|e| EvalError::Script(e.to_string()))?;
        let (value, explain) = read_result(&result)
            .map_err(|message| EvalError::Script(format!("script {} fn payout: {message}", self.script.path)))?;
        let mut trace = cx.trace();
        trace.put("script", || serde_json::json!(self.script.path));
        trace.put("window", || serde_json::json!(cx.window_label(w)));
        trace.put("script_value", || crate::component::dec(value));
        let mut notes = Vec::new();
        let cap_target = cx.incentive(cx.role_ti(), w)?;
        let shaped = self.shaping.apply(cx, w, Frac::whole(value), Some(cap_target), &mut trace, &mut notes)?;
        let mut explain = match explain {
            Some(text) => text,
            None if cx.explains() => format!("{} from {}", format_money_grouped(value, 2), self.script.path),
            None => String::new(),
        };
        if !notes.is_empty() {
            explain = format!("{explain}; {}", notes.join("; "));
        }
        Ok(Outcome { value: shaped.value()?, attainment, explain, trace, sublines: Vec::new() })
    }
}

/// A payout is a number or `#{amount, explain}`.
fn read_result(result: &Dynamic) -> Result<(Decimal, Option<String>), String> {
    if let Ok(d) = result.as_decimal() {
        return Ok((d, None));
    }
    if let Ok(i) = result.as_int() {
        return Ok((Decimal::from(i), None));
    }
    if let Some(map) = result.read_lock::<Map>() {
        let amount = map.get("amount").ok_or("the returned map has no `amount`")?;
        let amount = amount
            .as_decimal()
            .or_else(|_| amount.as_int().map(Decimal::from))
            .map_err(|_| format!("`amount` must be a number, found {}", amount.type_name()))?;
        let explain =
            map.get("explain").map(|e| e.clone().into_immutable_string().map(|s: ImmutableString| s.to_string()));
        let explain = match explain {
            Some(Ok(text)) => Some(text),
            Some(Err(found)) => return Err(format!("`explain` must be text, found {found}")),
            None => None,
        };
        return Ok((amount, explain));
    }
    Err(format!("payout must return an amount or #{{amount, explain}}, found {}", result.type_name()))
}

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
