//! The keys every payout component shares (SPEC §3): window, `allow_negative`, modifiers,
//! gates, cap and `clawback_days`, compiled once and applied in the SPEC's order:
//! base → modifiers (and kicker) → gates → cap.

use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::{BuildContext, Target, Trace, dec, frac_value};
use super::{EvalContext, EvalError};
use crate::arith::{self, Frac};
use crate::calendar::Window;
use crate::measure::MeasureRef;
use crate::number::{format_money_grouped, format_ratio};
use crate::spec::{ShapingSpec, WindowKind};

/// A multiplier chosen by the band the measure's window value falls in.
#[derive(Debug, Clone)]
pub struct Modifier {
    pub measure: MeasureRef,
    /// `(from, multiplier)`, ascending by `from`.
    pub bands: Vec<(Decimal, Decimal)>,
}

/// Multiplies by `otherwise` when the measure's window value is below `min` or above `max`;
/// with a `target`, the bounds are fractions of the target for the window.
#[derive(Debug, Clone)]
pub struct Gate {
    pub measure: MeasureRef,
    pub min: Option<Decimal>,
    pub max: Option<Decimal>,
    pub target: Option<Target>,
    pub otherwise: Decimal,
}

impl Gate {
    /// The bound `fraction` × the target for window `w` (the bound itself without a target).
    /// An amount target on a level measure (a mean, a `_pct`) is not scaled (SPEC §3).
    fn bound(&self, cx: &EvalContext<'_>, w: Window, fraction: Decimal) -> Result<Frac, EvalError> {
        match &self.target {
            None => Ok(Frac::whole(fraction)),
            Some(Target::Amount(annual)) if self.measure.is_level() => Ok(Frac::whole(arith::mul(*annual, fraction)?)),
            Some(target) => Ok(target.for_window(cx, w)?.mul_dec(fraction)?),
        }
    }

    /// "company.budget_revenue" or "1,000,000.00": the target in a statement note.
    fn target_words(&self, cx: &EvalContext<'_>, w: Window) -> Result<String, EvalError> {
        Ok(match &self.target {
            None => String::new(),
            Some(target) => {
                let amount = self.bound(cx, w, Decimal::ONE)?.value()?;
                match target {
                    Target::Company(name) => format!(" of company.{name} {}", format_money_grouped(amount, 2)),
                    // A level's target is a score or a ratio; any other is an amount of money.
                    Target::Amount(_) if self.measure.is_level() => format!(" of target {}", format_ratio(amount)),
                    Target::Amount(_) => format!(" of target {}", format_money_grouped(amount, 2)),
                }
            }
        })
    }
}

/// The most a component pays over its window.
#[derive(Debug, Clone, Copy)]
pub enum Cap {
    /// An annual amount, scaled to the window like a target.
    Amount(Decimal),
    /// A multiple of the component's target (TI_W × weight, or target_bonus_W).
    MultipleOfTarget(Decimal),
}

#[derive(Debug, Clone, Default)]
pub struct Shaping {
    pub modifiers: Vec<Modifier>,
    pub gates: Vec<Gate>,
    pub cap: Option<Cap>,
    pub clawback_days: Option<u32>,
}

