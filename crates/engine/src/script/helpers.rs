//! The helpers registered for scripts: the same functions the built-in components use
//! (tiers, curves, rounding, proration, formatting), with exact decimals in and out.

use std::cmp::Ordering;

use rhai::{Array, Dynamic, EvalAltResult, FnPtr, Map, NativeCallContext, Position};
use rust_decimal::Decimal;

use crate::arith::{self, Frac, Tier};
use crate::number::round_money;

type HelperResult = Result<Decimal, Box<EvalAltResult>>;

fn helper_error(message: impl Into<String>) -> Box<EvalAltResult> {
    Box::new(EvalAltResult::ErrorRuntime(Dynamic::from(message.into()), Position::NONE))
}

fn to_decimal(value: &Dynamic, what: &str) -> HelperResult {
    if let Ok(d) = value.as_decimal() {
        return Ok(d);
    }
    if let Ok(i) = value.as_int() {
        return Ok(Decimal::from(i));
    }
    Err(helper_error(format!("{what} must be a number, found {}", value.type_name())))
}

/// Tiers as `[[from, rate], …]` or `[#{from, rate}, …]`, checked as the plan checks `tiers:`
/// (at least one, the first from 0, strictly ascending, no negative rate): a script must not
/// get a number from tiers a plan would reject.
fn to_tiers(tiers: &Array) -> Result<Vec<Tier>, Box<EvalAltResult>> {
    if tiers.is_empty() {
        return Err(helper_error("tiers: needs at least one tier"));
    }
    let mut out: Vec<Tier> = Vec::with_capacity(tiers.len());
    for tier in tiers {
        let (from, rate) = pair(tier, ("from", "rate"))?;
        match out.last() {
            None if !from.is_zero() => return Err(helper_error("tiers: the first tier must start from 0")),
            Some(previous) if from <= previous.from => {
                return Err(helper_error(format!(
                    "tiers: must be in strictly ascending order: from {from} follows from {}",
                    previous.from
                )));
            }
            _ => {}
        }
        if rate < Decimal::ZERO {
            return Err(helper_error(format!("tiers: a rate cannot be negative (found {rate})")));
        }
        out.push(Tier { from, rate });
    }
    Ok(out)
}

/// Curve points `[[attainment, payout], …]`, checked as the plan checks `curve:`.
fn to_curve(points: &Array) -> Result<Vec<(Decimal, Decimal)>, Box<EvalAltResult>> {
    if points.is_empty() {
        return Err(helper_error("curve: needs at least one point"));
    }
    let mut out: Vec<(Decimal, Decimal)> = Vec::with_capacity(points.len());
    for point in points {
        let (a, p) = pair(point, ("attainment", "payout"))?;
        if out.last().is_some_and(|&(previous, _)| a <= previous) {
            return Err(helper_error("curve: points must be in strictly ascending order of attainment"));
        }
        if p < Decimal::ZERO {
            return Err(helper_error("curve: a payout factor cannot be negative"));
        }
        out.push((a, p));
    }
    Ok(out)
}

/// A quota as the plan treats one: never negative, and an amount on a zero quota is an
/// error (SPEC §3), not a silent 0.
fn check_quota(amount: Decimal, quota: Decimal) -> Result<(), Box<EvalAltResult>> {
    if quota < Decimal::ZERO {
        return Err(helper_error(format!("quota cannot be negative (found {quota})")));
    }
    if quota.is_zero() && !amount.is_zero() {
        return Err(helper_error(format!("an amount of {amount} on a zero quota has no attainment")));
    }
    Ok(())
}

fn pair(value: &Dynamic, (a, b): (&str, &str)) -> Result<(Decimal, Decimal), Box<EvalAltResult>> {
    if let Some(array) = value.read_lock::<Array>() {
        if array.len() == 2 {
            return Ok((to_decimal(&array[0], a)?, to_decimal(&array[1], b)?));
        }
    }
    if let Some(map) = value.read_lock::<Map>() {
        let get = |key: &str| map.get(key).ok_or_else(|| helper_error(format!("missing `{key}`")));
        return Ok((to_decimal(get(a)?, a)?, to_decimal(get(b)?, b)?));
    }
    Err(helper_error(format!("expected [{a}, {b}] or #{{{a}, {b}}}")))
}

fn arith_error(err: arith::ArithError) -> Box<EvalAltResult> {
    helper_error(err.to_string())
}

/// Sorts `array` with a script comparator, failing when a comparison fails. Rhai's own
/// `sort(f)` and `dedup(f)` swallow a comparator's error (even the operations limit) and
/// go on with an arbitrary order, which would pay a wrong amount without an error.
fn sort_checked(ctx: &NativeCallContext, array: &mut Array, comparer: &FnPtr) -> Result<(), Box<EvalAltResult>> {
    let mut failed: Option<Box<EvalAltResult>> = None;
    let mut compare = |x: &Dynamic, y: &Dynamic| -> Ordering {
        if failed.is_some() {
            return Ordering::Equal;
        }
        let result = comparer.call_raw(ctx, None, [x.clone(), y.clone()]).and_then(|v| {
            v.as_int()
                .map(|n| n.cmp(&0))
                .or_else(|_| v.as_bool().map(|less| if less { Ordering::Less } else { Ordering::Greater }))
                .map_err(|found| {
                    helper_error(format!("a sort comparator must return a number or a bool, found {found}"))
                })
        });
        result.unwrap_or_else(|err| {
            failed = Some(err);
            Ordering::Equal
        })
    };
    // `sort_by` may panic when the comparator is not a total order: an error, not a crash.
    let sorted = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| array.sort_by(&mut compare)));
    match (failed, sorted) {
        (Some(err), _) => Err(err),
        (None, Err(_)) => Err(helper_error("the sort comparator is not a consistent order")),
        (None, Ok(())) => Ok(()),
    }
}

