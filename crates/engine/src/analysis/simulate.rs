//! `simulate` (SPEC §12): the baseline against a scenario — deltas per payee, role and
//! period, cost of sales, winners and losers — from two totals runs.

use std::collections::HashSet;

use indexmap::IndexMap;
use rayon::prelude::*;
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::json;

use super::scenario::{Change, PlanInput, Scenario, ScenarioError, apply, finished};
use super::{Money, money, ratio};
use crate::component::Detail;
use crate::data::{DataSet, Facts, Scales};
use crate::deadline::Deadline;
use crate::eval::{RunOptions, TotalsRun, run_totals};
use crate::registry::Plan;
use crate::statement::Name;

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

/// One payee's year in both runs: the roster's shared names and exact amounts, written as
/// §12's strings only when serialized.
#[derive(Debug, Clone, Serialize)]
pub struct PayeeDelta {
    pub payee: Name,
    pub role: Name,
    pub baseline: Money,
    pub scenario: Money,
    pub delta: Money,
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
    // The two runs at once (each also spreads its payees over the pool): the scenario's
    // re-index, when it needs one, overlaps the baseline's run, and neither run waits for the
    // other's last payees.
    let (before, scenario_run) = rayon::join(
        || run_totals(&baseline.plan, &baseline.facts, &run_options),
        || {
            let facts = variant.facts(data, &baseline.facts)?;
            let after = run_totals(&variant.plan, &facts, &run_options);
            Ok::<_, ScenarioError>((after, facts))
        },
    );
    let (after, facts) = scenario_run?;
    let before = finished(before, deadline)?;
    let after = finished(after, deadline)?;

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
    // Payees a block at a time in parallel, each block with its own sums; the blocks are
    // joined in roster order, and the sums are exact, so the order of adding does not matter.
    const BLOCK: usize = 2048;
    let blocks: Vec<(Vec<PayeeDelta>, [Tally; 2])> = data
        .payees()
        .par_chunks(BLOCK)
        .enumerate()
        .map(|(b, block)| {
            let mut part = [Tally::new(&roles, &periods), Tally::new(&roles, &periods)];
            let mut deltas = Vec::with_capacity(block.len());
            for (j, payee) in block.iter().enumerate() {
                let i = b * BLOCK + j;
                if !failed.is_empty() && failed.contains(payee.id.as_str()) {
                    continue;
                }
                let mut year = [Decimal::ZERO; 2];
                for (run, totals) in [&before, &after].into_iter().enumerate() {
                    let tally = &mut part[run];
                    for k in 0..periods.len() {
                        if let Some(amount) = totals.amount(i, k) {
                            year[run] += amount;
                            tally.by_period[k] += amount;
                        }
                    }
                    tally.add_year(role_of[i], year[run]);
                }
                deltas.push(PayeeDelta {
                    payee: payee.id.clone(),
                    role: payee.role.clone(),
                    baseline: Money::new(year[0], minor),
                    scenario: Money::new(year[1], minor),
                    delta: Money::new(year[1] - year[0], minor),
                });
            }
            (deltas, part)
        })
        .collect();
    let mut payees = Vec::with_capacity(data.payees().len());
    for (deltas, part) in blocks {
        payees.extend(deltas);
        for (sum, block) in sums.iter_mut().zip(&part) {
            sum.merge(block);
        }
    }
    let winners = top(&payees, options.top, |delta| delta > Decimal::ZERO, std::cmp::Ordering::reverse);
    let losers = top(&payees, options.top, |delta| delta < Decimal::ZERO, |order| order);

