//! `align` (SPEC §12): does every role's pay rise and fall with the company's profit? A grid
//! of company outcomes — revenue × r, margin + Δm — each evaluated by the engine, its P&L
//! worked out, and every pair of neighbouring cells where a role's pay rises while profit
//! after comp falls reported as a finding.
//!
//! The data's net profit is read as before profit-linked pay. Per period, fixed costs are
//! X = GP − NP − C₀ (C₀ the baseline's "other" comp: components that do not read
//! `company.net_profit*`). In a cell, other comp C' is computed first, then the net profit
//! the profit-linked components see, NP' = GP' − X − C', and profit after comp = NP' − the
//! cell's profit-linked comp. The centre cell (r = 1, Δm = 0) pays what `accrue run` pays.

use indexmap::IndexMap;
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::json;

use super::scenario::{PlanInput, Scenario, ScenarioError, Variant, apply, finished};
use super::simulate::RunFailure;
use super::{money, ratio};
use crate::component::Detail;
use crate::data::{DataSet, Facts, Scales};
use crate::deadline::Deadline;
use crate::eval::{RunOptions, TotalsRun, run_totals};
use crate::measure::DealKind;
use crate::plan::PlanSource;
use crate::registry::Plan;
use crate::spec::Motion;
use crate::yaml::{Node, NodeKind};

/// At most this many revenue steps and margin steps.
pub const MAX_REVENUE_STEPS: usize = 101;
pub const MAX_MARGIN_STEPS: usize = 21;

/// Company measures that follow revenue by default (where present).
const FOLLOW: [&str; 4] = ["revenue", "new_arr", "recurring_revenue", "bookings"];

/// The grid and what follows revenue.
#[derive(Debug, Clone)]
pub struct AlignOptions {
    /// Revenue factors r, ascending.
    pub revenue: Vec<Decimal>,
    /// Margin shifts Δm, ascending.
    pub margin: Vec<Decimal>,
    /// Company measures scaled by r; `None` for SPEC's default.
    pub follow: Option<Vec<String>>,
    /// When the sweep must stop ([`ScenarioError::TimeLimit`], [`ScenarioError::Cancelled`]).
    pub deadline: Deadline,
}

impl Default for AlignOptions {
    fn default() -> Self {
        AlignOptions {
            revenue: parse_range("0.5:1.5:0.1").unwrap_or_default(),
            margin: parse_list("-0.10,0,0.10").unwrap_or_default(),
            follow: None,
            deadline: Deadline::none(),
        }
    }
}

fn number(text: &str, what: &str) -> Result<Decimal, ScenarioError> {
    crate::number::parse_input(text.trim(), crate::number::NumberStyle::Text)
        .map_err(|err| ScenarioError::usage(format!("{what}: {err}")))
}

/// `FROM:TO:STEP`, inclusive, exact decimal steps (`0.5:1.5:0.1`).
pub fn parse_range(text: &str) -> Result<Vec<Decimal>, ScenarioError> {
    let parts: Vec<&str> = text.split(':').collect();
    let [from, to, step] = parts.as_slice() else {
        return Err(ScenarioError::usage(format!("the revenue grid `{text}` needs FROM:TO:STEP, e.g. 0.5:1.5:0.1")));
    };
    let (from, to, step) =
        (number(from, "the revenue grid")?, number(to, "the revenue grid")?, number(step, "the revenue grid")?);
    if step <= Decimal::ZERO {
        return Err(ScenarioError::usage(format!("the revenue grid `{text}`: the step must be above 0")));
    }
    if from < Decimal::ZERO || to < from {
        return Err(ScenarioError::usage(format!(
            "the revenue grid `{text}`: FROM ≥ 0 and TO ≥ FROM (factors of revenue)"
        )));
    }
    let mut values = Vec::new();
    let mut value = from;
    while value <= to {
        if values.len() == MAX_REVENUE_STEPS {
            return Err(ScenarioError::usage(format!(
                "the revenue grid `{text}` makes more than {MAX_REVENUE_STEPS} steps"
            )));
        }
        values.push(value);
        value += step;
    }
    Ok(values)
}

