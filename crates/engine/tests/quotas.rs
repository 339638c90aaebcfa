//! `quotas.csv`: quotas period by period. Bad rows are errors at their line and column;
//! amounts equal to the even split or to a phasing give exactly the statements those give
//! (proptest); the file is read from memory like the others and is part of the data hash; the
//! what-if analyses read the year the rows add up to.

mod common;

use std::path::Path;
use std::sync::Arc;

use accrue_engine::{
    AlignOptions, Baseline, Change, DataSet, Memory, MonteCarloOptions, PlanInput, RunResult, Scenario,
    SimulateOptions, align, montecarlo, simulate,
};
use proptest::prelude::*;
use rust_decimal::Decimal;

const PLAN: &str = "\
plan: q
year: 2027
periods: quarter
company:
  revenue: 4000000
  gross_profit: 2000000
  net_profit: 500000
  budget_revenue: 3000000
roles:
  ae:
    motion: hunter
    target_incentive: 40000
    quota:
      source: self_goal
      floor: 0.9
      max_relief_pct: 0.5
      kicker: {over_self_goal: 1.0, multiplier: 1.1}
    components:
      - {id: commission, type: tiered, measure: bookings, tiers: [{from: 0, rate: 0.05}, {from: 1, rate: 0.15}]}
      - {id: bonus, type: tiered, measure: bookings, basis: curve, window: period, curve: [[0, 0], [1, 1], [2, 3]]}
      - {id: advance, type: tiered, measure: bookings, basis: step, window: ytd_annual, steps: [{from: 0.25, payout: 0.2}, {from: 1, payout: 1}]}
";

const ROSTER: &str = "id,name,role,quota\np01,Alice,ae,\np02,Ben,ae,1000000\n";
const DEALS: &str = "id,owner,close_date,kind,amount\nd1,p01,2027-11-02,new,700000\nd2,p02,2027-02-01,new,1000\n";
const QUOTAS: &str = "payee,period,quota\n\
p01,2027-Q1,100000\np01,2027-Q2,100000\np01,2027-Q3,100000\np01,2027-Q4,700000\n";

fn run(plan: &str, files: &[(&str, &str)]) -> RunResult {
    common::Scenario::new(plan, files).run()
}

/// Loads the data with `quotas.csv` = `text` (and the roster `roster`) and expects one error
/// in `file` at `line:col` whose message contains `message`.
#[track_caller]
fn check_with(roster: &str, text: &str, file: &str, message: &str, line: u32, col: u32) {
    let files = [("roster.csv", roster), ("deals.csv", DEALS), ("quotas.csv", text)];
    common::single_data_error(PLAN, &files, file, message, line, col);
}

#[track_caller]
fn check(text: &str, message: &str, line: u32, col: u32) {
    check_with(ROSTER, text, "quotas.csv", message, line, col);
}

/// p01's four good rows with `row` after the first.
fn with_row(row: &str) -> String {
    QUOTAS.replacen("p01,2027-Q2", &format!("{row}\np01,2027-Q2"), 1)
}

#[test]
fn bad_rows_are_errors_at_their_line_and_column() {
    check(&with_row("p09,2027-Q1,5"), "a quota for `p09`, who is not in the roster", 3, 1);
    check(&QUOTAS.replace("p01,2027-Q4", "p01,2027-Q5"), "period `2027-Q5` is not a period of the plan year", 5, 5);
    check(&with_row("p01,2027-Q1,5"), "a second quota for `p01` in 2027-Q1 (first on line 2) (column `period`)", 3, 5);
    check(&QUOTAS.replace("2027-Q3,100000", "2027-Q3,-1"), "quota -1 is negative", 4, 13);
    check(&QUOTAS.replace("2027-Q3,100000", "2027-Q3,1e"), "quota: `1e` is not a number", 4, 13);
    check(&QUOTAS.replace("2027-Q3,100000", "2027-Q3,\"100,000\""), "quota: `100,000`", 4, 13);
    check("payee,period,quota,note\n", "unknown column `note`", 1, 20);
    check("payee,quota\n", "missing column `period`", 1, 1);
}

