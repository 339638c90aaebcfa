//! `montecarlo` (SPEC §12): seeded random scale scenarios, evaluated in parallel, summed up
//! as cost percentiles per role and in total, the probability of exceeding the comp budget,
//! the share of payees reaching quota per draw, and a histogram.
//!
//! Draw `d` uses `ChaCha8Rng` seeded from the seed with stream `d`, so it does not depend on
//! which thread computes it: the same seed gives the same result on any thread count. The
//! random factors are the one place a float appears; each is converted to a `Decimal` with
//! 6 places (midpoint away from zero) at once and applied exactly.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use indexmap::IndexMap;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use rayon::prelude::*;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;
use serde_json::json;

use super::scenario::{PlanInput, Scenario, ScenarioError, apply, finished};
use super::simulate::RunFailure;
use super::{money, ratio};
use crate::component::Detail;
use crate::data::{DataSet, Facts, Scales};
use crate::deadline::Deadline;
use crate::eval::{RunOptions, run_totals};
use crate::measure::DealKind;
use crate::registry::Plan;

/// The most draws one run may ask for.
pub const MAX_DRAWS: u32 = 100_000;

/// The company measures the company factor multiplies.
const COMPANY_DRAWN: [&str; 3] = ["revenue", "gross_profit", "net_profit"];

/// Options of `montecarlo`; `None` takes SPEC §12's default.
#[derive(Debug, Clone)]
pub struct MonteCarloOptions {
    pub draws: u32,
    pub seed: u64,
    /// σ per role id (default 0.25 for every role).
    pub spreads: IndexMap<String, Decimal>,
    /// σ of the company factor (default 0.15).
    pub company_spread: Option<Decimal>,
    /// ρ between the company and each payee (default 0.5).
    pub correlation: Option<Decimal>,
    /// The comp budget; default Σ `budget_comp` rows of company.csv, else the plan's
    /// `company.budget_comp`.
    pub budget: Option<Decimal>,
    /// When the draws must stop ([`ScenarioError::TimeLimit`], [`ScenarioError::Cancelled`]).
    pub deadline: Deadline,
}

impl Default for MonteCarloOptions {
    fn default() -> Self {
        MonteCarloOptions {
            draws: 1000,
            seed: 0,
            spreads: IndexMap::new(),
            company_spread: None,
            correlation: None,
            budget: None,
            deadline: Deadline::none(),
        }
    }
}

/// Percentiles of a money amount over the draws.
#[derive(Debug, Clone, Serialize)]
pub struct Distribution {
    pub mean: String,
    pub p5: String,
    pub p25: String,
    pub p50: String,
    pub p75: String,
    pub p95: String,
    pub min: String,
    pub max: String,
}

/// The share of payees at or above quota, over the draws.
#[derive(Debug, Clone, Serialize)]
pub struct AttainmentShare {
    pub mean: Option<String>,
    pub p5: Option<String>,
    pub p95: Option<String>,
    /// Payees with an effective annual quota above 0 (the share's denominator).
    pub payees: usize,
}

/// One bin of the histogram of draw totals.
#[derive(Debug, Clone, Serialize)]
pub struct Bin {
    pub from: String,
    pub to: String,
    pub count: u32,
}

/// The result of `montecarlo`, in SPEC §12's JSON shape.
#[derive(Debug, Clone, Serialize)]
pub struct MonteCarlo {
    pub plan: String,
    pub plan_hash: String,
    pub data_hash: String,
    pub scenario_hash: String,
    pub currency: String,
    pub draws: u32,
    pub seed: u64,
    /// The spreads and correlation used, defaults filled in.
    pub spread: IndexMap<String, String>,
    pub correlation: String,
    pub budget: Option<String>,
    pub total: Distribution,
    pub by_role: IndexMap<String, Distribution>,
    pub p_over_budget: Option<String>,
    pub attainment: AttainmentShare,
    pub histogram: Vec<Bin>,
    /// Draws in which a payee failed (that payee is left out of the draw).
    pub errored_draws: u32,
    pub warnings: Vec<String>,
    /// The distinct payee errors met (at most 20).
    pub errors: Vec<RunFailure>,
    /// Totals of every draw, in draw order (not serialized; for charts and tests).
    #[serde(skip)]
    pub draw_totals: Vec<Decimal>,
}

