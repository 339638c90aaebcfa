//! `tiered`: rate tiers (marginal or retroactive) or a payout curve on a measure against
//! the payee's quota or a target (SPEC §3), with the role's relieved-quota rules (SPEC §6).

use std::cmp::Ordering;
use std::sync::Arc;

use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{Value, json};

use super::shaping::weighted;
use super::{
    BuildContext, Component, ComponentType, Core, DescribeContext, Description, Design, Driver, Outcome, Profile,
    Shaping, Target, TypeInfo, curve_words, dec, frac_value, measure_words,
};
use super::{EvalContext, EvalError};
use crate::arith::{self, Frac, Tier};
use crate::measure::{DealKind, MeasureRef};
use crate::number::{format_money_grouped, format_percent, format_ratio};
use crate::spanned::{Num, Spanned};
use crate::spec::{PointSpec, StepSpec, TierSpec};
use crate::yaml::Node;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Basis {
    #[default]
    Rate,
    Curve,
    /// Pays the level of the highest step reached, with no interpolation (a step curve).
    Step,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    #[default]
    Marginal,
    Retroactive,
}

/// Which attainment a curve component sees: `plain` (measure over quota) or `relieved` (the
/// role's blended attainment of `quota.attainment`; see docs/plan-format.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AttainmentChoice {
    #[default]
    Plain,
    Relieved,
}

/// What rate tiers are applied to: the window's total (the default) or each deal on its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Per {
    /// The window's total against the quota or target: tier starts are attainments.
    #[default]
    Window,
    /// Each credited deal on its own: tier starts are deal amounts in money.
    Deal,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
struct TieredSpec {
    /// What is paid on: a deal measure (bookings, expansion, …), the cash collected on those
    /// deals (collected, collected_expansion, collected_renewals), a declared measure or
    /// company.NAME.
    measure: Spanned<String>,
    /// Rate tiers on dollars, a payout curve on attainment × TI, or steps of TI (step).
    #[schemars(extend("default" = "rate"))]
    #[serde(default)]
    basis: Option<Spanned<Basis>>,
    /// Marginal pays each band at its rate; retroactive pays all at the highest tier reached.
    #[schemars(extend("default" = "marginal"))]
    #[serde(default)]
    mode: Option<Spanned<Mode>>,
    /// Rate tiers, first from 0, strictly ascending (basis: rate).
    #[serde(default)]
    tiers: Option<Spanned<Vec<TierSpec>>>,
    /// `deal` applies the tiers to each credited deal on its own (tier starts in money, e.g.
    /// 1 % to 10,000, 2 % to 50,000, 3 % above, per deal); `window` to the window's total.
    #[schemars(extend("default" = "window"))]
    #[serde(default)]
    per: Option<Spanned<Per>>,
    /// Payout factor of TI by attainment, linearly interpolated (basis: curve).
    #[serde(default)]
    curve: Option<Spanned<Vec<PointSpec>>>,
    /// Payout factor of TI from each attainment up to the next step, no interpolation
    /// (basis: step): `[{from: 0.9, payout: 0.5}, {from: 1.0, payout: 1.0}]`.
    #[serde(default)]
    steps: Option<Spanned<Vec<StepSpec>>>,
    /// Continue the last segment's slope past the last point.
    #[schemars(extend("default" = false))]
    #[serde(default)]
    extrapolate: bool,
    /// Share of TI for curve payouts and multiple_of_target caps.
    #[schemars(extend("default" = 1))]
    #[serde(default)]
    weight: Option<Num>,
    /// Attainment below this pays 0.
    #[serde(default)]
    threshold: Option<Num>,
    /// Annual target instead of the payee's quota (the default): a number, a $param or
    /// company.NAME.
    #[serde(default)]
    #[schemars(schema_with = "crate::component::target_schema")]
    target: Option<Spanned<String>>,
    /// Curve components may see the role's blended attainment.
    #[schemars(extend("default" = "plain"))]
    #[serde(default)]
    attainment: Option<Spanned<AttainmentChoice>>,
}

pub struct TieredType;

impl ComponentType for TieredType {
    fn name(&self) -> &str {
        "tiered"
    }

    fn info(&self) -> TypeInfo {
        TypeInfo {
            name: "tiered".into(),
            summary: "Commission tiers and accelerators on a measure against quota or a target".into(),
            source: "built-in".into(),
            keys: Vec::new(),
        }
    }

    fn schema(&self, generator: &mut schemars::SchemaGenerator) -> serde_json::Value {
        super::builtin_schema::<TieredSpec>(generator, &self.info(), true)
    }

