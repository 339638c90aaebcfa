//! Components: one small [`Component`] trait that built-in types and Rhai plugins both
//! implement, the [`ComponentType`] factories that build them from YAML, the
//! [`EvalContext`] they read (in `context.rs`) and the built-in types, one file each.
//!
//! The evaluator depends only on the trait: it asks a component for its window value and
//! applies the window, rounding and `paid_before` rule itself (SPEC §3). Adding a type means
//! registering a factory with the registry (one layer up); nothing else changes.

mod condition;
mod context;
mod draw;
mod grid;
mod kpi;
mod pool;
mod profit_bonus;
mod retention;
mod schema;
mod script;
mod shaping;
mod spiff;
pub(crate) mod tiered;

use std::collections::HashSet;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use indexmap::IndexMap;
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::arith::Frac;
use crate::calendar::Calendar;
use crate::diagnostic::{Diagnostic, Span, did_you_mean};
use crate::error::Code;
use crate::measure::Aggregate;
use crate::measure::MeasureRef;
use crate::number::{NumberStyle, format_percent, parse_decimal};
use crate::plan::QuotaRules;
use crate::source::Sources;
use crate::spanned::Spanned;
use crate::spec::{CoreSpec, ShapingSpec, WindowKind};
use crate::yaml::{DeContext, Node, from_node_lenient, struct_fields};

pub(crate) use crate::spanned::target_schema;
pub(crate) use condition::build_conditions;
pub use context::{Detail, EvalContext, EvalError};
pub(crate) use context::{PayeeState, RunContext};
pub use script::{PluginType, ScriptType, ScriptValue};
pub use shaping::{Cap, Shaping};

/// The built-in component types of SPEC §4 (`type: script` runs on `host`), in catalogue order.
pub(crate) fn builtin_types(host: Arc<crate::script::ScriptHost>) -> Vec<Arc<dyn ComponentType>> {
    vec![
        Arc::new(tiered::TieredType),
        Arc::new(profit_bonus::ProfitBonusType),
        Arc::new(retention::RetentionType),
        Arc::new(kpi::KpiType),
        Arc::new(grid::GridType),
        Arc::new(pool::PoolType),
        Arc::new(spiff::SpiffType),
        Arc::new(draw::DrawType),
        Arc::new(ScriptType { host }),
    ]
}

/// When a component is evaluated within a statement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Pays on performance; most components.
    Earnings,
    /// A role's plan-wide condition: reads the period's earnings lines, so runs after them.
    Condition,
    /// Compares against the statement's other earnings (draws), so runs after them.
    Guarantee,
}

/// What a component computed for one payee and period, before the window rule.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The window value V_k, full precision.
    pub value: Decimal,
    /// The attainment the component saw, if it has one.
    pub attainment: Option<Decimal>,
    /// One line a finance reader understands.
    pub explain: String,
    /// The structured inputs and steps (empty, and unallocated, when the run does not explain).
    pub trace: Trace,
    /// Extra lines named `<id>.<part>`, paid per period and always allowed negative.
    pub sublines: Vec<SubLine>,
}

impl Outcome {
    pub fn zero(explain: impl Into<String>) -> Outcome {
        Outcome {
            value: Decimal::ZERO,
            attainment: None,
            explain: explain.into(),
            trace: Trace::new(false),
            sublines: Vec::new(),
        }
    }
}

/// A sub-line such as `book_retention.churn_clawback`.
#[derive(Debug, Clone)]
pub struct SubLine {
    pub part: String,
    pub value: Decimal,
    pub explain: String,
    pub trace: serde_json::Map<String, Value>,
}

/// A line's structured trace. Free when the run does not explain (what-if and simulation
/// runs need amounts only): values are only computed when the trace is on.
#[derive(Debug, Clone, Default)]
pub struct Trace {
    /// `None` when the trace is off: nothing to build, move or drop.
    map: Option<Box<serde_json::Map<String, Value>>>,
}

impl Trace {
    pub fn new(enabled: bool) -> Trace {
        Trace { map: enabled.then(Box::default) }
    }

