//! The evaluator: quota schedules, the [`EvalContext`] components read from, and the
//! statement loop that applies SPEC §3's window rule — `round(V_k) − paid_before` for `ytd`,
//! `round(V_k)` for `period`, negatives floored unless `allow_negative`.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::panic::{AssertUnwindSafe, catch_unwind};

use rayon::prelude::*;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::arith::{self, ArithError, Frac};
use crate::calendar::Window;
use crate::component::{Component, Stage};
use crate::data::{Credit, DealTotals, Facts, Payee};
use crate::measure::{DealKind, MeasureRef};
use crate::number::{format_money_grouped, format_percent, format_ratio, round_money};
use crate::plan::{Plan, QuotaRules, Role};
use crate::spec::{Aggregate, WindowKind};
use crate::statement::{Adjustment, Line, Name, RunError, RunResult, Statement, Totals, TotalsBuilder};

/// Why a component could not be evaluated for a payee. The payee gets no statements.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EvalError {
    #[error(transparent)]
    Arith(#[from] ArithError),
    #[error(
        "company measure `{measure}` has no value for {period}: add it to company.csv or the plan's `company:` block"
    )]
    MissingCompany { measure: String, period: String },
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Script(String),
}

/// Employment, quota and relief of one payee over the plan year, computed before any
/// component runs (team attainment needs every payee's quota).
#[derive(Debug, Clone)]
pub(crate) struct PayeeState {
    /// `(employed days, days)` per period; active_k = employed / days.
    employment: Vec<(i64, i64)>,
    effective_quota: Decimal,
    /// N × q_k after relief, per period.
    quota_scaled: Vec<Decimal>,
    /// Running sums of `quota_scaled`: a window's quota is two lookups.
    quota_prefix: Vec<Decimal>,
    /// Employed every day of every period (nothing to prorate).
    whole_year: bool,
    /// Per period, when the payee has any (empty otherwise).
    adjustments: Vec<Vec<Adjustment>>,
}

impl PayeeState {
    /// No employment and no quota: a team member whose schedule failed.
    fn empty(n: usize) -> PayeeState {
        PayeeState {
            employment: vec![(0, 1); n],
            effective_quota: Decimal::ZERO,
            quota_scaled: vec![Decimal::ZERO; n],
            quota_prefix: vec![Decimal::ZERO; n],
            whole_year: false,
            adjustments: Vec::new(),
        }
    }

    /// The adjustments of period `k` (none for most payees: nothing is allocated then).
    fn adjustments(&self, k: usize) -> &[Adjustment] {
        self.adjustments.get(k).map_or(&[], Vec::as_slice)
    }

    fn adjust(&mut self, k: usize, n: usize, adjustment: Adjustment) {
        if self.adjustments.is_empty() {
            self.adjustments = vec![Vec::new(); n];
        }
        self.adjustments[k].push(adjustment);
    }

    fn active(&self, period: usize) -> bool {
        self.employment[period].0 > 0
    }

    /// `annual × active_k`, exact for whole periods.
    fn prorate(&self, annual: Decimal, period: usize) -> Result<Decimal, ArithError> {
        if self.whole_year {
            return Ok(annual);
        }
        let (employed, days) = self.employment[period];
        if employed == days || employed == 0 {
            return Ok(if employed == 0 { Decimal::ZERO } else { annual });
        }
        arith::div(arith::mul(annual, Decimal::from(employed))?, Decimal::from(days))
    }
}

/// `period_days`: the days of each period of the plan year.
fn payee_state(plan: &Plan, facts: &Facts, payee_index: usize, period_days: &[i64]) -> Result<PayeeState, ArithError> {
    let default_rules = QuotaRules::default();
    let rules = plan.roles.get(facts.payees()[payee_index].role.as_str()).map_or(&default_rules, |r| &r.quota);
    let mut state = PayeeState::empty(0);
    fill_payee_state(&mut state, plan, facts, payee_index, rules, period_days)?;
    Ok(state)
}

