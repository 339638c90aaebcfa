//! Hostile inputs (issue 15): each numbered reproducer of the reliability issue, as a user
//! who means harm or makes a slip would write it. None may crash the run, hang it or change
//! pay without an error.

mod common;

use accrue_engine::Code;
use common::{ROSTER_ONE, Scenario, annual_plan};

const TIERED: &str = "      - {id: c, type: tiered, measure: bookings, tiers: [{from: 0, rate: 0.1}]}\n";
const GATED: &str = "      - {id: c, type: tiered, measure: bookings, tiers: [{from: 0, rate: 0.1}], gates: [{measure: gross_margin_pct, min: 0.3, else: 0.5}]}\n";
const DEALS: &str = "id,owner,close_date,kind,amount,gross_margin\nd1,p01,2027-03-01,new,250000,100000\n";

/// Loads `files` under a one-role plan of `components` and expects an error with `code`
/// whose message (with its help) contains `text`.
#[track_caller]
fn check_data_error(components: &str, files: &[(&str, &str)], code: Code, text: &str) {
    let mut all = vec![("roster.csv", ROSTER_ONE), ("deals.csv", DEALS)];
    all.retain(|(name, _)| !files.iter().any(|(n, _)| n == name));
    all.extend_from_slice(files);
    let problems = Scenario::new(&annual_plan(components), &all).facts().expect_err("the data should not load");
    let found = problems.iter().find(|d| d.code == Some(code)).unwrap_or_else(|| panic!("no {code}: {problems:#?}"));
    let shown = format!("{} {}", found.message, found.help.as_deref().unwrap_or(""));
    assert!(shown.contains(text), "{shown}");
}

// 9. Misspelt or missing optional CSV headers.

#[test]
fn a_misspelt_cancelled_date_column_is_an_error_with_a_suggestion() {
    let deals =
        "id,owner,close_date,kind,amount,gross_margin,canceled_date\nd1,p01,2027-03-01,new,250000,1,2027-04-01\n";
    check_data_error(TIERED, &[("deals.csv", deals)], Code::DataUnknownColumn, "did you mean `cancelled_date`?");
}

#[test]
fn a_misspelt_gross_margin_column_is_an_error() {
    let deals = "id,owner,close_date,kind,amount,gross_margn\nd1,p01,2027-03-01,new,250000,100000\n";
    check_data_error(TIERED, &[("deals.csv", deals)], Code::DataUnknownColumn, "did you mean `gross_margin`?");
}

#[test]
fn gross_margin_is_required_when_a_gate_reads_margin() {
    let deals = "id,owner,close_date,kind,amount\nd1,p01,2027-03-01,new,250000\n";
    check_data_error(GATED, &[("deals.csv", deals)], Code::DataBadFile, "no `gross_margin` column");
    // A plan that does not read margin does not need the column.
    let scenario = Scenario::new(&annual_plan(TIERED), &[("roster.csv", ROSTER_ONE), ("deals.csv", deals)]);
    assert!(scenario.facts().is_ok());
}

#[test]
fn unknown_columns_in_the_other_fixed_files_are_errors() {
    let splits = ("splits.csv", "deal_id,payee,shares\nd1,p01,1\n");
    check_data_error(TIERED, &[splits], Code::DataUnknownColumn, "did you mean `share`?");
    let company = ("company.csv", "period,measure,valeu\n2027,revenue,1\n");
    check_data_error(TIERED, &[company], Code::DataUnknownColumn, "did you mean `value`?");
    let measures = ("measures.csv", "payee,period,measure,value,note\np01,2027,csat,9,x\n");
    check_data_error(TIERED, &[measures], Code::DataUnknownColumn, "unknown column `note`");
    let relief = ("relief.csv", "payee,period,kind,amount,reason,approved_by,aproved\np01,2027,leave,1,r,a,b\n");
    check_data_error(TIERED, &[relief], Code::DataUnknownColumn, "did you mean `approved_by`?");
}

#[test]
fn a_roster_column_close_to_a_known_one_warns() {
    let roster = "id,name,role,quota,enddate,region\np01,Alice,ae,1000000,2027-06-30,west\n";
    let scenario = Scenario::new(&annual_plan(TIERED), &[("roster.csv", roster), ("deals.csv", DEALS)]);
    let (_, facts) = scenario.facts().expect("loads");
    let warned: Vec<_> = facts.warnings.iter().filter(|w| w.contains("is read as an attribute")).collect();
    assert_eq!(warned.len(), 1, "{:#?}", facts.warnings);
    assert!(warned[0].contains("`enddate`") && warned[0].contains("`end_date`"), "{}", warned[0]);
}

