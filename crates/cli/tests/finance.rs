//! What a finance user meets first: every subcommand's help, the spreadsheet CSV, the
//! `--period` view, and the path forms of `accrue test`.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

struct Output {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(args: &[&str]) -> Output {
    let out = Command::cargo_bin("accrue").unwrap().current_dir(root()).args(args).output().unwrap();
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

const MSP: &str = "plans/msp-fy2027/plan.yaml";
const MSP_DATA: &str = "plans/msp-fy2027/data";
const SAAS: &str = "plans/saas-startup/plan.yaml";
const SAAS_DATA: &str = "plans/saas-startup/data";

const SUBCOMMANDS: [&str; 12] = [
    "check",
    "run",
    "test",
    "curve",
    "explain",
    "simulate",
    "montecarlo",
    "align",
    "schema",
    "components",
    "serve",
    "help",
];

#[test]
fn every_subcommand_has_help_for_every_argument() {
    let top = run(&["--help"]);
    assert_eq!(top.code, 0);
    insta::assert_snapshot!("help", top.stdout);
    assert!(top.stdout.trim_end().ends_with("The user guide is in docs/ (start with docs/README.md)."));
    for name in SUBCOMMANDS.iter().filter(|n| **n != "help") {
        let out = run(&[name, "--help"]);
        assert_eq!(out.code, 0, "{name}");
        // Every argument and flag line of the short help carries words after its name (clap
        // prints an option without help as the bare name).
        let short = run(&[name, "-h"]);
        let mut in_options = false;
        let lines: Vec<&str> = short.stdout.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            if line.ends_with(':') && !line.starts_with(' ') {
                in_options = *line == "Arguments:" || *line == "Options:";
                continue;
            }
            if in_options && line.starts_with("  ") && !line.starts_with("          ") {
                // The help is on the same line, or on the next when clap wraps long ones.
                let same = line.trim().split_once("  ").map_or("", |(_, help)| help.trim()).to_string();
                let next = lines.get(i + 1).filter(|l| l.starts_with("          ")).map_or("", |l| l.trim());
                assert!(!same.is_empty() || !next.is_empty(), "`accrue {name}`: `{}` has no help", line.trim());
            }
        }
        insta::assert_snapshot!(format!("help_{name}"), out.stdout);
    }
}

#[test]
fn the_csv_is_ready_for_a_spreadsheet() {
    let out = run(&["run", MSP, "--data", MSP_DATA, "--period", "2027-Q2", "--format", "csv"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    insta::assert_snapshot!("csv_msp_2027_q2", out.stdout);
    // Relief, self goals and the blend are rows of their own, with reason and approver.
    let out = run(&["run", SAAS, "--data", SAAS_DATA, "--period", "2027-Q3", "--format", "csv"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    insta::assert_snapshot!("csv_saas_2027_q3", out.stdout);

    let bom = Command::cargo_bin("accrue")
        .unwrap()
        .current_dir(root())
        .args(["run", MSP, "--data", MSP_DATA, "--format", "csv", "--bom"])
        .output()
        .unwrap();
    assert!(bom.stdout.starts_with(b"\xEF\xBB\xBFrecord,payee,"), "a UTF-8 byte-order mark, then the header");
    let misplaced = run(&["run", MSP, "--data", MSP_DATA, "--bom"]);
    assert_eq!(misplaced.code, 2);
    assert!(misplaced.stderr.contains("--bom applies to --format csv"), "{}", misplaced.stderr);
}

#[test]
fn a_period_view_shows_that_period_only() {
    let all = run(&["run", MSP, "--data", MSP_DATA]);
    assert!(all.stderr.contains("payee p06, 2027-Q3: no `csat` value"), "{}", all.stderr);
    let q2 = run(&["run", MSP, "--data", MSP_DATA, "--period", "2027-Q2"]);
    assert_eq!(q2.code, 0, "{}", q2.stderr);
    assert!(!q2.stderr.contains("2027-Q3"), "a Q3 warning in the Q2 view: {}", q2.stderr);
    assert!(q2.stderr.contains("closed outside the plan year"), "warnings of the year stay: {}", q2.stderr);
    // A deal dated in Q3 is a Q3 warning.
    assert!(!q2.stderr.contains("D0026 (2027-08-20)"), "{}", q2.stderr);
    let q3 = run(&["run", MSP, "--data", MSP_DATA, "--period", "2027-Q3"]);
    assert!(q3.stderr.contains("D0026 (2027-08-20)") && q3.stderr.contains("no `csat` value"), "{}", q3.stderr);
    // The header says which window attainment is measured over; lines differ here, so each
    // says its own.
    assert!(q2.stdout.contains("ATTAIN. (ytd/period)"), "{}", q2.stdout);
    assert!(q2.stdout.contains("96.67% ytd") && q2.stdout.contains("83.33% period"), "{}", q2.stdout);
    // The CEO has no quota: an empty cell, not 0.00.
    let ceo = q2.stdout.lines().find(|l| l.starts_with("p10")).unwrap();
    assert!(!ceo.contains("0.00  profit"), "{ceo}");
    assert!(ceo.contains("2027-Q2                profit"), "{ceo}");
}

#[test]
fn accrue_test_takes_every_path_form() {
    let last = |out: &Output| out.stdout.trim_end().lines().last().unwrap_or("").to_string();
    let all = run(&["test", "plans"]);
    assert_eq!(all.code, 0, "{}{}", all.stdout, all.stderr);
    assert_eq!(last(&all), last(&run(&["test"])), "a folder of plan folders runs them all");
    assert!(all.stdout.contains("plans/saas-startup/tests/sdrs.yaml"), "{}", all.stdout);

    let plan = run(&["test", MSP]);
    assert_eq!(plan.code, 0, "{}{}", plan.stdout, plan.stderr);
    assert!(plan.stdout.contains("plans/msp-fy2027/tests/hunters.yaml"), "{}", plan.stdout);
    assert!(!plan.stdout.contains("saas-startup"), "{}", plan.stdout);
    assert_eq!(last(&plan), last(&run(&["test", "plans/msp-fy2027"])));
    assert_eq!(last(&plan), last(&run(&["test", "plans/msp-fy2027/tests"])));
    let one = run(&["test", "plans/msp-fy2027/tests/hunters.yaml"]);
    assert_eq!(one.code, 0);
    assert!(last(&one).ends_with(" passed, 0 failed"), "the summary stays last: {}", one.stdout);

    let missing = run(&["test", "plans/nope"]);
    assert_eq!(missing.code, 2);
    assert!(missing.stderr.contains("plans/nope does not exist"), "{}", missing.stderr);
}

/// The texts of an SVG document, in order: what a reader of the chart sees, without pixels.
fn svg_texts(svg: &str) -> Vec<String> {
    let mut texts = Vec::new();
    let mut rest = svg;
    while let Some(start) = rest.find("<text") {
        rest = &rest[start..];
        let open_end = rest.find('>').unwrap() + 1;
        let close = rest.find("</text>").unwrap();
        texts.push(rest[open_end..close].trim().to_string());
        rest = &rest[close..];
    }
    texts
}

/// The curves of an SVG document: polylines of more than two points, as (x, y) pixels.
fn svg_curves(svg: &str) -> Vec<Vec<(i64, i64)>> {
    svg.split("<polyline")
        .skip(1)
        .filter_map(|element| {
            let points = element.split("points=\"").nth(1)?.split('"').next()?;
            let parsed: Vec<(i64, i64)> = points
                .split_whitespace()
                .filter_map(|p| p.split_once(','))
                .map(|(x, y)| (x.parse().unwrap(), y.parse().unwrap()))
                .collect();
            (parsed.len() > 2).then_some(parsed)
        })
        .collect()
}

/// Renders `svg` as a PNG through resvg (what an image viewer or a slide would show), into
/// `target/screenshots/NAME` for a person to look at, and checks that the picture holds a
/// drawing: the SVG parses, has the size it declares, its font is there, and it is not blank.
fn render_png(svg: &str, name: &str) {
    let mut options = resvg::usvg::Options::default();
    let fonts = options.fontdb_mut();
    fonts.load_system_fonts();
    // The chart asks for `sans-serif`; resvg maps it to Arial unless told otherwise.
    fonts.set_sans_serif_family("DejaVu Sans");
    assert!(
        fonts.faces().any(|face| face.families.iter().any(|(name, _)| name == "DejaVu Sans")),
        "the chart's text is drawn in DejaVu Sans: install it (Debian: fonts-dejavu-core; .ci/run does)"
    );
    let tree = resvg::usvg::Tree::from_str(svg, &options).expect("the chart is an SVG resvg reads");
    let size = tree.size().to_int_size();
    assert!(size.width() >= 600 && size.height() >= 300, "a chart of {size:?}");
    let mut pixmap = resvg::tiny_skia::Pixmap::new(size.width(), size.height()).unwrap();
    resvg::render(&tree, resvg::tiny_skia::Transform::default(), &mut pixmap.as_mut());
    let inked = pixmap.pixels().iter().filter(|p| p.alpha() > 0 && (p.red() < 200 || p.green() < 200)).count();
    let all = pixmap.pixels().len();
    // Between 0.5 % and half of the picture: neither blank nor a smear.
    assert!(inked * 200 > all && inked * 2 < all, "{inked} of {all} pixels drawn");
    let folder = Path::new(env!("CARGO_TARGET_TMPDIR")).join("../screenshots");
    std::fs::create_dir_all(&folder).unwrap();
    pixmap.save_png(folder.join(name)).unwrap();
}

#[test]
fn the_curve_chart_reads_like_a_cfo_chart() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("enterprise.svg");
    let out = run(&[
        "curve",
        MSP,
        "--role",
        "enterprise_ae",
        "--quota",
        "2500000",
        "--from",
        "0%",
        "--to",
        "200%",
        "--svg",
        file.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let svg = std::fs::read_to_string(&file).unwrap();
    // Title with the role's title and the plan; components by name; every breakpoint
    // labelled; the pay at target; the y axis in dollars.
    insta::assert_snapshot!("curve_svg_texts", svg_texts(&svg).join("\n"));
    render_png(&svg, "curve_enterprise_ae.png");
    // Retroactive tiers jump at 80 % and 120 %, the threshold at 25 %: with the breakpoints
    // sampled, each jump is a vertical segment of the total, not a slope across 5 %.
    let total = svg_curves(&svg).into_iter().max_by_key(|c| c.iter().map(|p| -p.1).max()).unwrap();
    let cliffs = total.windows(2).filter(|w| (w[1].0 - w[0].0).abs() <= 1 && (w[0].1 - w[1].1) > 10).count();
    assert_eq!(cliffs, 3, "three cliffs on the total: {total:?}");

    // Percentages are fractions; a bare 50 gets a hint instead of a 5,000 % chart.
    let bare = run(&["curve", MSP, "--role", "ae", "--from", "50"]);
    assert_eq!(bare.code, 2);
    assert!(bare.stderr.contains("write --from 0.5 or --from 50%"), "{}", bare.stderr);
}
