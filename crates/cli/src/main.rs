//! `accrue`: the command line over the engine (SPEC §8).
//!
//! Exit codes: 0 success; 1 the plan, data or a payee failed (errors printed, other payees
//! still computed and output); 2 usage errors.

/// Prints a line to standard output; a closed pipe (`accrue … | head`) ends the program
/// quietly instead of panicking.
macro_rules! say {
    ($($arg:tt)*) => { $crate::emit(format_args!($($arg)*), true) };
}

/// Like `say!`, without the newline.
macro_rules! say_raw {
    ($($arg:tt)*) => { $crate::emit(format_args!($($arg)*), false) };
}

mod plot;
mod render;
mod test_command;
mod whatif;

/// mimalloc: explained runs allocate many small strings; glibc's allocator spends half of a
/// large single-threaded run consolidating them (measured with accrue-bench).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use accrue_engine::{
    Diagnostics, Facts, Plan, PlanSource, Registry, RunOptions, RunSummary, ScriptLimits, Statement, StreamedRun,
    format_money, format_ratio,
};
use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(
    name = "accrue",
    version,
    about = "Sales-compensation plans as YAML and Rhai, computed exactly and explained"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Parse, validate and lint a plan (with --data, also the data files and quota coverage).
    Check {
        plan: PathBuf,
        #[arg(long)]
        data: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
        format: CheckFormat,
    },
    /// Compute payout statements for every payee and period.
    Run {
        plan: PathBuf,
        #[arg(long)]
        data: PathBuf,
        /// Only this period's statements, e.g. 2027-Q2 (earlier periods still count for ytd).
        #[arg(long)]
        period: Option<String>,
        #[arg(long, value_enum, default_value_t = RunFormat::Table)]
        format: RunFormat,
        /// Write the output here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
        /// In the table, show each line's explanation under it.
        #[arg(long)]
        explain: bool,
    },
    /// A role's payout as a function of quota attainment: a table, and an SVG plot.
    Curve {
        plan: PathBuf,
        #[arg(long)]
        role: String,
        /// Only this component.
        #[arg(long)]
        component: Option<String>,
        /// Write the plot here.
        #[arg(long)]
        svg: Option<PathBuf>,
        #[arg(long, default_value = "0")]
        from: String,
        #[arg(long, default_value = "2")]
        to: String,
        #[arg(long, default_value_t = 40)]
        steps: usize,
        /// The annual quota of the made-up payee.
        #[arg(long, default_value = "1000000")]
        quota: String,
        #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
        format: CheckFormat,
    },
    /// A role's plan in plain language, with worked tables of the year's pay (Markdown or HTML).
    Explain {
        plan: PathBuf,
        #[arg(long)]
        role: String,
        /// The annual quota of the made-up payee of the worked tables.
        #[arg(long, default_value = "1000000")]
        quota: String,
        #[arg(long, value_enum, default_value_t = ExplainFormat::Md)]
        format: ExplainFormat,
        /// Write the output here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// What if: the baseline against a scenario (--set, --scale, --overlay, --plan-b):
    /// deltas per role, period and payee, cost of sales, winners and losers.
    Simulate {
        plan: PathBuf,
        #[arg(long)]
        data: PathBuf,
        #[command(flatten)]
        changes: whatif::ChangeArgs,
        /// How many winners and losers to list.
        #[arg(long, default_value_t = 10)]
        top: usize,
        #[arg(long, value_enum, default_value_t = whatif::Format::Table)]
        format: whatif::Format,
    },
    /// Monte Carlo: seeded random bookings and company outcomes; cost percentiles in total
    /// and per role, the chance of exceeding the comp budget, the share of reps at quota.
    Montecarlo {
        plan: PathBuf,
        #[arg(long)]
        data: PathBuf,
        #[command(flatten)]
        changes: whatif::ChangeArgs,
        #[command(flatten)]
        options: whatif::MonteCarloArgs,
        #[arg(long, value_enum, default_value_t = whatif::Format::Table)]
        format: whatif::Format,
    },
    /// Alignment: sweep company revenue and margin; does every role's pay rise and fall with
    /// the company's profit after comp? The verdict in words first, then the grid.
    Align {
        plan: PathBuf,
        #[arg(long)]
        data: PathBuf,
        #[command(flatten)]
        changes: whatif::ChangeArgs,
        #[command(flatten)]
        options: whatif::AlignArgs,
        #[arg(long, value_enum, default_value_t = whatif::Format::Table)]
        format: whatif::Format,
    },
    /// Print the JSON Schema of the plan format (with the plugin types found here, or next
    /// to --plan); the sample plans point their editors at plan.schema.json.
    Schema {
        #[arg(long)]
        plan: Option<PathBuf>,
    },
    /// Serve the HTTP API (SPEC §9) over the plan folders under --plans until SIGTERM or
    /// Ctrl-C; SIGHUP reloads the plans.
    Serve {
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: std::net::SocketAddr,
        #[arg(long, default_value = "plans")]
        plans: PathBuf,
        /// A JSON configuration: token hashes, deadline, body limit, concurrency.
        #[arg(long)]
        config: Option<PathBuf>,
        /// The SQLite database of saved scenarios and the audit table (default: accrue.db
        /// next to the plans folder).
        #[arg(long)]
        db: Option<PathBuf>,
    },
    /// Run plan test cases: tests/*.yaml next to plans (default: every plans/*/tests/).
    Test {
        /// Test files, their folders, or plan folders.
        paths: Vec<PathBuf>,
    },
    /// List the component types a plan can use, with their keys: the built-ins and the
    /// plugins in scripts/components/ (of the current folder, or next to --plan).
    Components {
        #[arg(long)]
        plan: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
        format: CheckFormat,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum CheckFormat {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum ExplainFormat {
    Md,
    Html,
}

#[derive(Clone, Copy, ValueEnum)]
enum RunFormat {
    Table,
    Json,
    Csv,
}

/// A failure the user must fix; the exit code says which kind.
pub(crate) enum Failure {
    /// Plan, data or payee errors: exit 1.
    Input,
    /// A usage error: exit 2.
    Usage(String),
}

pub(crate) fn emit(args: std::fmt::Arguments<'_>, newline: bool) {
    let mut out = std::io::stdout().lock();
    let written = out.write_fmt(args).and_then(|()| if newline { out.write_all(b"\n") } else { Ok(()) });
    if let Err(err) = written {
        if err.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write to standard output: {err}");
        std::process::exit(1);
    }
}

fn main() -> ExitCode {
    // A panic is a bug in Accrue, never the user's input: say so plainly. (The engine also
    // turns a panic while evaluating a payee into that payee's error.)
    std::panic::set_hook(Box::new(|info| {
        eprintln!("internal error: {info}\nThis is a bug in Accrue, not in your plan or data: please report it.");
    }));
    let matches = <Cli as clap::CommandFactory>::command().get_matches();
    let cli = match <Cli as clap::FromArgMatches>::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(err) => err.exit(),
    };
    let sub = matches.subcommand().map(|(_, m)| m);
    let outcome = match cli.command {
        Command::Align { plan, data, changes, options, format } => {
            whatif::align(&plan, &data, &changes, sub, &options, format)
        }
        Command::Montecarlo { plan, data, changes, options, format } => {
            whatif::montecarlo(&plan, &data, &changes, sub, &options, format)
        }
        Command::Simulate { plan, data, changes, top, format } => {
            whatif::simulate(&plan, &data, &changes, sub, top, format)
        }
        Command::Serve { addr, plans, config, db } => serve(accrue_server::ServeOptions { addr, plans, config, db }),
        Command::Check { plan, data, format } => check(&plan, data.as_deref(), format),
        Command::Run { plan, data, period, format, out, explain } => {
            run(&plan, &data, period.as_deref(), format, out.as_deref(), explain)
        }
        Command::Components { plan, format } => components(plan.as_deref(), format),
        Command::Test { paths } => test_command::run(&paths),
        Command::Schema { plan } => {
            let anchor = plan.unwrap_or_else(|| PathBuf::from("plan.yaml"));
            let schema = accrue_engine::plan_schema(&Registry::for_plan(&anchor, ScriptLimits::default()));
            serde_json::to_string_pretty(&schema).map(|text| say!("{text}")).map(Ok).map_err(Into::into)
        }
        Command::Explain { plan, role, quota, format, out } => explain(&plan, &role, &quota, format, out.as_deref()),
        Command::Curve { plan, role, component, svg, from, to, steps, quota, format } => {
            curve(&plan, &role, component, svg.as_deref(), [&from, &to, &quota], steps, format)
        }
    };
    match outcome {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(Failure::Input)) => ExitCode::from(1),
        Ok(Err(Failure::Usage(message))) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(1)
        }
    }
}

pub(crate) type Outcome = Result<Result<(), Failure>>;

/// Creates an output file, and its folder when missing (`--out out/run.json`).
pub(crate) fn create_file(path: &Path) -> Result<std::fs::File> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("cannot create folder {}", parent.display()))?;
    }
    std::fs::File::create(path).with_context(|| format!("cannot write {}", path.display()))
}

