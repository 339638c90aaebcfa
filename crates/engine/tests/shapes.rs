//! The plan shapes of issue #17 this file covers: tiers per deal, two-dimensional payout
//! grids, plan-wide conditions and team pools (pay on collection is in `collection.rs`,
//! per-period quotas in `quotas.rs`). Each has its general rule as a property where there is
//! one, its worked examples, and its bad input with the place the error points at.

mod common;

use common::{Scenario, amount, annual_plan, compile};
use proptest::prelude::*;
use rust_decimal::Decimal;

/// Compiles `plan` and returns the first error's message and `line:col`.
#[track_caller]
fn check_error(plan: &str, message: &str, at: (u32, u32)) {
    let diagnostics = compile(plan).expect_err("the plan should not compile");
    let found = diagnostics.iter().find(|d| d.message.contains(message)).unwrap_or_else(|| {
        panic!("no error containing {message:?}; got {:#?}", diagnostics.iter().map(|d| &d.message).collect::<Vec<_>>())
    });
    let span = found.location.as_ref().expect("the error has a place").span;
    assert_eq!((span.line, span.col), at, "{message}");
}

// ---- tiers per deal -------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Per-deal tiers on a single deal equal window tiers on that deal, when the per-deal
    /// tier starts are the window tiers' attainments × the quota.
    #[test]
    fn per_deal_tiers_on_one_deal_equal_window_tiers(
        quota in 1_000i64..5_000_000,
        deal in 0i64..10_000_000,
        steps in prop::collection::vec((1u32..150, 0u32..2000), 0..4),
        retroactive in prop::bool::ANY,
    ) {
        let (mut window, mut per_deal) = (String::from("{from: 0, rate: 0.01}"), String::from("{from: 0, rate: 0.01}"));
        let mut from = Decimal::ZERO;
        for (step, rate) in steps {
            from += Decimal::new(i64::from(step), 2);
            let rate = Decimal::new(i64::from(rate), 4);
            window.push_str(&format!(", {{from: {from}, rate: {rate}}}"));
            per_deal.push_str(&format!(", {{from: {}, rate: {rate}}}", (from * Decimal::from(quota)).normalize()));
        }
        let mode = if retroactive { "retroactive" } else { "marginal" };
        let plan = annual_plan(&format!(
            "      - {{id: window, type: tiered, measure: bookings, mode: {mode}, tiers: [{window}]}}\n\
             \x20     - {{id: deal, type: tiered, measure: bookings, per: deal, mode: {mode}, tiers: [{per_deal}]}}\n"
        ));
        let roster = format!("id,name,role,quota\np01,A,ae,{quota}\n");
        let deals = format!("id,owner,close_date,kind,amount\nd1,p01,2027-05-01,new,{deal}\n");
        let r = Scenario::new(&plan, &[("roster.csv", &roster), ("deals.csv", &deals)]).run();
        prop_assert!(r.errors.is_empty(), "{:?}", r.errors);
        prop_assert_eq!(amount(&r, "p01", "2027", "deal"), amount(&r, "p01", "2027", "window"));
    }
}

#[test]
fn per_deal_tiers_price_each_deal_on_its_own() {
    // 1 % to 10,000, 2 % to 50,000, 3 % above, per deal: 8,000 → 80; 30,000 → 100 + 400 = 500;
    // 80,000 → 100 + 800 + 900 = 1,800. Together 2,380 (on the total of 118,000 window
    // tiers would pay 100 + 800 + 2,040 = 2,940).
    let plan = annual_plan(
        "      - {id: deal, type: tiered, measure: bookings, per: deal, tiers: [{from: 0, rate: 0.01}, {from: 10000, rate: 0.02}, {from: 50000, rate: 0.03}]}\n",
    );
    let deals = "id,owner,close_date,kind,amount\nd1,p01,2027-02-01,new,8000\nd2,p01,2027-03-01,new,30000\nd3,p01,2027-04-01,new,80000\n";
    let r = Scenario::new(&plan, &[("roster.csv", common::ROSTER_ONE), ("deals.csv", deals)]).run();
    assert_eq!(amount(&r, "p01", "2027", "deal"), "2380.00");
    let line = &r.statements[0].lines[0];
    assert!(line.explain.contains("d3 80,000.00 → 1,800.00"), "{}", line.explain);
}

