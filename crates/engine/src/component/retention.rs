//! `retention`: farmers and vCIOs paid on the book they keep and grow (SPEC §4) — NRR or GRR
//! against a target on a curve, a rate on expansion, and a churn clawback line.

use std::cmp::Ordering;
use std::sync::Arc;

use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::json;

use super::shaping::weighted;
use super::tiered::{build_curve, build_steps, steps_words};
use super::{
    BuildContext, Component, ComponentType, Core, DescribeContext, Description, Driver, Outcome, Profile, Shaping,
    SubLine, TypeInfo, curve_words, dec, frac_value,
};
use super::{EvalContext, EvalError};
use crate::arith::{self, Frac};
use crate::calendar::Window;
use crate::measure::{DealKind, MeasureRef};
use crate::number::{format_money_grouped, format_percent, format_ratio};
use crate::spanned::{Num, Spanned};
use crate::spec::{PointSpec, StepSpec};
use crate::yaml::Node;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
enum Metric {
    #[default]
    Nrr,
    Grr,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
struct RetentionSpec {
    /// Net (with expansion) or gross retention.
    #[schemars(extend("default" = "nrr"))]
    #[serde(default)]
    metric: Option<Spanned<Metric>>,
    /// Annual target ratio; its growth part scales with the window.
    #[schemars(extend("default" = 1))]
    #[serde(default)]
    target: Option<Num>,
    /// Payout factor of TI by ratio / target, linearly interpolated (or give `steps`).
    #[serde(default)]
    curve: Option<Spanned<Vec<PointSpec>>>,
    /// Instead of `curve`: payout factor of TI from each ratio / target up to the next step,
    /// no interpolation: `[{from: 0.9, payout: 0.5}, {from: 1.0, payout: 1.0}]`.
    #[serde(default)]
    steps: Option<Spanned<Vec<StepSpec>>>,
    /// Continue the last segment past the last point.
    #[schemars(extend("default" = false))]
    #[serde(default)]
    extrapolate: bool,
    /// Rate paid on expansion dollars in the window.
    #[schemars(extend("default" = 0))]
    #[serde(default)]
    expansion_rate: Option<Num>,
    /// Rate clawed back on the period's churn, as its own line.
    #[schemars(extend("default" = 0))]
    #[serde(default)]
    churn_clawback_rate: Option<Num>,
    /// Share of TI for the curve payout.
    #[schemars(extend("default" = 1))]
    #[serde(default)]
    weight: Option<Num>,
    /// Ratio / target below this zeroes the main line.
    #[serde(default)]
    threshold: Option<Num>,
}

pub struct RetentionType;

impl ComponentType for RetentionType {
    fn name(&self) -> &str {
        "retention"
    }

    fn info(&self) -> TypeInfo {
        TypeInfo {
            name: "retention".into(),
            summary: "Farmers and vCIOs: net or gross revenue retention of the book against a target".into(),
            source: "built-in".into(),
            keys: Vec::new(),
        }
    }

    fn schema(&self, generator: &mut schemars::SchemaGenerator) -> serde_json::Value {
        super::builtin_schema::<RetentionSpec>(generator, &self.info(), true)
    }

