//! One payee's year: each period's components in stage order, SPEC §3's window rule —
//! `round(V_k) − paid_before` for `ytd`, `round(V_k)` for `period`, negatives floored unless
//! `allow_negative` — and the statement lines, or only the totals.

use std::cell::RefCell;
use std::collections::BTreeSet;

use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::RunOptions;
use super::quota::fill_payee_state;
use crate::arith::{ArithError, Frac};
use crate::component::{Component, Detail, EvalContext, Outcome, PayeeState, RunContext, Stage};
use crate::data::Payee;
use crate::error::Code;
use crate::number::{format_money_grouped, round_money};
use crate::registry::{Plan, Role};
use crate::spec::WindowKind;
use crate::statement::{Line, Name, RunError, Statement};

#[derive(Default)]
pub(super) struct PayeeOutcome {
    /// Statements, when the run keeps them.
    pub(super) statements: Vec<Statement>,
    /// The period index and total of each statement (kept or not).
    pub(super) periods: Vec<(usize, Decimal)>,
    /// The payee's role, as its index in the plan's roles.
    pub(super) role: usize,
    pub(super) errors: Vec<RunError>,
    pub(super) warnings: Vec<String>,
}

/// Evaluates one payee for the whole year. With `keep_lines` off (a totals run) no line or
/// statement is built: only each period's total.
pub(super) fn evaluate_payee(
    plan: &Plan,
    run: &RunContext<'_>,
    index: usize,
    options: &RunOptions,
    keep_lines: bool,
) -> PayeeOutcome {
    let payee = &run.facts.payees()[index];
    let Some((role_index, _, role)) = plan.roles.get_full(payee.role.as_str()) else {
        return PayeeOutcome::default();
    };
    thread_local! {
        // The quota schedule's vectors, reused from payee to payee on each worker thread.
        static STATE: RefCell<PayeeState> = RefCell::new(PayeeState::empty(0));
    }
    STATE.with(|cell| {
        let mut fresh = PayeeState::empty(0);
        let mut held = cell.try_borrow_mut();
        let state = match held.as_deref_mut() {
            Ok(state) => state,
            Err(_) => &mut fresh,
        };
        match fill_payee_state(state, run.plan, run.facts, index, &role.quota, &run.period_days) {
            Ok(()) => evaluate_with_state(run, index, (role_index, role), options, keep_lines, state),
            Err(err) => {
                let error = RunError {
                    payee: Some(payee.id.to_string()),
                    period: None,
                    component: None,
                    code: Code::EvalArithmetic,
                    message: format!("quota schedule: {err}"),
                };
                PayeeOutcome { errors: vec![error], ..PayeeOutcome::default() }
            }
        }
    })
}

