//! `explain` (SPEC §12): a role's plan in plain language for the payee and their family,
//! generated from the compiled plan, with worked tables of the year's pay that the engine
//! computes on a made-up payee — the payee of `accrue curve` for quota attainment, and the
//! same payee with company, book or scorecard numbers for the other drivers.

use indexmap::IndexMap;
use rust_decimal::Decimal;

use crate::component::Detail;
use crate::component::{DescribeContext, Description, Driver, ScorecardItem, Target, measure_words, upper_first};
use crate::curve::{blend_scores_on_target, quota_payee};
use crate::data::Facts;
use crate::eval::{RunOptions, run_with};
use crate::measure::{DealKind, MeasureRef};
use crate::number::{format_money_grouped, format_percent, format_ratio};
use crate::registry::{Plan, Role};
use crate::spec::{Motion, QuotaSource, WindowKind};

/// The made-up payee's numbers.
#[derive(Debug, Clone)]
pub struct ExplainOptions {
    /// The annual quota (default 1,000,000); also the book at the start of the year of a
    /// retention example.
    pub quota: Decimal,
}

impl Default for ExplainOptions {
    fn default() -> Self {
        ExplainOptions { quota: Decimal::from(1_000_000) }
    }
}

/// Why a role cannot be explained.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ExplainError {
    #[error("no role `{role}` in plan {plan} (roles: {})", roles.join(", "))]
    UnknownRole { plan: String, role: String, roles: Vec<String> },
    #[error("the quota of the worked example must be above 0 (found {0})")]
    Quota(Decimal),
    #[error("cannot work the example of role `{role}`: {message}")]
    Run { role: String, message: String },
}

/// One component in words.
#[derive(Debug, Clone)]
pub struct ComponentText {
    pub id: String,
    pub type_name: String,
    pub sentences: Vec<String>,
}

/// A row of a worked table: the year's pay at one level of the driver.
#[derive(Debug, Clone)]
pub struct WorkedRow {
    /// The driver as a share of its target (1 = on target).
    pub level: Decimal,
    /// The driver's numbers in words ("bookings 1,250,000.00").
    pub driver: String,
    /// The year's pay per column, or why this level cannot happen.
    pub amounts: Result<Vec<Decimal>, String>,
}

impl WorkedRow {
    pub fn total(&self) -> Option<Decimal> {
        self.amounts.as_ref().ok().map(|a| a.iter().sum())
    }
}

/// The year's pay at 50–150 % of a driver's target, computed by the engine.
#[derive(Debug, Clone)]
pub struct WorkedTable {
    pub title: String,
    /// How the example was made.
    pub note: String,
    /// What the level is a share of ("of quota", "of target NRR").
    pub level_heading: String,
    pub driver_heading: String,
    /// Line names (`new_business`, `book_retention.churn_clawback`).
    pub columns: Vec<String>,
    pub rows: Vec<WorkedRow>,
}

/// A role's plan explained.
#[derive(Debug, Clone)]
pub struct Explanation {
    pub plan: String,
    pub plan_name: String,
    pub role: String,
    pub title: String,
    pub currency: String,
    /// Who the role is and how the year is paid.
    pub overview: Vec<String>,
    /// The role's quota rules (SPEC §6), when it has quota-based pay.
    pub quota_rules: Vec<String>,
    pub components: Vec<ComponentText>,
    pub tables: Vec<WorkedTable>,
    /// Components without a table, and why.
    pub without_table: Vec<String>,
}

/// The levels of every worked table: 50, 75, 100, 125 and 150 % of target.
fn levels() -> [Decimal; 5] {
    [Decimal::new(50, 2), Decimal::new(75, 2), Decimal::ONE, Decimal::new(125, 2), Decimal::new(150, 2)]
}

