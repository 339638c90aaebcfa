//! What a component reads while it computes one payee's value for one period: the
//! [`EvalContext`] (quotas, measures over windows, company measures, blends) and the
//! [`EvalError`] it fails with. The evaluation layer fills it; components only read it, so it
//! is a concrete struct (no dynamic dispatch on the hot path of a measure read).

use std::any::Any;
use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::Trace;
use crate::arith::{self, ArithError, Frac};
use crate::calendar::Window;
use crate::data::{Credit, DealTotals, Facts, Payee};
use crate::error::Code;
use crate::measure::{Aggregate, DealKind, MeasureRef};
use crate::number::{format_money_grouped, format_percent, format_ratio};
use crate::plan::{PlanModel, RoleRules};
use crate::script::ScriptError;
use crate::spec::WindowKind;
use crate::statement::{Adjustment, Name};

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
    /// A script that failed or hit a sandbox limit, typed (script, function, line, column,
    /// kind) to the edge. Boxed: measure reads return `Result<_, EvalError>` on the hot path,
    /// and the rare script error should not make every one of them larger.
    #[error("{0}")]
    Script(Box<ScriptError>),
}

impl From<ScriptError> for EvalError {
    fn from(error: ScriptError) -> EvalError {
        EvalError::Script(Box::new(error))
    }
}

impl EvalError {
    /// The stable code of the failure (`eval.missing_company`, `script.limit.operations`, …).
    pub fn code(&self) -> Code {
        match self {
            EvalError::Arith(_) => Code::EvalArithmetic,
            EvalError::MissingCompany { .. } => Code::EvalMissingCompany,
            EvalError::Invalid(_) => Code::EvalInvalid,
            EvalError::Script(error) => error.code(),
        }
    }
}

/// Employment, quota and relief of one payee over the plan year, computed before any
/// component runs (team attainment needs every payee's quota).
#[derive(Debug, Clone)]
pub(crate) struct PayeeState {
    /// `(employed days, days)` per period; active_k = employed / days.
    pub(crate) employment: Vec<(i64, i64)>,
    pub(crate) effective_quota: Decimal,
    /// N × q_k after relief, per period.
    pub(crate) quota_scaled: Vec<Decimal>,
    /// Running sums of `quota_scaled`: a window's quota is two lookups.
    pub(crate) quota_prefix: Vec<Decimal>,
    /// Employed every day of every period (nothing to prorate).
    pub(crate) whole_year: bool,
    /// Per period, when the payee has any (empty otherwise).
    pub(crate) adjustments: Vec<Vec<Adjustment>>,
}