impl Shaping {
    /// Compiles the shared keys, reporting every problem.
    pub fn build(spec: &ShapingSpec, cx: &mut BuildContext<'_>) -> Shaping {
        let mut modifiers = Vec::new();
        for m in &spec.modifiers {
            let measure = cx.measure(&m.measure);
            if m.bands.is_empty() {
                cx.error(m.bands.span, "a modifier needs at least one band");
            }
            let mut bands = Vec::new();
            let mut previous: Option<Decimal> = None;
            for band in m.bands.iter() {
                if previous.is_some_and(|p| band.from.value <= p) {
                    cx.error(band.from.span, "modifier bands must be in strictly ascending order of `from`");
                }
                if band.multiplier.value < Decimal::ZERO {
                    cx.error(band.multiplier.span, "a modifier's multiplier cannot be negative");
                }
                previous = Some(band.from.value);
                bands.push((band.from.value, band.multiplier.value));
            }
            if let Some(measure) = measure {
                modifiers.push(Modifier { measure, bands });
            }
        }
        let mut gates = Vec::new();
        for g in &spec.gates {
            let measure = cx.measure(&g.measure);
            let otherwise = g.otherwise.as_ref().map_or(Decimal::ZERO, |n| n.value);
            if let Some(n) = &g.otherwise {
                if n.value < Decimal::ZERO {
                    cx.error(n.span, "a gate's `else` factor cannot be negative");
                }
            }
            if g.min.is_none() && g.max.is_none() {
                cx.error(g.measure.span, "a gate needs `min`, `max` or both");
            }
            if let (Some(min), Some(max)) = (&g.min, &g.max) {
                if max.value < min.value {
                    cx.error(
                        max.span,
                        format!(
                            "a gate's `max` ({}) is below its `min` ({}): no value could pass",
                            max.value, min.value
                        ),
                    );
                }
            }
            let target = g.target.as_ref().and_then(|t| cx.target(t));
            if let (Some(Target::Amount(value)), Some(t)) = (&target, &g.target) {
                if value.is_zero() {
                    cx.error(t.span, "a gate's target cannot be zero");
                }
            }
            if let Some(measure) = measure {
                gates.push(Gate {
                    measure,
                    min: g.min.as_ref().map(|n| n.value),
                    max: g.max.as_ref().map(|n| n.value),
                    target,
                    otherwise,
                });
            }
        }
        let cap = spec.cap.as_ref().and_then(|cap| match (&cap.amount, &cap.multiple_of_target) {
            (Some(amount), None) => {
                if amount.value < Decimal::ZERO {
                    cx.error(amount.span, "a cap cannot be negative");
                }
                Some(Cap::Amount(amount.value))
            }
            (None, Some(multiple)) => {
                if multiple.value < Decimal::ZERO {
                    cx.error(multiple.span, "a cap cannot be negative");
                }
                Some(Cap::MultipleOfTarget(multiple.value))
            }
            _ => {
                cx.error(cap.span, "a cap takes exactly one of `amount` and `multiple_of_target`");
                None
            }
        });
        if let Some(window) = spec.window.as_ref().filter(|w| w.value == WindowKind::YtdAnnual) {
            if !matches!(cx.component_type.as_str(), "tiered" | "kpi") {
                cx.error(
                    window.span,
                    format!(
                        "`window: ytd_annual` is for `tiered` and `kpi` components (a `{}` component has no annual \
                         quota or target to advance against); use `ytd` or `period`",
                        cx.component_type
                    ),
                );
            }
        }
        Shaping { modifiers, gates, cap, clawback_days: spec.clawback_days.as_ref().map(|d| d.value) }
    }

