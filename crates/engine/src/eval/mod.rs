//! Evaluation: every payee of the data under a compiled plan, in parallel a chunk at a time
//! and collected in roster order. Three outputs share one payee loop ([`payee`]): explained
//! statements ([`run`], [`run_chunked`], [`StreamedRun`]), statements with amounts only
//! ([`Detail::Amounts`]) and [`run_totals`], which builds no statement at all.

mod payee;
mod quota;
mod stream;

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};

use rayon::prelude::*;
use rust_decimal::Decimal;

use crate::component::{Detail, PayeeState, RunContext};
use crate::data::Facts;
use crate::deadline::{Deadline, Stop};
use crate::error::Code;
use crate::registry::Plan;
use crate::statement::{Name, RunError, RunResult, Statement, Totals, TotalsBuilder};

use payee::{PayeeOutcome, evaluate_payee};
use quota::payee_state;

pub use stream::StreamedRun;

/// Options of a run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub detail: Detail,
    /// Skip modifiers and gates (a payout curve shows the plan's design, not one payee's
    /// CSAT or margin).
    pub neutral_shaping: bool,
    /// When the run must stop (checked between payees and inside script calls): a stopped
    /// run ends with one error of code `run.time_limit` or `run.cancelled` and no payee
    /// after it ([`RunSummary::stopped`]).
    pub deadline: Deadline,
}

/// Evaluates every payee of `facts` under `plan` for the whole plan year, explained.
pub fn run(plan: &Plan, facts: &Facts) -> RunResult {
    run_with(plan, facts, &RunOptions::default())
}

/// Evaluates every payee with `options`, keeping every statement in memory.
pub fn run_with(plan: &Plan, facts: &Facts, options: &RunOptions) -> RunResult {
    let mut statements = Vec::with_capacity(facts.payees().len() * plan.calendar.n_periods());
    let summary = run_chunked(plan, facts, options, None, |chunk| statements.extend(chunk));
    RunResult {
        plan: plan.id.clone(),
        plan_hash: plan.hash.clone(),
        data_hash: facts.hash.clone(),
        currency: plan.currency.clone(),
        minor_units: plan.minor_units,
        periods: plan.calendar.labels().map(str::to_string).collect(),
        statements,
        totals: summary.totals,
        warnings: summary.warnings,
        errors: summary.errors,
    }
}

/// A run's output apart from its statements.
#[derive(Debug, Clone, Default)]
pub struct RunSummary {
    pub totals: Totals,
    pub warnings: Vec<String>,
    pub errors: Vec<RunError>,
}

impl RunSummary {
    /// The error of a run that stopped before its end (its deadline), if it did: its
    /// statements and totals are then those of the payees before the stop only.
    pub fn stopped(&self) -> Option<&RunError> {
        stopped(&self.errors)
    }
}

/// The run-level error of a stopped run among `errors`.
fn stopped(errors: &[RunError]) -> Option<&RunError> {
    errors.iter().find(|e| e.is_stop())
}

/// Why a run stopped, as its error.
fn stop_error(stop: Stop, done: usize, payees: usize) -> RunError {
    RunError {
        payee: None,
        period: None,
        component: None,
        code: stop.code(),
        message: format!(
            "{stop}: stopped with {done} of {payees} payees evaluated; the statements and totals are incomplete"
        ),
    }
}

/// Payees evaluated together (in parallel) before their statements are handed on.
const CHUNK: usize = 4096;

/// Evaluates every payee, handing statements to `emit` in roster order, a chunk of payees
/// at a time, so that a caller can stream them out instead of holding them all. With
/// `period`, only that period's statements are handed on (earlier periods still count for
/// `ytd` windows) and the totals are theirs.
pub fn run_chunked(
    plan: &Plan,
    facts: &Facts,
    options: &RunOptions,
    period: Option<usize>,
    mut emit: impl FnMut(Vec<Statement>),
) -> RunSummary {
    run_payees(plan, facts, options, period, true, |outcomes| {
        let mut chunk = Vec::with_capacity(outcomes.iter().map(|(o, _)| o.statements.len()).sum());
        for (outcome, _) in outcomes {
            let kept = outcome.statements.into_iter().zip(outcome.periods);
            chunk.extend(kept.filter(|(_, (k, _))| period.is_none_or(|only| only == *k)).map(|(s, _)| s));
        }
        emit(chunk);
    })
}

