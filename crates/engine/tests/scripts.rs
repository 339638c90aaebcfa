//! The Rhai plugin host: exact decimals across the boundary, helpers that agree with the
//! built-ins, plugin types with `fn validate`, and a sandbox that hostile scripts cannot
//! escape or hang.

mod common;

use std::str::FromStr;

use accrue_engine::{Frac, ScriptHost, Tier, curve, tiered_marginal, tiered_retroactive};
use common::{Scenario, amount};
use rust_decimal::Decimal;

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

/// Runs `fn payout(ctx)` of `body` for one payee through a whole plan and returns the
/// amount, or the payee's error message.
fn run_script(body: &str) -> Result<String, String> {
    let plan = "plan: s\nyear: 2027\nperiods: year\nroles:\n  ae:\n    motion: hunter\n    target_incentive: 50000\n    components:\n      - {id: s, type: script, file: s.rhai, params: {rate: 0.1}}\n";
    let scenario = Scenario::new(
        plan,
        &[
            ("roster.csv", "id,name,role,quota\na,A,ae,1000000\n"),
            ("deals.csv", "id,owner,close_date,kind,amount,gross_margin\nd1,a,2027-03-01,new,250000,100000\n"),
        ],
    );
    std::fs::write(scenario.dir.path().join("s.rhai"), body).unwrap();
    let plan = scenario.plan().map_err(|d| d.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("\n"))?;
    let facts = accrue_engine::Facts::load(&scenario.dir.path().join("data"), &plan).unwrap();
    let result = accrue_engine::run(&plan, &facts);
    match result.errors.first() {
        Some(error) => Err(error.message.clone()),
        None => Ok(amount(&result, "a", "2027", "s")),
    }
}

#[test]
fn a_literal_in_a_script_is_an_exact_decimal() {
    assert_eq!(
        run_script("fn payout(ctx) { if type_of(0.05) != \"decimal\" { throw \"float\"; } 0.1 + 0.2 }"),
        Ok("0.30".into())
    );
    // 0.1 + 0.2 == 0.3 exactly, so this pays 1.00.
    assert_eq!(run_script("fn payout(ctx) { if 0.1 + 0.2 == 0.3 { 1 } else { 0 } }"), Ok("1.00".into()));
}

#[test]
fn ctx_carries_measures_quota_ti_params_and_payee() {
    let body = "fn payout(ctx) { #{ amount: ctx.measures.bookings * ctx.params.rate + ctx.quota / 1000000 + ctx.ti / 50000 + ctx.units.bookings, explain: ctx.payee.id + \" \" + ctx.period } }";
    // 250,000 × 0.1 + 1 + 1 + 1 deal
    assert_eq!(run_script(body), Ok("25003.00".into()));
}

#[test]
fn helpers_agree_with_the_built_ins() {
    let host = ScriptHost::default();
    let tiers = vec![
        Tier { from: d("0"), rate: d("0.05") },
        Tier { from: d("1"), rate: d("0.08") },
        Tier { from: d("1.5"), rate: d("0.12") },
    ];
    for (amount, quota) in
        [("1300000", "1000000"), ("999999.99", "1000000"), ("2500000", "1000000"), ("0", "1"), ("12345.67", "8910.11")]
    {
        let (a, q) = (d(amount), d(quota));
        let marginal = tiered_marginal(a, Frac::whole(q), &tiers).unwrap().0.value().unwrap();
        let retro = tiered_retroactive(a, Frac::whole(q), &tiers).unwrap().0;
        let script = format!(
            "fn payout(ctx) {{ let t = [[0, 0.05], [1.0, 0.08], [1.5, 0.12]]; [tiered_marginal({amount}, {quota}, t), tiered_retroactive({amount}, {quota}, t)] }}"
        );
        let out = eval_array(&host, &script);
        assert_eq!(out, vec![marginal, retro], "{amount} on {quota}");
    }
    let points = vec![(d("0.5"), d("0.25")), (d("1"), d("1")), (d("1.5"), d("2"))];
    for x in ["0.4", "0.5", "0.75", "1.3", "1.6"] {
        let built_in = curve(&points, Frac::whole(d(x)), false).unwrap().value().unwrap();
        let extrapolated = curve(&points, Frac::whole(d(x)), true).unwrap().value().unwrap();
        let script = format!(
            "fn payout(ctx) {{ let p = [[0.5, 0.25], [1, 1], [1.5, 2]]; [curve({x}, p), curve({x}, p, true)] }}"
        );
        assert_eq!(eval_array(&host, &script), vec![built_in, extrapolated], "curve at {x}");
    }
    let script = "fn payout(ctx) { [round_money(0.025), round_money(-0.005), round_money(12.5, 0), clamp(5, 0, 3), prorate(1200, 46, 91)] }";
    assert_eq!(
        eval_array(&host, script),
        vec![d("0.03"), d("-0.01"), d("13"), d("3"), d("1200") * d("46") / d("91")],
        "round_money is midpoint away from zero, unlike Rhai's banker's round"
    );
}

