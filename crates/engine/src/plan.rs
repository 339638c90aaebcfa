//! The plan model (SPEC §4): a plan file as read ([`PlanSource`]: YAML parsed once) and
//! everything a plan says apart from its components ([`PlanModel`]: ids, calendar,
//! parameters, company values, declared measures, each role's rules and quota rules).
//!
//! Components are built one layer up, by the registry, which compiles a [`PlanSource`] into
//! a `Plan` (this model plus each role's components). Data indexing reads this model only.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use indexmap::IndexMap;
use rust_decimal::Decimal;
use sha2::{Digest, Sha256};

use crate::calendar::Calendar;
use crate::csvfile::hex;
use crate::diagnostic::{Diagnostic, Diagnostics, did_you_mean};
use crate::error::Code;
use crate::measure::{Aggregate, DERIVED_MEASURES, MeasureRef};
use crate::source::{FileSystem, Sources};
use crate::spanned::{Num, Spanned};
use crate::spec::{Motion, PlanSpec, QuotaSource, QuotaSpec, RoleSpec};
use crate::yaml::{self, DeContext, Node};

/// A validated plan without its components: what data indexing, quota schedules and
/// components read. The registry's `Plan` is this model plus each role's components.
#[derive(Debug, Clone)]
pub struct PlanModel {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub currency: String,
    /// Places of the currency's minor unit (2 for USD, EUR, GBP).
    pub minor_units: u32,
    pub calendar: Calendar,
    pub params: IndexMap<String, Decimal>,
    pub company: IndexMap<String, Decimal>,
    pub measures: IndexMap<String, Aggregate>,
    /// Each role's rules, in plan order.
    pub roles: IndexMap<String, RoleRules>,
    /// SHA-256 of the plan file, the scripts it uses and any parameter overrides.
    pub hash: String,
    pub path: PathBuf,
    /// Lint warnings found while compiling.
    pub warnings: Vec<Diagnostic>,
    /// Whether a component reads single credited deals (set by the compiler from
    /// `Component::needs_credits`).
    pub(crate) needs_deal_list: bool,
    /// Whether a component or the attainment blend reads gross margin: then `deals.csv` must
    /// have a `gross_margin` column, or every margin would read as 0.
    pub(crate) reads_margin: bool,
    /// The roles with a component that reads cash collected (`collected`, …): without
    /// `payments.csv` their payees' collections are 0, which indexing warns of.
    pub(crate) collected_roles: Vec<String>,
    /// Every `company.NAME` the plan's components and attainment blends read, where it is
    /// read (set by the compiler; the names the engine reads by itself are
    /// [`ENGINE_COMPANY_READS`](crate::registry::ENGINE_COMPANY_READS)).
    pub(crate) company_reads: Vec<crate::spanned::Spanned<String>>,
    /// The roles with a component that pays against the quota ([`Component::reads_quota`]).
    pub(crate) quota_roles: Vec<String>,
    /// The roles with a team pool ([`Component::team_pool`]): their payees need a roster `team`.
    pub(crate) pool_roles: Vec<String>,
}

impl PlanModel {
    pub fn dir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("."))
    }

    /// Whether any component needs the full list of credited deals (a SPIFF's date windows).
    pub fn needs_deal_list(&self) -> bool {
        self.needs_deal_list
    }
}

/// A role's rules: everything but its components.
#[derive(Debug, Clone)]
pub struct RoleRules {
    pub id: String,
    pub title: String,
    pub motion: Motion,
    pub hybrid: bool,
    pub rollup: bool,
    /// Annual target incentive at 100 %.
    pub target_incentive: Decimal,
    pub quota: QuotaRules,
}

/// The role's relieved-quota rules (SPEC §6), with defaults filled in.
#[derive(Debug, Clone)]
pub struct QuotaRules {
    pub source: QuotaSource,
    pub floor: Decimal,
    pub prorate: bool,
    pub max_relief_pct: Option<Decimal>,
    pub blend: Option<Blend>,
    /// `(below, rate_multiplier)`.
    pub soft_floor: Option<(Decimal, Decimal)>,
    /// `(over_self_goal, multiplier)`.
    pub kicker: Option<(Decimal, Decimal)>,
    /// Each period's share of the annual quota (N fractions summing to 1); `None` is the
    /// even split 1/N.
    pub phasing: Option<Vec<Decimal>>,
}

