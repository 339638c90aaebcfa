//! The what-if page end to end in a real browser: starts the real `accrue serve` on a
//! loopback port with known tokens, then runs `tests/browser/page.test.mjs` (playwright-core
//! driving Debian's headless Chromium). Screenshots land in target/screenshots/. The test
//! fails, never skips, when node, Chromium or `npm ci` is missing: `.ci/run` installs them.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const FINANCE: &str = "page-finance-token";
const HR: &str = "page-hr-token";
const EXEC: &str = "page-exec-token";

fn browser_tests() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

/// A running `accrue serve` on the sample plans, killed when dropped.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(db: &Path) -> Server {
        let plans = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plans");
        let mut child = Command::new(env!("CARGO_BIN_EXE_accrue"))
            .args(["serve", "--addr", "127.0.0.1:0", "--plans"])
            .arg(plans)
            .arg("--db")
            .arg(db)
            .env("ACCRUE_TOKEN_FINANCE", FINANCE)
            .env("ACCRUE_TOKEN_HR", HR)
            .env("ACCRUE_TOKEN_EXEC", EXEC)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("accrue serve starts");
        let stderr = child.stderr.take().unwrap();
        let (found, address) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("accrue serve: listening on ") {
                    let _ = found.send(addr.to_string());
                }
            }
        });
        let base = address.recv_timeout(Duration::from_secs(60)).unwrap_or_else(|_| {
            let _ = child.kill();
            panic!("the server did not say where it listens")
        });
        Server { child, base }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn the_what_if_page_works_in_headless_chromium() {
    let tests = browser_tests();
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_string());
    assert!(
        Path::new(&chromium).exists(),
        "no Chromium at {chromium}: run `apt-get install -y chromium chromium-driver` (.ci/run does)"
    );
    assert!(
        tests.join("node_modules/playwright-core").is_dir(),
        "playwright-core is not installed: run `npm ci` in {} (.ci/run does)",
        tests.display()
    );
    let folder = tempfile::tempdir().unwrap();
    let server = Server::start(&folder.path().join("accrue.db"));
    let screenshots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("../screenshots");
    let started = Instant::now();
    let output = Command::new("node")
        .arg("page.test.mjs")
        .current_dir(&tests)
        .env("ACCRUE_BASE", &server.base)
        .env("ACCRUE_HR", HR)
        .env("ACCRUE_EXEC", EXEC)
        .env("ACCRUE_SCREENSHOTS", &screenshots)
        .env("CHROMIUM", &chromium)
        .stdin(Stdio::null())
        .output()
        .expect("node runs (install Node.js 18 or newer)");
    let report = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    println!("{report}browser tests took {:.1} s", started.elapsed().as_secs_f64());
    assert!(output.status.success(), "the browser tests failed:\n{report}");
    assert!(report.contains("ok   hr_changes_a_rate"), "the browser tests did not run:\n{report}");
}
