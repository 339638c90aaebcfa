//! Role rules (SPEC §4): profit bonus, retention, KPI, SPIFF, draw, roll-up — their
//! arithmetic and their bad inputs.

mod common;

use common::{Scenario, amount, compile};

fn quarter_plan(roles: &str) -> String {
    format!(
        "plan: t\nyear: 2027\nperiods: quarter\ncompany:\n  budget_net_profit: 400000\n  target_net_profit_pct: 0.1\nmeasures:\n  calls: {{aggregate: sum}}\nroles:\n{roles}"
    )
}

const FARMER: &str = "  am:\n    motion: farmer\n    target_incentive: 40000\n    components:\n      - {id: book, type: retention, target: 1.04, curve: [[0.9, 0.5], [1, 1], [1.1, 1.5]], expansion_rate: 0.1, churn_clawback_rate: 0.1}\n";

#[test]
fn retention_windows_the_book_and_the_target() {
    let roster = "id,name,role,book_start\nf,Farmer,am,1000000\n";
    let deals = "id,owner,close_date,kind,amount\n\
                 e1,f,2027-02-01,expansion,40000\n\
                 c1,f,2027-03-01,churn,20000\n\
                 e2,f,2027-05-01,expansion,10000\n";
    let r = Scenario::new(&quarter_plan(FARMER), &[("roster.csv", roster), ("deals.csv", deals)]).run();
    // Q1: NRR = (1,000,000 + 40,000 − 20,000) / 1,000,000 = 1.02; target_W = 1 + 0.04 / 4 = 1.01;
    //   x = 1.02 / 1.01 = 1.00990099; p = 1 + 5 × 0.00990099 = 1.04950495; 10,000 × p
    //   = 10,495.05 + 10 % × 40,000 = 14,495.05. Clawback −10 % × 20,000.
    assert_eq!(amount(&r, "f", "2027-Q1", "book"), "14495.05");
    assert_eq!(amount(&r, "f", "2027-Q1", "book.churn_clawback"), "-2000.00");
    // Q2 (ytd Q1..Q2): book 1,000,000; NRR = 1,030,000 / 1,000,000; target 1.02; x = 1.00980392;
    //   p = 1.04901961 × 20,000 = 20,980.39 + 10 % × 50,000 = 25,980.39 − 14,495.05 paid.
    assert_eq!(amount(&r, "f", "2027-Q2", "book"), "11485.34");
    // No churn in Q2: no clawback line.
    let q2 = r.statements.iter().find(|s| s.payee == "f" && s.period == "2027-Q2").unwrap();
    assert!(q2.lines.iter().all(|l| l.component != "book.churn_clawback"));
}

#[test]
fn retention_with_period_window_starts_from_the_running_book() {
    let plan = quarter_plan(&FARMER.replace("type: retention,", "type: retention, window: period,"));
    let roster = "id,name,role,book_start\nf,Farmer,am,1000000\n";
    let deals = "id,owner,close_date,kind,amount\ne1,f,2027-02-01,expansion,100000\n";
    let r = Scenario::new(&plan, &[("roster.csv", roster), ("deals.csv", deals)]).run();
    // Q2 book = 1,000,000 + 100,000; NRR 1.0 against 1.01: x = 0.990099; p = 0.950495;
    //   10,000 × p = 9,504.95.
    assert_eq!(amount(&r, "f", "2027-Q2", "book"), "9504.95");
}

#[test]
fn retention_steps_pay_the_step_reached_on_nrr() {
    // An account manager's NRR bonus in steps (issue 17): nothing below 90 % of target, 50 %
    // of TI from 90 %, 100 % from 100 %, 150 % from 115 %; target NRR 1.0, so no growth part.
    let am = "  am:\n    motion: farmer\n    target_incentive: 40000\n    components:\n      - {id: nrr, type: retention, window: period, steps: [{from: 0.9, payout: 0.5}, {from: 1.0, payout: 1.0}, {from: 1.15, payout: 1.5}]}\n";
    let roster = "id,name,role,book_start\n\
                  a,Under 90,am,1000000\nb,At 90,am,1000000\nc,Just under 100,am,1000000\nd,At 115,am,1000000\n";
    let deals = "id,owner,close_date,kind,amount\n\
                 c1,a,2027-02-01,churn,100001\n\
                 c2,b,2027-02-01,churn,100000\n\
                 c3,c,2027-02-01,churn,1\n\
                 e4,d,2027-02-01,expansion,150000\n";
    let r = Scenario::new(&quarter_plan(am), &[("roster.csv", roster), ("deals.csv", deals)]).run();
    // Q1, TI 10,000: NRR 899,999 / 1,000,000 is under the first step → 0.
    assert_eq!(amount(&r, "a", "2027-Q1", "nrr"), "0.00");
    // Exactly 90 %: 50 % × 10,000.
    assert_eq!(amount(&r, "b", "2027-Q1", "nrr"), "5000.00");
    // 99.9999 %: still the 90 % step (a curve through these points would pay 9,999.95).
    assert_eq!(amount(&r, "c", "2027-Q1", "nrr"), "5000.00");
    // 115 %: 150 % × 10,000.
    assert_eq!(amount(&r, "d", "2027-Q1", "nrr"), "15000.00");
    assert!(
        compile(&quarter_plan(&am.replace("steps:", "curve: [[1, 1]], steps:")))
            .unwrap_err()
            .iter()
            .any(|d| d.message.contains("either `curve` (straight lines) or `steps`, not both"))
    );
}

