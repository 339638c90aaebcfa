//! Plan test cases (like OpenFisca's YAML tests): inputs and expected payouts per payee and
//! period, next to the plan in `tests/*.yaml`.
//!
//! ```yaml
//! plan: ../plan.yaml                 # default: the plan.yaml above the tests folder
//! cases:
//!   - name: an AE at exactly 100 % of quota
//!     data: ../data                  # a data directory, and/or inline tables:
//!     roster: [ {id: t1, name: Test, role: ae, quota: 1200000} ]
//!     deals:  [ {id: d1, owner: t1, close_date: 2027-03-31, kind: new, amount: 300000, gross_margin: 120000} ]
//!     set: { ae_base_rate: 0.06 }    # parameter overrides
//!     expect:
//!       - { payee: t1, period: 2027-Q1, components: { new_business: 15000.00 }, total: 15000.00 }
//!       - { payee: t2, error: "zero quota" }
//! ```
//! Reading and comparing lives here; writing inline tables to files is the caller's job
//! (the engine reads the files it is pointed at and writes none).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use indexmap::IndexMap;
use rust_decimal::Decimal;
use serde::Deserialize;

use crate::diagnostic::{Diagnostic, Diagnostics, Span, did_you_mean};
use crate::error::Code;
use crate::number::format_money_grouped;
use crate::spanned::{Num, Spanned};
use crate::statement::{RunError, RunResult};
use crate::yaml::{self, DeContext};

/// The tables a case may give inline, with their file names.
pub const TABLES: [(&str, &str); 8] = [
    ("roster", "roster.csv"),
    ("deals", "deals.csv"),
    ("splits", "splits.csv"),
    ("payments", "payments.csv"),
    ("measures", "measures.csv"),
    ("company", "company.csv"),
    ("relief", "relief.csv"),
    ("quotas", "quotas.csv"),
];

/// A test file: a plan and its cases.
#[derive(Debug)]
pub struct TestFile {
    pub path: PathBuf,
    pub plan: PathBuf,
    pub cases: Vec<TestCase>,
}

#[derive(Debug, Deserialize)]
struct FileSpec {
    #[serde(default)]
    plan: Option<Spanned<String>>,
    cases: Vec<CaseSpec>,
}

type Rows = Vec<IndexMap<String, Option<String>>>;

#[derive(Debug, Deserialize)]
struct CaseSpec {
    name: Spanned<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    data: Option<Spanned<String>>,
    #[serde(default)]
    roster: Option<Rows>,
    #[serde(default)]
    deals: Option<Rows>,
    #[serde(default)]
    splits: Option<Rows>,
    #[serde(default)]
    payments: Option<Rows>,
    #[serde(default)]
    measures: Option<Rows>,
    #[serde(default)]
    company: Option<Rows>,
    #[serde(default)]
    relief: Option<Rows>,
    #[serde(default)]
    quotas: Option<Rows>,
    #[serde(default)]
    set: IndexMap<String, Num>,
    expect: Vec<ExpectSpec>,
}

#[derive(Debug, Deserialize)]
struct ExpectSpec {
    payee: Spanned<String>,
    #[serde(default)]
    period: Option<String>,
    #[serde(default)]
    components: IndexMap<Spanned<String>, Num>,
    #[serde(default)]
    total: Option<Num>,
    #[serde(default)]
    quota: Option<Num>,
    #[serde(default)]
    error: Option<String>,
}

/// One case: where its data comes from and what it expects.
#[derive(Debug)]
pub struct TestCase {
    pub name: String,
    pub line: u32,
    pub description: Option<String>,
    /// A data directory, relative paths resolved against the test file.
    pub data: Option<PathBuf>,
    /// Inline tables as CSV text, by file name (`roster.csv`, …).
    pub tables: Vec<(String, String)>,
    /// Parameter overrides.
    pub set: IndexMap<String, Decimal>,
    pub expect: Vec<Expectation>,
}

/// What one payee (in one period, or the year when no period is given) should get.
#[derive(Debug)]
pub struct Expectation {
    pub payee: String,
    pub period: Option<String>,
    pub components: IndexMap<String, Decimal>,
    /// Where each expected component is named in the test file.
    pub component_places: IndexMap<String, Span>,
    pub total: Option<Decimal>,
    pub quota: Option<Decimal>,
    pub error: Option<String>,
}

