//! Pay on collection (issue #17, shape 10): the cash of `payments.csv` read as the measure
//! `collected`. Its general rules as properties, the data set read alike from memory and from
//! files, a what-if scale on bookings carried to the cash collected on those deals, and the
//! warnings a finance user meets. The worked cases with hand calculations are plan tests
//! (plans/msp-fy2027/tests/collection.yaml); bad rows are in data_errors.rs.

mod common;

use accrue_engine::{
    Baseline, Change, DataSet, DealKind, Facts, PlanInput, RunResult, Scales, Scenario, SimulateOptions, run, simulate,
};
use proptest::prelude::*;
use rust_decimal::{Decimal, RoundingStrategy};

/// One role paid twice on the same deals, with the same tiers: on the cash collected and on
/// the bookings. A clawback on both, so that each line's running total is the year to date's
/// value (nothing held back by the no-negative rule).
const PLAN: &str = "\
plan: t
year: 2027
periods: quarter
roles:
  ae:
    motion: hunter
    components:
      - {id: cash, type: tiered, measure: collected, allow_negative: true, tiers: [{from: 0, rate: 0.1}, {from: 1, rate: 0.15}]}
      - {id: booked, type: tiered, measure: bookings, allow_negative: true, tiers: [{from: 0, rate: 0.1}, {from: 1, rate: 0.15}]}
  farmer:
    motion: farmer
    components:
      - {id: upsell_cash, type: tiered, measure: collected_expansion, target: 1000000, tiers: [{from: 0, rate: 0.05}]}
";

const ROSTER: &str = "id,name,role,quota\np01,Alice,ae,1000000\np02,Ben,ae,1000000\nf01,Fay,farmer,\n";
/// d3 is split 60/40 between Alice and Ben; e1 is Fay's upsell.
const DEALS: &str = "id,owner,close_date,kind,amount\n\
d1,p01,2027-02-01,new,400000\n\
d2,p01,2027-05-10,new,300000.50\n\
d3,p01,2027-03-20,new,500000\n\
d4,p02,2027-06-01,new,250000\n\
e1,f01,2027-04-01,expansion,120000\n";
const SPLITS: &str = "deal_id,payee,share\nd3,p01,0.6\nd3,p02,0.4\n";
const PAYMENTS: &str = "deal_id,payment_date,amount\n\
d1,2027-03-01,150000\n\
d1,2027-07-15,250000\n\
d2,2027-06-30,100000.25\n\
d3,2027-04-01,500000\n\
d4,2027-09-30,200000\n\
d4,2027-10-01,-20000\n\
e1,2027-05-05,60000\n";

fn files() -> Vec<(&'static str, String)> {
    [("roster.csv", ROSTER), ("deals.csv", DEALS), ("splits.csv", SPLITS), ("payments.csv", PAYMENTS)]
        .into_iter()
        .map(|(name, text)| (name, text.to_string()))
        .collect()
}

/// Every statement's lines and totals.
fn amounts(result: &RunResult) -> Vec<String> {
    let mut out = Vec::new();
    for s in &result.statements {
        for line in &s.lines {
            out.push(format!("{} {} {} {}", s.payee, s.period, line.component, line.amount));
        }
    }
    out.extend(result.errors.iter().map(|e| format!("error {:?} {}", e.payee, e.message)));
    out
}

/// The plan and data set held in memory, as the server and `accrue test` give them.
fn in_memory(files: &[(&str, String)]) -> (PlanInput, DataSet) {
    let files: Vec<(&str, &str)> = files.iter().map(|(name, text)| (*name, text.as_str())).collect();
    common::in_memory(PLAN, &files)
}

#[test]
fn a_data_set_with_payments_from_memory_equals_the_same_files_on_disk() {
    let files = files();
    let borrowed: Vec<(&str, &str)> = files.iter().map(|(n, t)| (*n, t.as_str())).collect();
    let on_disk = common::Scenario::new(PLAN, &borrowed);
    let (plan, loaded) = on_disk.facts().unwrap_or_else(|d| panic!("{d:#?}"));
    let from_disk = DataSet::load(&on_disk.dir.path().join("data")).unwrap();
    let (_, from_memory) = in_memory(&files);
    assert_eq!(from_disk.payment_count(), 7);
    assert_eq!(from_disk.hash(), from_memory.hash(), "the data hash names the bytes, not the place");
    let disk = run(&plan, &Facts::index(&from_disk, &plan, &Scales::new()).unwrap());
    let memory = run(&plan, &Facts::index(&from_memory, &plan, &Scales::new()).unwrap());
    assert!(disk.errors.is_empty(), "{:?}", disk.errors);
    assert_eq!(amounts(&disk), amounts(&memory));
    assert_eq!(amounts(&run(&plan, &loaded)), amounts(&disk), "one-step load and two stages agree");
    // By hand: Alice collects 150,000 (d1) in Q1; 300,000 (her 60 % of d3, paid 1 April) and
    // 100,000.25 (d2) in Q2. Q2's year so far 550,000.25 against a quota of 500,000: 10 % ×
    // 500,000 + 15 % × 50,000.25 = 57,500.0375 → 57,500.04, less Q1's 15,000 = 42,500.04.
    let line = |payee: &str, period: &str, id: &str| common::amount(&disk, payee, period, id);
    assert_eq!(line("p01", "2027-Q1", "cash"), "15000.00");
    assert_eq!(line("p01", "2027-Q2", "cash"), "42500.04");
    // Ben: 200,000 (his 40 % of d3) in Q2, 200,000 in Q3, a refund of 20,000 in Q4. Q4's year
    // so far 380,000 against 1,000,000: 38,000, less the 40,000 paid = −2,000, a clawback.
    assert_eq!(line("p02", "2027-Q3", "cash"), "20000.00");
    assert_eq!(line("p02", "2027-Q4", "cash"), "-2000.00");
    // Fay: 5 % of the 60,000 collected on her upsell in Q2 (measure collected_expansion).
    assert_eq!(line("f01", "2027-Q2", "upsell_cash"), "3000.00");
}