/// Explains `role_id` of `plan`.
pub fn explain(plan: &Plan, role_id: &str, options: &ExplainOptions) -> Result<Explanation, ExplainError> {
    let role = plan.roles.get(role_id).ok_or_else(|| ExplainError::UnknownRole {
        plan: plan.id.clone(),
        role: role_id.to_string(),
        roles: plan.roles.keys().cloned().collect(),
    })?;
    if options.quota <= Decimal::ZERO {
        return Err(ExplainError::Quota(options.quota));
    }
    let cx = DescribeContext {
        role_ti: role.target_incentive,
        quota: options.quota,
        calendar: &plan.calendar,
        quota_rules: &role.quota,
        company: &plan.company,
    };
    let described: Vec<(String, &str, Description)> =
        role.components.iter().map(|c| (c.id().to_string(), c.type_name(), c.describe(&cx))).collect();
    let quota_based: Vec<String> =
        described.iter().filter(|(_, _, d)| d.driver == Driver::Quota).map(|(id, _, _)| id.clone()).collect();
    let sweep = Sweep { plan, role_id, role, quota: options.quota };

    let mut tables = Vec::new();
    let mut without_table = Vec::new();
    if !quota_based.is_empty() {
        tables.push(sweep.quota_table(&quota_based)?);
    }
    for (id, type_name, description) in &described {
        let table = match &description.driver {
            Driver::Quota => continue,
            Driver::Target { measure, target } => sweep.target_table(id, measure, target)?,
            Driver::Profit => sweep.profit_table(id)?,
            Driver::Retention { gross, target } => sweep.retention_table(id, *gross, *target)?,
            Driver::Scorecard(items) => sweep.scorecard_table(id, items)?,
            _ => Err(no_driver(id, type_name, cx.period_word())),
        };
        match table {
            Ok(table) => tables.push(table),
            Err(why) => without_table.push(why),
        }
    }
    Ok(Explanation {
        plan: plan.id.clone(),
        plan_name: plan.name.clone(),
        role: role_id.to_string(),
        title: role.title.clone(),
        currency: plan.currency.clone(),
        overview: overview(plan, role, &cx),
        quota_rules: if quota_based.is_empty() { Vec::new() } else { quota_rules(role, &cx, &quota_based) },
        components: described
            .into_iter()
            .map(|(id, type_name, d)| ComponentText { id, type_name: type_name.to_string(), sentences: d.sentences })
            .collect(),
        tables,
        without_table,
    })
}

fn no_driver(id: &str, type_name: &str, period: &str) -> String {
    match type_name {
        "draw" => format!(
            "`{id}` has no table: what a draw adds depends on the rest of your pay in each {period}, as described \
             above."
        ),
        "spiff" => format!("`{id}` has no table: it pays per item inside its dates, as described above."),
        _ => format!("`{id}` has no table: its pay does not follow one target."),
    }
}

fn motion_words(motion: Motion) -> &'static str {
    match motion {
        Motion::Hunter => "a hunter role: paid for winning new customers",
        Motion::Farmer => "a farmer role: paid for keeping and growing the existing customers",
        Motion::Vcio => {
            "a vCIO role: an adviser to existing customers, paid like a farmer for keeping and growing them"
        }
        Motion::Leader => "a sales leader role: paid on the team's results and the company's",
        Motion::Executive => "an executive role: paid mostly on the company's bottom line",
        Motion::NonSales => "a role outside sales, paid on targets the company sets in the market",
    }
}

fn overview(plan: &Plan, role: &Role, cx: &DescribeContext<'_>) -> Vec<String> {
    let calendar = &plan.calendar;
    let mut out = vec![
        format!("{} is {}.", role.title, motion_words(role.motion)),
        format!(
            "The plan year runs from {} to {}; amounts are in {} and pay is worked out each {}.",
            calendar.start(),
            calendar.end(),
            plan.currency,
            cx.period_word()
        ),
    ];
    if !role.target_incentive.is_zero() {
        out.push(format!(
            "Target incentive (TI): {} a year, the yardstick of the bonus parts below: what they pay together \
             when every target is met exactly.",
            cx.money(role.target_incentive)
        ));
    }
    if role.rollup {
        out.push(
            "Your bookings and other deal numbers include those of everyone who reports to you, all the way down."
                .into(),
        );
    }
    if role.hybrid {
        out.push("The role mixes pay for new customers and for existing ones on purpose (a hybrid role).".into());
    }
    out
}