#[test]
fn per_deal_bad_input() {
    let tiers = "tiers: [{from: 0, rate: 0.01}, {from: 10000, rate: 0.02}]";
    check_error(
        &annual_plan(&format!("      - {{id: d, type: tiered, measure: csat, per: deal, {tiers}}}\n")),
        "`per: deal` needs a deal measure",
        (11, 40),
    );
    check_error(
        &annual_plan(&format!(
            "      - {{id: d, type: tiered, measure: bookings, per: deal, threshold: 0.5, {tiers}}}\n"
        )),
        "no attainment to compare",
        (11, 72),
    );
    check_error(
        &annual_plan(
            "      - {id: d, type: tiered, measure: bookings, per: deal, tiers: [{from: 0, rate: 0.01}, {from: 0, rate: 0.02}]}\n",
        ),
        "strictly ascending",
        (11, 99),
    );
    check_error(
        &annual_plan("      - {id: d, type: tiered, measure: bookings, per: deals, tiers: [{from: 0, rate: 0.01}]}\n"),
        "deals",
        (11, 55),
    );
}

// ---- two-dimensional payout grids ------------------------------------------------------

/// A one-role annual plan with two grids on the declared levels `x` (rows) and `y`
/// (columns): the same table, once looked up by step and once interpolated.
fn grid_plan(rows: &[Decimal], columns: &[Decimal], cells: &[Vec<Decimal>]) -> String {
    let list = |values: &[Decimal]| values.iter().map(Decimal::to_string).collect::<Vec<_>>().join(", ");
    let table = cells.iter().map(|row| format!("[{}]", list(row))).collect::<Vec<_>>().join(", ");
    let grid = |id: &str, interpolate: bool| {
        format!(
            "      - {{id: {id}, type: grid, interpolate: {interpolate}, rows: {{measure: x, at: [{}]}}, columns: {{measure: y, at: [{}]}}, payout: [{table}]}}\n",
            list(rows),
            list(columns)
        )
    };
    format!(
        "plan: t\nyear: 2027\nperiods: year\nmeasures:\n  x: {{aggregate: last}}\n  y: {{aggregate: last}}\nroles:\n  exec:\n    motion: executive\n    target_incentive: 100000\n    components:\n{}{}",
        grid("step", false),
        grid("smooth", true)
    )
}

