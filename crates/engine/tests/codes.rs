//! Stable error codes: plan, data and script problems and payee failures carry the code a
//! program matches on (the CLI's JSON and the HTTP API show it), and a script's failure stays
//! a typed `ScriptError` inside `EvalError` until it is printed.

mod common;

use accrue_engine::{Code, EvalError, ScriptErrorKind, ScriptHost};
use common::{ROSTER_ONE, Scenario, annual_plan, compile};

const DEALS: &str = "id,owner,close_date,kind,amount,gross_margin\nd1,p01,2027-03-01,new,250000,100000\n";

/// The code of the first error of compiling `plan`.
#[track_caller]
fn check_plan(plan: &str, expected: &str) {
    let problems = compile(plan).expect_err("the plan compiles");
    let first = problems.iter().find(|d| d.is_error()).unwrap();
    assert_eq!(first.code.map(Code::as_str), Some(expected), "{first}");
}

/// The code of the first error of loading `files` under a one-role plan.
#[track_caller]
fn check_data(files: &[(&str, &str)], expected: &str) {
    let plan = annual_plan("      - {id: c, type: tiered, measure: bookings, tiers: [{from: 0, rate: 0.1}]}\n");
    let problems = Scenario::new(&plan, files).facts().expect_err("the data loads");
    let first = problems.iter().find(|d| d.is_error()).unwrap();
    assert_eq!(first.code.map(Code::as_str), Some(expected), "{first}");
}

/// The code of the payee error of a run of `components`.
#[track_caller]
fn check_run(components: &str, script: Option<&str>, expected: &str) {
    let scenario = Scenario::new(&annual_plan(components), &[("roster.csv", ROSTER_ONE), ("deals.csv", DEALS)]);
    if let Some(body) = script {
        std::fs::write(scenario.dir.path().join("s.rhai"), body).unwrap();
    }
    let result = scenario.run();
    let error = result.errors.first().expect("a payee error");
    assert_eq!(error.code.as_str(), expected, "{error}");
}

#[test]
fn plan_problems_carry_their_code() {
    let tiered = "      - {id: c, type: tiered, measure: bookings, tiers: [{from: 0, rate: 0.1}]";
    check_plan(&annual_plan(&format!("{tiered}, thresold: 1}}\n")), "plan.unknown_key");
    check_plan(&annual_plan("      - {id: c, type: tierd}\n"), "plan.unknown_component_type");
    check_plan(&annual_plan(&format!("{tiered}}}\n").replace("id: c", "id: C")), "plan.bad_id");
    check_plan(&annual_plan(&format!("{tiered}}}\n").replace("bookings", "bokings")), "plan.unknown_measure");
    check_plan(&annual_plan(&format!("{tiered}}}\n").replace("0.1", "$rate")), "plan.unknown_parameter");
    check_plan(&annual_plan(&format!("{tiered}}}\n").replace("0.1", "1_000")), "plan.bad_number");
    check_plan(&annual_plan(&format!("{tiered}}}\n").replace("0.1", "-0.1")), "plan.invalid");
    check_plan("plan: t\nyear: [2027\n", "plan.yaml");
}

#[test]
fn data_problems_carry_their_code() {
    check_data(&[("deals.csv", DEALS)], "data.read");
    check_data(
        &[("roster.csv", ROSTER_ONE), ("deals.csv", &DEALS.replace("250000", "\"250,000\""))],
        "data.bad_number",
    );
    check_data(
        &[("roster.csv", ROSTER_ONE), ("deals.csv", &DEALS.replace("2027-03-01", "03/01/2027"))],
        "data.bad_date",
    );
    check_data(&[("roster.csv", &ROSTER_ONE.replace(",ae,", ",se,")), ("deals.csv", DEALS)], "data.unknown_role");
    let measures = "payee,period,measure,value\np01,2027,nps,9\n";
    check_data(&[("roster.csv", ROSTER_ONE), ("deals.csv", DEALS), ("measures.csv", measures)], "data.unknown_measure");
    let measures = "payee,period,measure,value\np01,2031,csat,9\n";
    check_data(&[("roster.csv", ROSTER_ONE), ("deals.csv", DEALS), ("measures.csv", measures)], "data.unknown_period");
    let measures = "payee,period,measure,value\np99,2027,csat,9\n";
    check_data(&[("roster.csv", ROSTER_ONE), ("deals.csv", DEALS), ("measures.csv", measures)], "data.unknown_payee");
    let roster = format!("{ROSTER_ONE}p01,Alice,ae,1000000\n");
    check_data(&[("roster.csv", &roster), ("deals.csv", DEALS)], "data.duplicate_id");
    let payments = "deal_id,payment_date,amount\nd2,2027-03-01,100\n";
    check_data(&[("roster.csv", ROSTER_ONE), ("deals.csv", DEALS), ("payments.csv", payments)], "data.unknown_deal");
    let payments = "deal_id,payment_date,amount\nd1,2027-03-01,250000.01\n";
    check_data(&[("roster.csv", ROSTER_ONE), ("deals.csv", DEALS), ("payments.csv", payments)], "data.invalid");
}

#[test]
fn payee_failures_carry_their_code() {
    let script = "      - {id: s, type: script, file: s.rhai}\n";
    check_run(script, Some("fn payout(ctx) { loop { } }"), "script.limit.operations");
    check_run(script, Some("fn f(n) { f(n + 1) } fn payout(ctx) { f(0) }"), "script.limit.call_depth");
    check_run(script, Some("fn payout(ctx) { let s = \"xxxxxxxxxx\"; loop { s += s; } }"), "script.limit.size");
    check_run(script, Some("fn payout(ctx) { \"a lot\" }"), "script.bad_return");
    check_run(script, Some("fn payout(ctx) { throw \"no\"; }"), "script.runtime");
    let profit = "      - {id: p, type: tiered, measure: bookings, target: company.revenue, basis: curve, curve: [[0, 0], [1, 1]]}\n";
    check_run(profit, None, "eval.missing_company");
}

#[test]
fn script_compile_problems_carry_their_code() {
    let scenario = Scenario::new(
        &annual_plan("      - {id: s, type: script, file: s.rhai}\n"),
        &[("roster.csv", ROSTER_ONE), ("deals.csv", DEALS)],
    );
    let codes = |body: &str| -> Vec<&'static str> {
        std::fs::write(scenario.dir.path().join("s.rhai"), body).unwrap();
        let problems = scenario.plan().expect_err(body);
        problems.iter().filter_map(|d| d.code).map(Code::as_str).collect()
    };
    assert_eq!(codes("fn payout(ctx) { 1 +"), ["script.syntax"]);
    assert_eq!(codes("fn pay(ctx) { 1 }"), ["script.missing_function"]);
    std::fs::remove_file(scenario.dir.path().join("s.rhai")).unwrap();
    let problems = scenario.plan().unwrap_err();
    assert_eq!(problems[0].code, Some(Code::ScriptRead), "{}", problems[0]);
}

#[test]
fn a_script_error_stays_typed_inside_eval_error() {
    let host = ScriptHost::default();
    let script = host.compile("s.rhai", "fn payout(ctx) {\n  loop { }\n}").unwrap();
    let error = host.call(&script, "payout", rhai::Dynamic::UNIT).unwrap_err();
    assert_eq!((error.kind, error.function.as_str()), (ScriptErrorKind::OperationLimit, "payout"));
    assert!(error.line >= 1 && error.col >= 1, "{error}");
    let eval = EvalError::from(error.clone());
    assert_eq!(eval, EvalError::Script(Box::new(error)));
    assert_eq!(eval.code(), Code::ScriptLimitOperations);
}