fn quota_rules(role: &Role, cx: &DescribeContext<'_>, quota_based: &[String]) -> Vec<String> {
    let rules = &role.quota;
    let period = cx.period_word();
    let mut out = vec![match rules.source {
        QuotaSource::SelfGoal => format!(
            "Your quota is the goal you set yourself, but never less than {} of the quota assigned to you; \
             without a goal of your own, the assigned quota applies.",
            format_percent(rules.floor)
        ),
        _ => "Your quota is the yearly number assigned to you.".to_string(),
    }];
    if let Some(shares) = &rules.phasing {
        let parts: Vec<String> = shares
            .iter()
            .enumerate()
            .map(|(k, share)| format!("{} in {}", format_percent(*share), cx.calendar.period(k).label))
            .collect();
        out.push(format!(
            "Your quota is phased, not spread evenly: each {period} carries its share of the year's quota ({}). \
             Parts paid on the year so far compare your bookings with the shares of the {period}s so far.",
            parts.join(", ")
        ));
    }
    out.push(if rules.prorate {
        "If you join or leave during the year, your quota and TI shrink in proportion to the days you are employed."
            .into()
    } else {
        format!("Joining or leaving mid-year does not cut the quota: every {period} with at least one day employed counts in full.")
    });
    out.push(match rules.max_relief_pct {
        Some(max) => format!(
            "Approved relief (a leave, a lost territory, events outside your control) lowers your quota for the \
             {period} it covers, up to {} of the year's quota in all.",
            format_percent(max)
        ),
        None => format!(
            "Approved relief (a leave, a lost territory, events outside your control) lowers your quota for the \
             {period} it covers."
        ),
    });
    if let Some(blend) = &rules.blend {
        let mut parts = vec![format!("{} your own attainment", format_percent(blend.revenue_weight))];
        if !blend.team_weight.is_zero() {
            parts.push(format!(
                "{} your team's (the colleagues in your team and role, you included)",
                format_percent(blend.team_weight)
            ));
        }
        for score in &blend.scores {
            let cap = score.cap.map(|c| format!(", capped at {}", format_percent(c))).unwrap_or_default();
            parts.push(format!(
                "{} {} against {}{cap}",
                format_percent(score.weight),
                measure_words(&score.measure),
                crate::component::measure_value(&score.measure, score.target)
            ));
        }
        out.push(format!(
            "Bonus parts on blended attainment do not look at bookings alone: they see {}.",
            parts.join(" + ")
        ));
    }
    let listed = quota_based.iter().map(|id| format!("`{id}`")).collect::<Vec<_>>().join(", ");
    if let Some((below, multiplier)) = rules.soft_floor {
        out.push(format!(
            "Soft floor: below {} the quota-based parts ({listed}) pay {} of their amount instead of nothing.",
            cx.of_quota(below),
            format_percent(multiplier)
        ));
    }
    if let Some((over, multiplier)) = rules.kicker {
        out.push(format!(
            "Kicker: when your results reach {} of your own self-set goal, the quota-based parts ({listed}) are \
             multiplied by {}. The worked example below has no self-set goal, so it shows no kicker.",
            format_percent(over),
            format_ratio(multiplier)
        ));
    }
    out
}

/// Runs the made-up payee through the engine.
struct Sweep<'a> {
    plan: &'a Plan,
    role_id: &'a str,
    role: &'a Role,
    quota: Decimal,
}

