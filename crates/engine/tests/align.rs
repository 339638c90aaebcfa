//! `align` (SPEC §12): the grid's P&L worked out, the centre cell equal to `accrue run`, and
//! the sample plans' verdicts with the reasons.

use std::path::Path;
use std::sync::Arc;

use accrue_engine::{AlignOptions, Alignment, DataSet, FileSystem, Memory, PlanInput, Scenario, align};
use rust_decimal::Decimal;

fn sample(name: &str) -> (PlanInput, DataSet) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plans").join(name);
    let input = PlanInput::read(Arc::new(FileSystem), &dir.join("plan.yaml"), Default::default()).unwrap();
    let data = DataSet::load(&dir.join("data")).unwrap();
    (input, data)
}

fn run_sample(name: &str) -> Alignment {
    let (input, data) = sample(name);
    align(&input, &data, &Scenario::default(), &AlignOptions::default()).unwrap()
}

fn centre(result: &Alignment) -> &accrue_engine::GridCell {
    result.cells.iter().find(|c| c.r == "1" && c.dm == "0").expect("the centre cell")
}

#[test]
fn the_centre_cell_pays_what_run_pays() {
    for name in ["msp-fy2027", "saas-startup", "hardware-reseller"] {
        let result = run_sample(name);
        let (input, data) = sample(name);
        let plan = input.compile().unwrap();
        let facts = accrue_engine::Facts::index(&data, &plan, &Default::default()).unwrap();
        let run = accrue_engine::run(&plan, &facts);
        let cell = centre(&result);
        assert_eq!(cell.total_comp, run.totals.total.to_string(), "{name}");
        for (role, amount) in &run.totals.by_role {
            assert_eq!(cell.by_role[role], amount.to_string(), "{name} {role}");
        }
        assert_eq!(result.cells.len(), 33, "11 × 3 cells");
    }
}

#[test]
fn the_hardware_reseller_is_misaligned_on_its_ae_accelerators() {
    let result = run_sample("hardware-reseller");
    assert_eq!(result.verdict, "misaligned");
    // At today's margin, from 110 % of revenue up, every AE past 120 % of quota earns 14 %
    // on bookings that bring 10.5 % of gross profit: AE pay rises, profit after comp falls.
    let finding = result
        .findings
        .iter()
        .find(|f| {
            f.role == "ae"
                && f.axis == Some("revenue")
                && f.at.as_deref() == Some("0")
                && f.from.as_deref() == Some("1.4")
        })
        .expect("the AE finding from 140 % to 150 % at today's margin");
    assert_eq!(finding.to.as_deref(), Some("1.5"));
    // Hand check (the sample's plan comments): 0.14 × 1,266,000 = 177,240.00 more AE pay.
    assert_eq!(finding.payout_change.as_deref(), Some("177240.00"));
    assert!(finding.profit_change.as_deref().is_some_and(|p| p.starts_with('-')));
    assert!(
        result.summary.iter().any(|s| s.starts_with("ae: from 110 % to 150 % of revenue at today's margin")),
        "{:?}",
        result.summary
    );
}

#[test]
fn msp_is_aligned_but_for_the_vcio_grr_artefact_of_the_grid() {
    // Every role of msp-fy2027 rises and falls with profit (see the plan's comments), except
    // the vCIO as the grid sees it: SPEC §12 scales every deal by r — churn and contraction
    // too — while the roster's `book_start` stays, so GRR = (book − contraction − churn) /
    // book falls as revenue grows and the vCIO's retention pay falls 1,828.84 a step while
    // profit after comp rises. Read downwards, pay rises while profit falls: a finding on
    // every revenue step, at every margin, and nothing else.
    let result = run_sample("msp-fy2027");
    let misaligned: Vec<_> = result.findings.iter().filter(|f| f.kind == "rises_while_profit_falls").collect();
    assert!(!misaligned.is_empty());
    assert!(misaligned.iter().all(|f| f.role == "vcio" && f.axis == Some("revenue")), "{misaligned:#?}");
    assert_eq!(misaligned.len(), 30);
    assert!(
        misaligned.iter().all(|f| f.from.as_deref().unwrap_or("") > f.to.as_deref().unwrap_or("")),
        "pay rises as revenue falls"
    );
    assert_eq!(result.summary.len(), 3, "{:?}", result.summary);
}