/// One draw's outcome.
struct Draw {
    total: Decimal,
    by_role: Vec<Decimal>,
    /// Payees at or above quota, of those with a quota.
    reached: u32,
    eligible: u32,
    errors: Vec<RunFailure>,
    warnings: Vec<String>,
}

fn decimal_from(value: f64) -> Option<Decimal> {
    Decimal::from_f64_retain(value).map(|d| d.round_dp_with_strategy(6, RoundingStrategy::MidpointAwayFromZero))
}

/// The factor exp(σ·x − σ²/2), as a Decimal with 6 places.
fn lognormal(sigma: f64, x: f64) -> Option<Decimal> {
    #[allow(clippy::float_arithmetic)]
    let value = (sigma * x - sigma * sigma / 2.0).exp();
    decimal_from(value)
}

fn to_f64(value: Decimal) -> f64 {
    value.to_f64().unwrap_or(0.0)
}

fn check_options(plan: &Plan, options: &MonteCarloOptions) -> Result<(), ScenarioError> {
    if options.draws == 0 || options.draws > MAX_DRAWS {
        return Err(ScenarioError::usage(format!("{} draws is outside 1..={MAX_DRAWS}", options.draws)));
    }
    if let Some(rho) = options.correlation {
        if rho < Decimal::ZERO || rho > Decimal::ONE {
            return Err(ScenarioError::usage(format!("the correlation {rho} is outside 0..=1")));
        }
    }
    let limit = Decimal::from(5);
    for (who, sigma) in
        options.spreads.iter().map(|(r, s)| (r.as_str(), *s)).chain(options.company_spread.map(|s| ("company", s)))
    {
        if sigma < Decimal::ZERO {
            return Err(ScenarioError::usage(format!("the spread {who}={sigma}: a spread is ≥ 0 (0.25 is 25 %)")));
        }
        if sigma > limit {
            return Err(ScenarioError::usage(format!(
                "the spread {who}={sigma} is above {limit}: a spread is a fraction (0.25 is 25 %)"
            )));
        }
    }
    for role in options.spreads.keys() {
        if !plan.roles.contains_key(role) {
            let roles: Vec<&str> = plan.roles.keys().map(String::as_str).collect();
            return Err(ScenarioError::usage(format!(
                "the spread {role}=…: the plan has no role `{role}` (roles: {}, or company)",
                roles.join(", ")
            )));
        }
    }
    if options.budget.is_some_and(|b| b < Decimal::ZERO) {
        return Err(ScenarioError::usage("the budget cannot be negative"));
    }
    Ok(())
}

