//! Scenarios (SPEC §12): a list of changes — `set`, `overlay`, `plan_b`, `scale` — applied to
//! a parsed plan and a parsed data set without reading a file again, and hashed.
//!
//! `plan_b` applies first; then `set` and `overlay` in the order given; scales last. A
//! scenario evaluates exactly as `accrue run` would on the plan and data edited by hand.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use indexmap::IndexMap;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::csvfile::hex;
use crate::data::{DataSet, Facts, Scales};
use crate::deadline::{Deadline, Stop};
use crate::diagnostic::{Diagnostic, Diagnostics, did_you_mean};
use crate::eval::TotalsRun;
use crate::measure::DealKind;
use crate::number::{NumberStyle, parse_input};
use crate::plan::PlanSource;
use crate::registry::Plan;
use crate::registry::Registry;
use crate::script::ScriptLimits;
use crate::source::Sources;
use crate::yaml::{self, Node, NodeKind};

/// The largest scale factor accepted: a thousandfold change is already far outside any
/// forecast, and it keeps every scaled sum exact.
pub const MAX_FACTOR: u32 = 1000;

/// Whose data a `scale` change multiplies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// Every payee of a role (by the roster's `role`).
    Role(String),
    /// Every payee of a roster `team`, any role.
    Team(String),
    /// One payee.
    Payee(String),
    /// Company measures.
    Company,
}

impl Selector {
    /// `company`, `team:NAME`, `payee:ID` or a role id, as a `--scale` or an API body writes it.
    pub fn parse(text: &str) -> Result<Selector, ScenarioError> {
        let selector = if text == "company" {
            Selector::Company
        } else if let Some(team) = text.strip_prefix("team:") {
            Selector::Team(team.to_string())
        } else if let Some(payee) = text.strip_prefix("payee:") {
            Selector::Payee(payee.to_string())
        } else {
            Selector::Role(text.to_string())
        };
        match &selector {
            Selector::Role(s) | Selector::Team(s) | Selector::Payee(s) if s.is_empty() => Err(ScenarioError::usage(
                format!("scale selector `{text}` names nothing: write a role id, team:NAME, payee:ID or company"),
            )),
            _ => Ok(selector),
        }
    }

    /// The selector as written on the command line.
    pub fn text(&self) -> String {
        match self {
            Selector::Role(role) => role.clone(),
            Selector::Team(team) => format!("team:{team}"),
            Selector::Payee(payee) => format!("payee:{payee}"),
            Selector::Company => "company".to_string(),
        }
    }
}

/// One change of a scenario.
#[derive(Debug, Clone)]
pub enum Change {
    /// Replaces `params.NAME`.
    Set { name: String, value: Decimal },
    /// A YAML fragment merged over the plan; `file` is how errors name it, `dir` where its
    /// script paths are relative to.
    Overlay { file: String, dir: PathBuf, text: Arc<str> },
    /// A whole second plan on the same data (the back-test).
    PlanB { file: String, path: PathBuf, text: Arc<str>, sources: Arc<dyn Sources> },
    /// Multiplies a measure of the selected payees (or the company) by `factor`.
    Scale { selector: Selector, measure: String, factor: Decimal },
}

impl Change {
    /// `NAME=VALUE`, VALUE in the plan's number grammar (a quoted value may carry more than
    /// 15 significant digits).
    pub fn parse_set(text: &str) -> Result<Change, ScenarioError> {
        let Some((name, value)) = text.split_once('=') else {
            return Err(ScenarioError::usage(format!("--set `{text}` needs NAME=VALUE, e.g. ae_base_rate=0.06")));
        };
        let name = name.trim();
        if name.is_empty() {
            return Err(ScenarioError::usage(format!("--set `{text}` names no parameter")));
        }
        let value = parse_number(value, &format!("--set {name}"))?;
        Ok(Change::Set { name: name.to_string(), value })
    }