#[test]
fn every_period_the_payee_works_in_needs_a_row() {
    let two_missing = QUOTAS.replace("p01,2027-Q2,100000\n", "").replace("p01,2027-Q4,700000\n", "");
    // At the payee's first row, naming the periods.
    check(&two_missing, "`p01` has quotas in quotas.csv but none for 2027-Q2, 2027-Q4", 2, 1);
    // A payee hired in Q3 may leave Q1 and Q2 out; Q3 and Q4 they need.
    let hired = "id,name,role,start_date,quota\np01,Alice,ae,2027-08-15,\np02,Ben,ae,,1000000\n";
    let later = "payee,period,quota\np01,2027-Q3,100000\np01,2027-Q4,300000\n";
    let files = [("roster.csv", hired), ("deals.csv", DEALS), ("quotas.csv", later)];
    let r = run(PLAN, &files);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    let quota = |period: &str| r.statements.iter().find(|s| s.payee == "p01" && s.period == period).map(|s| s.quota);
    assert_eq!(quota("2027-Q2"), None, "no statement before the hire");
    // Q3 is 92 days; employed 15 August – 30 September = 47 days: 100,000 × 47 / 92.
    assert_eq!(quota("2027-Q3").unwrap().to_string(), "51086.96");
    assert_eq!(quota("2027-Q4").unwrap().to_string(), "300000.00");
    check_with(hired, "payee,period,quota\np01,2027-Q4,300000\n", "quotas.csv", "none for 2027-Q3:", 2, 1);
}

#[test]
fn a_roster_quota_must_be_empty_or_the_rows_sum() {
    let roster = "id,name,role,quota\np01,Alice,ae,1200000\np02,Ben,ae,1000000\n";
    check_with(
        roster,
        QUOTAS,
        "quotas.csv",
        "the quotas of `p01` sum to 1,000,000.00, but roster.csv line 2 gives a quota of 1,200,000.00",
        2,
        1,
    );
    // The same sum written differently agrees; so does an empty cell (the default ROSTER).
    let same = "id,name,role,quota\np01,Alice,ae,1000000.00\np02,Ben,ae,1000000\n";
    let files = [("roster.csv", same), ("deals.csv", DEALS), ("quotas.csv", QUOTAS)];
    assert!(common::Scenario::new(PLAN, &files).facts().is_ok());
}

#[test]
fn every_problem_is_reported_together_in_file_order() {
    let text = "payee,period,quota\np09,2027-Q1,1\np01,2027-Q1,-5\np01,2027-Q9,1\n";
    let files = [("roster.csv", ROSTER), ("deals.csv", DEALS), ("quotas.csv", text)];
    let diagnostics = common::Scenario::new(PLAN, &files).facts().expect_err("fails");
    let lines: Vec<u32> = diagnostics.iter().map(|d| d.location.as_ref().unwrap().span.line).collect();
    assert_eq!(lines, [2, 3, 4], "{diagnostics:#?}");
}

#[test]
fn the_rows_are_the_quotas_and_the_statement_says_where_they_come_from() {
    let r = run(PLAN, &[("roster.csv", ROSTER), ("deals.csv", DEALS), ("quotas.csv", QUOTAS)]);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    let statement = |period: &str| r.statements.iter().find(|s| s.payee == "p01" && s.period == period).unwrap();
    let quotas: Vec<String> =
        ["2027-Q1", "2027-Q2", "2027-Q3", "2027-Q4"].iter().map(|p| statement(p).quota.to_string()).collect();
    assert_eq!(quotas, ["100000.00", "100000.00", "100000.00", "700000.00"]);
    // Q4 alone: 700,000 of 700,000 booked is exactly 100 %: the bonus curve pays TI 10,000 × 1.
    let q4 = statement("2027-Q4");
    let bonus = q4.lines.iter().find(|l| l.component == "bonus").unwrap();
    assert_eq!(bonus.amount.to_string(), "10000.00");
    assert!(bonus.explain.contains("from quotas.csv: 70% of the annual quota in 2027-Q4"), "{}", bonus.explain);
    // Payees without rows keep the roster's even split.
    let ben = r.statements.iter().find(|s| s.payee == "p02" && s.period == "2027-Q1").unwrap();
    assert_eq!(ben.quota.to_string(), "250000.00");
}