#[test]
fn retention_needs_a_book() {
    let roster = "id,name,role,book_start\nf,Farmer,am,0\ng,Other,am,500000\n";
    let r = Scenario::new(
        &quarter_plan(FARMER),
        &[("roster.csv", roster), ("deals.csv", "id,owner,close_date,kind,amount\n")],
    )
    .run();
    assert!(
        r.errors.iter().any(|e| e.payee.as_deref() == Some("f") && e.message.contains("book_start")),
        "{:?}",
        r.errors
    );
    assert!(r.statements.iter().all(|s| s.payee == "g"));
    assert_eq!(r.statements.len(), 4);
}

const EXEC: &str = "  ceo:\n    motion: executive\n    target_incentive: 100000\n    components:\n      - {id: pb, type: profit_bonus, profit_dollars: {weight: 0.5, curve: [[0, 0], [1, 1], [2, 2]]}, profit_pct: {weight: 0.5, curve: [[0, 0], [1, 1], [2, 2]]}, gates: [{measure: company.net_profit_pct, min: 0.05}], cap: {multiple_of_target: 1.5}}\n";

#[test]
fn profit_bonus_on_dollars_and_percent() {
    let roster = "id,name,role\nc,Ceo,ceo\n";
    let company = "period,measure,value\n\
                   2027-Q1,revenue,1000000\n2027-Q1,net_profit,120000\n\
                   2027-Q2,revenue,1000000\n2027-Q2,net_profit,80000\n\
                   2027-Q3,revenue,1000000\n2027-Q3,net_profit,40000\n\
                   2027-Q4,revenue,500000\n2027-Q4,net_profit,400000\n";
    let r = Scenario::new(
        &quarter_plan(EXEC),
        &[("roster.csv", roster), ("deals.csv", "id,owner,close_date,kind,amount\n"), ("company.csv", company)],
    )
    .run();
    // Q1 on 25,000: A_$ = 120,000 / 100,000 = 1.2; A_% = 12 % / 10 % = 1.2 → 25,000 × 1.2.
    assert_eq!(amount(&r, "c", "2027-Q1", "pb"), "30000.00");
    // Q2 ytd on 50,000: A_$ = 200,000 / 200,000 = 1; A_% = 10 % / 10 % = 1 → 50,000 − 30,000.
    assert_eq!(amount(&r, "c", "2027-Q2", "pb"), "20000.00");
    // Q3 ytd: margin 240,000 / 3,000,000 = 8 % ≥ 5 %; A_$ = 0.8, A_% = 0.8 → 60,000 − 50,000.
    assert_eq!(amount(&r, "c", "2027-Q3", "pb"), "10000.00");
    // Q4 ytd: 640,000 / 400,000 = 1.6 and 18.29 % / 10 % → 100,000 × 1.714 > cap 150,000.
    assert_eq!(amount(&r, "c", "2027-Q4", "pb"), "90000.00");
}

#[test]
fn profit_bonus_without_company_data_is_an_error_not_a_zero() {
    let roster = "id,name,role\nc,Ceo,ceo\n";
    let company = "period,measure,value\n2027-Q1,revenue,1000000\n2027-Q1,net_profit,120000\n";
    let r = Scenario::new(
        &quarter_plan(EXEC),
        &[("roster.csv", roster), ("deals.csv", "id,owner,close_date,kind,amount\n"), ("company.csv", company)],
    )
    .run();
    assert!(r.statements.is_empty());
    let error = r.errors.iter().find(|e| e.period.as_deref() == Some("2027-Q2")).expect("an error for Q2");
    assert!(error.message.contains("company measure `net_profit` has no value for 2027-Q2"), "{error:?}");
}