impl QuotaRules {
    /// An annual amount's share for period `k`, times N (the schedule's unit, so that the even
    /// split stays the annual amount itself, exactly).
    pub fn phased_scaled(&self, annual: Decimal, k: usize) -> Option<Decimal> {
        match &self.phasing {
            None => Some(annual),
            Some(shares) => {
                let n = Decimal::from(shares.len() as u64);
                annual.checked_mul(shares[k]).and_then(|v| v.checked_mul(n))
            }
        }
    }
}

impl Default for QuotaRules {
    fn default() -> Self {
        QuotaRules {
            source: QuotaSource::Roster,
            floor: Decimal::new(9, 1),
            prorate: true,
            max_relief_pct: None,
            blend: None,
            soft_floor: None,
            kicker: None,
            phasing: None,
        }
    }
}

/// The attainment blend A′ = rw×A_ind + tw×A_team + Σ w×min(cap, actual/target).
#[derive(Debug, Clone)]
pub struct Blend {
    pub revenue_weight: Decimal,
    pub team_weight: Decimal,
    pub scores: Vec<Score>,
}

#[derive(Debug, Clone)]
pub struct Score {
    pub measure: MeasureRef,
    pub target: Decimal,
    pub weight: Decimal,
    pub cap: Option<Decimal>,
}

/// What [`PlanSource::model`] read: the model (no roles yet), the spec and the component
/// mappings captured as raw nodes, for the compiler.
pub(crate) struct ModelParts {
    pub model: PlanModel,
    pub spec: PlanSpec,
    pub captured: Vec<Node>,
}

/// A plan file read and parsed, not yet compiled.
#[derive(Debug, Clone)]
pub struct PlanSource {
    /// Where the plan's scripts are read from (the plan file's own sources).
    pub sources: Arc<dyn Sources>,
    pub path: PathBuf,
    pub file: Arc<str>,
    pub text: String,
    /// The parsed YAML (the YAML layer's tree: see [`PlanSource::to_json`] for a view).
    pub(crate) root: Node,
    /// Problems the parser stepped over (duplicate keys).
    pub(crate) parse_diagnostics: Vec<Diagnostic>,
}

impl PlanSource {
    /// Reads and parses a plan file on disk.
    pub fn read(path: &Path) -> Result<PlanSource, Diagnostics> {
        PlanSource::read_from(Arc::new(FileSystem), path)
    }

    /// Reads and parses the plan at `path` of `sources` (its scripts are read from there too).
    pub fn read_from(sources: Arc<dyn Sources>, path: &Path) -> Result<PlanSource, Diagnostics> {
        let text = match sources.read(path) {
            Ok(Some(text)) => text.to_string(),
            Ok(None) => {
                let message = format!("cannot read plan file {}: no such file", path.display());
                return Err(Diagnostics(vec![Diagnostic::error(message).with_code(Code::PlanRead)]));
            }
            Err(err) => {
                let message = format!("cannot read plan file {}: {err}", path.display());
                return Err(Diagnostics(vec![Diagnostic::error(message).with_code(Code::PlanRead)]));
            }
        };
        PlanSource::parse(sources, path, text)
    }

    /// Parses plan text as if read from `path` on disk (its scripts are read from disk).
    pub fn from_text(path: &Path, text: String) -> Result<PlanSource, Diagnostics> {
        PlanSource::parse(Arc::new(FileSystem), path, text)
    }

    /// Parses plan text named `path` (the name its errors carry), reading its scripts from
    /// `sources`.
    pub fn parse(sources: Arc<dyn Sources>, path: &Path, text: String) -> Result<PlanSource, Diagnostics> {
        let file: Arc<str> = Arc::from(path.display().to_string());
        let (root, parse_diagnostics) =
            yaml::parse(&text, &file).map_err(|d| Diagnostics(vec![d.or_code(Code::PlanYaml)]))?;
        Ok(PlanSource { sources, path: path.to_path_buf(), file, text, root, parse_diagnostics })
    }

    /// The same plan with its node tree replaced (an overlay merged in); the text, and so the
    /// plan hash, stay the plan file's.
    pub(crate) fn with_root(&self, root: Node) -> PlanSource {
        PlanSource { root, ..self.clone() }
    }

    /// The plan as JSON, the way an editor's YAML language server sees it (to validate it
    /// against the plan's JSON Schema).
    pub fn to_json(&self) -> serde_json::Value {
        self.root.to_json()
    }