#[test]
fn the_file_is_read_from_memory_and_is_part_of_the_data_hash() {
    let files = |quotas: &'static str| [("roster.csv", ROSTER), ("deals.csv", DEALS), ("quotas.csv", quotas)];
    let data = DataSet::from_texts(Path::new("mem"), files(QUOTAS)).unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(data.payees()[0].quota, Decimal::from(1_000_000), "the year is the rows' sum");
    let without = DataSet::from_texts(Path::new("mem"), [("roster.csv", ROSTER), ("deals.csv", DEALS)]).unwrap();
    let changed = QUOTAS.replace("700000", "700001");
    let other =
        DataSet::from_texts(Path::new("mem"), [("roster.csv", ROSTER), ("deals.csv", DEALS), ("quotas.csv", &changed)])
            .unwrap();
    assert_ne!(data.hash(), without.hash());
    assert_ne!(data.hash(), other.hash());
    // The same bytes on disk hash the same.
    let disk = common::Scenario::new(PLAN, &files(QUOTAS));
    let (_, facts) = disk.facts().unwrap();
    assert_eq!(facts.hash, data.hash());
    // Errors from memory carry the file, line and column too.
    let bad = DataSet::from_texts(
        Path::new("mem"),
        [("roster.csv", ROSTER), ("deals.csv", DEALS), ("quotas.csv", "payee,period,quota\np01,2027-Q1,x\n")],
    )
    .expect_err("a bad number");
    let location = bad.0[0].location.as_ref().unwrap();
    assert_eq!((location.file.as_ref(), location.span.line, location.span.col), ("mem/quotas.csv", 2, 13));
}

/// A plan and data set in memory, for the analyses.
fn analysis_case(files: &[(&str, &str)]) -> (PlanInput, DataSet) {
    common::in_memory(PLAN, files)
}

#[test]
fn the_analyses_read_the_rows() {
    let files = [("roster.csv", ROSTER), ("deals.csv", DEALS), ("quotas.csv", QUOTAS)];
    let (input, data) = analysis_case(&files);

    // A scale is the same as editing the deals by hand, with the rows' quotas on both sides.
    let baseline = Baseline::new(&input, &data).unwrap();
    let scale = Change::parse_scale("payee:p01.bookings=0.5").unwrap();
    let scaled = simulate(&input, &data, &baseline, &Scenario::new(vec![scale]), &SimulateOptions::default()).unwrap();
    let halved = DEALS.replace("new,700000", "new,350000");
    let edited = [("roster.csv", ROSTER), ("deals.csv", halved.as_str()), ("quotas.csv", QUOTAS)];
    assert_eq!(scaled.scenario.total, run(PLAN, &edited).totals.total.to_string());
    assert_eq!(scaled.baseline.total, run(PLAN, &files).totals.total.to_string());
    assert!(scaled.errors.is_empty(), "{:?}", scaled.errors);

    // Monte Carlo without spread: every draw is the data as it is. p01 books 700,000 against
    // the rows' year of 1,000,000 (not the roster, which is empty): not reached; p02 neither.
    let options = MonteCarloOptions {
        draws: 3,
        seed: 1,
        spreads: [("ae".to_string(), Decimal::ZERO)].into_iter().collect(),
        company_spread: Some(Decimal::ZERO),
        ..MonteCarloOptions::default()
    };
    let mc = montecarlo(&input, &data, &Scenario::new(vec![]), &options, &|_| true).unwrap();
    assert_eq!(mc.errored_draws, 0);
    assert_eq!(mc.total.mean, scaled.baseline.total);
    assert_eq!(mc.attainment.mean.as_deref(), Some("0.000000"));
    assert_eq!(mc.attainment.payees, 2);
    // With a year of 700,000 in the rows, p01 reaches it: one of two payees.
    let reached = QUOTAS.replace("p01,2027-Q4,700000", "p01,2027-Q4,400000");
    let (input, data) = analysis_case(&[("roster.csv", ROSTER), ("deals.csv", DEALS), ("quotas.csv", &reached)]);
    let mc = montecarlo(&input, &data, &Scenario::new(vec![]), &options, &|_| true).unwrap();
    assert_eq!(mc.attainment.mean.as_deref(), Some("0.500000"));

    // The alignment grid's coverage counts the rows' year: p01's 700,000 (the roster leaves
    // it empty) and p02's 1,000,000.
    let grid = AlignOptions { revenue: vec![Decimal::ONE], margin: vec![Decimal::ZERO], ..AlignOptions::default() };
    let alignment = align(&input, &data, &Scenario::new(vec![]), &grid).unwrap();
    assert_eq!(alignment.coverage.effective_quotas, "1700000.00");
}

