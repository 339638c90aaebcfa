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

// 6. A FIFO or a device in a data file's place.

#[test]
fn a_fifo_or_dev_zero_as_a_data_file_fails_at_once() {
    let (_dir, plan, data) = sample_copy();
    let deals = data.join("deals.csv");
    std::fs::remove_file(&deals).unwrap();
    assert!(std::process::Command::new("mkfifo").arg(&deals).status().unwrap().success());
    for expected in ["deals.csv: a FIFO (named pipe), not a regular file", "deals.csv: a device, not a regular file"] {
        let out = Command::cargo_bin("accrue")
            .unwrap()
            .args(["run".as_ref(), plan.as_os_str(), "--data".as_ref(), data.as_os_str()])
            .timeout(std::time::Duration::from_secs(30))
            .output()
            .unwrap();
        // The message as words, whatever the terminal width wrapped.
        let stderr =
            String::from_utf8_lossy(&out.stderr).replace('│', " ").split_whitespace().collect::<Vec<_>>().join(" ");
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains(expected), "{stderr}");
        std::fs::remove_file(&deals).unwrap();
        std::os::unix::fs::symlink("/dev/zero", &deals).unwrap();
    }
}