/// Compiles `plan` and expects its first error to have `code`, a message containing `text`
/// and the location `line` (when given).
#[track_caller]
fn check_plan_error(plan: &str, code: Code, text: &str, line: Option<u32>) {
    let problems = common::compile(plan).expect_err("the plan should not compile");
    let first = problems.iter().find(|d| d.is_error()).expect("an error");
    assert_eq!(first.code, Some(code), "{first}");
    assert!(first.message.contains(text), "{first}");
    if let Some(line) = line {
        assert_eq!(first.location.as_ref().map(|l| l.span.line), Some(line), "{first}");
    }
}

// 8. Control bytes in plan.yaml; a byte order mark.

#[test]
fn a_nul_byte_in_the_plan_is_an_error_at_its_line() {
    let plan = annual_plan(TIERED).replace("target_incentive", "target_incentive\0");
    let line = plan.lines().position(|l| l.contains('\0')).unwrap() as u32 + 1;
    check_plan_error(&plan, Code::PlanYaml, "control character (U+0000)", Some(line));
    let escape = annual_plan(TIERED).replace("motion: hunter", "motion: hunter\u{1b}[2J");
    check_plan_error(&escape, Code::PlanYaml, "control character (U+001B)", Some(8));
}

#[test]
fn a_byte_order_mark_at_the_start_of_the_plan_is_accepted() {
    let plan = format!("\u{feff}{}", annual_plan(TIERED));
    common::compile(&plan).expect("a BOM is allowed at the start");
}

// 3. YAML alias bombs and deep nesting.

#[test]
fn a_billion_laughs_plan_is_an_error_at_the_alias() {
    let mut plan = String::from("plan: t\nyear: 2027\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..9 {
        let refs = vec![format!("*a{}", i - 1); 10].join(", ");
        plan.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
    }
    check_plan_error(&plan, Code::PlanYaml, "aliases expand the plan past", None);
}

