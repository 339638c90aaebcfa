//! Generated hostile inputs (issue 15, "closing the classes"): plan YAML through validation,
//! each CSV loader, and scripts from a small grammar through the host. None may panic,
//! overflow the stack or hang; every failure must be a diagnostic or a typed error.
//!
//! CI runs a few cases per target; a longer run: `ACCRUE_FUZZ_CASES=100000 cargo test -p
//! accrue-engine --test fuzz` (see RELIABILITY.md).

use std::path::Path;

use accrue_engine::{DataSet, PlanSource, Registry, ScriptHost, ScriptLimits};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// Cases per target: `ACCRUE_FUZZ_CASES`, or a small default so CI stays fast.
fn runner() -> TestRunner {
    let cases = std::env::var("ACCRUE_FUZZ_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(64);
    TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() })
}

/// Pieces a plan is made of, some of them broken, to splice into plan text.
fn plan_text() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "plan: t\n",
        "year: 2027\n",
        "periods: quarter\n",
        "roles:\n  ae:\n    motion: hunter\n    components:\n",
        "      - {id: c, type: tiered, measure: bookings, tiers: [{from: 0, rate: 0.1}]}\n",
        "      - {id: k, type: kpi, items: []}\n",
        "      - &a {id: x, type: spiff}\n",
        "      - *a\n",
        "x: [[[[[[[[",
        "]]]]\n",
        "\0",
        "\u{feff}",
        "year: 99999999999999999999999\n",
        "  - \"\\u0000\"\n",
        "tiers: [{from: 1e28, rate: -1}]\n",
        "%TAG ! tag:x\n",
        "--- \n",
        ": :\n",
        "\t",
    ]);
    prop::collection::vec(prop_oneof![pieces.prop_map(str::to_string), "[ -~\n]{0,20}"], 0..24)
        .prop_map(|parts| parts.concat())
}

#[test]
fn plan_yaml_never_panics() {
    let registry = Registry::builtin();
    runner()
        .run(&plan_text(), |text| {
            if let Ok(source) = PlanSource::from_text(Path::new("fuzz/plan.yaml"), text) {
                let _ = source.compile(&registry, &Default::default());
            }
            Ok(())
        })
        .unwrap();
}

/// CSV-ish text with the files' real column names, numbers at the edges and broken quoting.
fn csv_text() -> impl Strategy<Value = String> {
    let cell = prop::sample::select(vec![
        "id",
        "owner",
        "close_date",
        "kind",
        "amount",
        "gross_margin",
        "cancelled_date",
        "p01",
        "new",
        "churn",
        "2027-02-01",
        "2027-13-40",
        "1000",
        "-1",
        "1e15",
        "1000000000000000.01",
        "79228162514264337593543950335",
        "0.1",
        "\"a,b\"",
        "\"",
        "",
        " ",
        "\u{feff}id",
        "NaN",
    ]);
    let row = prop::collection::vec(cell, 0..8).prop_map(|cells| cells.join(","));
    prop::collection::vec(row, 0..8).prop_map(|rows| rows.join("\n"))
}

#[test]
fn csv_loaders_never_panic() {
    let files = ["roster.csv", "deals.csv", "splits.csv", "measures.csv", "company.csv", "relief.csv"];
    let roster = "id,name,role,quota\np01,Alice,ae,1000000\n";
    runner()
        .run(&(prop::sample::select(files.to_vec()), csv_text()), |(file, text)| {
            let mut texts = vec![("roster.csv", roster), ("deals.csv", "id,owner,close_date,kind,amount\n")];
            texts.retain(|(name, _)| *name != file);
            texts.push((file, text.as_str()));
            let _ = DataSet::from_texts(Path::new("fuzz"), texts);
            Ok(())
        })
        .unwrap();
}

/// A script body from a small grammar: literals, nesting, loops, comparators, helpers.
fn script_text() -> impl Strategy<Value = String> {
    let leaf = prop::sample::select(vec![
        "1",
        "0",
        "-1",
        "0.5",
        "1000000000000000",
        "79228162514264337593543950335",
        "[]",
        "#{}",
        "\"s\"",
        "ctx",
        "[[0, 0.1]]",
        "[[1, 1], [0.5, 2]]",
    ])
    .prop_map(str::to_string);
    let expr = leaf.prop_recursive(4, 24, 3, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} + {b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} * {b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} / {b})")),
            inner.clone().prop_map(|a| format!("[{a}]")),
            inner.clone().prop_map(|a| format!("#{{x: {a}}}")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("tiered_marginal({a}, {b}, [[0, 0.1]])")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("curve({a}, {b})")),
            inner.clone().prop_map(|a| format!("{{ let v = [3, 1, {a}]; v.sort(|x, y| x - y); v[0] }}")),
            inner.clone().prop_map(|a| format!("{{ let v = [{a}]; for i in 0..50 {{ v = [v]; }} 1 }}")),
            inner.clone().prop_map(|a| format!("format_percent({a})")),
            inner.prop_map(|a| format!("round_money({a})")),
        ]
    });
    expr.prop_map(|body| format!("fn payout(ctx) {{ {body} }}"))
}

#[test]
fn scripts_never_panic() {
    let host = ScriptHost::new(ScriptLimits { max_operations: 20_000, ..ScriptLimits::default() });
    runner()
        .run(&script_text(), |text| {
            if let Ok(script) = host.compile("fuzz.rhai", &text) {
                let _ = host.call(&script, "payout", rhai::Dynamic::from_map(Default::default()));
            }
            Ok(())
        })
        .unwrap();
}
