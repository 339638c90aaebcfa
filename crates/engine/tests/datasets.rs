//! Data in two stages: a data set parsed once (from files or memory) and indexed for a plan,
//! with scale factors applied exactly at indexing.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use accrue_engine::{DataSet, DealKind, Facts, Memory, Plan, PlanSource, Registry, RunResult, Scales, run};
use rust_decimal::Decimal;

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plans").join(name)
}

fn plan(name: &str) -> Plan {
    Plan::load(&sample(name).join("plan.yaml")).unwrap_or_else(|d| panic!("{d}"))
}

/// The data folder's CSV files, by name.
fn csv_texts(name: &str) -> Vec<(String, String)> {
    let dir = sample(name).join("data");
    let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read_to_string(&p).unwrap()))
        .collect();
    files.sort();
    files
}

fn in_memory(files: &[(String, String)]) -> DataSet {
    DataSet::from_texts(Path::new("data"), files.iter().map(|(n, t)| (n.as_str(), t.as_str())))
        .unwrap_or_else(|d| panic!("{d}"))
}

/// Every statement's lines and totals, as the JSON shows them.
fn amounts(result: &RunResult) -> Vec<String> {
    let mut out = Vec::new();
    for s in &result.statements {
        for line in &s.lines {
            out.push(format!("{} {} {} {}", s.payee, s.period, line.component, line.amount));
        }
        out.push(format!("{} {} total {}", s.payee, s.period, s.total));
    }
    out.extend(result.errors.iter().map(|e| format!("error {:?} {}", e.payee, e.message)));
    out
}

#[test]
fn a_data_set_from_memory_equals_the_same_files_on_disk() {
    for name in ["msp-fy2027", "saas-startup"] {
        let plan = plan(name);
        let from_disk = DataSet::load(&sample(name).join("data")).unwrap();
        let from_memory = in_memory(&csv_texts(name));
        assert_eq!(from_disk.hash(), from_memory.hash(), "{name}: the data hash names the bytes, not the place");
        let disk = Facts::index(&from_disk, &plan, &Scales::new()).unwrap();
        let memory = Facts::index(&from_memory, &plan, &Scales::new()).unwrap();
        let (disk, memory) = (run(&plan, &disk), run(&plan, &memory));
        assert!(!disk.statements.is_empty());
        assert_eq!(amounts(&disk), amounts(&memory), "{name}");
        // And the one-step load gives the same as the two stages.
        let loaded = Facts::load(&sample(name).join("data"), &plan).unwrap();
        assert_eq!(amounts(&run(&plan, &loaded)), amounts(&disk), "{name}");
        assert_eq!(loaded.hash, from_disk.hash());
    }
}

#[test]
fn factors_of_one_index_the_same_as_no_factors() {
    let plan = plan("msp-fy2027");
    let data = DataSet::load(&sample("msp-fy2027").join("data")).unwrap();
    let mut ones = Scales::new();
    let payees = data.payees().len();
    for payee in 0..payees {
        for kind in DealKind::ALL {
            ones.deals(payee, payees, kind, Decimal::ONE);
        }
        ones.margins(payee, payees, Decimal::ONE);
        ones.declared(payee, "csat", Decimal::ONE);
    }
    ones.company("net_profit", Decimal::ONE);
    assert!(ones.is_identity());
    let plain = run(&plan, &Facts::index(&data, &plan, &Scales::new()).unwrap());
    let scaled = run(&plan, &Facts::index(&data, &plan, &ones).unwrap());
    assert_eq!(amounts(&plain), amounts(&scaled));
}

