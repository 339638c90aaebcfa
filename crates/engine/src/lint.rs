//! Plan lint (SPEC §1, §4): warnings for plans that compile but pull in the wrong direction.
//!
//! - a role mixing new-logo and retention pay without `hybrid: true` (hunters and farmers,
//!   never both);
//! - an executive or leader role with less than half its TI tied to company profit;
//! - effective quotas that do not cover the budgeted revenue (needs the roster: see
//!   [`coverage`]).

use std::sync::Arc;

use rust_decimal::Decimal;

use crate::diagnostic::Diagnostic;
use crate::facts::Facts;
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
            let linked: Decimal = profiles.iter().map(|(_, p)| p.profit_linked).sum();
            let share = if role.target_incentive.is_zero() { Decimal::ZERO } else { linked / role.target_incentive };
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
    let total: Decimal = facts.payees().iter().map(|p| facts.effective_annual_quota(plan, p)).sum();
    (total < budget).then(|| {
        Diagnostic::warning(format!(
            "quotas sum to {} against a revenue budget of {} ({} coverage): the plans do not add up to the goal",
            format_money_grouped(total, plan.minor_units),
            format_money_grouped(budget, plan.minor_units),
            format_percent(if budget.is_zero() { Decimal::ZERO } else { total / budget })
        ))
    })
}