/// Writes a whole output file, creating its folder when missing.
pub(crate) fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    create_file(path)?.write_all(bytes).with_context(|| format!("cannot write {}", path.display()))
}

fn load_plan(path: &Path) -> Result<Plan, Diagnostics> {
    let registry = Registry::for_plan(path, ScriptLimits::default());
    PlanSource::read(path)?.compile(&registry, &Default::default())
}

fn check(path: &Path, data: Option<&Path>, format: CheckFormat) -> Outcome {
    let mut diagnostics = Vec::new();
    let mut goals = None;
    match load_plan(path) {
        Ok(plan) => {
            diagnostics.extend(plan.warnings.iter().cloned());
            if let Some(dir) = data {
                match Facts::load(dir, &plan) {
                    Ok(facts) => {
                        diagnostics
                            .extend(facts.warnings.iter().map(|w| accrue_engine::Diagnostic::warning(w.clone())));
                        diagnostics.extend(accrue_engine::coverage(&plan, &facts));
                        goals = Some((accrue_engine::goals(&plan, &facts), plan.minor_units));
                    }
                    Err(errors) => diagnostics.extend(errors.0),
                }
            }
        }
        Err(errors) => diagnostics.extend(errors.0),
    }
    let failed = diagnostics.iter().any(|d| d.is_error());
    match format {
        CheckFormat::Json => {
            let out = serde_json::json!({"ok": !failed, "diagnostics": diagnostics, "goals": goals.map(|g| g.0)});
            say!("{}", serde_json::to_string_pretty(&out)?);
        }
        CheckFormat::Text => {
            if let Some((report, places)) = &goals {
                say_raw!("{}", render::goals(report, *places));
            }
            if diagnostics.is_empty() {
                say!("{}: ok", path.display());
            } else {
                eprint!("{}", render::diagnostics(&diagnostics));
                if !failed {
                    say!("{}: ok (with warnings)", path.display());
                }
            }
        }
    }
    Ok(if failed { Err(Failure::Input) } else { Ok(()) })
}