/// Computes a payee's schedule into `state`, reusing its vectors (one per worker thread, so
/// that evaluating a payee allocates nothing for it).
fn fill_payee_state(
    state: &mut PayeeState,
    plan: &Plan,
    facts: &Facts,
    payee_index: usize,
    rules: &QuotaRules,
    period_days: &[i64],
) -> Result<(), ArithError> {
    let payee = &facts.payees()[payee_index];
    let calendar = &plan.calendar;
    let n = calendar.n_periods();
    let n_dec = calendar.n_decimal();
    // Most payees work the whole year: no dates to compare period by period.
    let whole_year = payee.start_date <= calendar.start() && payee.end_date.is_none_or(|end| end >= calendar.end());
    state.employment.clear();
    state.employment.extend((0..n).map(|k| {
        let days = period_days[k];
        if whole_year {
            return (days, days);
        }
        let employed = calendar.employed_days(k, payee.start_date, payee.end_date);
        if !rules.prorate && employed > 0 { (days, days) } else { (employed, days) }
    }));
    let effective_quota = crate::data::effective_quota(rules, payee);
    state.whole_year = state.employment.iter().all(|(employed, days)| employed == days);
    state.effective_quota = effective_quota;
    state.quota_scaled.clear();
    state.quota_prefix.clear();
    state.adjustments.clear();
    for k in 0..n {
        let prorated = state.prorate(effective_quota, k)?;
        state.quota_scaled.push(prorated);
        if state.active(k) && state.employment[k].0 < state.employment[k].1 {
            let (employed, days) = state.employment[k];
            state.adjust(
                k,
                n,
                Adjustment {
                    kind: "proration".into(),
                    factor: Some(arith::div(Decimal::from(employed), Decimal::from(days))?),
                    note: Some(format!("employed {employed} of {days} days: quota and target incentive prorated")),
                    ..Adjustment::default()
                },
            );
        }
    }
    if let Some(goal) = payee.self_goal.filter(|_| rules.source == crate::spec::QuotaSource::SelfGoal) {
        let floor = arith::mul(rules.floor, payee.quota)?;
        let note = if goal >= floor {
            format!(
                "self-set goal {} used (floor {} × assigned {} = {})",
                format_money_grouped(goal, 2),
                format_ratio(rules.floor),
                format_money_grouped(payee.quota, 2),
                format_money_grouped(floor, 2)
            )
        } else {
            format!(
                "self-set goal {} is below the floor {} × assigned {}: quota {}",
                format_money_grouped(goal, 2),
                format_ratio(rules.floor),
                format_money_grouped(payee.quota, 2),
                format_money_grouped(floor, 2)
            )
        };
        let active: Vec<usize> = (0..n).filter(|&k| state.active(k)).collect();
        for k in active {
            state.adjust(
                k,
                n,
                Adjustment {
                    kind: "self_goal".into(),
                    amount: Some(effective_quota),
                    asked: Some(goal),
                    note: Some(note.clone()),
                    ..Adjustment::default()
                },
            );
        }
    }

    // Relief, in period order then file order, up to the yearly cap (SPEC §6).
    let mut entries: Vec<_> = facts.relief(payee_index).iter().collect();
    entries.sort_by_key(|e| (e.period, e.line));
    let cap = rules.max_relief_pct.map(|pct| arith::mul(pct, effective_quota)).transpose()?;
    let mut granted_total = Decimal::ZERO;
    let before_relief = if entries.is_empty() { Vec::new() } else { state.quota_scaled.clone() };
    for entry in entries {
        let k = entry.period;
        // Work in N × dollars so that quotas stay exact; report in dollars.
        let asked_scaled = match (entry.amount, entry.fraction) {
            (Some(amount), _) => arith::mul(amount, n_dec)?,
            (_, Some(fraction)) => arith::mul(fraction, before_relief[k])?,
            _ => Decimal::ZERO,
        };
        let mut granted_scaled = asked_scaled.min(state.quota_scaled[k]);
        let mut notes = Vec::new();
        if granted_scaled < asked_scaled {
            notes.push("quota for the period cannot go below 0".to_string());
        }
        if let Some(cap) = cap {
            let remaining_scaled = arith::mul(cap - granted_total, n_dec)?.max(Decimal::ZERO);
            if granted_scaled > remaining_scaled {
                granted_scaled = remaining_scaled;
                notes.push(format!(
                    "yearly relief cap max_relief_pct {} = {} reached",
                    format_percent(rules.max_relief_pct.unwrap_or_default()),
                    format_money_grouped(cap, 2)
                ));
            }
        }
        state.quota_scaled[k] -= granted_scaled;
        let granted = arith::div(granted_scaled, n_dec)?;
        granted_total += granted;
        let asked = arith::div(asked_scaled, n_dec)?;
        let how = match (entry.amount, entry.fraction) {
            (_, Some(fraction)) => format!("{} of the period quota", format_percent(fraction)),
            _ => "amount".to_string(),
        };
        let mut note = format!("{} relief ({how}): asked {}, granted {}", entry.kind, money(asked), money(granted));
        if !notes.is_empty() {
            note.push_str(&format!(" — {}", notes.join("; ")));
        }
        state.adjust(
            k,
            n,
            Adjustment {
                kind: "relief".into(),
                amount: Some(granted),
                asked: Some(asked),
                reason: Some(entry.reason.clone()),
                approver: Some(entry.approved_by.clone()),
                note: Some(note),
                ..Adjustment::default()
            },
        );
    }
    let mut running = Decimal::ZERO;
    for k in 0..n {
        running = arith::add(running, state.quota_scaled[k])?;
        state.quota_prefix.push(running);
    }
    Ok(())
}

fn money(value: Decimal) -> String {
    format_money_grouped(value, 2)
}

/// What [`EvalContext::deal_sum`] adds up: one decimal, or two read in the same pass.
trait Sums: Copy {
    const ZERO: Self;
    fn add(self, other: Self) -> Result<Self, ArithError>;
    fn sub(self, other: Self) -> Result<Self, ArithError>;
}

impl Sums for Decimal {
    const ZERO: Self = Decimal::ZERO;
    fn add(self, other: Self) -> Result<Self, ArithError> {
        arith::add(self, other)
    }
    fn sub(self, other: Self) -> Result<Self, ArithError> {
        arith::sub(self, other)
    }
}

impl Sums for (Decimal, Decimal) {
    const ZERO: Self = (Decimal::ZERO, Decimal::ZERO);
    fn add(self, other: Self) -> Result<Self, ArithError> {
        Ok((arith::add(self.0, other.0)?, arith::add(self.1, other.1)?))
    }
    fn sub(self, other: Self) -> Result<Self, ArithError> {
        Ok((arith::sub(self.0, other.0)?, arith::sub(self.1, other.1)?))
    }
}

/// Everything shared by every payee's evaluation in one run.
pub(crate) struct Run<'a> {
    pub plan: &'a Plan,
    pub facts: &'a Facts,
    /// Every payee's quota schedule, kept only when a role blends team attainment (which
    /// reads team members' quotas); otherwise each payee's is computed where it is evaluated.
    team_states: Vec<PayeeState>,
    /// Period labels, shared by every statement.
    labels: Vec<Name>,
    /// Payees sharing `team` and role, for blended team attainment.
    teams: HashMap<(String, Name), Vec<usize>>,
    /// The days of each period.
    period_days: Vec<i64>,
    /// N, the number of periods, as a decimal.
    n_decimal: Decimal,
}

/// What a component sees while it computes one payee's value for one period.
pub struct EvalContext<'a> {
    run: &'a Run<'a>,
    payee: usize,
    state: &'a PayeeState,
    period: usize,
    role: &'a Role,
    paid_before: Decimal,
    earnings: Decimal,
    earnings_history: &'a [Decimal],
    warnings: &'a RefCell<BTreeSet<String>>,
    /// Adjustments components report for the statement (an attainment blend).
    adjustments: &'a RefCell<Vec<Adjustment>>,
    detail: Detail,
    neutral_shaping: bool,
}

/// How much a run says about each line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Detail {
    /// Explanations and traces: statements a person reads.
    #[default]
    Full,
    /// Amounts only: what-if, simulation and benchmark runs. Lines carry their amount;
    /// explanations, traces and attainments are left empty.
    Amounts,
}

/// Options of a run.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunOptions {
    pub detail: Detail,
    /// Skip modifiers and gates (a payout curve shows the plan's design, not one payee's
    /// CSAT or margin).
    pub neutral_shaping: bool,
}