#[test]
fn deeply_nested_yaml_is_an_error_not_a_stack_overflow() {
    // Deeper than the plan allows, within the YAML parser's own recursion limit (256)...
    let plan = format!("plan: t\nyear: 2027\nx: {}{}\n", "[".repeat(200), "]".repeat(200));
    check_plan_error(&plan, Code::PlanYaml, "nests lists and mappings more than", Some(3));
    // ...and far past it.
    let plan = format!("plan: t\nyear: 2027\nx: {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
    check_plan_error(&plan, Code::PlanYaml, "", Some(3));
}

/// Runs a one-payee plan whose only component is `type: script` with `body` as its script.
fn run_script(body: &str) -> accrue_engine::RunResult {
    let component = "      - {id: s, type: script, file: s.rhai}\n";
    let scenario = Scenario::new(&annual_plan(component), &[("roster.csv", ROSTER_ONE), ("deals.csv", DEALS)]);
    std::fs::write(scenario.dir.path().join("s.rhai"), body).unwrap();
    scenario.run()
}

/// Expects the script run to fail the payee with `code` and a message containing `text`, and
/// to pay nothing.
#[track_caller]
fn check_script_error(body: &str, code: Code, text: &str) {
    let result = run_script(body);
    assert!(result.statements.is_empty(), "a payee with an error is not paid: {:?}", result.statements);
    let error = result.errors.first().unwrap_or_else(|| panic!("no payee error for {body}"));
    assert_eq!(error.code, code, "{error}");
    assert!(error.message.contains(text), "{error}");
}

// 10. Script amounts are bounded like data; overflow in a total is an error.

#[test]
fn a_script_amount_above_ten_to_the_fifteen_is_an_error() {
    check_script_error("fn payout(ctx) { 10000000000000000000000000000 }", Code::ScriptBadReturn, "10^15");
    check_script_error("fn payout(ctx) { -1000000000000000.01 }", Code::ScriptBadReturn, "10^15");
    check_script_error("fn payout(ctx) { #{amount: 1234567890123456.78} }", Code::ScriptBadReturn, "10^15");
    let at_the_bound = run_script("fn payout(ctx) { 1000000000000000 }");
    assert!(at_the_bound.errors.is_empty(), "{:?}", at_the_bound.errors);
}

// 11. Script helpers validate like the plan.

#[test]
fn script_helpers_reject_what_the_plan_rejects() {
    let cases = [
        ("tiered_marginal(100, 1000, [[0, 0.1], [2, 0.2], [1, 0.3]])", "strictly ascending"),
        ("tiered_retroactive(100, 1000, [[0.5, 0.1]])", "first tier must start from 0"),
        ("tiered_marginal(100, 1000, [])", "at least one tier"),
        ("tiered_marginal(100, 1000, [[0, -0.1]])", "cannot be negative"),
        ("tiered_marginal(100, 0, [[0, 0.1]])", "zero quota"),
        ("tiered_retroactive(100, -5, [[0, 0.1]])", "quota cannot be negative"),
        ("curve(1, [])", "at least one point"),
        ("curve(1, [[1, 1], [0.5, 2]])", "strictly ascending"),
        ("curve(1, [[1, -1]])", "cannot be negative"),
    ];
    for (call, text) in cases {
        check_script_error(&format!("fn payout(ctx) {{ {call} }}"), Code::ScriptRuntime, text);
    }
    // Nothing on a zero quota is still nothing.
    let zero = run_script("fn payout(ctx) { tiered_marginal(0, 0, [[0, 0.1]]) }");
    assert!(zero.errors.is_empty(), "{:?}", zero.errors);
}

// 2. Comparators that fail, and a wall-clock budget per script call.

#[test]
fn a_failing_sort_or_dedup_comparator_fails_the_payee() {
    let cases = [
        "let a = [3, 1, 2]; a.sort(|x, y| x.nope - y.nope); a[0]",
        "let a = [3, 1, 2]; a.sort_by(|x, y| throw \"no\"); a[0]",
        "let a = [3, 3, 2]; a.dedup(|x, y| x.nope == y); a.len()",
        "let a = [3, 1, 2]; a.sort(|x, y| \"text\"); a[0]",
    ];
    for body in cases {
        check_script_error(&format!("fn payout(ctx) {{ {body} }}"), Code::ScriptRuntime, "");
    }
    // An endless comparator stops at the operations limit at once, not after every pair.
    let started = std::time::Instant::now();
    check_script_error(
        "fn payout(ctx) { let a = []; a.pad(20000, 0); a.sort(|x, y| { loop {} }); 1 }",
        Code::ScriptLimitOperations,
        "operation limit",
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(20), "{:?}", started.elapsed());
    // A working comparator still sorts.
    let sorted = run_script("fn payout(ctx) { let a = [3, 1, 2]; a.sort(|x, y| y - x); a[0] * 100 + a[2] }");
    assert_eq!(common::amount(&sorted, "p01", "2027", "s"), "301.00");
}

#[test]
fn a_script_call_stops_at_its_time_budget() {
    let limits = accrue_engine::ScriptLimits {
        max_operations: u64::MAX,
        max_call_time: std::time::Duration::from_millis(200),
        ..Default::default()
    };
    let host = accrue_engine::ScriptHost::new(limits);
    let script = host.compile("spin.rhai", "fn payout(ctx) { loop {} }").unwrap();
    let started = std::time::Instant::now();
    let error = host.call(&script, "payout", rhai::Dynamic::UNIT).expect_err("stops");
    assert_eq!(error.code(), Code::ScriptLimitTime, "{error}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "{:?}", started.elapsed());
}

// 4 (engine half). `format_percent` on a huge value panicked (found by the script fuzz target).

#[test]
fn format_percent_of_a_huge_value_is_text_not_a_panic() {
    let body = "fn payout(ctx) { format_percent(79228162514264337593543950335) }";
    check_script_error(body, Code::ScriptBadReturn, "found string");
}

// 1. Deeply nested arrays and maps in scripts.

/// Runs `fn payout(ctx) { body }` on a host with the default limits.
fn call_script(body: &str) -> Result<rhai::Dynamic, accrue_engine::ScriptError> {
    let host = accrue_engine::ScriptHost::default();
    let script = host.compile("deep.rhai", &format!("fn payout(ctx) {{ {body} }}")).expect("compiles");
    host.call(&script, "payout", rhai::Dynamic::UNIT)
}

#[test]
fn a_deeply_nested_value_fails_the_payee_not_the_process() {
    // Ten levels a turn: 30,000 levels of arrays, or 10,000 of maps, unless a limit stops it.
    let arrays = format!("let a = [1]; for i in 0..3000 {{ a = {}a{}; }} 1", "[".repeat(10), "]".repeat(10));
    let maps = format!("let m = #{{}}; for i in 0..1000 {{ m = {}m{}; }} 1", "#{x: ".repeat(10), "}".repeat(10));
    for body in [arrays, maps] {
        let result = run_script(&format!("fn payout(ctx) {{ {body} }}"));
        assert!(result.statements.is_empty(), "{:?}", result.statements);
        let error = result.errors.first().expect("a payee error");
        assert!(
            matches!(error.code, Code::ScriptLimitTime | Code::ScriptLimitSize | Code::ScriptLimitOperations),
            "{error}"
        );
    }
}

#[test]
fn comparing_printing_or_returning_a_deep_value_is_an_error() {
    // 1,000 and 200 levels: well within the size limits, far past the nesting the engine walks.
    let deep = "let a = [1]; for i in 0..100 { a = [[[[[[[[[[a]]]]]]]]]]; }";
    let map = "let a = #{}; for i in 0..20 { a = #{x: #{x: #{x: #{x: #{x: #{x: #{x: #{x: #{x: #{x: a}}}}}}}}}}; }";
    let cases = [
        (format!("{deep} if a == a {{ 1 }} else {{ 2 }}"), "nest more than 64 levels"),
        (format!("{deep} if a != [a] {{ 1 }} else {{ 2 }}"), "nest more than 64 levels"),
        (format!("{map} if a == a {{ 1 }} else {{ 2 }}"), "nest more than 64 levels"),
        (format!("{deep} if [a].contains(a) {{ 1 }} else {{ 2 }}"), "nest more than 64 levels"),
        (format!("{deep} let s = a.to_string(); 1"), "nest more than 64 levels"),
        (format!("{deep} a"), "nested more than 64 levels"),
        (format!("{deep} throw a"), "nested more than 64 levels"),
    ];
    for (body, text) in cases {
        let error = call_script(&body).expect_err(&body);
        assert!(error.message.contains(text), "{body}: {error}");
    }
    // String interpolation falls back to Rust's formatting when `to_string` fails: text, on
    // the script's stack, not a crash.
    let interpolated = call_script(&format!("{map} let s = `${{a}}`; s.len()")).expect("interpolates");
    assert!(interpolated.as_int().unwrap() > 1000, "{interpolated}");
}

#[test]
fn shallow_values_compare_and_print_as_before() {
    let text = |body: &str| call_script(body).expect(body).to_string();
    assert_eq!(text(r#"[1, [2, "b"], #{a: [3]}].to_string()"#), r#"[1, [2, "b"], #{"a": [3]}]"#);
    assert_eq!(text(r#"`${#{a: 1, b: [true, ()]}}`"#), r#"#{"a": 1, "b": [true, ()]}"#);
    assert_eq!(text("[1, [2, #{a: 3}]] == [1, [2, #{a: 3}]]"), "true");
    assert_eq!(text("[1, [2]] != [1, [3]]"), "true");
    assert_eq!(text("[1, 2] == [1, \"2\"]"), "false");
    assert_eq!(text("#{a: [1]} == #{a: [1]}"), "true");
    assert_eq!(text("[[1], [2]].contains([2])"), "true");
    assert_eq!(text("[[1], [2]].index_of([2])"), "1");
    // Exactly MAX_NESTING levels is allowed.
    let at_the_limit = format!("let a = 1; for i in 0..{} {{ a = [a]; }} a == a", accrue_engine::MAX_NESTING);
    assert_eq!(text(&at_the_limit), "true");
}

// 6. Files that never end, never start, or are far too large.

/// Runs `f` on a thread and fails the test if it takes more than ten seconds (a FIFO that
/// blocks would otherwise hang the test itself).
fn at_once<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (send, receive) = std::sync::mpsc::channel();
    std::thread::spawn(move || send.send(f()));
    receive.recv_timeout(std::time::Duration::from_secs(10)).expect("finished at once, without hanging")
}

fn mkfifo(path: &std::path::Path) {
    let status = std::process::Command::new("mkfifo").arg(path).status().expect("mkfifo runs");
    assert!(status.success());
}

/// The messages of loading the scenario's data, joined.
fn load_errors(scenario: Scenario) -> String {
    let problems = at_once(move || scenario.facts().map(|_| ()).expect_err("the data should not load"));
    problems.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("\n")
}

#[test]
fn a_fifo_or_a_device_as_a_data_file_is_an_error_at_once() {
    let files = [("roster.csv", ROSTER_ONE)];
    let fifo = Scenario::new(&annual_plan(TIERED), &files);
    mkfifo(&fifo.dir.path().join("data/deals.csv"));
    let shown = load_errors(fifo);
    assert!(shown.contains("deals.csv: a FIFO (named pipe), not a regular file"), "{shown}");

    let zero = Scenario::new(&annual_plan(TIERED), &files);
    std::os::unix::fs::symlink("/dev/zero", zero.dir.path().join("data/deals.csv")).unwrap();
    let shown = load_errors(zero);
    assert!(shown.contains("deals.csv: a device, not a regular file"), "{shown}");

    let folder = Scenario::new(&annual_plan(TIERED), &files);
    std::fs::create_dir(folder.dir.path().join("data/deals.csv")).unwrap();
    let shown = load_errors(folder);
    assert!(shown.contains("deals.csv: a directory, not a regular file"), "{shown}");
}

#[test]
fn a_fifo_as_a_script_is_an_error_at_once() {
    let component = "      - {id: s, type: script, file: s.rhai}\n";
    let scenario = Scenario::new(&annual_plan(component), &[("roster.csv", ROSTER_ONE), ("deals.csv", DEALS)]);
    mkfifo(&scenario.dir.path().join("s.rhai"));
    let problems = at_once(move || scenario.plan().map(|_| ()).expect_err("the plan should not compile"));
    let shown = problems.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("\n");
    assert!(shown.contains("s.rhai): a FIFO (named pipe), not a regular file"), "{shown}");
}

#[test]
fn a_file_past_its_cap_is_an_error_naming_the_cap() {
    // Sparse files: the size is what counts, nothing is written.
    let scenario = Scenario::new(&annual_plan(TIERED), &[("roster.csv", ROSTER_ONE)]);
    let deals = std::fs::File::create(scenario.dir.path().join("data/deals.csv")).unwrap();
    deals.set_len(accrue_engine::FileKind::Data.cap() + 1).unwrap();
    let shown = load_errors(scenario);
    assert!(shown.contains("deals.csv: larger than 4 GiB, the limit for a data file"), "{shown}");

    let component = "      - {id: s, type: script, file: s.rhai}\n";
    let scenario = Scenario::new(&annual_plan(component), &[("roster.csv", ROSTER_ONE), ("deals.csv", DEALS)]);
    let script = std::fs::File::create(scenario.dir.path().join("s.rhai")).unwrap();
    script.set_len(accrue_engine::FileKind::Script.cap() + 1).unwrap();
    let problems = scenario.plan().map(|_| ()).expect_err("the plan should not compile");
    assert!(
        problems.iter().any(|d| d.message.contains("s.rhai): larger than 4 MiB, the limit for a script")),
        "{problems:#?}"
    );

    let scenario = Scenario::new("plan: t\n", &[]);
    std::fs::File::options().append(true).open(scenario.plan_path()).unwrap().set_len(65 << 20).unwrap();
    let problems = scenario.plan().map(|_| ()).expect_err("the plan should not compile");
    assert!(
        problems.iter().any(|d| d.message.contains("larger than 64 MiB, the limit for a plan or YAML file")),
        "{problems:#?}"
    );
}

#[test]
fn a_data_line_past_a_megabyte_is_an_error() {
    let long = format!("{DEALS}d2,p01,2027-03-01,new,250000,{}\n", "1".repeat(accrue_engine::MAX_LINE + 10));
    let scenario = Scenario::new(&annual_plan(TIERED), &[("roster.csv", ROSTER_ONE), ("deals.csv", &long)]);
    let shown = load_errors(scenario);
    assert!(shown.contains("longer than 1 MiB, the limit for a line of a data file"), "{shown}");
}

// 13. Smaller ones.

/// The warnings of loading the scenario's data.
fn load_warnings(files: &[(&str, &str)]) -> Vec<String> {
    let mut all = vec![("roster.csv", ROSTER_ONE), ("deals.csv", DEALS)];
    all.retain(|(name, _)| !files.iter().any(|(n, _)| n == name));
    all.extend_from_slice(files);
    let (_, facts) = Scenario::new(&annual_plan(TIERED), &all).facts().expect("loads");
    facts.warnings
}

#[test]
fn a_zero_quota_with_bookings_warns_before_run_fails() {
    let roster = ("roster.csv", "id,name,role,quota\np01,Alice,ae,0\n");
    let warnings = load_warnings(&[roster]);
    let warned: Vec<_> = warnings.iter().filter(|w| w.contains("quota of 0")).collect();
    assert_eq!(warned.len(), 1, "{warnings:#?}");
    assert!(warned[0].contains("payee p01") && warned[0].contains("`run` fails"), "{}", warned[0]);
    // ...and `run` does fail that payee.
    let scenario = Scenario::new(&annual_plan(TIERED), &[roster, ("deals.csv", DEALS)]);
    assert!(scenario.run().errors.iter().any(|e| e.message.contains("zero quota")));
    // No bookings, or a component that does not pay against the quota: nothing to warn of.
    let no_deals = ("deals.csv", "id,owner,close_date,kind,amount,gross_margin\n");
    assert!(!load_warnings(&[roster, no_deals]).iter().any(|w| w.contains("quota of 0")));
    let targeted = "      - {id: c, type: tiered, measure: bookings, target: 1000, tiers: [{from: 0, rate: 0.1}]}\n";
    let scenario = Scenario::new(&annual_plan(targeted), &[roster, ("deals.csv", DEALS)]);
    let (_, facts) = scenario.facts().expect("loads");
    assert!(!facts.warnings.iter().any(|w| w.contains("quota of 0")), "{:#?}", facts.warnings);
    // Tiers per deal price each deal in money and read no quota: no warning, and `run` pays
    // (DEALS books 250,000 at 10 %: 25,000).
    let per_deal = "      - {id: c, type: tiered, measure: bookings, per: deal, tiers: [{from: 0, rate: 0.1}]}\n";
    let scenario = Scenario::new(&annual_plan(per_deal), &[roster, ("deals.csv", DEALS)]);
    let (_, facts) = scenario.facts().expect("loads");
    assert!(!facts.warnings.iter().any(|w| w.contains("quota of 0")), "{:#?}", facts.warnings);
    let run = scenario.run();
    assert!(run.errors.is_empty(), "{:#?}", run.errors);
    assert_eq!(run.statements[0].total, rust_decimal::Decimal::from(25000));
}

#[test]
fn quota_coverage_is_linted_only_for_a_plan_with_quotas() {
    let coverage = |components: &str, roster: &str| {
        let plan = annual_plan(components).replace("roles:", "company:\n  budget_revenue: 4000000\nroles:");
        let scenario = Scenario::new(&plan, &[("roster.csv", roster), ("deals.csv", DEALS)]);
        let (plan, facts) = scenario.facts().expect("loads");
        accrue_engine::coverage(&plan, &facts).map(|d| d.message)
    };
    let quota_tiers = "      - {id: c, type: tiered, measure: bookings, tiers: [{from: 0, rate: 0.1}]}\n";
    // One AE's 1,000,000 covers 25 % of the 4,000,000 budget.
    let warned = coverage(quota_tiers, ROSTER_ONE).expect("warned");
    assert!(warned.contains("quotas sum to 1,000,000.00 against a revenue budget of 4,000,000.00 (25% coverage)"));
    // A roster that forgot the quotas of a quota-paid role still warns (0 %).
    let no_quota = "id,name,role\np01,Alice,ae\n";
    assert!(coverage(quota_tiers, no_quota).expect("warned").contains("(0% coverage)"));
    // A plan paid on company results alone (a grid) has no quotas to add up: no warning.
    let grid = "      - {id: g, type: grid, rows: {measure: company.revenue, target: company.budget_revenue, at: [1]}, columns: {measure: company.revenue, target: company.budget_revenue, at: [1]}, payout: [[1]]}\n";
    assert_eq!(coverage(grid, no_quota), None);
}

#[test]
fn a_pct_company_measure_outside_minus_one_to_one_warns() {
    let company =
        ("company.csv", "period,measure,value\n2027,net_profit_pct,15\n2027,margin_pct,-0.2\n2027,revenue,15\n");
    let warnings = load_warnings(&[company]);
    let warned: Vec<_> = warnings.iter().filter(|w| w.contains("_pct")).collect();
    assert_eq!(warned.len(), 1, "{warnings:#?}");
    assert!(warned[0].contains("company.csv line 2: `net_profit_pct` is 15, outside -1..1"), "{}", warned[0]);
}

#[test]
fn a_duplicate_split_row_is_an_error_naming_both_lines() {
    let roster = ("roster.csv", "id,name,role,quota\np01,Alice,ae,1000000\np02,Bob,ae,1000000\n");
    let splits = ("splits.csv", "deal_id,payee,share\nd1,p01,0.5\nd1,p02,0.25\nd1,p02,0.25\n");
    check_data_error(TIERED, &[roster, splits], Code::DataDuplicateId, "deal `d1` is split to `p02` twice: on line 3");
}

#[test]
fn relief_for_a_payee_without_a_quota_warns() {
    let roster = ("roster.csv", "id,name,role,quota\np01,Alice,ae,0\n");
    let relief =
        ("relief.csv", "payee,period,kind,amount,reason,approved_by\np01,2027,leave,1000,parental leave,cfo\n");
    let no_deals = ("deals.csv", "id,owner,close_date,kind,amount,gross_margin\n");
    let warnings = load_warnings(&[roster, relief, no_deals]);
    let warned: Vec<_> = warnings.iter().filter(|w| w.contains("relief")).collect();
    assert_eq!(warned.len(), 1, "{warnings:#?}");
    assert!(warned[0].contains("relief.csv line 2: relief for payee p01, who has no quota"), "{}", warned[0]);
    // With a quota, relief is what it is for.
    let with_quota = load_warnings(&[relief, no_deals]);
    assert!(!with_quota.iter().any(|w| w.contains("relief")), "{with_quota:#?}");
}

#[test]
fn a_plugin_named_like_a_built_in_is_an_error() {
    let scenario = Scenario::new(&annual_plan(TIERED), &[("roster.csv", ROSTER_ONE), ("deals.csv", DEALS)]);
    let components = scenario.dir.path().join("scripts/components");
    std::fs::create_dir_all(&components).unwrap();
    std::fs::write(components.join("tiered.rhai"), "fn payout(ctx) { 1 }\n").unwrap();
    let problems = scenario.plan().map(|_| ()).expect_err("the plan should not compile");
    let error = problems.iter().find(|d| d.code == Some(Code::PlanBadId)).expect("a plan.bad_id error");
    assert!(
        error.message.contains("scripts/components/tiered.rhai is named like the built-in component type `tiered`"),
        "{error}"
    );
}

#[test]
fn a_script_file_outside_the_plan_folder_is_refused() {
    let plan = |file: &str| annual_plan(&format!("      - {{id: s, type: script, file: {file}}}\n"));
    for (file, text) in [
        ("/proc/self/environ", "is an absolute path"),
        ("/etc/passwd", "is an absolute path"),
        ("../secret.rhai", "is outside the plan's folder"),
        ("scripts/../../secret.rhai", "is outside the plan's folder"),
        ("../other-plan/s.rhai", "is outside the plan's folder"),
    ] {
        let scenario = Scenario::new(&plan(file), &[("roster.csv", ROSTER_ONE), ("deals.csv", DEALS)]);
        // A readable script there: refused for where it is, not for being missing.
        if !file.starts_with('/') {
            let target = scenario.dir.path().join(file);
            std::fs::create_dir_all(target.parent().unwrap()).ok();
            std::fs::write(&target, "fn payout(ctx) { 1 }\n").ok();
        }
        let problems = scenario.plan().map(|_| ()).expect_err(file);
        assert!(
            problems.iter().any(|d| d.code == Some(Code::ScriptRead) && d.message.contains(text)),
            "{file}: {problems:#?}"
        );
    }
    // A symbolic link inside the plan's folder that leads out of it.
    let scenario = Scenario::new(&plan("link.rhai"), &[("roster.csv", ROSTER_ONE), ("deals.csv", DEALS)]);
    std::os::unix::fs::symlink("/etc/passwd", scenario.dir.path().join("link.rhai")).unwrap();
    let problems = scenario.plan().map(|_| ()).expect_err("a link out");
    assert!(problems.iter().any(|d| d.message.contains("is outside the plan's folder")), "{problems:#?}");
    // Inside the plan's folder, or in a `scripts/` folder above it, is fine.
    let scenario = Scenario::new(&plan("lib/s.rhai"), &[("roster.csv", ROSTER_ONE), ("deals.csv", DEALS)]);
    std::fs::create_dir(scenario.dir.path().join("lib")).unwrap();
    std::fs::write(scenario.dir.path().join("lib/s.rhai"), "fn payout(ctx) { 1 }\n").unwrap();
    scenario.plan().expect("a script in the plan's folder");
}

#[test]
fn a_syntax_error_quotes_at_most_two_hundred_characters() {
    let host = accrue_engine::ScriptHost::default();
    // Rhai quotes a malformed character literal whole: a 5,000-character line of a file
    // that is not a script would be shown entire.
    let long = format!("fn payout(ctx) {{ 1 }}\nlet x = '{}';\n", "a".repeat(5000));
    let error = host.compile("long.rhai", &long).expect_err("a syntax error");
    assert!(error.message.starts_with("script syntax error: Invalid character: 'aaa"), "{}", error.message);
    assert!(error.message.chars().count() <= 200 + "script syntax error: …".len(), "{}", error.message);
}

// 7. A run's overall budget: a script just under its operation limit at every call made a
// 10,000-payee run take about 20 minutes. A run (and every analysis) carries a `Deadline`;
// past it the run fails with `run.time_limit`, within a payee's time or a script call's.

mod budget {
    use std::path::Path;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use accrue_engine::{
        AlignOptions, Baseline, Code, DataSet, Deadline, Detail, Facts, Memory, MonteCarloOptions, PlanInput,
        RunOptions, Scales, Scenario, ScenarioError, ScriptLimits, SimulateOptions,
    };

    /// A plan whose one component is a script of `body`, `payees` payees, and the limits.
    fn slow(payees: usize, body: &str, limits: ScriptLimits) -> (PlanInput, DataSet) {
        let plan = "plan: slow\nyear: 2027\nperiods: quarter\nparams: {x: 1}\ncompany: {revenue: 1000000, gross_profit: 500000, net_profit: 100000}\nroles:\n  ae:\n    motion: hunter\n    components:\n      - {id: s, type: script, file: s.rhai}\n";
        let mut roster = String::from("id,name,role,quota\n");
        for i in 0..payees {
            roster.push_str(&format!("p{i},P {i},ae,100000\n"));
        }
        let memory = Arc::new(
            Memory::new()
                .with("t/plan.yaml", plan)
                .with("t/s.rhai", body)
                .with("t/data/roster.csv", roster.as_str())
                .with("t/data/deals.csv", "id,owner,close_date,kind,amount,gross_margin\n"),
        );
        let input = PlanInput::read(memory.clone(), Path::new("t/plan.yaml"), limits).unwrap();
        (input, DataSet::read(memory, Path::new("t/data")).unwrap())
    }

    /// Every call burns 200,000 operations (under the limit): seconds per hundred payees.
    const BUSY: &str = "fn payout(ctx) { let x = 0; for i in 0..200000 { x += 1; } 0 }";

    fn run_totals(input: &PlanInput, data: &DataSet, deadline: Deadline) -> accrue_engine::TotalsRun {
        let plan = input.compile().unwrap();
        let facts = Facts::index(data, &plan, &Scales::new()).unwrap();
        accrue_engine::run_totals(
            &plan,
            &facts,
            &RunOptions { detail: Detail::Amounts, deadline, ..Default::default() },
        )
    }

    #[test]
    fn a_run_past_its_time_limit_fails_with_run_time_limit_and_nothing_else() {
        let (input, data) = slow(5000, BUSY, ScriptLimits::default());
        let started = Instant::now();
        let totals = run_totals(&input, &data, Deadline::after(Duration::from_millis(300)));
        let took = started.elapsed();
        // 5,000 payees × 4 calls of 200,000 operations run for many minutes unbounded.
        assert!(took < Duration::from_secs(10), "stopped after {took:?}");
        let stop = totals.stopped().expect("the run stopped");
        assert_eq!(stop.code, Code::RunTimeLimit);
        assert!(stop.message.contains("time limit of 300 ms") && stop.message.contains("incomplete"), "{stop}");
        // The script calls cut short by the stop are not reported as the payees' errors.
        assert_eq!(totals.errors.len(), 1, "{:?}", totals.errors);
        // ...and the statement run says the same.
        let plan = input.compile().unwrap();
        let facts = Facts::index(&data, &plan, &Scales::new()).unwrap();
        let options = RunOptions { deadline: Deadline::after(Duration::from_millis(300)), ..Default::default() };
        let result = accrue_engine::run_with(&plan, &facts, &options);
        assert_eq!(result.stopped().map(|e| e.code), Some(Code::RunTimeLimit));
    }

    #[test]
    fn a_single_long_script_call_stops_at_the_run_deadline() {
        // No operation limit and an hour per call: only the run's deadline can stop it.
        let limits =
            ScriptLimits { max_operations: u64::MAX, max_call_time: Duration::from_secs(3600), ..Default::default() };
        let (input, data) = slow(1, "fn payout(ctx) { loop {} }", limits);
        let started = Instant::now();
        let totals = run_totals(&input, &data, Deadline::after(Duration::from_millis(200)));
        assert!(started.elapsed() < Duration::from_secs(10), "stopped after {:?}", started.elapsed());
        assert_eq!(totals.stopped().map(|e| e.code), Some(Code::RunTimeLimit));
    }

    #[test]
    fn cancelling_from_another_thread_stops_the_run() {
        let (input, data) = slow(5000, BUSY, ScriptLimits::default());
        let deadline = Deadline::cancellable();
        let canceller = deadline.clone();
        let cancel = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            canceller.cancel();
        });
        let started = Instant::now();
        let totals = run_totals(&input, &data, deadline);
        cancel.join().unwrap();
        assert!(started.elapsed() < Duration::from_secs(10), "stopped after {:?}", started.elapsed());
        assert_eq!(totals.stopped().map(|e| e.code), Some(Code::RunCancelled));
    }

    #[test]
    fn a_run_within_its_limit_is_unchanged() {
        let (input, data) = slow(3, "fn payout(ctx) { 7 }", ScriptLimits::default());
        let limited = run_totals(&input, &data, Deadline::after(Duration::from_secs(3600)));
        let unlimited = run_totals(&input, &data, Deadline::none());
        assert!(limited.stopped().is_none() && limited.errors.is_empty(), "{:?}", limited.errors);
        assert_eq!(serde_json::to_string(&limited.totals).unwrap(), serde_json::to_string(&unlimited.totals).unwrap());
        // The script pays 7 for the year to date: all of it in the first quarter.
        assert_eq!(limited.amount(2, 0), Some(rust_decimal::Decimal::from(7)));
    }

    #[track_caller]
    fn expect_time_limit(result: Result<impl std::fmt::Debug, ScenarioError>, started: Instant) {
        let took = started.elapsed();
        assert!(took < Duration::from_secs(10), "stopped after {took:?}");
        match result {
            Err(err @ ScenarioError::TimeLimit { .. }) => {
                assert_eq!(err.to_string(), "the run went past its time limit of 300 ms");
            }
            other => panic!("expected the time limit, got {other:?}"),
        }
    }

    #[test]
    fn simulate_montecarlo_and_align_stop_at_their_deadline() {
        let (input, data) = slow(2000, BUSY, ScriptLimits::default());
        let limit = || Deadline::after(Duration::from_millis(300));
        let changes = Scenario::new(vec![accrue_engine::Change::Set { name: "x".into(), value: 2.into() }]);

        let baseline = Baseline::new(&input, &data).unwrap();
        let started = Instant::now();
        let options = SimulateOptions { deadline: limit(), ..Default::default() };
        expect_time_limit(accrue_engine::simulate(&input, &data, &baseline, &changes, &options), started);

        let started = Instant::now();
        let options = MonteCarloOptions { draws: 50, deadline: limit(), ..Default::default() };
        expect_time_limit(accrue_engine::montecarlo(&input, &data, &changes, &options, &|_| true), started);

        let started = Instant::now();
        let options = AlignOptions { deadline: limit(), ..Default::default() };
        expect_time_limit(accrue_engine::align(&input, &data, &changes, &options), started);
    }
}
