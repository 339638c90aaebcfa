//! The lints of issue 16 item 5 as `accrue check` prints them: each with its file, line,
//! column, caret and help. Each plan is written to a temporary folder and checked from there,
//! so the snapshots name `plan.yaml` and nothing of the machine.

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

/// `accrue ARGS` run in `dir`.
fn accrue_in(dir: &Path, args: &[&str]) -> Output {
    let out = Command::cargo_bin("accrue").unwrap().current_dir(dir).env("NO_COLOR", "1").args(args).output().unwrap();
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// `accrue check plan.yaml` on `text`.
fn check(text: &str) -> Output {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("plan.yaml"), text).unwrap();
    accrue_in(dir.path(), &["check", "plan.yaml"])
}

const HEAD: &str = "plan: t\nyear: 2027\nperiods: quarter\n";

#[test]
fn a_rate_above_one_and_a_multiple_above_ten_are_warnings_with_the_fraction() {
    let out = check(&format!(
        "{HEAD}params:\n  accelerator: 12\nroles:\n  ae:\n    motion: hunter\n    target_incentive: 50000\n    components:\n      - id: new_arr\n        type: tiered\n        measure: bookings\n        tiers: [ {{ from: 0, rate: 5 }}, {{ from: 1, rate: $accelerator }} ]\n        cap: {{ multiple_of_target: 20 }}\n      - id: bonus\n        type: tiered\n        measure: bookings\n        basis: curve\n        curve: [[0.5, 0.5], [1.0, 100]]\n"
    ));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "plan.yaml: ok (with warnings)\n");
    insta::assert_snapshot!("rate_and_multiple_warnings", out.stderr);
}

#[test]
fn rates_at_one_and_multiples_at_ten_are_not_warned() {
    let out = check(&format!(
        "{HEAD}roles:\n  ae:\n    motion: hunter\n    target_incentive: 50000\n    components:\n      - id: new_arr\n        type: tiered\n        measure: bookings\n        tiers: [ {{ from: 0, rate: 1 }} ]\n        cap: {{ multiple_of_target: 10 }}\n"
    ));
    assert_eq!((out.code, out.stderr.as_str()), (0, ""));
}

#[test]
fn a_percent_where_a_fraction_goes_suggests_the_fraction() {
    let out = check(&format!(
        "{HEAD}roles:\n  ae:\n    motion: hunter\n    components:\n      - id: new_arr\n        type: tiered\n        measure: bookings\n        tiers: [ {{ from: 0, rate: 5% }} ]\n"
    ));
    assert_eq!(out.code, 1);
    insta::assert_snapshot!("percent_written_with_a_sign", out.stderr);
}

#[test]
fn a_company_key_near_a_read_one_is_a_warning_with_a_suggestion() {
    // `budget_revnue` is one letter off `budget_revenue` (the engine reads it for quota
    // coverage); `budget_new_arr` is read by a component, and `headcount` is near nothing.
    let out = check(&format!(
        "{HEAD}company:\n  budget_revnue: 6000000\n  budget_new_ar: 4000000\n  budget_new_arr: 4000000\n  headcount: 40\nroles:\n  pm:\n    motion: non_sales\n    target_incentive: 10000\n    components:\n      - id: arr\n        type: tiered\n        measure: company.new_arr\n        target: company.budget_new_arr\n        basis: curve\n        curve: [[0, 0], [1, 1]]\n"
    ));
    assert_eq!(out.code, 0, "{}", out.stderr);
    insta::assert_snapshot!("company_key_near_miss", out.stderr);
}