/// A comma-separated list of margin shifts (`-0.10,0,0.10`), sorted.
pub fn parse_list(text: &str) -> Result<Vec<Decimal>, ScenarioError> {
    let mut values = Vec::new();
    for part in text.split(',') {
        values.push(number(part, "a margin shift")?);
    }
    if values.len() > MAX_MARGIN_STEPS {
        return Err(ScenarioError::usage(format!("the margin shifts have more than {MAX_MARGIN_STEPS} values")));
    }
    if values.iter().any(|m| m.abs() > Decimal::ONE) {
        return Err(ScenarioError::usage("margin shifts are shifts of the margin ratio, between -1 and 1"));
    }
    values.sort();
    values.dedup();
    Ok(values)
}

/// One cell of the grid.
#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    pub r: String,
    pub dm: String,
    pub by_role: IndexMap<String, String>,
    pub total_comp: String,
    pub profit_after_comp: String,
    #[serde(skip)]
    values: CellValues,
}

#[derive(Debug, Clone, Default)]
struct CellValues {
    by_role: Vec<Decimal>,
    profit: Decimal,
}

/// A finding: neighbouring cells where a role's pay rises while profit after comp falls
/// (or a role whose pay does not move at all).
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub kind: &'static str,
    pub role: String,
    /// `revenue` or `margin`; null for `unresponsive`.
    pub axis: Option<&'static str>,
    /// The other axis's value.
    pub at: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub payout_change: Option<String>,
    pub profit_change: Option<String>,
}

/// Quotas and the run-rate book against the revenue budget.
#[derive(Debug, Clone, Serialize)]
pub struct Coverage {
    pub effective_quotas: String,
    pub run_rate_book: String,
    pub budget_revenue: Option<String>,
    /// (effective quotas + run-rate book) / budget.
    pub ratio: Option<String>,
}

/// The result of `align`, in SPEC §12's JSON shape.
#[derive(Debug, Clone, Serialize)]
pub struct Alignment {
    pub plan: String,
    pub plan_hash: String,
    pub data_hash: String,
    pub scenario_hash: String,
    pub currency: String,
    pub verdict: &'static str,
    pub summary: Vec<String>,
    pub revenue: Vec<String>,
    pub margin: Vec<String>,
    /// Company measures scaled with revenue.
    pub follow: Vec<String>,
    /// The components whose pay reads company profit, by role.
    pub profit_linked: IndexMap<String, Vec<String>>,
    pub cells: Vec<Cell>,
    pub findings: Vec<Finding>,
    pub executive_profit_share: IndexMap<String, Option<String>>,
    pub coverage: Coverage,
    pub warnings: Vec<String>,
    pub errors: Vec<RunFailure>,
}

/// Company outcomes per period: revenue, gross profit and net profit.
struct Company {
    revenue: Vec<Decimal>,
    gross_profit: Vec<Decimal>,
    net_profit: Vec<Decimal>,
}

fn per_period(plan: &Plan, facts: &Facts, name: &str) -> Result<Vec<Decimal>, ScenarioError> {
    let rows = facts.company(name);
    let annual = plan.company.get(name).copied();
    let n = plan.calendar.n_periods();
    (0..n)
        .map(|k| {
            match rows.and_then(|r| r[k]) {
                Some(value) => Some(value),
                None => annual.and_then(|a| a.checked_div(plan.calendar.n_decimal())),
            }
            .ok_or_else(|| {
                ScenarioError::Invalid {
                    message: format!(
                        "align needs company `{name}` for every period: {} has no row in company.csv and the plan has no annual `company.{name}`",
                        plan.calendar.period(k).label
                    ),
                    diagnostics: Vec::new(),
                }
            })
        })
        .collect()
}

/// The plan with only the components `keep` accepts, by role and component id.
fn with_components(plan: &Plan, keep: &dyn Fn(&str, &str) -> bool) -> Plan {
    let mut out = plan.clone();
    for (role_id, role) in out.roles.iter_mut() {
        let kept: Vec<usize> = (0..role.components.len()).filter(|&i| keep(role_id, role.components[i].id())).collect();
        role.components = kept.iter().map(|&i| role.components[i].clone()).collect();
        role.component_ids = kept.iter().map(|&i| role.component_ids[i].clone()).collect();
    }
    out
}

