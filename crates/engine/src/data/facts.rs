//! A [`DataSet`] indexed for one compiled plan: credited deals summed per payee and period
//! (with running sums, so a window is one subtraction), the cash collected on them likewise,
//! roll-up trees, declared measures with running `(sum, count)`, company measures per period
//! and relief entries.
//!
//! Indexing reads no file: a what-if indexes the same data set again with other scale
//! factors. Only cancelled deals (and, when a component needs them, every credit) are kept
//! one by one.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};

use chrono::NaiveDate;
use indexmap::IndexMap;
use rayon::prelude::*;
use rust_decimal::Decimal;

use super::dataset::{
    COMPANY, DATA_FILES, DEALS, DataSet, Deal, MEASURES, NO_OWNER, NO_SPLIT, PAYMENTS, Payee, RELIEF, ROSTER,
};
use super::scale::{OwnerFactors, Scales};
use crate::calendar::Calendar;
use crate::diagnostic::{Diagnostic, Diagnostics, did_you_mean};
use crate::error::Code;
use crate::measure::{COLLECTED_KINDS, DealKind};
use crate::plan::PlanModel;
use crate::source::Sources;
use crate::spec::QuotaSource;
use crate::statement::Name;

/// Sums of credited, uncancelled deals of one payee in one period.
#[derive(Debug, Clone, Default)]
pub struct DealTotals {
    pub amount: [Decimal; 5],
    /// Gross margin dollars of new deals.
    pub gross_margin: Decimal,
    /// Credited deals counted by share.
    pub units: [Decimal; 5],
}

impl DealTotals {
    /// `self − other`, kind by kind: one period's sums from two running sums.
    fn minus(&self, other: &DealTotals) -> DealTotals {
        DealTotals {
            amount: std::array::from_fn(|i| self.amount[i] - other.amount[i]),
            gross_margin: self.gross_margin - other.gross_margin,
            units: std::array::from_fn(|i| self.units[i] - other.units[i]),
        }
    }

    fn plus(&self, other: &DealTotals) -> DealTotals {
        DealTotals {
            amount: std::array::from_fn(|i| self.amount[i] + other.amount[i]),
            gross_margin: self.gross_margin + other.gross_margin,
            units: std::array::from_fn(|i| self.units[i] + other.units[i]),
        }
    }
}

/// Running `(sum, count)` of each `n`-period row of declared measure values. (Values are
/// bounded by 10^15, so a year's sum fits.)
fn measure_running_sums(values: &[Option<Decimal>], n: usize) -> Vec<(Decimal, u32)> {
    let mut out = Vec::with_capacity(values.len());
    for row in values.chunks(n.max(1)) {
        let mut running = (Decimal::ZERO, 0u32);
        for value in row {
            if let Some(v) = value {
                running = (running.0 + v, running.1 + 1);
            }
            out.push(running);
        }
    }
    out
}

/// Each period's sums made running sums from the start of the year, in place.
fn running_sums_in_place(periods: &mut [DealTotals]) {
    for k in 1..periods.len() {
        let (before, rest) = periods.split_at_mut(k);
        rest[0] = before[k - 1].plus(&rest[0]);
    }
}

/// The made-up payee's collections: the customers of [`Facts::synthetic`] pay at once, so the
/// cash of each kind that takes payments is that kind's amount, in the same period.
fn collected_running_sums(periods: &[DealTotals]) -> Vec<[Decimal; COLLECTED_KINDS]> {
    let mut running = [Decimal::ZERO; COLLECTED_KINDS];
    periods
        .iter()
        .map(|totals| {
            for (kind, sum) in running.iter_mut().enumerate() {
                *sum += totals.amount[kind];
            }
            running
        })
        .collect()
}

fn running_sums(periods: &[DealTotals]) -> Vec<DealTotals> {
    let mut sums: Vec<DealTotals> = Vec::with_capacity(periods.len());
    for period in periods {
        let next = match sums.last() {
            Some(previous) => previous.plus(period),
            None => period.clone(),
        };
        sums.push(next);
    }
    sums
}

/// When a cancelled deal was cancelled.
#[derive(Debug, Clone, Copy)]
pub struct Cancellation {
    /// The period holding the cancellation date; `None` after the plan year.
    pub period: Option<usize>,
    pub days_after_close: i64,
}

/// One deal credited to one payee (by share when split).
#[derive(Debug, Clone)]
pub struct Credit {
    pub deal: Arc<str>,
    pub kind: DealKind,
    pub period: usize,
    pub close_date: NaiveDate,
    pub amount: Decimal,
    pub gross_margin: Decimal,
    pub share: Decimal,
    pub cancellation: Option<Cancellation>,
}

impl Credit {
    /// Whether, seen from period `as_of`, the cancellation has removed this credit under a
    /// component's `clawback_days`.
    pub fn removed(&self, as_of: usize, clawback_days: Option<u32>) -> bool {
        match self.cancellation {
            Some(Cancellation { period: Some(period), days_after_close }) => {
                period <= as_of && clawback_days.is_none_or(|limit| days_after_close <= i64::from(limit))
            }
            _ => false,
        }
    }
}

/// One row of `relief.csv`.
#[derive(Debug, Clone)]
pub struct ReliefEntry {
    pub period: usize,
    pub kind: String,
    pub amount: Option<Decimal>,
    pub fraction: Option<Decimal>,
    pub reason: String,
    pub approved_by: String,
    pub line: u64,
}

/// Everything a run reads from the data, indexed for one plan.
#[derive(Debug)]
pub struct Facts {
    calendar: Calendar,
    /// Shared with the data set's roster for this calendar: indexing again copies nothing.
    payees: Arc<Vec<Payee>>,
    index: Arc<HashMap<String, usize>>,
    /// `[payee][period]` running sums of uncancelled credits from the start of the year, so that a
    /// window's sum is one subtraction (exact for decimals). Built from the ledger's running
    /// sums (scaled as they are: the factors distribute) with the rest of the deals added to
    /// their period and every later one; the per-period sums are not kept beside them (a
    /// re-index writes half the memory, and no second pass).
    deal_prefix: Vec<Vec<DealTotals>>,
    /// `[payee]` credits of cancelled deals.
    cancelled: Vec<Vec<Credit>>,
    /// `[payee][period]` running sums of the cash collected on the payee's credited deals, by
    /// deal kind (new, expansion, renewal), from `payments.csv`; empty without payments, so a
    /// data set without them carries nothing here.
    collected_prefix: Vec<Vec<[Decimal; COLLECTED_KINDS]>>,
    /// `[payee]` every credit, kept only when a component needs them.
    credits: Option<Vec<Vec<Credit>>>,
    /// `[payee]` the payees whose deals count for this payee (self first, and the manager
    /// tree below for `rollup` roles): one source is always the payee itself.
    sources: Vec<Vec<usize>>,
    /// Declared measures, `[(payee × M + measure) × N + period]`.
    measures: Vec<Option<Decimal>>,
    /// Running `(sum, count)` of the values in `measures`, same layout: a window's sum and
    /// count (for `sum` and `mean` measures) is one subtraction.
    measure_prefix: Vec<(Decimal, u32)>,
    measure_count: usize,
    /// Company measures per period.
    company: IndexMap<String, Vec<Option<Decimal>>>,
    relief: Vec<Vec<ReliefEntry>>,
    /// `[payee][period]` quotas from `quotas.csv`; an empty list for a payee without rows, and
    /// none at all when the data set has none.
    period_quotas: Vec<Vec<Decimal>>,
    pub warnings: Vec<String>,
    /// SHA-256 over the data files read, by name.
    pub hash: String,
}

