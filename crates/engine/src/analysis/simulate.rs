//! `simulate` (SPEC §12): the baseline against a scenario — deltas per payee, role and
//! period, cost of sales, winners and losers — from two totals runs.

use std::collections::HashSet;

use indexmap::IndexMap;
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::json;

use super::scenario::{Change, PlanInput, Scenario, ScenarioError, apply, finished};
use super::{money, ratio};
use crate::component::Detail;
use crate::data::{DataSet, Facts, Scales};
use crate::deadline::Deadline;
use crate::eval::{RunOptions, TotalsRun, run_totals};
use crate::registry::Plan;

/// A plan compiled as written and its data indexed without scales: what every scenario is
/// compared with. Build it once and reuse it across scenarios.
#[derive(Debug)]
pub struct Baseline {
    pub plan: Plan,
    pub facts: Facts,
}

impl Baseline {
    pub fn new(input: &PlanInput, data: &DataSet) -> Result<Baseline, ScenarioError> {
        let plan = input.compile().map_err(|d| ScenarioError::plan("the plan is not valid", d))?;
        let facts = Facts::index(data, &plan, &Scales::new())
            .map_err(|d| ScenarioError::data("the data does not fit the plan", d))?;
        Ok(Baseline { plan, facts })
    }
}

/// Options of `simulate`.
#[derive(Debug, Clone)]
pub struct SimulateOptions {
    /// How many winners and losers to list.
    pub top: usize,
    /// When the two runs must stop ([`ScenarioError::TimeLimit`], [`ScenarioError::Cancelled`]).
    pub deadline: Deadline,
}

impl Default for SimulateOptions {
    fn default() -> Self {
        SimulateOptions { top: 10, deadline: Deadline::none() }
    }
}

/// One change as the result reports it.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChangeReport {
    Set { name: String, from: Option<String>, to: String },
    Scale { selector: String, measure: String, factor: String },
    Overlay { file: String },
    PlanB { file: String, plan: String },
}

/// Totals of one run (or their difference): money strings.
#[derive(Debug, Clone, Serialize)]
pub struct Sums {
    pub total: String,
    pub by_role: IndexMap<String, String>,
    pub by_period: IndexMap<String, String>,
}

/// Total comp over company revenue for the plan year, baseline and scenario.
#[derive(Debug, Clone, Serialize)]
pub struct CostOfSales {
    pub baseline_revenue: Option<String>,
    pub scenario_revenue: Option<String>,
    pub baseline: Option<String>,
    pub scenario: Option<String>,
}

/// One payee's year in both runs.
#[derive(Debug, Clone, Serialize)]
pub struct PayeeDelta {
    pub payee: String,
    pub role: String,
    pub baseline: String,
    pub scenario: String,
    pub delta: String,
    #[serde(skip)]
    pub delta_value: Decimal,
}

/// A payee's error in one of the runs.
#[derive(Debug, Clone, Serialize)]
pub struct RunFailure {
    pub run: &'static str,
    pub payee: Option<String>,
    pub period: Option<String>,
    pub component: Option<String>,
    pub message: String,
}

/// The result of `simulate`, in SPEC §12's JSON shape.
#[derive(Debug, Clone, Serialize)]
pub struct Simulation {
    pub plan: String,
    pub plan_hash: String,
    pub data_hash: String,
    pub scenario_hash: String,
    pub currency: String,
    pub changes: Vec<ChangeReport>,
    pub baseline: Sums,
    pub scenario: Sums,
    pub delta: Sums,
    pub cost_of_sales: CostOfSales,
    pub payees: Vec<PayeeDelta>,
    pub winners: Vec<String>,
    pub losers: Vec<String>,
    pub warnings: Vec<String>,
    pub errors: Vec<RunFailure>,
}

