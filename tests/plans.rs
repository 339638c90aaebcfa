//! Every sample plan under `plans/`, run on its own data and snapshotted statement by
//! statement (amounts as exact strings). A few payees are checked by hand below so that the
//! snapshots are read as a finance person would, not blindly accepted.

use std::path::{Path, PathBuf};

use accrue_engine::{Facts, Plan, RunResult};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn run_sample(name: &str) -> RunResult {
    let dir = workspace().join("plans").join(name);
    let plan = Plan::load(&dir.join("plan.yaml")).unwrap_or_else(|d| panic!("{name} does not compile:\n{d}"));
    let facts = Facts::load(&dir.join("data"), &plan).unwrap_or_else(|d| panic!("{name} data does not load:\n{d}"));
    accrue_engine::run(&plan, &facts)
}

fn line<'a>(result: &'a RunResult, payee: &str, period: &str, component: &str) -> &'a accrue_engine::Line {
    result
        .statements
        .iter()
        .find(|s| s.payee == payee && s.period == period)
        .and_then(|s| s.lines.iter().find(|l| l.component == component))
        .unwrap_or_else(|| panic!("no {component} line for {payee} in {period}"))
}

#[track_caller]
fn check(result: &RunResult, payee: &str, period: &str, component: &str, expected: &str) {
    assert_eq!(line(result, payee, period, component).amount.to_string(), expected, "{payee} {period} {component}");
}

#[test]
fn every_sample_plan_is_snapshotted() {
    let mut names: Vec<String> = std::fs::read_dir(workspace().join("plans"))
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.path().join("plan.yaml").exists() && e.path().join("data").is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(names.contains(&"msp-fy2027".to_string()), "{names:?}");
    for name in names {
        let result = run_sample(&name);
        assert!(result.errors.is_empty(), "{name}: {:?}", result.errors);
        insta::assert_yaml_snapshot!(name.clone(), result, {
            ".plan_hash" => "[sha-256 of the plan]",
            ".data_hash" => "[sha-256 of the data]",
        });
    }
}

/// An amounts-only run (what-if, simulation) skips explanations, traces and attainments and
/// compares gates and bands on exact fractions: it must pay exactly what the explained run pays.
#[test]
fn amounts_only_runs_pay_what_explained_runs_pay() {
    for name in ["msp-fy2027", "saas-startup", "hardware-reseller"] {
        let dir = workspace().join("plans").join(name);
        let plan = Plan::load(&dir.join("plan.yaml")).unwrap();
        let facts = Facts::load(&dir.join("data"), &plan).unwrap();
        let full = accrue_engine::run(&plan, &facts);
        let options = accrue_engine::RunOptions { detail: accrue_engine::Detail::Amounts, ..Default::default() };
        let lean = accrue_engine::run_with(&plan, &facts, &options);
        // "payee period component amount" per line, and each statement's total.
        let amounts = |r: &RunResult| -> Vec<String> {
            r.statements
                .iter()
                .flat_map(|s| {
                    let lines =
                        s.lines.iter().map(move |l| format!("{} {} {} {}", s.payee, s.period, l.component, l.amount));
                    lines.chain(std::iter::once(format!("{} {} total {}", s.payee, s.period, s.total)))
                })
                .collect()
        };
        assert!(!full.statements.is_empty());
        assert_eq!(amounts(&lean), amounts(&full), "{name}");
        assert_eq!(lean.totals.total, full.totals.total, "{name}");
        assert_eq!(lean.errors, full.errors, "{name}");
        assert!(lean.statements.iter().flat_map(|s| &s.lines).all(|l| l.explain.is_empty() && l.attainment.is_none()));

        // A totals run builds no statement but pays each payee-period the statement's total.
        let totals = accrue_engine::run_totals(&plan, &facts, &options);
        assert_eq!(totals.totals.total, full.totals.total, "{name}");
        assert_eq!(totals.totals.by_role, full.totals.by_role, "{name}");
        assert_eq!(totals.errors, full.errors, "{name}");
        let mut paid = 0;
        for (p, id) in facts.payees().iter().map(|payee| &payee.id).enumerate() {
            for (k, label) in totals.periods.iter().enumerate() {
                let statement = full.statements.iter().find(|s| s.payee == *id && s.period == label.as_str());
                assert_eq!(totals.amount(p, k), statement.map(|s| s.total), "{name} {id} {label}");
                paid += usize::from(statement.is_some());
            }
        }
        assert_eq!(paid, full.statements.len());
    }
}