/// Per-period sums of a totals run over the payees that did not fail (`failed[payee]`; all
/// of them when `failed` is empty), and per role-year (`role_of[payee]`, a position in the
/// role list of `n_roles`).
fn sums(
    totals: &TotalsRun,
    role_of: &[Option<usize>],
    n_roles: usize,
    failed: &[bool],
) -> (Vec<Decimal>, Vec<Decimal>) {
    let n = totals.periods.len();
    let mut by_period = vec![Decimal::ZERO; n];
    let mut by_role = vec![Decimal::ZERO; n_roles];
    for (i, role) in role_of.iter().enumerate() {
        if failed.get(i).copied().unwrap_or(false) {
            continue;
        }
        let mut year = Decimal::ZERO;
        for (k, slot) in by_period.iter_mut().enumerate() {
            if let Some(amount) = totals.amount(i, k) {
                *slot += amount;
                year += amount;
            }
        }
        if let Some(r) = role {
            by_role[*r] += year;
        }
    }
    (by_period, by_role)
}

/// `failed[payee]` for the payees named by `errors` (a payee id the roster lacks marks none).
fn failed_payees(facts: &Facts, errors: &[crate::statement::RunError], failed: &mut Vec<bool>) {
    for payee in errors.iter().filter_map(|e| e.payee.as_deref()) {
        if let Some(i) = facts.payee_index(payee) {
            if failed.is_empty() {
                failed.resize(facts.payees().len(), false);
            }
            failed[i] = true;
        }
    }
}

fn data_error(d: crate::diagnostic::Diagnostics) -> ScenarioError {
    ScenarioError::data("the data does not fit the plan", d)
}

