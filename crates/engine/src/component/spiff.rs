//! `spiff`: a short-term incentive per credited deal or on the amount, inside a close-date
//! window, after a minimum count, up to a yearly maximum (SPEC §4, §11).

use std::sync::Arc;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::json;

use super::{
    BuildContext, Cap, Component, ComponentType, Core, DescribeContext, Description, Driver, Outcome, Profile, Shaping,
    TypeInfo, dec, frac_value,
};
use super::{EvalContext, EvalError};
use crate::arith::{self, Frac};
use crate::calendar::{Window, parse_date};
use crate::measure::{DealKind, MeasureRef};
use crate::number::{format_money_grouped, format_percent, format_ratio};
use crate::spanned::{Num, Spanned};
use crate::spec::WindowKind;
use crate::yaml::Node;

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
struct SpiffSpec {
    /// A deal measure (bookings, expansion, …) or a declared measure.
    measure: Spanned<String>,
    /// Amount per credited deal (a split counts its share); one of per_unit, rate.
    #[serde(default)]
    per_unit: Option<Num>,
    /// Rate on the amount; one of per_unit, rate.
    #[serde(default)]
    rate: Option<Num>,
    /// First close date that counts (inclusive).
    #[serde(default)]
    from: Option<Spanned<String>>,
    /// Last close date that counts (inclusive).
    #[serde(default)]
    to: Option<Spanned<String>>,
    /// Units over the plan year so far before anything pays.
    #[schemars(extend("default" = 0))]
    #[serde(default)]
    min: Option<Num>,
    /// The most the SPIFF pays a payee in the year.
    #[serde(default)]
    max_amount: Option<Num>,
}

#[derive(Debug, Clone, Copy)]
enum Pay {
    PerUnit(Decimal),
    Rate(Decimal),
}

pub struct SpiffType;

impl ComponentType for SpiffType {
    fn name(&self) -> &str {
        "spiff"
    }

    fn info(&self) -> TypeInfo {
        TypeInfo {
            name: "spiff".into(),
            summary: "Short-term incentive per credited deal or on the amount, inside a date window".into(),
            source: "built-in".into(),
            keys: Vec::new(),
        }
    }

    fn schema(&self, generator: &mut schemars::SchemaGenerator) -> serde_json::Value {
        super::builtin_schema::<SpiffSpec>(generator, &self.info(), true)
    }

    fn build(&self, node: &Node, cx: &mut BuildContext<'_>) -> Option<Arc<dyn Component>> {
        let parsed = cx.parse::<SpiffSpec>(node, true)?;
        let errors_before = cx.diagnostics.len();
        let shaping = Shaping::build(&parsed.shaping, cx);
        if let (Some(Cap::MultipleOfTarget(_)), Some(cap)) = (shaping.cap, &parsed.shaping.cap) {
            cx.error(cap.span, "a SPIFF has no target: use `max_amount` or `cap: {amount: …}`");
        }
        let spec = parsed.spec;
        let measure = cx.measure(&spec.measure);
        if let Some(m) = &measure {
            if !matches!(m, MeasureRef::Deals(_) | MeasureRef::GrossMargin | MeasureRef::Declared { .. }) {
                cx.error(
                    spec.measure.span,
                    "a SPIFF pays on a deal measure (bookings, expansion, …) or a declared measure",
                );
            }
        }
        let pay = match (&spec.per_unit, &spec.rate) {
            (Some(p), None) => Some(Pay::PerUnit(p.value)),
            (None, Some(r)) => Some(Pay::Rate(r.value)),
            _ => {
                cx.error(parsed.core.id.span, "a SPIFF takes exactly one of `per_unit` and `rate`");
                None
            }
        };
        for n in [&spec.per_unit, &spec.rate, &spec.min, &spec.max_amount].into_iter().flatten() {
            if n.value < Decimal::ZERO {
                cx.error(n.span, "this value cannot be negative");
            }
        }
        let date = |text: &Option<Spanned<String>>, default: NaiveDate, cx: &mut BuildContext<'_>| match text {
            None => default,
            Some(t) => parse_date(t).unwrap_or_else(|| {
                cx.error(t.span, format!("`{}` is not a date (write YYYY-MM-DD)", t.value));
                default
            }),
        };
        let from = date(&spec.from, cx.calendar.start(), cx);
        let to = date(&spec.to, cx.calendar.end(), cx);
        let span = spec.from.as_ref().or(spec.to.as_ref()).map(|s| s.span).unwrap_or(parsed.core.id.span);
        if from > to {
            cx.error(span, format!("the SPIFF window runs backwards: from {from} to {to}"));
        } else if to < cx.calendar.start() || from > cx.calendar.end() {
            cx.error(
                span,
                format!(
                    "the SPIFF window {from}–{to} lies outside the plan year {}–{}",
                    cx.calendar.start(),
                    cx.calendar.end()
                ),
            );
        }
        if cx.diagnostics[errors_before..].iter().any(|d| d.is_error()) {
            return None;
        }
        Some(Arc::new(Spiff {
            core: Core::of(&parsed.core, &parsed.shaping),
            measure: measure?,
            pay: pay?,
            from,
            to,
            min: spec.min.map_or(Decimal::ZERO, |n| n.value),
            max_amount: spec.max_amount.map(|n| n.value),
            shaping,
        }))
    }
}