    /// Records `key`, computing the value only when the trace is on.
    #[inline]
    pub fn put(&mut self, key: &str, value: impl FnOnce() -> Value) {
        if let Some(map) = &mut self.map {
            map.insert(key.to_string(), value());
        }
    }

    pub fn enabled(&self) -> bool {
        self.map.is_some()
    }

    pub fn into_map(self) -> serde_json::Map<String, Value> {
        self.map.map_or_else(serde_json::Map::new, |map| *map)
    }
}

/// What a component pays on, for plan lint (SPEC §1, §4).
#[derive(Debug, Clone, Default)]
pub struct Profile {
    /// Pays on new-logo business (bookings).
    pub new_logo: bool,
    /// Pays on keeping and growing the existing book.
    pub retention: bool,
    /// The annual amount of target incentive tied to company profit.
    pub profit_linked: Decimal,
    /// Measures it reads, for "unused measure" hints.
    pub measures: Vec<MeasureRef>,
}

/// A compiled component of a role. Implementations must be cheap to share across threads.
///
/// Like ripgrep's `Matcher`, writing one is cheap: [`Component::core`] (the shared keys) and
/// [`Component::evaluate`] are required, everything else has a default.
pub trait Component: Send + Sync + fmt::Debug {
    /// The keys every component shares, read once when it was built.
    fn core(&self) -> &Core;
    fn id(&self) -> &str {
        &self.core().id
    }
    fn type_name(&self) -> &str {
        &self.core().type_name
    }
    /// The name for people: the plan's `name:`, else the id made readable
    /// (`new_business` → "New business").
    fn display_name(&self) -> String {
        self.core().name.clone().unwrap_or_else(|| readable_id(self.id()))
    }
    /// `ytd` components pay `round(V_k) − paid_before`, `period` ones `round(V_k)`.
    fn window(&self) -> WindowKind {
        self.core().window
    }
    /// Whether a negative amount is paid (a clawback line) or floored at zero.
    fn allow_negative(&self) -> bool {
        self.core().allow_negative
    }
    /// Whether the component pays against the payee's quota, and so fails a payee with a
    /// zero quota who booked something (`accrue check --data` warns of it).
    fn reads_quota(&self) -> bool {
        false
    }
    /// Whether the component reads single credited deals ([`EvalContext::credits`]): data
    /// indexing keeps the deal list only when some component asks for it.
    fn needs_credits(&self) -> bool {
        false
    }
    /// For a team pool, what defines the pool (funding and split, in words the compiler
    /// compares): the payees of one roster team whose roles have a pool of the same id share
    /// it, so every role must define it alike. `None` for every other component.
    fn team_pool(&self) -> Option<&str> {
        None
    }
    fn stage(&self) -> Stage {
        Stage::Earnings
    }
    fn profile(&self) -> Profile {
        Profile::default()
    }
    /// The window value for the context's payee and period.
    fn evaluate(&self, cx: &EvalContext<'_>) -> Result<Outcome, EvalError>;
    /// How the payout depends on attainment of the quota, for payout curves: `None` when it
    /// does not (a profit bonus, a retention curve, a draw).
    fn design(&self, _role_ti: Decimal) -> Option<Design> {
        None
    }
    /// The component in plain language and what its payout moves with, for `explain`
    /// (SPEC §12). The default names the type and sweeps it on quota attainment when it has
    /// a [`Design`].
    fn describe(&self, cx: &DescribeContext<'_>) -> Description {
        Description {
            sentences: vec![format!("Worked out by the `{}` component type.", self.type_name())],
            driver: if self.design(cx.role_ti).is_some() { Driver::Quota } else { Driver::None },
        }
    }
}

/// What a component needs to describe itself: the role's numbers and the example quota the
/// description puts money amounts on.
#[derive(Debug, Clone, Copy)]
pub struct DescribeContext<'a> {
    pub role_ti: Decimal,
    /// The made-up payee's annual quota (tier starts are shown in % of quota and in money).
    pub quota: Decimal,
    pub calendar: &'a Calendar,
    pub quota_rules: &'a QuotaRules,
    /// The plan's annual `company:` values, for targets such as `company.budget_new_arr`.
    pub company: &'a IndexMap<String, Decimal>,
}