    fn build(&self, node: &Node, cx: &mut BuildContext<'_>) -> Option<Arc<dyn Component>> {
        let parsed = cx.parse::<TieredSpec>(node, true)?;
        let spec = parsed.spec;
        let errors_before = cx.diagnostics.len();
        let measure = cx.measure(&spec.measure);
        let shaping = Shaping::build(&parsed.shaping, cx);
        let basis = spec.basis.as_ref().map_or(Basis::Rate, |b| b.value);
        let mode = spec.mode.as_ref().map_or(Mode::Marginal, |m| m.value);
        let target = spec.target.as_ref().and_then(|t| cx.target(t));
        if let Some(Target::Amount(value)) = &target {
            if value.is_zero() {
                let span = spec.target.as_ref().map(|t| t.span).unwrap_or_default();
                cx.error(span, "a target cannot be zero");
            }
        }
        if basis != Basis::Step {
            if let Some(steps) = &spec.steps {
                cx.error(steps.span, "`steps` are for `basis: step`; add `basis: step` or use `curve`/`tiers`");
            }
        }
        if basis == Basis::Step && spec.extrapolate {
            let span = node.get("extrapolate").map_or(parsed.core.id.span, |n| n.span);
            cx.error(span, "`extrapolate` is for `basis: curve`: a step payout stays at its top step");
        }
        let method = match basis {
            Basis::Step => {
                if let Some(curve) = &spec.curve {
                    cx.error(curve.span, "`curve` is for `basis: curve`; a step payout lists `steps`");
                }
                if let Some(tiers) = &spec.tiers {
                    cx.error(tiers.span, "`tiers` are for `basis: rate`; a step payout lists `steps`");
                }
                if let Some(m) = &spec.mode {
                    cx.error(m.span, "`mode` is for `basis: rate`");
                }
                let Some(steps) = &spec.steps else {
                    cx.error(parsed.core.id.span, "a `basis: step` component needs `steps`");
                    return None;
                };
                Method::Step { steps: build_steps(steps, cx) }
            }
            Basis::Rate => {
                if let Some(curve) = &spec.curve {
                    cx.error(curve.span, "`curve` is for `basis: curve`; this component has `basis: rate`");
                }
                let Some(tiers) = &spec.tiers else {
                    cx.error(parsed.core.id.span, "a `basis: rate` component needs `tiers`");
                    return None;
                };
                Method::Rate { mode, tiers: build_tiers(tiers, cx) }
            }
            Basis::Curve => {
                if let Some(tiers) = &spec.tiers {
                    cx.error(tiers.span, "`tiers` are for `basis: rate`; this component has `basis: curve`");
                }
                if let Some(m) = &spec.mode {
                    cx.error(m.span, "`mode` is for `basis: rate`");
                }
                let Some(curve) = &spec.curve else {
                    cx.error(parsed.core.id.span, "a `basis: curve` component needs `curve`");
                    return None;
                };
                Method::Curve { points: build_curve(curve, cx), extrapolate: spec.extrapolate }
            }
        };
        let relieved = spec.attainment.as_ref().is_some_and(|a| a.value == AttainmentChoice::Relieved);
        if let Some(choice) = &spec.attainment {
            if relieved && (basis == Basis::Rate || target.is_some()) {
                cx.error(
                    choice.span,
                    "`attainment: relieved` is only for `basis: curve` components on the quota: a blend \
                     credits performance, not dollars, so it cannot scale a rate on dollars or a target",
                );
            }
        }
        let per_deal = match (&spec.per, &measure) {
            (Some(per), measure) if per.value == Per::Deal => {
                if basis != Basis::Rate {
                    cx.error(per.span, "`per: deal` applies rate tiers to each deal: it needs `basis: rate`");
                }
                if let Some(target) = &spec.target {
                    cx.error(target.span, "`per: deal` tiers start at deal amounts, not at a share of a target");
                }
                if let Some(threshold) = &spec.threshold {
                    cx.error(threshold.span, "`per: deal` has no attainment to compare with a `threshold`");
                }
                match measure {
                    Some(MeasureRef::Deals(kind)) => Some(*kind),
                    Some(other) => {
                        cx.error(
                            spec.measure.span,
                            format!(
                                "`per: deal` needs a deal measure (bookings, expansion, renewals, contraction, \
                                 churn); `{other}` has no deals"
                            ),
                        );
                        None
                    }
                    None => None,
                }
            }
            _ => None,
        };
        let weight = spec.weight.as_ref().map_or(Decimal::ONE, |w| w.value);
        if let Some(w) = &spec.weight {
            if w.value < Decimal::ZERO {
                cx.error(w.span, "a weight cannot be negative");
            }
        }
        if let Some(t) = &spec.threshold {
            if t.value < Decimal::ZERO {
                cx.error(t.span, "a threshold cannot be negative");
            }
        }
        if cx.diagnostics[errors_before..].iter().any(|d| d.is_error()) {
            return None;
        }
        let measure = measure?;
        let profit_measure = matches!(&measure, MeasureRef::Company(name) if name.starts_with("net_profit"));
        let profit_linked = if profit_measure && matches!(method, Method::Curve { .. } | Method::Step { .. }) {
            cx.role_ti.checked_mul(weight).unwrap_or(Decimal::MAX)
        } else {
            Decimal::ZERO
        };
        Some(Arc::new(Tiered {
            core: Core::of(&parsed.core, &parsed.shaping),
            measure,
            profit_linked,
            method,
            weight,
            threshold: spec.threshold.map(|t| t.value),
            target,
            relieved,
            shaping,
            per_deal,
        }))
    }
}