/// Removes consecutive duplicates by a script comparator, failing when a comparison fails.
fn dedup_checked(ctx: &NativeCallContext, array: &mut Array, comparer: &FnPtr) -> Result<(), Box<EvalAltResult>> {
    let mut kept: Array = Vec::with_capacity(array.len());
    for item in array.drain(..) {
        if let Some(last) = kept.last() {
            let same = comparer.call_raw(ctx, None, [last.clone(), item.clone()])?;
            let same = same
                .as_bool()
                .map_err(|found| helper_error(format!("a dedup comparator must return a bool, found {found}")))?;
            if same {
                continue;
            }
        }
        kept.push(item);
    }
    *array = kept;
    Ok(())
}

/// Registers every helper on `engine`.
pub(super) fn register(engine: &mut rhai::Engine) {
    // Functions registered on the engine are found before the standard package's, so these
    // replace Rhai's error-swallowing comparator forms.
    for name in ["sort", "sort_by"] {
        engine.register_fn(name, |ctx: NativeCallContext, array: &mut Array, comparer: FnPtr| {
            sort_checked(&ctx, array, &comparer)
        });
        engine.register_fn(name, |ctx: NativeCallContext, array: &mut Array, comparer: &str| {
            sort_checked(&ctx, array, &FnPtr::new(comparer)?)
        });
    }
    engine.register_fn("dedup", |ctx: NativeCallContext, array: &mut Array, comparer: FnPtr| {
        dedup_checked(&ctx, array, &comparer)
    });
    engine.register_fn("dedup", |ctx: NativeCallContext, array: &mut Array, comparer: &str| {
        dedup_checked(&ctx, array, &FnPtr::new(comparer)?)
    });
    // Arguments are `Dynamic` so that whole numbers (`1000000`) and decimals both work.
    engine.register_fn("tiered_marginal", |amount: Dynamic, quota: Dynamic, tiers: Array| -> HelperResult {
        let (amount, quota) = (to_decimal(&amount, "amount")?, to_decimal(&quota, "quota")?);
        check_quota(amount, quota)?;
        let tiers = to_tiers(&tiers)?;
        let value = arith::marginal_value(amount, Frac::whole(quota), &tiers).map_err(arith_error)?;
        value.value().map_err(arith_error)
    });
    engine.register_fn("tiered_retroactive", |amount: Dynamic, quota: Dynamic, tiers: Array| -> HelperResult {
        let (amount, quota) = (to_decimal(&amount, "amount")?, to_decimal(&quota, "quota")?);
        check_quota(amount, quota)?;
        let tiers = to_tiers(&tiers)?;
        Ok(arith::tiered_retroactive(amount, Frac::whole(quota), &tiers).map_err(arith_error)?.0)
    });
    let curve = |x: Dynamic, points: Array, extrapolate: bool| -> HelperResult {
        let x = to_decimal(&x, "attainment")?;
        let points = to_curve(&points)?;
        arith::curve(&points, Frac::whole(x), extrapolate).map_err(arith_error)?.value().map_err(arith_error)
    };
    engine.register_fn("curve", move |x: Dynamic, points: Array| curve(x, points, false));
    engine.register_fn("curve", curve);
    engine.register_fn("clamp", |x: Dynamic, low: Dynamic, high: Dynamic| -> HelperResult {
        let (x, low, high) = (to_decimal(&x, "x")?, to_decimal(&low, "low")?, to_decimal(&high, "high")?);
        if low > high {
            return Err(helper_error("clamp: low is above high"));
        }
        Ok(x.max(low).min(high))
    });
    engine.register_fn("round_money", |x: Dynamic| -> HelperResult { Ok(round_money(to_decimal(&x, "x")?, 2)) });
    engine.register_fn("round_money", |x: Dynamic, places: rhai::INT| -> HelperResult {
        let places = u32::try_from(places).ok().filter(|p| *p <= 10).ok_or_else(|| helper_error("places: 0 to 10"))?;
        Ok(round_money(to_decimal(&x, "x")?, places))
    });
    engine.register_fn("format_money", |x: Dynamic| -> Result<String, Box<EvalAltResult>> {
        Ok(crate::number::format_money_grouped(to_decimal(&x, "x")?, 2))
    });
    engine.register_fn("format_percent", |x: Dynamic| -> Result<String, Box<EvalAltResult>> {
        Ok(crate::number::format_percent(to_decimal(&x, "x")?))
    });
    engine.register_fn("prorate", |amount: Dynamic, days: rhai::INT, of_days: rhai::INT| -> HelperResult {
        let amount = to_decimal(&amount, "amount")?;
        if of_days <= 0 || days < 0 || days > of_days {
            return Err(helper_error("prorate(amount, days, of_days) needs 0 ≤ days ≤ of_days, of_days > 0"));
        }
        arith::div(arith::mul(amount, Decimal::from(days)).map_err(arith_error)?, Decimal::from(of_days))
            .map_err(arith_error)
    });
}