/// msp-fy2027, checked by hand from plans/msp-fy2027/data.
#[test]
fn msp_hand_checks() {
    let r = run_sample("msp-fy2027");

    // p01 Alice Ng (ae), quota 1,200,000 → 300,000 a quarter, TI 60,000 → 15,000.
    // Q1 bookings 180,000 + 150,000 = 330,000, A = 1.1, margin 117,000 / 330,000 = 35.5 % ≥ 30 %.
    //   new_business: 5 % × 300,000 + 8 % × 30,000 = 15,000 + 2,400 = 17,400.00 (cap 30,000).
    //   attainment_bonus (period): p(1.1) = 1 + (2 − 1) × 0.1 / 0.5 = 1.2; 15,000 × 0.5 × 1.2
    //   = 9,000 × 1.1 (csat 9.6 ≥ 9.5) = 9,900.00.
    check(&r, "p01", "2027-Q1", "new_business", "17400.00");
    check(&r, "p01", "2027-Q1", "attainment_bonus", "9900.00");
    // Q2 ytd 580,000 on 600,000: 5 % × 580,000 = 29,000 less 17,400 paid = 11,600.00.
    //   attainment_bonus: Q2 alone 250,000 / 300,000 = 0.8333, p = 0.25 + 0.75 × 0.3333 / 0.5
    //   = 0.75; 15,000 × 0.5 × 0.75 = 5,625.00 (csat 9.4: × 1.0).
    check(&r, "p01", "2027-Q2", "new_business", "11600.00");
    check(&r, "p01", "2027-Q2", "attainment_bonus", "5625.00");

    // new_logos (plugin type scripts/components/new_logo_bonus.rhai, period window): Q1 has
    //   two new deals: 2 × 500 + (2 − 1) × 500 × (1.5 − 1) = 1,250.00.
    check(&r, "p01", "2027-Q1", "new_logos", "1250.00");

    // p07 Grace Liu (enterprise_ae, retroactive, clawback_days 90, allow_negative).
    // Q1: 700,000 on 625,000 = 112 % ≥ 80 % tier: 6 % × 700,000 = 42,000.00.
    // Q2: D0028 (450,000) closed 2027-04-30, cancelled 2027-06-09 (40 days ≤ 90): removed.
    //   ytd 700,000 on 1,250,000 = 56 %: 4 % × 700,000 = 28,000 − 42,000 = −14,000.00.
    check(&r, "p07", "2027-Q1", "new_business", "42000.00");
    check(&r, "p07", "2027-Q2", "new_business", "-14000.00");
    // margin_bonus (script scripts/margin_bonus.rhai): Q1 margin 280,000 / 700,000 = 40 %
    //   ≥ 38 %: 2 % × 280,000 = 5,600.00. Q2: the cancelled deal's margin is gone, ytd
    //   5,600 less 5,600 paid = 0.00.
    check(&r, "p07", "2027-Q1", "margin_bonus", "5600.00");
    check(&r, "p07", "2027-Q2", "margin_bonus", "0.00");

    // p09 Ines Duarte (sales_exec), profit bonus Q1 on target bonus 60,000 / 4 = 15,000:
    //   A_$ = 392,000 / 450,000 = 0.8711 → p = 0.5 + 0.5 × 0.0711 / 0.2 = 0.6778, × 0.6;
    //   A_% = 14 % / 15 % = 0.9333 → p = 0.8333, × 0.4; factor 0.40667 + 0.33333 = 0.74;
    //   15,000 × 0.74 = 11,100.00 (gate 14 % ≥ 10 %).
    check(&r, "p09", "2027-Q1", "profit", "11100.00");

    // p12 Liam Fox (account_manager), Q1: book 2,000,000, expansion 40,000, contraction
    //   10,000, churn 10,000 → NRR 1.01; target_W = 1 + 0.05 × 1/4 = 1.0125; x = 0.997531;
    //   p = 0.5 + 5 × (x − 0.9) = 0.987654; 12,500 × p = 12,345.68 + 5 % × 40,000 = 14,345.68.
    //   Churn clawback: −5 % × 10,000 = −500.00.
    check(&r, "p12", "2027-Q1", "book_retention", "14345.68");
    check(&r, "p12", "2027-Q1", "book_retention.churn_clawback", "-500.00");

    // p14 Nils Sand (vcio, GRR): book 900,000, contraction 10,000, churn 25,000 →
    //   GRR 0.961111; target_W = 1 − 0.03 / 4 = 0.9925; x = 0.968374; p = 5x − 4 = 0.841870;
    //   7,500 × p = 6,314.02 + 2 % × 30,000 = 6,914.02 × 1.05 (csat 9.6) = 7,259.72.
    check(&r, "p14", "2027-Q1", "book_retention", "7259.72");

    // p05 Ema Suzuki starts 2027-05-16: no Q1 statement, Q2 prorated 46 / 91 days.
    assert!(!r.statements.iter().any(|s| s.payee == "p05" && s.period == "2027-Q1"));
    let q2 = r.statements.iter().find(|s| s.payee == "p05" && s.period == "2027-Q2").unwrap();
    assert_eq!(q2.quota.to_string(), "151648.35");
    // p06 Femi Adeyemi leaves 2027-08-15: no Q4 statement.
    assert!(!r.statements.iter().any(|s| s.payee == "p06" && s.period == "2027-Q4"));

    // A statement's total is the sum of its rounded lines; the run total the sum of those.
    for s in &r.statements {
        assert_eq!(s.total, s.lines.iter().map(|l| l.amount).sum());
    }
    assert_eq!(r.totals.total, r.statements.iter().map(|s| s.total).sum());
}

