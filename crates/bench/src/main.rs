//! `accrue-bench`: the scale benchmark. Generates a seeded workload, then reports ingest
//! throughput and evaluation time as ratios against a hand-written baseline run in the same
//! process — never as absolute targets.
//!
//! `cargo run --release -p accrue-bench -- --payees 10000,100000 --deals 100`

#![allow(clippy::float_arithmetic)] // timings and ratios, never money

use std::path::{Path, PathBuf};

/// The CLI's allocator, so that the benchmark measures what users run.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::process::Command;
use std::time::{Duration, Instant};

use accrue_bench::{Files, Workload, baseline};
use accrue_engine::{
    AlignOptions, Baseline, Change, DataSet, Detail, Facts, FileSystem, MonteCarloOptions, Plan, PlanInput, PlanSource,
    Registry, RunOptions, Scales, Scenario, ScriptLimits, SimulateOptions,
};
use anyhow::{Context, Result, bail};
use clap::Parser;
use rust_decimal::Decimal;

#[derive(Parser)]
#[command(about = "Accrue's scale benchmark: engine vs a hand-written Decimal loop")]
struct Args {
    /// Payee counts to measure, comma separated.
    #[arg(long, value_delimiter = ',', default_values_t = [10_000usize, 100_000])]
    payees: Vec<usize>,
    /// Deals per payee.
    #[arg(long, default_value_t = 100)]
    deals: usize,
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Where to write the generated data sets.
    #[arg(long, default_value = "target/bench-data")]
    dir: PathBuf,
    /// Repetitions of each timed step (the best is reported).
    #[arg(long, default_value_t = 3)]
    repeat: usize,
    /// Also time `accrue run --format json` end to end (needs target/release/accrue).
    #[arg(long)]
    end_to_end: bool,
    /// Also time the what-if analyses: index vs ingest, simulate, Monte Carlo, align.
    #[arg(long)]
    analysis: bool,
    /// Monte Carlo draws of the headline row (at the smallest payee count).
    #[arg(long, default_value_t = 1000)]
    draws: u32,
    /// Only evaluate (amounts, one thread) this many times and print nothing: for profilers.
    #[arg(long, hide = true)]
    profile: Option<usize>,
    /// What `--profile` evaluates: engine (totals), statements, rhai (totals), baseline, or
    /// `simulate-set` / `simulate-scale` (the what-if rows' scenarios, one thread).
    #[arg(long, hide = true, default_value = "engine")]
    profile_what: String,
}

fn best<T>(repeat: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut last = None;
    for _ in 0..repeat.max(1) {
        let start = Instant::now();
        let value = f();
        best = best.min(start.elapsed());
        last = Some(value);
    }
    (best, last.expect("ran at least once"))
}

fn in_pool<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .stack_size(accrue_engine::SCRIPT_THREAD_STACK)
        .build()
        .expect("a thread pool")
        .install(f)
}

fn load(path: &Path, overrides: &[(&str, &str)]) -> Result<Plan> {
    let registry = Registry::for_plan(path, ScriptLimits::default());
    let overrides = overrides.iter().map(|(k, v)| (k.to_string(), v.parse().expect("a decimal"))).collect();
    PlanSource::read(path)?.compile(&registry, &overrides).map_err(|d| anyhow::anyhow!("{d}"))
}