impl PayeeState {
    /// No employment and no quota: a team member whose schedule failed.
    pub(crate) fn empty(n: usize) -> PayeeState {
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
    pub(crate) fn adjustments(&self, k: usize) -> &[Adjustment] {
        self.adjustments.get(k).map_or(&[], Vec::as_slice)
    }

    pub(crate) fn adjust(&mut self, k: usize, n: usize, adjustment: Adjustment) {
        if self.adjustments.is_empty() {
            self.adjustments = vec![Vec::new(); n];
        }
        self.adjustments[k].push(adjustment);
    }

    pub(crate) fn active(&self, period: usize) -> bool {
        self.employment[period].0 > 0
    }

    /// `annual × active_k`, exact for whole periods.
    pub(crate) fn prorate(&self, annual: Decimal, period: usize) -> Result<Decimal, ArithError> {
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
pub(crate) struct RunContext<'a> {
    pub(crate) plan: &'a PlanModel,
    pub(crate) facts: &'a Facts,
    /// Every payee's quota schedule, kept only when a role blends team attainment (which
    /// reads team members' quotas); otherwise each payee's is computed where it is evaluated.
    pub(crate) team_states: Vec<PayeeState>,
    /// Period labels, shared by every statement.
    pub(crate) labels: Vec<Name>,
    /// Payees sharing `team` and role, for blended team attainment.
    pub(crate) teams: HashMap<(String, Name), Vec<usize>>,
    /// The members of each team pool: by roster `team`, then by the pool component's id, the
    /// payees of that team whose role has a pool of that id (kept only when a role has one).
    pub(crate) pools: HashMap<String, HashMap<Name, Vec<usize>>>,
    /// Team-wide values a component works out once per team, component and period (a team
    /// pool's funding and weights), from the facts alone, for every member to read: without
    /// it each member would redo the whole team's work (quadratic in a team's size).
    pub(crate) team_values: Mutex<HashMap<(String, Name, usize), TeamValue>>,
    /// The least common multiple of the periods' lengths in days: a member's employed share
    /// of a window is a whole number of 1/`days_lcm` (exact, whatever the periods' lengths).
    pub(crate) days_lcm: i64,
    /// The days of each period.
    pub(crate) period_days: Vec<i64>,
    /// N, the number of periods, as a decimal.
    pub(crate) n_decimal: Decimal,
}

/// What a component sees while it computes one payee's value for one period.
pub struct EvalContext<'a> {
    pub(crate) run: &'a RunContext<'a>,
    pub(crate) payee: usize,
    pub(crate) state: &'a PayeeState,
    pub(crate) period: usize,
    pub(crate) role: &'a RoleRules,
    pub(crate) paid_before: Decimal,
    pub(crate) earnings: Decimal,
    pub(crate) earnings_history: &'a [Decimal],
    /// The period's main lines so far (component id, amount), for conditions.
    pub(crate) period_lines: &'a [(crate::statement::Name, Decimal)],
    pub(crate) warnings: &'a RefCell<BTreeSet<String>>,
    /// Adjustments components report for the statement (an attainment blend).
    pub(crate) adjustments: &'a RefCell<Vec<Adjustment>>,
    pub(crate) detail: Detail,
    pub(crate) neutral_shaping: bool,
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

impl<'a> EvalContext<'a> {
    pub fn plan(&self) -> &PlanModel {
        self.run.plan
    }

    pub fn payee(&self) -> &Payee {
        &self.run.facts.payees()[self.payee]
    }

    pub fn role(&self) -> &RoleRules {
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
            WindowKind::YtdAnnual => Window::ytd_annual(self.period, self.n_periods()),
        }
    }

    pub fn window_label(&self, w: Window) -> String {
        let cal = &self.run.plan.calendar;
        let label = if w.first == w.last {
            cal.period(w.first).label.clone()
        } else {
            format!("{}..{}", cal.period(w.first).label, cal.period(w.last).label)
        };
        if w.is_annualised() { format!("{label} against the year") } else { label }
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
    pub fn trace(&self) -> Trace {
        Trace::new(self.explains())
    }

    /// What this component paid in earlier periods of the year.
    pub fn paid_before(&self) -> Decimal {
        self.paid_before
    }

    /// E_k: the sum of the statement's earnings lines (for `Stage::Guarantee` components).
    pub fn earnings(&self) -> Decimal {
        self.earnings
    }

    /// The statement's main lines computed so far this period: `(component id, amount)`.
    pub fn period_lines(&self) -> &[(crate::statement::Name, Decimal)] {
        self.period_lines
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
        if w.is_annualised() {
            let annual = self.quota(w).value().unwrap_or_default();
            parts.push(format!("{} for the whole year, against the year so far", money(annual)));
        } else if let Some(rows) = self.run.facts.period_quotas(self.payee) {
            let year: Decimal = rows.iter().sum();
            if !year.is_zero() {
                let window: Decimal = w.periods().map(|k| rows[k]).sum();
                let share = arith::div(window, year).unwrap_or_default();
                parts.push(format!(
                    "from quotas.csv: {} of the annual quota in {}",
                    format_percent(share),
                    self.window_label(w)
                ));
            }
        } else if let Some(shares) = &self.role.quota.phasing {
            let share: Decimal = w.periods().map(|k| shares[k]).sum();
            parts.push(format!("phased: {} of the annual quota in {}", format_percent(share), self.window_label(w)));
        }
        (!parts.is_empty()).then(|| parts.join(", "))
    }

    /// The window quota Σ q_k, as N × Σ q over N.
    pub fn quota(&self, w: Window) -> Frac {
        self.quota_of(self.payee, w)
    }

    fn quota_of(&self, payee: usize, w: Window) -> Frac {
        let w = w.base();
        let state = if payee == self.payee { self.state } else { &self.run.team_states[payee] };
        let prefix = &state.quota_prefix;
        let scaled = if w.first == 0 { prefix[w.last] } else { prefix[w.last] - prefix[w.first - 1] };
        Frac { num: scaled, den: self.run.n_decimal }
    }

    /// Σ annual/N × active_k over the window: TI (or a target bonus) for the window.
    pub fn incentive(&self, annual: Decimal, w: Window) -> Result<Frac, EvalError> {
        let w = w.base();
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
        let w = w.base();
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
            MeasureRef::Collected(kind) => self.collected(payee, *kind, w),
            MeasureRef::Declared { index, name, aggregate } => Ok(self.declared(payee, *index, name, *aggregate, w)),
            MeasureRef::Company(name) => self.company(name, w),
        }
    }

    /// The cash collected on deals of `kind` over the payee's sources (itself and, for
    /// roll-ups, its manager tree) and the window. A cancellation does not remove cash already
    /// received: a refund is a negative payment.
    fn collected(&self, payee: usize, kind: DealKind, w: Window) -> Result<Decimal, EvalError> {
        let facts = self.run.facts;
        let mut sum = Decimal::ZERO;
        for &source in facts.sources(payee) {
            sum = arith::add(sum, facts.collected(source, kind, w.first, w.last))?;
        }
        Ok(sum)
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
                return window_of(facts.deal_prefix(source), w, &totals);
            }
        }
        self.deal_sum_over(sources, w, clawback_days, totals, credit)
    }

    /// [`Self::deal_sum`] over the credits of `sources` (payees, each counted once).
    fn deal_sum_over<T: Sums>(
        &self,
        sources: &[usize],
        w: Window,
        clawback_days: Option<u32>,
        totals: impl Fn(&DealTotals) -> T,
        credit: impl Fn(&Credit) -> T,
    ) -> Result<T, EvalError> {
        let facts = self.run.facts;
        let mut sum = T::ZERO;
        for &source in sources {
            sum = sum.add(window_of(facts.deal_prefix(source), w, &totals)?)?;
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

    /// Whether the measure has a value in the window: a declared measure needs a measures.csv
    /// row in it; deal and company measures always have one (0 is a real value).
    pub fn has_value(&self, measure: &MeasureRef, w: Window) -> bool {
        match measure {
            MeasureRef::Declared { index, .. } => {
                self.run.facts.measure_window(self.payee, *index, w.first, w.last).1 > 0
            }
            _ => true,
        }
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
        let rows = self.run.facts.period_quotas(self.payee);
        for k in w.base().periods() {
            let phased = crate::data::spread_scaled(&self.role.quota, rows, goal, k).ok_or(ArithError::Overflow)?;
            goal_scaled = arith::add(goal_scaled, self.state().prorate(phased, k)?)?;
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

/// A value shared by a team's members ([`RunContext::team_values`]).
pub(crate) type TeamValue = Arc<dyn Any + Send + Sync>;

/// What a team pool reads of its members (`component/pool.rs`): who they are, their
/// employment, quotas, target incentives and measures, and the team's measure.
impl EvalContext<'_> {
    /// The members of pool `id` in this payee's roster team (the payee included), in roster
    /// order; `None` when the payee has no team.
    pub(crate) fn pool_members(&self, id: &str) -> Option<&[usize]> {
        let team = self.payee().team.as_deref()?;
        let members = self.run.pools.get(team).and_then(|pools| pools.get(id));
        // The payee's own role has the pool, so it is always listed; an empty answer would be a bug.
        Some(members.map_or(std::slice::from_ref(&self.payee), Vec::as_slice))
    }

    /// The team-wide value `component` computes for this payee's team and period: computed
    /// by the first member evaluated (`compute`, from the facts; a failure is not kept, so
    /// every member reports it) and read by the others. Two members evaluated at once may
    /// both compute it; they compute the same value.
    pub(crate) fn team_value<T: Any + Send + Sync>(
        &self,
        component: &str,
        compute: impl FnOnce() -> Result<T, EvalError>,
    ) -> Result<Arc<T>, EvalError> {
        let team = self.payee().team.clone().unwrap_or_default();
        let key = (team, Name::from(component), self.period);
        let cached = self.run.team_values.lock().unwrap_or_else(|e| e.into_inner()).get(&key).cloned();
        if let Some(value) = cached.and_then(|v| v.downcast::<T>().ok()) {
            return Ok(value);
        }
        let value = Arc::new(compute()?);
        let shared: TeamValue = value.clone();
        self.run.team_values.lock().unwrap_or_else(|e| e.into_inner()).insert(key, shared);
        Ok(value)
    }

    /// The quota schedule of `member`: this payee's own, or the one kept for the team.
    fn state_of(&self, member: usize) -> &PayeeState {
        if member == self.payee { self.state } else { &self.run.team_states[member] }
    }

    fn member(&self, member: usize) -> &Payee {
        &self.run.facts.payees()[member]
    }

    /// How much of window `w` `member` was employed, in units of 1/[`Self::days_lcm`] of a
    /// period: Σ employed_k × (days_lcm / days_k), a whole number (a whole period counts
    /// `days_lcm`). With `prorate: false` any employed day counts the whole period.
    pub(crate) fn employed_share(&self, member: usize, w: Window) -> Decimal {
        let state = self.state_of(member);
        let lcm = self.run.days_lcm;
        let units: i64 = w.base().periods().map(|k| state.employment[k].0 * (lcm / state.employment[k].1.max(1))).sum();
        Decimal::from(units)
    }

    /// The unit of [`Self::employed_share`]: one whole period.
    pub(crate) fn days_lcm(&self) -> Decimal {
        Decimal::from(self.run.days_lcm)
    }

    /// `member`'s window quota (after proration and relief), as N × Σ q over N.
    pub(crate) fn member_quota(&self, member: usize, w: Window) -> Frac {
        self.quota_of(member, w)
    }

    /// `member`'s role's annual target incentive (0 for a role the plan does not have).
    pub(crate) fn member_target_incentive(&self, member: usize) -> Decimal {
        self.run.plan.roles.get(self.member(member).role.as_str()).map_or(Decimal::ZERO, |r| r.target_incentive)
    }

    /// Whether `member`'s role rolls up its team (its quota is its team's).
    pub(crate) fn member_rolls_up(&self, member: usize) -> bool {
        self.run.plan.roles.get(self.member(member).role.as_str()).is_some_and(|r| r.rollup)
    }

    /// `measure` over window `w` for `member`, as for the member's own components (a roll-up
    /// role's team included).
    pub(crate) fn member_measure(
        &self,
        member: usize,
        measure: &MeasureRef,
        w: Window,
        clawback_days: Option<u32>,
    ) -> Result<Decimal, EvalError> {
        self.measure_of(member, measure, w, clawback_days)
    }

    /// A team's measure over window `w`: deal measures over the credits of every member and
    /// of everyone below them in a roll-up, each credit counted once; a declared measure summed
    /// over the members (a missing value counts 0, without a warning per member); a company
    /// measure read once.
    pub(crate) fn team_measure(
        &self,
        members: &[usize],
        measure: &MeasureRef,
        w: Window,
        clawback_days: Option<u32>,
    ) -> Result<Decimal, EvalError> {
        let facts = self.run.facts;
        match measure {
            MeasureRef::Company(name) => self.company(name, w),
            MeasureRef::Declared { index, .. } => {
                let mut sum = Decimal::ZERO;
                for &member in members {
                    sum = arith::add(sum, facts.measure_window(member, *index, w.first, w.last).0)?;
                }
                Ok(sum)
            }
            MeasureRef::Deals(_) | MeasureRef::GrossMargin | MeasureRef::GrossMarginPct | MeasureRef::Collected(_) => {
                // Each source's deals (and cash) once, however many members roll it up.
                let mut sources: Vec<usize> = members.iter().flat_map(|&m| facts.sources(m)).copied().collect();
                sources.sort_unstable();
                sources.dedup();
                match measure {
                    MeasureRef::Collected(kind) => {
                        let mut sum = Decimal::ZERO;
                        for source in sources {
                            sum = arith::add(sum, facts.collected(source, *kind, w.first, w.last))?;
                        }
                        Ok(sum)
                    }
                    MeasureRef::Deals(kind) => {
                        let i = *kind as usize;
                        self.deal_sum_over(
                            &sources,
                            w,
                            clawback_days,
                            |t| t.amount[i],
                            |c| if c.kind == *kind { c.amount } else { Decimal::ZERO },
                        )
                    }
                    // Gross margin (a pool is funded by an amount: a ratio is refused when it is built).
                    _ => self.deal_sum_over(
                        &sources,
                        w,
                        clawback_days,
                        |t| t.gross_margin,
                        |c| if c.kind == DealKind::New { c.gross_margin } else { Decimal::ZERO },
                    ),
                }
            }
        }
    }
}

/// A window's sum from one payee's running sums: the running sum at its end less the one
/// before its start.
fn window_of<T: Sums>(prefix: &[DealTotals], w: Window, totals: &impl Fn(&DealTotals) -> T) -> Result<T, EvalError> {
    let end = totals(&prefix[w.last]);
    if w.first == 0 { Ok(end) } else { Ok(end.sub(totals(&prefix[w.first - 1]))?) }
}

fn frac_text(value: &Frac) -> String {
    value.value().map(format_ratio).unwrap_or_default()
}