pub(crate) fn build_tiers(tiers: &Spanned<Vec<TierSpec>>, cx: &mut BuildContext<'_>) -> Vec<Tier> {
    if tiers.is_empty() {
        cx.error(tiers.span, "`tiers` needs at least one tier");
    }
    let mut out = Vec::with_capacity(tiers.len());
    for (i, tier) in tiers.iter().enumerate() {
        if i == 0 && !tier.from.value.is_zero() {
            cx.error(tier.from.span, "the first tier must start `from: 0`");
        }
        if let Some(previous) = out.last().map(|t: &Tier| t.from) {
            if tier.from.value <= previous {
                cx.error(
                    tier.from.span,
                    format!(
                        "tiers must be in strictly ascending order: `from: {}` follows `from: {previous}`",
                        tier.from.value
                    ),
                );
            }
        }
        if tier.rate.value < Decimal::ZERO {
            cx.error(tier.rate.span, format!("a tier rate cannot be negative (found {})", tier.rate.value));
        }
        out.push(Tier { from: tier.from.value, rate: tier.rate.value });
    }
    out
}

pub(crate) fn build_curve(curve: &Spanned<Vec<PointSpec>>, cx: &mut BuildContext<'_>) -> Vec<(Decimal, Decimal)> {
    if curve.is_empty() {
        cx.error(curve.span, "a curve needs at least one point");
    }
    let mut out: Vec<(Decimal, Decimal)> = Vec::with_capacity(curve.len());
    for (a, p) in curve.iter() {
        if let Some(&(previous, _)) = out.last() {
            if a.value <= previous {
                cx.error(a.span, "curve points must be in strictly ascending order of attainment");
            }
        }
        if p.value < Decimal::ZERO {
            cx.error(p.span, "a curve's payout factor cannot be negative");
        }
        out.push((a.value, p.value));
    }
    out
}

/// Steps of a step payout, `(from, payout factor)`: at least one, strictly ascending in
/// `from`, factors not negative.
pub(crate) fn build_steps(steps: &Spanned<Vec<StepSpec>>, cx: &mut BuildContext<'_>) -> Vec<(Decimal, Decimal)> {
    if steps.is_empty() {
        cx.error(steps.span, "`steps` needs at least one step");
    }
    let mut out: Vec<(Decimal, Decimal)> = Vec::with_capacity(steps.len());
    for step in steps.iter() {
        if let Some(&(previous, _)) = out.last() {
            if step.from.value <= previous {
                cx.error(
                    step.from.span,
                    format!(
                        "steps must be in strictly ascending order: `from: {}` follows `from: {previous}`",
                        step.from.value
                    ),
                );
            }
        }
        if step.from.value < Decimal::ZERO {
            cx.error(step.from.span, "a step cannot start below 0");
        }
        if step.payout.value < Decimal::ZERO {
            cx.error(step.payout.span, format!("a step's payout cannot be negative (found {})", step.payout.value));
        }
        out.push((step.from.value, step.payout.value));
    }
    out
}

/// "nothing below 90% of quota; 50% of TI from 90%; …": a step payout in words.
pub(crate) fn steps_words(steps: &[(Decimal, Decimal)], at: impl Fn(Decimal) -> String) -> String {
    let mut parts = Vec::new();
    if let Some((first, _)) = steps.first() {
        if !first.is_zero() {
            parts.push(format!("nothing below {}", at(*first)));
        }
    }
    for (i, (from, payout)) in steps.iter().enumerate() {
        let until = match steps.get(i + 1) {
            Some((next, _)) => format!(" up to just under {}", format_percent(*next)),
            None => " and above".to_string(),
        };
        parts.push(format!("{} from {}{until}", format_percent(*payout), at(*from)));
    }
    format!("It pays in steps, the level of the highest step reached with nothing in between: {}.", parts.join("; "))
}

#[derive(Debug)]
enum Method {
    Rate { mode: Mode, tiers: Vec<Tier> },
    Curve { points: Vec<(Decimal, Decimal)>, extrapolate: bool },
    Step { steps: Vec<(Decimal, Decimal)> },
}

#[derive(Debug)]
struct Tiered {
    core: Core,
    measure: MeasureRef,
    method: Method,
    weight: Decimal,
    threshold: Option<Decimal>,
    target: Option<Target>,
    relieved: bool,
    shaping: Shaping,
    /// TI × weight when this is a curve on company profit (for the executive lint).
    profit_linked: Decimal,
    /// `per: deal`: the kind of deal whose credits each go through the tiers on their own.
    per_deal: Option<DealKind>,
}

impl Component for Tiered {
    fn reads_quota(&self) -> bool {
        // Tiers per deal price each deal in money: no quota is read.
        self.target.is_none() && self.per_deal.is_none()
    }

    fn core(&self) -> &Core {
        &self.core
    }

    fn profile(&self) -> Profile {
        let new_logo = matches!(
            self.measure,
            MeasureRef::Deals(DealKind::New) | MeasureRef::GrossMargin | MeasureRef::Collected(DealKind::New)
        );
        let retention = matches!(
            self.measure,
            MeasureRef::Deals(DealKind::Expansion | DealKind::Renewal | DealKind::Contraction | DealKind::Churn)
                | MeasureRef::Collected(DealKind::Expansion | DealKind::Renewal)
        );
        Profile { new_logo, retention, profit_linked: self.profit_linked, measures: vec![self.measure.clone()] }
    }

