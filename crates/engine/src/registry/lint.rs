//! Plan lint at compile time (SPEC §1, §4): warnings for plans that compile but pull in the
//! wrong direction, read from the components' profiles.
//!
//! - a role mixing new-logo and retention pay without `hybrid: true` (hunters and farmers,
//!   never both);
//! - an executive or leader role with less than half its TI tied to company profit.

use std::sync::Arc;

use rust_decimal::Decimal;

use super::Plan;
use crate::diagnostic::Diagnostic;
use crate::error::Code;
use crate::number::format_percent;
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
                .with_code(Code::LintHybridRole)
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
                    .with_code(Code::LintProfitShare)
                    .with_help("add a `profit_bonus` component or a curve on `company.net_profit`"),
                );
            }
        }
    }
}