const SDR: &str = "  sdr:\n    motion: hunter\n    target_incentive: 20000\n    components:\n      - {id: kpis, type: kpi, kpis: [{measure: calls, target: 400, weight: 0.6, cap: 1.2, threshold: 0.5}, {measure: bookings, target: 100000, weight: 0.4}]}\n      - {id: logos, type: spiff, measure: bookings, per_unit: 100, from: 2027-02-01, to: 2027-05-31, min: 2, max_amount: 250}\n      - {id: guarantee, type: draw, amount: 4000}\n";

#[test]
fn kpi_spiff_and_draw() {
    let roster = "id,name,role\ns,Sdr,sdr\nt,Other,sdr\n";
    let deals = "id,owner,close_date,kind,amount\n\
                 d1,s,2027-01-15,new,10000\n\
                 d2,s,2027-02-15,new,10000\n\
                 d3,s,2027-03-15,new,5000\n\
                 d4,s,2027-04-15,new,10000\n\
                 d5,s,2027-05-15,new,10000\n";
    let splits = "deal_id,payee,share\nd3,s,0.5\nd3,t,0.5\n";
    let measures = "payee,period,measure,value\ns,2027-Q1,calls,150\n";
    let r = Scenario::new(
        &quarter_plan(SDR),
        &[("roster.csv", roster), ("deals.csv", deals), ("splits.csv", splits), ("measures.csv", measures)],
    )
    .run();
    // KPI Q1 on 5,000: calls 150 / 100 = 1.5 → cap 1.2 × 0.6 = 0.72; bookings 22,500 / 25,000
    //   = 0.9 × 0.4 = 0.36 → 1.08 × 5,000 = 5,400.00.
    assert_eq!(amount(&r, "s", "2027-Q1", "kpis"), "5400.00");
    // SPIFF Q1: d2 and half of d3 close inside the window: 1.5 units ≥ min? No: min is 2.
    assert_eq!(amount(&r, "s", "2027-Q1", "logos"), "0.00");
    // Q2 (ytd): 3.5 units × 100 = 350, held to 250.
    assert_eq!(amount(&r, "s", "2027-Q2", "logos"), "250.00");
    // Draw (non-recoverable) Q1: earnings 5,400 ≥ 4,000: nothing. Q3: no calls, no bookings.
    assert_eq!(amount(&r, "s", "2027-Q1", "guarantee"), "0.00");
    assert_eq!(amount(&r, "s", "2027-Q3", "guarantee"), "4000.00");
    // KPI threshold: t has no calls (warning, read as 0) → calls score 0 below threshold.
    assert!(r.warnings.iter().any(|w| w.contains("payee t") && w.contains("calls")), "{:?}", r.warnings);
}

#[test]
fn a_lower_is_better_kpi_without_a_value_says_so_and_scores_nothing() {
    // `calls` is lower-is-better here (say, escalations). s has 300 in Q1: 2 − 300/400 = 125 %;
    // t has no row: 0 % (not the 200 % a value of 0 would score), and the line says "no value".
    let role = "  sdr:\n    motion: hunter\n    target_incentive: 20000\n    components:\n      - {id: kpis, type: kpi, window: period, kpis: [{measure: calls, target: 1600, weight: 1, cap: 2, direction: lower}]}\n";
    let roster = "id,name,role\ns,Sdr,sdr\nt,Other,sdr\n";
    let measures = "payee,period,measure,value\ns,2027-Q1,calls,300\n";
    let r = Scenario::new(
        &quarter_plan(role),
        &[("roster.csv", roster), ("deals.csv", "id,owner,close_date,kind,amount\n"), ("measures.csv", measures)],
    )
    .run();
    // s: TI 5,000 a quarter × 125 % = 6,250; t: 0.
    assert_eq!(amount(&r, "s", "2027-Q1", "kpis"), "6250.00");
    assert_eq!(amount(&r, "t", "2027-Q1", "kpis"), "0.00");
    let line = |payee: &str| {
        let statement = r.statements.iter().find(|s| s.payee == payee && s.period == "2027-Q1").unwrap();
        statement.lines.iter().find(|l| l.component == "kpis").unwrap().explain.clone()
    };
    assert!(line("s").contains("calls 300 of 400 (lower is better) → 125%"), "{}", line("s"));
    assert!(line("t").contains("calls no value, target 400 (lower is better) → 0%"), "{}", line("t"));
}

