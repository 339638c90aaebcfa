//! The plan shapes of issue #17 this file covers: tiers per deal, two-dimensional payout
//! grids, plan-wide conditions, team pools and pay on collection. Each has its general rule
//! as a property where there is one, its worked examples, and its bad input with the place
//! the error points at.

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