/// Sweeps the grid for `scenario` applied to the plan and data.
pub fn align(
    input: &PlanInput,
    data: &DataSet,
    scenario: &Scenario,
    options: &AlignOptions,
) -> Result<Alignment, ScenarioError> {
    if options.revenue.is_empty() || options.margin.is_empty() {
        return Err(ScenarioError::usage("the grid needs at least one revenue factor and one margin shift"));
    }
    if options.revenue.len() > MAX_REVENUE_STEPS || options.margin.len() > MAX_MARGIN_STEPS {
        return Err(ScenarioError::usage(format!(
            "the grid is at most {MAX_REVENUE_STEPS} × {MAX_MARGIN_STEPS} cells"
        )));
    }
    let variant: Variant = apply(input, data, scenario)?;
    let plan = &variant.plan;
    let linked = profit_linked(&variant.source, plan);
    let is_linked = |role: &str, id: &str| linked.get(role).is_some_and(|ids| ids.iter().any(|c| c == id));
    let other_plan = with_components(plan, &|role, id| !is_linked(role, id));
    let profit_plan = with_components(plan, &|role, id| is_linked(role, id));
    let roles: Vec<String> = plan.roles.keys().cloned().collect();
    let deadline = &options.deadline;
    let run_options = RunOptions { detail: Detail::Amounts, deadline: deadline.clone(), ..RunOptions::default() };

    // The baseline: company outcomes and fixed costs per period.
    let base_facts = Facts::index(data, plan, &variant.scales).map_err(data_error)?;
    let company = Company {
        revenue: per_period(plan, &base_facts, "revenue")?,
        gross_profit: per_period(plan, &base_facts, "gross_profit")?,
        net_profit: per_period(plan, &base_facts, "net_profit")?,
    };
    let base_other = finished(run_totals(&other_plan, &base_facts, &run_options), deadline)?;
    let mut errors = super::simulate::failures("baseline", &base_other);
    // Each payee's role as a position in `roles`, looked up once per role name.
    let role_of: Vec<Option<usize>> = {
        let mut last: Option<(&str, Option<usize>)> = None;
        base_facts
            .payees()
            .iter()
            .map(|payee| {
                let name = payee.role.as_str();
                let position = match last {
                    Some((previous, position)) if previous == name => position,
                    _ => roles.iter().position(|r| r == name),
                };
                last = Some((name, position));
                position
            })
            .collect()
    };
    let mut failed = Vec::new();
    failed_payees(&base_facts, &base_other.errors, &mut failed);
    let (c0, _) = sums(&base_other, &role_of, roles.len(), &failed);
    let n = plan.calendar.n_periods();
    let fixed: Vec<Decimal> = (0..n).map(|k| company.gross_profit[k] - company.net_profit[k] - c0[k]).collect();
    let follow: Vec<String> = match &options.follow {
        Some(names) => names.clone(),
        None => FOLLOW
            .iter()
            .filter(|name| base_facts.company(name).is_some() || plan.company.contains_key(**name))
            .map(|s| s.to_string())
            .collect(),
    };
    let pct_given = base_facts.company("net_profit_pct").is_some();

    // The revenue factor's deal scales, once per factor (every payee, every kind of deal).
    let payees = data.payees().len();
    let by_revenue: Vec<Scales> = options
        .revenue
        .iter()
        .map(|&r| {
            let mut scales = variant.scales.clone();
            for i in 0..payees {
                for kind in DealKind::ALL {
                    scales.deals(i, payees, kind, r);
                }
            }
            scales
        })
        .collect();
    let minor = plan.minor_units;
    // One cell: a re-index and two partial runs; its failures in the order they are met.
    let cell = |m: usize, ri: usize| -> Result<(Cell, Vec<RunFailure>), ScenarioError> {
        deadline.check()?;
        let (dm, r) = (options.margin[m], options.revenue[ri]);
        let mut scales = by_revenue[ri].clone();
        if !dm.is_zero() {
            scales.shift_margins(dm);
        }
        let mut cell_plan = other_plan.clone();
        let mut cell_profit_plan = profit_plan.clone();
        for name in &follow {
            // Revenue is set per period below, from the same figures the P&L uses.
            if name != "revenue" {
                scales.company(name, r);
            }
            for p in [&mut cell_plan, &mut cell_profit_plan] {
                if let Some(value) = p.model_mut().company.get_mut(name) {
                    *value = value.checked_mul(r).ok_or_else(|| overflow(name))?;
                }
            }
        }
        let revenue: Vec<Decimal> = company.revenue.iter().map(|v| v * r).collect();
        let gross: Vec<Decimal> = (0..n).map(|k| company.gross_profit[k] * r + revenue[k] * dm).collect();
        scales.set_company("revenue", revenue.clone());
        scales.set_company("gross_profit", gross.clone());
        let mut facts = Facts::index(data, &cell_plan, &scales).map_err(data_error)?;
        let other = finished(run_totals(&cell_plan, &facts, &run_options), deadline)?;
        let (c_other, _) = sums(&other, &role_of, roles.len(), &[]);
        let net: Vec<Decimal> = (0..n).map(|k| gross[k] - fixed[k] - c_other[k]).collect();
        facts.set_company("net_profit", &net);
        if pct_given {
            let pct: Vec<Decimal> = (0..n).map(|k| net[k].checked_div(revenue[k]).unwrap_or(Decimal::ZERO)).collect();
            facts.set_company("net_profit_pct", &pct);
        }
        let linked_run = finished(run_totals(&cell_profit_plan, &facts, &run_options), deadline)?;
        let mut cell_failed = Vec::new();
        failed_payees(&facts, &other.errors, &mut cell_failed);
        failed_payees(&facts, &linked_run.errors, &mut cell_failed);
        let mut failures = super::simulate::failures("cell", &other);
        failures.extend(super::simulate::failures("cell", &linked_run));
        let (_, other_roles) = sums(&other, &role_of, roles.len(), &cell_failed);
        let (linked_periods, linked_roles) = sums(&linked_run, &role_of, roles.len(), &cell_failed);
        let by_role: Vec<Decimal> = other_roles.iter().zip(&linked_roles).map(|(a, b)| a + b).collect();
        let profit: Decimal = (0..n).map(|k| net[k] - linked_periods[k]).sum();
        let cell = Cell {
            r: r.normalize().to_string(),
            dm: dm.normalize().to_string(),
            by_role: roles.iter().zip(&by_role).map(|(role, v)| (role.clone(), money(*v, minor))).collect(),
            total_comp: money(by_role.iter().sum(), minor),
            profit_after_comp: money(profit, minor),
            values: CellValues { by_role, profit },
        };
        Ok((cell, failures))
    };
    // Two cells at a time: one's re-index and serial sums overlap the other's runs, and no
    // more than two cells' facts are held at once.
    let grid: Vec<(usize, usize)> =
        (0..options.margin.len()).flat_map(|m| (0..options.revenue.len()).map(move |ri| (m, ri))).collect();
    let mut cells = Vec::with_capacity(grid.len());
    for pair in grid.chunks(2) {
        let [(m, ri), ref rest @ ..] = *pair else { continue };
        let (first, second) = match rest.first() {
            Some(&(m2, ri2)) => {
                let (a, b) = rayon::join(|| cell(m, ri), || cell(m2, ri2));
                (a, Some(b))
            }
            None => (cell(m, ri), None),
        };
        for outcome in std::iter::once(first).chain(second) {
            let (cell, failures) = outcome?;
            for failure in failures {
                if errors.len() < 20 && !errors.iter().any(|e| e.payee == failure.payee && e.message == failure.message)
                {
                    errors.push(failure);
                }
            }
            cells.push(cell);
        }
    }

    let findings = findings(&cells, &roles, options, plan.minor_units);
    let summary = summary(&findings, plan.minor_units);
    let misaligned = findings.iter().any(|f| f.kind == "rises_while_profit_falls");
    let goals = crate::lint::goals(plan, &base_facts);
    let minor = plan.minor_units;
    let coverage = Coverage {
        effective_quotas: money(goals.total.effective, minor),
        run_rate_book: money(goals.run_rate_book, minor),
        budget_revenue: goals.budget_revenue.map(|b| money(b, minor)),
        ratio: goals.coverage_with_run_rate.map(ratio),
    };
    let executive_profit_share = plan
        .roles
        .values()
        .filter(|role| matches!(role.motion, Motion::Executive | Motion::Leader))
        .map(|role| {
            let linked: Decimal = role.components.iter().map(|c| c.profile().profit_linked).sum();
            let share = (!role.target_incentive.is_zero())
                .then(|| linked.checked_div(role.target_incentive))
                .flatten()
                .map(ratio);
            (role.id.clone(), share)
        })
        .collect();
    let options_json = json!({
        "command": "align",
        "revenue": options.revenue.iter().map(|v| v.normalize().to_string()).collect::<Vec<_>>(),
        "margin": options.margin.iter().map(|v| v.normalize().to_string()).collect::<Vec<_>>(),
        "follow": follow,
    });
    Ok(Alignment {
        plan: plan.id.clone(),
        plan_hash: input.compile().map(|p| p.hash.clone()).unwrap_or_else(|_| plan.hash.clone()),
        data_hash: data.hash().to_string(),
        scenario_hash: scenario.hash(options_json),
        currency: plan.currency.clone(),
        verdict: if misaligned { "misaligned" } else { "aligned" },
        summary,
        revenue: options.revenue.iter().map(|v| v.normalize().to_string()).collect(),
        margin: options.margin.iter().map(|v| v.normalize().to_string()).collect(),
        follow,
        profit_linked: linked,
        cells,
        findings,
        executive_profit_share,
        coverage,
        warnings: base_other.warnings,
        errors,
    })
}