impl<'a> EvalContext<'a> {
    pub fn plan(&self) -> &Plan {
        self.run.plan
    }

    pub fn payee(&self) -> &Payee {
        &self.run.facts.payees()[self.payee]
    }

    pub fn role(&self) -> &Role {
        self.role
    }

    /// k, the 0-based index of the statement's period.
    pub fn period(&self) -> usize {
        self.period
    }

    pub fn period_label(&self) -> &str {
        &self.run.plan.calendar.period(self.period).label
    }

    pub fn n_periods(&self) -> usize {
        self.run.plan.calendar.n_periods()
    }

    pub fn window(&self, kind: WindowKind) -> Window {
        match kind {
            WindowKind::Ytd => Window::ytd(self.period),
            WindowKind::Period => Window::single(self.period),
        }
    }

    pub fn window_label(&self, w: Window) -> String {
        let cal = &self.run.plan.calendar;
        if w.first == w.last {
            cal.period(w.first).label.clone()
        } else {
            format!("{}..{}", cal.period(w.first).label, cal.period(w.last).label)
        }
    }

    /// Whether this run explains its lines (explanations and traces) or wants amounts only.
    pub fn explains(&self) -> bool {
        self.detail == Detail::Full
    }

    /// Whether modifiers and gates are skipped (payout curves).
    pub fn neutral_shaping(&self) -> bool {
        self.neutral_shaping
    }

    /// A trace that records only when the run explains.
    pub fn trace(&self) -> crate::component::Trace {
        crate::component::Trace::new(self.explains())
    }

    /// What this component paid in earlier periods of the year.
    pub fn paid_before(&self) -> Decimal {
        self.paid_before
    }

    /// E_k: the sum of the statement's earnings lines (for `Stage::Guarantee` components).
    pub fn earnings(&self) -> Decimal {
        self.earnings
    }

    /// E of each earlier statement period, oldest first.
    pub fn earnings_history(&self) -> &[Decimal] {
        self.earnings_history
    }

    pub fn role_ti(&self) -> Decimal {
        self.role.target_incentive
    }

    pub fn assigned_quota(&self) -> Decimal {
        self.payee().quota
    }

    pub fn effective_quota(&self) -> Decimal {
        self.state().effective_quota
    }

    fn state(&self) -> &PayeeState {
        self.state
    }

    /// Adds an adjustment to the statement being computed (SPEC §6: every adjustment is
    /// visible in the statement).
    pub fn adjust(&self, adjustment: Adjustment) {
        self.adjustments.borrow_mut().push(adjustment);
    }

    /// Records a warning; it names the payee and period.
    pub fn warn(&self, message: impl AsRef<str>) {
        let text = format!("payee {}, {}: {}", self.payee().id, self.period_label(), message.as_ref());
        self.warnings.borrow_mut().insert(text);
    }

    /// How the window's quota came about, when it is not simply the assigned quota spread
    /// over the periods: the self-set goal and the relief granted in the window.
    pub fn quota_story(&self, w: Window) -> Option<String> {
        let payee = self.payee();
        let state = self.state();
        let mut parts = Vec::new();
        if state.effective_quota != payee.quota {
            parts.push(format!(
                "annual {} from the self-set goal (assigned {})",
                money(state.effective_quota),
                money(payee.quota)
            ));
        }
        let relief: Decimal = w
            .periods()
            .flat_map(|k| state.adjustments(k))
            .filter(|a| a.kind == "relief")
            .filter_map(|a| a.amount)
            .sum();
        if !relief.is_zero() {
            parts.push(format!("less {} approved relief", money(relief)));
        }
        (!parts.is_empty()).then(|| parts.join(", "))
    }

    /// The window quota Σ q_k, as N × Σ q over N.
    pub fn quota(&self, w: Window) -> Frac {
        self.quota_of(self.payee, w)
    }

    fn quota_of(&self, payee: usize, w: Window) -> Frac {
        let state = if payee == self.payee { self.state } else { &self.run.team_states[payee] };
        let prefix = &state.quota_prefix;
        let scaled = if w.first == 0 { prefix[w.last] } else { prefix[w.last] - prefix[w.first - 1] };
        Frac { num: scaled, den: self.run.n_decimal }
    }

    /// Σ annual/N × active_k over the window: TI (or a target bonus) for the window.
    pub fn incentive(&self, annual: Decimal, w: Window) -> Result<Frac, EvalError> {
        let state = self.state();
        if state.whole_year {
            return Ok(Frac::new(arith::mul(annual, Decimal::from(w.len() as u64))?, self.run.n_decimal)?);
        }
        let mut scaled = Decimal::ZERO;
        for k in w.periods() {
            scaled = arith::add(scaled, state.prorate(annual, k)?)?;
        }
        Ok(Frac::new(scaled, self.run.n_decimal)?)
    }

    /// An annual amount scaled to the window, `annual × n_W / N`, not prorated.
    pub fn scale_annual(&self, annual: Decimal, w: Window) -> Result<Frac, ArithError> {
        Frac::new(arith::mul(annual, Decimal::from(w.len() as u64))?, self.run.plan.calendar.n_decimal())
    }

    /// A measure over a window, seen from the statement's period (cancellations up to it
    /// count) with a component's `clawback_days`.
    pub fn measure(&self, measure: &MeasureRef, w: Window, clawback_days: Option<u32>) -> Result<Decimal, EvalError> {
        self.measure_of(self.payee, measure, w, clawback_days)
    }

    fn measure_of(
        &self,
        payee: usize,
        measure: &MeasureRef,
        w: Window,
        clawback_days: Option<u32>,
    ) -> Result<Decimal, EvalError> {
        match measure {
            MeasureRef::Deals(kind) => {
                let i = *kind as usize;
                self.deal_sum(
                    payee,
                    w,
                    clawback_days,
                    |t| t.amount[i],
                    |c| {
                        if c.kind == *kind { c.amount } else { Decimal::ZERO }
                    },
                )
            }
            MeasureRef::GrossMargin => self.gross_margin(payee, w, clawback_days),
            MeasureRef::GrossMarginPct => {
                let margin = self.gross_margin(payee, w, clawback_days)?;
                let bookings = self.measure_of(payee, &MeasureRef::Deals(DealKind::New), w, clawback_days)?;
                if bookings.is_zero() { Ok(Decimal::ZERO) } else { Ok(arith::div(margin, bookings)?) }
            }
            MeasureRef::Declared { index, name, aggregate } => Ok(self.declared(payee, *index, name, *aggregate, w)),
            MeasureRef::Company(name) => self.company(name, w),
        }
    }

