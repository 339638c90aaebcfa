//! Invariants that must hold for every plan (proptest): caps hold, marginal tiers are
//! continuous, payouts do not fall when attainment rises, ytd windows pay the year's value,
//! and relief behaves (SPEC §6); a step payout never interpolates, an even quota phasing is
//! the even split, and an annualised advance pays the year's value in total.

mod common;

use std::str::FromStr;

use accrue_engine::{Frac, Tier, curve, step, tiered_marginal};
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
      - {id: advance, type: tiered, measure: bookings, basis: step, window: ytd_annual, steps: [{from: 0.25, payout: 0.2}, {from: 1, payout: 1}, {from: 1.5, payout: 2}]}
";

/// Ascending steps (from in hundredths, payout factors in hundredths, any order of size).
fn steps() -> impl Strategy<Value = Vec<(Decimal, Decimal)>> {
    prop::collection::vec((1u32..100, 0u32..300), 1..5).prop_map(|parts| {
        let mut from = Decimal::ZERO;
        parts
            .into_iter()
            .map(|(step, payout)| {
                from += Decimal::new(step as i64, 2);
                (from, Decimal::new(payout as i64, 2))
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A step payout never interpolates: at any attainment it pays exactly the factor of the
    /// highest step reached (0 below the first), the same as at that step's start.
    #[test]
    fn a_step_payout_never_interpolates(steps in steps(), quota in 1i64..10_000_000, x in 0i64..2_000_000_000) {
        let attainment = Frac::new(dec(x), Decimal::from(quota)).unwrap();
        let (paid, reached) = step(&steps, attainment).unwrap();
        match reached {
            None => {
                prop_assert_eq!(paid, Decimal::ZERO);
                prop_assert!(dec(x) < steps[0].0 * Decimal::from(quota));
            }
            Some(j) => {
                prop_assert_eq!(paid, steps[j].1);
                prop_assert!(dec(x) >= steps[j].0 * Decimal::from(quota));
                if let Some(next) = steps.get(j + 1) {
                    prop_assert!(dec(x) < next.0 * Decimal::from(quota));
                }
                // The same as exactly at the step's start: flat between steps.
                prop_assert_eq!(step(&steps, Frac::whole(steps[j].0)).unwrap().0, paid);
            }
        }
    }
}

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

        // An annualised advance (ytd_annual) measures a growing year so far against a fixed
        // year: it never pays a negative line and its lines add up to the year's value.
        let advance: Decimal = r.statements.iter().filter(|s| s.payee == "a").map(|s| line(&r, "a", &s.period, "advance").amount).sum();
        let advance_year = line(&r, "a", "2027-Q4", "advance").trace["window_value"].as_str().map(|v| Decimal::from_str(v).unwrap()).unwrap();
        prop_assert_eq!(advance, advance_year);
        for s in r.statements.iter().filter(|s| s.payee == "a") {
            prop_assert!(line(&r, "a", &s.period, "advance").amount >= Decimal::ZERO);
        }

        // Phasing the quota in four equal shares is the even split, to the cent and the quota.
        let phased_plan = plan.replacen("      max_relief_pct:", "      phasing: [0.25, 0.25, 0.25, 0.25]\n      max_relief_pct:", 1);
        prop_assert!(phased_plan != plan);
        let phased = Scenario::new(&phased_plan, &files).run();
        prop_assert!(phased.errors.is_empty(), "{:?}", phased.errors);
        prop_assert_eq!(phased.statements.len(), r.statements.len());
        for (even, by_share) in r.statements.iter().zip(&phased.statements) {
            prop_assert_eq!(even.quota, by_share.quota);
            prop_assert_eq!(even.total, by_share.total);
            for (a, b) in even.lines.iter().zip(&by_share.lines) {
                prop_assert_eq!(a.amount, b.amount, "{} {}", even.period, a.component);
            }
        }

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
