//! The plan year and its periods (SPEC §3): fiscal start, labels, windows, active fractions.

use chrono::{Datelike, Months, NaiveDate};
use rust_decimal::Decimal;
use serde::Deserialize;

/// How the plan year is cut.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, schemars::JsonSchema, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PeriodKind {
    Month,
    Quarter,
    Year,
}

impl PeriodKind {
    pub fn count(self) -> usize {
        match self {
            PeriodKind::Month => 12,
            PeriodKind::Quarter => 4,
            PeriodKind::Year => 1,
        }
    }

    fn months(self) -> u32 {
        match self {
            PeriodKind::Month => 1,
            PeriodKind::Quarter => 3,
            PeriodKind::Year => 12,
        }
    }
}

/// One period of the plan year; `end` is inclusive.
#[derive(Clone, Debug)]
pub struct Period {
    pub label: String,
    pub start: NaiveDate,
    pub end: NaiveDate,
}

impl Period {
    pub fn days(&self) -> i64 {
        (self.end - self.start).num_days() + 1
    }

    pub fn contains(&self, date: NaiveDate) -> bool {
        self.start <= date && date <= self.end
    }
}

/// The plan year: N periods starting at `year-{fiscal_start_month}-01`.
#[derive(Clone, Debug)]
pub struct Calendar {
    pub kind: PeriodKind,
    pub year: i32,
    pub fiscal_start_month: u32,
    periods: Vec<Period>,
}

impl Calendar {
    /// Builds the calendar; `None` when the year or month is out of range.
    pub fn new(kind: PeriodKind, year: i32, fiscal_start_month: u32) -> Option<Calendar> {
        let start = NaiveDate::from_ymd_opt(year, fiscal_start_month, 1)?;
        let mut periods = Vec::with_capacity(kind.count());
        for i in 0..kind.count() as u32 {
            let period_start = start.checked_add_months(Months::new(i * kind.months()))?;
            let next = period_start.checked_add_months(Months::new(kind.months()))?;
            let end = next.pred_opt()?;
            let label = match kind {
                PeriodKind::Month => {
                    format!("{:04}-{:02}", period_start.year(), period_start.month())
                }
                PeriodKind::Quarter => format!("{year}-Q{}", i + 1),
                PeriodKind::Year => format!("{year}"),
            };
            periods.push(Period { label, start: period_start, end });
        }
        Some(Calendar { kind, year, fiscal_start_month, periods })
    }

    /// N, the number of periods in the plan year.
    pub fn n_periods(&self) -> usize {
        self.periods.len()
    }

    pub fn n_decimal(&self) -> Decimal {
        Decimal::from(self.periods.len() as u64)
    }

    pub fn periods(&self) -> &[Period] {
        &self.periods
    }

    pub fn period(&self, index: usize) -> &Period {
        &self.periods[index]
    }

    pub fn start(&self) -> NaiveDate {
        self.periods[0].start
    }

    pub fn end(&self) -> NaiveDate {
        self.periods[self.periods.len() - 1].end
    }

    /// The index of the period holding `date`, `None` outside the plan year.
    pub fn index_of(&self, date: NaiveDate) -> Option<usize> {
        if date < self.start() || date > self.end() {
            return None;
        }
        self.periods.iter().position(|p| p.contains(date))
    }

    /// The index of the period labelled `label` (`2027-Q2`, `2027-03`, `2027`).
    pub fn index_of_label(&self, label: &str) -> Option<usize> {
        self.periods.iter().position(|p| p.label == label)
    }

    pub fn labels(&self) -> impl Iterator<Item = &str> {
        self.periods.iter().map(|p| p.label.as_str())
    }

    /// Days of period `index` that fall inside the inclusive employment `[start, end]`.
    pub fn employed_days(&self, index: usize, start: NaiveDate, end: Option<NaiveDate>) -> i64 {
        let period = &self.periods[index];
        let from = start.max(period.start);
        let to = end.map_or(period.end, |e| e.min(period.end));
        if to < from { 0 } else { (to - from).num_days() + 1 }
    }
}

