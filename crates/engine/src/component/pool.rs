//! `pool`: a team pool — funded by a rate on the team's measure and/or a fixed amount, and
//! split among the members of a roster team by a rule (equally, by target incentive, by
//! attainment of quota). Each member's line is their share and explains the pool.
//!
//! Every payee is evaluated on its own (in parallel), so a member's share is computed from
//! facts — the team's deals and measures, the members' employment, quotas and roles — and
//! never from another payee's line: the pool and every weight are worked out again for each
//! member, the same way, so the members' unrounded shares add up to the pool.

use std::cmp::Ordering;
use std::sync::Arc;

use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    BuildContext, Cap, Component, ComponentType, Core, DescribeContext, Description, Driver, Outcome, Profile, Shaping,
    TypeInfo, dec, frac_value, measure_words,
};
use super::{EvalContext, EvalError};
use crate::arith::{self, Frac};
use crate::calendar::Window;
use crate::measure::{DealKind, MeasureRef};
use crate::number::{format_money_grouped, format_percent, format_ratio};
use crate::spanned::{Num, Spanned};
use crate::yaml::Node;

/// How a pool is split among its members.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    /// Equal shares; a member employed part of the window gets a share in proportion to
    /// the days employed.
    Equal,
    /// In proportion to the members' target incentives for the window (prorated by days
    /// employed, as TI always is).
    Ti,
    /// In proportion to each member's attainment of their own quota over the window (up to
    /// `attainment_cap`), times the share of the window they were employed.
    Attainment,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
struct PoolSpec {
    /// The team measure `rate` is paid on: a deal measure (bookings, expansion, renewals,
    /// gross_margin, …), the cash collected on those deals (collected, …) or a declared `sum`
    /// measure, added up over the pool's members; or company.NAME, read once. `threshold` and
    /// `split: attainment` compare it with quotas.
    #[serde(default)]
    measure: Option<Spanned<String>>,
    /// The pool's funding: this rate × the team measure over the window.
    #[serde(default)]
    rate: Option<Num>,
    /// A fixed pool a year, scaled to the window like a target (amount × n_W / N); added to
    /// the rate's funding.
    #[serde(default)]
    amount: Option<Num>,
    /// The team's attainment — the team measure over the members' quotas added up — below
    /// which the pool holds nothing (exactly at it, the pool is funded).
    #[serde(default)]
    threshold: Option<Num>,
    /// How the pool is split among the members: `equal`, `ti` (by target incentive) or
    /// `attainment` (by each member's attainment of their own quota).
    split: Spanned<Split>,
    /// With `split: attainment`: the most attainment a member's weight counts (1.5 = 150 %).
    #[serde(default)]
    attainment_cap: Option<Num>,
}

pub struct PoolType;

impl ComponentType for PoolType {
    fn name(&self) -> &str {
        "pool"
    }

    fn info(&self) -> TypeInfo {
        TypeInfo {
            name: "pool".into(),
            summary: "A team pool funded by a team measure, split among the team by a rule (equal, TI, \
                      attainment); `cap` is the pool's"
                .into(),
            source: "built-in".into(),
            keys: Vec::new(),
        }
    }

    fn schema(&self, generator: &mut schemars::SchemaGenerator) -> serde_json::Value {
        super::builtin_schema::<PoolSpec>(generator, &self.info(), true)
    }