impl Facts {
    /// Reads the data directory for `plan`: [`DataSet::load`] then [`Facts::index`]. Errors
    /// in any file are all reported together.
    pub fn load(dir: &Path, plan: &PlanModel) -> Result<Facts, Diagnostics> {
        Facts::read(Arc::new(crate::source::FileSystem), dir, plan)
    }

    /// Reads a data directory from `sources` for `plan`, reporting every problem of the files
    /// and of their fit with the plan together, in file order.
    pub fn read(sources: Arc<dyn Sources>, dir: &Path, plan: &PlanModel) -> Result<Facts, Diagnostics> {
        let (data, mut diagnostics) = DataSet::parse(sources, dir);
        if data.files.contains_key(ROSTER) && !diagnostics.iter().any(|d| d.is_error() && in_file(d, ROSTER)) {
            // The data set is dropped here: its ledger is built for this one index, not kept.
            match Facts::index_with(&data, plan, &Scales::default(), false) {
                Ok(facts) if !diagnostics.iter().any(Diagnostic::is_error) => return Ok(facts),
                Ok(_) => {}
                Err(more) => diagnostics.extend(more.0),
            }
        }
        // File order, then line: as if each file were read and checked whole in turn.
        diagnostics.sort_by_key(|d| {
            let file = DATA_FILES.iter().position(|name| in_file(d, name)).unwrap_or(DATA_FILES.len());
            (file, d.location.as_ref().map_or(0, |l| l.span.line))
        });
        Err(Diagnostics(diagnostics).or_code(Code::DataInvalid))
    }

    /// Indexes a data set for `plan`, with `scales` applied to deals, declared measures and
    /// company rows. Rows that do not fit the plan (an unknown role, an undeclared measure, a
    /// period outside the plan year) are errors at their file, line and column.
    pub fn index(data: &DataSet, plan: &PlanModel, scales: &Scales) -> Result<Facts, Diagnostics> {
        Facts::index_with(data, plan, scales, true)
    }

    /// [`Facts::index`]; `keep_ledger`: whether the data set keeps the ledger built for this
    /// calendar (for the next index), or the facts take its sums (a data set read for one
    /// index, as [`Facts::read`] does).
    fn index_with(data: &DataSet, plan: &PlanModel, scales: &Scales, keep_ledger: bool) -> Result<Facts, Diagnostics> {
        let calendar = plan.calendar.clone();
        let n = calendar.n_periods();
        let mut ix =
            Indexer { data, plan, calendar: &calendar, keep_ledger, diagnostics: Vec::new(), warnings: Vec::new() };
        let payees = ix.payees();
        ix.warnings.extend(data.warnings.iter().cloned());
        ix.margin_column();
        let period_quotas = super::quotas::index(data, &calendar, &payees, &mut ix.diagnostics);
        if ix.diagnostics.iter().any(Diagnostic::is_error) {
            return Err(Diagnostics(ix.diagnostics).or_code(Code::DataInvalid));
        }
        let mut facts = Facts {
            // Filled by `Indexer::deals` (per-period sums, made running sums below).
            deal_prefix: Vec::new(),
            cancelled: vec![Vec::new(); payees.len()],
            collected_prefix: Vec::new(),
            credits: plan.needs_deal_list().then(|| vec![Vec::new(); payees.len()]),
            sources: Vec::new(),
            measures: vec![None; payees.len() * plan.measures.len() * n],
            measure_prefix: Vec::new(),
            measure_count: plan.measures.len(),
            company: IndexMap::new(),
            relief: vec![Vec::new(); payees.len()],
            period_quotas,
            index: data.index.clone(),
            payees,
            warnings: Vec::new(),
            hash: data.hash().to_string(),
            calendar: calendar.clone(),
        };
        facts.sources = ix.sources(&facts.payees);
        ix.deals(&mut facts, scales);
        ix.payments(&mut facts, scales);
        ix.zero_quotas(&facts);
        ix.teamless_pool_members(&facts);
        ix.measures(&mut facts, scales);
        ix.company(&mut facts, scales);
        ix.relief(&mut facts);
        if ix.diagnostics.iter().any(Diagnostic::is_error) {
            return Err(Diagnostics(ix.diagnostics).or_code(Code::DataInvalid));
        }
        facts.warnings = ix.warnings;
        facts.measure_prefix = measure_running_sums(&facts.measures, n);
        Ok(facts)
    }

    /// One made-up payee of `role` with `quota`, employed all year, booking `per_period` of
    /// new business at full margin every period: the input of a payout curve.
    pub(crate) fn synthetic(plan: &PlanModel, role: &str, quota: Decimal, per_period: Decimal) -> Facts {
        let n = plan.calendar.n_periods();
        let payee = Payee {
            id: Name::from("curve"),
            name: Name::from("Payout curve"),
            role: Name::from(role),
            team: None,
            manager: None,
            start_date: plan.calendar.start(),
            end_date: None,
            quota,
            self_goal: None,
            book_start: None,
            attributes: IndexMap::new(),
        };
        let mut totals = DealTotals::default();
        totals.amount[DealKind::New as usize] = per_period;
        totals.gross_margin = per_period;
        if !per_period.is_zero() {
            totals.units[DealKind::New as usize] = Decimal::ONE;
        }
        let periods = vec![totals; n];
        let collected = collected_running_sums(&periods);
        Facts {
            calendar: plan.calendar.clone(),
            index: Arc::new(HashMap::from([("curve".to_string(), 0)])),
            deal_prefix: vec![running_sums(&periods)],
            cancelled: vec![Vec::new()],
            collected_prefix: vec![collected],
            credits: plan.needs_deal_list().then(|| vec![Vec::new()]),
            sources: vec![vec![0]],
            measures: vec![None; plan.measures.len() * n],
            measure_prefix: vec![(Decimal::ZERO, 0); plan.measures.len() * n],
            measure_count: plan.measures.len(),
            company: IndexMap::new(),
            relief: vec![Vec::new()],
            period_quotas: Vec::new(),
            payees: Arc::new(vec![payee]),
            warnings: Vec::new(),
            hash: String::new(),
        }
    }