    /// `SELECTOR.MEASURE=FACTOR`, split at the last `.` before the `=`.
    pub fn parse_scale(text: &str) -> Result<Change, ScenarioError> {
        let Some((target, factor)) = text.split_once('=') else {
            return Err(ScenarioError::usage(format!(
                "--scale `{text}` needs SELECTOR.MEASURE=FACTOR, e.g. ae.bookings=1.1"
            )));
        };
        let Some((selector, measure)) = target.trim().rsplit_once('.') else {
            return Err(ScenarioError::usage(format!(
                "--scale `{text}` needs SELECTOR.MEASURE=FACTOR (a role, team:NAME, payee:ID or company, then the measure)"
            )));
        };
        if measure.is_empty() {
            return Err(ScenarioError::usage(format!("--scale `{text}` names no measure")));
        }
        let factor = parse_number(factor, &format!("--scale {target}"))?;
        Change::scale(Selector::parse(selector)?, measure, factor)
    }

    /// A scale change, its factor checked.
    pub fn scale(selector: Selector, measure: &str, factor: Decimal) -> Result<Change, ScenarioError> {
        if factor < Decimal::ZERO {
            return Err(ScenarioError::usage(format!(
                "scale factor {factor} for {}.{measure} is negative: factors are ≥ 0 (0.9 is 10 % less)",
                selector.text()
            )));
        }
        if factor > Decimal::from(MAX_FACTOR) {
            return Err(ScenarioError::usage(format!(
                "scale factor {factor} for {}.{measure} is above {MAX_FACTOR}: factors are multipliers (1.1 is 10 % more)",
                selector.text()
            )));
        }
        Ok(Change::Scale { selector, measure: measure.to_string(), factor })
    }

    /// An overlay file read from `sources`.
    pub fn overlay(sources: &dyn Sources, path: &Path) -> Result<Change, ScenarioError> {
        let text = read(sources, path, "overlay")?;
        let dir = path.parent().unwrap_or(Path::new("")).to_path_buf();
        Ok(Change::Overlay { file: path.display().to_string(), dir, text })
    }

    /// A plan-B file read from `sources` (its scripts and plugins are read from there too).
    pub fn plan_b(sources: Arc<dyn Sources>, path: &Path) -> Result<Change, ScenarioError> {
        let text = read(&*sources, path, "plan-B")?;
        Ok(Change::PlanB { file: path.display().to_string(), path: path.to_path_buf(), text, sources })
    }

    fn order(&self) -> u8 {
        match self {
            Change::PlanB { .. } => 0,
            Change::Set { .. } | Change::Overlay { .. } => 1,
            Change::Scale { .. } => 2,
        }
    }

    /// The change as hashed: numbers normalised, file contents included.
    fn canonical(&self) -> Value {
        match self {
            Change::Set { name, value } => json!({"kind": "set", "name": name, "value": value.normalize().to_string()}),
            Change::Overlay { text, .. } => json!({"kind": "overlay", "text": &**text}),
            Change::PlanB { text, .. } => json!({"kind": "plan_b", "text": &**text}),
            Change::Scale { selector, measure, factor } => json!({
                "kind": "scale", "selector": selector.text(), "measure": measure,
                "factor": factor.normalize().to_string()
            }),
        }
    }
}

fn read(sources: &dyn Sources, path: &Path, what: &str) -> Result<Arc<str>, ScenarioError> {
    match sources.read(path) {
        Ok(Some(text)) => Ok(text),
        Ok(None) => Err(ScenarioError::usage(format!("{what} file {} does not exist", path.display()))),
        Err(err) => Err(ScenarioError::usage(format!("cannot read {what} file {}: {err}", path.display()))),
    }
}

fn parse_number(text: &str, what: &str) -> Result<Decimal, ScenarioError> {
    let text = text.trim();
    let (inner, style) = match text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        Some(inner) => (inner, NumberStyle::Text),
        None => (text, NumberStyle::PlainYaml),
    };
    parse_input(inner, style).map_err(|err| ScenarioError::usage(format!("{what}: {err}")))
}