impl DescribeContext<'_> {
    /// "quarter", "month" or "year".
    pub fn period_word(&self) -> &'static str {
        match self.calendar.kind {
            crate::calendar::PeriodKind::Month => "month",
            crate::calendar::PeriodKind::Quarter => "quarter",
            crate::calendar::PeriodKind::Year => "year",
        }
    }

    /// `1,000,000.00`.
    pub fn money(&self, value: Decimal) -> String {
        crate::number::format_money_grouped(value, 2)
    }

    /// "100% of quota (1,000,000.00)".
    pub fn of_quota(&self, attainment: Decimal) -> String {
        match attainment.checked_mul(self.quota) {
            Some(amount) => format!("{} of quota ({})", format_percent(attainment), self.money(amount)),
            None => format!("{} of quota", format_percent(attainment)),
        }
    }

    /// The annual amount of a target, when the plan gives one.
    pub fn target_amount(&self, target: &Target) -> Option<Decimal> {
        match target {
            Target::Amount(value) => Some(*value),
            Target::Company(name) => self.company.get(name).copied(),
        }
    }
}

/// A component in plain language (SPEC §12).
#[derive(Debug, Clone, Default)]
pub struct Description {
    /// What it pays for and how, one sentence each, for a payee and their family.
    pub sentences: Vec<String>,
    /// What the payout moves with, for the worked tables.
    pub driver: Driver,
}

/// What a component's payout moves with: the axis of its worked table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Driver {
    /// Attainment of the payee's quota (the role's main table).
    Quota,
    /// A measure against an annual target other than the quota.
    Target { measure: MeasureRef, target: Target },
    /// Company net profit against budget and net profit % against target.
    Profit,
    /// Net (or gross) revenue retention of the payee's book against a yearly target ratio.
    Retention { gross: bool, target: Decimal },
    /// A scorecard: each measure against its annual target (levels are not scaled).
    Scorecard(Vec<ScorecardItem>),
    /// Nothing to sweep (draws, SPIFFs).
    #[default]
    None,
}

/// One measure of a scorecard driver: its annual target and which way is better.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScorecardItem {
    pub measure: MeasureRef,
    pub target: Decimal,
    /// Lower is better (churn, cycle days, cost per lead): a score of s needs an actual of
    /// (2 − s) × target.
    pub lower_is_better: bool,
}

/// A measure in words: "your bookings (new business)", "the company's new ARR".
pub fn measure_words(measure: &MeasureRef) -> String {
    let spaced = |name: &str| name.replace('_', " ").replace(" pct", " %");
    match measure {
        MeasureRef::Deals(crate::measure::DealKind::New) => "your bookings (new business you close)".into(),
        MeasureRef::Deals(crate::measure::DealKind::Expansion) => "your expansion (growth of existing accounts)".into(),
        MeasureRef::Deals(crate::measure::DealKind::Renewal) => "your renewals".into(),
        MeasureRef::Deals(crate::measure::DealKind::Contraction) => "your contraction (accounts that shrank)".into(),
        MeasureRef::Deals(crate::measure::DealKind::Churn) => "your churn (customers lost)".into(),
        MeasureRef::GrossMargin => "your gross margin on new business".into(),
        MeasureRef::GrossMarginPct => "your gross margin % on new business".into(),
        MeasureRef::Collected(crate::measure::DealKind::Expansion) => {
            "the cash your customers pay on your expansion deals".into()
        }
        MeasureRef::Collected(crate::measure::DealKind::Renewal) => {
            "the cash your customers pay on your renewals".into()
        }
        MeasureRef::Collected(_) => "the cash your customers pay on your new business (collections)".into(),
        MeasureRef::Declared { name, .. } => format!("your {}", spaced(name)),
        MeasureRef::Company(name) => format!("the company's {}", spaced(name)),
    }
}

/// `new_business` → "New business": an id read as words.
pub fn readable_id(id: &str) -> String {
    upper_first(&id.replace(['_', '-'], " "))
}

