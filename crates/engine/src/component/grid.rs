//! `grid`: a payout factor of TI looked up in a two-dimensional table on two attainments
//! (revenue × EBITDA, an MBO score × a profit multiplier), as in many SEC-filed management
//! bonus plans: the cell of the highest row and column reached, or interpolated between the
//! four cells around the point.

use std::cmp::Ordering;
use std::sync::Arc;

use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{Value, json};

use super::shaping::weighted;
use super::{
    BuildContext, Component, ComponentType, Core, DescribeContext, Description, Driver, Outcome, Profile, Shaping,
    Target, TypeInfo, dec, frac_value, measure_words,
};
use super::{EvalContext, EvalError};
use crate::arith::{self, Frac};
use crate::calendar::Window;
use crate::measure::MeasureRef;
use crate::number::{format_money_grouped, format_percent, format_ratio};
use crate::spanned::{Num, Spanned};
use crate::yaml::Node;

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
struct GridSpec {
    /// The measure read down the grid's rows, and where each row starts.
    rows: Spanned<AxisSpec>,
    /// The measure read across the grid's columns, and where each column starts.
    columns: Spanned<AxisSpec>,
    /// Payout factors of TI × weight: one list per row (in the order of `rows.at`), each with
    /// one factor per column (in the order of `columns.at`).
    payout: Spanned<Vec<Spanned<Vec<Num>>>>,
    /// `false`: the cell of the highest row and column reached. `true`: interpolated in a
    /// straight line between neighbouring rows and columns (flat past the last).
    #[schemars(extend("default" = false))]
    #[serde(default)]
    interpolate: bool,
    /// Share of TI the factors are taken of, and of multiple_of_target caps.
    #[schemars(extend("default" = 1))]
    #[serde(default)]
    weight: Option<Num>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
struct AxisSpec {
    /// A payee, declared or company measure.
    measure: Spanned<String>,
    /// What the measure is divided by: `quota` (the payee's quota), an annual number, a
    /// $param or company.NAME. Without it the axis reads the measure itself (a score or a
    /// ratio such as company.net_profit_pct).
    #[serde(default)]
    #[schemars(schema_with = "crate::component::target_schema")]
    target: Option<Spanned<String>>,
    /// Where each row (or column) starts, strictly ascending: attainments of the target, or
    /// values of the measure without one.
    at: Spanned<Vec<Num>>,
}

pub struct GridType;

impl ComponentType for GridType {
    fn name(&self) -> &str {
        "grid"
    }

    fn info(&self) -> TypeInfo {
        TypeInfo {
            name: "grid".into(),
            summary: "Payout of TI looked up in a table on two attainments (e.g. revenue × EBITDA)".into(),
            source: "built-in".into(),
            keys: Vec::new(),
        }
    }

    fn schema(&self, generator: &mut schemars::SchemaGenerator) -> serde_json::Value {
        super::builtin_schema::<GridSpec>(generator, &self.info(), true)
    }

