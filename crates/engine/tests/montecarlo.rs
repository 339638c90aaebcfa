//! `montecarlo` (SPEC §12): reproducible on any thread count, exact where it must be, and
//! right on average.

use std::path::Path;
use std::sync::Arc;

use accrue_engine::{
    Change, DataSet, Memory, MonteCarlo, MonteCarloOptions, PlanInput, Scenario, ScenarioError, montecarlo,
};
use rust_decimal::Decimal;

/// A linear plan: 10 % of bookings, no tiers, caps or gates; one annual period.
const LINEAR: &str = "\
plan: lin
year: 2027
periods: year
company:
  revenue: 1000000
  budget_comp: 26000
roles:
  ae:
    motion: hunter
    components:
      - {id: commission, type: tiered, measure: bookings, tiers: [{from: 0, rate: 0.1}]}
";

const ROSTER: &str = "id,name,role,quota\np01,Alice,ae,100000\np02,Ben,ae,100000\np03,Cleo,ae,100000\n";
const DEALS: &str = "id,owner,close_date,kind,amount\n\
d1,p01,2027-02-01,new,120000\n\
d2,p02,2027-05-01,new,80000\n\
d3,p03,2027-08-01,new,50000\n\
d4,p03,2027-09-01,renewal,70000\n";

fn inputs() -> (PlanInput, DataSet) {
    let memory = Arc::new(
        Memory::new()
            .with("lin/plan.yaml", LINEAR)
            .with("lin/data/roster.csv", ROSTER)
            .with("lin/data/deals.csv", DEALS),
    );
    let input = PlanInput::read(memory.clone(), Path::new("lin/plan.yaml"), Default::default()).unwrap();
    let data = DataSet::read(memory, Path::new("lin/data")).unwrap();
    (input, data)
}

fn run(options: &MonteCarloOptions) -> Result<MonteCarlo, ScenarioError> {
    let (input, data) = inputs();
    montecarlo(&input, &data, &Scenario::default(), options, &|_| true)
}

fn options(draws: u32, seed: u64) -> MonteCarloOptions {
    MonteCarloOptions { draws, seed, ..Default::default() }
}

fn dec(text: &str) -> Decimal {
    text.parse().unwrap()
}

#[test]
fn the_same_seed_gives_the_same_json_on_one_and_two_threads() {
    let on = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| serde_json::to_string(&run(&options(300, 42)).unwrap()).unwrap())
    };
    let one = on(1);
    assert_eq!(one, on(2));
    assert_ne!(one, serde_json::to_string(&run(&options(300, 43)).unwrap()).unwrap(), "another seed, other draws");
}

#[test]
fn no_spread_makes_every_draw_the_baseline() {
    let mut options = options(50, 7);
    options.spreads.insert("ae".into(), Decimal::ZERO);
    options.company_spread = Some(Decimal::ZERO);
    let result = run(&options).unwrap();
    // 10 % of 120,000 + 80,000 + 50,000 (renewals are not commissioned).
    assert!(result.draw_totals.iter().all(|t| *t == dec("25000.00")), "{:?}", result.draw_totals);
    assert_eq!(result.total.min, "25000.00");
    assert_eq!(result.total.max, "25000.00");
    assert_eq!(result.histogram.len(), 1);
    assert_eq!(result.histogram[0].count, 50);
    // Budget 26,000 is never exceeded; Alice (120 %) alone reaches quota: 1 of 3.
    assert_eq!(result.p_over_budget.as_deref(), Some("0.000000"));
    assert_eq!(result.attainment.mean.as_deref(), Some("0.333333"));
}

#[test]
fn percentiles_are_ordered_and_bins_count_every_draw() {
    let result = run(&options(500, 3)).unwrap();
    let t = &result.total;
    let values: Vec<Decimal> = [&t.min, &t.p5, &t.p25, &t.p50, &t.p75, &t.p95, &t.max].iter().map(|v| dec(v)).collect();
    assert!(values.windows(2).all(|w| w[0] <= w[1]), "{t:?}");
    assert_eq!(result.histogram.len(), 20);
    assert_eq!(result.histogram.iter().map(|b| b.count).sum::<u32>(), 500);
    assert_eq!(result.histogram[0].from, t.min);
    assert_eq!(result.histogram[19].to, t.max);
    let over: usize = result.draw_totals.iter().filter(|t| **t > dec("26000")).count();
    assert_eq!(result.p_over_budget, Some(format!("{:.6}", Decimal::from(over) / Decimal::from(500))));
    // The 5th percentile is the ⌈0.05 × 500⌉ = 25th smallest draw.
    let mut sorted = result.draw_totals.clone();
    sorted.sort();
    assert_eq!(dec(&t.p5), sorted[24]);
}

#[test]
fn on_a_linear_plan_the_mean_is_the_expectation() {
    // Every factor has mean 1, and pay is linear in bookings: the expected cost is the
    // baseline's 25,000.00. 20,000 draws put the mean well within 1 %.
    let result = run(&options(20_000, 11)).unwrap();
    let mean = dec(&result.total.mean);
    let gap = (mean - dec("25000")).abs() / dec("25000");
    assert!(gap < dec("0.01"), "mean {mean}, {gap} from the expectation");
}

#[test]
fn a_scenario_applies_before_the_draws() {
    let (input, data) = inputs();
    let mut o = options(20, 1);
    o.spreads.insert("ae".into(), Decimal::ZERO);
    let scenario = Scenario::new(vec![Change::parse_scale("ae.bookings=2").unwrap()]);
    let result = montecarlo(&input, &data, &scenario, &o, &|_| true).unwrap();
    assert_eq!(result.total.mean, "50000.00");
}

#[track_caller]
fn rejects(options: MonteCarloOptions, message: &str) {
    let error = run(&options).unwrap_err();
    assert!(error.to_string().contains(message), "{error}");
    assert!(matches!(error, ScenarioError::Usage { .. }), "{error:?}");
}

#[test]
fn bad_options_are_usage_errors() {
    rejects(options(0, 1), "0 draws is outside 1..=100000");
    rejects(options(100_001, 1), "outside 1..=100000");
    rejects(MonteCarloOptions { correlation: Some(dec("1.5")), ..options(10, 1) }, "the correlation 1.5");
    rejects(MonteCarloOptions { company_spread: Some(dec("-0.1")), ..options(10, 1) }, "a spread is ≥ 0");
    let mut unknown = options(10, 1);
    unknown.spreads.insert("sdr".into(), dec("0.2"));
    rejects(unknown, "no role `sdr`");
}

#[test]
fn cancelling_stops_the_run() {
    let (input, data) = inputs();
    let result = montecarlo(&input, &data, &Scenario::default(), &options(1000, 1), &|done| done < 10);
    assert!(matches!(result, Err(ScenarioError::Cancelled)));
}
