//! Exact decimal numbers: parsing as written (SPEC §3), money rounding and formatting.
//!
//! Every number a user writes — in a plan, a CSV file or a script parameter — goes through
//! [`parse_decimal`], so `0.07` is seven hundredths and never the nearest binary float.

use rust_decimal::{Decimal, RoundingStrategy};

/// How a number was written: YAML plain scalars carry extra rules because other YAML tools
/// would read them as binary floats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NumberStyle {
    /// A plain YAML scalar: at most 15 significant digits, no leading-zero integers.
    PlainYaml,
    /// A quoted YAML scalar or a CSV field: any precision `Decimal` holds.
    Text,
}

/// Why a piece of text is not an exact decimal number.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NumberError {
    #[error("`{0}` is empty where a number is expected")]
    Empty(String),
    #[error("`{0}` uses a digit separator; write the digits without `,`, `_` or spaces")]
    DigitSeparator(String),
    #[error("`{0}` is a hex, octal or binary literal; write a plain decimal number")]
    Radix(String),
    #[error("`{0}` is not a finite number")]
    NotFinite(String),
    #[error("`{0}` is not a number")]
    NotANumber(String),
    #[error("`{0}` has more than 15 significant digits; quote it (\"{0}\") to keep every digit")]
    TooManyDigits(String),
    #[error("`{0}` has a leading zero; write it without (a leading zero means octal to some tools)")]
    LeadingZero(String),
    #[error("`{0}` is out of range (at most 28 significant digits and |x| < 7.9e28)")]
    OutOfRange(String),
    #[error("`{0}` is larger than Accrue accepts: at most 1,000,000,000,000,000 (10^15) in absolute value")]
    TooLarge(String),
}

/// A value as an error message quotes it: at most 40 characters, so that a cell of a
/// megabyte is not echoed whole.
fn shown(raw: &str) -> String {
    const MAX: usize = 40;
    match raw.char_indices().nth(MAX) {
        None => raw.to_string(),
        Some((cut, _)) => format!("{}… ({} characters)", &raw[..cut], raw.chars().count()),
    }
}

/// The largest magnitude a plan or data file may hold. Sums of millions of such amounts, and
/// products of two, still fit a 96-bit decimal; larger inputs are always typos.
pub const MAX_INPUT: Decimal = Decimal::from_parts(2_764_472_320, 232_830, 0, false, 0);

/// Parses like [`parse_decimal`] and rejects magnitudes above [`MAX_INPUT`].
pub fn parse_input(text: &str, style: NumberStyle) -> Result<Decimal, NumberError> {
    let value = parse_decimal(text, style)?;
    // A mantissa up to 10^15 cannot exceed it at any scale: most inputs need no comparison.
    if value.mantissa().unsigned_abs() > 1_000_000_000_000_000 && value.abs() > MAX_INPUT {
        return Err(NumberError::TooLarge(shown(text.trim())));
    }
    Ok(value)
}