/// Runs `options.draws` random draws of `scenario` and sums them up. `progress` is called
/// after each draw with the number done; returning `false` cancels the run.
pub fn montecarlo(
    input: &PlanInput,
    data: &DataSet,
    scenario: &Scenario,
    options: &MonteCarloOptions,
    progress: &(dyn Fn(u32) -> bool + Sync),
) -> Result<MonteCarlo, ScenarioError> {
    let variant = apply(input, data, scenario)?;
    let plan = &variant.plan;
    check_options(plan, options)?;
    let default_sigma = Decimal::new(25, 2);
    let sigma_c = options.company_spread.unwrap_or(Decimal::new(15, 2));
    let rho = options.correlation.unwrap_or(Decimal::new(5, 1));
    let roles: Vec<String> = plan.roles.keys().cloned().collect();
    let payees = data.payees();
    let role_index: Vec<Option<usize>> =
        payees.iter().map(|p| roles.iter().position(|r| r == p.role.as_str())).collect();
    let sigmas: Vec<f64> =
        payees.iter().map(|p| to_f64(options.spreads.get(p.role.as_str()).copied().unwrap_or(default_sigma))).collect();
    let (rho_f, sigma_cf) = (to_f64(rho), to_f64(sigma_c));
    #[allow(clippy::float_arithmetic)]
    let rest = (1.0 - rho_f * rho_f).max(0.0).sqrt();

    let done = AtomicU32::new(0);
    let cancelled = AtomicBool::new(false);
    let deadline = &options.deadline;
    let run_options = RunOptions { detail: Detail::Amounts, deadline: deadline.clone(), ..RunOptions::default() };
    let draws: Vec<Result<Draw, ScenarioError>> = (0..options.draws)
        .into_par_iter()
        .map(|d| {
            if cancelled.load(Ordering::Relaxed) {
                return Err(ScenarioError::Cancelled);
            }
            deadline.check()?;
            let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
            rng.set_stream(u64::from(d));
            let z_c: f64 = rng.sample(StandardNormal);
            let mut scales: Scales = variant.scales.clone();
            let mut draw_plan = plan.clone();
            for (i, sigma) in sigmas.iter().enumerate() {
                let z_i: f64 = rng.sample(StandardNormal);
                #[allow(clippy::float_arithmetic)]
                let x = rho_f * z_c + rest * z_i;
                let factor = lognormal(*sigma, x).ok_or_else(|| too_large(d))?;
                scales.deals(i, payees.len(), DealKind::New, factor);
                scales.deals(i, payees.len(), DealKind::Expansion, factor);
            }
            let company = lognormal(sigma_cf, z_c).ok_or_else(|| too_large(d))?;
            for name in COMPANY_DRAWN {
                scales.company(name, company);
                if let Some(value) = draw_plan.model_mut().company.get_mut(name) {
                    *value = value.checked_mul(company).ok_or_else(|| too_large(d))?;
                }
            }
            let facts = Facts::index(data, &draw_plan, &scales)
                .map_err(|d| ScenarioError::data("the data does not fit the plan", d))?;
            let totals = finished(run_totals(&draw_plan, &facts, &run_options), deadline)?;
            let failed: Vec<&str> = totals.errors.iter().filter_map(|e| e.payee.as_deref()).collect();
            let n = draw_plan.calendar.n_periods();
            let mut draw = Draw {
                total: Decimal::ZERO,
                by_role: vec![Decimal::ZERO; roles.len()],
                reached: 0,
                eligible: 0,
                errors: super::simulate::failures("draw", &totals),
                warnings: if d == 0 { totals.warnings.clone() } else { Vec::new() },
            };
            for (i, payee) in facts.payees().iter().enumerate() {
                if failed.contains(&payee.id.as_str()) {
                    continue;
                }
                let mut year = Decimal::ZERO;
                for k in 0..n {
                    year += totals.amount(i, k).unwrap_or_default();
                }
                draw.total += year;
                if let Some(r) = role_index[i] {
                    draw.by_role[r] += year;
                }
                let quota = facts.effective_annual_quota(&draw_plan, payee);
                if quota > Decimal::ZERO {
                    draw.eligible += 1;
                    if year_bookings(&facts, i) >= quota {
                        draw.reached += 1;
                    }
                }
            }
            let count = done.fetch_add(1, Ordering::Relaxed) + 1;
            if !progress(count) {
                cancelled.store(true, Ordering::Relaxed);
            }
            Ok(draw)
        })
        .collect();
    if cancelled.load(Ordering::Relaxed) {
        return Err(ScenarioError::Cancelled);
    }
    let draws: Vec<Draw> = draws.into_iter().collect::<Result<_, _>>()?;

    let minor = plan.minor_units;
    let totals: Vec<Decimal> = draws.iter().map(|d| d.total).collect();
    let budget = options.budget.or_else(|| budget_of(plan, data, &variant.scales));
    let over = budget.map(|b| totals.iter().filter(|t| **t > b).count());
    let mut errors: Vec<RunFailure> = Vec::new();
    for failure in draws.iter().flat_map(|d| &d.errors) {
        if errors.len() < 20 && !errors.iter().any(|e| e.payee == failure.payee && e.message == failure.message) {
            errors.push(failure.clone());
        }
    }
    let mut spread: IndexMap<String, String> = roles
        .iter()
        .map(|r| (r.clone(), options.spreads.get(r).copied().unwrap_or(default_sigma).normalize().to_string()))
        .collect();
    spread.insert("company".into(), sigma_c.normalize().to_string());
    let options_json = json!({
        "command": "montecarlo", "draws": options.draws, "seed": options.seed,
        "spread": spread, "correlation": rho.normalize().to_string(),
        "budget": budget.map(|b| b.normalize().to_string()),
    });
    Ok(MonteCarlo {
        plan: plan.id.clone(),
        plan_hash: input.compile().map(|p| p.hash.clone()).unwrap_or_else(|_| plan.hash.clone()),
        data_hash: data.hash().to_string(),
        scenario_hash: scenario.hash(options_json),
        currency: plan.currency.clone(),
        draws: options.draws,
        seed: options.seed,
        spread,
        correlation: rho.normalize().to_string(),
        budget: budget.map(|b| money(b, minor)),
        total: distribution(&totals, minor),
        by_role: roles
            .iter()
            .enumerate()
            .map(|(r, role)| {
                (role.clone(), distribution(&draws.iter().map(|d| d.by_role[r]).collect::<Vec<_>>(), minor))
            })
            .collect(),
        p_over_budget: over.map(|count| ratio(Decimal::from(count) / Decimal::from(options.draws))),
        attainment: attainment(&draws),
        histogram: histogram(&totals, minor),
        errored_draws: draws.iter().filter(|d| !d.errors.is_empty()).count() as u32,
        warnings: draws.first().map(|d| d.warnings.clone()).unwrap_or_default(),
        errors,
        draw_totals: totals,
    })
}