    fn needs_credits(&self) -> bool {
        self.per_deal.is_some()
    }

    fn design(&self, role_ti: Decimal) -> Option<Design> {
        if self.target.is_some() || self.per_deal.is_some() {
            return None;
        }
        let mut breakpoints = Vec::new();
        match &self.method {
            Method::Rate { mode, tiers } => {
                for tier in tiers.iter().filter(|t| !t.from.is_zero()) {
                    let kind = match mode {
                        Mode::Marginal => "from here",
                        Mode::Retroactive => "on everything from here",
                    };
                    breakpoints.push((tier.from, format!("{} {kind}", format_percent(tier.rate))));
                }
            }
            Method::Curve { points, .. } => {
                for (a, p) in points {
                    breakpoints.push((*a, format!("{} of TI", format_percent(*p))));
                }
            }
            Method::Step { steps } => {
                for (a, p) in steps {
                    breakpoints.push((*a, format!("step to {} of TI", format_percent(*p))));
                }
            }
        }
        if let Some(t) = self.threshold {
            breakpoints.push((t, "threshold".into()));
        }
        let cap = match self.shaping.cap {
            Some(super::Cap::Amount(amount)) => Some(amount),
            Some(super::Cap::MultipleOfTarget(multiple)) => {
                multiple.checked_mul(role_ti).and_then(|v| v.checked_mul(self.weight))
            }
            None => None,
        };
        Some(Design { breakpoints, cap })
    }

    fn describe(&self, cx: &DescribeContext<'_>) -> Description {
        let what = measure_words(&self.measure);
        let mut out = Vec::new();
        // Where a tier or curve point starts: in % of the quota and in money, or of the target.
        let target_amount = self.target.as_ref().and_then(|t| cx.target_amount(t));
        let at = |a: Decimal| match (&self.target, target_amount) {
            (None, _) => cx.of_quota(a),
            (Some(_), Some(amount)) => match a.checked_mul(amount) {
                Some(money) => format!("{} of target ({})", format_percent(a), cx.money(money)),
                None => format!("{} of target", format_percent(a)),
            },
            (Some(_), None) => format!("{} of target", format_percent(a)),
        };
        let against = match &self.target {
            None => "your quota".to_string(),
            Some(target) => match (target, target_amount) {
                (Target::Company(name), Some(amount)) => {
                    format!("a target of {} a year (the plan's company.{name})", cx.money(amount))
                }
                (Target::Company(name), None) => {
                    format!("the company's {} for the same months", name.replace('_', " "))
                }
                (Target::Amount(amount), _) => format!("a target of {} a year", cx.money(*amount)),
            },
        };
        let ti = cx.role_ti.checked_mul(self.weight).unwrap_or(cx.role_ti);
        if let (Some(_), Method::Rate { mode, tiers }) = (self.per_deal, &self.method) {
            out.push(format!("Commission on {what}, worked out on each deal on its own (not on the total)."));
            out.push(per_deal_words(*mode, tiers, cx));
            out.push(per_deal_examples(*mode, tiers, cx));
            self.shaping.describe(&self.core, cx, Some(ti), &mut out);
            return Description { sentences: out, driver: Driver::None };
        }
        match &self.method {
            Method::Rate { mode: Mode::Marginal, tiers } => {
                out.push(format!("Commission on {what}, measured against {against}."));
                let bands: Vec<String> = tiers
                    .iter()
                    .enumerate()
                    .map(|(i, tier)| match tiers.get(i + 1) {
                        Some(next) if tier.from.is_zero() => {
                            format!("{} on the part up to {}", format_percent(tier.rate), at(next.from))
                        }
                        Some(next) => format!(
                            "{} on the part from {} to {}",
                            format_percent(tier.rate),
                            at(tier.from),
                            at(next.from)
                        ),
                        None if tier.from.is_zero() => format!("{} on every dollar", format_percent(tier.rate)),
                        None => format!("{} on the part above {}", format_percent(tier.rate), at(tier.from)),
                    })
                    .collect();
                out.push(format!(
                    "Each slice is paid at its own rate (marginal tiers): {}. A higher rate applies only to the \
                     part above where its tier starts.",
                    bands.join("; ")
                ));
            }
            Method::Rate { mode: Mode::Retroactive, tiers } => {
                out.push(format!("Commission on {what}, measured against {against}."));
                let bands: Vec<String> = tiers
                    .iter()
                    .map(|tier| {
                        if tier.from.is_zero() {
                            format!("{} to start with", format_percent(tier.rate))
                        } else {
                            format!("{} once you reach {}", format_percent(tier.rate), at(tier.from))
                        }
                    })
                    .collect();
                out.push(format!(
                    "One rate is paid on all of it, the rate of the highest tier reached (retroactive tiers): {}. \
                     Reaching a tier raises the rate on everything, back to the first dollar.",
                    bands.join("; ")
                ));
            }
            Method::Curve { points, extrapolate } => {
                let blended = if self.relieved { " (your blended attainment, see the quota rules)" } else { "" };
                out.push(format!(
                    "A bonus on {what} against {against}{blended}: {}{} a year at 100%.",
                    if self.weight == Decimal::ONE {
                        "your target incentive (TI), ".to_string()
                    } else {
                        format!("{} of your target incentive (TI), ", format_percent(self.weight))
                    },
                    cx.money(ti)
                ));
                out.push(format!(
                    "{} (shares of {}).",
                    curve_words(points, *extrapolate, at).trim_end_matches('.'),
                    cx.money(ti)
                ));
            }
            Method::Step { steps } => {
                let blended = if self.relieved { " (your blended attainment, see the quota rules)" } else { "" };
                out.push(format!(
                    "A bonus on {what} against {against}{blended}: {}{} a year at a payout of 100%.",
                    if self.weight == Decimal::ONE {
                        "your target incentive (TI), ".to_string()
                    } else {
                        format!("{} of your target incentive (TI), ", format_percent(self.weight))
                    },
                    cx.money(ti)
                ));
                out.push(format!("{} (shares of {}).", steps_words(steps, at).trim_end_matches('.'), cx.money(ti)));
            }
        }
        if matches!(self.measure, MeasureRef::Collected(_)) {
            out.push(format!(
                "You are paid as your customers pay: a deal earns nothing until its cash comes in, and each payment \
                 counts in the {} it arrives. A cancelled deal keeps the cash already paid on it; only a refund \
                 lowers it.",
                cx.period_word()
            ));
        }
        if let Some(threshold) = self.threshold {
            if self.target.is_none() && cx.quota_rules.soft_floor.is_some() {
                out.push(format!(
                    "Its threshold of {} gives way to the role's soft floor (see the quota rules).",
                    at(threshold)
                ));
            } else {
                out.push(format!("Below {} it pays nothing at all (a threshold).", at(threshold)));
            }
        }
        self.shaping.describe(&self.core, cx, Some(ti), &mut out);
        if matches!(self.measure, MeasureRef::Collected(_)) {
            // Cash is lowered by a refund, never by a cancellation (said above).
            for sentence in out.iter_mut().filter(|s| s.starts_with("When a cancellation lowers")) {
                *sentence =
                    sentence.replacen("When a cancellation lowers the amount", "When a refund lowers the cash", 1);
            }
        }
        let driver = match &self.target {
            None => Driver::Quota,
            Some(target) => Driver::Target { measure: self.measure.clone(), target: target.clone() },
        };
        Description { sentences: out, driver }
    }

