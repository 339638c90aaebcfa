//! The data set (SPEC §5) parsed once, independent of any plan: the roster, a compact ledger
//! of deals by owner, splits, the payments of `payments.csv` tied to their deals, and the rows
//! of `measures.csv`, `company.csv`, `relief.csv` and `quotas.csv` with their period labels
//! and measure names still unresolved.
//!
//! What depends on a plan — which periods the dates and labels fall in, which roles exist and
//! roll up, which measures are declared — is decided when the data set is indexed for a plan
//! ([`crate::Facts::index`]), as often as a what-if needs, without reading a file again. Bad
//! rows found here and there are errors with file, line and column alike.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::NaiveDate;
use indexmap::IndexMap;
use rayon::slice::ParallelSliceMut;
use rust_decimal::Decimal;
use sha2::{Digest, Sha256};

use super::facts::Ledger;
use super::quotas::{QUOTA_COLUMNS, QUOTAS, QuotaRow};
use crate::calendar::{Calendar, parse_date};
use crate::csvfile::{Cell, CsvFile, FileInfo, hex};
use crate::diagnostic::{Diagnostic, Diagnostics, Span, did_you_mean};
use crate::error::Code;
use crate::measure::DealKind;
use crate::number::{NumberStyle, parse_input};
use crate::source::{FileSystem, Memory, Sources};
use crate::statement::Name;

pub(crate) const ROSTER: &str = "roster.csv";
pub(crate) const DEALS: &str = "deals.csv";
pub(crate) const SPLITS: &str = "splits.csv";
pub(crate) const PAYMENTS: &str = "payments.csv";
pub(crate) const MEASURES: &str = "measures.csv";
pub(crate) const COMPANY: &str = "company.csv";
pub(crate) const RELIEF: &str = "relief.csv";

/// The data files, in the order they are read and their problems reported.
pub const DATA_FILES: [&str; 8] = [ROSTER, SPLITS, DEALS, PAYMENTS, MEASURES, COMPANY, RELIEF, QUOTAS];

/// Every column the loader reads, per file: `(file, required, optional)`. The user guide
/// (`docs/data.md`) documents each, and a test holds it to that. In `relief.csv` one of
/// `amount` and `fraction` is required per row.
pub const DATA_COLUMNS: [(&str, &[&str], &[&str]); 8] = [
    (
        ROSTER,
        &["id", "name", "role"],
        &["team", "manager", "start_date", "end_date", "quota", "self_goal", "book_start"],
    ),
    (DEALS, &["id", "owner", "close_date", "kind", "amount"], &["gross_margin", "cancelled_date"]),
    (SPLITS, &["deal_id", "payee", "share"], &[]),
    (PAYMENTS, &["deal_id", "payment_date", "amount"], &[]),
    (MEASURES, &["payee", "period", "measure", "value"], &[]),
    (COMPANY, &["period", "measure", "value"], &[]),
    (RELIEF, &["payee", "period", "kind", "reason", "approved_by"], &["amount", "fraction"]),
    (QUOTAS, &QUOTA_COLUMNS, &[]),
];

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
    /// Assigned annual quota: the roster's, or the sum of the payee's `quotas.csv` rows (0
    /// when neither gives one).
    pub quota: Decimal,
    pub self_goal: Option<Decimal>,
    pub book_start: Option<Decimal>,
    /// Extra roster columns.
    pub attributes: IndexMap<String, String>,
}

/// No payee: the owner of a deal credited only through `splits.csv` to payees in the roster.
pub(crate) const NO_OWNER: u32 = u32::MAX;
/// No split rows: the deal is credited to its owner in full.
pub(crate) const NO_SPLIT: u32 = u32::MAX;
/// A payment's deal id that is not in `deals.csv`.
const NO_DEAL: u32 = u32::MAX;

/// One `deals.csv` row as written, checked, in 40 bytes, so ten million deals fit in memory:
/// an amount is its mantissa and scale when the mantissa fits an `i64` (every amount written
/// with up to 18 digits), else its place in [`DataSet::wide`] (read both with
/// [`DataSet::amount`] and [`DataSet::margin`]). A row that takes less memory is also one the
/// loader writes faster: a large ledger's first writes cost more than its parsing.
#[derive(Debug, Clone)]
pub(crate) struct Deal {
    amount: i64,
    margin: i64,
    pub close_date: NaiveDate,
    pub cancelled: Option<NaiveDate>,
    /// The owner's roster index, or [`NO_OWNER`].
    pub owner: u32,
    /// Index into [`DataSet::splits`], or [`NO_SPLIT`].
    pub split: u32,
    /// Where the deal id starts in the id arena; it ends where the next deal's starts.
    id: u32,
    amount_scale: u8,
    margin_scale: u8,
    pub kind: DealKind,
}

const _: () = assert!(std::mem::size_of::<Deal>() == 40);

/// The scale that marks an amount kept whole in [`DataSet::wide`].
const WIDE: u8 = u8::MAX;

/// `value` as a mantissa and scale, or (its place in `wide`, [`WIDE`]) when the mantissa does
/// not fit an `i64` or the value is a negative zero (which a mantissa cannot tell apart).
fn pack(value: Decimal, wide: &mut Vec<Decimal>) -> (i64, u8) {
    match i64::try_from(value.mantissa()) {
        Ok(mantissa) if mantissa != 0 || !value.is_sign_negative() => (mantissa, value.scale() as u8),
        _ => {
            wide.push(value);
            ((wide.len() - 1) as i64, WIDE)
        }
    }
}