    fn build(&self, node: &Node, cx: &mut BuildContext<'_>) -> Option<Arc<dyn Component>> {
        let parsed = cx.parse::<PoolSpec>(node, true)?;
        let spec = parsed.spec;
        let errors_before = cx.diagnostics.len();
        let mut shaping = Shaping::build(&parsed.shaping, cx);
        let measure = spec.measure.as_ref().and_then(|m| cx.measure(m));
        let split = spec.split.value;
        if let (Some(resolved), Some(written)) = (&measure, &spec.measure) {
            if resolved.is_level() {
                cx.error(
                    written.span,
                    format!(
                        "a pool is funded by an amount, and `{}` is a ratio or a level: use a deal measure \
                         (bookings, expansion, renewals, gross_margin), a declared `sum` measure or a company amount",
                        written.value
                    ),
                );
            }
        }
        if spec.rate.is_none() && spec.amount.is_none() {
            cx.error(
                node.get("type").map_or(node.span, |t| t.span),
                "a pool needs `rate` (a share of the team's `measure`), `amount` (a fixed pool a year) or both",
            );
        }
        for (key, number) in [("rate", &spec.rate), ("amount", &spec.amount), ("threshold", &spec.threshold)] {
            if let Some(number) = number.as_ref().filter(|n| n.value < Decimal::ZERO) {
                cx.error(number.span, format!("a pool's `{key}` cannot be negative"));
            }
        }
        let company = matches!(measure, Some(MeasureRef::Company(_)));
        match &spec.measure {
            None => {
                if let Some(rate) = &spec.rate {
                    cx.error(rate.span, "`rate` is a share of the team's `measure`: name it (`measure: bookings`)");
                }
                if let Some(threshold) = &spec.threshold {
                    cx.error(
                        threshold.span,
                        "`threshold` compares the team's `measure` with its quota: name the measure (`measure: bookings`)",
                    );
                }
                if split == Split::Attainment {
                    cx.error(
                        spec.split.span,
                        "`split: attainment` compares each member's `measure` with their quota: name the measure \
                         (`measure: bookings`)",
                    );
                }
            }
            Some(written) if company => {
                if let Some(threshold) = &spec.threshold {
                    cx.error(
                        threshold.span,
                        format!(
                            "`threshold` compares the team's measure with the members' quotas, and `{}` is the \
                             company's; to hold the pool back on a company result use a gate (`gates: [{{ measure: \
                             company.revenue, min: 0.9, target: company.budget_revenue }}]`)",
                            written.value
                        ),
                    );
                }
                if split == Split::Attainment {
                    cx.error(
                        spec.split.span,
                        format!(
                            "`split: attainment` compares each member's own measure with their quota, and `{}` is \
                             the company's (the same for every member): use a deal or declared measure, or `split: \
                             equal` or `ti`",
                            written.value
                        ),
                    );
                }
            }
            Some(_) => {}
        }
        if let Some(cap) = &spec.attainment_cap {
            if split != Split::Attainment {
                cx.error(cap.span, "`attainment_cap` is for `split: attainment`");
            } else if cap.value <= Decimal::ZERO {
                cx.error(cap.span, "`attainment_cap` must be above 0 (1.5 counts attainment up to 150 %)");
            }
        }
        // The cap is the pool's: the most it holds a year, before it is split.
        let pool_cap = match shaping.cap.take() {
            Some(Cap::Amount(amount)) => Some(amount),
            Some(Cap::MultipleOfTarget(_)) => {
                let span = parsed.shaping.cap.as_ref().map_or(node.span, |c| c.span);
                cx.error(
                    span,
                    "a pool's cap is `{ amount: … }`, the most the pool holds a year: a pool has no target to take a \
                     multiple of",
                );
                None
            }
            None => None,
        };
        if cx.diagnostics[errors_before..].iter().any(|d| d.is_error()) {
            return None;
        }
        let core = Core::of(&parsed.core, &parsed.shaping);
        let rate = spec.rate.as_ref().map(|n| n.value);
        let amount = spec.amount.as_ref().map(|n| n.value);
        let threshold = spec.threshold.as_ref().map(|n| n.value);
        let attainment_cap = spec.attainment_cap.as_ref().map(|n| n.value);
        // `key value` pairs, one per `; `: the compiler names the first that differs between roles.
        let number = |value: Option<Decimal>| value.map_or("none".to_string(), format_ratio);
        let definition = [
            ("measure", spec.measure.as_ref().map_or("none".to_string(), |m| m.value.clone())),
            ("rate", number(rate)),
            ("amount", number(amount)),
            ("threshold", number(threshold)),
            ("split", format!("{split:?}").to_lowercase()),
            ("attainment_cap", number(attainment_cap)),
            ("cap", number(pool_cap)),
            ("window", format!("{:?}", core.window).to_lowercase()),
            ("clawback_days", shaping.clawback_days.map_or("none".to_string(), |d| d.to_string())),
        ]
        .iter()
        .map(|(key, value)| format!("{key} {value}"))
        .collect::<Vec<_>>()
        .join("; ");
        Some(Arc::new(Pool {
            core,
            measure,
            rate,
            amount,
            threshold,
            split,
            attainment_cap,
            pool_cap,
            shaping,
            definition,
        }))
    }
}