struct Row {
    step: String,
    time: Duration,
    note: String,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut rows = Vec::new();
    let mut eval_times = Vec::new();
    for &payees in &args.payees {
        let workload = Workload { payees, deals_per_payee: args.deals, seed: args.seed };
        let dir = args.dir.join(format!("p{payees}-d{}", args.deals));
        eprintln!("generating {payees} payees × {} deals in {} …", args.deals, dir.display());
        let files = workload.write(&dir)?;
        let plan = load(&files.plan, &[])?;
        let rows_in = files.deal_rows + files.measure_rows + payees;
        let (ingest, facts) = best(args.repeat.min(3), || Facts::load(&files.data, &plan));
        let facts = facts.map_err(|d| anyhow::anyhow!("{d}"))?;
        rows.push(Row {
            step: format!("ingest P={payees}"),
            time: ingest,
            note: format!("{:.2} M rows/s ({rows_in} rows)", rows_in as f64 / ingest.as_secs_f64() / 1e6),
        });

        if let Some(times) = args.profile {
            if let Some(change) = args.profile_what.strip_prefix("simulate-") {
                return profile_simulate(&files, change, times);
            }
            let options = RunOptions { detail: Detail::Amounts, ..RunOptions::default() };
            let plan = if args.profile_what == "rhai" { load(&files.script_plan, &[])? } else { plan };
            for _ in 0..times {
                match args.profile_what.as_str() {
                    "baseline" => drop(std::hint::black_box(in_pool(1, || baseline(&facts, Decimal::new(5, 2))))),
                    "statements" => {
                        drop(std::hint::black_box(in_pool(1, || accrue_engine::run_with(&plan, &facts, &options))))
                    }
                    _ => drop(std::hint::black_box(in_pool(1, || accrue_engine::run_totals(&plan, &facts, &options)))),
                }
            }
            return Ok(());
        }
        let rate = Decimal::new(5, 2);
        let (base, expected) = best(args.repeat, || in_pool(1, || baseline(&facts, rate)));
        rows.push(Row { step: format!("baseline P={payees} (1 thread)"), time: base, note: "1.00×".into() });
        let amounts = RunOptions { detail: Detail::Amounts, ..RunOptions::default() };
        let full = RunOptions { detail: Detail::Full, ..RunOptions::default() };
        let measure = Measure { repeat: args.repeat, threads, payees, base, expected };
        // Totals: what what-if and simulation runs compare (no statements built).
        let one = measure.engine(
            &mut rows,
            "totals",
            || accrue_engine::run_totals(&plan, &facts, &amounts),
            |r| r.totals.total,
        )?;
        eval_times.push((payees, one));
        for (label, options) in [("statements, amounts", &amounts), ("statements, explained", &full)] {
            measure.engine(&mut rows, label, || accrue_engine::run_with(&plan, &facts, options), |r| r.totals.total)?;
        }
        let script_plan = load(&files.script_plan, &[])?;
        let (script, result) =
            best(args.repeat, || in_pool(1, || accrue_engine::run_totals(&script_plan, &facts, &amounts)));
        check_total(&result.totals.total, &expected, "rhai")?;
        rows.push(Row {
            step: format!("rhai script, totals, P={payees} (1 thread)"),
            time: script,
            note: format!("{:.2}× baseline", ratio(script, base)),
        });
        let what_if_rate = Decimal::new(6, 2);
        let (what_if_base, expected) = best(args.repeat, || in_pool(1, || baseline(&facts, what_if_rate)));
        // The plan is parsed once and the data loaded, as in a what-if session: a change of
        // rate recompiles the plan with the override and runs it.
        let source = PlanSource::read(&files.plan)?;
        let registry = Registry::for_plan(&files.plan, ScriptLimits::default());
        let overrides = [("base_rate".to_string(), what_if_rate)].into_iter().collect();
        let (what_if, result) = best(args.repeat, || {
            in_pool(1, || {
                let plan = source.compile(&registry, &overrides).expect("the plan compiles");
                accrue_engine::run_totals(&plan, &facts, &amounts)
            })
        });
        check_total(&result.totals.total, &expected, "what-if")?;
        rows.push(Row {
            step: format!("what-if base_rate=0.06, P={payees} (1 thread)"),
            time: what_if,
            note: format!("{:.2}× baseline (recompile with the override + run)", ratio(what_if, what_if_base)),
        });
        if args.end_to_end {
            rows.push(end_to_end(&files)?);
        }
        if args.analysis {
            let draws = if Some(&payees) == args.payees.iter().min() { args.draws } else { 0 };
            analysis_rows(&mut rows, &files, payees, args.repeat, threads, draws)?;
        }
    }
    if let [(p0, t0), .., (p1, t1)] = eval_times.as_slice() {
        rows.push(Row {
            step: format!("scaling P={p0} → P={p1}"),
            time: *t1,
            note: format!("{:.1}× the time for {:.0}× the payees", ratio(*t1, *t0), *p1 as f64 / *p0 as f64),
        });
    }
    println!("| step | time | ratio |\n|---|---:|---|");
    for row in rows {
        println!("| {} | {:.3} s | {} |", row.step, row.time.as_secs_f64(), row.note);
    }
    Ok(())
}

/// What every engine row is measured against.
struct Measure {
    repeat: usize,
    threads: usize,
    payees: usize,
    /// The baseline's time and total.
    base: Duration,
    expected: Decimal,
}

