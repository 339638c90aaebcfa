//! Invariants that must hold for every plan (proptest): caps hold, marginal tiers are
//! continuous, payouts do not fall when attainment rises, ytd windows pay the year's value,
//! and relief behaves (SPEC §6).

mod common;

use std::str::FromStr;

use accrue_engine::{Frac, Tier, curve, tiered_marginal};
use common::Scenario;
use proptest::prelude::*;
use rust_decimal::Decimal;

fn dec(cents: i64) -> Decimal {
    Decimal::new(cents, 2)
}

/// Ascending tiers from 0 with non-negative rates (in basis points).
fn tiers() -> impl Strategy<Value = Vec<Tier>> {
    prop::collection::vec((1u32..200, 0u32..2000), 0..4).prop_map(|steps| {
        let mut tiers = vec![Tier { from: Decimal::ZERO, rate: Decimal::new(500, 4) }];
        let mut from = Decimal::ZERO;
        for (step, rate) in steps {
            from += Decimal::new(step as i64, 2);
            tiers.push(Tier { from, rate: Decimal::new(rate as i64, 4) });
        }
        tiers
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn marginal_tiers_are_continuous(tiers in tiers(), quota in 1i64..10_000_000, x in 0i64..1_000_000_000) {
        let base = Frac::whole(Decimal::from(quota));
        let at = |cents: i64| tiered_marginal(dec(cents), base, &tiers).unwrap().0.value().unwrap();
        let step = at(x + 1) - at(x);
        let max_rate = tiers.iter().map(|t| t.rate).max().unwrap();
        prop_assert!(step >= Decimal::ZERO);
        prop_assert!(step <= max_rate * dec(1), "a one-cent step moved the payout by {step}");
    }

    #[test]
    fn payout_does_not_fall_when_attainment_rises(
        tiers in tiers(),
        quota in 1i64..10_000_000,
        a in 0i64..1_000_000_000,
        b in 0i64..1_000_000_000,
        points in prop::collection::vec((1u32..50, 0u32..50), 1..5),
    ) {
        let (low, high) = (a.min(b), a.max(b));
        let base = Frac::whole(Decimal::from(quota));
        let pay = |cents| tiered_marginal(dec(cents), base, &tiers).unwrap().0.value().unwrap();
        prop_assert!(pay(low) <= pay(high));
        // A curve whose payout factors do not fall.
        let mut curve_points = Vec::new();
        let (mut x, mut p) = (Decimal::ZERO, Decimal::ZERO);
        for (dx, dp) in points {
            x += Decimal::new(dx as i64, 2);
            p += Decimal::new(dp as i64, 2);
            curve_points.push((x, p));
        }
        let at = |cents: i64| curve(&curve_points, Frac::new(dec(cents), Decimal::from(quota)).unwrap(), false).unwrap().value().unwrap();
        prop_assert!(at(low) <= at(high));
    }
}

const PLAN: &str = "\
plan: p
year: 2027
periods: quarter
measures:
  csat: {aggregate: mean}
roles:
  ae:
    motion: hunter
    target_incentive: 40000
    quota:
      source: self_goal
      floor: FLOOR
      max_relief_pct: MAXRELIEF
    components:
      - {id: capped, type: tiered, measure: bookings, tiers: [{from: 0, rate: 0.05}, {from: 1, rate: 0.15}], cap: {amount: 90000}}
      - {id: ytd, type: tiered, measure: bookings, allow_negative: true, basis: curve, curve: [[0.2, 0.1], [1, 1], [2, 2.5]]}
      - {id: plain, type: tiered, measure: bookings, basis: curve, window: period, curve: [[0, 0], [1, 1], [2, 3]]}
      - {id: relieved, type: tiered, measure: bookings, basis: curve, window: period, attainment: relieved, curve: [[0, 0], [1, 1], [2, 3]]}
";

fn line<'a>(r: &'a accrue_engine::RunResult, payee: &str, period: &str, component: &str) -> &'a accrue_engine::Line {
    r.statements
        .iter()
        .find(|s| s.payee == payee && s.period == period)
        .and_then(|s| s.lines.iter().find(|l| l.component == component))
        .unwrap()
}