/// Parses `text` exactly as written. Accepts `-12`, `0.07`, `+1.5`, `1e6`, `2.5E-3`.
///
/// It runs once per CSV field on ingest, so it does not allocate on success.
pub fn parse_decimal(text: &str, style: NumberStyle) -> Result<Decimal, NumberError> {
    let raw = text.trim();
    let bytes = raw.as_bytes();
    if bytes.is_empty() {
        return Err(NumberError::Empty(shown(raw)));
    }
    let mut pos = 0;
    let negative = match bytes[0] {
        b'-' => {
            pos = 1;
            true
        }
        b'+' => {
            pos = 1;
            false
        }
        _ => false,
    };
    // Digits go into a 128-bit mantissa; leading zeros and, after the point, trailing zeros
    // are kept out so that long runs of zeros cannot overflow it.
    let mut mantissa: u128 = 0;
    let mut pending_zeros = 0usize; // zeros seen but not yet multiplied in
    let mut int_digits = 0usize;
    let mut int_leading_zero = false;
    let mut frac_digits = 0usize;
    let mut first_sig: Option<usize> = None; // index of the first significant digit
    let mut last_sig = 0usize;
    let mut seen_digit = false;
    let mut index = 0usize; // position among all digits written
    let mut in_fraction = false;
    let mut overflow = false;
    while pos < bytes.len() {
        match bytes[pos] {
            b'0'..=b'9' => {
                let d = bytes[pos] - b'0';
                if !in_fraction {
                    if int_digits == 0 && d == 0 {
                        int_leading_zero = true;
                    }
                    int_digits += 1;
                } else {
                    frac_digits += 1;
                }
                seen_digit = true;
                if d == 0 {
                    if first_sig.is_some() {
                        pending_zeros += 1;
                    }
                } else {
                    first_sig.get_or_insert(index);
                    last_sig = index;
                    for _ in 0..pending_zeros {
                        mantissa = mantissa.checked_mul(10).unwrap_or_else(|| {
                            overflow = true;
                            0
                        });
                    }
                    pending_zeros = 0;
                    mantissa =
                        mantissa.checked_mul(10).and_then(|m| m.checked_add(u128::from(d))).unwrap_or_else(|| {
                            overflow = true;
                            0
                        });
                }
                index += 1;
            }
            b'.' if !in_fraction => in_fraction = true,
            b'e' | b'E' => break,
            _ => return Err(classify(raw)),
        }
        pos += 1;
    }
    if !seen_digit {
        return Err(classify(raw));
    }
    let mut exponent: i64 = 0;
    if pos < bytes.len() {
        // bytes[pos] is 'e' or 'E'
        let rest = &raw[pos + 1..];
        let unsigned = rest.strip_prefix(['+', '-']).unwrap_or(rest);
        if unsigned.is_empty() || unsigned.len() > 3 || !unsigned.bytes().all(|b| b.is_ascii_digit()) {
            return Err(NumberError::NotANumber(shown(raw)));
        }
        exponent = rest.parse().map_err(|_| NumberError::NotANumber(shown(raw)))?;
    }
    if style == NumberStyle::PlainYaml {
        if int_leading_zero && int_digits > 1 {
            return Err(NumberError::LeadingZero(shown(raw)));
        }
        let significant = first_sig.map_or(0, |first| last_sig - first + 1);
        if significant > 15 {
            return Err(NumberError::TooManyDigits(shown(raw)));
        }
    }
    let Some(_) = first_sig else { return Ok(Decimal::ZERO) };
    // value = mantissa × 10^(zeros after the last significant digit − fraction digits + exponent)
    let mut scale: i64 = frac_digits as i64 - pending_zeros as i64 - exponent;
    if overflow {
        return Err(NumberError::OutOfRange(shown(raw)));
    }
    while scale < 0 {
        mantissa = mantissa.checked_mul(10).ok_or_else(|| NumberError::OutOfRange(shown(raw)))?;
        scale += 1;
    }
    if scale > 28 || mantissa > 79_228_162_514_264_337_593_543_950_335 {
        return Err(NumberError::OutOfRange(shown(raw)));
    }
    let mut value = Decimal::from_i128_with_scale(mantissa as i128, scale as u32);
    if negative {
        value.set_sign_negative(true);
    }
    Ok(value)
}

/// Names what is wrong with text that is not a plain decimal.
fn classify(raw: &str) -> NumberError {
    let lower = raw.to_ascii_lowercase();
    let unsigned = lower.trim_start_matches(['+', '-']);
    if matches!(unsigned, ".inf" | "inf" | "infinity" | ".nan" | "nan") {
        return NumberError::NotFinite(shown(raw));
    }
    if unsigned.starts_with("0x") || unsigned.starts_with("0o") || unsigned.starts_with("0b") {
        return NumberError::Radix(shown(raw));
    }
    if raw.contains([',', '_', ' ', '\'']) {
        return NumberError::DigitSeparator(shown(raw));
    }
    NumberError::NotANumber(shown(raw))
}