#[derive(Debug)]
struct Pool {
    core: Core,
    measure: Option<MeasureRef>,
    rate: Option<Decimal>,
    amount: Option<Decimal>,
    threshold: Option<Decimal>,
    split: Split,
    attainment_cap: Option<Decimal>,
    /// The most the pool holds a year (scaled to the window).
    pool_cap: Option<Decimal>,
    /// Modifiers and gates, applied to each member's share (the cap is `pool_cap`).
    shaping: Shaping,
    /// What every role sharing this pool must define alike (see [`Component::team_pool`]).
    definition: String,
}

/// The pool for a window before it is split, with the words and numbers of how it came about.
struct Funding {
    pool: Frac,
    words: String,
    team_measure: Option<Decimal>,
    team_attainment: Option<Frac>,
    /// Why the pool holds nothing although it was funded (the threshold), if it does.
    held_back: Option<String>,
}

/// A team's pool for one period and its members' weights, in the members' order.
struct TeamSplit {
    funding: Funding,
    weights: Vec<Decimal>,
    /// Each member's attainment (split: attainment only).
    attainments: Vec<Decimal>,
    total: Decimal,
    /// How many members were employed in the window.
    employed: usize,
}

/// `pool × weight / total`, divided once; with very large numbers (where the product would
/// not fit) the weight's fraction is divided first.
fn share_of(pool: Frac, weight: Decimal, total: Decimal) -> arith::Arith<Frac> {
    match (arith::mul(pool.num, weight), arith::mul(pool.den, total)) {
        (Ok(num), Ok(den)) => Frac::new(num, den),
        _ => pool.mul_dec(arith::div(weight, total)?),
    }
}

