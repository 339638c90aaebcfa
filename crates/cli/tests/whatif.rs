//! `accrue simulate`, `montecarlo` and `align` as a user runs them: exit codes, the table,
//! SPEC §12's JSON, and a clear message for every bad flag.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

struct Output {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(args: &[&str]) -> Output {
    let out = Command::cargo_bin("accrue").unwrap().current_dir(root()).args(args).output().unwrap();
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

const MSP: [&str; 3] = ["plans/msp-fy2027/plan.yaml", "--data", "plans/msp-fy2027/data"];

fn with<'a>(command: &'a str, args: &[&'a str]) -> Vec<&'a str> {
    let mut all = vec![command];
    all.extend(MSP);
    all.extend(args);
    all
}

/// Expects exit `code` and `message` on stderr.
#[track_caller]
fn fails(command: &str, args: &[&str], code: i32, message: &str) {
    let out = run(&with(command, args));
    assert_eq!(out.code, code, "stderr: {}", out.stderr);
    assert!(out.stderr.contains(message), "expected `{message}` in: {}", out.stderr);
}

#[test]
fn simulate_prints_a_table_and_json() {
    let out = run(&with("simulate", &["--set", "ae_base_rate=0.06", "--scale", "ae.bookings=1.1"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("set ae_base_rate: 0.05 → 0.06"), "{}", out.stdout);
    assert!(out.stdout.contains("Top winners"), "{}", out.stdout);
    assert!(out.stdout.contains("Cost of sales"), "{}", out.stdout);

    let out = run(&with("simulate", &["--set", "ae_base_rate=0.06", "--format", "json"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let json: Value = serde_json::from_str(&out.stdout).unwrap();
    for key in ["plan_hash", "data_hash", "scenario_hash", "baseline", "scenario", "delta", "cost_of_sales", "payees"] {
        assert!(json.get(key).is_some(), "{key} missing");
    }
    assert_eq!(json["changes"][0]["kind"], "set");
    assert_eq!(json["changes"][0]["from"], "0.05");
    // The baseline is what `accrue run` pays.
    let run_json: Value =
        serde_json::from_str(&run(&["run", MSP[0], "--data", MSP[2], "--format", "json"]).stdout).unwrap();
    assert_eq!(json["baseline"]["total"], run_json["totals"]["total"]);
}

#[test]
fn the_order_of_set_and_overlay_is_the_order_given() {
    let dir = tempfile::tempdir().unwrap();
    let overlay = dir.path().join("rate.yaml");
    std::fs::write(&overlay, "params: {ae_base_rate: 0.07}\n").unwrap();
    let overlay = overlay.to_str().unwrap();
    let total = |args: &[&str]| -> Value {
        let out = run(&with("simulate", &[args, &["--format", "json"]].concat()));
        assert_eq!(out.code, 0, "{}", out.stderr);
        serde_json::from_str::<Value>(&out.stdout).unwrap()["scenario"]["total"].clone()
    };
    let set_last = total(&["--overlay", overlay, "--set", "ae_base_rate=0.06"]);
    let overlay_last = total(&["--set", "ae_base_rate=0.06", "--overlay", overlay]);
    let only_six = total(&["--set", "ae_base_rate=0.06"]);
    let only_seven = total(&["--overlay", overlay]);
    assert_eq!(set_last, only_six);
    assert_eq!(overlay_last, only_seven);
    assert_ne!(only_six, only_seven);
}

#[test]
fn bad_simulate_flags_are_clear_errors() {
    fails("simulate", &["--set", "ae_rate=0.06"], 1, "no parameter `ae_rate`; did you mean `ae_base_rate`?");
    fails("simulate", &["--set", "ae_base_rate"], 2, "needs NAME=VALUE");
    fails("simulate", &["--set", "ae_base_rate=six"], 2, "--set ae_base_rate");
    fails("simulate", &["--scale", "ea.bookings=1.1"], 1, "no role `ea`");
    fails("simulate", &["--scale", "team:nowhere.bookings=1.1"], 1, "no payee is in team `nowhere`");
    fails("simulate", &["--scale", "payee:p99.bookings=1.1"], 1, "payee `p99` is not in the roster");
    fails("simulate", &["--scale", "ae.bookigns=1.1"], 1, "did you mean `bookings`?");
    fails("simulate", &["--scale", "ae.bookings=-0.1"], 2, "is negative");
    fails("simulate", &["--scale", "ae.bookings=lots"], 2, "--scale ae.bookings");
    fails("simulate", &["--overlay", "no/such/overlay.yaml"], 2, "does not exist");
    fails("simulate", &["--plan-b", "plans/saas-startup/plan.yaml"], 1, "a back-test needs the same year and periods");
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("b.yaml");
    let plan = std::fs::read_to_string(root().join(MSP[0])).unwrap().replace("rate: 0.08", "rate: eight");
    std::fs::write(&broken, plan).unwrap();
    fails("simulate", &["--plan-b", broken.to_str().unwrap()], 1, "plan B");
    fails("simulate", &["--plan-b", broken.to_str().unwrap()], 1, "b.yaml:");
}

#[test]
fn overlay_errors_name_the_overlay_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let overlay = dir.path().join("bad.yaml");
    std::fs::write(&overlay, "params:\n  ae_base_rate: 0.06\nperiods: month\n").unwrap();
    let out = run(&with("simulate", &["--overlay", overlay.to_str().unwrap()]));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("bad.yaml:3:1"), "{}", out.stderr);
    assert!(out.stderr.contains("not `periods`"), "{}", out.stderr);
}

#[test]
fn montecarlo_is_reproducible_and_writes_its_histogram() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("out/mc.svg");
    let args = ["--draws", "40", "--seed", "7", "--format", "json"];
    let first = run(&with("montecarlo", &args));
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert_eq!(first.stdout, run(&with("montecarlo", &args)).stdout);
    assert!(first.stderr.is_empty() || !first.stderr.contains('\r'), "no progress bar when stderr is not a terminal");
    let json: Value = serde_json::from_str(&first.stdout).unwrap();
    assert_eq!(json["draws"], 40);
    assert_eq!(json["budget"], "1320000.00", "Σ budget_comp of company.csv");
    assert!(json["p_over_budget"].is_string());
    assert_eq!(json["histogram"].as_array().unwrap().len(), 20);

    let out = run(&with("montecarlo", &["--draws", "40", "--seed", "7", "--svg", svg.to_str().unwrap()]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("Comp budget 1,320,000.00"), "{}", out.stdout);
    let drawing = std::fs::read_to_string(&svg).unwrap();
    assert!(drawing.starts_with("<svg") && drawing.contains("budget"), "{}", &drawing[..200.min(drawing.len())]);
}

#[test]
fn bad_montecarlo_flags_are_clear_errors() {
    fails("montecarlo", &["--draws", "0"], 2, "0 draws is outside 1..=100000");
    fails("montecarlo", &["--draws", "100001"], 2, "outside 1..=100000");
    fails("montecarlo", &["--correlation", "1.2"], 2, "the correlation 1.2 is outside 0..=1");
    fails("montecarlo", &["--spread", "ae=-0.2"], 2, "a spread is ≥ 0");
    fails("montecarlo", &["--spread", "ae"], 2, "needs ROLE=σ");
    fails("montecarlo", &["--spread", "sdr=0.2"], 2, "no role `sdr`");
    fails("montecarlo", &["--budget", "a lot"], 2, "--budget `a lot`");
}

#[test]
fn align_prints_the_verdict_first_and_draws_the_chart() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("align.svg");
    let out = run(&[
        "align",
        "plans/hardware-reseller/plan.yaml",
        "--data",
        "plans/hardware-reseller/data",
        "--svg",
        svg.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let first = out.stdout.lines().next().unwrap();
    assert!(first.contains("MISALIGNED"), "{first}");
    assert!(out.stdout.contains("ae: from 110 % to 150 % of revenue at today's margin"), "{}", out.stdout);
    assert!(std::fs::read_to_string(&svg).unwrap().contains("profit after comp"));

    let out = run(&["align", "plans/saas-startup/plan.yaml", "--data", "plans/saas-startup/data", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let json: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(json["verdict"], "aligned");
    assert_eq!(json["cells"].as_array().unwrap().len(), 33);
    let out = run(&with("align", &["--revenue", "0.9:1.1:0.1", "--margin=-0.05,0", "--format", "json"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let json: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(json["cells"].as_array().unwrap().len(), 6);
}

#[test]
fn bad_align_grids_are_usage_errors() {
    fails("align", &["--revenue", "0.5:1.5"], 2, "needs FROM:TO:STEP");
    fails("align", &["--revenue", "0.5:1.5:0"], 2, "the step must be above 0");
    fails("align", &["--revenue", "a:b:c"], 2, "the revenue grid: `a` is not a number");
    fails("align", &["--revenue", "0:200:1"], 2, "more than 101 steps");
    fails("align", &["--margin=x,0"], 2, "a margin shift: `x`");
}