/// Runs the baseline and the scenario and compares them.
pub fn simulate(
    input: &PlanInput,
    data: &DataSet,
    baseline: &Baseline,
    scenario: &Scenario,
    options: &SimulateOptions,
) -> Result<Simulation, ScenarioError> {
    let deadline = &options.deadline;
    let run_options = RunOptions { detail: Detail::Amounts, deadline: deadline.clone(), ..RunOptions::default() };
    let variant = apply(input, data, scenario)?;
    let facts = variant.facts(data, &baseline.facts)?;
    let before = finished(run_totals(&baseline.plan, &baseline.facts, &run_options), deadline)?;
    let after = finished(run_totals(&variant.plan, &facts, &run_options), deadline)?;

    let plan = &baseline.plan;
    let minor = plan.minor_units;
    let mut errors = failures("baseline", &before);
    errors.extend(failures("scenario", &after));
    let failed: HashSet<&str> = errors.iter().filter_map(|e| e.payee.as_deref()).collect();

    // Every role of either plan, every period.
    let mut roles: Vec<String> = plan.roles.keys().cloned().collect();
    roles.extend(variant.plan.roles.keys().filter(|r| !plan.roles.contains_key(*r)).cloned());
    let periods: Vec<String> = plan.calendar.labels().map(str::to_string).collect();
    let mut sums = [Tally::new(&roles, &periods), Tally::new(&roles, &periods)];
    // Each payee's role as a position in `roles`, looked up once per role name.
    let mut role_of: Vec<Option<usize>> = Vec::with_capacity(data.payees().len());
    let mut last: Option<(&str, Option<usize>)> = None;
    for payee in data.payees() {
        let name = payee.role.as_str();
        let position = match last {
            Some((previous, position)) if previous == name => position,
            _ => roles.iter().position(|r| r == name),
        };
        last = Some((name, position));
        role_of.push(position);
    }
    let mut payees = Vec::with_capacity(data.payees().len());
    for (i, payee) in data.payees().iter().enumerate() {
        if !failed.is_empty() && failed.contains(payee.id.as_str()) {
            continue;
        }
        let mut year = [Decimal::ZERO; 2];
        for (run, totals) in [&before, &after].into_iter().enumerate() {
            for k in 0..periods.len() {
                if let Some(amount) = totals.amount(i, k) {
                    year[run] += amount;
                    sums[run].add(role_of[i], k, amount);
                }
            }
        }
        let delta = year[1] - year[0];
        payees.push(PayeeDelta {
            payee: payee.id.to_string(),
            role: payee.role.to_string(),
            baseline: money(year[0], minor),
            scenario: money(year[1], minor),
            delta: money(delta, minor),
            delta_value: delta,
        });
    }
    let mut winners: Vec<&PayeeDelta> = payees.iter().filter(|p| p.delta_value > Decimal::ZERO).collect();
    winners.sort_by_key(|p| std::cmp::Reverse(p.delta_value));
    let mut losers: Vec<&PayeeDelta> = payees.iter().filter(|p| p.delta_value < Decimal::ZERO).collect();
    losers.sort_by_key(|p| p.delta_value);
    let top = |list: Vec<&PayeeDelta>| list.into_iter().take(options.top).map(|p| p.payee.clone()).collect();

    let revenue = [year_revenue(plan, &baseline.facts), year_revenue(&variant.plan, &facts)];
    let cost =
        |run: usize| revenue[run].filter(|r| !r.is_zero()).and_then(|r| sums[run].total.checked_div(r)).map(ratio);
    let mut warnings = before.warnings.clone();
    for warning in &after.warnings {
        if !warnings.contains(warning) {
            warnings.push(warning.clone());
        }
    }
    let options_json = json!({"command": "simulate", "top": options.top});
    Ok(Simulation {
        plan: plan.id.clone(),
        plan_hash: plan.hash.clone(),
        data_hash: data.hash().to_string(),
        scenario_hash: scenario.hash(options_json),
        currency: plan.currency.clone(),
        changes: reports(scenario, plan, variant.plan_b.as_deref()),
        delta: sums[1].minus(&sums[0]).sums(minor),
        baseline: sums[0].sums(minor),
        scenario: sums[1].sums(minor),
        cost_of_sales: CostOfSales {
            baseline_revenue: revenue[0].map(|r| money(r, minor)),
            scenario_revenue: revenue[1].map(|r| money(r, minor)),
            baseline: cost(0),
            scenario: cost(1),
        },
        winners: top(winners),
        losers: top(losers),
        payees,
        warnings,
        errors,
    })
}

