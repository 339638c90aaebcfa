//! `accrue simulate` (and the other what-if commands of SPEC §12): flags → a scenario for
//! the engine's analysis functions → a table for a person or §12's JSON.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use accrue_engine::{
    Baseline, Change, DataSet, Deadline, FileSystem, PlanInput, Scenario, ScenarioError, ScriptLimits, SimulateOptions,
    Simulation, format_money_grouped, parse_decimal,
};
use anyhow::Result;
use clap::{ArgMatches, Args, ValueEnum};
use rust_decimal::Decimal;

use crate::{Failure, Outcome, render};

/// The changes of a scenario, as flags (each may repeat).
#[derive(Args, Debug, Default)]
pub struct ChangeArgs {
    /// Replace a plan parameter: NAME=VALUE (e.g. ae_base_rate=0.06).
    #[arg(long = "set", value_name = "NAME=VALUE")]
    pub set: Vec<String>,
    /// Multiply a measure: SELECTOR.MEASURE=FACTOR, SELECTOR a role, team:NAME, payee:ID or
    /// company (e.g. ae.bookings=1.1, company.revenue=0.9).
    #[arg(long = "scale", value_name = "SELECTOR.MEASURE=FACTOR")]
    pub scale: Vec<String>,
    /// A YAML fragment merged over the plan (params, company, roles' target_incentive and
    /// components).
    #[arg(long = "overlay", value_name = "FILE")]
    pub overlay: Vec<PathBuf>,
    /// A whole second plan on the same data: the back-test.
    #[arg(long = "plan-b", value_name = "FILE")]
    pub plan_b: Option<PathBuf>,
}

/// `--time-limit`: the run's overall budget (SPEC §8's exit 1 when it passes).
#[derive(clap::Args, Clone, Copy, Debug)]
pub struct TimeLimitArg {
    /// Stop the run when it takes longer than this, with an error and exit code 1: 500ms,
    /// 30s, 10m, 2h (a bare number is seconds), or `none`.
    #[arg(long = "time-limit", value_name = "DURATION", default_value = "1h", value_parser = time_limit)]
    pub time_limit: TimeLimit,
}

/// A time limit, or none.
#[derive(Clone, Copy, Debug)]
pub struct TimeLimit(pub Option<std::time::Duration>);

impl TimeLimitArg {
    /// The deadline of a run starting now.
    pub fn deadline(&self) -> Deadline {
        match self.time_limit.0 {
            Some(limit) => Deadline::after(limit),
            None => Deadline::none(),
        }
    }
}

fn time_limit(text: &str) -> Result<TimeLimit, String> {
    if text.trim() == "none" {
        return Ok(TimeLimit(None));
    }
    match accrue_engine::parse_duration(text) {
        Some(limit) if !limit.is_zero() => Ok(TimeLimit(Some(limit))),
        _ => Err(format!("`{text}` is not a time limit: write 500ms, 30s, 10m, 2h, or none")),
    }
}

/// The hint under a run stopped at its time limit.
pub const TIME_LIMIT_HINT: &str =
    "the run stopped before its end: raise --time-limit (or `--time-limit none`), or look for a slow script";

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Format {
    Table,
    Json,
}

/// Builds the scenario, keeping `--set` and `--overlay` in the order they were given.
pub fn scenario(args: &ChangeArgs, matches: Option<&ArgMatches>) -> Result<Scenario, ScenarioError> {
    let mut ordered: Vec<(usize, Change)> = Vec::new();
    let index = |id: &str, i: usize| {
        matches.and_then(|m| m.indices_of(id)).and_then(|mut it| it.nth(i)).unwrap_or(usize::MAX - 1000 + i)
    };
    if let Some(path) = &args.plan_b {
        ordered.push((0, Change::plan_b(Arc::new(FileSystem), path)?));
    }
    for (i, text) in args.set.iter().enumerate() {
        ordered.push((index("set", i), Change::parse_set(text)?));
    }
    for (i, path) in args.overlay.iter().enumerate() {
        ordered.push((index("overlay", i), Change::overlay(&FileSystem, path)?));
    }
    for (i, text) in args.scale.iter().enumerate() {
        ordered.push((index("scale", i), Change::parse_scale(text)?));
    }
    ordered.sort_by_key(|(i, _)| *i);
    Ok(Scenario::new(ordered.into_iter().map(|(_, c)| c).collect()))
}