prop_compose! {
    fn data()(
        quota in 100_000i64..3_000_000,
        goal in prop::option::of(50_000i64..4_000_000),
        deals in prop::collection::vec((0u32..365, 0i64..900_000), 0..12),
        relief in prop::collection::vec((0usize..4, prop::bool::ANY, 0i64..400_000, 0u32..=100), 0..5),
        floor in 50u32..=100,
        max_relief in 0u32..=100,
    ) -> (String, Vec<(&'static str, String)>, Decimal, Decimal, Decimal) {
        let roster = format!("id,name,role,team,quota,self_goal\na,A,ae,t,{quota},{}\nb,B,ae,t,1000000,\n", goal.map(|g| g.to_string()).unwrap_or_default());
        let mut deals_csv = String::from("id,owner,close_date,kind,amount\n");
        for (i, (day, amount)) in deals.iter().enumerate() {
            let date = chrono_like(*day);
            deals_csv.push_str(&format!("d{i},a,{date},new,{amount}\n"));
        }
        let mut relief_csv = String::from("payee,period,kind,amount,fraction,reason,approved_by\n");
        for (period, by_amount, amount, pct) in relief {
            let (a, f) = if by_amount { (amount.to_string(), String::new()) } else { (String::new(), format!("{}", Decimal::new(pct as i64, 2))) };
            relief_csv.push_str(&format!("a,2027-Q{},leave,{a},{f},r,cfo\n", period + 1));
        }
        let floor = Decimal::new(floor as i64, 2);
        let max_relief = Decimal::new(max_relief as i64, 2);
        let plan = PLAN.replace("FLOOR", &floor.to_string()).replace("MAXRELIEF", &max_relief.to_string());
        let files = vec![("roster.csv", roster), ("deals.csv", deals_csv), ("relief.csv", relief_csv)];
        (plan, files, Decimal::from(quota), floor, max_relief)
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

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn run_invariants((plan, files, assigned, floor, max_relief) in data()) {
        let files: Vec<(&str, &str)> = files.iter().map(|(n, t)| (*n, t.as_str())).collect();
        let r = Scenario::new(&plan, &files).run();
        prop_assert!(r.errors.is_empty(), "{:?}", r.errors);

        // The cap: the year never pays more than 90,000.
        let capped: Decimal = r.statements.iter().filter(|s| s.payee == "a").map(|s| line(&r, "a", &s.period, "capped").amount).sum();
        prop_assert!(capped <= Decimal::from(90_000), "capped component paid {capped}");

        // ytd with allow_negative: the payments add up to the year's value exactly.
        let ytd: Decimal = r.statements.iter().filter(|s| s.payee == "a").map(|s| line(&r, "a", &s.period, "ytd").amount).sum();
        let year_value = line(&r, "a", "2027-Q4", "ytd").trace["window_value"].as_str().map(|v| Decimal::from_str(v).unwrap()).unwrap();
        prop_assert_eq!(ytd, year_value);

        // Relief never raises a quota, and the year's relief stays within the cap.
        let without: Vec<(&str, &str)> = files.iter().copied().filter(|(n, _)| *n != "relief.csv").collect();
        let unrelieved = Scenario::new(&plan, &without).run();
        let mut granted = Decimal::ZERO;
        for s in r.statements.iter().filter(|s| s.payee == "a") {
            let before = unrelieved.statements.iter().find(|u| u.payee == "a" && u.period == s.period).unwrap();
            prop_assert!(s.quota <= before.quota);
            prop_assert!(s.quota >= Decimal::ZERO);
            granted += s.adjustments.iter().filter(|a| a.kind == "relief").filter_map(|a| a.amount).sum::<Decimal>();
        }
        // Effective quota ≥ floor × assigned, and relief ≤ max_relief_pct × effective.
        let q1 = unrelieved.statements.iter().find(|u| u.payee == "a" && u.period == "2027-Q1").unwrap();
        let effective = q1.quota * Decimal::from(4);
        prop_assert!(effective >= floor * assigned - Decimal::new(4, 2), "effective {effective} < {floor} × {assigned}");
        prop_assert!(granted <= max_relief * effective + Decimal::new(1, 2), "granted {granted} > cap");

        // No blend on this role: relieved attainment is plain attainment.
        for s in r.statements.iter().filter(|s| s.payee == "a") {
            prop_assert_eq!(line(&r, "a", &s.period, "relieved").amount, line(&r, "a", &s.period, "plain").amount);
            prop_assert_eq!(line(&r, "a", &s.period, "relieved").attainment, line(&r, "a", &s.period, "plain").attainment);
        }
    }
}

#[test]
fn all_weight_on_revenue_gives_plain_attainment() {
    let plan = PLAN.replace("FLOOR", "0.9").replace("MAXRELIEF", "1").replace(
        "      max_relief_pct: 1\n",
        "      max_relief_pct: 1\n      attainment: {revenue_weight: 1, team_weight: 0, scores: [{measure: csat, target: 9, weight: 0}]}\n",
    );
    let roster = "id,name,role,team,quota\na,A,ae,t,1000000\nb,B,ae,t,2000000\n";
    let deals = "id,owner,close_date,kind,amount\nd1,a,2027-02-01,new,321987\nd2,b,2027-02-01,new,1\n";
    let measures = "payee,period,measure,value\na,2027-Q1,csat,10\n";
    let r = Scenario::new(&plan, &[("roster.csv", roster), ("deals.csv", deals), ("measures.csv", measures)]).run();
    assert_eq!(line(&r, "a", "2027-Q1", "relieved").attainment, line(&r, "a", "2027-Q1", "plain").attainment);
    assert_eq!(line(&r, "a", "2027-Q1", "relieved").amount, line(&r, "a", "2027-Q1", "plain").amount);
}
