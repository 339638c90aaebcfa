//! The scale benchmark's parts: a seeded workload written as a SPEC §5 data set with its
//! plan (and a Rhai variant of the same rule), and a hand-written baseline that computes the
//! same plan with `rust_decimal` in a plain loop — the money-correct limit the engine is
//! measured against.

use std::fmt::Write as _;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use accrue_engine::{DealKind, Facts};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_decimal::{Decimal, RoundingStrategy};

/// The size and seed of a workload.
#[derive(Debug, Clone, Copy)]
pub struct Workload {
    pub payees: usize,
    pub deals_per_payee: usize,
    pub seed: u64,
}

/// Target incentive of every payee in the workload.
pub const TARGET_INCENTIVE: i64 = 60_000;

/// What both plans share: the year, the parameter, the CSAT measure and the role.
const HEAD: &str = "\
year: 2027
periods: quarter
params:
  base_rate: 0.05
measures:
  csat: { aggregate: mean }
roles:
  ae:
    motion: hunter
    target_incentive: 60000
    components:
";

/// The built-in plan's component.
const COMPONENT: &str = r"      - id: commission
        type: tiered
        measure: bookings
        tiers: [ {from: 0, rate: $base_rate}, {from: 1.0, rate: 0.08}, {from: 1.5, rate: 0.12} ]
        gates: [ {measure: gross_margin_pct, min: 0.30, else: 0.5} ]
        modifiers:
          - measure: csat
            bands: [ {from: 0, multiplier: 0.9}, {from: 8, multiplier: 1.0}, {from: 9.5, multiplier: 1.1} ]
        cap: { multiple_of_target: 2.0 }
";

/// The same rule as a Rhai script: tiers, gate, modifier and cap in the script.
const SCRIPT: &str = r#"
fn payout(ctx) {
    let m = ctx.measures;
    let value = tiered_marginal(m.bookings, ctx.quota, [[0, ctx.params.base_rate], [1.0, 0.08], [1.5, 0.12]]);
    let csat = m.csat;
    if csat >= 9.5 { value *= 1.1; } else if csat >= 8 { value *= 1.0; } else { value *= 0.9; }
    if m.gross_margin_pct < 0.30 { value *= 0.5; }
    let cap = ctx.ti * 2;
    if value > cap { value = cap; }
    value
}
"#;

/// The Rhai plan's component.
const SCRIPT_COMPONENT: &str = r"      - id: commission
        type: script
        file: commission.rhai
        params: { base_rate: $base_rate }
";

/// Where a generated workload lives.
#[derive(Debug, Clone)]
pub struct Files {
    pub dir: PathBuf,
    pub plan: PathBuf,
    pub script_plan: PathBuf,
    pub data: PathBuf,
    pub deal_rows: usize,
    pub measure_rows: usize,
}

impl Workload {
    /// Writes the data set and both plans under `dir` (deterministic for a seed).
    pub fn write(&self, dir: &Path) -> std::io::Result<Files> {
        let data = dir.join("data");
        std::fs::create_dir_all(&data)?;
        // Company figures for the analyses (align reads revenue, gross and net profit); no
        // component reads them, so the baseline's rule is unchanged.
        let revenue = self.payees as u64 * self.deals_per_payee as u64 * 25_500;
        let company = format!(
            "company:\n  revenue: {revenue}\n  gross_profit: {}\n  net_profit: {}\n",
            revenue / 100 * 35,
            revenue / 100 * 10
        );
        std::fs::write(dir.join("plan.yaml"), format!("plan: bench\n{company}{HEAD}{COMPONENT}"))?;
        std::fs::write(dir.join("plan-script.yaml"), format!("plan: bench-script\n{HEAD}{SCRIPT_COMPONENT}"))?;
        std::fs::write(dir.join("commission.rhai"), SCRIPT)?;
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        let mut roster = BufWriter::new(std::fs::File::create(data.join("roster.csv"))?);
        let mut deals = BufWriter::with_capacity(1 << 20, std::fs::File::create(data.join("deals.csv"))?);
        let mut measures = BufWriter::new(std::fs::File::create(data.join("measures.csv"))?);
        writeln!(roster, "id,name,role,team,quota")?;
        writeln!(deals, "id,owner,close_date,kind,amount,gross_margin")?;
        writeln!(measures, "payee,period,measure,value")?;
        let days = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
        let mut line = String::with_capacity(64);
        let mut deal_id = 0u64;
        let mut measure_rows = 0;
        for p in 0..self.payees {
            let quota = rng.random_range(150..=400) * 10_000;
            writeln!(roster, "p{p:06},Payee {p},ae,t{},{quota}", p % 50)?;
            for _ in 0..self.deals_per_payee {
                deal_id += 1;
                let month = rng.random_range(0..12);
                let day = rng.random_range(1..=days[month]);
                let cents: i64 = rng.random_range(100_000..=5_000_000);
                let margin_pct: i64 = rng.random_range(10..=60);
                let amount = Decimal::new(cents, 2);
                let margin = (amount * Decimal::new(margin_pct, 2)).round_dp(2);
                line.clear();
                let _ = writeln!(line, "d{deal_id},p{p:06},2027-{:02}-{day:02},new,{amount},{margin}", month + 1);
                deals.write_all(line.as_bytes())?;
            }
            for quarter in 1..=4 {
                if rng.random_bool(0.9) {
                    let csat = Decimal::new(rng.random_range(60..=100), 1);
                    writeln!(measures, "p{p:06},2027-Q{quarter},csat,{csat}")?;
                    measure_rows += 1;
                }
            }
        }
        roster.flush()?;
        deals.flush()?;
        measures.flush()?;
        Ok(Files {
            dir: dir.to_path_buf(),
            plan: dir.join("plan.yaml"),
            script_plan: dir.join("plan-script.yaml"),
            data,
            deal_rows: self.payees * self.deals_per_payee,
            measure_rows,
        })
    }
}

