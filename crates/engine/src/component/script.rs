//! `type: script` components and plugin component types (`scripts/components/NAME.rhai`):
//! a Rhai script's `fn payout(ctx)` as a [`Component`], its parameters from YAML, and the
//! `ctx` it reads, built from the [`EvalContext`] with only the parts the script names.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use indexmap::IndexMap;
use rhai::{Dynamic, ImmutableString, Map};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde::de::{self, Visitor};

use super::{BuildContext, Cap, Component, ComponentType, Core, Design, Outcome, Profile, Shaping, TypeInfo};
use super::{EvalContext, EvalError};
use crate::arith::{self, Frac};
use crate::diagnostic::Diagnostic;
use crate::error::Code;
use crate::measure::{DERIVED_MEASURES, DealKind, MeasureRef};
use crate::number::{NumberStyle, format_money_grouped, parse_decimal};
use crate::script::{Script, ScriptError, ScriptHost};
use crate::source::Sources;
use crate::spanned::Spanned;
use crate::spec::{ShapingSpec, WindowKind};
use crate::yaml::Node;

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
        super::builtin_schema::<ScriptSpec>(generator, &self.info(), true)
    }

    fn build(&self, node: &Node, cx: &mut BuildContext<'_>) -> Option<Arc<dyn Component>> {
        let parsed = cx.parse::<ScriptSpec>(node, true)?;
        if let Err(message) = confined(cx.sources, cx.plan_dir, &parsed.spec.file.value) {
            cx.report(Diagnostic::error(message).with_code(Code::ScriptRead).at(&cx.file, parsed.spec.file.span));
            return None;
        }
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
            (parsed.core.id, parsed.core.name.map(|n| n.value)),
            parsed.spec.params,
            parsed.spec.measure,
            &parsed.shaping,
            cx,
        )
    }
}

