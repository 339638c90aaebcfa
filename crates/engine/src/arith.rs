//! Exact payout arithmetic (SPEC §3): checked decimal operations, fractions that are divided
//! once at the end, rate tiers and curves.
//!
//! SPEC §11 asks that a line be "the exact value of its formula, rounded once". Quotas and
//! targets are kept as `num / den` (for example `N × q` over `N`) so that a value that
//! terminates is computed exactly, and comparisons against tier boundaries and thresholds are
//! made by cross-multiplying, never on a rounded quotient. The same functions serve the
//! built-in components and the helpers registered for Rhai scripts.

use std::cmp::Ordering;

use rust_decimal::Decimal;

/// An arithmetic result that does not fit a 96-bit decimal, or a division by zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ArithError {
    #[error("arithmetic overflow (a number is too large for exact decimal arithmetic)")]
    Overflow,
    #[error("division by zero")]
    DivisionByZero,
}

pub type Arith<T> = Result<T, ArithError>;

#[inline]
pub fn add(a: Decimal, b: Decimal) -> Arith<Decimal> {
    a.checked_add(b).ok_or(ArithError::Overflow)
}

#[inline]
pub fn sub(a: Decimal, b: Decimal) -> Arith<Decimal> {
    a.checked_sub(b).ok_or(ArithError::Overflow)
}

#[inline]
pub fn mul(a: Decimal, b: Decimal) -> Arith<Decimal> {
    a.checked_mul(b).ok_or(ArithError::Overflow)
}

#[inline]
pub fn div(a: Decimal, b: Decimal) -> Arith<Decimal> {
    if b.is_zero() {
        return Err(ArithError::DivisionByZero);
    }
    a.checked_div(b).ok_or(ArithError::Overflow)
}

/// Whether two decimals have the same representation (so the same value): a cheap test for
/// the common case of one shared denominator, before the general comparison.
#[inline]
fn same(a: Decimal, b: Decimal) -> bool {
    a.serialize() == b.serialize()
}

/// A value `num / den` with `den > 0`, divided only when the final value is needed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frac {
    pub num: Decimal,
    pub den: Decimal,
}

impl Frac {
    pub const ZERO: Frac = Frac { num: Decimal::ZERO, den: Decimal::ONE };

    pub fn whole(value: Decimal) -> Frac {
        Frac { num: value, den: Decimal::ONE }
    }

    /// `num / den`; a negative denominator moves its sign to the numerator.
    pub fn new(num: Decimal, den: Decimal) -> Arith<Frac> {
        if den.is_zero() {
            Err(ArithError::DivisionByZero)
        } else if den.is_sign_negative() {
            Ok(Frac { num: -num, den: -den })
        } else {
            Ok(Frac { num, den })
        }
    }

    pub fn is_zero(&self) -> bool {
        self.num.is_zero()
    }

    /// The decimal value: the one division.
    pub fn value(&self) -> Arith<Decimal> {
        if same(self.den, Decimal::ONE) {
            return Ok(self.num);
        }
        div(self.num, self.den)
    }

    pub fn mul_dec(&self, factor: Decimal) -> Arith<Frac> {
        Ok(Frac { num: mul(self.num, factor)?, den: self.den })
    }

    pub fn mul(&self, other: &Frac) -> Arith<Frac> {
        Ok(Frac { num: mul(self.num, other.num)?, den: mul(self.den, other.den)? })
    }

    pub fn add(&self, other: &Frac) -> Arith<Frac> {
        if self.den == other.den {
            return Ok(Frac { num: add(self.num, other.num)?, den: self.den });
        }
        Ok(Frac { num: add(mul(self.num, other.den)?, mul(other.num, self.den)?)?, den: mul(self.den, other.den)? })
    }

    /// `self / other`, for `other` non-zero.
    pub fn div(&self, other: &Frac) -> Arith<Frac> {
        Frac::new(mul(self.num, other.den)?, mul(self.den, other.num)?)
    }

    /// Compares with a decimal exactly: `num` against `value × den`.
    pub fn cmp_dec(&self, value: Decimal) -> Arith<Ordering> {
        Ok(self.num.cmp(&mul(value, self.den)?))
    }

    pub fn compare(&self, other: &Frac) -> Arith<Ordering> {
        if same(self.den, other.den) {
            return Ok(self.num.cmp(&other.num));
        }
        Ok(mul(self.num, other.den)?.cmp(&mul(other.num, self.den)?))
    }

    pub fn min(self, other: Frac) -> Arith<Frac> {
        Ok(if self.compare(&other)? == Ordering::Greater { other } else { self })
    }
}

/// A rate tier: from attainment `from` (a fraction of the base) the rate is `rate`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tier {
    pub from: Decimal,
    pub rate: Decimal,
}

/// What one tier contributed, for explanations and traces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TierUse {
    pub index: usize,
    pub from: Decimal,
    pub to: Option<Decimal>,
    pub rate: Decimal,
    /// Credited dollars in the tier's band.
    pub credited: Decimal,
    pub amount: Decimal,
}