/// An amounts-only run that builds no statements: each payee's total per period, the run's
/// totals, warnings and errors — what what-if, simulation and Monte Carlo runs compare.
#[derive(Debug, Clone)]
pub struct TotalsRun {
    pub periods: Vec<String>,
    /// `amounts[payee × periods + k]`, payees in roster order (`Facts::payees`): `None` where
    /// the payee has no statement (not employed in the period, or an error).
    amounts: Vec<Option<Decimal>>,
    pub totals: Totals,
    pub warnings: Vec<String>,
    pub errors: Vec<RunError>,
}

impl TotalsRun {
    /// What payee `payee` (its index in `Facts::payees`, the roster order) is paid in period
    /// `k`; `None` without a statement.
    pub fn amount(&self, payee: usize, k: usize) -> Option<Decimal> {
        self.amounts.get(payee * self.periods.len() + k).copied().flatten()
    }

    /// The error of a run that stopped before its end, if it did (see [`RunSummary::stopped`]).
    pub fn stopped(&self) -> Option<&RunError> {
        stopped(&self.errors)
    }
}

/// Evaluates every payee for the whole year without building statements ([`TotalsRun`]);
/// the amounts are those of [`run_with`], to the cent.
pub fn run_totals(plan: &Plan, facts: &Facts, options: &RunOptions) -> TotalsRun {
    let n = plan.calendar.n_periods();
    let mut amounts = vec![None; facts.payees().len() * n];
    let summary = run_payees(plan, facts, options, None, false, |outcomes| {
        for (outcome, index) in outcomes {
            for (k, total) in outcome.periods {
                amounts[index * n + k] = Some(total);
            }
        }
    });
    TotalsRun {
        periods: plan.calendar.labels().map(str::to_string).collect(),
        amounts,
        totals: summary.totals,
        warnings: summary.warnings,
        errors: summary.errors,
    }
}

/// The members of each team pool, by roster team and pool id: every payee with a team whose
/// role has a component that is a team pool, in roster order. Empty when no role has one.
fn pool_members(plan: &Plan, facts: &Facts) -> HashMap<String, HashMap<Name, Vec<usize>>> {
    let mut pools: HashMap<String, HashMap<Name, Vec<usize>>> = HashMap::new();
    if !plan.roles.values().flat_map(|r| &r.components).any(|c| c.team_pool().is_some()) {
        return pools;
    }
    for (i, payee) in facts.payees().iter().enumerate() {
        let (Some(team), Some(role)) = (&payee.team, plan.roles.get(payee.role.as_str())) else { continue };
        for (component, id) in role.components.iter().zip(&role.component_ids) {
            if component.team_pool().is_some() {
                pools.entry(team.clone()).or_default().entry(id.clone()).or_default().push(i);
            }
        }
    }
    pools
}

/// The least common multiple of two positive day counts (period lengths: 28 to 366 days, so
/// the lcm of a year's periods stays small).
fn lcm_of(a: i64, b: i64) -> i64 {
    let (mut x, mut y) = (a, b);
    while y != 0 {
        (x, y) = (y, x % y);
    }
    if x == 0 { a.max(b) } else { a / x * b }
}