/// The plan computed by hand: per payee and quarter, ytd bookings against ytd quota on
/// marginal tiers, × the CSAT band, × 0.5 below 30 % margin, capped at 2 × ytd TI, rounded,
/// less what was paid. Multiplies before it divides, as SPEC §11 asks, so it agrees with
/// the engine to the cent. Returns the total paid.
pub fn baseline(facts: &Facts, base_rate: Decimal) -> Decimal {
    let rates = [base_rate, Decimal::new(8, 2), Decimal::new(12, 2)];
    let froms = [Decimal::ZERO, Decimal::ONE, Decimal::new(15, 1)];
    let four = Decimal::from(4);
    let ti = Decimal::from(TARGET_INCENTIVE);
    let (low, mid, high) = (Decimal::new(9, 1), Decimal::ONE, Decimal::new(11, 1));
    let (csat_mid, csat_high) = (Decimal::from(8), Decimal::new(95, 1));
    let margin_floor = Decimal::new(30, 2);
    let half = Decimal::new(5, 1);
    let mut total = Decimal::ZERO;
    for (index, payee) in facts.payees().iter().enumerate() {
        // The year so far's sums, as the engine keeps them (running sums from the start).
        let ytd = facts.deal_prefix(index);
        let (mut csat_sum, mut csat_count) = (Decimal::ZERO, 0u32);
        let mut paid = Decimal::ZERO;
        for (k, so_far) in ytd.iter().enumerate() {
            let bookings = so_far.amount[DealKind::New as usize];
            let margin = so_far.gross_margin;
            if let Some(csat) = facts.measure(index, 0, k) {
                csat_sum += csat;
                csat_count += 1;
            }
            let quarters = Decimal::from(k as u64 + 1);
            let quota_scaled = payee.quota * quarters; // 4 × ytd quota
            let credited = bookings * four;
            let mut commission = Decimal::ZERO; // 4 × the tier payout
            for i in 0..3 {
                let lower = froms[i] * quota_scaled;
                if credited <= lower {
                    break;
                }
                let upper = if i < 2 { (froms[i + 1] * quota_scaled).min(credited) } else { credited };
                commission += rates[i] * (upper - lower);
            }
            let csat = if csat_count == 0 { Decimal::ZERO } else { csat_sum / Decimal::from(csat_count) };
            commission *= if csat >= csat_high {
                high
            } else if csat >= csat_mid {
                mid
            } else if csat >= Decimal::ZERO {
                low
            } else {
                Decimal::ONE
            };
            let margin_pct = if bookings.is_zero() { Decimal::ZERO } else { margin / bookings };
            if margin_pct < margin_floor {
                commission *= half;
            }
            let cap = Decimal::from(2) * ti * quarters; // 4 × the cap
            let value = commission.min(cap) / four;
            let rounded = value.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
            let due = (rounded - paid).max(Decimal::ZERO);
            paid += due;
            total += due;
        }
    }
    total
}