/// What every what-if command loads: the plan as parsed and the data set.
pub struct Inputs {
    pub plan: PlanInput,
    pub data: DataSet,
}

/// Loads the plan and data, printing problems; `None` when they do not load.
pub fn load(plan: &Path, data: &Path) -> Option<Inputs> {
    let input = match PlanInput::read(Arc::new(FileSystem), plan, ScriptLimits::default()) {
        Ok(input) => input,
        Err(errors) => {
            eprint!("{}", render::diagnostics(&errors.0));
            return None;
        }
    };
    match DataSet::load(data) {
        Ok(data) => Some(Inputs { plan: input, data }),
        Err(errors) => {
            eprint!("{}", render::diagnostics(&errors.0));
            None
        }
    }
}

/// Reports a scenario error: usage errors exit 2, the rest 1.
pub fn report(error: ScenarioError) -> Outcome {
    match error {
        ScenarioError::Usage { message } => Ok(Err(Failure::Usage(message))),
        ScenarioError::TimeLimit { .. } => {
            eprintln!("error: {error}\n  help: {TIME_LIMIT_HINT}");
            Ok(Err(Failure::Input))
        }
        other => {
            if other.diagnostics().is_empty() {
                eprintln!("error: {other}");
            } else {
                eprintln!("error: {other}");
                eprint!("{}", render::diagnostics(other.diagnostics()));
            }
            Ok(Err(Failure::Input))
        }
    }
}

pub fn simulate(
    plan: &Path,
    data: &Path,
    changes: &ChangeArgs,
    matches: Option<&ArgMatches>,
    top: usize,
    limit: TimeLimitArg,
    format: Format,
) -> Outcome {
    let scenario = match scenario(changes, matches) {
        Ok(scenario) => scenario,
        Err(err) => return report(err),
    };
    let Some(inputs) = load(plan, data) else {
        return Ok(Err(Failure::Input));
    };
    let baseline = match Baseline::new(&inputs.plan, &inputs.data) {
        Ok(baseline) => baseline,
        Err(err) => return report(err),
    };
    let options = SimulateOptions { top, deadline: limit.deadline() };
    let result = match accrue_engine::simulate(&inputs.plan, &inputs.data, &baseline, &scenario, &options) {
        Ok(result) => result,
        Err(err) => return report(err),
    };
    match format {
        Format::Json => say!("{}", serde_json::to_string_pretty(&result)?),
        Format::Table => {
            say_raw!("{}", simulation_table(&result, &baseline, baseline.plan.minor_units));
            eprint!("{}", render::run_messages(&result.warnings, &[]));
        }
    }
    if result.has_errors() {
        for error in &result.errors {
            let payee = error.payee.as_deref().unwrap_or("-");
            eprintln!("error ({} run): payee {payee}: {}", error.run, error.message);
        }
        return Ok(Err(Failure::Input));
    }
    Ok(Ok(()))
}

fn amount(text: &str, minor: u32) -> String {
    parse_decimal(text, accrue_engine::NumberStyle::Text)
        .map_or_else(|_| text.to_string(), |v| format_money_grouped(v, minor))
}

fn signed(text: &str, minor: u32) -> String {
    let value = parse_decimal(text, accrue_engine::NumberStyle::Text).unwrap_or_default();
    let grouped = format_money_grouped(value, minor);
    if value > Decimal::ZERO { format!("+{grouped}") } else { grouped }
}

fn percent(ratio: Option<&str>) -> String {
    match ratio.and_then(|r| parse_decimal(r, accrue_engine::NumberStyle::Text).ok()) {
        Some(value) => format!("{:.2} %", (value * Decimal::ONE_HUNDRED).round_dp(2)),
        None => "n/a".to_string(),
    }
}