    let revenue = [year_revenue(plan, &baseline.facts), year_revenue(&variant.plan, &facts)];
    let cost =
        |run: usize| revenue[run].filter(|r| !r.is_zero()).and_then(|r| sums[run].total.checked_div(r)).map(ratio);
    // The baseline's warnings, then the scenario's new ones (a data set can warn of every
    // payee: a set, not a scan of the list for each).
    let mut seen: HashSet<&str> = before.warnings.iter().map(String::as_str).collect();
    let mut warnings = before.warnings.clone();
    warnings.extend(after.warnings.iter().filter(|w| seen.insert(w.as_str())).cloned());
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
        winners,
        losers,
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

/// The ids of the first `n` payees whose delta `keep` accepts, largest first for
/// `Ordering::reverse` (smallest first for the identity), ties in roster order: what a stable
/// sort of all of them would list first, without sorting them all.
fn top(
    payees: &[PayeeDelta],
    n: usize,
    keep: impl Fn(Decimal) -> bool,
    direction: fn(std::cmp::Ordering) -> std::cmp::Ordering,
) -> Vec<String> {
    let mut list: Vec<(usize, Decimal)> =
        payees.iter().enumerate().filter(|(_, p)| keep(p.delta.value)).map(|(i, p)| (i, p.delta.value)).collect();
    let order = |a: &(usize, Decimal), b: &(usize, Decimal)| direction(a.1.cmp(&b.1)).then(a.0.cmp(&b.0));
    if n < list.len() {
        if n == 0 {
            return Vec::new();
        }
        list.select_nth_unstable_by(n - 1, order);
        list.truncate(n);
    }
    list.sort_unstable_by(order);
    list.into_iter().map(|(i, _)| payees[i].payee.to_string()).collect()
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

    /// Adds a payee's year (its periods are added to `by_period` one by one).
    fn add_year(&mut self, role: Option<usize>, year: Decimal) {
        self.total += year;
        if let Some(r) = role {
            self.by_role[r] += year;
        }
    }

    /// Adds another block's sums (same roles and periods).
    fn merge(&mut self, other: &Tally<'a>) {
        self.total += other.total;
        self.by_role.iter_mut().zip(&other.by_role).for_each(|(a, b)| *a += b);
        self.by_period.iter_mut().zip(&other.by_period).for_each(|(a, b)| *a += b);
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

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn delta(i: usize, cents: i64) -> PayeeDelta {
        let zero = Money::new(Decimal::ZERO, 2);
        PayeeDelta {
            payee: Name::from(format!("p{i}")),
            role: Name::from("ae"),
            baseline: zero,
            scenario: zero,
            delta: Money::new(Decimal::new(cents, 2), 2),
        }
    }

    proptest! {
        /// The partial selection lists what a stable sort of every winner (loser) lists first:
        /// ties in roster order.
        #[test]
        fn top_is_the_head_of_a_stable_sort(cents in prop::collection::vec(-5i64..5, 0..40), n in 0usize..12) {
            let payees: Vec<PayeeDelta> = cents.iter().enumerate().map(|(i, c)| delta(i, *c)).collect();
            let mut winners: Vec<&PayeeDelta> = payees.iter().filter(|p| p.delta.value > Decimal::ZERO).collect();
            winners.sort_by_key(|p| std::cmp::Reverse(p.delta.value));
            let mut losers: Vec<&PayeeDelta> = payees.iter().filter(|p| p.delta.value < Decimal::ZERO).collect();
            losers.sort_by_key(|p| p.delta.value);
            let head = |list: Vec<&PayeeDelta>| list.iter().take(n).map(|p| p.payee.to_string()).collect::<Vec<_>>();
            prop_assert_eq!(top(&payees, n, |d| d > Decimal::ZERO, std::cmp::Ordering::reverse), head(winners));
            prop_assert_eq!(top(&payees, n, |d| d < Decimal::ZERO, |o| o), head(losers));
        }
    }

    #[test]
    fn money_is_written_as_section_12_writes_it() {
        for (value, minor, text) in
            [("2034.565", 2, "2034.57"), ("-0.004", 2, "0.00"), ("-1.5", 0, "-2"), ("7", 3, "7.000")]
        {
            let value: Decimal = value.parse().unwrap();
            let amount = Money::new(value, minor);
            assert_eq!(amount.to_string(), text);
            assert_eq!(amount.to_string(), money(value, minor));
            assert_eq!(serde_json::to_string(&amount).unwrap(), format!("\"{text}\""));
        }
    }
}