impl Sweep<'_> {
    fn n(&self) -> Decimal {
        self.plan.calendar.n_decimal()
    }

    fn money(&self, value: Decimal) -> String {
        format_money_grouped(value, 2)
    }

    /// `annual` spread evenly over the periods.
    fn per_period(&self, annual: Decimal) -> Result<Vec<Decimal>, ExplainError> {
        let share = annual.checked_div(self.n()).ok_or_else(|| self.error("an amount is too large"))?;
        Ok(vec![share; self.plan.calendar.n_periods()])
    }

    fn error(&self, message: impl Into<String>) -> ExplainError {
        ExplainError::Run { role: self.role_id.to_string(), message: message.into() }
    }

    /// The plan with the role keeping only `ids`, so that another component's needs (a profit
    /// bonus without company data) do not get in the way.
    fn plan_with(&self, ids: &[String]) -> Plan {
        let mut plan = self.plan.clone();
        if let Some(role) = plan.roles.get_mut(self.role_id) {
            let keep: Vec<usize> =
                (0..role.components.len()).filter(|&i| ids.iter().any(|id| id == role.components[i].id())).collect();
            role.components = keep.iter().map(|&i| role.components[i].clone()).collect();
            role.component_ids = keep.iter().map(|&i| role.component_ids[i].clone()).collect();
        }
        plan
    }

    /// The year's pay per line of `plan` on `facts`: `(line name, amount)` in line order.
    fn year(&self, plan: &Plan, facts: &Facts) -> Result<IndexMap<String, Decimal>, ExplainError> {
        let options = RunOptions { detail: Detail::Amounts, neutral_shaping: true, ..RunOptions::default() };
        let result = run_with(plan, facts, &options);
        if let Some(error) = result.errors.first() {
            return Err(self.error(error.to_string()));
        }
        let mut year = IndexMap::new();
        for statement in &result.statements {
            for line in &statement.lines {
                *year.entry(line.component.to_string()).or_insert(Decimal::ZERO) += line.amount;
            }
        }
        Ok(year)
    }

    /// Builds a table from one facts per level (`Err` when the level cannot happen).
    fn table(
        &self,
        ids: &[String],
        title: String,
        note: String,
        (level_heading, driver_heading): (&str, &str),
        mut row: impl FnMut(Decimal) -> Result<Result<(String, Facts), (String, String)>, ExplainError>,
    ) -> Result<WorkedTable, ExplainError> {
        let plan = self.plan_with(ids);
        let mut columns: Vec<String> = ids.to_vec();
        let mut years = Vec::new();
        for level in levels() {
            match row(level)? {
                Ok((driver, facts)) => {
                    let year = self.year(&plan, &facts)?;
                    for name in year.keys() {
                        if !columns.contains(name) {
                            columns.push(name.clone());
                        }
                    }
                    years.push((level, driver, Ok(year)));
                }
                Err((driver, why)) => years.push((level, driver, Err(why))),
            }
        }
        let rows = years
            .into_iter()
            .map(|(level, driver, year)| WorkedRow {
                level,
                driver,
                amounts: year
                    .map(|year| columns.iter().map(|c| year.get(c).copied().unwrap_or(Decimal::ZERO)).collect()),
            })
            .collect();
        Ok(WorkedTable {
            title,
            note,
            level_heading: level_heading.into(),
            driver_heading: driver_heading.into(),
            columns,
            rows,
        })
    }

    /// The role's pay over quota attainment: the payee of `accrue curve`, with blend scores on
    /// target.
    fn quota_table(&self, ids: &[String]) -> Result<WorkedTable, ExplainError> {
        let (declared, company) = blend_scores_on_target(self.role, self.n_periods());
        let scores = if declared.is_empty() && company.is_empty() {
            ""
        } else {
            "; the scores of the attainment blend are on target and the team does as well as the payee"
        };
        // Pay on collection: the made-up customers pay as they buy (see `Facts::synthetic`).
        let paid = if self.plan.collected_roles.contains(&self.role.id) { ", whose customers pay at once" } else { "" };
        let note = format!(
            "Worked out by the engine for a made-up payee with a quota of {} who books evenly through the year at \
             full margin{paid}; gates and multipliers are left neutral{scores}; caps apply.",
            self.money(self.quota)
        );
        self.table(ids, "Your year's pay by quota attainment".into(), note, ("Attainment", "Bookings"), |level| {
            let bookings = level.checked_mul(self.quota).ok_or_else(|| self.error("the quota is too large"))?;
            let per_period = bookings.checked_div(self.n()).ok_or_else(|| self.error("an amount is too large"))?;
            let facts = quota_payee(self.plan, self.role, self.quota, per_period);
            Ok(Ok((self.money(bookings), facts)))
        })
    }

    fn n_periods(&self) -> usize {
        self.plan.calendar.n_periods()
    }

    fn target_table(
        &self,
        id: &str,
        measure: &MeasureRef,
        target: &Target,
    ) -> Result<Result<WorkedTable, String>, ExplainError> {
        let annual = match target {
            Target::Amount(value) => *value,
            Target::Company(name) => match self.plan.company.get(name) {
                Some(value) => *value,
                None => {
                    return Ok(Err(format!(
                        "`{id}` has no table: its target company.{name} comes from the data, not the plan."
                    )));
                }
            },
        };
        let what = measure_words(measure);
        let note = format!(
            "Worked out by the engine with {what} spread evenly through the year at each share of its target of \
             {} a year; gates and multipliers are left neutral; caps apply.",
            self.money(annual)
        );
        let title = format!("`{id}`: your year's pay by {what} against its target");
        let heading = upper_first(&what);
        self.table(&[id.to_string()], title, note, ("Share of target", &heading), |level| {
            let value = level.checked_mul(annual).ok_or_else(|| self.error("the target is too large"))?;
            let values = if measure.is_level() { vec![value; self.n_periods()] } else { self.per_period(value)? };
            let (mut deals, mut declared, mut company) = (Vec::new(), Vec::new(), Vec::new());
            match measure {
                // The made-up payee's customers pay at once: its collections are its deals.
                MeasureRef::Deals(kind) | MeasureRef::Collected(kind) => deals.push((*kind, values)),
                MeasureRef::Declared { name, .. } => declared.push((name.clone(), values[0])),
                MeasureRef::Company(name) => company.push((name.clone(), values)),
                _ => return Ok(Err((String::new(), "not worked out for this measure".into()))),
            }
            let facts = Facts::synthetic_driven(self.plan, self.role_id, self.quota, None, &deals, &declared, &company);
            Ok(Ok((crate::component::measure_value(measure, value), facts)))
        })
        .map(Ok)
    }

    fn profit_table(&self, id: &str) -> Result<Result<WorkedTable, String>, ExplainError> {
        let (Some(&budget), Some(&target_pct)) =
            (self.plan.company.get("budget_net_profit"), self.plan.company.get("target_net_profit_pct"))
        else {
            return Ok(Err(format!(
                "`{id}` has no table: the plan gives no company budget_net_profit and target_net_profit_pct."
            )));
        };
        if target_pct <= Decimal::ZERO {
            return Ok(Err(format!("`{id}` has no table: the plan's target_net_profit_pct is not above 0.")));
        }
        // Revenue stays where budget profit is exactly the target %, so that profit dollars
        // and profit % reach the same share of their targets.
        let revenue = budget.checked_div(target_pct).ok_or_else(|| self.error("the budget is too large"))?;
        let note = format!(
            "Worked out by the engine with company revenue of {} and net profit at each share of the budget of {} \
             (so net profit % is at the same share of its {} target), evenly through the year; gates and \
             multipliers are left neutral; caps apply.",
            self.money(revenue),
            self.money(budget),
            format_percent(target_pct)
        );
        let title = format!("`{id}`: your year's pay by company profit against budget");
        self.table(&[id.to_string()], title, note, ("Profit vs budget", "Net profit (and % of revenue)"), |level| {
            let profit = level.checked_mul(budget).ok_or_else(|| self.error("the budget is too large"))?;
            let company = [
                ("revenue".to_string(), self.per_period(revenue)?),
                ("net_profit".to_string(), self.per_period(profit)?),
            ];
            let facts = Facts::synthetic_driven(self.plan, self.role_id, self.quota, None, &[], &[], &company);
            let pct = level * target_pct;
            Ok(Ok((format!("{} ({})", self.money(profit), format_percent(pct)), facts)))
        })
        .map(Ok)
    }

    /// Retention at each share of its target in every window: the book's net change per
    /// period is worked back from the ratio each window must show (SPEC §4).
    fn retention_table(
        &self,
        id: &str,
        gross: bool,
        target: Decimal,
    ) -> Result<Result<WorkedTable, String>, ExplainError> {
        let window = self.role.components.iter().find(|c| c.id() == id).map_or(WindowKind::Ytd, |c| c.window());
        let book = self.quota;
        let metric = if gross { "GRR" } else { "NRR" };
        let period = match self.plan.calendar.kind {
            crate::calendar::PeriodKind::Month => "month",
            crate::calendar::PeriodKind::Quarter => "quarter",
            crate::calendar::PeriodKind::Year => "year",
        };
        let note = format!(
            "Worked out by the engine for a made-up book of {} at the start of the year whose {metric} is at each \
             share of its {} target in every {period} (growth as expansion, shrinkage as churn); gates and \
             multipliers are left neutral; caps apply.",
            self.money(book),
            format_percent(target)
        );
        let title = format!("`{id}`: your year's pay by {metric} against its target");
        let n = self.n();
        self.table(&[id.to_string()], title, note, (&format!("{metric} vs target"), metric), |level| {
            let mut cumulative = Vec::new(); // S_k: the book's net change up to period k
            for k in 0..self.n_periods() {
                let before = if k == 0 { Decimal::ZERO } else { cumulative[k - 1] };
                let (length, book_w, start) = match window {
                    WindowKind::Ytd | WindowKind::YtdAnnual => (Decimal::from(k as u64 + 1), book, Decimal::ZERO),
                    WindowKind::Period => (Decimal::ONE, book + before, before),
                };
                let target_w = Decimal::ONE + (target - Decimal::ONE) * length / n;
                cumulative.push(start + book_w * (level * target_w - Decimal::ONE));
            }
            let year_ratio = level * target;
            let driver = format!("{metric} {}", format_percent(year_ratio));
            let mut expansion = Vec::new();
            let mut churn = Vec::new();
            for k in 0..cumulative.len() {
                let change = cumulative[k] - if k == 0 { Decimal::ZERO } else { cumulative[k - 1] };
                if gross && change > Decimal::ZERO {
                    return Ok(Err((driver, "cannot happen: GRR is never above 100%".into())));
                }
                expansion.push(change.max(Decimal::ZERO));
                churn.push((-change).max(Decimal::ZERO));
            }
            let deals = [(DealKind::Expansion, expansion), (DealKind::Churn, churn)];
            let facts = Facts::synthetic_driven(self.plan, self.role_id, self.quota, Some(book), &deals, &[], &[]);
            Ok(Ok((driver, facts)))
        })
        .map(Ok)
    }

    fn scorecard_table(&self, id: &str, items: &[ScorecardItem]) -> Result<Result<WorkedTable, String>, ExplainError> {
        let listed: Vec<String> = items
            .iter()
            .map(|item| {
                let lower = if item.lower_is_better { ", lower is better" } else { "" };
                format!(
                    "{} {}{lower}",
                    measure_words(&item.measure),
                    crate::component::measure_value(&item.measure, item.target)
                )
            })
            .collect();
        let lower_note = if items.iter().any(|item| item.lower_is_better) {
            " (a lower-is-better measure scores that share at (2 − share) × its target)"
        } else {
            ""
        };
        let note = format!(
            "Worked out by the engine with every scorecard measure at the same share of its target ({}){lower_note}, \
             evenly through the year; gates and multipliers are left neutral; caps apply.",
            listed.join("; ")
        );
        let title = format!("`{id}`: your year's pay by scorecard result");
        self.table(&[id.to_string()], title, note, ("Share of targets", "Measures"), |level| {
            let (mut deals, mut declared, mut company) = (Vec::new(), Vec::new(), Vec::new());
            let mut shown = Vec::new();
            for ScorecardItem { measure, target, lower_is_better } in items {
                let share = if *lower_is_better { Decimal::TWO - level } else { level };
                let value = share * target;
                shown.push(crate::component::measure_value(measure, value));
                let values = if measure.is_level() { vec![value; self.n_periods()] } else { self.per_period(value)? };
                match measure {
                    MeasureRef::Deals(kind) | MeasureRef::Collected(kind) => deals.push((*kind, values)),
                    MeasureRef::Declared { name, .. } => declared.push((name.clone(), values[0])),
                    MeasureRef::Company(name) => company.push((name.clone(), values)),
                    _ => {}
                }
            }
            let facts = Facts::synthetic_driven(self.plan, self.role_id, self.quota, None, &deals, &declared, &company);
            Ok(Ok((shown.join(", "), facts)))
        })
        .map(Ok)
    }
}