/// "your csat" → "Your csat".
pub fn upper_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A reading of `measure` in words: a percentage for ratio measures, else the plain number.
pub fn measure_value(measure: &MeasureRef, value: Decimal) -> String {
    let pct = match measure {
        MeasureRef::GrossMarginPct => true,
        MeasureRef::Company(name) | MeasureRef::Declared { name, .. } => name.ends_with("_pct"),
        _ => false,
    };
    let money = matches!(
        measure,
        MeasureRef::Deals(_) | MeasureRef::GrossMargin | MeasureRef::Collected(_) | MeasureRef::Company(_)
    );
    if pct {
        format_percent(value)
    } else if money {
        crate::number::format_money_grouped(value, 2)
    } else {
        crate::number::format_ratio(value)
    }
}

/// "0.5 × 30% of TI at 50% …": the points of a payout curve in words, with what happens
/// below the first and after the last; `at` names an attainment ("80% of budget").
pub fn curve_words(points: &[(Decimal, Decimal)], extrapolate: bool, at: impl Fn(Decimal) -> String) -> String {
    let steps: Vec<String> = points.iter().map(|(a, p)| format!("{} at {}", format_percent(*p), at(*a))).collect();
    let mut text = format!("It pays {}, in a straight line between these points", steps.join(", "));
    if let Some((first, _)) = points.first() {
        if !first.is_zero() {
            text.push_str(&format!("; nothing below {}", at(*first)));
        }
    }
    if let Some((_, last)) = points.last() {
        if extrapolate {
            text.push_str("; past the last point it keeps rising at the same slope");
        } else {
            text.push_str(&format!("; it stays at {} past the last point", format_percent(*last)));
        }
    }
    text.push('.');
    text
}

/// The keys every component shares: its id, its type and the window rule's two keys (SPEC §3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Core {
    pub id: String,
    /// The `type:` it was built from (a plugin's name for plugin types).
    pub type_name: String,
    pub window: WindowKind,
    pub allow_negative: bool,
    /// The `name:` for people (charts), when the plan gives one.
    pub name: Option<String>,
}

impl Core {
    pub fn new(id: impl Into<String>, type_name: impl Into<String>, window: WindowKind, allow_negative: bool) -> Core {
        Core { id: id.into(), type_name: type_name.into(), window, allow_negative, name: None }
    }

    /// The same keys with the plan's `name:` for people.
    pub fn with_name(mut self, name: Option<String>) -> Core {
        self.name = name;
        self
    }

    /// The shared keys as written: `id`, `type`, `window` (`ytd` unless given) and
    /// `allow_negative`.
    pub fn of(core: &CoreSpec, shaping: &ShapingSpec) -> Core {
        let window = shaping.window.as_ref().map_or(WindowKind::Ytd, |w| w.value);
        Core::new(core.id.value.clone(), core.kind.value.clone(), window, shaping.allow_negative)
            .with_name(core.name.as_ref().map(|n| n.value.clone()))
    }
}

/// The shape of a quota-attainment payout: where it bends and where it stops.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Design {
    /// Attainments where the payout changes slope or jumps, with what happens there.
    pub breakpoints: Vec<(Decimal, String)>,
    /// The annual cap, if any.
    pub cap: Option<Decimal>,
}

/// One documented key of a component type, for `accrue components`: read from the type's
/// schema, which is generated from the struct that reads the key, so it cannot drift.
#[derive(Debug, Clone, serde::Serialize)]
pub struct KeyInfo {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    pub required: bool,
    pub description: String,
}

/// The catalogue entry of a component type.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TypeInfo {
    pub name: String,
    pub summary: String,
    pub source: String,
    pub keys: Vec<KeyInfo>,
}