    fn evaluate(&self, cx: &EvalContext<'_>) -> Result<Outcome, EvalError> {
        if let (Some(kind), Method::Rate { mode, tiers }) = (self.per_deal, &self.method) {
            return self.evaluate_per_deal(cx, kind, *mode, tiers);
        }
        let w = cx.window(self.core.window);
        let measured = cx.measure(&self.measure, w, self.shaping.clawback_days)?;
        let quota_based = self.target.is_none();
        let (base, base_name) = match &self.target {
            Some(target) => (target.for_window(cx, w)?, "target"),
            None => (cx.quota(w), "quota"),
        };
        let mut trace = cx.trace();
        trace.put("measure", || json!(self.measure.to_string()));
        trace.put("window", || json!(cx.window_label(w)));
        trace.put("measured", || dec(measured));
        trace.put(base_name, || frac_value(&base));

        if base.is_zero() && !measured.is_zero() {
            if !quota_based {
                return Err(EvalError::Invalid(format!(
                    "{} of {} on a zero target",
                    self.measure,
                    format_money_grouped(measured, 2)
                )));
            }
            if cx.assigned_quota().is_zero() {
                return Err(EvalError::Invalid(format!(
                    "{} of {} on a zero quota: give the payee a quota in roster.csv",
                    self.measure,
                    format_money_grouped(measured, 2)
                )));
            }
            cx.warn(format!(
                "{} of {} on a window quota relieved or prorated to 0; `{}` pays 0",
                self.measure,
                format_money_grouped(measured, 2),
                self.core.id
            ));
            let mut outcome =
                Outcome::zero(format!("quota for {} is 0 after proration and relief: pays 0", cx.window_label(w)));
            outcome.trace = trace;
            return Ok(outcome);
        }
        let soft_floor = if quota_based { cx.soft_floor() } else { None };
        // Attainment as a fraction; a plain rate on dollars needs it only to explain the line
        // or to compare it with a threshold or soft floor.
        let needs_attainment = cx.explains()
            || self.relieved
            || soft_floor.is_some()
            || self.threshold.is_some()
            || matches!(self.method, Method::Curve { .. } | Method::Step { .. });
        let plain = if base.is_zero() || !needs_attainment {
            Frac::ZERO
        } else {
            Frac::new(arith::mul(measured, base.den)?, base.num)?
        };
        let seen = if self.relieved {
            let (blended, parts) = cx.blended_attainment(&self.measure, plain, w, self.shaping.clawback_days)?;
            if cx.explains() {
                if let Some(rules) = cx.role().quota.blend.as_ref() {
                    cx.adjust(blend_adjustment(&self.core.id, rules, &parts, blended.value()?));
                }
            }
            trace.put("blend", || parts);
            blended
        } else {
            plain
        };
        // The line's attainment is part of its explanation: an amounts-only run skips the division.
        let attainment = if cx.explains() { seen.value()? } else { Decimal::ZERO };
        trace.put("attainment", || dec(attainment));

        let ti = cx.incentive(cx.role_ti(), w)?;
        let cap_target = weighted(ti, self.weight)?;
        let mut notes = Vec::new();
        let mut floor_multiplier = None;
        if let Some((below, multiplier)) = soft_floor {
            if seen.cmp_dec(below)? == Ordering::Less {
                floor_multiplier = Some(multiplier);
                trace.put("soft_floor", || json!({"below": dec(below), "rate_multiplier": dec(multiplier)}));
                notes.push(format!("soft floor: below {} × {}", format_percent(below), format_ratio(multiplier)));
            }
        } else if let Some(threshold) = self.threshold {
            trace.put("threshold", || dec(threshold));
            if seen.cmp_dec(threshold)? == Ordering::Less {
                let mut outcome = Outcome::zero(format!(
                    "attainment {} below threshold {}: pays 0",
                    format_percent(attainment),
                    format_percent(threshold)
                ));
                outcome.attainment = cx.explains().then_some(attainment);
                outcome.trace = trace;
                return Ok(outcome);
            }
        }

        let explains = cx.explains();
        let (mut value, explain) = match &self.method {
            Method::Rate { mode: Mode::Marginal, tiers } => {
                if !explains {
                    (arith::marginal_value(measured, base, tiers)?, String::new())
                } else {
                    let (value, uses) = arith::tiered_marginal(measured, base, tiers)?;
                    let explain = marginal_explain(&uses, base_name, &self.measure, base)?;
                    trace.put("tiers", || {
                    Value::Array(
                        uses.iter()
                            .map(|u| json!({"from": dec(u.from), "to": u.to.map(dec), "rate": dec(u.rate), "credited": dec(u.credited), "amount": dec(u.amount)}))
                            .collect(),
                    )
                });
                    (value, explain)
                }
            }
            Method::Rate { mode: Mode::Retroactive, tiers } => {
                let (value, reached) = arith::tiered_retroactive(measured, base, tiers)?;
                let tier = tiers.get(reached).copied().unwrap_or(Tier { from: Decimal::ZERO, rate: Decimal::ZERO });
                trace.put("tier", || json!({"index": reached, "from": dec(tier.from), "rate": dec(tier.rate)}));
                let explain = if explains {
                    format!(
                        "{} on all {} {} (attainment {} reached the {} tier; {base_name} {})",
                        format_percent(tier.rate),
                        format_money_grouped(measured, 2),
                        self.measure,
                        format_percent(attainment),
                        format_percent(tier.from),
                        format_money_grouped(base.value()?, 2)
                    )
                } else {
                    String::new()
                };
                (Frac::whole(value), explain)
            }
            Method::Curve { points, extrapolate } => {
                let factor = arith::curve(points, seen, *extrapolate)?;
                let value = cap_target.mul(&factor)?;
                trace.put("target_incentive", || frac_value(&ti));
                trace.put("weight", || dec(self.weight));
                trace.put("payout_factor", || frac_value(&factor));
                let explain = if explains {
                    let weight = if self.weight == Decimal::ONE {
                        String::new()
                    } else {
                        format!(" × weight {}", format_ratio(self.weight))
                    };
                    format!(
                        "attainment {} → {} of TI {}{weight}",
                        format_percent(attainment),
                        format_percent(factor.value()?),
                        format_money_grouped(ti.value()?, 2)
                    )
                } else {
                    String::new()
                };
                (value, explain)
            }
            Method::Step { steps } => {
                let (factor, reached) = arith::step(steps, seen)?;
                let value = cap_target.mul_dec(factor)?;
                trace.put("target_incentive", || frac_value(&ti));
                trace.put("weight", || dec(self.weight));
                trace.put("step", || match reached {
                    Some(i) => json!({"index": i, "from": dec(steps[i].0), "payout": dec(steps[i].1)}),
                    None => Value::Null,
                });
                trace.put("payout_factor", || dec(factor));
                let explain = if explains {
                    let weight = if self.weight == Decimal::ONE {
                        String::new()
                    } else {
                        format!(" × weight {}", format_ratio(self.weight))
                    };
                    let why = match (reached, steps.first()) {
                        (Some(i), _) => {
                            let next = match steps.get(i + 1) {
                                Some((next, _)) => format!(", next step at {}", format_percent(*next)),
                                None => ", the top step".to_string(),
                            };
                            format!("reached the {} step{next}", format_percent(steps[i].0))
                        }
                        (None, Some((first, _))) => format!("below the first step at {}", format_percent(*first)),
                        (None, None) => "no steps".to_string(),
                    };
                    format!(
                        "attainment {} {why} → {} of TI {}{weight}",
                        format_percent(attainment),
                        format_percent(factor),
                        format_money_grouped(ti.value()?, 2)
                    )
                } else {
                    String::new()
                };
                (value, explain)
            }
        };
        trace.put("base", || frac_value(&value));
        let mut explain = explain;
        if explains && quota_based {
            if let Some(story) = cx.quota_story(w) {
                explain = format!("{explain}; quota {story}");
                trace.put("quota_adjusted", || json!(story));
            }
        }
        if let Some(multiplier) = floor_multiplier {
            value = value.mul_dec(multiplier)?;
        }
        if quota_based {
            if let Some((multiplier, bar)) = cx.kicker(measured, w)? {
                value = value.mul_dec(multiplier)?;
                if explains {
                    let why = format!(
                        "{} ≥ the self-set goal bar {}",
                        format_money_grouped(measured, 2),
                        format_money_grouped(bar, 2)
                    );
                    notes.push(format!("× {} kicker ({why})", format_ratio(multiplier)));
                    trace.put("kicker", || json!({"multiplier": dec(multiplier), "bar": dec(bar)}));
                }
            }
        }
        let value = self.shaping.apply(cx, w, value, Some(cap_target), &mut trace, &mut notes)?;
        let explain = if notes.is_empty() { explain } else { format!("{explain}; {}", notes.join("; ")) };
        Ok(Outcome {
            value: value.value()?,
            attainment: cx.explains().then_some(attainment),
            explain,
            trace,
            sublines: Vec::new(),
        })
    }
}