/// Why a scenario cannot be applied.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ScenarioError {
    /// A malformed change or option (exit code 2 on the command line).
    #[error("{message}")]
    Usage { message: String },
    /// A change that does not fit the plan or data: an unknown parameter, role, team, payee
    /// or measure; an overlay with an unknown key.
    #[error("{message}")]
    Invalid { message: String, diagnostics: Vec<Diagnostic> },
    /// The plan, the changed plan or plan B does not parse or compile.
    #[error("{message}")]
    Plan { message: String, diagnostics: Vec<Diagnostic> },
    /// The data does not fit the plan (or the changed plan): indexing it failed.
    #[error("{message}")]
    Data { message: String, diagnostics: Vec<Diagnostic> },
    /// The caller cancelled the run (a server request past its deadline, its client gone, a
    /// progress callback that said stop).
    #[error("the run was cancelled")]
    Cancelled,
    /// The run went past its time limit (the options' `deadline`).
    #[error("{}", Stop::TimeLimit(*limit))]
    TimeLimit { limit: std::time::Duration },
}

impl From<Stop> for ScenarioError {
    fn from(stop: Stop) -> ScenarioError {
        match stop {
            Stop::Cancelled => ScenarioError::Cancelled,
            Stop::TimeLimit(limit) => ScenarioError::TimeLimit { limit },
        }
    }
}

/// A totals run that stopped at its deadline is the analysis's error, never a result.
pub(crate) fn finished(totals: TotalsRun, deadline: &Deadline) -> Result<TotalsRun, ScenarioError> {
    match totals.stopped() {
        None => Ok(totals),
        Some(_) => Err(deadline.check().err().unwrap_or(Stop::Cancelled).into()),
    }
}

impl ScenarioError {
    pub fn usage(message: impl Into<String>) -> ScenarioError {
        ScenarioError::Usage { message: message.into() }
    }

    fn invalid(message: impl Into<String>) -> ScenarioError {
        ScenarioError::Invalid { message: message.into(), diagnostics: Vec::new() }
    }

    fn located(diagnostic: Diagnostic) -> ScenarioError {
        ScenarioError::Invalid { message: diagnostic.message.clone(), diagnostics: vec![diagnostic] }
    }

    pub(crate) fn plan(message: impl Into<String>, diagnostics: Diagnostics) -> ScenarioError {
        ScenarioError::Plan { message: message.into(), diagnostics: diagnostics.0 }
    }

    pub(crate) fn data(message: impl Into<String>, diagnostics: Diagnostics) -> ScenarioError {
        ScenarioError::Data { message: message.into(), diagnostics: diagnostics.0 }
    }

    /// The located problems behind the error, if any.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            ScenarioError::Usage { .. } | ScenarioError::Cancelled | ScenarioError::TimeLimit { .. } => &[],
            ScenarioError::Invalid { diagnostics, .. }
            | ScenarioError::Plan { diagnostics, .. }
            | ScenarioError::Data { diagnostics, .. } => diagnostics,
        }
    }
}

/// A list of changes, applied in SPEC §12's order.
#[derive(Debug, Clone, Default)]
pub struct Scenario {
    changes: Vec<Change>,
}

impl Scenario {
    pub fn new(changes: Vec<Change>) -> Scenario {
        let mut changes = changes;
        // Stable: sets and overlays keep the order they were given in.
        changes.sort_by_key(Change::order);
        Scenario { changes }
    }

    /// The changes in application order.
    pub fn changes(&self) -> &[Change] {
        &self.changes
    }

    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Whether every change is a `set` (the data need not be indexed again).
    pub fn params_only(&self) -> bool {
        self.changes.iter().all(|c| matches!(c, Change::Set { .. }))
    }

    /// SHA-256 of the canonical JSON of the changes in application order and of the
    /// command's `options`.
    pub fn hash(&self, options: Value) -> String {
        let canonical = json!({
            "changes": self.changes.iter().map(Change::canonical).collect::<Vec<_>>(),
            "options": options,
        });
        hex(&Sha256::digest(canonical.to_string().as_bytes()))
    }
}

/// A plan as parsed, with the registry its components are built with: what a scenario
/// starts from.
#[derive(Debug, Clone)]
pub struct PlanInput {
    pub source: PlanSource,
    pub registry: Arc<Registry>,
    /// The sandbox limits its scripts run under (plan B's too).
    pub limits: ScriptLimits,
}

impl PlanInput {
    /// Reads the plan at `path` of `sources` and finds its plugin types there.
    pub fn read(sources: Arc<dyn Sources>, path: &Path, limits: ScriptLimits) -> Result<PlanInput, Diagnostics> {
        let registry = Arc::new(Registry::for_plan_in(&*sources, path, limits));
        let source = PlanSource::read_from(sources, path)?;
        Ok(PlanInput { source, registry, limits })
    }

