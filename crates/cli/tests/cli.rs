//! The `accrue` binary as a user runs it: exit codes, output formats, error rendering.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

fn accrue() -> Command {
    let mut cmd = Command::cargo_bin("accrue").unwrap();
    cmd.current_dir(root());
    cmd
}

const MSP: &str = "plans/msp-fy2027/plan.yaml";
const MSP_DATA: &str = "plans/msp-fy2027/data";

struct Output {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(args: &[&str]) -> Output {
    let out = accrue().args(args).output().unwrap();
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// A copy of the msp sample (and the shared scripts it uses) in a temporary folder, with
/// `edit` applied to one file. Returns the folder, the plan and the data directory.
fn broken_copy(file: &str, edit: impl Fn(&str) -> String) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let plan_dir = dir.path().join("plans/msp");
    std::fs::create_dir_all(plan_dir.join("data")).unwrap();
    std::fs::create_dir_all(dir.path().join("scripts/components")).unwrap();
    for script in ["scripts/margin_bonus.rhai", "scripts/components/new_logo_bonus.rhai"] {
        std::fs::copy(root().join(script), dir.path().join(script)).unwrap();
    }
    let src = root().join("plans/msp-fy2027");
    for entry in
        ["plan.yaml", "data/roster.csv", "data/deals.csv", "data/splits.csv", "data/measures.csv", "data/company.csv"]
    {
        let text = std::fs::read_to_string(src.join(entry)).unwrap();
        let text = if entry == file { edit(&text) } else { text };
        std::fs::write(plan_dir.join(entry), text).unwrap();
    }
    let (plan, data) = (plan_dir.join("plan.yaml"), plan_dir.join("data"));
    (dir, plan, data)
}

#[test]
fn run_prints_a_readable_table() {
    let out = run(&["run", MSP, "--data", MSP_DATA]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("Totals by role"));
    assert!(out.stdout.contains("p01    Alice Ng"));
    assert!(out.stdout.contains("17,400.00"));
}

#[test]
fn run_json_has_the_spec_shape() {
    let out = run(&["run", MSP, "--data", MSP_DATA, "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let json: Value = serde_json::from_str(&out.stdout).unwrap();
    for key in ["plan", "plan_hash", "data_hash", "currency", "periods", "statements", "totals", "warnings", "errors"] {
        assert!(json.get(key).is_some(), "missing {key}");
    }
    assert_eq!(json["plan"], "msp-fy2027");
    assert_eq!(json["plan_hash"].as_str().unwrap().len(), 64);
    let statement = &json["statements"][0];
    for key in ["payee", "role", "period", "quota", "adjustments", "lines", "total"] {
        assert!(statement.get(key).is_some(), "statement lacks {key}");
    }
    assert_eq!(statement["quota"], "300000.00");
    let line = &statement["lines"][0];
    assert_eq!(line["component"], "new_business");
    assert_eq!(line["amount"], "17400.00");
    assert_eq!(line["attainment"], "1.1");
    assert!(line["explain"].as_str().unwrap().contains("8% on 30,000.00"));
    assert!(line["trace"].is_object());
    // Every amount is a string with two places, never -0.00.
    for s in json["statements"].as_array().unwrap() {
        for l in s["lines"].as_array().unwrap() {
            let amount = l["amount"].as_str().unwrap();
            assert!(amount.split_once('.').is_some_and(|(_, cents)| cents.len() == 2), "{amount}");
            assert_ne!(amount, "-0.00");
        }
    }
    let by_role = json["totals"]["by_role"].as_object().unwrap();
    assert_eq!(by_role.len(), 8, "every role is listed");
    assert_eq!(json["totals"]["by_period"].as_object().unwrap().len(), 4);
}

#[test]
fn run_one_period_to_a_file_and_as_csv() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("q2.json");
    let out = run(&[
        "run",
        MSP,
        "--data",
        MSP_DATA,
        "--period",
        "2027-Q2",
        "--format",
        "json",
        "--out",
        file.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert!(json["statements"].as_array().unwrap().iter().all(|s| s["period"] == "2027-Q2"));
    // ytd still counts Q1: Alice's Q2 new_business is 29,000 less 17,400 paid in Q1.
    assert_eq!(json["statements"][0]["lines"][0]["amount"], "11600.00");

    let out = run(&["run", MSP, "--data", MSP_DATA, "--format", "csv"]);
    assert_eq!(out.code, 0);
    assert!(out.stdout.starts_with(
        "record,payee,name,role,period,quota,component,amount,attainment,window,adjustment_amount,adjustment_factor,explain,reason,approved_by\n"
    ));
    assert!(out.stdout.contains("line,p01,Alice Ng,ae,2027-Q1,300000.00,new_business,17400.00,1.1,ytd,,,"));
}

#[test]
fn an_unknown_period_is_a_usage_error() {
    let out = run(&["run", MSP, "--data", MSP_DATA, "--period", "2027-Q7"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("2027-Q7 is not a period"), "{}", out.stderr);
    assert_eq!(run(&["run", MSP]).code, 2, "--data is required");
}

#[test]
fn a_missing_plan_file() {
    let out = run(&["run", "plans/nope/plan.yaml", "--data", MSP_DATA]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("cannot read plan file plans/nope/plan.yaml"), "{}", out.stderr);
}

#[test]
fn a_plan_error_shows_file_line_column_and_caret() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.yaml");
    let text = "plan: t\nyear: 2027\nperiods: quarter\nroles:\n  ae:\n    motion: hunter\n    components:\n      - id: c\n        type: tiered\n        measure: bookings\n        thresold: 0.25\n        tiers: [{from: 0, rate: 0.1}]\n";
    std::fs::write(&plan, text).unwrap();
    let out = run(&["check", plan.to_str().unwrap()]);
    assert_eq!(out.code, 1);
    let rendered = out.stderr.replace(plan.to_str().unwrap(), "plan.yaml");
    insta::assert_snapshot!("unknown_key_diagnostic", rendered);

    std::fs::write(&plan, text.replace("motion: hunter", "motion: [hunter")).unwrap();
    let out = run(&["run", plan.to_str().unwrap(), "--data", MSP_DATA]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("the `[` on line 6 is not closed"), "{}", out.stderr);
    assert!(out.stderr.contains("plan.yaml:6:13]"), "{}", out.stderr);
}

#[test]
fn a_bad_data_row_fails_the_run_with_its_location() {
    let (_dir, plan, data) = broken_copy("data/deals.csv", |t| {
        t.replacen("D0001,p01,2027-02-10,new,180000", "D0001,p01,2027-02-10,new,\"180,000\"", 1)
    });
    let out = run(&["run", plan.to_str().unwrap(), "--data", data.to_str().unwrap()]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("deals.csv:2:26"), "{}", out.stderr);
    assert!(out.stderr.contains("digit separator"), "{}", out.stderr);
    assert!(out.stdout.is_empty(), "no statements on bad data");
}

#[test]
fn a_payee_error_lists_the_payee_and_still_outputs_the_others() {
    let (_dir, plan, data) = broken_copy("data/roster.csv", |t| {
        t.replacen("p04,Dev Raman,ae,west,p09,,,1200000", "p04,Dev Raman,ae,west,p09,,,0", 1)
    });
    let out = run(&["run", plan.to_str().unwrap(), "--data", data.to_str().unwrap(), "--format", "json"]);
    assert_eq!(out.code, 1);
    let json: Value = serde_json::from_str(&out.stdout).unwrap();
    let statements = json["statements"].as_array().unwrap();
    assert!(statements.iter().all(|s| s["payee"] != "p04"));
    assert!(statements.iter().any(|s| s["payee"] == "p01"));
    let errors = json["errors"].as_array().unwrap();
    assert!(errors.iter().all(|e| e["payee"] == "p04"));
    assert!(errors[0]["message"].as_str().unwrap().contains("zero quota"));
    assert!(errors[0]["code"].as_str().unwrap().starts_with("eval."), "{}", errors[0]);
    assert!(out.stderr.contains("payee p04"), "{}", out.stderr);

    // In a spreadsheet the failed payee is a row with its error, not a silent gap.
    let csv = run(&["run", plan.to_str().unwrap(), "--data", data.to_str().unwrap(), "--format", "csv"]);
    assert_eq!(csv.code, 1);
    let error_rows: Vec<&str> = csv.stdout.lines().filter(|l| l.starts_with("error,")).collect();
    assert!(!error_rows.is_empty() && error_rows.iter().all(|r| r.starts_with("error,p04,")), "{}", csv.stdout);
    assert!(error_rows[0].contains("zero quota"), "{error_rows:?}");
    assert!(csv.stdout.lines().any(|l| l.starts_with("line,p01,")));
}

#[test]
fn check_json_gives_each_diagnostic_a_code() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.yaml");
    let text = "plan: t\nyear: 2027\nperiods: quarter\nroles:\n  ae:\n    motion: hunter\n    components:\n      - id: c\n        type: tiered\n        measure: bookings\n        thresold: 0.25\n        tiers: [{from: 0, rate: 0.1}]\n";
    std::fs::write(&plan, text).unwrap();
    let out = run(&["check", plan.to_str().unwrap(), "--format", "json"]);
    assert_eq!(out.code, 1);
    let json: Value = serde_json::from_str(&out.stdout).unwrap();
    let first = &json["diagnostics"][0];
    assert_eq!(first["code"], "plan.unknown_key", "{first}");
    assert_eq!(first["severity"], "error", "{first}");
}

#[test]
fn check_passes_the_samples() {
    let out = run(&["check", MSP, "--data", MSP_DATA]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = run(&["check", MSP, "--format", "json"]);
    let json: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(json["ok"], true);
}

#[test]
fn components_lists_the_catalogue() {
    let out = run(&["components", "--format", "json"]);
    assert_eq!(out.code, 0);
    let json: Value = serde_json::from_str(&out.stdout).unwrap();
    let names: Vec<_> = json.as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap().to_string()).collect();
    assert_eq!(
        names,
        ["tiered", "profit_bonus", "retention", "kpi", "grid", "pool", "spiff", "draw", "script", "new_logo_bonus"]
    );
    let plugin = &json.as_array().unwrap()[9];
    assert!(plugin["summary"].as_str().unwrap().starts_with("New-logo bonus"), "{plugin}");
    // Keys come from the types that read them: names, kinds, defaults, required.
    let tiered = &json[0]["keys"];
    let key = |name: &str| tiered.as_array().unwrap().iter().find(|k| k["name"] == name).cloned().unwrap();
    assert_eq!(key("tiers")["type"], "list of {from, rate}");
    assert_eq!(key("window")["type"], "ytd | period | ytd_annual");
    assert_eq!(key("window")["default"], "ytd");
    assert_eq!(key("measure")["required"], true);
    assert!(key("threshold")["description"].as_str().unwrap().contains("pays 0"));

    let schema = run(&["schema"]);
    assert_eq!(schema.code, 0);
    let schema: Value = serde_json::from_str(&schema.stdout).unwrap();
    let committed: Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("plan.schema.json")).unwrap()).unwrap();
    assert_eq!(schema, committed, "accrue schema prints what plan.schema.json holds");
}

#[test]
fn the_sample_plans_pass_their_test_cases() {
    let out = run(&["test"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains(" passed, 0 failed"), "{}", out.stdout);
    assert!(out.stdout.contains("ok      an AE at exactly 100 % of quota sits on the tier boundary"), "{}", out.stdout);
}

#[test]
fn a_failing_test_case_shows_the_difference() {
    let dir = tempfile::tempdir().unwrap();
    let tests = dir.path().join("tests");
    std::fs::create_dir(&tests).unwrap();
    let plan = root().join("plans/msp-fy2027/plan.yaml");
    let text = format!(
        "plan: {}\ncases:\n  - name: wrong on purpose\n    roster: [ {{ id: t1, name: T, role: ae, quota: 1200000 }} ]\n    deals: [ {{ id: d1, owner: t1, close_date: 2027-02-01, kind: new, amount: 300000, gross_margin: 120000 }} ]\n    expect:\n      - {{ payee: t1, period: 2027-Q1, components: {{ new_business: 15000.01, nope: 1 }}, total: 1 }}\n      - {{ payee: t9, error: anything }}\n",
        plan.display()
    );
    std::fs::write(tests.join("wrong.yaml"), text).unwrap();
    let out = run(&["test", dir.path().to_str().unwrap()]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(out.stdout.contains("FAILED  wrong on purpose"), "{}", out.stdout);
    assert!(out.stdout.contains("t1 2027-Q1 new_business: expected 15,000.01, got 15,000.00"), "{}", out.stdout);
    assert!(
        out.stdout.contains(
            "tests/wrong.yaml:7:77: t1: role `ae` has no component `nope`; its components: new_business, attainment_bonus, new_logos"
        ),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("nope: no such line"), "{}", out.stdout);
    assert!(out.stdout.contains("t1 2027-Q1 total: expected 1.00, got "), "{}", out.stdout);
    assert!(out.stdout.contains("t9: expected an error containing \"anything\", got no error"), "{}", out.stdout);
    assert!(out.stdout.contains("0 passed, 1 failed"), "{}", out.stdout);
}

#[test]
fn curve_prints_a_table_and_writes_an_svg() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("ae.svg");
    let out =
        run(&["curve", MSP, "--role", "ae", "--quota", "1200000", "--steps", "4", "--svg", svg.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    // 0 %, 50 %, 100 %, 150 %, 200 % of 1,200,000; at 100 %: 5 % × 1,200,000 and the curve's
    // 1.0 × 60,000 × 0.5 (paid per quarter, 7,500 × 4); at 200 % the commission is capped at
    // 2 × 60,000.
    assert!(out.stdout.contains("ATTAINMENT  new_business  attainment_bonus  new_logos"), "{}", out.stdout);
    assert!(out.stdout.contains("      100%     60,000.00         30,000.00   2,000.00   92,000.00"), "{}", out.stdout);
    assert!(out.stdout.contains("      200%    120,000.00         60,000.00   2,000.00  182,000.00"), "{}", out.stdout);
    assert!(
        out.stdout.contains("new_business: 100% 8% from here, 150% 12% from here; cap 120,000.00"),
        "{}",
        out.stdout
    );
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.starts_with("<svg"), "an SVG document");
    assert!(text.contains("quota (100%)") && text.contains("New business cap $120,000"), "marks the quota and the cap");

    // A role paid only on profit has no quota curve: a clear message and exit 1, not a flat
    // zero chart.
    let executives = run(&["curve", MSP, "--role", "ceo"]);
    assert_eq!(executives.code, 1, "{}", executives.stdout);
    assert!(executives.stdout.is_empty());
    assert!(
        executives.stderr.contains("role `ceo` (Chief Executive Officer) has no pay on quota attainment"),
        "{}",
        executives.stderr
    );
    assert!(executives.stderr.contains("profit: a `profit_bonus` component does not pay on attainment of the quota"));
    assert!(executives.stderr.contains("accrue explain plans/msp-fy2027/plan.yaml --role ceo"));

    assert_eq!(run(&["curve", MSP, "--role", "nobody"]).code, 2);
    let json = run(&["curve", MSP, "--role", "enterprise_ae", "--format", "json", "--steps", "2"]);
    let value: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(value["points"].as_array().unwrap().len(), 3);
}

#[test]
fn curve_and_catalogue_outputs_read_well() {
    let curve = run(&["curve", MSP, "--role", "enterprise_ae", "--quota", "2500000", "--steps", "8", "--to", "1.6"]);
    assert_eq!(curve.code, 0, "{}", curve.stderr);
    // Retroactive tiers jump at 80 % and 120 %: at 120 % of 2,500,000 the whole 3,000,000
    // pays 9 % = 270,000; just below, at 100 %, 6 % of 2,500,000 = 150,000. Below 25 %, nothing.
    insta::assert_snapshot!("enterprise_curve", curve.stdout);
    let components = run(&["components"]);
    insta::assert_snapshot!("components", components.stdout);
}

#[test]
fn explain_prints_markdown_and_writes_html() {
    let out = run(&["explain", MSP, "--role", "ae"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.starts_with("# Account Executive (`ae`): how your pay works"), "{}", out.stdout);
    assert!(out.stdout.contains("| 125% | 1,250,000.00 | 70,000.00 | 45,000.00 | 2,000.00 | 117,000.00 |"));
    // A bigger quota moves the money in the words and the table.
    let out = run(&["explain", MSP, "--role", "ae", "--quota", "2e6"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("5% on the part up to 100% of quota (2,000,000.00)"), "{}", out.stdout);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ae.html");
    let out = run(&["explain", MSP, "--role", "ae", "--format", "html", "--out", file.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.is_empty());
    let html = std::fs::read_to_string(&file).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
    assert!(html.contains("<td class=\"n\">117,000.00</td>"));
}

#[test]
fn explain_words_a_team_pool_on_cash_collected() {
    const SHAPES: &str = "plans/msp-fy2027/tests/shapes/plan.yaml";
    let out = run(&["explain", SHAPES, "--role", "pool_cash_rep"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("it holds 1% of the cash the team collects (payments received on its members' new deals)"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("If nobody in the team qualifies for a share, the pool pays nothing."));
    // An equal split gives every member employed a share: no "nobody qualifies" sentence.
    let out = run(&["explain", SHAPES, "--role", "pool_sdr"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("It is split equally among the members"), "{}", out.stdout);
    assert!(!out.stdout.contains("nobody in the team qualifies"), "{}", out.stdout);
}

#[test]
fn explain_rejects_an_unknown_role_and_a_bad_quota() {
    let out = run(&["explain", MSP, "--role", "cfo"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("no role `cfo` in plan msp-fy2027 (roles: ae, enterprise_ae,"), "{}", out.stderr);
    assert!(out.stdout.is_empty());
    for quota in ["1,000,000", "0", "-5", "lots"] {
        let flag = format!("--quota={quota}");
        let out = run(&["explain", MSP, "--role", "ae", &flag]);
        assert_eq!(out.code, 2, "{quota}: {}", out.stderr);
        assert!(out.stderr.starts_with("error: --quota"), "{quota}: {}", out.stderr);
    }
}