#[derive(Debug)]
struct Spiff {
    core: Core,
    measure: MeasureRef,
    pay: Pay,
    from: NaiveDate,
    to: NaiveDate,
    min: Decimal,
    max_amount: Option<Decimal>,
    shaping: Shaping,
}

impl Spiff {
    /// `(units, amount)` counted in window `w`, seen from the statement's period.
    fn count(&self, cx: &EvalContext<'_>, w: Window) -> Result<(Decimal, Decimal), EvalError> {
        let mut units = Decimal::ZERO;
        let mut amount = Decimal::ZERO;
        match &self.measure {
            MeasureRef::Deals(_) | MeasureRef::GrossMargin => {
                let kind = match self.measure {
                    MeasureRef::Deals(kind) => kind,
                    _ => DealKind::New,
                };
                for credit in cx.credits() {
                    let counts = credit.kind == kind
                        && w.contains(credit.period)
                        && self.from <= credit.close_date
                        && credit.close_date <= self.to
                        && !credit.removed(cx.period(), self.shaping.clawback_days);
                    if counts {
                        units = arith::add(units, credit.share)?;
                        let dollars = if matches!(self.measure, MeasureRef::GrossMargin) {
                            credit.gross_margin
                        } else {
                            credit.amount
                        };
                        amount = arith::add(amount, dollars)?;
                    }
                }
            }
            _ => {
                // measures.csv values count for periods that overlap the SPIFF's dates.
                let calendar = &cx.plan().calendar;
                for k in w.periods() {
                    let period = calendar.period(k);
                    if period.end < self.from || period.start > self.to {
                        continue;
                    }
                    let value = cx.measure(&self.measure, Window::single(k), self.shaping.clawback_days)?;
                    units = arith::add(units, value)?;
                    amount = arith::add(amount, value)?;
                }
            }
        }
        Ok((units, amount))
    }
}

impl Component for Spiff {
    fn core(&self) -> &Core {
        &self.core
    }

    /// A SPIFF's date windows need each credited deal's close date.
    fn needs_credits(&self) -> bool {
        true
    }

    fn profile(&self) -> Profile {
        Profile {
            new_logo: matches!(self.measure, MeasureRef::Deals(DealKind::New)),
            measures: vec![self.measure.clone()],
            ..Profile::default()
        }
    }