#[test]
fn a_company_csv_measure_near_a_read_one_is_a_warning_at_its_row() {
    let dir = tempfile::tempdir().unwrap();
    let src = root().join("plans/saas-startup");
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    std::fs::copy(src.join("plan.yaml"), dir.path().join("plan.yaml")).unwrap();
    for entry in std::fs::read_dir(src.join("data")).unwrap() {
        let entry = entry.unwrap();
        let text = std::fs::read_to_string(entry.path()).unwrap();
        // The first quarter's net profit, misspelt.
        let text = text.replacen("2027-Q1,net_profit,", "2027-Q1,net_proft,", 1);
        std::fs::write(dir.path().join("data").join(entry.file_name()), text).unwrap();
    }
    let out = accrue_in(dir.path(), &["check", "plan.yaml", "--data", "data"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    insta::assert_snapshot!("company_csv_near_miss", out.stderr);
}

#[test]
fn a_misspelt_key_is_reported_alone_not_through_another_lint() {
    // Without its target incentive a leader role would also have "0 % of its TI tied to
    // company profit": noise about a key that is not there.
    let out = check(&format!(
        "{HEAD}roles:\n  lead:\n    motion: leader\n    target_incentve: 70000\n    components:\n      - id: new_arr\n        type: tiered\n        measure: bookings\n        tiers: [ {{ from: 0, rate: 0.05 }} ]\n"
    ));
    assert_eq!(out.code, 1);
    insta::assert_snapshot!("misspelt_key_alone", out.stderr);
}

#[test]
fn yaml_indentation_errors_are_explained_in_words() {
    let cases = [
        // A key one space short of its neighbours.
        ("one_space_short", format!("{HEAD}roles:\n  ae:\n    motion: hunter\n   title: AE\n")),
        // A key indented under one that already has a value.
        ("under_a_value", "plan: t\nyear: 2027\n  periods: quarter\n".to_string()),
        // A tab.
        ("tab", format!("{HEAD}roles:\n\tae: {{}}\n")),
        // No space after the colon.
        ("no_space_after_colon", "plan: t\nyear:2027\nperiods: quarter\n".to_string()),
        // A list item out of line with the list.
        (
            "list_item",
            format!("{HEAD}roles:\n  ae:\n    components:\n      - id: a\n        type: tiered\n     - id: b\n"),
        ),
    ];
    for (name, text) in cases {
        let out = check(&text);
        assert_eq!(out.code, 1, "{name}");
        assert!(!out.stderr.contains("while parsing") && !out.stderr.contains("YAML syntax error"), "{}", out.stderr);
        insta::assert_snapshot!(format!("yaml_{name}"), out.stderr);
    }
}

#[test]
fn a_test_expecting_an_unknown_component_fails_with_a_suggestion() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(root().join("plans/saas-startup/plan.yaml"), dir.path().join("plan.yaml")).unwrap();
    std::fs::create_dir(dir.path().join("tests")).unwrap();
    let case = |name: &str, components: &str| {
        format!(
            "  - name: {name}\n    roster: [ {{ id: a1, name: AE, role: ae, quota: 1200000 }} ]\n    expect:\n      - {{ payee: a1, period: 2027-Q1, components: {{ {components} }} }}\n"
        )
    };
    let text = format!(
        "cases:\n{}{}{}",
        case("a misspelt component", "new_ar: 0.00"),
        // Nothing booked: a misspelt sub-line expecting 0 used to pass.
        case("a misspelt sub-line", "new_arr.clawbak: 0"),
        case("spelt right", "new_arr: 0.00, first_logos: 0")
    );
    std::fs::write(dir.path().join("tests/aes.yaml"), text).unwrap();
    let out = accrue_in(dir.path(), &["test", "plan.yaml"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        "tests/aes.yaml\n  FAILED  a misspelt component (tests/aes.yaml:2)\n          tests/aes.yaml:5:53: a1: role `ae` has no component `new_ar`; did you mean `new_arr`?\n  FAILED  a misspelt sub-line (tests/aes.yaml:6)\n          a1 2027-Q1 new_arr.clawbak: no such line; did you mean `new_arr`?\n  ok      spelt right\n\n1 passed, 2 failed\n"
    );
}

#[test]
fn the_sample_plans_have_no_new_warnings() {
    let expected = [
        ("hardware-reseller", 0),
        // Two data warnings the sample carries on purpose: a deal outside the plan year and
        // one outside employment.
        ("msp-fy2027", 2),
        ("saas-startup", 0),
    ];
    for (name, warnings) in expected {
        let out = accrue_in(&root().join("plans").join(name), &["check", "plan.yaml", "--data", "data"]);
        assert_eq!(out.code, 0, "{name}: {}", out.stderr);
        assert_eq!(out.stderr.matches('⚠').count(), warnings, "{name}: {}", out.stderr);
        assert!(!out.stderr.contains("lint."), "{name}");
        let plan_only = accrue_in(&root().join("plans").join(name), &["check", "plan.yaml"]);
        assert_eq!((plan_only.code, plan_only.stderr.as_str()), (0, ""), "{name}");
    }
}