    /// Compiles the plan as written.
    pub fn compile(&self) -> Result<Plan, Diagnostics> {
        self.source.compile(&self.registry, &IndexMap::new())
    }
}

/// A scenario applied: the changed plan and the scale factors its data is indexed with.
#[derive(Debug)]
pub struct Variant {
    /// The plan as parsed with the scenario's overlays merged (or plan B's).
    pub source: PlanSource,
    pub plan: Plan,
    pub scales: Scales,
    /// Whether the data must be indexed again (scales, or a plan whose needs differ).
    pub reindex: bool,
    /// Plan B's id, when the scenario has one.
    pub plan_b: Option<String>,
}

impl Variant {
    /// The variant's facts: `baseline`'s when nothing the index depends on changed.
    pub fn facts<'a>(&self, data: &DataSet, baseline: &'a Facts) -> Result<FactsRef<'a>, ScenarioError> {
        if !self.reindex {
            return Ok(FactsRef::Borrowed(baseline));
        }
        Facts::index(data, &self.plan, &self.scales)
            .map(|facts| FactsRef::Owned(Box::new(facts)))
            .map_err(|d| ScenarioError::data("the data does not fit the scenario's plan", d))
    }
}

/// Facts borrowed from the baseline or indexed for a variant.
#[derive(Debug)]
pub enum FactsRef<'a> {
    Borrowed(&'a Facts),
    Owned(Box<Facts>),
}

impl std::ops::Deref for FactsRef<'_> {
    type Target = Facts;
    fn deref(&self) -> &Facts {
        match self {
            FactsRef::Borrowed(facts) => facts,
            FactsRef::Owned(facts) => facts,
        }
    }
}

/// Applies `scenario` to the plan of `input` and the data set `data`.
pub fn apply(input: &PlanInput, data: &DataSet, scenario: &Scenario) -> Result<Variant, ScenarioError> {
    // Plan B replaces the plan the other changes apply to.
    let mut plan_b = None;
    let mut source = input.source.clone();
    let mut registry = input.registry.clone();
    for change in scenario.changes() {
        if let Change::PlanB { path, text, sources, file } = change {
            registry = Arc::new(Registry::for_plan_in(&**sources, path, input.limits));
            source = PlanSource::parse(sources.clone(), path, text.to_string())
                .map_err(|d| ScenarioError::plan(format!("plan B {file} does not parse"), d))?;
            plan_b = Some(file.clone());
        }
    }
    let base_params = declared_params(&source);
    let mut root = source.root.clone();
    if !matches!(root.kind, NodeKind::Map(_)) {
        // Not a plan at all: compiling it says why, at its place.
        let errors = source.compile(&registry, &IndexMap::new()).err().unwrap_or(Diagnostics(Vec::new()));
        return Err(ScenarioError::plan("the plan is not valid", errors));
    }
    let mut overrides: IndexMap<String, Decimal> = IndexMap::new();
    let mut reindex = false;
    let mut overlays: Vec<String> = Vec::new();
    for change in scenario.changes() {
        match change {
            Change::Set { name, value } => {
                if !base_params.contains(name) && !overlay_params(&root).contains(name) {
                    return Err(unknown_param(name, &overlay_params(&root)));
                }
                overrides.insert(name.clone(), *value);
            }
            Change::Overlay { file, dir, text } => {
                overlays.push(file.clone());
                let replaced = merge_overlay(&mut root, file, dir, &source.path, text, overlays.len())?;
                for name in replaced {
                    overrides.shift_remove(&name);
                }
                reindex = true;
            }
            Change::PlanB { .. } | Change::Scale { .. } => {}
        }
    }
    let source = source.with_root(root);
    let mut plan = source.compile(&registry, &overrides).map_err(|mut d| {
        relocate_overlay_diagnostics(&mut d.0, &overlays);
        let what = match &plan_b {
            Some(file) => format!("plan B {file} is not valid"),
            None => "the changed plan is not valid".to_string(),
        };
        ScenarioError::plan(what, d)
    })?;
    if let Some(file) = &plan_b {
        reindex = true;
        let base = input.compile().map_err(|d| ScenarioError::plan("the plan is not valid", d))?;
        if base.calendar.periods().len() != plan.calendar.periods().len()
            || base.calendar.start() != plan.calendar.start()
        {
            return Err(ScenarioError::invalid(format!(
                "plan B {file} covers {}–{} in {} periods; the plan covers {}–{} in {}: a back-test needs the same year and periods",
                plan.calendar.start(),
                plan.calendar.end(),
                plan.calendar.n_periods(),
                base.calendar.start(),
                base.calendar.end(),
                base.calendar.n_periods()
            )));
        }
    }
    let scales = scales(&mut plan, data, scenario)?;
    reindex |= !scales.is_identity();
    let plan_b = plan_b.map(|_| plan.id.clone());
    Ok(Variant { source, plan, scales, reindex, plan_b })
}