/// [`evaluate_payee`] once the payee's quota schedule is known.
fn evaluate_with_state(
    run: &RunContext<'_>,
    index: usize,
    (role_index, role): (usize, &Role),
    options: &RunOptions,
    keep_lines: bool,
    state: &PayeeState,
) -> PayeeOutcome {
    let detail = if keep_lines { options.detail } else { Detail::Amounts };
    let plan = run.plan;
    let payee = &run.facts.payees()[index];
    let warnings = RefCell::new(BTreeSet::new());
    let mut errors = Vec::new();
    let mut statements = Vec::with_capacity(if keep_lines { plan.calendar.n_periods() } else { 0 });
    let mut periods = Vec::with_capacity(plan.calendar.n_periods());
    let minor = plan.minor_units;
    let (payee_id, payee_name, role_id) = (payee.id.clone(), payee.name.clone(), payee.role.clone());
    let component_ids = &role.component_ids;
    // What each component paid so far this year, by its index in the role.
    let mut paid: Vec<Decimal> = vec![Decimal::ZERO; role.components.len()];
    let mut earnings_history: Vec<Decimal> = Vec::new();
    // Most roles have no draw: skip the second pass over components when there is none.
    let has_guarantee = role.components.iter().any(|c| c.stage() == Stage::Guarantee);
    let has_condition = role.components.iter().any(|c| c.stage() == Stage::Condition);
    let stages: &[Stage] = match (has_condition, has_guarantee) {
        (false, false) => &[Stage::Earnings],
        (false, true) => &[Stage::Earnings, Stage::Guarantee],
        (true, false) => &[Stage::Earnings, Stage::Condition],
        (true, true) => &[Stage::Earnings, Stage::Condition, Stage::Guarantee],
    };
    // The period's main line amounts by component id, kept only for conditions to read.
    let mut period_lines: Vec<(Name, Decimal)> = Vec::new();
    // The period quota shown on statements, divided out once per distinct value.
    let mut shown_quota: Option<(Decimal, Decimal)> = None;

    for period in 0..plan.calendar.n_periods() {
        if !state.active(period) {
            continue;
        }
        let label = &run.labels[period];
        // Lines with their component's place in the role, so that a draw (evaluated after the
        // earnings it guarantees) still appears where the plan declares it.
        let mut lines: Vec<Line> = Vec::with_capacity(if keep_lines { role.components.len() } else { 0 });
        let mut slots: Vec<usize> = Vec::new();
        let mut earnings = Decimal::ZERO;
        // Σ of the period's line amounts so far; `None` once it overflowed.
        let mut sum = Some(Decimal::ZERO);
        let reported = RefCell::new(Vec::new());
        period_lines.clear();
        for &stage in stages {
            if stage == Stage::Guarantee {
                earnings = sum.unwrap_or_else(|| {
                    errors.push(overflow_error(payee, label, "earnings"));
                    Decimal::ZERO
                });
            }
            for (slot, component) in role.components.iter().enumerate().filter(|(_, c)| c.stage() == stage) {
                let paid_before = paid[slot];
                let cx = EvalContext {
                    run,
                    payee: index,
                    state,
                    period,
                    role,
                    paid_before,
                    earnings,
                    earnings_history: &earnings_history,
                    period_lines: &period_lines,
                    warnings: &warnings,
                    adjustments: &reported,
                    detail,
                    neutral_shaping: options.neutral_shaping,
                };
                match component.evaluate(&cx) {
                    Ok(mut outcome) => {
                        let sublines = std::mem::take(&mut outcome.sublines);
                        let Some(amount) = line_amount(component.as_ref(), outcome.value, paid_before, minor) else {
                            errors.push(overflow_error(payee, label, component.id()));
                            continue;
                        };
                        paid[slot] = paid[slot].checked_add(amount).unwrap_or_else(|| {
                            errors.push(overflow_error(payee, label, component.id()));
                            Decimal::ZERO
                        });
                        sum = sum.and_then(|s| s.checked_add(amount));
                        if has_condition {
                            period_lines.push((component_ids[slot].clone(), amount));
                        }
                        if keep_lines {
                            let id = component_ids[slot].clone();
                            lines.push(main_line(component.as_ref(), id, outcome, amount, paid_before, minor, detail));
                            if has_guarantee {
                                slots.push(slot);
                            }
                        }
                        for sub in sublines {
                            let Some(amount) = round_exact(sub.value, minor) else {
                                errors.push(overflow_error(payee, label, component.id()));
                                continue;
                            };
                            if amount.is_zero() {
                                continue;
                            }
                            sum = sum.and_then(|s| s.checked_add(amount));
                            if !keep_lines {
                                continue;
                            }
                            let id = Name::from(format!("{}.{}", component.id(), sub.part));
                            let explained = detail == Detail::Full;
                            let line = Line {
                                component: id,
                                amount,
                                attainment: None,
                                explain: if explained { sub.explain } else { String::new() },
                                trace: if explained { sub.trace } else { trace_none() },
                            };
                            lines.push(line);
                            if has_guarantee {
                                slots.push(slot);
                            }
                        }
                    }
                    Err(err) => errors.push(RunError {
                        payee: Some(payee.id.to_string()),
                        period: Some(label.to_string()),
                        component: Some(component.id().to_string()),
                        code: err.code(),
                        message: err.to_string(),
                    }),
                }
            }
        }
        if has_guarantee {
            let mut placed: Vec<(usize, Line)> = slots.drain(..).zip(lines).collect();
            placed.sort_by_key(|(slot, _)| *slot);
            lines = placed.into_iter().map(|(_, line)| line).collect();
        }
        let total = sum.unwrap_or_else(|| {
            errors.push(overflow_error(payee, label, "total"));
            Decimal::ZERO
        });
        // Lines are whole minor units already: the sum needs rounding only if it is not.
        let total = if total.scale() == minor { total } else { round_money(total, minor) };
        if has_guarantee {
            earnings_history.push(earnings);
        }
        periods.push((period, total));
        if !keep_lines {
            continue;
        }
        statements.push(Statement {
            payee: payee_id.clone(),
            name: payee_name.clone(),
            role: role_id.clone(),
            period: label.clone(),
            quota: match shown_quota {
                Some((scaled, shown)) if scaled == state.quota_scaled[period] => shown,
                _ => {
                    let scaled = state.quota_scaled[period];
                    let shown =
                        round_money(Frac { num: scaled, den: run.n_decimal }.value().unwrap_or_default(), minor);
                    shown_quota = Some((scaled, shown));
                    shown
                }
            },
            adjustments: {
                let reported = reported.into_inner();
                let planned = state.adjustments(period);
                if planned.is_empty() {
                    reported
                } else {
                    let mut all = planned.to_vec();
                    all.extend(reported);
                    all
                }
            },
            lines,
            total,
        });
    }
    PayeeOutcome {
        statements,
        periods,
        role: role_index,
        errors,
        warnings: warnings.into_inner().into_iter().collect(),
    }
}