/// A window of consecutive periods, `first..=last` (SPEC §3 `ytd` or `period`), whose
/// measures are read over `first..=last` and whose quota, TI and targets cover
/// `first..=base_last` (the same periods, except for `ytd_annual`: the whole year).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub first: usize,
    pub last: usize,
    pub base_last: usize,
}

impl Window {
    pub fn ytd(period: usize) -> Window {
        Window { first: 0, last: period, base_last: period }
    }

    pub fn single(period: usize) -> Window {
        Window { first: period, last: period, base_last: period }
    }

    /// The year so far, measured against the whole year of `n_periods` (`ytd_annual`).
    pub fn ytd_annual(period: usize, n_periods: usize) -> Window {
        Window { first: 0, last: period, base_last: n_periods.saturating_sub(1).max(period) }
    }

    /// The periods the quota, TI and targets of this window cover.
    pub fn base(&self) -> Window {
        Window { first: self.first, last: self.base_last, base_last: self.base_last }
    }

    /// Whether quota, TI and targets cover more periods than the measures (`ytd_annual`).
    pub fn is_annualised(&self) -> bool {
        self.base_last != self.last
    }

    /// n_W, the number of periods in the window.
    pub fn len(&self) -> usize {
        self.last - self.first + 1
    }

    pub fn is_empty(&self) -> bool {
        false
    }

    pub fn periods(&self) -> std::ops::RangeInclusive<usize> {
        self.first..=self.last
    }

    pub fn contains(&self, period: usize) -> bool {
        self.first <= period && period <= self.last
    }
}

/// Parses an ISO `YYYY-MM-DD` date, strictly (no times, no other forms).
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    let text = text.trim();
    let bytes = text.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let digits = |range: std::ops::Range<usize>| -> Option<u32> {
        let part = &text[range];
        if part.bytes().all(|b| b.is_ascii_digit()) { part.parse().ok() } else { None }
    };
    NaiveDate::from_ymd_opt(digits(0..4)? as i32, digits(5..7)?, digits(8..10)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quarters_are_fiscal_and_months_calendar() {
        let quarters = Calendar::new(PeriodKind::Quarter, 2027, 4).unwrap();
        let labels: Vec<_> = quarters.labels().collect();
        assert_eq!(labels, ["2027-Q1", "2027-Q2", "2027-Q3", "2027-Q4"]);
        assert_eq!(quarters.period(0).start, NaiveDate::from_ymd_opt(2027, 4, 1).unwrap());
        assert_eq!(quarters.period(3).end, NaiveDate::from_ymd_opt(2028, 3, 31).unwrap());

        let months = Calendar::new(PeriodKind::Month, 2027, 7).unwrap();
        assert_eq!(months.period(0).label, "2027-07");
        assert_eq!(months.period(11).label, "2028-06");
        assert_eq!(months.period(7).days(), 29, "February 2028 is a leap month");

        let year = Calendar::new(PeriodKind::Year, 2027, 1).unwrap();
        assert_eq!(year.period(0).label, "2027");
        assert_eq!(year.period(0).days(), 365);
    }

    #[test]
    fn employment_is_inclusive() {
        let cal = Calendar::new(PeriodKind::Quarter, 2027, 1).unwrap();
        let d = |m, day| NaiveDate::from_ymd_opt(2027, m, day).unwrap();
        assert_eq!(cal.employed_days(0, d(3, 31), None), 1);
        assert_eq!(cal.employed_days(0, d(1, 1), Some(d(1, 1))), 1);
        assert_eq!(cal.employed_days(1, d(1, 1), Some(d(3, 31))), 0);
        assert_eq!(cal.employed_days(1, d(5, 16), None), 46);
    }

    #[test]
    fn dates_are_strict_iso() {
        assert!(parse_date("2027-02-28").is_some());
        assert!(parse_date("2027-02-29").is_none());
        assert!(parse_date("2027/02/28").is_none());
        assert!(parse_date("27-02-28").is_none());
        assert!(parse_date("2027-2-28").is_none());
    }
}