#[test]
fn rollup_credits_the_manager_tree() {
    let plan = quarter_plan(
        "  rep:\n    motion: hunter\n    components:\n      - {id: c, type: tiered, measure: bookings, tiers: [{from: 0, rate: 0.1}]}\n  lead:\n    motion: leader\n    rollup: true\n    components:\n      - {id: c, type: tiered, measure: bookings, tiers: [{from: 0, rate: 0.01}]}\n",
    );
    let roster = "id,name,role,manager,quota\nvp,Vp,lead,,10000000\nm,Mgr,lead,vp,5000000\nr1,R1,rep,m,1000000\nr2,R2,rep,vp,1000000\n";
    let deals = "id,owner,close_date,kind,amount\nd1,r1,2027-02-01,new,100000\nd2,r2,2027-02-01,new,200000\nd3,vp,2027-02-01,new,1000\n";
    let splits = "deal_id,payee,share\nd1,r1,0.5\nd1,r2,0.5\n";
    let r = Scenario::new(&plan, &[("roster.csv", roster), ("deals.csv", deals), ("splits.csv", splits)]).run();
    // m sees r1's half of d1: 1 % × 50,000; vp sees everyone: 1 % × (100,000 + 200,000 + 1,000).
    assert_eq!(amount(&r, "m", "2027-Q1", "c"), "500.00");
    assert_eq!(amount(&r, "vp", "2027-Q1", "c"), "3010.00");
}

#[test]
fn recoverable_draw_balance_left_by_a_leaver_is_a_warning() {
    let plan = quarter_plan(
        "  ae:\n    motion: hunter\n    components:\n      - {id: c, type: tiered, measure: bookings, tiers: [{from: 0, rate: 0.1}]}\n      - {id: d, type: draw, amount: 5000, recoverable: true}\n",
    );
    let roster = "id,name,role,end_date,quota\nl,Leaver,ae,2027-05-31,1000000\n";
    let deals = "id,owner,close_date,kind,amount\nd1,l,2027-05-01,new,20000\n";
    let r = Scenario::new(&plan, &[("roster.csv", roster), ("deals.csv", deals)]).run();
    assert_eq!(amount(&r, "l", "2027-Q1", "d"), "5000.00");
    // Q2 earnings 2,000: top-up 3,000, balance 8,000 when leaving.
    assert_eq!(amount(&r, "l", "2027-Q2", "d"), "3000.00");
    assert!(r.warnings.iter().any(|w| w.contains("8,000.00 of recoverable draw `d` outstanding")), "{:?}", r.warnings);
}

#[test]
fn kpi_with_a_zero_target_is_a_plan_error() {
    let diagnostics = compile(&quarter_plan(&SDR.replace("target: 400", "target: 0"))).unwrap_err();
    assert!(diagnostics[0].message.contains("zero target"), "{diagnostics:#?}");
}

#[test]
fn spiff_window_outside_the_plan_year_is_a_plan_error() {
    let diagnostics =
        compile(&quarter_plan(&SDR.replace("from: 2027-02-01, to: 2027-05-31", "from: 2026-02-01, to: 2026-05-31")))
            .unwrap_err();
    assert!(diagnostics[0].message.contains("lies outside the plan year"), "{diagnostics:#?}");
}

#[test]
fn spiff_cannot_cap_on_a_target() {
    let diagnostics =
        compile(&quarter_plan(&SDR.replace("max_amount: 250}", "cap: {multiple_of_target: 2}}"))).unwrap_err();
    assert!(diagnostics[0].message.contains("a SPIFF has no target"), "{diagnostics:#?}");
}

#[test]
fn blend_score_with_a_zero_target_is_a_plan_error() {
    let plan = quarter_plan(
        "  ae:\n    motion: hunter\n    quota:\n      attainment: {scores: [{measure: calls, target: 0, weight: 0.2}]}\n    components:\n      - {id: c, type: tiered, measure: bookings, basis: curve, attainment: relieved, curve: [[0, 0], [1, 1]]}\n",
    );
    let diagnostics = compile(&plan).unwrap_err();
    assert!(diagnostics[0].message.contains("zero target"), "{diagnostics:#?}");
}

#[test]
fn lines_follow_the_plan_even_for_a_draw_declared_first() {
    let plan = quarter_plan(
        "  ae:\n    motion: hunter\n    components:\n      - {id: guarantee, type: draw, amount: 1000}\n      - {id: c, type: tiered, measure: bookings, tiers: [{from: 0, rate: 0.1}]}\n",
    );
    let roster = "id,name,role,quota\na,A,ae,1000000\n";
    let deals = "id,owner,close_date,kind,amount\nd1,a,2027-02-01,new,4000\n";
    let r = Scenario::new(&plan, &[("roster.csv", roster), ("deals.csv", deals)]).run();
    let q1 = r.statements.iter().find(|s| s.period == "2027-Q1").unwrap();
    let ids: Vec<&str> = q1.lines.iter().map(|l| l.component.as_str()).collect();
    assert_eq!(ids, ["guarantee", "c"]);
    // The draw tops up 10 % × 4,000 = 400 to 1,000.
    assert_eq!(amount(&r, "a", "2027-Q1", "guarantee"), "600.00");
}