    fn build(&self, node: &Node, cx: &mut BuildContext<'_>) -> Option<Arc<dyn Component>> {
        let parsed = cx.parse::<GridSpec>(node, true)?;
        let spec = parsed.spec;
        let errors_before = cx.diagnostics.len();
        let shaping = Shaping::build(&parsed.shaping, cx);
        let rows = build_axis(&spec.rows, "rows", cx);
        let columns = build_axis(&spec.columns, "columns", cx);
        let mut payout = Vec::with_capacity(spec.payout.len());
        if spec.payout.len() != spec.rows.at.len() {
            cx.error(
                spec.payout.span,
                format!(
                    "`payout` has {} row(s) but `rows.at` has {} start(s): give one row of factors per row",
                    spec.payout.len(),
                    spec.rows.at.len()
                ),
            );
        }
        for row in spec.payout.iter() {
            if row.len() != spec.columns.at.len() {
                cx.error(
                    row.span,
                    format!(
                        "this payout row has {} factor(s) but `columns.at` has {} start(s)",
                        row.len(),
                        spec.columns.at.len()
                    ),
                );
            }
            for factor in row.iter() {
                if factor.value < Decimal::ZERO {
                    cx.error(factor.span, "a payout factor cannot be negative");
                }
            }
            payout.push(row.iter().map(|n| n.value).collect::<Vec<_>>());
        }
        let weight = spec.weight.as_ref().map_or(Decimal::ONE, |w| w.value);
        if let Some(w) = &spec.weight {
            if w.value < Decimal::ZERO {
                cx.error(w.span, "a weight cannot be negative");
            }
        }
        if cx.diagnostics[errors_before..].iter().any(|d| d.is_error()) {
            return None;
        }
        let (rows, columns) = (rows?, columns?);
        let reads_profit =
            |axis: &Axis| matches!(&axis.measure, MeasureRef::Company(name) if name.starts_with("net_profit"));
        let profit_linked = if reads_profit(&rows) || reads_profit(&columns) {
            cx.role_ti.checked_mul(weight).unwrap_or(Decimal::MAX)
        } else {
            Decimal::ZERO
        };
        Some(Arc::new(Grid {
            core: Core::of(&parsed.core, &parsed.shaping),
            rows,
            columns,
            payout,
            interpolate: spec.interpolate,
            weight,
            shaping,
            profit_linked,
        }))
    }
}

/// What an axis divides its measure by.
#[derive(Debug, Clone)]
pub(super) enum Base {
    Quota,
    Target(Target),
    /// The measure's own value (a score or a ratio).
    Value,
}

#[derive(Debug)]
struct Axis {
    measure: MeasureRef,
    base: Base,
    at: Vec<Decimal>,
}

/// What a reading is divided by: nothing, `quota`, or a target (a number, $param or
/// company.NAME), reporting a zero or malformed target.
pub(super) fn build_base(text: Option<&Spanned<String>>, cx: &mut BuildContext<'_>) -> Option<Base> {
    match text {
        None => Some(Base::Value),
        Some(text) if text.value == "quota" => Some(Base::Quota),
        Some(text) => match cx.target(text) {
            Some(Target::Amount(value)) if value.is_zero() => {
                cx.error(text.span, "a target cannot be zero");
                None
            }
            Some(target) => Some(Base::Target(target)),
            None => None,
        },
    }
}

fn build_axis(axis: &Spanned<AxisSpec>, name: &str, cx: &mut BuildContext<'_>) -> Option<Axis> {
    let measure = cx.measure(&axis.measure);
    let base = build_base(axis.target.as_ref(), cx);
    if axis.at.is_empty() {
        cx.error(axis.at.span, format!("`{name}.at` needs at least one start"));
    }
    let mut at: Vec<Decimal> = Vec::with_capacity(axis.at.len());
    for start in axis.at.iter() {
        if let Some(previous) = at.last() {
            if start.value <= *previous {
                cx.error(
                    start.span,
                    format!("grid axes must be strictly ascending: `{name}.at` has {} after {previous}", start.value),
                );
            }
        }
        at.push(start.value);
    }
    Some(Axis { measure: measure?, base: base?, at })
}

#[derive(Debug)]
struct Grid {
    core: Core,
    rows: Axis,
    columns: Axis,
    /// `payout[row][column]`.
    payout: Vec<Vec<Decimal>>,
    interpolate: bool,
    weight: Decimal,
    shaping: Shaping,
    /// TI × weight when an axis reads company net profit (for the executive lint).
    profit_linked: Decimal,
}

/// A measure over window `w` divided by its base (or the measure itself), with the measure's
/// value: the reading of a grid axis or a condition.
pub(super) fn read(
    cx: &EvalContext<'_>,
    measure: &MeasureRef,
    base: &Base,
    w: Window,
    clawback_days: Option<u32>,
) -> Result<(Frac, Decimal), EvalError> {
    let measured = cx.measure_ratio(measure, w, clawback_days)?;
    let divisor = match base {
        Base::Value => return Ok((measured, measured.value()?)),
        Base::Quota => cx.quota(w),
        Base::Target(target) => target.for_window(cx, w)?,
    };
    let value = measured.value()?;
    if divisor.is_zero() {
        if value.is_zero() {
            return Ok((Frac::ZERO, value));
        }
        return Err(EvalError::Invalid(format!(
            "{measure} of {} on a zero {}",
            format_money_grouped(value, 2),
            if matches!(base, Base::Quota) { "quota" } else { "target" }
        )));
    }
    Ok((measured.div(&divisor)?, value))
}

/// "company.revenue 1,050,000.00 = 105% of company.budget_revenue".
pub(super) fn reading_text(
    measure: &MeasureRef,
    base: &Base,
    value: Decimal,
    reading: &Frac,
) -> Result<String, EvalError> {
    Ok(match base {
        Base::Value => format!("{measure} {}", super::measure_value(measure, value)),
        Base::Quota => {
            format!("{measure} {} = {} of quota", format_money_grouped(value, 2), format_percent(reading.value()?))
        }
        Base::Target(target) => format!(
            "{measure} {} = {} of {}",
            super::measure_value(measure, value),
            format_percent(reading.value()?),
            target.describe()
        ),
    })
}

/// Where a reading falls on an axis: below the first start, at or past the last, or between
/// starts `i` and `i + 1` at `fraction` of the way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Below,
    Between { i: usize },
    Last,
}