impl Simulation {
    /// Whether any payee failed in either run (the command's exit code is then 1).
    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }
}

pub(crate) fn failures(run: &'static str, totals: &TotalsRun) -> Vec<RunFailure> {
    totals
        .errors
        .iter()
        .map(|e| RunFailure {
            run,
            payee: e.payee.clone(),
            period: e.period.clone(),
            component: e.component.clone(),
            message: e.message.clone(),
        })
        .collect()
}

fn reports(scenario: &Scenario, plan: &Plan, plan_b: Option<&str>) -> Vec<ChangeReport> {
    scenario
        .changes()
        .iter()
        .map(|change| match change {
            Change::Set { name, value } => ChangeReport::Set {
                name: name.clone(),
                from: plan.params.get(name).map(|v| v.normalize().to_string()),
                to: value.normalize().to_string(),
            },
            Change::Scale { selector, measure, factor } => ChangeReport::Scale {
                selector: selector.text(),
                measure: measure.clone(),
                factor: factor.normalize().to_string(),
            },
            Change::Overlay { file, .. } => ChangeReport::Overlay { file: file.clone() },
            Change::PlanB { file, .. } => {
                ChangeReport::PlanB { file: file.clone(), plan: plan_b.unwrap_or_default().to_string() }
            }
        })
        .collect()
}

/// Company revenue for the plan year: `company.csv` rows, periods without one at the plan's
/// annual value ÷ N (SPEC §3); `None` when a period has neither.
pub(crate) fn year_revenue(plan: &Plan, facts: &Facts) -> Option<Decimal> {
    let rows = facts.company("revenue");
    let annual = plan.company.get("revenue").copied();
    let n = plan.calendar.n_periods();
    let mut total = Decimal::ZERO;
    let mut fallback = 0u64;
    for k in 0..n {
        match rows.and_then(|r| r[k]) {
            Some(value) => total = total.checked_add(value)?,
            None if annual.is_some() => fallback += 1,
            None => return None,
        }
    }
    if let Some(annual) = annual.filter(|_| fallback > 0) {
        total =
            total.checked_add(annual.checked_mul(Decimal::from(fallback))?.checked_div(plan.calendar.n_decimal())?)?;
    }
    Some(total)
}

/// Sums per role and period of one run, by position in the run's role and period lists.
#[derive(Debug, Clone)]
struct Tally<'a> {
    roles: &'a [String],
    periods: &'a [String],
    total: Decimal,
    by_role: Vec<Decimal>,
    by_period: Vec<Decimal>,
}

impl<'a> Tally<'a> {
    fn new(roles: &'a [String], periods: &'a [String]) -> Tally<'a> {
        Tally {
            roles,
            periods,
            total: Decimal::ZERO,
            by_role: vec![Decimal::ZERO; roles.len()],
            by_period: vec![Decimal::ZERO; periods.len()],
        }
    }

    fn add(&mut self, role: Option<usize>, period: usize, amount: Decimal) {
        self.total += amount;
        if let Some(r) = role {
            self.by_role[r] += amount;
        }
        self.by_period[period] += amount;
    }

    fn minus(&self, other: &Tally<'a>) -> Tally<'a> {
        Tally {
            total: self.total - other.total,
            by_role: self.by_role.iter().zip(&other.by_role).map(|(a, b)| a - b).collect(),
            by_period: self.by_period.iter().zip(&other.by_period).map(|(a, b)| a - b).collect(),
            ..*self
        }
    }

    fn sums(&self, minor: u32) -> Sums {
        Sums {
            total: money(self.total, minor),
            by_role: self.roles.iter().zip(&self.by_role).map(|(r, v)| (r.clone(), money(*v, minor))).collect(),
            by_period: self.periods.iter().zip(&self.by_period).map(|(p, v)| (p.clone(), money(*v, minor))).collect(),
        }
    }
}