/// Builds components of one `type:` from their YAML.
pub trait ComponentType: Send + Sync {
    fn name(&self) -> &str;
    /// Whether the type comes from a script file rather than the engine.
    fn is_plugin(&self) -> bool {
        false
    }
    fn info(&self) -> TypeInfo;
    /// Builds the component or reports why not (into `cx`), returning `None`.
    fn build(&self, node: &Node, cx: &mut BuildContext<'_>) -> Option<Arc<dyn Component>>;
    /// This type's variant of the plan schema's `Component`.
    fn schema(&self, generator: &mut schemars::SchemaGenerator) -> serde_json::Value;
}

/// The schema variant of a built-in type: `id` and `type`, the shared keys when `shared`, and
/// the type's own `T`.
pub(crate) fn builtin_schema<T: schemars::JsonSchema>(
    generator: &mut schemars::SchemaGenerator,
    info: &TypeInfo,
    shared: bool,
) -> serde_json::Value {
    let mut parts = vec![schema::object_of::<CoreSpec>(generator)];
    if shared {
        parts.push(schema::object_of::<ShapingSpec>(generator));
    }
    parts.push(schema::object_of::<T>(generator));
    schema::component_variant(&info.name, &info.summary, parts)
}

/// What a component type needs to know while it builds a component.
pub struct BuildContext<'a> {
    /// Where the plan's scripts are read from.
    pub sources: &'a dyn Sources,
    pub file: Arc<str>,
    pub plan_dir: &'a Path,
    pub params: &'a IndexMap<String, Decimal>,
    pub declared: &'a IndexMap<String, Aggregate>,
    pub company: &'a IndexMap<String, Decimal>,
    pub calendar: &'a Calendar,
    pub role_id: &'a str,
    pub role_ti: Decimal,
    pub quota_rules: &'a QuotaRules,
    /// The `type:` of the component being built (a plugin's name for plugin types).
    pub component_type: String,
    /// Files a component reads (scripts), with their SHA-256, for the plan hash.
    pub files: Vec<(String, String)>,
    /// Whether a component built so far reads gross margin (then `deals.csv` must have it).
    pub reads_margin: bool,
    /// Whether a component of the role built so far reads cash collected (`payments.csv`).
    pub reads_collected: bool,
    pub diagnostics: Vec<Diagnostic>,
}

/// The keys every component has and the shared payout keys, read from one mapping.
pub struct Parsed<T> {
    pub core: CoreSpec,
    pub shaping: ShapingSpec,
    pub spec: T,
}