fn place(at: &[Decimal], reading: &Frac) -> Result<Place, EvalError> {
    let Some(first) = at.first() else { return Ok(Place::Below) };
    if reading.cmp_dec(*first)? == Ordering::Less {
        return Ok(Place::Below);
    }
    for i in 0..at.len() - 1 {
        if reading.cmp_dec(at[i + 1])? == Ordering::Less {
            return Ok(Place::Between { i });
        }
    }
    Ok(Place::Last)
}

impl Grid {
    /// The axis reading over the window: the measure over its base, or the measure itself.
    fn reading(&self, cx: &EvalContext<'_>, axis: &Axis, w: Window) -> Result<(Frac, Decimal), EvalError> {
        read(cx, &axis.measure, &axis.base, w, self.shaping.clawback_days)
    }

    /// The payout factor at `(row, column)` and the words for how it was found.
    fn factor(&self, row: &Frac, column: &Frac) -> Result<(Frac, String), EvalError> {
        let (r, c) = (place(&self.rows.at, row)?, place(&self.columns.at, column)?);
        if r == Place::Below || c == Place::Below {
            let which = if r == Place::Below { "row" } else { "column" };
            return Ok((Frac::ZERO, format!("below the grid's first {which}: 0")));
        }
        let index = |p: Place, len: usize| match p {
            Place::Between { i } => i,
            _ => len - 1,
        };
        let (ri, ci) = (index(r, self.rows.at.len()), index(c, self.columns.at.len()));
        let cell = |ri: usize, ci: usize| self.payout[ri][ci];
        if !self.interpolate {
            let words = format!(
                "cell row {} × column {} = {}",
                axis_words(&self.rows, self.rows.at[ri]),
                axis_words(&self.columns, self.columns.at[ci]),
                format_percent(cell(ri, ci))
            );
            return Ok((Frac::whole(cell(ri, ci)), words));
        }
        // Bilinear: along the row between its two columns, then between the two rows.
        let share = |p: Place, at: &[Decimal], x: &Frac| -> Result<(usize, usize, Frac), EvalError> {
            match p {
                Place::Between { i } => {
                    let span = arith::sub(at[i + 1], at[i])?;
                    let offset = x.add(&Frac::whole(-at[i]))?;
                    Ok((i, i + 1, offset.div(&Frac::whole(span))?))
                }
                _ => Ok((at.len() - 1, at.len() - 1, Frac::ZERO)),
            }
        };
        let (r0, r1, tr) = share(r, &self.rows.at, row)?;
        let (c0, c1, tc) = share(c, &self.columns.at, column)?;
        let lerp = |a: Decimal, b: Decimal, t: &Frac| -> Result<Frac, EvalError> {
            Ok(Frac::whole(a).add(&t.mul_dec(arith::sub(b, a)?)?)?)
        };
        let low = lerp(cell(r0, c0), cell(r0, c1), &tc)?;
        let high = lerp(cell(r1, c0), cell(r1, c1), &tc)?;
        let diff = high.add(&low.mul_dec(Decimal::NEGATIVE_ONE)?)?;
        let factor = low.add(&diff.mul(&tr)?)?;
        let words = format!(
            "interpolated between rows {}–{} and columns {}–{} (cells {}, {}, {}, {}) = {}",
            axis_words(&self.rows, self.rows.at[r0]),
            axis_words(&self.rows, self.rows.at[r1]),
            axis_words(&self.columns, self.columns.at[c0]),
            axis_words(&self.columns, self.columns.at[c1]),
            format_percent(cell(r0, c0)),
            format_percent(cell(r0, c1)),
            format_percent(cell(r1, c0)),
            format_percent(cell(r1, c1)),
            format_percent(factor.value()?)
        );
        Ok((factor, words))
    }
}