/// saas-startup, checked by hand from plans/saas-startup/data (fiscal year from February:
/// Q1 = Feb–Apr 2027, …, Q4 = Nov 2027–Jan 2028).
#[test]
fn saas_hand_checks() {
    let r = run_sample("saas-startup");

    // kpi — s01 Quinn Avery, Q1 on TI 24,000 / 4 = 6,000; targets 240/80/40 a year → 60/20/10:
    //   meetings 70/60 = 1.1667 × 0.5 + opps 22/20 = 1.1 × 0.3 + advanced 11/10 = 1.1 × 0.2
    //   = 0.58333 + 0.33 + 0.22 = 1.13333 → 6,800.00.
    check(&r, "s01", "2027-Q1", "scorecard", "6800.00");
    // spiff — Q2 (May–Jul) lies inside the blitz: 66 meetings × 150 = 9,900, held to the
    //   yearly maximum 6,000.00.
    check(&r, "s01", "2027-Q2", "meeting_blitz", "6000.00");

    // draw — s03 Sam Okafor, hired 2027-06-01. Q3 scorecard 1,454.34 < draw 3,000: top-up
    //   1,545.66 (balance 1,545.66). Q4 earnings 6,742.23: max(3,000, 6,742.23 − 1,545.66)
    //   − 6,742.23 = −1,545.66 recovered.
    check(&r, "s03", "2027-Q3", "scorecard", "1454.34");
    check(&r, "s03", "2027-Q3", "ramp_draw", "1545.66");
    check(&r, "s03", "2027-Q4", "ramp_draw", "-1545.66");

    // relieved quota — a04 Wes Brennan: self goal 1,400,000 ≥ 0.9 × 1,300,000, so 350,000 a
    //   quarter. Relief: Q2 200,000 granted; Q3 200,000 asked, 150,000 granted (cap 25 % ×
    //   1,400,000 = 350,000). Q3 ytd quota 350,000 + 150,000 + 200,000 = 700,000; bookings
    //   250,000 + 120,000 + 150,000 + half of the split 100,000 = 570,000 (81.4 %, above the
    //   50 % soft floor): 8 % × 570,000 = 45,600 less 29,600 paid = 16,000.00.
    let q3 = r.statements.iter().find(|s| s.payee == "a04" && s.period == "2027-Q3").unwrap();
    assert_eq!(q3.quota.to_string(), "200000.00");
    let relief = q3.adjustments.iter().find(|a| a.kind == "relief").unwrap();
    assert_eq!(relief.asked.unwrap().normalize().to_string(), "200000");
    assert_eq!(relief.amount.unwrap().normalize().to_string(), "150000");
    assert_eq!(relief.approver.as_deref(), Some("vp-sales@northwind.example"));
    check(&r, "a04", "2027-Q3", "new_arr", "16000.00");

    // soft floor — a05 Xin Zhao, Q1: 60,000 on 270,000 = 22 % < 50 %: 8 % × 60,000 × 0.5.
    check(&r, "a05", "2027-Q1", "new_arr", "2400.00");

    // team pool — pod_pool, added on purpose to the AEs (the snapshot's only changes are these
    //   lines and the AE totals, each up by its pool line; checked by hand). Pod alpha, Q1
    //   (February–April): a01 410,000 on a self-goal quota of 375,000 = 109.33 %; a02 250,000 on
    //   325,000 = 76.92 %. Pod 660,000 of 700,000 = 94.3 % ≥ 50 %: pool 1 % = 6,600; a01
    //   6,600 × 1.09333 / 1.86256 = 3,874.23, a02 2,725.77 (together 6,600.00).
    check(&r, "a01", "2027-Q1", "pod_pool", "3874.23");
    check(&r, "a02", "2027-Q1", "pod_pool", "2725.77");
    // Q3: a02 is on full parental-leave relief (quota 0) and booked nothing: no share; pod
    //   quota 375,000 is a01's alone, pod bookings 400,000 (106.7 %): a01 takes the 4,000.
    check(&r, "a02", "2027-Q3", "pod_pool", "0.00");
    check(&r, "a01", "2027-Q3", "pod_pool", "4000.00");
    // Pod beta, Q2 (May–July): a03 260,000 / 300,000 = 86.67 %; a04 120,000 on 350,000 less
    //   200,000 relief = 80 %; a05 190,000 on the floored 270,000 = 70.37 %. Pod 570,000 of
    //   720,000 = 79.2 %: pool 5,700; a03 5,700 × 0.86667 / 2.37037 = 2,084.06.
    check(&r, "a03", "2027-Q2", "pod_pool", "2084.06");

    // non-sales market target — pm1 Ari Feld, Q1: new ARR 850,000 on 4,000,000 / 4 = 0.85;
    //   p = 0.5 + 0.5 × 0.05 / 0.2 = 0.625; TI 5,000 × 0.5 × 0.625 = 1,562.50.
    check(&r, "pm1", "2027-Q1", "market_arr", "1562.50");

    // profit_bonus — c01 Zoe Adler, Q1 on 20,000: A_$ = 104,000 / 150,000 = 0.6933 →
    //   p = 0.25 + 0.75 × 0.1933 / 0.5 = 0.54, × 0.6 = 0.324; A_% = 8 % / 10 % = 0.8 →
    //   p = 0.7, × 0.4 = 0.28; 20,000 × 0.604 = 12,080.00.
    check(&r, "c01", "2027-Q1", "profit", "12080.00");
}

