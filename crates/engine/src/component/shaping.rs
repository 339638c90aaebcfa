//! The keys every payout component shares (SPEC §3): window, `allow_negative`, modifiers,
//! gates, cap and `clawback_days`, compiled once and applied in the SPEC's order:
//! base → modifiers (and kicker) → gates → cap.

use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::{BuildContext, Trace, dec, frac_value};
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

/// Multiplies by `otherwise` when the measure's window value is below `min`.
#[derive(Debug, Clone)]
pub struct Gate {
    pub measure: MeasureRef,
    pub min: Decimal,
    pub otherwise: Decimal,
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
            if let Some(measure) = measure {
                gates.push(Gate { measure, min: g.min.value, otherwise });
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
                let passed = ratio.cmp_dec(gate.min)? != std::cmp::Ordering::Less;
                if !passed {
                    value = value.mul_dec(gate.otherwise)?;
                }
                if !trace.enabled() {
                    continue;
                }
                let reading = ratio.value()?;
                if !passed {
                    notes.push(format!(
                        "gate {} {} below {}: × {}",
                        gate.measure,
                        format_ratio(reading),
                        format_ratio(gate.min),
                        format_ratio(gate.otherwise)
                    ));
                }
                applied.push(json!({
                    "measure": gate.measure.to_string(), "value": dec(reading), "min": dec(gate.min),
                    "passed": passed, "factor": dec(if passed { Decimal::ONE } else { gate.otherwise }),
                }));
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
            WindowKind::Ytd => "the year so far".into(),
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
            out.push(format!(
                "A gate: if {} over {window} is below {}, {consequence}.",
                measure_words(&gate.measure),
                measure_value(&gate.measure, gate.min)
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
        } else if core.window == WindowKind::Ytd && cx.calendar.n_periods() > 1 {
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