fn run(
    path: &Path,
    data: &Path,
    period: Option<&str>,
    format: RunFormat,
    out: Option<&Path>,
    explain: bool,
) -> Outcome {
    let plan = match load_plan(path) {
        Ok(plan) => plan,
        Err(errors) => {
            eprint!("{}", render::diagnostics(&errors.0));
            return Ok(Err(Failure::Input));
        }
    };
    if let Some(label) = period {
        if plan.calendar.index_of_label(label).is_none() {
            let labels: Vec<_> = plan.calendar.labels().collect();
            return Ok(Err(Failure::Usage(format!(
                "--period {label} is not a period of {} (periods: {})",
                plan.id,
                labels.join(", ")
            ))));
        }
    }
    let facts = match Facts::load(data, &plan) {
        Ok(facts) => facts,
        Err(errors) => {
            eprint!("{}", render::diagnostics(&errors.0));
            return Ok(Err(Failure::Input));
        }
    };
    let period_index = period.and_then(|label| plan.calendar.index_of_label(label));
    // Output streams to its destination: JSON and CSV are written statement by statement as
    // payees are evaluated, so a run of any size never sits in memory whole.
    let sink: Box<dyn Write> = match out {
        Some(file) => Box::new(create_file(file)?),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut sink = std::io::BufWriter::with_capacity(1 << 16, sink);
    let options = RunOptions::default();
    let (written, summary, count) = match format {
        RunFormat::Json => {
            let run = StreamedRun::new(&plan, &facts, options, period_index);
            let written = serde_json::to_writer_pretty(&mut sink, &run)
                .map_err(std::io::Error::from)
                .and_then(|()| sink.write_all(b"\n"));
            (written, run.summary(), run.statement_count())
        }
        RunFormat::Csv => {
            let mut writer = csv::Writer::from_writer(&mut sink);
            let mut written = writer
                .write_record([
                    "payee",
                    "name",
                    "role",
                    "period",
                    "quota",
                    "component",
                    "amount",
                    "attainment",
                    "explain",
                ])
                .map_err(std::io::Error::from);
            let mut count = 0;
            let summary = accrue_engine::run_chunked(&plan, &facts, &options, period_index, |chunk| {
                for statement in &chunk {
                    count += 1;
                    if written.is_ok() {
                        written = write_csv_rows(&mut writer, statement, plan.minor_units);
                    }
                }
            });
            let written = written.and_then(|()| writer.flush());
            (written, Some(summary), count)
        }
        RunFormat::Table => {
            let mut result = accrue_engine::run_with(&plan, &facts, &options);
            if let Some(label) = period {
                result.retain_period(label);
            }
            let written = sink.write_all(render::table(&result, &plan.name, explain).as_bytes());
            let summary =
                RunSummary { totals: result.totals.clone(), warnings: result.warnings, errors: result.errors };
            (written, Some(summary), result.statements.len())
        }
    };
    let written = written.and_then(|()| sink.flush());
    if let Err(err) = written {
        // A closed pipe (`accrue run … | head`) is the reader's choice, not a failure.
        if err.kind() != std::io::ErrorKind::BrokenPipe {
            return Err(anyhow::Error::from(err).context("cannot write the output"));
        }
    }
    let summary = summary.unwrap_or_default();
    let messages = render::run_messages(&summary.warnings, &summary.errors);
    if !messages.is_empty() {
        eprint!("{messages}");
    }
    if let Some(file) = out {
        eprintln!("wrote {count} statements ({} payee errors) to {}", summary.errors.len(), file.display());
    }
    Ok(if summary.errors.is_empty() { Ok(()) } else { Err(Failure::Input) })
}

/// One CSV row per statement line.
fn write_csv_rows(writer: &mut csv::Writer<impl Write>, s: &Statement, places: u32) -> std::io::Result<()> {
    for line in &s.lines {
        writer.write_record([
            s.payee.as_str(),
            s.name.as_str(),
            s.role.as_str(),
            s.period.as_str(),
            &format_money(s.quota, places),
            line.component.as_str(),
            &format_money(line.amount, places),
            &line.attainment.map(format_ratio).unwrap_or_default(),
            line.explain.as_str(),
        ])?;
    }
    Ok(())
}

fn curve(
    path: &Path,
    role: &str,
    component: Option<String>,
    svg: Option<&Path>,
    [from, to, quota]: [&str; 3],
    steps: usize,
    format: CheckFormat,
) -> Outcome {
    let number = |flag: &str, text: &str| {
        accrue_engine::parse_decimal(text, accrue_engine::NumberStyle::Text).map_err(|e| format!("--{flag}: {e}"))
    };
    let (from, to, quota) = match (number("from", from), number("to", to), number("quota", quota)) {
        (Ok(a), Ok(b), Ok(c)) => (a, b, c),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return Ok(Err(Failure::Usage(e))),
    };
    let plan = match load_plan(path) {
        Ok(plan) => plan,
        Err(errors) => {
            eprint!("{}", render::diagnostics(&errors.0));
            return Ok(Err(Failure::Input));
        }
    };
    let options = accrue_engine::CurveOptions { from, to, steps, quota, component };
    let curve = match accrue_engine::payout_curve(&plan, role, &options) {
        Ok(curve) => curve,
        Err(message) => return Ok(Err(Failure::Usage(message))),
    };
    match format {
        CheckFormat::Json => say!("{}", serde_json::to_string_pretty(&curve)?),
        CheckFormat::Text => say_raw!("{}", plot::table(&curve)),
    }
    if let Some(file) = svg {
        write_file(file, plot::svg(&curve)?.as_bytes())?;
        eprintln!("wrote the plot to {}", file.display());
    }
    Ok(Ok(()))
}

fn explain(path: &Path, role: &str, quota: &str, format: ExplainFormat, out: Option<&Path>) -> Outcome {
    let quota = match accrue_engine::parse_decimal(quota, accrue_engine::NumberStyle::Text) {
        Ok(quota) if quota > rust_decimal::Decimal::ZERO => quota,
        Ok(quota) => return Ok(Err(Failure::Usage(format!("--quota must be above 0, found {quota}")))),
        Err(e) => return Ok(Err(Failure::Usage(format!("--quota: {e}")))),
    };
    let plan = match load_plan(path) {
        Ok(plan) => plan,
        Err(errors) => {
            eprint!("{}", render::diagnostics(&errors.0));
            return Ok(Err(Failure::Input));
        }
    };
    // An unknown role is a problem of the plan as asked about (exit 1), like a bad plan.
    let explanation = accrue_engine::explain(&plan, role, &accrue_engine::ExplainOptions { quota })?;
    let text = match format {
        ExplainFormat::Md => explanation.to_markdown(),
        ExplainFormat::Html => explanation.to_html(),
    };
    match out {
        Some(file) => {
            std::fs::write(file, text).with_context(|| format!("cannot write {}", file.display()))?;
            eprintln!("wrote the explanation of `{role}` to {}", file.display());
        }
        None => say_raw!("{text}"),
    }
    Ok(Ok(()))
}

/// `accrue serve`: a tokio runtime for this command alone, then the server crate.
fn serve(options: accrue_server::ServeOptions) -> Outcome {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let served = runtime.block_on(accrue_server::serve(options));
    // Engine work past its deadline may still be running on a blocking thread: give it a
    // moment, then exit regardless.
    runtime.shutdown_timeout(std::time::Duration::from_secs(5));
    served.map(Ok)
}

fn components(plan: Option<&Path>, format: CheckFormat) -> Outcome {
    let anchor = plan.map_or_else(|| PathBuf::from("plan.yaml"), Path::to_path_buf);
    let infos = Registry::for_plan(&anchor, ScriptLimits::default()).infos();
    match format {
        CheckFormat::Json => say!("{}", serde_json::to_string_pretty(&infos)?),
        CheckFormat::Text => {
            for info in infos {
                say!("{} ({}): {}", info.name, info.source, info.summary);
                let width = info.keys.iter().map(|k| k.name.len()).max().unwrap_or(0);
                for key in info.keys {
                    let default = key.default.map(|d| format!(" [default: {d}]")).unwrap_or_default();
                    let required = if key.required { " (required)" } else { "" };
                    say!("  {:<width$}  {}{required}{default} — {}", key.name, key.kind, key.description);
                }
                say!("");
            }
        }
    }
    Ok(Ok(()))
}