    fn build(&self, node: &Node, cx: &mut BuildContext<'_>) -> Option<Arc<dyn Component>> {
        let parsed = cx.parse::<RetentionSpec>(node, true)?;
        let errors_before = cx.diagnostics.len();
        let shaping = Shaping::build(&parsed.shaping, cx);
        let spec = parsed.spec;
        let (points, stepped) = match (&spec.curve, &spec.steps) {
            (Some(curve), None) => (build_curve(curve, cx), false),
            (None, Some(steps)) => {
                if spec.extrapolate {
                    let span = node.get("extrapolate").map_or(steps.span, |n| n.span);
                    cx.error(span, "`extrapolate` is for `curve`: a step payout stays at its top step");
                }
                (build_steps(steps, cx), true)
            }
            (Some(_), Some(steps)) => {
                cx.error(steps.span, "give either `curve` (straight lines) or `steps`, not both");
                return None;
            }
            (None, None) => {
                cx.error(parsed.core.id.span, "a `retention` component needs `curve` or `steps`");
                return None;
            }
        };
        let target = spec.target.as_ref().map_or(Decimal::ONE, |n| n.value);
        if let Some(n) = &spec.target {
            if n.value <= Decimal::ZERO {
                cx.error(n.span, "a retention target is a ratio above 0 (1.05 is 105 %)");
            }
        }
        for n in [&spec.expansion_rate, &spec.churn_clawback_rate, &spec.weight, &spec.threshold].into_iter().flatten()
        {
            if n.value < Decimal::ZERO {
                cx.error(n.span, "this value cannot be negative");
            }
        }
        if cx.diagnostics[errors_before..].iter().any(|d| d.is_error()) {
            return None;
        }
        Some(Arc::new(Retention {
            core: Core::of(&parsed.core, &parsed.shaping),
            metric: spec.metric.map_or(Metric::Nrr, |m| m.value),
            target,
            points,
            stepped,
            extrapolate: spec.extrapolate,
            expansion_rate: spec.expansion_rate.map_or(Decimal::ZERO, |n| n.value),
            churn_clawback_rate: spec.churn_clawback_rate.map_or(Decimal::ZERO, |n| n.value),
            weight: spec.weight.map_or(Decimal::ONE, |n| n.value),
            threshold: spec.threshold.map(|n| n.value),
            shaping,
        }))
    }
}

#[derive(Debug)]
struct Retention {
    core: Core,
    metric: Metric,
    target: Decimal,
    points: Vec<(Decimal, Decimal)>,
    /// `points` are steps (`steps:`), paid without interpolation.
    stepped: bool,
    extrapolate: bool,
    expansion_rate: Decimal,
    churn_clawback_rate: Decimal,
    weight: Decimal,
    threshold: Option<Decimal>,
    shaping: Shaping,
}

impl Retention {
    fn deals(&self, cx: &EvalContext<'_>, kind: DealKind, w: Window) -> Result<Decimal, EvalError> {
        cx.measure(&MeasureRef::Deals(kind), w, self.shaping.clawback_days)
    }

    /// The churn clawback line of the period, never gated, modified or capped.
    fn clawback(&self, cx: &EvalContext<'_>) -> Result<Option<SubLine>, EvalError> {
        if self.churn_clawback_rate.is_zero() {
            return Ok(None);
        }
        let churn = self.deals(cx, DealKind::Churn, Window::single(cx.period()))?;
        let value = -arith::mul(self.churn_clawback_rate, churn)?;
        let mut trace = cx.trace();
        trace.put("churn", || dec(churn));
        trace.put("rate", || dec(self.churn_clawback_rate));
        Ok(Some(SubLine {
            part: "churn_clawback".into(),
            value,
            explain: format!(
                "−{} on {} churn in {}",
                format_percent(self.churn_clawback_rate),
                format_money_grouped(churn, 2),
                cx.period_label()
            ),
            trace: trace.into_map(),
        }))
    }
}

impl Component for Retention {
    fn core(&self) -> &Core {
        &self.core
    }

    fn profile(&self) -> Profile {
        Profile { retention: true, measures: vec![MeasureRef::Deals(DealKind::Expansion)], ..Profile::default() }
    }