fn eval_array(host: &ScriptHost, text: &str) -> Vec<Decimal> {
    let script = host.compile("test.rhai", text).unwrap();
    host.call(&script, "payout", rhai::Dynamic::UNIT)
        .unwrap()
        .into_array()
        .unwrap()
        .into_iter()
        .map(|v| v.as_decimal().or_else(|_| v.as_int().map(Decimal::from)).unwrap())
        .collect()
}

#[test]
fn hostile_scripts_fail_their_line_and_the_run_goes_on() {
    let cases = [
        ("fn payout(ctx) { loop { } }", "operation limit"),
        ("fn f(n) { f(n + 1) } fn payout(ctx) { f(0) }", "nested calls too deeply"),
        ("fn payout(ctx) { let s = \"xxxxxxxxxx\"; loop { s += s; } }", "grew past the sandbox limit"),
        ("fn payout(ctx) { let a = [1]; loop { a += a; } }", "grew past the sandbox limit"),
        ("fn payout(ctx) { \"a lot\" }", "payout must return an amount"),
        ("fn payout(ctx) { ctx.quota / 0 }", "Division by zero"),
        ("fn payout(ctx) { eval(\"1\") }", "eval"),
        ("fn payout(ctx) { let t = timestamp(); 1 }", "timestamp"),
    ];
    for (body, expected) in cases {
        let message = run_script(body).expect_err(body);
        assert!(message.contains(expected), "{body}: {message}");
        assert!(message.contains("s.rhai"), "names the script: {message}");
    }
}

#[test]
fn script_errors_name_the_function_line_and_column() {
    let message = run_script("fn helper(x) {\n    x / 0\n}\nfn payout(ctx) {\n    helper(ctx.quota)\n}\n").unwrap_err();
    assert!(message.contains("s.rhai:2:7 in fn helper: Division by zero"), "{message}");
}

#[test]
fn syntax_errors_and_missing_payout_are_plan_errors() {
    let message = run_script("fn payout(ctx) {\n  let x = ;\n}").unwrap_err();
    assert!(message.contains("s.rhai:2:11: error: script syntax error"), "{message}");
    let message = run_script("fn pay(ctx) { 1 }").unwrap_err();
    assert!(message.contains("does not define `fn payout(ctx)`"), "{message}");
    let message = run_script("import \"other\" as o; fn payout(ctx) { 1 }").unwrap_err();
    assert!(message.contains("other"), "modules cannot be loaded: {message}");
}

#[test]
fn plugin_types_register_and_validate() {
    let plan = "plan: s\nyear: 2027\nperiods: quarter\nroles:\n  ae:\n    motion: hunter\n    components:\n      - id: logos\n        type: per_logo\n        window: period\n        params: {per_logo: 250}\n";
    let scenario = Scenario::new(
        plan,
        &[
            ("roster.csv", "id,name,role,quota\na,A,ae,1000000\n"),
            ("deals.csv", "id,owner,close_date,kind,amount\nd1,a,2027-03-01,new,1\nd2,a,2027-03-02,new,1\n"),
        ],
    );
    let components = scenario.dir.path().join("scripts/components");
    std::fs::create_dir_all(&components).unwrap();
    std::fs::write(
        components.join("per_logo.rhai"),
        "//! Pays per new logo.\nfn validate(params) { if params.per_logo > 1000 { [\"per_logo above 1,000 needs CFO sign-off\"] } else { [] } }\nfn payout(ctx) { ctx.units.bookings * ctx.params.per_logo }\n",
    )
    .unwrap();
    let r = scenario.run();
    assert_eq!(amount(&r, "a", "2027-Q1", "logos"), "500.00");

    std::fs::write(scenario.plan_path(), plan.replace("per_logo: 250", "per_logo: 5000")).unwrap();
    let diagnostics = scenario.plan().unwrap_err();
    let error = &diagnostics[0];
    assert!(error.message.contains("per_logo above 1,000 needs CFO sign-off"), "{error}");
    let span = error.location.as_ref().unwrap().span;
    assert_eq!((span.line, span.col), (11, 18), "points at the component's params in the plan");
}

#[test]
fn a_payee_whose_script_hangs_does_not_stop_the_others() {
    let plan = "plan: s\nyear: 2027\nperiods: year\nroles:\n  ae:\n    motion: hunter\n    components:\n      - {id: s, type: script, file: s.rhai}\n";
    let scenario = Scenario::new(
        plan,
        &[
            ("roster.csv", "id,name,role,quota\na,A,ae,1\nb,B,ae,1\n"),
            ("deals.csv", "id,owner,close_date,kind,amount\n"),
        ],
    );
    std::fs::write(scenario.dir.path().join("s.rhai"), "fn payout(ctx) { if ctx.payee.id == \"a\" { loop { } } 42 }")
        .unwrap();
    let r = scenario.run();
    assert_eq!(r.errors.len(), 1);
    assert_eq!(r.errors[0].payee.as_deref(), Some("a"));
    assert!(r.errors[0].message.contains("operation limit"), "{:?}", r.errors);
    assert_eq!(amount(&r, "b", "2027", "s"), "42.00");
}