/// Marginal tiers (SPEC §3): Σ r_i × (part of `credited` between a_i×base and a_{i+1}×base).
/// `base` is the quota or target as a fraction; a negative `credited` falls in the first tier.
/// Also returns what each tier contributed, for explanations.
pub fn tiered_marginal(credited: Decimal, base: Frac, tiers: &[Tier]) -> Arith<(Frac, Vec<TierUse>)> {
    let mut bands = Vec::new();
    let total = marginal_bands(credited, base, tiers, |index, band, amount| bands.push((index, band, amount)))?;
    let mut uses = Vec::with_capacity(bands.len());
    for (index, band, amount) in bands {
        let tier = tiers[index];
        uses.push(TierUse {
            index,
            from: tier.from,
            to: tiers.get(index + 1).map(|t| t.from),
            rate: tier.rate,
            credited: Frac::new(band, base.den)?.value()?,
            amount: Frac::new(amount, base.den)?.value()?,
        });
    }
    Ok((total, uses))
}

/// The value of marginal tiers alone, without the per-tier breakdown (the hot path).
pub fn marginal_value(credited: Decimal, base: Frac, tiers: &[Tier]) -> Arith<Frac> {
    marginal_bands(credited, base, tiers, |_, _, _| {})
}

/// Walks the tiers in units of `base.den` (no division), telling `visit` each band's
/// `(tier index, credited × den, amount × den)`, and returns the total as a fraction.
fn marginal_bands(
    credited: Decimal,
    base: Frac,
    tiers: &[Tier],
    mut visit: impl FnMut(usize, Decimal, Decimal),
) -> Arith<Frac> {
    let scaled = mul(credited, base.den)?;
    let mut total = Decimal::ZERO;
    if !scaled.is_sign_positive() || scaled.is_zero() {
        if let Some(first) = tiers.first() {
            total = mul(first.rate, scaled)?;
            if !credited.is_zero() {
                visit(0, scaled, total);
            }
        }
        return Frac::new(total, base.den);
    }
    // Each boundary `from × base` is computed once, and compared with `scaled` once: the
    // comparison that ends one band is the one that decides whether the next is reached.
    let mut lower = match tiers.first() {
        Some(first) => mul(first.from, base.num)?,
        None => Decimal::ZERO,
    };
    if scaled <= lower {
        return Frac::new(total, base.den);
    }
    for (i, tier) in tiers.iter().enumerate() {
        let (top, next) = match tiers.get(i + 1) {
            Some(next) => {
                let boundary = mul(next.from, base.num)?;
                if scaled <= boundary { (scaled, None) } else { (boundary, Some(boundary)) }
            }
            None => (scaled, None),
        };
        let band = sub(top, lower)?;
        let amount = mul(tier.rate, band)?;
        total = add(total, amount)?;
        visit(i, band, amount);
        match next {
            Some(boundary) => lower = boundary,
            None => break,
        }
    }
    Frac::new(total, base.den)
}

/// The highest tier whose `from` the attainment `credited / base` reaches (0 when none).
pub fn tier_reached(credited: Decimal, base: Frac, tiers: &[Tier]) -> Arith<usize> {
    let scaled = mul(credited, base.den)?;
    let mut reached = 0;
    for (i, tier) in tiers.iter().enumerate() {
        if mul(tier.from, base.num)? <= scaled {
            reached = i;
        }
    }
    Ok(reached)
}

/// Retroactive tiers (SPEC §3): r_j × credited, j the highest tier with a_j ≤ A.
pub fn tiered_retroactive(credited: Decimal, base: Frac, tiers: &[Tier]) -> Arith<(Decimal, usize)> {
    let Some(_) = tiers.first() else {
        return Ok((Decimal::ZERO, 0));
    };
    let reached = tier_reached(credited, base, tiers)?;
    Ok((mul(tiers[reached].rate, credited)?, reached))
}

/// A payout curve `[(a, p)]` at attainment `x` (SPEC §3): 0 below the first point, linear
/// between points, flat after the last unless `extrapolate` continues the last segment.
pub fn curve(points: &[(Decimal, Decimal)], x: Frac, extrapolate: bool) -> Arith<Frac> {
    let Some(&(first_a, _)) = points.first() else {
        return Ok(Frac::ZERO);
    };
    if x.cmp_dec(first_a)? == Ordering::Less {
        return Ok(Frac::ZERO);
    }
    let last = points.len() - 1;
    let segment = |i: usize| -> Arith<Frac> {
        // p_i + (p_{i+1} − p_i)(x − a_i)/(a_{i+1} − a_i), over one denominator.
        let (a0, p0) = points[i];
        let (a1, p1) = points[i + 1];
        let run = sub(a1, a0)?;
        let num = add(mul(mul(p0, run)?, x.den)?, mul(sub(p1, p0)?, sub(x.num, mul(a0, x.den)?)?)?)?;
        Frac::new(num, mul(run, x.den)?)
    };
    if x.cmp_dec(points[last].0)? != Ordering::Less {
        if extrapolate && last > 0 {
            return segment(last - 1);
        }
        return Ok(Frac::whole(points[last].1));
    }
    for i in 0..last {
        if x.cmp_dec(points[i + 1].0)? == Ordering::Less {
            return segment(i);
        }
    }
    Ok(Frac::whole(points[last].1))
}

