//! The server's own request and response types (the wire), converted from and to the
//! engine's: amounts and ratios are strings, numbers in requests are strings (a JSON integer
//! is accepted, a JSON float is refused).

use std::collections::BTreeMap;
use std::fmt;

use accrue_engine::{
    Alignment, ChangeReport, CostOfSales, CurvePoint, Diagnostic, Distribution, MonteCarlo, NumberStyle, PayeeDelta,
    PayoutCurve, Plan, RunFailure, Simulation, Sums, parse_decimal,
};
use rust_decimal::Decimal;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ApiError, ErrorCode};

/// A map that keeps the engine's order (roles and periods as the plan lists them).
pub type OrderedMap = Vec<(String, String)>;

/// The marker in a deserialisation error that says a JSON float was sent for an exact number.
pub(crate) const FLOAT_MARKER: &str = "is a JSON float";

/// An exact number as the request wrote it: a string (`"0.06"`) or a JSON integer (`6`).
/// A JSON float (`0.06`) is refused: binary floats cannot carry money exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exact(pub String);

impl Exact {
    /// The number as a `Decimal`; `what` names it in the error.
    pub fn decimal(&self, what: &str) -> Result<Decimal, ApiError> {
        parse_decimal(&self.0, NumberStyle::Text)
            .map_err(|err| ApiError::new(ErrorCode::InvalidRequest, format!("{what}: {err}")))
    }
}

