//! `kpi`: scorecards on leading indicators (SPEC §4) — meaningful conversations,
//! opportunities created and advanced, onboarding — each KPI scored against its target with
//! its own weight, cap and threshold.

use std::cmp::Ordering;
use std::sync::Arc;

use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{Value, json};

use super::shaping::weighted;
use super::{
    BuildContext, Component, ComponentType, Core, DescribeContext, Description, Driver, Outcome, Profile,
    ScorecardItem, Shaping, TypeInfo, dec, frac_value, measure_value, measure_words, upper_first,
};
use super::{EvalContext, EvalError};
use crate::arith::Frac;
use crate::measure::MeasureRef;
use crate::number::{format_money_grouped, format_percent, format_ratio};
use crate::spanned::{Num, Spanned};
use crate::yaml::Node;

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
struct KpiSpec {
    /// Score = min(cap, actual / target) (2 − actual / target for `direction: lower`), 0 below
    /// threshold; targets are annual unless the measure is a level.
    kpis: Spanned<Vec<KpiItemSpec>>,
    /// Share of TI the scorecard pays.
    #[schemars(extend("default" = 1))]
    #[serde(default)]
    weight: Option<Num>,
    /// Any KPI below its threshold voids the whole scorecard (pays 0), not only its own score.
    #[schemars(extend("default" = false))]
    #[serde(default)]
    all_or_nothing: Option<Spanned<bool>>,
}

/// Which way a KPI is better.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
enum Direction {
    /// More is better: score = actual / target.
    #[default]
    Higher,
    /// Less is better (churn, cycle days, cost per lead): score = 2 − actual / target, not
    /// below 0 (100 % at target, 200 % at zero, 0 at twice the target).
    Lower,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
struct KpiItemSpec {
    measure: Spanned<String>,
    target: Num,
    weight: Num,
    #[serde(default)]
    cap: Option<Num>,
    #[serde(default)]
    threshold: Option<Num>,
    /// `higher` (default) or `lower`: lower is better scores 2 − actual / target, not below 0.
    #[schemars(extend("default" = "higher"))]
    #[serde(default)]
    direction: Option<Spanned<Direction>>,
}

#[derive(Debug)]
struct Item {
    measure: MeasureRef,
    target: Decimal,
    weight: Decimal,
    cap: Option<Decimal>,
    threshold: Option<Decimal>,
    lower_is_better: bool,
}

pub struct KpiType;

impl ComponentType for KpiType {
    fn name(&self) -> &str {
        "kpi"
    }

    fn info(&self) -> TypeInfo {
        TypeInfo {
            name: "kpi".into(),
            summary: "Scorecard of leading indicators, each scored actual / target with weight, cap and threshold"
                .into(),
            source: "built-in".into(),
            keys: Vec::new(),
        }
    }

    fn schema(&self, generator: &mut schemars::SchemaGenerator) -> serde_json::Value {
        super::builtin_schema::<KpiSpec>(generator, &self.info(), true)
    }