fn declared_params(source: &PlanSource) -> Vec<String> {
    overlay_params(&source.root)
}

/// The parameter names under `params:` of a plan's node tree.
fn overlay_params(root: &Node) -> Vec<String> {
    match root.get("params").map(|n| &n.kind) {
        Some(NodeKind::Map(entries)) => entries.iter().filter_map(|(k, _)| k.as_str().map(str::to_string)).collect(),
        _ => Vec::new(),
    }
}

fn unknown_param(name: &str, known: &[String]) -> ScenarioError {
    let mut message = format!("the plan has no parameter `{name}`");
    if let Some(best) = did_you_mean(name, known.iter().map(String::as_str)) {
        message.push_str(&format!("; did you mean `{best}`?"));
    }
    if known.is_empty() {
        message.push_str(" (it declares no `params:`)");
    } else {
        message.push_str(&format!(" (params: {})", known.join(", ")));
    }
    ScenarioError::invalid(message)
}

/// Merges an overlay (SPEC §12) into a plan's node tree; returns the parameter names it set.
fn merge_overlay(
    root: &mut Node,
    file: &str,
    dir: &Path,
    plan_path: &Path,
    text: &str,
    number: usize,
) -> Result<Vec<String>, ScenarioError> {
    let name: Arc<str> = Arc::from(file);
    let (overlay, problems) = yaml::parse(text, &name).map_err(ScenarioError::located)?;
    if let Some(problem) = problems.into_iter().find(Diagnostic::is_error) {
        return Err(ScenarioError::located(problem));
    }
    let at = |node: &Node, message: String| ScenarioError::located(Diagnostic::error(message).at(&name, node.span));
    let NodeKind::Map(entries) = overlay.kind else {
        if overlay.is_null() {
            return Ok(Vec::new());
        }
        return Err(at(&overlay, "an overlay is a mapping with `params`, `company` or `roles`".into()));
    };
    let mut params = Vec::new();
    for (key, value) in entries {
        match key.as_str() {
            Some("params") | Some("company") => {
                let section = key.as_str().unwrap_or_default().to_string();
                let NodeKind::Map(items) = value.kind else {
                    return Err(at(&value, format!("`{section}` in an overlay is a mapping of names to numbers")));
                };
                for (item_key, item_value) in items {
                    let Some(item_name) = item_key.as_str().map(str::to_string) else {
                        return Err(at(&item_key, format!("a `{section}` name is text")));
                    };
                    if section == "params" {
                        params.push(item_name.clone());
                    }
                    let target = map_entry(root, &section, &key);
                    set_entry(target, item_key, mark_source(item_value, number));
                }
            }
            Some("roles") => {
                let NodeKind::Map(roles) = value.kind else {
                    return Err(at(&value, "`roles` in an overlay is a mapping of role ids".into()));
                };
                for (role_key, role_value) in roles {
                    merge_role(root, role_key, role_value, &at, dir, plan_path, number)?;
                }
            }
            _ => {
                let key_text = key.as_str().unwrap_or("?");
                return Err(at(
                    &key,
                    format!(
                        "an overlay may change `params`, `company` and `roles` (target_incentive, components); not `{key_text}`"
                    ),
                ));
            }
        }
    }
    Ok(params)
}