#[test]
fn the_saas_plan_is_aligned() {
    let result = run_sample("saas-startup");
    assert_eq!(result.verdict, "aligned", "{:?}", result.summary);
}

/// One AE at 20 % commission on revenue with a thin margin, a CEO on profit: the grid by
/// hand.
const THIN: &str = "\
plan: thin
year: 2027
periods: year
company:
  revenue: 1000000
  gross_profit: 100000
  net_profit: 40000
  budget_net_profit: 40000
roles:
  ae:
    motion: hunter
    components:
      - {id: commission, type: tiered, measure: bookings, tiers: [{from: 0, rate: 0.2}]}
  ceo:
    motion: executive
    target_incentive: 10000
    components:
      - id: profit
        type: profit_bonus
        profit_dollars: {weight: 1, curve: [[0, 0], [2, 2]]}
";

#[test]
fn a_thin_margin_grid_worked_by_hand() {
    let memory = Arc::new(
        Memory::new()
            .with("t/plan.yaml", THIN)
            .with("t/data/roster.csv", "id,name,role,quota\na,Ann,ae,100000\nc,Cy,ceo,\n")
            .with(
                "t/data/deals.csv",
                "id,owner,close_date,kind,amount,gross_margin\nd1,a,2027-03-01,new,100000,10000\n",
            ),
    );
    let input = PlanInput::read(memory.clone(), Path::new("t/plan.yaml"), Default::default()).unwrap();
    let data = DataSet::read(memory, Path::new("t/data")).unwrap();
    let options = AlignOptions {
        revenue: vec![Decimal::ONE, Decimal::new(11, 1)],
        margin: vec![Decimal::ZERO],
        follow: None,
        ..Default::default()
    };
    let result = align(&input, &data, &Scenario::default(), &options).unwrap();
    // r = 1: the AE earns 20,000 (other comp C₀); fixed costs X = 100,000 − 40,000 − 20,000
    // = 40,000. The CEO: 10,000 × 40,000 / 40,000 = 10,000. Profit after comp = 40,000 −
    // 10,000 = 30,000.
    assert_eq!(result.cells[0].by_role["ae"], "20000.00");
    assert_eq!(result.cells[0].by_role["ceo"], "10000.00");
    assert_eq!(result.cells[0].profit_after_comp, "30000.00");
    // r = 1.1: AE 22,000; GP' = 110,000; NP' = 110,000 − 40,000 − 22,000 = 48,000; CEO
    // 12,000; profit after comp 36,000. Everyone rises with profit: aligned.
    assert_eq!(result.cells[1].by_role["ae"], "22000.00");
    assert_eq!(result.cells[1].by_role["ceo"], "12000.00");
    assert_eq!(result.cells[1].profit_after_comp, "36000.00");
    assert_eq!(result.verdict, "aligned");
    assert_eq!(result.profit_linked["ceo"], vec!["profit".to_string()]);
    assert_eq!(result.executive_profit_share["ceo"].as_deref(), Some("1.000000"));
}

#[test]
fn a_company_measure_the_grid_needs_is_named_when_missing() {
    let plan = THIN.replace("  gross_profit: 100000\n", "");
    let memory = Arc::new(
        Memory::new()
            .with("t/plan.yaml", plan)
            .with("t/data/roster.csv", "id,name,role,quota\na,Ann,ae,100000\n")
            .with("t/data/deals.csv", "id,owner,close_date,kind,amount\n"),
    );
    let input = PlanInput::read(memory.clone(), Path::new("t/plan.yaml"), Default::default()).unwrap();
    let data = DataSet::read(memory, Path::new("t/data")).unwrap();
    let error = align(&input, &data, &Scenario::default(), &AlignOptions::default()).unwrap_err();
    assert!(error.to_string().contains("company `gross_profit`"), "{error}");
}
