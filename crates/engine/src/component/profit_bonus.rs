//! `profit_bonus`: executives paid on the bottom line (SPEC §1, §4) — profit dollars against
//! budget and profit percent against target, each on its own curve and weight.

use std::sync::Arc;

use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::json;

use super::tiered::build_curve;
use super::{
    BuildContext, Component, ComponentType, Core, DescribeContext, Description, Driver, Outcome, Profile, Shaping,
    Trace, TypeInfo, curve_words, dec, frac_value,
};
use super::{EvalContext, EvalError};
use crate::arith::{self, Frac};
use crate::calendar::Window;
use crate::measure::MeasureRef;
use crate::number::{format_money_grouped, format_percent, format_ratio};
use crate::spanned::{Num, Spanned};
use crate::spec::PointSpec;
use crate::yaml::Node;

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
struct ProfitBonusSpec {
    /// Annual bonus at 100 %, prorated like TI.
    #[serde(default)]
    target_bonus: Option<Num>,
    /// Curve on company.net_profit / budget_net_profit.
    #[serde(default)]
    profit_dollars: Option<Spanned<PartSpec>>,
    /// Curve on company.net_profit_pct / target_net_profit_pct.
    #[serde(default)]
    profit_pct: Option<Spanned<PartSpec>>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
struct PartSpec {
    weight: Num,
    curve: Spanned<Vec<PointSpec>>,
    #[serde(default)]
    extrapolate: bool,
}

#[derive(Debug)]
struct Part {
    weight: Decimal,
    points: Vec<(Decimal, Decimal)>,
    extrapolate: bool,
}

pub struct ProfitBonusType;

impl ComponentType for ProfitBonusType {
    fn name(&self) -> &str {
        "profit_bonus"
    }

    fn info(&self) -> TypeInfo {
        TypeInfo {
            name: "profit_bonus".into(),
            summary: "Executive bonus on company profit dollars vs budget and profit percent vs target".into(),
            source: "built-in".into(),
            keys: Vec::new(),
        }
    }

    fn schema(&self, generator: &mut schemars::SchemaGenerator) -> serde_json::Value {
        super::builtin_schema::<ProfitBonusSpec>(generator, &self.info(), true)
    }

    fn build(&self, node: &Node, cx: &mut BuildContext<'_>) -> Option<Arc<dyn Component>> {
        let parsed = cx.parse::<ProfitBonusSpec>(node, true)?;
        let errors_before = cx.diagnostics.len();
        let shaping = Shaping::build(&parsed.shaping, cx);
        let spec = parsed.spec;
        let target_bonus = spec.target_bonus.as_ref().map_or(cx.role_ti, |n| n.value);
        if let Some(n) = &spec.target_bonus {
            if n.value < Decimal::ZERO {
                cx.error(n.span, "`target_bonus` cannot be negative");
            }
        }
        let part = |spec: &Option<Spanned<PartSpec>>, cx: &mut BuildContext<'_>| {
            spec.as_ref().map(|p| {
                if p.weight.value < Decimal::ZERO {
                    cx.error(p.weight.span, "a weight cannot be negative");
                }
                Part { weight: p.weight.value, points: build_curve(&p.curve, cx), extrapolate: p.extrapolate }
            })
        };
        let dollars = part(&spec.profit_dollars, cx);
        let pct = part(&spec.profit_pct, cx);
        if dollars.is_none() && pct.is_none() {
            cx.error(parsed.core.id.span, "a `profit_bonus` needs `profit_dollars`, `profit_pct` or both");
        }
        if cx.diagnostics[errors_before..].iter().any(|d| d.is_error()) {
            return None;
        }
        Some(Arc::new(ProfitBonus {
            core: Core::of(&parsed.core, &parsed.shaping),
            target_bonus,
            dollars,
            pct,
            shaping,
        }))
    }
}

#[derive(Debug)]
struct ProfitBonus {
    core: Core,
    target_bonus: Decimal,
    dollars: Option<Part>,
    pct: Option<Part>,
    shaping: Shaping,
}

/// `actual / target` as a fraction: 0 when both are 0, an error for a non-zero actual on a
/// zero target.
fn ratio(actual: Decimal, target: Decimal, what: &str) -> Result<Frac, EvalError> {
    if target.is_zero() {
        if actual.is_zero() {
            return Ok(Frac::ZERO);
        }
        return Err(EvalError::Invalid(format!("{what}: the target is 0")));
    }
    Ok(Frac::new(actual, target)?)
}

