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

/// The top of a plan file.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct PlanSpec {
    pub plan: Spanned<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub currency: Option<Spanned<String>>,
    pub year: Spanned<i32>,
    pub periods: Spanned<PeriodKind>,
    #[serde(default)]
    pub fiscal_start_month: Option<Spanned<u32>>,
    /// Read on its own before the rest (every `$name` resolves against it); here so that
    /// `params` is a known key.
    #[serde(default)]
    #[allow(dead_code)]
    pub params: IndexMap<Spanned<String>, Num>,
    #[serde(default)]
    pub company: IndexMap<Spanned<String>, Num>,
    #[serde(default)]
    pub measures: IndexMap<Spanned<String>, MeasureSpec>,
    pub roles: IndexMap<Spanned<String>, RoleSpec>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct MeasureSpec {
    pub aggregate: Spanned<Aggregate>,
    /// For readers of the plan; the engine does not use it.
    #[serde(default)]
    #[allow(dead_code)]
    pub description: Option<String>,
}

/// Sales motion of a role (SPEC §1): hunters and farmers, never both.
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
    #[serde(default)]
    pub title: Option<String>,
    pub motion: Spanned<Motion>,
    #[serde(default)]
    pub hybrid: bool,
    #[serde(default)]
    pub rollup: bool,
    #[serde(default)]
    pub target_incentive: Option<Num>,
    #[serde(default)]
    pub quota: Option<Spanned<QuotaSpec>>,
    #[serde(default)]
    pub components: Vec<CapturedNode>,
}

/// Where a payee's annual quota comes from (SPEC §6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Deserialize, schemars::JsonSchema, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum QuotaSource {
    #[default]
    Roster,
    SelfGoal,
}

/// The role's relieved-quota rules (SPEC §6).
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct QuotaSpec {
    #[serde(default)]
    pub source: Option<Spanned<QuotaSource>>,
    #[serde(default)]
    pub floor: Option<Num>,
    #[serde(default)]
    pub prorate: Option<bool>,
    #[serde(default)]
    pub max_relief_pct: Option<Num>,
    #[serde(default)]
    pub attainment: Option<Spanned<BlendSpec>>,
    #[serde(default)]
    pub soft_floor: Option<SoftFloorSpec>,
    #[serde(default)]
    pub kicker: Option<KickerSpec>,
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

/// `id` and `type`: every component has them.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct CoreSpec {
    /// Unique within the role, `[a-z0-9_-]+`; the line's name in statements (extra lines are
    /// `<id>.<part>`).
    pub id: Spanned<String>,
    /// The component type: a built-in or a plugin from `scripts/components/`.
    #[serde(rename = "type")]
    pub kind: Spanned<String>,
}

/// `ytd` (periods 1..k) or `period` (period k alone).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Deserialize, schemars::JsonSchema, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WindowKind {
    #[default]
    Ytd,
    Period,
}

/// The window, clawback, modifier, gate and cap keys shared by every payout component.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ShapingSpec {
    /// `ytd` pays the year-to-date value less what was paid; `period` pays the period alone.
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
    /// Multiply by `else` (default 0) when the measure is below `min`.
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
    /// The gate passes at or above this.
    pub min: Num,
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
    /// Attainment (a fraction of quota or target) from which the rate applies.
    pub from: Num,
    /// The rate on credited dollars in this tier.
    pub rate: Num,
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