impl<'de> Deserialize<'de> for Exact {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Exact, D::Error> {
        struct ExactVisitor;
        impl Visitor<'_> for ExactVisitor {
            type Value = Exact;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an exact number as a string (\"0.06\") or a JSON integer")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Exact, E> {
                Ok(Exact(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Exact, E> {
                Ok(Exact(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Exact, E> {
                Ok(Exact(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Exact, E> {
                Err(E::custom(format!(
                    "{v} {FLOAT_MARKER}: write exact numbers as strings (\"{v}\") so no binary rounding touches them"
                )))
            }
        }
        deserializer.deserialize_any(ExactVisitor)
    }
}

impl Serialize for Exact {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// A count (draws, steps, top) as a JSON integer or an integer string.
pub fn count<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    let exact: Option<Exact> = Option::deserialize(deserializer)?;
    exact
        .map(|e| e.0.trim().parse::<u64>().map_err(|_| de::Error::custom(format!("`{}` is not a whole number", e.0))))
        .transpose()
}

/// One change of a scenario (SPEC §9).
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ChangeBody {
    /// Replaces `params.NAME`.
    Set(SetChange),
    /// Multiplies a measure of a role, `team:NAME`, `payee:ID` or `company`.
    Scale(ScaleChange),
    /// A YAML fragment merged over the plan.
    OverlayYaml(String),
    /// A whole second plan on the same data (the back-test).
    PlanBYaml(String),
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetChange {
    pub name: String,
    #[schema(value_type = String, example = "0.06")]
    pub value: Exact,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScaleChange {
    pub selector: String,
    pub measure: String,
    #[schema(value_type = String, example = "1.1")]
    pub factor: Exact,
}

/// A plan and a data set, each served (by name) or inline: the fields every analysis
/// request starts with.
#[derive(Debug, Clone, Default)]
pub struct Target {
    pub plan: Option<String>,
    pub plan_yaml: Option<String>,
    pub scripts: BTreeMap<String, String>,
    pub data: Option<String>,
    pub data_inline: Option<BTreeMap<String, String>>,
}

/// `POST /v1/simulate`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SimulateRequest {
    /// A plan served from `--plans`, by id.
    #[serde(default)]
    pub plan: Option<String>,
    /// An inline plan (YAML text).
    #[serde(default)]
    pub plan_yaml: Option<String>,
    /// The inline plan's scripts by path relative to the plan (plugin types under
    /// `scripts/components/`).
    #[serde(default)]
    pub scripts: BTreeMap<String, String>,
    /// A served data set, by its plan's id.
    #[serde(default)]
    pub data: Option<String>,
    /// Inline CSV files by name (`roster.csv`, `deals.csv`, …).
    #[serde(default)]
    pub data_inline: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub changes: Vec<ChangeBody>,
    /// How many winners and losers to list (default 10).
    #[serde(default, deserialize_with = "count")]
    #[schema(value_type = Option<u64>)]
    pub top: Option<u64>,
}

impl SimulateRequest {
    pub fn target(&self) -> Target {
        Target {
            plan: self.plan.clone(),
            plan_yaml: self.plan_yaml.clone(),
            scripts: self.scripts.clone(),
            data: self.data.clone(),
            data_inline: self.data_inline.clone(),
        }
    }
}

/// `POST /v1/plans/validate`: an inline plan (or a served one), optionally with data.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidateRequest {
    #[serde(default)]
    pub plan: Option<String>,
    #[serde(default)]
    pub plan_yaml: Option<String>,
    #[serde(default)]
    pub scripts: BTreeMap<String, String>,
    #[serde(default)]
    pub data: Option<String>,
    #[serde(default)]
    pub data_inline: Option<BTreeMap<String, String>>,
}

impl ValidateRequest {
    pub fn target(&self) -> Target {
        Target {
            plan: self.plan.clone(),
            plan_yaml: self.plan_yaml.clone(),
            scripts: self.scripts.clone(),
            data: self.data.clone(),
            data_inline: self.data_inline.clone(),
        }
    }
}

/// `POST /v1/scenarios`: a named scenario on a served plan and data set.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SaveScenarioRequest {
    pub name: String,
    pub plan: String,
    /// The served data set (default: the plan's own).
    #[serde(default)]
    pub data: Option<String>,
    #[serde(default)]
    pub changes: Vec<ChangeBody>,
    #[serde(default, deserialize_with = "count")]
    #[schema(value_type = Option<u64>)]
    pub top: Option<u64>,
}

/// A saved scenario.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SavedScenario {
    pub id: i64,
    pub name: String,
    pub plan: String,
    pub data: String,
    pub plan_hash: String,
    pub data_hash: String,
    pub scenario_hash: String,
    pub changes: Vec<ChangeBody>,
    pub top: Option<u64>,
    /// The role that saved it.
    pub saved_by: String,
    /// UTC, RFC 3339.
    pub saved_at: String,
}

/// `POST /v1/scenarios/{id}/run`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScenarioRun {
    pub scenario: SavedScenario,
    /// Whether the served plan's hash differs from the one saved.
    pub plan_changed: bool,
    /// Whether the served data's hash differs from the one saved.
    pub data_changed: bool,
    pub result: SimulationBody,
}

/// One problem in a plan, script or data file, with its place.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DiagnosticBody {
    /// `error` or `warning`.
    pub severity: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub col: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

impl From<&Diagnostic> for DiagnosticBody {
    fn from(d: &Diagnostic) -> DiagnosticBody {
        DiagnosticBody {
            severity: if d.is_error() { "error" } else { "warning" }.to_string(),
            message: d.message.clone(),
            file: d.location.as_ref().map(|l| l.file.to_string()),
            line: d.location.as_ref().map(|l| l.span.line),
            col: d.location.as_ref().map(|l| l.span.col),
            help: d.help.clone(),
        }
    }
}

pub fn diagnostics(list: &[Diagnostic]) -> Vec<DiagnosticBody> {
    list.iter().map(DiagnosticBody::from).collect()
}

/// `POST /v1/plans/validate`'s answer: as `accrue check --format json`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ValidateResponse {
    pub ok: bool,
    pub plan: Option<String>,
    pub plan_hash: Option<String>,
    pub diagnostics: Vec<DiagnosticBody>,
}

/// `GET /healthz`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    pub status: String,
    pub plans: usize,
}

/// One served plan in the list.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanSummary {
    pub id: String,
    pub name: String,
    pub currency: String,
    pub periods: Vec<String>,
    pub roles: Vec<String>,
    pub plan_hash: String,
    pub data_hash: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PlanList {
    pub plans: Vec<PlanSummary>,
    /// Plan folders that could not be loaded, with why (the rest are served).
    pub problems: Vec<LoadProblem>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LoadProblem {
    pub folder: String,
    pub message: String,
    pub diagnostics: Vec<DiagnosticBody>,
}

/// A served plan in detail.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanDetail {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub currency: String,
    pub periods: Vec<String>,
    /// Parameters with their values.
    #[schema(value_type = Object)]
    pub params: serde_json::Map<String, serde_json::Value>,
    pub roles: Vec<RoleDetail>,
    pub plan_hash: String,
    pub data_hash: String,
    pub warnings: Vec<DiagnosticBody>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RoleDetail {
    pub id: String,
    pub title: String,
    pub target_incentive: String,
    pub components: Vec<ComponentDetail>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ComponentDetail {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
}

impl PlanDetail {
    pub fn from_plan(plan: &Plan, data_hash: &str) -> PlanDetail {
        PlanDetail {
            id: plan.id.clone(),
            name: plan.name.clone(),
            description: plan.description.clone(),
            currency: plan.currency.clone(),
            periods: plan.calendar.labels().map(str::to_string).collect(),
            params: plan
                .params
                .iter()
                .map(|(name, value)| (name.clone(), serde_json::Value::String(value.normalize().to_string())))
                .collect(),
            roles: plan
                .roles
                .values()
                .map(|role| RoleDetail {
                    id: role.id.clone(),
                    title: role.title.clone(),
                    target_incentive: accrue_engine::format_money(role.target_incentive, plan.minor_units),
                    components: role
                        .components
                        .iter()
                        .map(|c| ComponentDetail { id: c.id().to_string(), kind: c.type_name().to_string() })
                        .collect(),
                })
                .collect(),
            plan_hash: plan.hash.clone(),
            data_hash: data_hash.to_string(),
            warnings: diagnostics(&plan.warnings),
        }
    }
}

/// Totals of a run (or their difference); money strings.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SumsBody {
    pub total: String,
    #[schema(value_type = Object)]
    #[serde(serialize_with = "ordered")]
    pub by_role: OrderedMap,
    #[schema(value_type = Object)]
    #[serde(serialize_with = "ordered")]
    pub by_period: OrderedMap,
}

fn ordered<S: serde::Serializer>(map: &OrderedMap, s: S) -> Result<S::Ok, S::Error> {
    s.collect_map(map.iter().map(|(k, v)| (k, v)))
}

impl From<&Sums> for SumsBody {
    fn from(s: &Sums) -> SumsBody {
        SumsBody {
            total: s.total.clone(),
            by_role: s.by_role.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            by_period: s.by_period.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChangeReportBody {
    Set { name: String, from: Option<String>, to: String },
    Scale { selector: String, measure: String, factor: String },
    Overlay { file: String },
    PlanB { file: String, plan: String },
}

impl From<&ChangeReport> for ChangeReportBody {
    fn from(c: &ChangeReport) -> ChangeReportBody {
        match c {
            ChangeReport::Set { name, from, to } => {
                ChangeReportBody::Set { name: name.clone(), from: from.clone(), to: to.clone() }
            }
            ChangeReport::Scale { selector, measure, factor } => {
                ChangeReportBody::Scale { selector: selector.clone(), measure: measure.clone(), factor: factor.clone() }
            }
            ChangeReport::Overlay { file } => ChangeReportBody::Overlay { file: file.clone() },
            ChangeReport::PlanB { file, plan } => ChangeReportBody::PlanB { file: file.clone(), plan: plan.clone() },
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CostOfSalesBody {
    pub baseline_revenue: Option<String>,
    pub scenario_revenue: Option<String>,
    pub baseline: Option<String>,
    pub scenario: Option<String>,
}

impl From<&CostOfSales> for CostOfSalesBody {
    fn from(c: &CostOfSales) -> CostOfSalesBody {
        CostOfSalesBody {
            baseline_revenue: c.baseline_revenue.clone(),
            scenario_revenue: c.scenario_revenue.clone(),
            baseline: c.baseline.clone(),
            scenario: c.scenario.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PayeeDeltaBody {
    pub payee: String,
    pub role: String,
    pub baseline: String,
    pub scenario: String,
    pub delta: String,
}

impl From<&PayeeDelta> for PayeeDeltaBody {
    fn from(p: &PayeeDelta) -> PayeeDeltaBody {
        PayeeDeltaBody {
            payee: p.payee.to_string(),
            role: p.role.to_string(),
            baseline: p.baseline.to_string(),
            scenario: p.scenario.to_string(),
            delta: p.delta.to_string(),
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RunFailureBody {
    /// `baseline` or `scenario`.
    pub run: String,
    pub payee: Option<String>,
    pub period: Option<String>,
    pub component: Option<String>,
    pub message: String,
}

impl From<&RunFailure> for RunFailureBody {
    fn from(f: &RunFailure) -> RunFailureBody {
        RunFailureBody {
            run: f.run.to_string(),
            payee: f.payee.clone(),
            period: f.period.clone(),
            component: f.component.clone(),
            message: f.message.clone(),
        }
    }
}

/// `POST /v1/simulate`'s answer (SPEC §12).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SimulationBody {
    pub plan: String,
    pub plan_hash: String,
    pub data_hash: String,
    pub scenario_hash: String,
    pub currency: String,
    pub changes: Vec<ChangeReportBody>,
    pub baseline: SumsBody,
    pub scenario: SumsBody,
    pub delta: SumsBody,
    pub cost_of_sales: CostOfSalesBody,
    pub payees: Vec<PayeeDeltaBody>,
    pub winners: Vec<String>,
    pub losers: Vec<String>,
    pub warnings: Vec<String>,
    pub errors: Vec<RunFailureBody>,
}

impl From<&Simulation> for SimulationBody {
    fn from(s: &Simulation) -> SimulationBody {
        SimulationBody {
            plan: s.plan.clone(),
            plan_hash: s.plan_hash.clone(),
            data_hash: s.data_hash.clone(),
            scenario_hash: s.scenario_hash.clone(),
            currency: s.currency.clone(),
            changes: s.changes.iter().map(ChangeReportBody::from).collect(),
            baseline: SumsBody::from(&s.baseline),
            scenario: SumsBody::from(&s.scenario),
            delta: SumsBody::from(&s.delta),
            cost_of_sales: CostOfSalesBody::from(&s.cost_of_sales),
            payees: s.payees.iter().map(PayeeDeltaBody::from).collect(),
            winners: s.winners.clone(),
            losers: s.losers.clone(),
            warnings: s.warnings.clone(),
            errors: s.errors.iter().map(RunFailureBody::from).collect(),
        }
    }
}

/// `GET /v1/plans/{id}/curve`'s query.
#[derive(Debug, Clone, Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CurveQuery {
    pub role: String,
    /// Only this component.
    pub component: Option<String>,
    /// Lowest attainment (default 0).
    pub from: Option<String>,
    /// Highest attainment (default 2).
    pub to: Option<String>,
    /// Points after the first (default 40, at most 1000).
    pub steps: Option<String>,
    /// The made-up payee's annual quota (default 1000000).
    pub quota: Option<String>,
}

/// `GET /v1/plans/{id}/explain`'s query.
#[derive(Debug, Clone, Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ExplainQuery {
    pub role: String,
    /// The worked example's annual quota (default 1000000).
    pub quota: Option<String>,
}

/// A payout curve: the role's year payout per component over attainment.
#[derive(Debug, Serialize, ToSchema)]
pub struct CurveBody {
    pub plan: String,
    pub role: String,
    pub currency: String,
    pub quota: String,
    pub target_incentive: String,
    pub components: Vec<String>,
    /// Components left out, with why.
    pub skipped: Vec<SkippedComponent>,
    pub points: Vec<CurvePointBody>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SkippedComponent {
    pub component: String,
    pub reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CurvePointBody {
    pub attainment: String,
    /// One amount per component, in `components` order.
    pub amounts: Vec<String>,
    pub total: String,
}

impl CurveBody {
    pub fn from_curve(plan: &str, minor_units: u32, curve: &PayoutCurve) -> CurveBody {
        let point = |p: &CurvePoint| CurvePointBody {
            attainment: p.attainment.normalize().to_string(),
            amounts: p.amounts.iter().map(Decimal::to_string).collect(),
            total: p.total.to_string(),
        };
        CurveBody {
            plan: plan.to_string(),
            role: curve.role.clone(),
            currency: curve.currency.clone(),
            quota: accrue_engine::format_money(curve.quota, minor_units),
            target_incentive: accrue_engine::format_money(curve.target_incentive, minor_units),
            components: curve.components.clone(),
            skipped: curve
                .skipped
                .iter()
                .map(|(component, reason)| SkippedComponent { component: component.clone(), reason: reason.clone() })
                .collect(),
            points: curve.points.iter().map(point).collect(),
        }
    }
}

/// `POST /v1/admin/reload`'s answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReloadReport {
    /// Plans now served at their new version (or unchanged).
    pub loaded: Vec<String>,
    /// Plans whose new version failed: the old version keeps serving.
    pub kept: Vec<LoadProblem>,
    /// Plan folders that could not be loaded and had no old version.
    pub failed: Vec<LoadProblem>,
}

/// `POST /v1/montecarlo`: seeded random scale scenarios (SPEC §12).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MonteCarloRequest {
    #[serde(default)]
    pub plan: Option<String>,
    #[serde(default)]
    pub plan_yaml: Option<String>,
    #[serde(default)]
    pub scripts: BTreeMap<String, String>,
    #[serde(default)]
    pub data: Option<String>,
    #[serde(default)]
    pub data_inline: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub changes: Vec<ChangeBody>,
    /// Draws, 1 to 100000 (default 1000).
    #[serde(default, deserialize_with = "count")]
    #[schema(value_type = Option<u64>, example = 1000)]
    pub draws: Option<u64>,
    /// The generator's seed (default 0).
    #[serde(default, deserialize_with = "count")]
    #[schema(value_type = Option<u64>, example = 7)]
    pub seed: Option<u64>,
    /// σ per role id, and `company` for the company factor.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub spread: BTreeMap<String, Exact>,
    /// ρ between the company and each payee (default 0.5).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub correlation: Option<Exact>,
    /// The comp budget (default from the data or plan).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub budget: Option<Exact>,
}

impl MonteCarloRequest {
    pub fn target(&self) -> Target {
        Target {
            plan: self.plan.clone(),
            plan_yaml: self.plan_yaml.clone(),
            scripts: self.scripts.clone(),
            data: self.data.clone(),
            data_inline: self.data_inline.clone(),
        }
    }
}

/// `POST /v1/alignment`: the revenue × margin grid (SPEC §12).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AlignmentRequest {
    #[serde(default)]
    pub plan: Option<String>,
    #[serde(default)]
    pub plan_yaml: Option<String>,
    #[serde(default)]
    pub scripts: BTreeMap<String, String>,
    #[serde(default)]
    pub data: Option<String>,
    #[serde(default)]
    pub data_inline: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub changes: Vec<ChangeBody>,
    /// Revenue factors `FROM:TO:STEP`, inclusive (default `0.5:1.5:0.1`; at most 101 steps).
    #[serde(default)]
    pub revenue: Option<String>,
    /// Margin shifts (default `["-0.10","0","0.10"]`; at most 21).
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub margin: Option<Vec<Exact>>,
    /// Company measures that follow revenue (default revenue, new_arr, recurring_revenue,
    /// bookings where present).
    #[serde(default)]
    pub follow: Option<Vec<String>>,
}

impl AlignmentRequest {
    pub fn target(&self) -> Target {
        Target {
            plan: self.plan.clone(),
            plan_yaml: self.plan_yaml.clone(),
            scripts: self.scripts.clone(),
            data: self.data.clone(),
            data_inline: self.data_inline.clone(),
        }
    }
}

/// Percentiles of a money amount over the draws.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DistributionBody {
    pub mean: String,
    pub p5: String,
    pub p25: String,
    pub p50: String,
    pub p75: String,
    pub p95: String,
    pub min: String,
    pub max: String,
}

impl From<&Distribution> for DistributionBody {
    fn from(d: &Distribution) -> DistributionBody {
        DistributionBody {
            mean: d.mean.clone(),
            p5: d.p5.clone(),
            p25: d.p25.clone(),
            p50: d.p50.clone(),
            p75: d.p75.clone(),
            p95: d.p95.clone(),
            min: d.min.clone(),
            max: d.max.clone(),
        }
    }
}

/// The share of payees at or above quota over the draws.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttainmentBody {
    pub mean: Option<String>,
    pub p5: Option<String>,
    pub p95: Option<String>,
    pub payees: usize,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BinBody {
    pub from: String,
    pub to: String,
    pub count: u32,
}

/// `POST /v1/montecarlo`'s answer (SPEC §12).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MonteCarloBody {
    pub plan: String,
    pub plan_hash: String,
    pub data_hash: String,
    pub scenario_hash: String,
    pub currency: String,
    pub draws: u32,
    pub seed: u64,
    #[schema(value_type = Object)]
    #[serde(serialize_with = "ordered")]
    pub spread: OrderedMap,
    pub correlation: String,
    pub budget: Option<String>,
    pub total: DistributionBody,
    #[schema(value_type = Object)]
    #[serde(serialize_with = "ordered_any")]
    pub by_role: Vec<(String, DistributionBody)>,
    pub p_over_budget: Option<String>,
    pub attainment: AttainmentBody,
    pub histogram: Vec<BinBody>,
    pub errored_draws: u32,
    pub warnings: Vec<String>,
    pub errors: Vec<RunFailureBody>,
}

fn ordered_any<S: serde::Serializer, V: Serialize>(map: &[(String, V)], s: S) -> Result<S::Ok, S::Error> {
    s.collect_map(map.iter().map(|(k, v)| (k, v)))
}

impl From<&MonteCarlo> for MonteCarloBody {
    fn from(m: &MonteCarlo) -> MonteCarloBody {
        MonteCarloBody {
            plan: m.plan.clone(),
            plan_hash: m.plan_hash.clone(),
            data_hash: m.data_hash.clone(),
            scenario_hash: m.scenario_hash.clone(),
            currency: m.currency.clone(),
            draws: m.draws,
            seed: m.seed,
            spread: m.spread.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            correlation: m.correlation.clone(),
            budget: m.budget.clone(),
            total: DistributionBody::from(&m.total),
            by_role: m.by_role.iter().map(|(k, v)| (k.clone(), DistributionBody::from(v))).collect(),
            p_over_budget: m.p_over_budget.clone(),
            attainment: AttainmentBody {
                mean: m.attainment.mean.clone(),
                p5: m.attainment.p5.clone(),
                p95: m.attainment.p95.clone(),
                payees: m.attainment.payees,
            },
            histogram: m
                .histogram
                .iter()
                .map(|b| BinBody { from: b.from.clone(), to: b.to.clone(), count: b.count })
                .collect(),
            errored_draws: m.errored_draws,
            warnings: m.warnings.clone(),
            errors: m.errors.iter().map(RunFailureBody::from).collect(),
        }
    }
}

/// One cell of the alignment grid.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CellBody {
    pub r: String,
    pub dm: String,
    #[schema(value_type = Object)]
    #[serde(serialize_with = "ordered")]
    pub by_role: OrderedMap,
    pub total_comp: String,
    pub profit_after_comp: String,
}

/// Neighbouring cells where a role's pay rises while profit after comp falls, or a role
/// whose pay never moves.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FindingBody {
    /// `rises_while_profit_falls` or `unresponsive`.
    pub kind: String,
    pub role: String,
    pub axis: Option<String>,
    pub at: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub payout_change: Option<String>,
    pub profit_change: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CoverageBody {
    pub effective_quotas: String,
    pub run_rate_book: String,
    pub budget_revenue: Option<String>,
    pub ratio: Option<String>,
}

/// `POST /v1/alignment`'s answer (SPEC §12).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AlignmentBody {
    pub plan: String,
    pub plan_hash: String,
    pub data_hash: String,
    pub scenario_hash: String,
    pub currency: String,
    /// `aligned` or `misaligned`.
    pub verdict: String,
    pub summary: Vec<String>,
    pub revenue: Vec<String>,
    pub margin: Vec<String>,
    pub follow: Vec<String>,
    #[schema(value_type = Object)]
    #[serde(serialize_with = "ordered_any")]
    pub profit_linked: Vec<(String, Vec<String>)>,
    pub cells: Vec<CellBody>,
    pub findings: Vec<FindingBody>,
    #[schema(value_type = Object)]
    #[serde(serialize_with = "ordered_any")]
    pub executive_profit_share: Vec<(String, Option<String>)>,
    pub coverage: CoverageBody,
    pub warnings: Vec<String>,
    pub errors: Vec<RunFailureBody>,
}

impl From<&Alignment> for AlignmentBody {
    fn from(a: &Alignment) -> AlignmentBody {
        AlignmentBody {
            plan: a.plan.clone(),
            plan_hash: a.plan_hash.clone(),
            data_hash: a.data_hash.clone(),
            scenario_hash: a.scenario_hash.clone(),
            currency: a.currency.clone(),
            verdict: a.verdict.to_string(),
            summary: a.summary.clone(),
            revenue: a.revenue.clone(),
            margin: a.margin.clone(),
            follow: a.follow.clone(),
            profit_linked: a.profit_linked.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            cells: a
                .cells
                .iter()
                .map(|c| CellBody {
                    r: c.r.clone(),
                    dm: c.dm.clone(),
                    by_role: c.by_role.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                    total_comp: c.total_comp.clone(),
                    profit_after_comp: c.profit_after_comp.clone(),
                })
                .collect(),
            findings: a
                .findings
                .iter()
                .map(|f| FindingBody {
                    kind: f.kind.to_string(),
                    role: f.role.clone(),
                    axis: f.axis.map(str::to_string),
                    at: f.at.clone(),
                    from: f.from.clone(),
                    to: f.to.clone(),
                    payout_change: f.payout_change.clone(),
                    profit_change: f.profit_change.clone(),
                })
                .collect(),
            executive_profit_share: a.executive_profit_share.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            coverage: CoverageBody {
                effective_quotas: a.coverage.effective_quotas.clone(),
                run_rate_book: a.coverage.run_rate_book.clone(),
                budget_revenue: a.coverage.budget_revenue.clone(),
                ratio: a.coverage.ratio.clone(),
            },
            warnings: a.warnings.clone(),
            errors: a.errors.iter().map(RunFailureBody::from).collect(),
        }
    }
}
