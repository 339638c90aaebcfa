//! `simulate` (SPEC §12): hand-checkable deltas, scenarios equal to editing the files by
//! hand, and every bad change a clear error.

use std::path::Path;
use std::sync::Arc;

use accrue_engine::{
    Baseline, Change, DataSet, Memory, PlanInput, Scenario, ScenarioError, Selector, SimulateOptions, Simulation,
    simulate,
};
use proptest::prelude::*;
use rust_decimal::Decimal;

const ONE_PAYEE: &str = "\
plan: t
year: 2027
periods: quarter
params:
  rate: 0.10
company:
  revenue: 2000000
roles:
  ae:
    motion: hunter
    components:
      - {id: commission, type: tiered, measure: bookings, tiers: [{from: 0, rate: $rate}]}
";

const ROSTER: &str = "id,name,role,team,quota\np01,Alice,ae,east,1000000\np02,Ben,ae,west,1000000\n";
const DEALS: &str = "id,owner,close_date,kind,amount,gross_margin\n\
d1,p01,2027-02-01,new,123457,40000\n\
d2,p01,2027-05-01,new,80000,20000\n\
d3,p02,2027-08-01,new,55555,10000\n";

/// A plan and data set held in memory.
struct Case {
    input: PlanInput,
    data: DataSet,
}

impl Case {
    fn new(plan: &str, files: &[(&str, &str)]) -> Case {
        let mut memory = Memory::new().with("case/plan.yaml", plan);
        for (name, text) in files {
            memory.insert(Path::new("case/data").join(name), *text);
        }
        let memory = Arc::new(memory);
        let input = PlanInput::read(memory.clone(), Path::new("case/plan.yaml"), Default::default())
            .unwrap_or_else(|d| panic!("{d}"));
        let data = DataSet::read(memory, Path::new("case/data")).unwrap_or_else(|d| panic!("{d}"));
        Case { input, data }
    }

    fn simulate(&self, changes: Vec<Change>) -> Result<Simulation, ScenarioError> {
        let baseline = Baseline::new(&self.input, &self.data)?;
        simulate(&self.input, &self.data, &baseline, &Scenario::new(changes), &SimulateOptions::default())
    }

    fn sample(name: &str) -> Case {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plans").join(name);
        let input = PlanInput::read(Arc::new(accrue_engine::FileSystem), &dir.join("plan.yaml"), Default::default())
            .unwrap_or_else(|d| panic!("{d}"));
        let data = DataSet::load(&dir.join("data")).unwrap_or_else(|d| panic!("{d}"));
        Case { input, data }
    }
}

fn one_payee() -> Case {
    Case::new(ONE_PAYEE, &[("roster.csv", ROSTER), ("deals.csv", DEALS)])
}

fn set(text: &str) -> Change {
    Change::parse_set(text).unwrap()
}

fn scale(text: &str) -> Change {
    Change::parse_scale(text).unwrap()
}

fn dec(text: &str) -> Decimal {
    text.parse().unwrap()
}

#[test]
fn a_rate_from_10_to_11_percent_moves_cost_by_a_tenth_of_the_old_commission() {
    let result = one_payee().simulate(vec![set("rate=0.11")]).unwrap();
    // Alice: 10 % of 123,457 + 80,000 = 20,345.70; Ben: 10 % of 55,555 = 5,555.50.
    assert_eq!(result.baseline.total, "25901.20");
    // A tenth of the old commission: 2,590.12 (each quarter's line rounds exactly: the
    // amounts have whole dollars, so 11 % of them has at most two places).
    assert_eq!(result.delta.total, "2590.12");
    assert_eq!(result.scenario.total, "28491.32");
    assert_eq!(result.delta.by_role["ae"], "2590.12");
    assert_eq!(result.payees[0].delta.to_string(), "2034.57");
    assert_eq!(result.payees[1].delta.to_string(), "555.55");
    assert_eq!(result.winners, vec!["p01", "p02"]);
    assert!(result.losers.is_empty());
    // 25,901.20 / 2,000,000 = 0.0129506 → 0.012951 (6 places, midpoint away from zero).
    assert_eq!(result.cost_of_sales.baseline.as_deref(), Some("0.012951"));
    assert_eq!(result.cost_of_sales.baseline_revenue.as_deref(), Some("2000000.00"));
    assert_eq!(result.changes.len(), 1);
    assert_eq!(result.scenario_hash.len(), 64);
}