    /// The made-up payee of [`Facts::synthetic`] with a driver's inputs, for the worked tables
    /// of `explain`: a book at the start of the year, per-period amounts of deal kinds (new
    /// deals at full margin), declared measure values (by name, the same every period) and
    /// company measures per period. Each given input replaces the synthetic one.
    pub(crate) fn synthetic_driven(
        plan: &PlanModel,
        role: &str,
        quota: Decimal,
        book_start: Option<Decimal>,
        deals: &[(DealKind, Vec<Decimal>)],
        declared: &[(String, Decimal)],
        company: &[(String, Vec<Decimal>)],
    ) -> Facts {
        let mut facts = Facts::synthetic(plan, role, quota, Decimal::ZERO);
        let n = plan.calendar.n_periods();
        Arc::make_mut(&mut facts.payees)[0].book_start = book_start;
        let mut periods: Vec<DealTotals> = facts.deal_totals(0);
        for (kind, amounts) in deals {
            for (totals, amount) in periods.iter_mut().zip(amounts) {
                totals.amount[*kind as usize] = *amount;
                totals.units[*kind as usize] = if amount.is_zero() { Decimal::ZERO } else { Decimal::ONE };
                if *kind == DealKind::New {
                    totals.gross_margin = *amount;
                }
            }
        }
        facts.deal_prefix = vec![running_sums(&periods)];
        facts.collected_prefix = vec![collected_running_sums(&periods)];
        for (name, value) in declared {
            if let Some(index) = plan.measures.get_index_of(name) {
                facts.measures[index * n..(index + 1) * n].fill(Some(*value));
            }
        }
        facts.measure_prefix = measure_running_sums(&facts.measures, n);
        for (name, values) in company {
            facts.company.insert(name.clone(), values.iter().map(|v| Some(*v)).collect());
        }
        facts
    }

    pub fn calendar(&self) -> &Calendar {
        &self.calendar
    }

    pub fn payees(&self) -> &[Payee] {
        &self.payees
    }

    pub fn payee_index(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }

    /// Each period's sums of a payee's uncancelled credits (the differences of
    /// [`Facts::deal_prefix`]: exact for decimals).
    pub fn deal_totals(&self, payee: usize) -> Vec<DealTotals> {
        let prefix = &self.deal_prefix[payee];
        (0..prefix.len()).map(|k| if k == 0 { prefix[0].clone() } else { prefix[k].minus(&prefix[k - 1]) }).collect()
    }

    /// Running sums of a payee's uncancelled credits: `[k]` covers periods `0..=k`.
    pub fn deal_prefix(&self, payee: usize) -> &[DealTotals] {
        &self.deal_prefix[payee]
    }

    pub fn cancelled(&self, payee: usize) -> &[Credit] {
        &self.cancelled[payee]
    }

    /// The cash collected on a payee's own credited deals of `kind` (by share for split
    /// deals) over periods `first..=last`: 0 without payments, and for kinds that take none.
    pub fn collected(&self, payee: usize, kind: DealKind, first: usize, last: usize) -> Decimal {
        let i = kind as usize;
        match self.collected_prefix.get(payee) {
            Some(prefix) if i < COLLECTED_KINDS => {
                let end = prefix[last][i];
                if first == 0 { end } else { end - prefix[first - 1][i] }
            }
            _ => Decimal::ZERO,
        }
    }

    /// Every credit of a payee, when the plan needs them (SPIFF close-date windows).
    pub fn credits(&self, payee: usize) -> Option<&[Credit]> {
        self.credits.as_ref().map(|c| c[payee].as_slice())
    }

    /// The payees whose deals count for `payee`: itself, plus its manager tree for roll-ups.
    pub fn sources(&self, payee: usize) -> &[usize] {
        &self.sources[payee]
    }

    /// The sum and count of a declared measure's values over periods `first..=last`.
    pub fn measure_window(&self, payee: usize, measure: usize, first: usize, last: usize) -> (Decimal, u32) {
        let n = self.calendar.n_periods();
        let row = (payee * self.measure_count + measure) * n;
        let end = self.measure_prefix[row + last];
        if first == 0 {
            return end;
        }
        let before = self.measure_prefix[row + first - 1];
        (end.0 - before.0, end.1 - before.1)
    }

    /// A declared measure's value in one period, `None` when the file has no row.
    pub fn measure(&self, payee: usize, measure: usize, period: usize) -> Option<Decimal> {
        let n = self.calendar.n_periods();
        self.measures[(payee * self.measure_count + measure) * n + period]
    }

    /// A company measure's per-period values from `company.csv`.
    pub fn company(&self, name: &str) -> Option<&[Option<Decimal>]> {
        self.company.get(name).map(Vec::as_slice)
    }

    /// Replaces a company measure's per-period values (the alignment grid's net profit of a
    /// cell, known only after its other comp is computed).
    pub(crate) fn set_company(&mut self, name: &str, values: &[Decimal]) {
        self.company.insert(name.to_string(), values.iter().map(|v| Some(*v)).collect());
    }

    /// The names of the company measures in `company.csv`.
    pub fn company_names(&self) -> impl Iterator<Item = &str> {
        self.company.keys().map(String::as_str)
    }

    pub fn relief(&self, payee: usize) -> &[ReliefEntry] {
        &self.relief[payee]
    }

    /// A payee's quota for each period of the plan year from `quotas.csv` (before proration
    /// and relief), when the file gives them.
    pub(crate) fn period_quotas(&self, payee: usize) -> Option<&[Decimal]> {
        self.period_quotas.get(payee).filter(|q| !q.is_empty()).map(Vec::as_slice)
    }

    /// The annual quota a payee's plan uses before proration and relief (SPEC §6).
    pub fn effective_annual_quota(&self, plan: &PlanModel, payee: &Payee) -> Decimal {
        match plan.roles.get(payee.role.as_str()) {
            Some(role) => effective_quota(&role.quota, payee),
            None => payee.quota,
        }
    }
}

fn in_file(diagnostic: &Diagnostic, name: &str) -> bool {
    match &diagnostic.location {
        Some(location) => location.file.ends_with(name),
        None => diagnostic.message.starts_with(name) || diagnostic.message.contains(&format!("/{name}")),
    }
}

