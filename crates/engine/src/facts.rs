//! The data directory (SPEC §5) read for one plan: roster, credited deals aggregated per payee
//! and period, declared measures, company measures and relief entries.
//!
//! Deals stream straight into per-payee, per-period sums; only cancelled deals (and, when a
//! SPIFF needs close dates, every credit) are kept one by one. Every bad row is an error with
//! file, line and column; nothing is dropped without a word.

use rayon::slice::ParallelSliceMut;
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use chrono::NaiveDate;
use indexmap::IndexMap;
use rust_decimal::Decimal;
use sha2::{Digest, Sha256};

use crate::calendar::{Calendar, parse_date};
use crate::csvfile::{CsvFile, hex};
use crate::diagnostic::{Diagnostic, Diagnostics, did_you_mean};
use crate::measure::DealKind;
use crate::number::{NumberStyle, parse_input};
use crate::plan::Plan;
use crate::spec::QuotaSource;
use crate::statement::Name;

/// One row of `roster.csv`.
#[derive(Debug, Clone)]
pub struct Payee {
    pub id: Name,
    pub name: Name,
    pub role: Name,
    pub team: Option<String>,
    pub manager: Option<String>,
    pub start_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
    /// Assigned annual quota (0 when the roster leaves it empty).
    pub quota: Decimal,
    pub self_goal: Option<Decimal>,
    pub book_start: Option<Decimal>,
    /// Extra roster columns.
    pub attributes: IndexMap<String, String>,
}

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

/// Everything a run reads from the data directory, indexed for evaluation.
#[derive(Debug)]
pub struct Facts {
    calendar: Calendar,
    payees: Vec<Payee>,
    index: HashMap<String, usize>,
    /// `[payee][period]` sums of uncancelled credits.
    deal_totals: Vec<Vec<DealTotals>>,
    /// `[payee][period]` running sums of `deal_totals` from the start of the year, so that a
    /// window's sum is one subtraction (exact for decimals).
    deal_prefix: Vec<Vec<DealTotals>>,
    /// `[payee]` credits of cancelled deals.
    cancelled: Vec<Vec<Credit>>,
    /// `[payee]` every credit, kept only when a component needs close dates.
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
    pub warnings: Vec<String>,
    /// SHA-256 over the data files read, by name.
    pub hash: String,
}

const ROSTER: &str = "roster.csv";
const DEALS: &str = "deals.csv";
const SPLITS: &str = "splits.csv";
const MEASURES: &str = "measures.csv";
const COMPANY: &str = "company.csv";
const RELIEF: &str = "relief.csv";

impl Facts {
    /// Reads the data directory for `plan`. Errors in any file are all reported together.
    pub fn load(dir: &Path, plan: &Plan) -> Result<Facts, Diagnostics> {
        if !dir.is_dir() {
            return Err(Diagnostics(vec![Diagnostic::error(format!(
                "data directory {} does not exist",
                dir.display()
            ))]));
        }
        let mut loader = Loader {
            plan,
            calendar: &plan.calendar,
            diagnostics: Vec::new(),
            hashes: Vec::new(),
            warnings: Vec::new(),
        };
        let payees = loader.roster(dir);
        let index: HashMap<String, usize> = payees.iter().enumerate().map(|(i, p)| (p.id.to_string(), i)).collect();
        let n = plan.calendar.n_periods();
        let mut facts = Facts {
            calendar: plan.calendar.clone(),
            deal_totals: vec![vec![DealTotals::default(); n]; payees.len()],
            deal_prefix: Vec::new(),
            cancelled: vec![Vec::new(); payees.len()],
            credits: plan.needs_deal_list().then(|| vec![Vec::new(); payees.len()]),
            sources: Vec::new(),
            measures: vec![None; payees.len() * plan.measures.len() * n],
            measure_prefix: Vec::new(),
            measure_count: plan.measures.len(),
            company: IndexMap::new(),
            relief: vec![Vec::new(); payees.len()],
            index,
            payees,
            warnings: Vec::new(),
            hash: String::new(),
        };
        if !loader.diagnostics.iter().any(Diagnostic::is_error) {
            facts.sources = loader.sources(&facts.payees, &facts.index);
            let splits = loader.splits(dir, &facts.index);
            loader.deals(dir, &mut facts, &splits);
            loader.measures(dir, &mut facts);
            loader.company(dir, &mut facts);
            loader.relief(dir, &mut facts);
        }
        if loader.diagnostics.iter().any(Diagnostic::is_error) {
            return Err(Diagnostics(loader.diagnostics));
        }
        facts.warnings = loader.warnings;
        facts.deal_prefix = facts.deal_totals.iter().map(|periods| running_sums(periods)).collect();
        facts.measure_prefix = measure_running_sums(&facts.measures, n);
        let mut hasher = Sha256::new();
        loader.hashes.sort();
        for (name, hash) in &loader.hashes {
            hasher.update(format!("{name}\n{hash}\n").as_bytes());
        }
        facts.hash = hex(&hasher.finalize());
        Ok(facts)
    }