fn overflow(name: &str) -> ScenarioError {
    ScenarioError::usage(format!("company.{name} × the revenue factor is too large to compute"))
}

/// Findings along both axes, for every role, in grid order.
fn findings(cells: &[Cell], roles: &[String], options: &AlignOptions, minor: u32) -> Vec<Finding> {
    let width = options.revenue.len();
    let at = |m: usize, r: usize| &cells[m * width + r];
    let mut out = Vec::new();
    for (ri, role) in roles.iter().enumerate() {
        let mut pairs: Vec<(&'static str, String, &Cell, &Cell, String, String)> = Vec::new();
        for (m, dm) in options.margin.iter().enumerate() {
            for r in 1..width {
                let (a, b) = (at(m, r - 1), at(m, r));
                pairs.push(("revenue", dm.normalize().to_string(), a, b, a.r.clone(), b.r.clone()));
            }
        }
        for (r, rv) in options.revenue.iter().enumerate() {
            for m in 1..options.margin.len() {
                let (a, b) = (at(m - 1, r), at(m, r));
                pairs.push(("margin", rv.normalize().to_string(), a, b, a.dm.clone(), b.dm.clone()));
            }
        }
        for (axis, other, a, b, from, to) in pairs {
            let pay = b.values.by_role[ri] - a.values.by_role[ri];
            let profit = b.values.profit - a.values.profit;
            let finding = |from: &str, to: &str, pay: Decimal, profit: Decimal| Finding {
                kind: "rises_while_profit_falls",
                role: role.clone(),
                axis: Some(axis),
                at: Some(other.clone()),
                from: Some(from.to_string()),
                to: Some(to.to_string()),
                payout_change: Some(money(pay, minor)),
                profit_change: Some(money(profit, minor)),
            };
            if pay > Decimal::ZERO && profit < Decimal::ZERO {
                out.push(finding(&from, &to, pay, profit));
            } else if pay < Decimal::ZERO && profit > Decimal::ZERO {
                out.push(finding(&to, &from, -pay, -profit));
            }
        }
        let first = cells.first().map(|c| c.values.by_role[ri]);
        if cells.len() > 1 && cells.iter().all(|c| Some(c.values.by_role[ri]) == first) {
            out.push(Finding {
                kind: "unresponsive",
                role: role.clone(),
                axis: None,
                at: None,
                from: None,
                to: None,
                payout_change: Some(money(Decimal::ZERO, minor)),
                profit_change: None,
            });
        }
    }
    out
}

fn percent_of_revenue(r: &str) -> String {
    let value: Decimal = r.parse().unwrap_or_default();
    format!("{} %", (value * Decimal::ONE_HUNDRED).normalize())
}

fn margin_words(dm: &str) -> String {
    let value: Decimal = dm.parse().unwrap_or_default();
    if value.is_zero() {
        "today's margin".to_string()
    } else {
        let points = (value * Decimal::ONE_HUNDRED).normalize();
        let sign = if value > Decimal::ZERO { "+" } else { "" };
        format!("margin {sign}{points} points")
    }
}

/// One plain-language sentence per run of findings: the same role, axis and other-axis
/// value, over neighbouring steps in the same direction.
fn summary(findings: &[Finding], minor: u32) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < findings.len() {
        let f = &findings[i];
        if f.kind != "rises_while_profit_falls" {
            if f.kind == "unresponsive" {
                out.push(format!("{}: pay is the same in every cell of the grid (a note, not a misalignment)", f.role));
            }
            i += 1;
            continue;
        }
        // A run continues while each step starts where the last ended (pay rising with
        // the axis) or ends where the last started (pay rising as the axis falls).
        let same = |g: &Finding| g.kind == f.kind && g.role == f.role && g.axis == f.axis && g.at == f.at;
        let mut j = i + 1;
        let mut up = None;
        while j < findings.len() && same(&findings[j]) {
            let ascending = findings[j].from == findings[j - 1].to;
            let descending = findings[j].to == findings[j - 1].from;
            let direction = if ascending {
                Some(true)
            } else if descending {
                Some(false)
            } else {
                None
            };
            if direction.is_none() || (up.is_some() && up != direction) {
                break;
            }
            up = direction;
            j += 1;
        }
        let run = &findings[i..j];
        let steps = Decimal::from(run.len() as u64);
        let total: Decimal = run.iter().filter_map(|f| f.payout_change.as_deref()?.parse::<Decimal>().ok()).sum();
        let per_step = crate::number::format_money_grouped(total / steps, minor);
        let (first, last) = (&run[0], &run[run.len() - 1]);
        let (from, to) = if up == Some(false) {
            (last.from.clone().unwrap_or_default(), first.to.clone().unwrap_or_default())
        } else {
            (first.from.clone().unwrap_or_default(), last.to.clone().unwrap_or_default())
        };
        let at = f.at.clone().unwrap_or_default();
        let sentence = if f.axis == Some("revenue") {
            format!(
                "{}: from {} to {} of revenue at {}, pay rises {per_step} a step while profit after comp falls",
                f.role,
                percent_of_revenue(&from),
                percent_of_revenue(&to),
                margin_words(&at)
            )
        } else {
            format!(
                "{}: from {} to {} at {} of revenue, pay rises {per_step} a step while profit after comp falls",
                f.role,
                margin_words(&from),
                margin_words(&to),
                percent_of_revenue(&at)
            )
        };
        out.push(sentence);
        i = j;
    }
    out
}