fn unpack(value: i64, scale: u8, wide: &[Decimal]) -> Decimal {
    if scale == WIDE { wide[value as usize] } else { Decimal::new(value, u32::from(scale)) }
}

/// A deal row as read, before it is packed into a [`Deal`].
struct DealRow {
    amount: Decimal,
    margin: Decimal,
    close_date: NaiveDate,
    cancelled: Option<NaiveDate>,
    owner: u32,
    split: u32,
    kind: DealKind,
}

/// A row of `payments.csv`: cash received on a deal, checked against it (a known deal of a
/// kind that brings cash in, paid on or after its close, never more than its amount in all).
#[derive(Debug, Clone)]
pub(crate) struct Payment {
    /// The deal's place in [`DataSet::deals`].
    pub deal: u32,
    /// The row's line, for warnings.
    pub line: u32,
    pub date: NaiveDate,
    /// Negative for a refund.
    pub amount: Decimal,
}

/// A row of `measures.csv`, its period and measure not yet resolved against a plan.
#[derive(Debug, Clone)]
pub(crate) struct MeasureRow {
    pub payee: u32,
    /// Index into [`DataSet::labels`].
    pub label: u32,
    /// Index into [`DataSet::measure_names`].
    pub measure: u32,
    pub value: Decimal,
    pub cell: Cell,
}

/// A row of `company.csv`.
#[derive(Debug, Clone)]
pub(crate) struct CompanyRow {
    pub label: u32,
    pub measure: Arc<str>,
    pub value: Decimal,
    pub cell: Cell,
}

/// A row of `relief.csv`.
#[derive(Debug, Clone)]
pub(crate) struct ReliefRow {
    pub payee: u32,
    pub label: u32,
    pub kind: String,
    pub amount: Option<Decimal>,
    pub fraction: Option<Decimal>,
    pub reason: String,
    pub approved_by: String,
    pub cell: Cell,
}

/// The columns whose cells an index-time error points at.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Columns {
    pub role: Option<u32>,
    pub period: Option<u32>,
    pub measure: Option<u32>,
}

/// A data set parsed once: every file read, every row checked, nothing yet tied to a plan.
#[derive(Debug)]
pub struct DataSet {
    pub(crate) sources: Arc<dyn Sources>,
    pub(crate) dir: PathBuf,
    pub(crate) payees: Vec<Payee>,
    pub(crate) index: Arc<HashMap<String, usize>>,
    /// `[payee]` where its role cell is, for an unknown role.
    pub(crate) role_cells: Vec<Cell>,
    pub(crate) deals: Vec<Deal>,
    deal_ids: String,
    /// Amounts and margins whose mantissa does not fit a [`Deal`]'s `i64`.
    wide: Vec<Decimal>,
    /// `[split]` the payees a split deal credits, with their shares (summing to 1).
    pub(crate) splits: Vec<Vec<(u32, Decimal)>>,
    /// The rows of `payments.csv` in file order; empty without the file.
    pub(crate) payments: Vec<Payment>,
    /// Period labels as written in measures, company, relief and quota rows.
    pub(crate) labels: Vec<String>,
    pub(crate) measure_names: Vec<String>,
    pub(crate) measure_rows: Vec<MeasureRow>,
    pub(crate) company_rows: Vec<CompanyRow>,
    pub(crate) relief_rows: Vec<ReliefRow>,
    pub(crate) quota_rows: Vec<QuotaRow>,
    /// `[payee]` whether the roster's `quota` cell is written (`quotas.csv` must then agree).
    pub(crate) quota_written: Vec<bool>,
    /// The files read, for index-time errors.
    pub(crate) files: HashMap<&'static str, FileInfo>,
    /// Warnings found while reading (a roster column that looks like a misspelt known one).
    pub(crate) warnings: Vec<String>,
    pub(crate) columns: HashMap<&'static str, Columns>,
    /// SHA-256 over the data files read, by name.
    hash: String,
    /// The deals summed per owner and period, per calendar the data set was indexed for:
    /// what lets a Monte Carlo draw or a scale scenario index again without a pass over
    /// every deal.
    ledgers: Mutex<Vec<Arc<Ledger>>>,
    /// The roster with empty start dates filled in, per plan-year start.
    rosters: Mutex<Vec<(NaiveDate, Arc<Vec<Payee>>)>>,
}

impl DataSet {
    /// Reads the data directory `dir` from disk.
    pub fn load(dir: &Path) -> Result<DataSet, Diagnostics> {
        DataSet::read(Arc::new(FileSystem), dir)
    }

    /// Reads a data set from CSV texts by file name (`roster.csv`, `deals.csv`, …): the same
    /// parser and the same errors as files on disk, each named `dir/NAME`.
    pub fn from_texts<'a>(
        dir: &Path,
        files: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<DataSet, Diagnostics> {
        let mut memory = Memory::new();
        for (name, text) in files {
            memory.insert(dir.join(name), text);
        }
        DataSet::read(Arc::new(memory), dir)
    }

    /// Reads the data directory `dir` from `sources`. Errors in any file are all reported.
    pub fn read(sources: Arc<dyn Sources>, dir: &Path) -> Result<DataSet, Diagnostics> {
        let (data, diagnostics) = DataSet::parse(sources, dir);
        if diagnostics.iter().any(Diagnostic::is_error) {
            Err(Diagnostics(diagnostics).or_code(Code::DataInvalid))
        } else {
            Ok(data)
        }
    }