/// A step payout `[(from, p)]` at attainment `x`: the payout factor of the highest step whose
/// `from` the attainment reaches, with no interpolation between steps; 0 (and `None`) below
/// the first. Steps are strictly ascending in `from`.
pub fn step(steps: &[(Decimal, Decimal)], x: Frac) -> Arith<(Decimal, Option<usize>)> {
    let mut reached = None;
    for (i, &(from, _)) in steps.iter().enumerate() {
        if x.cmp_dec(from)? == Ordering::Less {
            break;
        }
        reached = Some(i);
    }
    Ok((reached.map_or(Decimal::ZERO, |i| steps[i].1), reached))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn tiers() -> Vec<Tier> {
        vec![
            Tier { from: d("0"), rate: d("0.05") },
            Tier { from: d("1.0"), rate: d("0.08") },
            Tier { from: d("1.5"), rate: d("0.12") },
        ]
    }

    // SPEC §3 worked example: quota 1,000,000, bookings 1,300,000.
    #[test]
    fn spec_worked_example_marginal() {
        let (value, uses) = tiered_marginal(d("1300000"), Frac::whole(d("1000000")), &tiers()).unwrap();
        assert_eq!(value.value().unwrap(), d("74000"));
        assert_eq!(uses.len(), 2);
        assert_eq!(uses[1].credited, d("300000"));
    }

    #[test]
    fn spec_worked_example_retroactive() {
        let (value, tier) = tiered_retroactive(d("1300000"), Frac::whole(d("1000000")), &tiers()).unwrap();
        assert_eq!(value, d("104000"));
        assert_eq!(tier, 1);
    }

    #[test]
    fn spec_worked_example_curve() {
        let points = [(d("0.5"), d("0.25")), (d("1"), d("1")), (d("1.5"), d("2"))];
        let p = curve(&points, Frac::new(d("1300000"), d("1000000")).unwrap(), false).unwrap();
        assert_eq!(p.value().unwrap(), d("1.6"));
        assert_eq!(p.mul_dec(d("60000")).unwrap().value().unwrap(), d("96000"));
    }

    #[test]
    fn curve_edges() {
        let points = [(d("0.5"), d("0.25")), (d("1"), d("1")), (d("1.5"), d("2"))];
        let at = |x: &str, extrapolate| curve(&points, Frac::whole(d(x)), extrapolate).unwrap().value().unwrap();
        assert_eq!(at("0.49", false), d("0"));
        assert_eq!(at("0.5", false), d("0.25"));
        assert_eq!(at("1", false), d("1"));
        assert_eq!(at("2", false), d("2"));
        assert_eq!(at("2", true), d("3"));
    }

    #[test]
    fn steps_pay_the_highest_step_reached() {
        let steps = [(d("0.9"), d("0.5")), (d("1"), d("1")), (d("1.15"), d("1.5"))];
        let at = |x: &str| step(&steps, Frac::whole(d(x))).unwrap();
        assert_eq!(at("0.8999"), (d("0"), None));
        assert_eq!(at("0.9"), (d("0.5"), Some(0)));
        assert_eq!(at("0.9999"), (d("0.5"), Some(0)));
        assert_eq!(at("1"), (d("1"), Some(1)));
        assert_eq!(at("1.1499"), (d("1"), Some(1)));
        assert_eq!(at("1.15"), (d("1.5"), Some(2)));
        assert_eq!(at("9"), (d("1.5"), Some(2)));
        // 1,000,000 over 12 months, twelve of them: exactly the 100 % step.
        assert_eq!(step(&steps, Frac::new(d("12000000"), d("12000000")).unwrap()).unwrap().1, Some(1));
    }

    #[test]
    fn boundaries_compare_exactly_on_a_twelfth_quota() {
        // 1,000,000 spread over 12 months is not a terminating decimal; twelve months of
        // it, kept as 12 × q over 12, still is exactly 100 %.
        let base = Frac::new(d("12000000"), d("12")).unwrap();
        assert_eq!(tier_reached(d("1000000"), base, &tiers()).unwrap(), 1);
    }

    #[test]
    fn marginal_is_continuous_at_boundaries() {
        let base = Frac::whole(d("1000000"));
        let below = tiered_marginal(d("999999.99"), base, &tiers()).unwrap().0.value().unwrap();
        let at = tiered_marginal(d("1000000"), base, &tiers()).unwrap().0.value().unwrap();
        assert_eq!(at - below, d("0.0005"));
    }
}