/// The annual quota under a role's quota rules: the self-set goal, not below the floor, when
/// the role's quota source is the self goal; else the assigned quota.
pub(crate) fn effective_quota(rules: &crate::plan::QuotaRules, payee: &Payee) -> Decimal {
    match (rules.source, payee.self_goal) {
        (QuotaSource::SelfGoal, Some(goal)) => goal.max(rules.floor.checked_mul(payee.quota).unwrap_or(Decimal::MAX)),
        _ => payee.quota,
    }
}

struct Indexer<'a> {
    data: &'a DataSet,
    plan: &'a PlanModel,
    calendar: &'a Calendar,
    /// Whether the data set keeps the ledger for the next index of this calendar.
    keep_ledger: bool,
    diagnostics: Vec<Diagnostic>,
    warnings: Vec<String>,
}

impl Indexer<'_> {
    fn error(&mut self, file: &str, cell: crate::csvfile::Cell, message: impl Into<String>) {
        self.diagnostics.push(self.data.error_at(file, cell, message));
    }

    fn error_with(&mut self, code: Code, file: &str, cell: crate::csvfile::Cell, message: impl Into<String>) {
        self.diagnostics.push(self.data.error_at(file, cell, message).with_code(code));
    }

    fn column(&self, file: &str, pick: impl Fn(&super::dataset::Columns) -> Option<u32>) -> Option<u32> {
        self.data.columns.get(file).and_then(pick)
    }

    /// A plan that reads gross margin needs the `gross_margin` column: without it every
    /// margin reads as 0, which zeroes margin-based pay and closes margin gates silently.
    fn margin_column(&mut self) {
        let Some(deals) = self.data.files.get(DEALS) else {
            return;
        };
        if self.plan.reads_margin && !deals.headers.iter().any(|h| h == "gross_margin") {
            let message = format!(
                "{DEALS} has no `gross_margin` column, but the plan reads gross margin (a component, gate, \
                 modifier or the attainment blend names `gross_margin` or `gross_margin_pct`)"
            );
            self.diagnostics.push(
                Diagnostic::error(message)
                    .with_code(Code::DataBadFile)
                    .at(&deals.name, crate::diagnostic::Span { line: 1, col: 1, len: 0 }),
            );
        }
    }

    /// The roster for this plan's calendar (start dates filled in, shared), every role checked.
    fn payees(&mut self) -> Arc<Vec<Payee>> {
        let payees = self.data.roster_for(self.calendar);
        let role_column = self.column(ROSTER, |c| c.role);
        for (i, payee) in payees.iter().enumerate() {
            if !self.plan.roles.contains_key(payee.role.as_str()) {
                let role = &payee.role;
                let mut message = format!("payee `{}` has role `{role}`, which the plan does not define", payee.id);
                match did_you_mean(role, self.plan.roles.keys().map(String::as_str)) {
                    Some(best) => message.push_str(&format!("; did you mean `{best}`?")),
                    None => message.push_str(&format!(
                        "; roles: {}",
                        self.plan.roles.keys().cloned().collect::<Vec<_>>().join(", ")
                    )),
                }
                let cell = crate::csvfile::Cell { column: role_column, ..self.data.role_cells[i] };
                self.error_with(Code::DataUnknownRole, ROSTER, cell, message);
            }
            if payee.end_date.is_some_and(|e| e < self.calendar.start()) || payee.start_date > self.calendar.end() {
                self.warnings.push(format!("payee {}: not employed during the plan year; no statements", payee.id));
            }
        }
        payees
    }

    fn sources(&mut self, payees: &[Payee]) -> Vec<Vec<usize>> {
        let index = &self.data.index;
        let mut reports: Vec<Vec<usize>> = vec![Vec::new(); payees.len()];
        for (i, payee) in payees.iter().enumerate() {
            if let Some(m) = payee.manager.as_ref().and_then(|m| index.get(m)) {
                reports[*m].push(i);
            }
        }
        let mut sources = Vec::with_capacity(payees.len());
        for (i, payee) in payees.iter().enumerate() {
            let rollup = self.plan.roles.get(payee.role.as_str()).is_some_and(|r| r.rollup);
            if !rollup {
                sources.push(vec![i]);
                continue;
            }
            let mut tree = vec![i];
            let mut seen = HashSet::from([i]);
            let mut next = 0;
            while next < tree.len() {
                for &report in &reports[tree[next]] {
                    if seen.insert(report) {
                        tree.push(report);
                    } else if report == i {
                        self.diagnostics.push(Diagnostic::error(format!(
                            "{ROSTER}: the manager chain of `{}` loops back to itself",
                            payee.id
                        )));
                    }
                }
                next += 1;
            }
            sources.push(tree);
        }
        sources
    }

    fn deals(&mut self, facts: &mut Facts, scales: &Scales) {
        let shift = scales.margin_shift().filter(|m| !m.is_zero());
        // A margin shift floors each deal's margin at 0: not linear in general, but for a
        // factor r applied alike to amount and margin, max(0, m·r + a·r·Δm) = r·max(0, m +
        // a·Δm), so sums per shift still serve.
        let shift_factors_alike = (0..facts.payees.len() as u32).all(|p| {
            let new = DealKind::New as usize;
            scales.owner_factors(p).is_none_or(|f| f.amount[new] == f.margin[new] && f.amount[new] >= Decimal::ZERO)
        });
        let ledger = (facts.credits.is_none() && (shift.is_none() || shift_factors_alike)).then(|| {
            if self.keep_ledger {
                self.data.ledger(self.calendar, &facts.payees)
            } else {
                Arc::new(Ledger::build(self.data, self.calendar, &facts.payees))
            }
        });
        let shifted = match (&ledger, shift) {
            (Some(ledger), Some(shift)) => ledger.shifted_margins(self.data, self.calendar, shift).map(Some),
            _ => Some(None),
        };
        let (Some(ledger), Some(shifted)) = (ledger, shifted) else {
            // Every credit kept, or a margin shift (not linear in the factors): deal by deal.
            let n = self.calendar.n_periods();
            facts.deal_prefix = vec![vec![DealTotals::default(); n]; facts.payees.len()];
            let mut warnings = Vec::new();
            let overflow = credit_deals(self.data, self.calendar, facts, scales, shift, Sums::Periods, &mut warnings);
            facts.deal_prefix.par_iter_mut().for_each(|periods| running_sums_in_place(periods));
            self.finish_deals(overflow, warnings);
            return;
        };
        // Scale factors are linear: a payee's own simple deals (uncancelled, unsplit) are
        // summed once per data set and calendar, and scaled as sums; the rest go one by one.
        let unscaled = shifted.is_none() && (0..facts.payees.len() as u32).all(|p| scales.owner_factors(p).is_none());
        let mut overflow = false;
        let ledger = match Arc::try_unwrap(ledger) {
            // A ledger built for this index alone: its sums are the facts', taken, not copied.
            Ok(mut ledger) if unscaled => {
                facts.deal_prefix = std::mem::take(&mut ledger.sums);
                Arc::new(ledger)
            }
            ledger => {
                let ledger = ledger.map_or_else(|shared| shared, Arc::new);
                self.add_sums(facts, scales, &ledger, shifted.as_deref(), &mut overflow);
                ledger
            }
        };
        let mut quiet = Vec::new();
        let rest = ledger.rest.iter().map(|&i| (i as usize, &self.data.deals[i as usize]));
        // The ledger's sums are running sums: so are the facts' now, and the rest go into them.
        overflow |= credit_deals_from(self.data, self.calendar, facts, scales, shift, Sums::Running, &mut quiet, rest);
        self.finish_deals(overflow, ledger.warnings.clone());
    }

    /// The ledger's sums into the facts, scaled by their owners' factors.
    fn add_sums(
        &self,
        facts: &mut Facts,
        scales: &Scales,
        ledger: &Ledger,
        shifted: Option<&MarginSums>,
        overflow: &mut bool,
    ) {
        // Owners in parallel: a re-index (a scale scenario, a grid cell) is mostly this loop.
        // Each owner's periods are collected, not written over a zeroed array: fresh memory
        // is written once.
        let owners: Vec<(Vec<DealTotals>, bool)> = ledger
            .sums
            .par_iter()
            .enumerate()
            .map(|(owner, periods)| {
                let factors = scales.owner_factors(owner as u32).filter(|f| **f != OwnerFactors::ONE);
                let mut overflow = false;
                let totals = periods
                    .iter()
                    .enumerate()
                    .map(|(k, sums)| {
                        let mut sums = std::borrow::Cow::Borrowed(sums);
                        if let Some(margins) = shifted {
                            sums.to_mut().gross_margin = margins[owner][k];
                        }
                        match factors {
                            None => sums.into_owned(),
                            Some(f) => scaled_totals(&sums, f).unwrap_or_else(|| {
                                overflow = true;
                                DealTotals::default()
                            }),
                        }
                    })
                    .collect();
                (totals, overflow)
            })
            .collect();
        *overflow |= owners.iter().any(|(_, overflow)| *overflow);
        facts.deal_prefix = owners.into_iter().map(|(totals, _)| totals).collect();
    }

    /// The cash of `payments.csv` credited like its deal — to the owner, or by share to the
    /// payees of a split deal — in the period of the payment date, scaled by the owner's
    /// factor for the deal's kind (so scaling bookings scales the cash collected on them).
    /// A payment is credited whatever year its deal closed in: cash received this year on a
    /// deal of last year is this year's collection. Payments are few beside deals and taken
    /// one by one; without `payments.csv`, or for a plan that reads no cash, nothing is done
    /// here (the file's rows were checked when it was read).
    fn payments(&mut self, facts: &mut Facts, scales: &Scales) {
        let data = self.data;
        let roles = &self.plan.collected_roles;
        if roles.is_empty() {
            return;
        }
        if !data.has_payments() {
            if facts.payees.iter().any(|p| roles.iter().any(|r| **r == *p.role)) {
                self.warnings.push(format!(
                    "the plan pays on cash collected (role {}), but the data has no {PAYMENTS}: every payee's \
                     collections are 0",
                    roles.join(", role ")
                ));
            }
            return;
        }
        let n = self.calendar.n_periods();
        let mut collected = vec![vec![[Decimal::ZERO; COLLECTED_KINDS]; n]; facts.payees.len()];
        let mut outside_year = 0usize;
        let mut outside_examples = Vec::new();
        let mut outside_employment: IndexMap<usize, Vec<String>> = IndexMap::new();
        let mut overflow = false;
        // Inputs are bounded by 10^15; a scaled payment may grow a thousandfold, as a deal may.
        let limit = Decimal::from(1_000_000_000_000_000_000_i64);
        for payment in &data.payments {
            let deal = &data.deals[payment.deal as usize];
            let Some(period) = self.calendar.index_of(payment.date) else {
                outside_year += 1;
                if outside_examples.len() < 5 {
                    let deal_id = data.deal_id(payment.deal as usize);
                    outside_examples.push(format!("{deal_id} ({}, line {})", payment.date, payment.line));
                }
                continue;
            };
            let kind = deal.kind as usize;
            let factor = if deal.owner == NO_OWNER { None } else { scales.owner_factors(deal.owner) };
            let amount = match factor.map(|f| f.amount[kind]).filter(|f| *f != Decimal::ONE) {
                Some(f) => match payment.amount.checked_mul(f).filter(|a| a.abs() <= limit) {
                    Some(amount) => amount,
                    None => {
                        overflow = true;
                        continue;
                    }
                },
                None => payment.amount,
            };
            let single = [(deal.owner, Decimal::ONE)];
            let shares: &[(u32, Decimal)] =
                if deal.split == NO_SPLIT { &single } else { &data.splits[deal.split as usize] };
            for &(payee, share) in shares {
                let payee = payee as usize;
                let employed = &facts.payees[payee];
                if payment.date < employed.start_date || employed.end_date.is_some_and(|e| payment.date > e) {
                    let example = format!("{} ({})", data.deal_id(payment.deal as usize), payment.date);
                    outside_employment.entry(payee).or_default().push(example);
                }
                let slot = &mut collected[payee][period][kind];
                *slot += if share == Decimal::ONE { amount } else { amount * share };
            }
        }
        if overflow {
            self.diagnostics.push(Diagnostic::error("a scale factor makes a payment too large to compute exactly"));
        }
        if outside_year > 0 {
            self.warnings.push(format!(
                "{PAYMENTS}: {outside_year} payment(s) dated outside the plan year {}–{} are ignored: {}{}",
                self.calendar.start(),
                self.calendar.end(),
                outside_examples.join(", "),
                if outside_year > outside_examples.len() { ", …" } else { "" }
            ));
        }
        for (payee, payments) in outside_employment {
            self.warnings.push(format!(
                "payee {}: {} payment(s) received outside employment count in the windows of the periods they fall \
                 in (none after the last period employed): {}{}",
                facts.payees[payee].id,
                payments.len(),
                payments.iter().take(5).cloned().collect::<Vec<_>>().join(", "),
                if payments.len() > 5 { ", …" } else { "" }
            ));
        }
        facts.collected_prefix = collected
            .into_iter()
            .map(|periods| {
                let mut running = [Decimal::ZERO; COLLECTED_KINDS];
                periods
                    .into_iter()
                    .map(|period| {
                        for (sum, value) in running.iter_mut().zip(period) {
                            *sum += value;
                        }
                        running
                    })
                    .collect()
            })
            .collect();
    }

    /// A payee with bookings, a quota of 0 and a role that pays against the quota: `run`
    /// fails that payee ("on a zero quota"), so `check --data` says so first.
    fn zero_quotas(&mut self, facts: &Facts) {
        // Running sums: some period is not zero exactly when some running sum is not (a later
        // refund can bring a running sum back to 0, not an earlier one).
        for (index, (payee, periods)) in facts.payees.iter().zip(&facts.deal_prefix).enumerate() {
            if !payee.quota.is_zero() {
                continue;
            }
            let booked = periods.iter().any(|t| t.amount.iter().any(|a| !a.is_zero()));
            let collected = facts.collected_prefix.get(index).is_some_and(|p| p.iter().flatten().any(|a| !a.is_zero()));
            if (booked || collected) && self.plan.quota_roles.iter().any(|r| **r == *payee.role) {
                let what = if booked { "bookings" } else { "cash collected" };
                self.warnings.push(format!(
                    "payee {}: has {what} but a quota of 0 in roster.csv; `run` fails this payee's quota-based \
                     components (role {})",
                    payee.id, payee.role
                ));
            }
        }
    }

    /// A payee of a role with a team pool but no `team` in the roster: the pool pays them
    /// nothing (a pool is shared by the members of a team), so `check --data` and `run` say so.
    fn teamless_pool_members(&mut self, facts: &Facts) {
        for payee in facts.payees.iter().filter(|p| p.team.is_none()) {
            if self.plan.pool_roles.iter().any(|r| **r == *payee.role) {
                self.warnings.push(format!(
                    "payee {}: role {} has a team pool but the payee has no `team` in roster.csv; the pool pays this \
                     payee nothing",
                    payee.id, payee.role
                ));
            }
        }
    }

    fn finish_deals(&mut self, overflow: bool, warnings: Vec<String>) {
        if overflow {
            self.diagnostics
                .push(Diagnostic::error("a scale factor makes a deal's amount or margin too large to compute exactly"));
        }
        self.warnings.extend(warnings);
    }

    /// The period of each label, with an error at each row whose label is not a period of
    /// the plan year.
    fn resolve_labels(&self) -> Vec<Option<usize>> {
        self.data.labels.iter().map(|label| self.calendar.index_of_label(label)).collect()
    }

    fn bad_period(&mut self, file: &str, cell: crate::csvfile::Cell, label: &str) {
        let labels: Vec<_> = self.calendar.labels().collect();
        let column = self.column(file, |c| c.period);
        let message = format!("period `{label}` is not a period of the plan year ({})", labels.join(", "));
        self.error_with(Code::DataUnknownPeriod, file, crate::csvfile::Cell { column, ..cell }, message);
    }

    fn measures(&mut self, facts: &mut Facts, scales: &Scales) {
        let data = self.data;
        let periods = self.resolve_labels();
        let n = self.calendar.n_periods();
        // Each name written in the file, resolved against the plan's declared measures.
        let declared: Vec<Option<usize>> =
            data.measure_names.iter().map(|name| self.plan.measures.get_index_of(name)).collect();
        let mut factors: HashMap<(usize, usize), Decimal> = HashMap::new();
        for (payee, name, factor) in scales.declared_factors() {
            if let Some(measure) = self.plan.measures.get_index_of(name) {
                let slot = factors.entry((*payee, measure)).or_insert(Decimal::ONE);
                *slot = slot.checked_mul(*factor).unwrap_or(Decimal::MAX);
            }
        }
        // The line of each (payee, measure, period) value seen so far; 0 for none.
        let mut lines: Vec<u32> = vec![0; facts.payees.len() * facts.measure_count * n];
        let mut unemployed: IndexMap<usize, Vec<String>> = IndexMap::new();
        for row in &data.measure_rows {
            let payee = row.payee as usize;
            let label = &data.labels[row.label as usize];
            let Some(period) = periods[row.label as usize] else {
                self.bad_period(MEASURES, row.cell, label);
                continue;
            };
            let measure_name = &data.measure_names[row.measure as usize];
            let Some(measure) = declared[row.measure as usize] else {
                let mut message = format!("measure `{measure_name}` is not declared in the plan's `measures:` block");
                if let Some(best) = did_you_mean(measure_name, self.plan.measures.keys().map(String::as_str)) {
                    message.push_str(&format!("; did you mean `{best}`?"));
                } else {
                    message.push_str(&format!("; declare it, e.g. `{measure_name}: {{aggregate: sum}}`"));
                }
                let column = self.column(MEASURES, |c| c.measure);
                self.error_with(
                    Code::DataUnknownMeasure,
                    MEASURES,
                    crate::csvfile::Cell { column, ..row.cell },
                    message,
                );
                continue;
            };
            let slot = &mut lines[(payee * facts.measure_count + measure) * n + period];
            let first = std::mem::replace(slot, row.cell.line.max(1));
            if first != 0 {
                let payee_id = &facts.payees[payee].id;
                let message =
                    format!("a second `{measure_name}` value for {payee_id} in {label} (first on line {first})");
                let column = self.column(MEASURES, |c| c.measure);
                self.error(MEASURES, crate::csvfile::Cell { column, ..row.cell }, message);
                continue;
            }
            let p = &facts.payees[payee];
            if self.calendar.employed_days(period, p.start_date, p.end_date) == 0 {
                unemployed.entry(payee).or_default().push(format!("{measure_name} {label}"));
            }
            let value = match factors.get(&(payee, measure)) {
                Some(factor) => match row.value.checked_mul(*factor) {
                    Some(value) => value,
                    None => {
                        let message = format!("scaling `{measure_name}` makes the value too large to compute");
                        self.error(MEASURES, row.cell, message);
                        continue;
                    }
                },
                None => row.value,
            };
            facts.measures[(payee * facts.measure_count + measure) * n + period] = Some(value);
        }
        for (payee, rows) in unemployed {
            self.warnings.push(format!(
                "payee {}: measures.csv rows for periods outside employment count in later windows: {}",
                facts.payees[payee].id,
                rows.join(", ")
            ));
        }
    }

    fn company(&mut self, facts: &mut Facts, scales: &Scales) {
        let data = self.data;
        let periods = self.resolve_labels();
        let n = self.calendar.n_periods();
        for row in &data.company_rows {
            let label = &data.labels[row.label as usize];
            let Some(period) = periods[row.label as usize] else {
                self.bad_period(COMPANY, row.cell, label);
                continue;
            };
            let values = facts.company.entry(row.measure.to_string()).or_insert_with(|| vec![None; n]);
            if values[period].is_some() {
                let message = format!("a second `{}` value for {label}", row.measure);
                let column = self.column(COMPANY, |c| c.measure);
                self.error(COMPANY, crate::csvfile::Cell { column, ..row.cell }, message);
                continue;
            }
            let value = match scales.company_factor(&row.measure) {
                Some(factor) => match row.value.checked_mul(factor) {
                    Some(value) => value,
                    None => {
                        let message = format!("scaling `{}` makes the value too large to compute", row.measure);
                        self.error(COMPANY, row.cell, message);
                        continue;
                    }
                },
                None => row.value,
            };
            values[period] = Some(value);
        }
        for (name, values) in scales.company_values() {
            let slot = facts.company.entry(name.clone()).or_insert_with(|| vec![None; n]);
            for (k, value) in values.iter().enumerate().take(n) {
                slot[k] = Some(*value);
            }
        }
    }

    fn relief(&mut self, facts: &mut Facts) {
        let data = self.data;
        let periods = self.resolve_labels();
        for row in &data.relief_rows {
            let label = &data.labels[row.label as usize];
            let Some(period) = periods[row.label as usize] else {
                self.bad_period(RELIEF, row.cell, label);
                continue;
            };
            // Relief lowers a quota; on none it changes nothing, which whoever approved it
            // should hear of (a warning, not an error: pay is as it would be without the row).
            let payee = &facts.payees[row.payee as usize];
            if payee.quota.is_zero() {
                self.warnings.push(format!(
                    "{RELIEF} line {}: relief for payee {}, who has no quota (0 in roster.csv): it changes nothing",
                    row.cell.line, payee.id
                ));
            }
            facts.relief[row.payee as usize].push(ReliefEntry {
                period,
                kind: row.kind.clone(),
                amount: row.amount,
                fraction: row.fraction,
                reason: row.reason.clone(),
                approved_by: row.approved_by.clone(),
                line: u64::from(row.cell.line),
            });
        }
    }
}