/// Multiplies `amount` and `gross_margin` of the `new` deals owned by `owners` by `factor`,
/// as a person editing deals.csv would.
fn edit_deals(deals: &str, owners: &[&str], factor: Decimal) -> String {
    let mut reader = csv::Reader::from_reader(deals.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (owner, kind, amount, margin) = (col("owner"), col("kind"), col("amount"), col("gross_margin"));
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(&headers).unwrap();
    for record in reader.records() {
        let record = record.unwrap();
        let mut fields: Vec<String> = record.iter().map(str::to_string).collect();
        if owners.contains(&&record[owner]) && &record[kind] == "new" {
            for c in [amount, margin] {
                if !fields[c].is_empty() {
                    let value: Decimal = fields[c].parse().unwrap();
                    fields[c] = (value * factor).normalize().to_string();
                }
            }
        }
        writer.write_record(&fields).unwrap();
    }
    String::from_utf8(writer.into_inner().unwrap()).unwrap()
}

#[test]
fn scaling_a_roles_bookings_equals_editing_deals_csv_by_hand() {
    let plan = plan("msp-fy2027");
    let files = csv_texts("msp-fy2027");
    let data = in_memory(&files);
    let factor: Decimal = "1.1".parse().unwrap();
    let aes: Vec<&str> = data.payees().iter().filter(|p| p.role.as_str() == "ae").map(|p| p.id.as_str()).collect();
    assert!(aes.len() >= 2, "the sample has several AEs");

    let mut scales = Scales::new();
    let payees = data.payees().len();
    for (i, payee) in data.payees().iter().enumerate() {
        if payee.role.as_str() == "ae" {
            scales.deals(i, payees, DealKind::New, factor);
        }
    }
    let scaled = run(&plan, &Facts::index(&data, &plan, &scales).unwrap());

    let edited: Vec<(String, String)> = files
        .iter()
        .map(|(name, text)| {
            let text = if name == "deals.csv" { edit_deals(text, &aes, factor) } else { text.clone() };
            (name.clone(), text)
        })
        .collect();
    let edited_data = in_memory(&edited);
    let by_hand = run(&plan, &Facts::index(&edited_data, &plan, &Scales::new()).unwrap());

    let baseline = run(&plan, &Facts::index(&data, &plan, &Scales::new()).unwrap());
    assert_ne!(amounts(&baseline), amounts(&scaled), "the scale must move some pay");
    assert_eq!(amounts(&scaled), amounts(&by_hand));
}

#[test]
fn indexing_again_reads_no_file() {
    // The data set is parsed from memory; the memory is then dropped: indexing for another
    // plan variant needs nothing but the parsed data set.
    let plan = plan("saas-startup");
    let data = in_memory(&csv_texts("saas-startup"));
    let first = run(&plan, &Facts::index(&data, &plan, &Scales::new()).unwrap());
    let second = run(&plan, &Facts::index(&data, &plan, &Scales::new()).unwrap());
    assert_eq!(amounts(&first), amounts(&second));
}

#[test]
fn an_error_in_an_in_memory_plan_names_its_source_and_line() {
    let text = "plan: t\nyear: 2027\nperiods: quarter\nroles:\n  ae:\n    motion: hunter\n    colour: red\n";
    let memory = Arc::new(Memory::new().with("inline/plan.yaml", text));
    let path = Path::new("inline/plan.yaml");
    let registry = Registry::for_plan_in(&*memory, path, Default::default());
    let errors =
        PlanSource::read_from(memory, path).and_then(|s| s.compile(&registry, &Default::default())).unwrap_err();
    let error = errors.0.iter().find(|d| d.message.contains("colour")).unwrap_or_else(|| panic!("{errors}"));
    let location = error.location.as_ref().unwrap();
    assert_eq!(&*location.file, "inline/plan.yaml");
    assert_eq!(location.span.line, 7);
}

#[test]
fn an_in_memory_plan_reads_its_scripts_and_plugins_from_memory() {
    let plan = "plan: t\nyear: 2027\nperiods: year\nroles:\n  ae:\n    motion: hunter\n    components:\n      - {id: s, type: script, file: scripts/flat.rhai}\n      - {id: p, type: flat_fee}\n";
    let memory = Arc::new(
        Memory::new()
            .with("p/plan.yaml", plan)
            .with("p/scripts/flat.rhai", "fn payout(ctx) { 100 }")
            .with("scripts/components/flat_fee.rhai", "/// A flat fee.\nfn payout(ctx) { 7 }")
            .with("p/data/roster.csv", "id,name,role,quota\np01,Alice,ae,1000\n")
            .with("p/data/deals.csv", "id,owner,close_date,kind,amount\n"),
    );
    let path = Path::new("p/plan.yaml");
    let registry = Registry::for_plan_in(&*memory, path, Default::default());
    let plan = PlanSource::read_from(memory.clone(), path)
        .and_then(|s| s.compile(&registry, &Default::default()))
        .unwrap_or_else(|d| panic!("{d}"));
    let facts = Facts::read(memory, Path::new("p/data"), &plan).unwrap_or_else(|d| panic!("{d}"));
    let result = run(&plan, &facts);
    assert_eq!(result.statements[0].total.to_string(), "107.00");
}

#[test]
fn data_errors_in_memory_carry_file_line_and_column() {
    let files = [
        ("roster.csv", "id,name,role,quota\np01,Alice,ae,1000\n"),
        ("deals.csv", "id,owner,close_date,kind,amount\nd1,p01,2027-02-01,new,12a\n"),
    ];
    let errors = DataSet::from_texts(Path::new("mem"), files).unwrap_err();
    let error = &errors.0[0];
    let location = error.location.as_ref().unwrap();
    assert_eq!(&*location.file, "mem/deals.csv");
    assert_eq!((location.span.line, location.span.col), (2, 23), "{error}");
}

/// Amounts of every width reach the facts exactly as written: a mantissa beyond 64 bits, the
/// largest that fits, 28 decimal places, a negative zero; and each deal keeps its own id, the
/// last row's too. (The data set packs small amounts into 64 bits and keeps the rest whole.)
#[test]
fn deal_amounts_of_every_width_are_kept_exactly() {
    use accrue_engine::{NumberStyle, parse_decimal};
    let plan = plan("msp-fy2027");
    let texts = csv_texts("msp-fy2027");
    let special = [
        ("123456.123456789012345678", "1234.5678901234567890123"),
        ("922337.2036854775807", "922337.2036854775807"),
        ("922337.2036854775808", "-922337.2036854775808"),
        ("0.0000000000000000000000000001", "-0.0000000000000000000000000001"),
        ("-0", "-0.00"),
        ("1.50", "0.250"),
    ];
    let mut rows = String::new();
    for (i, (amount, margin)) in special.iter().enumerate() {
        // Each value once counted and once cancelled (a cancelled deal keeps its own credit).
        rows.push_str(&format!("W{i},p01,2027-02-1{i},new,{amount},{margin},\n"));
        rows.push_str(&format!("C{i},p01,2027-02-1{i},new,{amount},{margin},2027-03-30\n"));
    }
    rows.push_str("LAST,p01,2026-01-01,new,1,1,\n");
    let edited: Vec<(String, String)> = texts
        .iter()
        .map(|(name, text)| {
            let text = if name == "deals.csv" { format!("{text}{rows}") } else { text.clone() };
            (name.clone(), text)
        })
        .collect();
    let before = Facts::index(&in_memory(&texts), &plan, &Scales::new()).unwrap();
    let after = Facts::index(&in_memory(&edited), &plan, &Scales::new()).unwrap();
    let p01 = after.payee_index("p01").unwrap();
    let period = after.calendar().index_of("2027-02-10".parse().unwrap()).unwrap();
    let parse = |text: &str| parse_decimal(text, NumberStyle::Text).unwrap();
    let new = DealKind::New as usize;
    let (mut amount, mut margin) =
        (before.deal_totals(p01)[period].amount[new], before.deal_totals(p01)[period].gross_margin);
    for (a, m) in special {
        amount += parse(a);
        margin += parse(m);
    }
    let totals = &after.deal_totals(p01)[period];
    assert_eq!(totals.amount[new].to_string(), amount.to_string());
    assert_eq!(totals.gross_margin.to_string(), margin.to_string());
    let cancelled: Vec<_> = after.cancelled(p01).iter().filter(|c| c.deal.starts_with('C')).collect();
    assert_eq!(cancelled.len(), special.len());
    for (i, (credit, (a, m))) in cancelled.iter().zip(special).enumerate() {
        assert_eq!(&*credit.deal, format!("C{i}"));
        for (kept, written) in [(credit.amount, parse(a)), (credit.gross_margin, parse(m))] {
            assert_eq!(kept.to_string(), written.to_string(), "{a} / {m}");
            assert_eq!(kept.is_sign_negative(), written.is_sign_negative(), "{a} / {m}");
        }
    }
    assert!(after.warnings.iter().any(|w| w.contains("LAST (2026-01-01)")), "{:?}", after.warnings);
}