#[test]
fn scaling_bookings_scales_the_cash_collected_on_them_as_editing_both_files_would() {
    let files = files();
    let (input, data) = in_memory(&files);
    let baseline = Baseline::new(&input, &data).unwrap();
    let change = Change::parse_scale("payee:p01.bookings=1.1").unwrap();
    let scaled = simulate(&input, &data, &baseline, &Scenario::new(vec![change]), &SimulateOptions::default()).unwrap();
    // By hand: the deals Alice owns (d1, d2 and the split d3) and their payments × 1.1.
    let edited: Vec<(&str, String)> = files
        .iter()
        .map(|(name, text)| {
            let text = match *name {
                "deals.csv" => text
                    .replace("new,400000", "new,440000")
                    .replace("new,300000.50", "new,330000.55")
                    .replace("new,500000", "new,550000"),
                "payments.csv" => text
                    .replace("d1,2027-03-01,150000", "d1,2027-03-01,165000")
                    .replace("d1,2027-07-15,250000", "d1,2027-07-15,275000")
                    .replace("d2,2027-06-30,100000.25", "d2,2027-06-30,110000.275")
                    .replace("d3,2027-04-01,500000", "d3,2027-04-01,550000"),
                _ => text.clone(),
            };
            (*name, text)
        })
        .collect();
    assert_ne!(edited, files, "the edit changed the files");
    let (input_b, data_b) = in_memory(&edited);
    let by_hand = Baseline::new(&input_b, &data_b).unwrap();
    let by_hand = simulate(&input_b, &data_b, &by_hand, &Scenario::new(vec![]), &SimulateOptions::default()).unwrap();
    assert_eq!(scaled.scenario.total, by_hand.baseline.total);
    assert_eq!(scaled.scenario.by_period, by_hand.baseline.by_period);
    assert_eq!(scaled.payees.iter().map(|p| p.scenario.to_string()).collect::<Vec<_>>(), {
        by_hand.payees.iter().map(|p| p.baseline.to_string()).collect::<Vec<_>>()
    });
    // Ben's own deal d4 is not Alice's: his share of her split deal moves, his own cash not.
    assert_ne!(scaled.delta.total, "0.00");
}

#[test]
fn collected_cannot_be_scaled_on_its_own() {
    let (input, data) = in_memory(&files());
    let baseline = Baseline::new(&input, &data).unwrap();
    let change = Change::parse_scale("ae.collected=1.1").unwrap();
    let error = simulate(&input, &data, &baseline, &Scenario::new(vec![change]), &SimulateOptions::default())
        .expect_err("collected follows its deals");
    assert!(error.to_string().contains("scale `bookings`"), "{error}");
}

#[test]
fn a_role_paid_on_cash_without_payments_is_warned_of() {
    let no_payments = [("roster.csv", ROSTER), ("deals.csv", DEALS)];
    let (_, facts) = common::Scenario::new(PLAN, &no_payments).facts().unwrap();
    let warning = facts.warnings.iter().find(|w| w.contains("payments.csv")).expect("warned");
    assert!(warning.contains("role ae, role farmer"), "{warning}");
    // A roster without a payee of those roles needs no payments: no warning.
    let plan = format!(
        "{PLAN}  other:\n    motion: hunter\n    components:\n      - {{id: x, type: tiered, measure: bookings, tiers: [{{from: 0, rate: 0.1}}]}}\n"
    );
    let roster = "id,name,role,quota\nq01,Quinn,other,1000000\n";
    let deals = "id,owner,close_date,kind,amount\n";
    let scenario = common::Scenario::new(&plan, &[("roster.csv", roster), ("deals.csv", deals)]);
    let (_, facts) = scenario.facts().unwrap_or_else(|d| panic!("{d:#?}"));
    assert!(!facts.warnings.iter().any(|w| w.contains("payments.csv")), "{:?}", facts.warnings);
}

