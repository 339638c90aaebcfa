//! Lint that needs the data (SPEC §6): effective quotas against the budgeted revenue
//! ([`coverage`]) and the goal-setting report ([`goals`]). Lint of the plan alone runs when
//! it compiles (`registry::lint`).

use rust_decimal::Decimal;

use crate::data::Facts;
use crate::diagnostic::Diagnostic;
use crate::error::Code;
use crate::number::{format_money_grouped, format_percent};
use crate::plan::PlanModel;

/// Σ effective annual quotas against `company.budget_revenue` (SPEC §6 coverage): a warning
/// when the plans of all roles do not add up to the budget.
pub fn coverage(plan: &PlanModel, facts: &Facts) -> Option<Diagnostic> {
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
        .with_code(Code::LintCoverage)
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
pub fn goals(plan: &PlanModel, facts: &Facts) -> GoalsReport {
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