impl Measure {
    /// Times `run` on 1 and on all threads (its result dropped outside the timing), checks its
    /// total against the baseline's, adds the two rows and returns the 1-thread time.
    fn engine<R: Send>(
        &self,
        rows: &mut Vec<Row>,
        label: &str,
        run: impl Fn() -> R + Send + Sync,
        total: impl Fn(&R) -> Decimal,
    ) -> Result<Duration> {
        let (one, result) = best(self.repeat, || in_pool(1, &run));
        check_total(&total(&result), &self.expected, label)?;
        let (many, _) = best(self.repeat, || in_pool(self.threads, &run));
        let payees = self.payees;
        rows.push(Row {
            step: format!("engine, {label}, P={payees} (1 thread)"),
            time: one,
            note: format!("{:.2}× baseline", ratio(one, self.base)),
        });
        rows.push(Row {
            step: format!("engine, {label}, P={payees} ({} threads)", self.threads),
            time: many,
            note: format!("{:.2}× speed-up over 1 thread", ratio(one, many)),
        });
        Ok(one)
    }
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(1e-9)
}

fn check_total(engine: &Decimal, baseline: &Decimal, what: &str) -> Result<()> {
    if engine != baseline {
        bail!("{what}: the engine's total {engine} differs from the baseline's {baseline}");
    }
    Ok(())
}