impl Pool {
    /// The window's pool: rate × team measure plus the fixed amount, held back below the
    /// threshold, capped.
    fn funding(&self, cx: &EvalContext<'_>, members: &[usize], w: Window) -> Result<Funding, EvalError> {
        let clawback_days = self.shaping.clawback_days;
        let team_measure = match &self.measure {
            Some(measure) => Some(cx.team_measure(members, measure, w, clawback_days)?),
            None => None,
        };
        let explains = cx.explains();
        let mut parts = Vec::new();
        let mut pool = Frac::ZERO;
        if let (Some(rate), Some(measured), Some(measure)) = (self.rate, team_measure, &self.measure) {
            pool = Frac::whole(arith::mul(rate, measured)?);
            if explains {
                parts.push(format!("{} {} × {}", team_words(measure), money(measured), format_percent(rate)));
            }
        }
        if let Some(amount) = self.amount {
            let fixed = cx.scale_annual(amount, w)?;
            pool = pool.add(&fixed)?;
            if explains {
                parts.push(format!("fixed {}", money(fixed.value()?)));
            }
        }
        let mut words = if explains {
            format!("pool {}: {} = {}", cx.window_label(w), parts.join(" + "), money(pool.value()?))
        } else {
            String::new()
        };
        if pool.num.is_sign_negative() {
            pool = Frac::ZERO;
            if explains {
                words.push_str(", never below 0");
            }
        }
        let mut team_attainment = None;
        let mut held_back = None;
        if let (Some(threshold), Some(measured)) = (self.threshold, team_measure) {
            // A roll-up lead's quota is its team's, already counted in its members' (as in quota
            // coverage): left out, unless the pool has only roll-up members.
            let all_roll_up = members.iter().all(|&m| cx.member_rolls_up(m));
            let mut quota_scaled = Decimal::ZERO;
            for &member in members.iter().filter(|&&m| all_roll_up || !cx.member_rolls_up(m)) {
                quota_scaled = arith::add(quota_scaled, cx.member_quota(member, w).num)?;
            }
            let n = cx.plan().calendar.n_decimal();
            let attainment = if quota_scaled.is_zero() {
                if !measured.is_zero() {
                    return Err(EvalError::Invalid(format!(
                        "the team's quota is zero in {}: the pool's threshold compares the team's {} ({}) with the \
                         members' quotas; give the members a quota in roster.csv",
                        cx.window_label(w),
                        self.measure.as_ref().map(ToString::to_string).unwrap_or_default(),
                        money(measured)
                    )));
                }
                Frac::ZERO
            } else {
                Frac::new(arith::mul(measured, n)?, quota_scaled)?
            };
            let quota = Frac { num: quota_scaled, den: n };
            if attainment.cmp_dec(threshold)? == Ordering::Less {
                if explains {
                    held_back = Some(format!(
                        "the team's attainment {} of its quota {} is below the threshold {}: the pool holds nothing",
                        format_percent(attainment.value()?),
                        money(quota.value()?),
                        format_percent(threshold)
                    ));
                } else {
                    held_back = Some(String::new());
                }
                pool = Frac::ZERO;
            } else if explains {
                words.push_str(&format!(
                    "; team attainment {} of quota {} (threshold {})",
                    format_percent(attainment.value()?),
                    money(quota.value()?),
                    format_percent(threshold)
                ));
            }
            team_attainment = Some(attainment);
        }
        if let Some(cap) = self.pool_cap.filter(|_| held_back.is_none()) {
            let limit = cx.scale_annual(cap, w)?;
            if pool.compare(&limit)? == Ordering::Greater {
                pool = limit;
                if explains {
                    words.push_str(&format!("; capped at {}", money(limit.value()?)));
                }
            }
        }
        Ok(Funding { pool, words, team_measure, team_attainment, held_back })
    }

    /// The pool and the members' weights for the payee's team and period: the same for every
    /// member, so worked out once per team and period ([`EvalContext::team_value`]).
    fn team_split(&self, cx: &EvalContext<'_>, members: &[usize], w: Window) -> Result<TeamSplit, EvalError> {
        let funding = self.funding(cx, members, w)?;
        let mut split =
            TeamSplit { weights: Vec::new(), attainments: Vec::new(), total: Decimal::ZERO, employed: 0, funding };
        if split.funding.held_back.is_some() {
            return Ok(split);
        }
        for &member in members {
            let employed = cx.employed_share(member, w);
            split.employed += usize::from(!employed.is_zero());
            let weight = match self.split {
                Split::Equal => employed,
                Split::Ti => arith::mul(cx.member_target_incentive(member), employed)?,
                Split::Attainment => {
                    let attainment = self.member_attainment(cx, member, w)?;
                    split.attainments.push(attainment);
                    arith::mul(attainment, employed)?
                }
            };
            split.total = arith::add(split.total, weight)?;
            split.weights.push(weight);
        }
        Ok(split)
    }

    /// A member's attainment of their own quota over the window, capped, never below 0; 0 on
    /// a zero quota.
    fn member_attainment(&self, cx: &EvalContext<'_>, member: usize, w: Window) -> Result<Decimal, EvalError> {
        let Some(measure) = &self.measure else { return Ok(Decimal::ZERO) };
        let quota = cx.member_quota(member, w);
        if quota.is_zero() {
            return Ok(Decimal::ZERO);
        }
        let measured = cx.member_measure(member, measure, w, self.shaping.clawback_days)?;
        let mut attainment = Frac::whole(measured).div(&quota)?;
        if let Some(cap) = self.attainment_cap {
            attainment = attainment.min(Frac::whole(cap))?;
        }
        Ok(attainment.value()?.max(Decimal::ZERO))
    }

