//! Bad plans: each problem is one clear error with its line and column, and none panics.

mod common;

use common::compile;

const GOOD: &str = "\
plan: t
year: 2027
periods: quarter
params:
  base: 0.05
roles:
  ae:
    motion: hunter
    target_incentive: 60000
    components:
      - id: nb
        type: tiered
        measure: bookings
        tiers: [{from: 0, rate: $base}, {from: 1.0, rate: 0.08}]
";

/// Compiles `GOOD` with `from` replaced by `to` and expects exactly one error containing
/// `message` at `line:col`.
#[track_caller]
fn check(from: &str, to: &str, message: &str, line: u32, col: u32) {
    assert!(GOOD.contains(from), "fixture does not contain {from:?}");
    let text = GOOD.replacen(from, to, 1);
    let diagnostics = compile(&text).expect_err("the plan should not compile");
    let errors: Vec<_> = diagnostics.iter().filter(|d| d.is_error()).collect();
    assert_eq!(errors.len(), 1, "expected one error, got {errors:#?}");
    let error = errors[0];
    assert!(error.message.contains(message), "message {:?} lacks {message:?}", error.message);
    let location = error.location.as_ref().expect("error has a location");
    assert_eq!((location.span.line, location.span.col), (line, col), "{error}");
}

#[test]
fn the_fixture_compiles() {
    let plan = compile(GOOD).unwrap();
    assert_eq!(plan.roles["ae"].components.len(), 1);
    assert_eq!(plan.params["base"].to_string(), "0.05");
}

#[test]
fn yaml_syntax_error() {
    // The parser notices the unclosed `[` a line later; the message points at the `[`.
    check("    motion: hunter\n", "    motion: [hunter\n", "the `[` on line 8 is not closed", 8, 13);
}

#[test]
fn unknown_key_suggests_the_right_one() {
    let text = GOOD.replacen("        measure: bookings\n", "        measure: bookings\n        thresold: 0.5\n", 1);
    let diagnostics = compile(&text).unwrap_err();
    assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    assert!(diagnostics[0].message.contains("unknown key `thresold`"));
    assert_eq!(diagnostics[0].help.as_deref(), Some("did you mean `threshold`?"));
    let span = diagnostics[0].location.as_ref().unwrap().span;
    assert_eq!((span.line, span.col), (14, 9));
}

#[test]
fn unknown_top_level_key() {
    check("periods: quarter\n", "periods: quarter\ncurency: USD\n", "unknown key `curency`", 4, 1);
}

#[test]
fn missing_parameter() {
    check("rate: $base}", "rate: $bsae}", "unknown parameter `$bsae`", 14, 33);
}

#[test]
fn tiers_out_of_order() {
    check("{from: 1.0, rate: 0.08}", "{from: 0, rate: 0.08}", "strictly ascending", 14, 48);
}

#[test]
fn negative_rate() {
    check("rate: 0.08}", "rate: -0.08}", "cannot be negative", 14, 59);
}

#[test]
fn digit_separators_and_radix_are_errors() {
    check("target_incentive: 60000", "target_incentive: 60_000", "digit separator", 9, 23);
    check("target_incentive: 60000", "target_incentive: \"60,000\"", "digit separator", 9, 23);
    check("target_incentive: 60000", "target_incentive: 0x10", "hex", 9, 23);
    check("target_incentive: 60000", "target_incentive: 010", "leading zero", 9, 23);
    check("target_incentive: 60000", "target_incentive: 1234567890.123456", "15 significant", 9, 23);
    check("target_incentive: 60000", "target_incentive: 2e15", "larger than Accrue accepts", 9, 23);
}

#[test]
fn quoted_numbers_keep_all_digits() {
    let text = GOOD.replacen("target_incentive: 60000", "target_incentive: \"60000.1234567890123456\"", 1);
    let plan = compile(&text).unwrap();
    assert_eq!(plan.roles["ae"].target_incentive.to_string(), "60000.1234567890123456");
}

#[test]
fn duplicate_keys_are_errors() {
    check("    motion: hunter\n", "    motion: hunter\n    motion: farmer\n", "duplicate key `motion`", 9, 5);
}

#[test]
fn unknown_measure_lists_the_known_ones() {
    check("measure: bookings", "measure: bookngs", "unknown measure `bookngs`", 13, 18);
}

#[test]
fn unknown_component_type() {
    check("type: tiered", "type: tierd", "unknown component type `tierd`", 12, 15);
}

#[test]
fn a_key_of_another_type_is_rejected() {
    check(
        "        measure: bookings\n",
        "        measure: bookings\n        expansion_rate: 0.1\n",
        "unknown key `expansion_rate` for a `tiered`",
        14,
        9,
    );
}

