//! The benchmark's smallest size as a test: the engine and the hand-written baseline agree
//! to the cent (built-in, Rhai and what-if variants), whatever the thread count.

use accrue_bench::{Workload, baseline};
use accrue_engine::{Detail, Facts, PlanSource, Registry, RunOptions, ScriptLimits};
use rust_decimal::Decimal;

#[test]
fn engine_and_baseline_agree_to_the_cent() {
    let dir = tempfile::tempdir().unwrap();
    let files = Workload { payees: 300, deals_per_payee: 25, seed: 11 }.write(dir.path()).unwrap();
    let load = |path: &std::path::Path, rate: &str| {
        let registry = Registry::for_plan(path, ScriptLimits::default());
        let overrides = [("base_rate".to_string(), rate.parse::<Decimal>().unwrap())].into_iter().collect();
        PlanSource::read(path).unwrap().compile(&registry, &overrides).unwrap()
    };
    let plan = load(&files.plan, "0.05");
    let facts = Facts::load(&files.data, &plan).unwrap();
    let expected = baseline(&facts, Decimal::new(5, 2));
    assert!(expected > Decimal::from(1_000_000), "the workload pays something: {expected}");

    for detail in [Detail::Full, Detail::Amounts] {
        for threads in [1, 2] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            let result = pool
                .install(|| accrue_engine::run_with(&plan, &facts, &RunOptions { detail, ..RunOptions::default() }));
            assert!(result.errors.is_empty(), "{:?}", result.errors);
            assert_eq!(result.totals.total, expected, "{detail:?} on {threads} threads");
        }
    }
    // Deterministic whatever the thread count: every amount, not only the total.
    let amounts_on = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        let result = pool.install(|| accrue_engine::run(&plan, &facts));
        result
            .statements
            .iter()
            .flat_map(|s| s.lines.iter().map(|l| (s.payee.to_string(), l.amount)))
            .collect::<Vec<_>>()
    };
    assert_eq!(amounts_on(1), amounts_on(2));
    let full = accrue_engine::run(&plan, &facts);
    let lean = accrue_engine::run_with(&plan, &facts, &RunOptions { detail: Detail::Amounts, ..RunOptions::default() });
    let amounts = |r: &accrue_engine::RunResult| {
        r.statements.iter().flat_map(|s| s.lines.iter().map(|l| l.amount)).collect::<Vec<_>>()
    };
    assert_eq!(amounts(&full), amounts(&lean), "explaining does not change a cent");

    // A totals run (no statements) pays each payee, each period, what the statements say.
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        let totals = pool.install(|| accrue_engine::run_totals(&plan, &facts, &RunOptions::default()));
        assert_eq!(totals.totals.total, expected, "totals run on {threads} threads");
        assert_eq!(totals.totals.by_period, full.totals.by_period);
        let payees: Vec<&str> = facts.payees().iter().map(|p| p.id.as_str()).collect();
        for s in &full.statements {
            let p = payees.iter().position(|id| *id == s.payee.as_str()).unwrap();
            let k = totals.periods.iter().position(|label| *label == *s.period).unwrap();
            assert_eq!(totals.amount(p, k), Some(s.total), "{} {}", s.payee, s.period);
        }
    }

    let script = load(&files.script_plan, "0.05");
    let result = accrue_engine::run_totals(&script, &facts, &RunOptions::default());
    assert_eq!(result.totals.total, expected, "the Rhai variant");

    let what_if = load(&files.plan, "0.06");
    let result = accrue_engine::run_totals(&what_if, &facts, &RunOptions::default());
    assert_eq!(result.totals.total, baseline(&facts, Decimal::new(6, 2)), "what-if base_rate 0.06");
}