/// The person's view: per-role and per-period deltas, cost of sales, winners and losers.
pub fn simulation_table(result: &Simulation, baseline: &Baseline, minor: u32) -> String {
    let mut out = String::new();
    let plan = &baseline.plan;
    let _ = writeln!(out, "{} — {} ({})", plan.id, plan.name, result.currency);
    if result.changes.is_empty() {
        let _ = writeln!(out, "No changes: the scenario is the baseline.");
    }
    for change in &result.changes {
        let line = match change {
            accrue_engine::ChangeReport::Set { name, from, to } => {
                format!("set {name}: {} → {to}", from.as_deref().unwrap_or("(new)"))
            }
            accrue_engine::ChangeReport::Scale { selector, measure, factor } => {
                format!("scale {selector}.{measure} × {factor}")
            }
            accrue_engine::ChangeReport::Overlay { file } => format!("overlay {file}"),
            accrue_engine::ChangeReport::PlanB { file, plan } => format!("plan B {file} (plan {plan})"),
        };
        let _ = writeln!(out, "  change: {line}");
    }
    let width = (result.baseline.by_role.keys().chain(result.baseline.by_period.keys()))
        .map(|k| k.chars().count())
        .max()
        .unwrap_or(0)
        .max(6);
    let rows =
        |out: &mut String, title: &str, keys: Vec<&String>, pick: &dyn Fn(&accrue_engine::Sums, &str) -> String| {
            let _ = writeln!(out, "\n  {title:<width$}  {:>16}  {:>16}  {:>16}", "Baseline", "Scenario", "Delta");
            for key in keys {
                let _ = writeln!(
                    out,
                    "  {key:<width$}  {:>16}  {:>16}  {:>16}",
                    amount(&pick(&result.baseline, key), minor),
                    amount(&pick(&result.scenario, key), minor),
                    signed(&pick(&result.delta, key), minor)
                );
            }
        };
    let by_role = |s: &accrue_engine::Sums, key: &str| s.by_role.get(key).cloned().unwrap_or_default();
    let by_period = |s: &accrue_engine::Sums, key: &str| s.by_period.get(key).cloned().unwrap_or_default();
    rows(&mut out, "Role", result.baseline.by_role.keys().collect(), &by_role);
    let _ = writeln!(
        out,
        "  {:<width$}  {:>16}  {:>16}  {:>16}",
        "Total",
        amount(&result.baseline.total, minor),
        amount(&result.scenario.total, minor),
        signed(&result.delta.total, minor)
    );
    rows(&mut out, "Period", result.baseline.by_period.keys().collect(), &by_period);
    let cost = &result.cost_of_sales;
    let _ = writeln!(
        out,
        "\nCost of sales (comp ÷ company revenue): {} → {}",
        percent(cost.baseline.as_deref()),
        percent(cost.scenario.as_deref())
    );
    if cost.baseline.is_none() {
        let _ = writeln!(out, "  (no company revenue for the plan year: add `revenue` to company.csv)");
    }
    let names: std::collections::HashMap<&str, (&str, accrue_engine::Money)> =
        result.payees.iter().map(|p| (p.payee.as_str(), (p.role.as_str(), p.delta))).collect();
    for (title, list) in [("Top winners", &result.winners), ("Top losers", &result.losers)] {
        if list.is_empty() {
            let _ = writeln!(out, "\n{title}: none");
            continue;
        }
        let _ = writeln!(out, "\n{title}");
        for id in list {
            let (role, delta) = names.get(id.as_str()).map_or(("", "0".to_string()), |(r, d)| (*r, d.to_string()));
            let _ = writeln!(out, "  {id:<12} {role:<12} {:>16}", signed(&delta, minor));
        }
    }
    out
}