/// Evaluates every payee a chunk at a time (payees in parallel within a chunk), sums the
/// totals and collects warnings and errors, and hands each chunk's successful outcomes, with
/// their roster index, to `emit` in roster order.
fn run_payees(
    plan: &Plan,
    facts: &Facts,
    options: &RunOptions,
    period: Option<usize>,
    keep_lines: bool,
    mut emit: impl FnMut(Vec<(PayeeOutcome, usize)>),
) -> RunSummary {
    let payees = facts.payees();
    let n = plan.calendar.n_periods();
    let period_days: Vec<i64> = plan.calendar.periods().iter().map(|p| p.days()).collect();
    let mut summary = RunSummary { warnings: facts.warnings.clone(), ..RunSummary::default() };
    summary.warnings.extend(plan.warnings.iter().map(|d| d.to_string()));
    // Teams (same `team` and role) matter only to blends with a team weight.
    let mut teams: HashMap<(String, Name), Vec<usize>> = HashMap::new();
    let blends_teams = plan.roles.values().any(|r| r.quota.blend.as_ref().is_some_and(|b| !b.team_weight.is_zero()));
    // Team pools: the payees of a roster team whose roles have a pool of the same id.
    let pools = pool_members(plan, facts);
    let mut team_states = Vec::new();
    if blends_teams {
        for (i, payee) in payees.iter().enumerate() {
            if let Some(team) = &payee.team {
                teams.entry((team.clone(), payee.role.clone())).or_default().push(i);
            }
        }
    }
    // Team members' quotas and employment are read by blends and pools alike.
    if blends_teams || !pools.is_empty() {
        // A payee whose schedule fails counts with no quota in its team (and gets its own error).
        team_states = (0..payees.len())
            .into_par_iter()
            .map(|i| payee_state(plan, facts, i, &period_days).unwrap_or_else(|_| PayeeState::empty(n)))
            .collect();
    }
    let labels: Vec<Name> = plan.calendar.labels().map(Name::from).collect();
    let selected: Vec<&str> = match period {
        Some(k) => vec![plan.calendar.period(k).label.as_str()],
        None => plan.calendar.labels().collect(),
    };
    let mut totals = TotalsBuilder::new(plan.roles.keys().map(String::as_str), selected.iter().copied());
    let run = RunContext {
        plan: plan.model(),
        facts,
        team_states,
        labels,
        teams,
        pools,
        team_values: Default::default(),
        days_lcm: period_days.iter().fold(1, |lcm, &days| lcm_of(lcm, days)),
        period_days,
        n_decimal: plan.calendar.n_decimal(),
    };

    let deadline = &options.deadline;
    let mut start = 0;
    while start < payees.len() {
        if let Err(stop) = deadline.check() {
            summary.errors.push(stop_error(stop, start, payees.len()));
            break;
        }
        let end = (start + CHUNK).min(payees.len());
        let outcomes: Vec<PayeeOutcome> = (start..end)
            .into_par_iter()
            .map(|i| {
                if deadline.check().is_err() {
                    // Not evaluated: the chunk is dropped below.
                    return PayeeOutcome::default();
                }
                let evaluate = || evaluate_payee(plan, &run, i, options, keep_lines);
                catch_unwind(AssertUnwindSafe(|| deadline.enter(evaluate))).unwrap_or_else(|_| PayeeOutcome {
                    errors: vec![RunError {
                        payee: Some(payees[i].id.to_string()),
                        period: None,
                        component: None,
                        code: Code::EvalInternal,
                        message: "internal error while evaluating this payee (a bug in Accrue: please report it)"
                            .into(),
                    }],
                    ..PayeeOutcome::default()
                })
            })
            .collect();
        if let Err(stop) = deadline.check() {
            // Stopped within the chunk: some of its payees were not evaluated, or stopped in
            // a script call. None of the chunk is kept.
            summary.errors.push(stop_error(stop, start, payees.len()));
            break;
        }
        let mut kept = Vec::with_capacity(outcomes.len());
        for (i, mut outcome) in (start..end).zip(outcomes) {
            summary.warnings.append(&mut outcome.warnings);
            if !outcome.errors.is_empty() {
                summary.errors.append(&mut outcome.errors);
                continue;
            }
            for &(k, total) in &outcome.periods {
                // The totals' periods are the selected ones: all, or just `period`.
                match period {
                    None => totals.add_at(outcome.role, k, total),
                    Some(only) if only == k => totals.add_at(outcome.role, 0, total),
                    Some(_) => {}
                }
            }
            kept.push((outcome, i));
        }
        emit(kept);
        start = end;
    }
    summary.errors.dedup();
    summary.totals = totals.finish(plan.minor_units);
    summary
}
