//! Quota schedules (SPEC §6): each payee's employment, per-period quotas (quotas.csv, the
//! role's phasing or the even split), proration, self-set goal and relief with its yearly cap,
//! computed into a [`PayeeState`] before any component runs.

use rust_decimal::Decimal;

use crate::arith::{self, ArithError};
use crate::component::PayeeState;
use crate::data::Facts;
use crate::number::{format_money_grouped, format_percent, format_ratio};
use crate::plan::{PlanModel, QuotaRules};
use crate::statement::Adjustment;

/// `period_days`: the days of each period of the plan year.
pub(super) fn payee_state(
    plan: &PlanModel,
    facts: &Facts,
    payee_index: usize,
    period_days: &[i64],
) -> Result<PayeeState, ArithError> {
    let default_rules = QuotaRules::default();
    let rules = plan.roles.get(facts.payees()[payee_index].role.as_str()).map_or(&default_rules, |r| &r.quota);
    let mut state = PayeeState::empty(0);
    fill_payee_state(&mut state, plan, facts, payee_index, rules, period_days)?;
    Ok(state)
}

/// Computes a payee's schedule into `state`, reusing its vectors (one per worker thread, so
/// that evaluating a payee allocates nothing for it).
pub(super) fn fill_payee_state(
    state: &mut PayeeState,
    plan: &PlanModel,
    facts: &Facts,
    payee_index: usize,
    rules: &QuotaRules,
    period_days: &[i64],
) -> Result<(), ArithError> {
    let payee = &facts.payees()[payee_index];
    let calendar = &plan.calendar;
    let n = calendar.n_periods();
    let n_dec = calendar.n_decimal();
    // Most payees work the whole year: no dates to compare period by period.
    let whole_year = payee.start_date <= calendar.start() && payee.end_date.is_none_or(|end| end >= calendar.end());
    state.employment.clear();
    state.employment.extend((0..n).map(|k| {
        let days = period_days[k];
        if whole_year {
            return (days, days);
        }
        let employed = calendar.employed_days(k, payee.start_date, payee.end_date);
        if !rules.prorate && employed > 0 { (days, days) } else { (employed, days) }
    }));
    let effective_quota = crate::data::effective_quota(rules, payee);
    state.whole_year = state.employment.iter().all(|(employed, days)| employed == days);
    state.effective_quota = effective_quota;
    state.quota_scaled.clear();
    state.quota_prefix.clear();
    state.adjustments.clear();
    // Each period's part of the year: the payee's quotas.csv amounts, else the role's phasing
    // or the even split.
    let rows = facts.period_quotas(payee_index);
    for k in 0..n {
        let phased = crate::data::spread_scaled(rules, rows, effective_quota, k).ok_or(ArithError::Overflow)?;
        let prorated = state.prorate(phased, k)?;
        state.quota_scaled.push(prorated);
        if state.active(k) && state.employment[k].0 < state.employment[k].1 {
            let (employed, days) = state.employment[k];
            state.adjust(
                k,
                n,
                Adjustment {
                    kind: "proration".into(),
                    factor: Some(arith::div(Decimal::from(employed), Decimal::from(days))?),
                    note: Some(format!("employed {employed} of {days} days: quota and target incentive prorated")),
                    ..Adjustment::default()
                },
            );
        }
    }
    if let Some(goal) = payee.self_goal.filter(|_| rules.source == crate::spec::QuotaSource::SelfGoal) {
        let floor = arith::mul(rules.floor, payee.quota)?;
        let note = if goal >= floor {
            format!(
                "self-set goal {} used (floor {} × assigned {} = {})",
                format_money_grouped(goal, 2),
                format_ratio(rules.floor),
                format_money_grouped(payee.quota, 2),
                format_money_grouped(floor, 2)
            )
        } else {
            format!(
                "self-set goal {} is below the floor {} × assigned {}: quota {}",
                format_money_grouped(goal, 2),
                format_ratio(rules.floor),
                format_money_grouped(payee.quota, 2),
                format_money_grouped(floor, 2)
            )
        };
        let active: Vec<usize> = (0..n).filter(|&k| state.active(k)).collect();
        for k in active {
            state.adjust(
                k,
                n,
                Adjustment {
                    kind: "self_goal".into(),
                    amount: Some(effective_quota),
                    asked: Some(goal),
                    note: Some(note.clone()),
                    ..Adjustment::default()
                },
            );
        }
    }

    // Relief, in period order then file order, up to the yearly cap (SPEC §6).
    let mut entries: Vec<_> = facts.relief(payee_index).iter().collect();
    entries.sort_by_key(|e| (e.period, e.line));
    let cap = rules.max_relief_pct.map(|pct| arith::mul(pct, effective_quota)).transpose()?;
    let mut granted_total = Decimal::ZERO;
    let before_relief = if entries.is_empty() { Vec::new() } else { state.quota_scaled.clone() };
    for entry in entries {
        let k = entry.period;
        // Work in N × dollars so that quotas stay exact; report in dollars.
        let asked_scaled = match (entry.amount, entry.fraction) {
            (Some(amount), _) => arith::mul(amount, n_dec)?,
            (_, Some(fraction)) => arith::mul(fraction, before_relief[k])?,
            _ => Decimal::ZERO,
        };
        let mut granted_scaled = asked_scaled.min(state.quota_scaled[k]);
        let mut notes = Vec::new();
        if granted_scaled < asked_scaled {
            notes.push("quota for the period cannot go below 0".to_string());
        }
        if let Some(cap) = cap {
            let remaining_scaled = arith::mul(cap - granted_total, n_dec)?.max(Decimal::ZERO);
            if granted_scaled > remaining_scaled {
                granted_scaled = remaining_scaled;
                notes.push(format!(
                    "yearly relief cap max_relief_pct {} = {} reached",
                    format_percent(rules.max_relief_pct.unwrap_or_default()),
                    format_money_grouped(cap, 2)
                ));
            }
        }
        state.quota_scaled[k] -= granted_scaled;
        let granted = arith::div(granted_scaled, n_dec)?;
        granted_total += granted;
        let asked = arith::div(asked_scaled, n_dec)?;
        let how = match (entry.amount, entry.fraction) {
            (_, Some(fraction)) => format!("{} of the period quota", format_percent(fraction)),
            _ => "amount".to_string(),
        };
        let mut note = format!("{} relief ({how}): asked {}, granted {}", entry.kind, money(asked), money(granted));
        if !notes.is_empty() {
            note.push_str(&format!(" — {}", notes.join("; ")));
        }
        state.adjust(
            k,
            n,
            Adjustment {
                kind: "relief".into(),
                amount: Some(granted),
                asked: Some(asked),
                reason: Some(entry.reason.clone()),
                approver: Some(entry.approved_by.clone()),
                note: Some(note),
                ..Adjustment::default()
            },
        );
    }
    let mut running = Decimal::ZERO;
    for k in 0..n {
        running = arith::add(running, state.quota_scaled[k])?;
        state.quota_prefix.push(running);
    }
    Ok(())
}

fn money(value: Decimal) -> String {
    format_money_grouped(value, 2)
}