#[test]
fn first_tier_starts_at_zero() {
    check("{from: 0, rate: $base}", "{from: 0.5, rate: $base}", "first tier must start", 14, 24);
}

#[test]
fn duplicate_component_ids() {
    let text = format!(
        "{GOOD}      - id: nb\n        type: tiered\n        measure: bookings\n        tiers: [{{from: 0, rate: 0.01}}]\n"
    );
    let diagnostics = compile(&text).unwrap_err();
    assert!(diagnostics.iter().any(|d| d.message.contains("component id `nb` is used twice")), "{diagnostics:#?}");
}

#[test]
fn every_problem_is_reported_at_once() {
    let text = GOOD
        .replacen("measure: bookings", "measure: bookngs", 1)
        .replacen("rate: 0.08}", "rate: -0.08}", 1)
        .replacen("periods: quarter\n", "periods: quarter\nfoo: 1\n", 1);
    let diagnostics = compile(&text).unwrap_err();
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    assert_eq!(errors, 3, "{diagnostics:#?}");
}

#[test]
fn relieved_attainment_on_a_rate_component_explains_why() {
    let text =
        GOOD.replacen("        measure: bookings\n", "        measure: bookings\n        attainment: relieved\n", 1);
    let diagnostics = compile(&text).unwrap_err();
    assert!(diagnostics[0].message.contains("a blend credits performance, not dollars"), "{diagnostics:#?}");
}

#[test]
fn blend_weights_must_sum_to_one() {
    let text = GOOD.replacen(
        "    target_incentive: 60000\n",
        "    target_incentive: 60000\n    quota:\n      attainment: {revenue_weight: 0.7, team_weight: 0.2}\n",
        1,
    );
    let diagnostics = compile(&text).unwrap_err();
    assert!(diagnostics[0].message.contains("sum to 0.9"), "{diagnostics:#?}");
}

#[test]
fn a_bad_id_is_an_error() {
    check("      - id: nb\n", "      - id: New Business\n", "must use only a-z", 11, 13);
}

#[test]
fn executives_without_profit_pay_get_a_lint_warning() {
    let text = GOOD.replacen("motion: hunter", "motion: executive", 1);
    let plan = compile(&text).unwrap();
    assert!(
        plan.warnings.iter().any(|w| w.message.contains("0% of its target incentive tied to company profit")),
        "{:#?}",
        plan.warnings
    );
}

#[test]
fn hunters_and_farmers_never_both() {
    let text = format!(
        "{GOOD}      - id: grow\n        type: tiered\n        measure: expansion\n        tiers: [{{from: 0, rate: 0.02}}]\n"
    );
    let plan = compile(&text).unwrap();
    assert!(
        plan.warnings.iter().any(|w| w.message.contains("hunters and farmers, never both")),
        "{:#?}",
        plan.warnings
    );
    let hybrid = text.replacen("    motion: hunter\n", "    motion: hunter\n    hybrid: true\n", 1);
    assert!(compile(&hybrid).unwrap().warnings.is_empty());
}

// ---------------------------------------------------------------------------------------
// Issue 17's shapes: step payouts, gates against a target and upper bounds, lower-is-better
// and all-or-nothing scorecards, quota phasing, annualised advances. Each bad input is one
// error, at the place the `^` marks in the plan text (the marker is removed before compiling).

const SHAPES: &str = "\
plan: t
year: 2027
periods: quarter
company:
  budget_revenue: 4000000
measures:
  churn_pct: { aggregate: mean }
roles:
  ae:
    motion: hunter
    target_incentive: 60000
    quota: { phasing: [0.2, 0.2, 0.2, 0.4] }
    components:
      - id: club
        type: tiered
        measure: bookings
        basis: step
        steps: [{from: 0.5, payout: 0.25}, {from: 1.0, payout: 1.0}]
        window: ytd_annual
        gates: [{measure: company.revenue, min: 0.9, target: company.budget_revenue}, {measure: churn_pct, max: 0.05}]
      - id: card
        type: kpi
        all_or_nothing: true
        kpis: [{measure: churn_pct, target: 0.02, weight: 1, threshold: 0.5, direction: lower}]
";

/// Compiles `SHAPES` with `from` replaced by `to`, where `to` marks the expected error's
/// place with a `^` (removed before compiling), and expects exactly one error containing
/// `message` there.
#[track_caller]
fn check_shape(from: &str, to: &str, message: &str) {
    assert!(SHAPES.contains(from), "fixture does not contain {from:?}");
    check_marked(&SHAPES.replacen(from, to, 1), message);
}