    /// Applies modifiers, gates and the cap to `base`, recording each step in `trace` and the
    /// ones that changed something in `notes`. (A kicker is one more multiplier; the caller
    /// applies it to `base`, which is the same product.)
    pub fn apply(
        &self,
        cx: &EvalContext<'_>,
        w: Window,
        base: Frac,
        cap_target: Option<Frac>,
        trace: &mut Trace,
        notes: &mut Vec<String>,
    ) -> Result<Frac, EvalError> {
        let mut value = base;
        let neutral = cx.neutral_shaping();
        if !self.modifiers.is_empty() && !neutral {
            let mut applied = Vec::new();
            for modifier in &self.modifiers {
                let ratio = cx.measure_ratio(&modifier.measure, w, self.clawback_days)?;
                let multiplier = band_multiplier_exact(&modifier.bands, ratio)?;
                value = value.mul_dec(multiplier)?;
                if trace.enabled() {
                    let reading = ratio.value()?;
                    applied.push(json!({"measure": modifier.measure.to_string(), "value": dec(reading), "multiplier": dec(multiplier)}));
                    if multiplier != Decimal::ONE {
                        notes.push(format!(
                            "× {} ({} {})",
                            format_ratio(multiplier),
                            modifier.measure,
                            format_ratio(reading)
                        ));
                    }
                }
            }
            trace.put("modifiers", || Value::Array(applied));
        }
        if !self.gates.is_empty() && !neutral {
            let mut applied = Vec::new();
            for gate in &self.gates {
                let ratio = cx.measure_ratio(&gate.measure, w, self.clawback_days)?;
                let below = match gate.min {
                    Some(min) if gate.target.is_none() => ratio.cmp_dec(min)? == std::cmp::Ordering::Less,
                    Some(min) => ratio.compare(&gate.bound(cx, w, min)?)? == std::cmp::Ordering::Less,
                    None => false,
                };
                let above = match gate.max {
                    Some(max) if gate.target.is_none() => ratio.cmp_dec(max)? == std::cmp::Ordering::Greater,
                    Some(max) => ratio.compare(&gate.bound(cx, w, max)?)? == std::cmp::Ordering::Greater,
                    None => false,
                };
                let passed = !below && !above;
                if !passed {
                    value = value.mul_dec(gate.otherwise)?;
                }
                if !trace.enabled() {
                    continue;
                }
                let reading = ratio.value()?;
                let of_target = gate.target_words(cx, w)?;
                let shown = if gate.target.is_some() {
                    super::measure_value(&gate.measure, reading)
                } else {
                    format_ratio(reading)
                };
                let bound = |fraction: Decimal| {
                    if gate.target.is_some() { crate::number::format_percent(fraction) } else { format_ratio(fraction) }
                };
                if below {
                    notes.push(format!(
                        "gate {} {shown} below {}{of_target}: × {}",
                        gate.measure,
                        bound(gate.min.unwrap_or_default()),
                        format_ratio(gate.otherwise)
                    ));
                } else if above {
                    notes.push(format!(
                        "gate {} {shown} above {}{of_target}: × {}",
                        gate.measure,
                        bound(gate.max.unwrap_or_default()),
                        format_ratio(gate.otherwise)
                    ));
                }
                let mut record = serde_json::Map::new();
                record.insert("measure".into(), json!(gate.measure.to_string()));
                record.insert("value".into(), dec(reading));
                if let Some(min) = gate.min {
                    record.insert("min".into(), dec(min));
                }
                if let Some(max) = gate.max {
                    record.insert("max".into(), dec(max));
                }
                if gate.target.is_some() {
                    record.insert("target".into(), frac_value(&gate.bound(cx, w, Decimal::ONE)?));
                }
                record.insert("passed".into(), json!(passed));
                record.insert("factor".into(), dec(if passed { Decimal::ONE } else { gate.otherwise }));
                applied.push(Value::Object(record));
            }
            trace.put("gates", || Value::Array(applied));
        }
        if let Some(cap) = self.cap {
            let limit = match cap {
                Cap::Amount(annual) => cx.scale_annual(annual, w)?,
                Cap::MultipleOfTarget(multiple) => match cap_target {
                    Some(target) => target.mul_dec(multiple)?,
                    None => {
                        return Err(EvalError::Invalid("`multiple_of_target` needs a target".into()));
                    }
                },
            };
            let capped = value.compare(&limit)? == std::cmp::Ordering::Greater;
            trace.put("cap", || json!({"limit": frac_value(&limit), "before": frac_value(&value), "applied": capped}));
            if capped {
                value = limit;
                if trace.enabled() {
                    notes.push(format!("capped at {}", format_money_grouped(limit.value()?, 2)));
                }
            }
        }
        Ok(value)
    }
}

