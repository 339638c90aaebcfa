//! `quotas.csv` (optional): a payee's quota period by period, `payee,period,quota`, instead of
//! the roster's annual quota spread evenly or by the role's `phasing`.
//!
//! Read in the two stages of the data path: the rows are checked and summed with the data set
//! (a payee's annual quota is the sum of its rows, and the roster's `quota`, when written, must
//! agree), and resolved against the plan's periods when the data set is indexed (an unknown
//! period, or a period the payee works in without a row, is an error there). The quota
//! schedule then takes each period's amount where the even split or the phasing would have
//! put its share; proration, relief, self goals and kickers apply to it as to a share.

use std::collections::{HashMap, HashSet};

use rust_decimal::Decimal;

use super::dataset::{Columns, DataSet, Payee};
use crate::calendar::Calendar;
use crate::csvfile::{Cell, CsvFile, FileInfo};
use crate::diagnostic::Diagnostic;
use crate::error::Code;
use crate::number::format_money_grouped;
use crate::plan::QuotaRules;

pub(crate) const QUOTAS: &str = "quotas.csv";

/// The columns of `quotas.csv`, all required.
pub(crate) const QUOTA_COLUMNS: [&str; 3] = ["payee", "period", "quota"];

/// A row of `quotas.csv`, its period not yet resolved against a plan.
#[derive(Debug, Clone)]
pub(crate) struct QuotaRow {
    pub payee: u32,
    /// Index into [`DataSet::labels`] (meaningless in a rejected row).
    pub label: u32,
    /// `None` for a row rejected when it was read (and reported then): its payee's year and
    /// periods are not checked further, so one mistake is not reported three times.
    pub quota: Option<Decimal>,
    /// The row's `payee` cell.
    pub cell: Cell,
}

/// Reads the rows of `file` into `data.quota_rows`, each checked (a payee of the roster, a
/// number not below 0, one row per payee and period label), and sets each payee's annual
/// quota to the sum of its rows. `label` interns a period label as the data set's other files
/// do. Problems go to the file's diagnostics.
pub(super) fn read(file: &mut CsvFile<'_>, data: &mut DataSet, label: &mut dyn FnMut(&str) -> u32) {
    if !file.require(&QUOTA_COLUMNS) | !file.reject_unknown(&QUOTA_COLUMNS) {
        return;
    }
    let (c_payee, c_period, c_quota) = (file.column("payee"), file.column("period"), file.column("quota"));
    data.columns.insert(QUOTAS, Columns { period: c_period.map(|c| c as u32), ..Columns::default() });
    // The line of each (payee, label) row seen.
    let mut seen: HashMap<(u32, u32), u64> = HashMap::new();
    while file.next_row() {
        let payee_id = file.text(c_payee);
        let Some(&payee) = data.index.get(payee_id) else {
            let message = format!("a quota for `{payee_id}`, who is not in the roster");
            file.error_code_at(c_payee, Code::DataUnknownPayee, message);
            continue;
        };
        let cell = file.cell(c_payee);
        let row = 'row: {
            let period = file.text(c_period);
            if period.is_empty() {
                file.error_code_at(c_period, Code::DataUnknownPeriod, "period is empty");
                break 'row None;
            }
            let label = label(period);
            let Some(quota) = file.decimal(c_quota, "quota") else {
                break 'row None;
            };
            if quota.is_sign_negative() && !quota.is_zero() {
                file.error_at(c_quota, format!("quota {quota} is negative: a period's quota is 0 or more"));
                break 'row None;
            }
            if let Some(first) = seen.insert((payee as u32, label), file.line()) {
                seen.insert((payee as u32, label), first);
                let (payee_id, period) = (&data.payees[payee].id, file.text(c_period));
                let message = format!("a second quota for `{payee_id}` in {period} (first on line {first})");
                file.error_code_at(c_period, Code::DataDuplicateId, message);
                break 'row None;
            }
            Some((label, quota))
        };
        let (label, quota) = row.map_or((u32::MAX, None), |(label, quota)| (label, Some(quota)));
        data.quota_rows.push(QuotaRow { payee: payee as u32, label, quota, cell });
    }
    annual_quotas(file, data);
}