impl Explanation {
    /// The explanation as Markdown.
    pub fn to_markdown(&self) -> String {
        let mut out = String::new();
        let line = |out: &mut String, text: &str| {
            out.push_str(text);
            out.push('\n');
        };
        line(&mut out, &format!("# {} (`{}`): how your pay works", md(&self.title), self.role));
        line(&mut out, "");
        line(&mut out, &format!("Plan: {} (`{}`).", md(&self.plan_name), self.plan));
        line(&mut out, "");
        for sentence in &self.overview {
            line(&mut out, &format!("- {}", md(sentence)));
        }
        if !self.quota_rules.is_empty() {
            line(&mut out, "");
            line(&mut out, "## Your quota");
            line(&mut out, "");
            for sentence in &self.quota_rules {
                line(&mut out, &format!("- {}", md(sentence)));
            }
        }
        line(&mut out, "");
        line(&mut out, "## What you are paid for");
        for component in &self.components {
            line(&mut out, "");
            line(&mut out, &format!("### `{}` ({})", component.id, component.type_name));
            line(&mut out, "");
            for sentence in &component.sentences {
                line(&mut out, &format!("- {}", md(sentence)));
            }
        }
        for table in &self.tables {
            line(&mut out, "");
            line(&mut out, &format!("## {}", md(&table.title)));
            line(&mut out, "");
            line(&mut out, &md(&table.note));
            line(&mut out, "");
            let mut header = vec![table.level_heading.clone(), table.driver_heading.clone()];
            header.extend(table.columns.iter().map(|c| format!("`{c}`")));
            header.push("Total".into());
            line(&mut out, &format!("| {} |", header.iter().map(|h| md(h)).collect::<Vec<_>>().join(" | ")));
            let align: Vec<&str> = (0..header.len()).map(|i| if i == 0 { "---" } else { "---:" }).collect();
            line(&mut out, &format!("| {} |", align.join(" | ")));
            for row in &table.rows {
                line(
                    &mut out,
                    &format!("| {} |", cells(table, row).iter().map(|c| md(c)).collect::<Vec<_>>().join(" | ")),
                );
            }
        }
        if !self.without_table.is_empty() {
            line(&mut out, "");
            for sentence in &self.without_table {
                line(&mut out, &md(sentence));
            }
        }
        out
    }