/// `accrue montecarlo`'s own flags.
#[derive(Args, Debug)]
pub struct MonteCarloArgs {
    /// Number of random draws (1 to 100,000).
    #[arg(long, default_value_t = 1000)]
    pub draws: u32,
    /// The seed: the same seed gives the same result on any machine and thread count.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// σ of a role's bookings (ROLE=σ, default 0.25 for every role) or of the company's
    /// revenue and profit (company=σ, default 0.15).
    #[arg(long = "spread", value_name = "ROLE=σ")]
    pub spread: Vec<String>,
    /// ρ between the company's factor and each payee's (0 to 1, default 0.5).
    #[arg(long)]
    pub correlation: Option<String>,
    /// The comp budget (default: Σ budget_comp of company.csv, else the plan's).
    #[arg(long)]
    pub budget: Option<String>,
    /// Draw the histogram of total cost, with the budget line, to this SVG file.
    #[arg(long, value_name = "FILE")]
    pub svg: Option<PathBuf>,
}

fn exact(text: &str, what: &str) -> Result<Decimal, String> {
    parse_decimal(text.trim(), accrue_engine::NumberStyle::Text).map_err(|err| format!("{what} `{text}`: {err}"))
}

fn montecarlo_options(args: &MonteCarloArgs) -> Result<accrue_engine::MonteCarloOptions, String> {
    let mut options = accrue_engine::MonteCarloOptions { draws: args.draws, seed: args.seed, ..Default::default() };
    for spread in &args.spread {
        let Some((who, sigma)) = spread.split_once('=') else {
            return Err(format!("--spread `{spread}` needs ROLE=σ or company=σ, e.g. ae=0.3"));
        };
        let sigma = exact(sigma, &format!("--spread {who}"))?;
        if who.trim() == "company" {
            options.company_spread = Some(sigma);
        } else {
            options.spreads.insert(who.trim().to_string(), sigma);
        }
    }
    options.correlation = args.correlation.as_deref().map(|c| exact(c, "--correlation")).transpose()?;
    options.budget = args.budget.as_deref().map(|b| exact(b, "--budget")).transpose()?;
    Ok(options)
}

pub fn montecarlo(
    plan: &Path,
    data: &Path,
    changes: &ChangeArgs,
    matches: Option<&ArgMatches>,
    args: &MonteCarloArgs,
    limit: TimeLimitArg,
    format: Format,
) -> Outcome {
    let scenario = match scenario(changes, matches) {
        Ok(scenario) => scenario,
        Err(err) => return report(err),
    };
    let mut options = match montecarlo_options(args) {
        Ok(options) => options,
        Err(message) => return Ok(Err(Failure::Usage(message))),
    };
    let Some(inputs) = load(plan, data) else {
        return Ok(Err(Failure::Input));
    };
    options.deadline = limit.deadline();
    // A progress bar for a person watching; nothing when stderr is a file or a pipe.
    let bar = if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        let bar = indicatif::ProgressBar::new(u64::from(args.draws));
        if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} draws, {eta} left") {
            bar.set_style(style);
        }
        Some(bar)
    } else {
        None
    };
    let progress = |done: u32| {
        if let Some(bar) = &bar {
            bar.set_position(u64::from(done));
        }
        true
    };
    let result = accrue_engine::montecarlo(&inputs.plan, &inputs.data, &scenario, &options, &progress);
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let result = match result {
        Ok(result) => result,
        Err(err) => return report(err),
    };
    if let Some(file) = &args.svg {
        crate::write_file(file, crate::plot::histogram_svg(&result)?.as_bytes())?;
    }
    match format {
        Format::Json => say!("{}", serde_json::to_string_pretty(&result)?),
        Format::Table => {
            say_raw!("{}", montecarlo_table(&result, inputs_minor(&result)));
            eprint!("{}", render::run_messages(&result.warnings, &[]));
        }
    }
    if result.errored_draws > 0 {
        eprintln!("{} draw(s) had payee errors; those payees are left out of their draws:", result.errored_draws);
        for error in &result.errors {
            eprintln!("  - payee {}: {}", error.payee.as_deref().unwrap_or("-"), error.message);
        }
        return Ok(Err(Failure::Input));
    }
    Ok(Ok(()))
}

fn inputs_minor(result: &accrue_engine::MonteCarlo) -> u32 {
    result.total.mean.split_once('.').map_or(0, |(_, places)| places.len() as u32)
}