    /// Warns on the payee's own statement when their attainment counts 0 because they booked on
    /// a zero quota.
    fn warn_zero_quota(&self, cx: &EvalContext<'_>, w: Window) -> Result<(), EvalError> {
        let Some(measure) = &self.measure else { return Ok(()) };
        if self.split != Split::Attainment || !cx.member_quota(cx.payee, w).is_zero() {
            return Ok(());
        }
        let measured = cx.member_measure(cx.payee, measure, w, self.shaping.clawback_days)?;
        if !measured.is_zero() {
            cx.warn(format!(
                "pool `{}`: {measure} {} on a zero quota in {}; your attainment counts 0 in the split",
                self.core.id,
                money(measured),
                cx.window_label(w)
            ));
        }
        Ok(())
    }

    /// "equally", "by target incentive", "by attainment of quota (up to 150%)".
    fn rule_words(&self) -> String {
        match self.split {
            Split::Equal => "equally".into(),
            Split::Ti => "by target incentive".into(),
            Split::Attainment => match self.attainment_cap {
                Some(cap) => format!("by attainment of quota (up to {})", format_percent(cap)),
                None => "by attainment of quota".into(),
            },
        }
    }

    /// A weight as people read it: the share of the window employed (equal), the target
    /// incentive for the window in money (ti), attainment × the share of the window employed
    /// (attainment). The split itself uses the exact weights; this is for the statement.
    fn shown_weight(&self, cx: &EvalContext<'_>, weight: Decimal, w: Window) -> Result<Decimal, EvalError> {
        let whole_window = arith::mul(cx.days_lcm(), Decimal::from(w.base().len() as u64))?;
        Ok(match self.split {
            Split::Equal | Split::Attainment => arith::div(weight, whole_window)?,
            Split::Ti => arith::div(weight, arith::mul(cx.days_lcm(), cx.plan().calendar.n_decimal())?)?,
        })
    }

    /// "your share 1 of 2.5", "your TI 2,000.00 of the members' 8,000.00", "your attainment
    /// 100% × 0.5 of 2027-Q1 employed = 50% of the members' 240%".
    fn weight_words(
        &self,
        cx: &EvalContext<'_>,
        own: Decimal,
        total: Decimal,
        own_attainment: Option<Decimal>,
        w: Window,
    ) -> Result<String, EvalError> {
        let (own, total) = (self.shown_weight(cx, own, w)?, self.shown_weight(cx, total, w)?);
        let ratio = |value: Decimal| format_ratio(value.round_dp(4));
        Ok(match self.split {
            Split::Equal => format!("your share {} of {}", ratio(own), ratio(total)),
            Split::Ti => format!("your TI {} of the members' {}", money(own), money(total)),
            Split::Attainment => {
                let attainment = own_attainment.unwrap_or_default();
                let whole_window = arith::mul(cx.days_lcm(), Decimal::from(w.base().len() as u64))?;
                let employed = arith::div(cx.employed_share(cx.payee, w), whole_window)?;
                if cx.member_quota(cx.payee, w).is_zero() {
                    format!(
                        "your attainment counts 0 (no quota in {}) of the members' {}",
                        cx.window_label(w),
                        format_percent(total)
                    )
                } else if employed == Decimal::ONE {
                    format!("your attainment {} of the members' {}", format_percent(own), format_percent(total))
                } else {
                    format!(
                        "your attainment {} × {} of {} employed = {} of the members' {}",
                        format_percent(attainment),
                        ratio(employed),
                        cx.window_label(w),
                        format_percent(own),
                        format_percent(total)
                    )
                }
            }
        })
    }
}

