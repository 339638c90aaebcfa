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
    Diagnostics, Facts, Plan, PlanSource, Registry, RunOptions, RunSummary, ScriptLimits, StreamedRun,
};
use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(
    name = "accrue",
    version,
    about = "Sales-compensation plans as YAML and Rhai, computed exactly and explained",
    after_help = "Examples:
  accrue check plans/msp-fy2027/plan.yaml --data plans/msp-fy2027/data
  accrue run plans/msp-fy2027/plan.yaml --data plans/msp-fy2027/data --period 2027-Q2 --format csv --out out/q2.csv

Exit codes: 0 success; 1 the plan, data or a payee failed (errors printed, the other payees
still computed and output); 2 a usage error (a bad flag, a missing file or folder argument).
The user guide is in docs/ (start with docs/README.md)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Parse, validate and lint a plan (with --data, also the data files and quota coverage).
    Check {
        /// The plan file (plan.yaml).
        plan: PathBuf,
        /// Also load this data folder (roster.csv, deals.csv, …) and check quota coverage.
        #[arg(long, value_name = "DIR")]
        data: Option<PathBuf>,
        /// `text` for a person, `json` for a program.
        #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
        format: CheckFormat,
    },
    /// Compute payout statements for every payee and period.
    Run {
        /// The plan file (plan.yaml).
        plan: PathBuf,
        /// The data folder: roster.csv, deals.csv and the optional files (see docs/data.md).
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        /// Only this period's statements and warnings, e.g. 2027-Q2 (earlier periods still count for ytd).
        #[arg(long)]
        period: Option<String>,
        /// `table` for a person, `json` with full precision, `csv` for a spreadsheet.
        #[arg(long, value_enum, default_value_t = RunFormat::Table)]
        format: RunFormat,
        /// Write the output here instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// In the table, show each line's explanation under it.
        #[arg(long)]
        explain: bool,
        /// Start the CSV with a UTF-8 byte-order mark, so Excel shows accents and arrows (with --format csv).
        #[arg(long, alias = "excel")]
        bom: bool,
        #[command(flatten)]
        limit: whatif::TimeLimitArg,
    },
    /// A role's payout as a function of quota attainment: a table, and an SVG chart.
    Curve {
        /// The plan file (plan.yaml).
        plan: PathBuf,
        /// The role to plot (a key under `roles:`).
        #[arg(long)]
        role: String,
        /// Only this component (its id).
        #[arg(long)]
        component: Option<String>,
        /// Draw the chart to this SVG file.
        #[arg(long, value_name = "FILE")]
        svg: Option<PathBuf>,
        /// Lowest attainment, a fraction (0.5) or a percent (50%).
        #[arg(long, default_value = "0")]
        from: String,
        /// Highest attainment, a fraction (2) or a percent (200%).
        #[arg(long, default_value = "2")]
        to: String,
        /// Rows of the table after the first (the chart also samples every breakpoint).
        #[arg(long, default_value_t = 40)]
        steps: usize,
        /// The annual quota of the made-up payee.
        #[arg(long, default_value = "1000000")]
        quota: String,
        /// `text` for a person, `json` for a program.
        #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
        format: CheckFormat,
    },
    /// A role's plan in plain language, with worked tables of the year's pay (Markdown or HTML).
    Explain {
        /// The plan file (plan.yaml).
        plan: PathBuf,
        /// The role to explain (a key under `roles:`).
        #[arg(long)]
        role: String,
        /// The annual quota of the made-up payee of the worked tables.
        #[arg(long, default_value = "1000000")]
        quota: String,
        /// `md` (Markdown) or `html` (a printable page).
        #[arg(long, value_enum, default_value_t = ExplainFormat::Md)]
        format: ExplainFormat,
        /// Write the output here instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// What if: the baseline against a scenario (--set, --scale, --overlay, --plan-b).
    ///
    /// Deltas per role, period and payee, cost of sales, winners and losers.
    Simulate {
        /// The plan file (plan.yaml).
        plan: PathBuf,
        /// The data folder (roster.csv, deals.csv, …).
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        #[command(flatten)]
        changes: whatif::ChangeArgs,
        /// How many winners and losers to list.
        #[arg(long, default_value_t = 10)]
        top: usize,
        #[command(flatten)]
        limit: whatif::TimeLimitArg,
        /// `table` for a person, `json` for a program.
        #[arg(long, value_enum, default_value_t = whatif::Format::Table)]
        format: whatif::Format,
    },
    /// Monte Carlo: seeded random bookings and company outcomes.
    ///
    /// Cost percentiles in total and per role, the chance of exceeding the comp budget, the
    /// share of reps at quota.
    Montecarlo {
        /// The plan file (plan.yaml).
        plan: PathBuf,
        /// The data folder (roster.csv, deals.csv, …).
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        #[command(flatten)]
        changes: whatif::ChangeArgs,
        #[command(flatten)]
        options: whatif::MonteCarloArgs,
        #[command(flatten)]
        limit: whatif::TimeLimitArg,
        /// `table` for a person, `json` for a program.
        #[arg(long, value_enum, default_value_t = whatif::Format::Table)]
        format: whatif::Format,
    },
    /// Alignment: does every role's pay rise and fall with the company's profit after comp?
    ///
    /// Sweeps company revenue and margin; the verdict in words first, then the grid.
    Align {
        /// The plan file (plan.yaml).
        plan: PathBuf,
        /// The data folder (roster.csv, deals.csv, company.csv, …).
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        #[command(flatten)]
        changes: whatif::ChangeArgs,
        #[command(flatten)]
        options: whatif::AlignArgs,
        #[command(flatten)]
        limit: whatif::TimeLimitArg,
        /// `table` for a person, `json` for a program.
        #[arg(long, value_enum, default_value_t = whatif::Format::Table)]
        format: whatif::Format,
    },
    /// Print the JSON Schema of the plan format (editors use it to check plan.yaml as you type).
    Schema {
        /// Also include the plugin types found next to this plan (scripts/components/).
        #[arg(long)]
        plan: Option<PathBuf>,
    },
    /// Serve the HTTP API and the HR page over the plan folders under --plans until SIGTERM or
    /// Ctrl-C; SIGHUP reloads the plans.
    Serve {
        /// The address to listen on (port 0 picks a free one; the bound address is printed).
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: std::net::SocketAddr,
        /// The folder of plan folders to serve (each with plan.yaml and data/).
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
    /// Run plan test cases (default: every plans/*/tests/*.yaml).
    Test {
        /// Test files, tests folders, plan folders, plan.yaml files, or a folder of plan folders.
        paths: Vec<PathBuf>,
    },
    /// List the component types a plan can use, with their keys and defaults.
    Components {
        /// Also list the plugin types found next to this plan (scripts/components/).
        #[arg(long)]
        plan: Option<PathBuf>,
        /// `text` for a person, `json` for a program, `markdown` for docs/components.md.
        #[arg(long, value_enum, default_value_t = CatalogueFormat::Text)]
        format: CatalogueFormat,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum CatalogueFormat {
    Text,
    Json,
    Markdown,
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
    // Evaluation threads with room for a script's stack (issue 15: deeply nested values).
    accrue_engine::init_script_threads();
    let matches = <Cli as clap::CommandFactory>::command().get_matches();
    let cli = match <Cli as clap::FromArgMatches>::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(err) => err.exit(),
    };
    let sub = matches.subcommand().map(|(_, m)| m);
    let outcome = match cli.command {
        Command::Align { plan, data, changes, options, limit, format } => {
            whatif::align(&plan, &data, &changes, sub, &options, limit, format)
        }
        Command::Montecarlo { plan, data, changes, options, limit, format } => {
            whatif::montecarlo(&plan, &data, &changes, sub, &options, limit, format)
        }
        Command::Simulate { plan, data, changes, top, limit, format } => {
            whatif::simulate(&plan, &data, &changes, sub, top, limit, format)
        }
        Command::Serve { addr, plans, config, db } => serve(accrue_server::ServeOptions { addr, plans, config, db }),
        Command::Check { plan, data, format } => check(&plan, data.as_deref(), format),
        Command::Run { plan, data, period, format, out, explain, bom, limit } => {
            run(&plan, &data, period.as_deref(), format, out.as_deref(), RunExtras { explain, bom, limit })
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

/// Refuses an output path that is one of the run's own inputs: the plan file, anything in
/// the data folder, or a script (a `.rhai` file that exists: plugins may live in any folder
/// above the plan). Writing there would destroy the input
/// (and a later run would read the output as data).
pub(crate) fn own_input(out: &Path, plan: &Path, data: Option<&Path>) -> Option<String> {
    // The file may not exist yet: resolve its folder and keep its name.
    let resolve = |path: &Path| -> Option<PathBuf> {
        path.canonicalize().ok().or_else(|| {
            let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
            Some(parent.canonicalize().ok()?.join(path.file_name()?))
        })
    };
    let out_path = resolve(out)?;
    let plan_path = resolve(plan)?;
    let clash = out_path == plan_path
        || data.and_then(resolve).is_some_and(|dir| out_path.starts_with(dir))
        || (out_path.extension().is_some_and(|e| e == "rhai") && out_path.exists());
    clash.then(|| {
        format!(
            "--out {} is one of the run's own inputs (the plan, its data or its scripts): choose another file",
            out.display()
        )
    })
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
                // The data set once, for the index and for the company names' lint; when a
                // file has errors, Facts::load reports every problem of every file together.
                let loaded = accrue_engine::DataSet::load(dir).and_then(|data| {
                    let facts = Facts::index(&data, &plan, &accrue_engine::Scales::default())?;
                    Ok((Some(data), facts))
                });
                match loaded.or_else(|_| Facts::load(dir, &plan).map(|facts| (None, facts))) {
                    Ok((data, facts)) => {
                        diagnostics.extend(facts.warnings.iter().map(|w| {
                            accrue_engine::Diagnostic::warning(w.clone()).with_code(accrue_engine::Code::DataWarning)
                        }));
                        diagnostics.extend(accrue_engine::coverage(&plan, &facts));
                        if let Some(data) = data {
                            diagnostics.extend(accrue_engine::company_names(&plan, &data));
                        }
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

/// The run's switches that only some formats read.
struct RunExtras {
    /// The table shows each line's explanation.
    explain: bool,
    /// The CSV starts with a UTF-8 byte-order mark.
    bom: bool,
    /// The run's time limit.
    limit: whatif::TimeLimitArg,
}

fn run(
    path: &Path,
    data: &Path,
    period: Option<&str>,
    format: RunFormat,
    out: Option<&Path>,
    extras: RunExtras,
) -> Outcome {
    if extras.bom && !matches!(format, RunFormat::Csv) {
        return Ok(Err(Failure::Usage("--bom applies to --format csv only".into())));
    }
    if let Some(message) = out.and_then(|file| own_input(file, path, Some(data))) {
        return Ok(Err(Failure::Usage(message)));
    }
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
    let options = RunOptions { deadline: extras.limit.deadline(), ..RunOptions::default() };
    let view = render::PlanView::of(&plan);
    let (written, summary, count) = match format {
        RunFormat::Json => {
            let run = StreamedRun::new(&plan, &facts, options, period_index);
            let written = serde_json::to_writer_pretty(&mut sink, &run)
                .map_err(std::io::Error::from)
                .and_then(|()| sink.write_all(b"\n"));
            (written, run.summary(), run.statement_count())
        }
        RunFormat::Csv => {
            // The byte-order mark tells Excel the file is UTF-8 (names with accents, arrows).
            let mut written = if extras.bom { sink.write_all(b"\xEF\xBB\xBF") } else { Ok(()) };
            let mut writer = csv::Writer::from_writer(&mut sink);
            if written.is_ok() {
                written = writer.write_record(csv_rows::HEADER).map_err(std::io::Error::from);
            }
            let mut count = 0;
            let summary = accrue_engine::run_chunked(&plan, &facts, &options, period_index, |chunk| {
                for statement in &chunk {
                    count += 1;
                    if written.is_ok() {
                        written = csv_rows::statement(&mut writer, statement, plan.minor_units, &view);
                    }
                }
            });
            if written.is_ok() {
                written = csv_rows::errors(&mut writer, &summary.errors);
            }
            let written = written.and_then(|()| writer.flush());
            (written, Some(summary), count)
        }
        RunFormat::Table => {
            let mut result = accrue_engine::run_with(&plan, &facts, &options);
            if let Some(label) = period {
                result.retain_period(label);
            }
            // A run stopped at its time limit prints no table: its totals would be partial.
            let written = if result.stopped().is_some() {
                Ok(())
            } else {
                sink.write_all(render::table(&result, &plan.name, &view, extras.explain).as_bytes())
            };
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
    let warnings: Vec<String> = match period_index {
        Some(index) => {
            summary.warnings.into_iter().filter(|w| render::concerns_period(w, index, &plan.calendar)).collect()
        }
        None => summary.warnings,
    };
    let (stops, payee_errors): (Vec<_>, Vec<_>) = summary.errors.iter().cloned().partition(|e| e.is_stop());
    let messages = render::run_messages(&warnings, &payee_errors);
    if !messages.is_empty() {
        eprint!("{messages}");
    }
    for stop in &stops {
        eprintln!("error: {}\n  help: {}", stop.message, whatif::TIME_LIMIT_HINT);
    }
    if let Some(file) = out {
        eprintln!("wrote {count} statements ({} payee errors) to {}", payee_errors.len(), file.display());
    }
    Ok(if summary.errors.is_empty() { Ok(()) } else { Err(Failure::Input) })
}

/// `accrue run --format csv`: one row per statement line, per adjustment and per payee error,
/// told apart by the first column, so a spreadsheet filter or pivot table picks what it needs.
mod csv_rows {
    use std::io::Write;

    use accrue_engine::{RunError, Statement, format_money};
    use rust_decimal::{Decimal, RoundingStrategy};

    use crate::render::PlanView;

    pub const HEADER: [&str; 15] = [
        "record",
        "payee",
        "name",
        "role",
        "period",
        "quota",
        "component",
        "amount",
        "attainment",
        "window",
        "adjustment_amount",
        "adjustment_factor",
        "explain",
        "reason",
        "approved_by",
    ];

    /// A ratio for a person's eyes: 4 places (110.25 % is 1.1025); the JSON keeps them all.
    fn ratio(value: Decimal) -> String {
        value.round_dp_with_strategy(4, RoundingStrategy::MidpointAwayFromZero).normalize().to_string()
    }

    /// A statement's lines (`record` = `line`) and its adjustments (`adjustment`). Only line
    /// rows carry an `amount`, so summing the column gives the pay; an adjustment's own numbers
    /// are in `adjustment_amount` (relief granted, a self goal) and `adjustment_factor` (the
    /// share of a period employed, a blended attainment).
    pub fn statement(
        writer: &mut csv::Writer<impl Write>,
        s: &Statement,
        places: u32,
        view: &PlanView,
    ) -> std::io::Result<()> {
        let quota = view.quota_cell(s, |q| format_money(q, places));
        for line in &s.lines {
            let window = view.window(&s.role, &line.component).unwrap_or("");
            writer.write_record([
                "line",
                &s.payee,
                &s.name,
                &s.role,
                &s.period,
                &quota,
                &line.component,
                &format_money(line.amount, places),
                &line.attainment.map(ratio).unwrap_or_default(),
                window,
                "",
                "",
                &line.explain,
                "",
                "",
            ])?;
        }
        for adjustment in &s.adjustments {
            writer.write_record([
                "adjustment",
                &s.payee,
                &s.name,
                &s.role,
                &s.period,
                &quota,
                &adjustment.kind,
                "",
                "",
                "",
                &adjustment.amount.map(|a| format_money(a, places)).unwrap_or_default(),
                &adjustment.factor.map(ratio).unwrap_or_default(),
                adjustment.note.as_deref().unwrap_or(""),
                adjustment.reason.as_deref().unwrap_or(""),
                adjustment.approver.as_deref().unwrap_or(""),
            ])?;
        }
        Ok(())
    }

    /// One `error` row per payee error: who, where, and why. A payee with an error has no
    /// statements in any period (never a partial pay), so its errors are listed whatever
    /// `--period` asks for.
    pub fn errors(writer: &mut csv::Writer<impl Write>, errors: &[RunError]) -> std::io::Result<()> {
        for error in errors {
            let error_period = error.period.as_deref().unwrap_or("");
            writer.write_record([
                "error",
                error.payee.as_deref().unwrap_or(""),
                "",
                "",
                error_period,
                "",
                error.component.as_deref().unwrap_or(""),
                "",
                "",
                "",
                "",
                "",
                &error.message,
                "",
                "",
            ])?;
        }
        Ok(())
    }
}

/// An attainment as written on the command line: a fraction (`0.5`) or a percent (`50%`).
/// A bare number above 10 (1,000 %) is almost surely a percent written without `%`: it is
/// refused with the two ways to say it.
fn attainment_flag(flag: &str, text: &str) -> Result<rust_decimal::Decimal, String> {
    let parse = |t: &str| {
        accrue_engine::parse_decimal(t.trim(), accrue_engine::NumberStyle::Text).map_err(|e| format!("--{flag}: {e}"))
    };
    if let Some(percent) = text.trim().strip_suffix('%') {
        return Ok(parse(percent)? / rust_decimal::Decimal::ONE_HUNDRED);
    }
    let value = parse(text)?;
    if value > rust_decimal::Decimal::TEN {
        let fraction = (value / rust_decimal::Decimal::ONE_HUNDRED).normalize();
        return Err(format!(
            "--{flag} {text}: attainment is a fraction (1 is 100 %); write --{flag} {fraction} or --{flag} {text}%"
        ));
    }
    Ok(value)
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
    let quota =
        accrue_engine::parse_decimal(quota, accrue_engine::NumberStyle::Text).map_err(|e| format!("--quota: {e}"));
    let (from, to, quota) = match (attainment_flag("from", from), attainment_flag("to", to), quota) {
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
    let options = accrue_engine::CurveOptions { from, to, steps, quota, component, breakpoints: false };
    let curve = match accrue_engine::payout_curve(&plan, role, &options) {
        Ok(curve) => curve,
        Err(message) => return Ok(Err(Failure::Usage(message))),
    };
    if curve.components.is_empty() {
        // A flat zero chart would say "this role earns nothing"; say what it is paid on.
        let parts: Vec<String> = curve.skipped.iter().map(|(id, why)| format!("  {id}: {why}")).collect();
        eprintln!(
            "error: role `{role}` ({}) has no pay on quota attainment, so it has no payout curve:\n{}\n\
             `accrue explain {} --role {role}` shows its pay against what it is paid on.",
            curve.title,
            parts.join("\n"),
            path.display()
        );
        return Ok(Err(Failure::Input));
    }
    match format {
        CheckFormat::Json => say!("{}", serde_json::to_string_pretty(&curve)?),
        CheckFormat::Text => say_raw!("{}", plot::table(&curve)),
    }
    if let Some(file) = svg {
        // The chart samples every breakpoint too, so cliffs are drawn as cliffs.
        let detailed =
            accrue_engine::payout_curve(&plan, role, &accrue_engine::CurveOptions { breakpoints: true, ..options })
                .map_err(anyhow::Error::msg)?;
        write_file(file, plot::svg(&detailed)?.as_bytes())?;
        eprintln!("wrote the chart to {}", file.display());
    }
    Ok(Ok(()))
}

fn explain(path: &Path, role: &str, quota: &str, format: ExplainFormat, out: Option<&Path>) -> Outcome {
    let quota = match accrue_engine::parse_decimal(quota, accrue_engine::NumberStyle::Text) {
        Ok(quota) if quota > rust_decimal::Decimal::ZERO => quota,
        Ok(quota) => return Ok(Err(Failure::Usage(format!("--quota must be above 0, found {quota}")))),
        Err(e) => return Ok(Err(Failure::Usage(format!("--quota: {e}")))),
    };
    if let Some(message) = out.and_then(|file| own_input(file, path, None)) {
        return Ok(Err(Failure::Usage(message)));
    }
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
            write_file(file, text.as_bytes())?;
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

fn components(plan: Option<&Path>, format: CatalogueFormat) -> Outcome {
    let anchor = plan.map_or_else(|| PathBuf::from("plan.yaml"), Path::to_path_buf);
    let infos = Registry::for_plan(&anchor, ScriptLimits::default()).infos();
    match format {
        CatalogueFormat::Json => say!("{}", serde_json::to_string_pretty(&infos)?),
        CatalogueFormat::Markdown => say_raw!("{}", render::catalogue_markdown(&infos)),
        CatalogueFormat::Text => {
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