impl Shaping {
    /// The shared keys in plain language: window, modifiers, gates, cap and clawbacks.
    /// `cap_target` is the annual amount `multiple_of_target` multiplies (TI × weight, or the
    /// target bonus).
    pub fn describe(
        &self,
        core: &super::Core,
        cx: &super::DescribeContext<'_>,
        cap_target: Option<Decimal>,
        out: &mut Vec<String>,
    ) {
        use super::{measure_value, measure_words};
        let period = cx.period_word();
        let window = match core.window {
            WindowKind::Period => "that ".to_string() + period,
            WindowKind::Ytd | WindowKind::YtdAnnual => "the year so far".into(),
        };
        for modifier in &self.modifiers {
            let bands: Vec<String> = modifier
                .bands
                .iter()
                .map(|(from, m)| format!("× {} from {}", format_ratio(*m), measure_value(&modifier.measure, *from)))
                .collect();
            out.push(format!(
                "The amount is multiplied according to {} over {window}: {}.",
                measure_words(&modifier.measure),
                bands.join(", ")
            ));
        }
        for gate in &self.gates {
            let consequence = if gate.otherwise.is_zero() {
                "it pays nothing".to_string()
            } else {
                format!(
                    "it pays {} of the amount (× {})",
                    crate::number::format_percent(gate.otherwise),
                    format_ratio(gate.otherwise)
                )
            };
            // Bounds in words: the measure's own units, or a share of the target.
            let bound = |fraction: Decimal| match &gate.target {
                None => measure_value(&gate.measure, fraction),
                Some(target) => {
                    let of = match (target, cx.target_amount(target)) {
                        (Target::Company(name), Some(amount)) => {
                            format!("the plan's company.{name} ({} a year)", cx.money(amount))
                        }
                        (Target::Company(name), None) => format!("company.{name} for the same months"),
                        (Target::Amount(amount), _) if gate.measure.is_level() => measure_value(&gate.measure, *amount),
                        (Target::Amount(amount), _) => format!("a target of {} a year", cx.money(*amount)),
                    };
                    format!("{} of {of}", crate::number::format_percent(fraction))
                }
            };
            let condition = match (gate.min, gate.max) {
                (Some(min), None) => format!("below {}", bound(min)),
                (None, Some(max)) => format!("above {}", bound(max)),
                (Some(min), Some(max)) => format!("below {} or above {}", bound(min), bound(max)),
                (None, None) => continue,
            };
            out.push(format!(
                "A gate: if {} over {window} is {condition}, {consequence}.",
                measure_words(&gate.measure)
            ));
        }
        match self.cap {
            Some(Cap::Amount(annual)) => {
                out.push(format!("It is capped at {} a year (a share of that for part of the year).", cx.money(annual)))
            }
            Some(Cap::MultipleOfTarget(multiple)) => match cap_target.and_then(|t| t.checked_mul(multiple)) {
                Some(limit) => out.push(format!(
                    "It is capped at {} times its target: at most {} a year.",
                    format_ratio(multiple),
                    cx.money(limit)
                )),
                None => out.push(format!("It is capped at {} times its target.", format_ratio(multiple))),
            },
            None => {}
        }
        match (core.window, cx.calendar.n_periods()) {
            (_, 1) => out.push("It is worked out and paid once, for the whole year.".into()),
            (WindowKind::Ytd, _) => out.push(format!(
                "It is paid each {period} on the year so far: each {period} the amount for the year to date is \
                 worked out again and what was already paid is subtracted, so a slow {period} is caught up later \
                 (a true-up)."
            )),
            (WindowKind::Period, _) => out.push(format!(
                "Each {period} stands on its own: it is paid on that {period}'s results against a {period}'s share \
                 of the yearly numbers."
            )),
            (WindowKind::YtdAnnual, _) => out.push(format!(
                "It is paid each {period} as an advance on the year: the year so far is measured against the whole \
                 year's quota, targets and target incentive, so tiers and steps are reached on the annual numbers; \
                 each {period} what was already paid is subtracted."
            )),
        }
        if let Some(days) = self.clawback_days {
            out.push(format!(
                "A deal cancelled within {days} days of closing loses its credit; one cancelled later keeps it."
            ));
        }
        if core.allow_negative {
            out.push(
                "When a cancellation lowers the amount below what was already paid, the difference is taken back \
                 from that statement (a clawback)."
                    .into(),
            );
        } else if core.window != WindowKind::Period && cx.calendar.n_periods() > 1 {
            out.push(
                "If the year to date falls below what was already paid, nothing is taken back; the gap is made up \
                 before anything more is paid."
                    .into(),
            );
        }
    }
}

/// The multiplier of the band with the highest `from ≤ value`; 1 below every band.
pub fn band_multiplier(bands: &[(Decimal, Decimal)], value: Decimal) -> Decimal {
    bands.iter().rev().find(|(from, _)| *from <= value).map_or(Decimal::ONE, |(_, m)| *m)
}

/// [`band_multiplier`] for a value kept as a fraction, compared exactly.
pub fn band_multiplier_exact(bands: &[(Decimal, Decimal)], value: Frac) -> arith::Arith<Decimal> {
    if value.den == Decimal::ONE {
        return Ok(band_multiplier(bands, value.num));
    }
    for &(from, multiplier) in bands.iter().rev() {
        // `value ≥ 0` needs no multiplication (the denominator is positive).
        let reached = if from.is_zero() {
            !value.num.is_sign_negative() || value.num.is_zero()
        } else {
            value.cmp_dec(from)? != std::cmp::Ordering::Less
        };
        if reached {
            return Ok(multiplier);
        }
    }
    Ok(Decimal::ONE)
}

/// Multiplies `base` by `weight` only when the weight is not 1 (keeps traces short).
pub fn weighted(base: Frac, weight: Decimal) -> arith::Arith<Frac> {
    if weight == Decimal::ONE { Ok(base) } else { base.mul_dec(weight) }
}
