//! `explain` (SPEC §12) on every role of the sample plans: the Markdown is snapshotted (words
//! and worked tables together, one snapshot per role, apart from the statement snapshots so
//! that a wording change does not rewrite numbers), and rows of the worked tables are checked
//! by hand against SPEC §3 below.

use std::path::{Path, PathBuf};

use accrue_engine::{CurveOptions, ExplainError, ExplainOptions, Explanation, Plan, explain, payout_curve};
use rust_decimal::Decimal;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn load(name: &str) -> Plan {
    Plan::load(&workspace().join("plans").join(name).join("plan.yaml")).unwrap()
}

fn d(text: &str) -> Decimal {
    text.parse().unwrap()
}

/// The cells of the row at `level` of the table titled `title`, as printed.
fn row(explanation: &Explanation, title: &str, level: &str) -> Vec<String> {
    let table = explanation.tables.iter().find(|t| t.title.contains(title)).unwrap_or_else(|| panic!("no {title}"));
    let row = table.rows.iter().find(|r| r.level == d(level)).unwrap();
    let mut cells = vec![row.driver.clone()];
    match &row.amounts {
        Ok(amounts) => cells.extend(amounts.iter().map(|a| a.to_string())),
        Err(why) => cells.push(why.clone()),
    }
    cells.extend(row.total().map(|t| t.to_string()));
    cells
}

#[track_caller]
fn check(plan: &Plan, role: &str, title: &str, level: &str, expected: &[&str]) {
    let explanation = explain(plan, role, &ExplainOptions::default()).unwrap();
    assert_eq!(row(&explanation, title, level), expected, "{role} {title} at {level}");
}

#[test]
fn every_role_of_every_sample_plan_is_snapshotted() {
    for name in ["msp-fy2027", "saas-startup"] {
        let plan = load(name);
        for role in plan.roles.keys() {
            let explanation = explain(&plan, role, &ExplainOptions::default()).unwrap();
            let markdown = explanation.to_markdown();
            assert!(!markdown.contains("-0.00"), "{name} {role}");
            insta::assert_snapshot!(format!("{name}__{role}"), markdown);
        }
    }
}

/// Hand-checked rows (SPEC §3; quarterly ytd windows on an even payee pay the year's value in
/// total, so each cell is the annual formula).
#[test]
fn worked_rows_match_the_arithmetic_by_hand() {
    let msp = load("msp-fy2027");
    // ae at 125 % of a 1,000,000 quota: bookings 1,250,000.
    //   new_business, marginal: 5 % × 1,000,000 + 8 % × 250,000 = 50,000 + 20,000 = 70,000.00
    //     (under the cap of 2 × TI 60,000 = 120,000; the margin gate is neutral).
    //   attainment_bonus, curve [[0.5,0.25],[1,1],[1.5,2]] at A = 1.25: p = 1 + 0.25/0.5 × 1 = 1.5;
    //     per quarter TI 15,000 × weight 0.5 × 1.5 = 11,250, × 4 quarters = 45,000.00.
    //   new_logos, the plugin: one new deal a quarter × 500 = 2,000.00.
    //   Total 117,000.00.
    check(&msp, "ae", "quota", "1.25", &["1,250,000.00", "70000.00", "45000.00", "2000.00", "117000.00"]);
    // At 150 %: 50,000 + 8 % × 500,000 = 90,000 (the 12 % tier starts exactly at 150 %, so
    // nothing is paid at 12 % yet); the bonus is 2 × 30,000 = 60,000.
    check(&msp, "ae", "quota", "1.5", &["1,500,000.00", "90000.00", "60000.00", "2000.00", "152000.00"]);
    // enterprise_ae, retroactive: at 125 % the 9 % tier (from 120 %) pays on everything:
    // 9 % × 1,250,000 = 112,500.00.
    check(&msp, "enterprise_ae", "quota", "1.25", &["1,250,000.00", "112500.00", "25000.00", "137500.00"]);
    // ceo profit bonus at 125 % of budget: both parts at A = 1.25 on [[0.7,0.3],[1,1],[1.3,1.8]]:
    // p = 1 + 0.25/0.3 × 0.8 = 1.6666…; 150,000 × 1.6666… = 250,000.00, under the cap of 300,000.
    check(&msp, "ceo", "profit", "1.25", &["2,250,000.00 (18.75%)", "250000.00", "250000.00"]);
    // account_manager at 100 % of the 105 % NRR target on a 1,000,000 book: the curve pays TI
    // 50,000 × p(1) = 50,000, plus 5 % of the 50,000 of expansion = 2,500: 52,500.00; no churn,
    // so the clawback column (filled by the rows below target) is 0.
    check(&msp, "account_manager", "NRR", "1", &["NRR 105%", "52500.00", "0", "52500.00"]);
    // vcio at 100 % of a 97 % GRR target: 30,000 of churn, clawed back at 3 % = −900.00.
    check(&msp, "vcio", "GRR", "1", &["GRR 97%", "30000.00", "-900.00", "29100.00"]);
    check(&msp, "vcio", "GRR", "1.5", &["GRR 145.5%", "cannot happen: GRR is never above 100%"]);

    let saas = load("saas-startup");
    // sdr scorecard at 125 %: meetings 0.5 × 1.25 + opps created 0.3 × 1.25 + opps advanced
    // 0.2 × min(1.2, 1.25) = 0.625 + 0.375 + 0.24 = 1.24; × TI 24,000 = 29,760.00.
    check(&saas, "sdr", "scorecard", "1.25", &["300, 100, 50", "29760.00", "29760.00"]);
    // ae at 50 %: the blend sees 0.7 × 0.5 + 0.1 × 0.5 (team of one) + 0.2 (scores on target)
    // = 0.6: p = 0.3 + 0.7 × 0.2 = 0.44; 21,000 × 0.44 = 9,240.00. new_arr: 8 % × 500,000 =
    // 40,000.00 (exactly at the soft floor's 50 %, so no floor multiplier).
    check(&saas, "ae", "quota", "0.5", &["500,000.00", "40000.00", "9240.00", "49240.00"]);
}

