//! Generated request bodies (issue 15, "closing the classes"): every POST endpoint gets JSON
//! spliced from its own keys with broken, hostile and out-of-range values, and raw noise.
//! No body may panic a handler or come back as a 5xx: each is answered 2xx, or 4xx with the
//! JSON error shape.
//!
//! CI runs a few cases; a longer run (see RELIABILITY.md):
//! `ACCRUE_FUZZ_CASES=100000 cargo test --release -p accrue-server --test fuzz`.

use std::path::Path;
use std::time::Duration;

use accrue_server::{AppState, Catalog, Limits, Role, Store, Tokens, app};
use axum::body::Body;
use axum::http::{Request, header};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Map, Value, json};
use tower::ServiceExt;

const TOKEN: &str = "finance-token";

fn runner() -> TestRunner {
    let cases = std::env::var("ACCRUE_FUZZ_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(48);
    TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() })
}

/// The sample plans behind a finance token, with limits small enough that a generated
/// Monte Carlo or grid stays quick (larger ones must be refused with a 422, not run).
fn state() -> AppState {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plans");
    let mut tokens = Tokens::default();
    tokens.add_token(Role::Finance, TOKEN);
    let catalog = Catalog::load(&root, accrue_engine::ScriptLimits::default());
    let limits = Limits { deadline: Duration::from_secs(20), ..Limits::default() };
    AppState::new(tokens, root, catalog, Store::in_memory().unwrap(), limits).unwrap()
}

/// A JSON value that is wrong in a useful way, or right.
fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        Just(json!(0.06)),
        Just(json!(1e300)),
        prop::sample::select(vec![
            "",
            "0",
            "0.06",
            "-1",
            "1.1",
            "1e28",
            "79228162514264337593543950336",
            "NaN",
            "abc",
            "ae",
            "*",
            "team:x",
            "payee:",
            "company",
            "bookings",
            "0.5:1.5:0.1",
            "1:0:0.1",
            "0:1:0",
            "\u{0}",
            "../../etc",
        ])
        .prop_map(|s| Value::String(s.to_string())),
        "[ -~]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(("[a-z_]{1,8}", inner), 0..4).prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// A plan's YAML: a served plan's shape, broken ones, or noise.
fn plan_yaml() -> impl Strategy<Value = Value> {
    let pieces = prop::sample::select(vec![
        "plan: t\nname: T\ncurrency: USD\nyear: 2027\nperiods: quarter\n",
        "roles:\n  ae:\n    title: AE\n    motion: hunter\n    quota: { source: roster }\n    components:\n",
        "      - {id: c, type: tiered, measure: bookings, tiers: [{from: 0, rate: 0.1}]}\n",
        "      - {id: s, type: script, file: scripts/x.rhai}\n",
        "      - &a {id: x, type: spiff}\n      - *a\n",
        "params: {rate: 0.1}\n",
        "x: [[[[",
        "\0",
    ]);
    prop::collection::vec(prop_oneof![pieces.prop_map(str::to_string), "[ -~\n]{0,16}"], 0..8)
        .prop_map(|parts| Value::String(parts.concat()))
}

/// Mostly the right type with a hostile value; now and then any JSON at all.
fn field(right: impl Strategy<Value = Value> + 'static) -> impl Strategy<Value = Value> {
    prop_oneof![24 => right, 1 => value()]
}

/// An exact number as the API takes it (a string), in and out of range, or not a number.
fn exact() -> impl Strategy<Value = Value> {
    let good = prop::sample::select(vec!["0", "0.06", "0.9", "1", "1.1", "0.000001", "1000"]);
    let bad = prop::sample::select(vec!["-1", "1001", "1e28", "79228162514264337593543950336", "abc", ""]);
    prop_oneof![8 => good, 1 => bad].prop_map(Value::from)
}

/// A count (draws, seed, top): in range, out of range, a float, a string.
fn count() -> impl Strategy<Value = Value> {
    let good = prop::sample::select(vec![json!(1), json!(3), json!("2")]);
    let bad = prop::sample::select(vec![json!(0), json!(-1), json!(2.5), json!("x"), json!(1_000_000_000)]);
    field(prop_oneof![3 => good, 1 => bad])
}

