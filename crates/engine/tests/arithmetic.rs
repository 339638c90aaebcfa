//! SPEC §3 arithmetic end to end: plan + data → statements, checked against hand
//! calculations written next to each case.

mod common;

use common::{ROSTER_ONE, Scenario, amount, annual_plan};

const DEALS_1_3M: &str = "id,owner,close_date,kind,amount,gross_margin\nd1,p01,2027-06-30,new,1300000,520000\n";

#[track_caller]
fn check_annual(components: &str, deals: &str, expected: &str) {
    let scenario = Scenario::new(&annual_plan(components), &[("roster.csv", ROSTER_ONE), ("deals.csv", deals)]);
    let result = scenario.run();
    assert!(result.errors.is_empty(), "{:?}", result.errors);
    assert_eq!(amount(&result, "p01", "2027", "c"), expected);
}

// SPEC §3 worked example: quota 1,000,000, bookings 1,300,000.
#[test]
fn worked_example_marginal() {
    // 5% × 1,000,000 + 8% × 300,000 = 50,000 + 24,000
    check_annual(
        "      - {id: c, type: tiered, measure: bookings, tiers: [{from: 0, rate: 0.05}, {from: 1.0, rate: 0.08}, {from: 1.5, rate: 0.12}]}\n",
        DEALS_1_3M,
        "74000.00",
    );
}

#[test]
fn worked_example_retroactive() {
    // 8% × 1,300,000
    check_annual(
        "      - {id: c, type: tiered, measure: bookings, mode: retroactive, tiers: [{from: 0, rate: 0.05}, {from: 1.0, rate: 0.08}, {from: 1.5, rate: 0.12}]}\n",
        DEALS_1_3M,
        "104000.00",
    );
}

#[test]
fn worked_example_curve_and_cap() {
    // A = 1.3 → p = 1 + (2 − 1) × 0.3 / 0.5 = 1.6; 60,000 × 1.6
    check_annual(
        "      - {id: c, type: tiered, measure: bookings, basis: curve, curve: [[0.5, 0.25], [1, 1], [1.5, 2]]}\n",
        DEALS_1_3M,
        "96000.00",
    );
    // capped at 1.5 × 60,000
    check_annual(
        "      - {id: c, type: tiered, measure: bookings, basis: curve, curve: [[0.5, 0.25], [1, 1], [1.5, 2]], cap: {multiple_of_target: 1.5}}\n",
        DEALS_1_3M,
        "90000.00",
    );
}

#[test]
fn threshold_zeroes_below_and_pays_at() {
    let deals = "id,owner,close_date,kind,amount\nd1,p01,2027-06-30,new,500000\n";
    // A = 0.5: at the threshold pays 5% × 500,000
    check_annual(
        "      - {id: c, type: tiered, measure: bookings, threshold: 0.5, tiers: [{from: 0, rate: 0.05}]}\n",
        deals,
        "25000.00",
    );
    check_annual(
        "      - {id: c, type: tiered, measure: bookings, threshold: 0.5000001, tiers: [{from: 0, rate: 0.05}]}\n",
        deals,
        "0.00",
    );
}

#[test]
fn modifiers_gates_and_cap_in_order() {
    let deals = "id,owner,close_date,kind,amount,gross_margin\nd1,p01,2027-06-30,new,1000000,200000\n";
    let measures = "payee,period,measure,value\np01,2027,csat,9.6\n";
    let plan = annual_plan(
        "      - id: c\n        type: tiered\n        measure: bookings\n        tiers: [{from: 0, rate: 0.1}]\n        modifiers: [{measure: csat, bands: [{from: 8, multiplier: 1.0}, {from: 9.5, multiplier: 1.2}]}]\n        gates: [{measure: gross_margin_pct, min: 0.3, else: 0.5}]\n        cap: {amount: 55000}\n",
    );
    let scenario =
        Scenario::new(&plan, &[("roster.csv", ROSTER_ONE), ("deals.csv", deals), ("measures.csv", measures)]);
    // 10% × 1,000,000 = 100,000 × 1.2 (csat 9.6) = 120,000 × 0.5 (margin 20% < 30%) = 60,000 → cap 55,000
    let result = scenario.run();
    assert_eq!(amount(&result, "p01", "2027", "c"), "55000.00");
}

#[test]
fn a_gate_against_a_money_target_passes_at_the_bound_and_names_the_amount() {
    // Bookings between 50 % and 120 % of an annual target of 1,000,000, else half pay.
    let gated = |amount: &str| {
        let deals = format!("id,owner,close_date,kind,amount\nd1,p01,2027-06-30,new,{amount}\n");
        let plan = annual_plan(
            "      - {id: c, type: tiered, measure: bookings, tiers: [{from: 0, rate: 0.1}], gates: [{measure: bookings, min: 0.5, max: 1.2, target: 1000000, else: 0.5}]}\n",
        );
        let result = Scenario::new(&plan, &[("roster.csv", ROSTER_ONE), ("deals.csv", &deals)]).run();
        let line = result.statements[0].lines.iter().find(|l| l.component == "c").unwrap().clone();
        (line.amount.to_string(), line.explain)
    };
    // Exactly at either bound passes: 10 % of the bookings.
    assert_eq!(gated("500000").0, "50000.00");
    assert_eq!(gated("1200000").0, "120000.00");
    // A cent outside: half.
    let (below, explain) = gated("499999.99");
    assert_eq!(below, "25000.00");
    assert!(explain.contains("gate bookings 499,999.99 below 50% of target 1,000,000.00: × 0.5"), "{explain}");
    let (above, explain) = gated("1200000.01");
    assert_eq!(above, "60000.00");
    assert!(explain.contains("above 120% of target 1,000,000.00: × 0.5"), "{explain}");
}

