//! The plan file as written (SPEC §4): serde structs the YAML layer fills in, before
//! validation turns them into a `PlanModel` and the registry into a compiled `Plan`.
//!
//! Components stay raw YAML nodes here: the registry hands each to its type, which reads its
//! own keys, so adding a type never touches this file.

use std::borrow::Cow;

use indexmap::IndexMap;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Deserialize;

use crate::calendar::PeriodKind;
use crate::measure::Aggregate;
use crate::spanned::{Num, Spanned};
use crate::yaml::CapturedNode;

/// An Accrue compensation plan: who is paid what, for what, per period. The user guide is in
/// the repository's docs/ folder (docs/plan-format.md).
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct PlanSpec {
    /// The plan's id, shown in every output: lowercase letters, digits, `-` and `_`
    /// (`acme-fy2027`).
    pub plan: Spanned<String>,
    /// The plan's name for people (`Acme FY2027`), used in titles of tables and charts.
    #[serde(default)]
    pub name: Option<String>,
    /// Free text for readers of the plan; the engine does not use it.
    #[serde(default)]
    pub description: Option<String>,
    /// The ISO currency code (default USD); amounts are rounded to its minor unit (cents).
    #[serde(default)]
    pub currency: Option<Spanned<String>>,
    /// The plan year, named by the calendar year it starts in (2027).
    pub year: Spanned<i32>,
    /// How often pay is computed: month (12 periods), quarter (4) or year (1).
    pub periods: Spanned<PeriodKind>,
    /// The month the plan year starts, 1 to 12 (default 1, January); quarters count from it.
    #[serde(default)]
    pub fiscal_start_month: Option<Spanned<u32>>,
    /// Named numbers the plan reuses: write `$name` wherever a number goes (`rate:
    /// $base_rate`); what-if commands change them by name (`--set base_rate=0.06`).
    #[serde(default)]
    #[allow(dead_code)] // read on its own before the rest, so that every `$name` resolves
    pub params: IndexMap<Spanned<String>, Num>,
    /// The company's annual targets and budgets (`budget_revenue`, `budget_net_profit`,
    /// `target_net_profit_pct`, …), read by components as `company.NAME`; per-period values in
    /// company.csv take precedence.
    #[serde(default)]
    pub company: IndexMap<Spanned<String>, Num>,
    /// Every measure given in measures.csv (CSAT, KPIs, scores), with how a window combines
    /// its values: sum, mean, last, min or max.
    #[serde(default)]
    pub measures: IndexMap<Spanned<String>, MeasureSpec>,
    /// The roles by id (`ae`, `vcio`, `ceo`); each payee in roster.csv names one.
    pub roles: IndexMap<Spanned<String>, RoleSpec>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct MeasureSpec {
    /// How a window combines the measure's period values: sum, mean, last, min or max.
    pub aggregate: Spanned<Aggregate>,
    /// For readers of the plan; the engine does not use it.
    #[serde(default)]
    #[allow(dead_code)]
    pub description: Option<String>,
}

/// The role's sales motion: hunters win new logos, farmers and vCIOs keep and grow the book;
/// a role mixing both is a warning unless it says `hybrid: true`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, schemars::JsonSchema, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Motion {
    Hunter,
    Farmer,
    Vcio,
    Leader,
    Executive,
    NonSales,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RoleSpec {
    /// The role's title for people (`Account Executive`); default the id.
    #[serde(default)]
    pub title: Option<String>,
    /// hunter, farmer, vcio, leader, executive or non_sales.
    pub motion: Spanned<Motion>,
    /// Allows a role to mix new-logo and retention pay without a warning.
    #[serde(default)]
    pub hybrid: bool,
    /// Credit the payee with the deals of everyone below them in the roster's manager tree.
    #[serde(default)]
    pub rollup: bool,
    /// The annual variable pay at 100 % (TI), default 0; prorated for part-year payees.
    #[serde(default)]
    pub target_incentive: Option<Num>,
    /// Where the quota comes from and how it is relieved (self goals, relief, blends).
    #[serde(default)]
    pub quota: Option<Spanned<QuotaSpec>>,
    /// The pay components: each is one line on the payee's statement (see
    /// docs/components.md).
    #[serde(default)]
    pub components: Vec<CapturedNode>,
    /// Plan-wide conditions: rules evaluated after the components that cap or multiply the
    /// role's other lines of the period when a measure is below or at least a level.
    #[serde(default)]
    pub conditions: Vec<ConditionSpec>,
}

/// A role-level condition (see docs/plan-format.md, "Plan-wide conditions").
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ConditionSpec {
    /// The condition's statement line, unique among the role's components and conditions.
    pub id: Spanned<String>,
    /// When the condition holds: a measure below, or at least, a level.
    pub when: Spanned<WhenSpec>,
    /// Multiply the lines by this factor when the condition holds (2 doubles them).
    #[serde(default)]
    pub multiplier: Option<Num>,
    /// Cap the lines together when the condition holds: `multiple_of_target` × the role's TI
    /// for the period, or an annual `amount` scaled to the period.
    #[serde(default)]
    pub cap: Option<Spanned<CapSpec>>,
    /// The component ids it acts on; default every component of the role.
    #[serde(default)]
    pub components: Option<Spanned<Vec<Spanned<String>>>>,
}

/// `{measure, of, below | at_least}`: the measure over the statement's period, as a fraction of
/// `of` when given, compared with the level.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct WhenSpec {
    /// A payee, declared or company measure.
    pub measure: Spanned<String>,
    /// What the measure is divided by: `quota`, an annual number, a $param or company.NAME;
    /// without it the measure itself is compared.
    #[serde(default)]
    #[schemars(schema_with = "crate::spec::target_schema_text")]
    pub of: Option<Spanned<String>>,
    /// Holds when the reading is strictly below this level.
    #[serde(default)]
    pub below: Option<Num>,
    /// Holds when the reading is at or above this level.
    #[serde(default)]
    pub at_least: Option<Num>,
}

