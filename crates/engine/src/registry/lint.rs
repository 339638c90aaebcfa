//! Plan lint at compile time (SPEC §1, §4): warnings for plans that compile but pull in the
//! wrong direction, read from the components' profiles.
//!
//! - a role mixing new-logo and retention pay without `hybrid: true` (hunters and farmers,
//!   never both);
//! - an executive or leader role with less than half its TI tied to company profit;
//! - a rate above 1 (100 %), or a multiple of target (a cap, a curve's payout factor) above
//!   10: most likely a percent written as a whole number (`rate: 5` for 5 %);
//! - a `company:` value nothing reads whose name is a near miss of one that is read
//!   (`budget_revnue`).
//!
//! Lint runs only on a plan without errors: a misspelt key is reported as such, not also
//! through what its absence makes another lint see.

use std::sync::Arc;

use indexmap::IndexMap;
use rust_decimal::Decimal;

use super::Plan;
use crate::diagnostic::{Diagnostic, near_miss};
use crate::error::Code;
use crate::number::{NumberStyle, format_percent, parse_decimal};
use crate::spanned::Spanned;
use crate::spec::{Motion, PlanSpec};
use crate::yaml::{Node, NodeKind};

/// Company values the engine reads without the plan naming them: the revenue budget (quota
/// coverage, goals) and the profit bonus's net profit and net profit % against their budget
/// and target.
pub const ENGINE_COMPANY_READS: [&str; 5] =
    ["budget_revenue", "budget_net_profit", "target_net_profit_pct", "net_profit", "net_profit_pct"];

/// Keys whose number is a rate on an amount: above 1 pays more than the amount itself.
const RATE_KEYS: [&str; 3] = ["rate", "expansion_rate", "churn_clawback_rate"];

/// Above this, a multiple of target (a cap's `multiple_of_target`, a curve's payout factor)
/// is almost surely a percent: 10 is 1,000 % of target.
const MAX_PLAUSIBLE_MULTIPLE: Decimal = Decimal::TEN;

/// Every `company.NAME` that the plan's components (any key, plugins too) and attainment
/// blends read, with where.
pub(crate) fn company_reads(spec: &PlanSpec, captured: &[Node]) -> Vec<Spanned<String>> {
    fn walk(node: &Node, out: &mut Vec<Spanned<String>>) {
        match &node.kind {
            NodeKind::Scalar { text, .. } => {
                if let Some(name) = text.strip_prefix("company.") {
                    out.push(Spanned { value: name.to_string(), span: node.span });
                }
            }
            NodeKind::Seq(items) => items.iter().for_each(|item| walk(item, out)),
            NodeKind::Map(entries) => entries.iter().for_each(|(_, value)| walk(value, out)),
        }
    }
    let mut reads = Vec::new();
    for node in captured {
        walk(node, &mut reads);
    }
    for role in spec.roles.values() {
        let scores = role.quota.iter().flat_map(|q| q.value.attainment.iter()).flat_map(|b| &b.value.scores);
        for score in scores {
            if let Some(name) = score.measure.value.strip_prefix("company.") {
                reads.push(Spanned { value: name.to_string(), span: score.measure.span });
            }
        }
    }
    reads
}

/// A rate above 1 or a multiple of target above 10, in any component (the numbers as
/// written, `$name` resolved).
pub(crate) fn lint_scales(
    params: &IndexMap<String, Decimal>,
    captured: &[Node],
    file: &Arc<str>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let number = |node: &Node| -> Option<(Decimal, Option<String>)> {
        let text = node.as_str()?.trim();
        match text.strip_prefix('$') {
            Some(name) => params.get(name).map(|v| (*v, Some(name.to_string()))),
            None => parse_decimal(text, NumberStyle::PlainYaml).ok().map(|v| (v, None)),
        }
    };
    let mut warn = |node: &Node, what: String, why: &str| {
        let Some((value, param)) = number(node) else { return };
        let limit = if what.starts_with("a rate") { Decimal::ONE } else { MAX_PLAUSIBLE_MULTIPLE };
        if value <= limit {
            return;
        }
        let written = match &param {
            Some(name) => format!("`${name}` is {}: ", value.normalize()),
            None => String::new(),
        };
        let fraction = (value / Decimal::ONE_HUNDRED).normalize();
        diagnostics.push(
            Diagnostic::warning(format!("{written}{what} of {} is {}{why}", value.normalize(), format_percent(value)))
                .at(file, node.span)
                .with_code(Code::LintPercentAsWhole)
                .with_help(format!(
                    "did you mean `{fraction}`? A percent is written as a fraction: {fraction} is {}%",
                    value.normalize()
                )),
        );
    };
    fn walk(node: &Node, visit: &mut dyn FnMut(&str, &Node)) {
        match &node.kind {
            NodeKind::Scalar { .. } => {}
            NodeKind::Seq(items) => items.iter().for_each(|item| walk(item, visit)),
            NodeKind::Map(entries) => {
                for (key, value) in entries {
                    if let Some(key) = key.as_str() {
                        visit(key, value);
                    }
                    walk(value, visit);
                }
            }
        }
    }
    for component in captured {
        walk(component, &mut |key, value| {
            if RATE_KEYS.contains(&key) {
                warn(value, "a rate".into(), " of the amount it applies to: rates are fractions (0.05 is 5%)");
            } else if key == "multiple_of_target" {
                warn(value, "a cap".into(), " of the target: `multiple_of_target` is a multiple (1.5 is 150%)");
            } else if key == "curve" {
                if let NodeKind::Seq(points) = &value.kind {
                    for point in points {
                        if let NodeKind::Seq(pair) = &point.kind {
                            if let Some(factor) = pair.get(1) {
                                warn(
                                    factor,
                                    "a payout factor".into(),
                                    " of the target incentive: factors are multiples of TI (1 is 100%)",
                                );
                            }
                        }
                    }
                }
            }
        });
    }
}

/// A `company:` value that nothing reads, whose name is one or two letters off a name the
/// plan or the engine reads: most likely a misspelling that leaves the read one unset.
pub(crate) fn lint_company_keys(
    spec: &PlanSpec,
    reads: &[Spanned<String>],
    file: &Arc<str>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let known: Vec<&str> = ENGINE_COMPANY_READS.iter().copied().chain(reads.iter().map(|r| r.value.as_str())).collect();
    for key in spec.company.keys() {
        if known.contains(&key.value.as_str()) {
            continue;
        }
        let Some(best) = near_miss(&key.value, known.iter().copied()) else { continue };
        let read_at = match reads.iter().find(|r| r.value == best) {
            Some(read) => format!("`company.{best}` is read on line {}", read.span.line),
            None => format!("the engine reads `{best}`"),
        };
        diagnostics.push(
            Diagnostic::warning(format!("company value `{}` is read by nothing in the plan", key.value))
                .at(file, key.span)
                .with_code(Code::LintCompanyName)
                .with_help(format!("did you mean `{best}`? ({read_at})")),
        );
    }
}

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