    /// The explanation as one self-contained, printable HTML page (no external assets).
    pub fn to_html(&self) -> String {
        let mut out = String::new();
        out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        out.push_str(&format!("<title>{}: how your pay works</title>\n", html(&self.title)));
        out.push_str(
            "<style>\nbody{font-family:Georgia,serif;max-width:52rem;margin:2rem auto;padding:0 1rem;\
             line-height:1.5;color:#111}\ntable{border-collapse:collapse;margin:1rem 0}\nth,td{border:1px solid \
             #999;padding:.3rem .6rem}\ntd.n,th.n{text-align:right;font-variant-numeric:tabular-nums}\n\
             .note{color:#444;font-size:.9rem}\ncode{font-size:.9em}\n@media print{body{margin:0;max-width:none}\
             h2,h3{break-after:avoid}table{break-inside:avoid}}\n</style>\n</head>\n<body>\n",
        );
        out.push_str(&format!(
            "<h1>{} (<code>{}</code>): how your pay works</h1>\n<p>Plan: {} (<code>{}</code>).</p>\n",
            html(&self.title),
            html(&self.role),
            html(&self.plan_name),
            html(&self.plan)
        ));
        list(&mut out, &self.overview);
        if !self.quota_rules.is_empty() {
            out.push_str("<h2>Your quota</h2>\n");
            list(&mut out, &self.quota_rules);
        }
        out.push_str("<h2>What you are paid for</h2>\n");
        for component in &self.components {
            out.push_str(&format!("<h3><code>{}</code> ({})</h3>\n", html(&component.id), html(&component.type_name)));
            list(&mut out, &component.sentences);
        }
        for table in &self.tables {
            out.push_str(&format!(
                "<h2>{}</h2>\n<p class=\"note\">{}</p>\n<table>\n<tr>",
                html(&table.title),
                html(&table.note)
            ));
            out.push_str(&format!(
                "<th>{}</th><th class=\"n\">{}</th>",
                html(&table.level_heading),
                html(&table.driver_heading)
            ));
            for column in &table.columns {
                out.push_str(&format!("<th class=\"n\"><code>{}</code></th>", html(column)));
            }
            out.push_str("<th class=\"n\">Total</th></tr>\n");
            for row in &table.rows {
                out.push_str("<tr>");
                for (i, cell) in cells(table, row).iter().enumerate() {
                    let class = if i == 0 { "" } else { " class=\"n\"" };
                    out.push_str(&format!("<td{class}>{}</td>", html(cell)));
                }
                out.push_str("</tr>\n");
            }
            out.push_str("</table>\n");
        }
        for sentence in &self.without_table {
            out.push_str(&format!("<p>{}</p>\n", html(sentence)));
        }
        out.push_str("</body>\n</html>\n");
        out
    }
}