fn too_large(draw: u32) -> ScenarioError {
    ScenarioError::usage(format!("draw {draw}: a random factor is too large to compute; lower the spread"))
}

/// A payee's year bookings, rolled up where the role says so: uncancelled new business, and
/// deals cancelled only after the plan year.
fn year_bookings(facts: &Facts, payee: usize) -> Decimal {
    let mut total = Decimal::ZERO;
    for &source in facts.sources(payee) {
        if let Some(last) = facts.deal_prefix(source).last() {
            total += last.amount[DealKind::New as usize];
        }
        for credit in facts.cancelled(source) {
            if credit.kind == DealKind::New && credit.cancellation.is_some_and(|c| c.period.is_none()) {
                total += credit.amount;
            }
        }
    }
    total
}

/// The comp budget from the data: Σ `budget_comp` rows of company.csv (scaled as the
/// scenario says), else the plan's annual `company.budget_comp`.
fn budget_of(plan: &Plan, data: &DataSet, scales: &Scales) -> Option<Decimal> {
    let facts_rows: Vec<Decimal> =
        data.company_rows.iter().filter(|row| &*row.measure == "budget_comp").map(|row| row.value).collect();
    if !facts_rows.is_empty() {
        let factor = scales.company_factor("budget_comp").unwrap_or(Decimal::ONE);
        return facts_rows.iter().try_fold(Decimal::ZERO, |sum, v| sum.checked_add(v.checked_mul(factor)?));
    }
    plan.company.get("budget_comp").copied()
}

/// The ⌈p·N⌉-th smallest of sorted values, p in percent.
fn percentile(sorted: &[Decimal], percent: usize) -> Decimal {
    let n = sorted.len();
    let rank = (percent * n).div_ceil(100).max(1);
    sorted[rank.min(n) - 1]
}

fn distribution(values: &[Decimal], minor: u32) -> Distribution {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let sum: Decimal = values.iter().sum();
    let n = Decimal::from(values.len().max(1) as u64);
    Distribution {
        mean: money(sum / n, minor),
        p5: money(percentile(&sorted, 5), minor),
        p25: money(percentile(&sorted, 25), minor),
        p50: money(percentile(&sorted, 50), minor),
        p75: money(percentile(&sorted, 75), minor),
        p95: money(percentile(&sorted, 95), minor),
        min: money(sorted[0], minor),
        max: money(sorted[sorted.len() - 1], minor),
    }
}