#[test]
fn a_value_below_every_band_multiplies_by_one() {
    let deals = "id,owner,close_date,kind,amount\nd1,p01,2027-06-30,new,100000\n";
    let measures = "payee,period,measure,value\np01,2027,csat,7\n";
    let plan = annual_plan(
        "      - {id: c, type: tiered, measure: bookings, tiers: [{from: 0, rate: 0.1}], modifiers: [{measure: csat, bands: [{from: 8, multiplier: 2}]}]}\n",
    );
    let scenario =
        Scenario::new(&plan, &[("roster.csv", ROSTER_ONE), ("deals.csv", deals), ("measures.csv", measures)]);
    assert_eq!(amount(&scenario.run(), "p01", "2027", "c"), "10000.00");
}

#[test]
fn line_rounding_is_midpoint_away_from_zero() {
    // 0.5% × 1.01 = 0.00505 → 0.01; 0.5% × 3 = 0.015 → 0.02 (banker's would give 0.02 and 0.02;
    // 0.5% × 5 = 0.025 → 0.03 where banker's rounding gives 0.02).
    let deals = "id,owner,close_date,kind,amount\nd1,p01,2027-06-30,new,5\n";
    check_annual("      - {id: c, type: tiered, measure: bookings, tiers: [{from: 0, rate: 0.005}]}\n", deals, "0.03");
}

const QUARTER_PLAN: &str = "\
plan: q
year: 2027
periods: quarter
roles:
  ae:
    motion: hunter
    target_incentive: 40000
    components:
      - {id: ytd, type: tiered, measure: bookings, tiers: [{from: 0, rate: 0.1}]}
      - {id: per, type: tiered, measure: bookings, window: period, tiers: [{from: 0, rate: 0.1}]}
      - {id: claw, type: tiered, measure: bookings, allow_negative: true, tiers: [{from: 0, rate: 0.1}]}
      - {id: late, type: tiered, measure: bookings, allow_negative: true, clawback_days: 30, tiers: [{from: 0, rate: 0.1}]}
";

#[test]
fn ytd_pays_window_value_less_paid_before_and_clawbacks() {
    let deals = "id,owner,close_date,kind,amount,gross_margin,cancelled_date\n\
                 d1,p01,2027-02-01,new,100000,,\n\
                 d2,p01,2027-03-01,new,50000,,2027-05-15\n\
                 d3,p01,2027-08-01,new,20000,,\n";
    let scenario = Scenario::new(QUARTER_PLAN, &[("roster.csv", ROSTER_ONE), ("deals.csv", deals)]);
    let r = scenario.run();
    // Q1: 10% × 150,000 on every component.
    for c in ["ytd", "per", "claw", "late"] {
        assert_eq!(amount(&r, "p01", "2027-Q1", c), "15000.00", "{c}");
    }
    // Q2: d2 is cancelled (75 days after close): the ytd value falls to 10,000.
    assert_eq!(amount(&r, "p01", "2027-Q2", "ytd"), "0.00"); // −5,000 nets out later
    assert_eq!(amount(&r, "p01", "2027-Q2", "per"), "0.00"); // nothing booked in Q2
    assert_eq!(amount(&r, "p01", "2027-Q2", "claw"), "-5000.00"); // the clawback line
    assert_eq!(amount(&r, "p01", "2027-Q2", "late"), "0.00"); // 75 > 30 days: credit kept
    // Q3: ytd 12,000 less 15,000 paid: still nothing; the clawback component pays 2,000.
    assert_eq!(amount(&r, "p01", "2027-Q3", "ytd"), "0.00");
    assert_eq!(amount(&r, "p01", "2027-Q3", "per"), "2000.00");
    assert_eq!(amount(&r, "p01", "2027-Q3", "claw"), "2000.00");
    assert_eq!(amount(&r, "p01", "2027-Q3", "late"), "2000.00");
}