/// Which components read company profit, by role (SPEC §12): a `profit_bonus`; one whose
/// measure, target, gate, modifier or KPI names `company.net_profit` or
/// `company.net_profit_pct`; a curve component on a blended attainment whose scores do; or a
/// script (or plugin type) whose source names `net_profit`. Read from the plan as written,
/// so plugin types and scripts are judged by their text.
fn profit_linked(source: &PlanSource, plan: &Plan) -> IndexMap<String, Vec<String>> {
    let plan_dir = source.path.parent().unwrap_or(std::path::Path::new("")).to_path_buf();
    let plugins = crate::registry::plugin_dirs(&*source.sources, &source.path);
    let script_names = |file: &std::path::Path| -> bool {
        source.sources.read(file).ok().flatten().is_some_and(|text| text.contains("net_profit"))
    };
    let mut out = IndexMap::new();
    let Some(NodeKind::Map(roles)) = source.root.get("roles").map(|n| &n.kind) else { return out };
    for (role_key, role_node) in roles {
        let Some(role_id) = role_key.as_str() else { continue };
        if !plan.roles.contains_key(role_id) {
            continue;
        }
        let blend_reads = role_node.get("quota").and_then(|q| q.get("attainment")).is_some_and(names_net_profit);
        let mut ids = Vec::new();
        if let Some(NodeKind::Seq(components)) = role_node.get("components").map(|n| &n.kind) {
            for component in components {
                let Some(id) = component.get("id").and_then(Node::as_str) else { continue };
                let kind = component.get("type").and_then(Node::as_str).unwrap_or("tiered");
                let relieved = component.get("attainment").and_then(Node::as_str) == Some("relieved");
                let reads = kind == "profit_bonus"
                    || names_net_profit(component)
                    || (blend_reads && relieved)
                    || (kind == "script"
                        && component
                            .get("file")
                            .and_then(Node::as_str)
                            .is_some_and(|file| script_names(&plan_dir.join(file))))
                    || plugins.iter().any(|(dir, _)| {
                        let file = dir.join(format!("{kind}.rhai"));
                        script_names(&file)
                    });
                if reads {
                    ids.push(id.to_string());
                }
            }
        }
        out.insert(role_id.to_string(), ids);
    }
    out
}

/// Whether any scalar under `node` names `company.net_profit` or `company.net_profit_pct`.
fn names_net_profit(node: &Node) -> bool {
    match &node.kind {
        NodeKind::Scalar { text, .. } => text.contains("company.net_profit"),
        NodeKind::Seq(items) => items.iter().any(names_net_profit),
        NodeKind::Map(entries) => entries.iter().any(|(_, v)| names_net_profit(v)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_exact_and_inclusive() {
        let values = parse_range("0.5:1.5:0.1").unwrap();
        assert_eq!(values.len(), 11);
        assert_eq!(values[10], Decimal::new(15, 1));
        assert_eq!(parse_range("1:1:0.1").unwrap(), vec![Decimal::ONE]);
        assert!(parse_range("0.5:1.5").is_err());
        assert!(parse_range("0.5:1.5:0").is_err());
        assert!(parse_range("1.5:0.5:0.1").is_err());
        assert!(parse_range("0:100:0.5").is_err(), "201 steps");
        assert_eq!(parse_list("0.1,-0.1,0").unwrap(), vec![Decimal::new(-1, 1), Decimal::ZERO, Decimal::new(1, 1)]);
        assert!(parse_list("a,b").is_err());
    }
}