/// Expects exactly one error containing `message` where `marked` has its `^`.
#[track_caller]
fn check_marked(marked: &str, message: &str) {
    let at = marked.find('^').expect("the replacement marks the error's place with ^");
    let line = marked[..at].matches('\n').count() as u32 + 1;
    let col = (at - marked[..at].rfind('\n').map_or(0, |i| i + 1)) as u32 + 1;
    let text = marked.replacen('^', "", 1);
    let diagnostics = compile(&text).expect_err("the plan should not compile");
    let errors: Vec<_> = diagnostics.iter().filter(|d| d.is_error()).collect();
    assert_eq!(errors.len(), 1, "expected one error, got {errors:#?}");
    let error = errors[0];
    assert!(error.message.contains(message), "message {:?} lacks {message:?}", error.message);
    let location = error.location.as_ref().expect("error has a location");
    assert_eq!((location.span.line, location.span.col), (line, col), "{error}");
}

#[test]
fn the_shapes_fixture_compiles() {
    let plan = compile(SHAPES).unwrap();
    assert_eq!(plan.roles["ae"].components.len(), 2);
    assert_eq!(plan.roles["ae"].quota.phasing.as_ref().map(Vec::len), Some(4));
}

#[test]
fn steps_out_of_order() {
    check_shape("{from: 1.0, payout: 1.0}", "{from: ^0.4, payout: 1.0}", "steps must be in strictly ascending order");
}

#[test]
fn a_negative_step_payout() {
    check_shape("{from: 1.0, payout: 1.0}", "{from: 1.0, payout: ^-1}", "cannot be negative");
}

#[test]
fn steps_need_basis_step() {
    check_shape(
        "        basis: step\n        steps: ",
        "        basis: curve\n        curve: [[1, 1]]\n        steps: ^",
        "`steps` are for `basis: step`",
    );
}

#[test]
fn basis_step_needs_steps() {
    let marked = SHAPES
        .replacen("        steps: [{from: 0.5, payout: 0.25}, {from: 1.0, payout: 1.0}]\n", "", 1)
        .replacen("- id: club", "- id: ^club", 1);
    check_marked(&marked, "a `basis: step` component needs `steps`");
}

#[test]
fn a_step_payout_does_not_extrapolate() {
    check_shape(
        "        window: ytd_annual\n",
        "        window: ytd_annual\n        extrapolate: ^true\n",
        "`extrapolate` is for `basis: curve`",
    );
}

#[test]
fn phasing_must_sum_to_one() {
    check_shape(
        "phasing: [0.2, 0.2, 0.2, 0.4]",
        "phasing: ^[0.2, 0.2, 0.2, 0.3]",
        "sum to 0.9 (90%); they must sum to exactly 1",
    );
}

#[test]
fn phasing_needs_one_share_per_period() {
    check_shape(
        "phasing: [0.2, 0.2, 0.2, 0.4]",
        "phasing: ^[0.2, 0.4, 0.4]",
        "`phasing` has 3 shares but the plan has 4 periods",
    );
}

#[test]
fn a_negative_phasing_share() {
    check_shape("phasing: [0.2, 0.2, 0.2, 0.4]", "phasing: [0.2, ^-0.2, 0.6, 0.4]", "cannot be negative");
}

#[test]
fn a_gate_max_below_its_min() {
    check_shape(
        "{measure: churn_pct, max: 0.05}",
        "{measure: churn_pct, min: 0.1, max: ^0.05}",
        "`max` (0.05) is below its `min` (0.1)",
    );
}

#[test]
fn a_gate_needs_a_bound() {
    check_shape("{measure: churn_pct, max: 0.05}", "{measure: ^churn_pct}", "a gate needs `min`, `max` or both");
}

#[test]
fn a_gate_target_cannot_be_zero() {
    check_shape("target: company.budget_revenue}", "target: ^0}", "a gate's target cannot be zero");
}

#[test]
fn all_or_nothing_needs_a_threshold() {
    let marked = SHAPES.replacen("threshold: 0.5, direction: lower", "direction: lower", 1).replacen(
        "all_or_nothing: true",
        "all_or_nothing: ^true",
        1,
    );
    check_marked(&marked, "no KPI has a `threshold`");
}

#[test]
fn an_unknown_kpi_direction() {
    check_shape("direction: lower}", "direction: ^down}", "unknown variant `down`");
}

#[test]
fn ytd_annual_is_for_quota_and_target_components() {
    let marked = format!(
        "{SHAPES}      - id: book\n        type: retention\n        curve: [[1, 1]]\n        window: ^ytd_annual\n"
    );
    check_marked(&marked, "`window: ytd_annual` is for `tiered` and `kpi` components");
}
