//! Lint that needs the data (SPEC §6): effective quotas against the budgeted revenue
//! ([`coverage`]) and the goal-setting report ([`goals`]). Lint of the plan alone runs when
//! it compiles (`registry::lint`).

use rust_decimal::Decimal;

use crate::data::{DataSet, Facts};
use crate::diagnostic::{Diagnostic, Severity, did_you_mean, near_miss};
use crate::error::Code;
use crate::number::{format_money_grouped, format_percent};
use crate::plan::PlanModel;
use crate::registry::ENGINE_COMPANY_READS;

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
    // A plan with no quota anywhere and no role paid against one (executives on a grid or
    // on profit) has nothing to cover the budget with: no warning.
    if total.is_zero() && plan.quota_roles.is_empty() {
        return None;
    }
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

/// Company names between the plan and company.csv (SPEC §6): a company.csv measure that
/// nothing reads and is one or two letters off a name that is read (`net_proft`), at its
/// row; and a `company.NAME` the plan reads that neither the plan's `company:` nor
/// company.csv gives, at the plan line that reads it.
pub fn company_names(plan: &PlanModel, data: &DataSet) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let read: Vec<&str> =
        ENGINE_COMPANY_READS.iter().copied().chain(plan.company_reads.iter().map(|r| r.value.as_str())).collect();
    let in_csv = data.company_names();
    let column = data.columns.get("company.csv").and_then(|c| c.measure);
    let mut seen: Vec<&str> = Vec::new();
    for row in &data.company_rows {
        let name = &*row.measure;
        if seen.contains(&name) || read.contains(&name) || plan.company.contains_key(name) {
            continue;
        }
        seen.push(name);
        let Some(best) = near_miss(name, read.iter().copied()) else { continue };
        let cell = crate::csvfile::Cell { column, ..row.cell };
        let mut warning = data
            .error_at("company.csv", cell, format!("company measure `{name}` is read by nothing in the plan"))
            .with_code(Code::LintCompanyName)
            .with_help(format!("did you mean `{best}`?"));
        warning.severity = Severity::Warning;
        out.push(warning);
    }
    let file: std::sync::Arc<str> = plan.path.display().to_string().into();
    let given = |name: &str| plan.company.contains_key(name) || in_csv.contains(&name);
    // Net profit % is computed from net profit and revenue when not given itself.
    let derived = |name: &str| name == "net_profit_pct" && given("net_profit") && given("revenue");
    let mut reported: Vec<&str> = Vec::new();
    for reading in &plan.company_reads {
        let name = reading.value.as_str();
        if given(name) || derived(name) || reported.contains(&name) {
            continue;
        }
        reported.push(name);
        let given: Vec<&str> = plan.company.keys().map(String::as_str).chain(in_csv.iter().copied()).collect();
        let help = match did_you_mean(name, given.iter().copied()) {
            Some(best) => format!("did you mean `company.{best}`?"),
            None => "give it under `company:` in the plan (an annual value) or in company.csv (per period)".to_string(),
        };
        out.push(
            Diagnostic::warning(format!(
                "`company.{name}` is given neither by the plan's `company:` nor by company.csv: the run will fail where it is read"
            ))
            .at(&file, reading.span)
            .with_code(Code::LintCompanyName)
            .with_help(help),
        );
    }
    out
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
        // The year's renewals: the last running sum.
        renewals += facts
            .deal_prefix(index)
            .last()
            .map_or(Decimal::ZERO, |year| year.amount[crate::measure::DealKind::Renewal as usize]);
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