impl TestFile {
    /// Reads a test file; problems come back with file, line and column (and `test.invalid`
    /// unless a more precise code applies).
    pub fn read(path: &Path) -> Result<TestFile, Diagnostics> {
        TestFile::read_inner(path).map_err(|problems| problems.or_code(Code::TestInvalid))
    }

    fn read_inner(path: &Path) -> Result<TestFile, Diagnostics> {
        let file: Arc<str> = Arc::from(path.display().to_string());
        let text = std::fs::read_to_string(path).map_err(|err| {
            Diagnostics(vec![Diagnostic::error(format!("cannot read test file {}: {err}", path.display()))])
        })?;
        let (root, mut problems) = yaml::parse(&text, &file).map_err(|d| Diagnostics(vec![d]))?;
        let cx = DeContext::new(file.clone(), None);
        let spec = yaml::from_node::<FileSpec>(&root, &cx);
        problems.extend(cx.into_diagnostics());
        let spec = match spec {
            Ok(spec) if problems.is_empty() => spec,
            Ok(_) => return Err(Diagnostics(problems)),
            Err(diag) => {
                problems.push(diag);
                return Err(Diagnostics(problems));
            }
        };
        let dir = path.parent().unwrap_or(Path::new("."));
        let plan = match &spec.plan {
            Some(p) => dir.join(&p.value),
            None => dir.join("..").join("plan.yaml"),
        };
        let cases = spec
            .cases
            .into_iter()
            .map(|case| {
                let tables = [
                    ("roster.csv", case.roster),
                    ("deals.csv", case.deals),
                    ("splits.csv", case.splits),
                    ("payments.csv", case.payments),
                    ("measures.csv", case.measures),
                    ("company.csv", case.company),
                    ("relief.csv", case.relief),
                    ("quotas.csv", case.quotas),
                ]
                .into_iter()
                .filter_map(|(name, rows)| rows.map(|rows| (name.to_string(), to_csv(name, &rows))))
                .collect();
                TestCase {
                    name: case.name.value,
                    line: case.name.span.line,
                    description: case.description,
                    data: case.data.map(|d| dir.join(&d.value)),
                    tables,
                    set: case.set.into_iter().map(|(k, v)| (k, v.value)).collect(),
                    expect: case
                        .expect
                        .into_iter()
                        .map(|e| Expectation {
                            payee: e.payee.value,
                            period: e.period,
                            component_places: e.components.keys().map(|k| (k.value.clone(), k.span)).collect(),
                            components: e.components.into_iter().map(|(k, v)| (k.value, v.value)).collect(),
                            total: e.total.map(|n| n.value),
                            quota: e.quota.map(|n| n.value),
                            error: e.error,
                        })
                        .collect(),
                }
            })
            .collect();
        Ok(TestFile { path: path.to_path_buf(), plan, cases })
    }
}

/// Rows as CSV text: the header is every key in the order first met. An inline deal that
/// gives no `gross_margin` has margin 0, as an empty cell would (SPEC §5): the column is
/// always written, since a plan that reads margin requires it.
fn to_csv(name: &str, rows: &Rows) -> String {
    let mut header: Vec<&str> = Vec::new();
    if name == "deals.csv" {
        header.push("gross_margin");
    }
    for row in rows {
        for key in row.keys() {
            if !header.contains(&key.as_str()) {
                header.push(key);
            }
        }
    }
    let mut writer = csv::Writer::from_writer(Vec::new());
    let _ = writer.write_record(&header);
    for row in rows {
        let record: Vec<&str> = header.iter().map(|h| row.get(*h).and_then(|v| v.as_deref()).unwrap_or("")).collect();
        let _ = writer.write_record(&record);
    }
    writer.into_inner().map(|bytes| String::from_utf8_lossy(&bytes).into_owned()).unwrap_or_default()
}

/// One difference between what a case expects and what the run gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch(pub String);

