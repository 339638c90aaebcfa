//! Run output (SPEC §8): statements per payee and period, their lines with explanations and
//! traces, totals, warnings and per-payee errors. Amounts serialize as exact strings with the
//! currency's places; ratios as exact strings.

use std::fmt;
use std::sync::Arc;

use indexmap::IndexMap;
use rust_decimal::Decimal;
use serde::{Serialize, Serializer};

use crate::error::Code;
use crate::number::format_ratio;

/// A shared, immutable name (payee, role, period, component): statements repeat the same
/// few names thousands of times, so they share one allocation each.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Name(Arc<str>);

impl Name {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Name {
    fn from(text: &str) -> Name {
        Name(Arc::from(text))
    }
}

impl From<String> for Name {
    fn from(text: String) -> Name {
        Name(Arc::from(text))
    }
}

impl std::ops::Deref for Name {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for Name {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for Name {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for Name {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Name {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// A change to a payee's quota or incentive, shown in the statement (SPEC §6).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Adjustment {
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "money_opt")]
    pub amount: Option<Decimal>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "money_opt")]
    pub asked: Option<Decimal>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "ratio_opt")]
    pub factor: Option<Decimal>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approver: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// One component's line in a statement.
#[derive(Debug, Clone, Serialize)]
pub struct Line {
    pub component: Name,
    #[serde(serialize_with = "money")]
    pub amount: Decimal,
    #[serde(serialize_with = "ratio_opt")]
    pub attainment: Option<Decimal>,
    pub explain: String,
    pub trace: serde_json::Map<String, serde_json::Value>,
}

/// One payee's pay for one period.
#[derive(Debug, Clone, Serialize)]
pub struct Statement {
    pub payee: Name,
    pub name: Name,
    pub role: Name,
    pub period: Name,
    /// The period's effective quota q_k, rounded for display.
    #[serde(serialize_with = "money")]
    pub quota: Decimal,
    pub adjustments: Vec<Adjustment>,
    pub lines: Vec<Line>,
    #[serde(serialize_with = "money")]
    pub total: Decimal,
}

/// A failure that kept a payee (or the run) from a statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunError {
    pub payee: Option<String>,
    pub period: Option<String>,
    pub component: Option<String>,
    /// What kind of failure, for programs (`eval.missing_company`, `script.limit.operations`).
    pub code: Code,
    pub message: String,
}

impl RunError {
    /// Whether this is the error of a run that stopped before its end (`run.cancelled`,
    /// `run.time_limit`) rather than a payee's.
    pub fn is_stop(&self) -> bool {
        matches!(self.code, Code::RunCancelled | Code::RunTimeLimit)
    }
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut place = Vec::new();
        if let Some(p) = &self.payee {
            place.push(format!("payee {p}"));
        }
        if let Some(p) = &self.period {
            place.push(p.clone());
        }
        if let Some(c) = &self.component {
            place.push(format!("component {c}"));
        }
        if place.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", place.join(", "), self.message)
        }
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Totals {
    #[serde(serialize_with = "money")]
    pub total: Decimal,
    #[serde(serialize_with = "money_map")]
    pub by_role: IndexMap<String, Decimal>,
    #[serde(serialize_with = "money_map")]
    pub by_period: IndexMap<String, Decimal>,
}

/// Sums statement totals per role and period as statements go by; every role and period
/// is listed, zeros included. One sum per (role, period) cell, added up at the end.
/// (Few roles and periods: a linear scan, starting from the last hit, beats hashing names.)
#[derive(Debug, Clone, Default)]
pub struct TotalsBuilder {
    roles: Vec<String>,
    periods: Vec<String>,
    /// `cells[role][period]`.
    cells: Vec<Vec<Decimal>>,
    last: (usize, usize),
}

/// The index of `key` in `names`, trying `hint` first; appended when it is new.
fn slot(names: &mut Vec<String>, key: &str, hint: usize) -> (usize, bool) {
    // Statements come payee by payee, period after period: the last slot or the next one.
    for guess in [hint, hint + 1, 0] {
        if names.get(guess).is_some_and(|n| n == key) {
            return (guess, false);
        }
    }
    match names.iter().position(|n| n == key) {
        Some(i) => (i, false),
        None => {
            names.push(key.to_string());
            (names.len() - 1, true)
        }
    }
}