/// Each payee with rows gets their sum as the annual quota; a quota written in the roster
/// must be that sum (two numbers for one thing that disagree are a typo in one of them).
fn annual_quotas(file: &mut CsvFile<'_>, data: &mut DataSet) {
    // (sum, the first row's cell) per payee, in the order payees first appear in the file; no
    // sum for a payee with a rejected row or a sum past the decimal range.
    let mut sums: Vec<(u32, Option<Decimal>, Cell)> = Vec::new();
    let mut place: HashMap<u32, usize> = HashMap::new();
    let mut rejected: HashSet<u32> = HashSet::new();
    for row in &data.quota_rows {
        let i = *place.entry(row.payee).or_insert_with(|| {
            sums.push((row.payee, Some(Decimal::ZERO), row.cell));
            sums.len() - 1
        });
        match row.quota {
            Some(quota) => sums[i].1 = sums[i].1.and_then(|sum| sum.checked_add(quota)),
            None => {
                rejected.insert(row.payee);
            }
        }
    }
    let info = FileInfo::of(file);
    for (payee, sum, cell) in sums {
        let index = payee as usize;
        if rejected.contains(&payee) {
            continue;
        }
        let id = data.payees[index].id.clone();
        let Some(sum) = sum else {
            let message = format!("the quotas of `{id}` add up to more than Accrue computes exactly");
            file.diagnostics.push(info.error(&*data.sources, cell, message));
            continue;
        };
        let roster = data.payees[index].quota;
        if data.quota_written[index] && roster != sum {
            let line = data.role_cells[index].line;
            let message = format!(
                "the quotas of `{id}` sum to {}, but roster.csv line {line} gives a quota of {}: leave the \
                 roster's `quota` empty or make the two agree",
                format_money_grouped(sum, 2),
                format_money_grouped(roster, 2)
            );
            file.diagnostics.push(info.error(&*data.sources, cell, message).with_code(Code::DataInvalid));
            continue;
        }
        data.payees[index].quota = sum;
    }
}

/// The rows resolved for a plan year: `[payee][period]` amounts, an empty list for a payee
/// without rows (and no list at all without rows in the data set). A row for a label that is
/// not a period of the plan year is an error; so is a period the payee is employed in (one
/// day is enough) without a row. Periods without employment may be left out: they read 0.
pub(super) fn index(
    data: &DataSet,
    calendar: &Calendar,
    payees: &[Payee],
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<Vec<Decimal>> {
    if data.quota_rows.is_empty() {
        return Vec::new();
    }
    let n = calendar.n_periods();
    let periods: Vec<Option<usize>> = data.labels.iter().map(|label| calendar.index_of_label(label)).collect();
    let period_column = data.columns.get(QUOTAS).and_then(|c| c.period);
    let mut quotas: Vec<Vec<Decimal>> = vec![Vec::new(); payees.len()];
    // The first row of each payee, and the periods given (by payee, in roster order). A payee
    // with a row rejected or for an unknown period is not also told of the period it probably
    // meant.
    let mut first: Vec<Option<Cell>> = vec![None; payees.len()];
    let mut quiet: Vec<bool> = vec![false; payees.len()];
    let mut given: Vec<Vec<bool>> = vec![Vec::new(); payees.len()];
    for row in &data.quota_rows {
        let payee = row.payee as usize;
        first[payee].get_or_insert(row.cell);
        let Some(quota) = row.quota else {
            quiet[payee] = true;
            continue;
        };
        let label = &data.labels[row.label as usize];
        let Some(period) = periods[row.label as usize] else {
            let labels: Vec<&str> = calendar.labels().collect();
            let message = format!("period `{label}` is not a period of the plan year ({})", labels.join(", "));
            let cell = Cell { column: period_column, ..row.cell };
            diagnostics.push(data.error_at(QUOTAS, cell, message).with_code(Code::DataUnknownPeriod));
            quiet[payee] = true;
            continue;
        };
        if quotas[payee].is_empty() {
            quotas[payee] = vec![Decimal::ZERO; n];
            given[payee] = vec![false; n];
        }
        quotas[payee][period] = quota;
        given[payee][period] = true;
    }
    for (payee, cell) in first.iter().enumerate() {
        let Some(cell) = cell.filter(|_| !quiet[payee]) else { continue };
        let p = &payees[payee];
        let missing: Vec<&str> = (0..n)
            .filter(|&k| !given[payee].get(k).copied().unwrap_or(false))
            .filter(|&k| calendar.employed_days(k, p.start_date, p.end_date) > 0)
            .map(|k| calendar.period(k).label.as_str())
            .collect();
        if !missing.is_empty() {
            let message = format!(
                "`{}` has quotas in quotas.csv but none for {}: give every period they work in a row (0 for none)",
                p.id,
                missing.join(", ")
            );
            diagnostics.push(data.error_at(QUOTAS, cell, message).with_code(Code::DataInvalid));
        }
    }
    quotas
}

/// Period `k`'s part of an `annual` amount, times N (the quota schedule's unit), for a payee
/// with quotas.csv `rows` (or none): the row itself when `annual` is the year the rows add up
/// to; in proportion to the rows when it is another annual amount (a self-set goal used
/// instead of the assigned quota, a kicker's bar); otherwise, and when the rows are all 0, the
/// role's phasing or the even split. Multiplied before it is divided, so that it is exact
/// wherever the share terminates.
pub(crate) fn spread_scaled(
    rules: &QuotaRules,
    rows: Option<&[Decimal]>,
    annual: Decimal,
    k: usize,
) -> Option<Decimal> {
    let Some(rows) = rows else {
        return rules.phased_scaled(annual, k);
    };
    let mut year = Decimal::ZERO;
    for row in rows {
        year = year.checked_add(*row)?;
    }
    if year.is_zero() {
        return rules.phased_scaled(annual, k);
    }
    let n = Decimal::from(rows.len() as u64);
    if annual == year {
        return rows[k].checked_mul(n);
    }
    annual.checked_mul(rows[k])?.checked_mul(n)?.checked_div(year)
}