impl ProfitBonus {
    fn part(
        &self,
        cx: &EvalContext<'_>,
        w: Window,
        part: &Part,
        (actual_name, target_name): (&str, &str),
        trace: &mut Trace,
        key: &str,
    ) -> Result<(Frac, String), EvalError> {
        let actual = cx.company(actual_name, w)?;
        let target = cx.company(target_name, w)?;
        let attainment = ratio(actual, target, &format!("company.{actual_name} against company.{target_name}"))?;
        let factor = arith::curve(&part.points, attainment, part.extrapolate)?;
        trace.put(key, || {
            json!({
                "actual": dec(actual), "target": dec(target), "attainment": frac_value(&attainment),
                "payout_factor": frac_value(&factor), "weight": dec(part.weight),
            })
        });
        let shown = |v: Decimal| {
            if actual_name.ends_with("_pct") { format_percent(v) } else { format_money_grouped(v, 2) }
        };
        let text = format!(
            "{} {} vs {} ({}) → {} × weight {}",
            actual_name,
            shown(actual),
            shown(target),
            format_percent(attainment.value()?),
            format_percent(factor.value()?),
            format_ratio(part.weight)
        );
        Ok((factor.mul_dec(part.weight)?, text))
    }
}

impl Component for ProfitBonus {
    fn core(&self) -> &Core {
        &self.core
    }

    fn profile(&self) -> Profile {
        Profile {
            profit_linked: self.target_bonus,
            measures: vec![MeasureRef::Company("net_profit".into()), MeasureRef::Company("net_profit_pct".into())],
            ..Profile::default()
        }
    }

    fn describe(&self, cx: &DescribeContext<'_>) -> Description {
        let mut out = vec![format!(
            "A bonus on the company's bottom line: a target bonus of {} a year, paid in full when profit is \
             exactly on plan. When the company does well, you do well.",
            cx.money(self.target_bonus)
        )];
        let budget = cx.company.get("budget_net_profit").map(|v| format!(" ({})", cx.money(*v))).unwrap_or_default();
        let target_pct =
            cx.company.get("target_net_profit_pct").map(|v| format!(" ({})", format_percent(*v))).unwrap_or_default();
        if let Some(part) = &self.dollars {
            out.push(format!(
                "{} of it rides on net profit dollars against the budget{budget}. {}",
                format_percent(part.weight),
                curve_words(&part.points, part.extrapolate, |a| format!("{} of budget", format_percent(a)))
            ));
        }
        if let Some(part) = &self.pct {
            out.push(format!(
                "{} of it rides on net profit as a % of revenue against the target{target_pct}. {}",
                format_percent(part.weight),
                curve_words(&part.points, part.extrapolate, |a| format!("{} of target", format_percent(a)))
            ));
        }
        self.shaping.describe(&self.core, cx, Some(self.target_bonus), &mut out);
        Description { sentences: out, driver: Driver::Profit }
    }

    fn evaluate(&self, cx: &EvalContext<'_>) -> Result<Outcome, EvalError> {
        let w = cx.window(self.core.window);
        let bonus = cx.incentive(self.target_bonus, w)?;
        let mut trace = cx.trace();
        trace.put("window", || json!(cx.window_label(w)));
        trace.put("target_bonus", || frac_value(&bonus));
        let mut factor = Frac::ZERO;
        let mut parts = Vec::new();
        if let Some(part) = &self.dollars {
            let (f, text) =
                self.part(cx, w, part, ("net_profit", "budget_net_profit"), &mut trace, "profit_dollars")?;
            factor = factor.add(&f)?;
            parts.push(text);
        }
        if let Some(part) = &self.pct {
            let (f, text) =
                self.part(cx, w, part, ("net_profit_pct", "target_net_profit_pct"), &mut trace, "profit_pct")?;
            factor = factor.add(&f)?;
            parts.push(text);
        }
        let base = bonus.mul(&factor)?;
        trace.put("base", || frac_value(&base));
        let mut notes = Vec::new();
        let value = self.shaping.apply(cx, w, base, Some(bonus), &mut trace, &mut notes)?;
        let mut explain = format!(
            "{} of target bonus {}: {}",
            format_percent(factor.value()?),
            format_money_grouped(bonus.value()?, 2),
            parts.join("; ")
        );
        if !notes.is_empty() {
            explain = format!("{explain}; {}", notes.join("; "));
        }
        Ok(Outcome { value: value.value()?, attainment: None, explain, trace, sublines: Vec::new() })
    }
}