fn merge_role(
    root: &mut Node,
    role_key: Node,
    role_value: Node,
    at: &dyn Fn(&Node, String) -> ScenarioError,
    dir: &Path,
    plan_path: &Path,
    number: usize,
) -> Result<(), ScenarioError> {
    let role_id = role_key.as_str().unwrap_or_default().to_string();
    let known: Vec<String> = match root.get("roles").map(|n| &n.kind) {
        Some(NodeKind::Map(entries)) => entries.iter().filter_map(|(k, _)| k.as_str().map(str::to_string)).collect(),
        _ => Vec::new(),
    };
    if !known.contains(&role_id) {
        let mut message = format!("the plan has no role `{role_id}`");
        match did_you_mean(&role_id, known.iter().map(String::as_str)) {
            Some(best) => message.push_str(&format!("; did you mean `{best}`?")),
            None => message.push_str(&format!(" (roles: {})", known.join(", "))),
        }
        return Err(at(&role_key, message));
    }
    let NodeKind::Map(entries) = role_value.kind else {
        return Err(at(&role_value, format!("role `{role_id}` in an overlay is a mapping")));
    };
    let Some(role) = role_node(root, &role_id) else {
        return Err(at(&role_key, format!("role `{role_id}` of the plan is not a mapping to merge into")));
    };
    for (key, value) in entries {
        match key.as_str() {
            Some("target_incentive") => set_entry(role, key, mark_source(value, number)),
            Some("components") => {
                let NodeKind::Seq(items) = value.kind else {
                    return Err(at(&value, "`components` in an overlay is a list of components".into()));
                };
                for mut item in items {
                    let Some(id) = item.get("id").and_then(Node::as_str).map(str::to_string) else {
                        return Err(at(&item, "an overlay component needs an `id` (to replace or add)".into()));
                    };
                    relocate_script(&mut item, dir, plan_path);
                    replace_component(role, &id, mark_source(item, number), &key);
                }
            }
            _ => {
                let key_text = key.as_str().unwrap_or("?");
                return Err(at(
                    &key,
                    format!("an overlay may change a role's `target_incentive` and `components`; not `{key_text}`"),
                ));
            }
        }
    }
    Ok(())
}

/// Nodes merged in from overlay `number` (1, 2, …) carry it in their line numbers, above
/// [`OVERLAY_LINES`], so that the plan's compiler — which names one file — reports them at
/// a place that [`relocate_overlay_diagnostics`] turns back into the overlay's file and line.
const OVERLAY_LINES: u32 = 10_000_000;

fn mark_source(mut node: Node, number: usize) -> Node {
    fn shift(node: &mut Node, offset: u32) {
        node.span.line = node.span.line.saturating_add(offset);
        match &mut node.kind {
            NodeKind::Scalar { .. } => {}
            NodeKind::Seq(items) => items.iter_mut().for_each(|n| shift(n, offset)),
            NodeKind::Map(entries) => entries.iter_mut().for_each(|(k, v)| {
                shift(k, offset);
                shift(v, offset);
            }),
        }
    }
    shift(&mut node, OVERLAY_LINES.saturating_mul(number as u32));
    node
}

/// Points diagnostics at merged overlay nodes back into their overlay files.
fn relocate_overlay_diagnostics(diagnostics: &mut [Diagnostic], overlays: &[String]) {
    for diagnostic in diagnostics {
        let Some(location) = diagnostic.location.as_mut() else { continue };
        let number = (location.span.line / OVERLAY_LINES) as usize;
        if number == 0 {
            continue;
        }
        if let Some(file) = overlays.get(number - 1) {
            location.file = Arc::from(file.as_str());
            location.span.line %= OVERLAY_LINES;
        }
    }
}

/// A `file:` of a script component in an overlay is relative to the overlay's folder; the
/// plan reads it relative to its own, so the path is rewritten to reach the same file.
fn relocate_script(item: &mut Node, dir: &Path, plan_path: &Path) {
    let NodeKind::Map(entries) = &mut item.kind else { return };
    for (key, value) in entries.iter_mut() {
        if key.as_str() == Some("file") {
            if let NodeKind::Scalar { text, .. } = &mut value.kind {
                let plan_dir = plan_path.parent().unwrap_or(Path::new(""));
                if dir != plan_dir && Path::new(text.as_str()).is_relative() {
                    let target = dir.join(&*text);
                    *text = relative_to(&target, plan_dir).display().to_string();
                }
            }
        }
    }
}