/// "the team's bookings (new business its members close)", "the company's revenue".
fn team_measure_words(measure: &MeasureRef) -> String {
    match measure {
        MeasureRef::Company(_) => measure_words(measure),
        MeasureRef::Deals(DealKind::New) => "the team's bookings (new business its members close)".into(),
        MeasureRef::GrossMargin => "the team's gross margin on new business".into(),
        MeasureRef::Deals(kind) => format!("the team's {}", kind.measure_name()),
        MeasureRef::Collected(DealKind::New) => {
            "the cash the team collects (payments received on its members' new deals)".into()
        }
        MeasureRef::Collected(DealKind::Renewal) => "the cash the team collects on its members' renewals".into(),
        MeasureRef::Collected(_) => "the cash the team collects on its members' expansion deals".into(),
        other => format!("the team's {}, added up over its members", other.to_string().replace('_', " ")),
    }
}

/// "team bookings", "team gross margin", "company revenue".
fn team_words(measure: &MeasureRef) -> String {
    match measure {
        MeasureRef::Company(_) => measure.to_string(),
        MeasureRef::Collected(_) => format!("team cash {measure}").replace("collected_", "collected on "),
        _ => format!("team {measure}"),
    }
}

fn money(value: Decimal) -> String {
    format_money_grouped(value, 2)
}

impl Component for Pool {
    fn core(&self) -> &Core {
        &self.core
    }

    fn team_pool(&self) -> Option<&str> {
        Some(&self.definition)
    }

    fn profile(&self) -> Profile {
        let new_logo = matches!(self.measure, Some(MeasureRef::Deals(DealKind::New) | MeasureRef::GrossMargin));
        let retention = matches!(
            self.measure,
            Some(MeasureRef::Deals(DealKind::Expansion | DealKind::Renewal | DealKind::Contraction | DealKind::Churn))
        );
        Profile { new_logo, retention, measures: self.measure.iter().cloned().collect(), ..Profile::default() }
    }

    fn describe(&self, cx: &DescribeContext<'_>) -> Description {
        let period = cx.period_word();
        let mut funding = Vec::new();
        if let (Some(rate), Some(measure)) = (self.rate, &self.measure) {
            funding.push(format!("{} of {}", format_percent(rate), team_measure_words(measure)));
        }
        if let Some(amount) = self.amount {
            funding.push(format!(
                "a fixed {} a year ({} a {period})",
                cx.money(amount),
                cx.money(per_period(cx, amount))
            ));
        }
        let mut out = vec![format!(
            "A team pool, shared with the members of your roster team who have this pool: it holds {}.",
            funding.join(" plus ")
        )];
        if let (Some(threshold), Some(measure)) = (self.threshold, &self.measure) {
            out.push(format!(
                "The pool is funded only when the team reaches {} of its quota ({} against the members' quotas \
                 added up); exactly at it counts, below it the pool holds nothing.",
                format_percent(threshold),
                team_words(measure).replace('_', " ")
            ));
        }
        if let Some(cap) = self.pool_cap {
            out.push(format!(
                "The pool holds at most {} a year ({} a {period}).",
                cx.money(cap),
                cx.money(per_period(cx, cap))
            ));
        }
        out.push(match self.split {
            Split::Equal => format!(
                "It is split equally among the members; someone employed for part of the {period} counts the share \
                 of it they were employed."
            ),
            Split::Ti => format!(
                "It is split in proportion to the members' target incentives (yours is {} a year); someone employed \
                 for part of the {period} counts the target incentive of the days employed.",
                cx.money(cx.role_ti)
            ),
            Split::Attainment => {
                let cap =
                    self.attainment_cap.map(|c| format!(", counted up to {}", format_percent(c))).unwrap_or_default();
                let measure = match &self.measure {
                    Some(MeasureRef::Collected(_)) => "cash collected".to_string(),
                    Some(measure) => measure.to_string(),
                    None => String::new(),
                };
                format!(
                    "It is split in proportion to each member's attainment of their own quota ({measure} against \
                     quota{cap}), times the share of the {period} they were employed: a member with no attainment \
                     gets no share."
                )
            }
        });
        // Under an equal split every member employed in the window has a share.
        let nobody = if matches!(self.split, Split::Equal) {
            ""
        } else {
            "If nobody in the team qualifies for a share, the pool pays nothing. "
        };
        out.push(format!(
            "{nobody}Each share is rounded to the cent on its own, so the shares can differ from the pool by up to \
             half a cent a member."
        ));
        self.shaping.describe(&self.core, cx, None, &mut out);
        Description { sentences: out, driver: Driver::None }
    }