impl Tiered {
    /// `per: deal`: the tiers applied to each credited deal of the window on its own (a split
    /// deal by its credited share; a cancellation removes the deal as for amounts), summed,
    /// then the shared payout keys on the sum.
    fn evaluate_per_deal(
        &self,
        cx: &EvalContext<'_>,
        kind: DealKind,
        mode: Mode,
        tiers: &[Tier],
    ) -> Result<Outcome, EvalError> {
        let w = cx.window(self.core.window);
        let explains = cx.explains();
        let mut trace = cx.trace();
        let mut total = Decimal::ZERO;
        let mut credited = Decimal::ZERO;
        let mut deals = Vec::new();
        for credit in cx.credits() {
            if credit.kind != kind
                || !w.contains(credit.period)
                || credit.removed(cx.period(), self.shaping.clawback_days)
            {
                continue;
            }
            let commission = per_deal_commission(credit.amount, mode, tiers)?;
            total = arith::add(total, commission)?;
            credited = arith::add(credited, credit.amount)?;
            if explains {
                deals.push((credit.deal.clone(), credit.amount, commission));
            }
        }
        trace.put("measure", || json!(self.measure.to_string()));
        trace.put("window", || json!(cx.window_label(w)));
        trace.put("per", || json!("deal"));
        trace.put("measured", || dec(credited));
        trace.put("deals", || {
            Value::Array(
                deals
                    .iter()
                    .map(|(id, amount, commission)| json!({"deal": &**id, "credited": dec(*amount), "commission": dec(*commission)}))
                    .collect(),
            )
        });
        trace.put("base", || dec(total));
        let explain =
            if explains { per_deal_explain(&deals, &self.measure, cx.window_label(w)) } else { String::new() };
        let ti = cx.incentive(cx.role_ti(), w)?;
        let cap_target = weighted(ti, self.weight)?;
        let mut notes = Vec::new();
        let value = self.shaping.apply(cx, w, Frac::whole(total), Some(cap_target), &mut trace, &mut notes)?;
        let explain = if notes.is_empty() { explain } else { format!("{explain}; {}", notes.join("; ")) };
        Ok(Outcome { value: value.value()?, attainment: None, explain, trace, sublines: Vec::new() })
    }
}