/// `accrue run --format json --out` on the workload, under `/usr/bin/time -v` when present.
fn end_to_end(files: &Files) -> Result<Row> {
    let binary = PathBuf::from("target/release/accrue");
    if !binary.exists() {
        bail!("--end-to-end needs target/release/accrue: run `cargo build --release` first");
    }
    let out = files.dir.join("run.json");
    let time = Path::new("/usr/bin/time");
    let mut command = if time.exists() {
        let mut c = Command::new(time);
        c.arg("-v").arg(&binary);
        c
    } else {
        Command::new(&binary)
    };
    command.args(["run", "--format", "json", "--data"]).arg(&files.data).arg("--out").arg(&out).arg(&files.plan);
    let start = Instant::now();
    let output = command.output().context("running accrue")?;
    let elapsed = start.elapsed();
    if !output.status.success() {
        bail!("accrue run failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let rss = stderr
        .lines()
        .find_map(|l| l.trim().strip_prefix("Maximum resident set size (kbytes): "))
        .and_then(|kb| kb.trim().parse::<f64>().ok())
        .map_or("peak RSS not measured (no /usr/bin/time)".to_string(), |kb| format!("peak RSS {:.0} MB", kb / 1024.0));
    Ok(Row {
        step: format!("accrue run --format json, {} deals", files.deal_rows),
        time: elapsed,
        note: format!("{rss}; output {} MB", std::fs::metadata(&out).map_or(0, |m| m.len()) / 1_000_000),
    })
}

/// `--profile N --profile-what simulate-set|simulate-scale`: N simulations of the what-if
/// rows' scenario on one thread, for a profiler.
fn profile_simulate(files: &Files, change: &str, times: usize) -> Result<()> {
    let data = DataSet::load(&files.data).map_err(|d| anyhow::anyhow!("{d}"))?;
    let input = PlanInput::read(std::sync::Arc::new(FileSystem), &files.plan, ScriptLimits::default())
        .map_err(|d| anyhow::anyhow!("{d}"))?;
    let baseline = Baseline::new(&input, &data).map_err(|e| anyhow::anyhow!("{e}"))?;
    let change = match change {
        "set" => Change::parse_set("base_rate=0.06"),
        "scale" => Change::parse_scale("ae.bookings=1.1"),
        other => bail!("--profile-what simulate-{other}: expected simulate-set or simulate-scale"),
    };
    let scenario = Scenario::new(vec![change.map_err(|e| anyhow::anyhow!("{e}"))?]);
    let options = SimulateOptions::default();
    for _ in 0..times {
        let result = in_pool(1, || accrue_engine::simulate(&input, &data, &baseline, &scenario, &options));
        drop(std::hint::black_box(result.map_err(|e| anyhow::anyhow!("{e}"))?));
    }
    Ok(())
}

/// The what-if rows: each a ratio against one totals run on the same facts, in the same
/// process and pool.
fn analysis_rows(
    rows: &mut Vec<Row>,
    files: &Files,
    payees: usize,
    repeat: usize,
    threads: usize,
    draws: u32,
) -> Result<()> {
    let amounts = RunOptions { detail: Detail::Amounts, ..RunOptions::default() };
    let (ingest, data) = best(repeat.min(3), || DataSet::load(&files.data));
    let data = data.map_err(|d| anyhow::anyhow!("{d}"))?;
    let input = PlanInput::read(std::sync::Arc::new(FileSystem), &files.plan, ScriptLimits::default())
        .map_err(|d| anyhow::anyhow!("{d}"))?;
    let plan = input.compile().map_err(|d| anyhow::anyhow!("{d}"))?;
    let (index, facts) = best(repeat, || Facts::index(&data, &plan, &Scales::new()));
    let facts = facts.map_err(|d| anyhow::anyhow!("{d}"))?;
    rows.push(Row {
        step: format!("index for a plan, P={payees} ({threads} threads)"),
        time: index,
        note: format!(
            "{:.3}× one CSV read ({:.3} s: parse into a DataSet)",
            ratio(index, ingest),
            ingest.as_secs_f64()
        ),
    });
    let (totals, _) = best(repeat, || accrue_engine::run_totals(&plan, &facts, &amounts));
    rows.push(Row {
        step: format!("one run_totals, P={payees} ({threads} threads)"),
        time: totals,
        note: "1.00× (what the rows below are measured in)".into(),
    });
    let baseline = Baseline::new(&input, &data).map_err(|e| anyhow::anyhow!("{e}"))?;
    let options = SimulateOptions::default();
    for (label, change, target) in [
        ("simulate --set base_rate=0.06", Change::parse_set("base_rate=0.06"), "≤ 2.2×"),
        ("simulate --scale ae.bookings=1.1", Change::parse_scale("ae.bookings=1.1"), "≤ 3×"),
    ] {
        let scenario = Scenario::new(vec![change.map_err(|e| anyhow::anyhow!("{e}"))?]);
        let (time, result) = best(repeat, || accrue_engine::simulate(&input, &data, &baseline, &scenario, &options));
        result.map_err(|e| anyhow::anyhow!("{e}"))?;
        rows.push(Row {
            step: format!("{label}, P={payees} ({threads} threads)"),
            time,
            note: format!("{:.2}× one run_totals (baseline + scenario; target {target})", ratio(time, totals)),
        });
    }
    if draws > 0 {
        let one_thread_totals = best(repeat, || in_pool(1, || accrue_engine::run_totals(&plan, &facts, &amounts))).0;
        let few = MonteCarloOptions { draws: (draws / 10).max(20), seed: 7, ..MonteCarloOptions::default() };
        let run = |options: &MonteCarloOptions| {
            accrue_engine::montecarlo(&input, &data, &Scenario::default(), options, &|_| true).map(|r| r.total.mean)
        };
        let (one, mean_one) = best(1, || in_pool(1, || run(&few)));
        let (two, mean_two) = best(1, || in_pool(threads, || run(&few)));
        if mean_one.map_err(|e| anyhow::anyhow!("{e}"))? != mean_two.map_err(|e| anyhow::anyhow!("{e}"))? {
            bail!("Monte Carlo differs between 1 and {threads} threads");
        }
        let per_draw = one / few.draws;
        rows.push(Row {
            step: format!("Monte Carlo, one draw, P={payees} (1 thread)"),
            time: per_draw,
            note: format!("{:.2}× one run_totals on 1 thread (target ≤ 2×)", ratio(per_draw, one_thread_totals)),
        });
        rows.push(Row {
            step: format!("Monte Carlo {} draws, P={payees} ({threads} threads)", few.draws),
            time: two,
            note: format!("{:.2}× speed-up over 1 thread (target ≥ 1.7×)", ratio(one, two)),
        });
        let headline = MonteCarloOptions { draws, seed: 7, ..MonteCarloOptions::default() };
        let (time, _) = best(1, || run(&headline));
        rows.push(Row {
            step: format!(
                "Monte Carlo {draws} draws × {payees} payees × {} deals ({threads} threads)",
                files.deal_rows / payees.max(1)
            ),
            time,
            note: format!("{:.1} draws/s", f64::from(draws) / time.as_secs_f64()),
        });
    }
    let (time, result) =
        best(repeat.min(3), || accrue_engine::align(&input, &data, &Scenario::default(), &AlignOptions::default()));
    let cells = result.map_err(|e| anyhow::anyhow!("{e}"))?.cells.len();
    rows.push(Row {
        step: format!("align, default {cells}-cell grid, P={payees} ({threads} threads)"),
        time,
        note: format!("{:.1} run_totals-equivalents (target ≤ 80)", ratio(time, totals)),
    });
    Ok(())
}