    /// One made-up payee of `role` with `quota`, employed all year, booking `per_period` of
    /// new business at full margin every period: the input of a payout curve.
    pub(crate) fn synthetic(plan: &Plan, role: &str, quota: Decimal, per_period: Decimal) -> Facts {
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
        Facts {
            calendar: plan.calendar.clone(),
            index: HashMap::from([("curve".to_string(), 0)]),
            deal_prefix: vec![running_sums(&periods)],
            deal_totals: vec![periods],
            cancelled: vec![Vec::new()],
            credits: plan.needs_deal_list().then(|| vec![Vec::new()]),
            sources: vec![vec![0]],
            measures: vec![None; plan.measures.len() * n],
            measure_prefix: vec![(Decimal::ZERO, 0); plan.measures.len() * n],
            measure_count: plan.measures.len(),
            company: IndexMap::new(),
            relief: vec![Vec::new()],
            payees: vec![payee],
            warnings: Vec::new(),
            hash: String::new(),
        }
    }

    /// The made-up payee of [`Facts::synthetic`] with a driver's inputs, for the worked tables
    /// of `explain`: a book at the start of the year, per-period amounts of deal kinds (new
    /// deals at full margin), declared measure values (by name, the same every period) and
    /// company measures per period. Each given input replaces the synthetic one.
    pub(crate) fn synthetic_driven(
        plan: &Plan,
        role: &str,
        quota: Decimal,
        book_start: Option<Decimal>,
        deals: &[(DealKind, Vec<Decimal>)],
        declared: &[(String, Decimal)],
        company: &[(String, Vec<Decimal>)],
    ) -> Facts {
        let mut facts = Facts::synthetic(plan, role, quota, Decimal::ZERO);
        let n = plan.calendar.n_periods();
        facts.payees[0].book_start = book_start;
        for (kind, amounts) in deals {
            for (totals, amount) in facts.deal_totals[0].iter_mut().zip(amounts) {
                totals.amount[*kind as usize] = *amount;
                totals.units[*kind as usize] = if amount.is_zero() { Decimal::ZERO } else { Decimal::ONE };
                if *kind == DealKind::New {
                    totals.gross_margin = *amount;
                }
            }
        }
        facts.deal_prefix = vec![running_sums(&facts.deal_totals[0])];
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

    pub fn deal_totals(&self, payee: usize) -> &[DealTotals] {
        &self.deal_totals[payee]
    }

    /// Running sums of a payee's uncancelled credits: `[k]` covers periods `0..=k`.
    pub fn deal_prefix(&self, payee: usize) -> &[DealTotals] {
        &self.deal_prefix[payee]
    }

    pub fn cancelled(&self, payee: usize) -> &[Credit] {
        &self.cancelled[payee]
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

    /// The names of the company measures in `company.csv`.
    pub fn company_names(&self) -> impl Iterator<Item = &str> {
        self.company.keys().map(String::as_str)
    }

    pub fn relief(&self, payee: usize) -> &[ReliefEntry] {
        &self.relief[payee]
    }

    /// The annual quota a payee's plan uses before proration and relief (SPEC §6).
    pub fn effective_annual_quota(&self, plan: &Plan, payee: &Payee) -> Decimal {
        match plan.roles.get(payee.role.as_str()) {
            Some(role) => effective_quota(&role.quota, payee),
            None => payee.quota,
        }
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

struct Loader<'a> {
    plan: &'a Plan,
    calendar: &'a Calendar,
    diagnostics: Vec<Diagnostic>,
    hashes: Vec<(String, String)>,
    warnings: Vec<String>,
}

impl Loader<'_> {
    fn open(&mut self, dir: &Path, name: &str, required: bool) -> Option<CsvFile> {
        match CsvFile::open(dir, name) {
            Ok(Some(file)) => Some(file),
            Ok(None) => {
                if required {
                    self.diagnostics.push(Diagnostic::error(format!(
                        "{} is missing: every data directory has {name}",
                        dir.join(name).display()
                    )));
                }
                None
            }
            Err(diag) => {
                self.diagnostics.push(diag);
                None
            }
        }
    }

    fn close(&mut self, file: CsvFile, name: &str) {
        let (hash, diagnostics) = file.finish();
        self.hashes.push((name.to_string(), hash));
        self.diagnostics.extend(diagnostics);
    }

    fn roster(&mut self, dir: &Path) -> Vec<Payee> {
        let mut payees = Vec::new();
        let mut roles: HashMap<String, Name> = HashMap::new();
        let Some(mut file) = self.open(dir, ROSTER, true) else {
            return payees;
        };
        if !file.require(&["id", "name", "role"]) {
            self.close(file, ROSTER);
            return payees;
        }
        let known =
            ["id", "name", "role", "team", "manager", "start_date", "end_date", "quota", "self_goal", "book_start"];
        let col = |f: &CsvFile, name: &str| f.column(name);
        let (c_id, c_name, c_role) = (col(&file, "id"), col(&file, "name"), col(&file, "role"));
        let (c_team, c_manager) = (col(&file, "team"), col(&file, "manager"));
        let (c_start, c_end) = (col(&file, "start_date"), col(&file, "end_date"));
        let (c_quota, c_goal, c_book) = (col(&file, "quota"), col(&file, "self_goal"), col(&file, "book_start"));
        let extra: Vec<(usize, String)> = file
            .headers
            .iter()
            .enumerate()
            .filter(|(_, h)| !known.contains(&h.as_str()))
            .map(|(i, h)| (i, h.clone()))
            .collect();
        let mut seen: HashMap<String, u64> = HashMap::new();
        while file.next_row() {
            let id = file.text(c_id).to_string();
            let line = file.line();
            let mut ok = true;
            if id.is_empty() {
                file.error_at(c_id, "payee id is empty");
                ok = false;
            } else if let Some(first) = seen.get(&id) {
                file.error_at(c_id, format!("payee `{id}` appears twice (first on line {first})"));
                ok = false;
            }
            let role = file.text(c_role).to_string();
            if !self.plan.roles.contains_key(&role) {
                let mut message = format!("payee `{id}` has role `{role}`, which the plan does not define");
                match did_you_mean(&role, self.plan.roles.keys().map(String::as_str)) {
                    Some(best) => message.push_str(&format!("; did you mean `{best}`?")),
                    None => message.push_str(&format!(
                        "; roles: {}",
                        self.plan.roles.keys().cloned().collect::<Vec<_>>().join(", ")
                    )),
                }
                file.error_at(c_role, message);
                ok = false;
            }
            let start_date = match file.optional_date(c_start, "start_date") {
                Ok(Some(d)) => d,
                Ok(None) => self.calendar.start(),
                Err(()) => {
                    ok = false;
                    self.calendar.start()
                }
            };
            let end_date = file.optional_date(c_end, "end_date").unwrap_or_else(|()| {
                ok = false;
                None
            });
            if let Some(end) = end_date {
                if end < start_date {
                    file.error_at(c_end, format!("end_date {end} is before start_date {start_date}"));
                    ok = false;
                }
            }
            let quota = file.optional_decimal(c_quota, "quota").unwrap_or_else(|()| {
                ok = false;
                None
            });
            if quota.is_some_and(|q| q < Decimal::ZERO) {
                file.error_at(c_quota, "quota cannot be negative");
                ok = false;
            }
            let self_goal = file.optional_decimal(c_goal, "self_goal").unwrap_or_else(|()| {
                ok = false;
                None
            });
            if self_goal.is_some_and(|q| q < Decimal::ZERO) {
                file.error_at(c_goal, "self_goal cannot be negative");
                ok = false;
            }
            let book_start = file.optional_decimal(c_book, "book_start").unwrap_or_else(|()| {
                ok = false;
                None
            });
            if !ok {
                continue;
            }
            let attributes = extra.iter().map(|(i, name)| (name.clone(), file.text(Some(*i)).to_string())).collect();
            let non_empty = |s: &str| (!s.is_empty()).then(|| s.to_string());
            if end_date.is_some_and(|e| e < self.calendar.start()) || start_date > self.calendar.end() {
                self.warnings.push(format!("payee {id}: not employed during the plan year; no statements"));
            }
            seen.insert(id.clone(), line);
            payees.push(Payee {
                id: id.into(),
                name: file.text(c_name).into(),
                // One shared name per role: payees of a role read the same few bytes.
                role: roles.entry(role.clone()).or_insert_with(|| Name::from(role.as_str())).clone(),
                team: non_empty(file.text(c_team)),
                manager: non_empty(file.text(c_manager)),
                start_date,
                end_date,
                quota: quota.unwrap_or(Decimal::ZERO),
                self_goal,
                book_start,
                attributes,
            });
        }
        // Managers must be payees, and the tree must not loop.
        let ids: HashSet<&str> = payees.iter().map(|p| p.id.as_str()).collect();
        for payee in &payees {
            if let Some(manager) = &payee.manager {
                if !ids.contains(manager.as_str()) {
                    self.diagnostics.push(Diagnostic::error(format!(
                        "{ROSTER}: payee `{}` has manager `{manager}`, who is not in the roster",
                        payee.id
                    )));
                }
            }
        }
        self.close(file, ROSTER);
        payees
    }

    fn sources(&mut self, payees: &[Payee], index: &HashMap<String, usize>) -> Vec<Vec<usize>> {
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

    /// `splits.csv`: deal id → `[(payee, share)]`, shares summing to exactly 1.
    fn splits(&mut self, dir: &Path, index: &HashMap<String, usize>) -> HashMap<String, Vec<(usize, Decimal)>> {
        let mut splits: HashMap<String, Vec<(usize, Decimal)>> = HashMap::new();
        let Some(mut file) = self.open(dir, SPLITS, false) else {
            return splits;
        };
        if !file.require(&["deal_id", "payee", "share"]) {
            self.close(file, SPLITS);
            return splits;
        }
        let (c_deal, c_payee, c_share) = (file.column("deal_id"), file.column("payee"), file.column("share"));
        let mut first_line: HashMap<String, u64> = HashMap::new();
        while file.next_row() {
            let deal = file.text(c_deal).to_string();
            let payee = file.text(c_payee).to_string();
            let Some(&payee_index) = index.get(&payee) else {
                file.error_at(c_payee, format!("split of deal `{deal}` credits `{payee}`, who is not in the roster"));
                continue;
            };
            let Some(share) = file.decimal(c_share, "share") else {
                continue;
            };
            if share <= Decimal::ZERO || share > Decimal::ONE {
                file.error_at(c_share, format!("share {share} is not a fraction in (0, 1]"));
                continue;
            }
            first_line.entry(deal.clone()).or_insert(file.line());
            splits.entry(deal).or_default().push((payee_index, share));
        }
        let name = file.name.clone();
        self.close(file, SPLITS);
        let mut deals: Vec<_> = splits.iter().collect();
        deals.sort_by_key(|(deal, _)| first_line.get(*deal).copied().unwrap_or(0));
        for (deal, shares) in deals {
            let total: Decimal = shares.iter().map(|(_, s)| *s).sum();
            if total != Decimal::ONE {
                let line = first_line.get(deal).copied().unwrap_or(0);
                self.diagnostics.push(
                    Diagnostic::error(format!("the shares of deal `{deal}` sum to {}, not 1", total.normalize()))
                        .at(&name, crate::diagnostic::Span { line: line as u32, col: 1, len: 0 }),
                );
            }
        }
        splits
    }

    fn deals(&mut self, dir: &Path, facts: &mut Facts, splits: &HashMap<String, Vec<(usize, Decimal)>>) {
        let Some(mut file) = self.open(dir, DEALS, true) else {
            return;
        };
        if !file.require(&["id", "owner", "close_date", "kind", "amount"]) {
            self.close(file, DEALS);
            return;
        }
        let c = |name: &str| file.column(name);
        let columns = DealColumns {
            id: c("id"),
            owner: c("owner"),
            close: c("close_date"),
            kind: c("kind"),
            amount: c("amount"),
            margin: c("gross_margin"),
            cancel: c("cancelled_date"),
        };
        // Deal ids are checked for duplicates by a 128-bit hash (a collision chance far below
        // one in a trillion at 10 million deals), collected in row order and sorted at the end:
        // sequential memory, where a hash set of millions of ids is a cache miss a row.
        let expected_rows = std::fs::metadata(dir.join(DEALS)).map_or(0, |m| m.len() / 48) as usize;
        let mut ids: Vec<(u128, u32)> = Vec::with_capacity(expected_rows);
        let mut last_owner: Option<(String, usize)> = None;
        let mut used_splits: HashSet<&str> = HashSet::new();
        let mut outside_year = 0usize;
        let mut outside_examples = Vec::new();
        let mut outside_employment: IndexMap<usize, Vec<String>> = IndexMap::new();
        while file.next_row() {
            // Read the row without allocating; an error names its column and stops the row.
            let row = match read_deal(&file, &columns, &facts.index, &mut last_owner, splits, self.calendar) {
                Ok(row) => row,
                Err((column, message)) => {
                    file.error_at(column, message);
                    continue;
                }
            };
            let id = file.text(columns.id);
            ids.push((id_hash(id), file.line() as u32));
            let split = if splits.is_empty() { None } else { splits.get_key_value(id) };
            if let Some((key, _)) = split {
                used_splits.insert(key.as_str());
            }
            let Some(period) = row.period else {
                outside_year += 1;
                if outside_examples.len() < 5 {
                    outside_examples.push(format!("{id} ({})", row.close_date));
                }
                continue;
            };
            let single = [(row.owner.unwrap_or_default(), Decimal::ONE)];
            let shares: &[(usize, Decimal)] = match split {
                Some((_, shares)) => shares,
                None => &single,
            };
            let keep_one_by_one = row.cancellation.is_some() || facts.credits.is_some();
            let deal: Arc<str> = if keep_one_by_one { Arc::from(id) } else { Arc::from("") };
            for &(payee, share) in shares {
                let (amount, margin) = if share == Decimal::ONE {
                    (row.amount, row.margin)
                } else {
                    (row.amount * share, row.margin * share)
                };
                let employed = &facts.payees[payee];
                if row.close_date < employed.start_date || employed.end_date.is_some_and(|e| row.close_date > e) {
                    outside_employment.entry(payee).or_default().push(format!("{id} ({})", row.close_date));
                }
                if row.cancellation.is_none() {
                    let totals = &mut facts.deal_totals[payee][period];
                    totals.amount[row.kind as usize] += amount;
                    totals.units[row.kind as usize] += share;
                    if row.kind == DealKind::New {
                        totals.gross_margin += margin;
                    }
                }
                if keep_one_by_one {
                    let credit = Credit {
                        deal: deal.clone(),
                        kind: row.kind,
                        period,
                        close_date: row.close_date,
                        amount,
                        gross_margin: margin,
                        share,
                        cancellation: row.cancellation,
                    };
                    if row.cancellation.is_some() {
                        facts.cancelled[payee].push(credit.clone());
                    }
                    if let Some(all) = facts.credits.as_mut() {
                        all[payee].push(credit);
                    }
                }
            }
        }
        if outside_year > 0 {
            self.warnings.push(format!(
                "{DEALS}: {outside_year} deal(s) closed outside the plan year {}–{} are ignored: {}{}",
                self.calendar.start(),
                self.calendar.end(),
                outside_examples.join(", "),
                if outside_year > outside_examples.len() { ", …" } else { "" }
            ));
        }
        for (payee, deals) in outside_employment {
            let p = &facts.payees[payee];
            self.warnings.push(format!(
                "payee {}: {} deal(s) closed outside employment still count: {}{}",
                p.id,
                deals.len(),
                deals.iter().take(5).cloned().collect::<Vec<_>>().join(", "),
                if deals.len() > 5 { ", …" } else { "" }
            ));
        }
        ids.par_sort_unstable();
        let repeats = ids.windows(2).filter(|pair| pair[0].0 == pair[1].0).map(|pair| (pair[1].1, pair[0].1));
        let mut repeats: Vec<(u32, u32)> = repeats.collect();
        repeats.sort_unstable();
        for (line, first) in repeats {
            self.diagnostics.push(
                Diagnostic::error(format!(
                    "the deal id on this row repeats the one on line {first}: a deal is counted once"
                ))
                .at(&file.name, crate::diagnostic::Span { line, col: 1, len: 0 }),
            );
        }
        let mut unused: Vec<&String> = splits.keys().filter(|d| !used_splits.contains(d.as_str())).collect();
        unused.sort();
        for deal in unused {
            self.diagnostics
                .push(Diagnostic::error(format!("{SPLITS}: deal `{deal}` has split rows but is not in {DEALS}")));
        }
        self.close(file, DEALS);
    }

    fn measures(&mut self, dir: &Path, facts: &mut Facts) {
        let Some(mut file) = self.open(dir, MEASURES, false) else {
            return;
        };
        if !file.require(&["payee", "period", "measure", "value"]) {
            self.close(file, MEASURES);
            return;
        }
        let (c_payee, c_period, c_measure, c_value) =
            (file.column("payee"), file.column("period"), file.column("measure"), file.column("value"));
        let n = self.calendar.n_periods();
        let mut lines: HashMap<(usize, usize, usize), u64> = HashMap::new();
        let mut unemployed: IndexMap<usize, Vec<String>> = IndexMap::new();
        while file.next_row() {
            let payee_id = file.text(c_payee).to_string();
            let Some(&payee) = facts.index.get(&payee_id) else {
                file.error_at(c_payee, format!("payee `{payee_id}` is not in the roster"));
                continue;
            };
            let Some(period) = self.period(&mut file, c_period) else {
                continue;
            };
            let measure_name = file.text(c_measure).to_string();
            let Some(measure) = self.plan.measures.get_index_of(&measure_name) else {
                let mut message = format!("measure `{measure_name}` is not declared in the plan's `measures:` block");
                if let Some(best) = did_you_mean(&measure_name, self.plan.measures.keys().map(String::as_str)) {
                    message.push_str(&format!("; did you mean `{best}`?"));
                } else {
                    message.push_str(&format!("; declare it, e.g. `{measure_name}: {{aggregate: sum}}`"));
                }
                file.error_at(c_measure, message);
                continue;
            };
            let Some(value) = file.decimal(c_value, "value") else {
                continue;
            };
            if let Some(first) = lines.insert((payee, measure, period), file.line()) {
                file.error_at(
                    c_measure,
                    format!(
                        "a second `{measure_name}` value for {payee_id} in {} (first on line {first})",
                        self.calendar.period(period).label
                    ),
                );
                continue;
            }
            let p = &facts.payees[payee];
            let days = self.calendar.employed_days(period, p.start_date, p.end_date);
            if days == 0 {
                unemployed
                    .entry(payee)
                    .or_default()
                    .push(format!("{measure_name} {}", self.calendar.period(period).label));
            }
            facts.measures[(payee * facts.measure_count + measure) * n + period] = Some(value);
        }
        for (payee, rows) in unemployed {
            self.warnings.push(format!(
                "payee {}: measures.csv rows for periods outside employment count in later windows: {}",
                facts.payees[payee].id,
                rows.join(", ")
            ));
        }
        self.close(file, MEASURES);
    }

    fn period(&mut self, file: &mut CsvFile, column: Option<usize>) -> Option<usize> {
        let label = file.text(column).to_string();
        match self.calendar.index_of_label(&label) {
            Some(period) => Some(period),
            None => {
                let labels: Vec<_> = self.calendar.labels().collect();
                file.error_at(
                    column,
                    format!("period `{label}` is not a period of the plan year ({})", labels.join(", ")),
                );
                None
            }
        }
    }

    fn company(&mut self, dir: &Path, facts: &mut Facts) {
        let Some(mut file) = self.open(dir, COMPANY, false) else {
            return;
        };
        if !file.require(&["period", "measure", "value"]) {
            self.close(file, COMPANY);
            return;
        }
        let (c_period, c_measure, c_value) = (file.column("period"), file.column("measure"), file.column("value"));
        let n = self.calendar.n_periods();
        while file.next_row() {
            let Some(period) = self.period(&mut file, c_period) else {
                continue;
            };
            let measure = file.text(c_measure).to_string();
            if measure.is_empty() {
                file.error_at(c_measure, "measure name is empty");
                continue;
            }
            let Some(value) = file.decimal(c_value, "value") else {
                continue;
            };
            let values = facts.company.entry(measure.clone()).or_insert_with(|| vec![None; n]);
            if values[period].is_some() {
                file.error_at(
                    c_measure,
                    format!("a second `{measure}` value for {}", self.calendar.period(period).label),
                );
                continue;
            }
            values[period] = Some(value);
        }
        self.close(file, COMPANY);
    }

    fn relief(&mut self, dir: &Path, facts: &mut Facts) {
        let Some(mut file) = self.open(dir, RELIEF, false) else {
            return;
        };
        // `amount` and `fraction` are alternatives: a file may carry just one of the columns.
        let has_one = file.column("amount").is_some() || file.column("fraction").is_some();
        if !file.require(&["payee", "period", "kind", "reason", "approved_by"]) || !has_one {
            if !has_one {
                file.error_at(None, "relief.csv needs an `amount` or a `fraction` column");
            }
            self.close(file, RELIEF);
            return;
        }
        let c = |name: &str| file.column(name);
        let (c_payee, c_period, c_kind, c_amount) = (c("payee"), c("period"), c("kind"), c("amount"));
        let (c_fraction, c_reason, c_approver) = (c("fraction"), c("reason"), c("approved_by"));
        while file.next_row() {
            let payee_id = file.text(c_payee).to_string();
            let Some(&payee) = facts.index.get(&payee_id) else {
                file.error_at(c_payee, format!("relief for `{payee_id}`, who is not in the roster"));
                continue;
            };
            let Some(period) = self.period(&mut file, c_period) else {
                continue;
            };
            let Ok(amount) = file.optional_decimal(c_amount, "amount") else {
                continue;
            };
            let Ok(fraction) = file.optional_decimal(c_fraction, "fraction") else {
                continue;
            };
            match (amount, fraction) {
                (Some(_), Some(_)) => {
                    file.error_at(c_fraction, "a relief row has either an `amount` or a `fraction`, not both");
                    continue;
                }
                (None, None) => {
                    file.error_at(c_amount, "a relief row needs an `amount` or a `fraction`");
                    continue;
                }
                (Some(a), None) if a < Decimal::ZERO => {
                    file.error_at(c_amount, "relief amount cannot be negative (relief never raises a quota)");
                    continue;
                }
                (None, Some(f)) if f < Decimal::ZERO || f > Decimal::ONE => {
                    file.error_at(c_fraction, format!("relief fraction {f} is not between 0 and 1"));
                    continue;
                }
                _ => {}
            }
            let approved_by = file.text(c_approver).to_string();
            if approved_by.is_empty() {
                file.error_at(c_approver, "relief needs an approver (`approved_by`)");
                continue;
            }
            let line = file.line();
            facts.relief[payee].push(ReliefEntry {
                period,
                kind: file.text(c_kind).to_string(),
                amount,
                fraction,
                reason: file.text(c_reason).to_string(),
                approved_by,
                line,
            });
        }
        self.close(file, RELIEF);
    }
}

struct DealColumns {
    id: Option<usize>,
    owner: Option<usize>,
    close: Option<usize>,
    kind: Option<usize>,
    amount: Option<usize>,
    margin: Option<usize>,
    cancel: Option<usize>,
}

/// One `deals.csv` row, checked.
struct DealRow {
    owner: Option<usize>,
    kind: DealKind,
    close_date: NaiveDate,
    /// `None` outside the plan year.
    period: Option<usize>,
    amount: Decimal,
    margin: Decimal,
    cancellation: Option<Cancellation>,
}

type RowError = (Option<usize>, String);

/// `last_owner`: the previous row's owner and roster index. Exports usually list a rep's deals
/// together, so most rows skip the roster lookup.
fn read_deal(
    file: &CsvFile,
    c: &DealColumns,
    payees: &HashMap<String, usize>,
    last_owner: &mut Option<(String, usize)>,
    splits: &HashMap<String, Vec<(usize, Decimal)>>,
    calendar: &Calendar,
) -> Result<DealRow, RowError> {
    let id = file.text(c.id);
    if id.is_empty() {
        return Err((c.id, "deal id is empty".into()));
    }
    let owner_text = file.text(c.owner);
    let owner = match last_owner {
        Some((text, index)) if text == owner_text => Some(*index),
        _ => {
            let found = payees.get(owner_text).copied();
            if let Some(index) = found {
                *last_owner = Some((owner_text.to_string(), index));
            }
            found
        }
    };
    if owner.is_none() && !splits.contains_key(id) {
        let mut message = format!("deal `{id}` belongs to `{owner_text}`, who is not in the roster");
        if let Some(best) = did_you_mean(owner_text, payees.keys().map(String::as_str)) {
            message.push_str(&format!("; did you mean `{best}`?"));
        }
        return Err((c.owner, message));
    }
    let kind_text = file.text(c.kind);
    let kind = DealKind::parse(kind_text).ok_or_else(|| {
        (c.kind, format!("deal kind `{kind_text}` is not one of new, expansion, renewal, contraction, churn"))
    })?;
    let close_text = file.text(c.close);
    let close_date = parse_date(close_text)
        .ok_or_else(|| (c.close, format!("close_date `{close_text}` is not a date (write YYYY-MM-DD)")))?;
    let amount = parse_input(file.text(c.amount), NumberStyle::Text).map_err(|e| (c.amount, format!("amount: {e}")))?;
    if amount.is_sign_negative() && !amount.is_zero() {
        return Err((
            c.amount,
            "amount cannot be negative: record losses as `contraction` or `churn`, reversals with `cancelled_date`"
                .into(),
        ));
    }
    let margin_text = file.text(c.margin);
    let margin = if margin_text.is_empty() {
        Decimal::ZERO
    } else {
        parse_input(margin_text, NumberStyle::Text).map_err(|e| (c.margin, format!("gross_margin: {e}")))?
    };
    let cancel_text = file.text(c.cancel);
    let cancellation = if cancel_text.is_empty() {
        None
    } else {
        let date = parse_date(cancel_text)
            .ok_or_else(|| (c.cancel, format!("cancelled_date `{cancel_text}` is not a date (write YYYY-MM-DD)")))?;
        if date < close_date {
            return Err((c.cancel, format!("deal `{id}` is cancelled on {date}, before it closed on {close_date}")));
        }
        Some(Cancellation { period: calendar.index_of(date), days_after_close: (date - close_date).num_days() })
    };
    Ok(DealRow { owner, kind, close_date, period: calendar.index_of(close_date), amount, margin, cancellation })
}

/// A 128-bit hash of a deal id, for duplicate detection without keeping the string.
fn id_hash(id: &str) -> u128 {
    use std::hash::{Hash, Hasher};
    // Two independent 64-bit hashes (SipHash and FNV-1a) of the id: one SipHash pass a row.
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    id.hash(&mut hasher);
    let fnv = id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    (u128::from(hasher.finish()) << 64) | u128::from(fnv)
}
