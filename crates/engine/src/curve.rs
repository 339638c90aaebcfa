//! Payout curves: what a role pays over the year as a function of attainment of its quota,
//! swept on a made-up payee who books evenly through the year at full margin. Modifiers and
//! gates are left out (they depend on one payee's CSAT or margin); caps stay in. Finance
//! looks at this before anyone reads a formula.

use rust_decimal::Decimal;

use crate::component::{Design, Detail};
use crate::data::Facts;
use crate::eval::{RunOptions, run_with};
use crate::measure::{DealKind, MeasureRef};
use crate::number::{MAX_INPUT, format_percent};
use crate::plan::{PlanModel, RoleRules};
use crate::registry::Plan;

/// The most points a sweep may have after the first (a chart needs a few dozen).
pub const MAX_CURVE_STEPS: usize = 1000;

/// The highest attainment a sweep may reach: 10 is 1,000 % of quota.
pub const MAX_CURVE_ATTAINMENT: Decimal = Decimal::TEN;

/// How to sweep.
#[derive(Debug, Clone)]
pub struct CurveOptions {
    pub from: Decimal,
    pub to: Decimal,
    /// Points after the first (so `steps + 1` points in all).
    pub steps: usize,
    /// The annual quota of the made-up payee (default 1,000,000).
    pub quota: Decimal,
    /// Only this component (default: every component that depends on quota attainment).
    pub component: Option<String>,
    /// Also sample every breakpoint in range exactly, a hundredth of a percent before it, and
    /// 100 %: what a chart needs to draw a retroactive tier or a threshold as the cliff it
    /// is, and to mark the pay at target. The even steps alone would cut across a cliff.
    pub breakpoints: bool,
}

impl Default for CurveOptions {
    fn default() -> Self {
        CurveOptions {
            from: Decimal::ZERO,
            to: Decimal::TWO,
            steps: 40,
            quota: Decimal::from(1_000_000),
            component: None,
            breakpoints: false,
        }
    }
}

/// One point of the curve: the year's payout per component at an attainment.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CurvePoint {
    #[serde(with = "rust_decimal::serde::str")]
    pub attainment: Decimal,
    #[serde(serialize_with = "amounts")]
    pub amounts: Vec<Decimal>,
    #[serde(with = "rust_decimal::serde::str")]
    pub total: Decimal,
}

fn amounts<S: serde::Serializer>(values: &[Decimal], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(values.iter().map(|v| v.to_string()))
}

/// A role's payout curve.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PayoutCurve {
    pub role: String,
    /// The role's title (its id when the plan gives none).
    pub title: String,
    /// The plan's name and year, for a chart's title.
    pub plan_name: String,
    pub year: i32,
    pub currency: String,
    #[serde(with = "rust_decimal::serde::str")]
    pub quota: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub target_incentive: Decimal,
    pub components: Vec<String>,
    /// Each component's name for people (its `name:`, else the id made readable).
    pub names: Vec<String>,
    /// Each component's tier and curve breakpoints and cap.
    pub designs: Vec<Design>,
    pub points: Vec<CurvePoint>,
    /// Components left out, with why.
    pub skipped: Vec<(String, String)>,
}

