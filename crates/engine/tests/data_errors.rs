//! Bad data files: each bad row is one error naming file, line and column; none panics and
//! nothing is dropped silently.

mod common;

use common::Scenario;

const PLAN: &str = "\
plan: t
year: 2027
periods: quarter
measures:
  csat: {aggregate: mean}
roles:
  ae:
    motion: hunter
    components:
      - {id: c, type: tiered, measure: bookings, tiers: [{from: 0, rate: 0.1}]}
";

const ROSTER: &str = "id,name,role,quota\np01,Alice,ae,1000000\np02,Ben,ae,1000000\n";
const DEALS: &str = "id,owner,close_date,kind,amount,gross_margin\nd1,p01,2027-02-01,new,1000,100\n";

/// Loads the data with `file` replaced by `text` and expects one error in that file at
/// `line:col` whose message contains `message`.
#[track_caller]
fn check(file: &str, text: &str, message: &str, line: u32, col: u32) {
    let mut files = vec![("roster.csv", ROSTER), ("deals.csv", DEALS)];
    files.retain(|(name, _)| *name != file);
    files.push((file, text));
    common::single_data_error(PLAN, &files, file, message, line, col);
}

#[test]
fn roster_row_with_an_unknown_role() {
    check(
        "roster.csv",
        "id,name,role,quota\np01,Alice,ea,1000000\n",
        "role `ea`, which the plan does not define; roles: ae",
        2,
        11,
    );
}

#[test]
fn deal_for_an_unknown_payee() {
    check(
        "deals.csv",
        "id,owner,close_date,kind,amount\nd1,p09,2027-02-01,new,1000\n",
        "`p09`, who is not in the roster",
        2,
        4,
    );
}

#[test]
fn non_numeric_amount() {
    check(
        "deals.csv",
        "id,owner,close_date,kind,amount\nd1,p01,2027-02-01,new,12a\n",
        "amount: `12a` is not a number",
        2,
        23,
    );
}

#[test]
fn digit_separators_in_amounts() {
    check(
        "deals.csv",
        "id,owner,close_date,kind,amount\nd1,p01,2027-02-01,new,\"120,000\"\n",
        "digit separator",
        2,
        23,
    );
}

#[test]
fn amounts_beyond_ten_to_the_fifteen() {
    check(
        "deals.csv",
        "id,owner,close_date,kind,amount\nd1,p01,2027-02-01,new,1e16\n",
        "larger than Accrue accepts",
        2,
        23,
    );
}

#[test]
fn malformed_date() {
    check(
        "deals.csv",
        "id,owner,close_date,kind,amount\nd1,p01,2027-13-01,new,1\n",
        "`2027-13-01` is not a date",
        2,
        8,
    );
}

#[test]
fn a_repeated_deal_id() {
    check(
        "deals.csv",
        "id,owner,close_date,kind,amount\nd1,p01,2027-01-01,new,1\nd2,p01,2027-01-01,new,1\nd1,p02,2027-02-01,new,5\n",
        "repeats the one on line 2",
        4,
        1,
    );
}

#[test]
fn unknown_deal_kind() {
    check("deals.csv", "id,owner,close_date,kind,amount\nd1,p01,2027-01-01,upsell,1\n", "deal kind `upsell`", 2, 19);
}

#[test]
fn cancellation_before_close() {
    check(
        "deals.csv",
        "id,owner,close_date,kind,amount,gross_margin,cancelled_date\nd1,p01,2027-03-01,new,1,,2027-02-01\n",
        "cancelled on 2027-02-01, before it closed",
        2,
        26,
    );
}

#[test]
fn undeclared_measure() {
    check("measures.csv", "payee,period,measure,value\np01,2027-Q1,nps,9\n", "measure `nps` is not declared", 2, 13);
}

#[test]
fn measure_for_an_unknown_period() {
    check("measures.csv", "payee,period,measure,value\np01,2027-Q5,csat,9\n", "period `2027-Q5` is not a period", 2, 5);
}

#[test]
fn splits_that_do_not_sum_to_one() {
    check("splits.csv", "deal_id,payee,share\nd1,p01,0.6\nd1,p02,0.3\n", "shares of deal `d1` sum to 0.9, not 1", 2, 1);
}