/// A deal's amount and margin under the owner's scale factors (exact), `None` on overflow.
fn scaled(data: &DataSet, deal: &Deal, scales: &Scales, shift: Option<Decimal>) -> Option<(Decimal, Decimal)> {
    let factors = if deal.owner == NO_OWNER { None } else { scales.owner_factors(deal.owner) };
    let (mut amount, mut margin) = (data.amount(deal), data.margin(deal));
    if let Some(f) = factors.filter(|f| **f != OwnerFactors::ONE) {
        let kind = deal.kind as usize;
        if f.amount[kind] != Decimal::ONE {
            amount = amount.checked_mul(f.amount[kind])?;
        }
        if f.margin[kind] != Decimal::ONE {
            margin = margin.checked_mul(f.margin[kind])?;
        }
    }
    if let Some(shift) = shift {
        margin = margin.checked_add(amount.checked_mul(shift)?)?.max(Decimal::ZERO);
    }
    // Inputs are bounded by 10^15 so that sums of millions of rows fit; a scaled row may
    // grow a thousandfold, and no further.
    let limit = Decimal::from(1_000_000_000_000_000_000_i64);
    (amount.abs() <= limit && margin.abs() <= limit).then_some((amount, margin))
}

/// A data set's deals that need no one-by-one treatment, summed per owner and period once
/// for a calendar (see [`DataSet::ledger`]), and the indices of the others.
#[derive(Debug)]
pub(crate) struct Ledger {
    /// The plan year's first day and its number of periods: the calendar it was built for.
    pub key: (NaiveDate, usize),
    /// `[owner][period]` running sums, from the start of the year, of the owner's
    /// uncancelled, unsplit deals.
    pub sums: Vec<Vec<DealTotals>>,
    /// Deals credited one by one: split, cancelled, or of an owner outside the roster.
    pub rest: Vec<u32>,
    /// The deals' warnings (outside the plan year, outside employment).
    pub warnings: Vec<String>,
    /// Per margin shift Δm, `[owner][period]` running sums of max(0, margin + amount × Δm)
    /// of the simple new deals (the alignment grid's margin axis), built on first use.
    shifted: Mutex<Vec<(Decimal, Arc<MarginSums>)>>,
}