    /// A measure over a window as an exact fraction: ratio measures (gross margin %, a
    /// declared mean) are not divided, so that a gate or band compares them exactly and
    /// without a division. Every other measure is a whole number over 1.
    pub fn measure_ratio(
        &self,
        measure: &MeasureRef,
        w: Window,
        clawback_days: Option<u32>,
    ) -> Result<Frac, EvalError> {
        match measure {
            MeasureRef::GrossMarginPct => {
                let new = DealKind::New as usize;
                let (margin, bookings) = self.deal_sum(
                    self.payee,
                    w,
                    clawback_days,
                    |t| (t.gross_margin, t.amount[new]),
                    |c| {
                        if c.kind == DealKind::New {
                            (c.gross_margin, c.amount)
                        } else {
                            (Decimal::ZERO, Decimal::ZERO)
                        }
                    },
                )?;
                Ok(if bookings.is_zero() { Frac::ZERO } else { Frac::new(margin, bookings)? })
            }
            MeasureRef::Declared { index, name, aggregate: Aggregate::Mean } => {
                Ok(match self.declared_values(self.payee, *index, name, w) {
                    Some((sum, count)) => Frac { num: sum, den: Decimal::from(count) },
                    None => Frac::ZERO,
                })
            }
            _ => Ok(Frac::whole(self.measure(measure, w, clawback_days)?)),
        }
    }

    fn gross_margin(&self, payee: usize, w: Window, clawback_days: Option<u32>) -> Result<Decimal, EvalError> {
        self.deal_sum(
            payee,
            w,
            clawback_days,
            |t| t.gross_margin,
            |c| {
                if c.kind == DealKind::New { c.gross_margin } else { Decimal::ZERO }
            },
        )
    }

    /// Sums deal-derived values over the payee's sources (itself and, for roll-ups, its
    /// manager tree) and the window, adding back cancelled deals whose cancellation has not
    /// taken effect as of the statement's period.
    fn deal_sum<T: Sums>(
        &self,
        payee: usize,
        w: Window,
        clawback_days: Option<u32>,
        totals: impl Fn(&DealTotals) -> T,
        credit: impl Fn(&Credit) -> T,
    ) -> Result<T, EvalError> {
        let facts = self.run.facts;
        let sources = facts.sources(payee);
        // One source — the payee itself — and nothing cancelled (the common case): the window's
        // running-sum difference. (Only the lengths are read: no pointer to chase.)
        if sources.len() == 1 {
            let source = payee;
            if facts.cancelled(source).is_empty() {
                let prefix = facts.deal_prefix(source);
                let end = totals(&prefix[w.last]);
                return Ok(if w.first == 0 { end } else { end.sub(totals(&prefix[w.first - 1]))? });
            }
        }
        let mut sum = T::ZERO;
        for &source in sources {
            // A window's sum is the running sum at its end less the one before its start.
            let prefix = facts.deal_prefix(source);
            let mut window = totals(&prefix[w.last]);
            if w.first > 0 {
                window = window.sub(totals(&prefix[w.first - 1]))?;
            }
            sum = sum.add(window)?;
            for c in facts.cancelled(source) {
                if w.contains(c.period) && !c.removed(self.period, clawback_days) {
                    sum = sum.add(credit(c))?;
                }
            }
        }
        Ok(sum)
    }

    /// Credited deals of one kind over a window, counted by share (a split deal counts its
    /// share; cancellations as for amounts).
    pub fn deal_units(&self, kind: DealKind, w: Window, clawback_days: Option<u32>) -> Result<Decimal, EvalError> {
        let i = kind as usize;
        self.deal_sum(
            self.payee,
            w,
            clawback_days,
            |t| t.units[i],
            |c| if c.kind == kind { c.share } else { Decimal::ZERO },
        )
    }

    /// The credits of the payee's sources, for components that need single deals.
    pub fn credits(&self) -> Vec<&Credit> {
        let facts = self.run.facts;
        facts.sources(self.payee).iter().filter_map(|&s| facts.credits(s)).flatten().collect()
    }

    /// Warns that a declared measure has no value in the window (it reads as 0).
    fn no_declared_value(&self, payee: usize, name: &str, w: Window) {
        let who = &self.run.facts.payees()[payee].id;
        let text = format!(
            "payee {who}, {}: no `{name}` value in {} (measures.csv); read as 0",
            self.period_label(),
            self.window_label(w)
        );
        self.warnings.borrow_mut().insert(text);
    }

    /// The sum and count of a declared measure's values in the window; `None` (and a
    /// warning) when there are none.
    fn declared_values(&self, payee: usize, index: usize, name: &str, w: Window) -> Option<(Decimal, u64)> {
        let (sum, count) = self.run.facts.measure_window(payee, index, w.first, w.last);
        if count == 0 {
            self.no_declared_value(payee, name, w);
            return None;
        }
        Some((sum, u64::from(count)))
    }

    fn declared(&self, payee: usize, index: usize, name: &str, aggregate: Aggregate, w: Window) -> Decimal {
        // Sums and means come from the running sums, like `measure_ratio`'s.
        match aggregate {
            Aggregate::Sum => return self.declared_values(payee, index, name, w).map_or(Decimal::ZERO, |(s, _)| s),
            Aggregate::Mean => {
                return self
                    .declared_values(payee, index, name, w)
                    .map_or(Decimal::ZERO, |(sum, count)| sum / Decimal::from(count));
            }
            Aggregate::Last | Aggregate::Min | Aggregate::Max => {}
        }
        let facts = self.run.facts;
        let mut values = w.periods().filter_map(|k| facts.measure(payee, index, k));
        let Some(first) = values.next() else {
            self.no_declared_value(payee, name, w);
            return Decimal::ZERO;
        };
        match aggregate {
            Aggregate::Min => values.fold(first, Decimal::min),
            Aggregate::Max => values.fold(first, Decimal::max),
            // `last` (sums and means returned above).
            _ => values.next_back().unwrap_or(first),
        }
    }