fn attainment(draws: &[Draw]) -> AttainmentShare {
    let eligible = draws.first().map_or(0, |d| d.eligible);
    let shares: Vec<Decimal> =
        draws.iter().filter(|d| d.eligible > 0).map(|d| Decimal::from(d.reached) / Decimal::from(d.eligible)).collect();
    if shares.is_empty() {
        return AttainmentShare { mean: None, p5: None, p95: None, payees: eligible as usize };
    }
    // With the same denominator in every draw, the mean is one exact division.
    let mean = if draws.iter().all(|d| d.eligible == eligible) {
        let reached: u64 = draws.iter().map(|d| u64::from(d.reached)).sum();
        Decimal::from(reached) / (Decimal::from(eligible) * Decimal::from(draws.len() as u64))
    } else {
        shares.iter().sum::<Decimal>() / Decimal::from(shares.len() as u64)
    };
    let mut sorted = shares;
    sorted.sort_unstable();
    AttainmentShare {
        mean: Some(ratio(mean)),
        p5: Some(ratio(percentile(&sorted, 5))),
        p95: Some(ratio(percentile(&sorted, 95))),
        payees: eligible as usize,
    }
}

/// 20 equal-width bins from min to max (half-open, the last closed); one bin when every
/// draw is the same.
fn histogram(totals: &[Decimal], minor: u32) -> Vec<Bin> {
    let (Some(min), Some(max)) = (totals.iter().min().copied(), totals.iter().max().copied()) else {
        return Vec::new();
    };
    if min == max {
        return vec![Bin { from: money(min, minor), to: money(max, minor), count: totals.len() as u32 }];
    }
    const BINS: u32 = 20;
    let range = max - min;
    let bins = Decimal::from(BINS);
    let mut counts = vec![0u32; BINS as usize];
    for &total in totals {
        // The bin i with i·range ≤ 20·(x − min) < (i+1)·range, compared exactly.
        let scaled = (total - min) * bins;
        let mut i = (scaled / range).floor().to_u32().unwrap_or(0).min(BINS - 1);
        while i > 0 && Decimal::from(i) * range > scaled {
            i -= 1;
        }
        while i < BINS - 1 && Decimal::from(i + 1) * range <= scaled {
            i += 1;
        }
        counts[i as usize] += 1;
    }
    (0..BINS)
        .map(|i| Bin {
            from: money(min + range * Decimal::from(i) / bins, minor),
            to: money(min + range * Decimal::from(i + 1) / bins, minor),
            count: counts[i as usize],
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(values: &[i64]) -> Vec<Decimal> {
        values.iter().map(|v| Decimal::from(*v)).collect()
    }

    #[test]
    fn percentiles_take_the_ceiling_rank() {
        let sorted = d(&(1..=20).collect::<Vec<_>>());
        assert_eq!(percentile(&sorted, 5), Decimal::from(1));
        assert_eq!(percentile(&sorted, 50), Decimal::from(10));
        assert_eq!(percentile(&sorted, 95), Decimal::from(19));
        assert_eq!(percentile(&d(&[7]), 5), Decimal::from(7));
    }

    #[test]
    fn histogram_bins_are_half_open_and_the_last_closed() {
        let bins = histogram(&d(&[0, 5, 10, 100]), 2);
        assert_eq!(bins.len(), 20);
        assert_eq!((bins[0].from.as_str(), bins[0].to.as_str(), bins[0].count), ("0.00", "5.00", 1));
        assert_eq!(bins[1].count, 1, "5 opens the second bin");
        assert_eq!(bins[2].count, 1);
        assert_eq!(bins[19].count, 1, "the maximum is in the last bin");
        assert_eq!(bins.iter().map(|b| b.count).sum::<u32>(), 4);
        assert_eq!(histogram(&d(&[3, 3]), 2).len(), 1);
    }

    #[test]
    fn factors_are_six_place_decimals() {
        assert_eq!(lognormal(0.0, 1.3), Some(Decimal::ONE));
        assert_eq!(decimal_from(1.0000005000001), Some("1.000001".parse().unwrap()));
        assert_eq!(decimal_from(0.99999949), Some("0.999999".parse().unwrap()));
        assert!(decimal_from(f64::INFINITY).is_none());
    }
}
