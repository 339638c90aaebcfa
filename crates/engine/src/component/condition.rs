//! Plan-wide conditions: a role's `conditions:` — rules evaluated after its components that
//! cap or multiply the period's lines of the components they name when a measure is below,
//! or at least, a level ("bonus capped at 100 % of TI if revenue is below plan"; "revenue
//! above 110 % of plan doubles every bonus of that quarter"). Each is its own statement line,
//! so the components' lines stay as computed and the condition's effect is explained apart.

use std::cmp::Ordering;
use std::sync::Arc;

use rust_decimal::Decimal;
use serde_json::json;

use super::grid::{Base, build_base, read, reading_text};
use super::{
    BuildContext, Cap, Component, Core, DescribeContext, Description, Driver, Outcome, Stage, dec, frac_value,
};
use super::{EvalContext, EvalError};
use crate::arith::{self, Frac};
use crate::measure::MeasureRef;
use crate::number::{format_money_grouped, format_percent, format_ratio};
use crate::spec::{ConditionSpec, WindowKind};

#[derive(Debug, Clone, Copy)]
enum Effect {
    Multiplier(Decimal),
    Cap(Cap),
}

#[derive(Debug)]
struct Condition {
    core: Core,
    measure: MeasureRef,
    base: Base,
    level: Decimal,
    /// Holds when the reading is below the level (else when at least the level).
    below: bool,
    effect: Effect,
    /// The component ids whose period lines it acts on.
    components: Vec<String>,
}

/// Builds the role's conditions; `component_ids` are the role's components (the default
/// list, and the ids a condition may name). Problems are reported into `cx`.
pub(crate) fn build_conditions(
    specs: &[ConditionSpec],
    component_ids: &[String],
    cx: &mut BuildContext<'_>,
) -> Vec<Arc<dyn Component>> {
    let mut out: Vec<Arc<dyn Component>> = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    for spec in specs {
        let errors_before = cx.diagnostics.len();
        let id = &spec.id;
        if component_ids.contains(&id.value) || seen.contains(&id.value) {
            cx.error(id.span, format!("`{}` is already the id of a component or condition of this role", id.value));
        }
        seen.push(id.value.clone());
        let measure = cx.measure(&spec.when.measure);
        let base = build_base(spec.when.of.as_ref(), cx);
        let level = match (&spec.when.below, &spec.when.at_least) {
            (Some(below), None) => Some((below.value, true)),
            (None, Some(at_least)) => Some((at_least.value, false)),
            _ => {
                cx.error(spec.when.span, "`when` needs exactly one of `below` and `at_least`");
                None
            }
        };
        let effect = match (&spec.multiplier, &spec.cap) {
            (Some(m), None) => {
                if m.value < Decimal::ZERO {
                    cx.error(m.span, "a multiplier cannot be negative");
                }
                Some(Effect::Multiplier(m.value))
            }
            (None, Some(cap)) => match (&cap.amount, &cap.multiple_of_target) {
                (Some(amount), None) if amount.value >= Decimal::ZERO => Some(Effect::Cap(Cap::Amount(amount.value))),
                (None, Some(multiple)) if multiple.value >= Decimal::ZERO => {
                    Some(Effect::Cap(Cap::MultipleOfTarget(multiple.value)))
                }
                _ => {
                    cx.error(cap.span, "a cap needs exactly one of `amount` and `multiple_of_target`, not negative");
                    None
                }
            },
            _ => {
                cx.error(id.span, "a condition needs exactly one of `multiplier` and `cap`");
                None
            }
        };
        let components = match &spec.components {
            None => component_ids.to_vec(),
            Some(list) => {
                if list.is_empty() {
                    cx.error(list.span, "`components` is empty: name the components the condition acts on");
                }
                for name in list.iter() {
                    if !component_ids.contains(&name.value) {
                        let known = component_ids.join(", ");
                        cx.error(
                            name.span,
                            format!("unknown component `{}` in this role (its components: {known})", name.value),
                        );
                    }
                }
                list.iter().map(|n| n.value.clone()).collect()
            }
        };
        if cx.diagnostics[errors_before..].iter().any(|d| d.is_error()) {
            continue;
        }
        let (Some(measure), Some(base), Some((level, below)), Some(effect)) = (measure, base, level, effect) else {
            continue;
        };
        out.push(Arc::new(Condition {
            core: Core::new(id.value.clone(), "condition", WindowKind::Period, true),
            measure,
            base,
            level,
            below,
            effect,
            components,
        }));
    }
    out
}