#[test]
fn a_scale_equals_running_on_the_deals_edited_by_hand() {
    let case = one_payee();
    let scaled = case.simulate(vec![scale("payee:p01.bookings=1.1")]).unwrap();
    let edited = DEALS.replace("123457,40000", "135802.7,44000").replace("80000,20000", "88000,22000");
    let by_hand = Case::new(ONE_PAYEE, &[("roster.csv", ROSTER), ("deals.csv", &edited)]).simulate(vec![]).unwrap();
    assert_eq!(scaled.scenario.total, by_hand.baseline.total);
    assert_eq!(scaled.scenario.by_period, by_hand.baseline.by_period);
    // Ben's deals are his own: the payee selector leaves them alone.
    assert_eq!(scaled.payees[1].delta.to_string(), "0.00");
}

#[test]
fn selectors_pick_roles_teams_payees_and_the_company() {
    let case = one_payee();
    let team = case.simulate(vec![scale("team:west.bookings=2")]).unwrap();
    assert_eq!(team.payees[0].delta.to_string(), "0.00");
    assert_eq!(team.payees[1].delta.to_string(), "5555.50");
    let role = case.simulate(vec![scale("ae.bookings=0")]).unwrap();
    assert_eq!(role.scenario.total, "0.00");
    assert_eq!(role.losers, vec!["p01", "p02"], "largest loss first");
    let company = case.simulate(vec![scale("company.revenue=0.5")]).unwrap();
    assert_eq!(company.cost_of_sales.scenario_revenue.as_deref(), Some("1000000.00"));
    assert_eq!(company.delta.total, "0.00", "deal scales and company scales are separate");
}

#[test]
fn an_overlay_replaces_params_and_components_and_adds_new_ones() {
    let dir = tempfile::tempdir().unwrap();
    let overlay = dir.path().join("overlay.yaml");
    std::fs::write(
        &overlay,
        "params: {rate: 0.2}\nroles:\n  ae:\n    components:\n      - {id: bonus, type: tiered, measure: bookings, tiers: [{from: 0, rate: 0.01}]}\n",
    )
    .unwrap();
    let change = Change::overlay(&accrue_engine::FileSystem, &overlay).unwrap();
    let result = one_payee().simulate(vec![change]).unwrap();
    // 20 % + 1 % of everything: 21/10 of the baseline.
    assert_eq!(result.scenario.total, "54392.52");
    // A --set after the overlay wins over it; the order is the order given.
    let overlay_change = Change::overlay(&accrue_engine::FileSystem, &overlay).unwrap();
    let later = one_payee().simulate(vec![overlay_change, set("rate=0.1")]).unwrap();
    assert_eq!(later.delta.total, "2590.12");
}

#[test]
fn plan_b_is_the_back_test_over_the_union_of_roles() {
    let plan_b = ONE_PAYEE.replace("rate: 0.10", "rate: 0.12").replace("  ae:\n", "  ae:\n    title: AE\n")
        + "  partner:\n    motion: hunter\n    components: []\n";
    let memory: Arc<dyn accrue_engine::Sources> = Arc::new(Memory::new().with("b/plan.yaml", plan_b));
    let change = Change::plan_b(memory, Path::new("b/plan.yaml")).unwrap();
    let result = one_payee().simulate(vec![change]).unwrap();
    assert_eq!(result.delta.total, "5180.24");
    assert_eq!(result.delta.by_role["partner"], "0.00");
    assert!(matches!(&result.changes[0], accrue_engine::ChangeReport::PlanB { plan, .. } if plan == "t"));
}

#[track_caller]
fn rejects(changes: Result<Vec<Change>, ScenarioError>, message: &str) {
    let error = match changes {
        Err(error) => error,
        Ok(changes) => one_payee().simulate(changes).expect_err("the scenario should fail"),
    };
    let all = format!("{error} {:?}", error.diagnostics());
    assert!(all.contains(message), "{all}");
}