/// Checks that a script `file:` stays where a plan's scripts live: the plan's folder, or a
/// `scripts/` folder in a folder above it up to the project's root (where plugin types are
/// found too; the samples share `scripts/margin_bonus.rhai`). An absolute path, or `..` out
/// to anywhere else (`/proc`, another plan, a home folder), is refused before it is read, and
/// so is a symbolic link that leads out (on disk, the real path is checked too).
fn confined(sources: &dyn Sources, plan_dir: &Path, file: &str) -> Result<(), String> {
    let path = Path::new(file);
    if path.has_root() || path.components().any(|c| matches!(c, std::path::Component::Prefix(_))) {
        return Err(format!("script file `{file}` is an absolute path: write it relative to the plan's folder"));
    }
    let normal = crate::source::normalize(path);
    let parts: Vec<std::path::Component<'_>> = normal.components().collect();
    let up = parts.iter().take_while(|c| matches!(c, std::path::Component::ParentDir)).count();
    // Folders above the plan's up to the project root.
    let levels = sources.ancestors(plan_dir).len().saturating_sub(1);
    let in_scripts = parts.get(up).is_some_and(|c| c.as_os_str() == "scripts") && parts.len() > up + 1;
    let lexically = up == 0 || (up <= levels && in_scripts);
    // On disk, where it really is: a symbolic link inside the plan's folder may lead out.
    let really = match (sources.real_path(&plan_dir.join(path)), sources.real_path(plan_dir)) {
        (Some(real), Some(dir)) => {
            real.starts_with(&dir) || sources.ancestors(plan_dir).iter().any(|a| real.starts_with(a.join("scripts")))
        }
        _ => true,
    };
    if lexically && really {
        return Ok(());
    }
    Err(format!(
        "script file `{file}` is outside the plan's folder: scripts live in the plan's folder or in a \
         `scripts/` folder above it (up to the project root)"
    ))
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
                let diag = Diagnostic::error(format!("cannot read plugin {shown}: {err}")).with_code(Code::ScriptRead);
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
        super::builtin_schema::<PluginSpec>(generator, &self.info(), true)
    }

    fn build(&self, node: &Node, cx: &mut BuildContext<'_>) -> Option<Arc<dyn Component>> {
        let parsed = cx.parse::<PluginSpec>(node, true)?;
        let script = match &self.script {
            Ok(script) => script.clone(),
            Err(diag) => {
                cx.report(diag.clone());
                let message = format!("plugin type `{}` does not compile", self.name);
                cx.error_with(Code::ScriptSyntax, parsed.core.kind.span, message);
                return None;
            }
        };
        build_script_component(
            &self.host,
            script,
            (parsed.core.id, parsed.core.name.map(|n| n.value)),
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
    (id, name): (Spanned<String>, Option<String>),
    params: Option<Spanned<IndexMap<String, ScriptValue>>>,
    measure: Option<Spanned<String>>,
    shaping: &ShapingSpec,
    cx: &mut BuildContext<'_>,
) -> Option<Arc<dyn Component>> {
    let errors_before = cx.diagnostics.len();
    let window = shaping.window.as_ref().map_or(WindowKind::Ytd, |w| w.value);
    let allow_negative = shaping.allow_negative;
    let shaping = Shaping::build(shaping, cx);
    let measure_given = measure.is_some();
    let measure = match &measure {
        Some(name) => cx.measure(name),
        None => Some(MeasureRef::Deals(DealKind::New)),
    };
    let params_span = params.as_ref().map_or(id.span, |p| p.span);
    let mut resolved = Map::new();
    for (key, value) in params.map(|p| p.value).unwrap_or_default() {
        match value.resolve(cx.params) {
            Ok(v) => {
                resolved.insert(key.as_str().into(), v.to_dynamic());
            }
            Err(message) => cx.error_with(Code::PlanUnknownParameter, params_span, message),
        }
    }
    let has = |name: &str| script.has_function(name, 1);
    if !has("payout") {
        let message = format!("script {} does not define `fn payout(ctx)`", script.path);
        cx.error_with(Code::ScriptMissingFunction, id.span, message);
    }
    if has("validate") {
        match host.call(&script, "validate", Dynamic::from_map(resolved.clone())) {
            Ok(result) => match result.into_array() {
                Ok(items) => {
                    for problem in items {
                        let message = format!("{} (from {} fn validate)", problem, script.path);
                        cx.error_with(Code::ScriptValidate, params_span, message);
                    }
                }
                Err(found) => {
                    let message = format!(
                        "fn validate must return a list of error strings, found {found} (from {} fn validate)",
                        script.path
                    );
                    cx.error_with(Code::ScriptBadReturn, params_span, message);
                }
            },
            Err(err) => cx.error_with(err.code(), params_span, err.to_string()),
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
    cx.reads_margin |= parts.measures.iter().flatten().any(|(_, m)| m.reads_margin());
    cx.reads_collected |= parts.measures.iter().flatten().any(|(_, m)| matches!(m, MeasureRef::Collected(_)));
    Some(Arc::new(ScriptComponent {
        core: Core::new(id.value, cx.component_type.clone(), window, allow_negative).with_name(name),
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
                WindowKind::YtdAnnual => "ytd_annual",
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
    units: Option<Vec<DealKind>>,
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
        let units =
            names("units").then(|| DealKind::ALL.into_iter().filter(|kind| names(kind.measure_name())).collect());
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

    fn design(&self, role_ti: Decimal) -> Option<Design> {
        // A script may read anything; it is swept on bookings like the built-ins.
        let cap = match self.shaping.cap {
            Some(Cap::Amount(amount)) => Some(amount),
            Some(Cap::MultipleOfTarget(multiple)) => multiple.checked_mul(role_ti),
            None => None,
        };
        Some(Design { breakpoints: Vec::new(), cap })
    }

    fn describe(&self, cx: &crate::component::DescribeContext<'_>) -> crate::component::Description {
        let mut params: Vec<String> = self.params.iter().map(|(k, v)| format!("{k} {v}")).collect();
        params.sort();
        let with = if params.is_empty() { String::new() } else { format!(", with {}", params.join(", ")) };
        let mut out = vec![format!("Worked out by the plan's own script `{}`{with}.", self.script.path)];
        let cap_target = Some(cx.role_ti);
        self.shaping.describe(&self.core, cx, cap_target, &mut out);
        crate::component::Description { sentences: out, driver: crate::component::Driver::Quota }
    }

    fn evaluate(&self, cx: &EvalContext<'_>) -> Result<Outcome, EvalError> {
        let w = cx.window(self.core.window);
        let ctx = self.context(cx, w)?;
        let attainment = ctx.get("attainment").and_then(|a| a.as_decimal().ok()).filter(|_| self.measure_given);
        let result = self.host.call(&self.script, "payout", Dynamic::from_map(ctx)).map_err(EvalError::from)?;
        let (value, explain) =
            read_result(&result).map_err(|message| ScriptError::bad_return(&self.script.path, "payout", message))?;
        let mut trace = cx.trace();
        trace.put("script", || serde_json::json!(self.script.path));
        trace.put("window", || serde_json::json!(cx.window_label(w)));
        trace.put("script_value", || super::dec(value));
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

/// A payout is a number or `#{amount, explain}`, bounded like a number in the data (SPEC §3:
/// at most 10^15 in absolute value), so that sums of lines keep their cents.
fn read_result(result: &Dynamic) -> Result<(Decimal, Option<String>), String> {
    let (amount, explain) = read_amount(result)?;
    if amount.abs() > crate::number::MAX_INPUT {
        return Err(format!(
            "payout returned {amount}, larger than Accrue accepts: at most 1,000,000,000,000,000 (10^15) in absolute value"
        ));
    }
    Ok((amount, explain))
}

fn read_amount(result: &Dynamic) -> Result<(Decimal, Option<String>), String> {
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

impl schemars::JsonSchema for ScriptValue {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ScriptValue".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "description": "Any value a script reads from ctx.params." })
    }
}
