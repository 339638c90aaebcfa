//! Hostile use of the `accrue` binary (issue 15): flags and files that must neither crash
//! it, hang it, nor destroy its inputs. Exit codes stay 0, 1 or 2 whatever happens.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

/// A copy of the saas-startup sample in a temporary folder: (folder, plan, data).
fn sample_copy() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let src = root().join("plans/saas-startup");
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    std::fs::copy(src.join("plan.yaml"), dir.path().join("plan.yaml")).unwrap();
    for entry in std::fs::read_dir(src.join("data")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.path().join("data").join(entry.file_name())).unwrap();
    }
    let (plan, data) = (dir.path().join("plan.yaml"), dir.path().join("data"));
    (dir, plan, data)
}

/// Runs `accrue` with `args` and returns (exit code, stderr).
fn accrue(args: &[&std::ffi::OsStr]) -> (i32, String) {
    let out = Command::cargo_bin("accrue").unwrap().args(args).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

// 12. `--out` onto one of the run's own inputs.

#[test]
fn out_onto_an_input_is_refused_and_the_input_kept() {
    let (_dir, plan, data) = sample_copy();
    let deals = data.join("deals.csv");
    for target in [plan.clone(), deals.clone(), data.join("new.json")] {
        let before = std::fs::read(&plan).unwrap();
        let deals_before = std::fs::read(&deals).unwrap();
        let (code, stderr) = accrue(&[
            "run".as_ref(),
            plan.as_os_str(),
            "--data".as_ref(),
            data.as_os_str(),
            "--out".as_ref(),
            target.as_os_str(),
        ]);
        assert_eq!(code, 2, "{}: {stderr}", target.display());
        assert!(stderr.contains("one of the run's own inputs"), "{stderr}");
        assert_eq!(std::fs::read(&plan).unwrap(), before);
        assert_eq!(std::fs::read(&deals).unwrap(), deals_before);
    }
    let elsewhere = plan.with_file_name("statements.json");
    let (code, stderr) = accrue(&[
        "run".as_ref(),
        plan.as_os_str(),
        "--data".as_ref(),
        data.as_os_str(),
        "--out".as_ref(),
        elsewhere.as_os_str(),
    ]);
    assert_eq!(code, 0, "{stderr}");
}

// 7. A run's overall budget: `--time-limit` stops a run that would take many minutes, with
// its message and exit code 1 (SPEC §8: the run failed), never a partial table.

/// A plan whose one script burns 200,000 operations a call (under the limit) for `payees`
/// payees: many minutes for the whole run.
fn slow_plan(payees: usize) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let plan = "plan: slow\nyear: 2027\nperiods: quarter\nparams: {x: 1}\ncompany: {revenue: 1000000, gross_profit: 500000, net_profit: 100000}\nroles:\n  ae:\n    motion: hunter\n    components:\n      - {id: s, type: script, file: s.rhai}\n";
    std::fs::write(dir.path().join("plan.yaml"), plan).unwrap();
    std::fs::write(dir.path().join("s.rhai"), "fn payout(ctx) { let x = 0; for i in 0..200000 { x += 1; } 0 }")
        .unwrap();
    std::fs::create_dir(dir.path().join("data")).unwrap();
    let mut roster = String::from("id,name,role,quota\n");
    for i in 0..payees {
        roster.push_str(&format!("p{i},P {i},ae,100000\n"));
    }
    std::fs::write(dir.path().join("data/roster.csv"), roster).unwrap();
    std::fs::write(dir.path().join("data/deals.csv"), "id,owner,close_date,kind,amount,gross_margin\n").unwrap();
    let (plan, data) = (dir.path().join("plan.yaml"), dir.path().join("data"));
    (dir, plan, data)
}

#[test]
fn a_run_past_its_time_limit_stops_with_its_message_and_exit_1() {
    let (_dir, plan, data) = slow_plan(3000);
    for (command, extra) in [
        ("run", &[][..]),
        ("run", &["--format", "json"][..]),
        ("simulate", &["--set", "x=2"][..]),
        ("montecarlo", &["--draws", "20"][..]),
        ("align", &[][..]),
    ] {
        let started = std::time::Instant::now();
        let out = Command::cargo_bin("accrue")
            .unwrap()
            .arg(command)
            .arg(&plan)
            .arg("--data")
            .arg(&data)
            .args(["--time-limit", "500ms"])
            .args(extra)
            .output()
            .unwrap();
        let took = started.elapsed();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{command} {extra:?}: {stderr}");
        assert!(stderr.contains("time limit of 500 ms") && stderr.contains("--time-limit"), "{command}: {stderr}");
        assert!(took < std::time::Duration::from_secs(20), "{command} stopped after {took:?}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        if extra.is_empty() && command == "run" {
            assert!(stdout.trim().is_empty(), "a stopped run prints no table: {stdout}");
        }
        if extra.contains(&"json") {
            let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
            assert!(json["errors"].as_array().unwrap().iter().any(|e| e["code"] == "run.time_limit"), "{json}");
        }
    }
    // A bad limit is a usage error.
    let (code, stderr) = accrue(&[
        "run".as_ref(),
        plan.as_os_str(),
        "--data".as_ref(),
        data.as_os_str(),
        "--time-limit".as_ref(),
        "soon".as_ref(),
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("not a time limit"), "{stderr}");
}