#[test]
fn bad_changes_are_clear_errors() {
    rejects(Ok(vec![set("rat=0.2")]), "the plan has no parameter `rat`; did you mean `rate`? (params: rate)");
    rejects(Change::parse_set("rate").map(|c| vec![c]), "needs NAME=VALUE");
    rejects(Change::parse_set("rate=abc").map(|c| vec![c]), "--set rate");
    rejects(Change::parse_set("rate=1,5").map(|c| vec![c]), "--set rate");
    rejects(Change::parse_scale("ea.bookings=1.1").map(|c| vec![c]), "no role `ea`");
    rejects(Change::parse_scale("team:north.bookings=1.1").map(|c| vec![c]), "no payee is in team `north`");
    rejects(Change::parse_scale("payee:p09.bookings=1.1").map(|c| vec![c]), "payee `p09` is not in the roster");
    rejects(Change::parse_scale("ae.bookngs=1.1").map(|c| vec![c]), "did you mean `bookings`?");
    rejects(Change::parse_scale("ae.bookings=-1").map(|c| vec![c]), "is negative");
    rejects(Change::parse_scale("ae.bookings=x").map(|c| vec![c]), "--scale ae.bookings");
    rejects(Change::parse_scale("bookings=1.1").map(|c| vec![c]), "SELECTOR.MEASURE=FACTOR");
    rejects(Change::parse_scale("company.ebitda=1.1").map(|c| vec![c]), "no company measure `ebitda`");
    rejects(Change::parse_scale("company.net_profit_pct=1.1").map(|c| vec![c]), "derived");
}

#[test]
fn factors_above_the_limit_are_refused() {
    let error = Change::scale(Selector::Role("ae".into()), "bookings", dec("5000")).unwrap_err();
    assert!(error.to_string().contains("above 1000"), "{error}");
}

fn overlay_error(text: &str) -> ScenarioError {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("change.yaml");
    std::fs::write(&path, text).unwrap();
    let change = Change::overlay(&accrue_engine::FileSystem, &path).unwrap();
    one_payee().simulate(vec![change]).unwrap_err()
}

#[test]
fn overlay_errors_point_into_the_overlay() {
    let error = overlay_error("params: {rate: 0.2}\nperiods: month\n");
    let diagnostic = &error.diagnostics()[0];
    let location = diagnostic.location.as_ref().unwrap();
    assert!(location.file.ends_with("change.yaml"), "{diagnostic}");
    assert_eq!((location.span.line, location.span.col), (2, 1), "{diagnostic}");
    assert!(diagnostic.message.contains("not `periods`"), "{diagnostic}");

    let error = overlay_error("roles:\n  sdr:\n    target_incentive: 1\n");
    assert!(error.to_string().contains("no role `sdr`"), "{error}");
    assert_eq!(error.diagnostics()[0].location.as_ref().unwrap().span.line, 2);

    let error = overlay_error("roles:\n  ae:\n    components:\n      - {type: tiered, measure: bookings}\n");
    assert!(error.to_string().contains("needs an `id`"), "{error}");
}

#[test]
fn a_broken_overlay_component_is_located_in_the_overlay() {
    let error = overlay_error(
        "params: {rate: 0.2}\nroles:\n  ae:\n    components:\n      - {id: commission, type: tiered, measure: bookngs}\n",
    );
    let diagnostic = error.diagnostics().iter().find(|d| d.message.contains("bookngs")).expect("located");
    let location = diagnostic.location.as_ref().unwrap();
    assert!(location.file.ends_with("change.yaml"), "{diagnostic}");
    assert_eq!(location.span.line, 5, "{diagnostic}");
}

