//! What a finance user meets first: every subcommand's help, the spreadsheet CSV, the
//! `--period` view, and the path forms of `accrue test`.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

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

const MSP: &str = "plans/msp-fy2027/plan.yaml";
const MSP_DATA: &str = "plans/msp-fy2027/data";
const SAAS: &str = "plans/saas-startup/plan.yaml";
const SAAS_DATA: &str = "plans/saas-startup/data";

const SUBCOMMANDS: [&str; 11] =
    ["check", "run", "test", "curve", "explain", "simulate", "montecarlo", "align", "schema", "components", "help"];

#[test]
fn every_subcommand_has_help_for_every_argument() {
    let top = run(&["--help"]);
    assert_eq!(top.code, 0);
    insta::assert_snapshot!("help", top.stdout);
    assert!(top.stdout.trim_end().ends_with("The user guide is in docs/ (start with docs/README.md)."));
    for name in SUBCOMMANDS.iter().filter(|n| **n != "help") {
        let out = run(&[name, "--help"]);
        assert_eq!(out.code, 0, "{name}");
        // Every argument and flag line of the short help carries words after its name (clap
        // prints an option without help as the bare name).
        let short = run(&[name, "-h"]);
        let mut in_options = false;
        let lines: Vec<&str> = short.stdout.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            if line.ends_with(':') && !line.starts_with(' ') {
                in_options = *line == "Arguments:" || *line == "Options:";
                continue;
            }
            if in_options && line.starts_with("  ") && !line.starts_with("          ") {
                // The help is on the same line, or on the next when clap wraps long ones.
                let same = line.trim().split_once("  ").map_or("", |(_, help)| help.trim()).to_string();
                let next = lines.get(i + 1).filter(|l| l.starts_with("          ")).map_or("", |l| l.trim());
                assert!(!same.is_empty() || !next.is_empty(), "`accrue {name}`: `{}` has no help", line.trim());
            }
        }
        insta::assert_snapshot!(format!("help_{name}"), out.stdout);
    }
}

#[test]
fn the_csv_is_ready_for_a_spreadsheet() {
    let out = run(&["run", MSP, "--data", MSP_DATA, "--period", "2027-Q2", "--format", "csv"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    insta::assert_snapshot!("csv_msp_2027_q2", out.stdout);
    // Relief, self goals and the blend are rows of their own, with reason and approver.
    let out = run(&["run", SAAS, "--data", SAAS_DATA, "--period", "2027-Q3", "--format", "csv"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    insta::assert_snapshot!("csv_saas_2027_q3", out.stdout);

    let bom = Command::cargo_bin("accrue")
        .unwrap()
        .current_dir(root())
        .args(["run", MSP, "--data", MSP_DATA, "--format", "csv", "--bom"])
        .output()
        .unwrap();
    assert!(bom.stdout.starts_with(b"\xEF\xBB\xBFrecord,payee,"), "a UTF-8 byte-order mark, then the header");
    let misplaced = run(&["run", MSP, "--data", MSP_DATA, "--bom"]);
    assert_eq!(misplaced.code, 2);
    assert!(misplaced.stderr.contains("--bom applies to --format csv"), "{}", misplaced.stderr);
}

#[test]
fn a_period_view_shows_that_period_only() {
    let all = run(&["run", MSP, "--data", MSP_DATA]);
    assert!(all.stderr.contains("payee p06, 2027-Q3: no `csat` value"), "{}", all.stderr);
    let q2 = run(&["run", MSP, "--data", MSP_DATA, "--period", "2027-Q2"]);
    assert_eq!(q2.code, 0, "{}", q2.stderr);
    assert!(!q2.stderr.contains("2027-Q3"), "a Q3 warning in the Q2 view: {}", q2.stderr);
    assert!(q2.stderr.contains("closed outside the plan year"), "warnings of no period stay: {}", q2.stderr);
    // The header says which window attainment is measured over; lines differ here, so each
    // says its own.
    assert!(q2.stdout.contains("ATTAIN. (ytd/period)"), "{}", q2.stdout);
    assert!(q2.stdout.contains("96.67% ytd") && q2.stdout.contains("83.33% period"), "{}", q2.stdout);
    // The CEO has no quota: an empty cell, not 0.00.
    let ceo = q2.stdout.lines().find(|l| l.starts_with("p10")).unwrap();
    assert!(!ceo.contains("0.00  profit"), "{ceo}");
    assert!(ceo.contains("2027-Q2                profit"), "{ceo}");
}

#[test]
fn accrue_test_takes_every_path_form() {
    let last = |out: &Output| out.stdout.trim_end().lines().last().unwrap_or("").to_string();
    let all = run(&["test", "plans"]);
    assert_eq!(all.code, 0, "{}{}", all.stdout, all.stderr);
    assert_eq!(last(&all), last(&run(&["test"])), "a folder of plan folders runs them all");
    assert!(all.stdout.contains("plans/saas-startup/tests/sdrs.yaml"), "{}", all.stdout);

    let plan = run(&["test", MSP]);
    assert_eq!(plan.code, 0, "{}{}", plan.stdout, plan.stderr);
    assert!(plan.stdout.contains("plans/msp-fy2027/tests/hunters.yaml"), "{}", plan.stdout);
    assert!(!plan.stdout.contains("saas-startup"), "{}", plan.stdout);
    assert_eq!(last(&plan), last(&run(&["test", "plans/msp-fy2027"])));
    assert_eq!(last(&plan), last(&run(&["test", "plans/msp-fy2027/tests"])));
    let one = run(&["test", "plans/msp-fy2027/tests/hunters.yaml"]);
    assert_eq!(one.code, 0);
    assert!(last(&one).ends_with(" passed, 0 failed"), "the summary stays last: {}", one.stdout);

    let missing = run(&["test", "plans/nope"]);
    assert_eq!(missing.code, 2);
    assert!(missing.stderr.contains("plans/nope does not exist"), "{}", missing.stderr);
}