    /// A company measure over a window (SPEC §3): per-period `company.csv` values summed
    /// (a missing period falls back to the plan's annual value / N), `_pct` values averaged,
    /// and `net_profit_pct` as the ratio of sums unless given for a one-period window.
    pub fn company(&self, name: &str, w: Window) -> Result<Decimal, EvalError> {
        let facts = self.run.facts;
        let plan = self.run.plan;
        let csv = facts.company(name);
        let missing = |k: usize| EvalError::MissingCompany {
            measure: name.to_string(),
            period: plan.calendar.period(k).label.clone(),
        };
        if name == "net_profit_pct" {
            if w.len() == 1 {
                if let Some(value) = csv.and_then(|v| v[w.first]) {
                    return Ok(value);
                }
            }
            let profit = self.company("net_profit", w)?;
            let revenue = self.company("revenue", w)?;
            return if revenue.is_zero() { Ok(Decimal::ZERO) } else { Ok(arith::div(profit, revenue)?) };
        }
        let annual = plan.company.get(name).copied();
        if name.ends_with("_pct") {
            let mut total = Decimal::ZERO;
            for k in w.periods() {
                let value = csv.and_then(|v| v[k]).or(annual).ok_or_else(|| missing(k))?;
                total = arith::add(total, value)?;
            }
            return Ok(arith::div(total, Decimal::from(w.len() as u64))?);
        }
        let mut total = Decimal::ZERO;
        let mut fallback_periods = 0u64;
        for k in w.periods() {
            match csv.and_then(|v| v[k]) {
                Some(value) => total = arith::add(total, value)?,
                None if annual.is_some() => fallback_periods += 1,
                None => return Err(missing(k)),
            }
        }
        if let Some(annual) = annual.filter(|_| fallback_periods > 0) {
            let share = arith::div(arith::mul(annual, Decimal::from(fallback_periods))?, plan.calendar.n_decimal())?;
            total = arith::add(total, share)?;
        }
        Ok(total)
    }

    /// The company measures there is data for: `company.csv` names and the plan's
    /// `company:` keys (and `net_profit_pct` when net profit is known).
    pub fn company_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.run.facts.company_names().map(str::to_string).collect();
        for key in self.run.plan.company.keys() {
            if !names.contains(key) {
                names.push(key.clone());
            }
        }
        if names.iter().any(|n| n == "net_profit") && !names.iter().any(|n| n == "net_profit_pct") {
            names.push("net_profit_pct".into());
        }
        names
    }

    /// The role's soft floor `(below, rate_multiplier)`, if any.
    pub fn soft_floor(&self) -> Option<(Decimal, Decimal)> {
        self.role.quota.soft_floor
    }

    /// The role's kicker `(multiplier, bar)` when the window measure reaches the bar:
    /// `over_self_goal ×` the payee's self goal spread over the window like the quota (SPEC §6).
    pub fn kicker(&self, measured: Decimal, w: Window) -> Result<Option<(Decimal, Decimal)>, EvalError> {
        let Some((over, multiplier)) = self.role.quota.kicker else { return Ok(None) };
        let Some(goal) = self.payee().self_goal else { return Ok(None) };
        let mut goal_scaled = Decimal::ZERO;
        for k in w.periods() {
            goal_scaled = arith::add(goal_scaled, self.state().prorate(goal, k)?)?;
        }
        let n = self.run.plan.calendar.n_decimal();
        let bar_scaled = arith::mul(over, goal_scaled)?;
        if arith::mul(measured, n)? >= bar_scaled {
            return Ok(Some((multiplier, arith::div(bar_scaled, n)?)));
        }
        Ok(None)
    }

    /// A′ = rw×A_ind + tw×A_team + Σ w×min(cap, actual/target) (SPEC §6), with its parts.
    pub fn blended_attainment(
        &self,
        measure: &MeasureRef,
        individual: Frac,
        w: Window,
        clawback_days: Option<u32>,
    ) -> Result<(Frac, Value), EvalError> {
        let Some(blend) = &self.role.quota.blend else {
            return Ok((individual, json!({"note": "the role has no attainment blend; A′ = A"})));
        };
        let mut total = individual.mul_dec(blend.revenue_weight)?;
        let mut parts = serde_json::Map::new();
        parts.insert(
            "individual".into(),
            json!({"attainment": frac_text(&individual), "weight": format_ratio(blend.revenue_weight)}),
        );
        if !blend.team_weight.is_zero() {
            let team = self.team_attainment(measure, w, clawback_days)?;
            total = total.add(&team.mul_dec(blend.team_weight)?)?;
            parts.insert(
                "team".into(),
                json!({"attainment": frac_text(&team), "weight": format_ratio(blend.team_weight)}),
            );
        }
        let mut scores = Vec::new();
        for score in &blend.scores {
            let actual = self.measure(&score.measure, w, clawback_days)?;
            let mut ratio = Frac::new(actual, score.target)?;
            if let Some(cap) = score.cap {
                ratio = ratio.min(Frac::whole(cap))?;
            }
            total = total.add(&ratio.mul_dec(score.weight)?)?;
            scores.push(json!({
                "measure": score.measure.to_string(), "actual": format_ratio(actual), "target": format_ratio(score.target),
                "score": frac_text(&ratio), "weight": format_ratio(score.weight),
            }));
        }
        if !scores.is_empty() {
            parts.insert("scores".into(), Value::Array(scores));
        }
        parts.insert("blended".into(), json!(frac_text(&total)));
        Ok((total, Value::Object(parts)))
    }

    /// Σ team measure / Σ team quota over the window, for payees sharing team and role.
    fn team_attainment(&self, measure: &MeasureRef, w: Window, clawback_days: Option<u32>) -> Result<Frac, EvalError> {
        let payee = self.payee();
        let members: Vec<usize> = match &payee.team {
            Some(team) => {
                self.run.teams.get(&(team.clone(), payee.role.clone())).cloned().unwrap_or_else(|| vec![self.payee])
            }
            None => vec![self.payee],
        };
        let mut measured = Decimal::ZERO;
        let mut quota_scaled = Decimal::ZERO;
        for member in members {
            measured = arith::add(measured, self.measure_of(member, measure, w, clawback_days)?)?;
            quota_scaled = arith::add(quota_scaled, self.quota_of(member, w).num)?;
        }
        if quota_scaled.is_zero() {
            return Ok(Frac::ZERO);
        }
        Ok(Frac::new(arith::mul(measured, self.run.plan.calendar.n_decimal())?, quota_scaled)?)
    }
}

