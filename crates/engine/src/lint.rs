//! Plan lint (SPEC §1, §4): warnings for plans that compile but pull in the wrong direction.
//!
//! - a role mixing new-logo and retention pay without `hybrid: true` (hunters and farmers,
//!   never both);
//! - an executive or leader role with less than half its TI tied to company profit;
//! - effective quotas that do not cover the budgeted revenue (needs the roster: see
//!   [`coverage`]).

use std::sync::Arc;

use rust_decimal::Decimal;

use crate::data::Facts;
use crate::diagnostic::Diagnostic;
use crate::number::{format_money_grouped, format_percent};
use crate::plan::Plan;
use crate::spec::{Motion, PlanSpec};

pub(crate) fn lint_plan(plan: &Plan, spec: &PlanSpec, file: &Arc<str>, diagnostics: &mut Vec<Diagnostic>) {
    for role_id in spec.roles.keys() {
        let Some(role) = plan.roles.get(role_id.as_str()) else {
            continue;
        };
        let profiles: Vec<_> = role.components.iter().map(|c| (c.id().to_string(), c.profile())).collect();
        let new_logo: Vec<&str> = profiles.iter().filter(|(_, p)| p.new_logo).map(|(id, _)| id.as_str()).collect();
        let retention: Vec<&str> = profiles.iter().filter(|(_, p)| p.retention).map(|(id, _)| id.as_str()).collect();
        if !role.hybrid && !new_logo.is_empty() && !retention.is_empty() {
            diagnostics.push(
                Diagnostic::warning(format!(
                    "role `{}` pays both new-logo ({}) and retention ({}) business: hunters and farmers, never both",
                    role.id,
                    new_logo.join(", "),
                    retention.join(", ")
                ))
                .at(file, role_id.span)
                .with_help("split the role, or say `hybrid: true` if this is intended"),
            );
        }
        if matches!(role.motion, Motion::Executive | Motion::Leader) {
            let linked = profiles
                .iter()
                .try_fold(Decimal::ZERO, |sum, (_, p)| sum.checked_add(p.profit_linked))
                .unwrap_or(Decimal::MAX);
            let share = linked.checked_div(role.target_incentive).unwrap_or(Decimal::ZERO);
            if share < Decimal::new(5, 1) {
                diagnostics.push(
                    Diagnostic::warning(format!(
                        "{} role `{}` has {} of its target incentive tied to company profit; executives are paid on the bottom line (at least 50 %)",
                        if role.motion == Motion::Executive { "executive" } else { "leader" },
                        role.id,
                        format_percent(share)
                    ))
                    .at(file, role_id.span)
                    .with_help("add a `profit_bonus` component or a curve on `company.net_profit`"),
                );
            }
        }
    }
}

/// Σ effective annual quotas against `company.budget_revenue` (SPEC §6 coverage): a warning
/// when the plans of all roles do not add up to the budget.
pub fn coverage(plan: &Plan, facts: &Facts) -> Option<Diagnostic> {
    let budget = *plan.company.get("budget_revenue")?;
    // A roll-up role's quota is its team's, already counted.
    let total: Decimal = facts
        .payees()
        .iter()
        .filter(|p| plan.roles.get(p.role.as_str()).is_some_and(|r| !r.rollup))
        .map(|p| facts.effective_annual_quota(plan, p))
        .sum();
    (total < budget).then(|| {
        Diagnostic::warning(format!(
            "quotas sum to {} against a revenue budget of {} ({} coverage): the plans do not add up to the goal",
            format_money_grouped(total, plan.minor_units),
            format_money_grouped(budget, plan.minor_units),
            format_percent(total.checked_div(budget).unwrap_or(Decimal::ZERO))
        ))
    })
}

/// Σ goals of one team (or of everyone) for the goal-setting report.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct GoalLine {
    pub team: String,
    pub payees: usize,
    /// Payees who set a goal of their own.
    pub self_set: usize,
    #[serde(with = "rust_decimal::serde::str")]
    pub assigned: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub self_goals: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub effective: Decimal,
}

/// The "aggressive but attainable" check of SPEC §1: Σ self-set goals and Σ effective quotas
/// against `company.budget_revenue`, per team and in total, and the run-rate share.
#[derive(Debug, Clone, serde::Serialize)]
pub struct GoalsReport {
    #[serde(with = "rust_decimal::serde::str_option")]
    pub budget_revenue: Option<Decimal>,
    pub teams: Vec<GoalLine>,
    pub total: GoalLine,
    /// Effective quotas over the budget.
    #[serde(with = "rust_decimal::serde::str_option")]
    pub coverage: Option<Decimal>,
    /// Σ `book_start`: the recurring book the year starts with.
    #[serde(with = "rust_decimal::serde::str")]
    pub run_rate_book: Decimal,
    /// Renewals credited in the data (uncancelled), for comparison with the book.
    #[serde(with = "rust_decimal::serde::str")]
    pub renewals: Decimal,
    /// (effective quotas + run-rate book) over the budget.
    #[serde(with = "rust_decimal::serde::str_option")]
    pub coverage_with_run_rate: Option<Decimal>,
}

/// Builds the goal-setting report. Roll-up roles are left out: their quota is their team's.
pub fn goals(plan: &Plan, facts: &Facts) -> GoalsReport {
    let mut teams: indexmap::IndexMap<String, GoalLine> = indexmap::IndexMap::new();
    let mut total = GoalLine { team: "total".into(), ..GoalLine::default() };
    let mut run_rate_book = Decimal::ZERO;
    let mut renewals = Decimal::ZERO;
    for (index, payee) in facts.payees().iter().enumerate() {
        run_rate_book += payee.book_start.unwrap_or_default();
        renewals += facts
            .deal_totals(index)
            .iter()
            .map(|t| t.amount[crate::measure::DealKind::Renewal as usize])
            .sum::<Decimal>();
        let Some(role) = plan.roles.get(payee.role.as_str()) else { continue };
        if role.rollup {
            continue;
        }
        let team = payee.team.clone().unwrap_or_else(|| "(no team)".into());
        let effective = facts.effective_annual_quota(plan, payee);
        for line in [teams.entry(team.clone()).or_insert_with(|| GoalLine { team, ..GoalLine::default() }), &mut total]
        {
            line.payees += 1;
            line.assigned += payee.quota;
            line.effective += effective;
            if let Some(goal) = payee.self_goal {
                line.self_set += 1;
                line.self_goals += goal;
            }
        }
    }
    let budget = plan.company.get("budget_revenue").copied().filter(|b| !b.is_zero());
    GoalsReport {
        budget_revenue: budget,
        teams: teams.into_values().collect(),
        coverage: budget.and_then(|b| total.effective.checked_div(b)),
        coverage_with_run_rate: budget.and_then(|b| total.effective.checked_add(run_rate_book)?.checked_div(b)),
        total,
        run_rate_book,
        renewals,
    }
}