/// The person's view: cost percentiles in total and per role, the budget, attainment.
pub fn montecarlo_table(result: &accrue_engine::MonteCarlo, minor: u32) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: {} draws, seed {}, spreads {}, correlation {}",
        result.plan,
        result.draws,
        result.seed,
        result.spread.iter().map(|(r, s)| format!("{r} {s}")).collect::<Vec<_>>().join(", "),
        result.correlation
    );
    let width = result.by_role.keys().map(|k| k.chars().count()).max().unwrap_or(0).max(6);
    let _ = writeln!(
        out,
        "\n  {:<width$}  {:>14}  {:>14}  {:>14}  {:>14}  {:>14}",
        "Cost", "mean", "p5", "p50", "p95", "max"
    );
    let row = |out: &mut String, name: &str, d: &accrue_engine::Distribution| {
        let _ = writeln!(
            out,
            "  {name:<width$}  {:>14}  {:>14}  {:>14}  {:>14}  {:>14}",
            amount(&d.mean, minor),
            amount(&d.p5, minor),
            amount(&d.p50, minor),
            amount(&d.p95, minor),
            amount(&d.max, minor)
        );
    };
    for (role, d) in &result.by_role {
        row(&mut out, role, d);
    }
    row(&mut out, "Total", &result.total);
    match (&result.budget, &result.p_over_budget) {
        (Some(budget), Some(p)) => {
            let _ = writeln!(
                out,
                "\nComp budget {}: exceeded in {} of draws",
                amount(budget, minor),
                percent(Some(p.as_str()))
            );
        }
        _ => {
            let _ = writeln!(out, "\nNo comp budget (pass --budget, or add budget_comp to company.csv)");
        }
    }
    let a = &result.attainment;
    match &a.mean {
        Some(mean) => {
            let _ = writeln!(
                out,
                "Payees at or above quota ({} with a quota): {} on average, {} to {} (p5–p95)",
                a.payees,
                percent(Some(mean.as_str())),
                percent(a.p5.as_deref()),
                percent(a.p95.as_deref())
            );
        }
        None => {
            let _ = writeln!(out, "No payee has a quota: no attainment share");
        }
    }
    let _ = writeln!(out, "\nHistogram of total cost");
    let most = result.histogram.iter().map(|b| b.count).max().unwrap_or(1).max(1);
    for bin in &result.histogram {
        let bar = "#".repeat((bin.count as usize * 40).div_ceil(most as usize));
        let _ = writeln!(
            out,
            "  {:>14} – {:>14}  {:>6}  {bar}",
            amount(&bin.from, minor),
            amount(&bin.to, minor),
            bin.count
        );
    }
    out
}

/// `accrue align`'s own flags.
#[derive(Args, Debug)]
pub struct AlignArgs {
    /// Revenue factors FROM:TO:STEP, inclusive (default 0.5:1.5:0.1).
    #[arg(long, default_value = "0.5:1.5:0.1", allow_hyphen_values = true)]
    pub revenue: String,
    /// Margin shifts, comma-separated (default -0.10,0,0.10; write --margin=-0.1,0,0.1).
    #[arg(long, default_value = "-0.10,0,0.10", allow_hyphen_values = true)]
    pub margin: String,
    /// Company measures that scale with revenue (repeat; default revenue, new_arr,
    /// recurring_revenue, bookings where present).
    #[arg(long = "follow", value_name = "NAME")]
    pub follow: Vec<String>,
    /// Plot each role's pay and the profit after comp against revenue to this SVG file.
    #[arg(long, value_name = "FILE")]
    pub svg: Option<PathBuf>,
}