/// Statements compared on what they pay and measure against (explanations differ: they say
/// where the quota comes from).
fn same_statements(a: &RunResult, b: &RunResult) -> Result<(), TestCaseError> {
    prop_assert!(a.errors.is_empty(), "{:?}", a.errors);
    prop_assert!(b.errors.is_empty(), "{:?}", b.errors);
    prop_assert_eq!(a.statements.len(), b.statements.len());
    for (x, y) in a.statements.iter().zip(&b.statements) {
        prop_assert_eq!((&x.payee, &x.period), (&y.payee, &y.period));
        prop_assert_eq!(x.quota, y.quota, "{} {}", x.payee, x.period);
        prop_assert_eq!(x.total, y.total, "{} {}", x.payee, x.period);
        prop_assert_eq!(x.lines.len(), y.lines.len());
        for (l, m) in x.lines.iter().zip(&y.lines) {
            prop_assert_eq!(l.amount, m.amount, "{} {} {}", x.payee, x.period, l.component);
            prop_assert_eq!(l.attainment, m.attainment, "{} {} {}", x.payee, x.period, l.component);
        }
        let amounts = |s: &accrue_engine::Statement| -> Vec<(String, Option<Decimal>, Option<Decimal>)> {
            s.adjustments.iter().map(|a| (a.kind.to_string(), a.amount, a.asked)).collect()
        };
        prop_assert_eq!(amounts(x), amounts(y), "{} {}", x.payee, x.period);
    }
    Ok(())
}

prop_compose! {
    /// A payee `a` with a random employment, self goal, deals and relief, and `b` with none.
    fn payee_data()(
        start in prop::option::of(0u32..300),
        goal in prop::option::of(50_000i64..4_000_000),
        deals in prop::collection::vec((0u32..365, 0i64..900_000), 0..10),
        relief in prop::collection::vec((0usize..4, prop::bool::ANY, 0i64..300_000, 0u32..=100), 0..4),
        write_roster_quota in prop::bool::ANY,
    ) -> (Option<String>, Option<i64>, String, String, bool) {
        let start = start.map(chrono_like);
        let mut deals_csv = String::from("id,owner,close_date,kind,amount\n");
        for (i, (day, amount)) in deals.iter().enumerate() {
            deals_csv.push_str(&format!("d{i},a,{},new,{amount}\n", chrono_like(*day)));
        }
        deals_csv.push_str("db,b,2027-05-05,new,300000\n");
        let mut relief_csv = String::from("payee,period,kind,amount,fraction,reason,approved_by\n");
        for (period, by_amount, amount, pct) in relief {
            let (a, f) = if by_amount { (amount.to_string(), String::new()) } else { (String::new(), Decimal::new(pct as i64, 2).to_string()) };
            relief_csv.push_str(&format!("a,2027-Q{},leave,{a},{f},r,cfo\n", period + 1));
        }
        (start, goal, deals_csv, relief_csv, write_roster_quota)
    }
}

/// Day `n` of 2027 as an ISO date.
fn chrono_like(day: u32) -> String {
    let months = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let mut d = day;
    for (m, len) in months.iter().enumerate() {
        if d < *len {
            return format!("2027-{:02}-{:02}", m + 1, d + 1);
        }
        d -= len;
    }
    "2027-12-31".into()
}

/// The roster for `a` (annual quota `year`, written or left empty) and `b` (1,000,000).
fn roster(start: &Option<String>, goal: Option<i64>, year: Decimal, written: bool) -> String {
    let quota = if written { year.to_string() } else { String::new() };
    format!(
        "id,name,role,start_date,quota,self_goal\na,A,ae,{},{quota},{}\nb,B,ae,,1000000,\n",
        start.clone().unwrap_or_default(),
        goal.map(|g| g.to_string()).unwrap_or_default()
    )
}