    fn evaluate(&self, cx: &EvalContext<'_>) -> Result<Outcome, EvalError> {
        let w = cx.window(self.core.window);
        let mut trace = cx.trace();
        trace.put("window", || json!(cx.window_label(w)));
        trace.put("split", || json!(format!("{:?}", self.split).to_lowercase()));
        let Some(members) = cx.pool_members(&self.core.id) else {
            let mut outcome = Outcome::zero(if cx.explains() {
                "no team in roster.csv: a team pool is shared by the members of a roster team, so it pays 0".to_string()
            } else {
                String::new()
            });
            outcome.trace = trace;
            return Ok(outcome);
        };
        // The count, not the ids: a company-wide pool would list every payee on every line.
        trace.put("members", || json!(members.len()));
        let split = cx.team_value(&self.core.id, || self.team_split(cx, members, w))?;
        let funding = &split.funding;
        trace.put("team_measure", || funding.team_measure.map_or(Value::Null, dec));
        if let Some(attainment) = &funding.team_attainment {
            trace.put("team_attainment", || frac_value(attainment));
        }
        trace.put("pool", || frac_value(&funding.pool));
        let team_attainment = funding.team_attainment.and_then(|a| a.value().ok());
        if let Some(why) = &funding.held_back {
            let mut outcome =
                Outcome::zero(if cx.explains() { format!("{}; {why}", funding.words) } else { String::new() });
            outcome.attainment = team_attainment;
            outcome.trace = trace;
            return Ok(outcome);
        }
        self.warn_zero_quota(cx, w)?;
        // Members are in roster order.
        let position = members.binary_search(&cx.payee).ok();
        let own = position.map_or(Decimal::ZERO, |i| split.weights[i]);
        let own_attainment = position.and_then(|i| split.attainments.get(i).copied());
        let total = split.total;
        if trace.enabled() {
            let (shown_own, shown_total) = (self.shown_weight(cx, own, w)?, self.shown_weight(cx, total, w)?);
            trace.put("weight", || dec(shown_own));
            trace.put("total_weight", || dec(shown_total));
        }
        let attainment = own_attainment.or(team_attainment);
        if total.is_zero() {
            let why = match self.split {
                Split::Equal => "no member was employed in the window",
                Split::Ti => "no member has a target incentive",
                Split::Attainment => "no member has any attainment of quota",
            };
            let mut outcome = Outcome::zero(if cx.explains() {
                format!("{}; {why}, so nobody qualifies for a share: the pool pays nothing", funding.words)
            } else {
                String::new()
            });
            trace.put("share", || dec(Decimal::ZERO));
            outcome.attainment = attainment;
            outcome.trace = trace;
            return Ok(outcome);
        }
        let share = share_of(funding.pool, own, total)?;
        trace.put("share", || frac_value(&share));
        let explain = if cx.explains() {
            let plural = if split.employed == 1 { "" } else { "s" };
            format!(
                "{}; split {} among {} member{plural}: {} ({}) = {}",
                funding.words,
                self.rule_words(),
                split.employed,
                self.weight_words(cx, own, total, own_attainment, w)?,
                format_percent(arith::div(own, total)?),
                money(share.value()?)
            )
        } else {
            String::new()
        };
        let mut notes = Vec::new();
        let value = self.shaping.apply(cx, w, share, None, &mut trace, &mut notes)?;
        let explain = if notes.is_empty() { explain } else { format!("{explain}; {}", notes.join("; ")) };
        Ok(Outcome { value: value.value()?, attainment, explain, trace, sublines: Vec::new() })
    }
}

/// An annual amount for one period of the plan's calendar.
fn per_period(cx: &DescribeContext<'_>, annual: Decimal) -> Decimal {
    annual.checked_div(cx.calendar.n_decimal()).unwrap_or(annual)
}