    /// Reads everything but the components: parameters (with `overrides`), the plan's keys,
    /// calendar, company values and declared measures. Roles are added by the compiler, one
    /// at a time with [`role_rules`], so that problems are reported in file order.
    pub(crate) fn model(
        &self,
        overrides: &IndexMap<String, Decimal>,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Option<ModelParts> {
        let file = &self.file;
        if !matches!(self.root.kind, yaml::NodeKind::Map(_)) {
            diagnostics.push(
                Diagnostic::error("a plan file is a mapping with `plan:`, `year:`, `periods:` and `roles:`")
                    .at(file, self.root.span),
            );
            return None;
        }

        // Parameters first: every `$name` elsewhere resolves against them.
        let mut params: IndexMap<String, Decimal> = IndexMap::new();
        if let Some(node) = self.root.get("params") {
            let cx = DeContext::new(file.clone(), None);
            match yaml::from_node::<IndexMap<Spanned<String>, Num>>(node, &cx) {
                Ok(map) => {
                    for (name, value) in map {
                        check_id(&name, "parameter", file, diagnostics);
                        params.insert(name.value, value.value);
                    }
                }
                Err(diag) => diagnostics.push(diag),
            }
            diagnostics.extend(cx.into_diagnostics());
        }
        for (name, value) in overrides {
            match params.get_mut(name) {
                Some(slot) => *slot = *value,
                None => {
                    let mut diag = Diagnostic::error(format!("override of unknown parameter `{name}`"))
                        .with_code(Code::PlanUnknownParameter);
                    if let Some(best) = did_you_mean(name, params.keys().map(String::as_str)) {
                        diag = diag.with_help(format!("did you mean `{best}`?"));
                    }
                    diagnostics.push(diag);
                }
            }
        }

        let cx = DeContext::new(file.clone(), Some(&params));
        let spec = yaml::from_node::<PlanSpec>(&self.root, &cx);
        let captured = cx.take_captured();
        diagnostics.extend(cx.into_diagnostics());
        let spec = match spec {
            Ok(spec) => spec,
            Err(diag) => {
                diagnostics.push(diag);
                return None;
            }
        };

        check_id(&spec.plan, "plan", file, diagnostics);
        let (currency, minor_units) = match &spec.currency {
            Some(c) => {
                if c.len() != 3 || !c.bytes().all(|b| b.is_ascii_uppercase()) {
                    diagnostics.push(
                        Diagnostic::error(format!("currency `{}` is not an ISO 4217 code such as USD", c.value))
                            .at(file, c.span),
                    );
                }
                (c.value.clone(), minor_units(c))
            }
            None => ("USD".to_string(), 2),
        };
        let fiscal_start_month = spec.fiscal_start_month.as_ref().map_or(1, |m| m.value);
        if !(1..=12).contains(&fiscal_start_month) {
            let span = spec.fiscal_start_month.as_ref().map(|m| m.span).unwrap_or_default();
            diagnostics.push(Diagnostic::error("`fiscal_start_month` is a month, 1 to 12").at(file, span));
            return None;
        }
        if !(1900..=9000).contains(&spec.year.value) {
            diagnostics.push(Diagnostic::error("`year` must be a calendar year such as 2027").at(file, spec.year.span));
            return None;
        }
        let calendar = Calendar::new(spec.periods.value, spec.year.value, fiscal_start_month)?;

        let mut company = IndexMap::new();
        for (name, value) in &spec.company {
            check_id(name, "company measure", file, diagnostics);
            company.insert(name.value.clone(), value.value);
        }
        let mut measures = IndexMap::new();
        for (name, decl) in &spec.measures {
            check_id(name, "measure", file, diagnostics);
            if DERIVED_MEASURES.contains(&name.as_str()) {
                diagnostics.push(
                    Diagnostic::error(format!("`{}` is derived from deals.csv and cannot be declared", name.value))
                        .at(file, name.span),
                );
            }
            measures.insert(name.value.clone(), decl.aggregate.value);
        }

        let model = PlanModel {
            id: spec.plan.value.clone(),
            name: spec.name.clone().unwrap_or_else(|| spec.plan.value.clone()),
            description: spec.description.clone(),
            currency,
            minor_units,
            calendar,
            params,
            company,
            measures,
            roles: IndexMap::new(),
            hash: String::new(),
            path: self.path.clone(),
            warnings: Vec::new(),
            needs_deal_list: false,
            reads_margin: false,
            collected_roles: Vec::new(),
            company_reads: Vec::new(),
            quota_roles: Vec::new(),
            pool_roles: Vec::new(),
        };
        Some(ModelParts { model, spec, captured })
    }

    /// SHA-256 of the plan text, the scripts it uses and any overrides (sorted), in hex.
    pub(crate) fn hash(&self, overrides: &IndexMap<String, Decimal>, mut files: Vec<(String, String)>) -> String {
        let mut hasher = Sha256::new();
        hasher.update(self.text.as_bytes());
        files.sort();
        files.dedup();
        for (_, hash) in files {
            hasher.update(format!("\n#script {hash}").as_bytes());
        }
        let mut sorted: Vec<_> = overrides.iter().collect();
        sorted.sort();
        for (name, value) in sorted {
            hasher.update(format!("\n#set {name}={}", value.normalize()).as_bytes());
        }
        hex(&hasher.finalize())
    }
}

/// A quota phasing: one share per period, none negative, summing to exactly 1.
fn compile_phasing(
    phasing: &Spanned<Vec<Num>>,
    calendar: &Calendar,
    file: &Arc<str>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<Vec<Decimal>> {
    let n = calendar.n_periods();
    let errors_before = diagnostics.len();
    if phasing.len() != n {
        let labels: Vec<&str> = (0..n).map(|k| calendar.period(k).label.as_str()).collect();
        diagnostics.push(
            Diagnostic::error(format!(
                "`phasing` has {} shares but the plan has {n} periods: give one share per period ({})",
                phasing.len(),
                labels.join(", ")
            ))
            .at(file, phasing.span),
        );
    }
    let mut sum = Decimal::ZERO;
    for share in phasing.iter() {
        if share.value < Decimal::ZERO {
            diagnostics
                .push(Diagnostic::error("a period's share of the quota cannot be negative").at(file, share.span));
        }
        sum = sum.checked_add(share.value).unwrap_or(Decimal::MAX);
    }
    if phasing.len() == n && sum != Decimal::ONE {
        diagnostics.push(
            Diagnostic::error(format!(
                "`phasing` shares sum to {} ({}); they must sum to exactly 1",
                sum.normalize(),
                crate::number::format_percent(sum)
            ))
            .at(file, phasing.span)
            .with_help("write each period's share of the annual quota as a fraction: [0.2, 0.2, 0.2, 0.4]"),
        );
    }
    (diagnostics.len() == errors_before).then(|| phasing.iter().map(|share| share.value).collect())
}

/// A role's rules from its spec (target incentive, quota rules), reporting problems.
pub(crate) fn role_rules(
    role_id: &Spanned<String>,
    spec: &RoleSpec,
    measures: &IndexMap<String, Aggregate>,
    calendar: &Calendar,
    file: &Arc<str>,
    diagnostics: &mut Vec<Diagnostic>,
) -> RoleRules {
    let ti = spec.target_incentive.as_ref().map_or(Decimal::ZERO, |n| n.value);
    if let Some(n) = &spec.target_incentive {
        if n.value < Decimal::ZERO {
            diagnostics.push(Diagnostic::error("`target_incentive` cannot be negative").at(file, n.span));
        }
    }
    let quota = compile_quota(spec.quota.as_ref(), measures, calendar, file, diagnostics);
    RoleRules {
        id: role_id.value.clone(),
        title: spec.title.clone().unwrap_or_else(|| role_id.value.clone()),
        motion: spec.motion.value,
        hybrid: spec.hybrid,
        rollup: spec.rollup,
        target_incentive: ti,
        quota,
    }
}

fn compile_quota(
    spec: Option<&Spanned<QuotaSpec>>,
    measures: &IndexMap<String, Aggregate>,
    calendar: &Calendar,
    file: &Arc<str>,
    diagnostics: &mut Vec<Diagnostic>,
) -> QuotaRules {
    let mut rules = QuotaRules::default();
    let Some(spec) = spec else { return rules };
    rules.source = spec.source.as_ref().map_or(QuotaSource::Roster, |s| s.value);
    if let Some(floor) = &spec.floor {
        if floor.value < Decimal::ZERO {
            diagnostics.push(
                Diagnostic::error("`floor` is a fraction of the assigned quota, at least 0").at(file, floor.span),
            );
        }
        rules.floor = floor.value;
    }
    rules.prorate = spec.prorate.unwrap_or(true);
    if let Some(phasing) = &spec.phasing {
        rules.phasing = compile_phasing(phasing, calendar, file, diagnostics);
    }
    if let Some(max) = &spec.max_relief_pct {
        if max.value < Decimal::ZERO || max.value > Decimal::ONE {
            diagnostics.push(Diagnostic::error("`max_relief_pct` is a fraction between 0 and 1").at(file, max.span));
        }
        rules.max_relief_pct = Some(max.value);
    }
    if let Some(floor) = &spec.soft_floor {
        if floor.rate_multiplier.value < Decimal::ZERO {
            diagnostics
                .push(Diagnostic::error("`rate_multiplier` cannot be negative").at(file, floor.rate_multiplier.span));
        }
        rules.soft_floor = Some((floor.below.value, floor.rate_multiplier.value));
    }
    if let Some(kicker) = &spec.kicker {
        let over = kicker.over_self_goal.as_ref().map_or(Decimal::ONE, |n| n.value);
        if kicker.multiplier.value < Decimal::ZERO {
            diagnostics
                .push(Diagnostic::error("a kicker's `multiplier` cannot be negative").at(file, kicker.multiplier.span));
        }
        rules.kicker = Some((over, kicker.multiplier.value));
    }
    if let Some(blend) = &spec.attainment {
        let team_weight = blend.team_weight.as_ref().map_or(Decimal::ZERO, |n| n.value);
        let mut scores = Vec::new();
        let mut score_weights = Decimal::ZERO;
        for score in &blend.scores {
            let measure = MeasureRef::resolve(&score.measure, measures);
            if measure.is_none() {
                diagnostics.push(
                    Diagnostic::error(format!("unknown measure `{}` in the attainment blend", score.measure.value))
                        .at(file, score.measure.span)
                        .with_code(Code::PlanUnknownMeasure)
                        .with_help("declare measures.csv measures under `measures:`"),
                );
            }
            if score.target.value.is_zero() {
                diagnostics.push(
                    Diagnostic::error(format!(
                        "score `{}` has a zero target; attainment would divide by zero",
                        score.measure.value
                    ))
                    .at(file, score.target.span),
                );
            }
            if score.weight.value < Decimal::ZERO {
                diagnostics.push(Diagnostic::error("a score weight cannot be negative").at(file, score.weight.span));
            }
            score_weights += score.weight.value;
            if let Some(measure) = measure {
                scores.push(Score {
                    measure,
                    target: score.target.value,
                    weight: score.weight.value,
                    cap: score.cap.as_ref().map(|c| c.value),
                });
            }
        }
        let revenue_weight = match &blend.revenue_weight {
            Some(given) => {
                let total = given.value + team_weight + score_weights;
                if total != Decimal::ONE {
                    diagnostics.push(
                        Diagnostic::error(format!(
                            "blend weights sum to {} (revenue {} + team {} + scores {}); they must sum to 1",
                            total.normalize(),
                            given.value.normalize(),
                            team_weight.normalize(),
                            score_weights.normalize()
                        ))
                        .at(file, given.span),
                    );
                }
                given.value
            }
            None => {
                let rest = Decimal::ONE - team_weight - score_weights;
                if rest < Decimal::ZERO {
                    diagnostics.push(
                        Diagnostic::error(format!(
                            "team and score weights sum to {}, more than 1",
                            (team_weight + score_weights).normalize()
                        ))
                        .at(file, blend.span),
                    );
                }
                rest
            }
        };
        if team_weight < Decimal::ZERO || revenue_weight < Decimal::ZERO {
            diagnostics.push(Diagnostic::error("blend weights cannot be negative").at(file, blend.span));
        }
        rules.blend = Some(Blend { revenue_weight, team_weight, scores });
    }
    rules
}

/// Ids (plan, roles, components, measures, parameters) match `[a-z0-9_-]+`.
pub(crate) fn check_id(id: &Spanned<String>, what: &str, file: &Arc<str>, diagnostics: &mut Vec<Diagnostic>) {
    let ok =
        !id.is_empty() && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if !ok {
        diagnostics.push(
            Diagnostic::error(format!("{what} id `{}` must use only a-z, 0-9, `_` and `-`", id.value))
                .at(file, id.span)
                .with_code(Code::PlanBadId),
        );
    }
}

fn minor_units(currency: &str) -> u32 {
    match currency {
        "JPY" | "KRW" | "VND" | "CLP" | "ISK" | "UGX" | "XAF" | "XOF" | "PYG" => 0,
        "BHD" | "KWD" | "OMR" | "JOD" | "TND" | "LYD" | "IQD" => 3,
        _ => 2,
    }
}