/// Four shares in hundredths summing to 1, from three cut points.
fn shares() -> impl Strategy<Value = [i64; 4]> {
    prop::array::uniform3(0i64..=100).prop_map(|mut cuts| {
        cuts.sort_unstable();
        [cuts[0], cuts[1] - cuts[0], cuts[2] - cuts[1], 100 - cuts[2]]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Rows equal to the even split pay exactly what the roster's annual quota pays today:
    /// proration, relief, self goals, kickers and annualised advances alike.
    #[test]
    fn rows_equal_to_the_even_split_change_nothing(
        (start, goal, deals, relief, written) in payee_data(),
        quarter in 10_000i64..1_000_000,
    ) {
        let year = Decimal::from(quarter * 4);
        let today = roster(&start, goal, year, true);
        let rows: String = (1..=4).map(|k| format!("a,2027-Q{k},{quarter}\n")).collect();
        let quotas = format!("payee,period,quota\n{rows}");
        let with_rows = roster(&start, goal, year, written);
        let even = run(PLAN, &[("roster.csv", &today), ("deals.csv", &deals), ("relief.csv", &relief)]);
        let by_rows = run(
            PLAN,
            &[("roster.csv", &with_rows), ("deals.csv", &deals), ("relief.csv", &relief), ("quotas.csv", &quotas)],
        );
        same_statements(&even, &by_rows)?;
    }

    /// Rows equal to a phasing's amounts pay exactly what the phasing pays.
    #[test]
    fn rows_equal_to_a_phasing_pay_what_the_phasing_pays(
        (start, goal, deals, relief, written) in payee_data(),
        hundreds in 100i64..40_000,
        shares in shares(),
    ) {
        // A year in hundreds, so that every share of it is whole.
        let year = Decimal::from(hundreds * 100);
        let phasing: Vec<String> = shares.iter().map(|s| Decimal::new(*s, 2).to_string()).collect();
        let phased_plan = PLAN.replacen(
            "      max_relief_pct: 0.5\n",
            &format!("      max_relief_pct: 0.5\n      phasing: [{}]\n", phasing.join(", ")),
            1,
        );
        prop_assert!(phased_plan != PLAN);
        // b has the phasing too; give b the same rows' shape of its own 1,000,000.
        let mut rows = String::from("payee,period,quota\n");
        for (k, share) in shares.iter().enumerate() {
            rows.push_str(&format!("a,2027-Q{},{}\n", k + 1, hundreds * share));
            rows.push_str(&format!("b,2027-Q{},{}\n", k + 1, 10_000 * share));
        }
        let phased = run(
            &phased_plan,
            &[("roster.csv", &roster(&start, goal, year, true)), ("deals.csv", &deals), ("relief.csv", &relief)],
        );
        let by_rows = run(
            PLAN,
            &[
                ("roster.csv", &roster(&start, goal, year, written)),
                ("deals.csv", &deals),
                ("relief.csv", &relief),
                ("quotas.csv", &rows),
            ],
        );
        same_statements(&phased, &by_rows)?;
        // The role's phasing does not apply to a payee with rows: the same rows under the
        // phased plan pay the same again.
        let both = run(
            &phased_plan,
            &[
                ("roster.csv", &roster(&start, goal, year, written)),
                ("deals.csv", &deals),
                ("relief.csv", &relief),
                ("quotas.csv", &rows),
            ],
        );
        same_statements(&by_rows, &both)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Any quotas.csv loads or fails with diagnostics, in both stages, from memory: never a
    /// panic.
    #[test]
    fn any_quotas_file_loads_or_fails_without_a_panic(
        order in prop::sample::select(vec![[0usize, 1, 2], [2, 0, 1], [1, 2, 0]]),
        rows in prop::collection::vec(
            (
                prop::sample::select(vec!["p01", "p02", "p09", "", " p01"]),
                prop::sample::select(vec!["2027-Q1", "2027-Q2", "2027-Q3", "2027-Q4", "2027-Q5", "2027", "", "2026-Q4"]),
                prop::sample::select(vec!["0", "100000", "-1", "-0", "1e15", "1e16", "x", "", "0.5", "\"1,0\"", "79228162514264337593543950335"]),
            ),
            0..10,
        ),
    ) {
        let names = ["payee", "period", "quota"];
        let mut text = order.iter().map(|&i| names[i]).collect::<Vec<_>>().join(",");
        text.push('\n');
        for (payee, period, quota) in rows {
            let cells = [payee, period, quota];
            text.push_str(&order.iter().map(|&i| cells[i]).collect::<Vec<_>>().join(","));
            text.push('\n');
        }
        let memory = Memory::new()
            .with("fuzz/roster.csv", ROSTER)
            .with("fuzz/deals.csv", DEALS)
            .with("fuzz/quotas.csv", text.as_str());
        let plan = common::compile(PLAN).unwrap();
        if let Ok(facts) = accrue_engine::Facts::read(Arc::new(memory), Path::new("fuzz"), &plan) {
            let _ = accrue_engine::run(&plan, &facts);
        }
    }
}