/// A target written as text (a number, a $param, company.NAME or quota).
pub(crate) fn target_schema_text(_: &mut SchemaGenerator) -> Schema {
    schemars::json_schema!({
        "description": "An annual target: quota, a number, a $parameter or company.NAME.",
        "anyOf": [ { "type": "number" }, { "type": "string" } ]
    })
}

/// Where a payee's annual quota comes from: the roster's `quota`, or their own `self_goal`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Deserialize, schemars::JsonSchema, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum QuotaSource {
    #[default]
    Roster,
    SelfGoal,
}

/// The role's quota rules: self-set goals, proration, relief and blended attainment (see
/// docs/plan-format.md).
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct QuotaSpec {
    /// `roster` (default) or `self_goal`.
    #[serde(default)]
    pub source: Option<Spanned<QuotaSource>>,
    /// With `source: self_goal`, the lowest goal accepted as a fraction of the assigned quota
    /// (default 0.9).
    #[serde(default)]
    pub floor: Option<Num>,
    /// Quota and TI follow the days employed in each period (default true).
    #[serde(default)]
    pub prorate: Option<bool>,
    /// The most relief a payee may get in the year, as a fraction of their annual quota.
    #[serde(default)]
    pub max_relief_pct: Option<Num>,
    /// The blended attainment that curve components with `attainment: relieved` see.
    #[serde(default)]
    pub attainment: Option<Spanned<BlendSpec>>,
    /// Below `below` attainment, quota-based tiered components pay `rate_multiplier` × instead
    /// of applying their threshold.
    #[serde(default)]
    pub soft_floor: Option<SoftFloorSpec>,
    /// Beating one's own self goal multiplies the quota-based tiered components.
    #[serde(default)]
    pub kicker: Option<KickerSpec>,
    /// The share of the annual quota each period carries, one fraction per period in order,
    /// summing to exactly 1 (`[0.2, 0.2, 0.2, 0.4]`); default an even split. Proration and
    /// relief apply to each period's share as they do to an even one. A payee with rows in
    /// quotas.csv has those quotas instead.
    #[serde(default)]
    pub phasing: Option<Spanned<Vec<Num>>>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct BlendSpec {
    #[serde(default)]
    pub revenue_weight: Option<Num>,
    #[serde(default)]
    pub team_weight: Option<Num>,
    #[serde(default)]
    pub scores: Vec<ScoreSpec>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ScoreSpec {
    pub measure: Spanned<String>,
    pub target: Num,
    pub weight: Num,
    #[serde(default)]
    pub cap: Option<Num>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct SoftFloorSpec {
    pub below: Num,
    pub rate_multiplier: Num,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct KickerSpec {
    #[serde(default)]
    pub over_self_goal: Option<Num>,
    pub multiplier: Num,
}

// ---------------------------------------------------------------------------------------
// Keys shared by component types.

/// `id`, `type` and `name`: every component has them.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct CoreSpec {
    /// Unique within the role, `[a-z0-9_-]+`; the line's name in statements (extra lines are
    /// `<id>.<part>`).
    pub id: Spanned<String>,
    /// The component type: a built-in or a plugin from `scripts/components/`.
    #[serde(rename = "type")]
    pub kind: Spanned<String>,
    /// The component's name for people (`New business commission`), used in charts; default
    /// the id made readable.
    #[serde(default)]
    pub name: Option<Spanned<String>>,
}

/// `ytd` (periods 1..k), `period` (period k alone) or `ytd_annual` (periods 1..k against the
/// whole year's quota, TI and targets: advances against the year).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Deserialize, schemars::JsonSchema, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowKind {
    #[default]
    Ytd,
    Period,
    YtdAnnual,
}

/// The window, clawback, modifier, gate and cap keys shared by every payout component.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ShapingSpec {
    /// `ytd` pays the year-to-date value less what was paid; `period` pays the period alone;
    /// `ytd_annual` pays like `ytd` but measures the year so far against the whole year's
    /// quota, TI and targets (advances against the year; tiered and kpi components).
    #[schemars(extend("default" = "ytd"))]
    #[serde(default)]
    pub window: Option<Spanned<WindowKind>>,
    /// Pay a negative amount as a clawback line instead of netting it out later.
    #[schemars(extend("default" = false))]
    #[serde(default)]
    pub allow_negative: bool,
    /// Multiply by the band the measure falls in.
    #[serde(default)]
    pub modifiers: Vec<ModifierSpec>,
    /// Multiply by `else` (default 0) when the measure is below `min` or above `max` (of
    /// `target` when given).
    #[serde(default)]
    pub gates: Vec<GateSpec>,
    /// The most the window pays, after modifiers and gates.
    #[serde(default)]
    pub cap: Option<Spanned<CapSpec>>,
    /// Cancellations later than this many days after close keep their credit.
    #[serde(default)]
    pub clawback_days: Option<Spanned<u32>>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ModifierSpec {
    /// The measure read over the component's window.
    pub measure: Spanned<String>,
    /// Bands by ascending `from`: the highest `from` ≤ the value applies; below all, 1.
    pub bands: Spanned<Vec<BandSpec>>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct BandSpec {
    /// The value from which this band applies.
    pub from: Num,
    /// What the payout is multiplied by.
    pub multiplier: Num,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct GateSpec {
    /// The measure read over the component's window.
    pub measure: Spanned<String>,
    /// The gate passes at or above this (a fraction of `target` when one is given).
    #[serde(default)]
    pub min: Option<Num>,
    /// The gate passes at or below this (a fraction of `target` when one is given): an
    /// upper bound.
    #[serde(default)]
    pub max: Option<Num>,
    /// Read `min` and `max` as fractions of this annual target, scaled to the window like a
    /// component's target: a number, a $param or company.NAME (`company.budget_revenue`).
    #[serde(default)]
    #[schemars(schema_with = "crate::spanned::target_schema")]
    pub target: Option<Spanned<String>>,
    /// The multiplier when the gate does not pass (default 0).
    #[serde(default, rename = "else")]
    pub otherwise: Option<Num>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct CapSpec {
    /// An annual amount, scaled to the window like a target.
    #[serde(default)]
    pub amount: Option<Num>,
    /// A multiple of the component's target (TI × weight, or the target bonus) for the window.
    #[serde(default)]
    pub multiple_of_target: Option<Num>,
}

/// A rate tier: `{from: a_i, rate: r_i}`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct TierSpec {
    /// Attainment (a fraction of quota or target) from which the rate applies; with `per: deal`,
    /// the deal amount in money.
    pub from: Num,
    /// The rate on credited dollars in this tier.
    pub rate: Num,
}

/// A step of a step payout: `{from: 0.9, payout: 0.5}` pays 50 % of the target from 90 %
/// attainment up to the next step, with no straight line between steps.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct StepSpec {
    /// Attainment (a fraction of quota or target) from which this step pays.
    pub from: Num,
    /// The payout factor (a fraction of the target incentive) from here to the next step.
    pub payout: Num,
}

/// A curve point `[attainment, payout factor]`.
pub type PointSpec = (Num, Num);

impl JsonSchema for CapturedNode {
    fn schema_name() -> Cow<'static, str> {
        "Component".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        // Replaced by one variant per component type in [`plan_schema`].
        json_schema!({ "type": "object", "required": ["id", "type"] })
    }
}