/// `target` as seen from folder `from` (both relative to the same place, or both absolute).
fn relative_to(target: &Path, from: &Path) -> PathBuf {
    if let (Ok(target_abs), Ok(from_abs)) = (std::path::absolute(target), std::path::absolute(from)) {
        let common = target_abs.components().zip(from_abs.components()).take_while(|(a, b)| a == b).count();
        let mut out = PathBuf::new();
        for _ in from_abs.components().skip(common) {
            out.push("..");
        }
        for part in target_abs.components().skip(common) {
            out.push(part.as_os_str());
        }
        return out;
    }
    target.to_path_buf()
}

/// The mapping under `section` of the plan's root, created when missing.
fn map_entry<'a>(root: &'a mut Node, section: &str, key: &Node) -> &'a mut Node {
    if !matches!(root.kind, NodeKind::Map(_)) {
        root.kind = NodeKind::Map(Vec::new());
    }
    let entries = match &mut root.kind {
        NodeKind::Map(entries) => entries,
        _ => unreachable!("made a mapping just above"),
    };
    let position = entries.iter().position(|(k, _)| k.as_str() == Some(section));
    let index = match position {
        Some(i) => i,
        None => {
            entries.push((key.clone(), Node { span: key.span, kind: NodeKind::Map(Vec::new()) }));
            entries.len() - 1
        }
    };
    let slot = &mut entries[index].1;
    if !matches!(slot.kind, NodeKind::Map(_)) {
        slot.kind = NodeKind::Map(Vec::new());
    }
    slot
}

fn set_entry(map: &mut Node, key: Node, value: Node) {
    let NodeKind::Map(entries) = &mut map.kind else { return };
    match entries.iter_mut().find(|(k, _)| k.as_str() == key.as_str()) {
        Some(entry) => entry.1 = value,
        None => entries.push((key, value)),
    }
}

fn role_node<'a>(root: &'a mut Node, role: &str) -> Option<&'a mut Node> {
    root.get_mut("roles").and_then(|roles| roles.get_mut(role)).filter(|node| matches!(node.kind, NodeKind::Map(_)))
}

fn replace_component(role: &mut Node, id: &str, item: Node, key: &Node) {
    let NodeKind::Map(entries) = &mut role.kind else { return };
    let position = entries.iter().position(|(k, _)| k.as_str() == Some("components"));
    let index = match position {
        Some(i) => i,
        None => {
            entries.push((key.clone(), Node { span: key.span, kind: NodeKind::Seq(Vec::new()) }));
            entries.len() - 1
        }
    };
    let NodeKind::Seq(items) = &mut entries[index].1.kind else { return };
    match items.iter_mut().find(|c| c.get("id").and_then(Node::as_str) == Some(id)) {
        Some(existing) => *existing = item,
        None => items.push(item),
    }
}