    fn describe(&self, cx: &DescribeContext<'_>) -> Description {
        let unit = match &self.measure {
            MeasureRef::Declared { name, .. } => format!("of your {}", name.replace('_', " ")),
            MeasureRef::Deals(DealKind::New) => "new deal credited to you (a split deal counts its share)".into(),
            MeasureRef::Deals(kind) => format!("{} deal credited to you", kind.measure_name().trim_end_matches('s')),
            other => format!("unit of {other}"),
        };
        let pay = match self.pay {
            Pay::PerUnit(amount) => format!("{} for each {unit}", cx.money(amount)),
            Pay::Rate(rate) => format!("{} of {}", format_percent(rate), super::measure_words(&self.measure)),
        };
        let mut out = vec![format!(
            "A short-term bonus (SPIFF): {pay}, counting from {} to {} (both days included).",
            self.from, self.to
        )];
        if !self.min.is_zero() {
            out.push(format!(
                "Nothing pays until you reach {} of them in the plan year so far; from then on every one in the {} pays.",
                format_ratio(self.min),
                cx.period_word()
            ));
        }
        if let Some(max) = self.max_amount {
            out.push(format!("It pays at most {} in the year.", cx.money(max)));
        }
        self.shaping.describe(&self.core, cx, None, &mut out);
        Description { sentences: out, driver: Driver::None }
    }

    fn evaluate(&self, cx: &EvalContext<'_>) -> Result<Outcome, EvalError> {
        let w = cx.window(self.core.window);
        let (units, amount) = self.count(cx, w)?;
        let (year_units, _) =
            if w == Window::ytd(cx.period()) { (units, amount) } else { self.count(cx, Window::ytd(cx.period()))? };
        let mut trace = cx.trace();
        trace.put("window", || json!(cx.window_label(w)));
        trace.put("from", || json!(self.from.to_string()));
        trace.put("to", || json!(self.to.to_string()));
        trace.put("units", || dec(units));
        trace.put("amount", || dec(amount));
        trace.put("units_year_to_date", || dec(year_units));
        if year_units < self.min {
            trace.put("min", || dec(self.min));
            let mut outcome = Outcome::zero(format!(
                "{} {} unit(s) so far, below the minimum {}: pays 0",
                self.measure,
                format_ratio(year_units),
                format_ratio(self.min)
            ));
            outcome.trace = trace;
            return Ok(outcome);
        }
        let (base, mut explain) = match self.pay {
            Pay::PerUnit(per_unit) => (
                arith::mul(per_unit, units)?,
                format!(
                    "{} × {} {} unit(s) closed {}–{}",
                    format_money_grouped(per_unit, 2),
                    format_ratio(units),
                    self.measure,
                    self.from,
                    self.to
                ),
            ),
            Pay::Rate(rate) => (
                arith::mul(rate, amount)?,
                format!(
                    "{} on {} {} closed {}–{}",
                    format_percent(rate),
                    format_money_grouped(amount, 2),
                    self.measure,
                    self.from,
                    self.to
                ),
            ),
        };
        let mut notes = Vec::new();
        let mut value = self.shaping.apply(cx, w, Frac::whole(base), None, &mut trace, &mut notes)?;
        if let Some(max) = self.max_amount {
            // The yearly maximum: a ytd window holds it directly; a period window holds what is
            // left after earlier periods' payments.
            let room = match self.core.window {
                WindowKind::Ytd | WindowKind::YtdAnnual => max,
                WindowKind::Period => (max - cx.paid_before()).max(Decimal::ZERO),
            };
            if value.cmp_dec(room)? == std::cmp::Ordering::Greater {
                trace.put("max_amount", || json!({"max": dec(max), "room": dec(room), "before": frac_value(&value)}));
                value = Frac::whole(room);
                notes.push(format!("held to the yearly maximum {}", format_money_grouped(max, 2)));
            }
        }
        if !notes.is_empty() {
            explain = format!("{explain}; {}", notes.join("; "));
        }
        Ok(Outcome { value: value.value()?, attainment: None, explain, trace, sublines: Vec::new() })
    }
}