impl BuildContext<'_> {
    pub fn error(&mut self, span: Span, message: impl Into<String>) {
        let diag = Diagnostic::error(message).at(&self.file, span);
        self.diagnostics.push(diag);
    }

    /// An error with a precise code (the compiler gives the others `plan.invalid`).
    pub fn error_with(&mut self, code: Code, span: Span, message: impl Into<String>) {
        let diag = Diagnostic::error(message).at(&self.file, span).with_code(code);
        self.diagnostics.push(diag);
    }

    pub fn report(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    fn de_context(&self) -> DeContext<'_> {
        DeContext::new(self.file.clone(), Some(self.params))
    }

    /// Reads a component mapping into `CoreSpec`, `ShapingSpec` (when `shared` is true) and
    /// the type's own `T`, rejecting keys none of them knows.
    pub fn parse<T: DeserializeOwned>(&mut self, node: &Node, shared: bool) -> Option<Parsed<T>> {
        let type_name = node.get("type").and_then(Node::as_str).unwrap_or("?").to_string();
        let mut allowed: Vec<&str> = struct_fields::<CoreSpec>().to_vec();
        if shared {
            allowed.extend(struct_fields::<ShapingSpec>());
        }
        allowed.extend(struct_fields::<T>());
        let mut seen = HashSet::new();
        for (key, _) in node.entries() {
            let text = key.as_str().unwrap_or("?");
            seen.insert(text);
            if !allowed.contains(&text) {
                let mut diag = Diagnostic::error(format!("unknown key `{text}` for a `{type_name}` component"))
                    .at(&self.file, key.span)
                    .with_code(Code::PlanUnknownKey);
                diag = match did_you_mean(text, allowed.iter().copied()) {
                    Some(best) => diag.with_help(format!("did you mean `{best}`?")),
                    None => diag.with_help(format!("`{type_name}` components take: {}", allowed.join(", "))),
                };
                self.diagnostics.push(diag);
            }
        }
        let cx = self.de_context();
        let core = from_node_lenient::<CoreSpec>(node, &cx);
        let shaping = if shared { from_node_lenient::<ShapingSpec>(node, &cx).map(Some) } else { Ok(None) };
        let spec = from_node_lenient::<T>(node, &cx);
        let mut problems = cx.into_diagnostics();
        let result = match (core, shaping, spec) {
            (Ok(core), Ok(shaping), Ok(spec)) => Some(Parsed { core, shaping: shaping.unwrap_or_default(), spec }),
            (core, shaping, spec) => {
                problems.extend(core.err());
                problems.extend(shaping.err());
                problems.extend(spec.err());
                None
            }
        };
        // The same problem can be met by several of the three readers; report it once.
        for problem in problems {
            if !self.diagnostics.contains(&problem) {
                self.diagnostics.push(problem);
            }
        }
        result
    }

    /// Resolves a measure name, reporting an unknown one with the list of known names.
    pub fn measure(&mut self, name: &Spanned<String>) -> Option<MeasureRef> {
        match MeasureRef::resolve(name, self.declared) {
            Some(measure) => {
                self.reads_margin |= measure.reads_margin();
                self.reads_collected |= matches!(measure, MeasureRef::Collected(_));
                Some(measure)
            }
            None => {
                let mut known: Vec<&str> = crate::measure::DERIVED_MEASURES.to_vec();
                known.extend(self.declared.keys().map(String::as_str));
                let mut diag = Diagnostic::error(format!("unknown measure `{}`", name.value))
                    .at(&self.file, name.span)
                    .with_code(Code::PlanUnknownMeasure);
                diag = match did_you_mean(name, known.iter().copied()) {
                    Some(best) => diag.with_help(format!("did you mean `{best}`? (declare measures.csv measures under `measures:`)")),
                    None => diag.with_help(format!(
                        "known measures: {}; company measures are written `company.NAME`; declare measures.csv measures under `measures:`",
                        known.join(", ")
                    )),
                };
                self.diagnostics.push(diag);
                None
            }
        }
    }

    /// Resolves a `target:` — a number, a `$param` or `company.NAME`.
    pub fn target(&mut self, text: &Spanned<String>) -> Option<Target> {
        if let Some(name) = text.strip_prefix("company.") {
            return Some(Target::Company(name.to_string()));
        }
        if let Some(param) = text.strip_prefix('$') {
            return match self.params.get(param) {
                Some(value) => Some(Target::Amount(*value)),
                None => {
                    self.error_with(Code::PlanUnknownParameter, text.span, format!("unknown parameter `${param}`"));
                    None
                }
            };
        }
        match parse_decimal(text, NumberStyle::PlainYaml) {
            Ok(value) => Some(Target::Amount(value)),
            Err(err) => {
                let message = format!("target: {err}; write a number, a `$param` or `company.NAME`");
                self.error_with(Code::PlanBadNumber, text.span, message);
                None
            }
        }
    }
}

/// An annual target: a number or a company measure (SPEC §3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Amount(Decimal),
    Company(String),
}

impl Target {
    /// The target for window `w`: `annual × n_W / N`, or the company measure over `w`.
    pub fn for_window(&self, cx: &EvalContext<'_>, w: crate::calendar::Window) -> Result<Frac, EvalError> {
        match self {
            Target::Amount(annual) => Ok(cx.scale_annual(*annual, w)?),
            Target::Company(name) => Ok(Frac::whole(cx.company(name, w.base())?)),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Target::Amount(v) => crate::number::format_money_grouped(*v, 2),
            Target::Company(name) => format!("company.{name}"),
        }
    }
}

/// JSON helpers for traces: decimals as exact strings.
pub(crate) fn dec(value: Decimal) -> Value {
    Value::String(crate::number::format_ratio(value))
}

pub(crate) fn frac_value(value: &Frac) -> Value {
    match value.value() {
        Ok(v) => dec(v),
        Err(_) => Value::Null,
    }
}