fn overflow_error(payee: &Payee, period: &Name, what: &str) -> RunError {
    RunError {
        payee: Some(payee.id.to_string()),
        period: Some(period.to_string()),
        component: Some(what.to_string()),
        code: Code::EvalArithmetic,
        message: ArithError::Overflow.to_string(),
    }
}

/// The trace of a line in an amounts-only run.
fn trace_none() -> serde_json::Map<String, Value> {
    serde_json::Map::new()
}

/// A component's line amount: the window rule of SPEC §3 — `round(V_k) − paid_before` for
/// `ytd`, `round(V_k)` for `period`, a negative floored at 0 unless `allow_negative`.
/// `None` when the amount cannot be held to the minor unit or the subtraction overflows: the
/// payee's error, never a panic or a lost cent.
fn line_amount(component: &dyn Component, value: Decimal, paid_before: Decimal, minor: u32) -> Option<Decimal> {
    let rounded = round_exact(value, minor)?;
    let due = match component.window() {
        WindowKind::Ytd | WindowKind::YtdAnnual => rounded.checked_sub(paid_before)?,
        WindowKind::Period => rounded,
    };
    if due.is_zero() || (due.is_sign_negative() && !component.allow_negative()) {
        // `rounded` and `paid_before` are whole minor units already: only a zero needs its places.
        Some(round_money(Decimal::ZERO, minor))
    } else {
        Some(due)
    }
}

/// [`round_money`], or `None` when the value is too large to carry the minor unit's places
/// (a 96-bit mantissa with 28 digits before the point has no room for cents).
fn round_exact(value: Decimal, minor: u32) -> Option<Decimal> {
    let rounded = round_money(value, minor);
    (rounded.scale() == minor).then_some(rounded)
}

/// A component's line: its `amount` ([`line_amount`]) with the explanation of how the window
/// rule gave it.
fn main_line(
    component: &dyn Component,
    id: Name,
    outcome: Outcome,
    amount: Decimal,
    paid_before: Decimal,
    minor: u32,
    detail: Detail,
) -> Line {
    if detail != Detail::Full {
        // Amounts only, whatever the component filled in.
        return Line { component: id, amount, attainment: None, explain: String::new(), trace: trace_none() };
    }
    let rounded = round_money(outcome.value, minor);
    let mut trace = outcome.trace.into_map();
    let mut explain = outcome.explain;
    trace.insert("window_value".into(), json!(rounded.to_string()));
    let due = match component.window() {
        WindowKind::Ytd | WindowKind::YtdAnnual => {
            trace.insert("paid_before".into(), json!(round_money(paid_before, minor).to_string()));
            if !paid_before.is_zero() {
                explain.push_str(&format!("; year to date {} less {} paid before", money(rounded), money(paid_before)));
            }
            rounded - paid_before
        }
        WindowKind::Period => rounded,
    };
    if due < Decimal::ZERO && !component.allow_negative() {
        trace.insert("floored".into(), json!(round_money(due, minor).to_string()));
        explain.push_str(&format!("; {} not clawed back now (allow_negative is off)", money(due)));
    }
    Line { component: id, amount, attainment: outcome.attainment, explain, trace }
}

fn money(value: Decimal) -> String {
    format_money_grouped(value, 2)
}