/// Rounds a line amount to the currency's minor unit, midpoint away from zero (SPEC §3),
/// and never returns a negative zero.
pub fn round_money(value: Decimal, minor_units: u32) -> Decimal {
    let rounded = value.round_dp_with_strategy(minor_units, RoundingStrategy::MidpointAwayFromZero);
    if rounded.is_zero() {
        let mut zero = Decimal::ZERO;
        zero.rescale(minor_units);
        return zero;
    }
    if rounded.scale() == minor_units {
        return rounded;
    }
    let mut rounded = rounded;
    rounded.rescale(minor_units);
    rounded
}

/// Formats an amount with exactly `minor_units` places, e.g. `14000.00`, never `-0.00`.
pub fn format_money(value: Decimal, minor_units: u32) -> String {
    round_money(value, minor_units).to_string()
}

/// Formats a ratio exactly, without trailing zeros: `1.3`, `0.25`, `1`.
pub fn format_ratio(value: Decimal) -> String {
    if value.is_zero() {
        return "0".to_string();
    }
    value.normalize().to_string()
}

/// Formats an amount for people: thousands separators and the minor unit, `1,234,567.89`.
pub fn format_money_grouped(value: Decimal, minor_units: u32) -> String {
    let plain = format_money(value, minor_units);
    let (sign, unsigned) = match plain.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", plain.as_str()),
    };
    let (int_part, frac_part) = match unsigned.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (unsigned, None),
    };
    let mut grouped = String::with_capacity(int_part.len() + int_part.len() / 3);
    for (i, ch) in int_part.chars().enumerate() {
        if i > 0 && (int_part.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    match frac_part {
        Some(f) => format!("{sign}{grouped}.{f}"),
        None => format!("{sign}{grouped}"),
    }
}

/// Formats a fraction as a percentage for people: `0.08` → `8%`, `1.125` → `112.5%`.
pub fn format_percent(value: Decimal) -> String {
    match value.checked_mul(Decimal::ONE_HUNDRED) {
        Some(pct) => {
            // Two decimals, unless rounding lands a value that is not whole on a whole percent:
            // 99.999 % is not written "100%" beside "below 100%" (thresholds are whole or
            // simple percents), so it gets the digits that show which side it is on.
            let mut shown = pct.round_dp(2);
            for dp in [4, 6, 8, 10] {
                if shown == pct || !shown.fract().is_zero() {
                    break;
                }
                shown = pct.round_dp(dp);
            }
            format!("{}%", shown.normalize())
        }
        // Past the decimal range as a percentage: say it as a multiple instead of panicking.
        None => format!("{}×", value.round_dp(2).normalize()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn format_percent_of_a_huge_value_does_not_panic() {
        assert_eq!(format_percent(Decimal::MAX), "79228162514264337593543950335×");
        assert_eq!(format_percent(Decimal::from_str("0.125").unwrap()), "12.5%");
    }

    #[test]
    fn a_huge_value_is_quoted_cut_short() {
        let text = format!("1{}", "2".repeat(5000));
        let message = parse_decimal(&text, NumberStyle::Text).unwrap_err().to_string();
        assert!(
            message.starts_with("`1222222222222222222222222222222222222222… (5001 characters)` is out of range"),
            "{message}"
        );
        assert!(message.len() < 200, "{message}");
        assert_eq!(shown("0.5"), "0.5");
    }

    #[test]
    fn a_percent_just_off_a_whole_one_shows_which_side_it_is_on() {
        for (value, text) in [
            ("0.99999", "99.999%"),
            ("1.00004", "100.004%"),
            ("0.9999999", "99.99999%"),
            ("0.666666", "66.67%"),
            ("1", "100%"),
            ("0.5", "50%"),
            ("0.999949", "99.99%"),
        ] {
            assert_eq!(format_percent(Decimal::from_str(value).unwrap()), text, "{value}");
        }
    }

    #[track_caller]
    fn check(text: &str, expected: &str) {
        let got = parse_decimal(text, NumberStyle::PlainYaml).unwrap();
        assert_eq!(got, Decimal::from_str(expected).unwrap(), "{text}");
    }

    #[track_caller]
    fn check_err(text: &str, style: NumberStyle, expected: &str) {
        let err = parse_decimal(text, style).unwrap_err().to_string();
        assert!(err.contains(expected), "{text}: {err}");
    }

    #[test]
    fn parses_exactly_as_written() {
        check("0.07", "0.07");
        check("1234567.89", "1234567.89");
        check("-12", "-12");
        check("+1.5", "1.5");
        check("1e6", "1000000");
        check("2.5E-3", "0.0025");
        check(".5", "0.5");
        check("0", "0");
        check("0.0", "0");
        check("100000000000000000000", "100000000000000000000");
    }

    #[test]
    fn point_one_plus_point_two_is_point_three() {
        let a = parse_decimal("0.1", NumberStyle::PlainYaml).unwrap();
        let b = parse_decimal("0.2", NumberStyle::PlainYaml).unwrap();
        assert_eq!(a + b, parse_decimal("0.3", NumberStyle::PlainYaml).unwrap());
    }

    #[test]
    fn rejects_what_is_not_a_plain_decimal() {
        check_err("120,000", NumberStyle::Text, "digit separator");
        check_err("1_000", NumberStyle::PlainYaml, "digit separator");
        check_err("0x1F", NumberStyle::PlainYaml, "hex");
        check_err("0o17", NumberStyle::PlainYaml, "hex, octal");
        check_err(".inf", NumberStyle::PlainYaml, "finite");
        check_err("abc", NumberStyle::Text, "not a number");
        check_err("1.2.3", NumberStyle::Text, "not a number");
        check_err("", NumberStyle::Text, "empty");
        check_err("010", NumberStyle::PlainYaml, "leading zero");
        check_err("1234567890.123456", NumberStyle::PlainYaml, "15 significant");
        check_err("1e99", NumberStyle::Text, "out of range");
    }

    #[test]
    fn quoted_numbers_keep_more_digits() {
        let v = parse_decimal("1234567890.123456", NumberStyle::Text).unwrap();
        assert_eq!(v.to_string(), "1234567890.123456");
        assert!(parse_decimal("010", NumberStyle::Text).is_ok());
    }

    proptest::proptest! {
        #[test]
        fn agrees_with_rust_decimal(int in 0u64..10_000_000_000, frac in 0u32..1_000_000, places in 0usize..7, negative: bool) {
            let frac = format!("{frac:06}")[..places].to_string();
            let text = if places == 0 { format!("{int}") } else { format!("{int}.{frac}") };
            let text = if negative { format!("-{text}") } else { text };
            let ours = parse_decimal(&text, NumberStyle::Text).unwrap();
            let theirs = Decimal::from_str(&text).unwrap();
            proptest::prop_assert_eq!(ours, theirs);
        }
    }

    #[test]
    fn inputs_are_bounded() {
        assert_eq!(MAX_INPUT, Decimal::from_str("1000000000000000").unwrap());
        assert!(parse_input("1000000000000000", NumberStyle::Text).is_ok());
        assert!(parse_input("-1000000000000000.01", NumberStyle::Text).unwrap_err().to_string().contains("10^15"));
    }

    #[test]
    fn money_rounds_midpoint_away_from_zero() {
        let d = |s: &str| Decimal::from_str(s).unwrap();
        assert_eq!(format_money(d("0.005"), 2), "0.01");
        assert_eq!(format_money(d("0.015"), 2), "0.02");
        assert_eq!(format_money(d("0.025"), 2), "0.03");
        assert_eq!(format_money(d("-0.005"), 2), "-0.01");
        assert_eq!(format_money(d("-0.004"), 2), "0.00");
        assert_eq!(format_money(d("14000"), 2), "14000.00");
        assert_eq!(format_money(d("12.5"), 0), "13");
    }

    #[test]
    fn grouped_and_percent_formats() {
        let d = |s: &str| Decimal::from_str(s).unwrap();
        assert_eq!(format_money_grouped(d("1234567.891"), 2), "1,234,567.89");
        assert_eq!(format_money_grouped(d("-999.5"), 2), "-999.50");
        assert_eq!(format_money_grouped(d("100"), 2), "100.00");
        assert_eq!(format_percent(d("0.08")), "8%");
        assert_eq!(format_percent(d("1.125")), "112.5%");
        assert_eq!(format_ratio(d("1.300")), "1.3");
    }
}