/// An axis start in words: "100%" of a target, or the measure's value.
fn axis_words(axis: &Axis, start: Decimal) -> String {
    match axis.base {
        Base::Value => super::measure_value(&axis.measure, start),
        _ => format_percent(start),
    }
}

fn reading_words(axis: &Axis, value: Decimal, reading: &Frac) -> Result<String, EvalError> {
    reading_text(&axis.measure, &axis.base, value, reading)
}

impl Component for Grid {
    fn core(&self) -> &Core {
        &self.core
    }

    fn profile(&self) -> Profile {
        Profile {
            profit_linked: self.profit_linked,
            measures: vec![self.rows.measure.clone(), self.columns.measure.clone()],
            ..Profile::default()
        }
    }

    fn describe(&self, cx: &DescribeContext<'_>) -> Description {
        let ti = cx.role_ti.checked_mul(self.weight).unwrap_or(cx.role_ti);
        let against = |axis: &Axis| match &axis.base {
            Base::Value => measure_words(&axis.measure),
            Base::Quota => format!("{} against your quota", measure_words(&axis.measure)),
            Base::Target(target) => format!("{} against {}", measure_words(&axis.measure), target.describe()),
        };
        let mut out = vec![format!(
            "A bonus looked up in a table on two results at once: {} (the rows) and {} (the columns). Each cell \
             is a share of {} a year.",
            against(&self.rows),
            against(&self.columns),
            cx.money(ti)
        )];
        for (i, start) in self.rows.at.iter().enumerate() {
            let cells: Vec<String> = self
                .columns
                .at
                .iter()
                .zip(&self.payout[i])
                .map(|(column, factor)| {
                    format!(
                        "{} when {} is from {}",
                        format_percent(*factor),
                        self.columns.measure,
                        axis_words(&self.columns, *column)
                    )
                })
                .collect();
            out.push(format!(
                "With {} from {}: {} (shares of {}).",
                self.rows.measure,
                axis_words(&self.rows, *start),
                cells.join(", "),
                cx.money(ti)
            ));
        }
        out.push(if self.interpolate {
            "Between the rows and columns the payout moves in a straight line; below the first row or column it \
             pays nothing, past the last it stays at the last cell."
                .into()
        } else {
            "It pays the cell of the highest row and the highest column reached, with no steps in between; below \
             the first row or column it pays nothing."
                .into()
        });
        self.shaping.describe(&self.core, cx, Some(ti), &mut out);
        Description { sentences: out, driver: Driver::None }
    }

    fn evaluate(&self, cx: &EvalContext<'_>) -> Result<Outcome, EvalError> {
        let w = cx.window(self.core.window);
        let (row, row_value) = self.reading(cx, &self.rows, w)?;
        let (column, column_value) = self.reading(cx, &self.columns, w)?;
        let (factor, cell_words) = self.factor(&row, &column)?;
        let ti = cx.incentive(cx.role_ti(), w)?;
        let cap_target = weighted(ti, self.weight)?;
        let base = cap_target.mul(&factor)?;
        let mut trace = cx.trace();
        trace.put("window", || json!(cx.window_label(w)));
        trace.put(
            "rows",
            || json!({"measure": self.rows.measure.to_string(), "value": dec(row_value), "reading": frac_value(&row)}),
        );
        trace.put("columns", || {
            json!({"measure": self.columns.measure.to_string(), "value": dec(column_value), "reading": frac_value(&column)})
        });
        trace.put("payout_factor", || frac_value(&factor));
        trace.put("interpolate", || Value::Bool(self.interpolate));
        trace.put("target_incentive", || frac_value(&ti));
        trace.put("weight", || dec(self.weight));
        trace.put("base", || frac_value(&base));
        let explain = if cx.explains() {
            let weight = if self.weight == Decimal::ONE {
                String::new()
            } else {
                format!(" × weight {}", format_ratio(self.weight))
            };
            format!(
                "{}; {}: {cell_words} of TI {}{weight}",
                reading_words(&self.rows, row_value, &row)?,
                reading_words(&self.columns, column_value, &column)?,
                format_money_grouped(ti.value()?, 2)
            )
        } else {
            String::new()
        };
        let mut notes = Vec::new();
        let value = self.shaping.apply(cx, w, base, Some(cap_target), &mut trace, &mut notes)?;
        let explain = if notes.is_empty() { explain } else { format!("{explain}; {}", notes.join("; ")) };
        Ok(Outcome { value: value.value()?, attainment: None, explain, trace, sublines: Vec::new() })
    }
}