impl Ledger {
    pub(crate) fn build(data: &DataSet, calendar: &Calendar, payees: &Arc<Vec<Payee>>) -> Ledger {
        let n = calendar.n_periods();
        let mut facts_like = LedgerSink { sums: vec![vec![DealTotals::default(); n]; payees.len()], rest: Vec::new() };
        // With a ledger sink, crediting reads only the roster of the facts it is given.
        let mut scratch = Facts {
            calendar: calendar.clone(),
            payees: payees.clone(),
            index: Arc::new(HashMap::new()),
            deal_prefix: Vec::new(),
            cancelled: Vec::new(),
            collected_prefix: Vec::new(),
            credits: None,
            sources: Vec::new(),
            measures: Vec::new(),
            measure_prefix: Vec::new(),
            measure_count: 0,
            company: IndexMap::new(),
            relief: Vec::new(),
            period_quotas: Vec::new(),
            warnings: Vec::new(),
            hash: String::new(),
        };
        let mut warnings = Vec::new();
        credit_deals(
            data,
            calendar,
            &mut scratch,
            &Scales::default(),
            None,
            Sums::Ledger(&mut facts_like),
            &mut warnings,
        );
        // Kept as running sums: an index scales them as they are (the factors distribute over
        // sums), and the rest of the deals go into them.
        facts_like.sums.par_iter_mut().for_each(|periods| running_sums_in_place(periods));
        Ledger {
            key: (calendar.start(), n),
            sums: facts_like.sums,
            rest: facts_like.rest,
            warnings,
            shifted: Mutex::new(Vec::new()),
        }
    }