fn frac_text(value: &Frac) -> String {
    value.value().map(format_ratio).unwrap_or_default()
}

/// Evaluates every payee of `facts` under `plan` for the whole plan year, explained.
pub fn run(plan: &Plan, facts: &Facts) -> RunResult {
    run_with(plan, facts, &RunOptions::default())
}

/// Evaluates every payee with `options`, keeping every statement in memory.
pub fn run_with(plan: &Plan, facts: &Facts, options: &RunOptions) -> RunResult {
    let mut statements = Vec::with_capacity(facts.payees().len() * plan.calendar.n_periods());
    let summary = run_chunked(plan, facts, options, None, |chunk| statements.extend(chunk));
    RunResult {
        plan: plan.id.clone(),
        plan_hash: plan.hash.clone(),
        data_hash: facts.hash.clone(),
        currency: plan.currency.clone(),
        minor_units: plan.minor_units,
        periods: plan.calendar.labels().map(str::to_string).collect(),
        statements,
        totals: summary.totals,
        warnings: summary.warnings,
        errors: summary.errors,
    }
}

/// A run's output apart from its statements.
#[derive(Debug, Clone, Default)]
pub struct RunSummary {
    pub totals: Totals,
    pub warnings: Vec<String>,
    pub errors: Vec<RunError>,
}

/// Payees evaluated together (in parallel) before their statements are handed on.
const CHUNK: usize = 4096;

/// Evaluates every payee, handing statements to `emit` in roster order, a chunk of payees
/// at a time, so that a caller can stream them out instead of holding them all. With
/// `period`, only that period's statements are handed on (earlier periods still count for
/// `ytd` windows) and the totals are theirs.
pub fn run_chunked(
    plan: &Plan,
    facts: &Facts,
    options: &RunOptions,
    period: Option<usize>,
    mut emit: impl FnMut(Vec<Statement>),
) -> RunSummary {
    run_payees(plan, facts, options, period, true, |outcomes| {
        let mut chunk = Vec::with_capacity(outcomes.iter().map(|(o, _)| o.statements.len()).sum());
        for (outcome, _) in outcomes {
            let kept = outcome.statements.into_iter().zip(outcome.periods);
            chunk.extend(kept.filter(|(_, (k, _))| period.is_none_or(|only| only == *k)).map(|(s, _)| s));
        }
        emit(chunk);
    })
}

/// An amounts-only run that builds no statements: each payee's total per period, the run's
/// totals, warnings and errors — what what-if, simulation and Monte Carlo runs compare.
#[derive(Debug, Clone)]
pub struct TotalsRun {
    pub periods: Vec<String>,
    /// `amounts[payee × periods + k]`, payees in roster order (`Facts::payees`): `None` where
    /// the payee has no statement (not employed in the period, or an error).
    amounts: Vec<Option<Decimal>>,
    pub totals: Totals,
    pub warnings: Vec<String>,
    pub errors: Vec<RunError>,
}

impl TotalsRun {
    /// What payee `payee` (its index in `Facts::payees`, the roster order) is paid in period
    /// `k`; `None` without a statement.
    pub fn amount(&self, payee: usize, k: usize) -> Option<Decimal> {
        self.amounts.get(payee * self.periods.len() + k).copied().flatten()
    }
}

/// Evaluates every payee for the whole year without building statements ([`TotalsRun`]);
/// the amounts are those of [`run_with`], to the cent.
pub fn run_totals(plan: &Plan, facts: &Facts, options: &RunOptions) -> TotalsRun {
    let n = plan.calendar.n_periods();
    let mut amounts = vec![None; facts.payees().len() * n];
    let summary = run_payees(plan, facts, options, None, false, |outcomes| {
        for (outcome, index) in outcomes {
            for (k, total) in outcome.periods {
                amounts[index * n + k] = Some(total);
            }
        }
    });
    TotalsRun {
        periods: plan.calendar.labels().map(str::to_string).collect(),
        amounts,
        totals: summary.totals,
        warnings: summary.warnings,
        errors: summary.errors,
    }
}