#[test]
fn a_plan_b_that_fails_validation_is_an_error() {
    let memory: Arc<dyn accrue_engine::Sources> =
        Arc::new(Memory::new().with("b.yaml", "plan: b\nyear: 2027\nperiods: quarter\nroles: {}\n"));
    let error = one_payee().simulate(vec![Change::plan_b(memory, Path::new("b.yaml")).unwrap()]).unwrap_err();
    assert!(error.to_string().contains("plan B b.yaml is not valid"), "{error}");
    let memory: Arc<dyn accrue_engine::Sources> =
        Arc::new(Memory::new().with("b.yaml", &*ONE_PAYEE.replace("periods: quarter", "periods: month")));
    let error = one_payee().simulate(vec![Change::plan_b(memory, Path::new("b.yaml")).unwrap()]).unwrap_err();
    assert!(error.to_string().contains("same year and periods"), "{error}");
}

#[test]
fn the_sample_plans_simulate_and_the_baseline_is_what_run_pays() {
    for name in ["msp-fy2027", "saas-startup", "hardware-reseller"] {
        let case = Case::sample(name);
        let result = case.simulate(vec![]).unwrap();
        let plan = case.input.compile().unwrap();
        let facts = accrue_engine::Facts::index(&case.data, &plan, &Default::default()).unwrap();
        let run = accrue_engine::run(&plan, &facts);
        assert_eq!(result.baseline.total, run.totals.total.to_string(), "{name}");
        assert_eq!(result.delta.total, "0.00");
        assert!(result.winners.is_empty() && result.losers.is_empty());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// No changes: zero deltas everywhere.
    #[test]
    fn no_change_no_delta(rate in 1u32..30) {
        let case = Case::new(&ONE_PAYEE.replace("0.10", &format!("0.{rate:02}")), &[("roster.csv", ROSTER), ("deals.csv", DEALS)]);
        let result = case.simulate(vec![]).unwrap();
        prop_assert_eq!(result.delta.total, "0.00");
        prop_assert!(result.payees.iter().all(|p| p.delta.to_string() == "0.00"));
        prop_assert!(result.delta.by_period.values().all(|v| v == "0.00"));
    }

    /// Scale factors compose: f then 1/f gives the baseline where no rounding interferes
    /// (factors 2^a × 5^b, whose inverses terminate).
    #[test]
    fn factors_compose(a in 0u32..4, b in 0u32..3) {
        let factor = Decimal::from(2u32.pow(a) * 5u32.pow(b));
        let inverse = Decimal::ONE / factor;
        let there = Change::scale(Selector::Role("ae".into()), "bookings", factor).unwrap();
        let back = Change::scale(Selector::Role("ae".into()), "bookings", inverse).unwrap();
        let result = one_payee().simulate(vec![there, back]).unwrap();
        prop_assert_eq!(result.delta.total, "0.00");
    }
}

#[test]
fn an_invalid_plan_and_data_that_do_not_fit_are_different_errors() {
    // The plan does not compile: `Plan`, whatever its message says.
    let memory: Arc<dyn accrue_engine::Sources> =
        Arc::new(Memory::new().with("b.yaml", "plan: b\nyear: 2027\nperiods: quarter\nroles: {}\n"));
    let error = one_payee().simulate(vec![Change::plan_b(memory, Path::new("b.yaml")).unwrap()]).unwrap_err();
    assert!(matches!(error, ScenarioError::Plan { .. }), "{error:?}");
    // A valid plan B without the data's role: the data does not fit it.
    let memory: Arc<dyn accrue_engine::Sources> =
        Arc::new(Memory::new().with("b.yaml", &*ONE_PAYEE.replace("  ae:", "  se:")));
    let error = one_payee().simulate(vec![Change::plan_b(memory, Path::new("b.yaml")).unwrap()]).unwrap_err();
    assert!(matches!(error, ScenarioError::Data { .. }), "{error:?}");
    assert!(error.diagnostics().iter().any(|d| d.code == Some(accrue_engine::Code::DataUnknownRole)), "{error:?}");
    // The same for the baseline itself.
    let case = Case::new(ONE_PAYEE, &[("roster.csv", &*ROSTER.replace(",ae,", ",se,")), ("deals.csv", DEALS)]);
    let error = Baseline::new(&case.input, &case.data).unwrap_err();
    assert!(matches!(error, ScenarioError::Data { .. }), "{error:?}");
}