/// The scale factors of the scenario's `scale` changes; company factors also scale the
/// plan's annual `company:` values.
fn scales(plan: &mut Plan, data: &DataSet, scenario: &Scenario) -> Result<Scales, ScenarioError> {
    let mut scales = Scales::new();
    let payees = data.payees();
    for change in scenario.changes() {
        let Change::Scale { selector, measure, factor } = change else { continue };
        let factor = *factor;
        if *selector == Selector::Company {
            let known_csv = data.company_names().contains(&measure.as_str());
            if measure == "net_profit_pct" && !known_csv {
                return Err(ScenarioError::invalid(
                    "company.net_profit_pct is derived (net_profit / revenue) and cannot be scaled: scale company.net_profit or company.revenue",
                ));
            }
            if !known_csv && !plan.company.contains_key(measure) {
                let mut known: Vec<String> = data.company_names().iter().map(|s| s.to_string()).collect();
                known.extend(plan.company.keys().filter(|k| !known.contains(k)).cloned().collect::<Vec<_>>());
                let mut message = format!("there is no company measure `{measure}` to scale");
                if let Some(best) = did_you_mean(measure, known.iter().map(String::as_str)) {
                    message.push_str(&format!("; did you mean `{best}`?"));
                }
                message.push_str(&format!(" (company measures: {})", known.join(", ")));
                return Err(ScenarioError::invalid(message));
            }
            scales.company(measure, factor);
            if let Some(value) = plan.model_mut().company.get_mut(measure) {
                *value = value.checked_mul(factor).ok_or_else(|| {
                    ScenarioError::invalid(format!("company.{measure} × {factor} is too large to compute"))
                })?;
            }
            continue;
        }
        let selected: Vec<usize> = match selector {
            Selector::Role(role) => {
                if !plan.roles.contains_key(role) {
                    let known: Vec<&str> = plan.roles.keys().map(String::as_str).collect();
                    let mut message = format!("the plan has no role `{role}` to scale");
                    if let Some(best) = did_you_mean(role, known.iter().copied()) {
                        message.push_str(&format!("; did you mean `{best}`?"));
                    }
                    message.push_str(&format!(" (roles: {}; or team:NAME, payee:ID, company)", known.join(", ")));
                    return Err(ScenarioError::invalid(message));
                }
                (0..payees.len()).filter(|&i| payees[i].role.as_str() == role).collect()
            }
            Selector::Team(team) => {
                let selected: Vec<usize> =
                    (0..payees.len()).filter(|&i| payees[i].team.as_deref() == Some(team.as_str())).collect();
                if selected.is_empty() {
                    let mut teams: Vec<&str> = payees.iter().filter_map(|p| p.team.as_deref()).collect();
                    teams.sort_unstable();
                    teams.dedup();
                    return Err(ScenarioError::invalid(format!(
                        "no payee is in team `{team}` (teams: {})",
                        teams.join(", ")
                    )));
                }
                selected
            }
            Selector::Payee(id) => match data.payee_index(id) {
                Some(i) => vec![i],
                None => {
                    let mut message = format!("payee `{id}` is not in the roster");
                    if let Some(best) = did_you_mean(id, payees.iter().map(|p| p.id.as_str())) {
                        message.push_str(&format!("; did you mean `{best}`?"));
                    }
                    return Err(ScenarioError::invalid(message));
                }
            },
            Selector::Company => Vec::new(),
        };
        match deal_kind(measure) {
            Some(DealMeasure::Kind(kind)) => {
                for &i in &selected {
                    scales.deals(i, payees.len(), kind, factor);
                }
            }
            Some(DealMeasure::Margin) => {
                for &i in &selected {
                    scales.margins(i, payees.len(), factor);
                }
            }
            None if plan.measures.contains_key(measure) => {
                for &i in &selected {
                    scales.declared(i, measure, factor);
                }
            }
            None => {
                if let Some(kind) = DealKind::ALL.into_iter().find(|k| k.collected_name() == Some(measure.as_str())) {
                    return Err(ScenarioError::invalid(format!(
                        "`{measure}` is the cash collected on deals and follows them: scale `{}`, and the \
                         payments on those deals scale with it",
                        kind.measure_name()
                    )));
                }
                let mut known: Vec<&str> = DEAL_MEASURES.iter().map(|(name, _)| *name).collect();
                known.push("gross_margin");
                known.extend(plan.measures.keys().map(String::as_str));
                let mut message = format!("`{measure}` is not a measure that can be scaled");
                if let Some(best) = did_you_mean(measure, known.iter().copied()) {
                    message.push_str(&format!("; did you mean `{best}`?"));
                }
                message.push_str(&format!(" (measures: {})", known.join(", ")));
                return Err(ScenarioError::invalid(message));
            }
        }
    }
    Ok(scales)
}

const DEAL_MEASURES: [(&str, DealKind); 5] = [
    ("bookings", DealKind::New),
    ("expansion", DealKind::Expansion),
    ("renewals", DealKind::Renewal),
    ("contraction", DealKind::Contraction),
    ("churn", DealKind::Churn),
];

enum DealMeasure {
    Kind(DealKind),
    Margin,
}

fn deal_kind(measure: &str) -> Option<DealMeasure> {
    if measure == "gross_margin" {
        return Some(DealMeasure::Margin);
    }
    DEAL_MEASURES.iter().find(|(name, _)| *name == measure).map(|(_, kind)| DealMeasure::Kind(*kind))
}