    fn describe(&self, cx: &DescribeContext<'_>) -> Description {
        let ti = cx.role_ti.checked_mul(self.weight).unwrap_or(cx.role_ti);
        let (name, how) = match self.metric {
            Metric::Nrr => (
                "net revenue retention (NRR)",
                "the book of existing customers at the start plus expansion, minus contraction and churn, \
                 divided by the book at the start",
            ),
            Metric::Grr => (
                "gross revenue retention (GRR)",
                "the book of existing customers at the start minus contraction and churn, divided by the book \
                 at the start; expansion does not count, so GRR is never above 100%",
            ),
        };
        let share = if self.weight == Decimal::ONE {
            "your target incentive (TI), ".to_string()
        } else {
            format!("{} of your target incentive (TI), ", format_percent(self.weight))
        };
        let mut out = vec![
            format!(
                "A bonus for keeping and growing your book of existing customers: {share}{} a year at 100%.",
                cx.money(ti)
            ),
            format!(
                "It is measured by {name}: {how}. The target is {} for the year{}.",
                format_percent(self.target),
                if cx.calendar.n_periods() > 1 && self.target != Decimal::ONE {
                    let single = Decimal::ONE + (self.target - Decimal::ONE) / cx.calendar.n_decimal();
                    format!(
                        "; part of the year has its share of the difference from 100%: a single {} is held to {}",
                        cx.period_word(),
                        format_percent(single)
                    )
                } else {
                    String::new()
                }
            ),
            format!(
                "{} (shares of {}).",
                if self.stepped {
                    steps_words(&self.points, |a| format!("{} of target", format_percent(a)))
                } else {
                    curve_words(&self.points, self.extrapolate, |a| format!("{} of target", format_percent(a)))
                }
                .trim_end_matches('.'),
                cx.money(ti)
            ),
        ];
        if !self.expansion_rate.is_zero() {
            out.push(format!(
                "On top of that it pays {} of every expansion dollar.",
                format_percent(self.expansion_rate)
            ));
        }
        if let Some(threshold) = self.threshold {
            out.push(format!(
                "Below {} of target it pays nothing, the expansion part included (a threshold).",
                format_percent(threshold)
            ));
        }
        self.shaping.describe(&self.core, cx, Some(ti), &mut out);
        if !self.churn_clawback_rate.is_zero() {
            out.push(format!(
                "Churn costs you: {} of every churned dollar is taken back in the {} it happens, as its own line \
                 (`{}.churn_clawback`), never gated, multiplied or capped.",
                format_percent(self.churn_clawback_rate),
                cx.period_word(),
                self.id()
            ));
        }
        Description {
            sentences: out,
            driver: Driver::Retention { gross: self.metric == Metric::Grr, target: self.target },
        }
    }