/// A row's cells: level, driver, each column and the total (or why the level cannot happen).
fn cells(table: &WorkedTable, row: &WorkedRow) -> Vec<String> {
    let mut cells = vec![format_percent(row.level), row.driver.clone()];
    match &row.amounts {
        Ok(amounts) => {
            cells.extend(amounts.iter().map(|a| format_money_grouped(*a, 2)));
            cells.push(format_money_grouped(row.total().unwrap_or_default(), 2));
        }
        Err(why) => {
            cells.extend(table.columns.iter().map(|_| "—".to_string()));
            cells.push(why.clone());
        }
    }
    cells
}

fn list(out: &mut String, items: &[String]) {
    out.push_str("<ul>\n");
    for item in items {
        out.push_str(&format!("<li>{}</li>\n", html(item)));
    }
    out.push_str("</ul>\n");
}

/// Escapes text for HTML; backquoted names become `<code>`.
fn html(text: &str) -> String {
    let escaped = text
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;");
    let mut out = String::new();
    for (i, part) in escaped.split('`').enumerate() {
        if i % 2 == 1 {
            out.push_str("<code>");
            out.push_str(part);
            out.push_str("</code>");
        } else {
            out.push_str(part);
        }
    }
    out
}

/// Escapes the characters Markdown would read as table cells or HTML.
fn md(text: &str) -> String {
    text.replace('|', "\\|").replace('<', "&lt;").replace('>', "&gt;")
}