/// Run totals beyond a 96-bit decimal (inputs are bounded, so only absurd plans get there)
/// stay at the largest value rather than wrapping or panicking.
fn sum(values: impl Iterator<Item = Decimal>) -> Decimal {
    values.fold(Decimal::ZERO, Decimal::saturating_add)
}

impl TotalsBuilder {
    pub fn new<'a>(roles: impl Iterator<Item = &'a str>, periods: impl Iterator<Item = &'a str>) -> Self {
        let roles: Vec<String> = roles.map(str::to_string).collect();
        let periods: Vec<String> = periods.map(str::to_string).collect();
        let cells = vec![vec![Decimal::ZERO; periods.len()]; roles.len()];
        TotalsBuilder { roles, periods, cells, last: (0, 0) }
    }

    pub fn add(&mut self, s: &Statement) {
        let (role, new_role) = slot(&mut self.roles, &s.role, self.last.0);
        if new_role {
            self.cells.push(vec![Decimal::ZERO; self.periods.len()]);
        }
        let (period, new_period) = slot(&mut self.periods, &s.period, self.last.1);
        if new_period {
            self.cells.iter_mut().for_each(|row| row.push(Decimal::ZERO));
        }
        self.last = (role, period);
        let cell = &mut self.cells[role][period];
        *cell = cell.saturating_add(s.total);
    }

    /// Adds a statement total by the indexes of its role and period (in the order given to
    /// [`TotalsBuilder::new`]).
    pub fn add_at(&mut self, role: usize, period: usize, total: Decimal) {
        if let Some(cell) = self.cells.get_mut(role).and_then(|row| row.get_mut(period)) {
            *cell = cell.saturating_add(total);
        }
    }

    pub fn finish(self, places: u32) -> Totals {
        let round = |v: Decimal| crate::number::round_money(v, places);
        let cells = &self.cells;
        let by_period =
            self.periods.iter().enumerate().map(|(k, p)| (p.clone(), round(sum(cells.iter().map(|row| row[k])))));
        Totals {
            total: round(sum(cells.iter().flatten().copied())),
            by_role: self
                .roles
                .iter()
                .zip(cells)
                .map(|(r, row)| (r.clone(), round(sum(row.iter().copied()))))
                .collect(),
            by_period: by_period.collect(),
        }
    }
}

/// The result of evaluating a plan on a data set.
#[derive(Debug, Clone, Serialize)]
pub struct RunResult {
    pub plan: String,
    pub plan_hash: String,
    pub data_hash: String,
    pub currency: String,
    #[serde(skip)]
    pub minor_units: u32,
    pub periods: Vec<String>,
    pub statements: Vec<Statement>,
    pub totals: Totals,
    pub warnings: Vec<String>,
    pub errors: Vec<RunError>,
}

impl RunResult {
    /// The error of a run that stopped before its end, if it did: its statements and totals
    /// are then those of the payees before the stop only.
    pub fn stopped(&self) -> Option<&RunError> {
        self.errors.iter().find(|e| e.is_stop())
    }

    /// Keeps only the statements of one period (totals follow).
    pub fn retain_period(&mut self, period: &str) {
        self.statements.retain(|s| s.period == *period);
        self.periods.retain(|p| p == period);
        let roles: Vec<String> = self.totals.by_role.keys().cloned().collect();
        let mut totals = TotalsBuilder::new(roles.iter().map(String::as_str), self.periods.iter().map(String::as_str));
        for s in &self.statements {
            totals.add(s);
        }
        self.totals = totals.finish(self.minor_units);
    }

    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }
}

fn money<S: Serializer>(value: &Decimal, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&money_text(*value))
}

/// Amounts are rounded to the currency's places before they get here; this only keeps a
/// negative zero from showing.
fn money_text(value: Decimal) -> String {
    let mut v = value;
    if v.is_zero() {
        v.set_sign_positive(true);
    }
    v.to_string()
}

fn money_opt<S: Serializer>(value: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(v) => s.serialize_str(&money_text(crate::number::round_money(*v, 2))),
        None => s.serialize_none(),
    }
}

fn ratio_opt<S: Serializer>(value: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(v) => s.serialize_str(&format_ratio(*v)),
        None => s.serialize_none(),
    }
}

fn money_map<S: Serializer>(map: &IndexMap<String, Decimal>, s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut out = s.serialize_map(Some(map.len()))?;
    for (k, v) in map {
        out.serialize_entry(k, &money_text(*v))?;
    }
    out.end()
}