/// One deal's commission under `per: deal` tiers, whose starts are deal amounts.
pub(crate) fn per_deal_commission(amount: Decimal, mode: Mode, tiers: &[Tier]) -> Result<Decimal, EvalError> {
    Ok(match mode {
        Mode::Marginal => arith::marginal_value(amount, Frac::whole(Decimal::ONE), tiers)?.value()?,
        Mode::Retroactive => arith::tiered_retroactive(amount, Frac::whole(Decimal::ONE), tiers)?.0,
    })
}

/// "per deal: d1 75,000.00 → 1,750.00, d2 …" (the first ten deals; the trace has them all).
fn per_deal_explain(deals: &[(Arc<str>, Decimal, Decimal)], measure: &MeasureRef, window: String) -> String {
    const SHOWN: usize = 10;
    if deals.is_empty() {
        return format!("no {measure} deals in {window}");
    }
    let mut parts: Vec<String> = deals
        .iter()
        .take(SHOWN)
        .map(|(id, amount, commission)| {
            format!("{id} {} → {}", format_money_grouped(*amount, 2), format_money_grouped(*commission, 2))
        })
        .collect();
    if deals.len() > SHOWN {
        parts.push(format!("and {} more", deals.len() - SHOWN));
    }
    format!("tiers per deal on {} {measure} deal(s) in {window}: {}", deals.len(), parts.join(", "))
}