    /// Running sums of max(0, margin + amount × `shift`) of each owner's simple new deals by period.
    /// `None` when a sum overflows (the deal-by-deal path then reports it).
    pub(crate) fn shifted_margins(
        &self,
        data: &DataSet,
        calendar: &Calendar,
        shift: Decimal,
    ) -> Option<Arc<MarginSums>> {
        let mut cache = self.shifted.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((_, sums)) = cache.iter().find(|(s, _)| *s == shift) {
            return Some(sums.clone());
        }
        let mut sums = vec![vec![Decimal::ZERO; calendar.n_periods()]; self.sums.len()];
        for deal in &data.deals {
            let simple = deal.owner != NO_OWNER && deal.split == NO_SPLIT && deal.cancelled.is_none();
            if !simple || deal.kind != DealKind::New {
                continue;
            }
            let Some(k) = calendar.index_of(deal.close_date) else { continue };
            let margin = data.amount(deal).checked_mul(shift)?.checked_add(data.margin(deal))?.max(Decimal::ZERO);
            let slot = &mut sums[deal.owner as usize][k];
            *slot = slot.checked_add(margin)?;
        }
        // Running sums, as the ledger's.
        for periods in &mut sums {
            for k in 1..periods.len() {
                periods[k] = periods[k].checked_add(periods[k - 1])?;
            }
        }
        let sums = Arc::new(sums);
        cache.push((shift, sums.clone()));
        Some(sums)
    }
}