/// hardware-reseller, checked by hand from plans/hardware-reseller/data (the full working is
/// in plans/hardware-reseller/tests/aes.yaml).
#[test]
fn hardware_reseller_hand_checks() {
    let r = run_sample("hardware-reseller");

    // h01 Ava Brooks, quota 3,000,000, marginal 3 % / 7 % from 100 % / 14 % from 120 %, ytd.
    // Q4 ytd 3,840,000 (128 %): 90,000 + 7 % × 600,000 + 14 % × 240,000 = 165,600 for the
    //   year, less 100,400 paid in Q1–Q3 (26,000 + 30,200 + 44,200).
    check(&r, "h01", "2027-Q1", "revenue_commission", "26000.00");
    check(&r, "h01", "2027-Q3", "revenue_commission", "44200.00");
    check(&r, "h01", "2027-Q4", "revenue_commission", "65200.00");
    let year = r.statements.iter().filter(|s| s.payee == "h01").map(|s| s.total).reduce(|a, b| a + b).unwrap();
    assert_eq!(year.to_string(), "165600.00");

    // c01 Carl Grant (ceo), profit dollars only, Q1: 53,000 / 75,000 = 0.7067 →
    //   p = 0.25 + 0.75 × 0.2067 / 0.5 = 0.56; 20,000 × 0.56 = 11,200.00.
    check(&r, "c01", "2027-Q1", "profit", "11200.00");
    // m01 Mia Foster, Q1: team 2,560,000 / 3,000,000 = 0.8533 → p = 0.78; 20,000 × 0.5 × 0.78.
    check(&r, "m01", "2027-Q1", "team_revenue", "7800.00");
}