#[test]
fn relief_rows() {
    let header = "payee,period,kind,amount,fraction,reason,approved_by\n";
    check("relief.csv", &format!("{header}p09,2027-Q1,leave,1000,,x,cfo\n"), "relief for `p09`", 2, 1);
    check("relief.csv", &format!("{header}p01,2027-Q9,leave,1000,,x,cfo\n"), "period `2027-Q9`", 2, 5);
    check("relief.csv", &format!("{header}p01,2027-Q1,leave,1000,0.5,x,cfo\n"), "not both", 2, 24);
    check("relief.csv", &format!("{header}p01,2027-Q1,leave,,,x,cfo\n"), "needs an `amount` or a `fraction`", 2, 19);
    check("relief.csv", &format!("{header}p01,2027-Q1,leave,,1.5,x,cfo\n"), "not between 0 and 1", 2, 20);
    check("relief.csv", &format!("{header}p01,2027-Q1,leave,100,,x,\n"), "needs an approver", 2, 26);
}

#[test]
fn a_missing_required_file() {
    let scenario = Scenario::new(PLAN, &[("roster.csv", ROSTER)]);
    let diagnostics = scenario.facts().expect_err("fails");
    assert!(diagnostics[0].message.contains("deals.csv is missing"), "{diagnostics:#?}");
}

#[test]
fn a_row_with_too_many_fields() {
    check(
        "deals.csv",
        "id,owner,close_date,kind,amount\nd1,p01,2027-02-01,new,1,extra\n",
        "row has 6 fields, the header has 5",
        2,
        1,
    );
}

#[test]
fn every_bad_row_is_reported() {
    let deals = "id,owner,close_date,kind,amount\nd1,p01,2027-02-01,new,x\nd2,p01,2027-02-30,new,1\nd3,nobody,2027-02-01,new,1\n";
    let scenario = Scenario::new(PLAN, &[("roster.csv", ROSTER), ("deals.csv", deals)]);
    let diagnostics = scenario.facts().expect_err("fails");
    let lines: Vec<u32> = diagnostics.iter().map(|d| d.location.as_ref().unwrap().span.line).collect();
    assert_eq!(lines, [2, 3, 4]);
}

#[test]
fn the_data_hash_names_the_data() {
    let a = Scenario::new(PLAN, &[("roster.csv", ROSTER), ("deals.csv", DEALS)]);
    let b = Scenario::new(PLAN, &[("roster.csv", ROSTER), ("deals.csv", &DEALS.replace("1000,100", "1001,100"))]);
    let hash = |s: &Scenario| s.facts().unwrap().1.hash;
    assert_eq!(hash(&a), hash(&a));
    assert_ne!(hash(&a), hash(&b));
    assert_eq!(hash(&a).len(), 64);
}

// ---- payments.csv (pay on collection) ---------------------------------------------------
// deals.csv holds d1: a new deal of 1,000 owned by p01, closed 2027-02-01.

#[test]
fn payment_for_an_unknown_deal() {
    check(
        "payments.csv",
        "deal_id,payment_date,amount\nd9,2027-03-01,100\n",
        "deal `d9`, which is not in deals.csv",
        2,
        1,
    );
}

#[test]
fn payments_above_the_deal_amount() {
    // 600 + 400.01 = 1,000.01 by 1 May: the row that passes the amount is the one reported.
    check(
        "payments.csv",
        "deal_id,payment_date,amount\nd1,2027-03-01,600\nd1,2027-05-01,400.01\n",
        "the payments of deal `d1` come to 1000.01 by 2027-05-01, more than its amount of 1000",
        3,
        15,
    );
}

#[test]
fn payment_dated_before_the_deal_closed() {
    check(
        "payments.csv",
        "deal_id,payment_date,amount\nd1,2027-01-31,100\n",
        "deal `d1` is paid on 2027-01-31, before it closed on 2027-02-01",
        2,
        4,
    );
}

#[test]
fn refunds_of_more_than_was_paid() {
    check(
        "payments.csv",
        "deal_id,payment_date,amount\nd1,2027-03-01,100\nd1,2027-04-01,-150\n",
        "the refunds of deal `d1` come to more than was paid for it: -50 by 2027-04-01",
        3,
        15,
    );
}