/// `[owner][period]` running sums of margins.
type MarginSums = Vec<Vec<Decimal>>;

/// Where the ledger's build puts the simple deals, and the others' indices.
struct LedgerSink {
    sums: Vec<Vec<DealTotals>>,
    rest: Vec<u32>,
}

/// A sum of deals scaled by their owner's factors (exact: the factors distribute).
fn scaled_totals(sums: &DealTotals, f: &OwnerFactors) -> Option<DealTotals> {
    let mut out = sums.clone();
    for kind in 0..5 {
        if f.amount[kind] != Decimal::ONE {
            out.amount[kind] = sums.amount[kind].checked_mul(f.amount[kind])?;
        }
    }
    if f.margin[DealKind::New as usize] != Decimal::ONE {
        out.gross_margin = sums.gross_margin.checked_mul(f.margin[DealKind::New as usize])?;
    }
    Some(out)
}

/// Where [`credit_deals_from`] adds an uncancelled credit.
enum Sums<'a> {
    /// A simple deal into the ledger's per-period sums; the others are only listed.
    Ledger(&'a mut LedgerSink),
    /// Into the facts' `deal_prefix` holding each period's own sums.
    Periods,
    /// Into the facts' `deal_prefix` holding running sums: the credit's period and every
    /// later one.
    Running,
}

fn credit_deals(
    data: &DataSet,
    calendar: &Calendar,
    facts: &mut Facts,
    scales: &Scales,
    shift: Option<Decimal>,
    sums: Sums<'_>,
    warnings: &mut Vec<String>,
) -> bool {
    credit_deals_from(data, calendar, facts, scales, shift, sums, warnings, data.deals.iter().enumerate())
}

/// Credits `deals` to their payees (by share when split) under `scales`; into the ledger
/// (`Sums::Ledger`), a simple deal's credit goes to the ledger's sums instead. Returns
/// whether a scaled amount overflowed; pushes the deals' warnings.
#[allow(clippy::too_many_arguments)]
fn credit_deals_from<'d>(
    data: &DataSet,
    calendar: &Calendar,
    facts: &mut Facts,
    scales: &Scales,
    shift: Option<Decimal>,
    mut sums: Sums<'_>,
    warnings: &mut Vec<String>,
    deals: impl Iterator<Item = (usize, &'d Deal)>,
) -> bool {
    let mut outside_year = 0usize;
    let mut outside_examples = Vec::new();
    let mut outside_employment: IndexMap<usize, Vec<String>> = IndexMap::new();
    let mut overflow = false;
    // The period of the last close date: deals come in runs of nearby dates.
    let mut last_period: Option<(NaiveDate, Option<usize>)> = None;
    // A credit kept only in the sums needs no id: one shared empty one, not one allocated a deal.
    let no_id: Arc<str> = Arc::from("");
    for (index, deal) in deals {
        let period = match last_period {
            Some((date, period)) if date == deal.close_date => period,
            _ => {
                let period = calendar.index_of(deal.close_date);
                last_period = Some((deal.close_date, period));
                period
            }
        };
        let Some(period) = period else {
            outside_year += 1;
            if outside_examples.len() < 5 {
                outside_examples.push(format!("{} ({})", data.deal_id(index), deal.close_date));
            }
            continue;
        };
        let Some((amount, margin)) = scaled(data, deal, scales, shift) else {
            overflow = true;
            continue;
        };
        let simple = deal.owner != NO_OWNER && deal.split == NO_SPLIT && deal.cancelled.is_none();
        let single = [(deal.owner, Decimal::ONE)];
        let shares: &[(u32, Decimal)] =
            if deal.split == NO_SPLIT { &single } else { &data.splits[deal.split as usize] };
        let cancellation = deal.cancelled.map(|date| Cancellation {
            period: calendar.index_of(date),
            days_after_close: (date - deal.close_date).num_days(),
        });
        let keep_one_by_one = cancellation.is_some() || facts.credits.is_some();
        let id: Arc<str> = if keep_one_by_one { Arc::from(data.deal_id(index)) } else { no_id.clone() };
        if !simple {
            if let Sums::Ledger(sink) = &mut sums {
                sink.rest.push(index as u32);
            }
        }
        for &(payee, share) in shares {
            let payee = payee as usize;
            let (amount, margin) =
                if share == Decimal::ONE { (amount, margin) } else { (amount * share, margin * share) };
            let employed = &facts.payees[payee];
            if deal.close_date < employed.start_date || employed.end_date.is_some_and(|e| deal.close_date > e) {
                let example = format!("{} ({})", data.deal_id(index), deal.close_date);
                outside_employment.entry(payee).or_default().push(example);
            }
            if matches!(sums, Sums::Ledger(_)) && !simple {
                continue;
            }
            if cancellation.is_none() {
                let totals = match &mut sums {
                    Sums::Ledger(sink) => std::slice::from_mut(&mut sink.sums[payee][period]),
                    Sums::Periods => std::slice::from_mut(&mut facts.deal_prefix[payee][period]),
                    Sums::Running => &mut facts.deal_prefix[payee][period..],
                };
                for totals in totals {
                    totals.amount[deal.kind as usize] += amount;
                    totals.units[deal.kind as usize] += share;
                    if deal.kind == DealKind::New {
                        totals.gross_margin += margin;
                    }
                }
            }
            if keep_one_by_one {
                let credit = Credit {
                    deal: id.clone(),
                    kind: deal.kind,
                    period,
                    close_date: deal.close_date,
                    amount,
                    gross_margin: margin,
                    share,
                    cancellation,
                };
                if cancellation.is_some() {
                    facts.cancelled[payee].push(credit.clone());
                }
                if let Some(all) = facts.credits.as_mut() {
                    all[payee].push(credit);
                }
            }
        }
    }
    if outside_year > 0 {
        warnings.push(format!(
            "deals.csv: {outside_year} deal(s) closed outside the plan year {}–{} are ignored: {}{}",
            calendar.start(),
            calendar.end(),
            outside_examples.join(", "),
            if outside_year > outside_examples.len() { ", …" } else { "" }
        ));
    }
    for (payee, deals) in outside_employment {
        let p = &facts.payees[payee];
        warnings.push(format!(
            "payee {}: {} deal(s) closed outside employment still count: {}{}",
            p.id,
            deals.len(),
            deals.iter().take(5).cloned().collect::<Vec<_>>().join(", "),
            if deals.len() > 5 { ", …" } else { "" }
        ));
    }
    overflow
}