/// Evaluates every payee a chunk at a time (payees in parallel within a chunk), sums the
/// totals and collects warnings and errors, and hands each chunk's successful outcomes, with
/// their roster index, to `emit` in roster order.
fn run_payees(
    plan: &Plan,
    facts: &Facts,
    options: &RunOptions,
    period: Option<usize>,
    keep_lines: bool,
    mut emit: impl FnMut(Vec<(PayeeOutcome, usize)>),
) -> RunSummary {
    let payees = facts.payees();
    let n = plan.calendar.n_periods();
    let period_days: Vec<i64> = plan.calendar.periods().iter().map(|p| p.days()).collect();
    let mut summary = RunSummary { warnings: facts.warnings.clone(), ..RunSummary::default() };
    summary.warnings.extend(plan.warnings.iter().map(|d| d.to_string()));
    // Teams (same `team` and role) matter only to blends with a team weight.
    let mut teams: HashMap<(String, Name), Vec<usize>> = HashMap::new();
    let blends_teams = plan.roles.values().any(|r| r.quota.blend.as_ref().is_some_and(|b| !b.team_weight.is_zero()));
    let mut team_states = Vec::new();
    if blends_teams {
        for (i, payee) in payees.iter().enumerate() {
            if let Some(team) = &payee.team {
                teams.entry((team.clone(), payee.role.clone())).or_default().push(i);
            }
        }
        // A payee whose schedule fails counts with no quota in its team (and gets its own error).
        team_states = (0..payees.len())
            .into_par_iter()
            .map(|i| payee_state(plan, facts, i, &period_days).unwrap_or_else(|_| PayeeState::empty(n)))
            .collect();
    }
    let labels: Vec<Name> = plan.calendar.labels().map(Name::from).collect();
    let selected: Vec<&str> = match period {
        Some(k) => vec![plan.calendar.period(k).label.as_str()],
        None => plan.calendar.labels().collect(),
    };
    let mut totals = TotalsBuilder::new(plan.roles.keys().map(String::as_str), selected.iter().copied());
    let run = Run { plan, facts, team_states, labels, teams, period_days, n_decimal: plan.calendar.n_decimal() };

    let mut start = 0;
    while start < payees.len() {
        let end = (start + CHUNK).min(payees.len());
        let outcomes: Vec<PayeeOutcome> = (start..end)
            .into_par_iter()
            .map(|i| {
                catch_unwind(AssertUnwindSafe(|| evaluate_payee(&run, i, options, keep_lines))).unwrap_or_else(|_| {
                    PayeeOutcome {
                        errors: vec![RunError {
                            payee: Some(payees[i].id.to_string()),
                            period: None,
                            component: None,
                            message: "internal error while evaluating this payee (a bug in Accrue: please report it)"
                                .into(),
                        }],
                        ..PayeeOutcome::default()
                    }
                })
            })
            .collect();
        let mut kept = Vec::with_capacity(outcomes.len());
        for (i, mut outcome) in (start..end).zip(outcomes) {
            summary.warnings.append(&mut outcome.warnings);
            if !outcome.errors.is_empty() {
                summary.errors.append(&mut outcome.errors);
                continue;
            }
            for &(k, total) in &outcome.periods {
                // The totals' periods are the selected ones: all, or just `period`.
                match period {
                    None => totals.add_at(outcome.role, k, total),
                    Some(only) if only == k => totals.add_at(outcome.role, 0, total),
                    Some(_) => {}
                }
            }
            kept.push((outcome, i));
        }
        emit(kept);
        start = end;
    }
    summary.errors.dedup();
    summary.totals = totals.finish(plan.minor_units);
    summary
}

#[derive(Default)]
struct PayeeOutcome {
    /// Statements, when the run keeps them.
    statements: Vec<Statement>,
    /// The period index and total of each statement (kept or not).
    periods: Vec<(usize, Decimal)>,
    /// The payee's role, as its index in the plan's roles.
    role: usize,
    errors: Vec<RunError>,
    warnings: Vec<String>,
}

/// Evaluates one payee for the whole year. With `keep_lines` off (a totals run) no line or
/// statement is built: only each period's total.
fn evaluate_payee(run: &Run<'_>, index: usize, options: &RunOptions, keep_lines: bool) -> PayeeOutcome {
    let payee = &run.facts.payees()[index];
    let Some((role_index, _, role)) = run.plan.roles.get_full(payee.role.as_str()) else {
        return PayeeOutcome::default();
    };
    thread_local! {
        // The quota schedule's vectors, reused from payee to payee on each worker thread.
        static STATE: RefCell<PayeeState> = RefCell::new(PayeeState::empty(0));
    }
    STATE.with(|cell| {
        let mut fresh = PayeeState::empty(0);
        let mut held = cell.try_borrow_mut();
        let state = match held.as_deref_mut() {
            Ok(state) => state,
            Err(_) => &mut fresh,
        };
        match fill_payee_state(state, run.plan, run.facts, index, &role.quota, &run.period_days) {
            Ok(()) => evaluate_with_state(run, index, (role_index, role), options, keep_lines, state),
            Err(err) => {
                let error = RunError {
                    payee: Some(payee.id.to_string()),
                    period: None,
                    component: None,
                    message: format!("quota schedule: {err}"),
                };
                PayeeOutcome { errors: vec![error], ..PayeeOutcome::default() }
            }
        }
    })
}