    fn build(&self, node: &Node, cx: &mut BuildContext<'_>) -> Option<Arc<dyn Component>> {
        let parsed = cx.parse::<KpiSpec>(node, true)?;
        let errors_before = cx.diagnostics.len();
        let shaping = Shaping::build(&parsed.shaping, cx);
        let spec = parsed.spec;
        if spec.kpis.is_empty() {
            cx.error(spec.kpis.span, "a `kpi` component needs at least one KPI under `kpis`");
        }
        let mut items = Vec::new();
        for kpi in spec.kpis.iter() {
            let measure = cx.measure(&kpi.measure);
            if kpi.target.value.is_zero() {
                cx.error(
                    kpi.target.span,
                    format!("KPI `{}` has a zero target; its score would divide by zero", kpi.measure.value),
                );
            }
            for n in [Some(&kpi.weight), kpi.cap.as_ref(), kpi.threshold.as_ref()].into_iter().flatten() {
                if n.value < Decimal::ZERO {
                    cx.error(n.span, "KPI weights, caps and thresholds cannot be negative");
                }
            }
            if let Some(measure) = measure {
                items.push(Item {
                    measure,
                    target: kpi.target.value,
                    weight: kpi.weight.value,
                    cap: kpi.cap.as_ref().map(|c| c.value),
                    threshold: kpi.threshold.as_ref().map(|t| t.value),
                    lower_is_better: kpi.direction.as_ref().is_some_and(|d| d.value == Direction::Lower),
                });
            }
        }
        let all_or_nothing = spec.all_or_nothing.as_ref().is_some_and(|a| a.value);
        if let Some(flag) = spec.all_or_nothing.as_ref().filter(|a| a.value) {
            if spec.kpis.iter().all(|kpi| kpi.threshold.is_none()) {
                cx.error(
                    flag.span,
                    "`all_or_nothing` voids the scorecard when a KPI is below its threshold, but no KPI has a \
                     `threshold`",
                );
            }
        }
        if cx.diagnostics[errors_before..].iter().any(|d| d.is_error()) {
            return None;
        }
        Some(Arc::new(Kpi {
            core: Core::of(&parsed.core, &parsed.shaping),
            items,
            weight: spec.weight.map_or(Decimal::ONE, |w| w.value),
            all_or_nothing,
            shaping,
        }))
    }
}

#[derive(Debug)]
struct Kpi {
    core: Core,
    items: Vec<Item>,
    weight: Decimal,
    /// Any KPI below its threshold voids the scorecard.
    all_or_nothing: bool,
    shaping: Shaping,
}

impl Component for Kpi {
    fn core(&self) -> &Core {
        &self.core
    }

    fn profile(&self) -> Profile {
        Profile { measures: self.items.iter().map(|i| i.measure.clone()).collect(), ..Profile::default() }
    }

    fn describe(&self, cx: &DescribeContext<'_>) -> Description {
        let ti = cx.role_ti.checked_mul(self.weight).unwrap_or(cx.role_ti);
        let share = if self.weight == Decimal::ONE {
            "your target incentive (TI), ".to_string()
        } else {
            format!("{} of your target incentive (TI), ", format_percent(self.weight))
        };
        let mut out = vec![format!(
            "A scorecard: {share}{} a year when every score is 100%. Each score is the actual against its \
             target; the pay is the weighted sum of the scores times that amount.",
            cx.money(ti)
        )];
        for item in &self.items {
            let per = if item.measure.is_level() { " (a level, the same every period)" } else { " a year" };
            let mut text = format!(
                "{}: target {}{per}, weight {}",
                measure_words(&item.measure),
                measure_value(&item.measure, item.target),
                format_percent(item.weight)
            );
            if let Some(cap) = item.cap {
                text.push_str(&format!(", score capped at {}", format_percent(cap)));
            }
            if item.lower_is_better {
                text.push_str(
                    ", lower is better: the score is 100% at target, one point more for each 1% below it and one \
                     point less for each 1% above it (200% at zero, nothing at twice the target)",
                );
            }
            if let Some(threshold) = item.threshold {
                if item.lower_is_better {
                    text.push_str(&format!(", scores nothing below a score of {}", format_percent(threshold)));
                } else {
                    text.push_str(&format!(", scores nothing below {} of target", format_percent(threshold)));
                }
            }
            text.push('.');
            out.push(upper_first(&text));
        }
        if self.all_or_nothing {
            out.push(
                "All or nothing: if any measure scores below its threshold, the whole scorecard pays nothing for \
                 that window."
                    .into(),
            );
        }
        self.shaping.describe(&self.core, cx, Some(ti), &mut out);
        let items = self
            .items
            .iter()
            .map(|i| ScorecardItem { measure: i.measure.clone(), target: i.target, lower_is_better: i.lower_is_better })
            .collect();
        Description { sentences: out, driver: Driver::Scorecard(items) }
    }