/// One change of a scenario, well-formed or not.
fn change() -> impl Strategy<Value = Value> {
    let names = prop::sample::select(vec!["ae_base_rate", "ae_rate", "ae_accelerator", "nope"]);
    let selectors = prop::sample::select(vec!["ae", "*", "team:east", "payee:p1", "company", "nope", "payee:"]);
    let measures = prop::sample::select(vec!["bookings", "gross_margin", "revenue", "net_profit", "nope"]);
    field(prop_oneof![
        6 => (names, field(exact())).prop_map(|(name, v)| json!({"set": {"name": name, "value": v}})),
        4 => (selectors, measures, field(exact()))
            .prop_map(|(s, m, f)| json!({"scale": {"selector": s, "measure": m, "factor": f}})),
        1 => plan_yaml().prop_map(|y| json!({"overlay_yaml": y})),
        1 => plan_yaml().prop_map(|y| json!({"plan_b_yaml": y})),
    ])
}

/// A body for `route`: its own keys with generated values, now and then a foreign key,
/// an inline plan instead of a served one, or no JSON object at all.
fn body(route: &'static str) -> impl Strategy<Value = String> {
    let plan = field(
        prop::sample::select(vec!["msp-fy2027", "saas-startup", "hardware-reseller", "nope"]).prop_map(Value::from),
    );
    let good_grid = prop::sample::select(vec!["0.8:1.2:0.2", "0.9:1.1:0.1", "1:1:0.1", "0:2:0.5"]);
    let bad_grid = prop::sample::select(vec!["0.5:1.5:0", "1.2:0.8:0.1", "x", "0:1000000:0.000001"]);
    let grid = field(prop_oneof![4 => good_grid, 1 => bad_grid].prop_map(Value::from));
    let margins = field(prop::collection::vec(exact(), 0..3).prop_map(Value::Array));
    let fields = (
        plan,
        prop::option::weighted(0.15, plan_yaml()),
        prop::collection::vec(change(), 0..3),
        count(),
        count(),
        grid,
        margins,
        field(exact()),
        prop::option::weighted(0.1, ("[a-z_]{1,8}", value())),
    );
    let structured = fields.prop_map(move |(plan, yaml, changes, draws, seed, revenue, margins, spread, foreign)| {
        let mut map = Map::new();
        match yaml {
            Some(yaml) if route != "/v1/scenarios" => {
                map.insert("plan_yaml".into(), yaml);
                map.insert("scripts".into(), json!({"scripts/x.rhai": "fn payout(ctx) { ctx.bookings }"}));
                map.insert("data_inline".into(), json!({"roster.csv": "id,name,role,quota\np1,P,ae,100\n"}));
            }
            _ => {
                map.insert("plan".into(), plan);
            }
        }
        if route != "/v1/plans/validate" {
            map.insert("changes".into(), Value::Array(changes));
        }
        match route {
            "/v1/montecarlo" => {
                map.insert("draws".into(), draws);
                map.insert("seed".into(), seed);
                map.insert("spread".into(), json!({"ae": spread}));
            }
            "/v1/alignment" => {
                map.insert("revenue".into(), revenue);
                map.insert("margin".into(), margins);
            }
            "/v1/scenarios" => {
                map.insert("name".into(), json!("generated"));
                map.insert("top".into(), draws);
            }
            "/v1/simulate" => {
                map.insert("top".into(), draws);
            }
            _ => {}
        }
        if let Some((key, v)) = foreign {
            map.insert(key, v);
        }
        Value::Object(map).to_string()
    });
    prop_oneof![
        10 => structured,
        1 => value().prop_map(|v| v.to_string()),
        1 => "[ -~\n]{0,40}",
    ]
}

const ROUTES: [&str; 5] = ["/v1/simulate", "/v1/montecarlo", "/v1/alignment", "/v1/plans/validate", "/v1/scenarios"];

#[test]
fn request_bodies_never_panic_or_5xx() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let state = state();
    let strategy = prop::sample::select(ROUTES.to_vec()).prop_flat_map(|route| (Just(route), body(route)));
    runner()
        .run(&strategy, |(route, body)| {
            let request = Request::builder()
                .method("POST")
                .uri(route)
                .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.clone()))
                .unwrap();
            let (status, text) = runtime.block_on(async {
                let response = app(state.clone()).oneshot(request).await.unwrap();
                let status = response.status().as_u16();
                let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
                (status, String::from_utf8_lossy(&bytes).into_owned())
            });
            prop_assert!(status < 500, "{route} answered {status} to {body}: {text}");
            let answer: Value = serde_json::from_str(&text).map_err(|e| TestCaseError::fail(format!("{e}: {text}")))?;
            if status >= 400 {
                let code = &answer["error"]["code"];
                prop_assert!(code.as_str().is_some_and(|c| !c.is_empty()), "{route} {status}: {text}");
                prop_assert!(answer["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{text}");
            }
            Ok(())
        })
        .unwrap();
}