/// Sweeps `role`'s payout over attainment.
pub fn payout_curve(plan: &Plan, role_id: &str, options: &CurveOptions) -> Result<PayoutCurve, String> {
    let role = plan.roles.get(role_id).ok_or_else(|| {
        format!(
            "no role `{role_id}` in {} (roles: {})",
            plan.id,
            plan.roles.keys().cloned().collect::<Vec<_>>().join(", ")
        )
    })?;
    if options.steps == 0 || options.steps > MAX_CURVE_STEPS {
        return Err(format!("the sweep takes 1 to {MAX_CURVE_STEPS} steps, not {}", options.steps));
    }
    for (flag, value) in [("from", options.from), ("to", options.to)] {
        if value < Decimal::ZERO || value > MAX_CURVE_ATTAINMENT {
            return Err(format!(
                "--{flag} {}: a sweep runs from 0 to {} of quota ({MAX_CURVE_ATTAINMENT} as a fraction)",
                value.normalize(),
                format_percent(MAX_CURVE_ATTAINMENT)
            ));
        }
    }
    if options.to <= options.from {
        return Err("the sweep needs --to above --from".into());
    }
    if options.quota <= Decimal::ZERO || options.quota > MAX_INPUT {
        return Err("the quota of a payout curve must be above 0 and at most 1,000,000,000,000,000 (10^15)".into());
    }
    if let Some(id) = &options.component {
        if !role.components.iter().any(|c| c.id() == id) {
            return Err(format!("role `{role_id}` has no component `{id}`"));
        }
    }
    let mut components = Vec::new();
    let mut names = Vec::new();
    let mut designs = Vec::new();
    let mut skipped = Vec::new();
    for component in &role.components {
        if options.component.as_deref().is_some_and(|id| id != component.id()) {
            continue;
        }
        match component.design(role.target_incentive) {
            Some(design) => {
                components.push(component.id().to_string());
                names.push(component.display_name());
                designs.push(design);
            }
            None => skipped.push((
                component.id().to_string(),
                format!("a `{}` component does not pay on attainment of the quota", component.type_name()),
            )),
        }
    }
    // Sweep a copy of the plan whose role keeps only the swept components, so that another
    // component's needs (a profit bonus without company data) do not get in the way.
    let mut swept = plan.clone();
    if let Some(role) = swept.roles.get_mut(role_id) {
        let keep: Vec<usize> = role
            .components
            .iter()
            .enumerate()
            .filter(|(_, c)| components.iter().any(|id| id == c.id()))
            .map(|(i, _)| i)
            .collect();
        role.components = keep.iter().map(|&i| role.components[i].clone()).collect();
        role.component_ids = keep.iter().map(|&i| role.component_ids[i].clone()).collect();
    }
    let plan = &swept;
    let n = plan.calendar.n_decimal();
    let step = (options.to - options.from) / Decimal::from(options.steps as u64);
    let run_options = RunOptions { detail: Detail::Amounts, neutral_shaping: true, ..RunOptions::default() };
    let mut attainments: Vec<Decimal> =
        (0..=options.steps).map(|i| options.from + step * Decimal::from(i as u64)).collect();
    if options.breakpoints {
        let just_before = Decimal::new(1, 4);
        let marks = designs.iter().flat_map(|d| d.breakpoints.iter().map(|(a, _)| *a)).chain([Decimal::ONE]);
        for at in marks.filter(|a| options.from <= *a && *a <= options.to) {
            attainments.push(at);
            if at - just_before >= options.from {
                attainments.push(at - just_before);
            }
        }
        attainments.sort();
        attainments.dedup();
    }
    let mut points = Vec::with_capacity(attainments.len());
    for attainment in attainments {
        let per_period = attainment
            .checked_mul(options.quota)
            .and_then(|v| v.checked_div(n))
            .ok_or("the sweep's attainment × quota is too large")?;
        let facts = quota_payee(plan, role, options.quota, per_period);
        let result = run_with(plan, &facts, &run_options);
        if let Some(error) = result.errors.first() {
            return Err(format!("cannot sweep role `{role_id}`: {error}"));
        }
        let mut values = vec![Decimal::ZERO; components.len()];
        for statement in &result.statements {
            for line in &statement.lines {
                if let Some(at) = components.iter().position(|id| *id == *line.component) {
                    values[at] += line.amount;
                }
            }
        }
        let total = values
            .iter()
            .try_fold(Decimal::ZERO, |sum, v| sum.checked_add(*v))
            .ok_or("a sweep's total is too large")?;
        points.push(CurvePoint { attainment, amounts: values, total });
    }
    Ok(PayoutCurve {
        role: role_id.to_string(),
        title: role.title.clone(),
        plan_name: plan.name.clone(),
        year: plan.calendar.year,
        currency: plan.currency.clone(),
        quota: options.quota,
        target_incentive: role.target_incentive,
        components,
        names,
        designs,
        points,
        skipped,
    })
}

/// The made-up payee of a payout curve (and of `explain`'s quota table): `quota`, booking
/// `per_period` of new business at full margin every period, with the scores of the role's
/// attainment blend on target, so that a blend sees the payee's own attainment plus the
/// scores' full weight (not zero for them).
pub(crate) fn quota_payee(plan: &PlanModel, role: &RoleRules, quota: Decimal, per_period: Decimal) -> Facts {
    let (declared, company) = blend_scores_on_target(role, plan.calendar.n_periods());
    let deals = [(DealKind::New, vec![per_period; plan.calendar.n_periods()])];
    Facts::synthetic_driven(plan, &role.id, quota, None, &deals, &declared, &company)
}

/// The declared and company measures of a role's attainment blend, each at its target in
/// every period: what [`Facts::synthetic_driven`] takes.
#[allow(clippy::type_complexity)]
pub(crate) fn blend_scores_on_target(
    role: &RoleRules,
    n_periods: usize,
) -> (Vec<(String, Decimal)>, Vec<(String, Vec<Decimal>)>) {
    let mut declared = Vec::new();
    let mut company = Vec::new();
    for score in role.quota.blend.iter().flat_map(|blend| &blend.scores) {
        match &score.measure {
            MeasureRef::Declared { name, .. } => declared.push((name.clone(), score.target)),
            MeasureRef::Company(name) => company.push((name.clone(), vec![score.target; n_periods])),
            _ => {}
        }
    }
    (declared, company)
}