/// [`evaluate_payee`] once the payee's quota schedule is known.
fn evaluate_with_state(
    run: &Run<'_>,
    index: usize,
    (role_index, role): (usize, &Role),
    options: &RunOptions,
    keep_lines: bool,
    state: &PayeeState,
) -> PayeeOutcome {
    let detail = if keep_lines { options.detail } else { Detail::Amounts };
    let plan = run.plan;
    let payee = &run.facts.payees()[index];
    let warnings = RefCell::new(BTreeSet::new());
    let mut errors = Vec::new();
    let mut statements = Vec::with_capacity(if keep_lines { plan.calendar.n_periods() } else { 0 });
    let mut periods = Vec::with_capacity(plan.calendar.n_periods());
    let minor = plan.minor_units;
    let (payee_id, payee_name, role_id) = (payee.id.clone(), payee.name.clone(), payee.role.clone());
    let component_ids = &role.component_ids;
    // What each component paid so far this year, by its index in the role.
    let mut paid: Vec<Decimal> = vec![Decimal::ZERO; role.components.len()];
    let mut earnings_history: Vec<Decimal> = Vec::new();
    // Most roles have no draw: skip the second pass over components when there is none.
    let has_guarantee = role.components.iter().any(|c| c.stage() == Stage::Guarantee);
    let stages: &[Stage] = if has_guarantee { &[Stage::Earnings, Stage::Guarantee] } else { &[Stage::Earnings] };
    // The period quota shown on statements, divided out once per distinct value.
    let mut shown_quota: Option<(Decimal, Decimal)> = None;

    for period in 0..plan.calendar.n_periods() {
        if !state.active(period) {
            continue;
        }
        let label = &run.labels[period];
        // Lines with their component's place in the role, so that a draw (evaluated after the
        // earnings it guarantees) still appears where the plan declares it.
        let mut lines: Vec<Line> = Vec::with_capacity(if keep_lines { role.components.len() } else { 0 });
        let mut slots: Vec<usize> = Vec::new();
        let mut earnings = Decimal::ZERO;
        // Σ of the period's line amounts so far; `None` once it overflowed.
        let mut sum = Some(Decimal::ZERO);
        let reported = RefCell::new(Vec::new());
        for &stage in stages {
            if stage == Stage::Guarantee {
                earnings = sum.unwrap_or_else(|| {
                    errors.push(overflow_error(payee, label, "earnings"));
                    Decimal::ZERO
                });
            }
            for (slot, component) in role.components.iter().enumerate().filter(|(_, c)| c.stage() == stage) {
                let paid_before = paid[slot];
                let cx = EvalContext {
                    run,
                    payee: index,
                    state,
                    period,
                    role,
                    paid_before,
                    earnings,
                    earnings_history: &earnings_history,
                    warnings: &warnings,
                    adjustments: &reported,
                    detail,
                    neutral_shaping: options.neutral_shaping,
                };
                match component.evaluate(&cx) {
                    Ok(mut outcome) => {
                        let sublines = std::mem::take(&mut outcome.sublines);
                        let amount = line_amount(component.as_ref(), outcome.value, paid_before, minor);
                        paid[slot] = paid[slot].checked_add(amount).unwrap_or_else(|| {
                            errors.push(overflow_error(payee, label, component.id()));
                            Decimal::ZERO
                        });
                        sum = sum.and_then(|s| s.checked_add(amount));
                        if keep_lines {
                            let id = component_ids[slot].clone();
                            lines.push(main_line(component.as_ref(), id, outcome, amount, paid_before, minor, detail));
                            if has_guarantee {
                                slots.push(slot);
                            }
                        }
                        for sub in sublines {
                            let amount = round_money(sub.value, minor);
                            if amount.is_zero() {
                                continue;
                            }
                            sum = sum.and_then(|s| s.checked_add(amount));
                            if !keep_lines {
                                continue;
                            }
                            let id = Name::from(format!("{}.{}", component.id(), sub.part));
                            let explained = detail == Detail::Full;
                            let line = Line {
                                component: id,
                                amount,
                                attainment: None,
                                explain: if explained { sub.explain } else { String::new() },
                                trace: if explained { sub.trace } else { trace_none() },
                            };
                            lines.push(line);
                            if has_guarantee {
                                slots.push(slot);
                            }
                        }
                    }
                    Err(err) => errors.push(RunError {
                        payee: Some(payee.id.to_string()),
                        period: Some(label.to_string()),
                        component: Some(component.id().to_string()),
                        message: err.to_string(),
                    }),
                }
            }
        }
        if has_guarantee {
            let mut placed: Vec<(usize, Line)> = slots.drain(..).zip(lines).collect();
            placed.sort_by_key(|(slot, _)| *slot);
            lines = placed.into_iter().map(|(_, line)| line).collect();
        }
        let total = sum.unwrap_or_else(|| {
            errors.push(overflow_error(payee, label, "total"));
            Decimal::ZERO
        });
        // Lines are whole minor units already: the sum needs rounding only if it is not.
        let total = if total.scale() == minor { total } else { round_money(total, minor) };
        if has_guarantee {
            earnings_history.push(earnings);
        }
        periods.push((period, total));
        if !keep_lines {
            continue;
        }
        statements.push(Statement {
            payee: payee_id.clone(),
            name: payee_name.clone(),
            role: role_id.clone(),
            period: label.clone(),
            quota: match shown_quota {
                Some((scaled, shown)) if scaled == state.quota_scaled[period] => shown,
                _ => {
                    let scaled = state.quota_scaled[period];
                    let shown =
                        round_money(Frac { num: scaled, den: run.n_decimal }.value().unwrap_or_default(), minor);
                    shown_quota = Some((scaled, shown));
                    shown
                }
            },
            adjustments: {
                let reported = reported.into_inner();
                let planned = state.adjustments(period);
                if planned.is_empty() {
                    reported
                } else {
                    let mut all = planned.to_vec();
                    all.extend(reported);
                    all
                }
            },
            lines,
            total,
        });
    }
    PayeeOutcome {
        statements,
        periods,
        role: role_index,
        errors,
        warnings: warnings.into_inner().into_iter().collect(),
    }
}

fn overflow_error(payee: &Payee, period: &Name, what: &str) -> RunError {
    RunError {
        payee: Some(payee.id.to_string()),
        period: Some(period.to_string()),
        component: Some(what.to_string()),
        message: ArithError::Overflow.to_string(),
    }
}

/// The trace of a line in an amounts-only run.
fn trace_none() -> serde_json::Map<String, Value> {
    serde_json::Map::new()
}

/// A component's line amount: the window rule of SPEC §3 — `round(V_k) − paid_before` for
/// `ytd`, `round(V_k)` for `period`, a negative floored at 0 unless `allow_negative`.
fn line_amount(component: &dyn Component, value: Decimal, paid_before: Decimal, minor: u32) -> Decimal {
    let rounded = round_money(value, minor);
    let due = match component.window() {
        WindowKind::Ytd => rounded - paid_before,
        WindowKind::Period => rounded,
    };
    if due.is_zero() || (due.is_sign_negative() && !component.allow_negative()) {
        // `rounded` and `paid_before` are whole minor units already: only a zero needs its places.
        round_money(Decimal::ZERO, minor)
    } else {
        due
    }
}

/// A component's line: its `amount` ([`line_amount`]) with the explanation of how the window
/// rule gave it.
fn main_line(
    component: &dyn Component,
    id: Name,
    outcome: crate::component::Outcome,
    amount: Decimal,
    paid_before: Decimal,
    minor: u32,
    detail: Detail,
) -> Line {
    if detail != Detail::Full {
        // Amounts only, whatever the component filled in.
        return Line { component: id, amount, attainment: None, explain: String::new(), trace: trace_none() };
    }
    let rounded = round_money(outcome.value, minor);
    let mut trace = outcome.trace.into_map();
    let mut explain = outcome.explain;
    trace.insert("window_value".into(), json!(rounded.to_string()));
    let due = match component.window() {
        WindowKind::Ytd => {
            trace.insert("paid_before".into(), json!(round_money(paid_before, minor).to_string()));
            if !paid_before.is_zero() {
                explain.push_str(&format!("; year to date {} less {} paid before", money(rounded), money(paid_before)));
            }
            rounded - paid_before
        }
        WindowKind::Period => rounded,
    };
    if due < Decimal::ZERO && !component.allow_negative() {
        trace.insert("floored".into(), json!(round_money(due, minor).to_string()));
        explain.push_str(&format!("; {} not clawed back now (allow_negative is off)", money(due)));
    }
    Line { component: id, amount, attainment: outcome.attainment, explain, trace }
}