    fn evaluate(&self, cx: &EvalContext<'_>) -> Result<Outcome, EvalError> {
        let w = cx.window(self.core.window);
        let book_start = cx.payee().book_start.unwrap_or_default();
        if book_start <= Decimal::ZERO {
            return Err(EvalError::Invalid(format!(
                "`{}` needs the payee's book at the start of the year: book_start in roster.csv is {}",
                self.core.id,
                if cx.payee().book_start.is_some() { format_money_grouped(book_start, 2) } else { "empty".into() }
            )));
        }
        // The book at the window's start: book_start plus the net change of earlier periods.
        let mut book = book_start;
        if w.first > 0 {
            let before = Window::ytd(w.first - 1);
            let net = self.deals(cx, DealKind::Expansion, before)?
                - self.deals(cx, DealKind::Contraction, before)?
                - self.deals(cx, DealKind::Churn, before)?;
            book = arith::add(book, net)?;
        }
        if book <= Decimal::ZERO {
            return Err(EvalError::Invalid(format!(
                "the book at the start of {} is {}: retention cannot be measured",
                cx.window_label(w),
                format_money_grouped(book, 2)
            )));
        }
        let expansion = self.deals(cx, DealKind::Expansion, w)?;
        let contraction = self.deals(cx, DealKind::Contraction, w)?;
        let churn = self.deals(cx, DealKind::Churn, w)?;
        let kept = match self.metric {
            Metric::Nrr => book + expansion - contraction - churn,
            Metric::Grr => book - contraction - churn,
        };
        // ratio / target_W with target_W = (N + (target − 1) × n_W) / N, divided once.
        let n = Decimal::from(cx.n_periods() as u64);
        let target_scaled = arith::add(n, arith::mul(self.target - Decimal::ONE, Decimal::from(w.len() as u64))?)?;
        if target_scaled <= Decimal::ZERO {
            return Err(EvalError::Invalid(format!("the retention target for {} is 0 or less", cx.window_label(w))));
        }
        let ratio = Frac::new(kept, book)?;
        let target_w = Frac::new(target_scaled, n)?;
        let attainment = Frac::new(arith::mul(kept, n)?, arith::mul(book, target_scaled)?)?;
        let metric = match self.metric {
            Metric::Nrr => "NRR",
            Metric::Grr => "GRR",
        };
        let mut trace = cx.trace();
        trace.put("window", || json!(cx.window_label(w)));
        trace.put("book", || dec(book));
        trace.put("expansion", || dec(expansion));
        trace.put("contraction", || dec(contraction));
        trace.put("churn", || dec(churn));
        trace.put("metric", || json!(metric));
        trace.put("ratio", || frac_value(&ratio));
        trace.put("target", || frac_value(&target_w));
        trace.put("attainment", || frac_value(&attainment));
        let attainment_value = attainment.value()?;
        let sublines = self.clawback(cx)?.into_iter().collect();

        if let Some(threshold) = self.threshold {
            trace.put("threshold", || dec(threshold));
            if attainment.cmp_dec(threshold)? == Ordering::Less {
                return Ok(Outcome {
                    value: Decimal::ZERO,
                    attainment: Some(attainment_value),
                    explain: format!(
                        "{metric} {} is {} of target {}, below threshold {}: pays 0",
                        format_percent(ratio.value()?),
                        format_percent(attainment_value),
                        format_percent(target_w.value()?),
                        format_percent(threshold)
                    ),
                    trace,
                    sublines,
                });
            }
        }
        let ti = cx.incentive(cx.role_ti(), w)?;
        let cap_target = weighted(ti, self.weight)?;
        let factor = if self.stepped {
            let (factor, reached) = arith::step(&self.points, attainment)?;
            trace.put("step", || match reached {
                Some(i) => json!({"index": i, "from": dec(self.points[i].0), "payout": dec(self.points[i].1)}),
                None => serde_json::Value::Null,
            });
            Frac::whole(factor)
        } else {
            arith::curve(&self.points, attainment, self.extrapolate)?
        };
        let curve_part = cap_target.mul(&factor)?;
        let expansion_part = arith::mul(self.expansion_rate, expansion)?;
        let base = curve_part.add(&Frac::whole(expansion_part))?;
        trace.put("target_incentive", || frac_value(&ti));
        trace.put("weight", || dec(self.weight));
        trace.put("payout_factor", || frac_value(&factor));
        trace.put("curve_part", || frac_value(&curve_part));
        trace.put("expansion_part", || dec(expansion_part));
        let mut notes = Vec::new();
        let value = self.shaping.apply(cx, w, base, Some(cap_target), &mut trace, &mut notes)?;
        let weight = if self.weight == Decimal::ONE {
            String::new()
        } else {
            format!(" × weight {}", format_ratio(self.weight))
        };
        let mut explain = format!(
            "{metric} {} on a book of {} is {} of target {} → {} of TI {}{weight}",
            format_percent(ratio.value()?),
            format_money_grouped(book, 2),
            format_percent(attainment_value),
            format_percent(target_w.value()?),
            format_percent(factor.value()?),
            format_money_grouped(ti.value()?, 2),
        );
        if !expansion_part.is_zero() {
            explain.push_str(&format!(
                " + {} on {} expansion",
                format_percent(self.expansion_rate),
                format_money_grouped(expansion, 2)
            ));
        }
        if !notes.is_empty() {
            explain = format!("{explain}; {}", notes.join("; "));
        }
        Ok(Outcome { value: value.value()?, attainment: Some(attainment_value), explain, trace, sublines })
    }
}