impl TestCase {
    /// Expected components the payee's role does not have, at their place in `file`: a
    /// misspelt name (`new_ar` for `new_arr`) would otherwise pass when it expects 0, or
    /// fail without saying why. `components_of` gives a payee's role and its component ids
    /// (`None` for a payee the data does not have: [`TestCase::check`] reports that). A
    /// sub-line (`retention.churn_clawback`) is checked by its component's id. Each comes with
    /// the name as written.
    pub fn unknown_components(
        &self,
        file: &Path,
        components_of: impl Fn(&str) -> Option<(String, Vec<String>)>,
    ) -> Vec<(String, Mismatch)> {
        let mut out = Vec::new();
        for e in &self.expect {
            let Some((role, ids)) = components_of(&e.payee) else { continue };
            for (name, span) in &e.component_places {
                let id = name.split('.').next().unwrap_or(name);
                if ids.iter().any(|known| known == id) {
                    continue;
                }
                let hint = match did_you_mean(id, ids.iter().map(String::as_str)) {
                    Some(best) => format!("did you mean `{best}`?"),
                    None => format!("its components: {}", ids.join(", ")),
                };
                out.push((
                    name.clone(),
                    Mismatch(format!(
                        "{}:{}:{}: {}: role `{role}` has no component `{id}`; {hint}",
                        file.display(),
                        span.line,
                        span.col,
                        e.payee
                    )),
                ));
            }
        }
        out
    }

    /// Compares a run with the expectations: every difference, not just the first.
    pub fn check(&self, result: &RunResult) -> Vec<Mismatch> {
        let mut out = Vec::new();
        for e in &self.expect {
            let errors: Vec<&RunError> =
                result.errors.iter().filter(|r| r.payee.as_deref() == Some(&e.payee)).collect();
            if let Some(wanted) = &e.error {
                if !errors.iter().any(|r| r.message.contains(wanted.as_str())) {
                    let got = if errors.is_empty() {
                        "no error".to_string()
                    } else {
                        errors.iter().map(|r| r.message.clone()).collect::<Vec<_>>().join("; ")
                    };
                    out.push(Mismatch(format!("{}: expected an error containing {wanted:?}, got {got}", e.payee)));
                }
                continue;
            }
            if !errors.is_empty() {
                let messages: Vec<String> = errors.iter().map(|r| r.to_string()).collect();
                out.push(Mismatch(format!("{}: unexpected error: {}", e.payee, messages.join("; "))));
                continue;
            }
            let statements: Vec<_> = result
                .statements
                .iter()
                .filter(|s| s.payee == e.payee.as_str() && e.period.as_deref().is_none_or(|p| s.period == p))
                .collect();
            let place = match &e.period {
                Some(p) => format!("{} {p}", e.payee),
                None => format!("{} (year)", e.payee),
            };
            if statements.is_empty() {
                out.push(Mismatch(format!("{place}: no statement")));
                continue;
            }
            let money = |v: Decimal| format_money_grouped(v, result.minor_units);
            for (component, expected) in &e.components {
                let lines: Vec<Decimal> = statements
                    .iter()
                    .flat_map(|s| s.lines.iter().filter(|l| l.component == component.as_str()).map(|l| l.amount))
                    .collect();
                // A sub-line may be missing from one period (0 there), but one the payee never
                // gets is a misspelling.
                let payee_lines =
                    || result.statements.iter().filter(|s| s.payee == e.payee.as_str()).flat_map(|s| &s.lines);
                if lines.is_empty()
                    && (!component.contains('.') || !payee_lines().any(|l| l.component == component.as_str()))
                {
                    let mut names: Vec<&str> = payee_lines().map(|l| &*l.component).collect();
                    names.dedup();
                    let hint = did_you_mean(component, names.iter().copied())
                        .map(|best| format!("; did you mean `{best}`?"))
                        .unwrap_or_default();
                    out.push(Mismatch(format!("{place} {component}: no such line{hint}")));
                    continue;
                }
                let got: Decimal = lines.iter().sum();
                if got != *expected {
                    out.push(Mismatch(format!(
                        "{place} {component}: expected {}, got {}",
                        money(*expected),
                        money(got)
                    )));
                }
            }
            if let Some(expected) = e.total {
                let got: Decimal = statements.iter().map(|s| s.total).sum();
                if got != expected {
                    out.push(Mismatch(format!("{place} total: expected {}, got {}", money(expected), money(got))));
                }
            }
            if let Some(expected) = e.quota {
                let got: Decimal = statements.iter().map(|s| s.quota).sum();
                if got != expected {
                    out.push(Mismatch(format!("{place} quota: expected {}, got {}", money(expected), money(got))));
                }
            }
        }
        out
    }
}