/// Without an attainment blend, the quota table is `accrue curve`'s payee at 50–150 %.
#[test]
fn the_quota_table_is_the_payout_curve() {
    let plan = load("msp-fy2027");
    for role in ["ae", "enterprise_ae", "sales_exec"] {
        let explanation = explain(&plan, role, &ExplainOptions::default()).unwrap();
        let options = CurveOptions { from: d("0.5"), to: d("1.5"), steps: 4, ..CurveOptions::default() };
        let curve = payout_curve(&plan, role, &options).unwrap();
        let table = &explanation.tables[0];
        assert_eq!(table.columns, curve.components, "{role}");
        for (row, point) in table.rows.iter().zip(&curve.points) {
            assert_eq!(row.level, point.attainment);
            assert_eq!(row.amounts.as_ref().unwrap(), &point.amounts, "{role}");
        }
    }
}

/// With an attainment blend, `accrue curve` puts the blend's scores on target as `explain`
/// does: at 100 % the saas-startup `ae` earns the same as explain's row at target. By hand:
/// new_arr 8 % × 1,000,000 = 80,000; the blend sees 0.7 × 1 + 0.1 × 1 (team of one) + 0.2
/// (scores on target) = 1, so performance_bonus pays 1.0 × 0.3 × 70,000 = 21,000 (the curve
/// once counted the scores as 0: blend 0.8, 15,120). The spiff pays nothing on no deals.
#[test]
fn the_curve_puts_the_blend_scores_on_target_like_explain() {
    let plan = load("saas-startup");
    let explanation = explain(&plan, "ae", &ExplainOptions::default()).unwrap();
    let at_target = explanation.tables[0].rows.iter().find(|r| r.level == Decimal::ONE).unwrap();
    let options = CurveOptions { from: d("0.5"), to: d("1.5"), steps: 4, ..CurveOptions::default() };
    let curve = payout_curve(&plan, "ae", &options).unwrap();
    let point = curve.points.iter().find(|p| p.attainment == Decimal::ONE).unwrap();
    let bonus = curve.components.iter().position(|c| c == "performance_bonus").unwrap();
    assert_eq!(point.amounts[bonus], d("21000.00"));
    assert_eq!(point.total, d("101000.00"));
    let table = &explanation.tables[0];
    for (column, amount) in table.columns.iter().zip(at_target.amounts.as_ref().unwrap()) {
        let at = curve.components.iter().position(|c| c == column).unwrap();
        assert_eq!(&point.amounts[at], amount, "{column}");
    }
    // Every row, not only 100 %.
    for (row, point) in table.rows.iter().zip(&curve.points) {
        assert_eq!(row.level, point.attainment);
        assert_eq!(row.amounts.as_ref().unwrap(), &point.amounts);
    }
}

#[test]
fn an_unknown_role_lists_the_roles_and_a_quota_must_be_positive() {
    let plan = load("saas-startup");
    let err = explain(&plan, "cfo", &ExplainOptions::default()).unwrap_err();
    assert!(matches!(err, ExplainError::UnknownRole { .. }));
    assert_eq!(
        err.to_string(),
        "no role `cfo` in plan saas-startup (roles: sdr, ae, sales_lead, ceo, product_manager, eng_lead, enterprise_ae, support_lead)"
    );
    let err = explain(&plan, "ae", &ExplainOptions { quota: Decimal::ZERO }).unwrap_err();
    assert!(matches!(err, ExplainError::Quota(_)));
}

#[test]
fn html_is_escaped_and_self_contained() {
    let plan = load("msp-fy2027");
    let html = explain(&plan, "ae", &ExplainOptions::default()).unwrap().to_html();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(!html.contains("http://") && !html.contains("https://") && !html.contains("<script"));
    assert!(!html.contains("<link") && !html.contains("src="));
    assert!(html.contains("<td class=\"n\">117,000.00</td>"));
    assert!(html.contains("@media print"));
    // A quoted word in a sentence is escaped, and backquoted names become code.
    assert!(html.contains("quarter&#39;s") && html.contains("<code>new_business</code>"));
}