impl Condition {
    fn level_words(&self) -> String {
        match self.base {
            Base::Value => super::measure_value(&self.measure, self.level),
            Base::Quota => format!("{} of quota", format_percent(self.level)),
            Base::Target(ref target) => format!("{} of {}", format_percent(self.level), target.describe()),
        }
    }

    fn effect_words(&self) -> String {
        match self.effect {
            Effect::Multiplier(m) => format!("are multiplied by {}", format_ratio(m)),
            Effect::Cap(Cap::MultipleOfTarget(m)) => {
                format!("are capped together at {} of that period's TI", format_percent(m))
            }
            Effect::Cap(Cap::Amount(a)) => {
                format!("are capped together at {} a year (spread over the periods)", format_money_grouped(a, 2))
            }
        }
    }
}

impl Component for Condition {
    fn core(&self) -> &Core {
        &self.core
    }

    fn stage(&self) -> Stage {
        Stage::Condition
    }

    fn describe(&self, cx: &DescribeContext<'_>) -> Description {
        let when = if self.below { "is below" } else { "reaches" };
        let what = super::measure_words(&self.measure);
        let sentences = vec![
            format!(
                "A plan-wide condition: when {what} {when} {} in a {}, that {}'s lines of {} {}.",
                self.level_words(),
                cx.period_word(),
                cx.period_word(),
                self.components.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", "),
                self.effect_words()
            ),
            "It shows as its own line on the statement: what it added or took away, and why.".into(),
        ];
        Description { sentences, driver: Driver::None }
    }

    fn evaluate(&self, cx: &EvalContext<'_>) -> Result<Outcome, EvalError> {
        let w = cx.window(WindowKind::Period);
        let (reading, value) = read(cx, &self.measure, &self.base, w, None)?;
        let order = reading.cmp_dec(self.level)?;
        let holds = if self.below { order == Ordering::Less } else { order != Ordering::Less };
        let mut lines = Decimal::ZERO;
        for (id, amount) in cx.period_lines() {
            if self.components.iter().any(|c| c.as_str() == &**id) {
                lines = arith::add(lines, *amount)?;
            }
        }
        let mut trace = cx.trace();
        trace.put("measure", || json!(self.measure.to_string()));
        trace.put("reading", || frac_value(&reading));
        trace.put("level", || dec(self.level));
        trace.put("holds", || json!(holds));
        trace.put("lines", || dec(lines));
        trace.put("components", || json!(self.components));
        let explains = cx.explains();
        let reading_words =
            if explains { reading_text(&self.measure, &self.base, value, &reading)? } else { String::new() };
        let comparison = if self.below { "below" } else { "at least" };
        if !holds {
            let explain = if explains {
                format!("{reading_words} is not {comparison} {}: no effect", self.level_words())
            } else {
                String::new()
            };
            return Ok(Outcome { value: Decimal::ZERO, attainment: None, explain, trace, sublines: Vec::new() });
        }
        let (delta, how) = match self.effect {
            Effect::Multiplier(m) => {
                let delta = arith::mul(arith::sub(m, Decimal::ONE)?, lines)?;
                (delta, format!("× {} on {} of lines", format_ratio(m), format_money_grouped(lines, 2)))
            }
            Effect::Cap(cap) => {
                let limit: Frac = match cap {
                    Cap::Amount(annual) => cx.scale_annual(annual, w)?,
                    Cap::MultipleOfTarget(m) => cx.incentive(cx.role_ti(), w)?.mul_dec(m)?,
                };
                let limit = limit.value()?;
                trace.put("cap", || dec(limit));
                let over = arith::sub(lines, limit)?;
                let delta = if over > Decimal::ZERO { -over } else { Decimal::ZERO };
                (
                    delta,
                    format!("{} of lines capped at {}", format_money_grouped(lines, 2), format_money_grouped(limit, 2)),
                )
            }
        };
        let explain = if explains {
            format!("{reading_words} is {comparison} {}: {how} ({})", self.level_words(), self.components.join(", "))
        } else {
            String::new()
        };
        Ok(Outcome { value: delta, attainment: None, explain, trace, sublines: Vec::new() })
    }
}