pub fn align(
    plan: &Path,
    data: &Path,
    changes: &ChangeArgs,
    matches: Option<&ArgMatches>,
    args: &AlignArgs,
    limit: TimeLimitArg,
    format: Format,
) -> Outcome {
    let scenario = match scenario(changes, matches) {
        Ok(scenario) => scenario,
        Err(err) => return report(err),
    };
    let grid = accrue_engine::parse_range(&args.revenue).and_then(|revenue| {
        Ok(accrue_engine::AlignOptions {
            revenue,
            margin: accrue_engine::parse_list(&args.margin)?,
            follow: (!args.follow.is_empty()).then(|| args.follow.clone()),
            deadline: accrue_engine::Deadline::none(),
        })
    });
    let mut options = match grid {
        Ok(options) => options,
        Err(err) => return report(err),
    };
    let Some(inputs) = load(plan, data) else {
        return Ok(Err(Failure::Input));
    };
    options.deadline = limit.deadline();
    let result = match accrue_engine::align(&inputs.plan, &inputs.data, &scenario, &options) {
        Ok(result) => result,
        Err(err) => return report(err),
    };
    if let Some(file) = &args.svg {
        crate::write_file(file, crate::plot::alignment_svg(&result)?.as_bytes())?;
    }
    match format {
        Format::Json => say!("{}", serde_json::to_string_pretty(&result)?),
        Format::Table => say_raw!("{}", alignment_table(&result)),
    }
    if !result.errors.is_empty() {
        for error in &result.errors {
            eprintln!("error: payee {}: {}", error.payee.as_deref().unwrap_or("-"), error.message);
        }
        return Ok(Err(Failure::Input));
    }
    Ok(Ok(()))
}

/// The verdict and the findings in words first, then the numbers.
pub fn alignment_table(result: &accrue_engine::Alignment) -> String {
    let mut out = String::new();
    let minor =
        result.cells.first().map_or(2, |c| c.total_comp.split_once('.').map_or(0, |(_, places)| places.len() as u32));
    let misaligned = result.verdict == "misaligned";
    let _ = writeln!(
        out,
        "{}: {}",
        result.plan,
        if misaligned {
            "MISALIGNED — some pay rises while the company's profit after comp falls"
        } else {
            "aligned — no role's pay rises while the company's profit after comp falls"
        }
    );
    for sentence in &result.summary {
        let _ = writeln!(out, "  - {sentence}");
    }
    let _ = writeln!(
        out,
        "\nProfit-linked pay (reads company net profit): {}",
        result
            .profit_linked
            .iter()
            .filter(|(_, ids)| !ids.is_empty())
            .map(|(role, ids)| format!("{role} ({})", ids.join(", ")))
            .collect::<Vec<_>>()
            .join("; ")
    );
    for (role, share) in &result.executive_profit_share {
        let _ = writeln!(out, "Executive profit share of {role}: {}", percent(share.as_deref()));
    }
    let c = &result.coverage;
    let _ = writeln!(
        out,
        "Coverage: quotas {} + run-rate book {} against a revenue budget of {} ({})",
        amount(&c.effective_quotas, minor),
        amount(&c.run_rate_book, minor),
        c.budget_revenue.as_deref().map_or("(none)".to_string(), |b| amount(b, minor)),
        percent(c.ratio.as_deref())
    );
    for dm in &result.margin {
        let cells: Vec<&accrue_engine::GridCell> = result.cells.iter().filter(|c| &c.dm == dm).collect();
        let _ = writeln!(out, "\nMargin shift {dm}: pay by role and the company's profit after comp");
        let roles: Vec<&String> = result.cells.first().map(|c| c.by_role.keys().collect()).unwrap_or_default();
        let width = roles.iter().map(|r| r.chars().count()).max().unwrap_or(0).max(18);
        let _ = write!(out, "  {:<width$}", "revenue ×");
        for cell in &cells {
            let _ = write!(out, " {:>13}", cell.r);
        }
        let _ = writeln!(out);
        for role in &roles {
            let _ = write!(out, "  {role:<width$}");
            for cell in &cells {
                let _ = write!(out, " {:>13}", amount(&cell.by_role[*role], 0));
            }
            let _ = writeln!(out);
        }
        for (label, pick) in [("total comp", 0), ("profit after comp", 1)] {
            let _ = write!(out, "  {label:<width$}");
            for cell in &cells {
                let value = if pick == 0 { &cell.total_comp } else { &cell.profit_after_comp };
                let _ = write!(out, " {:>13}", amount(value, 0));
            }
            let _ = writeln!(out);
        }
    }
    out
}
