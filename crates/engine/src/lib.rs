//! Accrue's engine: comp plans as YAML, exact decimal arithmetic, explainable statements.
//!
//! The flow is [`PlanSource::read`] → [`PlanSource::compile`] (a validated [`Plan`]) →
//! [`Facts::load`] (the data directory) → [`run`] (a [`RunResult`] of statements). The engine
//! reads the files it is pointed at and does no other I/O: no network, no terminal.

mod analysis;
mod arith;
mod calendar;
mod component;
mod csvfile;
mod curve;
mod data;
mod deadline;
mod diagnostic;
mod error;
mod eval;
mod lint;
mod measure;
mod number;
mod plan;
mod registry;
mod script;
mod source;
mod spanned;
mod spec;
mod statement;
mod testcase;
mod yaml;

pub use analysis::{
    AlignOptions, Alignment, AttainmentShare, Baseline, Bin, Change, ChangeReport, CostOfSales, Coverage, Distribution,
    FactsRef, Finding, GridCell, MAX_DRAWS, MAX_FACTOR, MAX_MARGIN_STEPS, MAX_REVENUE_STEPS, Money, MonteCarlo,
    MonteCarloOptions, PayeeDelta, PlanInput, RunFailure, Scenario, ScenarioError, Selector, SimulateOptions,
    Simulation, Sums, Variant, align, apply, montecarlo, parse_list, parse_range, simulate,
};
pub use analysis::{ComponentText, ExplainError, ExplainOptions, Explanation, WorkedRow, WorkedTable, explain};
pub use arith::{ArithError, Frac, Tier, TierUse, curve, marginal_value, step, tiered_marginal, tiered_retroactive};
pub use calendar::{Calendar, Period, PeriodKind, Window, parse_date};
pub use component::ScriptValue;
pub use component::{
    BuildContext, Component, ComponentType, Core, DescribeContext, Description, Design, Detail, Driver, EvalContext,
    EvalError, KeyInfo, Outcome, Profile, ScorecardItem, Stage, SubLine, Target, Trace, TypeInfo,
};
pub use curve::{CurveOptions, CurvePoint, PayoutCurve, payout_curve};
pub use data::{
    Cancellation, Credit, DATA_COLUMNS, DATA_FILES, DataSet, DealTotals, Facts, OwnerFactors, Payee, ReliefEntry,
    Scales,
};
pub use deadline::{Deadline, Stop, format_duration, parse_duration};
pub use diagnostic::{Diagnostic, Diagnostics, Location, Severity, Span};
pub use error::Code;
pub use eval::{RunOptions, RunSummary, StreamedRun, TotalsRun, run, run_chunked, run_totals, run_with};
pub use lint::{GoalLine, GoalsReport, company_names, coverage, goals};
pub use measure::{Aggregate, DealKind, MeasureRef};
pub use number::{
    NumberError, NumberStyle, format_money, format_money_grouped, format_percent, format_ratio, parse_decimal,
    round_money,
};
pub use plan::{Blend, PlanModel, PlanSource, QuotaRules, RoleRules, Score};
pub use registry::{Plan, Registry, Role, plan_schema};
pub use script::{
    MAX_NESTING, SCRIPT_THREAD_STACK, ScriptError, ScriptErrorKind, ScriptHost, ScriptLimits, init_script_threads,
};
pub use source::{FileKind, FileSystem, MAX_LINE, Memory, Sources};
pub use spanned::{Num, Spanned};
pub use spec::{Motion, QuotaSource, WindowKind};
pub use statement::{Adjustment, Line, Name, RunError, RunResult, Statement, Totals, TotalsBuilder};
pub use testcase::{Expectation, Mismatch, TABLES, TestCase, TestFile};
pub use yaml::Node;