#[test]
fn mid_year_hire_and_leaver_are_prorated_with_statements_only_when_employed() {
    let roster = "id,name,role,start_date,end_date,quota\n\
                  hire,Hire,ae,2027-05-16,,1200000\n\
                  leaver,Leaver,ae,,2027-08-15,1200000\n";
    let deals = "id,owner,close_date,kind,amount\nd1,hire,2027-06-01,new,100000\nd2,leaver,2027-08-20,new,50000\n";
    let plan = QUARTER_PLAN.replace("tiers: [{from: 0, rate: 0.1}]}", "basis: curve, curve: [[0, 0], [1, 1]]}");
    let scenario = Scenario::new(&plan, &[("roster.csv", roster), ("deals.csv", deals)]);
    let r = scenario.run();
    let periods = |p: &str| r.statements.iter().filter(|s| s.payee == p).map(|s| s.period.clone()).collect::<Vec<_>>();
    assert_eq!(periods("hire"), ["2027-Q2", "2027-Q3", "2027-Q4"]);
    assert_eq!(periods("leaver"), ["2027-Q1", "2027-Q2", "2027-Q3"]);
    // Q2 for the hire: 46 of 91 days → quota 300,000 × 46/91 = 151,648.35…, TI 10,000 × 46/91.
    let q2 = r.statements.iter().find(|s| s.payee == "hire" && s.period == "2027-Q2").unwrap();
    assert_eq!(q2.quota.to_string(), "151648.35");
    // A = 100,000 / 151,648.35… = 0.6594…; pays TI × A = 10,000 × 46/91 × 100,000 × 91 / (300,000 × 46)
    // = 3,333.33 (the proration cancels out).
    assert_eq!(amount(&r, "hire", "2027-Q2", "per"), "3333.33");
    // The leaver's deal after the end date still counts (with a warning).
    assert!(r.warnings.iter().any(|w| w.contains("outside employment still count")), "{:?}", r.warnings);
}

#[test]
fn bookings_on_a_zero_quota_are_a_payee_error_and_others_go_on() {
    let roster = "id,name,role,quota\nok,Ok,ae,1000000\nzero,Zero,ae,0\n";
    let deals = "id,owner,close_date,kind,amount\nd1,ok,2027-02-01,new,100000\nd2,zero,2027-02-01,new,100000\n";
    let scenario = Scenario::new(QUARTER_PLAN, &[("roster.csv", roster), ("deals.csv", deals)]);
    let r = scenario.run();
    assert!(r.statements.iter().all(|s| s.payee == "ok"));
    assert_eq!(r.statements.len(), 4);
    assert!(!r.errors.is_empty());
    assert!(r.errors.iter().all(|e| e.payee.as_deref() == Some("zero")));
    assert!(r.errors[0].message.contains("zero quota"), "{:?}", r.errors);
}

#[test]
fn deals_outside_the_plan_year_are_warnings() {
    let deals = "id,owner,close_date,kind,amount\nd1,p01,2026-12-31,new,100000\nd2,p01,2027-01-01,new,1000\n";
    let scenario = Scenario::new(QUARTER_PLAN, &[("roster.csv", ROSTER_ONE), ("deals.csv", deals)]);
    let r = scenario.run();
    assert!(r.errors.is_empty());
    assert!(r.warnings.iter().any(|w| w.contains("outside the plan year") && w.contains("d1")), "{:?}", r.warnings);
    assert_eq!(amount(&r, "p01", "2027-Q1", "ytd"), "100.00");
}

#[test]
fn fiscal_months_and_labels() {
    let plan = QUARTER_PLAN.replace("periods: quarter", "periods: month\nfiscal_start_month: 7");
    let deals = "id,owner,close_date,kind,amount\nd1,p01,2028-02-10,new,1000\n";
    let scenario = Scenario::new(&plan, &[("roster.csv", ROSTER_ONE), ("deals.csv", deals)]);
    let r = scenario.run();
    assert_eq!(r.periods.first().map(String::as_str), Some("2027-07"));
    assert_eq!(r.periods.last().map(String::as_str), Some("2028-06"));
    assert_eq!(amount(&r, "p01", "2028-02", "per"), "100.00");
}

#[test]
fn splits_credit_by_share() {
    let roster = "id,name,role,quota\na,A,ae,1000000\nb,B,ae,1000000\n";
    let deals = "id,owner,close_date,kind,amount\nd1,a,2027-02-01,new,100000\n";
    let splits = "deal_id,payee,share\nd1,a,0.7\nd1,b,0.3\n";
    let scenario = Scenario::new(QUARTER_PLAN, &[("roster.csv", roster), ("deals.csv", deals), ("splits.csv", splits)]);
    let r = scenario.run();
    assert_eq!(amount(&r, "a", "2027-Q1", "per"), "7000.00");
    assert_eq!(amount(&r, "b", "2027-Q1", "per"), "3000.00");
}

#[test]
fn every_component_has_a_line_and_totals_list_every_role_and_period() {
    let scenario =
        Scenario::new(QUARTER_PLAN, &[("roster.csv", ROSTER_ONE), ("deals.csv", "id,owner,close_date,kind,amount\n")]);
    let r = scenario.run();
    assert_eq!(r.statements.len(), 4);
    for s in &r.statements {
        let ids: Vec<_> = s.lines.iter().map(|l| l.component.as_str()).collect();
        assert_eq!(ids, ["ytd", "per", "claw", "late"]);
        assert_eq!(s.total.to_string(), "0.00");
    }
    assert_eq!(r.totals.by_period.len(), 4);
    assert_eq!(r.totals.by_role.keys().collect::<Vec<_>>(), ["ae"]);
}