/// "For example, a deal of 5,000.00 pays 50.00; …": each tier start, half the first and twice
/// the last, worked out by the engine's own arithmetic.
fn per_deal_examples(mode: Mode, tiers: &[Tier], cx: &DescribeContext<'_>) -> String {
    let starts: Vec<Decimal> = tiers.iter().map(|t| t.from).filter(|from| !from.is_zero()).collect();
    let mut sizes = Vec::new();
    match (starts.first(), starts.last()) {
        (Some(first), Some(last)) => {
            sizes.push(*first / Decimal::TWO);
            sizes.extend(starts.iter().copied());
            sizes.push(*last * Decimal::TWO);
        }
        _ => sizes.extend([Decimal::from(10_000), Decimal::from(100_000)]),
    }
    let examples: Vec<String> = sizes
        .iter()
        .filter_map(|size| {
            let pay = per_deal_commission(*size, mode, tiers).ok()?;
            Some(format!("a deal of {} pays {}", cx.money(*size), cx.money(crate::number::round_money(pay, 2))))
        })
        .collect();
    format!("For example, {}.", examples.join("; "))
}

/// `per: deal` tiers in words, with the starts in money.
fn per_deal_words(mode: Mode, tiers: &[Tier], cx: &DescribeContext<'_>) -> String {
    match mode {
        Mode::Marginal => {
            let bands: Vec<String> = tiers
                .iter()
                .enumerate()
                .map(|(i, tier)| match tiers.get(i + 1) {
                    Some(next) if tier.from.is_zero() => {
                        format!("{} on the part of a deal up to {}", format_percent(tier.rate), cx.money(next.from))
                    }
                    Some(next) => format!(
                        "{} on the part from {} to {}",
                        format_percent(tier.rate),
                        cx.money(tier.from),
                        cx.money(next.from)
                    ),
                    None if tier.from.is_zero() => format!("{} on every dollar of a deal", format_percent(tier.rate)),
                    None => format!("{} on the part above {}", format_percent(tier.rate), cx.money(tier.from)),
                })
                .collect();
            format!(
                "Each deal's slices are paid at their own rates (marginal tiers per deal): {}. A big deal does not \
                 raise the rate on the others.",
                bands.join("; ")
            )
        }
        Mode::Retroactive => {
            let bands: Vec<String> = tiers
                .iter()
                .map(|tier| {
                    if tier.from.is_zero() {
                        format!("{} on a deal below the next size", format_percent(tier.rate))
                    } else {
                        format!("{} on all of a deal of {} or more", format_percent(tier.rate), cx.money(tier.from))
                    }
                })
                .collect();
            format!("Each deal is paid one rate by its size (retroactive tiers per deal): {}.", bands.join("; "))
        }
    }
}

/// "5% on 300,000.00 up to 100% of quota + 8% on 30,000.00 100%–150% of quota (quota …)".
fn marginal_explain(
    uses: &[arith::TierUse],
    base_name: &str,
    measure: &MeasureRef,
    base: Frac,
) -> Result<String, EvalError> {
    // Cash names itself ("10% on 500,000.00 collected"): the line is not paid on bookings.
    let cash = if let MeasureRef::Collected(_) = measure { format!(" {measure}") } else { String::new() };
    let parts: Vec<String> = uses
        .iter()
        .map(|u| {
            let band = match u.to {
                Some(to) if u.from.is_zero() => format!("up to {} of {base_name}", format_percent(to)),
                Some(to) => format!("{}–{} of {base_name}", format_percent(u.from), format_percent(to)),
                None if u.from.is_zero() => format!("of {base_name}"),
                None => format!("above {} of {base_name}", format_percent(u.from)),
            };
            format!("{} on {}{cash} {band}", format_percent(u.rate), format_money_grouped(u.credited, 2))
        })
        .collect();
    let base_value = format_money_grouped(base.value()?, 2);
    Ok(if parts.is_empty() {
        format!("no {measure} against {base_name} {base_value}")
    } else {
        format!("{} ({base_name} {base_value})", parts.join(" + "))
    })
}

/// The statement's record of an attainment blend: A′ and its parts, in words.
fn blend_adjustment(
    id: &str,
    rules: &crate::plan::Blend,
    parts: &Value,
    blended: Decimal,
) -> crate::statement::Adjustment {
    let pct = |v: &Value| v.as_str().and_then(|s| s.parse::<Decimal>().ok()).map(format_percent).unwrap_or_default();
    let mut terms = vec![format!(
        "{} × individual {}",
        format_ratio(rules.revenue_weight),
        pct(&parts["individual"]["attainment"])
    )];
    if let Some(team) = parts.get("team") {
        terms.push(format!("{} × team {}", format_ratio(rules.team_weight), pct(&team["attainment"])));
    }
    for score in parts.get("scores").and_then(Value::as_array).into_iter().flatten() {
        terms.push(format!(
            "{} × {} {}",
            score["weight"].as_str().unwrap_or_default(),
            score["measure"].as_str().unwrap_or_default(),
            pct(&score["score"])
        ));
    }
    crate::statement::Adjustment {
        kind: "blend".into(),
        factor: Some(blended),
        note: Some(format!("`{id}` sees attainment {} = {}", format_percent(blended), terms.join(" + "))),
        ..Default::default()
    }
}