    fn evaluate(&self, cx: &EvalContext<'_>) -> Result<Outcome, EvalError> {
        let w = cx.window(self.core.window);
        let mut total = Frac::ZERO;
        // The first KPI below its threshold when the scorecard is all or nothing.
        let mut void: Option<String> = None;
        let mut parts = Vec::new();
        let mut texts = Vec::new();
        for item in &self.items {
            let actual = cx.measure(&item.measure, w, self.shaping.clawback_days)?;
            // Annual targets scale to the window; levels (means, ratios) do not.
            let target =
                if item.measure.is_level() { Frac::whole(item.target) } else { cx.scale_annual(item.target, w)? };
            let mut ratio = Frac::whole(actual).div(&target)?;
            // No value at all is not a perfect zero for a lower-is-better KPI: it scores
            // nothing (the run warns about the missing value).
            let missing = item.lower_is_better && !cx.has_value(&item.measure, w);
            if item.lower_is_better {
                // 2 − actual / target, not below 0.
                ratio = Frac::whole(Decimal::TWO).add(&ratio.mul_dec(Decimal::NEGATIVE_ONE)?)?;
                if ratio.num.is_sign_negative() || missing {
                    ratio = Frac::ZERO;
                }
            }
            let below = match item.threshold {
                Some(t) => ratio.cmp_dec(t)? == Ordering::Less,
                None => false,
            };
            let score = if below {
                Frac::ZERO
            } else {
                match item.cap {
                    Some(cap) => ratio.min(Frac::whole(cap))?,
                    None => ratio,
                }
            };
            total = total.add(&score.mul_dec(item.weight)?)?;
            if below && void.is_none() && self.all_or_nothing {
                void = Some(item.measure.to_string());
            }
            parts.push(json!({
                "measure": item.measure.to_string(), "actual": dec(actual), "target": frac_value(&target),
                "ratio": frac_value(&ratio), "score": frac_value(&score), "weight": dec(item.weight),
                "cap": item.cap.map(dec), "threshold": item.threshold.map(dec), "below_threshold": below,
            }));
            if let Some(part) = parts.last_mut().and_then(Value::as_object_mut).filter(|_| item.lower_is_better) {
                part.insert("direction".into(), json!("lower"));
            }
            if cx.explains() {
                texts.push(format!(
                    "{} {}{}{} → {}{}",
                    item.measure,
                    if missing { "no value, target ".to_string() } else { format!("{} of ", format_ratio(actual)) },
                    format_ratio(target.value()?),
                    if item.lower_is_better { " (lower is better)" } else { "" },
                    format_percent(score.value()?),
                    if below { " (below threshold)" } else { "" }
                ));
            }
        }
        if void.is_some() {
            total = Frac::ZERO;
        }
        let ti = cx.incentive(cx.role_ti(), w)?;
        let cap_target = weighted(ti, self.weight)?;
        let base = cap_target.mul(&total)?;
        let mut trace = cx.trace();
        trace.put("window", || json!(cx.window_label(w)));
        trace.put("kpis", || Value::Array(parts));
        trace.put("weighted_score", || frac_value(&total));
        if let Some(measure) = &void {
            trace.put("void", || json!(measure));
        }
        trace.put("target_incentive", || frac_value(&ti));
        trace.put("weight", || dec(self.weight));
        trace.put("base", || frac_value(&base));
        let mut notes = Vec::new();
        let value = self.shaping.apply(cx, w, base, Some(cap_target), &mut trace, &mut notes)?;
        let weight = if self.weight == Decimal::ONE {
            String::new()
        } else {
            format!(" × weight {}", format_ratio(self.weight))
        };
        let mut explain = format!(
            "scorecard {} of TI {}{weight}: {}",
            format_percent(total.value()?),
            format_money_grouped(ti.value()?, 2),
            texts.join("; ")
        );
        if let Some(measure) = &void {
            explain = format!("{explain}; all or nothing: {measure} is below its threshold, the scorecard pays 0");
        }
        if !notes.is_empty() {
            explain = format!("{explain}; {}", notes.join("; "));
        }
        Ok(Outcome { value: value.value()?, attainment: None, explain, trace, sublines: Vec::new() })
    }
}