    /// Reads what it can and reports every problem; the data set holds the good rows.
    pub(crate) fn parse(sources: Arc<dyn Sources>, dir: &Path) -> (DataSet, Vec<Diagnostic>) {
        let mut data = DataSet {
            sources: sources.clone(),
            dir: dir.to_path_buf(),
            payees: Vec::new(),
            index: Arc::new(HashMap::new()),
            role_cells: Vec::new(),
            deals: Vec::new(),
            deal_ids: String::new(),
            wide: Vec::new(),
            splits: Vec::new(),
            payments: Vec::new(),
            labels: Vec::new(),
            measure_names: Vec::new(),
            measure_rows: Vec::new(),
            company_rows: Vec::new(),
            relief_rows: Vec::new(),
            quota_rows: Vec::new(),
            quota_written: Vec::new(),
            files: HashMap::new(),
            warnings: Vec::new(),
            columns: HashMap::new(),
            hash: String::new(),
            ledgers: Mutex::new(Vec::new()),
            rosters: Mutex::new(Vec::new()),
        };
        if !sources.is_dir(dir) {
            let message = format!("data directory {} does not exist", dir.display());
            return (data, vec![Diagnostic::error(message).with_code(Code::DataRead)]);
        }
        let mut reader = Reader { sources: &*sources, dir, diagnostics: Vec::new(), hashes: Vec::new() };
        let mut labels = Interner::default();
        reader.roster(&mut data);
        if !reader.diagnostics.iter().any(Diagnostic::is_error) {
            let splits = reader.splits(&mut data);
            let before = reader.diagnostics.iter().filter(|d| d.is_error()).count();
            reader.deals(&mut data, splits);
            let deals_read_whole = reader.diagnostics.iter().filter(|d| d.is_error()).count() == before;
            reader.payments(&mut data, deals_read_whole);
            reader.measures(&mut data, &mut labels);
            reader.company(&mut data, &mut labels);
            reader.relief(&mut data, &mut labels);
            reader.quotas(&mut data, &mut labels);
        }
        data.labels = labels.names;
        let mut hasher = Sha256::new();
        reader.hashes.sort();
        for (name, hash) in &reader.hashes {
            hasher.update(format!("{name}\n{hash}\n").as_bytes());
        }
        data.hash = hex(&hasher.finalize());
        (data, reader.diagnostics)
    }

    /// SHA-256 over the data files, by name: the same for the same bytes on disk or in memory.
    pub fn hash(&self) -> &str {
        &self.hash
    }

    /// The folder the data set was read from (in memory: the folder its files were named in).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The roster as read. An empty `start_date` is `NaiveDate::MIN` here: it becomes the plan
    /// year's first day when the data set is indexed for a plan ([`crate::Facts::payees`]).
    pub fn payees(&self) -> &[Payee] {
        &self.payees
    }

    pub fn payee_index(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }

    /// The number of deal rows kept.
    pub fn deal_count(&self) -> usize {
        self.deals.len()
    }

    /// The number of `payments.csv` rows kept.
    pub fn payment_count(&self) -> usize {
        self.payments.len()
    }

    /// Whether the data set has a `payments.csv` (perhaps with only its header).
    pub fn has_payments(&self) -> bool {
        self.files.contains_key(PAYMENTS)
    }

    /// The id of deal `index` (a place in [`DataSet::deals`]).
    pub(crate) fn deal_id(&self, index: usize) -> &str {
        let end = self.deals.get(index + 1).map_or(self.deal_ids.len(), |next| next.id as usize);
        &self.deal_ids[self.deals[index].id as usize..end]
    }

    /// A deal's amount, exactly as written.
    pub(crate) fn amount(&self, deal: &Deal) -> Decimal {
        unpack(deal.amount, deal.amount_scale, &self.wide)
    }

    /// A deal's gross margin, exactly as written (0 when empty).
    pub(crate) fn margin(&self, deal: &Deal) -> Decimal {
        unpack(deal.margin, deal.margin_scale, &self.wide)
    }

    /// The company measure names `company.csv` has rows for, in file order.
    pub fn company_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for row in &self.company_rows {
            if !names.contains(&&*row.measure) {
                names.push(&row.measure);
            }
        }
        names
    }

    /// The declared measure names `measures.csv` has rows for.
    pub fn measure_names(&self) -> &[String] {
        &self.measure_names
    }

    /// The roster for a plan year: an empty start date is the year's start. Built on first use
    /// and shared by every index for that year.
    pub(crate) fn roster_for(&self, calendar: &Calendar) -> Arc<Vec<Payee>> {
        let start = calendar.start();
        let mut rosters = self.rosters.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((_, payees)) = rosters.iter().find(|(s, _)| *s == start) {
            return payees.clone();
        }
        let mut payees = self.payees.clone();
        for payee in &mut payees {
            if payee.start_date == NaiveDate::MIN {
                payee.start_date = start;
            }
        }
        let payees = Arc::new(payees);
        rosters.push((start, payees.clone()));
        payees
    }

    /// The ledger of simple deals for `calendar`, built on first use and kept.
    pub(crate) fn ledger(&self, calendar: &Calendar, payees: &Arc<Vec<Payee>>) -> Arc<Ledger> {
        let key = (calendar.start(), calendar.n_periods());
        let mut ledgers = self.ledgers.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(ledger) = ledgers.iter().find(|l| l.key == key) {
            return ledger.clone();
        }
        let ledger = Arc::new(Ledger::build(self, calendar, payees));
        ledgers.push(ledger.clone());
        ledger
    }

    /// An error at a cell of `file`, found again from the file's text.
    pub(crate) fn error_at(&self, file: &str, cell: Cell, message: impl Into<String>) -> Diagnostic {
        match self.files.get(file) {
            Some(info) => info.error(&*self.sources, cell, message),
            None => Diagnostic::error(message),
        }
    }
}