#[test]
fn payment_with_a_bad_date_or_amount() {
    check(
        "payments.csv",
        "deal_id,payment_date,amount\nd1,2027-02-30,100\n",
        "payment_date `2027-02-30` is not a date",
        2,
        4,
    );
    check("payments.csv", "deal_id,payment_date,amount\nd1,2027-03-01,1e3x\n", "amount: `1e3x` is not a number", 2, 15);
}

#[test]
fn payment_on_a_deal_that_brings_no_cash_in() {
    let deals = "id,owner,close_date,kind,amount\nd1,p01,2027-02-01,churn,1000\n";
    let payments = "deal_id,payment_date,amount\nd1,2027-03-01,100\n";
    let scenario = Scenario::new(PLAN, &[("roster.csv", ROSTER), ("deals.csv", deals), ("payments.csv", payments)]);
    let diagnostics = scenario.facts().expect_err("fails");
    assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    assert!(diagnostics[0].message.contains("deal `d1` is a `churn` deal (revenue lost), which takes no payments"));
    let span = diagnostics[0].location.as_ref().unwrap().span;
    assert_eq!((span.line, span.col), (2, 1));
}

#[test]
fn a_payment_and_its_refund_on_one_day_net_out_before_the_check() {
    // Written refund first: 1,000 paid and 200 refunded on 1 March is 800, within the deal.
    let payments = "deal_id,payment_date,amount\nd1,2027-03-01,-200\nd1,2027-03-01,1000\n";
    let scenario = Scenario::new(PLAN, &[("roster.csv", ROSTER), ("deals.csv", DEALS), ("payments.csv", payments)]);
    scenario.facts().unwrap_or_else(|d| panic!("{d:#?}"));
    let data = accrue_engine::DataSet::load(&scenario.dir.path().join("data")).unwrap();
    assert_eq!(data.payment_count(), 2);
}

#[test]
fn a_misspelt_payments_column_is_named_with_the_right_one() {
    let payments = "deal_id,paymnet_date,amount\nd1,2027-03-01,100\n";
    let scenario = Scenario::new(PLAN, &[("roster.csv", ROSTER), ("deals.csv", DEALS), ("payments.csv", payments)]);
    let diagnostics = scenario.facts().expect_err("fails");
    let unknown = diagnostics.iter().find(|d| d.message.contains("unknown column `paymnet_date`")).expect("named");
    assert_eq!(unknown.help.as_deref(), Some("did you mean `payment_date`?"));
    assert!(diagnostics.iter().any(|d| d.message.contains("missing column `payment_date`")));
}

#[test]
fn every_bad_payment_is_reported_in_line_order() {
    // Checks made after the file is read (deal, close date, running total) and checks of a
    // row's own cells (its date) come out in the order of the lines.
    let payments =
        "deal_id,payment_date,amount\nd9,2027-03-01,1\nd1,2027-13-01,1\nd1,2027-01-01,1\nd1,2027-03-01,2000\n";
    let scenario = Scenario::new(PLAN, &[("roster.csv", ROSTER), ("deals.csv", DEALS), ("payments.csv", payments)]);
    let diagnostics = scenario.facts().expect_err("fails");
    let lines: Vec<u32> = diagnostics.iter().map(|d| d.location.as_ref().unwrap().span.line).collect();
    assert_eq!(lines, [2, 3, 4, 5]);
}

#[test]
fn payments_are_part_of_the_data_hash() {
    let files = |amount: &str| {
        let payments = format!("deal_id,payment_date,amount\nd1,2027-03-01,{amount}\n");
        Scenario::new(PLAN, &[("roster.csv", ROSTER), ("deals.csv", DEALS), ("payments.csv", &payments)])
    };
    let hash = |s: &Scenario| s.facts().unwrap().1.hash;
    let without = Scenario::new(PLAN, &[("roster.csv", ROSTER), ("deals.csv", DEALS)]);
    assert_ne!(hash(&files("100")), hash(&files("101")));
    assert_ne!(hash(&files("100")), hash(&without));
}
