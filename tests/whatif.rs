//! The what-if analyses on the sample plans, snapshotted (SPEC §12): `simulate`,
//! `montecarlo` (a small N) and `align`. Hashes are redacted (they change with any edit of
//! a sample); every amount is the engine's exact string. One payee of each is checked by
//! hand below, so the snapshots are read, not blindly accepted.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use accrue_engine::{
    AlignOptions, Baseline, Change, DataSet, FileSystem, MonteCarloOptions, PlanInput, Scenario, SimulateOptions,
};
use insta::assert_yaml_snapshot;

fn sample(name: &str) -> (PlanInput, DataSet) {
    let dir: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plans").join(name);
    let input = PlanInput::read(Arc::new(FileSystem), &dir.join("plan.yaml"), Default::default()).unwrap();
    let data = DataSet::load(&dir.join("data")).unwrap();
    (input, data)
}

fn simulate(name: &str, changes: Vec<Change>) -> accrue_engine::Simulation {
    let (input, data) = sample(name);
    let baseline = Baseline::new(&input, &data).unwrap();
    accrue_engine::simulate(&input, &data, &baseline, &Scenario::new(changes), &SimulateOptions::default()).unwrap()
}

macro_rules! snapshot {
    ($name:expr, $value:expr) => {
        assert_yaml_snapshot!($name, $value, {
            ".plan_hash" => "[hash]", ".data_hash" => "[hash]", ".scenario_hash" => "[hash]",
        })
    };
}

#[test]
fn simulate_msp_ae_base_rate_from_5_to_6_percent() {
    let result = simulate("msp-fy2027", vec![Change::parse_set("ae_base_rate=0.06").unwrap()]);
    // By hand: the base rate is the marginal tier up to 100 % of quota. Alice (p01) booked
    // past her 1,200,000 quota, so one more point on that slice is 12,000.00; Femi (p06)
    // left in August with 630,000 of bookings, all in the first tier: 6,300.00. Carol (p03)
    // is at her 2× TI cap either way: 0.00.
    let delta = |id: &str| result.payees.iter().find(|p| p.payee == id).unwrap().delta.to_string();
    assert_eq!(delta("p01"), "12000.00");
    assert_eq!(delta("p06"), "6300.00");
    assert_eq!(delta("p03"), "0.00");
    snapshot!("simulate_msp_ae_base_rate", &result);
}

#[test]
fn simulate_saas_ae_bookings_10_percent_low() {
    let result = simulate("saas-startup", vec![Change::parse_scale("ae.bookings=0.9").unwrap()]);
    snapshot!("simulate_saas_ae_bookings_low", &result);
}

#[test]
fn simulate_hardware_reseller_super_rate_at_10_percent() {
    let result = simulate("hardware-reseller", vec![Change::parse_set("ae_super_rate=0.10").unwrap()]);
    snapshot!("simulate_hardware_super_rate", &result);
}

#[test]
fn montecarlo_msp_small() {
    let (input, data) = sample("msp-fy2027");
    let options = MonteCarloOptions { draws: 25, seed: 7, ..Default::default() };
    let result = accrue_engine::montecarlo(&input, &data, &Scenario::default(), &options, &|_| true).unwrap();
    // By hand: the budget is Σ budget_comp of company.csv, 310,000 + 320,000 + 335,000 +
    // 355,000 = 1,320,000.00; P(over budget) is the share of the 25 draws above it.
    assert_eq!(result.budget.as_deref(), Some("1320000.00"));
    let over = result.draw_totals.iter().filter(|t| **t > "1320000".parse().unwrap()).count();
    assert_eq!(
        result.p_over_budget,
        Some(format!("{:.6}", rust_decimal::Decimal::from(over) / rust_decimal::Decimal::from(25)))
    );
    snapshot!("montecarlo_msp", &result);
}

/// The verdict, findings and today's-margin row of the grid (the full grid is in the JSON).
fn alignment_view(name: &str) -> serde_json::Value {
    let (input, data) = sample(name);
    let result = accrue_engine::align(&input, &data, &Scenario::default(), &AlignOptions::default()).unwrap();
    let today: Vec<_> = result.cells.iter().filter(|c| c.dm == "0").collect();
    serde_json::json!({
        "verdict": result.verdict,
        "summary": result.summary,
        "profit_linked": result.profit_linked,
        "executive_profit_share": result.executive_profit_share,
        "coverage": result.coverage,
        "findings": result.findings,
        "cells_at_todays_margin": today,
    })
}

#[test]
fn align_sample_plans() {
    for name in ["msp-fy2027", "saas-startup", "hardware-reseller"] {
        assert_yaml_snapshot!(format!("align_{name}"), alignment_view(name));
    }
    // By hand, the hardware reseller's centre cell: comp is what `accrue run` pays,
    // 595,200.00; net profit before profit-linked pay is 283,000 (company.csv), and the
    // profit-linked pay is the CEO's 73,200.00 plus the sales manager's profit half
    // 36,600.00, so profit after comp is 283,000 − 109,800 = 173,200.00.
    let view = alignment_view("hardware-reseller");
    let centre = view["cells_at_todays_margin"].as_array().unwrap().iter().find(|c| c["r"] == "1").unwrap().clone();
    assert_eq!(centre["total_comp"], "595200.00");
    assert_eq!(centre["by_role"]["ceo"], "73200.00");
    assert_eq!(centre["profit_after_comp"], "173200.00");
}