#[derive(Default)]
struct Interner {
    names: Vec<String>,
    index: HashMap<String, u32>,
}

impl Interner {
    fn get(&mut self, text: &str) -> u32 {
        if let Some(&i) = self.index.get(text) {
            return i;
        }
        let i = self.names.len() as u32;
        self.names.push(text.to_string());
        self.index.insert(text.to_string(), i);
        i
    }
}

struct Reader<'s> {
    sources: &'s dyn Sources,
    dir: &'s Path,
    diagnostics: Vec<Diagnostic>,
    hashes: Vec<(String, String)>,
}

impl<'s> Reader<'s> {
    fn open(&mut self, name: &str, required: bool) -> Option<CsvFile<'s>> {
        match CsvFile::open(self.sources, self.dir, name) {
            Ok(Some(file)) => Some(file),
            Ok(None) => {
                if required {
                    self.diagnostics.push(
                        Diagnostic::error(format!(
                            "{} is missing: every data directory has {name}",
                            self.dir.join(name).display()
                        ))
                        .with_code(Code::DataRead),
                    );
                }
                None
            }
            Err(diag) => {
                self.diagnostics.push(diag);
                None
            }
        }
    }

    fn close(&mut self, data: &mut DataSet, file: CsvFile<'_>, name: &'static str) {
        data.files.insert(name, FileInfo::of(&file));
        let (hash, diagnostics) = file.finish();
        self.hashes.push((name.to_string(), hash));
        self.diagnostics.extend(diagnostics);
    }

    fn roster(&mut self, data: &mut DataSet) {
        let mut roles: HashMap<String, Name> = HashMap::new();
        let Some(mut file) = self.open(ROSTER, true) else {
            return;
        };
        let (_, required, optional) = DATA_COLUMNS[0];
        if !file.require(required) {
            self.close(data, file, ROSTER);
            return;
        }
        // Columns the loader does not know become the payee's attributes.
        let known: Vec<&str> = required.iter().chain(optional).copied().collect();
        let col = |f: &CsvFile, name: &str| f.column(name);
        let (c_id, c_name, c_role) = (col(&file, "id"), col(&file, "name"), col(&file, "role"));
        let (c_team, c_manager) = (col(&file, "team"), col(&file, "manager"));
        let (c_start, c_end) = (col(&file, "start_date"), col(&file, "end_date"));
        let (c_quota, c_goal, c_book) = (col(&file, "quota"), col(&file, "self_goal"), col(&file, "book_start"));
        data.columns.insert(ROSTER, Columns { role: c_role.map(|c| c as u32), ..Columns::default() });
        let extra: Vec<(usize, String)> = file
            .headers
            .iter()
            .enumerate()
            .filter(|(_, h)| !known.contains(&h.as_str()))
            .map(|(i, h)| (i, h.clone()))
            .collect();
        // Extra roster columns are attributes, but one a letter or two from a known column is
        // most likely that column misspelt (`enddate`), which would silently read as empty.
        for (_, name) in &extra {
            if let Some(known) = known.iter().find(|k| near_miss(name, k)) {
                data.warnings
                    .push(format!("{ROSTER}: column `{name}` is read as an attribute; did you mean `{known}`?"));
            }
        }
        let mut seen: HashMap<String, u64> = HashMap::new();
        let mut payees = Vec::new();
        while file.next_row() {
            let id = file.text(c_id).to_string();
            let line = file.line();
            let mut ok = true;
            if id.is_empty() {
                file.error_at(c_id, "payee id is empty");
                ok = false;
            } else if let Some(first) = seen.get(&id) {
                file.error_code_at(
                    c_id,
                    Code::DataDuplicateId,
                    format!("payee `{id}` appears twice (first on line {first})"),
                );
                ok = false;
            }
            let role = file.text(c_role).to_string();
            let start_date = match file.optional_date(c_start, "start_date") {
                Ok(date) => date,
                Err(()) => {
                    ok = false;
                    None
                }
            };
            let end_date = file.optional_date(c_end, "end_date").unwrap_or_else(|()| {
                ok = false;
                None
            });
            if let (Some(start), Some(end)) = (start_date, end_date) {
                if end < start {
                    file.error_code_at(
                        c_end,
                        Code::DataBadDate,
                        format!("end_date {end} is before start_date {start}"),
                    );
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
            seen.insert(id.clone(), line);
            data.role_cells.push(file.cell(c_role));
            data.quota_written.push(quota.is_some());
            payees.push(Payee {
                id: id.into(),
                name: file.text(c_name).into(),
                // One shared name per role: payees of a role read the same few bytes.
                role: roles.entry(role.clone()).or_insert_with(|| Name::from(role.as_str())).clone(),
                team: non_empty(file.text(c_team)),
                manager: non_empty(file.text(c_manager)),
                // An empty start date is the plan year's start: left at the earliest date
                // here and set when the data set is indexed for a plan.
                start_date: start_date.unwrap_or(NaiveDate::MIN),
                end_date,
                quota: quota.unwrap_or(Decimal::ZERO),
                self_goal,
                book_start,
                attributes,
            });
        }
        // Managers must be payees.
        let ids: HashSet<&str> = payees.iter().map(|p: &Payee| p.id.as_str()).collect();
        for payee in &payees {
            if let Some(manager) = &payee.manager {
                if !ids.contains(manager.as_str()) {
                    self.diagnostics.push(
                        Diagnostic::error(format!(
                            "{ROSTER}: payee `{}` has manager `{manager}`, who is not in the roster",
                            payee.id
                        ))
                        .with_code(Code::DataUnknownPayee),
                    );
                }
            }
        }
        data.index = Arc::new(payees.iter().enumerate().map(|(i, p)| (p.id.to_string(), i)).collect());
        data.payees = payees;
        self.close(data, file, ROSTER);
    }

    /// `splits.csv`: deal id → `[(payee, share)]`, shares summing to exactly 1.
    fn splits(&mut self, data: &mut DataSet) -> HashMap<String, Vec<(u32, Decimal)>> {
        let mut splits: HashMap<String, Vec<(u32, Decimal)>> = HashMap::new();
        let Some(mut file) = self.open(SPLITS, false) else {
            return splits;
        };
        if !file.require(&["deal_id", "payee", "share"]) | !file.reject_unknown(&["deal_id", "payee", "share"]) {
            self.close(data, file, SPLITS);
            return splits;
        }
        let (c_deal, c_payee, c_share) = (file.column("deal_id"), file.column("payee"), file.column("share"));
        let mut first_line: HashMap<String, u64> = HashMap::new();
        // Each (deal, payee) pair once: a second row would credit the payee twice (or, with
        // shares summing to 1, hide a payee left out).
        let mut pairs: HashMap<(String, String), u64> = HashMap::new();
        while file.next_row() {
            let deal = file.text(c_deal).to_string();
            let payee = file.text(c_payee).to_string();
            if let Some(first) = pairs.insert((deal.clone(), payee.clone()), file.line()) {
                pairs.insert((deal.clone(), payee.clone()), first);
                let message = format!("deal `{deal}` is split to `{payee}` twice: on line {first} and on this line");
                file.error_code_at(c_payee, Code::DataDuplicateId, message);
                continue;
            }
            let Some(&payee_index) = data.index.get(&payee) else {
                let message = format!("split of deal `{deal}` credits `{payee}`, who is not in the roster");
                file.error_code_at(c_payee, Code::DataUnknownPayee, message);
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
            splits.entry(deal).or_default().push((payee_index as u32, share));
        }
        let name = file.name.clone();
        self.close(data, file, SPLITS);
        let mut deals: Vec<_> = splits.iter().collect();
        deals.sort_by_key(|(deal, _)| first_line.get(*deal).copied().unwrap_or(0));
        for (deal, shares) in deals {
            let total: Decimal = shares.iter().map(|(_, s)| *s).sum();
            if total != Decimal::ONE {
                let line = first_line.get(deal).copied().unwrap_or(0);
                self.diagnostics.push(
                    Diagnostic::error(format!("the shares of deal `{deal}` sum to {}, not 1", total.normalize()))
                        .at(&name, Span { line: line as u32, col: 1, len: 0 }),
                );
            }
        }
        splits
    }

    fn deals(&mut self, data: &mut DataSet, splits: HashMap<String, Vec<(u32, Decimal)>>) {
        let Some(mut file) = self.open(DEALS, true) else {
            return;
        };
        let required = ["id", "owner", "close_date", "kind", "amount"];
        let known = ["id", "owner", "close_date", "kind", "amount", "gross_margin", "cancelled_date"];
        if !file.require(&required) | !file.reject_unknown(&known) {
            self.close(data, file, DEALS);
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
        // Split deals get a number each; a deal points at its shares by that number.
        let mut split_numbers: HashMap<String, u32> = HashMap::with_capacity(splits.len());
        for (deal, shares) in splits {
            split_numbers.insert(deal, data.splits.len() as u32);
            data.splits.push(shares);
        }
        // Deal ids are checked for duplicates by a 96-bit hash (a collision chance far below
        // one in a trillion at 10 million deals) packed with the row's line into 16 bytes,
        // collected in row order and sorted at the end: sequential memory, where a hash set of
        // millions of ids is a cache miss a row.
        // A deal row takes about 48 bytes of CSV: sizing the vectors from the file's size
        // spares copying ten million rows as they grow.
        let expected_rows = self.sources.size(&self.dir.join(DEALS)).map_or(0, |bytes| bytes / 48) as usize;
        let mut ids: Vec<u128> = Vec::with_capacity(expected_rows);
        data.deals.reserve(expected_rows);
        data.deal_ids.reserve(expected_rows * 6);
        let mut last_owner: Option<(String, usize)> = None;
        let mut used_splits: HashSet<u32> = HashSet::new();
        while file.next_row() {
            // Read the row without allocating; an error names its column and stops the row.
            let row = match read_deal(&file, &columns, &data.index, &mut last_owner, &split_numbers) {
                Ok(row) => row,
                Err((column, code, message)) => {
                    file.error_code_at(column, code, message);
                    continue;
                }
            };
            let id = file.text(columns.id);
            // The id's 96-bit hash above its line: sorted, repeats are neighbours, first first.
            ids.push(id_hash(id) | u128::from(file.line() as u32));
            let Ok(start) = u32::try_from(data.deal_ids.len()) else {
                file.error_at(None, "deals.csv holds more deal-id text than Accrue keeps (4 GB)");
                break;
            };
            data.deal_ids.push_str(id);
            if row.split != NO_SPLIT {
                used_splits.insert(row.split);
            }
            let (amount, amount_scale) = pack(row.amount, &mut data.wide);
            let (margin, margin_scale) = pack(row.margin, &mut data.wide);
            data.deals.push(Deal {
                amount,
                margin,
                close_date: row.close_date,
                cancelled: row.cancelled,
                owner: row.owner,
                split: row.split,
                id: start,
                amount_scale,
                margin_scale,
                kind: row.kind,
            });
        }
        ids.par_sort_unstable();
        let line = |entry: u128| entry as u32;
        let repeats =
            ids.windows(2).filter(|pair| pair[0] >> 32 == pair[1] >> 32).map(|pair| (line(pair[1]), line(pair[0])));
        let mut repeats: Vec<(u32, u32)> = repeats.collect();
        repeats.sort_unstable();
        for (line, first) in repeats {
            self.diagnostics.push(
                Diagnostic::error(format!(
                    "the deal id on this row repeats the one on line {first}: a deal is counted once"
                ))
                .at(&file.name, Span { line, col: 1, len: 0 })
                .with_code(Code::DataDuplicateId),
            );
        }
        let mut unused: Vec<&String> =
            split_numbers.iter().filter(|(_, n)| !used_splits.contains(n)).map(|(deal, _)| deal).collect();
        unused.sort();
        for deal in unused {
            self.diagnostics
                .push(Diagnostic::error(format!("{SPLITS}: deal `{deal}` has split rows but is not in {DEALS}")));
        }
        self.close(data, file, DEALS);
    }

    /// `payments.csv`: cash received on deals. Each payment names a deal of `deals.csv` of a
    /// kind that brings cash in, is dated on or after the deal closed, and a deal's payments
    /// (refunds negative) never come to more than its amount, nor below 0, on any date. Deals
    /// are matched in one pass over the ledger after the file is read, so a data set without
    /// payments does no work per deal.
    /// `deals_read_whole`: whether deals.csv was read without an error (else a payment's deal
    /// may be on a bad row, and "not in deals.csv" says so).
    fn payments(&mut self, data: &mut DataSet, deals_read_whole: bool) {
        let Some(mut file) = self.open(PAYMENTS, false) else {
            return;
        };
        let known = ["deal_id", "payment_date", "amount"];
        if !file.require(&known) | !file.reject_unknown(&known) {
            self.close(data, file, PAYMENTS);
            return;
        }
        let (c_deal, c_date, c_amount) = (file.column("deal_id"), file.column("payment_date"), file.column("amount"));
        let at = |cell: Cell, column: Option<usize>| Cell { column: column.map(|c| c as u32), ..cell };
        // The deal ids paid, each once, in the order first met.
        let mut keys: HashMap<String, u32> = HashMap::new();
        let mut ids: Vec<String> = Vec::new();
        let mut rows: Vec<(u32, NaiveDate, Decimal, Cell)> = Vec::new();
        while file.next_row() {
            let deal_id = file.text(c_deal);
            if deal_id.is_empty() {
                file.error_at(c_deal, "deal_id is empty");
                continue;
            }
            let key = match keys.get(deal_id) {
                Some(&key) => key,
                None => {
                    let key = ids.len() as u32;
                    keys.insert(deal_id.to_string(), key);
                    ids.push(deal_id.to_string());
                    key
                }
            };
            let Some(date) = file.date(c_date, "payment_date") else {
                continue;
            };
            let Some(amount) = file.decimal(c_amount, "amount") else {
                continue;
            };
            rows.push((key, date, amount, file.cell(None)));
        }
        // Each paid deal's place in deals.csv.
        let mut places = vec![NO_DEAL; ids.len()];
        if !keys.is_empty() {
            for index in 0..data.deals.len() {
                if let Some(&key) = keys.get(data.deal_id(index)) {
                    places[key as usize] = index as u32;
                }
            }
        }
        // Rows that name a deal they can pay, by deal, date and line: a deal's running total.
        let mut paid: Vec<usize> = Vec::with_capacity(rows.len());
        for (row, &(key, date, _, cell)) in rows.iter().enumerate() {
            let id = &ids[key as usize];
            let place = places[key as usize];
            if place == NO_DEAL {
                let mut message = format!("payment for deal `{id}`, which is not in {DEALS}");
                if !deals_read_whole {
                    message.push_str(&format!(" (or is on a row of {DEALS} with an error)"));
                }
                file.error_code_at_cell(at(cell, c_deal), Code::DataUnknownDeal, message);
                continue;
            }
            let deal = &data.deals[place as usize];
            if !deal.kind.takes_payments() {
                let message = format!(
                    "deal `{id}` is a `{}` deal (revenue lost), which takes no payments; a refund is a negative \
                     payment on the deal it refunds",
                    deal.kind.measure_name()
                );
                file.error_code_at_cell(at(cell, c_deal), Code::DataInvalid, message);
                continue;
            }
            if date < deal.close_date {
                let message = format!("deal `{id}` is paid on {date}, before it closed on {}", deal.close_date);
                file.error_code_at_cell(at(cell, c_date), Code::DataBadDate, message);
                continue;
            }
            paid.push(row);
        }
        paid.sort_by_key(|&row| (places[rows[row].0 as usize], rows[row].1, rows[row].3.line));
        let mut bad_deals: HashSet<u32> = HashSet::new();
        for deal_rows in paid.chunk_by(|&a, &b| rows[a].0 == rows[b].0) {
            let key = rows[deal_rows[0]].0;
            let deal = &data.deals[places[key as usize] as usize];
            let limit = data.amount(deal);
            let mut running = Decimal::ZERO;
            // Payments and refunds of one date net out before the total is checked.
            for day in deal_rows.chunk_by(|&a, &b| rows[a].1 == rows[b].1) {
                running += day.iter().map(|&row| rows[row].2).sum::<Decimal>();
                let (_, date, _, cell) = rows[day[day.len() - 1]];
                let id = &ids[key as usize];
                let problem = if running > limit {
                    format!(
                        "the payments of deal `{id}` come to {} by {date}, more than its amount of {}",
                        running.normalize(),
                        limit.normalize()
                    )
                } else if running < Decimal::ZERO {
                    format!(
                        "the refunds of deal `{id}` come to more than was paid for it: {} by {date}",
                        running.normalize()
                    )
                } else {
                    continue;
                };
                file.error_code_at_cell(at(cell, c_amount), Code::DataInvalid, problem);
                bad_deals.insert(key);
                break;
            }
        }
        data.payments = paid
            .into_iter()
            .filter(|&row| !bad_deals.contains(&rows[row].0))
            .map(|row| {
                let (key, date, amount, cell) = rows[row];
                Payment { deal: places[key as usize], line: cell.line, date, amount }
            })
            .collect();
        // Kept in file order, and the errors found after the file was read in line order.
        data.payments.sort_by_key(|p| p.line);
        file.diagnostics.sort_by_key(|d| d.location.as_ref().map_or(0, |l| l.span.line));
        self.close(data, file, PAYMENTS);
    }

    fn measures(&mut self, data: &mut DataSet, labels: &mut Interner) {
        let Some(mut file) = self.open(MEASURES, false) else {
            return;
        };
        let known = ["payee", "period", "measure", "value"];
        if !file.require(&known) | !file.reject_unknown(&known) {
            self.close(data, file, MEASURES);
            return;
        }
        let (c_payee, c_period, c_measure, c_value) =
            (file.column("payee"), file.column("period"), file.column("measure"), file.column("value"));
        data.columns.insert(
            MEASURES,
            Columns { period: c_period.map(|c| c as u32), measure: c_measure.map(|c| c as u32), ..Columns::default() },
        );
        let mut names = Interner::default();
        while file.next_row() {
            let payee_id = file.text(c_payee);
            let Some(&payee) = data.index.get(payee_id) else {
                let message = format!("payee `{payee_id}` is not in the roster");
                file.error_code_at(c_payee, Code::DataUnknownPayee, message);
                continue;
            };
            let measure_name = file.text(c_measure);
            if measure_name.is_empty() {
                file.error_at(c_measure, "measure name is empty");
                continue;
            }
            let measure = names.get(measure_name);
            let label = labels.get(file.text(c_period));
            let Some(value) = file.decimal(c_value, "value") else {
                continue;
            };
            data.measure_rows.push(MeasureRow { payee: payee as u32, label, measure, value, cell: file.cell(None) });
        }
        data.measure_names = names.names;
        self.close(data, file, MEASURES);
    }

    fn company(&mut self, data: &mut DataSet, labels: &mut Interner) {
        let Some(mut file) = self.open(COMPANY, false) else {
            return;
        };
        let known = ["period", "measure", "value"];
        if !file.require(&known) | !file.reject_unknown(&known) {
            self.close(data, file, COMPANY);
            return;
        }
        let (c_period, c_measure, c_value) = (file.column("period"), file.column("measure"), file.column("value"));
        data.columns.insert(
            COMPANY,
            Columns { period: c_period.map(|c| c as u32), measure: c_measure.map(|c| c as u32), ..Columns::default() },
        );
        let mut names: HashMap<String, Arc<str>> = HashMap::new();
        while file.next_row() {
            let measure = file.text(c_measure);
            if measure.is_empty() {
                file.error_at(c_measure, "measure name is empty");
                continue;
            }
            let measure = names.entry(measure.to_string()).or_insert_with(|| Arc::from(measure)).clone();
            let label = labels.get(file.text(c_period));
            let Some(value) = file.decimal(c_value, "value") else {
                continue;
            };
            // A `_pct` measure is a fraction: 15 % is 0.15, and 15 would pay as 1,500 %.
            if measure.ends_with("_pct") && value.abs() > Decimal::ONE {
                data.warnings.push(format!(
                    "{COMPANY} line {}: `{measure}` is {value}, outside -1..1; a `_pct` measure is a fraction \
                     (write 0.15 for 15 %)",
                    file.line()
                ));
            }
            data.company_rows.push(CompanyRow { label, measure, value, cell: file.cell(None) });
        }
        self.close(data, file, COMPANY);
    }

    fn quotas(&mut self, data: &mut DataSet, labels: &mut Interner) {
        let Some(mut file) = self.open(QUOTAS, false) else {
            return;
        };
        super::quotas::read(&mut file, data, &mut |label| labels.get(label));
        self.close(data, file, QUOTAS);
    }

    fn relief(&mut self, data: &mut DataSet, labels: &mut Interner) {
        let Some(mut file) = self.open(RELIEF, false) else {
            return;
        };
        // `amount` and `fraction` are alternatives: a file may carry just one of the columns.
        let has_one = file.column("amount").is_some() || file.column("fraction").is_some();
        let known = ["payee", "period", "kind", "amount", "fraction", "reason", "approved_by"];
        if !file.require(&["payee", "period", "kind", "reason", "approved_by"]) | !file.reject_unknown(&known)
            || !has_one
        {
            if !has_one {
                file.error_at(None, "relief.csv needs an `amount` or a `fraction` column");
            }
            self.close(data, file, RELIEF);
            return;
        }
        let c = |name: &str| file.column(name);
        let (c_payee, c_period, c_kind, c_amount) = (c("payee"), c("period"), c("kind"), c("amount"));
        let (c_fraction, c_reason, c_approver) = (c("fraction"), c("reason"), c("approved_by"));
        data.columns.insert(RELIEF, Columns { period: c_period.map(|c| c as u32), ..Columns::default() });
        while file.next_row() {
            let payee_id = file.text(c_payee).to_string();
            let Some(&payee) = data.index.get(&payee_id) else {
                let message = format!("relief for `{payee_id}`, who is not in the roster");
                file.error_code_at(c_payee, Code::DataUnknownPayee, message);
                continue;
            };
            let label = labels.get(file.text(c_period));
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
            data.relief_rows.push(ReliefRow {
                payee: payee as u32,
                label,
                kind: file.text(c_kind).to_string(),
                amount,
                fraction,
                reason: file.text(c_reason).to_string(),
                approved_by,
                cell: file.cell(None),
            });
        }
        self.close(data, file, RELIEF);
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

/// A bad row: the column, the code and what is wrong.
type RowError = (Option<usize>, Code, String);

/// `last_owner`: the previous row's owner and roster index. Exports usually list a rep's deals
/// together, so most rows skip the roster lookup.
fn read_deal(
    file: &CsvFile,
    c: &DealColumns,
    payees: &HashMap<String, usize>,
    last_owner: &mut Option<(String, usize)>,
    splits: &HashMap<String, u32>,
) -> Result<DealRow, RowError> {
    let id = file.text(c.id);
    if id.is_empty() {
        return Err((c.id, Code::DataInvalid, "deal id is empty".into()));
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
    let split = if splits.is_empty() { None } else { splits.get(id).copied() };
    if owner.is_none() && split.is_none() {
        let mut message = format!("deal `{id}` belongs to `{owner_text}`, who is not in the roster");
        if let Some(best) = did_you_mean(owner_text, payees.keys().map(String::as_str)) {
            message.push_str(&format!("; did you mean `{best}`?"));
        }
        return Err((c.owner, Code::DataUnknownPayee, message));
    }
    let kind_text = file.text(c.kind);
    let kind = DealKind::parse(kind_text).ok_or_else(|| {
        (
            c.kind,
            Code::DataInvalid,
            format!("deal kind `{kind_text}` is not one of new, expansion, renewal, contraction, churn"),
        )
    })?;
    let close_text = file.text(c.close);
    let close_date = parse_date(close_text).ok_or_else(|| {
        (c.close, Code::DataBadDate, format!("close_date `{close_text}` is not a date (write YYYY-MM-DD)"))
    })?;
    let amount = parse_input(file.text(c.amount), NumberStyle::Text)
        .map_err(|e| (c.amount, Code::DataBadNumber, format!("amount: {e}")))?;
    if amount.is_sign_negative() && !amount.is_zero() {
        return Err((
            c.amount,
            Code::DataInvalid,
            "amount cannot be negative: record losses as `contraction` or `churn`, reversals with `cancelled_date`"
                .into(),
        ));
    }
    let margin_text = file.text(c.margin);
    let margin = if margin_text.is_empty() {
        Decimal::ZERO
    } else {
        parse_input(margin_text, NumberStyle::Text)
            .map_err(|e| (c.margin, Code::DataBadNumber, format!("gross_margin: {e}")))?
    };
    let cancel_text = file.text(c.cancel);
    let cancelled = if cancel_text.is_empty() {
        None
    } else {
        let date = parse_date(cancel_text).ok_or_else(|| {
            (c.cancel, Code::DataBadDate, format!("cancelled_date `{cancel_text}` is not a date (write YYYY-MM-DD)"))
        })?;
        if date < close_date {
            return Err((
                c.cancel,
                Code::DataBadDate,
                format!("deal `{id}` is cancelled on {date}, before it closed on {close_date}"),
            ));
        }
        Some(date)
    };
    Ok(DealRow {
        amount,
        margin,
        close_date,
        cancelled,
        owner: owner.map_or(NO_OWNER, |o| o as u32),
        split: split.unwrap_or(NO_SPLIT),
        kind,
    })
}

/// Whether an unknown column name is close enough to a known one to be a misspelling of it:
/// at most two edits apart, or the same once case and separators are ignored.
fn near_miss(name: &str, known: &str) -> bool {
    let squash = |s: &str| s.chars().filter(char::is_ascii_alphanumeric).collect::<String>().to_ascii_lowercase();
    squash(name) == squash(known) || (name.len() >= 4 && strsim::damerau_levenshtein(name, known) <= 2)
}

/// A 96-bit hash of a deal id, for duplicate detection without keeping the string (a
/// collision chance below 10^-15 at 10 million deals), in the top 96 bits of a `u128` whose
/// low 32 bits are free for the row's line.
fn id_hash(id: &str) -> u128 {
    use std::hash::{Hash, Hasher};
    // Two independent hashes of the id: SipHash (64 bits) and FNV-1a (its 32 best-mixed, high
    // bits); one SipHash pass a row.
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    id.hash(&mut hasher);
    let fnv = id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    (u128::from(hasher.finish()) << 64) | (u128::from(fnv >> 32) << 32)
}