#[test]
fn payments_outside_the_plan_year_are_counted_and_warned_of() {
    let deals = "id,owner,close_date,kind,amount\nd1,p01,2027-11-01,new,100000\n";
    let payments = "deal_id,payment_date,amount\nd1,2027-12-31,40000\nd1,2028-01-01,60000\n";
    let scenario =
        common::Scenario::new(PLAN, &[("roster.csv", ROSTER), ("deals.csv", deals), ("payments.csv", payments)]);
    let (_, facts) = scenario.facts().unwrap();
    let warning = facts.warnings.iter().find(|w| w.starts_with("payments.csv")).expect("warned");
    assert!(warning.contains("1 payment(s) dated outside the plan year"), "{warning}");
    assert!(warning.contains("d1 (2028-01-01, line 3)"), "{warning}");
    // The one on the year's last day counts, in its last quarter.
    let p01 = facts.payee_index("p01").unwrap();
    assert_eq!(facts.collected(p01, DealKind::New, 3, 3).to_string(), "40000");
}

/// A deal of `amount` closed on day `close` of 2027, paid in parts (by `weights`, to the cent,
/// the last part taking the rest) on `close` + each offset.
fn deal_and_payments(amount: Decimal, close: i64, parts: &[(u32, i64)]) -> (String, String) {
    let day = |n: i64| (chrono::NaiveDate::from_ymd_opt(2027, 1, 1).unwrap() + chrono::Duration::days(n)).to_string();
    let deals = format!("id,owner,close_date,kind,amount\nd1,p01,{},new,{amount}\n", day(close));
    let total: u32 = parts.iter().map(|(w, _)| w).sum();
    let mut payments = String::from("deal_id,payment_date,amount\n");
    let mut paid = Decimal::ZERO;
    for (i, (weight, offset)) in parts.iter().enumerate() {
        let part = if i + 1 == parts.len() {
            amount - paid
        } else {
            (amount * Decimal::from(*weight) / Decimal::from(total)).round_dp_with_strategy(2, RoundingStrategy::ToZero)
        };
        paid += part;
        payments.push_str(&format!("d1,{},{part}\n", day(close + offset)));
    }
    (deals, payments)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Paid on collection, a deal collected in full within the year pays the year what it
    /// pays on booking, and never more by any quarter: the cash only moves the timing.
    #[test]
    fn collection_moves_the_timing_not_the_year(
        quota in 100_000i64..3_000_000,
        cents in 1i64..400_000_000,
        close in 0i64..300,
        parts in prop::collection::vec((1u32..100, 0i64..64), 1..5),
    ) {
        let amount = Decimal::new(cents, 2);
        let parts: Vec<(u32, i64)> = parts.into_iter().map(|(w, o)| (w, o.min(364 - close))).collect();
        let (deals, payments) = deal_and_payments(amount, close, &parts);
        let roster = format!("id,name,role,quota\np01,Alice,ae,{quota}\n");
        let scenario = common::Scenario::new(PLAN, &[("roster.csv", &roster), ("deals.csv", &deals), ("payments.csv", &payments)]);
        let result = scenario.run();
        prop_assert!(result.errors.is_empty(), "{:?}", result.errors);
        let (mut cash, mut booked) = (Decimal::ZERO, Decimal::ZERO);
        for statement in &result.statements {
            for line in &statement.lines {
                match line.component.as_str() {
                    "cash" => cash += line.amount,
                    "booked" => booked += line.amount,
                    _ => {}
                }
            }
            prop_assert!(cash <= booked, "{}: cash {cash} ahead of bookings {booked}", statement.period);
        }
        prop_assert_eq!(cash, booked);
    }
}

#[test]
fn a_role_that_reads_cash_only_in_its_attainment_blend_gets_its_collections() {
    // Half bookings against quota, half cash collected against 1,000,000 a year.
    let plan = "\
plan: t
year: 2027
periods: year
roles:
  rep:
    motion: hunter
    target_incentive: 10000
    quota: { attainment: { revenue_weight: 0.5, scores: [{measure: collected, target: 1000000, weight: 0.5}] } }
    components:
      - {id: bonus, type: tiered, measure: bookings, basis: curve, attainment: relieved, curve: [[0, 0], [2, 2]]}
";
    let roster = "id,name,role,quota\nr1,Rhea,rep,1000000\n";
    let deals = "id,owner,close_date,kind,amount\nd1,r1,2027-02-01,new,1000000\n";
    let payments = "deal_id,payment_date,amount\nd1,2027-03-01,500000\n";
    let result =
        common::Scenario::new(plan, &[("roster.csv", roster), ("deals.csv", deals), ("payments.csv", payments)]).run();
    // A′ = 0.5 × 100 % + 0.5 × 50 % = 75 %: 75 % of TI 10,000 = 7,500 (without the cash, 5,000).
    assert_eq!(common::amount(&result, "r1", "2027", "bonus"), "7500.00");
}