fn ascending(len: std::ops::Range<usize>) -> impl Strategy<Value = Vec<Decimal>> {
    prop::collection::vec(1u32..60, len).prop_map(|steps| {
        let mut at = Decimal::new(50, 2);
        steps
            .into_iter()
            .map(|step| {
                at += Decimal::new(i64::from(step), 2);
                at
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// At a row start × column start, a step grid and an interpolated grid both pay that cell;
    /// anywhere else a step grid pays one of its cells (or 0 below the grid).
    #[test]
    fn grids_pay_their_cells(
        rows in ascending(1..4),
        columns in ascending(1..4),
        seed in prop::collection::vec(0u32..300, 16),
        (i, j) in (0usize..4, 0usize..4),
        (x, y) in (0u32..250, 0u32..250),
    ) {
        let cells: Vec<Vec<Decimal>> = (0..rows.len())
            .map(|r| (0..columns.len()).map(|c| Decimal::new(i64::from(seed[r * 4 + c]), 2)).collect())
            .collect();
        let plan = grid_plan(&rows, &columns, &cells);
        let roster = "id,name,role\ne1,E,exec\n";
        let (i, j) = (i % rows.len(), j % columns.len());
        let measures = format!("payee,period,measure,value\ne1,2027,x,{}\ne1,2027,y,{}\n", rows[i], columns[j]);
        let r = Scenario::new(&plan, &[("roster.csv", roster), ("deals.csv", "id,owner,close_date,kind,amount\n"), ("measures.csv", &measures)]).run();
        let cell = (cells[i][j] * Decimal::from(100_000)).round_dp(2);
        prop_assert_eq!(amount(&r, "e1", "2027", "step"), format!("{cell:.2}"));
        prop_assert_eq!(amount(&r, "e1", "2027", "smooth"), format!("{cell:.2}"));

        let measures = format!("payee,period,measure,value\ne1,2027,x,{}\ne1,2027,y,{}\n", Decimal::new(i64::from(x), 2), Decimal::new(i64::from(y), 2));
        let r = Scenario::new(&plan, &[("roster.csv", roster), ("deals.csv", "id,owner,close_date,kind,amount\n"), ("measures.csv", &measures)]).run();
        let paid: Decimal = amount(&r, "e1", "2027", "step").parse().unwrap();
        let possible: Vec<Decimal> = cells.iter().flatten().map(|c| (c * Decimal::from(100_000)).round_dp(2)).chain([Decimal::ZERO]).collect();
        prop_assert!(possible.contains(&paid), "{paid} is not a cell of {cells:?}");
    }
}

#[test]
fn grid_bad_input() {
    let plan = |rows: &str, payout: &str| {
        format!(
            "plan: t\nyear: 2027\nperiods: year\nroles:\n  exec:\n    motion: executive\n    components:\n      - id: g\n        type: grid\n        rows: {{measure: company.revenue, target: company.budget_revenue, at: {rows}}}\n        columns: {{measure: company.net_profit, target: 100000, at: [0.8, 1.0]}}\n        payout: {payout}\n"
        )
    };
    check_error(&plan("[0.9, 1.1, 1.0]", "[[0, 1], [1, 2], [2, 3]]"), "grid axes must be strictly ascending", (10, 89));
    check_error(&plan("[0.9, 1.0]", "[[0, 1], [1, 2], [2, 3]]"), "`payout` has 3 row(s) but `rows.at` has 2", (12, 17));
    check_error(&plan("[0.9, 1.0]", "[[0, 1], [1, 2, 3]]"), "this payout row has 3 factor(s)", (12, 26));
    check_error(&plan("[0.9, 1.0]", "[[0, 1], [1, -2]]"), "a payout factor cannot be negative", (12, 30));
    check_error(&plan("[]", "[]"), "`rows.at` needs at least one start", (10, 78));
    check_error(
        &plan("[0.9, 1.0]", "[[0, 1], [1, 2]]").replace("target: 100000", "target: 0"),
        "a target cannot be zero",
        (11, 56),
    );
}

// ---- plan-wide conditions --------------------------------------------------------------

#[test]
fn condition_bad_input() {
    let plan = |condition: &str| {
        format!(
            "plan: t\nyear: 2027\nperiods: quarter\nroles:\n  exec:\n    motion: executive\n    components:\n      - {{id: bonus, type: tiered, measure: bookings, target: 100, tiers: [{{from: 0, rate: 0.1}}]}}\n    conditions:\n      - {condition}\n"
        )
    };
    let when = "when: {measure: company.revenue, of: company.budget_revenue, below: 1}";
    check_error(
        &plan(&format!("{{id: c, {when}, multiplier: 2, components: [bonsu]}}")),
        "unknown component `bonsu`",
        (10, 117),
    );
    check_error(&plan(&format!("{{id: bonus, {when}, multiplier: 2}}")), "already the id of a component", (10, 14));
    check_error(&plan(&format!("{{id: c, {when}}}")), "exactly one of `multiplier` and `cap`", (10, 14));
    check_error(
        &plan("{id: c, when: {measure: company.revenue, below: 1, at_least: 2}, multiplier: 2}"),
        "exactly one of `below` and `at_least`",
        (10, 24),
    );
    check_error(&plan(&format!("{{id: c, {when}, cap: {{}}}}")), "a cap needs exactly one of", (10, 95));
    check_error(
        &plan(&format!("{{id: c, {when}, multiplier: 2, components: []}}")),
        "`components` is empty",
        (10, 116),
    );
}

// ---- team pools ------------------------------------------------------------------------

/// A quarterly plan with one team pool shared by two roles (`rep`, TI 40,000, and `lead`, TI
/// 60,000), defined alike in both by `pool` (YAML flow-mapping keys after `id` and `type`).
fn pool_plan(pool: &str) -> String {
    format!(
        "plan: t\nyear: 2027\nperiods: quarter\nroles:\n  rep:\n    motion: hunter\n    target_incentive: 40000\n    components:\n      - {{id: team_pool, type: pool, {pool}}}\n  lead:\n    motion: hunter\n    target_incentive: 60000\n    components:\n      - {{id: team_pool, type: pool, {pool}}}\n"
    )
}

/// The trace value `key` of a line, as a decimal.
fn traced(line: &accrue_engine::Line, key: &str) -> Decimal {
    let text = line.trace.get(key).and_then(|v| v.as_str()).unwrap_or_else(|| panic!("no {key} in {:?}", line.trace));
    text.parse().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Whatever the split rule, window, roles, hire dates, quotas and deals, the members' unrounded
    /// shares add up to the pool (or, when nobody qualifies, every share is 0), and the rounded
    /// shares are each within half a cent of their unrounded value.
    #[test]
    fn pool_shares_add_up_to_the_pool(
        split in prop::sample::select(vec!["equal", "ti", "attainment"]),
        ytd in prop::bool::ANY,
        members in prop::collection::vec((prop::bool::ANY, 0u32..200, 0u32..5, prop::collection::vec((0u32..365, 0u32..400_000), 0..4)), 1..6),
        cap in prop::option::of(1u32..30),
    ) {
        let window = if ytd { "ytd" } else { "period" };
        let cap = cap.map(|c| format!(", attainment_cap: {}", Decimal::new(i64::from(c), 1))).unwrap_or_default();
        let cap = if split == "attainment" { cap } else { String::new() };
        let plan = pool_plan(&format!("measure: bookings, rate: 0.013, amount: 1000, split: {split}, window: {window}{cap}"));
        let mut roster = String::from("id,name,role,team,start_date,quota\n");
        let mut deals = String::from("id,owner,close_date,kind,amount\n");
        let start = chrono::NaiveDate::from_ymd_opt(2027, 1, 1).unwrap();
        for (i, (lead, hired_after, quota, booked)) in members.iter().enumerate() {
            // Hire dates only (no leavers): every member with a weight in a window has a statement.
            let hired = start + chrono::Days::new(u64::from(*hired_after));
            let role = if *lead { "lead" } else { "rep" };
            roster.push_str(&format!("m{i},M{i},{role},pod,{hired},{}\n", u64::from(*quota) * 250_000));
            for (j, (day, amount)) in booked.iter().enumerate() {
                let date = start + chrono::Days::new(u64::from(*day));
                deals.push_str(&format!("d{i}_{j},m{i},{date},new,{amount}\n"));
            }
        }
        let r = Scenario::new(&plan, &[("roster.csv", &roster), ("deals.csv", &deals)]).run();
        prop_assert!(r.errors.is_empty(), "{:?}", r.errors);
        for period in &r.periods {
            let lines: Vec<&accrue_engine::Line> = r
                .statements
                .iter()
                .filter(|s| &*s.period == period.as_str())
                .flat_map(|s| s.lines.iter().filter(|l| l.component == "team_pool"))
                .collect();
            let Some(first) = lines.first() else { continue };
            let pool = traced(first, "pool");
            let total_weight = traced(first, "total_weight");
            let mut shares = Decimal::ZERO;
            for line in &lines {
                prop_assert_eq!(traced(line, "pool"), pool, "every member sees the same pool");
                let share = traced(line, "share");
                shares += share;
                // `period`: the line is the share; `ytd`: the window value is.
                let window_value: Decimal = line.trace["window_value"].as_str().unwrap().parse().unwrap();
                prop_assert!((window_value - share).abs() <= Decimal::new(5, 3), "{window_value} vs {share}");
            }
            if total_weight.is_zero() {
                prop_assert!(shares.is_zero(), "nobody qualifies, yet shares of {shares}");
            } else {
                prop_assert!((shares - pool).abs() < Decimal::new(1, 18), "{period}: shares {shares} against the pool {pool}");
            }
        }
    }
}

#[test]
fn a_ytd_pool_is_split_on_the_year_so_far_and_pays_the_change() {
    // Equal split, 1 % of the pod's bookings, ytd. b1 joins on the first day of Q2.
    // Q1: pool 1 % × 100,000 = 1,000; a1 is the only member employed: 1,000.
    // Q2: ytd pool 1 % × 200,000 = 2,000; weights a1 2 quarters, b1 1 → a1 2,000 × 2/3 =
    //     1,333.33 less 1,000 paid = 333.33; b1 2,000 × 1/3 = 666.67. Paid in all: 2,000.00.
    let plan = pool_plan("measure: bookings, rate: 0.01, split: equal");
    let roster = "id,name,role,team,start_date\na1,A,rep,pod,\nb1,B,rep,pod,2027-04-01\n";
    let deals = "id,owner,close_date,kind,amount\nd1,a1,2027-02-01,new,100000\nd2,b1,2027-05-01,new,100000\n";
    let r = Scenario::new(&plan, &[("roster.csv", roster), ("deals.csv", deals)]).run();
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(amount(&r, "a1", "2027-Q1", "team_pool"), "1000.00");
    assert_eq!(amount(&r, "a1", "2027-Q2", "team_pool"), "333.33");
    assert_eq!(amount(&r, "b1", "2027-Q2", "team_pool"), "666.67");
    let line = &r.statements.iter().find(|s| s.payee == "b1" && s.period == "2027-Q2").unwrap().lines[0];
    assert_eq!(
        line.explain,
        "pool 2027-Q1..2027-Q2: team bookings 200,000.00 × 1% = 2,000.00; split equally among 2 members: your \
         share 0.5 of 1.5 (33.33%) = 666.67"
    );
}

#[test]
fn a_roll_up_lead_in_a_pool_counts_the_team_once() {
    // The lead rolls up both reps; the pod's bookings are each deal once: 300,000 × 1 % = 3,000,
    // split by TI 10,000 + 10,000 + 15,000 a quarter: reps 857.14 each (3,000 × 2/7), lead
    // 1,285.71 (3,000 × 3/7). The threshold (100 % of the pod's quota) compares 300,000 with
    // the reps' quotas, 150,000 + 150,000 a quarter: the lead's 300,000 is the same team's
    // quota and is not counted again (else the pod would be at 50 % and the pool empty).
    let pool = "{id: team_pool, type: pool, measure: bookings, rate: 0.01, threshold: 1.0, split: ti, window: period}";
    let plan = format!(
        "plan: t\nyear: 2027\nperiods: quarter\nroles:\n  rep:\n    motion: hunter\n    target_incentive: 40000\n    components:\n      - {pool}\n  lead:\n    motion: leader\n    rollup: true\n    target_incentive: 60000\n    components:\n      - {pool}\n"
    );
    let roster =
        "id,name,role,team,manager,quota\nr1,R1,rep,pod,l1,600000\nr2,R2,rep,pod,l1,600000\nl1,L,lead,pod,,1200000\n";
    let deals = "id,owner,close_date,kind,amount\nd1,r1,2027-02-01,new,100000\nd2,r2,2027-02-01,new,200000\n";
    let r = Scenario::new(&plan, &[("roster.csv", roster), ("deals.csv", deals)]).run();
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(amount(&r, "r1", "2027-Q1", "team_pool"), "857.14");
    assert_eq!(amount(&r, "r2", "2027-Q1", "team_pool"), "857.14");
    assert_eq!(amount(&r, "l1", "2027-Q1", "team_pool"), "1285.71");
    // A cent under the reps' quotas: the pool holds nothing.
    let deals = "id,owner,close_date,kind,amount\nd1,r1,2027-02-01,new,99999.99\nd2,r2,2027-02-01,new,200000\n";
    let r = Scenario::new(&plan, &[("roster.csv", roster), ("deals.csv", deals)]).run();
    assert_eq!(amount(&r, "l1", "2027-Q1", "team_pool"), "0.00");
}

#[test]
fn a_pool_role_without_a_team_is_warned_of_and_pays_nothing() {
    let plan = pool_plan("measure: bookings, rate: 0.01, split: equal");
    let roster = "id,name,role,team\nr1,R1,rep,\nr2,R2,rep,pod\n";
    let deals = "id,owner,close_date,kind,amount\nd1,r1,2027-02-01,new,100000\n";
    let r = Scenario::new(&plan, &[("roster.csv", roster), ("deals.csv", deals)]).run();
    assert!(
        r.warnings.iter().any(|w| w.contains("payee r1: role rep has a team pool but the payee has no `team`")),
        "{:?}",
        r.warnings
    );
    assert!(!r.warnings.iter().any(|w| w.contains("payee r2")), "{:?}", r.warnings);
    assert_eq!(amount(&r, "r1", "2027-Q1", "team_pool"), "0.00");
    let line = &r.statements.iter().find(|s| s.payee == "r1" && s.period == "2027-Q1").unwrap().lines[0];
    assert!(line.explain.starts_with("no team in roster.csv"), "{}", line.explain);
    // r1's deal is not r2's team's: r2's pod pool is empty.
    assert_eq!(amount(&r, "r2", "2027-Q1", "team_pool"), "0.00");
}

#[test]
fn pool_bad_input() {
    let pool = |keys: &str| annual_plan(&format!("      - {{id: p, type: pool, {keys}}}\n"));
    check_error(&pool("measure: bookings, rate: 0.01, split: equals"), "equals", (11, 67));
    check_error(&pool("measure: bookings, rate: -0.01, split: equal"), "a pool's `rate` cannot be negative", (11, 54));
    check_error(&pool("measure: bookings, split: equal"), "a pool needs `rate`", (11, 23));
    check_error(&pool("rate: 0.01, split: equal"), "`rate` is a share of the team's `measure`", (11, 35));
    check_error(&pool("measure: csat, rate: 0.01, split: equal"), "`csat` is a ratio or a level", (11, 38));
    check_error(
        &pool("measure: company.revenue, rate: 0.01, threshold: 0.8, split: equal"),
        "`threshold` compares the team's measure with the members' quotas",
        (11, 78),
    );
    check_error(
        &pool("measure: company.revenue, rate: 0.01, split: attainment"),
        "`split: attainment` compares each member's own measure",
        (11, 74),
    );
    check_error(
        &pool("measure: bookings, rate: 0.01, split: equal, attainment_cap: 1.5"),
        "`attainment_cap` is for `split: attainment`",
        (11, 90),
    );
    check_error(
        &pool("measure: bookings, rate: 0.01, split: equal, cap: {multiple_of_target: 2}"),
        "a pool's cap is `{ amount: … }`",
        (11, 80),
    );
    check_error(&pool("measure: bookings, rate: 0.01"), "split", (11, 10));
    // Two roles sharing an id must define the pool alike.
    let plan = pool_plan("measure: bookings, rate: 0.01, split: equal").replacen("split: equal", "split: ti", 1);
    check_error(
        &plan,
        "in role `lead` is defined differently from pool `team_pool` in role `rep`: its `split` is equal here and ti in role `rep`",
        (14, 14),
    );
}

#[test]
fn a_pool_share_takes_the_members_own_modifiers_and_gates() {
    // Pool 1 % × 150,000 = 1,500 split equally: 500 each. a1's CSAT 9.6 is in the × 1.1 band:
    // 550.00; b1's 8 is in the × 1.0 band: 500.00. c1's CSAT 7 fails the gate (min 7.5): 0.00,
    // and the 500 it withholds is not given to the others (the split is of the pool, 3 ways).
    let plan = "plan: t\nyear: 2027\nperiods: year\nmeasures:\n  csat: {aggregate: mean}\nroles:\n  rep:\n    motion: hunter\n    components:\n      - id: team_pool\n        type: pool\n        measure: bookings\n        rate: 0.01\n        split: equal\n        modifiers: [{measure: csat, bands: [{from: 0, multiplier: 1.0}, {from: 9.5, multiplier: 1.1}]}]\n        gates: [{measure: csat, min: 7.5}]\n";
    let roster = "id,name,role,team\na1,A,rep,pod\nb1,B,rep,pod\nc1,C,rep,pod\n";
    let deals = "id,owner,close_date,kind,amount\nd1,c1,2027-02-01,new,150000\n";
    let measures = "payee,period,measure,value\na1,2027,csat,9.6\nb1,2027,csat,8\nc1,2027,csat,7\n";
    let files = [("roster.csv", roster), ("deals.csv", deals), ("measures.csv", measures)];
    let r = Scenario::new(plan, &files).run();
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(amount(&r, "a1", "2027", "team_pool"), "550.00");
    assert_eq!(amount(&r, "b1", "2027", "team_pool"), "500.00");
    assert_eq!(amount(&r, "c1", "2027", "team_pool"), "0.00");
}
